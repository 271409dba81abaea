/**
 * The module in official nginx images, through Testcontainers: njs 0.8.x (nginx:1.28.0) and
 * njs 0.9.x (nginx:1.30.0), the latter also with `js_engine qjs`. A representative set of the
 * integration checks (records written, grouping by query / JSON body / response body token, bad
 * input, a stream) against the real upstream of the integration tests, which the containers reach
 * through Testcontainers' host port forwarding.
 *
 * Where no Docker engine is reachable, the whole file is skipped with one line: it never fails
 * for that reason.
 */
import { existsSync } from 'fs';
import { join } from 'path';
import { GenericContainer, StartedTestContainer, TestContainers, Wait } from 'testcontainers';
import { ROOT, DIST } from '../helpers/nginx';
import { dockerEngine } from '../helpers/docker';
import { startUpstream, Upstream } from '../helpers/upstream';
import { request, expectedSession, Reply } from '../helpers/http';

/** The images, with the njs version each ships (docs/deployment.md). */
const TARGETS = [
  { image: 'nginx:1.28.0', njs: '0.8.10', engine: null },
  { image: 'nginx:1.30.0', njs: '0.9.6', engine: null },
  { image: 'nginx:1.30.0', njs: '0.9.6', engine: 'qjs' },
] as const;

const engine = dockerEngine();
if (!engine) console.log('nginx image tests skipped: no Docker engine (Testcontainers needs one; set DOCKER_HOST or start dockerd)');
const maybe = engine ? describe : describe.skip;

const SECRET = 'containers-secret';
const APP = 'shop';

function nginxConf(upstreamPort: number, jsEngine: string | null): string {
  return `
load_module modules/ngx_http_js_module.so;
worker_processes 1;
error_log /var/log/nginx/error.log info;
pid /var/run/nginx.pid;
events { worker_connections 256; }
http {
    access_log off;
    ${jsEngine ? `js_engine ${jsEngine};` : ''}
    js_path /opt/api-sessions/dist/;
    include /opt/api-sessions/nginx/api_sessions.conf;

    upstream app { server host.testcontainers.internal:${upstreamPort}; keepalive 8; }
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_set_header Accept-Encoding "";
    add_header X-Request-Id $request_id always;
    client_body_buffer_size 128k;

    server {
        listen 80;
        access_log /var/log/api-sessions/api_sessions.log api_sessions;
        set $api_sessions_secret "${SECRET}";
        set $api_sessions_app "${APP}";
        set $api_sessions_attack $http_x_test_attack;
        set $api_sessions_params '
            response.body.json.token group;
            request.query.token group;
            request.body.json.token group;
            request.header.authorization.jwt.sub user';
        location /login {
            include /opt/api-sessions/nginx/api_sessions_response.conf;
            proxy_pass http://app;
        }
        location / { proxy_pass http://app; }
    }
}
`;
}

maybe('the module in official nginx images', () => {
  let up: Upstream;

  beforeAll(async () => {
    if (!existsSync(join(DIST, 'api_sessions.js'))) throw new Error('dist/api_sessions.js missing: npm run build first');
    up = await startUpstream();
    await TestContainers.exposeHostPorts(up.port);
  }, 120000);

  afterAll(async () => {
    if (up) await up.close();
  });

  for (const t of TARGETS) {
    describe(`${t.image} (njs ${t.njs}${t.engine ? ', js_engine ' + t.engine : ''})`, () => {
      let c: StartedTestContainer;
      const url = (p: string) => `http://${c.getHost()}:${c.getMappedPort(80)}${p}`;

      beforeAll(async () => {
        c = await new GenericContainer(t.image)
          .withCopyContentToContainer([{ content: nginxConf(up.port, t.engine), target: '/etc/nginx/nginx.conf' }])
          .withCopyFilesToContainer([
            { source: join(DIST, 'api_sessions.js'), target: '/opt/api-sessions/dist/api_sessions.js' },
            { source: join(ROOT, 'nginx/api_sessions.conf'), target: '/opt/api-sessions/nginx/api_sessions.conf' },
            { source: join(ROOT, 'nginx/api_sessions_response.conf'), target: '/opt/api-sessions/nginx/api_sessions_response.conf' },
          ])
          .withCommand(['sh', '-c', 'mkdir -p /var/log/api-sessions && exec nginx -g "daemon off;"'])
          .withExposedPorts(80)
          .withWaitStrategy(Wait.forListeningPorts())
          .withStartupTimeout(120000)
          .start();
      }, 180000);

      afterAll(async () => {
        if (c) await c.stop();
      });

      async function exec(cmd: string[]): Promise<string> {
        const r = await c.exec(cmd);
        return r.output;
      }

      async function recordOf(reply: Reply): Promise<any> {
        const id = reply.headers['x-request-id'];
        expect(typeof id).toBe('string');
        const deadline = Date.now() + 10000;
        for (;;) {
          const log = await exec(['cat', '/var/log/api-sessions/api_sessions.log']);
          const line = log.split('\n').find((l) => l.includes('"request_id":"' + id + '"'));
          if (line !== undefined) return JSON.parse(line);
          if (Date.now() > deadline) {
            throw new Error('no record for ' + id + '\nlog:\n' + log.slice(-2000) + '\nerror.log:\n' + (await exec(['tail', '-n', '50', '/var/log/nginx/error.log'])));
          }
          await new Promise((r) => setTimeout(r, 100));
        }
      }

      test('the image runs the njs version this file names, and the engine', async () => {
        const v = await exec(['nginx', '-V']);
        expect(v).toContain('nginx version');
        const mods = await exec(['sh', '-c', 'ls /etc/nginx/modules/ /usr/lib/nginx/modules/ 2>/dev/null']);
        expect(mods).toContain('ngx_http_js_module.so');
        const njs = await exec(['sh', '-c', 'njs -v 2>/dev/null || dpkg-query -W -f="\\${Version}" nginx-module-njs 2>/dev/null']);
        expect(njs).toContain(t.njs);
      });

      test('one record per request, grouped by the query token', async () => {
        const a = await request(url('/orders?token=tok-q'));
        const b = await request(url('/orders/7?token=tok-q'));
        expect([a.status, b.status]).toEqual([200, 200]);
        const [ra, rb] = [await recordOf(a), await recordOf(b)];
        expect(ra.v).toBe(1);
        expect(ra.session).toBe(expectedSession(SECRET, APP, 'tok-q'));
        expect(rb.session).toBe(ra.session);
        expect(ra.key).toBe('request.query.token');
        expect(ra.path).toBe('/orders');
        expect(ra.part).toBe(ra.ts.slice(0, 10));
        expect(ra.errors).toEqual([]);
      });

      test('grouped by a JSON body token and by the token of a login response body', async () => {
        const j = await request(url('/cart'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: 'tok-b', item: 1 }) });
        expect((await recordOf(j)).session).toBe(expectedSession(SECRET, APP, 'tok-b'));

        const login = await request(url('/login'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 'alice' }) });
        expect(login.status).toBe(200);
        const token = JSON.parse(login.text).token;
        const rl = await recordOf(login);
        expect(rl.key).toBe('response.body.json.token');
        expect(rl.session).toBe(expectedSession(SECRET, APP, token));
        const next = await request(url('/orders?token=' + token));
        expect((await recordOf(next)).session).toBe(rl.session);
      });

      test('bad input: a JSON body that does not parse is named in the record, the request still served', async () => {
        const r = await request(url('/echo'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"token": "x",' });
        expect(r.status).toBe(200);
        const rec = await recordOf(r);
        expect(rec.errors.some((e: string) => e.startsWith('request.body.json: not valid JSON'))).toBe(true);
        expect(rec.key_source).toBe('fallback');
      });

      test('a stream is passed through whole and recorded', async () => {
        const r = await request(url('/stream?events=3&gap=50&token=tok-s'));
        expect(r.status).toBe(200);
        expect(r.text.match(/^data: /gm)).toHaveLength(3);
        const rec = await recordOf(r);
        expect(rec.session).toBe(expectedSession(SECRET, APP, 'tok-s'));
        expect(rec.path).toBe('/stream');
        expect(rec.status).toBe(200);
      });
    });
  }
});
