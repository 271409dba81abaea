/**
 * WAL checkpoints on the second core.
 *
 * In WAL mode every committed page is written twice: appended to the `-wal` file at commit, then
 * copied back into the database file by a checkpoint (which also fsyncs both files). SQLite's
 * automatic checkpoint runs inside the writer's COMMIT, on the thread that ingests; measured,
 * that was 15-20% of the store's ingest time. Here a worker thread holds a second connection to
 * the same file and runs `PRAGMA wal_checkpoint(PASSIVE)` after each batch the writer commits:
 * the same checkpoint SQLite would run (same fsyncs, same guarantees), only on another thread.
 * A passive checkpoint never blocks the writer nor readers; it copies what it can. When it has
 * copied everything by the time the writer starts its next transaction, the writer restarts the
 * WAL from its beginning.
 *
 * The writer keeps its own `wal_autocheckpoint` as a fallback: when this thread has not caught up
 * at those moments (or failed to start), the WAL grows until that checkpoint runs in the writer,
 * as it did before, so it stays bounded.
 */
import { Worker } from 'worker_threads';

// Plain CommonJS run by the worker (`eval`): no TypeScript loader is needed there. The writer asks
// for a checkpoint by bumping a shared counter, so it never has to process a reply between its
// batches (an ingest loop that does not yield to the event loop still gets its checkpoints).
// flags[0]: requests so far; flags[1]: 1 = close.
const WORKER = `
const { parentPort, workerData } = require('worker_threads');
const Database = require(workerData.driver);
const flags = new Int32Array(workerData.flags);
const db = new Database(workerData.path, { fileMustExist: true });
db.pragma('busy_timeout = 5000');
db.pragma('synchronous = NORMAL');
let seen = 0;
for (;;) {
  Atomics.wait(flags, 0, seen);
  seen = Atomics.load(flags, 0);
  if (Atomics.load(flags, 1) === 1) break;
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (e) {
    parentPort.postMessage(String((e && e.message) || e));
    break;
  }
}
db.close();
`;

export class BackgroundCheckpointer {
  private worker: Worker | null = null;
  private readonly flags = new Int32Array(new SharedArrayBuffer(8));
  private closing: Promise<void> | null = null;
  /** Set when the worker could not start or failed: the writer's own autocheckpoint then does the work. */
  failed = false;

  constructor(
    private readonly path: string,
    private readonly onFail?: (err: Error) => void,
  ) {}

  private start(): Worker | null {
    if (this.worker || this.failed || this.closing) return this.worker;
    try {
      const w = new Worker(WORKER, {
        eval: true,
        workerData: { path: this.path, driver: require.resolve('better-sqlite3'), flags: this.flags.buffer },
      });
      w.unref();
      w.on('message', (m: string) => this.fail(new Error('background checkpoint: ' + m)));
      w.on('error', (e) => this.fail(e));
      w.on('exit', () => {
        this.worker = null;
      });
      this.worker = w;
    } catch (e) {
      this.fail(e as Error);
    }
    return this.worker;
  }

  private fail(e: Error): void {
    if (this.failed) return;
    this.failed = true;
    this.onFail?.(e);
  }

  /** After a commit: checkpoint what is in the WAL now (or, when one is running, once more after it). */
  request(): void {
    if (!this.start()) return;
    Atomics.add(this.flags, 0, 1);
    Atomics.notify(this.flags, 0);
  }

  /** Ends the worker (after the checkpoint it may be running) and closes its connection. */
  close(): Promise<void> {
    if (!this.closing) {
      const w = this.worker;
      Atomics.store(this.flags, 1, 1);
      Atomics.add(this.flags, 0, 1);
      Atomics.notify(this.flags, 0);
      if (w) w.ref(); // keep the process alive until the worker has closed its connection
      this.closing = w ? new Promise<void>((resolve) => w.once('exit', () => resolve())) : Promise.resolve();
    }
    return this.closing;
  }
}
