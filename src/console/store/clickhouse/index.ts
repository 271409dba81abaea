/**
 * The server-backed store: ClickHouse over its HTTP interface (@clickhouse/client), for traffic
 * that outgrows one machine. Same interface and query semantics as the SQLite store.
 *
 * Schema: deploy/clickhouse/schema.sql (also run by the compose setup; schema.ts). One row per
 * request in `requests`, partitioned by day (`part`), ReplacingMergeTree ordered by (session,
 * ts_ms, request_id): a record ingested twice, by the console or by Vector's ClickHouse sink,
 * collapses into one row, and readers use FINAL until merges have run. Part summaries are
 * aggregated from the requests at query time (summaries.ts: ClickHouse scans a day of requests
 * quickly; there is nothing to keep up to date on ingest, so Vector can write directly).
 *
 * Journeys and recommendations (Store.links, Store.samples, PartFilter.sessions): tables `links`
 * (journeys.ts) and `samples` (samples.ts), partitioned by day like `requests`, written by this
 * store's ingest (write.ts) for each record it newly stores, with the SQLite store's validation
 * (journey-rows.ts) and semantics. Rows Vector writes straight into `requests` get neither
 * (docs/deployment.md). Without the two tables (createSchema false and an operator's schema
 * lacking them) the store leaves both methods out and the API answers 501.
 *
 * Works with ClickHouse 18.16 (Debian 12) and current releases: no query parameters (18.16 has
 * none; values are inlined as escaped literals), no TTL on servers before 19.6 (deleteBefore drops
 * partitions there, and everywhere), no DateTime64 (times are ts_ms, computed from the record's
 * ISO ts by best-effort parsing).
 *
 * Differences from SQLite that callers may see: requests with the same millisecond are ordered
 * by request_id (SQLite: by arrival); parts with the same last request time by session, then part
 * (SQLite: by creation); `user`/`role`/`key` of a part are those of its earliest request (SQLite:
 * of the first one ingested). A checkpoint is written after the records, not in one transaction
 * with them: a crash in between replays the batch, which deduplication absorbs.
 */
import { createClient, ClickHouseClient } from '@clickhouse/client';
import { SessionRecord } from '../../../shared/record';
import { eachPartRequest } from '../session-page';
import { Checkpoint, IngestResult, LINKS_PER_SESSION, LinkEdge, Page, PartFilter, PartSort, PartSummary, RequestFilter, SampleRow, Store, StoredRequest, TimelineBucket } from '../types';
import { links } from './journeys';
import { listParts } from './list';
import { deleteBefore } from './retention';
import { Samples } from './samples';
import { ClickHouseBlocks, hasBlockTable } from './blocks';
import { ClickHouseDetections, hasDetectionTables } from './detections';
import { DEFAULT_SCHEMA_FILE, createTables, findJourneyTables, serverHasTtl } from './schema';
import { getPart, partRequests, sessionParts, timeline } from './session';
import { ClickHouseTables } from './tables';
import { RequestWriter, getCheckpoint } from './write';
import { overview } from './overview';
import { DEFAULTS } from '../../settings';
import { OverviewCounts, OverviewQuery } from '../../overview';

export { DEFAULT_SCHEMA_FILE, schemaStatements, serverHasTtl } from './schema';

export interface ClickHouseStoreOptions {
  /** HTTP interface, e.g. http://127.0.0.1:8123 */
  url: string;
  /** Database (created when missing). Default `api_sessions`. */
  database?: string;
  user?: string;
  password?: string;
  /** Days a part is kept: the TTL on servers that have TTL (19.6+). Default DEFAULTS.retentionDays. */
  retentionDays?: number;
  /** Run deploy/clickhouse/schema.sql at start (default true). False where an operator manages
   *  the tables, e.g. a fleet's ReplicatedMergeTree + Distributed setup (docs/deployment.md). */
  createSchema?: boolean;
  /** The table read and written: `requests`, or a Distributed table over the shards. */
  table?: string;
  /** Keep links and discovery samples (tables `links` and `samples` of the database) for journeys
   *  and recommendations. Default: true when the schema is created; otherwise when both tables
   *  exist. Without them the store has no `links` / `samples` methods (the API answers 501). */
  journeys?: boolean;
  /** Where schema.sql is (default: deploy/clickhouse/schema.sql of this checkout). */
  schemaFile?: string;
  /** Per-request timeout, ms (default 60000). */
  requestTimeoutMs?: number;
}

const IDENT_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

export class ClickHouseStore implements Store {
  readonly client: ClickHouseClient;
  readonly database: string;
  readonly retentionDays: number;
  serverVersion = '';
  private readonly tables: ClickHouseTables;
  private readonly discoverySamples: Samples;
  private readonly writer: RequestWriter;
  /** Blocks and their audit list (blocks.ts): absent where the database has no block_audit
   *  table (an operator-managed schema without it: the block API answers 501). */
  blocks?: ClickHouseBlocks;
  /** Findings of the detections (detections.ts): absent where the database has no detections
   *  tables (an operator-managed schema without them: the detections API answers 501). */
  detections?: ClickHouseDetections;

  constructor(private readonly opts: ClickHouseStoreOptions) {
    this.database = opts.database ?? 'api_sessions';
    if (!IDENT_RE.test(this.database)) throw new Error('bad ClickHouse database name ' + JSON.stringify(this.database));
    const table = opts.table ?? 'requests';
    if (!IDENT_RE.test(table)) throw new Error('bad ClickHouse table name ' + JSON.stringify(table));
    this.retentionDays = opts.retentionDays ?? DEFAULTS.retentionDays;
    this.client = createClient({
      url: opts.url,
      username: opts.user ?? 'default',
      password: opts.password ?? '',
      request_timeout: opts.requestTimeoutMs ?? 60000,
      // 18.16 knows neither query parameters nor the newer settings: send none by default.
      clickhouse_settings: {},
    });
    this.tables = new ClickHouseTables(this.client, this.database, `${this.database}.${table}`);
    this.discoverySamples = new Samples(this.tables);
    this.writer = new RequestWriter(this.tables, this.discoverySamples);
  }

  /** Whether links and samples are kept (set by init). */
  get journeys(): boolean {
    return this.tables.journeys;
  }

  /** Connects, reads the server version and (unless told not to) creates the schema. */
  async init(): Promise<void> {
    const rows = await this.tables.rows<{ v: string }>('SELECT version() AS v');
    this.serverVersion = rows[0].v;
    const createSchema = this.opts.createSchema !== false;
    if (createSchema) {
      await createTables(this.tables, this.opts.schemaFile ?? DEFAULT_SCHEMA_FILE, {
        retentionDays: this.retentionDays,
        ttl: serverHasTtl(this.serverVersion),
      });
    }
    if (await hasBlockTable(this.tables)) this.blocks = new ClickHouseBlocks(this.tables);
    if (await hasDetectionTables(this.tables)) this.detections = new ClickHouseDetections(this.tables);
    const found = await findJourneyTables(this.tables, { journeys: this.opts.journeys, createSchema });
    this.tables.journeys = found.journeys;
    this.tables.samplesUser = found.samplesUser;
    this.tables.samplesKey = found.samplesKey;
    if (!found.journeys) {
      // The optional Store methods are absent: callers (journey.ts, the API) then answer 501.
      Object.defineProperty(this, 'links', { value: undefined });
      Object.defineProperty(this, 'samples', { value: undefined });
    }
  }

  setCutoff(cutoffPart: string): void {
    this.writer.setCutoff(cutoffPart);
  }

  ingest(records: SessionRecord[], checkpoint?: Checkpoint, _raws?: string[], fresh?: SessionRecord[]): Promise<IngestResult> {
    return this.writer.ingest(records, checkpoint, fresh);
  }

  getCheckpoint(name: string): Promise<string | null> {
    return getCheckpoint(this.tables, name);
  }

  listParts(filter: PartFilter, opts: { limit: number; cursor?: string | null; count?: number; sort?: PartSort }): Promise<Page<PartSummary>> {
    return listParts(this.tables, filter, opts);
  }

  getPart(session: string, part: string): Promise<PartSummary | null> {
    return getPart(this.tables, session, part);
  }

  sessionParts(session: string): Promise<PartSummary[]> {
    return sessionParts(this.tables, session);
  }

  partRequests(session: string, part: string, opts: { limit: number; cursor?: string | null; filter?: RequestFilter }): Promise<Page<StoredRequest>> {
    return partRequests(this.tables, session, part, opts);
  }

  eachPartRequest(session: string, part: string): AsyncIterable<StoredRequest> {
    return eachPartRequest(this, session, part);
  }

  timeline(session: string, part: string, buckets: number): Promise<TimelineBucket[]> {
    return timeline(this.tables, session, part, buckets);
  }

  links(sessions: string[], perSession: number = LINKS_PER_SESSION): Promise<LinkEdge[]> {
    return links(this.tables, sessions, perSession);
  }

  samples(app: string, max: number): Promise<SampleRow[]> {
    return this.discoverySamples.samples(app, max);
  }

  overview(q: OverviewQuery): Promise<OverviewCounts> {
    return overview(this.tables, q);
  }

  deleteBefore(cutoffPart: string): Promise<number> {
    return deleteBefore(this.tables, cutoffPart);
  }

  async stats(): Promise<{ parts: number; requests: number; oldestPart: string | null; newestPart: string | null }> {
    const r = await this.tables.rows<{ parts: string | number; requests: string | number; oldest: string; newest: string }>(
      `SELECT uniqExact(session, part) AS parts, count() AS requests, toString(min(part)) AS oldest, toString(max(part)) AS newest
       FROM ${this.tables.requests} FINAL`,
    );
    const parts = Number(r[0]?.parts ?? 0);
    return {
      parts,
      requests: Number(r[0]?.requests ?? 0),
      oldestPart: parts > 0 ? r[0].oldest : null,
      newestPart: parts > 0 ? r[0].newest : null,
    };
  }

  async close(): Promise<void> {
    await this.writer.idle();
    await this.client.close();
  }
}

/** Creates the store and its schema: `await createClickHouseStore({ url: 'http://127.0.0.1:8123' })`. */
export async function createClickHouseStore(opts: ClickHouseStoreOptions): Promise<ClickHouseStore> {
  const store = new ClickHouseStore(opts);
  try {
    await store.init();
  } catch (e) {
    await store.client.close();
    throw e;
  }
  return store;
}
