/**
 * The detections in the console: the detector fed by ingest (each batch's newly stored records,
 * after the store took them), its findings written to the store, a counter per kind, and a clock
 * for the rules that name requests some time after them. A failure here is logged and counted,
 * never passed to ingest: records are stored whatever the detections do.
 */
import { SessionRecord } from '../../record/record';
import type { Metrics } from '../metrics';
import type { Store } from '../store/types';
import { DetectionConfig } from './config';
import { Detector, DetectorLimits } from './detector';
import { DETECTION_KINDS } from './finding';

/** How far back, at start, findings are taken up again (the longest window of a rule). */
const RESUME_MS = 3600000;
/** How often the clock runs when records do not come (ms). */
const TICK_MS = 15000;

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
    this.timer = setInterval(() => void this.tick(), TICK_MS);
    this.timer.unref();
  }

  /** Runs the rules on records the store has just taken, and saves what changed. */
  async observe(fresh: SessionRecord[]): Promise<void> {
    if (!this.enabled || fresh.length === 0) return;
    try {
      this.detector.observe(fresh);
      await this.save();
    } catch (e) {
      this.failed('detection', e);
    }
  }

  private async tick(): Promise<void> {
    try {
      this.detector.tick(Date.now());
      await this.save();
    } catch (e) {
      this.failed('detection', e);
    }
  }

  private async save(): Promise<void> {
    const updates = this.detector.flush();
    if (updates.length > 0 && this.store.detections) await this.store.detections.save(updates);
  }

  private failed(what: string, e: unknown): void {
    this.metrics?.detectionErrors.inc();
    // At most one line a minute: a store that is away would otherwise log every batch.
    if (Date.now() - this.lastError > 60000) {
      this.lastError = Date.now();
      this.log(`${what} failed (ingest goes on; see api_sessions_console_detection_errors_total): ${(e as Error).message}`);
    }
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
