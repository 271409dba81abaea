/**
 * The README's nginx configuration, as an operator pastes it, run on the real nginx of every
 * engine: its `nginx` blocks are read from README.md by the file each one names in its first
 * line, so that the README cannot drift from what works.
 *
 * - Debian's stock layout: the engine's own /etc/nginx/nginx.conf (what Debian installed: the js
 *   module loaded through modules-enabled, an http-level access_log, conf.d included in http),
 *   the README's first line put at its top, the README's conf.d file beside it;
 * - an nginx.conf of one's own: the README's whole file (load_module by absolute path) with the
 *   same conf.d file.
 *
 * Each passes `nginx -t`, then serves a login and a request through it to a real upstream with
 * the secret from nginx's environment: the module's log gets both records in one session keyed
 * with that secret, and the operator's access log still gets its lines. Each passes
 * api-sessions-check clean too. Moving the include into `server` fails `nginx -t` with the
 * message the README quotes.
 *
 * What is changed, and only that, to run it in a temp prefix: system paths (/var/log/nginx, the
 * pid file, /opt/api-sessions, conf.d) point into the prefix, `listen 80` and the upstream's
 * address take free ports, nginx runs as root in the foreground, sites-enabled (the host's own
 * sites, on port 80) is left out, `modules/` in the prefix links to /usr/lib/nginx/modules as
 * Debian's /usr/share/nginx/modules does, and a test file in conf.d puts temp files in the prefix
 * and, on sid-qjs, selects QuickJS.
 */
import { spawnSync } from 'child_process';
import { existsSync, readFileSync } from 'fs';
import { join } from 'path';
import { checkNginx, startNginx, Nginx, NginxOptions, ROOT, DIST } from '../helpers/nginx';
import { currentEngine } from '../helpers/engines';
import { startUpstream, Upstream } from '../helpers/upstream';
import { request, expectedSession } from '../helpers/http';
import { recordProblem } from '../../src/console/ingest/parse';

const SECRET = 'readme-secret-' + 'x'.repeat(20);
const CONF_D = '/etc/nginx/conf.d/api-sessions.conf';
const FIRST_LINE = '/etc/nginx/nginx.conf, first line';
const OWN = '/etc/nginx/nginx.conf, all of it';

/** The README's ```nginx blocks, by the first line's comment (`# /etc/nginx/...`). */
function readmeBlocks(): Map<string, string> {
  const text = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const blocks = new Map<string, string>();
  for (const m of text.matchAll(/```nginx\n([\s\S]*?)```/g)) {
    const first = /^# (\/etc\/nginx\/[^\n]*)/.exec(m[1]);
    if (first) blocks.set(first[1], m[1]);
  }
  return blocks;
}

function block(name: string): string {
  const blocks = readmeBlocks();
  for (const [k, v] of blocks) if (k.startsWith(name)) return v;
  throw new Error(`README.md has no nginx block starting "# ${name}" (found: ${[...blocks.keys()].join('; ')})`);
}

/** The engine's stock nginx.conf (as it sees /etc/nginx). */
function stockConf(): string {
  const e = currentEngine();
  const path = join(e.root ?? '/', 'etc/nginx/nginx.conf');
  const text = readFileSync(path, 'utf8');
  for (const line of ['include /etc/nginx/modules-enabled/*.conf;', 'access_log /var/log/nginx/access.log;', 'include /etc/nginx/conf.d/*.conf;']) {
    if (!text.includes(line)) throw new Error(`${path} is not Debian's stock nginx.conf: it lacks "${line}"`);
  }
  return text;
}

const asRoot = () => (process.getuid && process.getuid() === 0 ? 'user root;' : '');

/** The system paths and names of a README or stock file, pointed into the test's prefix. */
function local(text: string, upstreamPort: number): string {
  return text
    .replace(/\/var\/log\/nginx\//g, '{{PREFIX}}/logs/')
    .replace(/\/opt\/api-sessions\/dist\//g, '{{DIST}}/')
    .replace(/\/opt\/api-sessions\/nginx\//g, '{{ROOT}}/nginx/')
    .replace('include /etc/nginx/conf.d/*.conf;', 'include {{PREFIX}}/conf.d/*.conf;')
    .replace(/^\s*include \/etc\/nginx\/sites-enabled\/\*;\s*$/m, '')
    .replace(/^pid \/run\/nginx\.pid;$/m, 'pid {{PREFIX}}/nginx.pid;')
    .replace(/^user www-data;$/m, asRoot() + '\ndaemon off;')
    .replace(/^\s*listen 80;$/m, '    listen 127.0.0.1:{{PORT0}};')
    .replace('server 127.0.0.1:8080;', `server 127.0.0.1:${upstreamPort};`);
}

function options(config: string, confD: string): NginxOptions {
  const e = currentEngine();
  return {
    config,
    files: {
      'conf.d/api-sessions.conf': confD,
      // the test's own: temp files in the prefix, QuickJS where the engine is sid-qjs
      'conf.d/00-test.conf': ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `${t === 'body' ? 'client_body' : t}_temp_path {{PREFIX}}/tmp/${t};`).join('\n') +
        (e.qjs ? '\njs_engine qjs;' : '') + '\n',
    },
    // Debian's /usr/share/nginx/modules: what modules-enabled's relative paths name
    links: { modules: '/usr/lib/nginx/modules' },
    env: { API_SESSIONS_SECRET: SECRET },
  };
}

let up: Upstream;
beforeAll(async () => {
  up = await startUpstream();
});
afterAll(async () => {
  await up?.close();
});

/** A login and a request with its token, through nginx: both records, and the access log's lines. */
async function exercise(ng: Nginx): Promise<void> {
  const host = { host: 'shop.example.com' };
  const login = await request(ng.url('/login'), { method: 'POST', headers: { ...host, 'content-type': 'application/json' }, body: '{"user":"ann"}' });
  expect(login.status).toBe(200);
  const token = JSON.parse(login.text).token as string;
  const orders = await request(ng.url('/orders?token=' + encodeURIComponent(token)), { headers: host });
  expect(orders.status).toBe(200);
  // buffer=64k flush=1s: the records reach the file within a second or two
  const records = await waitFor(() => lines(ng, 'api_sessions.log'), (l) => l.length >= 2, 5000);
  // in request order: the stock configuration runs a worker per core, each with its own log buffer
  const rs = records.map((l) => JSON.parse(l)).sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0));
  for (const r of rs) expect(recordProblem(r)).toBeNull();
  // one session, keyed with the secret nginx's environment gave the module
  expect(rs.map((r) => [r.path, r.key, r.session])).toEqual([
    ['/login', 'response.body.json.token', expectedSession(SECRET, rs[0].app, token)],
    ['/orders', 'request.query.token', expectedSession(SECRET, rs[0].app, token)],
  ]);
  expect(JSON.stringify(rs)).not.toContain(token);
  // the operator's access log still gets its lines (combined format)
  const access = lines(ng, 'access.log');
  expect(access).toHaveLength(2);
  expect(access.find((l) => l.includes('POST /login'))).toMatch(/^127\.0\.0\.1 - - \[.*\] "POST \/login HTTP\/1\.1" 200 /);
  expect(access.find((l) => l.includes('GET /orders'))).toMatch(/"GET \/orders\?token=.* HTTP\/1\.1" 200 /);
  expect(ng.errorLog()).not.toMatch(/\[(emerg|alert|crit|error)\]/);
  expect(ng.errorLog()).not.toMatch(/guessable/);
}

function lines(ng: Nginx, name: string): string[] {
  return ng.accessLog(name).split('\n').filter((l) => l !== '');
}

async function waitFor<T>(read: () => T, done: (v: T) => boolean, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = read();
    if (done(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** nginx -t passes on the configuration, and nginx started with it writes what exercise() asks. */
async function checkAndExercise(config: string, confD: string): Promise<void> {
  const check = await checkNginx(options(config, confD));
  expect({ ok: check.ok, output: check.output }).toEqual({ ok: true, output: expect.stringContaining('test is successful') });
  const ng = await startNginx(options(config, confD));
  try {
    await exercise(ng);
  } finally {
    await ng.stop();
  }
}

test("Debian's stock nginx.conf with the README's first line and conf.d file: nginx -t, then both records and the operator's access log", async () => {
  const config = local(block(FIRST_LINE) + '\n' + stockConf(), up.port);
  const confD = local(block(CONF_D), up.port);
  expect(config).toContain('include /etc/nginx/modules-enabled/*.conf;'); // the module as Debian loads it
  expect(config).not.toContain('load_module');
  await checkAndExercise(config, confD);
}, 30000);

test("the README's own nginx.conf (load_module by absolute path) with the same conf.d file: nginx -t, then both records and the operator's access log", async () => {
  const own = block(OWN);
  expect(own).toMatch(/^load_module \/usr\/lib\/nginx\/modules\/ngx_http_js_module\.so;$/m);
  expect(own).not.toMatch(/include .*modules-enabled/);
  const config = local(own, up.port);
  const confD = local(block(CONF_D), up.port);
  await checkAndExercise(config, confD);
}, 30000);

test("both configurations pass api-sessions-check clean: exit 0, nothing printed", async () => {
  const confD = local(block(CONF_D), up.port);
  for (const config of [local(block(FIRST_LINE) + '\n' + stockConf(), up.port), local(block(OWN), up.port)]) {
    const dump = await checkNginx(options(config, confD), '-T');
    expect(dump.ok).toBe(true);
    expect(dump.dump).toContain('/conf.d/api-sessions.conf:');
    const r = spawnSync(process.execPath, [join(DIST, 'check', 'cli.js'), '-'], { encoding: 'utf8', input: dump.dump });
    expect({ status: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual({ status: 0, stdout: '', stderr: '' });
  }
}, 30000);

test('the include inside server fails nginx -t with the message the README quotes', async () => {
  const confD = local(block(CONF_D), up.port);
  const include = /^include \{\{ROOT\}\}\/nginx\/api_sessions\.conf;.*$/m;
  expect(confD).toMatch(include);
  const inServer = confD.replace(include, '').replace(/server \{\n/, (m) => m + '    include {{ROOT}}/nginx/api_sessions.conf;\n');
  const check = await checkNginx(options(local(block(OWN), up.port), inServer));
  expect(check.ok).toBe(false);
  expect(check.output).toMatch(/"map" directive is not allowed here in \S*\/nginx\/api_sessions\.conf:\d+/);
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  expect(readme).toContain('"map" directive is not allowed here');
}, 30000);

test("the README's nginx files name only what Debian installs: the module's path exists", () => {
  const e = currentEngine();
  expect(existsSync(join(e.root ?? '/', 'usr/lib/nginx/modules/ngx_http_js_module.so'))).toBe(true);
});
