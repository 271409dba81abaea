/**
 * A framework that replaces its session cookie at login (express-session's regenerate, as its
 * docs advise against session fixation), configured as the README says: the login's record is
 * grouped by the new cookie and links the session the request came from, and the requests after
 * the login stay in the login's session.
 */
import { readFileSync } from 'fs';
import { join } from 'path';
import http from 'http';
import type { AddressInfo } from 'net';
import express from 'express';
import session from 'express-session';
import { startNginx, Nginx, ROOT, upstreamLines, recordingLines } from '../helpers/nginx';
import { request } from '../helpers/http';

/* eslint-disable @typescript-eslint/no-explicit-any */
let app: http.Server;
let ng: Nginx;

// The README's line, for express's cookie name.
const readmeLine = /set \$api_sessions_params 'response\.cookie\.sid group; request\.cookie\.sid group';/.exec(readFileSync(join(ROOT, 'README.md'), 'utf8'));

beforeAll(async () => {
  expect(readmeLine).not.toBeNull();
  const a = express();
  a.use(session({ secret: 'express-secret', resave: false, saveUninitialized: true }));
  a.get('/home', (req, res) => res.json({ user: (req.session as any).user || null }));
  a.post('/login', (req, res) => {
    req.session.regenerate(() => {
      (req.session as any).user = 'ana';
      res.json({ ok: true });
    });
  });
  app = a.listen(0, '127.0.0.1');
  await new Promise((res) => app.once('listening', res));
  ng = await startNginx({
    http: `
    ${upstreamLines((app.address() as AddressInfo).port)}
    server {
        ${recordingLines({ secret: 'rotation-secret' })}
        ${readmeLine![0].replace(/\.sid group/g, '.connect.sid group')}
        location / { proxy_pass http://app; }
    }
`,
  });
});

afterAll(async () => {
  await ng?.stop();
  await new Promise((res) => (app ? app.close(res) : res(undefined)));
});

const cookieOf = (r: { headers: any }) => /connect\.sid=([^;]+)/.exec(String(r.headers['set-cookie']))![1];

test('the login is in the new cookie’s session, linked to the anonymous one; the next request follows', async () => {
  const first = await request(ng.url('/home'));
  const before = cookieOf(first);
  const login = await request(ng.url('/login'), { method: 'POST', headers: { cookie: 'connect.sid=' + before } });
  const after = cookieOf(login);
  expect(after).not.toBe(before);
  const next = await request(ng.url('/home'), { headers: { cookie: 'connect.sid=' + after } });
  expect(JSON.parse(next.text).user).toBe('ana');
  const [r1, r2, r3] = await Promise.all([first, login, next].map((r) => ng.recordById(String(r.headers['x-request-id']))));
  expect(r2.key).toBe('response.cookie.connect.sid');
  expect(r2.links).toEqual([r1.session]);
  expect(r3.session).toBe(r2.session);
  expect(r3.session).not.toBe(r1.session);
});
