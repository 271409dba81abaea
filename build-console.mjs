// Bundles the console so that it runs with plain node, without tsx or the sources:
//   dist/console/cli.js    the console configured by flags (npm start, the systemd unit)
//   dist/console/main.js   the console configured by the environment (the container image)
//   dist/console/detect/worker.js   the detections' thread, which both start
//   dist/console/ui/, dist/console/schema.sql   the files src/console/assets.ts finds beside them
// the configuration check, with nothing outside node itself (it runs beside nginx):
//   dist/check/cli.js      api-sessions-check (package.json "bin")
// and the compose demo's upstream, with everything it uses inside (its image has no node_modules):
//   dist/demo-api.js
//
// The console's packages stay outside the bundle (better-sqlite3 is native; the others are loaded
// from node_modules as npm installed them) and must be exactly what `npm ci --omit=dev` installs:
// the build stops, naming the package and the source file, when the bundle would require a package
// that is not in package.json "dependencies".
import * as esbuild from 'esbuild';
import { builtinModules } from 'node:module';
import { chmodSync, cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = new URL('.', import.meta.url).pathname;

// detect/worker.ts: the detector's thread, started by file (dist/console/detect/worker.js).
export const CONSOLE_ENTRIES = ['src/console/cli.ts', 'src/console/main.ts', 'src/console/detect/worker.ts'];
/** What the console reads besides its code (src/console/assets.ts), and where it goes in dist/console. */
export const CONSOLE_ASSETS = [
  ['src/console/ui', 'ui'],
  ['deploy/clickhouse/schema.sql', 'schema.sql'],
];

/** The package an import names ('@scope/name/sub' -> '@scope/name'); null for paths and node's own modules. */
export function packageOf(spec) {
  if (spec.startsWith('.') || spec.startsWith('/') || spec.startsWith('node:')) return null;
  const parts = spec.split('/');
  const name = spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
  return builtinModules.includes(name) ? null : name;
}

function shown(file) {
  const abs = resolve(root, file);
  return abs.startsWith(root) ? relative(root, abs) : abs;
}

/**
 * One line per package an output would require at run time that `allowed` lacks, with the source
 * files that import it. Only the outputs' imports count: a type-only import is gone from the code.
 */
export function checkExternals(metafile, allowed) {
  const problems = [];
  for (const [out, o] of Object.entries(metafile.outputs)) {
    const missing = new Set(o.imports.filter((i) => i.external).map((i) => packageOf(i.path)).filter((p) => p !== null && !allowed.includes(p)));
    for (const pkg of missing) {
      const by = Object.entries(metafile.inputs)
        .filter(([, i]) => i.imports.some((im) => im.external && packageOf(im.path) === pkg))
        .map(([f]) => shown(f));
      problems.push(`${shown(out)} would require "${pkg}", which is not in package.json "dependencies" (imported by ${by.join(', ')})`);
    }
  }
  return problems;
}

export function runtimeDependencies() {
  return Object.keys(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).dependencies ?? {});
}

/**
 * Bundles `entries` for node 20 into `outdir` (CommonJS: better-sqlite3's `require.resolve` and
 * __dirname work as in the sources). `packages: 'external'` leaves every package to node_modules,
 * where `allowed` says which may be required; 'bundle' puts them inside. Nothing is written when the
 * check fails.
 */
export async function bundleNode({ entries, outdir, packages = 'external', allowed = runtimeDependencies(), define = {}, sourcemap = true, banner = undefined }) {
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: entries.map((e) => resolve(root, e)),
    outdir: resolve(root, outdir),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    packages: packages === 'external' ? 'external' : undefined,
    define,
    sourcemap,
    banner: banner === undefined ? undefined : { js: banner },
    sourcesContent: false,
    metafile: true,
    write: false,
    logLevel: 'silent',
  });
  const problems = checkExternals(result.metafile, allowed);
  if (problems.length > 0) throw new Error('runtime dependency check failed:\n' + problems.join('\n'));
  for (const f of result.outputFiles) {
    mkdirSync(dirname(f.path), { recursive: true });
    writeFileSync(f.path, f.contents);
  }
  return result.outputFiles.map((f) => shown(f.path));
}

export async function buildConsole({ outdir = 'dist/console', quiet = false } = {}) {
  const out = resolve(root, outdir);
  rmSync(out, { recursive: true, force: true }); // no file of an earlier build stays
  const files = await bundleNode({ entries: CONSOLE_ENTRIES, outdir, define: { API_SESSIONS_BUNDLED: 'true' } });
  for (const [from, to] of CONSOLE_ASSETS) cpSync(join(root, from), join(out, to), { recursive: true });
  if (!quiet) console.log(`built ${outdir}/ (${files.filter((f) => f.endsWith('.js')).map((f) => f.slice(f.lastIndexOf('/') + 1)).join(', ')}, ui/, schema.sql)`);
  return files;
}

export async function buildCheck({ outdir = 'dist/check', quiet = false } = {}) {
  const files = await bundleNode({ entries: ['src/check/cli.ts'], outdir, packages: 'bundle', allowed: [], sourcemap: false, banner: '#!/usr/bin/env node' });
  for (const f of files) chmodSync(resolve(root, f), 0o755);
  if (!quiet) console.log(`built ${files.join(', ')}`);
  return files;
}

export async function buildDemoApi({ outdir = 'dist', quiet = false } = {}) {
  // express, express-session and jsonwebtoken go inside: the demo image has no node_modules.
  const files = await bundleNode({ entries: ['deploy/demo-api.ts'], outdir, packages: 'bundle', allowed: [], sourcemap: false });
  if (!quiet) console.log(`built ${files.join(', ')}`);
  return files;
}
