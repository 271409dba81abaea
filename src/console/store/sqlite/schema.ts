/**
 * The SQLite store's tables.
 *
 * Layout: `parts` holds one row per (session, part) with its running aggregates (times, counts,
 * users, IPs, statuses, attacks, methods); `requests_YYYYMMDD` holds one row per request id of
 * that day (the record's `part`), so that retention drops a whole table; `facets`
 * maps each distinct filter value of a part (IP, status, status class, attack, key, user, role)
 * to the part; `endpoints` + `part_endpoints` map each distinct "METHOD path" to the parts that
 * requested it. Filters then select part ids through small indexes instead of scanning
 * requests, and one session's page reads its aggregates from one row. `overview` and
 * `overview_tops` hold the overview's counts (overview.ts).
 */
import type Database from 'better-sqlite3';
import { isPartDate } from '../part-date';

/** 2: requests tables created since then are unique on a hash of the request id (see
 *  requestsSchema). A version-1 database is upgraded in place: its existing days keep their
 *  layout until retention drops them, and the version is raised so that an older console refuses
 *  the file instead of failing on the new days' tables. */
const SCHEMA_VERSION = '2';
const UPGRADABLE = ['1'];

/** Requests live in one table per day (per part date): a day's indexes stay small enough that
 *  ingest does not slow down as the store fills, and retention drops whole tables. */
export function requestsTable(part: string): string {
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
export function requestsSchema(part: string): string {
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
  user TEXT,
  key TEXT
);
CREATE INDEX IF NOT EXISTS samples_app ON samples (app, id);
CREATE INDEX IF NOT EXISTS samples_part ON samples (part);
`;

/** The overview's counts (overview.ts; added without a schema version change: new tables only).
 *  `overview`: per interval length, interval start (ms) and application; `overview_tops`: per
 *  kind (`u` user, `e` endpoint), hour, application and value. */
const OVERVIEW_SCHEMA = `
CREATE TABLE IF NOT EXISTS overview (
  size INTEGER NOT NULL,
  bucket INTEGER NOT NULL,
  app TEXT NOT NULL,
  requests INTEGER NOT NULL,
  sessions INTEGER NOT NULL,
  attacks INTEGER NOT NULL,
  failed_logins INTEGER NOT NULL,
  PRIMARY KEY (size, bucket, app)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS overview_tops (
  kind TEXT NOT NULL,
  hour INTEGER NOT NULL,
  app TEXT NOT NULL,
  value TEXT NOT NULL,
  requests INTEGER NOT NULL,
  PRIMARY KEY (kind, hour, app, value)
) WITHOUT ROWID;
`;

/** Facet kinds: short, stable names stored in the database. */
export const FACET = { ip: 'ip', status: 'st', cls: 'sc', attack: 'at', key: 'k', user: 'u', role: 'r', ua: 'ua' } as const;

/** Creates the tables a writer needs that the file does not have yet. */
export function createTables(db: Database.Database): void {
  db.exec(SCHEMA);
  db.exec(JOURNEY_SCHEMA);
  db.exec(OVERVIEW_SCHEMA);
  // Files from before samples kept the record's user and key gain the columns (older rows: NULL).
  const cols = samplesColumns(db);
  if (!cols.has('user')) db.exec('ALTER TABLE samples ADD COLUMN user TEXT');
  if (!cols.has('key')) db.exec('ALTER TABLE samples ADD COLUMN key TEXT');
}

/** Writes the schema version into a new file, raises an upgradable one, and refuses any other. */
export function checkSchemaVersion(db: Database.Database, path: string): void {
  const v = db.prepare('SELECT value FROM meta WHERE key = ?').get('schema') as { value: string } | undefined;
  if (!v) db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run('schema', SCHEMA_VERSION);
  else if (UPGRADABLE.includes(v.value)) db.prepare('UPDATE meta SET value = ? WHERE key = ?').run(SCHEMA_VERSION, 'schema');
  else if (v.value !== SCHEMA_VERSION) throw new Error(`${path}: schema version ${v.value}, this console uses ${SCHEMA_VERSION}`);
}

/** Statements of the journey tables, prepared on first use: a read-only store opened on an older
 *  file may not have the tables. */
export function preparedOnFirstUse<T>(prepare: () => T): () => T {
  let statements: T | null = null;
  return () => (statements ??= prepare());
}

/** The columns of `samples` (older files lack `user` and `key`). */
export function samplesColumns(db: Database.Database): Set<string> {
  return new Set((db.prepare('PRAGMA table_info(samples)').all() as Array<{ name: string }>).map((c) => c.name));
}
