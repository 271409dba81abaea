/**
 * The console's tailer behind the real nginx with the module, under the rotations that lost
 * records before (issue 15): two rename rotations in quick succession, two rotations while the
 * console is stopped, logrotate's `create` with a late signal, and copytruncate when the file
 * grows past the saved offset before the tailer looks again. Truth is what nginx wrote: the
 * request ids in every `api_sessions.log*` file, compared with the ids the store holds.
 */
import { execFileSync } from 'child_process';
import http from 'http';
import { readFileSync, renameSync, statSync, writeFileSync } from 'fs';
import { join } from 'path';
import { startNginx, Nginx } from '../helpers/nginx';
import { startConsole, RunningConsole } from '../../src/console/index';
import { writtenIds, storedIds } from '../helpers/log-ids';
import { tempDir } from '../console/helpers';

const tmp = tempDir('api-sessions-rotation-');
afterAll(() => tmp.cleanup());

let ng: Nginx | null = null;
let con: RunningConsole | null = null;
let traffic: Traffic | null = null;
let n = 0;

afterEach(async () => {
  await traffic?.stop();
  traffic = null;
  await con?.close();
  con = null;
  await ng?.stop();
  ng = null;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Requests with unique paths from a few keep-alive connections until stopped. */
class Traffic {
  sent = 0;
  private running = true;
  private readonly loops: Promise<void>[] = [];
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  constructor(private readonly port: number, connections = 3, private readonly gapMs = 4) {
    for (let i = 0; i < connections; i++) this.loops.push(this.loop());
  }
  private async loop(): Promise<void> {
    while (this.running) {
      const path = `/t/${++this.sent}`;
      await new Promise<void>((resolve, reject) => {
        http
          .get({ host: '127.0.0.1', port: this.port, path, agent: this.agent }, (res) => {
            res.resume();
            res.on('end', () => resolve());
          })
          .on('error', reject);
      });
      await sleep(this.gapMs);
    }
  }
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    this.agent.destroy();
  }
}

async function setup(buffered = true): Promise<{ log: string; db: string; dir: string }> {
  ng = await startNginx({
    http: `
    server {
        listen 127.0.0.1:{{PORT0}};
        access_log {{PREFIX}}/logs/api_sessions.log api_sessions${buffered ? ' buffer=8k flush=100ms' : ''};
        set $api_sessions_secret "rotation-secret";
        set $api_sessions_app "rotation";
        location / { return 200 "ok\\n"; }
    }`,
  });
  const dir = join(tmp.dir, 'c' + ++n);
  require('fs').mkdirSync(dir);
  return { log: join(ng.prefix, 'logs', 'api_sessions.log'), db: join(dir, 'sessions.db'), dir };
}

let logged: string[] = [];
beforeEach(() => {
  logged = [];
});
async function tailingConsole(db: string, log: string): Promise<RunningConsole> {
  con = await startConsole({
    dbPath: db,
    logFile: log,
    pollMs: 50,
    log: (m) => {
      logged.push(m);
      if (process.env.DEBUG_TAIL) process.stdout.write(m + '\n');
    },
  });
  return con;
}

async function stored(c: RunningConsole): Promise<number> {
  return (await c.store.stats()).requests;
}

/** Stops the traffic, lets nginx flush its buffer, waits (bounded) for the console to catch up,
 *  and compares: what nginx wrote against what the store holds. */
async function settleAndCompare(c: RunningConsole, log: string, db: string) {
  await traffic!.stop();
  const sent = traffic!.sent;
  traffic = null;
  await sleep(300); // flush=100ms
  const written = writtenIds(log);
  const end = Date.now() + 10000;
  while (Date.now() < end && (await stored(c)) < written.length) await sleep(50);
  const rotations = (await c.metrics.rotations.get()).values;
  const duplicatesSeen = (await c.metrics.duplicates.get()).values.reduce((s, v) => s + v.value, 0);
  const lag = (await c.metrics.tailLag.get()).values[0]?.value;
  const status = (await (await fetch(c.url + 'api/status')).json()) as any;
  await c.close();
  con = null;
  const have = storedIds(db);
  const haveSet = new Set(have);
  const writtenSet = new Set(written);
  return {
    sent,
    written: written.length,
    lost: written.filter((id) => !haveSet.has(id)).length,
    extra: have.filter((id) => !writtenSet.has(id)).length,
    duplicated: have.length - haveSet.size,
    duplicatesSeen,
    rotations: Object.fromEntries(rotations.map((v) => [v.labels.kind, v.value])),
    lag,
    losses: status.tail.losses?.count,
    lossLines: logged.filter((m) => m.includes('may be lost')).length,
  };
}

const rotate = (log: string, to: string) => renameSync(log, to);
const reopen = () => process.kill(ng!.pid, 'SIGUSR1'); // the master reopens the logs

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + 10000;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out waiting for ' + what);
    await sleep(20);
  }
}

test('1. two rename rotations 300 ms apart: the middle file is read too', async () => {
  const f = await setup();
  const c = await tailingConsole(f.db, f.log);
  traffic = new Traffic(ng!.ports[0]);
  await until('records stored', async () => (await stored(c)) > 50);
  rotate(f.log, f.log + '.1');
  reopen();
  await sleep(300);
  rotate(f.log + '.1', f.log + '.2');
  rotate(f.log, f.log + '.1');
  reopen();
  await sleep(400);
  const r = await settleAndCompare(c, f.log, f.db);
  expect(r.written).toBe(r.sent);
  expect(readFileSync(f.log + '.1', 'utf8').length).toBeGreaterThan(0); // the middle file had records
  expect(r).toMatchObject({ lost: 0, extra: 0, duplicated: 0, duplicatesSeen: 0, rotations: { rename: 2 }, lag: 0, losses: 0, lossLines: 0 });
});

test('2. two rotations while the console is stopped: both files are read at start', async () => {
  const f = await setup();
  let c = await tailingConsole(f.db, f.log);
  traffic = new Traffic(ng!.ports[0]);
  await until('records stored', async () => (await stored(c)) > 50);
  await c.close();
  con = null;
  rotate(f.log, f.log + '.1');
  reopen();
  await sleep(400);
  rotate(f.log + '.1', f.log + '.2');
  rotate(f.log, f.log + '.1');
  reopen();
  await sleep(400);
  c = await tailingConsole(f.db, f.log);
  await sleep(300);
  const r = await settleAndCompare(c, f.log, f.db);
  expect(r.written).toBe(r.sent);
  expect(statSync(f.log + '.1').size).toBeGreaterThan(0);
  expect(r).toMatchObject({ lost: 0, extra: 0, duplicated: 0, duplicatesSeen: 0, rotations: { rename: 2 }, lag: 0, losses: 0, lossLines: 0 });
});

test('3. logrotate `create` with a late signal: what nginx still writes to the renamed file is read', async () => {
  const f = await setup();
  const c = await tailingConsole(f.db, f.log);
  traffic = new Traffic(ng!.ports[0]);
  await until('records stored', async () => (await stored(c)) > 50);
  rotate(f.log, f.log + '.1');
  writeFileSync(f.log, ''); // create
  const early = statSync(f.log + '.1').size;
  await sleep(1500); // the signal comes late: nginx writes to the renamed file meanwhile
  reopen();
  await sleep(400);
  const r = await settleAndCompare(c, f.log, f.db);
  expect(r.written).toBe(r.sent);
  expect(statSync(f.log + '.1').size).toBeGreaterThan(early);
  expect(r).toMatchObject({ lost: 0, extra: 0, duplicated: 0, duplicatesSeen: 0, rotations: { rename: 1 }, lag: 0, losses: 0, lossLines: 0 });
});

test('4. copytruncate, the file growing past the saved offset before the tailer looks again', async () => {
  const f = await setup(false);
  const c = await tailingConsole(f.db, f.log);
  traffic = new Traffic(ng!.ports[0]);
  await sleep(500);
  await traffic.stop();
  const before = traffic.sent;
  traffic = null;
  await until('everything stored', async () => (await stored(c)) === before);
  const offset = statSync(f.log).size;
  // copytruncate, then requests until the file is larger than the tailer's offset, all in a
  // child process while this one (and so the tailer) is blocked: the tailer cannot look between.
  const script = `
    const fs = require('fs'), http = require('http');
    const [log, port, offset] = process.argv.slice(1);
    fs.copyFileSync(log, log + '.1');
    fs.truncateSync(log, 0);
    const agent = new http.Agent({ keepAlive: true });
    let i = 0;
    (function next() {
      if (fs.statSync(log).size > Number(offset) + 4096) { agent.destroy(); process.stdout.write(String(i)); return; }
      http.get({ host: '127.0.0.1', port: Number(port), path: '/regrow/' + ++i, agent }, (res) => { res.resume(); res.on('end', next); });
    })();`;
  const regrow = Number(execFileSync(process.execPath, ['-e', script, f.log, String(ng!.ports[0]), String(offset)], { encoding: 'utf8', timeout: 20000 }));
  expect(statSync(f.log).size).toBeGreaterThan(offset);
  traffic = new Traffic(ng!.ports[0]);
  await sleep(400);
  const r = await settleAndCompare(c, f.log, f.db);
  expect(r.written).toBe(before + regrow + r.sent); // one record per request, all in the files
  expect(r).toMatchObject({ lost: 0, extra: 0, duplicated: 0, duplicatesSeen: 0, rotations: { truncate: 1 }, lag: 0, losses: 0, lossLines: 0 });
});
