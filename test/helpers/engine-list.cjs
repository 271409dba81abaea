/**
 * The njs generations the project runs on, by name (scripts/engines.sh makes the roots):
 *   debian12  the host's nginx 1.22 + njs 0.7.9 (NGINX_BIN overrides the binary: then "custom")
 *   trixie    nginx 1.26 + njs 0.8.9 in a Debian trixie root, njs engine
 *   sid       nginx 1.30 + njs 1.0 in a Debian sid root, njs engine
 *   sid-qjs   the sid root with `js_engine qjs` (QuickJS)
 * Plain CommonJS: jest.config.cjs reads it to make one test project per engine, and the
 * TypeScript helpers (engines.ts) read it to run nginx and the njs CLI of an engine.
 */
'use strict';
const { existsSync, readFileSync } = require('fs');
const { join } = require('path');

const ENGINES_DIR = process.env.API_SESSIONS_ENGINES_DIR || '/var/cache/api-sessions/engines';
const SETUP = 'scripts/engines.sh setup';

const DEFINITIONS = [
  { name: 'debian12', suite: null, qjs: false, njs: '0.7.9' },
  { name: 'trixie', suite: 'trixie', qjs: false, njs: '0.8.9' },
  { name: 'sid', suite: 'sid', qjs: false, njs: '1.0' },
  { name: 'sid-qjs', suite: 'sid', qjs: true, njs: '1.0' },
];
const NAMES = DEFINITIONS.map((d) => d.name);

/** An engine's facts, and `why` it cannot run here (null when it can). */
function engine(name) {
  const d = DEFINITIONS.find((x) => x.name === name) || (name === 'custom' ? { name, suite: null, qjs: false } : null);
  if (!d) throw new Error(`unknown engine "${name}": expected one of ${NAMES.join(', ')}`);
  const jsModule = '/usr/lib/nginx/modules/ngx_http_js_module.so';
  if (d.suite === null) {
    const nginxBin = process.env.NGINX_BIN || '/usr/sbin/nginx';
    const hostModule = process.env.NGINX_JS_MODULE || jsModule;
    const njsBin = process.env.NJS_BIN || '/usr/bin/njs';
    let why = null;
    if (!existsSync(nginxBin)) why = `no nginx at ${nginxBin}: apt-get install nginx-light libnginx-mod-http-js njs`;
    else if (!existsSync(hostModule)) why = `no js module at ${hostModule}: apt-get install libnginx-mod-http-js`;
    return {
      name: process.env.NGINX_BIN && name === 'debian12' ? 'custom' : name,
      root: null, qjs: false, nginxBin, jsModule: hostModule,
      njs: existsSync(njsBin) ? [njsBin] : null,
      why,
    };
  }
  const root = join(ENGINES_DIR, d.suite);
  let why = null;
  if (!existsSync(join(root, '.api-sessions-root'))) why = `the ${d.suite} root is not set up: run \`sudo ${SETUP} ${d.suite}\``;
  else if (typeof process.getuid === 'function' && process.getuid() !== 0) why = `running it needs root (chroot into ${root})`;
  return {
    name: d.name, root, qjs: d.qjs, nginxBin: '/usr/sbin/nginx', jsModule,
    // QuickJS's CLI reads a file with `import` only in module mode (-m); the njs engine's CLI
    // runs scripts (in its module mode constructors and getters see `this` undefined).
    njs: ['/usr/bin/njs'].concat(d.qjs ? ['-n', 'QuickJS', '-m'] : []),
    why,
  };
}

/** The engines a test run covers: $API_SESSIONS_ENGINES (comma-separated) or all four. */
function selectedEngines() {
  const list = (process.env.API_SESSIONS_ENGINES || NAMES.join(','))
    .split(',').map((s) => s.trim()).filter((s) => s !== '');
  return list.map(engine);
}

/** The engine of this process: a jest project's global, $API_SESSIONS_ENGINE, else debian12. */
function currentEngine() {
  const name = globalThis.API_SESSIONS_ENGINE || process.env.API_SESSIONS_ENGINE || 'debian12';
  return engine(name === 'custom' ? 'debian12' : name);
}

module.exports = { ENGINES_DIR, NAMES, engine, selectedEngines, currentEngine };
