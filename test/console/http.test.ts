/** The console over HTTP: ingest in shippers' shapes, the query API, CSV, the token, the Host check. */
import { gzipSync } from 'zlib';
import { request as httpRequest } from 'http';
import { join } from 'path';
import { RunningConsole, cutoffPart } from '../../src/console/index';
import { SessionRecord } from '../../src/shared/record';
import { mkdirSync, writeFileSync } from 'fs';
import { DAY, TODAY, YESTERDAY, consoleClient, line, rec, sid, testConsoles, waitFor } from './helpers';

const consoles = testConsoles('api-sessions-http-');
let n = 0;
let c: RunningConsole;

const { http, ingest: post } = consoleClient(() => c.url);
/** fetch() will not send another Host header; node:http will. */
function statusWithHost(path: string, host: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(new URL(path, c.url), { headers: { ...headers, host } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}
const today = new Date(TODAY).toISOString().slice(0, 10);

describe('console over HTTP (no token, loopback)', () => {
  beforeEach(async () => {
    c = await consoles.start();
  });

  test('GET /api/overview: every interval of the window, totals and tops; the window from from/to/window; bad values are 400', async () => {
    const t0 = TODAY - (TODAY % 3600000);
    await post([
      rec({ s: 'a', at: t0 + 1000, user: 'ann' }),
      rec({ s: 'a', at: t0 + 2000, user: 'ann', attack: ['sqli'] }),
      rec({ s: 'b', at: t0 + 121000, method: 'POST', path: '/login', status: 401 }),
    ].map(line).join(''));
    const iso = (t: number) => new Date(t).toISOString();
    const res = await http(`/api/overview?from=${iso(t0)}&to=${iso(t0 + 5 * 60000 - 1)}`);
    expect(res.status).toBe(200);
    const o = (await res.json()) as any;
    expect(o).toMatchObject({ from: iso(t0), to: iso(t0 + 5 * 60000), bucket_ms: 60000, app: null,
      totals: { requests: 3, attacks: 1, failed_logins: 1, sessions_peak: 1 }, top: { from: iso(t0), to: iso(t0 + 3600000) } });
    expect(o.series.map((b: any) => [b.t.slice(11, 16), b.requests, b.sessions, b.attacks, b.failed_logins])).toEqual([
      [iso(t0).slice(11, 16), 2, 1, 1, 0], [iso(t0 + 60000).slice(11, 16), 0, 0, 0, 0], [iso(t0 + 120000).slice(11, 16), 1, 1, 0, 1],
      [iso(t0 + 180000).slice(11, 16), 0, 0, 0, 0], [iso(t0 + 240000).slice(11, 16), 0, 0, 0, 0],
    ]);
    expect(o.top.users).toEqual([{ value: 'ann', requests: 2 }]);
    expect(o.top.endpoints).toEqual([{ value: 'GET /', requests: 2 }, { value: 'POST /login', requests: 1 }]);
    // a window of 24 hours ending now: ten-minute intervals; 7 days: hours
    const day = (await (await http('/api/overview')).json()) as any;
    expect(day.bucket_ms).toBe(600000);
    expect(day.series.length).toBeGreaterThanOrEqual(144);
    expect(Date.parse(day.to)).toBeGreaterThanOrEqual(Date.now() - 600000);
    expect(((await (await http('/api/overview?window=7d')).json()) as any).bucket_ms).toBe(3600000);
    expect(((await (await http(`/api/overview?from=${iso(t0)}&window=1h`)).json()) as any).to).toBe(iso(t0 + 3600000));
    expect(((await (await http('/api/overview?app=nothing&from=' + iso(t0))).json()) as any).totals.requests).toBe(0);
    for (const bad of ['window=2y', 'window=0m', 'from=yesterday', `from=${iso(t0)}&to=${iso(t0 - 1)}`, `from=${iso(t0 - 40 * DAY)}&to=${iso(t0)}`]) {
      const r = await http('/api/overview?' + bad);
      expect({ bad, status: r.status }).toEqual({ bad, status: 400 });
    }
  });

  test('binds 127.0.0.1 on a free port by default', () => {
    expect(c.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(c.token).toBeNull();
  });

  test('ingests NDJSON, a JSON array of envelopes and a gzip body; counts invalid lines and duplicates', async () => {
    const a = rec({ s: 'a', at: TODAY });
    const b = rec({ s: 'b', at: TODAY + 1 });
    const d = rec({ s: 'd', at: TODAY + 2 });
    let res = await post(JSON.stringify(a) + '\nnot json\n' + JSON.stringify(b) + '\n');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ inserted: 2, duplicates: 0, expired: 0, future: 0, invalid: 1 });
    res = await post(JSON.stringify([{ message: JSON.stringify(d), source_type: 'file' }, { log: JSON.stringify(a), date: 1 }]), { 'content-type': 'application/json' });
    expect(await res.json()).toEqual({ inserted: 1, duplicates: 1, expired: 0, future: 0, invalid: 0 });
    const e = rec({ s: 'e', at: TODAY + 3 });
    res = await post(gzipSync(JSON.stringify(e) + '\n'), { 'content-encoding': 'gzip' });
    expect(await res.json()).toMatchObject({ inserted: 1 });
    expect((await post('[{"broken"')).status).toBe(400);
    expect((await post('x', { 'content-encoding': 'br' })).status).toBe(415);
    const metrics = await (await http('/metrics')).text();
    expect(metrics).toMatch(/api_sessions_console_records_ingested_total\{source="http"\} 4/);
    expect(metrics).toMatch(/api_sessions_console_records_invalid_total\{source="http",reason="json"\} 1/);
    // a broken array and an unknown encoding are refused whole, counted by reason
    expect(metrics).toMatch(/api_sessions_console_ingest_refused_total\{reason="bad_body"\} 1/);
    expect(metrics).toMatch(/api_sessions_console_ingest_refused_total\{reason="encoding"\} 1/);
    expect(metrics).toMatch(/api_sessions_console_records_duplicate_total\{source="http"\} 1/);
  });

  test('the query API: list with filters, one part, its requests, all parts of a session', async () => {
    const rs: SessionRecord[] = [
      rec({ s: 'alice', at: YESTERDAY, user: 'alice', path: '/orders/1' }),
      rec({ s: 'alice', at: TODAY, user: 'alice', path: '/orders/2', status: 500 }),
      rec({ s: 'eve', at: TODAY + 5000, ip: '192.0.2.1', attack: ['xss'], status: 403 }),
    ];
    await post(rs.map((r) => JSON.stringify(r)).join('\n'));
    let body: any = await (await http('/api/parts?status=5xx&endpoint=' + encodeURIComponent('/orders/*'))).json();
    expect(body.items.map((p: { session: string }) => p.session)).toEqual([sid('alice')]);
    expect(body.filter).toEqual({ status: '5xx', endpoint: '/orders/*' });
    body = await (await http(`/api/parts?from=${encodeURIComponent(new Date(TODAY + 2000).toISOString().slice(0, 19))}`)).json();
    expect(body.items.map((p: { session: string }) => p.session)).toEqual([sid('eve')]);
    body = await (await http(`/api/sessions/${sid('alice')}`)).json();
    expect(body.parts.map((p: { part: string }) => p.part)).toEqual([today, new Date(YESTERDAY).toISOString().slice(0, 10)]);
    body = await (await http(`/api/sessions/${sid('eve')}/parts/${today}`)).json();
    expect(body.summary).toMatchObject({ requests: 1, attacks: { xss: 1 }, ips: { '192.0.2.1': 1 } });
    expect(body.timeline.reduce((s: number, b: { requests: number }) => s + b.requests, 0)).toBe(1);
    body = await (await http(`/api/sessions/${sid('eve')}/parts/${today}/requests`)).json();
    expect(body.items[0]).toMatchObject({ seq: 1, attack: ['xss'], status: 403, request_id: rs[2].request_id });
    expect((await http(`/api/sessions/${sid('nobody')}/parts/${today}`)).status).toBe(404);
    expect((await http('/api/parts?status=abc')).status).toBe(400);
    expect((await http('/api/parts?session=xyz')).status).toBe(400);
    expect((await http('/api/parts?cursor=bogus')).status).toBe(400);
    expect((await http('/api/parts?limit=100000')).status).toBe(400);
  });

  test('search: any-case wildcards, CIDR, id prefixes, free text q; a from after to is a 400', async () => {
    const rs: SessionRecord[] = [
      rec({ s: 'mal', at: TODAY, user: 'mallory', app: 'demo-api', path: '/orders/7', ip: '127.0.0.9', params: { 'request.query.q': 'UNION select' } }),
      rec({ s: 'ali', at: TODAY + 1000, user: 'alice', app: 'shop', path: '/cart', ip: '2001:db8::5' }),
    ];
    await post(rs.map((r) => JSON.stringify(r)).join('\n'));
    const sessions = async (q: string) => {
      const res = await http('/api/parts?' + q);
      expect(res.status).toBe(200);
      return (((await res.json()) as any).items as Array<{ session: string }>).map((p) => p.session);
    };
    expect(await sessions('user=Mallory')).toEqual([sid('mal')]);
    expect(await sessions('user=mal*')).toEqual([sid('mal')]);
    expect(await sessions('app=demo*')).toEqual([sid('mal')]);
    expect(await sessions('app=DEMO-API&endpoint=' + encodeURIComponent('/Orders/*'))).toEqual([sid('mal')]);
    expect(await sessions('ip=' + encodeURIComponent('127.0.0.0/8'))).toEqual([sid('mal')]);
    expect(await sessions('ip=' + encodeURIComponent('2001:db8::/32'))).toEqual([sid('ali')]);
    expect(await sessions('session=' + sid('mal').slice(0, 12))).toEqual([sid('mal')]);
    expect(await sessions('request_id=' + rs[1].request_id.slice(0, 12))).toEqual([sid('ali')]);
    expect(await sessions('q=mallory')).toEqual([sid('mal')]);
    expect(await sessions('q=union')).toEqual([sid('mal')]);
    expect(await sessions('q=2001:db8')).toEqual([sid('ali')]);
    expect(await sessions('q=nothing')).toEqual([]);
    const bad = async (q: string) => {
      const res = await http('/api/parts?' + q);
      return [res.status, ((await res.json()) as any).error];
    };
    expect(await bad(`from=${TODAY + 1000}&to=${TODAY}`)).toEqual([400, 'from: after to (swap them?)']);
    expect(await bad('session=abc')).toEqual([400, 'session: 8 to 32 hex characters (an id or its start)']);
    expect(await bad('request_id=abc')).toEqual([400, 'request_id: at least 8 hex characters']);
    expect(await bad('ip=' + encodeURIComponent('10.0.0.0/33'))).toEqual([400, 'ip: an address or a CIDR block (127.0.0.0/8, 2001:db8::/32)']);
    expect((await bad('q=' + 'x'.repeat(201)))[0]).toBe(400);
    expect(await bad('sort=name')).toEqual([400, 'sort: last, requests, attacked']);
    expect(await bad('fallback=show')).toEqual([400, 'fallback: only "hide"']);
    const sorted = (await (await http('/api/parts?sort=requests&total=1')).json()) as any;
    expect([sorted.items.length, sorted.total, sorted.total_capped]).toEqual([2, 2, false]);
  });

  test('attacks first: /api/attacks lists malicious requests with their session part; a part\'s requests filtered; a User-Agent filter', async () => {
    const rs: SessionRecord[] = [
      rec({ s: 'eve', at: TODAY, path: '/login', ua: 'sqlmap/1.8' }),
      rec({ s: 'eve', at: TODAY + 1000, path: '/items/1', attack: ['sqli'], status: 403, ua: 'sqlmap/1.8' }),
      rec({ s: 'eve', at: TODAY + 2000, path: '/items/2', status: 500, ua: 'sqlmap/1.8' }),
      rec({ s: 'eve', at: TODAY + 3000, path: '/search', attack: ['xss'], ua: 'sqlmap/1.8' }),
      rec({ s: 'bob', at: TODAY + 4000, path: '/cart', ua: 'Mozilla/5.0' }),
      rec({ s: 'zed', at: TODAY + 5000, path: '/admin', attack: ['sqli', 'lfi'], user: 'zed' }),
    ];
    await post(rs.map((r) => JSON.stringify(r)).join('\n'));
    const get = async (path: string) => {
      const res = await http(path);
      expect(res.status).toBe(200);
      return (await res.json()) as any;
    };
    let body = await get('/api/attacks');
    expect(body.items.map((r: any) => [r.session, r.part, r.request_id, r.attack])).toEqual([
      [sid('zed'), today, rs[5].request_id, ['sqli', 'lfi']],
      [sid('eve'), today, rs[1].request_id, ['sqli']],
      [sid('eve'), today, rs[3].request_id, ['xss']],
    ]);
    expect(body.more).toEqual([]);
    body = await get('/api/attacks?attack=sqli');
    expect(body.items.map((r: any) => r.request_id)).toEqual([rs[5].request_id, rs[1].request_id]);
    body = await get('/api/attacks?per_part=1&limit=1');
    expect(body.items.map((r: any) => r.request_id)).toEqual([rs[5].request_id]);
    body = await get('/api/attacks?per_part=1&limit=1&cursor=' + encodeURIComponent(body.next));
    expect(body.items.map((r: any) => r.request_id)).toEqual([rs[1].request_id]);
    expect(body.more).toEqual([{ session: sid('eve'), part: today, attacked: 2 }]);
    body = await get('/api/attacks?user=zed');
    expect(body.items.map((r: any) => r.request_id)).toEqual([rs[5].request_id]);

    const base = `/api/sessions/${sid('eve')}/parts/${today}/requests`;
    body = await get(base + '?only=attacks');
    expect(body.items.map((r: any) => [r.seq, r.path])).toEqual([[1, '/items/1'], [2, '/search']]);
    body = await get(base + '?only=failed');
    expect(body.items.map((r: any) => r.path)).toEqual(['/items/1', '/items/2']);
    body = await get(base + '?endpoint=' + encodeURIComponent('GET /ITEMS/*'));
    expect(body.items.map((r: any) => r.path)).toEqual(['/items/1', '/items/2']);
    expect((await http(base + '?only=everything')).status).toBe(400);

    body = await get('/api/parts?ua=' + encodeURIComponent('sqlmap/1.8'));
    expect(body.items.map((p: any) => p.session)).toEqual([sid('eve')]);
    expect(body.items[0].uas).toEqual({ 'sqlmap/1.8': 4 });
    const page = await http('/attacks');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
  });

  test('a part\'s statistics: endpoints as path patterns with counts, latency percentiles', async () => {
    const rs: SessionRecord[] = [];
    for (let i = 0; i < 20; i++) rs.push(rec({ s: 'enum', at: TODAY + i * 100, path: '/items/' + (i + 1), duration_ms: i + 1, status: i === 19 ? 404 : 200 }));
    rs.push(rec({ s: 'enum', at: TODAY + 3000, path: '/orders/0b2c3d4e-1111-2222-3333-444455556666/lines', duration_ms: 500, attack: ['sqli'] }));
    rs.push(rec({ s: 'enum', at: TODAY + 3100, method: 'POST', path: '/items/7', duration_ms: 50 }));
    await post(rs.map((r) => JSON.stringify(r)).join('\n'));
    const res = await http(`/api/sessions/${sid('enum')}/parts/${today}/stats`);
    expect(res.status).toBe(200);
    const st = (await res.json()) as any;
    expect(st.requests).toBe(22);
    expect(st.truncated).toBe(false);
    // nearest rank over 1..20, 50, 500
    expect(st.latency_ms).toEqual({ p50: 11, p95: 50, p99: 500, max: 500 });
    // by requests, then by pattern
    expect(st.endpoints).toEqual([
      { method: 'GET', pattern: '/items/N', requests: 20, paths: 20, failed: 1, attacks: 0, p50_ms: 10, p95_ms: 19 },
      { method: 'POST', pattern: '/items/N', requests: 1, paths: 1, failed: 0, attacks: 0, p50_ms: 50, p95_ms: 50 },
      { method: 'GET', pattern: '/orders/UUID/lines', requests: 1, paths: 1, failed: 0, attacks: 1, p50_ms: 500, p95_ms: 500 },
    ]);
    expect(st.other_requests).toBe(0);
    expect((await http(`/api/sessions/${sid('nobody')}/parts/${today}/stats`)).status).toBe(404);
  });

  test('CSV download, with values that look like spreadsheet formulas neutralised', async () => {
    const r = rec({ s: 'csv', at: TODAY, path: '/a,b"c', ua: '=HYPERLINK("http://x")', params: { q: '+1' } });
    await post(JSON.stringify(r));
    const res = await http(`/api/sessions/${sid('csv')}/parts/${today}/requests.csv`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(res.headers.get('content-disposition')).toContain(`session-${sid('csv')}-${today}.csv`);
    const text = await res.text();
    const [head, row] = text.trim().split('\n');
    expect(head.split(',').slice(0, 6)).toEqual(['seq', 'ts', 'request_id', 'method', 'host', 'path']);
    expect(row).toContain('"/a,b""c"');
    expect(row).toContain(`"'=HYPERLINK(""http://x"")"`);
    expect(row).not.toMatch(/,=HYPERLINK/);
  });

  test('CSV of what is on screen: the filtered list, a session over its days, a part filtered, a journey', async () => {
    const rs: SessionRecord[] = [
      rec({ s: 'anon', at: TODAY, path: '/catalog', ua: '=cmd|calc' }),
      rec({ s: 'tok', at: TODAY + 1000, method: 'POST', path: '/login', links: [sid('anon')], user: 'kim' }),
      rec({ s: 'tok', at: TODAY + 2000, path: '/orders/1', user: 'kim', attack: ['sqli'], status: 403 }),
      rec({ s: 'multi', at: YESTERDAY, path: '/day/1' }),
      rec({ s: 'multi', at: TODAY + 3000, path: '/day/2' }),
    ];
    await post(rs.map((r) => JSON.stringify(r)).join('\n'));
    const csv = async (path: string) => {
      const res = await http(path);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
      return { disposition: res.headers.get('content-disposition'), lines: (await res.text()).trim().split('\n') };
    };
    let out = await csv('/api/parts.csv?user=KIM');
    expect(out.disposition).toBe('attachment; filename="sessions.csv"');
    expect(out.lines[0]).toBe('session,part,app,first_ts,last_ts,requests,attacked,errored,users,roles,keys,ips,uas,statuses,attacks,methods');
    expect(out.lines.slice(1).map((l) => l.split(',').slice(0, 2).join(','))).toEqual([`${sid('tok')},${today}`]);
    out = await csv('/api/parts.csv');
    expect(out.lines).toHaveLength(1 + 4);
    out = await csv(`/api/sessions/${sid('multi')}/requests.csv`);
    expect(out.lines[0].startsWith('session,part,seq,ts,request_id,method,host,path')).toBe(true);
    expect(out.lines.slice(1).map((l) => l.split(',')[7])).toEqual(['/day/1', '/day/2']);
    out = await csv(`/api/sessions/${sid('tok')}/parts/${today}/requests.csv?only=attacks`);
    expect(out.lines.slice(1).map((l) => l.split(',')[5])).toEqual(['/orders/1']);
    out = await csv(`/api/sessions/${sid('tok')}/journey.csv`);
    expect(out.disposition).toBe(`attachment; filename="journey-${sid('tok')}.csv"`);
    expect(out.lines.slice(1).map((l) => l.split(',')[0] + ' ' + l.split(',')[7])).toEqual([`${sid('anon')} /catalog`, `${sid('tok')} /login`, `${sid('tok')} /orders/1`]);
    expect(out.lines[1]).toContain(",'=cmd|calc,"); // a formula neutralised
    expect((await http(`/api/sessions/${sid('nobody')}/journey.csv`)).status).toBe(404);
    expect((await http(`/api/sessions/${sid('nobody')}/requests.csv`)).status).toBe(404);
  });

  test('refuses a Host that is not loopback (DNS rebinding) and sends a strict CSP', async () => {
    expect(await statusWithHost('/api/parts', 'evil.example')).toBe(403);
    expect(await statusWithHost('/api/parts', 'localhost:1234')).toBe(200);
    const ok = await http('/');
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(ok.headers.get('x-content-type-options')).toBe('nosniff');
  });

  test('retention runs at start and on sweep(): old parts go, records older than the period are dropped', async () => {
    const old = rec({ s: 'old', at: TODAY - 9 * DAY });
    expect(await (await post(JSON.stringify(old))).json()).toMatchObject({ inserted: 0, expired: 1 });
    expect(cutoffPart(TODAY, 7)).toBe(new Date(TODAY - 7 * DAY).toISOString().slice(0, 10));
  });
});

describe('console with a token', () => {
  test('protects the API, ingest, metrics and the UI; Bearer or the login cookie lets in', async () => {
    c = await consoles.start({ token: 's3cret-token' });
    expect((await http('/api/parts')).status).toBe(401);
    expect((await http('/metrics')).status).toBe(401);
    expect((await post(JSON.stringify(rec({ s: 'a', at: TODAY })))).status).toBe(401);
    const page = await http('/session/' + sid('a') + '/' + today);
    expect(page.status).toBe(302);
    expect(page.headers.get('location')).toBe('/login?next=' + encodeURIComponent('/session/' + sid('a') + '/' + today));
    expect((await http('/api/parts', { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    expect((await http('/api/parts', { headers: { authorization: 'Bearer s3cret-token' } })).status).toBe(200);
    const ing = await post(JSON.stringify(rec({ s: 'a', at: TODAY })), { authorization: 'Bearer s3cret-token' });
    expect(await ing.json()).toMatchObject({ inserted: 1 });

    const form = (token: string, next: string) =>
      http('/login', { method: 'POST', body: new URLSearchParams({ token, next }).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    const bad = await form('nope', '/');
    expect(bad.headers.get('location')).toMatch(/^\/login\?failed=1/);
    expect(bad.headers.get('set-cookie')).toBeNull();
    const good = await form('s3cret-token', '//evil.example/');
    expect(good.headers.get('location')).toBe('/');
    const cookie = good.headers.get('set-cookie')!;
    expect(cookie).toMatch(/HttpOnly; SameSite=Strict/);
    expect(cookie).not.toContain('s3cret-token');
    const withCookie = await http('/api/parts', { headers: { cookie: cookie.split(';')[0] } });
    expect(withCookie.status).toBe(200);
    expect(((await withCookie.json()) as { items: unknown[] }).items).toHaveLength(1);
    // The Host check is the token's job here: any Host with the token is fine.
    expect(await statusWithHost('/api/parts', 'console.example', { authorization: 'Bearer s3cret-token' })).toBe(200);
    expect(await statusWithHost('/api/parts', 'console.example')).toBe(401);
  });

  test('listening off loopback without a token generates one', async () => {
    const logged: string[] = [];
    c = await consoles.start({ host: '0.0.0.0', log: (m) => logged.push(m) });
    expect(c.token).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(logged.join('\n')).toContain(c.token!);
    const base = c.url.replace('0.0.0.0', '127.0.0.1');
    expect((await http('/api/parts', { base })).status).toBe(401);
    expect((await http('/api/parts', { base, headers: { authorization: 'Bearer ' + c.token } })).status).toBe(200);
  });
});

describe('ingest failures are not silent', () => {
  test('--log naming a missing file: logged once, in /api/status tail.error, cleared when the file appears', async () => {
    const logged: string[] = [];
    const file = join(consoles.dir, `missing-${++n}.log`);
    c = await consoles.start({ logFile: file, pollMs: 20, rotateGraceMs: 100, log: (m) => logged.push(m) });
    const tail = async () => ((await (await http('/api/status')).json()) as any).tail;
    await waitFor('the error reported', async () => (await tail()).error !== null);
    expect((await tail()).error).toBe(`${file} does not exist: nothing is read until it appears (is --log the file nginx writes, and is it readable by this user?)`);
    await new Promise((r) => setTimeout(r, 300)); // many polls later: still said once
    expect(logged.filter((m) => m.includes('does not exist'))).toEqual([`tail ${file}: ${(await tail()).error}`]);
    writeFileSync(file, line(rec({ s: 'late', at: TODAY })));
    await waitFor('the file read', async () => (await c.store.stats()).requests === 1);
    expect((await tail()).error).toBeNull();
    expect(logged).toContain(`tail ${file}: the log file is there now: reading it`);
  });

  test('--log naming a directory: not a regular file, said at once', async () => {
    const dir = join(consoles.dir, `dir-${++n}.log`);
    mkdirSync(dir);
    const logged: string[] = [];
    c = await consoles.start({ logFile: dir, pollMs: 20, log: (m) => logged.push(m) });
    await waitFor('the error reported', async () => ((await (await http('/api/status')).json()) as any).tail.error !== null);
    expect(logged).toEqual([`tail ${dir}: ${dir} is not a regular file: nothing is read from it`]);
  });
});
