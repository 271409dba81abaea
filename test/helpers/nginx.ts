/**
 * Starts the real nginx (Debian's binary with the js module) on 127.0.0.1 with free ports and
 * a temp prefix, and stops it by its pid. On a failed test, `dump()` prints its logs.
 */
import { spawn, spawnSync, ChildProcess } from 'child_process';
import { mkdirSync, writeFileSync, readFileSync, existsSync, rmSync, symlinkSync } from 'fs';
import { dirname, join, resolve } from 'path';
import net from 'net';
import { Engine, currentEngine, engineTempDir, copyCheckout, inEngine } from './engines';

export const ROOT = resolve(__dirname, '..', '..');
export const DIST = join(ROOT, 'dist');
/** The host's nginx (the debian12 engine, or NGINX_BIN). */
export const NGINX_BIN = process.env.NGINX_BIN || (existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : 'nginx');
export const JS_MODULE = process.env.NGINX_JS_MODULE || '/usr/lib/nginx/modules/ngx_http_js_module.so';

export interface Nginx {
  /** The engine it runs on (debian12, trixie, sid, sid-qjs, custom). */
  engine: string;
  /** The temp prefix, as a path on this host. */
  prefix: string;
  ports: number[];
  pid: number;
  url(path?: string, portIndex?: number): string;
  accessLog(name?: string): string;
  errorLog(): string;
  /** Records the named access log holds, waiting until there are at least `count`. */
  records(count: number, name?: string): Promise<any[]>;
  /** The record of the request with this id (tests send it back in X-Request-Id), waiting for it. */
  recordById(requestId: string, name?: string): Promise<any>;
  /** SIGHUP (nginx -s reload), resolved once the old workers are gone: until then a new
   *  connection may still reach one of them and be served by the previous configuration. */
  reload(): Promise<void>;
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1, chosen by the kernel. */
export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => res(port));
    });
  });
}

/**
 * The http-block lines a test site starts with: the upstream `app` (or `name`) at `port` on
 * 127.0.0.1 (with `keepalive` connections over HTTP/1.1 when given), and the X-Request-Id header
 * by which a test finds the record of the request it sent.
 */
export function upstreamLines(port: number, o: { name?: string; keepalive?: number } = {}): string {
  const lines = [`upstream ${o.name ?? 'app'} { server 127.0.0.1:${port};${o.keepalive ? ` keepalive ${o.keepalive};` : ''} }`];
  if (o.keepalive) lines.push('proxy_http_version 1.1;', 'proxy_set_header Connection "";');
  lines.push('add_header X-Request-Id $request_id always;');
  return lines.join('\n    ');
}

/**
 * The server-block lines of a site whose requests the module records: listening on `listen`
 * (default {{PORT0}}) on 127.0.0.1, one record a request to logs/`log` (default
 * api_sessions.log), keyed with `secret`, for the application `app` (when given).
 */
export function recordingLines(o: { secret: string; app?: string; listen?: string; log?: string }): string {
  const lines = [
    `listen 127.0.0.1:${o.listen ?? '{{PORT0}}'};`,
    `access_log {{PREFIX}}/logs/${o.log ?? 'api_sessions.log'} api_sessions;`,
    `set $api_sessions_secret "${o.secret}";`,
  ];
  if (o.app !== undefined) lines.push(`set $api_sessions_app "${o.app}";`);
  return lines.join('\n        ');
}

/** `nginx -v` of an engine (stderr: nginx prints its version there). */
export function nginxVersion(e: Engine = currentEngine()): string {
  const argv = inEngine(e, [e.nginxBin, '-v']);
  const out = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8' });
  return (out.stderr || '') + (out.stdout || '');
}

function waitForPort(port: number, child: ChildProcess, errorLog: string, timeoutMs = 10000): Promise<void> {
  const start = Date.now();
  return new Promise((res, rej) => {
    const attempt = () => {
      if (child.exitCode !== null) {
        return rej(new Error('nginx exited with ' + child.exitCode + ':\n' + readIf(errorLog)));
      }
      const sock = net.connect(port, '127.0.0.1');
      sock.once('connect', () => {
        sock.destroy();
        res();
      });
      sock.once('error', () => {
        sock.destroy();
        if (Date.now() - start > timeoutMs) rej(new Error('nginx did not listen on ' + port + ':\n' + readIf(errorLog)));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

function readIf(p: string): string {
  return existsSync(p) ? readFileSync(p, 'utf8') : '';
}

export interface NginxOptions {
  /** How many listening ports the configuration uses ({{PORT0}}, {{PORT1}}, ...). */
  ports?: number;
  /** The http block's content; {{PREFIX}}, {{ROOT}}, {{DIST}} and {{PORTn}} are replaced. */
  http?: string;
  /** A whole nginx.conf instead (an operator's own file, e.g. deploy/nginx/nginx.conf), with
   *  the same placeholders; `http`, `main` and `module` are then not used. */
  config?: string;
  /** Extra main-context lines (env, ...). */
  main?: string;
  env?: NodeJS.ProcessEnv;
  /** Include nginx/api_sessions.conf in the http block (default true). */
  module?: boolean;
  /** A command that runs nginx (e.g. valgrind and its options); nginx then runs without a
   *  master process, so that the wrapper sees the process that serves the requests. Paths in it
   *  are the engine's ({{PREFIX}} is replaced). */
  wrapper?: string[];
  /** The engine (default: the test project's, or $API_SESSIONS_ENGINE, else debian12). */
  engine?: Engine;
  /** How long to wait for the first port (default 10 s). */
  startTimeoutMs?: number;
  /** How long stop() waits for a graceful exit before SIGKILL (default 5 s). */
  stopTimeoutMs?: number;
  /** More files in the prefix, by their path in it (e.g. `conf.d/site.conf`), with the same
   *  placeholders filled. */
  files?: Record<string, string>;
  /** Symbolic links in the prefix, by their path in it, to a path as the engine sees it. */
  links?: Record<string, string>;
}

/** The prefix laid out and the configuration written, not started. */
interface Prepared {
  engine: Engine;
  prefix: string;
  inner: string;
  ports: number[];
  conf: string;
  errorLog: string;
  /** Fills the placeholders as the configuration's were. */
  fill(s: string): string;
}

async function prepare(opts: NginxOptions): Promise<Prepared> {
  const engine = opts.engine || currentEngine();
  if (engine.why !== null) throw new Error(`engine ${engine.name} cannot run here: ${engine.why}`);
  // An engine in a Debian root sees only that root: its prefix and a copy of the checkout's
  // nginx files live inside it, and the configuration names them as the engine sees them.
  const dirs = engineTempDir(engine, 'api-sessions-nginx-');
  const prefix = dirs.host;
  for (const d of ['logs', 'tmp/body', 'tmp/proxy', 'tmp/fastcgi', 'tmp/uwsgi', 'tmp/scgi', 'html']) {
    mkdirSync(join(prefix, d), { recursive: true });
  }
  const root = engine.root === null ? ROOT : copyCheckout(ROOT, join(prefix, 'checkout')).slice(engine.root.length);
  const inner = dirs.inner;
  const ports: number[] = [];
  for (let i = 0; i < (opts.ports || 1); i++) ports.push(await freePort());
  const fill = (s: string) =>
    s
      .replace(/\{\{PREFIX\}\}/g, inner)
      .replace(/\{\{ROOT\}\}/g, root)
      .replace(/\{\{DIST\}\}/g, root + '/dist')
      .replace(/\{\{PORT(\d+)\}\}/g, (_, i) => String(ports[Number(i)]));
  const errorLog = join(prefix, 'logs', 'error.log');
  const generated = `
load_module ${engine.jsModule};
${process.getuid && process.getuid() === 0 ? 'user root;' : ''}
worker_processes 1;
${opts.wrapper ? 'master_process off;' : ''}
daemon off;
pid ${inner}/nginx.pid;
error_log ${inner}/logs/error.log info;
${fill(opts.main || '')}
events { worker_connections 512; }
http {
    access_log off;
${engine.qjs ? '    js_engine qjs;' : ''}
    client_body_temp_path ${inner}/tmp/body;
    proxy_temp_path ${inner}/tmp/proxy;
    fastcgi_temp_path ${inner}/tmp/fastcgi;
    uwsgi_temp_path ${inner}/tmp/uwsgi;
    scgi_temp_path ${inner}/tmp/scgi;
${opts.module === false ? '' : `    js_path ${root}/dist/;
    include ${root}/nginx/api_sessions.conf;`}
${fill(opts.http || '')}
}
`;
  const conf = opts.config !== undefined ? fill(opts.config) : generated;
  const confPath = join(prefix, 'nginx.conf');
  writeFileSync(confPath, conf);
  for (const [path, text] of Object.entries(opts.files || {})) {
    mkdirSync(dirname(join(prefix, path)), { recursive: true });
    writeFileSync(join(prefix, path), fill(text));
  }
  for (const [path, target] of Object.entries(opts.links || {})) symlinkSync(target, join(prefix, path));
  return { engine, prefix, inner, ports, conf, errorLog, fill };
}

/** A configuration laid out as startNginx would, for `use` to run nginx on: `nginx` is the
 *  engine's command that runs nginx, `command(args)` its command line for `nginx ARGS -p PREFIX
 *  -c CONF`. The prefix is removed afterwards. */
export async function withConfig<T>(
  opts: NginxOptions,
  use: (c: { nginx: string[]; command: (args: string[]) => string[]; prefix: string; inner: string; conf: string }) => T | Promise<T>,
): Promise<T> {
  const { engine, prefix, inner, conf } = await prepare(opts);
  const nginx = inEngine(engine, [engine.nginxBin]);
  try {
    return await use({ nginx, command: (args) => nginx.concat(args, ['-p', inner, '-c', inner + '/nginx.conf']), prefix, inner, conf });
  } finally {
    if (!process.env.KEEP_NGINX_PREFIX) rmSync(prefix, { recursive: true, force: true });
  }
}

/** `nginx -t` of a configuration (as startNginx would lay it out): whether it passed, and what
 *  nginx said. `-T` instead: `dump` is what it printed on stdout (the whole configuration). */
export async function checkNginx(opts: NginxOptions, flag: '-t' | '-T' = '-t'): Promise<{ ok: boolean; output: string; conf: string; dump: string }> {
  return withConfig(opts, ({ command, conf }) => {
    const argv = command([flag]);
    const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', env: { ...process.env, ...(opts.env || {}) } });
    return { ok: r.status === 0, output: (r.stderr || '') + (flag === '-t' ? r.stdout || '' : ''), conf, dump: r.stdout || '' };
  });
}

export async function startNginx(opts: NginxOptions): Promise<Nginx> {
  const { engine, prefix, inner, ports, conf, errorLog, fill } = await prepare(opts);
  const command = inEngine(engine, (opts.wrapper || []).map(fill).concat([engine.nginxBin, '-p', inner, '-c', inner + '/nginx.conf']), { proc: opts.wrapper !== undefined });
  const child = spawn(command[0], command.slice(1), {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...(opts.env || {}) },
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  try {
    await waitForPort(ports[0], child, errorLog, opts.startTimeoutMs);
  } catch (e) {
    child.kill('SIGKILL');
    throw new Error((e as Error).message + '\n' + stderr + '\nconf:\n' + conf);
  }
  const logPath = (name = 'api_sessions.log') => join(prefix, 'logs', name);
  const nginx: Nginx = {
    engine: engine.name,
    prefix,
    ports,
    pid: child.pid!,
    url: (path = '/', i = 0) => `http://127.0.0.1:${ports[i]}${path}`,
    accessLog: (name) => readIf(logPath(name)),
    errorLog: () => readIf(errorLog),
    async records(count, name) {
      const deadline = Date.now() + 5000;
      for (;;) {
        const lines = readIf(logPath(name)).split('\n').filter((l) => l !== '');
        if (lines.length >= count || Date.now() > deadline) {
          return lines.map((l) => {
            try {
              return JSON.parse(l);
            } catch (e) {
              throw new Error('not one line of JSON: ' + JSON.stringify(l));
            }
          });
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async recordById(requestId, name) {
      const deadline = Date.now() + 5000;
      const needle = '"request_id":"' + requestId + '"';
      for (;;) {
        const line = readIf(logPath(name)).split('\n').find((l) => l.indexOf(needle) >= 0);
        if (line !== undefined) return JSON.parse(line);
        if (Date.now() > deadline) {
          throw new Error('no record for ' + requestId + ' in ' + (name || 'api_sessions.log') + '\n' + readIf(errorLog).slice(-3000));
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async reload() {
      const workers = () => {
        const out = spawnSync('pgrep', ['-P', String(child.pid)], { encoding: 'utf8' }).stdout.trim();
        return out === '' ? [] : out.split('\n').map(Number);
      };
      const old = workers();
      process.kill(child.pid!, 'SIGHUP');
      const end = Date.now() + 10000;
      for (;;) {
        const now = workers();
        if (now.length > 0 && now.every((p) => old.indexOf(p) < 0)) return;
        if (Date.now() > end) throw new Error('old workers still running after the reload: ' + old.join(','));
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    stop: () =>
      new Promise<void>((res) => {
        if (child.exitCode !== null) return res();
        const timer = setTimeout(() => child.kill('SIGKILL'), opts.stopTimeoutMs || 5000);
        child.once('exit', () => {
          clearTimeout(timer);
          if (!process.env.KEEP_NGINX_PREFIX) rmSync(prefix, { recursive: true, force: true });
          res();
        });
        process.kill(child.pid!, 'SIGQUIT');
      }),
  };
  return nginx;
}
