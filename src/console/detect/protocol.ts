/**
 * What ingest's side (runner.ts) and the detector's thread (worker.ts) say to each other.
 */
import type { DetectionConfig } from './config';
import type { DetectorLimits } from './detector';
import type { Finding, FindingUpdate } from './finding';

export interface WorkerSetup {
  config: DetectionConfig;
  limits?: Partial<DetectorLimits>;
  /** Int32 [0]: records done (wraps; runner.ts compares differences). */
  progress: SharedArrayBuffer;
}

export type ToWorker =
  /** Records' JSON texts (an array of strings crosses threads at about half the cost of one
   *  joined string, which must be built first). */
  | { t: 'observe'; lines: string[] }
  | { t: 'resume'; findings: Finding[] }
  | { t: 'tick'; now: number }
  | { t: 'flush'; id: number }
  | { t: 'status'; id: number };

export interface DetectorStatus {
  observed: number;
  opened: number;
  held: Record<string, number>;
}

export type FromWorker =
  | { t: 'found'; kind: string; rule: string }
  | { t: 'flushed'; id: number; updates: FindingUpdate[] }
  | { t: 'status'; id: number; status: DetectorStatus }
  | { t: 'failed'; what: string; message: string };
