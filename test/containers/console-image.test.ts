/**
 * The console's image (deploy/console/Dockerfile) and compose's use of it.
 *
 * Without a Docker engine (this machine): the Dockerfile and compose hang together (every file the
 * Dockerfile copies from the checkout exists and is not left out by .dockerignore, every file it
 * copies from the build stage is one `npm run build` emits, compose's targets are stages), and the
 * runtime stages are laid out from their COPY lines in a temp folder standing for /app (the
 * production node_modules stood for by the checkout's) and started with their CMD and the
 * environment compose gives them: the console serves /healthz, passes its HEALTHCHECK command and
 * stores a record posted as Vector posts it (on SQLite, and on a real clickhouse-server where one is
 * installed); the demo API answers a login.
 *
 * With a Docker engine: the images are built and run, and the compose stack carries a request
 * through nginx and Vector into the console. Without one that part is skipped with one line.
 */
import { spawn, spawnSync } from 'child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, symlinkSync } from 'fs';
import { join, posix } from 'path';
import YAML from 'yaml';
import { DockerComposeEnvironment, GenericContainer, StartedDockerComposeEnvironment, StartedTestContainer, Wait } from 'testcontainers';
import { ROOT, runNode } from '../helpers/run-node';
import { freePort } from '../helpers/nginx';
import { requireBuiltConsole, startConsoleProcess, ConsoleProcess } from '../helpers/console-process';
import { clickhouseBinary, startClickHouse, ClickHouseServer } from '../console-clickhouse/server';
import { TODAY, line, rec, tempDir, waitFor } from '../console/helpers';
import { dockerEngine } from '../helpers/docker';

const DOCKERFILE = 'deploy/console/Dockerfile';

interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  name: string;
  from: string;
  body: Instruction[];
}

/** The instructions of a Dockerfile, continuation lines joined, comments dropped, global ARGs
 *  substituted into FROM lines. */
function parseDockerfile(text: string): { args: Record<string, string>; stages: Stage[] } {
  const joined = text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const l of joined) {
    const [, op, rest] = /^(\w+)\s+(.*)$/.exec(l)!;
    if (op.toUpperCase() === 'FROM') {
      const m = /^(\S+)\s+AS\s+(\S+)$/i.exec(rest);
      if (!m) throw new Error('a stage without a name: ' + l);
      stages.push({ name: m[2], from: m[1].replace(/\$\{(\w+)\}/g, (_, v) => args[v]), body: [] });
    } else if (stages.length === 0 && op.toUpperCase() === 'ARG') {
      const [k, v] = rest.split('=');
      args[k] = v;
    } else stages[stages.length - 1].body.push({ op: op.toUpperCase(), args: rest.replace(/\s+/g, ' ') });
  }
  return { args, stages };
}

interface Copy {
  from: string | null;
  sources: string[];
  dest: string;
}
function copies(stage: Stage): Copy[] {
  return stage.body
    .filter((i) => i.op === 'COPY')
    .map((i) => {
      const words = i.args.split(' ');
      const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length) ?? null;
      const paths = words.filter((w) => !w.startsWith('--'));
      return { from, sources: paths.slice(0, -1), dest: paths[paths.length - 1] };
    });
}
const workdir = (stage: Stage) => stage.body.filter((i) => i.op === 'WORKDIR').map((i) => i.args).pop() ?? '/';
const exec = (stage: Stage, op: string): string[] | null => {
  const i = stage.body.filter((x) => x.op === op).pop();
  if (!i) return null;
  const json = i.args.slice(i.args.indexOf('['));
  return JSON.parse(json);
};
function env(stage: Stage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const i of stage.body.filter((x) => x.op === 'ENV')) {
    for (const kv of i.args.split(' ')) out[kv.slice(0, kv.indexOf('='))] = kv.slice(kv.indexOf('=') + 1);
  }
  return out;
}

/** .dockerignore's patterns as Docker reads them: from the context's root, `*` within one path
 *  segment, `**` across segments; a pattern that names a folder leaves out what it holds. */
function ignored(path: string, patterns: string[]): boolean {
  return patterns.some((p) => {
    const re = new RegExp(
      '^' +
        p
          .replace(/^\//, '')
          .replace(/[.+^${}()|[\]\\]/g, '\\$&')
          .replace(/\*\*/g, '\0')
          .replace(/\*/g, '[^/]*')
          .replace(/\?/g, '[^/]')
          .replace(/\0/g, '.*') +
        '(/.*)?$',
    );
    return re.test(path);
  });
}

const dockerfile = parseDockerfile(readFileSync(join(ROOT, DOCKERFILE), 'utf8'));
const stage = (name: string) => dockerfile.stages.find((s) => s.name === name)!;
const compose = YAML.parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true });
const dockerignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l !== '' && !l.startsWith('#'));

describe('the Dockerfile and compose, without Docker', () => {
  test('compose builds the console and the demo API from stages of the Dockerfile, with the checkout as context', () => {
    const built = Object.entries(compose.services as Record<string, any>).filter(([, s]) => s.build);
    expect(built.map(([n]) => n).sort()).toEqual(['console', 'console-clickhouse', 'demo-api']);
    for (const [name, s] of built) {
      expect({ name, context: s.build.context, dockerfile: s.build.dockerfile }).toEqual({ name, context: '.', dockerfile: DOCKERFILE });
      expect(dockerfile.stages.map((x) => x.name)).toContain(s.build.target);
      // Nothing of the checkout mounted: the image holds what runs.
      expect({ name, volumes: (s.volumes ?? []).filter((v: string) => v.startsWith('.')) }).toEqual({ name, volumes: [] });
    }
    expect(compose.services.console.build.target).toBe('console');
    expect(compose.services['demo-api'].build.target).toBe('demo-api');
  });

  test('every stage starts from the node image pinned to a full version, node 20 as package.json wants', () => {
    for (const s of dockerfile.stages) expect({ stage: s.name, from: s.from }).toEqual({ stage: s.name, from: expect.stringMatching(/^node:20\.\d+\.\d+-bookworm-slim$/) });
    expect(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).engines.node).toBe('>=20');
  });

  test('.dockerignore keeps the host\'s node_modules, dist and git history out; what the Dockerfile copies from the checkout is there and not left out', () => {
    for (const p of ['node_modules', 'node_modules/better-sqlite3/build/Release/better_sqlite3.node', 'dist', 'dist/console/main.js', '.git']) {
      expect({ p, ignored: ignored(p, dockerignore) }).toEqual({ p, ignored: true });
    }
    const fromContext = dockerfile.stages.flatMap((s) => copies(s).filter((c) => c.from === null).flatMap((c) => c.sources));
    expect(fromContext).toEqual(expect.arrayContaining(['package.json', 'package-lock.json', 'src', 'build.mjs', 'build-console.mjs']));
    for (const src of fromContext) {
      expect({ src, exists: existsSync(join(ROOT, src)), ignored: ignored(src, dockerignore) }).toEqual({ src, exists: true, ignored: false });
    }
  });

  test('the build stage runs npm run build over what build.mjs reads; the runtime stages copy what it emits', () => {
    requireBuiltConsole();
    const build = stage('build');
    expect(build.body.filter((i) => i.op === 'RUN').map((i) => i.args)).toEqual([expect.stringMatching(/^npm ci\b/), 'npm run build']);
    // Every file the build reads (the inputs of its bundles and the files it copies) is copied in.
    const r = runNode(
      `import { CONSOLE_ENTRIES, CONSOLE_ASSETS } from './build-console.mjs';
       import * as esbuild from 'esbuild';
       const inputs = new Set(['build.mjs', 'build-console.mjs', 'package.json', 'tsconfig.json', ...CONSOLE_ASSETS.map(([from]) => from)]);
       for (const [entries, packages] of [[['src/njs/index.ts'], 'external'], [CONSOLE_ENTRIES, 'external'], [['deploy/demo-api.ts'], undefined]]) {
         const m = await esbuild.build({ entryPoints: entries, bundle: true, platform: 'node', packages, write: false, metafile: true, logLevel: 'silent', outdir: 'x' });
         for (const f of Object.keys(m.metafile.inputs)) if (!f.includes('node_modules/')) inputs.add(f); // packages: npm ci's
       }
       console.log(JSON.stringify([...inputs]));`,
    );
    expect(r.ok).toBe(true);
    const read: string[] = JSON.parse(r.output.trim().split('\n').pop()!);
    const copied = copies(build).filter((c) => c.from === null).flatMap((c) => c.sources);
    const missing = read.filter((f) => !copied.some((c) => f === c || f.startsWith(c + '/')));
    expect(missing).toEqual([]);

    for (const name of ['console', 'demo-api']) {
      for (const c of copies(stage(name)).filter((x) => x.from === 'build')) {
        for (const src of c.sources) {
          // The build stage's /app is a checkout after `npm run build`, as this one is.
          const inCheckout = posix.relative(workdir(build), posix.resolve(workdir(build), src));
          expect({ stage: name, src, exists: existsSync(join(ROOT, inCheckout)) }).toEqual({ stage: name, src, exists: true });
          expect(inCheckout).toMatch(/^dist\//);
        }
      }
    }
  });

  test('the console stage: production packages, the built console, an unprivileged user, /data, a HEALTHCHECK in node, CMD the built main.js', () => {
    const s = stage('console');
    expect(stage('deps').body.filter((i) => i.op === 'RUN').map((i) => i.args)).toContainEqual(expect.stringMatching(/^npm ci --omit=dev\b/));
    expect(copies(s)).toEqual(
      expect.arrayContaining([
        { from: 'deps', sources: ['/app/node_modules'], dest: './node_modules' },
        { from: 'build', sources: ['/app/dist/console'], dest: './dist/console' },
      ]),
    );
    expect(s.body.filter((i) => i.op === 'USER').map((i) => i.args)).toEqual(['node']);
    expect(s.body.filter((i) => i.op === 'VOLUME').map((i) => i.args)).toEqual(['/data']);
    expect(env(s).API_SESSIONS_DATA).toBe('/data');
    expect(s.body.filter((i) => i.op === 'EXPOSE').map((i) => i.args)).toEqual([env(s).API_SESSIONS_CONSOLE_PORT]);
    expect(exec(s, 'HEALTHCHECK')!.slice(0, 2)).toEqual(['node', '-e']);
    const cmd = exec(s, 'CMD')!;
    expect(cmd[0]).toBe('node');
    // The file build-console.mjs emits for src/console/main.ts.
    const script = cmd.find((w) => w.endsWith('.js'))!;
    const entries = runNode(`import { CONSOLE_ENTRIES } from './build-console.mjs'; console.log(JSON.stringify(CONSOLE_ENTRIES));`);
    expect(JSON.parse(entries.output)).toContain('src/console/main.ts');
    expect(script).toBe('dist/console/main.js');
    expect(existsSync(join(ROOT, script))).toBe(true);
    expect(exec(stage('demo-api'), 'CMD')).toEqual(['node', 'demo-api.js']);
  });
});

/** The stage's files in `app` (standing for its WORKDIR), from its COPY lines; the deps stage's
 *  node_modules is the checkout's (a superset: devDependencies too). */
function layOut(s: Stage, app: string): void {
  const wd = workdir(s);
  for (const c of copies(s)) {
    const dest = posix.resolve(wd, c.dest);
    expect(dest.startsWith(wd)).toBe(true);
    const local = join(app, posix.relative(wd, dest));
    for (const src of c.sources) {
      const target = c.dest.endsWith('/') ? join(local, posix.basename(src)) : local;
      mkdirSync(join(target, '..'), { recursive: true });
      if (c.from === 'deps') symlinkSync(join(ROOT, 'node_modules'), target);
      else if (c.from === 'build') cpSync(join(ROOT, posix.relative(workdir(stage('build')), posix.resolve(workdir(stage('build')), src))), target, { recursive: true });
      else if (c.from === null) cpSync(join(ROOT, src), target, { recursive: true });
      else throw new Error('COPY --from=' + c.from + ': not laid out by this test');
    }
  }
}

/** A compose value with its `${VAR:-default}` filled in as compose does where VAR is unset. */
const interpolate = (v: unknown) => String(v).replace(/\$\{\w+:-([^}]*)\}/g, '$1');
const composeEnv = (service: string): Record<string, string> =>
  Object.fromEntries(Object.entries(compose.services[service].environment ?? {}).map(([k, v]) => [k, interpolate(v)]));

/** The runtime stage started as compose starts the service: CMD, the image's ENV with the
 *  service's environment over it; `/data` and the port mapped to this machine's. */
async function startLikeCompose(service: string, app: string, overrides: Record<string, string>): Promise<ConsoleProcess> {
  const s = stage(compose.services[service].build.target);
  const e: NodeJS.ProcessEnv = { PATH: process.env.PATH, ...env(s), ...composeEnv(service), ...overrides };
  const cmd = exec(s, 'CMD')!;
  return startConsoleProcess([process.execPath, ...cmd.slice(1)], { env: e, cwd: app });
}

const composeToken = () => composeEnv('console').API_SESSIONS_TOKEN;

async function postAndRead(url: string, token: string): Promise<void> {
  const r = rec({ at: TODAY, s: 'image-' + Math.random(), path: '/via-vector' });
  const auth = { authorization: `Bearer ${token}` };
  const post = await fetch(url + 'api/ingest', { method: 'POST', headers: { ...auth, 'content-type': 'application/x-ndjson' }, body: line(r) });
  expect(post.status).toBe(200);
  const items = await waitFor('the posted record', async () => {
    const b = (await (await fetch(`${url}api/sessions/${r.session}/parts/${r.part}/requests`, { headers: auth })).json()) as any;
    return b.items?.length ? b.items : null;
  });
  expect(items.map((x: any) => [x.request_id, x.path])).toEqual([[r.request_id, '/via-vector']]);
}

describe('the runtime stages laid out from their COPY lines, started as compose starts them', () => {
  const tmp = tempDir('api-sessions-image-');
  const running: ConsoleProcess[] = [];
  let clickhouse: ClickHouseServer | null = null;
  afterAll(async () => {
    for (const c of running) await c.stop();
    if (clickhouse) await clickhouse.stop();
    tmp.cleanup();
  });

  test('console (SQLite): /healthz, the HEALTHCHECK command, a record posted with compose\'s token, the database in /data; nothing from src/', async () => {
    requireBuiltConsole();
    const app = join(tmp.dir, 'console/app');
    const data = join(tmp.dir, 'console/data');
    mkdirSync(data, { recursive: true });
    layOut(stage('console'), app);
    expect(existsSync(join(app, 'src'))).toBe(false);
    // compose publishes 8080; other jobs here may hold it, so another free port, the same way.
    const port = String(await freePort());
    const c = await startLikeCompose('console', app, { API_SESSIONS_DATA: data, API_SESSIONS_CONSOLE_PORT: port });
    running.push(c);
    expect(c.url).toBe(`http://0.0.0.0:${port}/`); // compose's 0.0.0.0: reachable from the other containers
    const url = `http://127.0.0.1:${port}/`;
    expect((await fetch(url + 'healthz')).status).toBe(200);
    expect((await fetch(url)).headers.get('content-type')).toMatch(/^text\/html/); // the UI's files, from dist/console/ui

    const health = exec(stage('console'), 'HEALTHCHECK')!;
    const hc = () => spawnSync(process.execPath, health.slice(1), { env: { PATH: process.env.PATH, API_SESSIONS_CONSOLE_PORT: port }, timeout: 10000 }).status;
    expect(hc()).toBe(0);

    expect((await fetch(url + 'api/parts')).status).toBe(401); // compose's token is required
    await postAndRead(url, composeToken());
    expect(existsSync(join(data, 'api-sessions.db'))).toBe(true);

    expect(await c.stop()).toBe(0);
    expect(hc()).toBe(1); // nothing answers: the check fails
  });

  const ch = clickhouseBinary();
  if (!ch) console.log('console-clickhouse as compose starts it: skipped, no clickhouse-server installed');
  (ch ? test : test.skip)('console-clickhouse: the store on a real ClickHouse, its schema.sql from dist/console', async () => {
    requireBuiltConsole();
    clickhouse = await startClickHouse(ch!);
    const app = join(tmp.dir, 'console-clickhouse/app');
    layOut(stage('console'), app);
    expect(existsSync(join(app, 'deploy'))).toBe(false);
    const port = String(await freePort());
    const database = 'api_sessions_image_' + process.pid;
    // compose's service names (clickhouse:8123) and its password resolve only inside compose: this
    // machine's server and its user instead.
    const c = await startLikeCompose('console-clickhouse', app, {
      API_SESSIONS_CONSOLE_PORT: port,
      API_SESSIONS_CLICKHOUSE_URL: clickhouse.url,
      API_SESSIONS_CLICKHOUSE_DATABASE: database,
      API_SESSIONS_CLICKHOUSE_USER: 'default',
      API_SESSIONS_CLICKHOUSE_PASSWORD: '',
    });
    running.push(c);
    expect(c.output()).toContain('API Sessions console (clickhouse)');
    await postAndRead(`http://127.0.0.1:${port}/`, composeToken());
    const tables = await (await fetch(`${clickhouse.url}/?query=${encodeURIComponent(`SHOW TABLES FROM ${database}`)}`)).text();
    expect(tables.split('\n').filter(Boolean).sort()).toEqual(expect.arrayContaining(['checkpoints', 'requests']));
    expect(await c.stop()).toBe(0);
  });

  test('demo-api: the one bundled file, no node_modules, answers a login', async () => {
    const app = join(tmp.dir, 'demo/app');
    layOut(stage('demo-api'), app);
    expect(existsSync(join(app, 'node_modules'))).toBe(false);
    const port = String(await freePort());
    const s = stage('demo-api');
    const e = { PATH: process.env.PATH, ...env(s), ...composeEnv('demo-api'), PORT: port, HOST: '127.0.0.1' };
    const child = spawn(process.execPath, exec(s, 'CMD')!.slice(1), { cwd: app, env: e, stdio: 'ignore' });
    try {
      const login = await waitFor('the demo API', async () => {
        const r = await fetch(`http://127.0.0.1:${port}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"user":"alice"}' });
        return r.status === 200 ? ((await r.json()) as any) : null;
      });
      expect(login.user).toBe('alice');
      expect(login.token.split('.')).toHaveLength(3); // a JWT, from the bundled jsonwebtoken
    } finally {
      process.kill(child.pid!, 'SIGTERM');
    }
  });
});

const docker = dockerEngine();
if (!docker) console.log('console image tests skipped: no Docker engine (Testcontainers needs one; set DOCKER_HOST or start dockerd)');

(docker ? describe : describe.skip)('the images and the compose stack, with Docker', () => {
  jest.setTimeout(15 * 60000);

  test('the console image: built, healthy, as user node, stores a posted record in /data', async () => {
    const image = await GenericContainer.fromDockerfile(ROOT, DOCKERFILE).withTarget('console').build('api-sessions-console:test', { deleteOnExit: true });
    const token = 'image-test-token';
    const c: StartedTestContainer = await image
      .withEnvironment({ API_SESSIONS_TOKEN: token })
      .withExposedPorts(7441)
      .withWaitStrategy(Wait.forHealthCheck())
      .withStartupTimeout(120000)
      .start();
    try {
      const url = `http://${c.getHost()}:${c.getMappedPort(7441)}/`;
      expect((await fetch(url + 'healthz')).status).toBe(200);
      await postAndRead(url, token);
      expect((await c.exec(['id', '-un'])).output.trim()).toBe('node');
      expect((await c.exec(['ls', '/data'])).output).toContain('api-sessions.db');
      expect((await c.exec(['ls', '/app'])).output.split(/\s+/).filter(Boolean).sort()).toEqual(['dist', 'node_modules', 'package.json']);
    } finally {
      await c.stop();
    }
  });

  test('docker compose up: a login through nginx reaches the console by Vector', async () => {
    if (!existsSync(join(ROOT, 'dist/api_sessions.js'))) throw new Error('dist/api_sessions.js missing: npm run build first');
    let env: StartedDockerComposeEnvironment | null = null;
    try {
      env = await new DockerComposeEnvironment(ROOT, 'docker-compose.yml')
        .withBuild()
        .withWaitStrategy('console-1', Wait.forHealthCheck())
        .withStartupTimeout(300000)
        .up(['nginx', 'demo-api', 'vector', 'console']);
      const nginx = env.getContainer('nginx-1');
      const consoleC = env.getContainer('console-1');
      const demo = `http://${nginx.getHost()}:${nginx.getMappedPort(80)}`;
      const login = (await (await fetch(demo + '/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"user":"alice"}' })).json()) as any;
      expect((await fetch(`${demo}/orders?token=${login.token}`)).status).toBe(200);
      const url = `http://${consoleC.getHost()}:${consoleC.getMappedPort(8080)}/`;
      const auth = { authorization: `Bearer ${composeToken()}` };
      // nginx writes the log (flush=1s), Vector posts it to the console's ingest.
      const parts = await waitFor(
        "alice's session in the console",
        async () => {
          const b = (await (await fetch(url + 'api/parts?app=demo-shop&user=alice', { headers: auth })).json()) as any;
          return b.items?.length ? b.items : null;
        },
        60000,
      );
      expect(parts[0].app).toBe('demo-shop');
    } finally {
      if (env) await env.down();
    }
  });
});
