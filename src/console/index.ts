/**
 * The console: ingest (the module's log file, and HTTP from shippers), the store, the query API
 * and the web UI in one process. startConsole puts the named parts below together; the settings
 * of the entry points (cli.ts, main.ts) and every default: settings.ts.
 *
 *   const c = await startConsole({ dbPath: 'sessions.db', logFile: '/var/log/nginx/api_sessions.log' });
 *   console.log(c.url);
 *   ...
 *   await c.close();
 */
import { randomBytes } from 'crypto';
import { mkdirSync } from 'fs';
import { dirname, resolve } from 'path';
import { AddressInfo } from 'net';
import { SqliteStore } from './store/sqlite';
import { createClickHouseStore } from './store/clickhouse';
import { IngestResult, Store } from './store/types';
import { Tailer } from './ingest/tailer';
import { Batch, InvalidSink, excerpt } from './ingest/lines';
import { Metrics } from './metrics';
import { buildServer } from './server';
import { ClickHouseSettings, DEFAULTS } from './settings';
import { SessionRecord } from '../shared/record';
import { DetectionConfig, detectionConfig } from './detect/config';
import { Detections } from './detect/runner';

export interface ConsoleOptions {
  /** SQLite file (created when missing; default api-sessions.db). Ignored when `store` or
   *  `clickhouse` is given. */
  dbPath?: string;
  /** Another store, opened by the caller; the console closes it on close(). */
  store?: Store;
  /** The ClickHouse store on this server instead of SQLite (settings.ts: main.ts's environment). */
  clickhouse?: ClickHouseSettings;
  /** The module's log file to follow (optional: HTTP ingest works without it). */
  logFile?: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: a free port (cli.ts and main.ts: DEFAULTS.port). */
  port?: number;
  /** Access token for the UI, the API and ingest. Required off loopback: when the host is not a
   *  loopback address and none is given, one is generated and printed. */
  token?: string;
  /** Behind a TLS proxy you trust to set X-Forwarded-Proto and X-Forwarded-For: the sign-in
   *  cookie gets `Secure` when the first says https (a TLS connection to the console itself
   *  always does), and wrong tokens are counted per client address the second names. */
  trustForwardedProto?: boolean;
  /** API queries that may wait at once; more get 503 (default 16). */
  maxQueuedQueries?: number;
  /** Token nginx sends to pull the block list (GET /api/blocks/list), separate from `token`;
   *  without it the list is not served. */
  blocksToken?: string;
  /** Where sign-outs of the UI are kept, so that they hold across restarts (a small file).
   *  Default: beside the SQLite file (`<dbPath>.signouts`), also when the store is another and
   *  `dbPath` is given; null, or another store without `dbPath`: kept in memory only. */
  signOutFile?: string | null;
  /** Days of parts kept besides today (default 7). */
  retentionDays?: number;
  /** How often retention runs, ms (default 10 minutes). */
  retentionIntervalMs?: number;
  /** Log lines (default: stderr with a time). Pass () => {} to silence. */
  log?: (msg: string) => void;
  /** The detections' settings: overrides of their defaults (detect/config.ts; the JSON of
   *  `--detections FILE`), `{ enabled: false }` to turn them off. A bad one stops the start. */
  detections?: unknown;
  /** Tailer tuning (tests): poll interval, and how long a rotated file must stay unchanged before it is let go. */
  pollMs?: number;
  rotateGraceMs?: number;
}

export interface RunningConsole {
  /** Base URL, e.g. http://127.0.0.1:7441/ */
  url: string;
  /** The detections: their detector (rules, settings in force). */
  detections: Detections;
  /** The token in force (given or generated), null when none. */
  token: string | null;
  store: Store;
  metrics: Metrics;
  tailer: Tailer | null;
  /** Runs retention now; returns the number of parts deleted. */
  sweep(): Promise<number>;
  close(): Promise<void>;
}

const DAY = 86400000;

/** The oldest part date kept: today (UTC) minus `days`. */
export function cutoffPart(now: number, days: number): string {
  return new Date(now - days * DAY).toISOString().slice(0, 10);
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

type Log = (msg: string) => void;

export async function startConsole(options: ConsoleOptions = {}): Promise<RunningConsole> {
  const log = options.log ?? ((m: string) => process.stderr.write(`${new Date().toISOString()} console: ${m}\n`));
  const host = options.host ?? DEFAULTS.host;
  const retentionDays = options.retentionDays ?? DEFAULTS.retentionDays;
  if (!(retentionDays >= 0)) throw new Error('retentionDays must be 0 or more');
  const token = tokenInForce(options.token ?? null, host, log);
  // Checked before anything starts: a typo in a threshold stops the console with its name.
  const detectionSettings = detectionConfig(options.detections ?? {});
  const metrics = new Metrics(true);
  const store = await openStore(options, retentionDays, metrics, log);

  const invalid = invalidLines(metrics, log);
  const detections = detectionsOf(store, detectionSettings, metrics, log);
  const counted = countedIngest(store, metrics, detections);
  const retention = retentionSweeps(store, retentionDays, metrics, log);
  const stopTimers = () => {
    retention.stop();
    invalid.stop();
  };
  let tailer: Tailer | null = null;
  try {
    await detections.start();
    await retention.sweep();
    retention.start(options.retentionIntervalMs ?? DEFAULTS.retentionIntervalMs);
    tailer = options.logFile ? logTailer(options, store, metrics, invalid.onInvalid, counted.ingest, log) : null;
  } catch (e) {
    stopTimers();
    await detections.close();
    await store.close();
    throw e;
  }

  const app = await buildServer({
    store,
    metrics,
    onInvalid: invalid.onInvalid,
    token,
    maxQueuedQueries: options.maxQueuedQueries,
    trustForwardedProto: options.trustForwardedProto ?? false,
    blocksToken: options.blocksToken ?? null,
    detections,
    signOutFile: signOutFileOf(options),
    log,
    ingest: (batch, source) => counted.ingest(batch, source),
    status: async () => ({
      store: await store.stats(),
      ingest: { ...counted.totals, invalid: (await metrics.invalid.get()).values.reduce((s, v) => s + v.value, 0) },
      tail: tailer
        ? {
            file: resolve(options.logFile!),
            lag_bytes: tailer.lagBytes,
            error: tailer.lastError,
            files: tailer.tailedFiles(),
            losses: { count: tailer.lossCount, bytes: tailer.lostBytes, recent: tailer.losses },
          }
        : null,
      retention_days: retentionDays,
      // the UI offers "Sign out" only where there is something to sign out of
      token_required: token !== null,
    }),
  });
  try {
    await app.listen({ host, port: options.port ?? 0 });
  } catch (e) {
    stopTimers();
    await detections.close();
    await store.close();
    throw e;
  }
  const addr = app.server.address() as AddressInfo;
  const shown = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  tailer?.start();

  let closed = false;
  return {
    url: `http://${shown}:${addr.port}/`,
    detections,
    token,
    store,
    metrics,
    tailer,
    sweep: retention.sweep,
    close: async () => {
      if (closed) return;
      closed = true;
      stopTimers();
      await tailer?.stop();
      await detections.close();
      // Requests under way get CLOSE_GRACE_MS to finish; then every connection is closed, also
      // one a browser opened ahead and never used, which Node would keep until its 60 s
      // headersTimeout.
      const force = setTimeout(() => app.server.closeAllConnections(), CLOSE_GRACE_MS);
      await app.close();
      clearTimeout(force);
      await retention.idle();
      await store.close();
    },
  };
}

/** The token given; none off loopback: one generated and logged. */
function tokenInForce(given: string | null, host: string, log: Log): string | null {
  if (given || isLoopback(host)) return given;
  const token = randomBytes(24).toString('base64url');
  log(`listening on ${host} needs a token; generated one: ${token}`);
  return token;
}

/** The store given, the ClickHouse store of `clickhouse`, or the SQLite file. */
async function openStore(options: ConsoleOptions, retentionDays: number, metrics: Metrics, log: Log): Promise<Store> {
  if (options.store) return options.store;
  if (options.clickhouse) return createClickHouseStore({ ...options.clickhouse, retentionDays });
  const dbPath = resolve(options.dbPath ?? DEFAULTS.dbFile);
  mkdirSync(dirname(dbPath), { recursive: true });
  return new SqliteStore(dbPath, {
    onCheckpointFail: (e) => {
      metrics.checkpointFailures.inc();
      log(`background WAL checkpoint failed, the writer checkpoints instead: ${e.message}`);
    },
  });
}

function signOutFileOf(options: ConsoleOptions): string | null {
  if (options.signOutFile !== undefined) return options.signOutFile;
  const sqlite = !options.store && !options.clickhouse;
  return options.dbPath !== undefined || sqlite ? resolve(options.dbPath ?? DEFAULTS.dbFile) + '.signouts' : null;
}

/** Refused lines: every one counted; the first 20 of each minute logged with an excerpt. */
function invalidLines(metrics: Metrics, log: Log): { onInvalid: InvalidSink; stop(): void } {
  let logged = 0;
  let suppressed = 0;
  const timer = setInterval(() => {
    if (suppressed > 0) log(`${suppressed} more invalid lines in the last minute (see api_sessions_console_records_invalid_total)`);
    logged = 0;
    suppressed = 0;
  }, 60000);
  timer.unref();
  const onInvalid: InvalidSink = (source, reason, detail, sample) => {
    metrics.invalid.inc({ source: source.startsWith('file:') ? 'file' : source, reason });
    if (logged < 20) {
      logged++;
      log(`invalid record from ${source} (${reason}): ${excerpt(detail, 120)}: ${excerpt(sample)}`);
    } else suppressed++;
  };
  return { onInvalid, stop: () => clearInterval(timer) };
}

/** How long a shutdown waits for requests under way (ms). */
const CLOSE_GRACE_MS = 2000;

/** Stores a batch from the log file or HTTP, counting what happened to it (metrics, /api/status);
 *  the records the store newly took go through the detections. */
function countedIngest(store: Store, metrics: Metrics, detections: Detections) {
  const totals = { inserted: 0, duplicates: 0, expired: 0, future: 0 };
  const ingest = async (batch: Batch, source: string, checkpoint?: { name: string; value: string }): Promise<IngestResult> => {
    const fresh: SessionRecord[] = [];
    const res = await store.ingest(batch.records, checkpoint, batch.raws, detections.enabled ? fresh : undefined);
    await detections.observe(fresh, batch);
    metrics.ingested.inc({ source }, res.inserted);
    metrics.duplicates.inc({ source }, res.duplicates);
    if (res.expired) metrics.expired.inc({ source, reason: 'expired' }, res.expired);
    if (res.future) metrics.expired.inc({ source, reason: 'future' }, res.future);
    totals.inserted += res.inserted;
    totals.duplicates += res.duplicates;
    totals.expired += res.expired;
    totals.future += res.future;
    return res;
  };
  return { ingest, totals };
}

/** Detections (detect/): the rules over the records ingest stores, their findings written to the
 *  store; started with the console (it takes up the store's recent findings), closed with it. */
function detectionsOf(store: Store, config: DetectionConfig, metrics: Metrics, log: Log): Detections {
  return new Detections({ store, config, metrics, log });
}

/** Retention: parts dated before today minus `days` deleted, one sweep at a time. */
function retentionSweeps(store: Store, days: number, metrics: Metrics, log: Log) {
  let sweeping: Promise<number> | null = null;
  let timer: NodeJS.Timeout | null = null;
  const sweep = async (): Promise<number> => {
    if (sweeping) return sweeping;
    sweeping = (async () => {
      const cutoff = cutoffPart(Date.now(), days);
      store.setCutoff(cutoff);
      const n = await store.deleteBefore(cutoff);
      if (store.detections) await store.detections.deleteBefore(cutoff);
      if (n > 0) {
        metrics.partsDeleted.inc(n);
        log(`retention: deleted ${n} session parts before ${cutoff}`);
      }
      return n;
    })();
    try {
      return await sweeping;
    } finally {
      sweeping = null;
    }
  };
  return {
    sweep,
    start(intervalMs: number) {
      timer = setInterval(() => void sweep().catch((e) => log('retention failed: ' + (e as Error).message)), intervalMs);
      timer.unref();
    },
    stop: () => {
      if (timer) clearInterval(timer);
    },
    /** Settles when a sweep under way has ended. */
    idle: async () => {
      if (sweeping) await sweeping.catch(() => undefined);
    },
  };
}

/** The tailer of the module's log file, storing through `ingest` and reporting to the metrics. */
function logTailer(options: ConsoleOptions, store: Store, metrics: Metrics, onInvalid: InvalidSink, ingest: ReturnType<typeof countedIngest>['ingest'], log: Log): Tailer {
  return new Tailer({
    path: options.logFile!,
    ingest: async (batch, checkpoint) => {
      await ingest(batch, 'file', checkpoint);
    },
    loadCheckpoint: (name) => store.getCheckpoint(name),
    onInvalid,
    log,
    onRotation: (kind) => metrics.rotations.inc({ kind }),
    onLag: (bytes) => metrics.tailLag.set(bytes),
    onLoss: (loss) => {
      metrics.tailLosses.inc({ reason: loss.reason });
      if (loss.to !== null) metrics.tailLostBytes.inc(loss.to - loss.from);
    },
    pollMs: options.pollMs,
    rotateGraceMs: options.rotateGraceMs,
  });
}
