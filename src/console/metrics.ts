/** The console's own metrics, in Prometheus' text format at GET /metrics (prom-client). */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

export class Metrics {
  readonly registry = new Registry();
  readonly ingested = new Counter({
    name: 'api_sessions_console_records_ingested_total',
    help: 'Records stored, by source (file, http).',
    labelNames: ['source'] as const,
    registers: [this.registry],
  });
  readonly duplicates = new Counter({
    name: 'api_sessions_console_records_duplicate_total',
    help: 'Records already stored (same request_id), by source.',
    labelNames: ['source'] as const,
    registers: [this.registry],
  });
  readonly expired = new Counter({
    name: 'api_sessions_console_records_expired_total',
    help: 'Records dropped because their part is older than the retention period, or dated after tomorrow (reason=future).',
    labelNames: ['source', 'reason'] as const,
    registers: [this.registry],
  });
  readonly invalid = new Counter({
    name: 'api_sessions_console_records_invalid_total',
    help: 'Lines that are not valid records, by source and reason (json, shape, version, too_long).',
    labelNames: ['source', 'reason'] as const,
    registers: [this.registry],
  });
  readonly ingestRefused = new Counter({
    name: 'api_sessions_console_ingest_refused_total',
    help: 'POST /api/ingest requests refused whole, by reason (token, cross_site, content_type, too_large, encoding, bad_body).',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly queriesRefused = new Counter({
    name: 'api_sessions_console_queries_refused_total',
    help: 'API queries answered 503 because too many were waiting.',
    registers: [this.registry],
  });
  readonly rotations = new Counter({
    name: 'api_sessions_console_log_rotations_total',
    help: 'Log rotations followed (new files nginx writes to, including those found at start), by kind (rename, truncate).',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly partsDeleted = new Counter({
    name: 'api_sessions_console_parts_deleted_total',
    help: 'Session parts deleted by retention.',
    registers: [this.registry],
  });
  readonly checkpointFailures = new Counter({
    name: 'api_sessions_console_checkpoint_failures_total',
    help: "Failures of the SQLite store's background WAL checkpoint thread (the writer then checkpoints itself).",
    registers: [this.registry],
  });
  readonly tailLag = new Gauge({
    name: 'api_sessions_console_tail_lag_bytes',
    help: 'Bytes of the followed log files (the log and its rotated siblings) not read yet, as of the last poll.',
    registers: [this.registry],
  });
  readonly tailLosses = new Counter({
    name: 'api_sessions_console_tail_losses_total',
    help: 'Times records of the log could not be read (a file gone or truncated before it was read), by reason (gone, truncated).',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly tailLostBytes = new Counter({
    name: 'api_sessions_console_tail_lost_bytes_total',
    help: 'Bytes of the log known to be lost in those events (a loss whose end is unknown adds nothing here).',
    registers: [this.registry],
  });

  // --- Detections (detect/) ---
  readonly detections = new Counter({
    name: 'api_sessions_console_detections_total',
    help: 'Findings the detections opened, by kind (hijack, enumeration, stuffing, scripted).',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly detectionErrors = new Counter({
    name: 'api_sessions_console_detection_errors_total',
    help: 'Batches whose detection or whose findings could not be saved (ingest went on).',
    registers: [this.registry],
  });
  // --- end of detections ---

  constructor(defaults = false) {
    if (defaults) collectDefaultMetrics({ register: this.registry, prefix: 'api_sessions_console_' });
  }
}
