/**
 * Hostile decoys for the recommendations (recommend/) and the what-if preview (recommend/whatif.ts):
 * traffic as the module records it with `response.body.json.token group` (a login's token) and
 * the built-in set, 24 users (6 behind one IP and User-Agent), half of them one after another
 * (never at the same time), half interleaved. Each browses anonymously, signs in (a JWT with
 * sub, email, role, iat, exp, jti and a per-login timestamp claim), uses the token, refreshes it
 * (linked), uses the new one. Decoys: a constant header, a language, sec-fetch-mode, a per-request
 * id, a per-login time header, a team header two users share, the login's password, a small page
 * number equal to a response's small number.
 */
import crypto from 'crypto';
import { recommend, Recommendations, Suggestion } from '../../src/console/recommend';
import { preview } from '../../src/console/recommend/whatif';
import { SampleRow } from '../../src/console/store/types';
import { Candidate } from '../../src/shared/record';
import { TODAY } from './helpers';

const h12 = (v: string) => crypto.createHash('sha256').update('v\n' + v).digest('hex').slice(0, 12);
const S = (v: string) => crypto.createHash('md5').update('s ' + v).digest('hex');
const cand = (s: string, v: string, k?: Candidate['k']): Candidate => (k ? { s, h: h12(v), n: v.length, k } : { s, h: h12(v), n: v.length });

const USERS = 24;
const AUTH = 'request.header.authorization';

interface Options {
  /** Records name their user (as `request.header.authorization.jwt.sub user` does). */
  named: boolean;
}

/** The traffic, and which user sent each row (null: anonymous). */
function traffic(o: Options): { rows: SampleRow[]; truth: Array<string | null> } {
  const rows: SampleRow[] = [];
  const truth: Array<string | null> = [];
  let reqNo = 0;
  const scripts: Array<Array<() => void>> = [];
  for (let u = 0; u < USERS; u++) {
    const name = 'u' + u;
    const ip = u < 6 ? '10.0.0.1' : `192.0.2.${u}`;
    const ua = u < 6 ? 'same-browser/1' : `browser/${u % 3}`;
    const ipua = S('ipua ' + ip + ' ' + ua);
    const lang = ['en-US', 'de-DE', 'fr-FR'][u % 3];
    const team = u < 2 ? 'team-shared-by-u0-and-u1' : 'team-of-' + name + '-' + 'x'.repeat(12);
    const steps: Array<() => void> = [];
    let t = 0;
    const tokenOf = (k: number) => `eyJhbGciOi.${name}-${k}-${crypto.createHash('md5').update(name + k).digest('hex')}.sig`;
    const loginAt = String(1764370000 + u * 3600);
    const claims = (k: number): Candidate[] => [
      cand(AUTH + '.jwt.sub', name),
      cand(AUTH + '.jwt.email', name + '@example.com'),
      cand(AUTH + '.jwt.role', u % 5 === 0 ? 'admin' : 'customer'),
      cand(AUTH + '.jwt.iat', String(Number(loginAt) + k), 'time'),
      cand(AUTH + '.jwt.exp', String(Number(loginAt) + k + 3600), 'time'),
      cand(AUTH + '.jwt.jti', crypto.createHash('md5').update('jti' + name + k).digest('hex').slice(0, 16)),
      cand(AUTH + '.jwt.login_at', loginAt, 'time'),
    ];
    const common = (): Candidate[] => [
      cand('request.header.user-agent', ua),
      cand('request.header.accept-language', lang),
      cand('request.header.sec-fetch-mode', 'cors'),
      cand('request.header.x-app-version', '4.2.0'),
      cand('request.header.x-request-id', 'req-' + ++reqNo + '-' + 'r'.repeat(10)),
    ];
    const push = (r: Omit<SampleRow, 'ts' | 'ip' | 'ua' | 'user' | 'key'>, user: string | null) => {
      rows.push({ ...r, ts: 0, ip, ua, user: o.named ? user : null, key: null });
      truth.push(user === null && r.path !== '/login' ? null : name);
    };
    // anonymous browsing
    for (let i = 0; i < 2; i++) {
      // behind the NAT, everyone's anonymous browsing carries one campaign reference: only the
      // shared anonymous session ever holds it
      const ref = u < 6 ? [cand('request.query.ref', 'campaign-spring-2026')] : [];
      steps.push(() => push({ session: ipua, key_source: 'fallback', method: 'GET', path: '/products/' + i, links: [], inventory: [...common(), ...ref] }, null));
    }
    // the login: the password in the body, the token in the response
    steps.push(() =>
      push(
        {
          session: S(tokenOf(1)), key_source: 'params', method: 'POST', path: '/login', links: [ipua],
          inventory: [...common(), cand('request.body.json.username', name), cand('request.body.json.password', 'pw-' + name + '-secret'),
            cand('response.body.json.token', tokenOf(1)), cand('response.body.json.page', '1', 'number')],
        },
        null,
      ),
    );
    const use = (k: number, i: number) =>
      push(
        {
          session: S(tokenOf(k)), key_source: 'builtin', method: 'GET', path: '/orders/' + i, links: [],
          inventory: [...common(), cand(AUTH, tokenOf(k)), ...claims(k), cand('request.header.x-team', team), cand('request.header.x-login-time', loginAt, 'time'),
            cand('request.header.x-token-digest', 'digest-of-' + tokenOf(k)),
            cand('request.query._page', '1', 'number')],
        },
        name,
      );
    for (let i = 0; i < 4; i++) steps.push(() => use(1, i));
    // the refresh: the old token in, a new one out; grouped by the new one, linked to the old
    steps.push(() =>
      push(
        {
          session: S(tokenOf(2)), key_source: 'params', method: 'POST', path: '/refresh', links: [S(tokenOf(1))],
          inventory: [...common(), cand(AUTH, tokenOf(1)), ...claims(1), cand('request.header.x-team', team), cand('request.header.x-token-digest', 'digest-of-' + tokenOf(1)),
            cand('response.body.json.token', tokenOf(2))],
        },
        name,
      ),
    );
    for (let i = 0; i < 3; i++) steps.push(() => use(2, 4 + i));
    void t;
    scripts.push(steps);
  }
  // the first half one after another, the second half interleaved
  for (let u = 0; u < USERS / 2; u++) for (const s of scripts[u]) s();
  const rest = scripts.slice(USERS / 2);
  for (let i = 0; i < rest[0].length; i++) for (const s of rest) s[i]();
  rows.forEach((r, i) => (r.ts = TODAY + i * 1000));
  return { rows, truth };
}

const by = (r: Recommendations, s: string): Suggestion => {
  const x = r.suggestions.find((y) => y.selector === s);
  if (!x) throw new Error('not listed: ' + s);
  return x;
};

describe.each([
  ['records name their users', true],
  ['no record names a user (user claims tell users apart)', false],
])('decoys: %s', (_title, named) => {
  const { rows } = traffic({ named });
  const r = recommend('shop', rows);

  test('the token is the one grouping key, first, with its origin and full stability through the linked refresh', () => {
    const suggestedKeys = r.suggestions.filter((s) => s.suggested && s.as === 'group').map((s) => s.selector);
    expect(suggestedKeys).toEqual([AUTH]);
    const auth = r.suggestions[0];
    expect(auth.selector).toBe(AUTH);
    expect(auth.stability).toBe(1);
    expect(auth.distinctness).toBe(1);
    expect(auth.origin).toMatchObject({ selector: 'response.body.json.token', share: 1 });
    expect(auth.origin!.endpoints.map((e) => e.endpoint).sort()).toEqual(['POST /login', 'POST /refresh']);
    expect(r.users).toBe(USERS);
  });

  test('the line: the token and its origin as keys, the sub claim as user, the role claim as role; nothing per token', () => {
    expect(r.nginx).toBe(
      "set $api_sessions_params 'response.body.json.token group; request.header.authorization group; " +
        "request.header.authorization.jwt.sub user; request.header.authorization.jwt.role role';",
    );
    expect(r.preview).toMatchObject({ mixed_sessions: 0, users: USERS, users_split: 0, fallback_requests: USERS * 2 });
  });

  test('a value that follows the token request by request (a digest of it) is the token under another form', () => {
    const d = by(r, 'request.header.x-token-digest');
    expect(d).toMatchObject({ suggested: false, lost: ['derived'], distinctness: 1 });
    expect(d.stability).toBeGreaterThan(0.5); // passes every measure: only following the token rules it out
    expect(d.explanation).toMatch(/^Lost: derived from request\.header\.authorization: every request that carries it carries that key too/);
  });

  test('a constant header seen by many clients one after another is a constant', () => {
    const c = by(r, 'request.header.x-app-version');
    expect(c.suggested).toBe(false);
    expect(c.lost).toContain('constant');
    expect(c.explanation).toMatch(/a constant: one value sent by \d+ clients/);
  });

  test('a value only the shared anonymous session holds counts as held by everyone that session led to', () => {
    const ref = by(r, 'request.query.ref');
    expect(ref.suggested).toBe(false);
    expect(ref.lost).toContain('constant');
    expect(ref.explanation).toMatch(/a constant: one value sent by 6 clients/);
  });

  test('language, sec-fetch-mode and the User-Agent: low cardinality', () => {
    for (const s of ['request.header.accept-language', 'request.header.sec-fetch-mode', 'request.header.user-agent']) {
      expect(by(r, s)).toMatchObject({ suggested: false, as: null });
      expect(by(r, s).lost).toContain('low_cardinality');
    }
    expect(by(r, 'request.header.accept-language').explanation).toMatch(/low cardinality: it describes the client software/);
  });

  test('per-token claims are never keys; user and role claims are offered as user and role', () => {
    for (const c of ['iat', 'exp', 'jti', 'login_at']) {
      const s = by(r, AUTH + '.jwt.' + c);
      expect(s).toMatchObject({ suggested: false, as: null, kind: 'token_claim' });
      expect(s.explanation).toMatch(/claim of the token in request\.header\.authorization: it follows the token/);
    }
    expect(by(r, AUTH + '.jwt.iat').lost).toEqual(expect.arrayContaining(['token_claim', 'timestamp']));
    for (const c of ['sub', 'email']) expect(by(r, AUTH + '.jwt.' + c)).toMatchObject({ suggested: true, as: 'user', lost: ['user_claim'] });
    expect(by(r, AUTH + '.jwt.email').explanation).toMatch(/^Suggested as user: a user claim of the token .* would join one user's separate logins and devices/);
    expect(by(r, AUTH + '.jwt.role')).toMatchObject({ suggested: true, as: 'role', lost: ['role_claim'] });
    expect(r.nginx).not.toMatch(/jwt\.(iat|exp|jti|login_at|email)/);
  });

  test('a per-login time header is a timestamp; a per-request id has low stability', () => {
    expect(by(r, 'request.header.x-login-time')).toMatchObject({ suggested: false, kind: 'timestamp' });
    expect(by(r, 'request.header.x-login-time').lost).toContain('timestamp');
    expect(by(r, 'request.header.x-request-id').lost).toContain('low_stability');
  });

  test('a header two users share is disqualified, though 90% of its requests are distinct', () => {
    const t = by(r, 'request.header.x-team');
    expect(t.distinctness).toBeGreaterThanOrEqual(0.9);
    expect(t.suggested).toBe(false);
    expect(t.lost).toEqual(['shared_by_users']);
    expect(t.shared_by_users).toBe(1);
    expect(t.explanation).toMatch(/^Lost: shared by users: 1 value of it \(16 requests\) carried by two or more users/);
  });

  test('the password is never suggested; a small number equal to a response\'s is no origin', () => {
    const p = by(r, 'request.body.json.password');
    expect(p).toMatchObject({ suggested: false, as: null, kind: 'credential', lost: expect.arrayContaining(['credential']) });
    expect(p.explanation).toMatch(/^Never suggested: a credential/);
    expect(by(r, 'request.query._page').origin).toBeNull();
    expect(JSON.stringify(r.nginx)).not.toContain('password');
  });
});

describe('what-if preview', () => {
  const { rows } = traffic({ named: true });

  test('the recommended line: no session with two users, users whole, only anonymous browsing left to IP + User-Agent', () => {
    const r = recommend('shop', rows);
    const p = preview(rows, r.nginx!);
    expect(p).toMatchObject({
      errors: [],
      unseen: [],
      sampled: rows.length,
      sessions: USERS * 2, // a token and its refreshed one per user
      journeys: USERS, // joined by the refresh's link
      mixed_sessions: 0,
      users: USERS,
      users_split: 0,
      fallback_requests: USERS * 2,
      mixed: [],
    });
    expect(p.by_key.map((k) => k.key)).toEqual(['request.header.authorization', 'ip+ua', 'response.body.json.token']);
    expect(p.mixed_fallback_sessions).toBe(0); // anonymous requests name no user
  });

  test('a line keyed by a shared header, a constant, a user claim or a per-request id: what it would do', () => {
    const team = preview(rows, 'request.header.x-team group');
    expect(team.mixed_sessions).toBe(1);
    expect(team.mixed).toEqual([{ key: 'request.header.x-team', users: 2, requests: 16 }]);
    const constant = preview(rows, "set $api_sessions_params 'request.header.x-app-version group';");
    expect(constant).toMatchObject({ sessions: 1, mixed_sessions: 1, mixed: [{ key: 'request.header.x-app-version', users: USERS }] });
    expect(constant.fallback_requests).toBe(0);
    const email = preview(rows, 'request.header.authorization.jwt.email group');
    expect(email.mixed_sessions).toBe(0);
    expect(email.sessions).toBe(USERS * 2 - USERS); // one per user: every login of a user folded together
    const perRequest = preview(rows, 'request.header.x-request-id group');
    expect(perRequest.users_split).toBe(USERS);
    expect(perRequest.sessions).toBe(rows.length);
    // without a line: the built-in set (Authorization) and IP + User-Agent; the login alone
    const none = preview(rows, '');
    expect(none.by_key).toEqual([
      { key: 'request.header.authorization', requests: USERS * 8, sessions: USERS * 2 },
      { key: 'ip+ua', requests: USERS * 3, sessions: 1 + (USERS - 6) },
    ]);
  });

  test('entries the module refuses are reported, and selectors no sample carried', () => {
    const p = preview(rows, 'request.header.x-nothing group; bogus.selector group; request.header.authorization group');
    expect(p.errors).toHaveLength(1);
    expect(p.errors[0]).toMatch(/entry 2 "bogus.selector group"/);
    expect(p.unseen).toEqual(['request.header.x-nothing']);
    expect(p.params.map((x) => x.name)).toEqual(['request.header.x-nothing', 'request.header.authorization']);
  });
});

test('Basic credentials name a user (the module reads the user name, never the password): offered as user, not as a key', () => {
  const rows: SampleRow[] = [];
  for (let i = 0; i < 30; i++) {
    const u = i % 5;
    rows.push({ ts: TODAY + i * 1000, session: S('basic' + u), key_source: 'builtin', method: 'GET', path: '/', ip: '10.0.0.' + u, ua: 'curl/8', links: [], user: null, key: null,
      inventory: [{ s: AUTH, h: h12('user' + u), n: 5, k: 'basic' }, cand('request.cookie.sid', 'sid-' + u + '-' + 'z'.repeat(20))] });
  }
  const r = recommend('basic', rows);
  expect(r.suggestions.find((s) => s.selector === AUTH)).toMatchObject({ kind: 'user', as: 'user', suggested: true, lost: ['user_claim'] });
  expect(r.suggestions.find((s) => s.selector === AUTH)!.explanation).toMatch(/^Suggested as user: the user name of Basic credentials/);
  expect(r.nginx).toBe("set $api_sessions_params 'request.cookie.sid group; request.header.authorization user';");
});
