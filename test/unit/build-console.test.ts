/**
 * The console's build (build-console.mjs): a bundle may require at run time only the packages of
 * package.json "dependencies" (what `npm ci --omit=dev` installs on a host or in the image), and the
 * build stops, naming the package and the file, otherwise. Driven in a child node process, as
 * build.test.ts does: build-console.mjs is an ES module.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { runNode, ROOT } from '../helpers/run-node';

const DEPENDENCIES = Object.keys(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).dependencies).sort();
const DEV_DEPENDENCIES = Object.keys(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).devDependencies);

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'api-sessions-build-console-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Bundles `source` as the console is bundled (its packages left to node_modules); `allowed`
 *  defaults to package.json's "dependencies". */
function bundle(name: string, source: string, allowed?: string[]) {
  const entry = join(dir, name + '.ts');
  writeFileSync(entry, source);
  const outdir = join(dir, name + '-out');
  const r = runNode(
    `import { bundleNode } from './build-console.mjs';
     bundleNode({ entries: [${JSON.stringify(entry)}], outdir: ${JSON.stringify(outdir)}${allowed ? ', allowed: ' + JSON.stringify(allowed) : ''} })
       .then(() => console.log('BUILT'))
       .catch((e) => { console.log(e.message); process.exit(1); });`,
  );
  return { ...r, entry, outdir };
}

test('a devDependency the bundle would require stops the build, naming the package and the file; nothing is written', () => {
  const dev = DEV_DEPENDENCIES.find((d) => !d.startsWith('@types/'))!;
  const r = bundle('uses-dev', `import fs from 'node:fs';\nimport path from 'path';\nimport Fastify from 'fastify';\nimport * as dev from '${dev}';\nexport const x = [fs, path, Fastify, dev];\n`);
  expect(r.ok).toBe(false);
  expect(r.output).toContain(`would require "${dev}", which is not in package.json "dependencies" (imported by ${r.entry})`);
  // Only the offender is named: fastify is a dependency, fs and path are node's.
  expect(r.output).not.toMatch(/would require "(fastify|fs|path|node:fs)"/);
  expect(existsSync(r.outdir)).toBe(false);
});

test('a scoped package is named by its scope and name, a subpath import by its package', () => {
  const r = bundle('scoped', `import a from '@example/not-a-dependency/lib/a';\nimport b from 'not-a-dependency/sub';\nexport const x = [a, b];\n`);
  expect(r.ok).toBe(false);
  expect(r.output).toContain('would require "@example/not-a-dependency"');
  expect(r.output).toContain('would require "not-a-dependency"');
});

test('a type-only import of a devDependency is no run-time requirement; an allowed package is required from node_modules', () => {
  const r = bundle('types-only', `import type { Document } from 'yaml';\nimport Fastify from 'fastify';\nexport function f(d: Document) { return [d, Fastify]; }\n`);
  expect(r.output).toContain('BUILT');
  const out = readFileSync(join(r.outdir, 'types-only.js'), 'utf8');
  expect(out).toContain('require("fastify")');
  expect(out).not.toContain('yaml');
  // The same devDependency, used and allowed, is required as a package (not bundled).
  const allowed = bundle('allowed', `import YAML from 'yaml';\nexport const p = YAML.parse;\n`, ['yaml']);
  expect(allowed.output).toContain('BUILT');
  expect(readFileSync(join(allowed.outdir, 'allowed.js'), 'utf8')).toContain('require("yaml")');
});

test('the console builds: two bundles and the detections\' thread needing exactly the "dependencies", the UI and schema.sql beside them', () => {
  const outdir = join(dir, 'console');
  const r = runNode(
    `import { buildConsole } from './build-console.mjs';
     await buildConsole({ outdir: ${JSON.stringify(outdir)}, quiet: true });
     console.log('BUILT');`,
  );
  expect(r.output).toContain('BUILT');
  expect(readdirSync(outdir).sort()).toEqual(['cli.js', 'cli.js.map', 'detect', 'main.js', 'main.js.map', 'schema.sql', 'ui']);
  // The thread runner.ts starts by file (src/console/assets.ts, DETECTION_WORKER).
  expect(readdirSync(join(outdir, 'detect')).sort()).toEqual(['worker.js', 'worker.js.map']);
  expect(readdirSync(join(outdir, 'ui')).sort()).toEqual(readdirSync(join(ROOT, 'src/console/ui')).sort());
  for (const f of readdirSync(join(ROOT, 'src/console/ui'))) {
    expect(readFileSync(join(outdir, 'ui', f), 'utf8')).toBe(readFileSync(join(ROOT, 'src/console/ui', f), 'utf8'));
  }
  expect(readFileSync(join(outdir, 'schema.sql'), 'utf8')).toBe(readFileSync(join(ROOT, 'deploy/clickhouse/schema.sql'), 'utf8'));
  // What the bundles require besides node's modules: every dependency, and nothing else (a
  // dependency no bundle requires would be installed for nothing).
  const required = new Set<string>();
  for (const f of ['cli.js', 'main.js', 'detect/worker.js']) {
    const code = readFileSync(join(outdir, f), 'utf8');
    // src/console/assets.ts: the copies beside the bundle (the thread reads no asset)
    if (f !== 'detect/worker.js') expect(code).toContain('var bundled = true;');
    for (const m of code.matchAll(/require(?:\.resolve)?\("([^"]+)"\)/g)) {
      const name = m[1].startsWith('@') ? m[1].split('/').slice(0, 2).join('/') : m[1].split('/')[0];
      if (!require('module').builtinModules.includes(name.replace(/^node:/, ''))) required.add(name);
    }
  }
  expect([...required].sort()).toEqual(DEPENDENCIES);
});
