/**
 * npm run bench:instructions: what the module's handlers cost per request, counted in CPU
 * instructions by valgrind (callgrind) in the njs CLI. Unlike requests/s these counts repeat
 * exactly whatever else the machine does, so a change's effect shows even on a busy machine.
 * The scenarios are the benchmark's `headers` and `bodies` locations (bench/nginx.conf, same
 * requests as bench/requests.ts). Per request = (count for 300 requests - count for 100) / 200,
 * minus the harness's own cost; "parse" is what parsing $api_sessions_params adds (measured by
 * keeping the text constant, which the module memoizes where the engine keeps state).
 */
import { execFileSync, spawnSync } from 'child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join, resolve } from 'path';
import { GET_HEADERS, GET_PATH, POST_BODY, POST_HEADERS, POST_PATH, locationParams, upstreamBody } from './requests';
import type { HarnessScenario } from './harness-scenario';

const ROOT = resolve(__dirname, '..');
const NJS = process.env.NJS_BIN || 'njs';

function require_(bin: string, pkg: string): void {
  if (spawnSync('sh', ['-c', 'command -v ' + bin]).status !== 0) {
    console.error(`${bin} is not installed: apt-get install -y ${pkg}, then run again.`);
    process.exit(2);
  }
}

function instructions(script: string, s: HarnessScenario, n: number): number {
  const file = script.replace(/\.js$/, `-${n}.js`);
  const code = readFileSync(script, 'utf8').replace(/export default ([\w$]+);\n$/, `$1.run(${JSON.stringify(s)}, ${n});\n`);
  writeFileSync(file, code);
  const out = spawnSync('valgrind', ['--tool=callgrind', '--callgrind-out-file=/dev/null', NJS, file], { encoding: 'utf8' });
  if (out.status !== 0) throw new Error('njs failed:\n' + out.stdout + out.stderr);
  const m = /refs:\s+([\d,]+)/.exec(out.stderr);
  if (!m) throw new Error('no instruction count from valgrind:\n' + out.stderr);
  return Number(m[1].replace(/,/g, ''));
}

function perRequest(script: string, s: HarnessScenario): number {
  return (instructions(script, s, 300) - instructions(script, s, 100)) / 200;
}

async function main(): Promise<void> {
  require_('valgrind', 'valgrind');
  require_(NJS, 'njs');
  const dir = mkdtempSync(join(tmpdir(), 'api-sessions-instr-'));
  try {
    const { build } = await import(join(ROOT, 'build.mjs'));
    const script = join(dir, 'harness.js');
    await build({ entry: 'bench/njs-harness.ts', outfile: script, quiet: true, topLevelCheck: false });
    const scenarios: Array<[string, HarnessScenario]> = [
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
    const version = execFileSync(NJS, ['-v'], { encoding: 'utf8' }).trim();
    if (process.argv.includes('--json')) console.log(JSON.stringify({ njs: version, rows }, null, 2));
    else {
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
