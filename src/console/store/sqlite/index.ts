/**
 * The embedded store: one SQLite file through better-sqlite3, in WAL mode.
 *
 * Its tables are in schema.ts; ingest (write.ts) keeps one row of running aggregates per part
 * beside each day's requests (requests.ts) and the indexes the list's filters select parts
 * through (list.ts), so that one session's page (session.ts) reads its aggregates from one row.
 * Links (journeys.ts) and discovery samples (samples.ts) are kept for journeys and
 * recommendations, the overview's counts in overview.ts; retention.ts deletes what is older
 * than the retention period. The pieces
 * are synchronous; this class gives them the Store's async methods.
 *
 * One process writes a database file at a time (the console that owns it); readers may be many.
 */
import Database from 'better-sqlite3';
import { SessionRecord } from '../../../shared/record';
import { eachPartRequest } from '../session-page';
import { Checkpoint, IngestResult, LINKS_PER_SESSION, LinkEdge, Page, PartFilter, PartSort, PartSummary, RequestFilter, SampleRow, Store, StoredRequest, TimelineBucket } from '../types';
import { SqliteBlocks } from './blocks';
import { SqliteDetections } from './detections';
import { BackgroundCheckpointer } from './checkpointer';
import { SessionLinks } from './journeys';
import { PartList } from './list';
import { RequestDays } from './requests';
import { Retention } from './retention';
import { Samples } from './samples';
import { OverviewCounter } from './overview';
import { OverviewCounts, OverviewQuery } from '../../overview';
import { checkSchemaVersion, createTables } from './schema';
import { SessionPages } from './session';
import { PartWriter } from './write';

export { requestIdHash } from './requests';
export { PART_ENDPOINTS_CACHED } from './write';

export interface SqliteStoreOptions {
  /** Parts cached in memory between ingest batches (aggregates of recently active sessions). */
  partCache?: number;
  readonly?: boolean;
  /** WAL checkpoints in a worker thread (default true; see checkpointer.ts). */
  backgroundCheckpoint?: boolean;
  /** Called when that thread could not start or failed (the writer's own autocheckpoint then
   *  does the work). Default: a line on stderr. */
  onCheckpointFail?: (err: Error) => void;
}

export class SqliteStore implements Store {
  readonly db: Database.Database;
  /** Blocks and their audit list (blocks.ts); absent on a read-only store. */
  blocks?: SqliteBlocks;
  /** Findings of the detections (detections.ts); absent on a read-only store. */
  detections?: SqliteDetections;
  private readonly checkpointer: BackgroundCheckpointer | null = null;
  /** Failures of the background checkpoint thread (0 or 1: it is not restarted). */
  checkpointFailures = 0;
  private readonly writer: PartWriter;
  private readonly list: PartList;
  private readonly pages: SessionPages;
  private readonly sessionLinks: SessionLinks;
  private readonly discoverySamples: Samples;
  private readonly overviewCounts: OverviewCounter | null;
  private readonly retention: Retention;

  constructor(path: string, opts: SqliteStoreOptions = {}) {
    this.db = new Database(path, { readonly: opts.readonly === true });
    if (!opts.readonly) {
      // New files only (a WAL database keeps the page size it was created with): 8 KiB pages
      // made ingest about 10% faster than 4 KiB (fewer page splits and pages per commit) for a
      // file 8% larger; 16 KiB was no faster and 27% larger.
      this.db.pragma('page_size = 8192');
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
    }
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('cache_size = -65536');
    this.db.pragma('temp_store = MEMORY');
    // Checkpoints run on a worker thread (checkpointer.ts); this one, in the writer's commit, is
    // the fallback when that thread falls behind: at 5000 pages (40 MiB of 8 KiB pages; the WAL
    // file is reused, not shrunk).
    if (!opts.readonly) this.db.pragma('wal_autocheckpoint = 5000');
    if (!opts.readonly) {
      createTables(this.db);
      this.blocks = new SqliteBlocks(this.db);
      this.detections = new SqliteDetections(this.db);
      checkSchemaVersion(this.db, path);
    }
    if (!opts.readonly && opts.backgroundCheckpoint !== false && !this.db.memory) {
      const report =
        opts.onCheckpointFail ??
        ((e: Error) => process.stderr.write(`${new Date().toISOString()} console: ${path}: ${e.message} (the writer checkpoints instead)\n`));
      this.checkpointer = new BackgroundCheckpointer(path, (e) => {
        this.checkpointFailures++;
        report(e);
      });
    }
    const days = new RequestDays(this.db);
    this.sessionLinks = new SessionLinks(this.db);
    this.discoverySamples = new Samples(this.db);
    this.list = new PartList(this.db, days);
    // A read-only store on a file from before the overview has no overview tables: it answers empty.
    const hasOverview = this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'overview_tops'").get() !== undefined;
    this.overviewCounts = hasOverview ? new OverviewCounter(this.db) : null;
    const overview = this.overviewCounts!;
    this.writer = new PartWriter(this.db, days, this.sessionLinks, this.discoverySamples, overview, opts.partCache ?? 20000);
    this.pages = new SessionPages(this.db, days);
    this.retention = new Retention(this.db, days, this.writer, this.sessionLinks, this.discoverySamples, overview);
  }

  setCutoff(cutoffPart: string): void {
    this.writer.setCutoff(cutoffPart);
  }

  async ingest(records: SessionRecord[], checkpoint?: Checkpoint, raws?: string[], fresh?: SessionRecord[]): Promise<IngestResult> {
    const res = this.writer.ingest(records, checkpoint, raws, fresh);
    this.checkpointer?.request();
    return res;
  }

  async getCheckpoint(name: string): Promise<string | null> {
    return this.writer.getCheckpoint(name);
  }

  async listParts(filter: PartFilter, opts: { limit: number; cursor?: string | null; count?: number; sort?: PartSort }): Promise<Page<PartSummary>> {
    return this.list.listParts(filter, opts);
  }

  async getPart(session: string, part: string): Promise<PartSummary | null> {
    return this.pages.getPart(session, part);
  }

  async sessionParts(session: string): Promise<PartSummary[]> {
    return this.pages.sessionParts(session);
  }

  async partRequests(
    session: string,
    part: string,
    opts: { limit: number; cursor?: string | null; filter?: RequestFilter },
  ): Promise<Page<StoredRequest>> {
    return this.pages.partRequests(session, part, opts);
  }

  eachPartRequest(session: string, part: string): AsyncIterable<StoredRequest> {
    return eachPartRequest(this, session, part);
  }

  async timeline(session: string, part: string, buckets: number): Promise<TimelineBucket[]> {
    return this.pages.timeline(session, part, buckets);
  }

  async links(sessions: string[], perSession: number = LINKS_PER_SESSION): Promise<LinkEdge[]> {
    return this.sessionLinks.links(sessions, perSession);
  }

  async samples(app: string, max: number): Promise<SampleRow[]> {
    return this.discoverySamples.samples(app, max);
  }

  async overview(q: OverviewQuery): Promise<OverviewCounts> {
    if (this.overviewCounts === null) return { series: [], top: { apps: [], users: [], endpoints: [] } };
    return this.overviewCounts.read(q);
  }

  async deleteBefore(cutoffPart: string): Promise<number> {
    return this.retention.deleteBefore(cutoffPart);
  }

  async stats(): Promise<{ parts: number; requests: number; oldestPart: string | null; newestPart: string | null }> {
    const r = this.db
      .prepare('SELECT count(*) AS parts, sum(requests) AS requests, min(part) AS oldest, max(part) AS newest FROM parts')
      .get() as { parts: number; requests: number | null; oldest: string | null; newest: string | null };
    return { parts: r.parts, requests: r.requests ?? 0, oldestPart: r.oldest, newestPart: r.newest };
  }

  async close(): Promise<void> {
    await this.checkpointer?.close();
    if (this.db.open) this.db.close();
  }
}
