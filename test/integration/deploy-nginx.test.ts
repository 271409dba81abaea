/**
 * The deployment's own nginx configuration (what docker-compose.yml mounts into the official
 * nginx:1.30 image: deploy/nginx/nginx.conf and demo.conf) started on a real nginx of every
 * engine, in front of the demo API that compose runs (the tests' Express app): it must start and
 * write valid, grouped records. Without a Docker engine this is the nearest proof of the compose
 * setup; sid's nginx 1.30 + njs 1.0 is the image's generation.
 */
import { readFileSync } from 'fs';
import { join } from 'path';
import { startNginx, Nginx, ROOT } from '../helpers/nginx';
import { currentEngine } from '../helpers/engines';
import { startUpstream, Upstream } from '../helpers/upstream';
import { request, expectedSession } from '../helpers/http';
import { recordProblem } from '../../src/console/ingest/parse';

const SECRET = 'compose-secret-for-test';
let up: Upstream;
let ng: Nginx;

/** The compose files with the container's paths and names mapped to the test's prefix. */
function composeConfig(upstreamPort: number): string {
  const engine = currentEngine();
  const demo = readFileSync(join(ROOT, 'deploy/nginx/demo.conf'), 'utf8')
    .replace('server demo-api:3000;', `server 127.0.0.1:${upstreamPort};`)
    .replace('listen 80;', 'listen 127.0.0.1:{{PORT0}};')
    .replace(/\/var\/log\/api-sessions\//g, '{{PREFIX}}/logs/')
    .replace(/\/opt\/api-sessions\/nginx\//g, '{{ROOT}}/nginx/');
  return readFileSync(join(ROOT, 'deploy/nginx/nginx.conf'), 'utf8')
    .replace('load_module modules/ngx_http_js_module.so;', `load_module ${engine.jsModule};`)
    .replace(/^user nginx;$/m, process.getuid && process.getuid() === 0 ? 'user root;' : '')
    .replace('worker_processes auto;', 'worker_processes 1;\ndaemon off;')
    .replace(/\/var\/log\/nginx\//g, '{{PREFIX}}/logs/')
    .replace('/var/run/nginx.pid', '{{PREFIX}}/nginx.pid')
    .replace(/\/opt\/api-sessions\/dist\//g, '{{DIST}}/')
    .replace(/\/opt\/api-sessions\/nginx\//g, '{{ROOT}}/nginx/')
    .replace(/http \{\n/, (m) => m + (engine.qjs ? '    js_engine qjs;\n' : '') +
      '    client_body_temp_path {{PREFIX}}/tmp/body;\n    proxy_temp_path {{PREFIX}}/tmp/proxy;\n')
    .replace('include /etc/nginx/api-sessions.d/*.conf;', demo.replace(/\n/g, '\n    '));
}

beforeAll(async () => {
  up = await startUpstream();
  ng = await startNginx({ config: composeConfig(up.port), env: { API_SESSIONS_SECRET: SECRET } });
});

afterAll(async () => {
  if (ng) await ng.stop();
  if (up) await up.close();
});

test('the compose nginx configuration starts and writes valid records: login token, then the token in the query', async () => {
  const login = await request(ng.url('/login'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"user":"ann"}' });
  expect(login.status).toBe(200);
  const token = JSON.parse(login.text).token as string;
  const orders = await request(ng.url('/orders?token=' + encodeURIComponent(token)));
  expect(orders.status).toBe(200);
  // flush=1s in demo.conf: the records arrive within a second or two
  const records = await waitFor(() => readRecords(), (r) => r.length >= 2, 5000);
  expect(records).toHaveLength(2);
  for (const r of records) expect(recordProblem(r)).toBeNull();
  const session = expectedSession(SECRET, 'demo-shop', token);
  expect(records.map((r) => [r.path, r.key, r.session])).toEqual([
    ['/login', 'response.body.json.token', session],
    ['/orders', 'request.query.token', session],
  ]);
  expect(records[0].user).toBe('ann');
  expect(JSON.stringify(records)).not.toContain(token);
  expect(ng.errorLog()).not.toMatch(/\[(error|crit|alert|emerg)\]/);
}, 20000);

function readRecords(): any[] {
  return ng.accessLog('api_sessions.log').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l));
}

async function waitFor<T>(read: () => T, done: (v: T) => boolean, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = read();
    if (done(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}
