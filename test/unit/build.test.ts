/**
 * The build is the syntax gate: what njs 0.7.9 cannot run stops the build at its file and line.
 * build.mjs is an ES module, so these tests drive it in a child node process.
 */
import { mkdtempSync, writeFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { runNode } from '../helpers/run-node';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'api-sessions-build-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function buildEntry(name: string, source: string) {
  const entry = join(dir, name);
  writeFileSync(entry, source);
  return runNode(
    `import { build } from './build.mjs';
     build({ entry: ${JSON.stringify(entry)}, outfile: ${JSON.stringify(join(dir, name + '.js'))}, quiet: true })
       .then(() => console.log('BUILT'))
       .catch((e) => { for (const m of e.errors || []) console.log(m.location.file + ':' + m.location.line + ': ' + m.text); if (!e.errors) console.log(e.message); process.exit(1); });`,
  );
}

test.each([
  ['for-of', 'const a = [1];\nlet s = 0;\nfor (const x of a) s += x;\nexport default { s };\n', 3, /for-of/],
  ['destructuring', 'const o = { a: 1 };\nconst { a } = o;\nexport default { a };\n', 2, /destructuring/],
  ['class', 'export class A {}\nexport default { A };\n', 1, /class/],
  ['default argument', 'function f(a = 1) { return a; }\nexport default { f };\n', 1, /default/],
  ['array spread', 'const a = [1];\nconst b = [...a];\nexport default { b };\n', 2, /spread/],
])('%s stops the build at its line', (_name, source, line, what) => {
  const r = buildEntry('bad.ts', source);
  expect(r.ok).toBe(false);
  expect(r.output).toContain('bad.ts:' + line + ':');
  expect(r.output).toMatch(what);
});

test('what esbuild lowers (optional chaining, ??=) builds, and the bundle ends in a default export njs 0.7.9 reads', () => {
  const r = buildEntry('ok.ts', 'function v(o: any) {\n  let x = o?.a?.b;\n  x ??= 2;\n  return x;\n}\nexport default { v };\n');
  expect(r.output).toContain('BUILT');
  const out = require('fs').readFileSync(join(dir, 'ok.ts.js'), 'utf8');
  expect(out).not.toContain('?.');
  expect(out).toMatch(/export default [\w$]+;\n$/);
});

test('methods and globals njs 0.7.9 lacks are refused with file and line', () => {
  const src = join(dir, 'src');
  require('fs').mkdirSync(src);
  writeFileSync(join(src, 'a.ts'), 'const m = new Map();\nconst x = Array.from([1]);\nconst ok = 1; // new Map() in a comment is fine\nconst y = "a".replaceAll("a", "b");\n');
  const r = runNode(`import { checkSources } from './build.mjs'; console.log(JSON.stringify(checkSources([${JSON.stringify(src)}])));`);
  const problems: string[] = JSON.parse(r.output.trim().split('\n').pop() as string);
  expect(problems.map((p) => p.split('\n')[0])).toEqual([
    expect.stringMatching(/a\.ts:1: Map\/Set/),
    expect.stringMatching(/a\.ts:2: Array\.from/),
    expect.stringMatching(/a\.ts:4: String\.prototype\.replaceAll/),
  ]);
});

test('the shipped sources pass the check', () => {
  const r = runNode(`import { checkSources } from './build.mjs'; console.log(JSON.stringify(checkSources(['src/njs', 'src/shared'])));`);
  expect(JSON.parse(r.output.trim())).toEqual([]);
});

test('a top-level array, object or regular expression stops the build: njs 0.7.9 rebuilds it for every request', () => {
  const r = buildEntry('toplevel.ts', 'const NAMES = ["a", "b"];\nfunction f(x: string) { return NAMES.indexOf(x); }\nexport default { f };\n');
  expect(r.ok).toBe(false);
  expect(r.output).toMatch(/top-level value "NAMES" is built again for every request/);
  const ok = buildEntry('toplevel-ok.ts', 'const LIMIT = 16;\nconst NAME = "x";\nfunction f(x: string) { return ["a"].indexOf(x) + LIMIT + NAME.length; }\nexport default { f };\n');
  expect(ok.output).toContain('BUILT');
});

test('the bundle\'s code sits in one function made at the first handler call; the handlers keep their names and work', () => {
  const r = buildEntry(
    'wrapped.ts',
    'import crypto from "crypto";\nconst N = 2;\nfunction helper(x: number) { return x * N; }\nfunction one(x: number) { return helper(x) + 1; }\n' +
      'function two(a: number, b: string) { return crypto.createHash("sha256").update(b).digest("hex").slice(0, a); }\nexport default { one, two };\n',
  );
  expect(r.output).toContain('BUILT');
  const out: string = require('fs').readFileSync(join(dir, 'wrapped.ts.js'), 'utf8');
  // top level: the import, the module function, its instance, the handler wrappers, the export
  const topLevel = out.split('\n').filter((l) => /^(import|function|var|let|const|export) /.test(l));
  expect(topLevel).toEqual([
    'import crypto from "crypto";',
    'function apiSessionsModule() {',
    'var N = 2;', // inside the module function: esbuild's lines are not indented
    'function helper(x) {',
    'function one(x) {',
    'function two(a, b) {',
    'var apiSessionsInstance = null;',
    'function apiSessions() {',
    'function one(a, b, c) {',
    'function two(a, b, c) {',
    'var wrapped_default = { one, two };',
    'export default wrapped_default;',
  ]);
  // and it runs: the wrappers hand their arguments to the module's handlers
  const run = runNode(
    `import m from ${JSON.stringify(join(dir, 'wrapped.ts.js'))}; console.log(m.one(3), m.two(4, 'x'));`,
  );
  expect(run.output.trim()).toBe('7 2d71');
});
