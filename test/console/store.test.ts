import { renameSync, statSync } from 'fs';
import { join } from 'path';
import Database from 'better-sqlite3';
import { BackgroundCheckpointer } from '../../src/console/store/sqlite/checkpointer';
import { PART_ENDPOINTS_CACHED, SqliteStore, requestIdHash } from '../../src/console/store/sqlite';
import { PartFilter } from '../../src/console/store/types';
import { DAY, TODAY, YESTERDAY, rec, sid, tempDir, waitFor } from './helpers';

const tmp = tempDir('api-sessions-store-');
afterAll(() => tmp.cleanup());
let n = 0;
const open = () => new SqliteStore(join(tmp.dir, `s${++n}.db`));

/** Four sessions with distinct users, IPs, statuses, attacks and endpoints. */
function scenario() {
  return [
    rec({ s: 'alice', at: YESTERDAY + 1000, method: 'POST', path: '/login', key: 'request.query.token', user: null }),
    rec({ s: 'alice', at: YESTERDAY + 2000, path: '/orders/7', user: 'alice', role: 'admin', params: { 'request.query.token': 'ab'.repeat(16) } }),
    rec({ s: 'alice', at: TODAY + 1000, path: '/orders/8', user: 'alice', role: 'admin' }),
    rec({ s: 'bob', at: TODAY + 2000, path: '/cart', user: 'bob', role: 'customer', ip: '198.51.100.9', status: 404 }),
    rec({ s: 'bob', at: TODAY + 3000, method: 'DELETE', path: '/cart/items/3', user: 'bob', role: 'customer', ip: '198.51.100.10', status: 204 }),
    rec({ s: 'mallory', at: TODAY + 4000, path: "/products", ip: '192.0.2.66', status: 403, attack: ['sqli'], key: 'ip+ua', key_source: 'fallback',
      request: { line: "GET /products?q=' OR 1=1 HTTP/1.1", headers: [['Host', 'shop.local']], body: null, truncated: false } }),
    rec({ s: 'mallory', at: TODAY + 5000, path: '/search', ip: '192.0.2.66', status: 500, attack: ['xss', 'scanner'], key: 'ip+ua', key_source: 'fallback', errors: ['request.body.json: not valid JSON'] }),
    rec({ s: 'other-app', at: TODAY + 6000, app: 'billing', path: '/api/v1/invoices/3', status: 201 }),
  ];
}

describe('SqliteStore', () => {
  test('aggregates each part: times, counts, users, IPs, statuses, attacks, methods', async () => {
    const s = open();
    await s.ingest(scenario());
    const m = await s.getPart(sid('mallory'), new Date(TODAY).toISOString().slice(0, 10));
    expect(m).toMatchObject({
      app: 'shop',
      requests: 2,
      attacked: 2,
      errored: 1,
      key: 'ip+ua',
      ips: { '192.0.2.66': 2 },
      statuses: { '403': 1, '500': 1 },
      attacks: { sqli: 1, xss: 1, scanner: 1 },
      methods: { GET: 2 },
      first_ts: new Date(TODAY + 4000).toISOString(),
      last_ts: new Date(TODAY + 5000).toISOString(),
    });
    const alice = await s.sessionParts(sid('alice'));
    expect(alice.map((p) => [p.part, p.requests, p.user])).toEqual([
      [new Date(TODAY).toISOString().slice(0, 10), 1, 'alice'],
      [new Date(YESTERDAY).toISOString().slice(0, 10), 2, 'alice'],
    ]);
    await s.close();
  });

  test('stores a request id once, within a batch and across batches', async () => {
    const s = open();
    const rs = scenario();
    expect(await s.ingest([...rs.slice(0, 3), rs[0]])).toEqual({ inserted: 3, duplicates: 1, expired: 0, future: 0 });
    expect(await s.ingest(rs)).toEqual({ inserted: 5, duplicates: 3, expired: 0, future: 0 });
    expect((await s.stats()).requests).toBe(8);
    await s.close();
  });

  const cases: Array<[string, PartFilter, string[]]> = [
    ['no filter, newest first', {}, ['other-app', 'mallory', 'bob', 'alice', 'alice']],
    ['application', { app: 'billing' }, ['other-app']],
    ['session id: all its parts', { session: sid('alice') }, ['alice', 'alice']],
    ['user', { user: 'bob' }, ['bob']],
    ['role', { role: 'admin' }, ['alice', 'alice']],
    ['IP (any request of the part)', { ip: '198.51.100.10' }, ['bob']],
    ['attack type', { attack: 'xss' }, ['mallory']],
    ['any attack', { attack: '*' }, ['mallory']],
    ['status code', { status: '404' }, ['bob']],
    ['status class', { status: '5xx' }, ['mallory']],
    ['status class 2xx', { status: '2xx' }, ['other-app', 'bob', 'alice', 'alice']],
    ['grouping key', { key: 'ip+ua' }, ['mallory']],
    ['endpoint with *', { endpoint: '/orders/*' }, ['alice', 'alice']],
    ['endpoint with ?', { endpoint: '/cart/items/?' }, ['bob']],
    ['endpoint with a method', { endpoint: 'POST /log*' }, ['alice']],
    ['endpoint: a method alone', { endpoint: 'DELETE' }, ['bob']],
    ['endpoint anchored', { endpoint: '/cart' }, ['bob']],
    ['time range (overlap)', { from: TODAY + 2500, to: TODAY + 4500 }, ['mallory', 'bob']],
    ['time range: yesterday only', { to: YESTERDAY + DAY / 2 }, ['alice']],
    ['combined: role and endpoint', { role: 'admin', endpoint: '/orders/8' }, ['alice']],
    ['combined: nothing matches', { user: 'bob', attack: 'sqli' }, []],
  ];
  test.each(cases)('list filter: %s', async (_name, filter, sessions) => {
    const s = open();
    await s.ingest(scenario());
    const page = await s.listParts(filter, { limit: 50 });
    const names = ['alice', 'bob', 'mallory', 'other-app'];
    expect(page.items.map((p) => names.find((x) => sid(x) === p.session))).toEqual(sessions);
    await s.close();
  });

  test('list filter: request id finds the part holding it', async () => {
    const s = open();
    const rs = scenario();
    await s.ingest(rs);
    const page = await s.listParts({ requestId: rs[4].request_id }, { limit: 10 });
    expect(page.items.map((p) => p.session)).toEqual([sid('bob')]);
    expect((await s.listParts({ requestId: 'f'.repeat(32) }, { limit: 10 })).items).toEqual([]);
    await s.close();
  });

  test('pages the list with a cursor, without gaps or repeats', async () => {
    const s = open();
    const rs = [];
    for (let i = 0; i < 23; i++) rs.push(rec({ s: 'p' + i, at: TODAY + i * 1000 }));
    await s.ingest(rs);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: Awaited<ReturnType<SqliteStore['listParts']>> = await s.listParts({}, { limit: 5, cursor });
      seen.push(...page.items.map((p) => p.session));
      cursor = page.next;
      pages++;
    } while (cursor);
    expect(pages).toBe(5);
    expect(seen).toEqual(rs.map((r) => r.session).reverse());
    await expect(s.listParts({}, { limit: 5, cursor: 'bad' })).rejects.toThrow('bad cursor');
    await s.close();
  });

  test("a part's requests in time order, paged, with their content", async () => {
    const s = open();
    const rs = [];
    for (let i = 0; i < 7; i++) rs.push(rec({ s: 'x', at: TODAY + (7 - i) * 1000, path: '/p' + (7 - i), params: { n: String(7 - i) } }));
    rs[3].attack = ['sqli'];
    rs[3].request = { line: 'GET /p4 HTTP/1.1', headers: [['X', '<b>']], body: 'a=1', truncated: true };
    await s.ingest(rs);
    const part = new Date(TODAY).toISOString().slice(0, 10);
    const p1 = await s.partRequests(sid('x'), part, { limit: 4 });
    const p2 = await s.partRequests(sid('x'), part, { limit: 4, cursor: p1.next });
    expect(p2.next).toBeNull();
    const all = [...p1.items, ...p2.items];
    expect(all.map((r) => r.path)).toEqual(['/p1', '/p2', '/p3', '/p4', '/p5', '/p6', '/p7']);
    expect(all.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(all[3]).toMatchObject({ attack: ['sqli'], params: { n: '4' }, request: { headers: [['X', '<b>']], body: 'a=1', truncated: true } });
    const csvRows = [];
    for await (const r of s.eachPartRequest(sid('x'), part)) csvRows.push(r.path);
    expect(csvRows).toHaveLength(7);
    const tl = await s.timeline(sid('x'), part, 7);
    expect(tl.reduce((n, b) => n + b.requests, 0)).toBe(7);
    expect(tl.reduce((n, b) => n + b.attacks, 0)).toBe(1);
    await s.close();
  });

  test('retention: drops old and future records at ingest, deletes old parts and their requests', async () => {
    const s = open();
    const old = rec({ s: 'old', at: TODAY - 10 * DAY });
    const older = rec({ s: 'old', at: TODAY - 9 * DAY });
    expect(await s.ingest([old, older, ...scenario()])).toMatchObject({ inserted: 10, expired: 0 });
    const cutoff = new Date(TODAY - 7 * DAY).toISOString().slice(0, 10);
    s.setCutoff(cutoff);
    expect(await s.deleteBefore(cutoff)).toBe(2); // two days of one session: two parts
    expect(await s.sessionParts(sid('old'))).toEqual([]);
    expect((await s.listParts({ requestId: old.request_id }, { limit: 5 })).items).toEqual([]);
    expect((await s.stats()).requests).toBe(8);
    const r = await s.ingest([rec({ s: 'old', at: TODAY - 8 * DAY }), rec({ s: 'late', at: TODAY + 3 * DAY })]);
    expect(r).toEqual({ inserted: 0, duplicates: 0, expired: 1, future: 1 });
    // The rest still answers.
    expect((await s.listParts({ user: 'alice' }, { limit: 5 })).items).toHaveLength(2);
    await s.close();
  });

  test('keeps data and checkpoints across reopening', async () => {
    const path = join(tmp.dir, 'reopen.db');
    const a = new SqliteStore(path);
    await a.ingest(scenario(), { name: 'file:/x', value: '{"pos":10}' });
    await a.close();
    const b = new SqliteStore(path);
    expect(await b.getCheckpoint('file:/x')).toBe('{"pos":10}');
    expect((await b.stats()).parts).toBe(5);
    // Aggregates continue from what was stored.
    await b.ingest([rec({ s: 'bob', at: TODAY + 9000, status: 500 })]);
    expect(await b.getPart(sid('bob'), new Date(TODAY).toISOString().slice(0, 10))).toMatchObject({ requests: 3, statuses: { '404': 1, '204': 1, '500': 1 } });
    await b.close();
  });
  test('large batches: duplicates inside a batch and against stored rows are each stored once', async () => {
    const s = open();
    const first = Array.from({ length: 100 }, (_, i) => rec({ s: 'bulk' + (i % 7), at: TODAY + i * 1000, path: '/p/' + (i % 5) }));
    expect(await s.ingest(first)).toMatchObject({ inserted: 100, duplicates: 0 });
    // A batch of 150: 40 already stored, 10 repeated within the batch, 100 new.
    const fresh = Array.from({ length: 100 }, (_, i) => rec({ s: 'bulk' + (i % 7), at: TODAY + 200000 + i * 1000 }));
    const mixed = [...fresh.slice(0, 30), ...first.slice(10, 50), ...fresh.slice(30), ...fresh.slice(0, 10)];
    expect(await s.ingest(mixed)).toMatchObject({ inserted: 100, duplicates: 50 });
    expect((await s.stats()).requests).toBe(200);
    const parts = await Promise.all(Array.from({ length: 7 }, (_, i) => s.getPart(sid('bulk' + i), new Date(TODAY).toISOString().slice(0, 10))));
    expect(parts.reduce((n, p) => n + (p?.requests ?? 0), 0)).toBe(200);
    let rows = 0;
    for (let i = 0; i < 7; i++) for await (const _ of s.eachPartRequest(sid('bulk' + i), new Date(TODAY).toISOString().slice(0, 10))) rows++;
    expect(rows).toBe(200);
    await s.close();
  });

  test('two request ids with the same hash are both stored and both found', async () => {
    const path = join(tmp.dir, 'collide.db');
    const s = new SqliteStore(path);
    const day = new Date(TODAY).toISOString().slice(0, 10);
    const a = rec({ s: 'c', at: TODAY + 1000 });
    await s.ingest([a]);
    // Simulate a collision: a row of another id already holds the hash of the ids ingested next.
    const taken = Array.from({ length: 40 }, (_, i) => rec({ s: 'c', at: TODAY + 2000 + i }));
    const raw = new Database(path);
    const t = 'requests_' + day.replace(/-/g, '');
    const ins = raw.prepare(`INSERT INTO ${t} (rid, request_id, part_id, ts, status, attacked, record) VALUES (?, ?, 999999, 0, 200, 0, '{}')`);
    for (const r of taken.slice(0, 20)) ins.run(requestIdHash(r.request_id), 'other-' + r.request_id);
    raw.close();
    // The first 32 go in one multi-row statement, 20 of them colliding, and taken[0] twice: each
    // is stored once.
    expect(await s.ingest([...taken.slice(0, 31), taken[0], ...taken.slice(31)])).toMatchObject({ inserted: 40, duplicates: 1 });
    expect(await s.ingest([taken[3], taken[39]])).toMatchObject({ inserted: 0, duplicates: 2 });
    for (const r of [a, taken[0], taken[39]]) {
      const found = await s.listParts({ requestId: r.request_id }, { limit: 5 });
      expect(found.items.map((p) => p.session)).toEqual([sid('c')]);
    }
    expect((await s.getPart(sid('c'), day))?.requests).toBe(41);
    await s.close();
  });

  test('opens a version-1 database: its days keep their layout, new days get the new one', async () => {
    const path = join(tmp.dir, 'v1.db');
    const day = new Date(YESTERDAY).toISOString().slice(0, 10);
    const t = 'requests_' + day.replace(/-/g, '');
    // What the version-1 console left: its requests table for yesterday.
    const s0 = new SqliteStore(path);
    await s0.close();
    const raw = new Database(path);
    raw.exec(`CREATE TABLE ${t} (id INTEGER PRIMARY KEY, request_id TEXT NOT NULL UNIQUE, part_id INTEGER NOT NULL, ts INTEGER NOT NULL,
      status INTEGER NOT NULL, attacked INTEGER NOT NULL, record TEXT NOT NULL); CREATE INDEX ${t}_part ON ${t} (part_id, ts, id);
      INSERT INTO days (part) VALUES ('${day}'); UPDATE meta SET value = '1' WHERE key = 'schema';`);
    raw.close();
    const s = new SqliteStore(path);
    const old = Array.from({ length: 40 }, (_, i) => rec({ s: 'v1', at: YESTERDAY + i * 1000 }));
    const now = rec({ s: 'v1', at: TODAY });
    expect(await s.ingest([...old, now, old[0]])).toMatchObject({ inserted: 41, duplicates: 1 });
    expect((await s.listParts({ requestId: old[5].request_id }, { limit: 5 })).items.map((p) => p.part)).toEqual([day]);
    expect((await s.partRequests(sid('v1'), day, { limit: 100 })).items).toHaveLength(40);
    await s.close();
    const check = new Database(path, { readonly: true });
    expect(check.prepare("SELECT value FROM meta WHERE key = 'schema'").pluck().get()).toBe('2');
    check.close();
  });

  test('a samples table from before it kept the user and the key: read-only it reads NULLs; opened for writing it gains the columns', async () => {
    const path = join(tmp.dir, 'old-samples.db');
    await new SqliteStore(path).close();
    const raw = new Database(path);
    raw.exec('ALTER TABLE samples DROP COLUMN user');
    raw.exec('ALTER TABLE samples DROP COLUMN key');
    raw.exec(`INSERT INTO samples (app, ts, part, session, key_source, method, path, ip, ua, links, inventory)
      VALUES ('shop', ${TODAY}, '${new Date(TODAY).toISOString().slice(0, 10)}', '${sid('old')}', 'builtin', 'GET', '/', '10.0.0.1', NULL, '[]', '[{"s":"request.header.x","h":"abcdef012345","n":3}]')`);
    raw.close();
    const ro = new SqliteStore(path, { readonly: true });
    expect((await ro.samples('shop', 10)).map((r) => [r.user, r.key])).toEqual([[null, null]]);
    await ro.close();
    const s = new SqliteStore(path);
    await s.ingest([rec({ s: 'new', at: TODAY + 1000, user: 'zoe', inventory: [{ s: 'request.header.x', h: 'abcdef012345', n: 3, k: 'number' }] })]);
    const rows = await s.samples('shop', 10);
    expect(rows.map((r) => r.user)).toEqual([null, 'zoe']);
    expect(rows.map((r) => r.key)).toEqual([null, 'request.query.token']);
    expect(rows[1].inventory).toEqual([{ s: 'request.header.x', h: 'abcdef012345', n: 3, k: 'number' }]);
    await s.close();
  });

  test('refuses a database of a later schema with a clear message', async () => {
    const path = join(tmp.dir, 'v9.db');
    await new SqliteStore(path).close();
    const raw = new Database(path);
    raw.exec("UPDATE meta SET value = '9' WHERE key = 'schema'");
    raw.close();
    expect(() => new SqliteStore(path)).toThrow(/schema version 9, this console uses 2/);
  });

  test('a batch that fails after creating a day\'s table leaves no stale statements: the next batch of that day is stored', async () => {
    const s = open();
    const bad = [rec({ s: 'a', at: TODAY + 1000 }), rec({ s: 'a', at: TODAY + 2000 })];
    // The checkpoint's insert fails (NOT NULL) at the end of the transaction, after the day's
    // table was created in it: the rollback drops the table again.
    // The message, not toThrow: better-sqlite3's native part keeps the SqliteError class of the first
    // test file that loaded it in this jest process, so here it is not an Error of this file's realm.
    const failure = await s.ingest(bad, { name: 'log', value: null as unknown as string }).then(
      () => 'stored',
      (e: unknown) => String((e as Error).message),
    );
    expect(failure).toMatch(/NOT NULL/);
    expect(await s.stats()).toMatchObject({ parts: 0, requests: 0 });
    const good = [rec({ s: 'a', at: TODAY + 3000 }), rec({ s: 'b', at: TODAY + 4000 })];
    expect(await s.ingest(good, { name: 'log', value: '1' })).toMatchObject({ inserted: 2 });
    expect((await s.partRequests(sid('a'), good[0].part, { limit: 10 })).items).toHaveLength(1);
    expect(await s.getCheckpoint('log')).toBe('1');
    await s.close();
  });

  test("a part's cached endpoints stay bounded (a path scanner); the endpoint index stays complete", async () => {
    const s = open();
    const scan = (from: number, to: number) =>
      Array.from({ length: to - from }, (_, i) => rec({ s: 'scanner', at: TODAY + from + i, path: '/probe/' + (from + i) }));
    await s.ingest(scan(0, 3000));
    const cached = [...((s as unknown as { writer: { partCache: Map<string, { endpoints: Set<number> }> } }).writer.partCache.values())];
    expect(cached).toHaveLength(1);
    expect(cached[0].endpoints.size).toBe(PART_ENDPOINTS_CACHED);
    // the same paths again, and new ones: every endpoint still finds the part, once
    await s.ingest(scan(0, 3000).map((r) => ({ ...r, request_id: r.request_id + 'x' })));
    await s.ingest(scan(3000, 3100));
    expect(cached[0].endpoints.size).toBe(PART_ENDPOINTS_CACHED);
    for (const p of ['/probe/5', '/probe/2999', '/probe/3050']) {
      expect((await s.listParts({ endpoint: p }, { limit: 10 })).items.map((x) => x.session)).toEqual([sid('scanner')]);
    }
    expect(s.db.prepare('SELECT count(*) FROM part_endpoints').pluck().get()).toBe(3100);
    await s.close();
  });

  test('overview counts: a session counted once per interval across batches, a reopened file and a late record; retention; the cap on an hour\'s distinct endpoints', async () => {
    const path = join(tmp.dir, 'overview.db');
    const t0 = TODAY - (TODAY % 3600000);
    const q = { from: t0, to: t0 + 3600000, bucket: 60000, topsFrom: t0, topsTo: t0 + 3600000 };
    let s = new SqliteStore(path);
    await s.ingest([rec({ s: 'a', at: t0 + 1000 }), rec({ s: 'a', at: t0 + 2000 })]);
    await s.ingest([rec({ s: 'a', at: t0 + 3000 })]);
    await s.close();
    s = new SqliteStore(path);
    // the same minute after a restart (the part read back from its row), the next minute, and a
    // late record for the first minute
    await s.ingest([rec({ s: 'a', at: t0 + 4000 }), rec({ s: 'a', at: t0 + 61000 })]);
    await s.ingest([rec({ s: 'a', at: t0 + 5000 })]);
    expect((await s.overview(q)).series.map((b) => [b.requests, b.sessions])).toEqual([[5, 1], [1, 1]]);
    expect((await s.overview({ ...q, bucket: 600000 })).series.map((b) => [b.requests, b.sessions])).toEqual([[6, 1]]);
    // a path scanner: 1,200 distinct paths in one hour; 1,000 are counted
    await s.ingest(Array.from({ length: 1200 }, (_, i) => rec({ s: 'scan', at: t0 + 120000 + i, path: '/probe-' + i })));
    const kept = s.db.prepare("SELECT count(*) FROM overview_tops WHERE kind = 'e' AND hour = ?").pluck().get(t0);
    expect(kept).toBe(1000);
    expect((await s.overview(q)).series.reduce((n, b) => n + b.requests, 0)).toBe(1206);
    // retention drops the counts with the days
    await s.deleteBefore(new Date(t0 + DAY).toISOString().slice(0, 10));
    expect(await s.overview(q)).toEqual({ series: [], top: { apps: [], users: [], endpoints: [] } });
    expect(s.db.prepare('SELECT count(*) FROM overview_tops').pluck().get()).toBe(0);
    await s.close();
  });

  test('background checkpoints: the worker copies the WAL into the database file, and a failure is reported', async () => {
    const path = join(tmp.dir, `s${++n}.db`);
    const failures: Error[] = [];
    const s = new SqliteStore(path, { onCheckpointFail: (e) => failures.push(e) });
    const before = statSync(path).size;
    await s.ingest(Array.from({ length: 2000 }, (_, i) => rec({ s: 'c' + (i % 50), at: TODAY + i, path: '/x/' + i })));
    await waitFor('the database file to grow by a checkpoint', () => statSync(path).size > before);
    expect(failures).toEqual([]);
    expect(s.checkpointFailures).toBe(0);
    await s.close();

    // A worker that cannot open the file (moved away before its first checkpoint) fails once,
    // reported and counted; the store keeps working (the writer checkpoints itself).
    const path2 = join(tmp.dir, `s${++n}.db`);
    const s2 = new SqliteStore(path2, { onCheckpointFail: (e) => failures.push(e) });
    renameSync(path2, path2 + '.moved');
    expect(await s2.ingest([rec({ s: 'd', at: TODAY })])).toMatchObject({ inserted: 1 });
    await waitFor('the failure to be reported', () => failures.length === 1);
    expect(s2.checkpointFailures).toBe(1);
    expect(await s2.ingest([rec({ s: 'd', at: TODAY + 1 })])).toMatchObject({ inserted: 1 });
    await s2.close();
    expect(failures).toHaveLength(1);

    // The worker alone: starts on the first request, closes on close().
    const cp = new BackgroundCheckpointer(join(tmp.dir, 'missing', 'x.db'), (e) => failures.push(e));
    cp.request();
    await waitFor('the worker to fail on a missing file', () => cp.failed);
    await cp.close();
    expect(failures).toHaveLength(2);
  });
});
