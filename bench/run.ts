/**
 * npm run bench: what the module costs against plain nginx, measured in one run.
 *
 * One nginx (one worker, temp prefix, 127.0.0.1, free ports) in front of a fast upstream (a
 * second nginx answering from memory over keep-alive connections). Locations measured in
 * alternation over several rounds with wrk, reporting the median of rounds:
 *   plain      proxying + a hand-written escape=json access_log of the same request facts
 *   floor_set  the same with an njs js_set returning a constant record (the least for header-only work)
 *   floor      floor_set + a body filter that only passes chunks on (the least for body work)
 *   headers    the module: grouping by a cookie, a header and a JWT claim + 5 context params
 *   bodies     the module: 1 KiB JSON request, JSON response, the seeds' response-body key + 10 params
 *   builtin    the module with nothing configured (the built-in set, then IP + User-Agent)
 *   headers_check  headers + `if ($api_sessions_blocked)` with no block list loaded
 * GET locations (plain, floor_set, builtin, headers) get the same GET request; POST ones (plain, floor,
 * bodies) the same 1 KiB JSON POST, so each ratio compares like with like.
 *
 * Also: latency with one connection (no queueing: at 16 connections a request mostly waits behind
 * the others, so the p99 there follows throughput), added time to first byte of a streamed
 * response with the body filter on, and the worker's
 * RSS before and after a long run. --short: a quick run that proves the benchmark works (CI).
 * --config-cache, --context-reuse N: engine options (bench/conf.ts).
 * --json: the same as JSON. No speed is asserted anywhere: the targets are read off the report.
 */
import { execFileSync, spawnSync } from 'child_process';
import { readFileSync, writeFileSync, mkdtempSync, rmSync, existsSync, openSync, readSync, closeSync } from 'fs';
import os from 'os';
import { tmpdir } from 'os';
import { join } from 'path';
import http from 'http';
import net from 'net';
import { startNginx, Nginx, ROOT, nginxVersion } from '../test/helpers/nginx';
import { engineFromArgs, inEngine, Engine } from '../test/helpers/engines';
import { GET_SCRIPT, POST_SCRIPT, GET_PATH, POST_PATH, requireCommand } from './requests';
import { measuredConf } from './conf';

const args = process.argv.slice(2);
/** --engine debian12|trixie|sid|sid-qjs (scripts/engines.sh): both nginx run on it. */
const ENGINE = engineFromArgs(args);
const SHORT = args.includes('--short');
const JSON_OUT = args.includes('--json');
const opt = (name: string, dflt: number) => {
  const i = args.indexOf('--' + name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const ROUNDS = opt('rounds', SHORT ? 1 : 5);
const DURATION = opt('duration', SHORT ? 1 : 5);
const CONNECTIONS = opt('connections', 16);
const RSS_REQUESTS = opt('rss-requests', SHORT ? 20000 : 1000000);
const TTFB_TRIALS = opt('ttfb-trials', SHORT ? 5 : 30);

const log = (...a: unknown[]) => {
  if (!JSON_OUT) console.log(...a);
  else console.error(...a);
};

interface Run {
  rps: number;
  p50_ms: number;
  p99_ms: number;
}

function toMs(v: string): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(v.trim());
  if (!m) return NaN;
  const n = Number(m[1]);
  return m[2] === 'us' ? n / 1000 : m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : n * 60000;
}

function wrk(bin: string, url: string, script: string, seconds: number, connections = CONNECTIONS): Run {
  const out = execFileSync(bin, ['-t1', '-c' + connections, '-d' + seconds + 's', '--latency', '-s', script, url], {
    encoding: 'utf8',
  });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)![1]);
  const p50 = toMs(/\s50%\s+(\S+)/.exec(out)![1]);
  const p99 = toMs(/\s99%\s+(\S+)/.exec(out)![1]);
  if (/Non-2xx or 3xx responses/.test(out) || /Socket errors/.test(out)) {
    throw new Error('wrk saw errors for ' + url + ':\n' + out);
  }
  return { rps, p50_ms: p50, p99_ms: p99 };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function workerPid(masterPid: number): number {
  const out = spawnSync('pgrep', ['-P', String(masterPid)], { encoding: 'utf8' }).stdout.trim().split('\n');
  return Number(out[0]);
}

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

/** A streaming upstream: the first event at once, the rest after a pause. */
async function startStreamUpstream(): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.write('{"token":"stream-1","events":[');
    const t = setTimeout(() => res.end('1]}'), 150);
    req.on('close', () => clearTimeout(t));
  });
  server.keepAliveTimeout = 1;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

function ttfb(url: string): Promise<number> {
  return new Promise((res, rej) => {
    const start = process.hrtime.bigint();
    const req = http.get(url, { agent: false }, (r) => {
      r.once('data', () => {
        res(Number(process.hrtime.bigint() - start) / 1e6);
        r.resume();
      });
    });
    req.on('error', rej);
  });
}

async function main(): Promise<void> {
  const wrkBin = requireCommand('wrk', 'wrk');
  const dir = mkdtempSync(join(tmpdir(), 'api-sessions-bench-'));
  const getScript = join(dir, 'get.lua');
  const postScript = join(dir, 'post.lua');
  writeFileSync(getScript, GET_SCRIPT);
  writeFileSync(postScript, POST_SCRIPT);
  if (!existsSync(join(ROOT, 'dist', 'api_sessions.js'))) throw new Error('run npm run build first');

  let upstream: Nginx | undefined;
  let measured: Nginx | undefined;
  let stream: Awaited<ReturnType<typeof startStreamUpstream>> | undefined;
  try {
    upstream = await startNginx({ http: readFileSync(join(ROOT, 'bench', 'upstream.conf'), 'utf8') });
    stream = await startStreamUpstream();
    const conf = measuredConf(ROOT, ENGINE, args, { upstream: upstream.ports[0], stream: stream.port });
    measured = await startNginx({ http: conf });
    const url = (loc: string, post: boolean) =>
      measured!.url(`/${loc}` + (post ? POST_PATH : GET_PATH));

    // sanity: every location answers and the module locations write records
    for (const [loc, post] of [['plain', false], ['floor_set', false], ['floor', true], ['builtin', false], ['headers', false], ['headers_check', false], ['bodies', true]] as const) {
      wrk(wrkBin, url(loc, post), post ? postScript : getScript, 1);
    }
    await new Promise((r) => setTimeout(r, 1200)); // buffered logs flush within a second
    const firstRecord = (name: string) => {
      const fd = openSync(join(measured!.prefix, 'logs', name + '.log'), 'r');
      const buf = Buffer.alloc(65536);
      const n = readSync(fd, buf, 0, buf.length, 0);
      closeSync(fd);
      return JSON.parse(buf.subarray(0, n).toString().split('\n')[0] || '{}');
    };
    const samples = { headers: firstRecord('headers'), bodies: firstRecord('bodies') };

    const variants: Array<[string, string, boolean]> = [
      ['plain_get', 'plain', false],
      ['floor_set', 'floor_set', false],
      ['builtin', 'builtin', false],
      ['headers', 'headers', false],
      ['headers_check', 'headers_check', false],
      ['plain_post', 'plain', true],
      ['floor', 'floor', true],
      ['bodies', 'bodies', true],
    ];
    const runs: Record<string, Run[]> = {};
    for (let round = 1; round <= ROUNDS; round++) {
      for (const [name, loc, post] of variants) {
        const r = wrk(wrkBin, url(loc, post), post ? postScript : getScript, DURATION);
        (runs[name] = runs[name] || []).push(r);
        log(`round ${round}/${ROUNDS} ${name.padEnd(13)} ${r.rps.toFixed(0).padStart(7)} req/s  p50 ${r.p50_ms.toFixed(2)} ms  p99 ${r.p99_ms.toFixed(2)} ms`);
      }
    }
    const med: Record<string, Run> = {};
    for (const [name] of variants) {
      med[name] = {
        rps: median(runs[name].map((r) => r.rps)),
        p50_ms: median(runs[name].map((r) => r.p50_ms)),
        p99_ms: median(runs[name].map((r) => r.p99_ms)),
      };
    }
    const us = (rps: number) => 1e6 / rps;
    const ratios = {
      floor_set_vs_plain: med.floor_set.rps / med.plain_get.rps,
      floor_vs_plain: med.floor.rps / med.plain_post.rps,
      builtin_vs_plain: med.builtin.rps / med.plain_get.rps,
      headers_vs_plain: med.headers.rps / med.plain_get.rps,
      bodies_vs_plain: med.bodies.rps / med.plain_post.rps,
    };
    const addedUs = {
      headers_beyond_floor_set: us(med.headers.rps) - us(med.floor_set.rps),
      bodies_beyond_floor: us(med.bodies.rps) - us(med.floor.rps),
      /** $api_sessions_blocked with no block list: headers_check against headers. */
      block_check_without_list: us(med.headers_check.rps) - us(med.headers.rps),
    };
    const p99AddedMs = {
      headers: med.headers.p99_ms - med.plain_get.p99_ms,
      bodies: med.bodies.p99_ms - med.plain_post.p99_ms,
    };

    // Latency without queueing: one connection, one request at a time, so p50/p99 are the time
    // a request takes through nginx rather than its wait behind 15 others (as at 16 connections).
    const single: Record<string, Run[]> = {};
    const singleVariants = variants.filter(([name]) => name !== 'floor_set' && name !== 'floor' && name !== 'builtin');
    for (let round = 1; round <= ROUNDS; round++) {
      for (const [name, loc, post] of singleVariants) {
        const r = wrk(wrkBin, url(loc, post), post ? postScript : getScript, DURATION, 1);
        (single[name] = single[name] || []).push(r);
        log(`one connection, round ${round}/${ROUNDS} ${name.padEnd(13)} p50 ${r.p50_ms.toFixed(3)} ms  p99 ${r.p99_ms.toFixed(3)} ms`);
      }
    }
    const oneConnection: Record<string, { p50_ms: number; p99_ms: number }> = {};
    for (const [name] of singleVariants) {
      oneConnection[name] = { p50_ms: median(single[name].map((r) => r.p50_ms)), p99_ms: median(single[name].map((r) => r.p99_ms)) };
    }
    const p50AddedOneMs = {
      headers: oneConnection.headers.p50_ms - oneConnection.plain_get.p50_ms,
      bodies: oneConnection.bodies.p50_ms - oneConnection.plain_post.p50_ms,
    };
    const p99AddedOneMs = {
      headers: oneConnection.headers.p99_ms - oneConnection.plain_get.p99_ms,
      bodies: oneConnection.bodies.p99_ms - oneConnection.plain_post.p99_ms,
    };

    // time to first byte of a streamed response, with and without the body filter, alternated
    const plainT: number[] = [];
    const moduleT: number[] = [];
    for (let i = 0; i < TTFB_TRIALS; i++) {
      plainT.push(await ttfb(measured.url('/stream_plain/s')));
      moduleT.push(await ttfb(measured.url('/stream_module/s')));
    }
    const ttfbMs = { plain: median(plainT), module: median(moduleT), added: median(moduleT) - median(plainT) };

    // worker RSS before and after a long run on the module locations
    const worker = workerPid(measured.pid);
    const rssBefore = rssKb(worker);
    const secondsFor = (rps: number) => Math.max(1, Math.ceil(RSS_REQUESTS / 2 / rps));
    const long1 = wrk(wrkBin, url('headers', false), getScript, secondsFor(med.headers.rps));
    const long2 = wrk(wrkBin, url('bodies', true), postScript, secondsFor(med.bodies.rps));
    const rssAfter = rssKb(worker);
    const longRequests = Math.round(long1.rps * secondsFor(med.headers.rps) + long2.rps * secondsFor(med.bodies.rps));

    const report = {
      machine: { cores: os.cpus().length, engine: ENGINE.name, nginx: nginxVersion(ENGINE).trim(), njs: njsVersion(ENGINE) },
      settings: { rounds: ROUNDS, seconds: DURATION, connections: CONNECTIONS, workers: 1 },
      median: med,
      ratios,
      added_us_per_request: addedUs,
      p99_added_ms: p99AddedMs,
      one_connection_ms: oneConnection,
      p50_added_one_connection_ms: p50AddedOneMs,
      p99_added_one_connection_ms: p99AddedOneMs,
      stream_ttfb_ms: ttfbMs,
      worker_rss_kb: { before: rssBefore, after: rssAfter, requests: longRequests },
      targets: {
        ...engineTargets(ENGINE, ratios, p50AddedOneMs),
        'p99 added <= 0.3 ms': p99AddedMs.headers <= 0.3 && p99AddedMs.bodies <= 0.3,
        'p99 added <= 0.3 ms with one connection (no queueing)': p99AddedOneMs.headers <= 0.3 && p99AddedOneMs.bodies <= 0.3,
        'no added time to first byte (< 1 ms)': ttfbMs.added < 1,
        'worker RSS flat (< 10% growth)': rssAfter <= rssBefore * 1.1,
      },
      sample_records: samples,
    };

    if (JSON_OUT) {
      console.log(JSON.stringify(report, null, 2));
      return;
    }
    log('\nengine ' + ENGINE.name + ': ' + report.machine.nginx + ', njs ' + report.machine.njs + `, ${report.machine.cores} cores; median of ${ROUNDS} rounds of ${DURATION}s, ${CONNECTIONS} connections, 1 worker\n`);
    log('location        req/s    p50 ms   p99 ms   vs plain');
    const row = (name: string, base: string) =>
      log(
        `${name.padEnd(13)} ${med[name].rps.toFixed(0).padStart(7)}  ${med[name].p50_ms.toFixed(2).padStart(7)}  ${med[name].p99_ms.toFixed(2).padStart(7)}   ${(med[name].rps / med[base].rps).toFixed(2)}`,
      );
    for (const n of ['plain_get', 'floor_set', 'builtin', 'headers', 'headers_check']) row(n, 'plain_get');
    for (const n of ['plain_post', 'floor', 'bodies']) row(n, 'plain_post');
    log(`\nadded per request beyond the floor: headers ${addedUs.headers_beyond_floor_set.toFixed(1)} us, bodies ${addedUs.bodies_beyond_floor.toFixed(1)} us`);
    log(`block check without a list (headers_check - headers): ${addedUs.block_check_without_list.toFixed(1)} us per request`);
    log(`p99 added vs plain: headers ${p99AddedMs.headers.toFixed(2)} ms, bodies ${p99AddedMs.bodies.toFixed(2)} ms`);
    log(
      `one connection (no queueing), p50/p99 ms: plain GET ${oneConnection.plain_get.p50_ms.toFixed(3)}/${oneConnection.plain_get.p99_ms.toFixed(3)}, ` +
        `headers ${oneConnection.headers.p50_ms.toFixed(3)}/${oneConnection.headers.p99_ms.toFixed(3)}, ` +
        `plain POST ${oneConnection.plain_post.p50_ms.toFixed(3)}/${oneConnection.plain_post.p99_ms.toFixed(3)}, ` +
        `bodies ${oneConnection.bodies.p50_ms.toFixed(3)}/${oneConnection.bodies.p99_ms.toFixed(3)}; ` +
        `p50 added: headers ${p50AddedOneMs.headers.toFixed(3)} ms, bodies ${p50AddedOneMs.bodies.toFixed(3)} ms; ` +
        `p99 added: headers ${p99AddedOneMs.headers.toFixed(3)} ms, bodies ${p99AddedOneMs.bodies.toFixed(3)} ms`,
    );
    log(`streamed response, time to first byte: plain ${ttfbMs.plain.toFixed(2)} ms, with the body filter ${ttfbMs.module.toFixed(2)} ms (added ${ttfbMs.added.toFixed(2)} ms)`);
    log(`worker RSS: ${rssBefore} kB before, ${rssAfter} kB after ${longRequests} more requests`);
    log('\ntargets:');
    for (const [t, ok] of Object.entries(report.targets)) log(`  ${ok ? 'met   ' : 'missed'}  ${t}`);
  } finally {
    if (measured) await measured.stop();
    if (upstream) await upstream.stop();
    if (stream) await stream.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The targets of each engine (the performance issue): QuickJS keeps contexts and can come close
 *  to plain nginx; the njs engine makes a VM per request; njs 0.7.9 is held to its last figures. */
function engineTargets(e: Engine, r: Record<string, number>, p50AddedOne: { headers: number; bodies: number }): Record<string, boolean> {
  if (e.qjs) {
    return {
      'builtin/plain >= 0.85': r.builtin_vs_plain >= 0.85,
      'headers/plain >= 0.75': r.headers_vs_plain >= 0.75,
      'bodies/plain >= 0.65': r.bodies_vs_plain >= 0.65,
      'p50 added <= 0.05 ms with one connection': p50AddedOne.headers <= 0.05 && p50AddedOne.bodies <= 0.05,
    };
  }
  if (e.name === 'debian12' || e.name === 'custom') {
    return { 'headers/plain >= 0.13 (njs 0.7.9: no worse than before)': r.headers_vs_plain >= 0.13, 'bodies/plain >= 0.10': r.bodies_vs_plain >= 0.1 };
  }
  return { 'headers/plain >= 0.5': r.headers_vs_plain >= 0.5, 'bodies/plain >= 0.4': r.bodies_vs_plain >= 0.4 };
}

function njsVersion(e: Engine): string {
  if (e.njs === null) return '?';
  const argv = inEngine(e, [e.njs[0], '-v']);
  return execFileSync(argv[0], argv.slice(1), { encoding: 'utf8' }).trim() + (e.qjs ? ' (QuickJS)' : '');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
