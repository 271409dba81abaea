/**
 * Recommendations on generated traffic with a known best key among decoys: the token a login
 * issues and later requests carry in Authorization, against a per-request id, a per-deployment
 * constant, a language, a value shared by everyone behind one IP (one group with one User-Agent,
 * one with several) and a rare parameter. Stored through the SQLite store's ingest and read back
 * over the HTTP API, as the console does.
 */
import crypto from 'crypto';
import { join } from 'path';
import { startConsole, RunningConsole } from '../../src/console/index';
import { SqliteStore } from '../../src/console/store/sqlite';
import { lineParsesBack, recommend, Recommendations } from '../../src/console/recommend';
import { SessionRecord, Candidate } from '../../src/shared/record';
import { SampleRow } from '../../src/console/store/types';
import { TODAY, rec, tempDir } from './helpers';

const tmp = tempDir('api-sessions-recommend-');
afterAll(() => tmp.cleanup());

const h12 = (v: string) => crypto.createHash('sha256').update('v\n' + v).digest('hex').slice(0, 12);
const sessionOf = (v: string) => crypto.createHash('md5').update('s ' + v).digest('hex');
const cand = (s: string, v: string): Candidate => ({ s, h: h12(v), n: v.length });

interface User {
  name: string;
  ip: string;
  ua: string;
  lang: string;
}

/** 10 users: 4 behind 10.0.0.1 with one User-Agent, 3 behind 10.0.0.2 with different ones, 3 on
 *  their own addresses. Each logs in (the response body issues a token), makes 4 requests with
 *  it, refreshes it (a new token), makes 4 more. Requests interleave across users. */
function traffic(): SessionRecord[] {
  const users: User[] = [];
  const langs = ['en', 'de', 'fr'];
  for (let i = 0; i < 10; i++) {
    const ip = i < 4 ? '10.0.0.1' : i < 7 ? '10.0.0.2' : `192.0.2.${i}`;
    const ua = i < 4 ? 'same-browser/1' : `browser/${'ABC'[i % 3]}`; // users elsewhere share browsers too
    users.push({ name: 'u' + i, ip, ua, lang: langs[i % 3] });
  }
  const out: SessionRecord[] = [];
  let t = TODAY;
  let reqNo = 0;
  const tokens = new Map<string, string>();
  for (let step = 0; step < 10; step++) {
    for (const u of users) {
      t += 1000;
      const site = 'site-' + u.ip; // the same for everyone behind one address
      const common = [
        cand('request.header.user-agent', u.ua),
        cand('request.header.accept-language', u.lang),
        cand('request.header.x-app-version', '4.2.0'),
        cand('request.header.x-request-id', 'req-' + ++reqNo),
        cand('request.cookie.site', site),
      ];
      if (step === 0) {
        const token = `tok-${u.name}-1-${crypto.randomBytes(8).toString('hex')}`;
        tokens.set(u.name, token);
        const ipua = sessionOf('ipua ' + u.ip + ' ' + u.ua);
        out.push(rec({ s: 'x', at: t, session: ipua, key: 'ip+ua', key_source: 'fallback', method: 'POST', path: '/login', ip: u.ip, ua: u.ua,
          inventory: [...common, cand('request.body.json.user', u.name), cand('response.body.json.token', token)] }));
        continue;
      }
      const token = tokens.get(u.name)!;
      const inv = [...common, cand('request.header.authorization', token)];
      if (u.name === 'u0' && step === 3) inv.push(cand('request.query.debug', 'dbg-' + u.name));
      if (step === 5) {
        // the refresh: the old token in, a new one out
        const fresh = `tok-${u.name}-2-${crypto.randomBytes(8).toString('hex')}`;
        tokens.set(u.name, fresh);
        inv.push(cand('response.body.json.token', fresh));
        out.push(rec({ s: 'x', at: t, session: sessionOf(token), key: 'request.header.authorization', key_source: 'builtin', method: 'POST', path: '/refresh',
          ip: u.ip, ua: u.ua, inventory: inv }));
        continue;
      }
      out.push(rec({ s: 'x', at: t, session: sessionOf(token), key: 'request.header.authorization', key_source: 'builtin', path: `/orders/${step}`,
        ip: u.ip, ua: u.ua, inventory: inv }));
    }
  }
  return out;
}

function check(r: Recommendations) {
  const by = (s: string) => r.suggestions.find((x) => x.selector === s)!;
  expect(r.sampled).toBe(100);
  // the best key first, suggested, with its origin
  const best = r.suggestions[0];
  expect(best.selector).toBe('request.header.authorization');
  expect(best.suggested).toBe(true);
  expect(best.origin).toMatchObject({ selector: 'response.body.json.token', values: 20, share: 1 });
  expect(best.origin!.endpoints.map((e) => e.endpoint).sort()).toEqual(['POST /login', 'POST /refresh']);
  expect(best.explanation).toMatch(/^Suggested: /);
  expect(best.explanation).toContain('issued by POST /login, POST /refresh in response.body.json.token');
  // the login body's user name is a user, offered as such
  expect(r.nginx).toBe("set $api_sessions_params 'response.body.json.token group; request.header.authorization group; request.body.json.user user';");
  expect(r.preview).toMatchObject({ mixed_sessions: 0, fallback_requests: 0 });
  // every decoy lost, and says why
  expect(by('request.header.x-request-id').lost).toEqual(['low_stability']);
  expect(by('request.header.x-request-id').explanation).toMatch(/^Lost: low stability: a client's value changed in 100% of its consecutive requests/);
  expect(by('request.header.x-app-version').lost).toEqual(['constant']);
  expect(by('request.header.x-app-version').explanation).toMatch(/a constant: one value sent by \d+ clients/);
  expect(by('request.header.accept-language').lost).toEqual(['low_cardinality', 'low_distinctness']);
  expect(by('request.header.accept-language').explanation).toMatch(/low cardinality: it describes the client software/);
  expect(by('request.cookie.site').lost).toEqual(['low_distinctness']);
  expect(by('request.cookie.site').explanation).toMatch(/low distinctness: 100% of its requests carry a value that several clients sent over the sampled window/);
  expect(by('request.query.debug').lost).toContain('low_coverage');
  expect(by('request.query.debug').explanation).toMatch(/low coverage: only 1% of sampled requests carry it/);
  // the user name of the login body is per user but seen once per client
  expect(by('request.body.json.user')).toMatchObject({ as: 'user', kind: 'user' });
  expect(by('request.header.user-agent').lost).toContain('low_cardinality');
  for (const s of r.suggestions.slice(1)) expect(s.suggested && s.as === 'group').toBe(false);
  // ranks follow the score among the decoys too
  const ranks = r.suggestions.map((s) => s.rank);
  expect(ranks).toEqual(ranks.map((_, i) => i + 1));
}

test('the best key ranks first; each decoy names why it lost (pure function)', () => {
  const rows = traffic().map((x) => ({ ts: Date.parse(x.ts), session: x.session, key_source: x.key_source, method: x.method, path: x.path,
    ip: x.ip, ua: x.ua, links: x.links ?? [], inventory: x.inventory!, user: x.user, key: x.key }));
  const r = recommend('shop', rows);
  check(r);
  // deterministic: the same samples give the same answer
  expect(recommend('shop', rows)).toEqual(r);
  // a response-side candidate is an origin, never a suggestion
  expect(r.suggestions.some((s) => s.selector.startsWith('response.'))).toBe(false);
});

test('a value several clients held over the window is shared unless links say they are one user\'s sessions', () => {
  // Only the 3 users on their own addresses: each has an anonymous login session, a token and a
  // refreshed token. Unlinked, those are three clients holding one site cookie value: shared.
  const base = traffic()
    .filter((x) => x.ip.startsWith('192.0.2.'))
    .map((x) => ({ ts: Date.parse(x.ts), session: x.session, key_source: x.key_source, method: x.method, path: x.path,
      ip: x.ip, ua: x.ua, links: [] as string[], inventory: x.inventory!, user: x.user, key: x.key }));
  const unlinked = recommend('shop', base);
  expect(unlinked.suggestions.find((s) => s.selector === 'request.cookie.site')!.lost).toEqual(['low_distinctness']);
  // Linked as the module links them (the first token request to the anonymous session, the
  // refresh to the new token's session): one client each, and the cookie is as distinct as the token.
  const linked = base.map((r) => ({ ...r, links: [...r.links] }));
  for (const ip of new Set(linked.map((r) => r.ip))) {
    const mine = linked.filter((r) => r.ip === ip);
    const anon = mine.find((r) => r.key_source === 'fallback')!;
    mine.find((r) => r.key_source === 'builtin')!.links.push(anon.session);
    const i = mine.findIndex((r) => r.path === '/refresh');
    mine[i].links.push(mine[i + 1].session);
  }
  const r = recommend('shop', linked);
  const site = r.suggestions.find((s) => s.selector === 'request.cookie.site')!;
  expect(site.distinctness).toBe(1);
  expect(site.suggested).toBe(true);
  // the token still wins: it has an origin, the cookie has none
  expect(r.suggestions[0].selector).toBe('request.header.authorization');
});

describe('over the store and the API', () => {
  let c: RunningConsole;
  afterEach(async () => c?.close());

  test('GET /api/apps/:app/recommendations: stored at ingest, ranked, explained; other apps and empty apps apart', async () => {
    c = await startConsole({ dbPath: join(tmp.dir, 'r.db'), log: () => undefined });
    const rs = traffic();
    // records without an inventory (not sampled) and another app's do not count
    rs.push(rec({ s: 'plain', at: TODAY + 500 }));
    rs.push(rec({ s: 'other', at: TODAY + 600, app: 'billing', inventory: [cand('request.header.x-k', 'v')] }));
    const res = await fetch(new URL('/api/ingest', c.url), { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: rs.map((x) => JSON.stringify(x)).join('\n') });
    expect(((await res.json()) as { inserted: number }).inserted).toBe(102);
    const body = (await (await fetch(new URL('/api/apps/shop/recommendations', c.url))).json()) as Recommendations;
    check(body);
    const other = (await (await fetch(new URL('/api/apps/billing/recommendations', c.url))).json()) as Recommendations;
    expect(other.sampled).toBe(1);
    const none = (await (await fetch(new URL('/api/apps/nothing/recommendations', c.url))).json()) as Recommendations;
    expect(none).toMatchObject({ sampled: 0, suggestions: [], nginx: null });
    // an application named as long as a record allows, percent-encoded in the path
    const long = 'shop é/'.repeat(147).slice(0, 1024);
    const longApp = await fetch(new URL(`/api/apps/${encodeURIComponent(long)}/recommendations`, c.url));
    expect(longApp.status).toBe(200);
    expect(await longApp.json()).toMatchObject({ app: long, sampled: 0 });
    expect((await fetch(new URL(`/apps/${encodeURIComponent(long)}/recommendations`, c.url))).status).toBe(200);
    expect((await fetch(new URL(`/api/apps/${encodeURIComponent(long + 'x')}/recommendations`, c.url))).status).toBe(400);
    // the what-if preview over the API: the suggested line, and a typed one
    const pv = async (line: string, extra = '') => {
      const res = await fetch(new URL(`/api/apps/shop/preview?line=${encodeURIComponent(line)}${extra}`, c.url));
      return { status: res.status, body: (await res.json()) as any };
    };
    const suggested = await pv(body.nginx!);
    expect(suggested.status).toBe(200);
    expect(suggested.body).toEqual({ app: 'shop', ...body.preview });
    expect(suggested.body).toMatchObject({ sampled: 100, mixed_sessions: 0, fallback_requests: 0, errors: [] });
    const site = await pv('request.cookie.site group');
    // everyone behind 10.0.0.1 (4 users), and behind 10.0.0.2 (3), shares one site cookie: two
    // sessions of several clients; users are not named in these records, so none is "mixed"
    expect(site.body.by_key[0]).toEqual({ key: 'request.cookie.site', requests: 100, sessions: 5 });
    expect((await pv('x'.repeat(8001))).status).toBe(400);
    // POST for long lines: the same answer
    const posted = await fetch(new URL('/api/apps/shop/preview', c.url), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ line: body.nginx }) });
    expect(await posted.json()).toEqual(suggested.body);
    const bad = await fetch(new URL('/api/apps/shop/preview', c.url), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ nope: 1 }) });
    expect(bad.status).toBe(400);
    expect((await pv('request.header.x-nothing group', '&samples=0')).status).toBe(400);
    expect((await pv('bogus group')).body.errors[0]).toMatch(/unknown selector "bogus"/);
    // the samples are what the store gives back, oldest first
    const rows = await (c.store as SqliteStore).samples('shop', 1000);
    expect(rows).toHaveLength(100);
    expect(rows[0].inventory[0]).toEqual({ s: 'request.header.user-agent', h: expect.stringMatching(/^[0-9a-f]{12}$/), n: expect.any(Number) });
  });

  test('an nginx line never takes a selector that could break out of its quotes', () => {
    const row = (i: number, v: string) => ({ ts: TODAY + i, session: sessionOf('s' + (i % 5)), key_source: 'builtin', method: 'GET', path: '/', ip: '10.1.1.' + (i % 5),
      ua: 'x', links: [], user: null, key: null, inventory: [cand("request.body.json.a'b;$x", v)] });
    const r = recommend('x', Array.from({ length: 20 }, (_, i) => row(i, 'val' + (i % 5))));
    expect(r.suggestions[0].suggested).toBe(true);
    expect(r.nginx).toBeNull();
  });

  test('an nginx line takes only selectors that the module parses back exactly', () => {
    // Each selector names its own clients' values, each on its own two thirds of the requests (so
    // that none follows another): all three are suggested.
    const sels = ['request.body.form.a["x', 'request.cookie.a["x"]b', 'request.query.token'];
    const row = (i: number) => ({ ts: TODAY + i, session: sessionOf('s' + (i % 5)), key_source: 'builtin', method: 'GET', path: '/', ip: '10.1.1.' + (i % 5),
      ua: 'x', links: [], user: null, key: null, inventory: sels.filter((_, k) => Math.floor(i / 5) % 3 !== k).map((s) => cand(s, s + (i % 5))) });
    const r = recommend('x', Array.from({ length: 30 }, (_, i) => row(i)));
    expect(r.suggestions.map((s) => s.suggested)).toEqual([true, true, true]);
    expect(r.suggestions.map((s) => s.selector).sort()).toEqual([...sels].sort());
    // the unclosed `["` would swallow the entries after it: left out of the line (still listed);
    // the cookie named `a["x"]b` parses back as itself (its `["x"]` is closed) and stays
    expect(r.nginx).toBe(`set $api_sessions_params 'request.cookie.a["x"]b group; request.query.token group';`);
    expect(lineParsesBack(['request.query.token', 'request.body.json["a b"].c'])).toBe(true);
    expect(lineParsesBack(['request.body.form.a["x', 'request.query.token'])).toBe(false);
    expect(lineParsesBack(['request.body.form.a["x'])).toBe(false);
    expect(lineParsesBack(['request.cookie.a["x"]b', 'request.query.token'])).toBe(true);
    expect(lineParsesBack(['request.cookie.a["x'])).toBe(false);
    expect(lineParsesBack(['request.body.json.a["x"]b'])).toBe(false); // text after `"]` in a JSON path
    expect(lineParsesBack(['request.header.Authorization'])).toBe(false); // read back lowercased
  });
});

describe('never worse than the configuration in force', () => {
  /** 6 users on their own addresses. Each logs in (the response body issues a token; the
   *  configuration in force groups the login by it), then sends the token in Authorization, in
   *  the query and in an X-Token header twice each, and once in a JSON body (a cart update):
   *  the configuration in force groups every request by the token, the body one by
   *  `request.body.json.token`, which is seen too rarely to be suggested on its own. */
  function rows(): SampleRow[] {
    const out: SampleRow[] = [];
    let t = TODAY;
    const carriers: Array<[string, string]> = [
      ['request.header.authorization', '/profile'], ['request.query.token', '/orders'], ['request.header.x-token', '/items'],
      ['request.header.authorization', '/profile'], ['request.query.token', '/orders'], ['request.header.x-token', '/items'],
      ['request.body.json.token', '/cart'],
    ];
    for (let step = 0; step <= carriers.length; step++) {
      for (let u = 0; u < 6; u++) {
        const token = `tok-${u}-${'k'.repeat(24)}`;
        const base = { ts: (t += 1000), ip: '192.0.2.' + u, ua: 'browser/' + u, user: null, session: sessionOf(token), key_source: 'params' };
        const common = [cand('request.header.user-agent', 'browser/' + u), cand('request.header.accept-language', 'en')];
        if (step === 0) {
          out.push({ ...base, key: 'response.body.json.token', method: 'POST', path: '/login', links: [sessionOf('ipua ' + u)],
            inventory: [...common, cand('response.body.json.token', token)] });
          continue;
        }
        const [sel, path] = carriers[step - 1];
        out.push({ ...base, key: sel, method: sel.includes('body') ? 'POST' : 'GET', path, links: [], inventory: [...common, cand(sel, token)] });
      }
    }
    return out;
  }

  test('a grouping key in force that the preview shows helping stays in the line, and the answer says the line is as good', () => {
    const r = recommend('shop', rows());
    // as the records were grouped: every request by the token
    expect(r.in_force).toMatchObject({ sampled: 48, sessions: 6, mixed_sessions: 0, fallback_requests: 0, users_split: 0 });
    expect(r.in_force.keys).toEqual(['response.body.json.token', 'request.header.authorization', 'request.query.token', 'request.header.x-token', 'request.body.json.token']);
    const body = r.suggestions.find((s) => s.selector === 'request.body.json.token')!;
    expect(body.suggested && body.as === 'group').toBe(false);
    // the three best carriers with their origin, then the body's token: nothing left to IP + User-Agent
    expect(r.nginx).toMatch(/^set \$api_sessions_params 'response\.body\.json\.token group; /);
    expect(r.nginx).toContain('request.body.json.token group');
    expect(r.preview).toMatchObject({ fallback_requests: 0, mixed_sessions: 0, users_split: 0 });
    expect(r.comparison).toEqual({ verdict: 'same', text: expect.stringMatching(/^As good as the configuration in force on the sampled requests: .*requests left to IP \+ User-Agent: 0 \(now 0\)/) });
  });

  test('a configuration in force that groups what the samples cannot show: the answer says the line is worse, and which keys to keep', () => {
    // the body's token sits deeper than discovery looks: the records were grouped by it, the
    // inventories do not carry it
    const rs = rows().map((x) =>
      x.key === 'request.body.json.token' ? { ...x, key: 'request.body.json.cart.owner.auth.token', inventory: x.inventory.filter((c) => c.s !== 'request.body.json.token') } : x,
    );
    const r = recommend('shop', rs);
    expect(r.preview!.fallback_requests).toBe(6);
    expect(r.in_force.fallback_requests).toBe(0);
    expect(r.comparison!.verdict).toBe('worse');
    expect(r.comparison!.text).toBe(
      'Worse than the configuration in force on the sampled requests: requests left to IP + User-Agent: 6 (now 0). ' +
        'Keep your configuration, or add its grouping keys to this line (request.body.json.cart.owner.auth.token).',
    );
  });

  test('samples stored before records kept their key: nothing is known of the configuration in force but what grouped them', () => {
    const r = recommend('shop', rows().map((x) => ({ ...x, key: null })));
    expect(r.in_force.keys).toEqual([]);
    expect(r.in_force.fallback_requests).toBe(0);
    expect(r.comparison!.verdict).toBe('worse');
  });
});
