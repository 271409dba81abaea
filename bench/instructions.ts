/**
 * npm run bench:instructions: what a request costs, counted in CPU instructions by valgrind
 * (callgrind). Unlike requests/s these counts repeat exactly whatever else the machine does, so
 * a change's effect shows even on a busy machine.
 *
 * 1. nginx: the benchmark's nginx (bench/nginx.conf, one process under valgrind, no master) in
 *    front of the fast upstream; N requests one after another on one keep-alive connection, per
 *    location; per request = (count for 400 requests - count for 100) / 300. Only user-space
 *    instructions of nginx count: the kernel's share of a request (sockets) is not in them.
 * 2. njs CLI: the module's handlers alone on request objects made of plain values
 *    (bench/njs-harness.ts) for the `headers` and `bodies` scenarios; "parse" is what parsing
 *    $api_sessions_params adds (measured by keeping the text constant, which the module
 *    memoizes where the engine keeps state).
 * --cli-only skips part 1 (about a minute). --config-cache and --context-reuse N: bench/conf.ts. --engine debian12|trixie|sid|sid-qjs counts on that
 * engine (scripts/engines.sh; valgrind is in its root, with /proc mounted for the command only).
 */
import { execFileSync, spawnSync } from 'child_process';
import { readFileSync, writeFileSync, rmSync } from 'fs';
import { join, resolve } from 'path';
import { GET_HEADERS, GET_PATH, POST_BODY, POST_HEADERS, POST_PATH, callgrindTotal, locationParams, requireCommand, sendInTurn, upstreamBody } from './requests';
import type { HarnessScenario } from './harness-scenario';
import { measuredConf } from './conf';
import { startNginx } from '../test/helpers/nginx';
import { engineFromArgs, engineTempDir, inEngine, innerPath } from '../test/helpers/engines';

const ROOT = resolve(__dirname, '..');
const ENGINE = engineFromArgs(process.argv.slice(2));

function instructions(script: string, s: HarnessScenario, n: number): number {
  const file = script.replace(/\.js$/, `-${n}.js`);
  const code = readFileSync(script, 'utf8').replace(/export default ([\w$]+);\n$/, `$1.run(${JSON.stringify(s)}, ${n});\n`);
  writeFileSync(file, code);
  const argv = inEngine(ENGINE, ['valgrind', '--tool=callgrind', '--callgrind-out-file=/dev/null'].concat(ENGINE.njs as string[], [innerPath(ENGINE, file)]), { proc: true });
  const out = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8' });
  if (out.status !== 0) throw new Error('njs failed:\n' + out.stdout + out.stderr);
  const m = /refs:\s+([\d,]+)/.exec(out.stderr);
  if (!m) throw new Error('no instruction count from valgrind:\n' + out.stderr);
  return Number(m[1].replace(/,/g, ''));
}

function perRequest(script: string, s: HarnessScenario): number {
  return (instructions(script, s, 300) - instructions(script, s, 100)) / 200;
}

async function nginxCounts(dir: string): Promise<Array<{ location: string; per_request: number }>> {
  const upstream = await startNginx({ http: readFileSync(join(ROOT, 'bench', 'upstream.conf'), 'utf8') });
  const rows: Array<{ location: string; per_request: number }> = [];
  try {
    const conf = measuredConf(ROOT, ENGINE, process.argv.slice(2), { upstream: upstream.ports[0], stream: upstream.ports[0] });
    const locations: Array<[string, string, boolean]> = [
      ['plain_get', 'plain', false], ['floor_set', 'floor_set', false], ['builtin', 'builtin', false], ['headers', 'headers', false], ['headers_check', 'headers_check', false],
      ['plain_post', 'plain', true], ['floor', 'floor', true], ['bodies', 'bodies', true],
    ];
    for (const [name, location, post] of locations) {
      const counts: number[] = [];
      for (const n of [100, 400]) {
        const out = join(dir, `nginx-${name}-${n}.callgrind`);
        const m = await startNginx({ http: conf, wrapper: ['valgrind', '--tool=callgrind', '--callgrind-out-file=' + innerPath(ENGINE, out)], startTimeoutMs: 120000, stopTimeoutMs: 120000 });
        try {
          await sendInTurn(m.url('/' + location + (post ? POST_PATH : GET_PATH)), n, post, (status) => status === 200);
        } finally {
          await m.stop();
        }
        counts.push(await callgrindTotal(out));
      }
      rows.push({ location: name, per_request: Math.round((counts[1] - counts[0]) / 300) });
      if (!process.argv.includes('--json')) console.error(`counted ${name}`);
    }
  } finally {
    await upstream.stop();
  }
  return rows;
}

async function main(): Promise<void> {
  if (ENGINE.root === null) requireCommand('valgrind', 'valgrind');
  if (ENGINE.njs === null) requireCommand('njs', 'njs');
  const dir = engineTempDir(ENGINE, 'api-sessions-instr-').host;
  try {
    const { build } = await import(join(ROOT, 'build.mjs'));
    const script = join(dir, 'harness.js');
    await build({ entry: 'bench/njs-harness.ts', outfile: script, quiet: true, topLevelCheck: false });
    const scenarios: Array<[string, HarnessScenario]> = [
      ['builtin', { method: 'GET', uri: '/builtin' + GET_PATH, params: '', headers: GET_HEADERS, sameText: true, baseline: false }],
      ['headers', { method: 'GET', uri: '/headers' + GET_PATH, params: locationParams(ROOT, 'headers'), headers: GET_HEADERS, sameText: false, baseline: false }],
      ['bodies', {
        method: 'POST', uri: '/bodies' + POST_PATH, params: locationParams(ROOT, 'bodies'), headers: POST_HEADERS,
        requestText: POST_BODY, responseBody: upstreamBody(ROOT), sameText: false, baseline: false,
      }],
    ];
    const rows: Array<{ location: string; per_request: number; parse: number }> = [];
    for (const [name, s] of scenarios) {
      const base = perRequest(script, { ...s, baseline: true });
      const full = perRequest(script, s) - base;
      const memo = perRequest(script, { ...s, sameText: true }) - base;
      rows.push({ location: name, per_request: Math.round(full), parse: Math.round(full - memo) });
    }
    const v = inEngine(ENGINE, [(ENGINE.njs as string[])[0], '-v']);
    const version = execFileSync(v[0], v.slice(1), { encoding: 'utf8' }).trim() + (ENGINE.qjs ? ' (QuickJS)' : '') + ', engine ' + ENGINE.name;
    const nginxRows = process.argv.includes('--cli-only') ? [] : await nginxCounts(dir);
    if (process.argv.includes('--json')) console.log(JSON.stringify({ njs: version, nginx: nginxRows, cli: rows }, null, 2));
    else {
      if (nginxRows.length > 0) {
        const by = (n: string) => nginxRows.find((r) => r.location === n)!.per_request;
        console.log('nginx under valgrind: user-space instructions per request\n');
        console.log('location     per request   beyond plain   beyond the floor');
        for (const r of nginxRows) {
          const post = /post|^floor$|bodies/.test(r.location);
          const plain = by(post ? 'plain_post' : 'plain_get');
          const floor = by(post ? 'floor' : 'floor_set');
          const beyondFloor = /plain|floor/.test(r.location) ? '' : String(r.per_request - floor).padStart(16);
          console.log(`${r.location.padEnd(12)} ${String(r.per_request).padStart(11)}   ${String(r.per_request - plain).padStart(12)}   ${beyondFloor}`);
        }
        console.log('');
      }
      console.log(`njs ${version} CLI under valgrind: instructions per request (harness cost subtracted)\n`);
      console.log('location   per request   of which parsing $api_sessions_params');
      for (const r of rows) {
        console.log(`${r.location.padEnd(10)} ${String(r.per_request).padStart(11)}   ${String(r.parse).padStart(9)} (${Math.round((100 * r.parse) / r.per_request)}%)`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
