/**
 * End to end: the real nginx with the module in front of a real OpenID Connect provider
 * (oidc-provider from npm, its development login and consent pages), three users at once behind
 * 127.0.0.1 with one User-Agent: anonymous browsing, login (authorization code + PKCE), API calls
 * with the access token, a refresh, more calls, logout (revocation and end-session). The console
 * then tails nginx's log and must give each user a journey of exactly their own requests, and
 * recommend the token-carrying selector first.
 */
import { spawn, ChildProcess } from 'child_process';
import { join } from 'path';
import { startNginx, Nginx, freePort, ROOT, upstreamLines, recordingLines } from '../helpers/nginx';
import { Browser } from '../helpers/oidc-browser';
import { startConsole, RunningConsole } from '../../src/console/index';
import { waitFor, tempDir } from '../console/helpers';

const PARAMS = [
  'response.body.json.access_token group',
  'request.header.authorization group',
  'request.cookie._session group',
  'response.cookie._session group',
  'request.cookie._interaction group',
  'request.cookie._interaction_resume group',
  'response.cookie._interaction group',
].join(';\n    ');

let ng: Nginx;
let op: ChildProcess;
let con: RunningConsole;
const tmp = tempDir('api-sessions-e2e-');

function startProvider(port: number, issuer: string): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'test', 'helpers', 'oidc-op.mjs'), String(port), issuer], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    child.stdout!.on('data', (d) => {
      if (String(d).includes('listening')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error('oidc-provider exited with ' + code + ': ' + err)));
  });
}

beforeAll(async () => {
  const opPort = await freePort();
  ng = await startNginx({
    http: `
    ${upstreamLines(opPort, { name: 'op' })}
    server {
        ${recordingLines({ secret: 'journey-secret', app: 'auth' })}
        set $api_sessions_discovery on;
        set $api_sessions_params '
    ${PARAMS}';
        client_body_buffer_size 64k;
        location / {
            include {{ROOT}}/nginx/api_sessions_response.conf;
            proxy_set_header Host $http_host;
            proxy_set_header Accept-Encoding "";
            proxy_pass http://op;
        }
    }`,
  });
  op = await startProvider(opPort, `http://127.0.0.1:${ng.ports[0]}`);
}, 30000);

afterAll(async () => {
  await con?.close();
  if (op && op.exitCode === null) {
    const gone = new Promise((r) => op.once('exit', r));
    process.kill(op.pid!, 'SIGTERM');
    await gone;
  }
  await ng?.stop();
  tmp.cleanup();
});

test('three users behind one IP and User-Agent: each journey is exactly that user\'s requests; the token-carrying selector is recommended first', async () => {
  const users = ['alice', 'bob', 'carol'].map((u) => new Browser(ng.url('').replace(/\/$/, ''), u));
  const all = (f: (b: Browser) => Promise<unknown>) => Promise.all(users.map(f));
  // in lock step, so that the users' requests interleave
  const actions = await all((b) => b.browseAnonymously());
  await Promise.all(users.map((b, i) => b.login(actions[i] as string)));
  for (let i = 0; i < 6; i++) await all((b) => b.me());
  const before = users.map((b) => b.accessToken);
  await all((b) => b.refresh());
  users.forEach((b, i) => expect(b.accessToken).not.toBe(before[i]));
  for (let i = 0; i < 6; i++) await all((b) => b.me());
  await all((b) => b.logout());

  const total = users.reduce((s, b) => s + b.sent.length, 0);
  for (const b of users) for (const s of b.sent) expect(s.requestId).toMatch(/^[0-9a-f]{32}$/);
  await ng.records(total);

  con = await startConsole({ dbPath: join(tmp.dir, 'e2e.db'), logFile: join(ng.prefix, 'logs', 'api_sessions.log'), log: () => undefined });
  await waitFor('the console to ingest every record', async () => ((await con.store.stats()).requests === total ? true : null), 20000);
  const api = async (path: string) => {
    const res = await fetch(new URL(path, con.url));
    if (res.status !== 200) throw new Error(path + ': ' + res.status + ' ' + (await res.text()));
    return (await res.json()) as any;
  };

  const sessionsOf = new Map<string, Set<string>>();
  for (const b of users) {
    // the user's token session: the one their first API call was grouped into
    const firstMe = b.sent.find((s) => s.path === '/me')!;
    const part = await api('/api/parts?request_id=' + firstMe.requestId);
    expect(part.items).toHaveLength(1);
    expect(part.items[0].keys).toEqual(['response.body.json.access_token', 'request.header.authorization']);
    const j = await api(`/api/sessions/${part.items[0].session}/journey`);
    const got = j.requests.map((r: any) => r.request_id).sort();
    const mine = b.sent.map((s) => s.requestId).sort();
    if (process.env.DEBUG_JOURNEY) {
      const recs = ng.accessLog().split('\n').filter(Boolean).map((l) => JSON.parse(l));
      const byId = new Map(recs.map((r: any) => [r.request_id, r]));
      const show = (id: string) => { const r: any = byId.get(id); return [r.method, r.path, r.key, r.session.slice(0, 6), (r.links || []).map((l: string) => l.slice(0, 6)).join(',')].join(' '); };
      console.log(b.user + '\nmine:\n' + b.sent.map((s) => show(s.requestId)).join('\n') + '\nmissing: ' + mine.filter((x) => !got.includes(x)).map(show).join('\n') + '\nextra: ' + got.filter((x: string) => !mine.includes(x)).map(show).join('\n'));
    }
    expect(got).toEqual(mine);
    expect(j.truncated).toBe(false);
    // one timeline in time order
    const times = j.requests.map((r: any) => Date.parse(r.ts));
    expect(times).toEqual([...times].sort((x, y) => x - y));
    sessionsOf.set(b.user, new Set(j.sessions.map((s: any) => s.session)));
    // anonymous (the provider's interaction cookie), the token, the refreshed token
    const keys = new Set(j.requests.map((r: any) => r.key));
    expect([...keys]).toEqual(expect.arrayContaining(['response.cookie._interaction', 'response.body.json.access_token', 'request.header.authorization']));
    const tokenSessions = new Set(j.requests.filter((r: any) => r.key === 'request.header.authorization').map((r: any) => r.session));
    expect(tokenSessions.size).toBe(2); // the first token and the refreshed one
  }
  // no session in two users' journeys
  const seen = new Map<string, string>();
  for (const [u, ss] of sessionsOf) for (const s of ss) {
    expect(seen.get(s)).toBeUndefined();
    seen.set(s, u);
  }

  const rec = await api('/api/apps/auth/recommendations');
  if (process.env.DEBUG_JOURNEY) console.log(rec.nginx + '\n' + rec.suggestions.slice(0, 6).map((s: any) => s.rank + ' ' + s.selector + ' ' + s.score + '\n  ' + s.explanation).join('\n'));
  expect(rec.sampled).toBe(total);
  const first = rec.suggestions[0];
  expect(first.selector).toBe('request.header.authorization');
  expect(first.origin.selector).toBe('response.body.json.access_token');
  expect(first.origin.endpoints.map((e: any) => e.endpoint)).toEqual(['POST /token']);
  expect(rec.nginx).toMatch(/^set \$api_sessions_params 'response\.body\.json\.access_token group; request\.header\.authorization group/);
  const ua = rec.suggestions.find((s: any) => s.selector === 'request.header.user-agent');
  expect(ua.lost).toEqual(expect.arrayContaining(['low_cardinality', 'constant']));
  // the what-if preview of that line: no session of several users, the three users' requests
  // each in their own sessions
  expect(rec.preview).toMatchObject({ mixed_sessions: 0, errors: [], unseen: [] });
  // the raw token never reached the console
  const raw = JSON.stringify(rec);
  for (const b of users) expect(raw).not.toContain(b.accessToken);
}, 60000);
