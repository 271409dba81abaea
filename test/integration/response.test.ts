/**
 * Response parsing through the real nginx: the seeds' login example, tokens in response headers,
 * Set-Cookie and JSON bodies split across chunks, limits, compression, streams, HEAD/204/304.
 */
import http from 'http';
import zlib from 'zlib';
import { mkdirSync, writeFileSync } from 'fs';
import { join } from 'path';
import { startNginx, Nginx, upstreamLines, recordingLines } from '../helpers/nginx';
import { startUpstream, Upstream } from '../helpers/upstream';
import { request, expectedSession, Reply } from '../helpers/http';

const SECRET = 'response-secret';
const APP = 'api';
let up: Upstream;
let ng: Nginx;

const PARAMS = [
  'response.body.json.token group',
  'response.header.x-auth-token group',
  'response.cookie.auth group',
  'request.query.token group',
  'request.body.json.token group',
  'request.cookie.auth group',
  'response.body.json.user as user_name user',
].join('; ');

beforeAll(async () => {
  up = await startUpstream();
  ng = await startNginx({
    http: `
    ${upstreamLines(up.port, { keepalive: 8 })}
    sendfile on;   # Debian's default; the include turns it off where the filter runs

    server {
        ${recordingLines({ secret: SECRET, app: APP })}
        set $api_sessions_params "${PARAMS}";

        location /api/ {
            include {{ROOT}}/nginx/api_sessions_response.conf;
            proxy_pass http://app/;
        }
        location /small/ {
            include {{ROOT}}/nginx/api_sessions_response.conf;
            set $api_sessions_max_body 1k;
            proxy_pass http://app/;
        }
        location /nofilter/ {
            proxy_pass http://app/;
        }
        location /files/ {
            types { application/json json; }
            include {{ROOT}}/nginx/api_sessions_response.conf;
            root {{PREFIX}}/html;
        }
    }`,
  });
  mkdirSync(join(ng.prefix, 'html', 'files'), { recursive: true });
  writeFileSync(join(ng.prefix, 'html', 'files', 'data.json'), JSON.stringify({ token: 'static-token', pad: 'z'.repeat(5000) }));
});

afterAll(async () => {
  if (ng) await ng.stop();
  if (up) await up.close();
});

function recordOf(reply: Reply | string): Promise<any> {
  return ng.recordById(typeof reply === 'string' ? reply : String(reply.headers['x-request-id']));
}

const post = (body: unknown) => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

test("the seeds' example: login returns a token in the body, later requests send it in the query and the JSON body", async () => {
  const login = await request(ng.url('/api/login'), post({ user: 'ann' }));
  const token = JSON.parse(login.text).token as string;
  expect(token.split('.')).toHaveLength(3);
  const byQuery = await request(ng.url('/api/orders?token=' + encodeURIComponent(token)));
  const byBody = await request(ng.url('/api/cart'), post({ in: 'ccc', token }));
  const byBearer = await request(ng.url('/api/profile'), { headers: { authorization: 'Bearer ' + token } });
  const [a, b, c, d] = [await recordOf(login), await recordOf(byQuery), await recordOf(byBody), await recordOf(byBearer)];
  expect([a.key, b.key, c.key, d.key]).toEqual([
    'response.body.json.token',
    'request.query.token',
    'request.body.json.token',
    'request.header.authorization',
  ]);
  const session = expectedSession(SECRET, APP, token);
  expect([a.session, b.session, c.session, d.session]).toEqual([session, session, session, session]);
  expect(a.user).toBe('ann');
  for (const r of [a, b, c, d]) expect(JSON.stringify(r)).not.toContain(token);
});

test('the token in a response header, then in the query', async () => {
  const login = await request(ng.url('/api/login-header'), post({ user: 'hal' }));
  const token = String(login.headers['x-auth-token']);
  const next = await request(ng.url('/api/x?token=' + token));
  const [a, b] = [await recordOf(login), await recordOf(next)];
  expect(a.key).toBe('response.header.x-auth-token');
  expect(b.key).toBe('request.query.token');
  expect(a.session).toBe(b.session);
  expect(a.session).toBe(expectedSession(SECRET, APP, token));
});

test('the token in a Set-Cookie, then sent back as a cookie', async () => {
  const login = await request(ng.url('/api/login-cookie'), post({ user: 'ivy' }));
  const cookie = String(login.headers['set-cookie']).split(';')[0];
  expect(cookie.startsWith('auth=')).toBe(true);
  const next = await request(ng.url('/api/y'), { headers: { cookie } });
  const [a, b] = [await recordOf(login), await recordOf(next)];
  expect(a.key).toBe('response.cookie.auth');
  expect(b.key).toBe('request.cookie.auth');
  expect(a.session).toBe(b.session);
});

test('a body written in 7-byte chunks with the token straddling chunks reaches the client whole and groups', async () => {
  const reply = await request(ng.url('/api/chunks?token=straddling-token-123&size=7&pad=3000'));
  const body = JSON.parse(reply.text);
  expect(body.token).toBe('straddling-token-123');
  expect(body.pad).toHaveLength(3000);
  const rec = await recordOf(reply);
  expect(rec.key).toBe('response.body.json.token');
  expect(rec.session).toBe(expectedSession(SECRET, APP, 'straddling-token-123'));
  expect(rec.errors).toEqual([]);
});

test('a response larger than $api_sessions_max_body is passed on whole and not read', async () => {
  const reply = await request(ng.url('/small/chunks?token=too-big&pad=2000'));
  expect(JSON.parse(reply.text).token).toBe('too-big');
  const rec = await recordOf(reply);
  expect(rec.key).not.toBe('response.body.json.token');
  expect(rec.errors).toEqual(['response.body: larger than $api_sessions_max_body (1024 bytes): not read']);
});

test('a gzip-encoded response is passed on untouched, and the record says why it was not read', async () => {
  const reply = await request(ng.url('/api/gzip?token=zipped'), { headers: { 'accept-encoding': 'gzip' } });
  expect(reply.headers['content-encoding']).toBe('gzip');
  expect(JSON.parse(zlib.gunzipSync(reply.body).toString()).token).toBe('zipped');
  const rec = await recordOf(reply);
  expect(rec.errors).toEqual([
    'response.body: gzip-encoded: not read (set proxy_set_header Accept-Encoding "" or gunzip on the upstream side)',
  ]);
});

test('a streamed response stays streamed: the first event reaches the client before the upstream writes the last', async () => {
  const arrivals: Array<{ at: number; text: string }> = [];
  const reply: http.IncomingMessage = await new Promise((res, rej) => {
    const req = http.get(ng.url('/api/stream?events=3&gap=400'), (r) => {
      r.on('data', (d) => arrivals.push({ at: Date.now(), text: d.toString() }));
      r.on('end', () => res(r));
    });
    req.on('error', rej);
  });
  const events = arrivals
    .map((a) => a.text)
    .join('')
    .split('\n\n')
    .filter((e) => e.startsWith('data: '))
    .map((e) => JSON.parse(e.slice(6)));
  expect(events.map((e) => e.n)).toEqual([0, 1, 2]);
  // causality, not speed: event 0 was in the client's hands before the upstream wrote event 2
  expect(arrivals[0].text).toContain('"n":0');
  expect(arrivals[0].at).toBeLessThan(events[2].t);
  const rec = await recordOf(String(reply.headers['x-request-id']));
  expect(rec.errors).toEqual([]);
});

test('HEAD, 204 and 304: nothing breaks and the record says there was no body', async () => {
  const head = await request(ng.url('/api/login'), { method: 'HEAD' });
  const s204 = await request(ng.url('/api/status/204'));
  const s304 = await request(ng.url('/api/status/304'));
  expect([head.status, s204.status, s304.status]).toEqual([200, 204, 304]);
  expect((await recordOf(head)).errors).toEqual(['response.body: HEAD request: the response has no body']);
  expect((await recordOf(s204)).errors).toEqual(['response.body: status 204: the response has no body']);
  expect((await recordOf(s304)).errors).toEqual(['response.body: status 304: the response has no body']);
});

test('a body that is not JSON under a JSON content type', async () => {
  const reply = await request(ng.url('/api/notjson'));
  expect(reply.text).toBe('<html>not json</html>');
  const rec = await recordOf(reply);
  expect(rec.errors).toEqual([expect.stringMatching(/^response\.body\.json: not valid JSON/)]);
});

test('binary bodies pass through byte for byte', async () => {
  const reply = await request(ng.url('/api/binary'));
  expect(reply.body).toHaveLength(256);
  for (let i = 0; i < 256; i++) expect(reply.body[i]).toBe(i);
  expect((await recordOf(reply)).errors).toEqual([]);
});

test('a static file with sendfile on in the server is served whole where the filter runs, and read', async () => {
  const reply = await request(ng.url('/files/data.json'));
  expect(JSON.parse(reply.text).token).toBe('static-token');
  const rec = await recordOf(reply);
  expect(rec.key).toBe('response.body.json.token');
});

test('a location without the body filter reads no response body and reports nothing; other keys still work', async () => {
  const reply = await request(ng.url('/nofilter/login?token=q-tok'), post({ user: 'joe' }));
  expect(JSON.parse(reply.text).user).toBe('joe');
  const rec = await recordOf(reply);
  expect(rec.key).toBe('request.query.token');
  expect(rec.user).toBeNull();
  expect(rec.errors).toEqual([]);
  const head = await recordOf(await request(ng.url('/nofilter/login'), { method: 'HEAD' }));
  expect(head.errors).toEqual([]);
});

test('links: the login links the anonymous session to the token session, a refresh links the old token to the new', async () => {
  const ua = { 'user-agent': 'links-test-browser/1' };
  const browse = await request(ng.url('/api/catalog'), { headers: ua });
  const login = await request(ng.url('/api/login'), { ...post({ user: 'kim' }), headers: { ...post({}).headers, ...ua } });
  const token = JSON.parse(login.text).token as string;
  const refresh = await request(ng.url('/api/login'), {
    ...post({ user: 'kim' }),
    headers: { ...post({}).headers, ...ua, authorization: 'Bearer ' + token },
  });
  const newToken = JSON.parse(refresh.text).token as string;
  expect(newToken).not.toBe(token);
  const [b, l, r] = [await recordOf(browse), await recordOf(login), await recordOf(refresh)];
  expect(b.key).toBe('ip+ua');
  expect(b.links).toEqual([]);
  expect(l.session).toBe(expectedSession(SECRET, APP, token));
  expect(l.links).toEqual([b.session]);
  expect(r.session).toBe(expectedSession(SECRET, APP, newToken));
  expect(r.links).toEqual([l.session]);
});

test('discovery: a sampled record lists candidate parameters with hashes, never values; off costs nothing', async () => {
  const disc = await startNginx({
    http: `
      ${upstreamLines(up.port)}
      server {
          ${recordingLines({ secret: SECRET })}
          location /on/ {
              set $api_sessions_discovery on;
              include {{ROOT}}/nginx/api_sessions_response.conf;
              proxy_pass http://app/;
          }
          location /off/ { proxy_pass http://app/; }
      }`,
  });
  try {
    await request(disc.url('/on/login?lang=en'), { ...post({ user: 'zoe' }), headers: { ...post({}).headers, cookie: 'pref=compact', 'x-tenant': 'acme' } });
    await request(disc.url('/off/login'), post({ user: 'zoe' }));
    const [on, off] = await disc.records(2);
    expect(off.inventory).toBeUndefined();
    const sels = on.inventory.map((c: any) => c.s);
    expect(sels).toEqual(
      expect.arrayContaining([
        'request.header.x-tenant',
        'request.cookie.pref',
        'request.query.lang',
        'request.body.json.user',
        'response.body.json.token',
        'response.body.json.token.jwt.sub',
        'response.body.json.user',
      ]),
    );
    for (const c of on.inventory) {
      expect(c.h).toMatch(/^[0-9a-f]{12}$/);
      expect(typeof c.n).toBe('number');
    }
    const line = disc.accessLog().split('\n')[0];
    for (const raw of ['acme', 'compact', '"zoe"']) expect(line).not.toContain(raw);
  } finally {
    await disc.stop();
  }
});
