/**
 * The file tailer through the whole console (startConsole with a log file): rotation by rename
 * and by copytruncate, restarts, invalid lines. Records are identified by request id, so "no loss,
 * no duplicate" is checked as: the stored request ids are exactly the ones written.
 */
import { createHash } from 'crypto';
import { appendFileSync, copyFileSync, readFileSync, renameSync, rmSync, statSync, truncateSync, writeFileSync } from 'fs';
import { join } from 'path';
import { startConsole, RunningConsole } from '../../src/console/index';
import { Tailer, TailLoss } from '../../src/console/ingest/tailer';
import { SqliteStore } from '../../src/console/store/sqlite';
import { SessionRecord } from '../../src/shared/record';
import { TODAY, line, rec, tempDir, waitFor } from './helpers';

const tmp = tempDir('api-sessions-tail-');
afterAll(() => tmp.cleanup());
let n = 0;
let running: RunningConsole[] = [];
afterEach(async () => {
  for (const c of running) await c.close();
  running = [];
});

function setup() {
  const dir = join(tmp.dir, 'c' + ++n);
  require('fs').mkdirSync(dir);
  return { log: join(dir, 'api_sessions.log'), db: join(dir, 'sessions.db'), dir };
}

async function start(db: string, log: string): Promise<RunningConsole> {
  const c = await startConsole({ dbPath: db, logFile: log, pollMs: 20, rotateGraceMs: 200, log: process.env.DEBUG_TAIL ? (m) => console.log(m) : () => undefined });
  running.push(c);
  return c;
}

async function stop(c: RunningConsole): Promise<void> {
  await c.close();
  running = running.filter((x) => x !== c);
}

let seq = 0;
function batch(k: number): SessionRecord[] {
  const out = [];
  for (let i = 0; i < k; i++) out.push(rec({ s: 'u' + (seq % 5), at: TODAY + ++seq * 10, path: '/r/' + seq }));
  return out;
}
const write = (file: string, rs: SessionRecord[]) => appendFileSync(file, rs.map(line).join(''));

/** Every request id in the store (via the request id filter would be slow: read the tables). */
function storedIds(db: string): string[] {
  const s = new SqliteStore(db, { readonly: true });
  try {
    const days = s.db.prepare('SELECT part FROM days').pluck().all() as string[];
    const ids: string[] = [];
    for (const d of days) ids.push(...(s.db.prepare(`SELECT request_id FROM requests_${d.replace(/-/g, '')}`).pluck().all() as string[]));
    return ids.sort();
  } finally {
    s.db.close();
  }
}
const idsOf = (rs: SessionRecord[]) => rs.map((r) => r.request_id).sort();

async function waitStored(c: RunningConsole, count: number): Promise<void> {
  await waitFor(`${count} stored requests`, async () => (await c.store.stats()).requests === count);
}

describe('tailing the log file', () => {
  test('reads a growing file, including a line written in two pieces', async () => {
    const f = setup();
    const a = batch(3);
    write(f.log, a);
    const c = await start(f.db, f.log);
    await waitStored(c, 3);
    const b = batch(1)[0];
    const text = line(b);
    appendFileSync(f.log, text.slice(0, 40));
    await new Promise((r) => setTimeout(r, 100));
    expect((await c.store.stats()).requests).toBe(3);
    appendFileSync(f.log, text.slice(40));
    await waitStored(c, 4);
    await stop(c);
    expect(storedIds(f.db)).toEqual(idsOf([...a, b]));
  });

  test('rename + reopen rotation (logrotate, nginx USR1), with lines still written to the old file', async () => {
    const f = setup();
    const a = batch(5);
    write(f.log, a);
    const c = await start(f.db, f.log);
    await waitStored(c, 5);
    renameSync(f.log, f.log + '.1');
    const late = batch(3); // nginx keeps writing to the renamed file until it reopens
    write(f.log + '.1', late);
    const fresh = batch(4);
    write(f.log, fresh); // reopened: a new file at the path
    const later = batch(2);
    write(f.log, later);
    await waitStored(c, 14);
    expect(await waitFor('rotation metric', async () => (await c.metrics.rotations.get()).values.find((v) => v.labels.kind === 'rename')?.value)).toBe(1);
    await stop(c);
    expect(storedIds(f.db)).toEqual(idsOf([...a, ...late, ...fresh, ...later]));
  });

  test('copytruncate: the rest is read from the copy, then the truncated file from its start', async () => {
    const f = setup();
    const a = batch(4);
    write(f.log, a);
    const c = await start(f.db, f.log);
    await waitStored(c, 4);
    await stop(c); // so that lines below land between a read and the truncation
    const unread = batch(3);
    write(f.log, unread);
    copyFileSync(f.log, f.log + '.1');
    truncateSync(f.log, 0);
    const after = batch(2);
    write(f.log, after);
    const c2 = await start(f.db, f.log);
    await waitStored(c2, 9);
    await stop(c2);
    expect(storedIds(f.db)).toEqual(idsOf([...a, ...unread, ...after]));
  });

  test('copytruncate while running', async () => {
    const f = setup();
    const a = batch(4);
    write(f.log, a);
    const c = await start(f.db, f.log);
    await waitStored(c, 4);
    copyFileSync(f.log, f.log + '.1');
    truncateSync(f.log, 0);
    const after = batch(3);
    write(f.log, after);
    await waitStored(c, 7);
    expect((await c.metrics.rotations.get()).values).toEqual([expect.objectContaining({ labels: { kind: 'truncate' }, value: 1 })]);
    await stop(c);
    expect(storedIds(f.db)).toEqual(idsOf([...a, ...after]));
  });

  test('the checkpoint of the previous version (one file: inode, offset, hash of the bytes before it) is taken over', async () => {
    const f = setup();
    const a = batch(4);
    write(f.log, a);
    const pos = statSync(f.log).size;
    const before = readFileSync(f.log).subarray(Math.max(0, pos - 4096), pos);
    const legacy = { ino: statSync(f.log).ino, pos, fp: createHash('sha256').update(before).digest('base64') };
    const store = new SqliteStore(f.db);
    await store.ingest(a, { name: 'file:' + f.log, value: JSON.stringify(legacy) });
    await store.close();
    write(f.log + '.1', batch(2)); // an older rotated file: history, not read
    const more = batch(3);
    write(f.log, more);
    const c = await start(f.db, f.log);
    await waitStored(c, 7);
    await new Promise((r) => setTimeout(r, 100));
    expect((await c.metrics.duplicates.get()).values.reduce((s, v) => s + v.value, 0)).toBe(0);
    await stop(c);
    expect(storedIds(f.db)).toEqual(idsOf([...a, ...more]));
  });

  test('restart: resumes at its position (no re-read), and finishes a file rotated while it was stopped', async () => {
    const f = setup();
    const a = batch(6);
    write(f.log, a);
    const c = await start(f.db, f.log);
    await waitStored(c, 6);
    await stop(c);
    const more = batch(2);
    write(f.log, more);
    renameSync(f.log, f.log + '.1');
    const fresh = batch(3);
    write(f.log, fresh);
    const c2 = await start(f.db, f.log);
    await waitStored(c2, 11);
    // Nothing was read twice: no duplicates were even seen.
    expect((await c2.metrics.duplicates.get()).values.reduce((s, v) => s + v.value, 0)).toBe(0);
    await stop(c2);
    expect(storedIds(f.db)).toEqual(idsOf([...a, ...more, ...fresh]));
  });

  test('a file replaced by one with other content at the same size is read from its start', async () => {
    const f = setup();
    const a = batch(2);
    write(f.log, a);
    const c = await start(f.db, f.log);
    await waitStored(c, 2);
    await stop(c);
    rmSync(f.log);
    const b = batch(2);
    write(f.log, b); // same length lines, new content (and maybe the same inode)
    const c2 = await start(f.db, f.log);
    await waitStored(c2, 4);
    await stop(c2);
    expect(storedIds(f.db)).toEqual(idsOf([...a, ...b]));
  });

  test('invalid lines are counted and skipped; ingest goes on', async () => {
    const f = setup();
    const a = batch(2);
    const b = batch(2);
    const logged: string[] = [];
    writeFileSync(f.log, line(a[0]) + 'not json\n' + JSON.stringify({ ...a[1], v: 9 }) + '\n' + line(a[1]) + '{"session":"x"}\n' + b.map(line).join(''));
    const c = await startConsole({ dbPath: f.db, logFile: f.log, pollMs: 20, log: (m) => logged.push(m) });
    running.push(c);
    await waitStored(c, 4);
    const inv = (await c.metrics.invalid.get()).values;
    expect(inv.find((v) => v.labels.reason === 'json')?.value).toBe(1);
    expect(inv.find((v) => v.labels.reason === 'version')?.value).toBe(1);
    expect(inv.find((v) => v.labels.reason === 'shape')?.value).toBe(1);
    expect(logged.filter((m) => m.includes('invalid record'))).toHaveLength(3);
    await stop(c);
  });

  test('a file gone before it was read (rotated and deleted while the console was stopped): the loss is counted, logged once, in /api/status', async () => {
    const f = setup();
    const a = batch(3);
    write(f.log, a);
    const logged: string[] = [];
    const opts = { dbPath: f.db, logFile: f.log, pollMs: 20, log: (m: string) => logged.push(m) };
    let c = await startConsole(opts);
    running.push(c);
    await waitStored(c, 3);
    await stop(c);
    const read = statSync(f.log).size;
    write(f.log, batch(2)); // never read: the file is rotated, then deleted (compress without delaycompress)
    renameSync(f.log, f.log + '.1');
    const fresh = batch(2);
    write(f.log, fresh);
    rmSync(f.log + '.1');
    c = await startConsole(opts);
    running.push(c);
    await waitStored(c, 5);
    const status = await waitFor('a loss in /api/status', async () => {
      const st = (await (await fetch(c.url + 'api/status')).json()) as any;
      return st.tail.losses.count > 0 ? st : null;
    });
    expect(status.tail.losses).toMatchObject({ count: 1, bytes: 0, recent: [{ file: f.log, from: read, to: null, reason: 'gone' }] });
    expect((await c.metrics.tailLosses.get()).values).toEqual([expect.objectContaining({ labels: { reason: 'gone' }, value: 1 })]);
    expect((await c.metrics.rotations.get()).values).toEqual([expect.objectContaining({ labels: { kind: 'rename' }, value: 1 })]);
    await new Promise((r) => setTimeout(r, 200)); // more polls: logged once only
    expect(logged.filter((m) => m.includes('records may be lost'))).toEqual([`tail ${f.log}: records may be lost: ${f.log} from byte ${read} on (its end is unknown): gone before they were read`]);
    await stop(c);
    expect(storedIds(f.db)).toEqual(idsOf([...a, ...fresh]));
    // The loss is in the saved registry's past: a restart does not report it again.
    c = await startConsole(opts);
    running.push(c);
    await new Promise((r) => setTimeout(r, 200));
    expect(c.tailer!.lossCount).toBe(0);
  });

  test('truncated in place without a copy after part of it was read: the unread byte range is reported exactly; lag follows', async () => {
    const f = setup();
    const a = batch(30);
    write(f.log, a);
    const size = statSync(f.log).size;
    const b = batch(3);
    const store = new SqliteStore(f.db);
    const losses: TailLoss[] = [];
    const lags: number[] = [];
    let firstEnd = -1;
    const t = new Tailer({
      path: f.log,
      chunkBytes: 4096, // reads a part of the file per step
      ingest: async (batch, cp) => {
        await store.ingest(batch.records, cp, batch.raws);
        if (firstEnd < 0) {
          firstEnd = JSON.parse(cp.value).files[0].p;
          truncateSync(f.log, 0); // copytruncate whose copy is compressed at once, say
          write(f.log, b);
        }
      },
      loadCheckpoint: (name) => store.getCheckpoint(name),
      onInvalid: () => undefined,
      onLoss: (l) => losses.push(l),
      onLag: (n) => lags.push(n),
    });
    try {
      await t.drain();
      await t.drain(); // a file is taken as gone when two polls in a row do not find it
      expect(lags[0]).toBe(size - firstEnd);
      expect(losses).toEqual([expect.objectContaining({ file: f.log, from: firstEnd, to: size, reason: 'truncated' })]);
      expect(t.lostBytes).toBe(size - firstEnd);
      expect(t.lagBytes).toBe(0);
      expect(lags[lags.length - 1]).toBe(0);
    } finally {
      await t.stop();
      await store.close();
    }
    let at = 0;
    const readRecords = a.filter((r) => (at += line(r).length) <= firstEnd);
    expect(readRecords.length).toBeGreaterThan(0);
    expect(storedIds(f.db)).toEqual(idsOf([...readRecords, ...b]));
  });
});
