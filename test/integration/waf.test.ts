/**
 * The WAF recipes of nginx/waf/ through the real nginx, on every engine set up:
 * - ModSecurity v3 with OWASP CRS (Debian's packages) and nginx/waf/modsecurity.rules: a request
 *   CRS blocks is answered 403 as CRS would, and its record says which attack (sqli, xss, lfi,
 *   rce, ...); ModSecurity's error log names the record's request_id; clean requests and an
 *   upstream's own 403 or 47x are not marked.
 * - A WAF in front that tells its verdict in a header (nginx/waf/waf-header.conf): believed from
 *   the WAF's address only, never from a client that sends the same header itself.
 */
import { existsSync, readFileSync } from 'fs';
import { dirname, join } from 'path';
import { startNginx, Nginx, ROOT, recordingLines } from '../helpers/nginx';
import { currentEngine } from '../helpers/engines';
import { startUpstream, Upstream } from '../helpers/upstream';
import { request } from '../helpers/http';

/* eslint-disable @typescript-eslint/no-explicit-any */
const engine = currentEngine();
const onHost = (p: string) => (engine.root === null ? p : join(engine.root, p));
const MODSECURITY_MODULE = join(dirname(engine.jsModule), 'ngx_http_modsecurity_module.so');
const missing = [MODSECURITY_MODULE, '/etc/modsecurity/crs/crs-setup.conf', '/etc/nginx/modsecurity.conf'].filter(
  (p) => !existsSync(onHost(p)),
);
const why =
  engine.why !== null
    ? engine.why
    : missing.length > 0
      ? `no ModSecurity here (${missing.join(', ')}): ` +
        (engine.root === null ? 'apt-get install libnginx-mod-http-modsecurity modsecurity-crs' : 'scripts/engines.sh setup')
      : null;

// Browsers' headers: CRS scores a request without Accept or User-Agent (protocol rules), and a
// test must not pass because every request is refused.
const BROWSER = { accept: 'application/json', 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) waf-test' };

(why ? describe.skip : describe)(why ? `WAF recipes: SKIPPED on ${engine.name}: ${why}` : 'WAF recipes', () => {
  let up: Upstream;
  let ng: Nginx;

  beforeAll(async () => {
    up = await startUpstream();
    ng = await startNginx({
      ports: 4,
      main: `load_module ${MODSECURITY_MODULE};`,
      startTimeoutMs: 30000, // CRS: 900 rules to compile
      http: `
    upstream app { server 127.0.0.1:${up.port}; }
    include {{ROOT}}/nginx/waf/modsecurity-http.conf;
    ${readFileSync(join(ROOT, 'nginx/waf/waf-header.conf'), 'utf8')
      .replace('192.0.2.1/32 1;', '127.0.0.1/32 1;')}

    # ModSecurity + CRS in blocking mode, as docs/waf.md sets it up.
    server {
        ${recordingLines({ secret: 'waf-secret', app: 'shop' })}
        modsecurity on;
        modsecurity_rules '
            Include /etc/nginx/modsecurity.conf
            SecRuleEngine On
            SecAuditEngine Off
            Include /etc/modsecurity/crs/crs-setup.conf
            Include /etc/modsecurity/crs/REQUEST-900-EXCLUSION-RULES-BEFORE-CRS.conf
            Include /usr/share/modsecurity-crs/rules/*.conf
            Include /etc/modsecurity/crs/RESPONSE-999-EXCLUSION-RULES-AFTER-CRS.conf
            Include {{ROOT}}/nginx/waf/modsecurity.rules
        ';
        include {{ROOT}}/nginx/waf/modsecurity-server.conf;
        location / { proxy_pass http://app; }
    }

    # An application behind a WAF that sets X-WAF-Attack (waf-header.conf).
    server {
        ${recordingLines({ secret: 'waf-secret', listen: '{{PORT1}}', log: 'behind_waf.log' })}
        set $api_sessions_attack $api_sessions_waf_header_attack;
        location / { proxy_pass http://app; }
    }

    # The same application where the real address comes from X-Forwarded-For (set_real_ip_from):
    # the WAF's address still has to be the connection's own.
    server {
        ${recordingLines({ secret: 'waf-secret', listen: '{{PORT3}}', log: 'behind_waf_realip.log' })}
        set_real_ip_from 127.0.0.0/8;
        real_ip_header X-Forwarded-For;
        set $api_sessions_attack $api_sessions_waf_header_attack;
        location / { proxy_pass http://app; }
    }

    # The WAF in front, played by nginx: its verdict in X-WAF-Attack, from 127.0.0.1.
    map $args $front_verdict {
        default "";
        "~*(%27|')(%20|\\+|\\s)*or" "sqli";
        "~*(%3C|<)script" "xss";
        "~*evil-header" "sqli;rm -rf /";
    }
    server {
        listen 127.0.0.1:{{PORT2}};
        access_log off;
        location / {
            proxy_set_header X-WAF-Attack $front_verdict;
            proxy_pass http://127.0.0.1:{{PORT1}};
        }
    }
`,
    });
  }, 60000);

  afterAll(async () => {
    await ng?.stop();
    await up?.close();
  });

  const viaModSecurity = async (path: string, opts: { method?: string; body?: string; headers?: Record<string, string> } = {}) => {
    const r = await request(ng.url(path, 0), { method: opts.method, body: opts.body, headers: { ...BROWSER, ...(opts.headers || {}) } });
    return { status: r.status, text: r.text };
  };

  /** The record of the request just made: the newest line of the log. */
  const newest = async (count: number, log = 'api_sessions.log') => {
    const records = await ng.records(count, log);
    expect(records.length).toBe(count);
    return records[count - 1];
  };

  test('CRS blocks with 403 and the record says which attack; ModSecurity logs the request_id', async () => {
    const cases: Array<[string, { method?: string; body?: string; headers?: Record<string, string> }, string]> = [
      ["/orders?id=1'%20OR%20'1'='1", {}, 'sqli'],
      ['/search?q=%3Cscript%3Ealert(1)%3C/script%3E', {}, 'xss'],
      ['/files?name=../../../../etc/passwd', {}, 'lfi'],
      ['/ping?host=127.0.0.1;uname%20-a', {}, 'rce'],
      // The body is inspected too (ModSecurity reads it before the upstream does).
      ['/login', { method: 'POST', body: JSON.stringify({ user: "admin' OR 1=1 --", password: 'x' }), headers: { 'content-type': 'application/json' } }, 'sqli'],
    ];
    let n = 0;
    for (const [path, opts, attack] of cases) {
      const r = await viaModSecurity(path, opts);
      n++;
      expect({ path, status: r.status }).toEqual({ path, status: 403 });
      const rec = await newest(n);
      expect({ path, attack: rec.attack, status: rec.status }).toEqual({ path, attack: [attack], status: 403 });
      // ModSecurity's transaction is the record's request: its log entry carries the id.
      expect(ng.errorLog()).toContain(`[unique_id "${rec.request_id}"]`);
      expect(ng.errorLog()).toMatch(new RegExp(`Access denied with code 47\\d.*\\[id "95251\\d0"\\].*\\[unique_id "${rec.request_id}"\\]`));
    }
    expect(up.received.length).toBe(0); // none of them reached the application
    // A denied request keeps its content for the analyst, as any malicious request does.
    const login = (await ng.records(n)).find((r: any) => r.method === 'POST');
    expect(login.request.body).toContain("admin' OR 1=1 --");
  });

  test('clean requests pass unmarked, and an upstream 403 or 47x is the upstream’s, not a WAF verdict', async () => {
    const before = (await ng.records(0)).length;
    const clean = await viaModSecurity('/orders?id=42');
    expect(clean.status).toBe(200);
    const post = await viaModSecurity('/login', { method: 'POST', body: JSON.stringify({ user: 'alice', password: 'secret' }), headers: { 'content-type': 'application/json' } });
    expect(post.status).toBe(200);
    const denied = await viaModSecurity('/status/403');
    expect(denied.status).toBe(403);
    const odd = await viaModSecurity('/status/471');
    expect(odd.status).toBe(471);
    const records = await ng.records(before + 4);
    expect(records.slice(before).map((r: any) => [r.path, r.status, r.attack])).toEqual([
      ['/orders', 200, null],
      ['/login', 200, null],
      ['/status/403', 403, null],
      ['/status/471', 471, null],
    ]);
  });

  test('a WAF in front: its header marks the request; the same header from a client is ignored', async () => {
    const log = 'behind_waf.log';
    // Through the WAF (its address is trusted).
    await request(ng.url("/orders?id=1'%20or%20'1'='1", 2), { headers: BROWSER });
    expect((await newest(1, log)).attack).toEqual(['sqli']);
    await request(ng.url('/search?q=%3Cscript%3E', 2), { headers: BROWSER });
    expect((await newest(2, log)).attack).toEqual(['xss']);
    await request(ng.url('/orders?id=7', 2), { headers: BROWSER });
    expect((await newest(3, log)).attack).toBeNull();
    // A value that is not a list of attack types is dropped, not passed on.
    await request(ng.url('/x?evil-header', 2), { headers: BROWSER });
    expect((await newest(4, log)).attack).toBeNull();
    // A client from another address that forges the header, directly to the application's nginx.
    await request(ng.url('/orders?id=8', 1), { headers: { ...BROWSER, 'x-waf-attack': 'sqli' }, localAddress: '127.0.0.2' });
    const forged = await newest(5, log);
    expect(forged.ip).toBe('127.0.0.2');
    expect(forged.attack).toBeNull();
    // The same header from the WAF's address is believed: the check above is the address.
    await request(ng.url('/orders?id=9', 1), { headers: { ...BROWSER, 'x-waf-attack': 'sqli, xss' }, localAddress: '127.0.0.1' });
    expect((await newest(6, log)).attack).toEqual(['sqli', 'xss']);
    // A client that claims the WAF's address in X-Forwarded-For: $remote_addr becomes it, the
    // peer checked stays the client's.
    await request(ng.url('/orders?id=11', 3), { headers: { ...BROWSER, 'x-waf-attack': 'sqli', 'x-forwarded-for': '127.0.0.1' }, localAddress: '127.0.0.2' });
    const claimed = await newest(1, 'behind_waf_realip.log');
    expect(claimed.ip).toBe('127.0.0.1');
    expect(claimed.attack).toBeNull();
    // A client's own header sent through the WAF: the WAF sets the header on every request (here
    // to its empty verdict), as waf-header.conf requires, so nothing is marked.
    await request(ng.url('/orders?id=10', 2), { headers: { ...BROWSER, 'x-waf-attack': 'sqli' } });
    expect((await newest(7, log)).attack).toBeNull();
  });
});
