/**
 * The console under attack (issue 13): ingest only from shippers, no request holds the console,
 * ingest refuses what the record format forbids, sign-in is safe. Real console, real HTTP.
 */
import { gzipSync } from 'zlib';
import { request as httpRequest } from 'http';
import { spawn } from 'child_process';
import { AddressInfo } from 'net';
import { setPriority } from 'os';
import { readFileSync, writeFileSync } from 'fs';
import { join } from 'path';
import { RunningConsole } from '../../src/console/index';
import { buildServer } from '../../src/console/server';
import { Metrics } from '../../src/console/metrics';
import { Store } from '../../src/console/store/types';
import { SignOuts } from '../../src/console/signouts';
import { SessionRecord } from '../../src/shared/record';
import { TODAY, consoleClient, rec, testConsoles } from './helpers';

const consoles = testConsoles('api-sessions-security-');
let n = 0;
let c: RunningConsole;
const quiet = () => undefined;

const TOKEN = 'security-test-token';
/** Where raw() sends requests when the console runs in a child process. */
let base: string | null = null;

const { http, ingest } = consoleClient(() => c.url);
const ndjson = (rs: object[]) => rs.map((r) => JSON.stringify(r)).join('\n') + '\n';
const stored = async (headers: Record<string, string> = {}) =>
  ((await (await http('/api/parts', { headers })).json()) as { items: unknown[] }).items.length;
const metrics = async (headers: Record<string, string> = {}) => (await http('/metrics', { headers })).text();

/** Raw HTTP through node:http: a body streamed without buffering it whole, and headers fetch() will not send.
 *  Resolves with the answer, also when the server answers (and closes) before the body is sent. */
function raw(path: string, opts: { method?: string; headers?: Record<string, string | number>; body?: Buffer; chunks?: () => Iterable<Buffer>; localAddress?: string }): Promise<{ status: number; headers: Record<string, unknown>; text: string }> {
  return new Promise((resolve, reject) => {
    let answered = false;
    // agent: false: a connection of its own, closed after the answer (none left for close() to wait on)
    const req = httpRequest(new URL(path, base ?? c.url), { method: opts.method ?? 'GET', headers: opts.headers, agent: false, localAddress: opts.localAddress }, (res) => {
      answered = true;
      const parts: Buffer[] = [];
      res.on('data', (d) => parts.push(d));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(parts).toString() });
        req.destroy();
      });
      res.on('error', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: '' }));
    });
    req.on('error', (e) => {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EPIPE' || code === 'ECONNRESET') setTimeout(() => !answered && resolve({ status: 0, headers: {}, text: '' }), 200);
      else reject(e);
    });
    (async () => {
      if (opts.body) req.write(opts.body);
      if (opts.chunks) {
        for (const ch of opts.chunks()) {
          if (answered || req.destroyed) break;
          if (!req.write(ch)) await new Promise((r) => { req.once('drain', r); req.once('close', r); });
        }
      }
      req.end();
    })();
  });
}

describe('ingest takes only shippers\' requests (finding 3)', () => {
  beforeEach(async () => {
    c = await consoles.start();
  });

  test('no-cors fetch and <form enctype=text/plain> bodies (no JSON content type) are refused', async () => {
    const body = ndjson([rec({ s: 'forged', at: TODAY })]);
    expect((await ingest(body, { 'content-type': 'text/plain;charset=UTF-8' })).status).toBe(415);
    expect((await ingest(body, { 'content-type': 'application/x-www-form-urlencoded' })).status).toBe(415);
    expect((await ingest(body, { 'content-type': 'multipart/form-data; boundary=x' })).status).toBe(415);
    expect(await stored()).toBe(0);
    expect(await metrics()).toMatch(/api_sessions_console_ingest_refused_total\{reason="content_type"\} 3/);
  });

  test('cross-site requests are refused by Origin and Sec-Fetch-Site, another port of 127.0.0.1 included', async () => {
    const body = ndjson([rec({ s: 'forged', at: TODAY })]);
    const port = new URL(c.url).port;
    expect((await ingest(body, { origin: 'http://evil.test' })).status).toBe(403);
    expect((await ingest(body, { origin: 'http://127.0.0.1:1' })).status).toBe(403);
    expect((await ingest(body, { origin: 'null' })).status).toBe(403);
    expect((await raw('/api/ingest', { method: 'POST', headers: { 'content-type': 'application/x-ndjson', 'sec-fetch-site': 'same-site' }, body: Buffer.from(body) })).status).toBe(403);
    expect((await raw('/api/ingest', { method: 'POST', headers: { 'content-type': 'application/x-ndjson', 'sec-fetch-site': 'cross-site' }, body: Buffer.from(body) })).status).toBe(403);
    expect(await stored()).toBe(0);
    expect(await metrics()).toMatch(/api_sessions_console_ingest_refused_total\{reason="cross_site"\} 5/);
    // a shipper (no Origin) and a same-origin request are fine
    expect((await ingest(body, { origin: 'http://127.0.0.1:' + port })).status).toBe(200);
    expect(await stored()).toBe(1);
  });
});

describe('with a token, only the Bearer header authorizes ingest', () => {
  test('the UI\'s sign-in cookie does not', async () => {
    c = await consoles.start({ token: TOKEN });
    const login = await http('/login', { method: 'POST', body: new URLSearchParams({ token: TOKEN, next: '/' }).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    const cookie = login.headers.get('set-cookie')!.split(';')[0];
    expect((await http('/api/parts', { headers: { cookie } })).status).toBe(200);
    const body = ndjson([rec({ s: 'a', at: TODAY })]);
    expect((await ingest(body, { cookie })).status).toBe(401);
    const bearer = { authorization: 'Bearer ' + TOKEN };
    expect(await stored(bearer)).toBe(0);
    expect((await ingest(body, bearer)).status).toBe(200);
    expect(await stored(bearer)).toBe(1);
    expect(await metrics(bearer)).toMatch(/api_sessions_console_ingest_refused_total\{reason="token"\} 1/);
  });
});

describe('ingest refuses what the record format forbids (finding 7)', () => {
  beforeEach(async () => {
    c = await consoles.start();
  });

  const base = () => rec({ s: 'x', at: TODAY });
  const bad: Array<[string, (r: SessionRecord) => object]> = [
    ['ts with a space', (r) => ({ ...r, ts: r.ts.replace('T', ' ').slice(0, 19) })],
    ['ts in words', (r) => ({ ...r, ts: 'Nov 28 2026 23:59:59' })],
    ['ts with an offset', (r) => ({ ...r, ts: r.ts.slice(0, 19) + '+05:00' })],
    ['ts that is no date', (r) => ({ ...r, ts: r.ts.slice(0, 5) + '02-30T00:00:00.000Z', part: r.ts.slice(0, 5) + '02-30' })],
    ['part contradicting ts', (r) => ({ ...r, part: '2020-01-01' })],
    ['status 999999', (r) => ({ ...r, status: 999999 })],
    ['duration_ms 1e300', (r) => ({ ...r, duration_ms: 1e300 })],
    ['ip not an ip', (r) => ({ ...r, ip: 'not an ip' })],
    ['empty method', (r) => ({ ...r, method: '' })],
    ['app of 100,000 characters', (r) => ({ ...r, app: 'a'.repeat(100000) })],
    ['user of 2,000 characters', (r) => ({ ...r, user: 'u'.repeat(2000) })],
    ['17 errors', (r) => ({ ...r, errors: Array(17).fill('e') })],
  ];
  test.each(bad)('%s', async (_what, change) => {
    const res = await ingest(ndjson([change(base())]));
    expect(await res.json()).toMatchObject({ inserted: 0, invalid: 1 });
    expect(await stored()).toBe(0);
    expect(await metrics()).toMatch(/api_sessions_console_records_invalid_total\{source="http",reason="shape"\} 1/);
  });

  test('the same record within the limits is stored, and can be found by its app', async () => {
    const r = { ...base(), app: 'a'.repeat(1024), ip: '2001:db8::1' };
    expect(await (await ingest(ndjson([r]))).json()).toMatchObject({ inserted: 1, invalid: 0 });
    expect(((await (await http('/api/parts?app=' + 'a'.repeat(1024))).json()) as { items: unknown[] }).items).toHaveLength(1);
  });
});

describe('the tailer\'s limits over HTTP (finding 4)', () => {
  beforeEach(async () => {
    c = await consoles.start();
  });

  test('a line longer than 4 MiB is refused as too_long; the others are stored', async () => {
    const long = { ...rec({ s: 'long', at: TODAY }), ua: 'x'.repeat(4 * 1024 * 1024) };
    const res = await ingest(ndjson([rec({ s: 'a', at: TODAY }), long, rec({ s: 'b', at: TODAY })]));
    expect(await res.json()).toMatchObject({ inserted: 2, invalid: 1 });
    expect(await metrics()).toMatch(/api_sessions_console_records_invalid_total\{source="http",reason="too_long"\} 1/);
  });

  test('a body over 16 MiB is refused (413), also once decompressed', async () => {
    const big = Buffer.alloc(17 * 1024 * 1024, 0x20);
    expect((await raw('/api/ingest', { method: 'POST', headers: { 'content-type': 'application/x-ndjson', 'content-length': big.length }, body: big })).status).toBe(413);
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024, 0x20));
    expect((await ingest(bomb, { 'content-encoding': 'gzip' })).status).toBe(413);
    expect(await metrics()).toMatch(/api_sessions_console_ingest_refused_total\{reason="too_large"\} 2/);
  });

  test('JSON nested deeper than 16 is refused before it is parsed', async () => {
    const deep = '['.repeat(1000000) + ']'.repeat(1000000);
    expect((await ingest(deep, { 'content-type': 'application/json' })).status).toBe(400);
    const res = await ingest(ndjson([rec({ s: 'a', at: TODAY })]) + deep + '\n');
    expect(await res.json()).toMatchObject({ inserted: 1, invalid: 1 });
  });
});

/** The attacks, run by `node -e` against the URL in argv[1]; prints the statuses as JSON. */
const ATTACKS = `
const http = require('http');
const base = process.argv[1];
function send(path, headers, chunks) {
  return new Promise((resolve) => {
    let answered = false;
    const req = http.request(new URL(path, base), { method: chunks ? 'POST' : 'GET', headers, agent: false }, (res) => {
      answered = true;
      res.resume();
      res.on('end', () => { resolve(res.statusCode); req.destroy(); });
      res.on('error', () => resolve(res.statusCode));
    });
    req.on('error', () => setTimeout(() => !answered && resolve(0), 200));
    (async () => {
      for (let i = 0; chunks && i < chunks.n; i++) {
        if (answered || req.destroyed) break;
        if (!req.write(chunks.buf)) await new Promise((r) => { req.once('drain', r); req.once('close', r); });
      }
      req.end();
    })();
  });
}
const brackets = Buffer.alloc(1024 * 1024, 0x5b);
const letters = Buffer.alloc(1024 * 1024, 0x61);
const slow = encodeURIComponent('*a'.repeat(499) + '*b');
const all = [
  // 64 MiB of [[[[ as a JSON array body
  send('/api/ingest', { 'content-type': 'application/json', 'content-length': 64 * 1024 * 1024 }, { buf: brackets, n: 64 }),
  // the same under the body limit, streamed without a length
  send('/api/ingest', { 'content-type': 'application/json' }, { buf: brackets, n: 15 }),
  // one 60 MiB line
  send('/api/ingest', { 'content-type': 'application/x-ndjson' }, { buf: letters, n: 60 }),
];
// 30 endpoint queries of 500 wildcards at once
for (let i = 0; i < 30; i++) all.push(send('/api/parts?endpoint=' + slow, {}, null));
Promise.all(all).then((s) => process.stdout.write(JSON.stringify(s)));
`;

describe('no request holds the console (finding 4)', () => {
  jest.setTimeout(180000);

  test('/healthz is not stalled while the attacks run', async () => {
    // The console in a process of its own, as it runs: what is measured is its event loop, not
    // this test's, which sends 140 MiB of attack bodies.
    const db = join(consoles.dir, `h${++n}.db`);
    const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, '../../src/console/cli.ts'), '--db', db, '--port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout!.on('data', (d) => {
          out += d;
          const m = /(http:\/\/\S+)/.exec(out);
          if (m) resolve(m[1]);
        });
        child.on('exit', (code) => reject(new Error('console exited with ' + code)));
      });
      base = url;
      // Many distinct paths, as the issue stored (fewer here: the attacks are what matters).
      const PATHS = 50000;
      for (let i = 0; i < PATHS; i += 10000) {
        const rs: SessionRecord[] = [];
        for (let k = i; k < i + 10000; k++) rs.push(rec({ s: 's' + (k % 500), at: TODAY + k, path: '/p/' + k.toString(36) + '/item' }));
        const res = await raw('/api/ingest', { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: Buffer.from(ndjson(rs)) });
        expect(JSON.parse(res.text)).toMatchObject({ inserted: 10000 });
      }
      // Each refusal once before measuring, as a console that has run a while has done: the first
      // use of a code path (compiling, loading) is a one-time cost, not what an attack holds.
      expect((await raw('/api/ingest', { method: 'POST', headers: { 'content-type': 'application/json' }, body: Buffer.alloc(100, 0x5b) })).status).toBe(400);
      expect((await raw('/api/ingest', { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': 17 * 1024 * 1024 }, body: Buffer.alloc(10) })).status).toBe(413);
      expect((await raw('/api/parts?endpoint=' + encodeURIComponent('*a'.repeat(20)), {})).status).toBe(400);

      const gaps: number[] = [];
      let running = true;
      const probe = (async () => {
        while (running) {
          const t = process.hrtime.bigint();
          const res = await raw('/healthz', {});
          expect(res.status).toBe(200);
          gaps.push(Number(process.hrtime.bigint() - t) / 1e6);
          await new Promise((r) => setTimeout(r, 5));
        }
      })();
      await new Promise((r) => setTimeout(r, 50));
      // The attacks from a third process, so that this one only measures.
      const attacker = spawn(process.execPath, ['-e', ATTACKS, url], { stdio: ['ignore', 'pipe', 'inherit'] });
      // At the lowest priority: on a small shared machine the attacker's own CPU (pushing 140 MiB)
      // would otherwise delay the console by scheduling alone; what is measured is whether the
      // console's work on these requests blocks it.
      setPriority(attacker.pid!, 19);
      let out = '';
      attacker.stdout!.on('data', (d) => (out += d));
      await new Promise((r) => attacker.once('exit', r));
      running = false;
      await probe;
      const statuses: number[] = JSON.parse(out);

      expect(gaps.length).toBeGreaterThanOrEqual(10);
      // Not a speed target (those are in the benchmark) but a stall detector: a console that the
      // attacks hold stalls for seconds (23 s before the bounds). Half the probes within 100 ms and
      // every one within 3 s: the 2 shared cores CI and developers run on delay odd probes by
      // scheduling alone (1,040 ms seen under a load of 10), never by seconds for most of them.
      const sorted = [...gaps].sort((a, b) => a - b);
      const median = sorted[Math.floor(sorted.length / 2)];
      if (median >= 100 || sorted[sorted.length - 1] >= 3000) console.log('healthz latencies (ms): ' + gaps.map((g) => g.toFixed(1)).join(' '));
      expect(median).toBeLessThan(100);
      expect(sorted[sorted.length - 1]).toBeLessThan(3000);
      // the patterns are refused (400) or, beyond the queue, answered busy (503); never run.
      // The big bodies: 400/413, or a reset when the console answered before the body was sent.
      expect(statuses).toHaveLength(33);
      expect(statuses.filter((s) => s === 400).length).toBeGreaterThanOrEqual(13);
      expect(statuses.every((s) => s === 0 || s === 400 || s === 413 || s === 503)).toBe(true);
    } finally {
      base = null;
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
    }
  });

  test('a query with too many wildcards gets a clear 400', async () => {
    c = await consoles.start();
    const res = await http('/api/parts?endpoint=' + encodeURIComponent('*a'.repeat(9)));
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: 'endpoint: at most 8 wildcards (* and ?)' });
    expect((await http('/api/parts?endpoint=' + encodeURIComponent('GET /a/**/b/*'))).status).toBe(200);
  });

  test('queries beyond the queue get 503 with Retry-After; the others are answered', async () => {
    // A store whose list queries wait until the test lets them go: the gate alone decides, however
    // slowly the requests arrive on a busy machine. They are let go once six replies said busy
    // (or after 10 s, when the gate failed to refuse and the assertions below say so).
    let running = 0;
    let most = 0;
    let release: () => void = () => undefined;
    const released = new Promise<void>((r) => (release = r));
    const fallback = setTimeout(() => release(), 10000);
    const store = {
      listParts: async () => {
        most = Math.max(most, ++running);
        await released;
        running--;
        return { items: [], next: null };
      },
    } as unknown as Store;
    const app = await buildServer({
      store,
      metrics: new Metrics(),
      onInvalid: () => undefined,
      ingest: async () => ({ inserted: 0, duplicates: 0, expired: 0, future: 0 }),
      token: null,
      maxQueuedQueries: 4,
      status: async () => ({}),
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/`;
    try {
      let busyReplies = 0;
      const replies = await Promise.all(
        // Every other one spelled with %XX: the same route, the same queue.
        Array.from({ length: 12 }, (_, i) =>
          raw(i % 2 ? '/%61pi/parts' : '/api/parts', {}).then((r) => {
            if (r.status === 503 && ++busyReplies === 6) release();
            return r;
          }),
        ),
      );
      clearTimeout(fallback);
      const codes = replies.map((r) => r.status).sort();
      expect(codes).toEqual([200, 200, 200, 200, 200, 200, 503, 503, 503, 503, 503, 503]);
      expect(most).toBe(2);
      const busy = replies.find((r) => r.status === 503)!;
      expect(busy.headers['retry-after']).toBe('1');
      expect(JSON.parse(busy.text).error).toMatch(/^busy/);
      expect((await raw('/healthz', {})).status).toBe(200);
    } finally {
      release();
      clearTimeout(fallback);
      base = null;
      await app.close();
    }
  });
});

describe('sign-in (finding 6)', () => {
  const form = (fields: Record<string, string>, headers: Record<string, string> = {}) =>
    http('/login', { method: 'POST', body: new URLSearchParams(fields).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers } });

  test('next: same-origin paths only; tabs, newlines and characters above U+00FF never reach Location', async () => {
    c = await consoles.start({ token: TOKEN });
    const cases: Array<[string, string]> = [
      ['/\t/evil.test', '/'],
      ['/%09/evil.test', '/%09/evil.test'], // stays a path: the browser does not decode it
      ['//evil.test', '/'],
      ['/\\evil.test', '/'],
      ['https://evil.test/', '/'],
      ['/a\nLocation: //evil.test', '/'],
      ['/caf\u00e9\u0100', '/'],
      ['/session/abc/2026-11-28?x=1#r=2', '/session/abc/2026-11-28?x=1#r=2'],
      // Dot segments that collapse into `//host` once resolved.
      ['/.//evil.example', '/'],
      ['/..//evil.example', '/'],
      ['/a/..//evil.example', '/'],
      ['/%2e//evil.example', '/'],
      ['/%2E%2e//evil.example/x?y#z', '/'],
      ['/a/%2e%2e//evil.example', '/'],
      ['/./%5cevil.example', '/%5cevil.example'], // a path: %5c is no backslash to a browser
      ['/a/../blocks', '/blocks'],
    ];
    for (const [next, location] of cases) {
      const res = await form({ token: TOKEN, next });
      expect([next, res.status]).toEqual([next, 302]);
      expect([next, res.headers.get('location')]).toEqual([next, location]);
      // Wherever it points, a browser resolves it to this console.
      expect([next, new URL(res.headers.get('location')!, c.url).origin]).toEqual([next, new URL(c.url).origin]);
    }
  });

  test('the cookie: fresh per sign-in, expires, Secure behind a trusted TLS proxy, revoked by sign-out', async () => {
    c = await consoles.start({ token: TOKEN });
    const a = (await form({ token: TOKEN, next: '/' })).headers.get('set-cookie')!;
    const b = (await form({ token: TOKEN, next: '/' })).headers.get('set-cookie')!;
    expect(a.split(';')[0]).not.toBe(b.split(';')[0]);
    expect(a).toMatch(/; Max-Age=43200/);
    expect(a).toMatch(/HttpOnly; SameSite=Strict/);
    expect(a).not.toMatch(/Secure/);
    // X-Forwarded-Proto is not trusted unless configured
    expect((await form({ token: TOKEN, next: '/' }, { 'x-forwarded-proto': 'https' })).headers.get('set-cookie')).not.toMatch(/Secure/);
    const cookieA = a.split(';')[0];
    const cookieB = b.split(';')[0];
    expect((await http('/api/parts', { headers: { cookie: cookieA } })).status).toBe(200);
    const out = await http('/logout', { method: 'POST', headers: { cookie: cookieA } });
    expect(out.status).toBe(302);
    expect(out.headers.get('set-cookie')).toMatch(/Max-Age=0/);
    expect((await http('/api/parts', { headers: { cookie: cookieA } })).status).toBe(401);
    expect((await http('/api/parts', { headers: { cookie: cookieB } })).status).toBe(200);
    // a forged or altered cookie
    expect((await http('/api/parts', { headers: { cookie: cookieB.replace(/v1\.\d+/, 'v1.99999999999999') } })).status).toBe(401);
    await c.close();

    // A restart (same database, same token) remembers the sign-out; the other sign-in still holds.
    c = await consoles.start({ dbPath: consoles.dbPath(), token: TOKEN });
    expect((await http('/api/parts', { headers: { cookie: cookieA } })).status).toBe(401);
    expect((await http('/api/parts', { headers: { cookie: cookieB } })).status).toBe(200);
    expect(readFileSync(consoles.dbPath() + '.signouts', 'utf8')).toContain(cookieA.split('.')[2] + ' ');
    await c.close();

    c = await consoles.start({ token: TOKEN, trustForwardedProto: true });
    expect((await form({ token: TOKEN, next: '/' }, { 'x-forwarded-proto': 'https' })).headers.get('set-cookie')).toMatch(/; Secure$/);
    expect((await form({ token: TOKEN, next: '/' }, { 'x-forwarded-proto': 'http' })).headers.get('set-cookie')).not.toMatch(/Secure/);
  });

  test('sign-outs are kept in a bounded file: past the bound the first to expire leaves the list and stays refused by the floor', async () => {
    const file = join(consoles.dir, `signouts-${++n}`);
    let t = 1_000_000;
    const open = () => new SignOuts(file, 3, 12 * 3600000, () => t, quiet);
    const a = open();
    for (let i = 1; i <= 5; i++) a.signOut('n' + i, t + i * 1000);
    // n1 and n2 left the list; the floor (n2's expiry) still refuses them, and any cookie
    // expiring as soon; a cookie expiring later and never signed out is not refused.
    for (let i = 1; i <= 5; i++) expect(a.has('n' + i, t + i * 1000)).toBe(true);
    expect(a.has('other', t + 2000)).toBe(true);
    expect(a.has('other', t + 2001)).toBe(false);
    const b = open();
    for (let i = 1; i <= 5; i++) expect(b.has('n' + i, t + i * 1000)).toBe(true);
    expect(b.has('other', t + 2001)).toBe(false);
    // Many sign-outs later the file still holds about twice the bound at most.
    for (let i = 6; i < 200; i++) b.signOut('n' + i, t + i * 1000);
    expect(readFileSync(file, 'utf8').trim().split('\n').length).toBeLessThanOrEqual(2 * 3 + 1);
    expect(open().has('n199', t + 199000)).toBe(true);
    // Expired sign-outs are dropped when read again.
    t += 300000;
    open();
    expect(readFileSync(file, 'utf8').trim().split('\n').filter((l) => !l.startsWith('floor')).length).toBe(0);
    // A line cut short (a crash while writing): every cookie issued until then is refused,
    // the ones issued afterwards are not.
    writeFileSync(file, 'floor 0\nn7 17x');
    const c2 = open();
    expect(c2.has('any', t + 12 * 3600000)).toBe(true);
    expect(c2.has('any', t + 1 + 12 * 3600000)).toBe(false);
  });

  test('failed sign-ins are rate limited; a cross-site sign-in is refused', async () => {
    c = await consoles.start({ token: TOKEN });
    for (let i = 0; i < 5; i++) expect((await form({ token: 'wrong' + i, next: '/' })).status).toBe(302);
    const limited = await form({ token: 'wrong', next: '/' });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    // even the right token waits: a guesser learns nothing from the limit
    expect((await form({ token: TOKEN, next: '/' })).status).toBe(429);
    expect((await form({ token: TOKEN, next: '/' }, { origin: 'http://evil.test' })).status).toBe(403);
  });

  /** A sign-in posted from a given loopback address (Linux answers on all of 127.0.0.0/8). */
  const formFrom = (localAddress: string, token: string, headers: Record<string, string> = {}) =>
    raw('/login', {
      method: 'POST',
      localAddress,
      body: Buffer.from(new URLSearchParams({ token, next: '/' }).toString()),
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    });

  test('ten addresses with five wrong tokens each slow sign-in down but never lock the right token out of a fresh address', async () => {
    c = await consoles.start({ token: TOKEN });
    for (let a = 2; a < 12; a++) {
      for (let i = 0; i < 5; i++) expect((await formFrom(`127.0.0.${a}`, 'wrong' + i)).status).toBe(302);
      expect((await formFrom(`127.0.0.${a}`, TOKEN)).status).toBe(429); // each of them is locked out
    }
    const fresh = await formFrom('127.0.0.20', TOKEN);
    expect(fresh.status).toBe(302);
    expect(String(fresh.headers['set-cookie'])).toMatch(/^api_sessions_token=v1\./);
    // Meanwhile tokens from addresses not seen with the right one are checked one at a time,
    // 250 ms apart: four at once take at least 750 ms.
    const started = Date.now();
    const answers = await Promise.all([21, 22, 23, 24].map((a) => formFrom(`127.0.0.${a}`, 'wrong')));
    expect(answers.map((r) => r.status)).toEqual([302, 302, 302, 302]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(750);
    // A second attempt from an address already waiting is refused, the first one goes on.
    const [first, second] = await Promise.all([formFrom('127.0.0.25', 'wrong'), formFrom('127.0.0.25', 'wrong')]);
    expect([first.status, second.status].sort()).toEqual([302, 429]);
  });

  test("behind a trusted proxy each client counts for itself (X-Forwarded-For); without the flag they share the proxy's address", async () => {
    c = await consoles.start({ token: TOKEN, trustForwardedProto: true });
    const via = (client: string) => ({ 'x-forwarded-for': `198.51.100.9, ${client}` }); // the proxy wrote the last one
    for (let i = 0; i < 5; i++) expect((await form({ token: 'wrong' + i, next: '/' }, via('203.0.113.1'))).status).toBe(302);
    expect((await form({ token: TOKEN, next: '/' }, via('203.0.113.1'))).status).toBe(429);
    expect((await form({ token: TOKEN, next: '/' }, via('203.0.113.2'))).status).toBe(302);
    // IPv6 clients count per /64.
    for (let i = 0; i < 5; i++) expect((await form({ token: 'wrong' + i, next: '/' }, via('2001:db8:1:2::' + (i + 1)))).status).toBe(302);
    expect((await form({ token: TOKEN, next: '/' }, via('2001:db8:1:2:ffff::9'))).status).toBe(429);
    expect((await form({ token: TOKEN, next: '/' }, via('2001:db8:1:3::1'))).status).toBe(302);
    await c.close();

    c = await consoles.start({ token: TOKEN });
    for (let i = 0; i < 5; i++) expect((await form({ token: 'wrong' + i, next: '/' }, via('203.0.113.1'))).status).toBe(302);
    expect((await form({ token: TOKEN, next: '/' }, via('203.0.113.2'))).status).toBe(429);
  });

  test("wrong Bearer tokens are limited like sign-ins, the console's and the blocks token", async () => {
    c = await consoles.start({ token: TOKEN, blocksToken: 'nginx-token' });
    const bearer = (localAddress: string, path: string, token: string) => raw(path, { localAddress, headers: { authorization: 'Bearer ' + token } });
    for (let i = 0; i < 5; i++) expect((await bearer('127.0.0.2', '/api/parts', 'wrong' + i)).status).toBe(401);
    const limited = await bearer('127.0.0.2', '/api/parts', TOKEN);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    // The same count: that address's sign-in waits too; another address is not concerned.
    expect((await formFrom('127.0.0.2', TOKEN)).status).toBe(429);
    expect((await bearer('127.0.0.3', '/api/parts', TOKEN)).status).toBe(200);
    for (let i = 0; i < 5; i++) expect((await bearer('127.0.0.4', '/api/blocks/nginx-map', 'wrong' + i)).status).toBe(401);
    expect((await bearer('127.0.0.4', '/api/blocks/nginx-map', 'nginx-token')).status).toBe(429);
    expect((await bearer('127.0.0.5', '/api/blocks/nginx-map', 'nginx-token')).status).toBe(200);
  });
});

describe("sign-in and sign-out forms: the console's own pages only", () => {
  const post = (path: string, headers: Record<string, string>, cookie?: string) =>
    http(path, {
      method: 'POST',
      body: new URLSearchParams({ token: TOKEN, next: '/' }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...(cookie ? { cookie } : {}), ...headers },
    });

  test("a form posted from another site is refused; what a browser sends from the console's own page passes", async () => {
    c = await consoles.start({ token: TOKEN });
    const self = new URL(c.url).origin;
    expect((await http('/login')).headers.get('referrer-policy')).toBe('same-origin');
    const crossSite: Array<Record<string, string>> = [
      { origin: 'http://evil.test', 'sec-fetch-site': 'cross-site' },
      { origin: 'http://evil.test' },
      { origin: 'null', 'sec-fetch-site': 'cross-site' }, // a sandboxed page elsewhere
      { origin: 'null' }, // a browser without Fetch Metadata: an opaque origin is not this one
      { origin: self.replace(/:\d+$/, ':1'), 'sec-fetch-site': 'same-site' }, // another port
      { origin: self, 'sec-fetch-site': 'same-site' },
    ];
    for (const headers of crossSite) {
      const res = await post('/login', headers);
      expect([headers, res.status, res.headers.get('set-cookie')]).toEqual([headers, 403, null]);
    }
    const cookie = (await post('/login', { origin: self, 'sec-fetch-site': 'same-origin' })).headers.get('set-cookie')!.split(';')[0];
    expect((await http('/api/parts', { headers: { cookie } })).status).toBe(200);
    // Sign-out posted from elsewhere changes nothing; from the console's page it signs out.
    for (const headers of crossSite) expect((await post('/logout', headers, cookie)).status).toBe(403);
    expect((await http('/api/parts', { headers: { cookie } })).status).toBe(200);
    // Chromium posts `Origin: null` from a page with Referrer-Policy: no-referrer; its
    // Sec-Fetch-Site still says same-origin.
    const out = await post('/logout', { origin: 'null', 'sec-fetch-site': 'same-origin' }, cookie);
    expect(out.status).toBe(302);
    expect((await http('/api/parts', { headers: { cookie } })).status).toBe(401);
    expect((await post('/login', { origin: self })).status).toBe(302); // a browser without Fetch Metadata
  });
});

describe('one path for every access decision', () => {
  test('a percent-encoded path is decided as the route it reaches: the sign-in cookie does not open ingest at /api/%69ngest', async () => {
    c = await consoles.start({ token: TOKEN, blocksToken: 'nginx-token' });
    const signedIn = await http('/login', { method: 'POST', body: new URLSearchParams({ token: TOKEN, next: '/' }).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    const cookie = signedIn.headers.get('set-cookie')!.split(';')[0];
    const body = JSON.stringify(rec({ s: 'encoded', at: TODAY })) + '\n';
    for (const path of ['/api/ingest', '/api/%69ngest', '/%61pi/ingest', '/api/ingest?x=1']) {
      const res = await http(path, { method: 'POST', body, headers: { 'content-type': 'application/x-ndjson', cookie } });
      expect([path, res.status]).toEqual([path, 401]);
    }
    expect(await stored({ authorization: 'Bearer ' + TOKEN })).toBe(0);
    // The token still opens it, whichever spelling.
    expect((await http('/api/%69ngest', { method: 'POST', body, headers: { 'content-type': 'application/x-ndjson', authorization: 'Bearer ' + TOKEN } })).status).toBe(200);
    // An API route spelled otherwise answers 401 like the API (not the sign-in page's redirect).
    expect((await http('/%61pi/parts')).status).toBe(401);
    // The blocks token's routes, encoded, take the blocks token, and only it.
    expect((await http('/api/blocks/%6cist', { headers: { cookie } })).status).toBe(401);
    expect((await http('/api/blocks/%6cist', { headers: { authorization: 'Bearer nginx-token' } })).status).toBe(200);
  });
});

describe('time filters', () => {
  test("from=' OR '1'='1 is refused", async () => {
    c = await consoles.start();
    const res = await http('/api/parts?from=' + encodeURIComponent("' OR '1'='1"));
    expect(res.status).toBe(400);
    expect((await http('/api/parts?from=2026-11-28T00:00:00Z&to=' + Date.now())).status).toBe(200);
    expect((await http('/api/parts?from=' + encodeURIComponent('2026-11-28T00:00:00.000+05:00'))).status).toBe(200);
  });
});
