/**
 * Stitched sessions over the API: links stored at ingest in both directions, a session's linked
 * sessions before and after it, the journey (transitive, bounded, in time order, never through a
 * shared IP + User-Agent session), the list's user filter following links, and 501 from a store
 * that keeps no links.
 */
import { join } from 'path';
import { RunningConsole } from '../../src/console/index';
import { SqliteStore } from '../../src/console/store/sqlite';
import { LINKS_PER_SESSION, Store } from '../../src/console/store/types';
import { JOURNEY_EDGES_PER_SESSION, LINKED_MAX, journey, linkedSessions } from '../../src/console/journey';
import { SessionRecord } from '../../src/shared/record';
import { TODAY, journeyScenario, rec, sid, testConsoles } from './helpers';

const consoles = testConsoles('api-sessions-journey-');
let c: RunningConsole;
let n = 0;

const get = async (path: string) => {
  const res = await fetch(new URL(path, c.url));
  return { status: res.status, body: (await res.json()) as any };
};
const post = (rs: SessionRecord[]) =>
  fetch(new URL('/api/ingest', c.url), { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: rs.map((r) => JSON.stringify(r)).join('\n') }).then((r) => r.json());

const scenario = () => journeyScenario({ start: TODAY });

test('links both ways, linked sessions before and after, the journey as one timeline', async () => {
  c = await consoles.start();
  expect(await post(scenario())).toMatchObject({ inserted: 12, invalid: 0 });

  let r = await get(`/api/sessions/${sid('tok-alice-1')}/links`);
  expect(r.status).toBe(200);
  expect(r.body.before.map((s: any) => s.session)).toEqual([sid('shared-ipua'), sid('anon-alice')]);
  expect(r.body.after.map((s: any) => s.session)).toEqual([sid('tok-alice-2')]);
  expect(r.body.before[0]).toMatchObject({ fallback: true, keys: ['ip+ua'], requests: 1 });
  expect(r.body.after[0]).toMatchObject({ fallback: false, users: ['alice'], linked_at: new Date(TODAY + 9000).toISOString() });
  // the other direction: the anonymous session knows the login that followed it
  r = await get(`/api/sessions/${sid('anon-alice')}/links`);
  expect(r.body.before).toEqual([]);
  expect(r.body.after.map((s: any) => s.session)).toEqual([sid('tok-alice-1')]);

  // the journey from alice's refreshed session: her sessions and the shared IP + UA one, not bob's
  r = await get(`/api/sessions/${sid('tok-alice-2')}/journey`);
  expect(r.status).toBe(200);
  expect(r.body.sessions.map((s: any) => s.session)).toEqual([sid('shared-ipua'), sid('anon-alice'), sid('tok-alice-1'), sid('tok-alice-2')]);
  expect(r.body.requests.map((q: any) => [q.path, q.session])).toEqual([
    ['/favicon.ico', sid('shared-ipua')],
    ['/catalog', sid('anon-alice')],
    ['/catalog/2', sid('anon-alice')],
    ['/login', sid('tok-alice-1')],
    ['/orders', sid('tok-alice-1')],
    ['/refresh', sid('tok-alice-2')],
    ['/orders/1', sid('tok-alice-2')],
    ['/orders/2', sid('tok-alice-2')],
  ]);
  expect(r.body.truncated).toBe(false);
  // bob's journey is his own the same way
  r = await get(`/api/sessions/${sid('anon-bob')}/journey`);
  expect(r.body.sessions.map((s: any) => s.session).sort()).toEqual([sid('anon-bob'), sid('shared-ipua'), sid('tok-bob-1')].sort());
  // bounded: at most max_sessions
  r = await get(`/api/sessions/${sid('tok-alice-2')}/journey?max_sessions=2`);
  expect(r.body.sessions).toHaveLength(2);
  expect(r.body.truncated).toBe(true);
  // starting at the shared session follows it (the analyst asked for it): both users appear
  r = await get(`/api/sessions/${sid('shared-ipua')}/journey`);
  expect(r.body.sessions.map((s: any) => s.session)).toEqual(expect.arrayContaining([sid('tok-alice-1'), sid('tok-bob-1')]));

  expect((await get(`/api/sessions/${sid('nobody')}/journey`)).status).toBe(404);
  expect((await get(`/api/sessions/${sid('nobody')}/links`)).status).toBe(404);
  expect((await get(`/api/sessions/xyz/journey`)).status).toBe(400);
});

test('the list: user=alice&follow=links adds the sessions linked to hers', async () => {
  c = await consoles.start();
  await post(scenario());
  const plain = await get('/api/parts?user=alice');
  expect(plain.body.items.map((p: any) => p.session).sort()).toEqual([sid('tok-alice-1'), sid('tok-alice-2')].sort());
  const follow = await get('/api/parts?user=alice&follow=links');
  expect(follow.status).toBe(200);
  expect(follow.body.filter).toEqual({ user: 'alice', follow: 'links' });
  expect(follow.body.items.map((p: any) => p.session).sort()).toEqual(
    [sid('tok-alice-1'), sid('tok-alice-2'), sid('anon-alice'), sid('shared-ipua')].sort(),
  );
  // other filters still apply to the followed parts
  const some = await get('/api/parts?user=alice&follow=links&endpoint=' + encodeURIComponent('/catalog*'));
  expect(some.body.items.map((p: any) => p.session)).toEqual([sid('anon-alice')]);
  expect((await get('/api/parts?user=nobody&follow=links')).body.items).toEqual([]);
  expect((await get('/api/parts?follow=links')).status).toBe(400);
  expect((await get('/api/parts?user=alice&follow=yes')).status).toBe(400);
});

test('retention drops links and samples with their days; a store without links answers 501', async () => {
  const s = new SqliteStore(join(consoles.dir, `j${++n}.db`));
  await s.ingest(scenario());
  expect((await s.links([sid('tok-alice-1')])).map((e) => e.b).sort()).toEqual([sid('anon-alice'), sid('shared-ipua'), sid('tok-alice-2')].sort());
  await s.deleteBefore(new Date(TODAY + 86400000 * 2).toISOString().slice(0, 10));
  expect(await s.links([sid('tok-alice-1')])).toEqual([]);
  await s.close();

  const inner = new SqliteStore(join(consoles.dir, `j${++n}.db`));
  const bare: Store = Object.create(inner);
  Object.defineProperty(bare, 'links', { value: undefined });
  Object.defineProperty(bare, 'samples', { value: undefined });
  c = await consoles.start({ store: bare });
  await post(scenario());
  const r = await get(`/api/sessions/${sid('tok-alice-1')}/journey`);
  expect(r.status).toBe(501);
  expect(r.body.error).toMatch(/does not keep links/);
  expect((await get('/api/apps/shop/recommendations')).status).toBe(501);
  expect((await get('/api/apps/shop/preview?line=request.query.token%20group')).status).toBe(501);
  expect((await get('/api/parts?user=alice&follow=links')).status).toBe(501);
});

describe('bounds', () => {
  /** `hub` linked to `n` sessions of which nothing is stored, 8 links per record, one second apart. */
  function hub(n: number): SessionRecord[] {
    const rs: SessionRecord[] = [];
    for (let i = 0; i < n; i += 8) {
      const links: string[] = [];
      for (let j = i; j < Math.min(n, i + 8); j++) links.push(sid('spoke' + j));
      rs.push(rec({ s: 'hub', at: TODAY + i * 10, key: 'ip+ua', key_source: 'fallback', links }));
    }
    return rs;
  }

  test('a session with 60,000 links: links, linked sessions and the journey stay bounded', async () => {
    const s = new SqliteStore(join(consoles.dir, `j${++n}.db`));
    try {
      await s.ingest(hub(60000));
      const all = await s.links([sid('hub')]);
      expect(all).toHaveLength(LINKS_PER_SESSION);
      // the first by time (a record's 8 links share its time: then by id)
      const firstEight = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => sid('spoke' + i)).sort();
      expect(all.slice(0, 8).map((e) => e.b)).toEqual(firstEight);
      expect(all[all.length - 1].ts).toBe(TODAY + (LINKS_PER_SESSION - 8) * 10);
      const few = await s.links([sid('hub'), sid('spoke3')], 5);
      expect(few.filter((e) => e.a === sid('hub')).map((e) => e.b)).toEqual(firstEight.slice(0, 5));
      expect(few.filter((e) => e.a === sid('spoke3')).map((e) => e.b)).toEqual([sid('hub')]);
      // time order across the sessions asked for
      expect(few.map((e) => e.ts)).toEqual([...few.map((e) => e.ts)].sort((x, y) => x - y));

      let lookups = 0;
      const counting: Store = Object.create(s);
      counting.sessionParts = (x: string) => {
        lookups++;
        return s.sessionParts(x);
      };
      const linked = await linkedSessions(counting, sid('hub'));
      expect(linked).toMatchObject({ before: [], after: [] }); // none of the spokes is stored
      expect(lookups).toBe(1 + LINKED_MAX);
      lookups = 0;
      const j = await journey(counting, sid('hub'), { maxSessions: 10 });
      expect(j!.truncated).toBe(true);
      expect(j!.sessions.map((x) => x.session)).toEqual([sid('hub')]);
      // the start, then at most maxSessions x 4 sessions named by links looked up
      expect(lookups).toBe(1 + 10 * JOURNEY_EDGES_PER_SESSION);
    } finally {
      await s.close();
    }
  });

  test('a journey cut by maxRequests is its first requests in time order, without holes', async () => {
    const s = new SqliteStore(join(consoles.dir, `j${++n}.db`));
    try {
      const rs: SessionRecord[] = [];
      // `long` starts first and runs 30 s; `short` (linked) makes a request every 2 s from 1 s on.
      for (let i = 0; i < 30; i++) rs.push(rec({ s: 'long', at: TODAY + i * 1000, path: '/long/' + i }));
      for (let i = 0; i < 10; i++) {
        rs.push(rec({ s: 'short', at: TODAY + 1000 + i * 2000 + 500, path: '/short/' + i, links: i === 0 ? [sid('long')] : undefined }));
      }
      await s.ingest(rs);
      const whole = await journey(s, sid('long'));
      expect(whole!.truncated).toBe(false);
      expect(whole!.requests).toHaveLength(40);
      const cut = await journey(s, sid('long'), { maxRequests: 12 });
      expect(cut!.truncated).toBe(true);
      expect(cut!.requests.map((r) => r.path)).toEqual(whole!.requests.slice(0, 12).map((r) => r.path));
      expect(cut!.requests.some((r) => r.path.startsWith('/short/'))).toBe(true);
      const ts = cut!.requests.map((r) => Date.parse(r.ts));
      expect(ts).toEqual([...ts].sort((x, y) => x - y));
    } finally {
      await s.close();
    }
  });
});

test('follow=links never expands a seed session grouped by IP + User-Agent (two users behind one NAT)', async () => {
  c = await consoles.start();
  const t = (x: number) => TODAY + x * 1000;
  const fb = { key: 'ip+ua', key_source: 'fallback' as const };
  // The login POSTs have no token yet: grouped by IP + User-Agent, the user read from the body;
  // each links the shared session to the token session its response issued.
  const rs = [
    rec({ s: 'nat', at: t(1), ...fb, method: 'POST', path: '/login', user: 'alice', links: [sid('tok-alice')] }),
    rec({ s: 'nat', at: t(2), ...fb, method: 'POST', path: '/login', user: 'bob', links: [sid('tok-bob')] }),
    rec({ s: 'tok-alice', at: t(3), path: '/orders', user: 'alice' }),
    rec({ s: 'tok-bob', at: t(4), path: '/orders', user: 'bob' }),
    // the shared session stays the newest (the seeds are taken newest first)
    rec({ s: 'nat', at: t(5), ...fb, path: '/favicon.ico' }),
  ];
  expect(await post(rs)).toMatchObject({ inserted: 5 });
  const alice = await get('/api/parts?user=alice&follow=links');
  expect(alice.status).toBe(200);
  expect(alice.body.items.map((p: any) => p.session).sort()).toEqual([sid('nat'), sid('tok-alice')].sort());
  const bob = await get('/api/parts?user=bob&follow=links');
  expect(bob.body.items.map((p: any) => p.session).sort()).toEqual([sid('nat'), sid('tok-bob')].sort());
});
