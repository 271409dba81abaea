/**
 * The detections in the console: the detector fed by ingest (each batch's newly stored records,
 * after the store took them), its findings written to the store, a counter per kind, and a clock
 * for the rules that name requests some time after them. A failure here is logged and counted,
 * never passed to ingest: records are stored whatever the detections do.
 *
 * The detector runs on a thread of its own (worker.ts): ingest hands it the records' JSON text
 * (what it read, not a copy of the parsed objects) and goes on with the next batch, so the rules
 * cost ingest almost nothing while the machine has a core to spare. At most MAX_IN_FLIGHT
 * records wait for the rules; beyond that ingest waits for them (bounded memory; ingest then goes
 * at the rules' pace). Should the thread end, the next batch starts a new one (the rules then
 * start counting again, as after a restart).
 */
import { Worker } from 'worker_threads';
import { DETECTION_WORKER } from '../assets';
import { SessionRecord } from '../../shared/record';
import type { Metrics } from '../metrics';
import type { Store } from '../store/types';
import { DetectionConfig } from './config';
import { DEFAULT_LIMITS, DetectorLimits } from './detector';
import { DETECTION_KINDS, DetectionKind, FindingUpdate } from './finding';
import { DetectorStatus, FromWorker, ToWorker, WorkerSetup } from './protocol';

/** How far back, at start, findings are taken up again (the longest window of a rule). */
const RESUME_MS = 3600000;
/** Findings are written at most this often (ms): an attack in progress changes its finding with
 *  every request, and writing it whole each batch would cost ingest more than the rules. */
const SAVE_MS = 1000;
/** After this long without records, the rules' clock (stuffing's and churn's naming a minute
 *  later) follows the wall clock instead of the records' time (ms). */
const QUIET_MS = 60000;
/** How long a read, a save or a shutdown waits for the thread's answer (ms): it answers after
 *  the records before the question, at most MAX_IN_FLIGHT of them (well under a second). */
const ANSWER_MS = 10000;
/** Records handed to the detector's thread and not yet through its rules, at most. */
export const MAX_IN_FLIGHT = 20000;
/** The thread parses every record again and drops it soon after: a young generation of 64 MiB
 *  (instead of V8's 16 to 32) keeps most of them from being copied before they die; measured,
 *  the thread takes 7 to 15% less time over the same records. */
const YOUNG = { maxYoungGenerationSizeMb: 64 };
/** The worker's TypeScript run through tsx's loader (from the sources only). */
const WITH_TSX = `const { workerData } = require('worker_threads');
const from = require('module').createRequire(workerData.file);
from('tsx/cjs/api').register();
from(workerData.file);`;

export interface DetectionsOptions {
  store: Store;
  config: DetectionConfig;
  metrics?: Metrics;
  log?: (msg: string) => void;
  limits?: Partial<DetectorLimits>;
}

/** The batch the fresh records came from: their JSON text as read (`raws[i]` is records[i]'s). */
export interface SourceBatch {
  records: SessionRecord[];
  raws: string[];
}

type Pending = { resolve: (m: FromWorker | null) => void };

export class Detections {
  readonly config: DetectionConfig;
  readonly limits: DetectorLimits;
  private readonly opts: DetectionsOptions;
  private readonly store: Store;
  private readonly log: (msg: string) => void;
  private readonly metrics?: Metrics;
  private worker: Worker | null = null;
  private readonly progress = new Int32Array(new SharedArrayBuffer(4));
  /** Records handed over (compared with progress[0]; both wrap alike). */
  private sent = 0;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private timer: NodeJS.Timeout | null = null;
  private lastError = 0;
  private lastRecords = 0;
  private saving: Promise<void> | null = null;
  private closed = false;

  constructor(opts: DetectionsOptions) {
    this.opts = opts;
    this.config = opts.config;
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.store = opts.store;
    this.metrics = opts.metrics;
    this.log = opts.log ?? (() => undefined);
    // Every kind appears in /metrics from the start, at 0.
    for (const kind of DETECTION_KINDS) opts.metrics?.detections.inc({ kind }, 0);
  }

  get enabled(): boolean {
    return this.config.enabled;
  }

  /** Starts the detector's thread, hands it the store's recent findings (after a restart) and
   *  starts the clock. */
  async start(): Promise<void> {
    if (!this.enabled) return;
    this.thread();
    if (this.store.detections) {
      try {
        this.post({ t: 'resume', findings: await this.store.detections.recent(Date.now() - RESUME_MS, 5000) });
      } catch (e) {
        this.failed('reading recent findings', e);
      }
    }
    this.timer = setInterval(() => void this.tick(), SAVE_MS);
    this.timer.unref();
  }

  /** Hands the records the store has just taken to the rules. `from`, the batch they came from,
   *  gives their text as read (without it they are serialized here). Resolves once they are
   *  handed over, after waiting while MAX_IN_FLIGHT records are still before the rules. */
  async observe(fresh: SessionRecord[], from?: SourceBatch): Promise<void> {
    if (!this.enabled || this.closed || fresh.length === 0) return;
    try {
      this.post({ t: 'observe', lines: textsOf(fresh, from) });
      this.sent = (this.sent + fresh.length) | 0;
      this.lastRecords = Date.now();
    } catch (e) {
      this.failed('detection', e);
      return;
    }
    await this.room();
  }

  /** Records handed over and not through the rules yet. */
  get inFlight(): number {
    return (this.sent - Atomics.load(this.progress, 0)) | 0;
  }

  private async room(): Promise<void> {
    for (;;) {
      const done = Atomics.load(this.progress, 0);
      if (((this.sent - done) | 0) <= MAX_IN_FLIGHT || this.worker === null) return;
      // Woken by the thread's count of records done (no message to wait for), or after 100 ms
      // whatever happens: a thread that ended is then replaced.
      const w = (Atomics as unknown as AtomicsWaitAsync).waitAsync(this.progress, 0, done, 100);
      if (w.async) await w.value;
    }
  }

  /** Every second: what changed is written; when no record came for a while, the rules' clock
   *  follows the wall clock (records read from an old log keep their own time). */
  private async tick(): Promise<void> {
    if (this.worker === null) return;
    if (Date.now() - this.lastRecords > QUIET_MS) this.post({ t: 'tick', now: Date.now() });
    await this.save();
  }

  /** Writes the findings that changed, as they stand after every record handed over so far (one
   *  write at a time: a call during a write waits for it, then writes what changed since). */
  async save(): Promise<void> {
    if (!this.enabled) return;
    while (this.saving) await this.saving;
    const write = this.write();
    this.saving = write;
    try {
      await write;
    } finally {
      if (this.saving === write) this.saving = null;
    }
  }

  private async write(): Promise<void> {
    try {
      const m = await this.ask({ t: 'flush', id: 0 });
      const updates: FindingUpdate[] = m?.t === 'flushed' ? m.updates : [];
      if (updates.length > 0 && this.store.detections) await this.store.detections.save(updates);
    } catch (e) {
      this.failed('saving findings', e);
    }
  }

  /** What the detector has seen and holds (GET /api/detections/rules): null without its thread. */
  async status(): Promise<DetectorStatus | null> {
    const m = await this.ask({ t: 'status', id: 0 });
    return m?.t === 'status' ? m.status : null;
  }

  /** Stops the clock, writes what is left, and ends the thread. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.closed) return;
    await this.save();
    this.closed = true;
    const w = this.worker;
    this.worker = null;
    // Not waited for beyond ANSWER_MS either: a thread held in native code ends with the process.
    if (w) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([w.terminate(), new Promise((r) => (timer = setTimeout(r, ANSWER_MS)))]);
      clearTimeout(timer);
    }
  }

  private thread(): Worker {
    if (this.worker) return this.worker;
    const setup: WorkerSetup = { config: this.config, limits: this.opts.limits, progress: this.progress.buffer as SharedArrayBuffer };
    // A new thread starts its count at 0: what was in flight is gone with the old one.
    Atomics.store(this.progress, 0, 0);
    this.sent = 0;
    const w = DETECTION_WORKER.typescript
      ? // From the sources (tsx, ts-jest): the worker's TypeScript goes through tsx's loader.
        // (tsx is found from the worker's file: the built console has no tsx and no such file.)
        new Worker(WITH_TSX, { eval: true, workerData: { detections: setup, file: DETECTION_WORKER.file }, resourceLimits: YOUNG })
      : new Worker(DETECTION_WORKER.file, { workerData: { detections: setup }, resourceLimits: YOUNG });
    w.unref();
    w.on('message', (m: FromWorker) => this.received(m));
    w.on('error', (e) => this.failed('the detections thread', e));
    w.on('exit', () => {
      if (this.worker === w) this.worker = null;
      // Its open questions get no answer, also when close() let it go first (a new thread starts
      // only after this one is gone, so every open question is this one's).
      if (this.worker === null) for (const p of [...this.pending.values()]) p.resolve(null);
    });
    this.worker = w;
    return w;
  }

  private post(m: ToWorker): void {
    if (this.closed) return;
    this.thread().postMessage(m);
  }

  /** Sends a request and resolves with its answer: null when there is no thread to ask, or when
   *  it has not answered within ANSWER_MS (a read, a save or a shutdown never waits longer). */
  private ask(m: Extract<ToWorker, { id: number }>): Promise<FromWorker | null> {
    if (this.closed || this.worker === null) return Promise.resolve(null);
    const w = this.worker;
    const id = this.nextId++;
    // While an answer is awaited the thread holds the process (a script's last save); otherwise not.
    w.ref();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.failed('the detections thread', new Error(`no answer within ${ANSWER_MS / 1000} s`));
        this.pending.get(id)?.resolve(null);
      }, ANSWER_MS);
      this.pending.set(id, {
        resolve: (a) => {
          clearTimeout(timer);
          this.pending.delete(id);
          if (this.pending.size === 0) w.unref();
          resolve(a);
        },
      });
      w.postMessage({ ...m, id });
    });
  }

  private received(m: FromWorker): void {
    if (m.t === 'found') this.metrics?.detections.inc({ kind: m.kind as DetectionKind });
    else if (m.t === 'failed') this.failed(m.what, new Error(m.message));
    else this.pending.get(m.id)?.resolve(m);
  }

  private failed(what: string, e: unknown): void {
    this.metrics?.detectionErrors.inc();
    // At most one line a minute: a store that is away would otherwise log every batch.
    if (Date.now() - this.lastError > 60000) {
      this.lastError = Date.now();
      this.log(`${what} failed (ingest goes on; see api_sessions_console_detection_errors_total): ${(e as Error).message}`);
    }
  }
}

/** Atomics.waitAsync (Node 16+), which TypeScript's es2022 lib does not declare. */
interface AtomicsWaitAsync {
  waitAsync(a: Int32Array, index: number, value: number, timeoutMs?: number): { async: boolean; value: Promise<string> | string };
}

/**
 * The JSON text of each fresh record: its text as read, found by walking the batch alongside
 * (fresh records are the batch's, in its order); serialized where the batch does not have it.
 */
export function textsOf(fresh: SessionRecord[], from?: SourceBatch): string[] {
  const out: string[] = new Array(fresh.length);
  let j = 0;
  for (let i = 0; i < fresh.length; i++) {
    const r = fresh[i];
    if (from !== undefined) while (j < from.records.length && from.records[j] !== r) j++;
    out[i] = from !== undefined && j < from.records.length && from.raws[j] !== undefined ? from.raws[j++] : JSON.stringify(r);
  }
  return out;
}
