/**
 * The store contract: behaviour every Store (src/console/store/types.ts) must have, run against
 * the SQLite store (store-contract-sqlite.test.ts) and the ClickHouse store on a real server
 * (clickhouse.test.ts). Each test gets a fresh, empty store from `open`.
 */
import crypto from 'crypto';
import { rec as consoleRec, sid, journeyScenario as sharedJourneyScenario } from '../console/helpers';
import { Candidate, SessionRecord } from '../../src/shared/record';
import { BadCursorError, LINKS_PER_SESSION, PartSummary, Store } from '../../src/console/store/types';

export interface StoreFactory {
  /** A new, empty store. */
  open(): Promise<Store>;
}

const DAY = 86400000;
/** Yesterday and today (UTC) at midnight: the store refuses parts after tomorrow. */
export const D1 = Math.floor(Date.now() / DAY) * DAY - DAY;
export const D2 = D1 + DAY;
export const dateOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

export { sid };

/** A record of the contract's scenario: the console tests' builder with this file's defaults. */
export function rec(o: Partial<SessionRecord> & { at: number; s: string }): SessionRecord {
  return consoleRec({ ip: '203.0.113.7', ua: 'agent/1', bytes_sent: 120, ...o });
}

/** alice (yesterday then today), bob (yesterday, web shop, 4xx), mallory (attacks), a bot on
 *  another app. Ingested in time order, as a log is. */
export function scenario(): SessionRecord[] {
  const h = (hour: number, ms = 0) => D1 + hour * 3600000 + ms;
  const rs: SessionRecord[] = [
    rec({ s: 'alice', at: h(9), method: 'POST', path: '/login', key: 'response.body.json.token', params: { 'response.body.json.token': 'a'.repeat(32), email: 'b'.repeat(32) } }),
    rec({ s: 'alice', at: h(9, 1500), path: '/orders', user: 'alice', role: 'customer', params: { 'request.query.token': 'a'.repeat(32) } }),
    rec({ s: 'alice', at: h(9, 2500), path: '/orders/17', user: 'alice', role: 'customer', ip: '203.0.113.8', ua: null }),
    rec({ s: 'alice', at: h(9, 3500), method: 'DELETE', path: '/orders/17', user: 'alice', role: 'admin', status: 204 }),
    rec({ s: 'bob', at: h(10), path: '/cart', key: 'response.cookie.connect.sid', key_source: 'builtin', ip: '198.51.100.2' }),
    rec({ s: 'bob', at: h(10, 100), path: '/cart[1]', key: 'request.cookie.connect.sid', key_source: 'builtin', ip: '198.51.100.2', status: 404 }),
    rec({ s: 'bob', at: h(10, 200), method: 'POST', path: '/checkout', key: 'request.cookie.connect.sid', key_source: 'builtin', ip: '198.51.100.2', status: 502, errors: ['request.body: not read'] }),
    rec({
      s: 'mallory',
      at: h(11),
      path: '/products',
      key: 'ip+ua',
      key_source: 'fallback',
      ip: '192.0.2.66',
      ua: 'sqlmap/1.8',
      attack: ['sqli'],
      request: { line: "GET /products?q=' OR 1=1-- HTTP/1.1", headers: [['Host', 'shop.local'], ['User-Agent', 'sqlmap/1.8']], body: null, truncated: false },
    }),
    rec({ s: 'mallory', at: h(11, 10), path: '/products', key: 'ip+ua', key_source: 'fallback', ip: '192.0.2.66', ua: 'sqlmap/1.8', attack: ['xss', 'sqli'], status: 403,
      request: { line: 'GET /products?q=<script> HTTP/1.1', headers: [['Host', 'shop.local']], body: 'x=\'"\\\n', truncated: true } }),
    rec({ s: 'mallory', at: h(11, 20), path: '/about', key: 'ip+ua', key_source: 'fallback', ip: '192.0.2.66', ua: 'sqlmap/1.8' }),
    rec({ s: 'bot', at: h(12), app: 'blog', path: '/feed.xml', key: 'ip', key_source: 'fallback', ip: '192.0.2.1' }),
    rec({ s: 'alice', at: D2 + 5000, path: '/orders', user: 'alice', role: 'customer' }),
  ];
  return rs;
}

/** Stitched sessions (test/console/helpers.ts) with the contract's edge cases: all today (D2),
 *  from 01:00, one second apart. */
export function journeyScenario(): SessionRecord[] {
  return sharedJourneyScenario({ start: D2 + 3600000, rec, edgeCases: true });
}

const h12 = (v: string) => crypto.createHash('sha256').update('v\n' + v).digest('hex').slice(0, 12);
const cand = (s: string, v: string): Candidate => ({ s, h: h12(v), n: v.length });

/** Discovery samples (as test/console/recommend.test.ts, smaller): 6 users, 3 behind one IP with
 *  one User-Agent; each logs in (a response issues a token, the login links the IP + UA session),
 *  then sends it in Authorization, refreshes it once. Decoys: a per-request id, a constant, a
 *  language. Every 5th record is not sampled; one other application. Deterministic. */
export function sampleScenario(): SessionRecord[] {
  const out: SessionRecord[] = [];
  let t = D2 + 2 * 3600000;
  let n = 0;
  const tokens = new Map<number, string>();
  const sessionOf = (v: string) => crypto.createHash('md5').update('s ' + v).digest('hex');
  for (let step = 0; step < 8; step++) {
    for (let u = 0; u < 6; u++) {
      t += 1000;
      n++;
      const ip = u < 3 ? '10.0.0.1' : `192.0.2.${u}`;
      const ua = u < 3 ? 'same/1' : `browser/${u}`;
      const common = [
        cand('request.header.user-agent', ua),
        cand('request.header.accept-language', ['en', 'de'][u % 2]),
        cand('request.header.x-app-version', '4.2.0'),
        cand('request.header.x-request-id', 'req-' + n),
      ];
      const ipua = sessionOf('ipua ' + ip + ' ' + ua);
      const base = { s: 'x', at: t, ip, ua };
      if (step === 0) {
        const token = `tok-${u}-1`;
        tokens.set(u, token);
        out.push(rec({ ...base, session: ipua, key: 'ip+ua', key_source: 'fallback', method: 'POST', path: '/login',
          inventory: [...common, cand('request.body.json.user', 'u' + u), cand('response.body.json.token', token)] }));
        continue;
      }
      const token = tokens.get(u)!;
      const inv = [...common, cand('request.header.authorization', token)];
      const r = { ...base, session: sessionOf(token), key: 'request.header.authorization', key_source: 'builtin' as const, user: 'u' + u };
      if (step === 4) {
        const fresh = `tok-${u}-2`;
        tokens.set(u, fresh);
        out.push(rec({ ...r, method: 'POST', path: '/refresh', links: [sessionOf(fresh)], inventory: [...inv, cand('response.body.json.token', fresh)] }));
        continue;
      }
      out.push(rec({ ...r, path: `/orders/${step}`, links: step === 1 ? [ipua] : undefined, inventory: n % 5 === 0 ? undefined : inv }));
    }
  }
  out.push(rec({ s: 'other', at: t + 1000, app: 'billing', inventory: [cand('request.header.x-k', 'v')] }));
  return out;
}

const sorted = (xs: string[]) => [...xs].sort();

export function defineStoreContract(name: string, factory: () => StoreFactory | null): void {
  describe(`store contract: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      const f = factory();
      if (!f) throw new Error('no store factory');
      store = await f.open();
    });
    afterEach(async () => {
      if (store) await store.close();
    });

    test('ingest counts inserted, duplicate (in a batch and across batches), expired and future records', async () => {
      const rs = scenario();
      expect(await store.ingest(rs.slice(0, 5))).toEqual({ inserted: 5, duplicates: 0, expired: 0, future: 0 });
      const again = [rs[0], rs[5], rs[5], rs[6]];
      expect(await store.ingest(again)).toEqual({ inserted: 2, duplicates: 2, expired: 0, future: 0 });
      store.setCutoff(dateOf(D2));
      const old = rec({ s: 'late', at: D1 + 1000 });
      const future = rec({ s: 'late', at: D2 + 3 * DAY });
      const ok = rec({ s: 'late', at: D2 + 1000 });
      expect(await store.ingest([old, future, ok])).toEqual({ inserted: 1, duplicates: 0, expired: 1, future: 1 });
      const st = await store.stats();
      expect(st).toEqual({ parts: 3, requests: 8, oldestPart: dateOf(D1), newestPart: dateOf(D2) });
    });

    test('a part summary aggregates its requests', async () => {
      await store.ingest(scenario());
      const a = (await store.getPart(sid('alice'), dateOf(D1)))!;
      expect(a).not.toBeNull();
      expect(a.session).toBe(sid('alice'));
      expect(a.part).toBe(dateOf(D1));
      expect(a.app).toBe('shop');
      expect(a.first_ts).toBe(new Date(D1 + 9 * 3600000).toISOString());
      expect(a.last_ts).toBe(new Date(D1 + 9 * 3600000 + 3500).toISOString());
      expect(a.requests).toBe(4);
      expect(a.attacked).toBe(0);
      expect(a.errored).toBe(0);
      expect(a.user).toBe('alice');
      expect(a.role).toBe('customer');
      expect(a.key).toBe('response.body.json.token');
      expect(a.users).toEqual(['alice']);
      expect(sorted(a.roles)).toEqual(['admin', 'customer']);
      expect(sorted(a.keys)).toEqual(['request.query.token', 'response.body.json.token']);
      expect(a.ips).toEqual({ '203.0.113.7': 3, '203.0.113.8': 1 });
      expect(a.uas).toEqual({ 'agent/1': 3 });
      expect(a.statuses).toEqual({ '200': 3, '204': 1 });
      expect(a.methods).toEqual({ POST: 1, GET: 2, DELETE: 1 });
      expect(a.attacks).toEqual({});

      const m = (await store.getPart(sid('mallory'), dateOf(D1)))!;
      expect(m.attacked).toBe(2);
      expect(m.attacks).toEqual({ sqli: 2, xss: 1 });
      expect(m.user).toBeNull();
      expect(m.role).toBeNull();
      expect(m.users).toEqual([]);
      expect(m.uas).toEqual({ 'sqlmap/1.8': 3 });
      const b = (await store.getPart(sid('bob'), dateOf(D1)))!;
      expect(b.errored).toBe(1);
      expect(b.statuses).toEqual({ '200': 1, '404': 1, '502': 1 });

      expect(await store.getPart(sid('alice'), '2001-01-01')).toBeNull();
      expect(await store.getPart(sid('nobody'), dateOf(D1))).toBeNull();
    });

    test('a session spanning two days has two parts, newest first', async () => {
      await store.ingest(scenario());
      const parts = await store.sessionParts(sid('alice'));
      expect(parts.map((p) => [p.part, p.requests])).toEqual([
        [dateOf(D2), 1],
        [dateOf(D1), 4],
      ]);
      expect(await store.sessionParts(sid('nobody'))).toEqual([]);
    });

    test('requests come back in time order with every field, paged by cursor', async () => {
      const rs = scenario();
      // Ingested out of order: the store orders by time.
      await store.ingest([rs[8], rs[7], rs[9]]);
      const all = await store.partRequests(sid('mallory'), dateOf(D1), { limit: 10 });
      expect(all.next).toBeNull();
      expect(all.items.map((r) => r.request_id)).toEqual([rs[7].request_id, rs[8].request_id, rs[9].request_id]);
      expect(all.items.map((r) => r.seq)).toEqual([1, 2, 3]);
      const first = all.items[0];
      const { session: _s, part: _p, v: _v, ...expected } = rs[7];
      expect(first).toEqual({ seq: 1, ...expected });
      expect(all.items[1].request).toEqual(rs[8].request);
      expect(all.items[1].attack).toEqual(['xss', 'sqli']);
      expect(all.items[2].attack).toBeNull();
      expect(all.items[2].request).toBeNull();

      const p1 = await store.partRequests(sid('mallory'), dateOf(D1), { limit: 2 });
      expect(p1.items.map((r) => r.seq)).toEqual([1, 2]);
      expect(p1.next).not.toBeNull();
      const p2 = await store.partRequests(sid('mallory'), dateOf(D1), { limit: 2, cursor: p1.next });
      expect(p2.items.map((r) => [r.seq, r.request_id])).toEqual([[3, rs[9].request_id]]);
      expect(p2.next).toBeNull();

      const each: string[] = [];
      for await (const r of store.eachPartRequest(sid('mallory'), dateOf(D1))) each.push(r.request_id);
      expect(each).toEqual(all.items.map((r) => r.request_id));

      const alice = await store.partRequests(sid('alice'), dateOf(D1), { limit: 10 });
      expect(alice.items).toEqual([]);
      expect((await store.partRequests(sid('nobody'), dateOf(D1), { limit: 10 })).items).toEqual([]);
    });

    test('params, nulls and odd characters survive the round trip', async () => {
      const r = rec({
        s: 'odd',
        at: D1 + 1,
        path: "/a'b\\c/%27\u00e9\u{1F600}",
        ua: null,
        params: { 'request.body.json["odd.name"]': 'x\'y"z\\\n\t', email: 'f'.repeat(32) },
        errors: ['request.query.token: invalid percent-encoding', "it's \"quoted\""],
        user: "o'hara",
        role: null,
      });
      await store.ingest([r]);
      const got = (await store.partRequests(r.session, r.part, { limit: 5 })).items;
      const { session: _s, part: _p, v: _v, ...expected } = r;
      expect(got).toEqual([{ seq: 1, ...expected }]);
      const page = await store.listParts({ user: "o'hara" }, { limit: 5 });
      expect(page.items.map((p) => p.session)).toEqual([r.session]);
      expect(page.items[0].errored).toBe(1);
    });

    test('listParts filters (AND) and orders by last request, newest first', async () => {
      await store.ingest(scenario());
      const list = async (f: Parameters<Store['listParts']>[0]) =>
        (await store.listParts(f, { limit: 50 })).items.map((p: PartSummary) => `${p.session === sid('alice') ? 'alice' : p.session === sid('bob') ? 'bob' : p.session === sid('mallory') ? 'mallory' : p.session === sid('bot') ? 'bot' : '?'}@${p.part === dateOf(D1) ? 1 : 2}`);
      expect(await list({})).toEqual(['alice@2', 'bot@1', 'mallory@1', 'bob@1', 'alice@1']);
      expect(await list({ app: 'blog' })).toEqual(['bot@1']);
      expect(await list({ app: 'nope' })).toEqual([]);
      expect(await list({ session: sid('alice') })).toEqual(['alice@2', 'alice@1']);
      expect(await list({ requestId: scenario()[0].request_id })).toEqual([]);
      expect(await list({ user: 'alice' })).toEqual(['alice@2', 'alice@1']);
      expect(await list({ role: 'admin' })).toEqual(['alice@1']);
      expect(await list({ ip: '198.51.100.2' })).toEqual(['bob@1']);
      expect(await list({ ip: '203.0.113.8' })).toEqual(['alice@1']);
      expect(await list({ attack: '*' })).toEqual(['mallory@1']);
      expect(await list({ attack: 'xss' })).toEqual(['mallory@1']);
      expect(await list({ attack: 'rce' })).toEqual([]);
      expect(await list({ status: '404' })).toEqual(['bob@1']);
      expect(await list({ status: '5xx' })).toEqual(['bob@1']);
      expect(await list({ status: '4XX' })).toEqual(['mallory@1', 'bob@1']);
      expect(await list({ status: '2xx', app: 'shop' })).toEqual(['alice@2', 'mallory@1', 'bob@1', 'alice@1']);
      expect(await list({ key: 'ip' })).toEqual(['bot@1']);
      expect(await list({ key: 'request.cookie.connect.sid' })).toEqual(['bob@1']);
      expect(await list({ user: 'alice', role: 'admin', ip: '203.0.113.8' })).toEqual(['alice@1']);
      expect(await list({ user: 'alice', attack: '*' })).toEqual([]);
      // Time range: parts whose [first, last] overlaps it.
      const h = (hour: number) => D1 + hour * 3600000;
      expect(await list({ from: h(10) + 150, to: h(10) + 160 })).toEqual(['bob@1']);
      expect(await list({ from: h(11) + 20 })).toEqual(['alice@2', 'bot@1', 'mallory@1']);
      expect(await list({ to: h(9) })).toEqual(['alice@1']);
      expect(await list({ from: D2 })).toEqual(['alice@2']);
      expect(await list({ to: D1 - 1 })).toEqual([]);
    });

    test('listParts finds the part that holds a request', async () => {
      const rs = scenario();
      await store.ingest(rs);
      const p = await store.listParts({ requestId: rs[5].request_id }, { limit: 5 });
      expect(p.items.map((x) => [x.session, x.part])).toEqual([[sid('bob'), dateOf(D1)]]);
      expect((await store.listParts({ requestId: 'f'.repeat(32) }, { limit: 5 })).items).toEqual([]);
    });

    test('endpoint filter: method, * and ? wildcards, anchored, literal brackets', async () => {
      await store.ingest(scenario());
      const who = async (endpoint: string) =>
        (await store.listParts({ endpoint }, { limit: 50 })).items
          .map((p) => (p.session === sid('alice') ? 'alice' : p.session === sid('bob') ? 'bob' : p.session === sid('mallory') ? 'mallory' : 'bot') + '@' + (p.part === dateOf(D1) ? 1 : 2))
          .sort();
      expect(await who('/orders/*')).toEqual(['alice@1']);
      expect(await who('/orders*')).toEqual(['alice@1', 'alice@2']);
      expect(await who('/orders')).toEqual(['alice@1', 'alice@2']);
      expect(await who('/order')).toEqual([]);
      expect(await who('DELETE /orders/*')).toEqual(['alice@1']);
      expect(await who('delete /orders/*')).toEqual(['alice@1']);
      expect(await who('GET /orders/??')).toEqual(['alice@1']);
      expect(await who('GET /orders/?')).toEqual([]);
      expect(await who('POST /orders/*')).toEqual([]);
      expect(await who('DELETE')).toEqual(['alice@1']);
      expect(await who('/cart[1]')).toEqual(['bob@1']);
      expect(await who('/cart[*')).toEqual(['bob@1']);
      expect(await who('/feed.xml')).toEqual(['bot@1']);
      expect(await who('/feed?xml')).toEqual(['bot@1']);
      expect(await who('/feedxxml')).toEqual([]);
      expect(await who('*')).toHaveLength(5);
      expect(await who('   ')).toHaveLength(5);
    });

    test('search: case-insensitive wildcards on user, app and endpoint; CIDR; id prefixes; free text q', async () => {
      const rs = scenario();
      rs.push(
        rec({ s: 'v6', at: D1 + 13 * 3600000, path: '/Items/9', ip: '2001:db8:0:1::7', user: 'Mallory', params: { 'request.query.term': 'NeedleValue' } }),
        rec({ s: 'v6b', at: D1 + 13 * 3600000 + 5, app: 'Demo-API', path: '/x', ip: '2001:db9::1' }),
        rec({ s: 'v6c', at: D1 + 13 * 3600000 + 9, app: 'loopback', path: '/y', ip: '::1' }),
      );
      await store.ingest(rs);
      const names: Record<string, string> = {};
      for (const n of ['alice', 'bob', 'mallory', 'bot', 'v6', 'v6b', 'v6c']) names[sid(n)] = n;
      const who = async (f: Parameters<Store['listParts']>[0]) =>
        [...new Set((await store.listParts(f, { limit: 50 })).items.map((p) => names[p.session] ?? '?'))].sort();
      // user: case-insensitive, * and ?
      expect(await who({ user: 'ALICE' })).toEqual(['alice']);
      expect(await who({ user: 'mal*' })).toEqual(['v6']);
      expect(await who({ user: 'al?ce' })).toEqual(['alice']);
      expect(await who({ user: 'al' })).toEqual([]);
      expect(await who({ user: '*' })).toEqual(['alice', 'v6']);
      expect(await who({ user: 'al%' })).toEqual([]);
      // app
      expect(await who({ app: 'SHOP' })).toEqual(['alice', 'bob', 'mallory', 'v6']);
      expect(await who({ app: 'demo*' })).toEqual(['v6b']);
      expect(await who({ app: 'b?og' })).toEqual(['bot']);
      expect(await who({ app: 'demo' })).toEqual([]);
      // endpoint path
      expect(await who({ endpoint: '/items/*' })).toEqual(['v6']);
      expect(await who({ endpoint: 'get /ORDERS/1?' })).toEqual(['alice']);
      // CIDR, v4 and v6; a plain address stays exact
      expect(await who({ ip: '203.0.113.0/24' })).toEqual(['alice']);
      expect(await who({ ip: '192.0.2.0/26' })).toEqual(['bot']);
      expect(await who({ ip: '192.0.2.64/30' })).toEqual(['mallory']);
      expect(await who({ ip: '192.0.0.0/8' })).toEqual(['bot', 'mallory']);
      expect(await who({ ip: '198.48.0.0/12' })).toEqual(['bob']);
      expect(await who({ ip: '0.0.0.0/0' })).toEqual(['alice', 'bob', 'bot', 'mallory']);
      expect(await who({ ip: '10.0.0.0/8' })).toEqual([]);
      expect(await who({ ip: '2001:db8::/32' })).toEqual(['v6']);
      expect(await who({ ip: '2001:db8::/30' })).toEqual(['v6', 'v6b']);
      expect(await who({ ip: '2001:db8:0:1::/64' })).toEqual(['v6']);
      expect(await who({ ip: '2001:db8:0:2::/64' })).toEqual([]);
      expect(await who({ ip: '::/0' })).toEqual(['v6', 'v6b', 'v6c']);
      expect(await who({ ip: '192.0.2.6' })).toEqual([]);
      // A one-address block (/32, /128) is that address, however the address is spelled.
      expect(await who({ ip: '203.0.113.8/32' })).toEqual(['alice']);
      expect(await who({ ip: '192.0.2.66/32' })).toEqual(['mallory']);
      expect(await who({ ip: '192.0.2.6/32' })).toEqual([]);
      expect(await who({ ip: '2001:db8:0:1::7/128' })).toEqual(['v6']);
      expect(await who({ ip: '2001:0db8:0000:0001:0000:0000:0000:0007/128' })).toEqual(['v6']);
      expect(await who({ ip: '2001:db8:0:1::8/128' })).toEqual([]);
      expect(await who({ ip: '::1/128' })).toEqual(['v6c']);
      expect(await who({ ip: '0:0:0:0:0:0:0:1/128' })).toEqual(['v6c']);
      expect(await who({ ip: '::1' })).toEqual(['v6c']);
      // session and request id prefixes
      expect(await who({ session: sid('bob').slice(0, 12) })).toEqual(['bob']);
      expect(await who({ session: sid('bob').slice(0, 8) })).toEqual(['bob']);
      expect(await who({ requestId: rs[5].request_id.slice(0, 12) })).toEqual(['bob']);
      expect(await who({ requestId: rs[5].request_id.slice(0, 12).toUpperCase() })).toEqual(['bob']);
      // q: user, IP, path, parameters
      expect(await who({ q: 'MALLORY' })).toEqual(['v6']);
      expect(await who({ q: '198.51.100' })).toEqual(['bob']);
      expect(await who({ q: 'feed.XML' })).toEqual(['bot']);
      expect(await who({ q: 'needlevalue' })).toEqual(['v6']);
      expect(await who({ q: 'request.query.term' })).toEqual(['v6']);
      expect(await who({ q: 'nothing-like-it' })).toEqual([]);
      expect(await who({ q: 'checkout', status: '5xx' })).toEqual(['bob']);
      expect(await who({ q: '%' })).toEqual([]);
    });

    test('a User-Agent filter (exact), and the requests of a part filtered: attacks, failed, one endpoint', async () => {
      await store.ingest(scenario());
      const who = async (ua: string) => (await store.listParts({ ua }, { limit: 50 })).items.map((p) => p.session);
      expect(await who('sqlmap/1.8')).toEqual([sid('mallory')]);
      expect(await who('SQLMAP/1.8')).toEqual([]);
      const paths = async (s: string, filter: Parameters<Store['partRequests']>[2]['filter'], limit = 50) => {
        const out: string[] = [];
        let cursor: string | null = null;
        do {
          const page: Awaited<ReturnType<Store['partRequests']>> = await store.partRequests(sid(s), dateOf(D1), { limit, cursor, filter });
          for (const r of page.items) out.push(r.seq + ' ' + r.method + ' ' + r.path + ' ' + r.status);
          cursor = page.next;
        } while (cursor);
        return out;
      };
      expect(await paths('mallory', { only: 'attacks' })).toEqual(['1 GET /products 200', '2 GET /products 403']);
      expect(await paths('mallory', { only: 'attacks' }, 1)).toEqual(['1 GET /products 200', '2 GET /products 403']);
      expect(await paths('bob', { only: 'failed' })).toEqual(['1 GET /cart[1] 404', '2 POST /checkout 502']);
      expect(await paths('alice', { endpoint: '/ORDERS/*' })).toEqual(['1 GET /orders/17 200', '2 DELETE /orders/17 204']);
      expect(await paths('alice', { endpoint: 'DELETE /orders/*' })).toEqual(['1 DELETE /orders/17 204']);
      expect(await paths('alice', { only: 'failed', endpoint: '/orders/*' })).toEqual([]);
      expect(await paths('alice', {})).toHaveLength(4);
    });

    test('listParts: without the IP + User-Agent fallback parts; the total, counted up to a bound', async () => {
      await store.ingest(scenario());
      const names: Record<string, string> = { [sid('alice')]: 'alice', [sid('bob')]: 'bob', [sid('mallory')]: 'mallory', [sid('bot')]: 'bot' };
      const page = await store.listParts({ hideFallback: true }, { limit: 50, count: 100 });
      expect(page.items.map((p) => names[p.session])).toEqual(['alice', 'bob', 'alice']);
      expect([page.total, page.total_capped]).toEqual([3, false]);
      let p2 = await store.listParts({}, { limit: 2, count: 100 });
      expect([p2.items.length, p2.total, p2.total_capped]).toEqual([2, 5, false]);
      p2 = await store.listParts({}, { limit: 2, cursor: p2.next, count: 100 });
      expect([p2.items.length, p2.total]).toEqual([2, 5]);
      p2 = await store.listParts({ app: 'shop' }, { limit: 2, count: 3 });
      expect([p2.total, p2.total_capped]).toEqual([3, true]);
      expect((await store.listParts({ app: 'shop' }, { limit: 2 })).total).toBeUndefined();
      expect((await store.listParts({ attack: '*', hideFallback: true }, { limit: 2, count: 10 })).items).toEqual([]);
    });

    test('listParts sorted by requests or by malicious requests, paged by cursor; ties by session, then part', async () => {
      await store.ingest(scenario());
      const names: Record<string, string> = { [sid('alice')]: 'alice', [sid('bob')]: 'bob', [sid('mallory')]: 'mallory', [sid('bot')]: 'bot' };
      const all = async (sort: 'requests' | 'attacked', limit: number) => {
        const out: string[] = [];
        let cursor: string | null = null;
        do {
          const page: Awaited<ReturnType<Store['listParts']>> = await store.listParts({}, { limit, cursor, sort });
          for (const p of page.items) out.push(`${names[p.session]}@${p.part === dateOf(D1) ? 1 : 2}:${sort === 'requests' ? p.requests : p.attacked}`);
          cursor = page.next;
        } while (cursor);
        return out;
      };
      // ties (1 request each: alice@2 and bot@1) by session id, descending
      const ones = [sid('alice'), sid('bot')].sort().reverse().map((x) => `${names[x]}@${x === sid('alice') ? 2 : 1}:1`);
      const byRequests = ['alice@1:4', ...[sid('bob'), sid('mallory')].sort().reverse().map((x) => `${names[x]}@1:3`), ...ones];
      expect(await all('requests', 50)).toEqual(byRequests);
      expect(await all('requests', 1)).toEqual(byRequests);
      expect((await all('attacked', 2))[0]).toBe('mallory@1:2');
      const first = await store.listParts({}, { limit: 1, sort: 'requests' });
      await expect(store.listParts({}, { limit: 1, sort: 'attacked', cursor: first.next })).rejects.toBeInstanceOf(BadCursorError);
    });

    test('listParts pages by cursor without gaps or repeats; a bad cursor is refused', async () => {
      const rs: SessionRecord[] = [];
      for (let i = 0; i < 23; i++) rs.push(rec({ s: 'many' + i, at: D1 + 3600000 + i * 1000 }));
      // Two parts with the same last request time.
      rs.push(rec({ s: 'tie-a', at: D1 + 3600000 + 5000 }), rec({ s: 'tie-b', at: D1 + 3600000 + 5000 }));
      await store.ingest(rs);
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page: Awaited<ReturnType<Store['listParts']>> = await store.listParts({}, { limit: 7, cursor });
        expect(page.items.length).toBeLessThanOrEqual(7);
        for (const p of page.items) seen.push(p.session);
        cursor = page.next;
        pages++;
      } while (cursor && pages < 10);
      expect(pages).toBe(4);
      expect(seen).toHaveLength(25);
      expect(new Set(seen).size).toBe(25);
      const lasts = [];
      for (const s of seen) lasts.push(Date.parse((await store.getPart(s, dateOf(D1)))!.last_ts));
      expect([...lasts].sort((a, b) => b - a)).toEqual(lasts);
      await expect(store.listParts({}, { limit: 5, cursor: 'not-a-cursor' })).rejects.toBeInstanceOf(BadCursorError);
      await expect(store.partRequests(sid('many1'), dateOf(D1), { limit: 5, cursor: 'xx' })).rejects.toBeInstanceOf(BadCursorError);
    });

    test('timeline: buckets over the part, with attacks and failures', async () => {
      await store.ingest(scenario());
      const t = await store.timeline(sid('mallory'), dateOf(D1), 2);
      expect(t).toHaveLength(2);
      expect(t[0].t).toBe(new Date(D1 + 11 * 3600000).toISOString());
      expect(t.reduce((n, b) => n + b.requests, 0)).toBe(3);
      expect(t).toEqual([
        // 21 ms in 2 buckets of 11: the requests at +0 and +10 ms, then the one at +20 ms.
        { t: new Date(D1 + 11 * 3600000).toISOString(), requests: 2, attacks: 2, failed: 1 },
        { t: new Date(D1 + 11 * 3600000 + 11).toISOString(), requests: 1, attacks: 0, failed: 0 },
      ]);
      const b = await store.timeline(sid('bob'), dateOf(D1), 500);
      expect(b.reduce((n, x) => n + x.requests, 0)).toBe(3);
      expect(b.reduce((n, x) => n + x.failed, 0)).toBe(2);
      expect(await store.timeline(sid('nobody'), dateOf(D1), 10)).toEqual([]);
    });

    test('checkpoints: stored with a batch, the latest wins', async () => {
      expect(await store.getCheckpoint('file:/var/log/a.log')).toBeNull();
      await store.ingest([rec({ s: 'c', at: D1 })], { name: 'file:/var/log/a.log', value: '100' });
      await store.ingest([], { name: 'file:/var/log/a.log', value: '250' });
      await store.ingest([], { name: 'other', value: 'x' });
      expect(await store.getCheckpoint('file:/var/log/a.log')).toBe('250');
      expect(await store.getCheckpoint('other')).toBe('x');
    });

    test('deleteBefore drops whole days and says how many parts', async () => {
      await store.ingest(scenario());
      expect(await store.deleteBefore(dateOf(D1))).toBe(0);
      expect(await store.deleteBefore(dateOf(D2))).toBe(4);
      expect(await store.getPart(sid('bob'), dateOf(D1))).toBeNull();
      expect((await store.partRequests(sid('bob'), dateOf(D1), { limit: 5 })).items).toEqual([]);
      expect((await store.listParts({}, { limit: 10 })).items.map((p) => [p.session, p.part])).toEqual([[sid('alice'), dateOf(D2)]]);
      expect(await store.stats()).toEqual({ parts: 1, requests: 1, oldestPart: dateOf(D2), newestPart: dateOf(D2) });
      // The day can be written again (a late shipper), unless the cutoff says otherwise.
      store.setCutoff(dateOf(D2));
      expect((await store.ingest([rec({ s: 'bob', at: D1 + 5 })])).expired).toBe(1);
    });

    test('links: both directions, first time seen, well-formed ids only, never to itself', async () => {
      if (!store.links) throw new Error('this store keeps no links');
      const rs = journeyScenario();
      await store.ingest(rs);
      // A batch sent again adds nothing.
      await store.ingest(rs.slice(4, 9));
      const t = (i: number) => Date.parse(rs[i].ts);
      const edges = await store.links([sid('tok-alice-1')]);
      expect(edges).toEqual([
        { a: sid('tok-alice-1'), b: [sid('anon-alice'), sid('shared-ipua')].sort()[0], app: 'shop', ts: t(4) },
        { a: sid('tok-alice-1'), b: [sid('anon-alice'), sid('shared-ipua')].sort()[1], app: 'shop', ts: t(4) },
        { a: sid('tok-alice-1'), b: sid('tok-alice-2'), app: 'shop', ts: t(8) },
      ]);
      expect(await store.links([sid('shared-ipua')])).toEqual(
        [
          { a: sid('shared-ipua'), b: sid('tok-alice-1'), app: 'shop', ts: t(4) },
          { a: sid('shared-ipua'), b: sid('tok-bob-1'), app: 'shop', ts: t(5) },
        ],
      );
      // Well-formed ids only, stored both ways even when nothing of the other session is.
      expect(await store.links([sid('tok-alice-2')])).toEqual([
        { a: sid('tok-alice-2'), b: sid('tok-alice-1'), app: 'shop', ts: t(8) },
        { a: sid('tok-alice-2'), b: sid('never-logged'), app: 'shop', ts: t(11) },
      ]);
      expect(await store.links([sid('never-logged')])).toEqual([{ a: sid('never-logged'), b: sid('tok-alice-2'), app: 'shop', ts: t(11) }]);
      // Several sessions at once: ordered by time, then a, then b.
      const many = await store.links([sid('anon-bob'), sid('anon-alice'), sid('nobody')]);
      expect(many.map((e) => [e.a, e.b, e.ts])).toEqual([
        [sid('anon-alice'), sid('tok-alice-1'), t(4)],
        [sid('anon-bob'), sid('tok-bob-1'), t(5)],
      ]);
      expect(await store.links([])).toEqual([]);
      // A late record (earlier time) of a stored link lowers its first time; at most 8 links.
      const late = rec({ s: 'tok-alice-2', at: t(0), links: [sid('tok-alice-1'), ...Array.from({ length: 9 }, (_, i) => sid('l' + i))] });
      await store.ingest([late]);
      const after = await store.links([sid('tok-alice-2')]);
      expect(after.find((e) => e.b === sid('tok-alice-1'))!.ts).toBe(t(0));
      expect(after.filter((e) => e.ts === t(0)).map((e) => e.b).sort()).toEqual(
        [sid('tok-alice-1'), ...Array.from({ length: 7 }, (_, i) => sid('l' + i))].sort(),
      );
    });

    test('links: at most `perSession` per session (default LINKS_PER_SESSION), the first by time', async () => {
      if (!store.links) throw new Error('this store keeps no links');
      // `hub` linked to 1200 sessions, 8 per record, one second apart; `spoke0` to hub only.
      const rs: SessionRecord[] = [];
      for (let i = 0; i < 1200; i += 8) {
        rs.push(rec({ s: 'hub', at: D2 + i * 125, links: Array.from({ length: 8 }, (_, j) => sid('spoke' + (i + j))) }));
      }
      await store.ingest(rs);
      const all = await store.links([sid('hub')]);
      expect(all).toHaveLength(LINKS_PER_SESSION);
      expect(all[all.length - 1].ts).toBe(D2 + (LINKS_PER_SESSION - 8) * 125);
      const firstEight = Array.from({ length: 8 }, (_, j) => sid('spoke' + j)).sort();
      expect(all.slice(0, 8).map((e) => e.b)).toEqual(firstEight);
      const few = await store.links([sid('spoke0'), sid('hub'), sid('spoke1199')], 3);
      expect(few).toEqual(
        [
          ...firstEight.slice(0, 3).map((b) => ({ a: sid('hub'), b, app: 'shop', ts: D2 })),
          { a: sid('spoke0'), b: sid('hub'), app: 'shop', ts: D2 },
          { a: sid('spoke1199'), b: sid('hub'), app: 'shop', ts: D2 + 1192 * 125 },
        ].sort((x, y) => x.ts - y.ts || (x.a < y.a ? -1 : x.a > y.a ? 1 : x.b < y.b ? -1 : 1)),
      );
    });

    test('links and samples follow retention by their newest day', async () => {
      if (!store.links || !store.samples) throw new Error('this store keeps no links or samples');
      const inv = [cand('request.header.authorization', 't')];
      await store.ingest([
        rec({ s: 'old', at: D1 + 1000, links: [sid('both')], inventory: inv }),
        rec({ s: 'only-old', at: D1 + 2000, links: [sid('gone')], inventory: inv }),
        rec({ s: 'old', at: D2 + 1000, links: [sid('both')], inventory: inv }),
      ]);
      expect((await store.samples('shop', 10)).map((r) => r.ts)).toEqual([D1 + 1000, D1 + 2000, D2 + 1000]);
      await store.deleteBefore(dateOf(D2));
      // Kept while its newest day is, with the first time it was seen (before that day).
      expect(await store.links([sid('old'), sid('only-old')])).toEqual([{ a: sid('old'), b: sid('both'), app: 'shop', ts: D1 + 1000 }]);
      expect(await store.links([sid('both')])).toEqual([{ a: sid('both'), b: sid('old'), app: 'shop', ts: D1 + 1000 }]);
      expect(await store.links([sid('gone')])).toEqual([]);
      expect((await store.samples('shop', 10)).map((r) => r.ts)).toEqual([D2 + 1000]);
    });

    test('samples: records with an inventory, validated, the newest `max` oldest first', async () => {
      if (!store.samples) throw new Error('this store keeps no samples');
      const rs = sampleScenario();
      await store.ingest(rs);
      const sampled = rs.filter((r) => r.app === 'shop' && r.inventory);
      const all = await store.samples('shop', 1000);
      expect(all).toHaveLength(sampled.length);
      expect(all[0]).toEqual({
        ts: Date.parse(sampled[0].ts),
        session: sampled[0].session,
        key_source: 'fallback',
        method: 'POST',
        path: '/login',
        ip: '10.0.0.1',
        ua: 'same/1',
        links: [],
        inventory: sampled[0].inventory,
        user: null,
        key: 'ip+ua',
      });
      // the record's user is kept (the recommendations' "two users carried this value"), and its
      // key (the recommendations compare with the grouping keys in force)
      expect(all.map((r) => r.key)).toEqual(sampled.map((r) => r.key));
      expect(all.filter((r) => r.user !== null).map((r) => r.user)).toEqual(sampled.filter((r) => r.user !== null).map((r) => r.user));
      expect(all.some((r) => r.user === 'u1')).toBe(true);
      expect(all.map((r) => r.ts)).toEqual(sampled.map((r) => Date.parse(r.ts)));
      const withLinks = all.find((r) => r.links.length > 0)!;
      expect(withLinks.links[0]).toMatch(/^[0-9a-f]{32}$/);
      // The newest 5 (by arrival), oldest first.
      expect((await store.samples('shop', 5)).map((r) => r.ts)).toEqual(sampled.slice(-5).map((r) => Date.parse(r.ts)));
      expect(await store.samples('billing', 10)).toHaveLength(1);
      expect(await store.samples('nothing', 10)).toEqual([]);
      // Malformed entries are dropped, fields beyond {s, h, n} too; an empty inventory is no sample.
      await store.ingest([
        rec({ s: 'bad', at: D2 + 1, app: 'odd', inventory: [] }),
        rec({
          s: 'bad',
          at: D2 + 2,
          app: 'odd',
          links: ['nope', sid('fine')],
          inventory: [
            { s: 'ok', h: 'abcdef012345', n: 3, extra: 1 } as Candidate,
            { s: 'timed', h: 'abcdef012345', n: 10, k: 'time' },
            { s: 'odd-kind', h: 'abcdef012345', n: 3, k: 'weird' } as unknown as Candidate,
            { s: 'bad-hash', h: 'ABCDEF012345', n: 3 },
            { s: 'x'.repeat(513), h: 'abcdef012345', n: 3 },
            { s: 'no-n', h: 'abcdef012345' } as unknown as Candidate,
            null as unknown as Candidate,
          ],
        }),
      ]);
      const odd = await store.samples('odd', 10);
      expect(odd.map((r) => [r.links, r.inventory])).toEqual([
        [[sid('fine')], [{ s: 'ok', h: 'abcdef012345', n: 3 }, { s: 'timed', h: 'abcdef012345', n: 10, k: 'time' }, { s: 'odd-kind', h: 'abcdef012345', n: 3 }]],
      ]);
    });

    test('listParts: the parts of any of the given sessions (follow=links)', async () => {
      await store.ingest(scenario());
      const who = async (sessions: string[], more: Parameters<Store['listParts']>[0] = {}) =>
        (await store.listParts({ ...more, sessions }, { limit: 50 })).items.map((p) => [p.session, p.part]);
      expect(await who([sid('alice'), sid('bot'), sid('nobody')])).toEqual([
        [sid('alice'), dateOf(D2)],
        [sid('bot'), dateOf(D1)],
        [sid('alice'), dateOf(D1)],
      ]);
      expect(await who([sid('alice'), sid('bot')], { app: 'shop', to: D2 - 1 })).toEqual([[sid('alice'), dateOf(D1)]]);
      expect(await who([])).toEqual([]);
      expect(await who([sid("o'brien")])).toEqual([]);
    });

    test('overview: requests, sessions with a request, attacks and failed logins per interval; top applications, users and endpoints', async () => {
      const t0 = D2 + 2 * 3600000; // today 02:00 UTC
      const at = (s: number) => t0 + s * 1000;
      const rs = [
        // alice signs in at the second try, then reads two orders a minute later
        rec({ s: 'alice', at: at(1), method: 'POST', path: '/login', status: 401 }),
        rec({ s: 'alice', at: at(2), method: 'POST', path: '/login', user: 'alice' }),
        rec({ s: 'alice', at: at(70), path: '/orders/17', user: 'alice' }),
        rec({ s: 'alice', at: at(80), path: '/orders/18', user: 'alice' }),
        // bob: a refused token request, an order
        rec({ s: 'bob', at: at(5), method: 'POST', path: '/api/Token', status: 403 }),
        rec({ s: 'bob', at: at(6), path: '/orders/1', user: 'bob' }),
        // mallory: two attacks and a refused sign-in; a GET that fails is no failed login
        rec({ s: 'mallory', at: at(61), path: '/products', attack: ['sqli'], status: 403, ip: '192.0.2.66' }),
        rec({ s: 'mallory', at: at(62), path: '/products', attack: ['xss', 'sqli'], status: 403, ip: '192.0.2.66' }),
        rec({ s: 'mallory', at: at(63), method: 'POST', path: '/auth/sign-in', status: 422, ip: '192.0.2.66' }),
        rec({ s: 'mallory', at: at(64), path: '/login', status: 401, ip: '192.0.2.66' }),
        // another application, and alice again an hour later
        rec({ s: 'bot', at: at(3), app: 'blog', path: '/feed.xml' }),
        rec({ s: 'alice', at: at(3700), path: '/orders/19', user: 'alice' }),
      ];
      await store.ingest(rs.slice(0, 6));
      await store.ingest(rs.slice(6));
      const q = { from: t0, to: t0 + 2 * 3600000, bucket: 60000, topsFrom: t0, topsTo: t0 + 2 * 3600000 };
      const o = await store.overview(q);
      expect(o.series).toEqual([
        { t: t0, requests: 5, sessions: 3, attacks: 0, failed_logins: 2 },
        { t: t0 + 60000, requests: 6, sessions: 2, attacks: 2, failed_logins: 1 },
        { t: t0 + 61 * 60000, requests: 1, sessions: 1, attacks: 0, failed_logins: 0 },
      ]);
      expect(o.top.apps).toEqual([{ value: 'shop', requests: 11 }, { value: 'blog', requests: 1 }]);
      expect(o.top.users).toEqual([{ value: 'alice', requests: 4 }, { value: 'bob', requests: 1 }]);
      expect(o.top.endpoints).toEqual([
        { value: 'GET /orders/N', requests: 4 },
        { value: 'GET /products', requests: 2 },
        { value: 'POST /login', requests: 2 },
        { value: 'GET /feed.xml', requests: 1 },
        { value: 'GET /login', requests: 1 },
        { value: 'POST /api/Token', requests: 1 },
        { value: 'POST /auth/sign-in', requests: 1 },
      ]);
      // ten-minute and hourly intervals: a session counts once in each
      expect((await store.overview({ ...q, bucket: 600000 })).series).toEqual([
        { t: t0, requests: 11, sessions: 4, attacks: 2, failed_logins: 3 },
        { t: t0 + 3600000, requests: 1, sessions: 1, attacks: 0, failed_logins: 0 },
      ]);
      expect((await store.overview({ ...q, bucket: 3600000 })).series.map((b) => [b.requests, b.sessions])).toEqual([[11, 4], [1, 1]]);
      // an application pattern; a window that leaves the second hour out (tops cover whole hours)
      const shop = await store.overview({ ...q, to: t0 + 3600000, topsTo: t0 + 3600000, app: 'SH*' });
      expect(shop.series.map((b) => b.requests)).toEqual([4, 6]);
      expect(shop.top.apps).toEqual([{ value: 'shop', requests: 10 }]);
      expect(shop.top.users).toEqual([{ value: 'alice', requests: 3 }, { value: 'bob', requests: 1 }]);
      expect(await store.overview({ ...q, app: 'nothing' })).toEqual({ series: [], top: { apps: [], users: [], endpoints: [] } });
      // a record stored twice counts once
      await store.ingest([rs[0]]);
      expect((await store.overview(q)).series[0].requests).toBe(5);
    });

    test('an empty store', async () => {
      expect(await store.stats()).toEqual({ parts: 0, requests: 0, oldestPart: null, newestPart: null });
      expect(await store.listParts({}, { limit: 10 })).toEqual({ items: [], next: null });
      expect(await store.ingest([])).toEqual({ inserted: 0, duplicates: 0, expired: 0, future: 0 });
    });

  // Blocks (blocks.ts's BlockStore): the same answers from both stores, times given explicitly.
  const T = 1_800_000_000_000;
  const HOSTILE = "it's \\'; DROP TABLE blocks; -- <b>é</b>";
  const blocksOf = () => {
    if (!store.blocks) throw new Error('this store keeps no blocks');
    return store.blocks;
  };

  test('blocks: block, read back, extend, lift; the audit list and the version follow every change', async () => {
    const b = blocksOf();
    expect(await b.version()).toBe(0);
    const made = await b.create({ kind: 'user', value: HOSTILE, reason: HOSTILE, who: 'ana', now: T, expiresAt: T + 3600000, max: 10 });
    if (made === 'full') throw new Error('full');
    expect(made).toMatchObject({ kind: 'user', value: HOSTILE, reason: HOSTILE, created_by: 'ana', created_at: T, expires_at: T + 3600000, lifted_at: null, lifted_by: null });
    expect(await b.get(made.id)).toEqual(made);
    const v1 = await b.version();
    expect(v1).toBeGreaterThan(0);

    const extended = await b.extend(made.id, T + 7200000, 'bo', 'still at it', T + 1000);
    expect(extended).toEqual({ ...made, expires_at: T + 7200000 });
    expect(await b.get(made.id)).toEqual(extended);
    const v2 = await b.version();
    expect(v2).toBeGreaterThan(v1);

    const lifted = await b.lift(made.id, 'cy', 'false positive', T + 2000);
    expect(lifted).toEqual({ ...made, expires_at: T + 7200000, lifted_at: T + 2000, lifted_by: 'cy' });
    expect(await b.get(made.id)).toEqual(lifted);
    expect(await b.version()).toBeGreaterThan(v2);
    // A lifted block is not active: neither extended nor lifted again.
    expect(await b.extend(made.id, T + 9000000, 'x', 'x', T + 3000)).toBeNull();
    expect(await b.lift(made.id, 'x', 'x', T + 3000)).toBeNull();
    expect(await b.get(987654321)).toBeNull();

    const audit = await b.auditList(10);
    expect(audit.map((a) => [a.block_id, a.action, a.who, a.reason, a.kind, a.value, a.expires_at, a.at])).toEqual([
      [made.id, 'lift', 'cy', 'false positive', 'user', HOSTILE, T + 7200000, T + 2000],
      [made.id, 'extend', 'bo', 'still at it', 'user', HOSTILE, T + 7200000, T + 1000],
      [made.id, 'block', 'ana', HOSTILE, 'user', HOSTILE, T + 3600000, T],
    ]);
    expect(audit[0].id).toBeGreaterThan(audit[1].id);
    expect(audit[1].id).toBeGreaterThan(audit[2].id);
  });

  test('blocks: active ones oldest first, the list newest first, expiry, and the bound on active blocks', async () => {
    const b = blocksOf();
    const made = [];
    for (const [i, kind, ttl] of [[0, 'session', 1000], [1, 'key', 5000], [2, 'user', 5000]] as const) {
      const m = await b.create({ kind, value: kind === 'user' ? 'u' + i : sid('v' + i), reason: 'r' + i, who: 'w', now: T + i, expiresAt: T + ttl, max: 3 });
      if (m === 'full') throw new Error('full');
      made.push(m);
    }
    expect(await b.create({ kind: 'user', value: 'u9', reason: 'r', who: 'w', now: T + 10, expiresAt: T + 5000, max: 3 })).toBe('full');
    expect((await b.active(T + 10, 100)).map((x) => x.id)).toEqual(made.map((x) => x.id));
    expect((await b.active(T + 10, 2)).map((x) => x.id)).toEqual(made.slice(0, 2).map((x) => x.id));
    expect((await b.list({ now: T + 10, all: false, limit: 100 })).map((x) => x.id)).toEqual(made.map((x) => x.id).reverse());
    // The first expires at T + 1000: no longer active, still in the whole list; room for one more.
    expect((await b.active(T + 1000, 100)).map((x) => x.id)).toEqual(made.slice(1).map((x) => x.id));
    expect((await b.list({ now: T + 1000, all: true, limit: 100 })).map((x) => x.id)).toEqual(made.map((x) => x.id).reverse());
    expect(await b.extend(made[0].id, T + 9000, 'w', 'r', T + 1000)).toBeNull();
    const fourth = await b.create({ kind: 'user', value: 'u9', reason: 'r', who: 'w', now: T + 1000, expiresAt: T + 5000, max: 3 });
    expect(fourth).not.toBe('full');
    // A lifted block frees its place too.
    await b.lift(made[1].id, 'w', 'r', T + 1001);
    expect((await b.active(T + 1001, 100)).map((x) => x.id)).toEqual([made[2].id, (fourth as { id: number }).id]);
  });
  });
}
