/**
 * End to end: the recommended line, pasted into a real nginx, never puts two people into one
 * session. A first nginx with discovery on and nothing configured (a new user's setup) sees 8
 * people behind one IP and User-Agent (the first four one after another, the rest at once):
 * anonymous browsing with hostile headers (a constant, a language, sec-fetch-mode, a per-request
 * id, a team header two of them share), a JWT login (email and password in the body; the token
 * carries sub, email, role, iat, exp, jti and the login time), requests with the token, a
 * refresh, requests with the new token. The console ingests nginx's log and recommends a line;
 * a second nginx runs with that line pasted as it is, the same script is replayed through it,
 * and every session it forms, other than the anonymous IP + User-Agent one, holds one person's
 * requests only. A third nginx with a line keyed by the shared team header shows that the check
 * finds a merge when there is one.
 */
import crypto from 'crypto';
import { readFileSync } from 'fs';
import { join } from 'path';
import { startNginx, Nginx, ROOT, upstreamLines, recordingLines } from '../helpers/nginx';
import { startUpstream, Upstream } from '../helpers/upstream';
import { startConsole, RunningConsole } from '../../src/console/index';
import { waitFor, tempDir } from '../console/helpers';

const PEOPLE = ['ann', 'bob', 'cid', 'dee', 'eve', 'fay', 'gus', 'hal'];
const UA = 'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0';

let up: Upstream;
const nginxes: Nginx[] = [];
let con: RunningConsole | undefined;
const tmp = tempDir('api-sessions-replay-');

function server(params: string, discovery: boolean): string {
  return `
    ${upstreamLines(up.port)}
    server {
        ${recordingLines({ secret: 'replay-secret', app: 'shop' })}
        ${discovery ? 'set $api_sessions_discovery on;' : ''}
        ${params}
        client_body_buffer_size 64k;
        location / {
            include {{ROOT}}/nginx/api_sessions_response.conf;
            proxy_set_header Accept-Encoding "";
            proxy_pass http://app;
        }
    }`;
}

/** The script: who sent each request (by nginx's request id), and whether it was anonymous. */
interface Sent {
  requestId: string;
  person: string;
  anonymous: boolean;
}

async function replay(ng: Nginx): Promise<Sent[]> {
  const sent: Sent[] = [];
  let n = 0;
  const send = async (person: string, anonymous: boolean, method: string, path: string, headers: Record<string, string> = {}, body?: unknown) => {
    const res = await fetch(ng.url(path), {
      method,
      headers: {
        'user-agent': UA,
        'accept-language': 'en-US,en;q=0.9',
        'sec-fetch-mode': 'cors',
        'x-app-version': '4.2.0',
        'x-request-id': crypto.randomBytes(8).toString('hex') + '-' + ++n,
        // ann and bob share a team; everyone else has their own
        'x-team': person === 'ann' || person === 'bob' ? 'team-blue-7d1e44c2' : 'team-' + person + '-' + crypto.createHash('md5').update(person).digest('hex').slice(0, 8),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    sent.push({ requestId: String(res.headers.get('x-request-id')), person, anonymous });
    return text;
  };
  const script = (person: string) => {
    let token = '';
    const bearer = () => ({ authorization: 'Bearer ' + token });
    return [
      () => send(person, true, 'GET', '/products?page=1'),
      () => send(person, true, 'GET', '/products/42'),
      async () => {
        token = JSON.parse(await send(person, false, 'POST', '/auth/login', {}, { email: person + '@example.com', password: 'pw-' + person })).accessToken;
      },
      () => send(person, false, 'GET', '/orders?_page=1', bearer()),
      () => send(person, false, 'GET', '/orders/1', bearer()),
      () => send(person, false, 'GET', '/profile', bearer()),
      async () => {
        token = JSON.parse(await send(person, false, 'POST', '/auth/refresh', bearer())).accessToken;
      },
      () => send(person, false, 'GET', '/orders?_page=2', bearer()),
      () => send(person, false, 'GET', '/cart', bearer()),
    ];
  };
  // the first half one after another (never at the same time), then the rest in lock step
  for (const p of PEOPLE.slice(0, 4)) for (const step of script(p)) await step();
  const rest = PEOPLE.slice(4).map(script);
  for (let i = 0; i < rest[0].length; i++) await Promise.all(rest.map((s) => s[i]()));
  for (const s of sent) expect(s.requestId).toMatch(/^[0-9a-f]{32}$/);
  return sent;
}

/** The sessions nginx formed, each with the people whose requests it holds. */
async function sessionsOf(ng: Nginx, sent: Sent[]) {
  const recs = await ng.records(sent.length);
  const who = new Map(sent.map((s) => [s.requestId, s]));
  const sessions = new Map<string, { key_source: string; people: Set<string>; users: Set<string | null>; anonymous: number; requests: number }>();
  for (const r of recs) {
    const s = who.get(r.request_id)!;
    expect(s).toBeDefined();
    let x = sessions.get(r.session);
    if (!x) sessions.set(r.session, (x = { key_source: r.key_source, people: new Set(), users: new Set(), anonymous: 0, requests: 0 }));
    x.people.add(s.person);
    x.users.add(r.user);
    x.requests++;
    if (s.anonymous) x.anonymous++;
  }
  return sessions;
}

beforeAll(async () => {
  up = await startUpstream();
}, 30000);

afterAll(async () => {
  await con?.close();
  for (const ng of nginxes) await ng.stop();
  await up?.close();
  tmp.cleanup();
});

test('the recommended line, pasted into nginx and replayed, forms no session with two people', async () => {
  // 1. discovery with nothing configured
  const first = await startNginx({ http: server('', true) });
  nginxes.push(first);
  const sampled = await replay(first);
  await first.records(sampled.length);
  con = await startConsole({ dbPath: join(tmp.dir, 'r.db'), logFile: join(first.prefix, 'logs', 'api_sessions.log'), log: () => undefined });
  await waitFor('the console to ingest every record', async () => ((await con!.store.stats()).requests === sampled.length ? true : null), 20000);
  const rec = (await (await fetch(new URL('/api/apps/shop/recommendations', con.url))).json()) as any;
  if (process.env.DEBUG_RECOMMEND) console.log(rec.nginx + '\n' + rec.suggestions.map((s: any) => `${s.rank} ${s.selector} ${s.as} ${s.suggested}\n  ${s.explanation}`).join('\n'));
  expect(rec.sampled).toBe(sampled.length);
  expect(rec.users).toBe(PEOPLE.length); // told apart by their tokens' sub claims
  const line: string = rec.nginx;
  expect(line).toBe(
    "set $api_sessions_params 'response.body.json.accessToken group; request.header.authorization group; " +
      "request.header.authorization.jwt.sub user; request.header.authorization.jwt.role role';",
  );
  const by = (s: string) => rec.suggestions.find((x: any) => x.selector === s);
  for (const s of ['request.header.x-app-version', 'request.header.accept-language', 'request.header.sec-fetch-mode', 'request.header.x-team', 'request.header.x-request-id', 'request.body.json.password', 'request.header.authorization.jwt.exp', 'request.header.authorization.jwt.login_at']) {
    expect({ s, suggested: by(s).suggested }).toEqual({ s, suggested: false });
  }
  expect(by('request.header.x-team').lost).toContain('shared_by_users');
  expect(by('request.body.json.password').lost).toContain('credential');
  expect(by('request.query._page').origin).toBeNull();
  expect(rec.preview).toMatchObject({ mixed_sessions: 0, users_split: 0, fallback_requests: PEOPLE.length * 2 });

  // 2. the line pasted as it is, the script replayed
  const second = await startNginx({ http: server(line, false) });
  nginxes.push(second);
  const replayed = await replay(second);
  const sessions = await sessionsOf(second, replayed);
  let keyed = 0;
  for (const [id, s] of sessions) {
    if (s.key_source === 'fallback') {
      // the one anonymous session: everyone's browsing before the login, nothing after it
      expect({ id, anonymous: s.anonymous }).toEqual({ id, anonymous: s.requests });
      continue;
    }
    keyed++;
    expect({ id, people: [...s.people] }).toEqual({ id, people: [expect.any(String)] });
    expect(s.anonymous).toBe(0);
    // the user entry names the person on their token's requests
    expect([...s.users].filter((u) => u !== null)).toEqual([[...s.people][0]]);
  }
  expect(keyed).toBe(PEOPLE.length * 2); // a token and its refreshed successor each
  expect([...sessions.values()].filter((s) => s.key_source === 'fallback')).toHaveLength(1);
  // what the preview said is what nginx did
  expect(keyed).toBe(rec.preview.sessions);
  expect([...sessions.values()].filter((s) => s.key_source === 'fallback')[0].requests).toBe(rec.preview.fallback_requests);

  // 3. control: a line keyed by the shared team header merges ann and bob, and the check sees it
  const third = await startNginx({ http: server("set $api_sessions_params 'request.header.x-team group';", false) });
  nginxes.push(third);
  const merged = [...(await sessionsOf(third, await replay(third))).values()].filter((s) => s.people.size > 1);
  expect(merged.map((s) => [...s.people].sort())).toEqual([['ann', 'bob']]);
}, 120000);

test("the demo's configuration under the issue's traffic: five signed-in users, 70 anonymous clients behind one IP, an attacker, errors: only real session keys suggested", async () => {
  const http = readFileSync(join(ROOT, 'nginx', 'demo', 'http.conf'), 'utf8').replace(/\{\{UPSTREAM_PORT\}\}/g, String(up.port));
  const ng = await startNginx({ http });
  nginxes.push(ng);
  let sent = 0;
  const send = async (path: string, headers: Record<string, string>, init: RequestInit = {}) => {
    sent++;
    const res = await fetch(ng.url(path), { ...init, headers: { 'accept-language': 'en-US,en;q=0.9', 'sec-fetch-mode': 'navigate', 'sec-fetch-site': 'none', ...headers } });
    return res.text();
  };
  const firefox = (i: number) => ({ 'user-agent': `Mozilla/5.0 (X11; Linux x86_64; rv:${100 + (i % 30)}.0) Gecko/20100101 Firefox/${100 + (i % 30)}.0` });
  // 70 anonymous clients behind 127.0.0.1, one after another
  for (let i = 0; i < 70; i++) {
    await send('/products?q=item' + (i % 7), firefox(i));
    await send('/products/' + i, firefox(i));
  }
  // five signed-in users: the token in the query, a JSON body, a Bearer header; one refresh each
  for (const user of ['ann', 'ben', 'cat', 'dan', 'eli']) {
    const ua = { 'user-agent': 'shop-app/2.1 (' + user + ')' };
    let token = JSON.parse(await send('/login', { ...ua, 'content-type': 'application/json' }, { method: 'POST', body: JSON.stringify({ user, email: user + '@example.com' }) })).token;
    await send('/orders?token=' + token, ua);
    await send('/cart', { ...ua, 'content-type': 'application/json' }, { method: 'POST', body: JSON.stringify({ token, item: 'sku-1' }) });
    await send('/profile', { ...ua, authorization: 'Bearer ' + token });
    token = JSON.parse(await send('/refresh', { ...ua, authorization: 'Bearer ' + token }, { method: 'POST' })).token;
    await send('/profile', { ...ua, authorization: 'Bearer ' + token });
    await send('/orders?token=' + token, ua);
  }
  // an attacker and errors
  await send("/products?q=boots'%20OR%201=1--", { 'user-agent': 'sqlmap/1.8' });
  await send('/status/500', { 'user-agent': 'sqlmap/1.8' });
  await send('/status/404', firefox(1));
  await ng.records(sent);
  const c = await startConsole({ dbPath: join(tmp.dir, 'demo.db'), logFile: join(ng.prefix, 'logs', 'api_sessions.log'), log: () => undefined });
  try {
    await waitFor('the console to ingest every record', async () => ((await c.store.stats()).requests === sent ? true : null), 20000);
    const rec = (await (await fetch(new URL('/api/apps/demo-shop/recommendations', c.url))).json()) as any;
    if (process.env.DEBUG_RECOMMEND) console.log(rec.nginx + '\n' + rec.suggestions.map((s: any) => `${s.rank} ${s.selector} ${s.as} ${s.suggested}`).join('\n'));
    const real = ['response.body.json.token', 'request.query.token', 'request.body.json.token', 'request.header.authorization'];
    const suggestedKeys = rec.suggestions.filter((s: any) => s.suggested && s.as === 'group').map((s: any) => s.selector);
    expect(suggestedKeys.length).toBeGreaterThan(0);
    for (const k of suggestedKeys) expect(real).toContain(k);
    const groups = rec.nginx.replace(/^set \$api_sessions_params '|';$/g, '').split('; ').filter((e: string) => e.endsWith(' group')).map((e: string) => e.slice(0, -6));
    for (const g of groups) expect(real).toContain(g);
    for (const s of ['request.header.accept-language', 'request.header.sec-fetch-mode', 'request.header.sec-fetch-site', 'request.header.authorization.jwt.exp', 'request.header.authorization.jwt.iat', 'request.header.authorization.jwt.jti', 'request.header.authorization.jwt.role']) {
      const x = rec.suggestions.find((y: any) => y.selector === s);
      expect({ s, group: x.suggested && x.as === 'group' }).toEqual({ s, group: false });
    }
    expect(rec.nginx).toMatch(/request\.header\.authorization\.jwt\.sub user/);
    expect(rec.preview.mixed_sessions).toBe(0);
    // never worse than the demo's configuration, which grouped these same records
    expect(rec.in_force.keys).toEqual(expect.arrayContaining(['response.body.json.token', 'request.query.token', 'request.body.json.token']));
    expect(rec.preview.fallback_requests).toBeLessThanOrEqual(rec.in_force.fallback_requests);
    expect(rec.preview.users_split).toBeLessThanOrEqual(rec.in_force.users_split);
    expect(rec.comparison.verdict).not.toBe('worse');
  } finally {
    await c.close();
  }
}, 120000);
