/**
 * Typed access to test/helpers/engine-list.cjs (the engines by name), and the paths an engine sees:
 * an engine in a Debian root (chroot) sees only files inside that root, so its temp folders are
 * made there and named from inside as well as from the host.
 */
import { cpSync, mkdtempSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

export interface Engine {
  /** debian12, trixie, sid, sid-qjs, or custom (NGINX_BIN). */
  name: string;
  /** The Debian root nginx runs in (chroot), or null for the host's nginx. */
  root: string | null;
  /** `js_engine qjs` (QuickJS). */
  qjs: boolean;
  /** nginx's path as the engine sees it. */
  nginxBin: string;
  jsModule: string;
  /** This engine's njs CLI and its engine options, as the engine sees them (run it through
   *  inEngine), or null when there is none. */
  njs: string[] | null;
  /** Why this engine cannot run here, or null. */
  why: string | null;
}

// eslint-disable-next-line @typescript-eslint/no-var-requires
const impl = require('./engine-list.cjs');

export const ENGINE_NAMES: string[] = impl.NAMES;
export const engine: (name: string) => Engine = impl.engine;
export const selectedEngines: () => Engine[] = impl.selectedEngines;
/** The engine of this test project (jest.config.cjs) or of $API_SESSIONS_ENGINE (bench, demo). */
export const currentEngine: () => Engine = impl.currentEngine;

/** A temp folder the engine can see: `host` is its path here, `inner` the engine's. */
export function engineTempDir(e: Engine, prefix: string): { host: string; inner: string } {
  const host = mkdtempSync(join(e.root === null ? tmpdir() : join(e.root, 'tmp'), prefix));
  return { host, inner: innerPath(e, host) };
}

/** A host path inside the engine's root, as the engine names it. */
export function innerPath(e: Engine, hostPath: string): string {
  if (e.root === null) return hostPath;
  if (!hostPath.startsWith(e.root + '/')) throw new Error(`${hostPath} is outside the ${e.name} root`);
  return hostPath.slice(e.root.length);
}

/** The command line that runs `argv` (an absolute program path and its arguments) in the
 *  engine. `proc`: the program needs /proc (valgrind does): it is mounted in a mount namespace of
 *  the command's own, so it disappears with the command and the host's mounts never change.
 *  The command keeps its pid (each step execs the next), so signals reach it. */
export function inEngine(e: Engine, argv: string[], opts: { proc?: boolean } = {}): string[] {
  if (e.root === null) return argv;
  if (!opts.proc) return ['chroot', e.root].concat(argv);
  return ['unshare', '--mount', 'sh', '-c', 'mount -t proc proc "$0/proc" && exec chroot "$0" "$@"', e.root].concat(argv);
}

/** `--engine NAME` on a command line (bench, demo) sets the engine of everything this process
 *  starts; an engine that cannot run here ends the process with one line saying how to set it up. */
export function engineFromArgs(args: string[]): Engine {
  const i = args.indexOf('--engine');
  if (i >= 0) process.env.API_SESSIONS_ENGINE = args[i + 1];
  const e = currentEngine();
  if (e.why !== null) {
    console.error(`engine ${e.name}: ${e.why}`);
    process.exit(2);
  }
  return e;
}

/** Copies the checkout's folders that nginx configurations name ({{ROOT}}/nginx, dist, bench,
 *  deploy, test/nginx) into `dir`, so that an engine in a root reads the same files; returns `dir`. */
export function copyCheckout(checkout: string, dir: string): string {
  for (const d of ['dist', 'nginx', 'bench', 'deploy', 'test/nginx']) {
    cpSync(join(checkout, d), join(dir, d), { recursive: true });
  }
  return dir;
}
