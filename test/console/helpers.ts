/** Shared by the console's tests: records to order, temp dirs, waiting for a condition. */
import crypto from 'crypto';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { SessionRecord } from '../../src/shared/record';
import { ConsoleOptions, RunningConsole, startConsole } from '../../src/console/index';

export const DAY = 86400000;
/** 10:00 UTC of the latest day on which that was at least 2 hours ago (today from noon on, else
 *  yesterday), and the day before: records are inside the retention period and never in the
 *  future, whatever time the tests run at. */
export const TODAY = Math.floor((Date.now() - 12 * 3600000) / DAY) * DAY + 10 * 3600000;
export const YESTERDAY = TODAY - DAY;

export const sid = (name: string) => crypto.createHash('md5').update('session ' + name).digest('hex');

let counter = 0;
export function rid(): string {
  return crypto.createHash('md5').update('rid ' + ++counter + ' ' + Math.random()).digest('hex');
}

export function rec(o: Partial<SessionRecord> & { at: number; s: string }): SessionRecord {
  const { at, s, ...rest } = o;
  const ts = new Date(at).toISOString();
  return {
    v: 1,
    ts,
    app: 'shop',
    session: sid(s),
    part: ts.slice(0, 10),
    key: 'request.query.token',
    key_source: 'params',
    request_id: rid(),
    method: 'GET',
    host: 'shop.local',
    path: '/',
    status: 200,
    duration_ms: 3,
    bytes_sent: 100,
    ip: '203.0.113.1',
    ua: 'test-agent',
    params: {},
    user: null,
    role: null,
    attack: null,
    request: null,
    errors: [],
    ...rest,
  };
}

export function tempDir(prefix: string): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Polls `check` until it returns a truthy value or `ms` pass (then throws with `what`). */
export async function waitFor<T>(what: string, check: () => Promise<T> | T, ms = 15000): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}` + (last ? `: ${(last as Error).message}` : ''));
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const line = (r: SessionRecord) => JSON.stringify(r) + '\n';

/**
 * A test's console over HTTP as clients send to it: `http` fetches a path without following
 * redirects (`base`: another address than the console's), `ingest` posts a body to /api/ingest as
 * NDJSON (or with the content type `headers` give). `url` names the console when a request is made.
 */
export function consoleClient(url: () => string) {
  const http = (path: string, init: RequestInit & { base?: string } = {}): Promise<Response> =>
    fetch(new URL(path, init.base ?? url()), { redirect: 'manual', ...init });
  const ingest = (body: string | Buffer, headers: Record<string, string> = {}) =>
    http('/api/ingest', { method: 'POST', body, headers: { 'content-type': 'application/x-ndjson', ...headers } });
  return { http, ingest };
}

/**
 * The consoles of one test file: each started on a fresh SQLite file in one temp folder, quiet
 * unless `log` is given. Those started are closed after each test (`closeAfter: 'each'`, for files
 * that start one per test) or after all (for a console shared by the file's tests); the folder is
 * removed after all.
 */
export function testConsoles(prefix: string, closeAfter: 'each' | 'all' = 'each') {
  const tmp = tempDir(prefix);
  let n = 0;
  const running: RunningConsole[] = [];
  const closeAll = async () => {
    for (const c of running.splice(0)) await c.close();
  };
  (closeAfter === 'each' ? afterEach : afterAll)(closeAll);
  afterAll(async () => {
    await closeAll();
    tmp.cleanup();
  });
  return {
    dir: tmp.dir,
    /** The SQLite file the last start() opened (to start again on the same data). */
    dbPath: () => join(tmp.dir, `c${n}.db`),
    async start(options: ConsoleOptions = {}): Promise<RunningConsole> {
      // another store is the test's own: no SQLite file for it
      const dbPath = options.store || options.dbPath ? undefined : join(tmp.dir, `c${++n}.db`);
      const c = await startConsole({ dbPath, log: () => undefined, ...options });
      running.push(c);
      return c;
    },
  };
}

/**
 * Stitched sessions: alice and bob behind one IP + User-Agent each browse anonymously (a cookie),
 * log in (the login links the anonymous session and the shared IP + UA session), alice refreshes
 * her token; one second apart from `start`. Always a link to a session of which nothing is stored
 * and a malformed one; `edgeCases` adds an upper-case link and a link to itself on the same
 * record, and a last record repeating a link (its first time stays), as the store contract asks.
 */
export function journeyScenario(opts: { start: number; rec?: typeof rec; edgeCases?: boolean }): SessionRecord[] {
  const r = opts.rec ?? rec;
  const t = (s: number) => opts.start + s * 1000;
  const fb = { key: 'ip+ua', key_source: 'fallback' as const };
  const rs = [
    r({ s: 'shared-ipua', at: t(1), ...fb, path: '/favicon.ico' }),
    r({ s: 'anon-alice', at: t(2), key: 'request.cookie.anon', key_source: 'builtin', path: '/catalog' }),
    r({ s: 'anon-bob', at: t(3), key: 'request.cookie.anon', key_source: 'builtin', path: '/catalog' }),
    r({ s: 'anon-alice', at: t(4), key: 'request.cookie.anon', key_source: 'builtin', path: '/catalog/2' }),
    r({ s: 'tok-alice-1', at: t(5), method: 'POST', path: '/login', key: 'response.body.json.token', links: [sid('anon-alice'), sid('shared-ipua')] }),
    r({ s: 'tok-bob-1', at: t(6), method: 'POST', path: '/login', key: 'response.body.json.token', links: [sid('anon-bob'), sid('shared-ipua')] }),
    r({ s: 'tok-alice-1', at: t(7), path: '/orders', user: 'alice' }),
    r({ s: 'tok-bob-1', at: t(8), path: '/orders', user: 'bob' }),
    r({ s: 'tok-alice-2', at: t(9), method: 'POST', path: '/refresh', key: 'response.body.json.token', links: [sid('tok-alice-1')] }),
    r({ s: 'tok-alice-2', at: t(10), path: '/orders/1', user: 'alice' }),
    r({ s: 'tok-bob-1', at: t(11), path: '/logout', user: 'bob' }),
    r({
      s: 'tok-alice-2',
      at: t(12),
      path: '/orders/2',
      user: 'alice',
      links: [sid('never-logged'), 'not-an-id', ...(opts.edgeCases ? [sid('anon-bob').toUpperCase(), sid('tok-alice-2')] : [])],
    }),
  ];
  if (opts.edgeCases) rs.push(r({ s: 'tok-alice-2', at: t(13), path: '/orders/3', user: 'alice', links: [sid('tok-alice-1')] }));
  return rs;
}
