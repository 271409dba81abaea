/**
 * Blocks pulled without reloads (njs >= 0.8: js_periodic + ngx.fetch + js_shared_dict_zone,
 * nginx/api_sessions_blocks_pull.conf): two nginx follow one console; a block reaches both
 * within 10 s and a lift restores access, with no reload; a block ends at its expiry in nginx,
 * with or without the console; a malformed list is refused whole and logged, the console away
 * keeps the last list. njs 0.7.9 has none of these: there the map
 * include (blocks.test.ts) is the way, and this file is skipped.
 */
import http from 'http';
import { AddressInfo } from 'net';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { startNginx, Nginx, upstreamLines, recordingLines } from '../helpers/nginx';
import { currentEngine } from '../helpers/engines';
import { startUpstream, Upstream } from '../helpers/upstream';
import { request } from '../helpers/http';
import { startConsole, RunningConsole } from '../../src/console/index';
import { userHash } from '../../src/console/blocks';

/* eslint-disable @typescript-eslint/no-explicit-any */
const SECRET = 'blocks-secret';
const TOKEN = 'ui-token';
const BLOCKS_TOKEN = 'nginx-pull-token';
const engine = currentEngine();
const old = engine.name === 'debian12' || engine.name === 'custom';

(old ? describe.skip : describe)(old ? `blocks pulled by js_periodic: SKIPPED on ${engine.name} (njs 0.7.9 has no js_periodic; see blocks.test.ts)` : 'blocks pulled by js_periodic', () => {
  let up: Upstream;
  let c: RunningConsole;
  let dir: string;
  let a: Nginx;
  let b: Nginx;
  // Between nginx b and the console: relays, or answers a malformed list, or is down.
  let relay: http.Server;
  let mode: 'relay' | 'malformed' | 'down' = 'relay';

  const server = (consoleUrl: string) => `
    ${upstreamLines(up.port)}
    include {{ROOT}}/nginx/api_sessions_blocks_pull.conf;
    server {
        ${recordingLines({ secret: SECRET })}
        set $api_sessions_params 'request.header.authorization.jwt.sub user';
        set $api_sessions_now $http_x_test_now;           # tests pin the request's time
        location / {
            if ($api_sessions_blocked) { return 403; }
            proxy_pass http://app;
        }
        location @api_sessions_blocks_pull {
            js_var $api_sessions_blocks_url ${consoleUrl}api/blocks/list;
            js_var $api_sessions_blocks_token "${BLOCKS_TOKEN}";
            js_periodic api_sessions.pull_blocks interval=1s;
        }
    }
`;

  beforeAll(async () => {
    up = await startUpstream();
    dir = mkdtempSync(join(tmpdir(), 'api-sessions-blocks-pull-'));
    c = await startConsole({ dbPath: join(dir, 'c.db'), token: TOKEN, blocksToken: BLOCKS_TOKEN, log: () => undefined });
    relay = http.createServer((req, res) => {
      if (mode === 'down') return void req.socket.destroy();
      if (mode === 'malformed') return void res.end(JSON.stringify({ v: 2, version: 99, expires: null, sessions: [['zz', 1]], users: [[userHash('mallory'), Date.now() + 3600000]], keys: [] }));
      fetch(c.url + req.url!.slice(1), { headers: { authorization: String(req.headers.authorization) } })
        .then(async (r) => {
          res.statusCode = r.status;
          res.end(await r.text());
        })
        .catch(() => req.socket.destroy());
    });
    await new Promise<void>((res) => relay.listen(0, '127.0.0.1', () => res()));
    a = await startNginx({ http: server(c.url) });
    b = await startNginx({ http: server(`http://127.0.0.1:${(relay.address() as AddressInfo).port}/`) });
  });

  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await new Promise((res) => relay?.close(res));
    await c?.close();
    await up?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function login(ng: Nginx, user: string): Promise<string> {
    const r = await request(ng.url('/login'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user }) });
    return JSON.parse(r.text).token;
  }
  const get = (ng: Nginx, token: string, at?: number) =>
    request(ng.url('/orders'), { headers: { authorization: 'Bearer ' + token, ...(at === undefined ? {} : { 'x-test-now': String(at / 1000) }) } });

  async function api(method: string, path: string, body?: unknown): Promise<any> {
    const r = await fetch(c.url + path.slice(1), { method, headers: { authorization: 'Bearer ' + TOKEN, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    if (!r.ok) throw new Error(method + ' ' + path + ': ' + r.status);
    return r.json();
  }

  /** Waits (at most 10 s: the bound) until `token` answers `status` on `ng`; returns the ms it took. */
  async function within10s(ng: Nginx, token: string, status: number): Promise<number> {
    const start = Date.now();
    let last = 0;
    while (Date.now() - start < 10000) {
      last = (await get(ng, token)).status;
      if (last === status) return Date.now() - start;
      await new Promise((res) => setTimeout(res, 100));
    }
    throw new Error(`expected ${status} within 10 s, still ${last}`);
  }

  test('a block reaches both nginx within 10 s without a reload; another user behind the same IP passes; lifting restores', async () => {
    const pids = [a.pid, b.pid];
    const aliceA = await login(a, 'alice');
    const aliceB = await login(b, 'alice');
    const bob = await login(a, 'bob');
    expect((await get(a, aliceA)).status).toBe(200);
    const blk = await api('POST', '/api/blocks', { kind: 'user', value: 'alice', reason: 'scraping' });
    await within10s(a, aliceA, 403);
    await within10s(b, aliceB, 403);
    expect((await get(a, bob)).status).toBe(200);
    const refused = await get(a, aliceA);
    expect(refused.status).toBe(403);
    expect(await a.recordById(String(refused.headers['x-request-id']))).toMatchObject({ user: 'alice', blocked: true, status: 403 });
    const passed = await get(a, bob);
    expect((await a.recordById(String(passed.headers['x-request-id']))).blocked).toBeUndefined();

    await api('POST', `/api/blocks/${blk.id}/lift`, {});
    await within10s(a, aliceA, 200);
    await within10s(b, aliceB, 200);
    expect([a.pid, b.pid]).toEqual(pids);
    expect(a.errorLog()).not.toMatch(/reconfiguring/);
  });

  test('expiry restores access with no one acting', async () => {
    const erin = await login(a, 'erin');
    await api('POST', '/api/blocks', { kind: 'user', value: 'erin', reason: 'cool down', duration: '3s' });
    await within10s(a, erin, 403);
    await within10s(a, erin, 200);
  });

  test('a block ends at its expiry in nginx, whether the console answers or not', async () => {
    const kim = await login(b, 'kim');
    const lee = await login(b, 'lee');
    const hour = await api('POST', '/api/blocks', { kind: 'user', value: 'lee', reason: 'an hour', duration: '1h' });
    const short = await api('POST', '/api/blocks', { kind: 'user', value: 'kim', reason: 'a few seconds', duration: '6s' });
    await within10s(b, kim, 403);
    await within10s(b, lee, 403);
    // The console answers (and still lists lee's block): at a pinned time past the expiry
    // nginx lets the request through by itself.
    expect((await get(b, lee, hour.expires_at - 1)).status).toBe(403);
    expect((await get(b, lee, hour.expires_at)).status).toBe(200);
    mode = 'down';
    try {
      const end = Date.now() + 10000;
      while (!/block list not pulled/.test(b.errorLog()) && Date.now() < end) await new Promise((res) => setTimeout(res, 200));
      expect((await get(b, lee, hour.expires_at - 1)).status).toBe(403);
      expect((await get(b, lee, hour.expires_at)).status).toBe(200);
      // By the clock, with no list since: kim's block ends, lee's holds.
      await new Promise((res) => setTimeout(res, Math.max(0, short.expires_at - Date.now()) + 100));
      expect((await get(b, kim)).status).toBe(200);
      expect((await get(b, lee)).status).toBe(403);
    } finally {
      mode = 'relay';
    }
    await api('POST', `/api/blocks/${hour.id}/lift`, {});
    await within10s(b, lee, 200);
  });

  test('a malformed list is refused whole and logged; the console away keeps the last list', async () => {
    const frank = await login(b, 'frank');
    const grace = await login(b, 'grace');
    await api('POST', '/api/blocks', { kind: 'user', value: 'frank', reason: 'abuse' });
    await within10s(b, frank, 403);

    mode = 'malformed';
    const end = Date.now() + 10000;
    while (!/block list refused whole/.test(b.errorLog()) && Date.now() < end) await new Promise((res) => setTimeout(res, 200));
    expect(b.errorLog()).toMatch(/block list refused whole, the last one stays: sessions\[0\]: not \[32 hex characters, expiry in ms\]/);
    expect((await get(b, frank)).status).toBe(403);
    expect((await get(b, await login(b, 'mallory'))).status).toBe(200);

    mode = 'down';
    await c.close();
    const end2 = Date.now() + 10000;
    while (!/block list not pulled/.test(b.errorLog()) && Date.now() < end2) await new Promise((res) => setTimeout(res, 200));
    expect(b.errorLog()).toMatch(/block list not pulled, the last one stays/);
    for (let i = 0; i < 5; i++) {
      expect((await get(b, frank)).status).toBe(403);
      expect((await get(b, grace)).status).toBe(200);
      expect((await get(a, frank)).status).toBe(403);
    }
  });
});
