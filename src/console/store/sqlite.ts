/**
 * The embedded store: one SQLite file through better-sqlite3, in WAL mode.
 *
 * Layout: `parts` holds one row per (session, part) with its running aggregates (times, counts,
 * users, IPs, statuses, attacks, methods); `requests_YYYYMMDD` holds one row per request id of
 * that day (the record's `part`), so that retention drops a whole table; `facets`
 * maps each distinct filter value of a part (IP, status, status class, attack, key, user, role)
 * to the part; `endpoints` + `part_endpoints` map each distinct "METHOD path" to the parts that
 * requested it. Filters then select part ids through small indexes instead of scanning
 * requests, and one session's page reads its aggregates from one row.
 *
 * One process writes a database file at a time (the console that owns it); readers may be many.
 */
import Database from 'better-sqlite3';
import { SessionRecord } from '../../record/record';
import { BackgroundCheckpointer } from './checkpointer';
import { decodeCursor, decodeIntCursor, encodeCursor, encodeIntCursor } from './cursor';
import { SqliteBlocks } from './blocks-sqlite';
import { MAX_SAMPLES, clampLinksPerSession, clampSamples, compareEdges, journeyRows } from './journey-rows';
import { parseEndpointPattern } from './pattern';
import { batchCounts, isPartDate } from './part-date';
import { MAX_DISTINCT_SCANNED, Q_NEWEST_REQUESTS, foldAscii, idRange, ipNetwork, isIdPrefix, isStatusClass, patternRanges, substringLike, textPattern } from './search';
import { BucketCounts, eachPartRequest, timelineGrid } from './session-page';
import {
  BadCursorError,
  Checkpoint,
  LINKS_PER_SESSION,
  LinkEdge,
  SampleRow,
  Counts,
  IngestResult,
  Page,
  PartFilter,
  FALLBACK_KEYS,
  PartSort,
  PartSummary,
  RequestFilter,
  Store,
  StoredRequest,
  TimelineBucket,
} from './types';

/** 2: requests tables created since then are unique on a hash of the request id (see
 *  requestsSchema). A version-1 database is upgraded in place: its existing days keep their
 *  layout until retention drops them, and the version is raised so that an older console refuses
 *  the file instead of failing on the new days' tables. */
const SCHEMA_VERSION = '2';
const UPGRADABLE = ['1'];

/** Requests live in one table per day (per part date): a day's indexes stay small enough that
 *  ingest does not slow down as the store fills, and retention drops whole tables. */
function requestsTable(part: string): string {
  if (!isPartDate(part)) throw new Error('bad part ' + JSON.stringify(part));
  return 'requests_' + part.replace(/-/g, '');
}

/**
 * A day's requests. Duplicates are refused by a unique index on `rid`, a 53-bit hash of the
 * request id, rather than on the id's text: an integer index is a third of the size, and as
 * request ids are random every batch rewrites most of that index's pages, which cost more than
 * the rows themselves. Two ids with the same hash (about one pair a day in 10^4 at a million
 * records a day) are told apart by linear probing: the second gets the next free value, and a
 * lookup walks the values from the hash until it finds the id or a free one. Rows are never
 * deleted from a day's table (retention drops the table), so probing needs no tombstones.
 * (Version-1 tables, `request_id TEXT UNIQUE` without `rid`, are still read and written.)
 */
function requestsSchema(part: string): string {
  const t = requestsTable(part);
  return `
CREATE TABLE IF NOT EXISTS ${t} (
  id INTEGER PRIMARY KEY,
  rid INTEGER NOT NULL UNIQUE,
  request_id TEXT NOT NULL,
  part_id INTEGER NOT NULL,
  ts INTEGER NOT NULL,
  status INTEGER NOT NULL,
  attacked INTEGER NOT NULL,
  record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ${t}_part ON ${t} (part_id, ts, id);`;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS checkpoints (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS parts (
  id INTEGER PRIMARY KEY,
  session TEXT NOT NULL,
  part TEXT NOT NULL,
  app TEXT NOT NULL,
  first_ts INTEGER NOT NULL,
  last_ts INTEGER NOT NULL,
  requests INTEGER NOT NULL,
  attacked INTEGER NOT NULL,
  errored INTEGER NOT NULL,
  user TEXT,
  role TEXT,
  key TEXT NOT NULL,
  stats TEXT NOT NULL,
  UNIQUE (session, part)
);
CREATE INDEX IF NOT EXISTS parts_last ON parts (last_ts DESC, id DESC);
CREATE INDEX IF NOT EXISTS parts_app ON parts (app, last_ts DESC, id DESC);
CREATE INDEX IF NOT EXISTS parts_part ON parts (part);
CREATE TABLE IF NOT EXISTS days (part TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS facets (
  kind TEXT NOT NULL,
  value TEXT NOT NULL,
  part_id INTEGER NOT NULL,
  PRIMARY KEY (kind, value, part_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS facets_part ON facets (part_id);
CREATE TABLE IF NOT EXISTS endpoints (
  id INTEGER PRIMARY KEY,
  method TEXT NOT NULL,
  path TEXT NOT NULL,
  UNIQUE (method, path)
);
CREATE INDEX IF NOT EXISTS endpoints_path ON endpoints (path);
CREATE TABLE IF NOT EXISTS part_endpoints (
  endpoint_id INTEGER NOT NULL,
  part_id INTEGER NOT NULL,
  PRIMARY KEY (endpoint_id, part_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS part_endpoints_part ON part_endpoints (part_id);
`;

/** Journeys and recommendations (added without a schema version change: new tables only).
 *  `links`: one row per direction of a link between two sessions (a record's `links`), with the
 *  first time it was seen and the newest day (for retention). `samples`: records that carry a
 *  discovery `inventory` (selectors, 12-hex hashes, lengths; never values), at most
 *  MAX_SAMPLES per application, the oldest trimmed. */
const JOURNEY_SCHEMA = `
CREATE TABLE IF NOT EXISTS links (
  a TEXT NOT NULL,
  b TEXT NOT NULL,
  app TEXT NOT NULL,
  ts INTEGER NOT NULL,
  part TEXT NOT NULL,
  PRIMARY KEY (a, b)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS links_part ON links (part);
CREATE INDEX IF NOT EXISTS links_a_ts ON links (a, ts, b);
CREATE TABLE IF NOT EXISTS samples (
  id INTEGER PRIMARY KEY,
  app TEXT NOT NULL,
  ts INTEGER NOT NULL,
  part TEXT NOT NULL,
  session TEXT NOT NULL,
  key_source TEXT NOT NULL,
  method TEXT NOT NULL,
  path TEXT NOT NULL,
  ip TEXT NOT NULL,
  ua TEXT,
  links TEXT NOT NULL,
  inventory TEXT NOT NULL,
  user TEXT
);
CREATE INDEX IF NOT EXISTS samples_app ON samples (app, id);
CREATE INDEX IF NOT EXISTS samples_part ON samples (part);
`;

export { MAX_SAMPLES };

/** FNV-1a over the UTF-16 code units in two 32-bit lanes, folded to a non-negative safe integer. */
export function requestIdHash(id: string): number {
  let a = 0x811c9dc5;
  let b = 0x050c5d1f;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193) ^ (a >>> 15);
  }
  return (b >>> 11) * 0x100000000 + (a >>> 0);
}
const RID_MAX = 2 ** 53;
function nextRid(h: number): number {
  return h + 1 < RID_MAX ? h + 1 : 0;
}

/** Rows per multi-row INSERT into a day's requests table (7 values each). */
const ROWS_PER_INSERT = 32;

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

interface DayStatements {
  /** True for tables with `rid` (schema 2); false for version-1 tables. */
  hashed: boolean;
  insert: Database.Statement;
  /** Hashed tables: ROWS_PER_INSERT rows at once. */
  insertMany: Database.Statement;
  /** Hashed tables: the request id stored under a rid. */
  ridOwner: Database.Statement;
  page: Database.Statement;
  partOf: Database.Statement;
  timeline: Database.Statement;
}

interface PartStats {
  methods: Counts;
  statuses: Counts;
  ips: Counts;
  uas: Counts;
  attacks: Counts;
  keys: Counts;
  users: Counts;
  roles: Counts;
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
}

interface PartRow {
  id: number;
  session: string;
  part: string;
  app: string;
  first_ts: number;
  last_ts: number;
  requests: number;
  attacked: number;
  errored: number;
  user: string | null;
  role: string | null;
  key: string;
  stats: string;
}

interface RequestRow {
  id: number;
  ts: number;
  record: string;
}

// Facet kinds: short, stable names stored in the database.
const F = { ip: 'ip', status: 'st', cls: 'sc', attack: 'at', key: 'k', user: 'u', role: 'r', ua: 'ua' } as const;

function inc(c: Counts, k: string): boolean {
  const had = Object.prototype.hasOwnProperty.call(c, k);
  c[k] = (had ? c[k] : 0) + 1;
  return !had;
}

function emptyStats(): PartStats {
  return { methods: {}, statuses: {}, ips: {}, uas: {}, attacks: {}, keys: {}, users: {}, roles: {} };
}

/** Cursor of the list in another order than the last request: [sort, value, session, part]. */
function decodeSortCursor(c: string, sort: PartSort): [number, string, string] {
  const v = decodeCursor(c);
  if (v.length !== 4 || v[0] !== sort || !Number.isSafeInteger(v[1]) || typeof v[2] !== 'string' || typeof v[3] !== 'string') {
    throw new BadCursorError('bad cursor');
  }
  return [v[1] as number, v[2], v[3]];
}

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
  private cutoff = '0000-00-00';
  private dayStatements = new Map<string, DayStatements>();
  private partCache = new Map<string, PartState>();
  /** method -> path -> endpoint id (two levels: no key string built per request). */
  private endpointCache = new Map<string, Map<string, number>>();
  private endpointCacheSize = 0;
  private readonly partCacheMax: number;
  private readonly checkpointer: BackgroundCheckpointer | null = null;
  /** Failures of the background checkpoint thread (0 or 1: it is not restarted). */
  checkpointFailures = 0;
  private readonly insertArgs: unknown[] = new Array(7 * ROWS_PER_INSERT);
  private readonly facetArgs: unknown[] = new Array(3 * INDEX_ROWS_PER_INSERT);
  private readonly partEndpointArgs: unknown[] = new Array(2 * INDEX_ROWS_PER_INSERT);
  /** Index entries of the batch being ingested (see writeIndexEntries). */
  private newFacets: Array<[string, string, number]> = [];
  private newPartEndpoints: Array<[number, number]> = [];
  private readonly st: ReturnType<SqliteStore['prepare']>;
  private js: ReturnType<SqliteStore['prepareJourney']> | null = null;
  private samplesSinceTrim = new Map<string, number>();
  private readonly ingestTx: (records: SessionRecord[], checkpoint?: Checkpoint, raws?: string[]) => IngestResult;

  constructor(path: string, opts: SqliteStoreOptions = {}) {
    this.db = new Database(path, { readonly: opts.readonly === true });
    this.partCacheMax = opts.partCache ?? 20000;
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
      this.db.exec(SCHEMA);
      this.db.exec(JOURNEY_SCHEMA);
      // Files from before samples kept the record's user gain the column (older rows: NULL).
      if (!this.samplesHaveUser()) this.db.exec('ALTER TABLE samples ADD COLUMN user TEXT');
      this.blocks = new SqliteBlocks(this.db);
      const v = this.db.prepare('SELECT value FROM meta WHERE key = ?').get('schema') as { value: string } | undefined;
      if (!v) this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run('schema', SCHEMA_VERSION);
      else if (UPGRADABLE.includes(v.value)) this.db.prepare('UPDATE meta SET value = ? WHERE key = ?').run(SCHEMA_VERSION, 'schema');
      else if (v.value !== SCHEMA_VERSION) throw new Error(`${path}: schema version ${v.value}, this console uses ${SCHEMA_VERSION}`);
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
    this.db.exec('CREATE TEMP TABLE IF NOT EXISTS matched_endpoints (id INTEGER PRIMARY KEY)');
    // Facet values matched by a pattern / CIDR, and the parts `q` found (see listParts).
    this.db.exec('CREATE TEMP TABLE IF NOT EXISTS matched_facets (kind TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (kind, value)) WITHOUT ROWID');
    this.db.exec('CREATE TEMP TABLE IF NOT EXISTS matched_parts (id INTEGER PRIMARY KEY)');
    this.st = this.prepare();
    this.ingestTx = this.db.transaction((records: SessionRecord[], checkpoint?: Checkpoint, raws?: string[]) =>
      this.ingestSync(records, checkpoint, raws),
    );
  }

  private prepare() {
    const db = this.db;
    return {
      getPart: db.prepare('SELECT * FROM parts WHERE session = ? AND part = ?'),
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
      days: db.prepare('SELECT part FROM days ORDER BY part').pluck(),
      clearMatched: db.prepare('DELETE FROM temp.matched_endpoints'),
      matchEndpoints: db.prepare("INSERT INTO temp.matched_endpoints (id) SELECT id FROM endpoints WHERE path LIKE ? ESCAPE '\\'"),
      matchEndpointsMethod: db.prepare(
        "INSERT INTO temp.matched_endpoints (id) SELECT id FROM endpoints WHERE path LIKE ? ESCAPE '\\' AND method = ?",
      ),
      clearMatchedFacets: db.prepare('DELETE FROM temp.matched_facets'),
      addMatchedFacet: db.prepare('INSERT OR IGNORE INTO temp.matched_facets (kind, value) VALUES (?, ?)'),
      clearMatchedParts: db.prepare('DELETE FROM temp.matched_parts'),
      // One step of a walk over the distinct values of a facet kind (an index seek each).
      nextFacetValue: db.prepare('SELECT min(value) FROM facets WHERE kind = ? AND value > ? AND value < ?').pluck(),
      firstFacetValue: db.prepare('SELECT min(value) FROM facets WHERE kind = ? AND value >= ? AND value < ?').pluck(),
      nextApp: db.prepare('SELECT min(app) FROM parts WHERE app > ?').pluck(),
      firstApp: db.prepare('SELECT min(app) FROM parts').pluck(),
      partsOfFacet: db.prepare(
        'INSERT OR IGNORE INTO temp.matched_parts (id) SELECT part_id FROM facets WHERE kind = ? AND value = ? LIMIT ?',
      ),
      partsOfMatchedEndpoints: db.prepare(
        'INSERT OR IGNORE INTO temp.matched_parts (id) SELECT part_id FROM part_endpoints WHERE endpoint_id IN (SELECT id FROM temp.matched_endpoints) LIMIT ?',
      ),
      countMatchedParts: db.prepare('SELECT count(*) FROM temp.matched_parts').pluck(),
      addDay: db.prepare('INSERT OR IGNORE INTO days (part) VALUES (?)'),
      dropDay: db.prepare('DELETE FROM days WHERE part = ?'),
      sessionParts: db.prepare('SELECT * FROM parts WHERE session = ? ORDER BY part DESC'),
      expiredParts: db.prepare('SELECT id FROM parts WHERE part < ?').pluck(),
      deleteFacets: db.prepare('DELETE FROM facets WHERE part_id = ?'),
      deletePartEndpoints: db.prepare('DELETE FROM part_endpoints WHERE part_id = ?'),
      deletePart: db.prepare('DELETE FROM parts WHERE id = ?'),
      deleteOrphanEndpoints: db.prepare(
        'DELETE FROM endpoints WHERE NOT EXISTS (SELECT 1 FROM part_endpoints pe WHERE pe.endpoint_id = endpoints.id)',
      ),
    };
  }

  /** Statements of the journey tables (prepared on first use: a read-only store opened on an
   *  older file may not have the tables). */
  private samplesHaveUser(): boolean {
    return (this.db.prepare('PRAGMA table_info(samples)').all() as Array<{ name: string }>).some((c) => c.name === 'user');
  }

  private prepareJourney() {
    const db = this.db;
    // A read-only store on an older file: samples without the user column read it as NULL.
    const hasUser = this.samplesHaveUser();
    const user = hasUser ? 'user' : 'NULL AS user';
    return {
      insertLink: db.prepare(
        `INSERT INTO links (a, b, app, ts, part) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (a, b) DO UPDATE SET ts = min(ts, excluded.ts), part = max(part, excluded.part)`,
      ),
      insertSample: db.prepare(
        // (a read-only store on an older file never inserts: prepared without the user then)
        hasUser
          ? `INSERT INTO samples (app, ts, part, session, key_source, method, path, ip, ua, links, inventory, user)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
          : `INSERT INTO samples (app, ts, part, session, key_source, method, path, ip, ua, links, inventory)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      trimSamples: db.prepare(
        `DELETE FROM samples WHERE app = ? AND id < (SELECT id FROM samples WHERE app = ? ORDER BY id DESC LIMIT 1 OFFSET ?)`,
      ),
      samples: db.prepare(
        `SELECT * FROM (SELECT id, ts, session, key_source, method, path, ip, ua, links, inventory, ${user} FROM samples
         WHERE app = ? ORDER BY id DESC LIMIT ?) ORDER BY ts, id`,
      ),
      // One session's first links by time (index links_a_ts: reads `limit` rows, however many
      // the session has).
      linksOf: db.prepare('SELECT a, b, app, ts FROM links WHERE a = ? ORDER BY ts, b LIMIT ?'),
      deleteLinks: db.prepare('DELETE FROM links WHERE part < ?'),
      deleteSamples: db.prepare('DELETE FROM samples WHERE part < ?'),
    };
  }
  private journeyStatements() {
    if (!this.js) this.js = this.prepareJourney();
    return this.js;
  }

  /** Called by ingest for each newly stored record: its links (both directions) and, when it
   *  was sampled by discovery, its inventory. Additive to the part aggregates. */
  private ingestJourney(r: SessionRecord, ts: number): void {
    const rows = journeyRows(r, ts);
    if (rows === null) return;
    const js = this.journeyStatements();
    for (const [a, b] of rows.edges) js.insertLink.run(a, b, r.app, ts, r.part);
    const x = rows.sample;
    if (x !== null) {
      js.insertSample.run(x.app, x.ts, x.part, x.session, x.key_source, x.method, x.path, x.ip, x.ua, JSON.stringify(x.links), JSON.stringify(x.inventory), x.user);
      const n = (this.samplesSinceTrim.get(r.app) ?? 0) + 1;
      if (n >= 1000) {
        js.trimSamples.run(r.app, r.app, MAX_SAMPLES - 1);
        this.samplesSinceTrim.set(r.app, 0);
      } else this.samplesSinceTrim.set(r.app, n);
    }
  }

  async links(sessions: string[], perSession: number = LINKS_PER_SESSION): Promise<LinkEdge[]> {
    const limit = clampLinksPerSession(perSession);
    const linksOf = this.journeyStatements().linksOf;
    const out: LinkEdge[] = [];
    // Ordered by time within chunks of 500 sessions (as before the per-session bound); each
    // session is read on its own so that the bound is applied by the index, not after a scan.
    for (let i = 0; i < sessions.length; i += 500) {
      const chunk: LinkEdge[] = [];
      for (const a of new Set(sessions.slice(i, i + 500))) {
        for (const row of linksOf.all(a, limit) as LinkEdge[]) chunk.push(row);
      }
      chunk.sort(compareEdges);
      for (const e of chunk) out.push(e);
    }
    return out;
  }

  async samples(app: string, max: number): Promise<SampleRow[]> {
    const rows = this.journeyStatements().samples.all(app, clampSamples(max)) as Array<
      Omit<SampleRow, 'links' | 'inventory'> & { links: string; inventory: string }
    >;
    return rows.map((r) => ({
      ts: r.ts,
      session: r.session,
      key_source: r.key_source,
      method: r.method,
      path: r.path,
      ip: r.ip,
      ua: r.ua,
      links: JSON.parse(r.links),
      inventory: JSON.parse(r.inventory),
      user: r.user ?? null,
    }));
  }

  setCutoff(cutoffPart: string): void {
    this.cutoff = cutoffPart;
  }

  /** Statements of one day's requests table, creating the table on first use. */
  private day(part: string, create: boolean): DayStatements | null {
    let d = this.dayStatements.get(part);
    if (d) return d;
    const t = requestsTable(part);
    if (!create && !(this.st.days.all() as string[]).includes(part)) return null;
    if (create) {
      this.db.exec(requestsSchema(part));
      this.st.addDay.run(part);
    }
    const db = this.db;
    const hashed = (db.prepare(`SELECT 1 FROM pragma_table_info('${t}') WHERE name = 'rid'`).get() as unknown) !== undefined;
    d = {
      hashed,
      insert: hashed
        ? db.prepare(
            `INSERT OR IGNORE INTO ${t} (rid, request_id, part_id, ts, status, attacked, record) VALUES (?, ?, ?, ?, ?, ?, ?)`,
          )
        : db.prepare(`INSERT OR IGNORE INTO ${t} (request_id, part_id, ts, status, attacked, record) VALUES (?, ?, ?, ?, ?, ?)`),
      insertMany: db.prepare(
        hashed
          ? `INSERT OR IGNORE INTO ${t} (rid, request_id, part_id, ts, status, attacked, record) VALUES ` +
              Array(ROWS_PER_INSERT).fill('(?, ?, ?, ?, ?, ?, ?)').join(', ')
          : 'SELECT NULL',
      ),
      ridOwner: db.prepare(hashed ? `SELECT request_id FROM ${t} WHERE rid = ?` : 'SELECT NULL').pluck(),
      page: db.prepare(`SELECT r.id, r.ts, r.record FROM ${t} r WHERE r.part_id = ? AND (r.ts, r.id) > (?, ?) ORDER BY r.ts, r.id LIMIT ?`),
      partOf: db.prepare(
        hashed
          ? `SELECT id, request_id, part_id FROM ${t} WHERE rid = ?`
          : `SELECT id, request_id, part_id FROM ${t} WHERE request_id = ?`,
      ),
      timeline: db.prepare(
        `SELECT CAST((ts - ?) / ? AS INTEGER) AS b, count(*) AS requests, sum(attacked) AS attacks, sum(status >= 400) AS failed
         FROM ${t} WHERE part_id = ? GROUP BY b ORDER BY b`,
      ),
    };
    this.dayStatements.set(part, d);
    return d;
  }

  /** Stores a request row unless its id is already in that day's table; true when stored. */
  private insertRequest(d: DayStatements, r: SessionRecord, partId: number, ts: number, attacked: number, raw: string): boolean {
    if (!d.hashed) return d.insert.run(r.request_id, partId, ts, r.status, attacked, raw).changes > 0;
    for (let h = requestIdHash(r.request_id); ; h = nextRid(h)) {
      if (d.insert.run(h, r.request_id, partId, ts, r.status, attacked, raw).changes > 0) return true;
      if (d.ridOwner.get(h) === r.request_id) return false;
    }
  }

  /** A stored request's row, by its id. */
  private requestRow(d: DayStatements, requestId: string): { id: number; part_id: number } | undefined {
    if (!d.hashed) return d.partOf.get(requestId) as { id: number; part_id: number } | undefined;
    for (let h = requestIdHash(requestId); ; h = nextRid(h)) {
      const row = d.partOf.get(h) as { id: number; request_id: string; part_id: number } | undefined;
      if (!row || row.request_id === requestId) return row;
    }
  }
  private partOf(d: DayStatements, requestId: string): number | undefined {
    return this.requestRow(d, requestId)?.part_id;
  }
  private requestRowId(d: DayStatements, requestId: string): number | undefined {
    return this.requestRow(d, requestId)?.id;
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
        stats: { ...emptyStats(), ...JSON.parse(row.stats) },
        endpoints: new Set(),
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

  private ingestSync = (records: SessionRecord[], checkpoint?: Checkpoint, raws?: string[]): IngestResult => {
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
          this.account(chunk[j], touched);
          this.ingestJourney(chunk[j].r, chunk[j].ts);
        } else res.duplicates++;
      }
      chunk.length = 0;
    };
    for (let i = 0; i < records.length; i++) {
      const r = records[i];
      if (!takes(r.part)) continue;
      const d = this.day(r.part, true)!;
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
    const st = this.st;
    for (const p of touched) {
      st.updatePart.run(p.first, p.last, p.requests, p.attacked, p.errored, p.user, p.role, JSON.stringify(p.stats), p.id);
    }
    if (checkpoint) st.setCheckpoint.run(checkpoint.name, checkpoint.value);
    return res;
  };

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
    if (p.requests === 0 || ts < p.first) p.first = ts;
    if (p.requests === 0 || ts > p.last) p.last = ts;
    p.requests++;
    const s = p.stats;
    inc(s.methods, r.method);
    const status = String(r.status);
    if (inc(s.statuses, status)) {
      // A new status may be a new class too (looked up only then, not per request).
      this.facet(F.status, status, p.id);
      let newClass = true;
      for (const k in s.statuses) if (k !== status && k[0] === status[0]) newClass = false;
      if (newClass) this.facet(F.cls, status[0] + 'xx', p.id);
    }
    if (inc(s.ips, r.ip)) this.facet(F.ip, r.ip, p.id);
    if (r.ua !== null && inc(s.uas, r.ua)) this.facet(F.ua, r.ua, p.id);
    if (inc(s.keys, r.key)) this.facet(F.key, r.key, p.id);
    if (r.user !== null) {
      if (p.user === null) p.user = r.user;
      if (inc(s.users, r.user)) this.facet(F.user, r.user, p.id);
    }
    if (r.role !== null) {
      if (p.role === null) p.role = r.role;
      if (inc(s.roles, r.role)) this.facet(F.role, r.role, p.id);
    }
    if (r.attack !== null && r.attack.length > 0) {
      if (p.attacked === 0) this.facet(F.attack, '*', p.id);
      p.attacked++;
      for (const a of r.attack) if (inc(s.attacks, a)) this.facet(F.attack, a, p.id);
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
        out[j] = this.insertRequest(d, x.r, x.p.id, x.ts, attacked(x.r), x.raw);
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
      const id = this.requestRowId(d, x.r.request_id);
      if (id === undefined) {
        // Not stored: its hash was taken by another id. Probe for a free one (and claim the row,
        // should the same id come again in this chunk).
        out[j] = this.insertRequest(d, x.r, x.p.id, x.ts, attacked(x.r), x.raw);
        claimed.add(this.requestRowId(d, x.r.request_id)!);
      } else if (id >= firstNew && !claimed.has(id)) {
        claimed.add(id);
        out[j] = true;
      } else out[j] = false;
    }
    return out;
  }



  async ingest(records: SessionRecord[], checkpoint?: Checkpoint, raws?: string[]): Promise<IngestResult> {
    try {
      const res = this.ingestTx(records, checkpoint, raws);
      this.checkpointer?.request();
      return res;
    } catch (e) {
      // The transaction rolled back: the in-memory aggregates may be ahead of the database, and
      // a day's table created by this batch is gone with its prepared statements.
      this.partCache.clear();
      this.clearEndpointCache();
      this.dayStatements.clear();
      throw e;
    }
  }

  async getCheckpoint(name: string): Promise<string | null> {
    return (this.st.getCheckpoint.get(name) as string | undefined) ?? null;
  }

  private summary(row: PartRow): PartSummary {
    const s: PartStats = { ...emptyStats(), ...JSON.parse(row.stats) };
    return {
      session: row.session,
      part: row.part,
      app: row.app,
      first_ts: new Date(row.first_ts).toISOString(),
      last_ts: new Date(row.last_ts).toISOString(),
      requests: row.requests,
      attacked: row.attacked,
      errored: row.errored,
      user: row.user,
      role: row.role,
      key: row.key,
      users: Object.keys(s.users),
      roles: Object.keys(s.roles),
      keys: Object.keys(s.keys),
      ips: s.ips,
      uas: s.uas,
      statuses: s.statuses,
      attacks: s.attacks,
      methods: s.methods,
    };
  }

  /**
   * How a set-valued filter (parts having some facet value or endpoint) joins the list. When it
   * matches few parts, their ids are collected first (IN); when it matches many, the parts are
   * walked newest first and each is checked (EXISTS), which stops after one page. A bounded
   * count tells the two apart.
   */
  private static readonly MANY = 3000;

  async listParts(filter: PartFilter, opts: { limit: number; cursor?: string | null; count?: number; sort?: PartSort }): Promise<Page<PartSummary>> {
    const where: string[] = [];
    const args: unknown[] = [];
    const many = (sql: string, a: unknown[]) =>
      (this.db.prepare(`SELECT count(*) FROM (${sql} LIMIT ${SqliteStore.MANY})`).pluck().get(...a) as number) >= SqliteStore.MANY;
    const facet = (kind: string, value: string) => {
      if (many('SELECT 1 FROM facets WHERE kind = ? AND value = ?', [kind, value])) {
        where.push('EXISTS (SELECT 1 FROM facets f WHERE f.kind = ? AND f.value = ? AND f.part_id = p.id)');
      } else {
        where.push('p.id IN (SELECT part_id FROM facets WHERE kind = ? AND value = ?)');
      }
      args.push(kind, value);
    };
    /** A condition with one value, applied when the filter has that value. */
    const when = (sql: string, value: string | number | undefined) => {
      if (value === undefined) return;
      where.push(sql);
      args.push(value);
    };
    /** Parts having any of these values of a facet kind (values matched by a pattern). */
    const facetAny = (kind: string, values: string[]): boolean => {
      if (values.length === 0) return false;
      if (values.length === 1) {
        facet(kind, values[0]);
        return true;
      }
      for (const v of values) this.st.addMatchedFacet.run(kind, v);
      const sub = 'SELECT f.part_id FROM facets f JOIN temp.matched_facets m ON m.kind = f.kind AND m.value = f.value WHERE m.kind = ?';
      if (many(sub, [kind])) {
        where.push('EXISTS (SELECT 1 FROM facets f JOIN temp.matched_facets m ON m.kind = f.kind AND m.value = f.value WHERE m.kind = ? AND f.part_id = p.id)');
      } else where.push(`p.id IN (${sub})`);
      args.push(kind);
      return true;
    };
    const none = { items: [] as PartSummary[], next: null };
    this.st.clearMatchedFacets.run();
    if (filter.app !== undefined) {
      const pat = textPattern(filter.app);
      const apps = this.distinctApps().filter((a) => pat.test(a));
      if (apps.length === 0) return none;
      where.push(`p.app IN (${apps.map(() => '?').join(',')})`);
      args.push(...apps);
    }
    if (filter.session !== undefined) {
      // An id or a prefix of one (the list shows 12 characters).
      const [lo, hi] = idRange(filter.session);
      where.push('p.session >= ? AND p.session < ?');
      args.push(lo, hi);
    }
    when('p.last_ts >= ?', filter.from);
    when('p.first_ts <= ?', filter.to);
    if (filter.sessions !== undefined) {
      if (filter.sessions.length === 0) return none;
      where.push(`p.session IN (${filter.sessions.map(() => '?').join(',')})`);
      args.push(...filter.sessions);
    }
    if (filter.requestId !== undefined) {
      const ids = isIdPrefix(filter.requestId) ? this.partsOfRequestPrefix(filter.requestId) : this.partOfRequest(filter.requestId);
      if (ids.length === 0) return none;
      where.push(`p.id IN (${ids.map(() => '?').join(',')})`);
      args.push(...ids);
    }
    if (filter.user !== undefined) {
      const pat = textPattern(filter.user);
      const found: string[] = [];
      for (const [lo, hi] of patternRanges(filter.user) ?? [['', '\u{10ffff}']]) for (const v of this.distinctFacetValues(F.user, lo, hi)) if (pat.test(v)) found.push(v);
      if (!facetAny(F.user, found)) return none;
    }
    if (filter.role !== undefined) facet(F.role, filter.role);
    if (filter.ua !== undefined) facet(F.ua, filter.ua);
    if (filter.ip !== undefined) {
      const block = ipNetwork(filter.ip);
      if (block) {
        const ranges = block.textRanges() ?? [['', '\u{10ffff}']];
        const found: string[] = [];
        for (const [lo, hi] of ranges) for (const v of this.distinctFacetValues(F.ip, lo, hi)) if (block.contains(v)) found.push(v);
        if (!facetAny(F.ip, found)) return none;
      } else facet(F.ip, filter.ip);
    }
    if (filter.attack !== undefined) facet(F.attack, filter.attack);
    if (filter.key !== undefined) facet(F.key, filter.key);
    if (filter.status !== undefined) {
      if (isStatusClass(filter.status)) facet(F.cls, filter.status.toLowerCase());
      else facet(F.status, filter.status);
    }
    if (filter.endpoint !== undefined) {
      const pat = parseEndpointPattern(filter.endpoint);
      if (pat && !(pat.path === '*' && pat.method === null)) {
        // Match the distinct endpoints first, into a temporary table (in memory, this connection
        // only; listParts runs without yielding, so no other query sees it half filled). SQLite
        // cannot estimate a LIKE that starts with a wildcard and would otherwise walk every
        // part's endpoints.
        this.st.clearMatched.run();
        const found =
          pat.method === null
            ? this.st.matchEndpoints.run(pat.text.like).changes
            : this.st.matchEndpointsMethod.run(pat.text.like, pat.method).changes;
        if (found === 0) return none;
        if (many('SELECT 1 FROM part_endpoints WHERE endpoint_id IN (SELECT id FROM temp.matched_endpoints)', [])) {
          where.push(
            'EXISTS (SELECT 1 FROM part_endpoints pe JOIN temp.matched_endpoints m ON m.id = pe.endpoint_id WHERE pe.part_id = p.id)',
          );
        } else {
          where.push('p.id IN (SELECT part_id FROM part_endpoints WHERE endpoint_id IN (SELECT id FROM temp.matched_endpoints))');
        }
      }
    }
    if (filter.q !== undefined) {
      if (this.freeText(filter.q) === 0) return none;
      where.push('p.id IN (SELECT id FROM temp.matched_parts)');
    }
    if (filter.hideFallback) {
      where.push(`EXISTS (SELECT 1 FROM facets f WHERE f.part_id = p.id AND f.kind = '${F.key}' AND f.value NOT IN (${FALLBACK_KEYS.map(() => '?').join(',')}))`);
      args.push(...FALLBACK_KEYS);
    }
    let total: { total?: number; total_capped?: boolean } = {};
    if (opts.count !== undefined) {
      const n = this.db
        .prepare(`SELECT count(*) FROM (SELECT 1 FROM parts p${where.length ? ' WHERE ' + where.join(' AND ') : ''} LIMIT ?)`)
        .pluck()
        .get(...args, opts.count + 1) as number;
      total = { total: Math.min(n, opts.count), total_capped: n > opts.count };
    }
    // Keyset paging: by (last_ts, id) as before; the other orders by (column, session, part),
    // ties broken as the ClickHouse store breaks them.
    const sort = opts.sort ?? 'last';
    const col = sort === 'requests' ? 'requests' : 'attacked';
    if (opts.cursor) {
      if (sort === 'last') {
        const [lt, id] = decodeIntCursor(opts.cursor, 2);
        where.push('(p.last_ts, p.id) < (?, ?)');
        args.push(lt, id);
      } else {
        const [v, session, part] = decodeSortCursor(opts.cursor, sort);
        where.push(`(p.${col}, p.session, p.part) < (?, ?, ?)`);
        args.push(v, session, part);
      }
    }
    const sql =
      'SELECT p.* FROM parts p' +
      (where.length ? ' WHERE ' + where.join(' AND ') : '') +
      (sort === 'last' ? ' ORDER BY p.last_ts DESC, p.id DESC LIMIT ?' : ` ORDER BY p.${col} DESC, p.session DESC, p.part DESC LIMIT ?`);
    args.push(opts.limit + 1);
    const rows = this.db.prepare(sql).all(...args) as PartRow[];
    const more = rows.length > opts.limit;
    if (more) rows.pop();
    const last = rows[rows.length - 1];
    const key = (r: PartRow) => (sort === 'last' ? encodeIntCursor([r.last_ts, r.id]) : encodeCursor([sort, r[col], r.session, r.part]));
    return { items: rows.map((r) => this.summary(r)), next: more && last ? key(last) : null, ...total };
  }

  /** The distinct values of a facet kind in [lo, hi), walked through the index one seek per
   *  value, at most MAX_DISTINCT_SCANNED. */
  private distinctFacetValues(kind: string, lo = '', hi = '\u{10ffff}'): string[] {
    const out: string[] = [];
    let v = this.st.firstFacetValue.get(kind, lo, hi) as string | null;
    while (v !== null && out.length < MAX_DISTINCT_SCANNED) {
      out.push(v);
      v = this.st.nextFacetValue.get(kind, v, hi) as string | null;
    }
    return out;
  }

  private distinctApps(): string[] {
    const out: string[] = [];
    let v = this.st.firstApp.get() as string | null;
    while (v !== null && out.length < MAX_DISTINCT_SCANNED) {
      out.push(v);
      v = this.st.nextApp.get(v) as string | null;
    }
    return out;
  }

  /** Days newest first. */
  private daysNewestFirst(): string[] {
    return (this.st.days.all() as string[]).slice().reverse();
  }

  private partOfRequest(requestId: string): number[] {
    for (const part of this.daysNewestFirst()) {
      const d = this.day(part, false);
      const pid = d ? this.partOf(d, requestId) : undefined;
      if (pid !== undefined) return [pid];
    }
    return [];
  }

  /** Runs `sql` (with `?` for the row budget first, then `args`) on the newest
   *  Q_NEWEST_REQUESTS requests, day table by day table, newest first; `{t}` is the table. */
  private eachNewestDay(fn: (table: string, budget: number) => number): void {
    let budget = Q_NEWEST_REQUESTS;
    for (const part of this.daysNewestFirst()) {
      if (budget <= 0) break;
      const t = requestsTable(part);
      const rows = this.db.prepare(`SELECT count(*) FROM (SELECT 1 FROM ${t} LIMIT ?)`).pluck().get(budget) as number;
      fn(t, budget);
      budget -= rows;
    }
  }

  /** Parts holding a request whose id starts with `prefix`, among the newest requests. */
  private partsOfRequestPrefix(prefix: string): number[] {
    const [lo, hi] = idRange(prefix.toLowerCase());
    const out = new Set<number>();
    this.eachNewestDay((t, budget) => {
      const ids = this.db
        .prepare(`SELECT DISTINCT part_id FROM (SELECT part_id, request_id FROM ${t} ORDER BY id DESC LIMIT ?) WHERE request_id >= ? AND request_id < ?`)
        .pluck()
        .all(budget, lo, hi) as number[];
      for (const id of ids) out.add(id);
      return ids.length;
    });
    return [...out];
  }

  /** `q`: fills temp.matched_parts with the parts whose user, an IP or a path contains the term
   *  (ASCII case folded), or whose requests among the newest Q_NEWEST_REQUESTS have a parameter
   *  (name or value, as JSON text) containing it; at most MAX_DISTINCT_SCANNED values walked per
   *  kind and MAX_DISTINCT_SCANNED parts collected. Returns how many parts. */
  private freeText(term: string): number {
    const t = foldAscii(term);
    this.st.clearMatchedParts.run();
    const budget = () => MAX_DISTINCT_SCANNED - (this.st.countMatchedParts.get() as number);
    for (const kind of [F.user, F.ip]) {
      for (const v of this.distinctFacetValues(kind)) {
        if (!foldAscii(v).includes(t)) continue;
        const left = budget();
        if (left <= 0) break;
        this.st.partsOfFacet.run(kind, v, left);
      }
    }
    this.st.clearMatched.run();
    if (this.st.matchEndpoints.run(substringLike(term)).changes > 0 && budget() > 0) this.st.partsOfMatchedEndpoints.run(budget());
    this.eachNewestDay((table, rows) => {
      const left = budget();
      if (left <= 0) return 0;
      return this.db
        .prepare(
          `INSERT OR IGNORE INTO temp.matched_parts (id) SELECT DISTINCT part_id FROM (SELECT part_id, record FROM ${table} ORDER BY id DESC LIMIT ?)
           WHERE instr(lower(json_extract(record, '$.params')), ?) > 0 LIMIT ?`,
        )
        .run(rows, t, left).changes;
    });
    return this.st.countMatchedParts.get() as number;
  }

  async getPart(session: string, part: string): Promise<PartSummary | null> {
    const row = this.st.getPart.get(session, part) as PartRow | undefined;
    return row ? this.summary(row) : null;
  }

  async sessionParts(session: string): Promise<PartSummary[]> {
    return (this.st.sessionParts.all(session) as PartRow[]).map((r) => this.summary(r));
  }

  private toRequest(row: RequestRow, seq: number, app: string): StoredRequest {
    const r = JSON.parse(row.record) as SessionRecord;
    return {
      seq,
      request_id: r.request_id,
      ts: r.ts,
      app,
      key: r.key,
      key_source: r.key_source,
      method: r.method,
      host: r.host,
      path: r.path,
      status: r.status,
      duration_ms: r.duration_ms,
      bytes_sent: r.bytes_sent,
      ip: r.ip,
      ua: r.ua,
      params: r.params,
      user: r.user,
      role: r.role,
      attack: r.attack,
      request: r.request,
      errors: r.errors,
    };
  }

  async partRequests(
    session: string,
    part: string,
    opts: { limit: number; cursor?: string | null; filter?: RequestFilter },
  ): Promise<Page<StoredRequest>> {
    const p = this.st.getPart.get(session, part) as PartRow | undefined;
    if (!p) return { items: [], next: null };
    let [ts, id, seq] = [-Infinity, 0, 0];
    if (opts.cursor) [ts, id, seq] = decodeIntCursor(opts.cursor, 3);
    const d = this.day(part, false);
    if (!d) return { items: [], next: null };
    const f = opts.filter ?? {};
    const pat = f.endpoint !== undefined ? parseEndpointPattern(f.endpoint) : null;
    let rows: RequestRow[];
    if (f.only === undefined && pat === null) rows = d.page.all(p.id, ts === -Infinity ? -1e15 : ts, id, opts.limit + 1) as RequestRow[];
    else {
      // Within one part (its index range): the conditions are checked row by row.
      const conds: string[] = [];
      const args: unknown[] = [];
      if (f.only === 'attacks') conds.push('r.attacked = 1');
      if (f.only === 'failed') conds.push('r.status >= 400');
      if (pat && pat.method !== null) {
        conds.push("json_extract(r.record, '$.method') = ?");
        args.push(pat.method);
      }
      if (pat && pat.path !== '*') {
        conds.push("json_extract(r.record, '$.path') LIKE ? ESCAPE '\\'");
        args.push(pat.text.like);
      }
      rows = this.db
        .prepare(
          `SELECT r.id, r.ts, r.record FROM ${requestsTable(part)} r WHERE r.part_id = ? AND (r.ts, r.id) > (?, ?)` +
            conds.map((c) => ' AND ' + c).join('') +
            ' ORDER BY r.ts, r.id LIMIT ?',
        )
        .all(p.id, ts === -Infinity ? -1e15 : ts, id, ...args, opts.limit + 1) as RequestRow[];
    }
    const more = rows.length > opts.limit;
    if (more) rows.pop();
    const items = rows.map((r, i) => this.toRequest(r, seq + i + 1, p.app));
    const last = rows[rows.length - 1];
    return { items, next: more && last ? encodeIntCursor([last.ts, last.id, seq + rows.length]) : null };
  }

  eachPartRequest(session: string, part: string): AsyncIterable<StoredRequest> {
    return eachPartRequest(this, session, part);
  }

  async timeline(session: string, part: string, buckets: number): Promise<TimelineBucket[]> {
    const p = this.st.getPart.get(session, part) as PartRow | undefined;
    if (!p) return [];
    const grid = timelineGrid(p.first_ts, p.last_ts, buckets);
    const d = this.day(part, false);
    if (!d) return [];
    return grid.fill(d.timeline.all(p.first_ts, grid.width, p.id) as BucketCounts[]);
  }

  async deleteBefore(cutoffPart: string): Promise<number> {
    const ids = this.st.expiredParts.all(cutoffPart) as number[];
    const del = this.db.transaction((chunk: number[]) => {
      for (const id of chunk) {
        this.st.deleteFacets.run(id);
        this.st.deletePartEndpoints.run(id);
        this.st.deletePart.run(id);
      }
    });
    for (let i = 0; i < ids.length; i += 500) {
      del(ids.slice(i, i + 500));
      // Let queries and ingest in between: a day of a busy site is many parts.
      await new Promise((r) => setImmediate(r));
    }
    for (const part of this.st.days.all() as string[]) {
      if (part >= cutoffPart) continue;
      this.dayStatements.delete(part);
      this.db.transaction(() => {
        this.db.exec(`DROP TABLE IF EXISTS ${requestsTable(part)}`);
        this.st.dropDay.run(part);
      })();
    }
    const js = this.journeyStatements();
    js.deleteLinks.run(cutoffPart);
    js.deleteSamples.run(cutoffPart);
    if (ids.length > 0) {
      this.st.deleteOrphanEndpoints.run();
      this.partCache.clear();
      this.clearEndpointCache();
    }
    return ids.length;
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
