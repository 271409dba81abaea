-- API Sessions: the ClickHouse schema of the console's store (src/console/store/clickhouse/).
--
-- One file for every user of it: the console's ClickHouse store runs it at start (statements are
-- separated by `;` at the end of a line), and the compose setup runs it once in the ClickHouse
-- container (deploy/clickhouse/init.sh). `{database}` and `{retention_days}` are filled in by both.
-- Valid for ClickHouse 18.16 (Debian 12's package) and current releases.
--
-- Rows are the records of docs/record.md, inserted with `INSERT ... FORMAT JSONEachRow` by the
-- console or directly by Vector's ClickHouse sink, with three encodings a writer does itself
-- (deploy/vector/vector.toml shows them in VRL):
--   params, request   JSON text of the record's object (request: null stays null);
--   attack            the array, [] where the record has null (a record's attack is never []).
-- Everything else is the record's own JSON value. Unknown fields are skipped by the writer's
-- `input_format_skip_unknown_fields=1`.
--
-- One row per request_id: ReplacingMergeTree collapses rows with the same sorting key in the
-- same partition, and a record sent twice has the same (part, session, ts, request_id). Until a
-- merge has run, readers deduplicate with FINAL.
--
-- Partitions are days (the record's `part`, the UTC date of ts): retention drops whole
-- partitions. ClickHouse 19.6+ also gets a TTL (the statements after `-- @ttl` below); on older
-- servers the console's retention job drops the partitions (ALTER TABLE ... DROP PARTITION), of
-- `requests`, `links` and `samples` alike.

CREATE DATABASE IF NOT EXISTS {database};

CREATE TABLE IF NOT EXISTS {database}.requests (
  v UInt8,
  -- The record's ISO 8601 UTC time with milliseconds; ts_ms is computed from it on insert.
  -- (best-effort parsing: 18.16's plain DateTime parser refuses the ISO form.)
  ts String,
  ts_ms UInt64 MATERIALIZED toUInt64(toUnixTimestamp(parseDateTimeBestEffort(ts))) * 1000
    + if(substring(ts, 20, 1) = '.', toUInt64OrZero(substring(ts, 21, 3)), 0),
  part Date,
  app String,
  session String,
  `key` String,
  key_source String,
  request_id String,
  method String,
  host String,
  path String,
  status UInt16,
  duration_ms UInt32,
  bytes_sent UInt64,
  ip String,
  ua Nullable(String),
  params String,
  `user` Nullable(String),
  role Nullable(String),
  attack Array(String),
  request Nullable(String),
  errors Array(String)
) ENGINE = ReplacingMergeTree()
PARTITION BY part
ORDER BY (session, ts_ms, request_id);

-- The console's ingest checkpoints (e.g. a tailed file's offset); the newest `at` wins.
CREATE TABLE IF NOT EXISTS {database}.checkpoints (
  name String,
  value String,
  at UInt64
) ENGINE = ReplacingMergeTree(at)
ORDER BY name;

-- Journeys and recommendations (docs/console.md), written by the console's ingest only (never by
-- Vector's sink: docs/deployment.md), for each record it newly stores. Both are partitioned by
-- day like `requests`, so that retention drops them with it.
--
-- links: a record's `links` (session ids), one row per direction. A link's first time (ts_ms) and
-- newest day (part) are kept as SQLite keeps them: every row carries the smallest ts_ms and the
-- largest part known when it was written, and the console writes a row only when one of them
-- changes, into the partition of that newest day. So readers take min(ts_ms) per (a, b), and a
-- link lives until its newest day is dropped. Rows of one (a, b) in one day collapse on merge.
CREATE TABLE IF NOT EXISTS {database}.links (
  a String,
  b String,
  app String,
  ts_ms UInt64,
  part Date
) ENGINE = ReplacingMergeTree()
PARTITION BY part
ORDER BY (a, b);

-- samples: records that carry a discovery `inventory` (JSON text of [{s, h, n, k}], never values),
-- with the request's client fields, links, user and grouping key. `seq` orders them by arrival; readers take the
-- newest 20,000 of an application (FINAL: a batch replayed after a crash writes them again).
CREATE TABLE IF NOT EXISTS {database}.samples (
  app String,
  request_id String,
  seq UInt64,
  ts_ms UInt64,
  part Date,
  session String,
  key_source String,
  method String,
  path String,
  ip String,
  ua Nullable(String),
  links Array(String),
  inventory String,
  user Nullable(String),
  `key` Nullable(String)
) ENGINE = ReplacingMergeTree()
PARTITION BY part
ORDER BY (app, request_id);
-- (A `samples` table created before it kept `user` or `key` gains the column when the console
-- starts: 18.16 has no ADD COLUMN IF NOT EXISTS. Older rows read NULL.)

-- Blocks (docs/console.md, "Blocks"): every change of a block is one row, never updated; a
-- block's state is read from its rows (src/console/store/clickhouse/blocks.ts). `id` grows with
-- each change (ms * 1000 + a sequence); `block_id` is the id of the block's first row. Kept
-- whole, outside retention: the audit list outlives the traffic it was about.
CREATE TABLE IF NOT EXISTS {database}.block_audit (
  id UInt64,
  block_id UInt64,
  at UInt64,
  who String,
  action String,
  kind String,
  value String,
  reason String,
  expires_at UInt64
) ENGINE = MergeTree()
ORDER BY id;

-- Detections (docs/console.md, "Detections"), written by the console's ingest only. A finding's
-- newer state is a new row with a larger `updated` (readers take the newest with FINAL); `body`
-- is the finding as JSON, the other columns what the filters read. `detection_sessions` holds a
-- row per session a finding names (the marks of the session list). Both are partitioned by the
-- day the finding started, so that all its states are in one partition, and retention drops
-- whole days.
CREATE TABLE IF NOT EXISTS {database}.detections (
  id String,
  kind String,
  rules Array(String),
  app String,
  first_ts UInt64,
  last_ts UInt64,
  updated UInt64,
  part Date,
  body String
) ENGINE = ReplacingMergeTree(updated)
PARTITION BY part
ORDER BY id;

CREATE TABLE IF NOT EXISTS {database}.detection_sessions (
  session String,
  id String,
  kind String,
  rule String,
  part Date
) ENGINE = ReplacingMergeTree()
PARTITION BY part
ORDER BY (session, id);

-- @ttl (ClickHouse 19.6 and later: 18.16 does not parse TTL)
ALTER TABLE {database}.requests MODIFY TTL part + INTERVAL {retention_days} DAY;
ALTER TABLE {database}.links MODIFY TTL part + INTERVAL {retention_days} DAY;
ALTER TABLE {database}.samples MODIFY TTL part + INTERVAL {retention_days} DAY;
ALTER TABLE {database}.detections MODIFY TTL part + INTERVAL {retention_days} DAY;
ALTER TABLE {database}.detection_sessions MODIFY TTL part + INTERVAL {retention_days} DAY;
