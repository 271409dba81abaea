/**
 * npm run bench:probe -- FILE.conf [--engine E] [--only a,b]: instructions per request of each
 * location of an nginx http block (bench/probes/*.conf), counted as bench:instructions counts
 * them (nginx under valgrind, 100 then 400 requests on one keep-alive connection, the
 * difference / 300). Each location is a path `/NAME/`; a `# POST` comment after it sends the
 * benchmark's POST instead of its GET. Used to price candidate designs before choosing one.
 * --profile NAME: after counting that location, its functions by instructions per request (the
 * 400-request run's minus the 100-request run's, / 300); --inclusive counts callees too.
 */
import { readFileSync } from 'fs';
import { execFileSync } from 'child_process';
import { join, resolve } from 'path';
import { GET_PATH, POST_PATH, callgrindTotal, requireCommand, sendInTurn } from './requests';
import { startNginx } from '../test/helpers/nginx';
import { engineFromArgs, engineTempDir, innerPath } from '../test/helpers/engines';

const ROOT = resolve(__dirname, '..');
const args = process.argv.slice(2);
const ENGINE = engineFromArgs(args);

/** Functions by instructions per request: (the 400-request run - the 100-request run) / 300, so
 *  nginx's start and the configuration's compilation drop out. */
function perRequestProfile(f100: string, f400: string, inclusive: boolean): string {
  const read = (f: string) => {
    const out = new Map<string, number>();
    const text = execFileSync('callgrind_annotate', ['--inclusive=' + (inclusive ? 'yes' : 'no'), '--threshold=100', f], { encoding: 'utf8', maxBuffer: 1 << 28 });
    for (const line of text.split('\n')) {
      const m = /^\s*([\d,]+) \([^)]*\)\s+(.*?)(?: \[.*\])?$/.exec(line);
      if (m) out.set(m[2].replace(/^.*:(?=[^:]+$)/, ''), (out.get(m[2].replace(/^.*:(?=[^:]+$)/, '')) || 0) + Number(m[1].replace(/,/g, '')));
    }
    return out;
  };
  const a = read(f100);
  const b = read(f400);
  const rows = [...b].map(([fn, n]) => [fn, Math.round((n - (a.get(fn) || 0)) / 300)] as [string, number]);
  rows.sort((x, y) => y[1] - x[1]);
  return rows.slice(0, 45).map(([fn, n]) => String(n).padStart(10) + '  ' + fn).join('\n');
}

async function main(): Promise<void> {
  if (ENGINE.root === null) requireCommand('valgrind', 'valgrind');
  const file = args.find((a) => a.endsWith('.conf'));
  if (!file) throw new Error('usage: bench:probe -- FILE.conf [--engine E] [--only a,b]');
  const conf = readFileSync(resolve(file), 'utf8');
  const only = args.indexOf('--only') >= 0 ? args[args.indexOf('--only') + 1].split(',') : null;
  const locations: Array<[string, boolean]> = [];
  const re = /location \/([\w-]+)\/ \{( *# POST)?/g;
  for (let m = re.exec(conf); m !== null; m = re.exec(conf)) {
    if (only === null || only.indexOf(m[1]) >= 0) locations.push([m[1], m[2] !== undefined]);
  }
  const upstream = await startNginx({ http: readFileSync(join(ROOT, 'bench', 'upstream.conf'), 'utf8'), module: false });
  const dir = engineTempDir(ENGINE, 'api-sessions-probe-').host;
  const filled = conf.replace(/\{\{UPSTREAM_PORT\}\}/g, String(upstream.ports[0]));
  const rows: Array<[string, number]> = [];
  const profile = args.indexOf('--profile') >= 0 ? args[args.indexOf('--profile') + 1] : null;
  const inclusiveFlag = args.includes('--inclusive');
  try {
    for (const [name, post] of locations) {
      const counts: number[] = [];
      for (const n of [100, 400]) {
        const out = join(dir, `${name}-${n}.callgrind`);
        const m = await startNginx({ http: filled, module: !/^# no module/m.test(conf), wrapper: ['valgrind', '--tool=callgrind', '--callgrind-out-file=' + innerPath(ENGINE, out)], startTimeoutMs: 120000, stopTimeoutMs: 120000 });
        try {
          await sendInTurn(m.url('/' + name + (post ? POST_PATH : GET_PATH)), n, post, (status) => status < 500);
        } finally {
          await m.stop();
        }
        counts.push(await callgrindTotal(out));
      }
      if (profile === name) console.log(perRequestProfile(join(dir, `${name}-100.callgrind`), join(dir, `${name}-400.callgrind`), inclusiveFlag));
      const per = Math.round((counts[1] - counts[0]) / 300);
      rows.push([name, per]);
      console.log(`${name.padEnd(24)} ${String(per).padStart(10)}   ${rows.length > 1 ? String(per - rows[0][1]).padStart(10) : ''}`);
    }
  } finally {
    await upstream.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
