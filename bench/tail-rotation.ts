/**
 * npx tsx bench/tail-rotation.ts: the console's tailer under the rotations of issue 15, at the
 * issue's scale. nginx with `access_log ... api_sessions buffer=64k flush=1s`, about 1,500
 * requests/s with unique paths; the console as its own process (src/console/cli.ts, its
 * defaults: 250 ms polls, 5 s grace), faults injected with signals (USR1 to nginx's master,
 * TERM / STOP / CONT to the console). For each scenario: the request ids in every
 * `api_sessions.log*` file against those in the store (lost, duplicated, extra), and the losses
 * the console reported in /api/status.
 *
 * Not a test: nothing here passes or fails. The figures go to docs/console.md ("Reliability").
 * TAIL_RATE=requests/s (default 1500).
 */
import { ChildProcess, spawn } from 'child_process';
import { copyFileSync, mkdtempSync, renameSync, rmSync, statSync, truncateSync, writeFileSync } from 'fs';
import http from 'http';
import { tmpdir } from 'os';
import { join } from 'path';
import { startNginx, Nginx, ROOT } from '../test/helpers/nginx';
import { writtenIds, storedIds } from '../test/helpers/log-ids';

const RATE = Number(process.env.TAIL_RATE ?? 1500);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class Traffic {
  sent = 0;
  failed = 0;
  private timer: NodeJS.Timeout;
  private inflight = 0;
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
  constructor(private readonly port: number) {
    const perTick = RATE / 100;
    let owed = 0;
    this.timer = setInterval(() => {
      owed += perTick;
      for (; owed >= 1; owed--) this.one();
    }, 10);
  }
  private one(): void {
    this.inflight++;
    http
      .get({ host: '127.0.0.1', port: this.port, path: `/t/${++this.sent}`, agent: this.agent }, (res) => {
        res.resume();
        res.on('end', () => this.inflight--);
      })
      .on('error', () => {
        this.failed++;
        this.inflight--;
      });
  }
  async stop(): Promise<void> {
    clearInterval(this.timer);
    while (this.inflight > 0) await sleep(10);
    this.agent.destroy();
  }
}

class Console {
  child!: ChildProcess;
  url = '';
  constructor(private readonly db: string, private readonly log: string) {}
  async start(): Promise<void> {
    this.child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/console/cli.ts'), '--db', this.db, '--log', this.log, '--port', '0'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stderr!.on('data', (d) => {
      if (process.env.DEBUG_TAIL || /lost|error/.test(String(d))) process.stderr.write('    console: ' + String(d).replace(/^\S+ console: /gm, ''));
    });
    this.url = await new Promise<string>((resolve, reject) => {
      this.child.stdout!.on('data', (d) => {
        const m = /console: (http\S+)/.exec(String(d));
        if (m) resolve(m[1]);
      });
      this.child.once('exit', (code) => reject(new Error('console exited with ' + code)));
    });
  }
  async status(): Promise<any> {
    return (await fetch(this.url + 'api/status')).json();
  }
  async stop(): Promise<void> {
    const gone = new Promise((r) => this.child.once('exit', r));
    process.kill(this.child.pid!, 'SIGTERM');
    await gone;
  }
  signal(sig: NodeJS.Signals): void {
    process.kill(this.child.pid!, sig);
  }
}

interface Env {
  ng: Nginx;
  con: Console;
  traffic: Traffic;
  log: string;
  usr1(): void;
}

async function scenario(name: string, run: (e: Env) => Promise<void>): Promise<void> {
  const ng = await startNginx({
    http: `
    server {
        listen 127.0.0.1:{{PORT0}};
        access_log {{PREFIX}}/logs/api_sessions.log api_sessions buffer=64k flush=1s;
        set $api_sessions_secret "bench-secret";
        set $api_sessions_app "bench";
        location / { return 200 "ok\\n"; }
    }`,
  });
  const dir = mkdtempSync(join(tmpdir(), 'api-sessions-tail-bench-'));
  const log = join(ng.prefix, 'logs', 'api_sessions.log');
  const db = join(dir, 'sessions.db');
  const con = new Console(db, log);
  let traffic: Traffic | null = null;
  try {
    await con.start();
    traffic = new Traffic(ng.ports[0]);
    const t0 = Date.now();
    await run({ ng, con, traffic, log, usr1: () => process.kill(ng.pid, 'SIGUSR1') });
    await traffic.stop();
    const secs = (Date.now() - t0) / 1000;
    await sleep(1500); // flush=1s
    const written = writtenIds(log);
    let last = -1;
    for (let stable = 0; stable < 20; ) {
      const n = (await con.status()).store.requests;
      if (n >= written.length) break;
      stable = n === last ? stable + 1 : 0;
      last = n;
      await sleep(250);
    }
    const st = await con.status();
    const metrics = await (await fetch(con.url + 'metrics')).text();
    await con.stop();
    const have = storedIds(db);
    const haveSet = new Set(have);
    const writtenSet = new Set(written);
    const rotations = [...metrics.matchAll(/^api_sessions_console_log_rotations_total\{kind="(\w+)"\} (\d+)/gm)].map((m) => `${m[1]} ${m[2]}`).join(', ');
    const row = {
      written: written.length,
      perSecond: Math.round(traffic.sent / secs),
      failedRequests: traffic.failed,
      stored: have.length,
      lost: written.filter((id) => !haveSet.has(id)).length,
      duplicated: have.length - haveSet.size,
      extra: have.filter((id) => !writtenSet.has(id)).length,
      rotations: rotations || 'none',
      reportedLosses: st.tail.losses ? st.tail.losses.count : 'not reported',
      lagBytes: st.tail.lag_bytes,
    };
    process.stdout.write(`${name}: ${JSON.stringify(row)}\n`);
  } finally {
    await traffic?.stop();
    if (con.child && con.child.exitCode === null) await con.stop().catch(() => undefined);
    await ng.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  await scenario('1. two rename rotations 0.5 s apart', async (e) => {
    await sleep(3000);
    renameSync(e.log, e.log + '.1');
    e.usr1();
    await sleep(500);
    renameSync(e.log + '.1', e.log + '.2');
    renameSync(e.log, e.log + '.1');
    e.usr1();
    await sleep(3000);
  });
  await scenario('2. two rotations 5 s apart while the console is stopped', async (e) => {
    await sleep(3000);
    await e.con.stop();
    renameSync(e.log, e.log + '.1');
    e.usr1();
    await sleep(5000);
    renameSync(e.log + '.1', e.log + '.2');
    renameSync(e.log, e.log + '.1');
    e.usr1();
    await sleep(2000);
    await e.con.start();
    await sleep(3000);
  });
  await scenario('3. logrotate create, USR1 3 s later', async (e) => {
    await sleep(3000);
    renameSync(e.log, e.log + '.1');
    writeFileSync(e.log, '');
    await sleep(3000);
    e.usr1();
    await sleep(3000);
  });
  for (const gap of [400, 2000]) {
    await scenario(`4. copytruncate while the console is stopped (SIGSTOP) ${gap} ms after start, resumed once the file is past the old offset`, async (e) => {
      await sleep(gap);
      e.con.signal('SIGSTOP');
      const offset = statSync(e.log).size;
      copyFileSync(e.log, e.log + '.1');
      truncateSync(e.log, 0);
      const t = Date.now();
      while (statSync(e.log).size <= offset) await sleep(20);
      const regrown = statSync(e.log).size;
      e.con.signal('SIGCONT');
      process.stdout.write(`    offset ${offset}, ${regrown} bytes when the console resumed ${Date.now() - t} ms later\n`);
      await sleep(3000);
    });
  }
}

main().catch((e) => {
  process.stderr.write(String((e as Error).stack) + '\n');
  process.exit(1);
});
