/**
 * The detections in the console: the detector fed by ingest (each batch's newly stored records,
 * after the store took them), its findings written to the store, a counter per kind, and a clock
 * for the rules that name requests some time after them. A failure here is logged and counted,
 * never passed to ingest: records are stored whatever the detections do.
 */
import { SessionRecord } from '../../shared/record';
import type { Metrics } from '../metrics';
import type { Store } from '../store/types';
import { DetectionConfig } from './config';
import { Detector, DetectorLimits } from './detector';
import { DETECTION_KINDS } from './finding';

/** How far back, at start, findings are taken up again (the longest window of a rule). */
const RESUME_MS = 3600000;
/** Findings are written at most this often (ms): an attack in progress changes its finding with
 *  every request, and writing it whole each batch would cost ingest more than the rules. */
const SAVE_MS = 1000;
/** After this long without records, the rules' clock (stuffing's and churn's naming a minute
 *  later) follows the wall clock instead of the records' time (ms). */
const QUIET_MS = 60000;

export interface DetectionsOptions {
  store: Store;
  config: DetectionConfig;
  metrics?: Metrics;
  log?: (msg: string) => void;
  limits?: Partial<DetectorLimits>;
}

export class Detections {
  readonly detector: Detector;
  private readonly store: Store;
  private readonly log: (msg: string) => void;
  private readonly metrics?: Metrics;
  private timer: NodeJS.Timeout | null = null;
  private lastError = 0;
  private lastSave = 0;
  private lastRecords = 0;
  private saving: Promise<void> | null = null;

  constructor(opts: DetectionsOptions) {
    this.store = opts.store;
    this.metrics = opts.metrics;
    this.log = opts.log ?? (() => undefined);
    this.detector = new Detector(opts.config, {
      limits: opts.limits,
      onFinding: (kind) => opts.metrics?.detections.inc({ kind }),
    });
    // Every kind appears in /metrics from the start, at 0.
    for (const kind of DETECTION_KINDS) opts.metrics?.detections.inc({ kind }, 0);
  }

  get enabled(): boolean {
    return this.detector.config.enabled;
  }

  /** Takes up the store's recent findings (after a restart) and starts the clock. */
  async start(): Promise<void> {
    if (!this.enabled) return;
    if (this.store.detections) {
      try {
        this.detector.resume(await this.store.detections.recent(Date.now() - RESUME_MS, 5000));
      } catch (e) {
        this.failed('reading recent findings', e);
      }
    }
    this.timer = setInterval(() => void this.tick(), SAVE_MS);
    this.timer.unref();
  }

  /** Runs the rules on records the store has just taken, and saves what changed. */
  async observe(fresh: SessionRecord[]): Promise<void> {
    if (!this.enabled || fresh.length === 0) return;
    try {
      this.detector.observe(fresh);
      this.lastRecords = Date.now();
    } catch (e) {
      this.failed('detection', e);
    }
    if (Date.now() - this.lastSave >= SAVE_MS) await this.save();
  }

  /** Every second: what changed is written; when no record came for a while, the rules' clock
   *  follows the wall clock (records read from an old log keep their own time). */
  private async tick(): Promise<void> {
    try {
      if (Date.now() - this.lastRecords > QUIET_MS) this.detector.tick(Date.now());
    } catch (e) {
      this.failed('detection', e);
    }
    await this.save();
  }

  /** Writes the findings that changed (one write at a time: a call during a write waits for it,
   *  then writes what changed since, so that a read after it sees everything observed). */
  async save(): Promise<void> {
    while (this.saving) await this.saving;
    this.lastSave = Date.now();
    // Set before awaiting: a write with nothing to do finishes at once.
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
      const updates = this.detector.flush();
      if (updates.length > 0 && this.store.detections) await this.store.detections.save(updates);
    } catch (e) {
      this.failed('saving findings', e);
    }
  }

  private failed(what: string, e: unknown): void {
    this.metrics?.detectionErrors.inc();
    // At most one line a minute: a store that is away would otherwise log every batch.
    if (Date.now() - this.lastError > 60000) {
      this.lastError = Date.now();
      this.log(`${what} failed (ingest goes on; see api_sessions_console_detection_errors_total): ${(e as Error).message}`);
    }
  }

  /** Stops the clock and writes what is left. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.save();
  }
}
