// Bundles src/njs/index.ts into dist/api_sessions.js, one njs module that runs on njs 0.7.9
// (Debian 12) and on 0.8/0.9 with both engines.
//
// The gate has two parts:
// 1. esbuild's `supported` table marks what njs 0.7.9 cannot parse; esbuild cannot lower those
//    constructs, so it stops with the file and line instead of emitting code njs refuses.
// 2. A line check of the sources for methods and globals that TypeScript's lib still offers
//    but njs lacks (Map, Set, Array.from, ...), again with file and line.
import * as esbuild from 'esbuild';
import { readFileSync, writeFileSync, readdirSync, statSync, mkdirSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';
import { createHash } from 'node:crypto';

const root = new URL('.', import.meta.url).pathname;

/** What the njs 0.7.9 engine refuses (see ../shared/njs.md). */
export const NJS_UNSUPPORTED = {
  'for-of': false,
  destructuring: false,
  'default-argument': false,
  'rest-argument': true,
  'array-spread': false,
  class: false,
  'class-field': false,
  'class-private-field': false,
  'class-private-method': false,
  'class-static-field': false,
  generator: false,
  'async-generator': false,
  'for-await': false,
  'optional-chain': false, // lowered by esbuild
  'logical-assignment': false, // lowered by esbuild
  'object-rest-spread': false, // lowered by esbuild
  'optional-catch-binding': false, // lowered by esbuild (njs lacks `catch {}`)
  'nullish-coalescing': true,
  bigint: false,
  'regexp-dot-all-flag': false,
  'regexp-unicode-property-escapes': false,
  'regexp-lookbehind-assertions': false,
  'regexp-match-indices': false,
  'regexp-sticky-and-unicode-flags': false,
};

/** Globals and methods njs 0.7.9 lacks although TypeScript's es2015+ libs declare them. */
const FORBIDDEN = [
  [/\bnew\s+(Map|Set|WeakMap|WeakSet|Proxy)\b/, 'Map/Set/WeakMap/Proxy do not exist in njs 0.7.9'],
  [/\bArray\.from\(/, 'Array.from arrived in njs 0.8.0'],
  [/\.replaceAll\(/, 'String.prototype.replaceAll arrived in njs 0.7.10'],
  [/\.(flat|flatMap)\(/, 'Array.prototype.flat/flatMap are missing in njs'],
  [/\bObject\.fromEntries\(/, 'Object.fromEntries is missing in njs'],
  [/\.at\(-?\d/, 'Array/String .at() is missing in njs'],
  [/\.matchAll\(/, 'String.prototype.matchAll is missing in njs'],
  [/\w\(\s*\.\.\.\w/, 'call spread f(...a) is missing in njs'],
  [/\brequire\(/, "QuickJS has no require(): use `import x from 'crypto'`"],
  [/\/[gimy]*[su][gimy]*\s*[;,).]/, null], // checked below: regex s/u flags
];

function sources(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** Returns "file:line: why" for every forbidden use in the given files or folders. */
export function checkSources(paths) {
  const problems = [];
  const files = [];
  for (const p of paths) {
    if (statSync(p).isDirectory()) files.push(...sources(p));
    else files.push(p);
  }
  for (const file of files) {
    const lines = readFileSync(file, 'utf8').split('\n');
    lines.forEach((line, i) => {
      const code = line.replace(/\/\/.*$/, '').replace(/'(?:[^'\\]|\\.)*'/g, "''");
      if (/^\s*(\/\*|\*)/.test(code)) return; // a block comment line
      for (const [re, why] of FORBIDDEN) {
        if (why && re.test(code)) problems.push(`${relative(root, file)}:${i + 1}: ${why}\n    ${line.trim()}`);
      }
      const regexLiteral = code.match(/(^|[=(,:!&|?{};]|return)\s*\/((?:[^/\\\n]|\\.)+)\/([a-z]*)/);
      if (regexLiteral && /[su]/.test(regexLiteral[3])) {
        problems.push(`${relative(root, file)}:${i + 1}: regular expression flags s/u are missing in njs\n    ${line.trim()}`);
      }
    });
  }
  return problems;
}

/**
 * njs 0.7.9 runs a module's top-level code again for every request (measured: a 20,000-step
 * loop at top level costs 550 us per request, 300 top-level object literals about 60 us), and for
 * every request of the http block, not only of the locations that call it. So the bundle's top
 * level may hold only function declarations, imports, primitive constants, stateless regular
 * expressions and the exported handler object. Returns the names of other top-level values.
 */
export function checkTopLevel(code) {
  const problems = [];
  const lines = code.split('\n');
  lines.forEach((line, i) => {
    const m = /^(?:var|let|const)\s+([\w$]+)\s*=\s*(.*)$/.exec(line);
    if (!m) return;
    const [, name, init] = m;
    const primitive = /^(null|true|false|-?\d[\d.e_]*|"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*');$/.test(init);
    const handlers = /^\{ [\w$]+(, [\w$]+)* \};$/.test(init) && code.endsWith('export default ' + name + ';\n');
    // A regular expression without g or y keeps no state between uses: one per module instance
    // (made with the instance, which wrapBundle defers to the first call) serves every request.
    const pattern = /^\/.+\/[imsu]*;$/.test(init);
    if (!primitive && !handlers && !pattern) problems.push(`top-level value "${name}" is built again for every request by njs 0.7.9: move it into the function that uses it\n    ${line.trim()}`);
  });
  return problems;
}

/**
 * Moves the bundle's code into one function that runs at the first handler call. njs 0.7.9 makes
 * every top-level function of every imported module anew for each request of the http block that
 * runs any njs: counted with `npm run bench:instructions`, importing this bundle made a constant
 * `js_set` in another location cost about 43,000 more instructions per request (200 trivial
 * top-level functions: 44,000; the same inside a function: 3,000). Wrapped, only requests that
 * call the module pay it. The instance is kept in a module variable: per request on the njs engine
 * (each request has its own copy of the module), shared on QuickJS (where contexts are reused and
 * the configuration memo then survives); it holds code and immutable parses only, no request state.
 */
export function wrapBundle(code) {
  const end = /\nexport default ([\w$]+);\n$/.exec(code);
  if (!end) throw new Error('unexpected bundle ending: ' + code.slice(-200));
  const object = end[1];
  // The handler object, wherever index.ts exports it (its handlers come first there).
  const decl = new RegExp('\\nvar ' + object.replace(/\$/g, '\\$') + ' = \\{ ([\\w$]+(?:, [\\w$]+)*) \\};\\n').exec(code);
  if (!decl) throw new Error('no handler object "' + object + '" in the bundle');
  const list = decl[1];
  const handlers = list.split(', ');
  const rest = code.slice(0, decl.index) + '\n' + code.slice(decl.index + decl[0].length, code.length - end[0].length);
  const lines = rest.split('\n');
  const imports = lines.filter((l) => /^import [\w$]+ from "[\w:]+";$/.test(l));
  const body = lines.filter((l) => !/^import [\w$]+ from "[\w:]+";$/.test(l));
  return imports.join('\n') + (imports.length ? '\n' : '') +
    'function apiSessionsModule() {\n' + body.join('\n') + '\n' +
    `  return { ${list} };\n}\n` +
    'var apiSessionsInstance = null;\n' +
    'function apiSessions() {\n' +
    '  if (apiSessionsInstance === null) apiSessionsInstance = apiSessionsModule();\n' +
    '  return apiSessionsInstance;\n}\n' +
    handlers.map((h) => `function ${h}(a, b, c) {\n  return apiSessions().${h}(a, b, c);\n}\n`).join('') +
    `var ${object} = { ${list} };\nexport default ${object};\n`;
}

/** A digest of the module's sources (src/njs, src/shared): the build's id in the module. */
function sourcesDigest() {
  const hash = createHash('sha256');
  for (const file of [...sources(join(root, 'src', 'njs')), ...sources(join(root, 'src', 'shared'))].sort()) {
    hash.update(relative(root, file) + '\0' + readFileSync(file) + '\0');
  }
  return hash.digest('hex').slice(0, 16);
}

/** The full pipeline's file: the entry reaches it through full-pipeline.ts (see there). */
const FULL_PIPELINE = resolve(root, 'src/njs/full-pipeline.ts');
const PIPELINE = resolve(root, 'src/njs/pipeline.ts');

/** One esbuild pass over `entry`, checked; full-pipeline.ts becomes a call of apiSessionsFull(). */
async function bundle(entry, outfile, topLevelCheck) {
  const lazy = { used: false };
  const result = await esbuild.build({
    define: { API_SESSIONS_BUILD: JSON.stringify(sourcesDigest()) },
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2017',
    supported: NJS_UNSUPPORTED,
    external: ['crypto'],
    write: false,
    metafile: true,
    legalComments: 'none',
    charset: 'ascii', // njs reads the file as bytes: keep it plain ASCII
    logLevel: 'silent',
    plugins: [{
      name: 'full-pipeline',
      setup(b) {
        b.onLoad({ filter: /full-pipeline\.ts$/ }, (args) => {
          if (resolve(args.path) !== FULL_PIPELINE) return undefined;
          lazy.used = true;
          return { contents: 'export function fullPipeline() { return apiSessionsFull(); }\n', loader: 'js' };
        });
      },
    }],
  });
  // Check exactly the files that went into the bundle.
  const inputs = Object.keys(result.metafile.inputs).map((f) => resolve(root, f)).filter((f) => f !== FULL_PIPELINE);
  const problems = checkSources(inputs);
  if (problems.length > 0) {
    throw new Error('njs compatibility check failed:\n' + problems.join('\n'));
  }
  let code = result.outputFiles[0].text;
  // njs before 0.7.12 refuses `export { x as default }`.
  code = code.replace(/export\s*\{\s*([\w$]+)\s+as\s+default\s*\};?\s*$/, 'export default $1;\n');
  if (!/export default [\w$]+;\n$/.test(code)) throw new Error('unexpected bundle ending: ' + code.slice(-200));
  const topLevel = topLevelCheck ? checkTopLevel(code) : [];
  if (topLevel.length > 0) throw new Error('njs per-request cost check failed:\n' + topLevel.join('\n'));
  return { code, lazy: lazy.used };
}

/**
 * The full pipeline's bundle as one function, apiSessionsFull(), that makes it at its first call
 * and hands back its handlers (the instance kept as apiSessionsModule's is), and its imports.
 */
export function wrapPipeline(code) {
  const end = /\nexport default ([\w$]+);\n$/.exec(code);
  if (!end) throw new Error('unexpected bundle ending: ' + code.slice(-200));
  const lines = code.slice(0, code.length - end[0].length).split('\n');
  const isImport = (l) => /^import [\w$]+ from "[\w:]+";$/.test(l);
  return {
    imports: lines.filter(isImport),
    code: 'function apiSessionsFullModule() {\n' + lines.filter((l) => !isImport(l)).join('\n') + '\n' +
      `  return ${end[1]};\n}\n` +
      'var apiSessionsFullInstance = null;\n' +
      'function apiSessionsFull() {\n' +
      '  if (apiSessionsFullInstance === null) apiSessionsFullInstance = apiSessionsFullModule();\n' +
      '  return apiSessionsFullInstance;\n}\n',
  };
}

export async function build({ entry = 'src/njs/index.ts', outfile = 'dist/api_sessions.js', quiet = false, topLevelCheck = true } = {}) {
  const main = await bundle(resolve(root, entry), resolve(root, outfile), topLevelCheck);
  let code = main.code;
  code = wrapBundle(code);
  if (main.lazy) {
    const full = wrapPipeline((await bundle(PIPELINE, resolve(root, outfile), topLevelCheck)).code);
    const lines = code.split('\n');
    let n = 0;
    while (n < lines.length && /^import [\w$]+ from "[\w:]+";$/.test(lines[n])) n++;
    const imports = lines.slice(0, n);
    for (const l of full.imports) if (imports.indexOf(l) < 0) imports.push(l);
    code = imports.join('\n') + (imports.length ? '\n' : '') + full.code + lines.slice(n).join('\n');
  }
  mkdirSync(dirname(resolve(root, outfile)), { recursive: true });
  writeFileSync(resolve(root, outfile), code);
  if (!quiet) console.log(`built ${outfile} (${code.length} bytes)`);
  return code;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  // The njs bundle first, as before; then the console's built form (build-console.mjs).
  const { buildConsole, buildCheck, buildDemoApi } = await import('./build-console.mjs');
  build()
    .then(() => buildConsole())
    .then(() => buildCheck())
    .then(() => buildDemoApi())
    .catch((e) => {
      // esbuild's errors carry file and line; print them as a compiler would.
      if (e.errors) {
        for (const m of e.errors) {
          const loc = m.location ? `${m.location.file}:${m.location.line}:${m.location.column}: ` : '';
          console.error(`${loc}error: ${m.text}${m.location ? '\n    ' + m.location.lineText : ''}`);
        }
      } else console.error(e.message);
      process.exit(1);
    });
}
