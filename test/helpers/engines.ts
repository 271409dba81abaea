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
  /** The command that runs this engine's njs CLI (with its engine option), or null. */
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

/** The command line that runs `argv` (an absolute program path and its arguments) in the engine. */
export function inEngine(e: Engine, argv: string[]): string[] {
  return e.root === null ? argv : ['chroot', e.root].concat(argv);
}

/** Copies the checkout's folders that nginx configurations name ({{ROOT}}/nginx, dist, bench,
 *  deploy) into `dir`, so that an engine in a root reads the same files; returns `dir`. */
export function copyCheckout(checkout: string, dir: string): string {
  for (const d of ['dist', 'nginx', 'bench', 'deploy']) {
    cpSync(join(checkout, d), join(dir, d), { recursive: true });
  }
  return dir;
}
