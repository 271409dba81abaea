/**
 * npm run bench:console: the console's numbers on this machine.
 *
 * 1. Writes a file of N generated records (default 1,000,000; BENCH_RECORDS=...) spread over the
 *    last 7 days, in the module's line format.
 * 2. Ingest: the console's own tailer reads the file into a fresh SQLite store, each batch's new
 *    records through the detections as the console runs them (BENCH_DETECT=0: without them);
 *    records/s.
 * 3. Queries over that store: the session list (first page of 50) without and with filters, and
 *    one session's page (summary + timeline + first 500 requests), each repeated with values drawn
 *    from the data; p50 and p99 in ms.
 *
 * Not a test: nothing here passes or fails. The figures go to docs/performance.md ("Console").
 */
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'fs';
import { join } from 'path';
import { once } from 'events';
import { generateRecords } from '../test/helpers/generate-records';
import { SqliteStore } from '../src/console/store/sqlite';
import { PartFilter } from '../src/console/store/types';
import { Tailer } from '../src/console/ingest/tailer';
import { Detections } from '../src/console/detect/runner';
import { detectionConfig } from '../src/console/detect/config';
import { SessionRecord } from '../src/shared/record';

const N = Number(process.env.BENCH_RECORDS ?? 1000000);
const REPEAT = Number(process.env.BENCH_REPEAT ?? 200);
const DIR = join(__dirname, '..', '.tmp', 'bench-console');
const DAY = 86400000;

async function writeRecords(file: string, to: number): Promise<void> {
  const out = createWriteStream(file);
  let buf = '';
  for (const r of generateRecords({ count: N, seed: 42, to, from: to - 7 * DAY })) {
    buf += JSON.stringify(r) + '\n';
    if (buf.length > 1 << 20) {
      if (!out.write(buf)) await once(out, 'drain');
      buf = '';
    }
  }
  out.end(buf);
  await once(out, 'finish');
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

/** CPU seconds of this process's main thread (Linux; null elsewhere): ingest runs there, while
 *  WAL checkpoints run on a worker thread. Steadier than wall time on a shared machine. */
function mainThreadCpu(): number | null {
  try {
    const f = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return null;
  }
}

async function time(fn: () => Promise<unknown>): Promise<number> {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

async function main(): Promise<void> {
  mkdirSync(DIR, { recursive: true });
  const file = join(DIR, `records-${N}.ndjson`);
  const db = join(DIR, 'bench.db');
  // Records end at the start of this UTC hour: regenerated when older than a day, so that all
  // 7 days stay inside the retention period.
  const to = Math.floor(Date.now() / 3600000) * 3600000;
  if (!existsSync(file) || Date.now() - statSync(file).mtimeMs > DAY / 2) {
    process.stdout.write(`writing ${N} records to ${file} ...\n`);
    await writeRecords(file, to);
  }
  const bytes = statSync(file).size;
  // BENCH_REUSE=1: keep the store of the last run and measure the queries only.
  const reuse = process.env.BENCH_REUSE === '1' && existsSync(db);
  if (!reuse) for (const s of ['', '-wal', '-shm']) rmSync(db + s, { force: true });

  const store = new SqliteStore(db);
  store.setCutoff(new Date(Date.now() - 7 * DAY).toISOString().slice(0, 10));
  let invalid = 0;
  let inserted = 0;
  const detections = process.env.BENCH_DETECT === '0' ? null : new Detections({ store, config: detectionConfig() });
  await detections?.start();
  const tailer = new Tailer({
    path: file,
    ingest: async (batch, checkpoint) => {
      const fresh: SessionRecord[] = [];
      const r = await store.ingest(batch.records, checkpoint, batch.raws, detections ? fresh : undefined);
      inserted += r.inserted;
      await detections?.observe(fresh, batch);
    },
    loadCheckpoint: (name) => store.getCheckpoint(name),
    onInvalid: () => void invalid++,
  });
  process.stdout.write(reuse ? 'reusing the store of the last run\n' : `ingesting ${(bytes / 1048576).toFixed(0)} MiB through the tailer ...\n`);
  const t0 = Date.now();
  const cpu0 = mainThreadCpu();
  const all0 = process.cpuUsage();
  if (!reuse) await tailer.drain();
  const secs = (Date.now() - t0) / 1000;
  const cpu1 = mainThreadCpu();
  const all1 = process.cpuUsage(all0);
  // Every thread's: the detections' thread and SQLite's checkpoints too.
  const processCpuSeconds = Math.round((all1.user + all1.system) / 1e5) / 10;
  const mainCpuSeconds = cpu0 === null || cpu1 === null ? null : Math.round((cpu1 - cpu0) * 10) / 10;
  await tailer.stop();
  const st = await store.stats();
  const dbBytes = statSync(db).size + (existsSync(db + '-wal') ? statSync(db + '-wal').size : 0);
  // The detections run beside ingest and may still have records before them: how long after
  // the last record stored they have seen all of them.
  const t1 = Date.now();
  const held = await detections?.status();
  const caughtUp = (Date.now() - t1) / 1000;
  await detections?.close();
  const ingest = {
    records: inserted,
    invalid,
    seconds: secs,
    perSecond: Math.round(inserted / secs),
    mainCpuSeconds,
    processCpuSeconds,
    parts: st.parts,
    dbMiB: Math.round(dbBytes / 1048576),
    detections: detections ? { findings: held?.opened, caughtUpSeconds: caughtUp, held: held?.held } : 'off (BENCH_DETECT=0)',
  };
  process.stdout.write(`ingest: ${JSON.stringify(ingest)}\n`);

  // Values to query with, drawn from the data.
  const sample = store.db
    .prepare(`SELECT session, part, user, role, app, key, stats FROM parts ORDER BY random() LIMIT 2000`)
    .all() as Array<{ session: string; part: string; user: string | null; role: string | null; app: string; key: string; stats: string }>;
  const pick = <T>(xs: T[], i: number) => xs[i % xs.length];
  const users = sample.map((s) => s.user).filter((u): u is string => u !== null);
  const ips = sample.map((s) => Object.keys(JSON.parse(s.stats).ips)[0]);
  const now = Date.now();
  const queries: Array<[string, (i: number) => PartFilter]> = [
    ['list, no filter', () => ({})],
    ['list, user', (i) => ({ user: pick(users, i) })],
    ['list, IP', (i) => ({ ip: pick(ips, i) })],
    ['list, session id', (i) => ({ session: pick(sample, i).session })],
    ['list, status class 5xx', () => ({ status: '5xx' })],
    ['list, status 404', () => ({ status: '404' })],
    ['list, any attack', () => ({ attack: '*' })],
    ['list, attack sqli + app', (i) => ({ attack: 'sqli', app: pick(sample, i).app })],
    ['list, role admin', () => ({ role: 'admin' })],
    ['list, grouping key ip+ua', () => ({ key: 'ip+ua' })],
    ['list, endpoint /orders/*', () => ({ endpoint: '/orders/*' })],
    ['list, endpoint POST /checkout', () => ({ endpoint: 'POST /checkout' })],
    ['list, endpoint */invoices/12?', () => ({ endpoint: '*/invoices/12?' })],
    ['list, last 24 h', () => ({ from: now - DAY, to: now })],
    ['list, 3 days ago, 2 h window', () => ({ from: now - 3 * DAY, to: now - 3 * DAY + 2 * 3600000 })],
    ['list, 2xx + endpoint + 2 days', () => ({ status: '2xx', endpoint: '/products/*', from: now - 2 * DAY })],
    ['list, rare: user + endpoint', (i) => ({ user: pick(users, i), endpoint: '/admin/*' })],
  ];
  const results: Array<{ name: string; p50: number; p99: number; rows: number }> = [];
  for (const [name, f] of queries) {
    const ms: number[] = [];
    let rows = 0;
    for (let i = 0; i < REPEAT; i++) {
      ms.push(await time(async () => (rows = (await store.listParts(f(i), { limit: 50 })).items.length)));
    }
    results.push({ name, p50: pct(ms, 50), p99: pct(ms, 99), rows });
  }
  // Second page of the unfiltered list (keyset paging).
  {
    const first = await store.listParts({}, { limit: 50 });
    const ms: number[] = [];
    for (let i = 0; i < REPEAT; i++) ms.push(await time(() => store.listParts({}, { limit: 50, cursor: first.next })));
    results.push({ name: 'list, second page', p50: pct(ms, 50), p99: pct(ms, 99), rows: 50 });
  }
  // One session's page: what the UI loads for it.
  const biggest = store.db.prepare('SELECT session, part, requests FROM parts ORDER BY requests DESC LIMIT 20').all() as Array<{ session: string; part: string; requests: number }>;
  for (const [name, set] of [
    ['session page (random parts)', sample],
    ['session page (the 20 largest parts)', biggest],
  ] as const) {
    const ms: number[] = [];
    for (let i = 0; i < REPEAT; i++) {
      const p = pick(set as Array<{ session: string; part: string }>, i);
      ms.push(
        await time(async () => {
          await store.getPart(p.session, p.part);
          await store.timeline(p.session, p.part, 60);
          await store.sessionParts(p.session);
          await store.partRequests(p.session, p.part, { limit: 500 });
        }),
      );
    }
    results.push({ name, p50: pct(ms, 50), p99: pct(ms, 99), rows: 0 });
  }
  await store.close();

  const fmt = (x: number) => (x < 10 ? x.toFixed(2) : x.toFixed(1));
  const lines = [
    `Ingest: ${ingest.records} records (${(bytes / 1048576).toFixed(0)} MiB, ${ingest.parts} session parts over 7 days) in ${ingest.seconds.toFixed(1)} s: **${ingest.perSecond} records/s** (store ${ingest.dbMiB} MiB; detections ${detections ? 'on' : 'off'}).`,
    '',
    `| query (over the ${ingest.records} records) | p50 ms | p99 ms |`,
    '| --- | ---: | ---: |',
    ...results.map((r) => `| ${r.name} | ${fmt(r.p50)} | ${fmt(r.p99)} |`),
    `\n(${REPEAT} runs each; the biggest part has ${biggest[0]?.requests ?? 0} requests.)`,
  ];
  process.stdout.write('\n' + lines.join('\n') + '\n');
}

main().catch((e) => {
  process.stderr.write(String((e as Error).stack ?? e) + '\n');
  process.exit(1);
});
