/**
 * The detections over HTTP: records sent to /api/ingest become findings (computed as they are
 * stored), read through /api/detections with filters, pages, counts, the list's marks, the rules
 * in force; a retried batch is not counted twice; the per-kind counter; settings given at start
 * (a bad one refuses to start); a failing findings store never fails ingest; a store without
 * findings answers 501; a finding's block targets are accepted by the blocks API.
 */
import { join } from 'path';
import { RunningConsole } from '../../src/console/index';
import { SqliteStore } from '../../src/console/store/sqlite';
import { SessionRecord } from '../../src/shared/record';
import { line, rec, sid, testConsoles, TODAY, waitFor } from './helpers';

/* eslint-disable @typescript-eslint/no-explicit-any */
const consoles = testConsoles('api-sessions-detections-http-');
let n = 0;
let c: RunningConsole | undefined;

const get = async (path: string) => {
  const r = await fetch(new URL(path, c!.url));
  return { status: r.status, body: (await r.json()) as any };
};
const ingest = async (rs: SessionRecord[]) => {
  const r = await fetch(new URL('/api/ingest', c!.url), { method: 'POST', body: rs.map(line).join(''), headers: { 'content-type': 'application/x-ndjson' } });
  expect(r.status).toBe(200);
  return (await r.json()) as any;
};

/** mallory walks 25 orders, mostly refused; a tool tries 12 accounts from one address. */
function attacks(): SessionRecord[] {
  const walk = Array.from({ length: 25 }, (_, i) =>
    rec({ s: 'mallory', at: TODAY + i * 2000 + ((i * 37) % 11) * 150, user: 'mallory', path: `/orders/${500 + i}`, status: i % 5 ? 403 : 200 }),
  );
  const stuffing = Array.from({ length: 12 }, (_, i) =>
    rec({ s: `try${i}`, at: TODAY + 60000 + i * 3000, app: 'billing', method: 'POST', path: '/api/login', status: 401, ip: '192.0.2.66', ua: 'python-requests/2.31.0', key: 'response.cookie.sid', key_source: 'builtin', params: { 'request.body.json.email': `${i}`.padStart(32, 'a') } }),
  );
  return [...walk, ...stuffing];
}

describe('detections over HTTP', () => {
  test('ingested records become findings: listed newest first, filtered, counted, paged, one by one', async () => {
    c = await consoles.start();
    await ingest(attacks());
    const all = await get('/api/detections');
    expect(all.status).toBe(200);
    expect(all.body.items.map((f: any) => [f.kind, f.rule, f.app])).toEqual([
      ['stuffing', 'by_address', 'billing'],
      ['enumeration', 'sequential_ids', 'shop'],
    ]);
    const [stuffing, walk] = all.body.items;
    expect(stuffing).toMatchObject({ subject_type: 'address', subject: '192.0.2.66', title: 'Failed logins from one address', sessions_total: 12 });
    expect(stuffing.threshold).toBe('at least 10 failed logins from one address within 10 min, and at least 50% of its logins failed');
    expect(walk).toMatchObject({ subject: sid('mallory'), users: ['mallory'], rules: ['sequential_ids', 'failed_ids'] });
    expect(walk.evidence[0]).toMatchObject({ session: sid('mallory'), method: 'GET', path: '/orders/500', status: 200 });
    expect(walk.blocks).toEqual([
      { kind: 'session', value: sid('mallory'), label: `session ${sid('mallory').slice(0, 12)}…` },
      { kind: 'user', value: 'mallory', label: 'user mallory' },
    ]);

    expect((await get('/api/detections?kind=enumeration')).body.items.map((f: any) => f.id)).toEqual([walk.id]);
    expect((await get('/api/detections?app=billing')).body.items.map((f: any) => f.id)).toEqual([stuffing.id]);
    expect((await get('/api/detections?rule=failed_ids')).body.items.map((f: any) => f.id)).toEqual([walk.id]);
    expect((await get(`/api/detections?session=${sid('try3')}`)).body.items.map((f: any) => f.id)).toEqual([stuffing.id]);
    expect((await get(`/api/detections?to=${TODAY + 30000}`)).body.items.map((f: any) => f.id)).toEqual([walk.id]);
    expect((await get(`/api/detections?from=${new Date(TODAY + 86400000).toISOString()}`)).body.items).toEqual([]);
    const first = await get('/api/detections?limit=1');
    expect(first.body.items.map((f: any) => f.id)).toEqual([stuffing.id]);
    expect((await get('/api/detections?limit=1&cursor=' + first.body.next)).body).toMatchObject({ items: [{ id: walk.id }], next: null });

    expect((await get('/api/detections/counts')).body).toEqual({ filter: {}, kinds: { enumeration: 1, stuffing: 1 }, apps: { billing: 1, shop: 1 }, total: 2 });
    expect((await get(`/api/detections/marks?sessions=${sid('mallory')},${sid('try0')},${sid('nobody')}`)).body).toEqual({
      marks: { [sid('mallory')]: [{ id: walk.id, kind: 'enumeration', rule: 'sequential_ids' }], [sid('try0')]: [{ id: stuffing.id, kind: 'stuffing', rule: 'by_address' }] },
    });
    expect((await get(`/api/detections/${walk.id}`)).body).toEqual(walk);
    expect((await get('/api/detections/0123456789abcdef')).status).toBe(404);

    for (const bad of ['/api/detections?kind=evil', '/api/detections?rule=nope', '/api/detections?session=abc', '/api/detections?limit=0', '/api/detections?from=yesterday', '/api/detections?cursor=bm9wZQ', '/api/detections/xyz', '/api/detections/marks?sessions=abc']) {
      const r = await get(bad);
      expect([bad, r.status]).toEqual([bad, 400]);
      expect(typeof r.body.error).toBe('string');
    }

    // A finding's block targets are blocks the blocks API takes.
    for (const b of walk.blocks) {
      const r = await fetch(new URL('/api/blocks', c.url), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ kind: b.kind, value: b.value, reason: 'finding ' + walk.id }) });
      expect(r.status).toBe(201);
    }
  });

  test('a retried batch is stored once and counted once; the counter per kind; the rules and settings in force', async () => {
    c = await consoles.start({ detections: { enumeration: { min_ids: 15 } } });
    const rs = attacks();
    expect(await ingest(rs)).toMatchObject({ inserted: 37, duplicates: 0 });
    const before = (await get('/api/detections')).body.items;
    expect(await ingest(rs)).toMatchObject({ inserted: 0, duplicates: 37 });
    expect((await get('/api/detections')).body.items).toEqual(before);
    const metrics = await (await fetch(new URL('/metrics', c.url))).text();
    expect(metrics).toContain('api_sessions_console_detections_total{kind="enumeration"} 1');
    expect(metrics).toContain('api_sessions_console_detections_total{kind="stuffing"} 1');
    expect(metrics).toContain('api_sessions_console_detections_total{kind="hijack"} 0');
    const rules = (await get('/api/detections/rules')).body;
    expect(rules.enabled).toBe(true);
    expect(rules.config.enumeration.min_ids).toBe(15);
    expect(rules.rules.find((r: any) => r.rule === 'failed_ids').threshold).toMatch(/^at least 15 distinct ids/);
    expect(rules.rules.map((r: any) => `${r.kind}/${r.rule}`)).toHaveLength(15);
    expect(rules.held.sessions).toBe(13);
  });

  test('turned off, nothing is found; a bad setting stops the start with its name', async () => {
    c = await consoles.start({ detections: { enabled: false } });
    await ingest(attacks());
    expect((await get('/api/detections')).body.items).toEqual([]);
    expect((await get('/api/detections/rules')).body.enabled).toBe(false);
    await c.close();
    c = undefined;
    await expect(consoles.start({ detections: { stuffing: { windows_minutes: 5 } } })).rejects.toThrow('stuffing.windows_minutes: no such setting');
  });

  test('a findings store that fails never fails ingest: logged, counted; a store without findings answers 501', async () => {
    const store = new SqliteStore(join(consoles.dir, `d${++n}.db`));
    store.detections!.save = async () => {
      throw new Error('disk full');
    };
    const logs: string[] = [];
    c = await consoles.start({ store, log: (m) => logs.push(m) });
    expect(await ingest(attacks())).toMatchObject({ inserted: 37 });
    expect((await store.stats()).requests).toBe(37);
    // Findings are written within a second (beside ingest, which answered already).
    await waitFor('the failed write logged', async () => logs.some((l) => l.includes('disk full')));
    expect(logs.filter((l) => l.includes('disk full'))).toHaveLength(1);
    expect(await (await fetch(new URL('/metrics', c.url))).text()).toMatch(/api_sessions_console_detection_errors_total [1-9]/);
    await c.close();

    const bare = new SqliteStore(join(consoles.dir, `d${++n}.db`));
    delete bare.detections;
    c = await consoles.start({ store: bare });
    expect(await ingest(attacks())).toMatchObject({ inserted: 37 });
    for (const p of ['/api/detections', '/api/detections/counts', `/api/detections/marks?sessions=${sid('a')}`]) expect((await get(p)).status).toBe(501);
    expect((await get('/api/detections/rules')).status).toBe(200);
  });
});
