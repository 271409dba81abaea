/* eslint-disable @typescript-eslint/no-explicit-any */
/**
 * The ClickHouse store on a real clickhouse-server (Debian 12's 18.16 here; CLICKHOUSE_SERVER_BIN
 * names another): the store contract shared with SQLite, the rows Vector's ClickHouse sink sends,
 * deduplication of rows that reach the table twice, retention by dropped partitions, the same
 * answers as the SQLite store for a generated week of traffic and for links, journeys,
 * `follow=links` and recommendations (store methods, journey.ts / recommend/, and the HTTP
 * API), and 501 where an operator's schema has no links / samples tables. Skips with one line
 * where no clickhouse-server binary is installed.
 */
import { appendFileSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { ClickHouseStore, createClickHouseStore, schemaStatements, serverHasTtl, DEFAULT_SCHEMA_FILE } from '../../src/console/store/clickhouse';
import { SqliteStore } from '../../src/console/store/sqlite';
import { PartSummary, Store } from '../../src/console/store/types';
import { journey, linkedSessions } from '../../src/console/journey';
import { recommend } from '../../src/console/recommend';
import { startConsole } from '../../src/console/index';
import { generateRecords } from '../helpers/generate-records';
import { SessionRecord } from '../../src/shared/record';
import { clickhouseBinary, startClickHouse, ClickHouseServer } from './server';
import { defineStoreContract, journeyScenario, rec, sampleScenario, D1, D2, dateOf, sid } from './contract';
import { defineFindingContract } from './detections-contract';

const bin = clickhouseBinary();
if (!bin) console.log('ClickHouse store tests skipped: no clickhouse-server binary (apt-get install clickhouse-server, or set CLICKHOUSE_SERVER_BIN)');
const maybe = bin ? describe : describe.skip;

let server: ClickHouseServer | undefined;
let dbs = 0;
const newDb = () => `api_sessions_test_${process.pid}_${++dbs}`;

async function open(database = newDb()): Promise<ClickHouseStore> {
  return createClickHouseStore({ url: server!.url, database, retentionDays: 7 });
}

async function sql(query: string, body?: string): Promise<string> {
  const url = server!.url + '/?query=' + encodeURIComponent(query) + (body !== undefined ? '&input_format_skip_unknown_fields=1' : '');
  const r = await fetch(url, { method: 'POST', body: body ?? '' });
  const text = await r.text();
  if (!r.ok) throw new Error(query + ': ' + text);
  return text;
}

maybe('ClickHouse store', () => {
  beforeAll(async () => {
    server = await startClickHouse(bin!);
  }, 60000);
  afterAll(async () => {
    if (server) await server.stop();
  });
  afterEach(() => {
    const state = expect.getState() as any;
    if (server && state.assertionCalls > state.numPassingAsserts) console.log('clickhouse-server errors:\n' + server.log());
  });

  defineStoreContract('clickhouse', () => (server ? { open: () => open() } : null));
  defineFindingContract('clickhouse', () => (server ? { open: () => open() } : null));

  test('the schema file: TTL only for servers that have it, placeholders filled', async () => {
    const text = readFileSync(DEFAULT_SCHEMA_FILE, 'utf8');
    const withTtl = schemaStatements(text, { database: 'db1', retentionDays: 7, ttl: true });
    const without = schemaStatements(text, { database: 'db1', retentionDays: 7, ttl: false });
    const dated = ['requests', 'links', 'samples', 'detections', 'detection_sessions'];
    expect(withTtl.slice(-dated.length)).toEqual(dated.map((t) => `ALTER TABLE db1.${t} MODIFY TTL part + INTERVAL 7 DAY`));
    expect(without).toEqual(withTtl.slice(0, -dated.length));
    expect(without.join('\n')).not.toMatch(/\{|TTL/);
    expect(serverHasTtl('18.16.1')).toBe(false);
    expect(serverHasTtl('19.6.2.11')).toBe(true);
    expect(serverHasTtl('24.8.4.13')).toBe(true);
    const s = await open();
    try {
      // Whatever this server is, the schema was applied: the TTL when it has one, none when not.
      const create = (await sql(`SELECT create_table_query FROM system.tables WHERE database = '${s.database}' AND name = 'requests'`)).trim();
      expect(create).toContain('ReplacingMergeTree');
      expect(/TTL/.test(create)).toBe(serverHasTtl(s.serverVersion));
      for (const t of ['links', 'samples']) {
        const c = (await sql(`SELECT create_table_query FROM system.tables WHERE database = '${s.database}' AND name = '${t}'`)).trim();
        expect(c).toContain('PARTITION BY part');
        expect(/TTL/.test(c)).toBe(serverHasTtl(s.serverVersion));
      }
      // A second start on the same database changes nothing and does not fail.
      const again = await open(s.database);
      await again.close();
    } finally {
      await s.close();
    }
  });

  test("rows as Vector's ClickHouse sink sends them are read back, and a resent row counts once", async () => {
    const s = await open();
    try {
      const r1 = rec({ s: 'vec', at: D1 + 1000, user: 'ann', attack: ['sqli'], request: { line: 'GET / HTTP/1.1', headers: [['Host', 'x']], body: null, truncated: false }, params: { a: 'b' } });
      const r2 = rec({ s: 'vec', at: D1 + 2000, ua: null, errors: ['e: x'] });
      // What deploy/vector/vector.toml's remap makes of a record: params/request as JSON text,
      // attack [] for null; plus a field this schema does not know (a later record version's).
      const vectorRow = (r: SessionRecord) =>
        JSON.stringify({ ...r, params: JSON.stringify(r.params), request: r.request === null ? null : JSON.stringify(r.request), attack: r.attack ?? [], links: ['x'] });
      const body = [r1, r2].map(vectorRow).join('\n') + '\n';
      await sql(`INSERT INTO ${s.database}.requests FORMAT JSONEachRow`, body);
      // A retry after a lost acknowledgement: the same rows again.
      await sql(`INSERT INTO ${s.database}.requests FORMAT JSONEachRow`, body);
      const got = await s.partRequests(sid('vec'), dateOf(D1), { limit: 10 });
      const strip = ({ session: _s, part: _p, v: _v, ...rest }: SessionRecord) => rest;
      expect(got.items).toEqual([
        { seq: 1, ...strip(r1) },
        { seq: 2, ...strip(r2) },
      ]);
      const part = (await s.getPart(sid('vec'), dateOf(D1)))!;
      expect([part.requests, part.attacked, part.errored, part.user]).toEqual([2, 1, 1, 'ann']);
      expect(await s.stats()).toEqual({ parts: 1, requests: 2, oldestPart: dateOf(D1), newestPart: dateOf(D1) });
      // The console's own ingest of the same records finds them stored.
      expect(await s.ingest([r1, r2])).toEqual({ inserted: 0, duplicates: 2, expired: 0, future: 0 });
    } finally {
      await s.close();
    }
  });

  test('a samples table from before it kept the user: read with NULL users, and given the column when the console creates the schema', async () => {
    const s = await open();
    const database = s.database;
    await s.close();
    await sql(`ALTER TABLE ${database}.samples DROP COLUMN user`);
    const rs = sampleScenario();
    // an operator-managed schema: left as it is, users read as null
    const bare = await createClickHouseStore({ url: server!.url, database, createSchema: false });
    try {
      await bare.ingest(rs);
      const rows = await bare.samples!('shop', 1000);
      expect(rows.length).toBeGreaterThan(0);
      expect(rows.every((r) => r.user === null)).toBe(true);
    } finally {
      await bare.close();
    }
    // the console's own schema: the column is added, and new samples keep their user
    const migrated = await open(database);
    try {
      await migrated.ingest([rec({ s: 'later', at: D2 + 5 * 3600000, user: 'zoe', inventory: [{ s: 'request.header.x', h: 'abcdef012345', n: 3 }] })]);
      const rows = await migrated.samples!('shop', 1000);
      expect(rows[rows.length - 1].user).toBe('zoe');
      expect(rows[0].user).toBeNull();
    } finally {
      await migrated.close();
    }
  });

  test('without the links and samples tables (an operator-managed schema) the methods are absent: 501', async () => {
    const s = await open();
    const database = s.database;
    await s.close();
    await sql(`DROP TABLE ${database}.links`);
    await sql(`DROP TABLE ${database}.block_audit`);
    const bare = await createClickHouseStore({ url: server!.url, database, createSchema: false });
    expect(bare.links).toBeUndefined();
    expect(bare.samples).toBeUndefined();
    expect(bare.blocks).toBeUndefined();
    const c = await startConsole({ store: bare, log: () => undefined });
    try {
      await bare.ingest(journeyScenario());
      const get = async (path: string) => (await fetch(new URL(path, c.url))).status;
      expect(await get(`/api/sessions/${sid('tok-alice-1')}/journey`)).toBe(501);
      expect(await get(`/api/sessions/${sid('tok-alice-1')}/links`)).toBe(501);
      expect(await get('/api/parts?user=alice&follow=links')).toBe(501);
      expect(await get('/api/apps/shop/recommendations')).toBe(501);
      expect(await get('/api/blocks')).toBe(501);
      expect(await get('/api/parts?user=alice')).toBe(200);
    } finally {
      await c.close();
    }
    // Both tables there: kept again.
    const withTables = await open(database);
    await withTables.close();
    const again = await createClickHouseStore({ url: server!.url, database, createSchema: false });
    expect(typeof again.links).toBe('function');
    expect(again.blocks).toBeDefined();
    await again.close();
  });

  test('blocks: a change written by a console whose clock runs ahead hides no later change', async () => {
    const store = await open();
    try {
      const b = store.blocks!;
      const t = Date.now();
      const made = await b.create({ kind: 'session', value: sid('eve'), reason: 'r', who: 'ana', now: t, expiresAt: t + 3600000, max: 10 });
      if (made === 'full') throw new Error('full');
      // Another console, its clock an hour ahead, extended the block.
      const ahead = (t + 3600000) * 1000;
      await sql(`INSERT INTO ${store.database}.block_audit FORMAT JSONEachRow`, JSON.stringify({ id: ahead, block_id: made.id, at: t, who: 'fast-clock', action: 'extend', kind: 'session', value: sid('eve'), reason: 'r', expires_at: t + 7200000 }));
      expect((await b.get(made.id))!.expires_at).toBe(t + 7200000);
      expect(await b.version()).toBe(2);
      // This console's change comes after it, and wins.
      await b.extend(made.id, t + 3 * 3600000, 'bo', 'r', t + 1);
      expect((await b.get(made.id))!.expires_at).toBe(t + 3 * 3600000);
      expect(await b.version()).toBe(3);
      const lifted = await b.lift(made.id, 'cy', 'r', t + 2);
      expect((await b.get(made.id))!).toMatchObject({ lifted_at: t + 2, lifted_by: 'cy' });
      expect(lifted!.lifted_by).toBe('cy');
      expect((await b.auditList(10)).map((a) => a.who)).toEqual(['cy', 'bo', 'fast-clock', 'ana']);
    } finally {
      await store.close();
    }
  });

  test('blocks through the API of a console on ClickHouse: made, listed for nginx, lifted', async () => {
    const store = await open();
    const c = await startConsole({ store, blocksToken: 'nginx-token', log: () => undefined });
    try {
      const call = async (method: string, path: string, body?: unknown, token?: string) => {
        const r = await fetch(new URL(path, c.url), {
          method,
          headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(token ? { authorization: 'Bearer ' + token } : {}) },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        return { status: r.status, body: (await r.json()) as any };
      };
      const made = await call('POST', '/api/blocks', { kind: 'session', value: sid('eve'), reason: 'card testing', by: 'ana', duration: '2h' });
      expect(made.status).toBe(201);
      expect(made.body.expires_at - made.body.created_at).toBe(2 * 3600000);
      const pulled = await call('GET', '/api/blocks/list', undefined, 'nginx-token');
      expect(pulled.status).toBe(200);
      expect(pulled.body.sessions).toEqual([[sid('eve'), made.body.expires_at]]);
      expect((await call('POST', `/api/blocks/${made.body.id}/lift`, { by: 'bo', reason: 'done' })).body.state).toBe('lifted');
      expect((await call('GET', '/api/blocks/list', undefined, 'nginx-token')).body.sessions).toEqual([]);
      expect((await call('GET', '/api/blocks/audit')).body.items.map((a: any) => a.action)).toEqual(['lift', 'block']);
    } finally {
      await c.close();
      await store.close();
    }
  });

  test('samples: FINAL reads only the newest days that hold the samples asked for', async () => {
    const store = await open();
    try {
      const inv = [{ s: 'request.header.authorization', h: 'abcdefabcdef', n: 5 }];
      const rs = [D1 + 1000, D1 + 2000, D1 + 3000, D2 + 1000, D2 + 2000, D2 + 3000].map((at, i) =>
        rec({ s: 's' + i, at, inventory: inv }),
      );
      await store.ingest(rs.slice(0, 3));
      await store.ingest(rs.slice(3));
      await store.ingest(rs.slice(3)); // resent: its copies count once
      const queries: string[] = [];
      const query = store.client.query.bind(store.client);
      store.client.query = ((p: { query: string }) => {
        queries.push(p.query);
        return query(p as never);
      }) as typeof store.client.query;
      const finalQuery = () => queries.filter((q) => /FINAL/.test(q)).pop()!;
      expect((await store.samples('shop', 2)).map((r) => r.ts)).toEqual([D2 + 2000, D2 + 3000]);
      expect(finalQuery()).toContain(`part >= toDate('${dateOf(D2)}')`);
      expect((await store.samples('shop', 3)).map((r) => r.ts)).toEqual([D2 + 1000, D2 + 2000, D2 + 3000]);
      expect(finalQuery()).toContain(`part >= toDate('${dateOf(D2)}')`);
      expect((await store.samples('shop', 4)).map((r) => r.ts)).toEqual([D1 + 3000, D2 + 1000, D2 + 2000, D2 + 3000]);
      expect(finalQuery()).toContain(`part >= toDate('${dateOf(D1)}')`);
      expect((await store.samples('shop', 100)).map((r) => r.ts)).toEqual(rs.map((r) => Date.parse(r.ts)));
      expect(finalQuery()).not.toContain('part >=');
      expect(await store.samples('none', 10)).toEqual([]);
    } finally {
      await store.close();
    }
  });

  test('links, journeys, follow=links and recommendations: the same answers as the SQLite store', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'api-sessions-journeys-'));
    const lite = await startConsole({ store: new SqliteStore(join(dir, 'ref.db')), log: () => undefined });
    const ch = await startConsole({ store: await open(), log: () => undefined });
    try {
      const js = journeyScenario();
      const samples = sampleScenario();
      // In batches, one resent, as a shipper does.
      const batches = [js.slice(0, 7), js.slice(5), samples.slice(0, 30), samples.slice(20)];
      for (const b of batches) expect(await ch.store.ingest(b)).toEqual(await lite.store.ingest(b));

      // The store methods.
      const sessions = [...new Set([...js, ...samples].map((r) => r.session)), sid('never-logged'), sid('nobody')];
      const edges = await lite.store.links!(sessions);
      expect(edges.length).toBeGreaterThan(20);
      expect(await ch.store.links!(sessions)).toEqual(edges);
      for (const s of sessions) expect(await ch.store.links!([s])).toEqual(await lite.store.links!([s]));
      for (const [app, max] of [['shop', 20000], ['shop', 7], ['billing', 10], ['none', 10]] as const) {
        expect(await ch.store.samples!(app, max)).toEqual(await lite.store.samples!(app, max));
      }

      // journey.ts and recommend/ on top of each store.
      let journeys = 0;
      for (const s of sessions) {
        const [x, y] = [await journey(lite.store, s), await journey(ch.store, s)];
        expect({ s, j: y }).toEqual({ s, j: x });
        if (x && x.sessions.length > 1) journeys++;
        const opts = { maxSessions: 2, windowMs: 2000 };
        expect(await journey(ch.store, s, opts)).toEqual(await journey(lite.store, s, opts));
        expect(await linkedSessions(ch.store, s)).toEqual(await linkedSessions(lite.store, s));
      }
      expect(journeys).toBeGreaterThanOrEqual(8);
      const rl = recommend('shop', await lite.store.samples!('shop', 20000));
      expect(rl.suggestions[0].selector).toBe('request.header.authorization');
      expect(recommend('shop', await ch.store.samples!('shop', 20000))).toEqual(rl);

      // The same over the HTTP API.
      const get = async (c: typeof lite, path: string) => {
        const r = await fetch(new URL(path, c.url));
        return { status: r.status, body: await r.json() };
      };
      const paths = [
        `/api/sessions/${sid('tok-alice-2')}/journey`,
        `/api/sessions/${sid('shared-ipua')}/journey?max_sessions=3`,
        `/api/sessions/${sid('tok-alice-1')}/links`,
        `/api/sessions/${sid('nobody')}/journey`,
        '/api/parts?user=alice&follow=links',
        '/api/parts?user=bob&follow=links&endpoint=' + encodeURIComponent('/catalog*'),
        '/api/parts?user=nobody&follow=links',
        '/api/apps/shop/recommendations',
        '/api/apps/shop/recommendations?samples=10',
        '/api/apps/billing/recommendations',
      ];
      for (const p of paths) {
        const [x, y] = [await get(lite, p), await get(ch, p)];
        expect({ p, ...y }).toEqual({ p, ...x });
      }
      const follow = (await get(ch, '/api/parts?user=alice&follow=links')).body as { items: PartSummary[] };
      expect(follow.items.map((p) => p.session).sort()).toEqual([sid('tok-alice-1'), sid('tok-alice-2'), sid('anon-alice'), sid('shared-ipua')].sort());

      // Retention: links and samples go with their days on both.
      for (const c of [lite, ch]) await c.store.deleteBefore(dateOf(D2 + 86400000));
      expect(await ch.store.links!(sessions)).toEqual([]);
      expect(await lite.store.links!(sessions)).toEqual([]);
      expect(await ch.store.samples!('shop', 100)).toEqual([]);
    } finally {
      await lite.close();
      await ch.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120000);

  test('the log tailer keeps its registry of files in the ClickHouse checkpoints: a rotation while stopped, nothing lost or read twice', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'api-sessions-ch-tail-'));
    const log = join(dir, 'api_sessions.log');
    const database = newDb();
    const write = (file: string, from: number, k: number) => {
      const rs = [];
      for (let i = 0; i < k; i++) rs.push(rec({ s: 'tail' + (i % 3), at: D2 + (from + i) * 1000, path: '/t/' + (from + i) }));
      appendFileSync(file, rs.map((r) => JSON.stringify(r) + '\n').join(''));
    };
    const run = async (count: number) => {
      const c = await startConsole({ store: await open(database), logFile: log, pollMs: 20, log: () => undefined });
      try {
        const end = Date.now() + 15000;
        while ((await c.store.stats()).requests < count && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
        return { stored: (await c.store.stats()).requests, duplicates: (await c.metrics.duplicates.get()).values.reduce((n, v) => n + v.value, 0), rotations: (await c.metrics.rotations.get()).values };
      } finally {
        await c.close();
      }
    };
    try {
      write(log, 0, 4);
      expect(await run(4)).toMatchObject({ stored: 4, duplicates: 0 });
      write(log, 4, 3); // written after the stop, then rotated away
      renameSync(log, log + '.1');
      write(log, 7, 2);
      const second = await run(9);
      expect(second).toMatchObject({ stored: 9, duplicates: 0 });
      expect(second.rotations).toEqual([expect.objectContaining({ labels: { kind: 'rename' }, value: 1 })]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('retention drops whole partitions', async () => {
    const s = await open();
    try {
      await s.ingest([rec({ s: 'old', at: D1 + 1 }), rec({ s: 'new', at: D2 + 1 })]);
      const partitions = async () =>
        (await sql(`SELECT DISTINCT partition FROM system.parts WHERE database = '${s.database}' AND table = 'requests' AND active ORDER BY partition`))
          .trim()
          .split('\n')
          .filter(Boolean);
      expect(await partitions()).toEqual([dateOf(D1), dateOf(D2)]);
      expect(await s.deleteBefore(dateOf(D2))).toBe(1);
      expect(await partitions()).toEqual([dateOf(D2)]);
    } finally {
      await s.close();
    }
  });

  test('the same answers as the SQLite store for a generated week of traffic', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'api-sessions-diff-'));
    const lite = new SqliteStore(join(dir, 'ref.db'));
    const ch = await open();
    try {
      const records = [...generateRecords({ count: 4000, seed: 7, from: D2 - 6 * 86400000, to: D2 + 3600000, hostile: true })];
      // A replayed stretch, as after a shipper restart.
      const batches = [records.slice(0, 1500), records.slice(1200, 2600), records.slice(2600)];
      for (const b of batches) {
        const [x, y] = [await lite.ingest(b), await ch.ingest(b)];
        expect(y).toEqual(x);
      }
      expect(await ch.stats()).toEqual(await lite.stats());

      // Order among equal last-request times is store-specific; lists of values are compared as sets.
      const norm = (p: PartSummary) => ({ ...p, users: [...p.users].sort(), roles: [...p.roles].sort(), keys: [...p.keys].sort() });
      const all = async (s: Store, f: Parameters<Store['listParts']>[0]) => {
        const out: PartSummary[] = [];
        let cursor: string | null = null;
        do {
          const page: Awaited<ReturnType<Store['listParts']>> = await s.listParts(f, { limit: 150, cursor });
          out.push(...page.items);
          cursor = page.next;
        } while (cursor);
        return out
          .map(norm)
          .sort((a, b) => (a.last_ts < b.last_ts ? 1 : a.last_ts > b.last_ts ? -1 : a.session < b.session ? 1 : a.session > b.session ? -1 : a.part < b.part ? 1 : -1));
      };
      const sample = records[1777];
      const filters: Array<Parameters<Store['listParts']>[0]> = [
        {},
        { app: sample.app },
        { attack: '*' },
        { status: '4xx' },
        { status: '200' },
        { key: 'ip+ua' },
        { endpoint: 'GET /api/*' },
        { endpoint: '/products/1??' },
        { endpoint: 'POST *' },
        { ip: sample.ip },
        { requestId: sample.request_id },
        { session: sample.session },
        { from: D1, to: D1 + 6 * 3600000 },
      ];
      let nonEmpty = 0;
      for (const f of filters) {
        const [x, y] = [await all(lite, f), await all(ch, f)];
        expect({ f, parts: y }).toEqual({ f, parts: x });
        if (x.length > 0) nonEmpty++;
      }
      expect(nonEmpty).toBeGreaterThanOrEqual(9);

      // Every request of a few busy parts, in the same time order.
      const busy = (await all(lite, {})).sort((a, b) => b.requests - a.requests).slice(0, 3);
      for (const p of busy) {
        const ids = async (s: Store) => {
          const out: Array<[string, string]> = [];
          for await (const r of s.eachPartRequest(p.session, p.part)) out.push([r.ts, JSON.stringify({ ...r, seq: 0 })]);
          return out;
        };
        const [x, y] = [await ids(lite), await ids(ch)];
        expect(y.map((r) => r[0])).toEqual(x.map((r) => r[0]));
        expect(y.map((r) => r[1]).sort()).toEqual(x.map((r) => r[1]).sort());
      }
    } finally {
      await lite.close();
      await ch.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120000);
});
