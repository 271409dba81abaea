/**
 * The findings' part of the store contract (FindingStore, src/console/detect/finding.ts): run
 * on SQLite (store-contract-sqlite.test.ts) and on a real clickhouse-server (clickhouse.test.ts)
 * with the same assertions. Each test gets a fresh, empty store from `open`.
 */
import { BadFindingCursor, Finding, FindingStore } from '../../src/console/detect/finding';
import { Store } from '../../src/console/store/types';
import { D1, D2, StoreFactory, dateOf, sid } from './contract';

/** A finding as the detector writes one. */
export function finding(o: Partial<Finding> & { id: string; at: number }): Finding {
  const { at, ...rest } = o;
  const iso = new Date(at).toISOString();
  return {
    kind: 'enumeration',
    rule: 'failed_ids',
    rules: ['failed_ids'],
    app: 'shop',
    subject_type: 'session',
    subject: sid('walker'),
    first_ts: iso,
    last_ts: new Date(at + 60000).toISOString(),
    summary: 'Session walked ids.',
    threshold: 'at least 20 distinct ids',
    settings: { 'enumeration.min_ids': 20 },
    measured: { ids: 25, endpoint: 'GET /orders/N' },
    sessions: [{ session: sid('walker'), part: dateOf(at) }],
    sessions_total: 1,
    users: ['mallory'],
    evidence: [
      { session: sid('walker'), part: dateOf(at), request_id: 'ab'.repeat(16), ts: iso, method: 'GET', path: '/orders/7', status: 404, ip: '192.0.2.66', ua: "it's <b>odd</b>" },
    ],
    requests: 25,
    blocks: [],
    updated: at + 60000,
    ...rest,
  };
}

const H = 3600000;

export function defineFindingContract(name: string, factory: () => StoreFactory | null): void {
  describe(`findings contract: ${name}`, () => {
    let store: Store | undefined;
    beforeEach(async () => {
      const f = factory();
      if (!f) throw new Error('no store factory');
      store = await f.open();
    });
    afterEach(async () => {
      await store?.close();
    });
    const findings = (): FindingStore => {
      if (!store?.detections) throw new Error('this store keeps no findings');
      return store.detections;
    };

    test('saved findings come back whole; the newest state wins, an older one changes nothing', async () => {
      const st = findings();
      const f = finding({ id: '0000000000000001', at: D1 + 9 * H });
      await st.save([{ finding: f, sessionsFrom: 0 }]);
      expect(await st.get(f.id)).toEqual(f);
      const newer = { ...f, requests: 40, last_ts: new Date(D1 + 10 * H).toISOString(), updated: f.updated + 5, rules: ['failed_ids', 'sequential_ids'], measured: { ids: 40 } };
      await st.save([{ finding: newer, sessionsFrom: 1 }]);
      const older = { ...f, requests: 1, updated: f.updated + 1 };
      await st.save([{ finding: older, sessionsFrom: 1 }]);
      expect(await st.get(f.id)).toEqual(newer);
      expect(await st.get('00000000000000ff')).toBeNull();
      expect((await st.list({}, { limit: 10 })).items).toEqual([newer]);
    });

    test('listed newest first by the time they fired, filtered, in pages without gaps or repeats', async () => {
      const st = findings();
      const all: Finding[] = [];
      for (let i = 0; i < 7; i++) {
        all.push(
          finding({
            id: (i + 1).toString(16).padStart(16, '0'),
            at: D1 + (i < 2 ? 5 * H : (i + 3) * H), // three at 5 h (i = 0, 1, 2): then by id, descending
            kind: i % 3 === 0 ? 'stuffing' : 'enumeration',
            rule: i % 3 === 0 ? 'by_address' : 'failed_ids',
            rules: i === 4 ? ['failed_ids', 'sequential_ids'] : [i % 3 === 0 ? 'by_address' : 'failed_ids'],
            subject_type: i % 3 === 0 ? 'address' : 'session',
            app: i % 2 ? 'billing' : 'shop',
            sessions: [{ session: sid(`s${i}`), part: dateOf(D1) }],
          }),
        );
      }
      await st.save(all.map((f) => ({ finding: f, sessionsFrom: 0 })));
      const ids = (fs: Finding[]) => fs.map((f) => f.id.replace(/^0+/, ''));
      expect(ids((await st.list({}, { limit: 100 })).items)).toEqual(['7', '6', '5', '4', '3', '2', '1']);
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: Awaited<ReturnType<FindingStore['list']>> = await st.list({}, { limit: 3, cursor });
        seen.push(...ids(page.items));
        cursor = page.next;
      } while (cursor);
      expect(seen).toEqual(['7', '6', '5', '4', '3', '2', '1']);
      expect(ids((await st.list({ kind: 'stuffing' }, { limit: 100 })).items)).toEqual(['7', '4', '1']);
      expect(ids((await st.list({ rule: 'sequential_ids' }, { limit: 100 })).items)).toEqual(['5']);
      expect(ids((await st.list({ app: 'billing' }, { limit: 100 })).items)).toEqual(['6', '4', '2']);
      expect(ids((await st.list({ session: sid('s2') }, { limit: 100 })).items)).toEqual(['3']);
      // Time range: findings whose first..last request overlaps it (each lasts a minute here).
      expect(ids((await st.list({ from: D1 + 7 * H, to: D1 + 8 * H }, { limit: 100 })).items)).toEqual(['6', '5']);
      expect(ids((await st.list({ from: D1 + 5 * H + 30000, to: D1 + 5 * H + 40000 }, { limit: 100 })).items)).toEqual(['3', '2', '1']);
      await expect(st.list({}, { limit: 3, cursor: 'bm9wZQ' })).rejects.toBeInstanceOf(BadFindingCursor);
    });

    test('marks: the findings that name each session, written for the sessions new since the last save', async () => {
      const st = findings();
      const f = finding({ id: '00000000000000a1', at: D2 + H, sessions: [{ session: sid('a'), part: dateOf(D2) }] });
      await st.save([{ finding: f, sessionsFrom: 0 }]);
      const more = { ...f, sessions: [...f.sessions, { session: sid('b'), part: dateOf(D2) }], sessions_total: 2, updated: f.updated + 1 };
      await st.save([{ finding: more, sessionsFrom: 1 }]);
      await st.save([{ finding: { ...more, updated: more.updated + 1 }, sessionsFrom: 2 }]);
      const g = finding({ id: '00000000000000a2', at: D2 + 2 * H, kind: 'hijack', rule: 'new_device', rules: ['new_device'], sessions: [{ session: sid('a'), part: dateOf(D2) }] });
      await st.save([{ finding: g, sessionsFrom: 0 }]);
      expect(await st.marks([sid('a'), sid('b'), sid('nobody')])).toEqual({
        [sid('a')]: [
          { id: '00000000000000a1', kind: 'enumeration', rule: 'failed_ids' },
          { id: '00000000000000a2', kind: 'hijack', rule: 'new_device' },
        ],
        [sid('b')]: [{ id: '00000000000000a1', kind: 'enumeration', rule: 'failed_ids' }],
      });
      expect(await st.marks([])).toEqual({});
    });

    test('counts by kind and by application; recent ones; retention drops the days before the cutoff', async () => {
      const st = findings();
      const fs = [
        finding({ id: '00000000000000b1', at: D1 + H, kind: 'stuffing', rule: 'by_address', rules: ['by_address'], app: 'shop' }),
        finding({ id: '00000000000000b2', at: D2 + H, kind: 'enumeration', app: 'shop' }),
        finding({ id: '00000000000000b3', at: D2 + 2 * H, kind: 'enumeration', app: 'billing' }),
      ];
      await st.save(fs.map((f) => ({ finding: f, sessionsFrom: 0 })));
      expect(await st.counts({})).toEqual({ kinds: { enumeration: 2, stuffing: 1 }, apps: { shop: 2, billing: 1 }, total: 3 });
      // The kind filter narrows the applications (and the total), not the kinds, and the other way round.
      expect(await st.counts({ kind: 'enumeration' })).toEqual({ kinds: { enumeration: 2, stuffing: 1 }, apps: { billing: 1, shop: 1 }, total: 2 });
      expect(await st.counts({ app: 'shop', from: D2 })).toEqual({ kinds: { enumeration: 1 }, apps: { billing: 1, shop: 1 }, total: 1 });
      expect((await st.recent(D2, 10)).map((f) => f.id)).toEqual(['00000000000000b3', '00000000000000b2']);
      expect(await st.deleteBefore(dateOf(D2))).toBe(1);
      expect((await st.list({}, { limit: 10 })).items.map((f) => f.id)).toEqual(['00000000000000b3', '00000000000000b2']);
      expect(await st.marks([sid('walker')])).toEqual({
        [sid('walker')]: [
          { id: '00000000000000b2', kind: 'enumeration', rule: 'failed_ids' },
          { id: '00000000000000b3', kind: 'enumeration', rule: 'failed_ids' },
        ],
      });
    });
  });
}
