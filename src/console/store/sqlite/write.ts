/**
 * Ingest into the SQLite store: a batch in one transaction with its checkpoint. Each new request
 * goes into its day's table; its part's aggregates (kept in memory between batches for recently
 * active sessions), the filter index entries (facets, part_endpoints), its links and its sample
 * follow.
 */
import type Database from 'better-sqlite3';
import { SessionRecord } from '../../../shared/record';
import { journeyRows } from '../journey-rows';
import { batchCounts } from '../part-date';
import { Checkpoint, Counts, IngestResult } from '../types';
import { SessionLinks } from './journeys';
import { PartStats, PartRow, SELECT_PART, emptyStats, readStats } from './part-row';
import { DayStatements, ROWS_PER_INSERT, RequestDays, insertRequest, requestIdHash, requestRowId } from './requests';
import { Samples } from './samples';
import { FACET } from './schema';
import { OverviewCounter } from './overview';
import { OVERVIEW_LEVELS } from '../../overview';

/** OVERVIEW_LEVELS, read once (an imported binding may be a getter). */
const LEVELS = OVERVIEW_LEVELS.slice();

/** Endpoint ids remembered per cached part (PartState.endpoints). */
export const PART_ENDPOINTS_CACHED = 1000;

/** Rows per multi-row INSERT into facets and part_endpoints. */
const INDEX_ROWS_PER_INSERT = 64;

/** A record on its way into a day's table. */
interface Pending {
  r: SessionRecord;
  p: PartState;
  ts: number;
  raw: string;
}

interface PartState {
  id: number;
  session: string;
  part: string;
  app: string;
  first: number;
  last: number;
  requests: number;
  attacked: number;
  errored: number;
  user: string | null;
  role: string | null;
  key: string;
  stats: PartStats;
  /** Endpoint ids this part is known to have in part_endpoints (written once, not once per
   *  batch), at most PART_ENDPOINTS_CACHED. */
  endpoints: Set<number>;
  /** Per overview interval length (OVERVIEW_LEVELS), the latest interval start the part was
   *  counted as a session in. */
  counted: number[];
}

function inc(c: Counts, k: string): boolean {
  const had = Object.prototype.hasOwnProperty.call(c, k);
  c[k] = (had ? c[k] : 0) + 1;
  return !had;
}

export class PartWriter {
  private cutoff = '0000-00-00';
  private partCache = new Map<string, PartState>();
  /** method -> path -> endpoint id (two levels: no key string built per request). */
  private endpointCache = new Map<string, Map<string, number>>();
  private endpointCacheSize = 0;
  private readonly insertArgs: unknown[] = new Array(7 * ROWS_PER_INSERT);
  private readonly facetArgs: unknown[] = new Array(3 * INDEX_ROWS_PER_INSERT);
  private readonly partEndpointArgs: unknown[] = new Array(2 * INDEX_ROWS_PER_INSERT);
  /** Index entries of the batch being ingested (see writeIndexEntries). */
  private newFacets: Array<[string, string, number]> = [];
  private newPartEndpoints: Array<[number, number]> = [];
  private readonly fresh: boolean[] = OVERVIEW_LEVELS.map(() => false);
  private readonly st;
  private readonly ingestTx: (records: SessionRecord[], checkpoint?: Checkpoint, raws?: string[], fresh?: SessionRecord[]) => IngestResult;

  constructor(
    db: Database.Database,
    private readonly days: RequestDays,
    private readonly links: SessionLinks,
    private readonly samples: Samples,
    private readonly overview: OverviewCounter,
    /** Parts cached between batches. */
    private readonly partCacheMax: number,
  ) {
    this.st = {
      getPart: db.prepare(SELECT_PART),
      newPart: db.prepare(
        `INSERT INTO parts (session, part, app, first_ts, last_ts, requests, attacked, errored, user, role, key, stats)
         VALUES (?, ?, ?, ?, ?, 0, 0, 0, NULL, NULL, ?, '{}')`,
      ),
      updatePart: db.prepare(
        `UPDATE parts SET first_ts = ?, last_ts = ?, requests = ?, attacked = ?, errored = ?, user = ?, role = ?, stats = ?
         WHERE id = ?`,
      ),
      insertFacet: db.prepare('INSERT OR IGNORE INTO facets (kind, value, part_id) VALUES (?, ?, ?)'),
      insertFacets: db.prepare(
        'INSERT OR IGNORE INTO facets (kind, value, part_id) VALUES ' + Array(INDEX_ROWS_PER_INSERT).fill('(?, ?, ?)').join(', '),
      ),
      getEndpoint: db.prepare('SELECT id FROM endpoints WHERE method = ? AND path = ?').pluck(),
      newEndpoint: db.prepare('INSERT INTO endpoints (method, path) VALUES (?, ?)'),
      insertPartEndpoint: db.prepare('INSERT OR IGNORE INTO part_endpoints (endpoint_id, part_id) VALUES (?, ?)'),
      insertPartEndpoints: db.prepare(
        'INSERT OR IGNORE INTO part_endpoints (endpoint_id, part_id) VALUES ' + Array(INDEX_ROWS_PER_INSERT).fill('(?, ?)').join(', '),
      ),
      setCheckpoint: db.prepare('INSERT INTO checkpoints (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value'),
      getCheckpoint: db.prepare('SELECT value FROM checkpoints WHERE name = ?').pluck(),
    };
    this.ingestTx = db.transaction((records: SessionRecord[], checkpoint?: Checkpoint, raws?: string[], fresh?: SessionRecord[]) =>
      this.ingestSync(records, checkpoint, raws, fresh),
    );
  }

  setCutoff(cutoffPart: string): void {
    this.cutoff = cutoffPart;
  }

  /** `fresh` receives the records newly stored (once the transaction committed). */
  ingest(records: SessionRecord[], checkpoint?: Checkpoint, raws?: string[], fresh?: SessionRecord[]): IngestResult {
    const stored: SessionRecord[] | undefined = fresh ? [] : undefined;
    try {
      const res = this.ingestTx(records, checkpoint, raws, stored);
      if (fresh && stored) for (const r of stored) fresh.push(r);
      return res;
    } catch (e) {
      // The transaction rolled back: the in-memory aggregates may be ahead of the database, and
      // a day's table created by this batch is gone with its prepared statements.
      this.forgetCaches();
      this.days.forget();
      this.overview.forget();
      throw e;
    }
  }

  getCheckpoint(name: string): string | null {
    return (this.st.getCheckpoint.get(name) as string | undefined) ?? null;
  }

  /** Drops the parts and endpoints held in memory (after a rollback, or when retention deleted
   *  rows they stand for). */
  forgetCaches(): void {
    this.partCache.clear();
    this.clearEndpointCache();
  }

  private loadPart(r: SessionRecord, ts: number): PartState {
    const ck = r.session + '/' + r.part;
    let p = this.partCache.get(ck);
    if (p) return p;
    const row = this.st.getPart.get(r.session, r.part) as PartRow | undefined;
    if (row) {
      p = {
        id: row.id,
        session: row.session,
        part: row.part,
        app: row.app,
        first: row.first_ts,
        last: row.last_ts,
        requests: row.requests,
        attacked: row.attacked,
        errored: row.errored,
        user: row.user,
        role: row.role,
        key: row.key,
        stats: readStats(row),
        endpoints: new Set(),
        // its requests up to its last were counted (in time order: see overview.ts)
        counted: OVERVIEW_LEVELS.map((l) => row.last_ts - (row.last_ts % l)),
      };
    } else {
      const info = this.st.newPart.run(r.session, r.part, r.app, ts, ts, r.key);
      p = {
        id: Number(info.lastInsertRowid),
        session: r.session,
        part: r.part,
        app: r.app,
        first: ts,
        last: ts,
        requests: 0,
        attacked: 0,
        errored: 0,
        user: null,
        role: null,
        key: r.key,
        stats: emptyStats(),
        endpoints: new Set(),
        counted: OVERVIEW_LEVELS.map(() => -Infinity),
      };
    }
    this.partCache.set(ck, p);
    return p;
  }

  private endpointId(method: string, path: string): number {
    let paths = this.endpointCache.get(method);
    let id = paths?.get(path);
    if (id !== undefined) return id;
    id = this.st.getEndpoint.get(method, path) as number | undefined;
    if (id === undefined) id = Number(this.st.newEndpoint.run(method, path).lastInsertRowid);
    if (this.endpointCacheSize >= 200000) this.clearEndpointCache();
    if (!paths || this.endpointCacheSize === 0) {
      paths = this.endpointCache.get(method);
      if (!paths) this.endpointCache.set(method, (paths = new Map()));
    }
    paths.set(path, id);
    this.endpointCacheSize++;
    return id;
  }

  private clearEndpointCache(): void {
    this.endpointCache.clear();
    this.endpointCacheSize = 0;
  }

  private ingestSync = (records: SessionRecord[], checkpoint?: Checkpoint, raws?: string[], fresh?: SessionRecord[]): IngestResult => {
    const { res, takes } = batchCounts(this.cutoff);
    const touched = new Set<PartState>();
    // Evicted between batches only: a part touched earlier in this batch holds aggregates not yet
    // written, and must not be loaded a second time from its row.
    if (this.partCache.size >= this.partCacheMax) this.partCache.clear();
    this.newFacets = [];
    this.newPartEndpoints = [];
    // Requests go into their day's table ROWS_PER_INSERT rows per statement; the bookkeeping of
    // a chunk follows its insert, in record order, for the rows that were new.
    const chunk: Pending[] = [];
    let chunkDay: DayStatements | null = null;
    const flush = () => {
      if (chunk.length === 0) return;
      const stored = this.insertRequests(chunkDay!, chunk);
      for (let j = 0; j < chunk.length; j++) {
        if (stored[j]) {
          res.inserted++;
          fresh?.push(chunk[j].r);
          this.account(chunk[j], touched);
          this.addJourney(chunk[j].r, chunk[j].ts);
        } else res.duplicates++;
      }
      chunk.length = 0;
    };
    for (let i = 0; i < records.length; i++) {
      const r = records[i];
      if (!takes(r.part)) continue;
      const d = this.days.day(r.part, true)!;
      if (d !== chunkDay) {
        flush();
        chunkDay = d;
      }
      const ts = Date.parse(r.ts);
      chunk.push({ r, p: this.loadPart(r, ts), ts, raw: raws?.[i] ?? JSON.stringify(r) });
      if (chunk.length === ROWS_PER_INSERT) flush();
    }
    flush();
    this.writeIndexEntries();
    this.overview.flush();
    const st = this.st;
    for (const p of touched) {
      st.updatePart.run(p.first, p.last, p.requests, p.attacked, p.errored, p.user, p.role, JSON.stringify(p.stats), p.id);
    }
    if (checkpoint) st.setCheckpoint.run(checkpoint.name, checkpoint.value);
    return res;
  };

  /** A newly stored record's links (both directions) and, when it was sampled by discovery, its
   *  inventory. Additive to the part aggregates. */
  private addJourney(r: SessionRecord, ts: number): void {
    const rows = journeyRows(r, ts);
    if (rows === null) return;
    this.links.add(r, ts, rows.edges);
    if (rows.sample !== null) this.samples.add(rows.sample);
  }

  /** A filter index entry of a part, written at the end of the batch (writeIndexEntries). */
  private facet(kind: string, value: string, partId: number): void {
    this.newFacets.push([kind, value, partId]);
  }

  /**
   * The batch's new facet and (endpoint, part) entries, in key order and many rows per statement:
   * sorted, consecutive inserts land on the same B-tree pages instead of all over the index.
   */
  private writeIndexEntries(): void {
    const fs = this.newFacets.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : a[2] - b[2]));
    const pes = this.newPartEndpoints.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    const st = this.st;
    let i = 0;
    const fa = this.facetArgs;
    for (; i + INDEX_ROWS_PER_INSERT <= fs.length; i += INDEX_ROWS_PER_INSERT) {
      for (let j = 0; j < INDEX_ROWS_PER_INSERT; j++) {
        const f = fs[i + j];
        fa[3 * j] = f[0];
        fa[3 * j + 1] = f[1];
        fa[3 * j + 2] = f[2];
      }
      st.insertFacets.run(fa);
    }
    for (; i < fs.length; i++) st.insertFacet.run(fs[i][0], fs[i][1], fs[i][2]);
    const pa = this.partEndpointArgs;
    for (i = 0; i + INDEX_ROWS_PER_INSERT <= pes.length; i += INDEX_ROWS_PER_INSERT) {
      for (let j = 0; j < INDEX_ROWS_PER_INSERT; j++) {
        pa[2 * j] = pes[i + j][0];
        pa[2 * j + 1] = pes[i + j][1];
      }
      st.insertPartEndpoints.run(pa);
    }
    for (; i < pes.length; i++) st.insertPartEndpoint.run(pes[i][0], pes[i][1]);
    this.newFacets = [];
    this.newPartEndpoints = [];
  }

  /** A stored request's share of its part: aggregates, filter index entries, endpoint. */
  private account(x: Pending, touched: Set<PartState>): void {
    const { r, p, ts } = x;
    touched.add(p);
    // the part's first request in each overview interval: later than any counted, or earlier
    // than its first (a request between two earlier ones is taken as counted)
    const fresh = this.fresh;
    for (let i = 0; i < LEVELS.length; i++) {
      const b = ts - (ts % LEVELS[i]);
      fresh[i] = p.requests === 0 || b > p.counted[i] || b < p.first - (p.first % LEVELS[i]);
      if (b > p.counted[i]) p.counted[i] = b;
    }
    this.overview.add(r, ts, fresh);
    if (p.requests === 0 || ts < p.first) p.first = ts;
    if (p.requests === 0 || ts > p.last) p.last = ts;
    p.requests++;
    const s = p.stats;
    inc(s.methods, r.method);
    const status = String(r.status);
    if (inc(s.statuses, status)) {
      // A new status may be a new class too (looked up only then, not per request).
      this.facet(FACET.status, status, p.id);
      let newClass = true;
      for (const k in s.statuses) if (k !== status && k[0] === status[0]) newClass = false;
      if (newClass) this.facet(FACET.cls, status[0] + 'xx', p.id);
    }
    if (inc(s.ips, r.ip)) this.facet(FACET.ip, r.ip, p.id);
    if (r.ua !== null && inc(s.uas, r.ua)) this.facet(FACET.ua, r.ua, p.id);
    if (inc(s.keys, r.key)) this.facet(FACET.key, r.key, p.id);
    if (r.user !== null) {
      if (p.user === null) p.user = r.user;
      if (inc(s.users, r.user)) this.facet(FACET.user, r.user, p.id);
    }
    if (r.role !== null) {
      if (p.role === null) p.role = r.role;
      if (inc(s.roles, r.role)) this.facet(FACET.role, r.role, p.id);
    }
    if (r.attack !== null && r.attack.length > 0) {
      if (p.attacked === 0) this.facet(FACET.attack, '*', p.id);
      p.attacked++;
      for (const a of r.attack) if (inc(s.attacks, a)) this.facet(FACET.attack, a, p.id);
    }
    if (r.errors.length > 0) p.errored++;
    const eid = this.endpointId(r.method, r.path);
    if (!p.endpoints.has(eid)) {
      // Bounded (a path scanner requests thousands of paths): past the bound, entries are written
      // again on later batches, which INSERT OR IGNORE absorbs.
      if (p.endpoints.size < PART_ENDPOINTS_CACHED) p.endpoints.add(eid);
      this.newPartEndpoints.push([eid, p.id]);
    }
  }

  /**
   * Stores a chunk of requests of one day; for each, true when it was new. One multi-row
   * `INSERT OR IGNORE` per chunk (hashed tables); when it stored fewer rows than given (a
   * duplicate, or a hash shared with another id), each request is looked up to tell which.
   */
  private insertRequests(d: DayStatements, xs: Pending[]): boolean[] {
    const out = new Array<boolean>(xs.length);
    const attacked = (r: SessionRecord) => (r.attack !== null && r.attack.length > 0 ? 1 : 0);
    if (!d.hashed || xs.length !== ROWS_PER_INSERT) {
      for (let j = 0; j < xs.length; j++) {
        const x = xs[j];
        out[j] = insertRequest(d, x.r, x.p.id, x.ts, attacked(x.r), x.raw);
      }
      return out;
    }
    const args = this.insertArgs;
    for (let j = 0, o = 0; j < xs.length; j++, o += 7) {
      const { r, p, ts, raw } = xs[j];
      args[o] = requestIdHash(r.request_id);
      args[o + 1] = r.request_id;
      args[o + 2] = p.id;
      args[o + 3] = ts;
      args[o + 4] = r.status;
      args[o + 5] = attacked(r);
      args[o + 6] = raw;
    }
    const info = d.insertMany.run(args);
    if (info.changes === xs.length) return out.fill(true);
    // Rows get consecutive ids, so the new ones are the last `changes` ids.
    const firstNew = info.changes > 0 ? Number(info.lastInsertRowid) - info.changes + 1 : Infinity;
    const claimed = new Set<number>();
    for (let j = 0; j < xs.length; j++) {
      const x = xs[j];
      const id = requestRowId(d, x.r.request_id);
      if (id === undefined) {
        // Not stored: its hash was taken by another id. Probe for a free one (and claim the row,
        // should the same id come again in this chunk).
        out[j] = insertRequest(d, x.r, x.p.id, x.ts, attacked(x.r), x.raw);
        claimed.add(requestRowId(d, x.r.request_id)!);
      } else if (id >= firstNew && !claimed.has(id)) {
        claimed.add(id);
        out[j] = true;
      } else out[j] = false;
    }
    return out;
  }
}
