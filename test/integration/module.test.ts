/**
 * The njs module through the real nginx in front of a real upstream: every selector kind, the
 * built-in set, the fallbacks, hashing, user/role, attack marking, multi-day parts and bad input,
 * asserted on the records nginx wrote.
 */
import http from 'http';
import { startNginx, Nginx, upstreamLines, recordingLines } from '../helpers/nginx';
import { startUpstream, Upstream, tokenFor } from '../helpers/upstream';
import { request, rawRequest, expectedSession, expectedHash, Reply } from '../helpers/http';
import { builtinCookies, builtinRequestHeaders } from '../../src/shared/builtin';

const SECRET = 'integration-secret';
const APP = 'shop';

let up: Upstream;
let ng: Nginx;

const PARAMS = [
  'request.header.x-tenant+request.cookie.uid group as tenant_user',
  'request.query.token group',
  'request.body.json.token group',
  'request.body.form.token group',
  'request.header.authorization.jwt.sub user',
  'request.header.authorization.jwt.role role',
  'request.header.authorization.jwt.details.username as username',
  'request.cookie.theme',
  'request.query.q',
  'request.body.json.items[0].id as first_item',
  'request.body.json.email hash',
  'request.body.form.email as form_email hash',
  'request.header.x-request-tag',
  'request.body.json["odd.name"] as odd',
].join(';\n    ');

beforeAll(async () => {
  up = await startUpstream();
  ng = await startNginx({
    ports: 2,
    main: 'env API_SESSIONS_SECRET;',
    env: { API_SESSIONS_SECRET: 'secret-from-env' },
    http: `
    ${upstreamLines(up.port, { keepalive: 8 })}
    client_body_buffer_size 128k;
    client_max_body_size 10m;

    server {
        ${recordingLines({ secret: SECRET, app: APP })}
        set $api_sessions_now $http_x_test_now;           # tests pin the clock
        set $api_sessions_attack $http_x_test_attack;     # stands in for a WAF verdict
        set $api_sessions_fingerprint $http_x_test_ja3;   # stands in for a TLS fingerprint
        set $api_sessions_params '
    ${PARAMS}';
        location / { proxy_pass http://app; }
        location /answered-by-nginx/ { return 200 "answered\n"; }
        location /small-buffer/ {
            client_body_buffer_size 1k;
            proxy_pass http://app/echo/;
        }
        location = /redirected {
            proxy_intercept_errors on;
            error_page 404 = /echo/fallback;
            proxy_pass http://app/status/404;
        }
    }

    # The built-in set and the fallbacks: no parameters configured, secret from the environment.
    server {
        listen 127.0.0.1:{{PORT1}};
        access_log {{PREFIX}}/logs/builtin.log api_sessions;
        set $api_sessions_app "${APP}";
        set $api_sessions_fingerprint $http_x_test_ja3;
        location / { proxy_pass http://app; }
    }

`,
  });
});

afterAll(async () => {
  if (ng) await ng.stop();
  if (up) await up.close();
});

afterEach(() => {
  const state = expect.getState();
  if (state.currentTestName && (state as any).assertionCalls > (state as any).numPassingAsserts) {
    // printed only when the test failed
    console.log('nginx error.log:\n' + ng.errorLog().slice(-4000));
  }
});

/** The record nginx wrote for the request that got `reply`. */
function recordOf(reply: Reply, log = 'api_sessions.log'): Promise<any> {
  const id = reply.headers['x-request-id'];
  expect(typeof id).toBe('string');
  return ng.recordById(String(id), log);
}

async function rawLine(reply: Reply, log = 'api_sessions.log'): Promise<string> {
  const rec = await recordOf(reply, log);
  return ng.accessLog(log).split('\n').find((l) => l.indexOf(rec.request_id) >= 0)!;
}

const json = (body: unknown, headers: Record<string, string> = {}) => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
});

describe('record fields', () => {
  test('a plain GET: every documented field, path without the query', async () => {
    const before = Date.now();
    const reply = await request(ng.url('/products/42?q=shoes&secret=1'), { headers: { 'user-agent': 'test-agent/1' } });
    const rec = await recordOf(reply);
    expect(rec.v).toBe(1);
    expect(rec.app).toBe(APP);
    expect(rec.host).toBe('127.0.0.1');
    expect(rec.method).toBe('GET');
    expect(rec.path).toBe('/products/42');
    expect(rec.status).toBe(200);
    expect(rec.ip).toBe('127.0.0.1');
    expect(rec.ua).toBe('test-agent/1');
    expect(rec.params).toEqual({ 'request.query.q': 'shoes' });
    expect(rec.session).toMatch(/^[0-9a-f]{32}$/);
    expect(rec.key).toBe('ip+ua');
    expect(rec.key_source).toBe('fallback');
    expect(rec.session).toBe(expectedSession(SECRET, APP, '\u0001127.0.0.1\u001ftest-agent/1'));
    expect(rec.user).toBeNull();
    expect(rec.role).toBeNull();
    expect(rec.attack).toBeNull();
    expect(rec.request).toBeNull();
    expect(rec.errors).toEqual([]);
    expect(rec.bytes_sent).toBeGreaterThan(reply.body.length);
    expect(typeof rec.duration_ms).toBe('number');
    const ts = Date.parse(rec.ts);
    expect(rec.ts).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(ts).toBeGreaterThanOrEqual(before - 1000);
    expect(ts).toBeLessThanOrEqual(Date.now() + 1000);
    expect(rec.part).toBe(rec.ts.slice(0, 10));
    expect(rec.request_id).toBe(reply.headers['x-request-id']);
  });
});

describe('selectors and grouping keys', () => {
  test('one value under query, JSON body and form body is one session; the key says which worked', async () => {
    const q = await recordOf(await request(ng.url('/a?token=abc123')));
    const j = await recordOf(await request(ng.url('/b'), json({ token: 'abc123' })));
    const f = await recordOf(
      await request(ng.url('/c'), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'x=1&token=abc123',
      }),
    );
    expect([q.key, j.key, f.key]).toEqual(['request.query.token', 'request.body.json.token', 'request.body.form.token']);
    expect([q.key_source, j.key_source, f.key_source]).toEqual(['params', 'params', 'params']);
    expect(q.session).toBe(expectedSession(SECRET, APP, 'abc123'));
    expect(j.session).toBe(q.session);
    expect(f.session).toBe(q.session);
    // the grouping value is exported only as the session id it gives, never raw
    expect(q.params['request.query.token']).toBe(q.session);
    expect(JSON.stringify([q, j, f])).not.toContain('abc123');
  });

  test('grouping keys are tried in the configured order', async () => {
    const rec = await recordOf(await request(ng.url('/order?token=first'), json({ token: 'second' })));
    expect(rec.key).toBe('request.query.token');
    expect(rec.session).toBe(expectedSession(SECRET, APP, 'first'));
  });

  test('a combined key applies only when all its selectors are present', async () => {
    const both = await recordOf(
      await request(ng.url('/t?token=later'), { headers: { 'x-tenant': 'acme', cookie: 'uid=u-7' } }),
    );
    expect(both.key).toBe('tenant_user');
    expect(both.session).toBe(expectedSession(SECRET, APP, 'acme\u001fu-7'));
    const one = await recordOf(await request(ng.url('/t?token=later'), { headers: { 'x-tenant': 'acme' } }));
    expect(one.key).toBe('request.query.token');
  });

  test('JWT claims name the user and role; the bearer token groups like the same token elsewhere', async () => {
    const token = tokenFor('alice', 'auditor');
    const viaHeader = await recordOf(await request(ng.url('/me'), { headers: { authorization: 'Bearer ' + token } }));
    expect(viaHeader.user).toBe('alice');
    expect(viaHeader.role).toBe('auditor');
    expect(viaHeader.params.username).toBe('alice@example.com');
    expect(viaHeader.key).toBe('request.header.authorization');
    expect(viaHeader.key_source).toBe('builtin');
    const viaQuery = await recordOf(await request(ng.url('/me?token=' + token)));
    expect(viaQuery.session).toBe(viaHeader.session);
    const line = await rawLine(await request(ng.url('/me'), { headers: { authorization: 'Bearer ' + token } }));
    expect(line).not.toContain(token);
  });

  test('context parameters: cookie, query, JSON array item, quoted property, header', async () => {
    const rec = await recordOf(
      await request(ng.url('/ctx?q=boots'), {
        ...json({ items: [{ id: 'sku-1' }, { id: 'sku-2' }], 'odd.name': 'dotted' }, { cookie: 'theme=dark', 'x-request-tag': 'T1' }),
      }),
    );
    expect(rec.params).toEqual({
      'request.cookie.theme': 'dark',
      'request.query.q': 'boots',
      first_item: 'sku-1',
      odd: 'dotted',
      'request.header.x-request-tag': 'T1',
    });
  });

  test('hash parameters are exported as keyed hashes only', async () => {
    const reply = await request(ng.url('/signup'), json({ email: 'bob@example.com' }));
    const rec = await recordOf(reply);
    expect(rec.params['request.body.json.email']).toBe(expectedHash(SECRET, 'bob@example.com'));
    expect(await rawLine(reply)).not.toContain('bob@example.com');
    const form = await recordOf(
      await request(ng.url('/signup-form'), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'email=bob%40example.com',
      }),
    );
    expect(form.params.form_email).toBe(expectedHash(SECRET, 'bob@example.com'));
  });
});

describe('built-in set and fallbacks', () => {
  test.each(builtinCookies())('cookie %s groups by its value', async (name) => {
    const a = await recordOf(await request(ng.url('/x', 1), { headers: { cookie: `other=1; ${name}=val-${name}`, 'user-agent': 'ua-a' } }), 'builtin.log');
    const b = await recordOf(await request(ng.url('/y', 1), { headers: { cookie: `${name}=val-${name}`, 'user-agent': 'ua-b' } }), 'builtin.log');
    expect(a.key).toBe('request.cookie.' + name);
    expect(a.key_source).toBe('builtin');
    expect(b.session).toBe(a.session);
    expect(a.session).toBe(expectedSession('secret-from-env', APP, 'val-' + name));
  });

  test.each(builtinRequestHeaders().filter((h) => h !== 'authorization'))('header %s groups by its value', async (name) => {
    const a = await recordOf(await request(ng.url('/x', 1), { headers: { [name]: 'hv-' + name, 'user-agent': 'ua-a' } }), 'builtin.log');
    expect(a.key).toBe('request.header.' + name);
    expect(a.session).toBe(expectedSession('secret-from-env', APP, 'hv-' + name));
  });

  test('Authorization: the credentials without the scheme; Basic gives the user name only', async () => {
    const bearer = await recordOf(await request(ng.url('/x', 1), { headers: { authorization: 'Bearer tok-123' } }), 'builtin.log');
    expect(bearer.key).toBe('request.header.authorization');
    expect(bearer.session).toBe(expectedSession('secret-from-env', APP, 'tok-123'));
    const basic = Buffer.from('carol:pa:ss-word').toString('base64');
    const b = await recordOf(await request(ng.url('/x', 1), { headers: { authorization: 'Basic ' + basic } }), 'builtin.log');
    expect(b.session).toBe(expectedSession('secret-from-env', APP, 'carol'));
  });

  test('a session cookie is tried before a header', async () => {
    const rec = await recordOf(await request(ng.url('/x', 1), { headers: { cookie: 'sid=s1', 'x-api-key': 'k1' } }), 'builtin.log');
    expect(rec.key).toBe('request.cookie.sid');
  });

  test('a framework session cookie set by the first response groups that request with the next ones', async () => {
    const agentHeaders = { 'user-agent': 'shopper' };
    const first = await request(ng.url('/cart', 1), { headers: agentHeaders });
    const setCookie = String(first.headers['set-cookie']);
    const cookie = setCookie.split(';')[0];
    expect(cookie.startsWith('connect.sid=')).toBe(true);
    const second = await request(ng.url('/cart', 1), { headers: { ...agentHeaders, cookie } });
    expect(JSON.parse(second.text).views).toBe(2);
    const r1 = await recordOf(first, 'builtin.log');
    const r2 = await recordOf(second, 'builtin.log');
    expect(r1.key).toBe('response.cookie.connect.sid');
    expect(r2.key).toBe('request.cookie.connect.sid');
    expect(r1.session).toBe(r2.session);
  });

  test('a session header handed out by a response (MCP initialize) groups that request with the next ones', async () => {
    const rpc = (body: object, headers: Record<string, string> = {}) =>
      request(ng.url('/mcp', 1), { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    const init = await rpc({ jsonrpc: '2.0', id: 1, method: 'initialize' });
    const sid = String(init.headers['mcp-session-id']);
    expect(sid).toMatch(/^mcp-[0-9a-f]{16}$/);
    const call = await rpc({ jsonrpc: '2.0', id: 2, method: 'tools/list' }, { 'mcp-session-id': sid });
    const [a, b] = [await recordOf(init, 'builtin.log'), await recordOf(call, 'builtin.log')];
    expect(a.key).toBe('response.header.mcp-session-id');
    expect(b.key).toBe('request.header.mcp-session-id');
    expect(a.session).toBe(b.session);
    expect(a.session).toBe(expectedSession('secret-from-env', APP, sid));
  });

  test('IP + User-Agent, + fingerprint when set, and the IP alone without a User-Agent', async () => {
    const ua = await recordOf(await request(ng.url('/x', 1), { headers: { 'user-agent': 'fb-agent' } }), 'builtin.log');
    expect(ua.key).toBe('ip+ua');
    const fp = await recordOf(await request(ng.url('/x', 1), { headers: { 'user-agent': 'fb-agent', 'x-test-ja3': 'ja3hash' } }), 'builtin.log');
    expect(fp.key).toBe('ip+ua+fingerprint');
    expect(fp.session).not.toBe(ua.session);
    const raw = await rawRequest(ng.ports[1], 'GET /no-ua HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    expect(raw.startsWith('HTTP/1.1 200')).toBe(true);
    const id = /X-Request-Id: (\w+)/i.exec(raw)![1];
    const rec = await recordOf({ headers: { 'x-request-id': id } } as any, 'builtin.log');
    expect(rec.key).toBe('ip');
    expect(rec.ua).toBeNull();
    expect(rec.session).toBe(expectedSession('secret-from-env', APP, '\u0001127.0.0.1'));
  });
});

describe('attack marking', () => {
  test('a malicious request carries its content, with credentials and grouping values hidden', async () => {
    const token = tokenFor('mallory');
    const reply = await request(ng.url("/search?q=%27%20OR%201%3D1--&token=grp-secret-1"), {
      method: 'POST',
      headers: {
        'x-test-attack': 'sqli, xss,sqli',
        authorization: 'Bearer ' + token,
        cookie: 'theme=dark; connect.sid=s%3Alongsessionvalue.signature',
        'content-type': 'application/json',
      },
      body: JSON.stringify({ comment: '<script>alert(1)</script>', token: 'grp-secret-1' }),
    });
    const rec = await recordOf(reply);
    const line = await rawLine(reply);
    expect(rec.attack).toEqual(['sqli', 'xss']);
    expect(rec.request.line).toContain("q=%27%20OR%201%3D1--");
    expect(rec.request.body).toContain('<script>alert(1)</script>');
    const names = rec.request.headers.map((h: string[]) => h[0].toLowerCase());
    expect(names).toEqual(expect.arrayContaining(['authorization', 'cookie', 'content-type', 'x-test-attack']));
    expect(line).not.toContain(token);
    expect(line).not.toContain('grp-secret-1');
    expect(line).not.toContain('longsessionvalue');
    expect(line).toContain('theme=dark');
    expect(rec.key).toBe('request.query.token');
  });

  test('requests without the attack variable carry no content', async () => {
    const rec = await recordOf(await request(ng.url('/fine')));
    expect(rec.attack).toBeNull();
    expect(rec.request).toBeNull();
  });
});

describe('one-day parts', () => {
  test('a session across midnight UTC has one part per day under one id', async () => {
    const h = { cookie: 'uid=night', 'x-tenant': 'acme' };
    const a = await recordOf(await request(ng.url('/late'), { headers: { ...h, 'x-test-now': '2026-11-20T23:59:30.250Z' } }));
    const b = await recordOf(await request(ng.url('/early'), { headers: { ...h, 'x-test-now': '1763683290.5' } })); // 2025-11-21T00:01:30.5Z
    expect(a.session).toBe(b.session);
    expect(a.part).toBe('2026-11-20');
    expect(a.ts).toBe('2026-11-20T23:59:30.250Z');
    expect(b.part).toBe('2025-11-21');
    expect(b.ts).toBe('2025-11-21T00:01:30.500Z');
  });
});

describe('bad input: served as without the module, record still written', () => {
  test('malformed JSON body under a JSON type', async () => {
    const body = '{"token": "abc", broken';
    const reply = await request(ng.url('/echo/malformed'), { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.text).bodyLength).toBe(body.length);
    const rec = await recordOf(reply);
    expect(rec.errors.join('\n')).toMatch(/request\.body\.json: not valid JSON/);
  });

  test('invalid percent-encoding in the query', async () => {
    const rec = await recordOf(await request(ng.url('/echo/q?q=%zz%E0')));
    expect(rec.errors).toEqual(['request.query.q: invalid percent-encoding']);
    expect(rec.params['request.query.q']).toBeUndefined();
  });

  test('broken JWT and broken base64', async () => {
    const a = await recordOf(await request(ng.url('/echo/jwt'), { headers: { authorization: 'Bearer not-a-jwt' } }));
    expect(a.errors.join('\n')).toMatch(/request\.header\.authorization\.jwt\.sub: not a JWT/);
    const b = await recordOf(await request(ng.url('/echo/jwt'), { headers: { authorization: 'Bearer aaa.%%%%.ccc' } }));
    expect(b.errors.join('\n')).toMatch(/JWT payload is not base64url/);
    const c = await recordOf(await request(ng.url('/echo/jwt'), { headers: { authorization: 'Bearer aaa.bm90IGpzb24.ccc' } }));
    expect(c.errors.join('\n')).toMatch(/JWT payload is not JSON/);
    expect(c.user).toBeNull();
  });

  test('bytes that are not UTF-8 in a header and the path still give one line of valid JSON', async () => {
    const raw = Buffer.concat([
      Buffer.from('GET /answered-by-nginx/bytes%FF HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nUser-Agent: bad'),
      Buffer.from([0xff, 0xfe, 0xc3]),
      Buffer.from('agent\r\nX-Request-Tag: t\xe9\r\n\r\n', 'latin1'),
    ]);
    const reply = await rawRequest(ng.ports[0], raw);
    expect(reply.slice(0, 200)).toMatch(/^HTTP\/1.1 200/);
    const id = /X-Request-Id: (\w+)/i.exec(reply)![1];
    const rec = await recordOf({ headers: { 'x-request-id': id } } as any);
    expect(rec.ua.startsWith('bad')).toBe(true);
    expect(rec.ua.endsWith('agent')).toBe(true);
    expect(rec.path).toBe('/answered-by-nginx/bytes%FF');
    expect(rec.params['request.header.x-request-tag']).toMatch(/^t./);
  });

  test('repeated cookies and query parameters: the first is used and the record says so', async () => {
    const rec = await recordOf(await request(ng.url('/echo/rep?q=one&q=two'), { headers: { cookie: 'theme=a; theme=b' } }));
    expect(rec.params['request.cookie.theme']).toBe('a');
    expect(rec.params['request.query.q']).toBe('one');
    expect(rec.errors).toEqual(
      expect.arrayContaining(['request.cookie.theme: sent more than once; the first is used', 'request.query.q: sent more than once; the first is used']),
    );
  });

  test('__proto__ and constructor as names read nothing from prototypes', async () => {
    const reply = await request(ng.url('/echo/proto?__proto__=x&constructor=y'), {
      ...json({ __proto__: { token: 'polluted' }, constructor: { x: 1 }, items: { __proto__: [1] } }, { cookie: '__proto__=1; constructor=2' }),
    });
    // JSON.stringify drops a literal __proto__ key: send it as text
    const body = '{"__proto__": {"token": "polluted"}, "items": {"constructor": 1}}';
    const reply2 = await request(ng.url('/echo/proto'), { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const r1 = await recordOf(reply);
    const r2 = await recordOf(reply2);
    expect(r1.key).not.toBe('request.body.json.token');
    expect(r2.key).not.toBe('request.body.json.token');
    expect(r2.params.first_item).toBeUndefined();
  });

  test.each([32, 40, 5000])('nesting %i deep is refused as JSON in the same words on every engine, the request is served', async (depth) => {
    const body = '{"token":"t-deep","a":' + '['.repeat(depth - 1) + ']'.repeat(depth - 1) + '}';
    const reply = await request(ng.url('/echo/deep'), { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(JSON.parse(reply.text).bodyLength).toBe(body.length);
    const rec = await recordOf(reply);
    expect(rec.errors).toEqual(['request.body.json: not valid JSON (nested too deep)']);
    expect(rec.key).not.toBe('request.body.json.token');
  });

  test('nesting 31 deep is read on every engine', async () => {
    const body = '{"token":"t-deep-31","a":' + '['.repeat(30) + ']'.repeat(30) + '}';
    const reply = await request(ng.url('/echo/deep'), { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const rec = await recordOf(reply);
    expect(rec.errors).toEqual([]);
    expect(rec.key).toBe('request.body.json.token');
  });

  test('very large headers and a body over the limit', async () => {
    const big = 'v'.repeat(6000);
    const body = JSON.stringify({ token: 'big-body', pad: 'p'.repeat(100 * 1024) });
    const reply = await request(ng.url('/echo/large'), json(JSON.parse(body), { cookie: 'theme=' + big, 'x-request-tag': big }));
    expect(JSON.parse(reply.text).bodyLength).toBe(body.length);
    const rec = await recordOf(reply);
    expect(rec.errors).toEqual(
      expect.arrayContaining([
        'request.body: larger than $api_sessions_max_body (65536 bytes): not read',
        'params.request.cookie.theme: value cut at 1024 characters',
      ]),
    );
    expect(rec.params['request.cookie.theme']).toBe('v'.repeat(1024));
  });

  test('a request body nginx wrote to a temp file reaches the upstream whole and is not read', async () => {
    const body = JSON.stringify({ token: 'in-a-file', pad: 'f'.repeat(8000) });
    const reply = await request(ng.url('/small-buffer/file'), json(JSON.parse(body)));
    expect(reply.status).toBe(200);
    const echoed = JSON.parse(reply.text);
    expect(echoed.bodyLength).toBe(body.length);
    const rec = await recordOf(reply);
    expect(rec.errors.join('\n')).toMatch(/nginx wrote the body to a temp file: not read/);
    expect(rec.key).not.toBe('request.body.json.token');
  });

  test('an internal redirect (error_page) still writes one record', async () => {
    const reply = await request(ng.url('/redirected?token=redir'));
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.text).url).toBe('/echo/fallback');
    const rec = await recordOf(reply);
    expect(rec.path).toBe('/redirected');
    expect(rec.key).toBe('request.query.token');
  });

  test('requests on one keep-alive connection share no state', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const a = await request(ng.url('/ka1?q=first'), { agent, headers: { 'x-request-tag': 'A', cookie: 'theme=x' } });
    const b = await request(ng.url('/ka2'), { agent });
    agent.destroy();
    const ra = await recordOf(a);
    const rb = await recordOf(b);
    expect(ra.params['request.header.x-request-tag']).toBe('A');
    expect(rb.params).toEqual({});
    expect(rb.errors).toEqual([]);
  });
});

describe('configuration', () => {
  test('bad entries are named in the error log and the valid ones still apply', async () => {
    // A fresh nginx: configuration messages go out on its first connections.
    const bad = await startNginx({
      http: `
        ${upstreamLines(up.port)}
        server {
            ${recordingLines({ secret: SECRET })}
            set $api_sessions_params "request.query.ok group; bogus.thing group; request.header.x-a flagx; request.cookie.c as; request.query.other";
            location / { proxy_pass http://app; }
        }`,
    });
    try {
      const reply = await request(bad.url('/?ok=yes&other=o'));
      expect(reply.status).toBe(200);
      const [rec] = await bad.records(1);
      expect(rec.key).toBe('request.query.ok');
      expect(rec.params['request.query.other']).toBe('o');
      const log = bad.errorLog();
      expect(log).toContain('api_sessions: $api_sessions_params entry 2 "bogus.thing group": unknown selector "bogus.thing"');
      expect(log).toContain('$api_sessions_params entry 3 "request.header.x-a flagx": unknown flag "flagx"');
      expect(log).toContain('$api_sessions_params entry 4 "request.cookie.c as": "as" needs a name');
      expect(rec.errors.filter((e: string) => e.startsWith('config: '))).toHaveLength(3);
    } finally {
      await bad.stop();
    }
  });

  test('more than 20 entries: the 21st is named and the first 20 apply', async () => {
    const entries = [];
    for (let i = 1; i <= 21; i++) entries.push('request.query.p' + i);
    const many = await startNginx({
      http: `
        upstream app { server 127.0.0.1:${up.port}; }
        server {
            listen 127.0.0.1:{{PORT0}};
            access_log {{PREFIX}}/logs/api_sessions.log api_sessions;
            set $api_sessions_params "${entries.join('; ')}";
            location / { proxy_pass http://app; }
        }`,
    });
    try {
      await request(many.url('/?p1=a&p20=b&p21=c'));
      const [rec] = await many.records(1);
      expect(rec.params).toEqual({ 'request.query.p1': 'a', 'request.query.p20': 'b' });
      expect(many.errorLog()).toContain('$api_sessions_params entry 21 "request.query.p21": more than 20 entries, ignored');
      // no secret configured anywhere: said once in the error log
      expect(many.errorLog().split('guessable').length - 1).toBe(1);
    } finally {
      await many.stop();
    }
  });

  test('settings from a map per host: one nginx, two applications with their own keys', async () => {
    const mapped = await startNginx({
      http: `
        ${upstreamLines(up.port)}
        map $host $api_sessions_app { default "other"; shop.local "shop"; api.local "api"; }
        map $host $api_sessions_params { default ""; shop.local "request.cookie.cart group"; api.local "request.header.x-client group"; }
        server {
            ${recordingLines({ secret: SECRET })}
            location / { proxy_pass http://app; }
        }`,
    });
    try {
      await request(mapped.url('/a'), { headers: { host: 'shop.local', cookie: 'cart=c1', 'x-client': 'k1' } });
      await request(mapped.url('/b'), { headers: { host: 'api.local', cookie: 'cart=c1', 'x-client': 'k1' } });
      const [shop, api] = await mapped.records(2);
      expect([shop.app, shop.key]).toEqual(['shop', 'request.cookie.cart']);
      expect([api.app, api.key]).toEqual(['api', 'request.header.x-client']);
      expect(shop.session).toBe(expectedSession(SECRET, 'shop', 'c1'));
      expect(api.session).toBe(expectedSession(SECRET, 'api', 'k1'));
    } finally {
      await mapped.stop();
    }
  });

  test('the secret comes from the environment when the variable is empty', async () => {
    const rec = await recordOf(await request(ng.url('/x', 1), { headers: { 'x-session-id': 'env-check' } }), 'builtin.log');
    expect(rec.session).toBe(expectedSession('secret-from-env', APP, 'env-check'));
  });
});
