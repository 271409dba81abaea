/**
 * A blocked session stays blocked however its cookie is spelled. A real express app with
 * express-session (which decodes %XX, trims, unquotes and takes the first of a repeated cookie)
 * signs a user in; the console blocks that session; nginx refuses every spelling of the same
 * cookie that express still reads as the signed-in session, while another session goes on.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import http from 'http';
import type { AddressInfo } from 'net';
import express from 'express';
import session from 'express-session';
import { startNginx, Nginx, upstreamLines, recordingLines } from '../helpers/nginx';
import { request } from '../helpers/http';
import { startConsole, RunningConsole } from '../../src/console/index';

/* eslint-disable @typescript-eslint/no-explicit-any */
const TOKEN = 'ui-token';
const BLOCKS_TOKEN = 'pull-token';

let app: http.Server;
let ng: Nginx;
let c: RunningConsole;
let dir: string;

beforeAll(async () => {
  const a = express();
  a.use(session({ secret: 'express-secret', resave: false, saveUninitialized: false }));
  a.post('/login', (req, res) => {
    (req.session as any).user = 'mallory';
    res.json({ ok: true });
  });
  a.get('/me', (req, res) => res.json({ user: (req.session as any).user || null }));
  app = a.listen(0, '127.0.0.1');
  await new Promise((res) => app.once('listening', res));
  dir = mkdtempSync(join(tmpdir(), 'api-sessions-blocks-cookie-'));
  c = await startConsole({ dbPath: join(dir, 'c.db'), token: TOKEN, blocksToken: BLOCKS_TOKEN, log: () => undefined });
  ng = await startNginx({
    http: `
    ${upstreamLines((app.address() as AddressInfo).port)}
    server {
        ${recordingLines({ secret: 'cookie-secret' })}
        location / {
            if ($api_sessions_blocked) { return 403; }
            proxy_pass http://app;
        }
    }
    include {{PREFIX}}/blocks*.conf;
`,
  });
});

afterAll(async () => {
  await ng?.stop();
  await c?.close();
  await new Promise((res) => (app ? app.close(res) : res(undefined)));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function pullAndReload(): Promise<void> {
  const r = await fetch(c.url + 'api/blocks/nginx-map', { headers: { authorization: 'Bearer ' + BLOCKS_TOKEN } });
  expect(r.status).toBe(200);
  writeFileSync(join(ng.prefix, 'blocks.conf'), await r.text());
  await ng.reload();
}

async function signIn(): Promise<string> {
  const r = await request(ng.url('/login'), { method: 'POST' });
  expect(r.status).toBe(200);
  const set = String(r.headers['set-cookie']);
  const m = /connect\.sid=([^;]+)/.exec(set);
  expect(m).not.toBeNull();
  return m![1]; // as the browser sends it back: s%3A...
}

const me = (cookie: string) => request(ng.url('/me'), { headers: { cookie } });

test('every spelling express reads as the blocked session is refused; another session goes on', async () => {
  const value = await signIn();
  const other = await signIn();
  const first = await me('connect.sid=' + value);
  expect(JSON.parse(first.text).user).toBe('mallory');
  const rec = await ng.recordById(String(first.headers['x-request-id']));
  expect(rec.key).toBe('request.cookie.connect.sid');

  const decoded = decodeURIComponent(value);
  const allEncoded = decoded.split('').map((ch) => '%' + ch.charCodeAt(0).toString(16).padStart(2, '0')).join('');
  const spellings = [
    'connect.sid=' + value,
    'connect.sid=' + allEncoded,
    'connect.sid = ' + value + ' ; theme=dark',
    'connect.sid="' + value + '"',
    'a=1, b=2; connect.sid=' + value,
    'PHPSESSID=x; connect.sid=' + value,
    'connect.sid=' + value + '; connect.sid=s%3Ajunk',
  ];
  // express reads each as the signed-in session: a spelling that matters
  for (const s of spellings) expect([s, JSON.parse((await me(s)).text).user]).toEqual([s, 'mallory']);
  // and the module's record names one session for them all (but the one whose PHPSESSID comes
  // first in the built-in set: its record names that session, and the block still holds)
  const sessions = new Set<string>();
  for (const s of spellings.filter((x) => !x.startsWith('PHPSESSID'))) sessions.add((await ng.recordById(String((await me(s)).headers['x-request-id']))).session);
  expect([...sessions]).toEqual([rec.session]);

  const r = await fetch(c.url + 'api/blocks', {
    method: 'POST',
    headers: { authorization: 'Bearer ' + TOKEN, 'content-type': 'application/json' },
    body: JSON.stringify({ kind: 'session', value: rec.session, reason: 'stolen cookie' }),
  });
  expect(r.status).toBeLessThan(300);
  await pullAndReload();
  for (const s of spellings) expect([s, (await me(s)).status]).toEqual([s, 403]);
  // a cookie that puts the blocked value last, behind a junk first one, is refused too
  expect((await me('connect.sid=s%3Ajunk; connect.sid=' + value)).status).toBe(403);
  expect((await me('connect.sid=' + other)).status).toBe(200);
});
