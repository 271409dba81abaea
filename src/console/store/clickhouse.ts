/**
 * The server-backed store: ClickHouse over its HTTP interface (@clickhouse/client), for traffic
 * that outgrows one machine. Same interface and query semantics as the SQLite store.
 *
 * Schema: deploy/clickhouse/schema.sql (also run by the compose setup). One row per request in
 * `requests`, partitioned by day (`part`), ReplacingMergeTree ordered by (session, ts_ms,
 * request_id): a record ingested twice, by the console or by Vector's ClickHouse sink, collapses
 * into one row, and readers use FINAL until merges have run. Part summaries are aggregated from
 * the requests at query time (ClickHouse scans a day of requests quickly; there is nothing to keep
 * up to date on ingest, so Vector can write directly).
 *
 * Journeys and recommendations (Store.links, Store.samples, PartFilter.sessions): tables `links`
 * and `samples`, partitioned by day like `requests`, written by this store's ingest for each
 * record it newly stores, with the SQLite store's validation (journey-rows.ts) and semantics: a
 * link's first time and newest day (each row carries both, see schema.sql), the newest
 * MAX_SAMPLES samples of an application by arrival. Samples are not trimmed as SQLite trims them
 * (a DELETE is a mutation that rewrites whole parts): reads take the newest MAX_SAMPLES, and
 * retention bounds the table. Rows Vector writes straight into `requests` get neither
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
import { readFileSync } from 'fs';
import { SCHEMA_FILE } from '../assets';
import { createClient, ClickHouseClient } from '@clickhouse/client';
import { SessionRecord } from '../../record/record';
import { clampLinksPerSession, clampSamples, journeyRows } from './journey-rows';
import { parseEndpointPattern } from './pattern';
import { Q_NEWEST_REQUESTS, foldAscii, idRange, ipBlockSql, isIdPrefix, parseIpBlock, textPattern } from './search';
import {
  BadCursorError,
  Checkpoint,
  Counts,
  IngestResult,
  LINKS_PER_SESSION,
  LinkEdge,
  Page,
  PartFilter,
  FALLBACK_KEYS,
  PartSort,
  PartSummary,
  RequestFilter,
  SampleRow,
  Store,
  StoredRequest,
  TimelineBucket,
} from './types';

export interface ClickHouseStoreOptions {
  /** HTTP interface, e.g. http://127.0.0.1:8123 */
  url: string;
  /** Database (created when missing). Default `api_sessions`. */
  database?: string;
  user?: string;
  password?: string;
  /** Days a part is kept: the TTL on servers that have TTL (19.6+). Default 7. */
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
  /** Where schema.sql is (default: deploy/clickhouse/schema.sql, or its copy beside the built console). */
  schemaFile?: string;
  /** Per-request timeout, ms (default 60000). */
  requestTimeoutMs?: number;
}

export const DEFAULT_SCHEMA_FILE = SCHEMA_FILE;

const PART_RE = /^\d{4}-\d{2}-\d{2}$/;
const IDENT_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const ID_CHUNK = 2000;

/** A ClickHouse string literal. */
export function lit(s: string): string {
  return "'" + s.replace(/\\/g, '\\\\').replace(/'/g, "\\'") + "'";
}

/** A non-negative integer literal (ms times, limits); anything else is a bug upstream. */
function num(n: number): string {
  if (!Number.isSafeInteger(n)) throw new Error('not an integer: ' + n);
  return String(n);
}

/** The statements of schema.sql for a server: placeholders filled, the `@ttl` section kept only
 *  when the server has TTL. */
export function schemaStatements(text: string, opts: { database: string; retentionDays: number; ttl: boolean }): string[] {
  let body = text;
  const at = body.search(/^-- @ttl\b/m);
  if (at >= 0 && !opts.ttl) body = body.slice(0, at);
  body = body.replace(/\{database\}/g, opts.database).replace(/\{retention_days\}/g, String(opts.retentionDays));
  return body
    .split(/;\s*$/m)
    .map((s) =>
      s
        .split('\n')
        .filter((l) => !/^\s*--/.test(l))
        .join('\n')
        .trim(),
    )
    .filter((s) => s !== '');
}

/** TTL on MergeTree tables arrived in ClickHouse 19.6. */
export function serverHasTtl(version: string): boolean {
  const [maj, min] = version.split('.').map(Number);
  return maj > 19 || (maj === 19 && min >= 6);
}

interface SummaryRow {
  session: string;
  p: string;
  app_: string;
  first_ms: string | number;
  last_ms: string | number;
  n: string | number;
  attacked: string | number;
  errored: string | number;
  first_user: string;
  has_user: string | number;
  first_role: string;
  has_role: string | number;
  first_key: string;
}

interface CountRow {
  session: string;
  p: string;
  dim: string;
  val: string;
  n: string | number;
  first_seen: string | number;
}

interface RequestRow {
  request_id: string;
  t: string | number;
  app: string;
  key: string;
  key_source: string;
  method: string;
  host: string;
  path: string;
  status: number;
  duration_ms: number;
  bytes_sent: string | number;
  ip: string;
  ua: string | null;
  params: string;
  user: string | null;
  role: string | null;
  attack: string[];
  request: string | null;
  errors: string[];
}

function encodeCursor(v: unknown[]): string {
  return Buffer.from(JSON.stringify(v)).toString('base64url');
}
function decodeCursor(c: string): unknown[] {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(c, 'base64url').toString());
  } catch (e) {
    throw new BadCursorError('bad cursor');
  }
  if (!Array.isArray(v)) throw new BadCursorError('bad cursor');
  return v;
}

function parseJson<T>(s: string | null, fallback: T): T {
  if (s === null || s === '') return fallback;
  try {
    return JSON.parse(s) as T;
  } catch (e) {
    return fallback;
  }
}

export class ClickHouseStore implements Store {
  readonly client: ClickHouseClient;
  readonly database: string;
  readonly retentionDays: number;
  private readonly table: string;
  private cutoff = '0000-00-00';
  private ingestChain: Promise<unknown> = Promise.resolve();
  private lastCheckpointAt = 0;
  private lastSampleSeq = 0;
  /** Whether links and samples are kept (set by init). */
  journeys = false;
  /** Whether the samples table has the `user` column (set by init). */
  private samplesUser = false;
  serverVersion = '';

  constructor(private readonly opts: ClickHouseStoreOptions) {
    this.database = opts.database ?? 'api_sessions';
    if (!IDENT_RE.test(this.database)) throw new Error('bad ClickHouse database name ' + JSON.stringify(this.database));
    const table = opts.table ?? 'requests';
    if (!IDENT_RE.test(table)) throw new Error('bad ClickHouse table name ' + JSON.stringify(table));
    this.table = `${this.database}.${table}`;
    this.retentionDays = opts.retentionDays ?? 7;
    this.client = createClient({
      url: opts.url,
      username: opts.user ?? 'default',
      password: opts.password ?? '',
      request_timeout: opts.requestTimeoutMs ?? 60000,
      // 18.16 knows neither query parameters nor the newer settings: send none by default.
      clickhouse_settings: {},
    });
  }

  /** Connects, reads the server version and (unless told not to) creates the schema. */
  async init(): Promise<void> {
    const rows = await this.rows<{ v: string }>('SELECT version() AS v');
    this.serverVersion = rows[0].v;
    if (this.opts.createSchema !== false) {
      const text = readFileSync(this.opts.schemaFile ?? DEFAULT_SCHEMA_FILE, 'utf8');
      const ttl = serverHasTtl(this.serverVersion);
      for (const stmt of schemaStatements(text, { database: this.database, retentionDays: this.retentionDays, ttl })) {
        const m = /^ALTER TABLE \S+\.(\w+) MODIFY TTL/s.exec(stmt);
        if (m && (await this.hasTtl(m[1]))) continue;
        await this.client.command({ query: stmt });
      }
    }
    let journeys = this.opts.journeys;
    if (journeys === undefined) {
      if (this.opts.createSchema !== false) journeys = true;
      else {
        const t = await this.rows<{ name: string }>(
          `SELECT name FROM system.tables WHERE database = ${lit(this.database)} AND name IN ('links', 'samples')`,
        );
        journeys = t.length === 2;
      }
    }
    this.journeys = journeys;
    if (journeys) {
      // `samples.user` arrived after the table: added here (18.16 has no ADD COLUMN IF NOT
      // EXISTS); an operator-managed schema without it is read with NULL users.
      const cols = await this.rows<{ name: string }>(
        `SELECT name FROM system.columns WHERE database = ${lit(this.database)} AND table = 'samples' AND name = 'user'`,
      );
      if (cols.length === 0 && this.opts.createSchema !== false) {
        await this.client.command({ query: `ALTER TABLE ${this.database}.samples ADD COLUMN user Nullable(String)` });
        this.samplesUser = true;
      } else this.samplesUser = cols.length > 0;
    }
    if (!journeys) {
      // The optional Store methods are absent: callers (journey.ts, the API) then answer 501.
      Object.defineProperty(this, 'links', { value: undefined });
      Object.defineProperty(this, 'samples', { value: undefined });
    }
  }

  /** Whether a table already has its TTL (a MODIFY TTL rewrites nothing then). */
  private async hasTtl(table: string): Promise<boolean> {
    const r = await this.rows<{ q: string }>(
      `SELECT create_table_query AS q FROM system.tables WHERE database = ${lit(this.database)} AND name = ${lit(table)}`,
    );
    return r.length > 0 && new RegExp(`TTL part \\+ (toIntervalDay\\(${this.retentionDays}\\)|INTERVAL ${this.retentionDays} DAY)`).test(r[0].q);
  }

  private async rows<T>(query: string): Promise<T[]> {
    const rs = await this.client.query({ query, format: 'JSONEachRow' });
    return rs.json<T>();
  }

  setCutoff(cutoffPart: string): void {
    this.cutoff = cutoffPart;
  }

  ingest(records: SessionRecord[], checkpoint?: Checkpoint): Promise<IngestResult> {
    // One batch at a time: the duplicate check of a batch must see the rows of the one before.
    const run = this.ingestChain.then(() => this.ingestNow(records, checkpoint));
    this.ingestChain = run.catch(() => undefined);
    return run;
  }

  private async ingestNow(records: SessionRecord[], checkpoint?: Checkpoint): Promise<IngestResult> {
    const res: IngestResult = { inserted: 0, duplicates: 0, expired: 0, future: 0 };
    const latest = new Date(Date.now() + 86400000).toISOString().slice(0, 10);
    const batch = new Map<string, SessionRecord>();
    for (const r of records) {
      if (r.part < this.cutoff) res.expired++;
      else if (r.part > latest) res.future++;
      else if (batch.has(r.request_id)) res.duplicates++;
      else batch.set(r.request_id, r);
    }
    const fresh = [...batch.values()];
    // Ids already stored: looked up through the sorting key's prefix (session) within the
    // batch's partitions, in chunks that keep each query small.
    const stored = new Set<string>();
    for (let i = 0; i < fresh.length; i += ID_CHUNK) {
      const chunk = fresh.slice(i, i + ID_CHUNK);
      const parts = [...new Set(chunk.map((r) => r.part))];
      const sessions = [...new Set(chunk.map((r) => r.session))];
      const found = await this.rows<{ request_id: string }>(
        `SELECT DISTINCT request_id FROM ${this.table}
         WHERE part IN (${parts.map((p) => `toDate(${lit(p)})`).join(',')})
           AND session IN (${sessions.map(lit).join(',')})
           AND request_id IN (${chunk.map((r) => lit(r.request_id)).join(',')})`,
      );
      for (const f of found) stored.add(f.request_id);
    }
    const rows = [];
    const newRecords: SessionRecord[] = [];
    for (const r of fresh) {
      if (stored.has(r.request_id)) {
        res.duplicates++;
        continue;
      }
      rows.push(toRow(r));
      newRecords.push(r);
    }
    // Links and samples before the requests: should the requests' insert fail, the batch is sent
    // again and finds nothing stored; links rows change nothing the second time and samples
    // collapse by request_id. (The other order would lose them: the replay would find the
    // requests stored, as duplicates.)
    if (this.journeys && newRecords.length > 0) await this.ingestJourney(newRecords);
    if (rows.length > 0) {
      await this.client.insert({
        table: this.table,
        values: rows,
        format: 'JSONEachRow',
        clickhouse_settings: { input_format_skip_unknown_fields: 1 },
      });
    }
    res.inserted = rows.length;
    if (checkpoint) {
      const at = Math.max(Date.now() * 1000, this.lastCheckpointAt + 1);
      this.lastCheckpointAt = at;
      await this.client.insert({
        table: `${this.database}.checkpoints`,
        values: [{ name: checkpoint.name, value: checkpoint.value, at }],
        format: 'JSONEachRow',
      });
    }
    return res;
  }

  /**
   * Links (both directions) and samples of newly stored records, as the SQLite store keeps them:
   * a link's first time is the smallest ts_ms and its day the newest part, so a row is written
   * only when the batch lowers the one or raises the other, carrying both (schema.sql).
   */
  private async ingestJourney(records: SessionRecord[]): Promise<void> {
    const edges = new Map<string, { a: string; b: string; app: string; ts_ms: number; part: string }>();
    const samples: Record<string, unknown>[] = [];
    for (const r of records) {
      const ts = Date.parse(r.ts);
      const rows = journeyRows(r, ts);
      if (rows === null) continue;
      for (const [a, b] of rows.edges) {
        const k = a + '/' + b;
        const e = edges.get(k);
        if (!e) edges.set(k, { a, b, app: r.app, ts_ms: ts, part: r.part });
        else {
          if (ts < e.ts_ms) e.ts_ms = ts;
          if (r.part > e.part) e.part = r.part;
        }
      }
      const x = rows.sample;
      if (x !== null) {
        const seq = Math.max(Date.now() * 1000, this.lastSampleSeq + 1);
        this.lastSampleSeq = seq;
        samples.push({
          app: x.app,
          request_id: r.request_id,
          seq,
          ts_ms: x.ts,
          part: x.part,
          session: x.session,
          key_source: x.key_source,
          method: x.method,
          path: x.path,
          ip: x.ip,
          ua: x.ua,
          links: x.links,
          inventory: JSON.stringify(x.inventory),
          ...(this.samplesUser ? { user: x.user } : {}),
        });
      }
    }
    const all = [...edges.values()];
    const write: typeof all = [];
    for (let i = 0; i < all.length; i += ID_CHUNK) {
      const chunk = all.slice(i, i + ID_CHUNK);
      const as = [...new Set(chunk.map((e) => e.a))];
      const bs = [...new Set(chunk.map((e) => e.b))];
      const known = await this.rows<{ a: string; b: string; app_: string; ts: string | number; p: string }>(
        `SELECT a, b, argMin(app, ts_ms) AS app_, min(ts_ms) AS ts, toString(max(part)) AS p FROM ${this.database}.links
         WHERE a IN (${as.map(lit).join(',')}) AND b IN (${bs.map(lit).join(',')}) GROUP BY a, b`,
      );
      const byKey = new Map(known.map((k) => [k.a + '/' + k.b, k]));
      for (const e of chunk) {
        const k = byKey.get(e.a + '/' + e.b);
        if (!k) {
          write.push(e);
          continue;
        }
        const ts = Math.min(Number(k.ts), e.ts_ms);
        const part = k.p > e.part ? k.p : e.part;
        if (ts !== Number(k.ts) || part !== k.p) write.push({ a: e.a, b: e.b, app: k.app_, ts_ms: ts, part });
      }
    }
    if (write.length > 0) {
      await this.client.insert({ table: `${this.database}.links`, values: write, format: 'JSONEachRow' });
    }
    if (samples.length > 0) {
      await this.client.insert({ table: `${this.database}.samples`, values: samples, format: 'JSONEachRow' });
    }
  }

  async links(sessions: string[], perSession: number = LINKS_PER_SESSION): Promise<LinkEdge[]> {
    const limit = clampLinksPerSession(perSession);
    const out: LinkEdge[] = [];
    // In chunks of 500 ordered each, as the SQLite store answers; `LIMIT n BY a` (18.16 has it)
    // keeps each session's first `limit` links by time, so no more than that is sent.
    for (let i = 0; i < sessions.length; i += 500) {
      const chunk = sessions.slice(i, i + 500);
      const rows = await this.rows<{ a: string; b: string; app_: string; ts: string | number }>(
        `SELECT a, b, app_, ts FROM (
           SELECT a, b, argMin(app, ts_ms) AS app_, min(ts_ms) AS ts FROM ${this.database}.links
           WHERE a IN (${chunk.map(lit).join(',')}) GROUP BY a, b ORDER BY a, ts, b LIMIT ${num(limit)} BY a
         ) ORDER BY ts, a, b`,
      );
      for (const r of rows) out.push({ a: r.a, b: r.b, app: r.app_, ts: Number(r.ts) });
    }
    return out;
  }

  async samples(app: string, max: number): Promise<SampleRow[]> {
    const n = clampSamples(max);
    // The newest days that hold `n` samples (distinct request ids per day: a replayed batch's
    // copies count once), so that FINAL reads those days only, not every day kept.
    const days = await this.rows<{ p: string; n: string | number }>(
      `SELECT toString(part) AS p, uniqExact(request_id) AS n FROM ${this.database}.samples
       WHERE app = ${lit(app)} GROUP BY part ORDER BY part DESC`,
    );
    let since = '';
    let total = 0;
    for (const d of days) {
      total += Number(d.n);
      if (total >= n) {
        since = d.p;
        break;
      }
    }
    if (since !== '' && !PART_RE.test(since)) since = '';
    const rows = await this.rows<{
      t: string | number;
      session: string;
      key_source: string;
      method: string;
      path: string;
      ip: string;
      ua: string | null;
      links: string[];
      inventory: string;
      user_: string | null;
    }>(
      `SELECT t, session, key_source, method, path, ip, ua, links, inventory, user_ FROM (
         SELECT seq, ts_ms AS t, session, key_source, method, path, ip, ua, links, inventory, ${this.samplesUser ? 'user' : 'CAST(NULL AS Nullable(String))'} AS user_
         FROM ${this.database}.samples FINAL WHERE app = ${lit(app)}${since ? ` AND part >= toDate(${lit(since)})` : ''}
         ORDER BY seq DESC LIMIT ${num(n)}
       ) ORDER BY t, seq`,
    );
    return rows.map((r) => ({
      ts: Number(r.t),
      session: r.session,
      key_source: r.key_source,
      method: r.method,
      path: r.path,
      ip: r.ip,
      ua: r.ua,
      links: r.links,
      inventory: parseJson(r.inventory, []),
      user: r.user_ ?? null,
    }));
  }

  async getCheckpoint(name: string): Promise<string | null> {
    const r = await this.rows<{ value: string; n: string | number }>(
      `SELECT argMax(value, at) AS value, count() AS n FROM ${this.database}.checkpoints WHERE name = ${lit(name)}`,
    );
    return r.length > 0 && Number(r[0].n) > 0 ? r[0].value : null;
  }

  /** Summaries of the parts the WHERE clause selects, keyed "session/part". */
  private async summaries(where: string): Promise<Map<string, PartSummary>> {
    const t = this.table;
    const [main, counts] = await Promise.all([
      this.rows<SummaryRow>(
        `SELECT session, toString(part) AS p, any(app) AS app_, min(ts_ms) AS first_ms, max(ts_ms) AS last_ms,
           count() AS n, countIf(notEmpty(attack)) AS attacked, countIf(notEmpty(errors)) AS errored,
           argMinIf(assumeNotNull(\`user\`), (ts_ms, request_id), isNotNull(\`user\`)) AS first_user,
           countIf(isNotNull(\`user\`)) AS has_user,
           argMinIf(assumeNotNull(role), (ts_ms, request_id), isNotNull(role)) AS first_role,
           countIf(isNotNull(role)) AS has_role,
           argMin(\`key\`, (ts_ms, request_id)) AS first_key
         FROM ${t} FINAL WHERE ${where} GROUP BY session, part`,
      ),
      this.rows<CountRow>(
        `SELECT session, toString(part) AS p, kv.1 AS dim, kv.2 AS val, count() AS n, min(ts_ms) AS first_seen
         FROM (
           SELECT session, part, ts_ms, arrayJoin(arrayConcat(
             [('i', ip), ('s', toString(status)), ('m', method), ('k', \`key\`)],
             arrayMap(a -> ('a', a), attack),
             arrayMap(u -> ('u', assumeNotNull(u)), arrayFilter(u -> isNotNull(u), [\`user\`])),
             arrayMap(r -> ('r', assumeNotNull(r)), arrayFilter(r -> isNotNull(r), [role])),
             arrayMap(g -> ('g', assumeNotNull(g)), arrayFilter(g -> isNotNull(g), [ua]))
           )) AS kv
           FROM ${t} FINAL WHERE ${where}
         ) GROUP BY session, part, dim, val`,
      ),
    ]);
    const out = new Map<string, PartSummary>();
    for (const r of main) {
      out.set(r.session + '/' + r.p, {
        session: r.session,
        part: r.p,
        app: r.app_,
        first_ts: new Date(Number(r.first_ms)).toISOString(),
        last_ts: new Date(Number(r.last_ms)).toISOString(),
        requests: Number(r.n),
        attacked: Number(r.attacked),
        errored: Number(r.errored),
        user: Number(r.has_user) > 0 ? r.first_user : null,
        role: Number(r.has_role) > 0 ? r.first_role : null,
        key: r.first_key,
        users: [],
        roles: [],
        keys: [],
        ips: {},
        uas: {},
        statuses: {},
        attacks: {},
        methods: {},
      });
    }
    // In order of first appearance, as the SQLite store lists them.
    counts.sort((a, b) => Number(a.first_seen) - Number(b.first_seen) || (a.val < b.val ? -1 : a.val > b.val ? 1 : 0));
    for (const c of counts) {
      const s = out.get(c.session + '/' + c.p);
      if (!s) continue;
      const n = Number(c.n);
      const add = (o: Counts) => (o[c.val] = n);
      switch (c.dim) {
        case 'i':
          add(s.ips);
          break;
        case 'g':
          add(s.uas);
          break;
        case 's':
          add(s.statuses);
          break;
        case 'm':
          add(s.methods);
          break;
        case 'a':
          add(s.attacks);
          break;
        case 'k':
          s.keys.push(c.val);
          break;
        case 'u':
          s.users.push(c.val);
          break;
        case 'r':
          s.roles.push(c.val);
          break;
      }
    }
    return out;
  }

  async listParts(filter: PartFilter, opts: { limit: number; cursor?: string | null; count?: number; sort?: PartSort }): Promise<Page<PartSummary>> {
    const where: string[] = ['1'];
    const having: string[] = ['1'];
    const any = (cond: string) => having.push(`countIf(${cond}) > 0`);
    const ci = (col: string, pattern: string) => `match(lower(${col}), ${lit(textPattern(pattern).regexp)})`;
    // The newest Q_NEWEST_REQUESTS requests, as `q` and request-id prefixes search them.
    const newest = `ts_ms >= (SELECT min(ts_ms) FROM (SELECT ts_ms FROM ${this.table} ORDER BY ts_ms DESC LIMIT ${num(Q_NEWEST_REQUESTS)}))`;
    if (filter.app !== undefined) where.push(ci('app', filter.app));
    if (filter.session !== undefined) {
      const [lo, hi] = idRange(filter.session);
      where.push(`session >= ${lit(lo)} AND session < ${lit(hi)}`);
    }
    if (filter.sessions !== undefined) {
      if (filter.sessions.length === 0) return { items: [], next: null };
      where.push(`session IN (${filter.sessions.map(lit).join(',')})`);
    }
    if (filter.from !== undefined) {
      // A part's requests are all of its day: days before `from` cannot overlap.
      where.push(`part >= toDate(${lit(dayOf(filter.from))})`);
      having.push(`max(ts_ms) >= ${num(Math.max(0, Math.ceil(filter.from)))}`);
    }
    if (filter.to !== undefined) {
      if (filter.to < 0) return { items: [], next: null };
      where.push(`part <= toDate(${lit(dayOf(filter.to))})`);
      having.push(`min(ts_ms) <= ${num(Math.floor(filter.to))}`);
    }
    if (filter.requestId !== undefined) {
      if (isIdPrefix(filter.requestId)) {
        const [lo, hi] = idRange(filter.requestId.toLowerCase());
        any(`request_id >= ${lit(lo)} AND request_id < ${lit(hi)} AND ${newest}`);
      } else any(`request_id = ${lit(filter.requestId)}`);
    }
    if (filter.user !== undefined) any(`isNotNull(\`user\`) AND ${ci('assumeNotNull(`user`)', filter.user)}`);
    if (filter.role !== undefined) any(`isNotNull(role) AND assumeNotNull(role) = ${lit(filter.role)}`);
    if (filter.ua !== undefined) any(`isNotNull(ua) AND assumeNotNull(ua) = ${lit(filter.ua)}`);
    if (filter.ip !== undefined) {
      const block = parseIpBlock(filter.ip);
      if (block && block.bits < (block.family === 4 ? 32 : 128)) any(ipBlockSql('ip', block));
      else any(`ip = ${lit(filter.ip)}`);
    }
    if (filter.attack !== undefined) any(filter.attack === '*' ? 'notEmpty(attack)' : `has(attack, ${lit(filter.attack)})`);
    if (filter.key !== undefined) any(`\`key\` = ${lit(filter.key)}`);
    if (filter.status !== undefined) {
      if (/^[1-5]xx$/i.test(filter.status)) any(`intDiv(status, 100) = ${filter.status[0]}`);
      else any(`toString(status) = ${lit(filter.status)}`);
    }
    if (filter.endpoint !== undefined) {
      const pat = parseEndpointPattern(filter.endpoint);
      if (pat) {
        const conds: string[] = [];
        if (pat.method !== null) conds.push(`method = ${lit(pat.method)}`);
        if (pat.path !== '*') conds.push(ci('path', pat.path));
        if (conds.length) any(conds.join(' AND '));
      }
    }
    if (filter.q !== undefined) {
      const t = lit(foldAscii(filter.q));
      any(
        `(isNotNull(\`user\`) AND position(lower(assumeNotNull(\`user\`)), ${t}) > 0) OR position(lower(ip), ${t}) > 0 ` +
          `OR position(lower(path), ${t}) > 0 OR (position(lower(params), ${t}) > 0 AND ${newest})`,
      );
    }
    if (filter.hideFallback) any(`\`key\` NOT IN (${FALLBACK_KEYS.map(lit).join(',')})`);
    let total: { total?: number; total_capped?: boolean } = {};
    if (opts.count !== undefined) {
      const r = await this.rows<{ n: string | number }>(
        `SELECT count() AS n FROM (SELECT session, part FROM ${this.table} WHERE ${where.join(' AND ')} GROUP BY session, part HAVING ${having.join(' AND ')} LIMIT ${num(opts.count + 1)})`,
      );
      const n = Number(r[0]?.n ?? 0);
      total = { total: Math.min(n, opts.count), total_capped: n > opts.count };
    }
    // The sort's value of a part: its last request, or its requests / malicious requests counted
    // once per request id (rows that reached the table twice count once, as in the summaries).
    const sort = opts.sort ?? 'last';
    const value = sort === 'requests' ? 'uniqExact(request_id)' : sort === 'attacked' ? 'uniqExactIf(request_id, notEmpty(attack))' : 'max(ts_ms)';
    if (opts.cursor) {
      const c = decodeCursor(opts.cursor);
      const [lt, session, part] = sort === 'last' ? c : c.slice(1);
      if (c.length !== (sort === 'last' ? 3 : 4) || (sort !== 'last' && c[0] !== sort) || !Number.isSafeInteger(lt) || typeof session !== 'string' || typeof part !== 'string' || !PART_RE.test(part)) {
        throw new BadCursorError('bad cursor');
      }
      having.push(
        `(${value} < ${num(lt as number)} OR (${value} = ${num(lt as number)} AND (session < ${lit(session)} OR (session = ${lit(session)} AND part < toDate(${lit(part)})))))`,
      );
    }
    // The page's keys first (duplicates change no filter, so no FINAL), then their summaries.
    const keys = await this.rows<{ session: string; p: string; v: string | number }>(
      `SELECT session, toString(part) AS p, ${value} AS v FROM ${this.table}
       WHERE ${where.join(' AND ')} GROUP BY session, part HAVING ${having.join(' AND ')}
       ORDER BY v DESC, session DESC, p DESC LIMIT ${num(opts.limit + 1)}`,
    );
    const more = keys.length > opts.limit;
    if (more) keys.pop();
    if (keys.length === 0) return { items: [], next: null, ...total };
    const sums = await this.summaries(`(session, part) IN (${keys.map((k) => `(${lit(k.session)}, toDate(${lit(k.p)}))`).join(', ')})`);
    const items = keys.map((k) => sums.get(k.session + '/' + k.p)).filter((s): s is PartSummary => s !== undefined);
    const last = keys[keys.length - 1];
    const cursor = [Number(last.v), last.session, last.p];
    return { items, next: more ? encodeCursor(sort === 'last' ? cursor : [sort, ...cursor]) : null, ...total };
  }

  async getPart(session: string, part: string): Promise<PartSummary | null> {
    if (!PART_RE.test(part)) return null;
    const m = await this.summaries(`session = ${lit(session)} AND part = toDate(${lit(part)})`);
    return m.get(session + '/' + part) ?? null;
  }

  async sessionParts(session: string): Promise<PartSummary[]> {
    const m = await this.summaries(`session = ${lit(session)}`);
    return [...m.values()].sort((a, b) => (a.part < b.part ? 1 : a.part > b.part ? -1 : 0));
  }

  async partRequests(session: string, part: string, opts: { limit: number; cursor?: string | null; filter?: RequestFilter }): Promise<Page<StoredRequest>> {
    if (!PART_RE.test(part)) return { items: [], next: null };
    let after = '';
    const f = opts.filter ?? {};
    if (f.only === 'attacks') after += ' AND notEmpty(attack)';
    if (f.only === 'failed') after += ' AND status >= 400';
    const pat = f.endpoint !== undefined ? parseEndpointPattern(f.endpoint) : null;
    if (pat && pat.method !== null) after += ` AND method = ${lit(pat.method)}`;
    if (pat && pat.path !== '*') after += ` AND match(lower(path), ${lit(pat.text.regexp)})`;
    let seq = 0;
    if (opts.cursor) {
      const c = decodeCursor(opts.cursor);
      const [ts, id, s] = c;
      if (c.length !== 3 || !Number.isSafeInteger(ts) || typeof id !== 'string' || !Number.isSafeInteger(s)) {
        throw new BadCursorError('bad cursor');
      }
      after += ` AND (ts_ms > ${num(ts as number)} OR (ts_ms = ${num(ts as number)} AND request_id > ${lit(id)}))`;
      seq = s as number;
    }
    const rows = await this.rows<RequestRow>(
      `SELECT request_id, ts_ms AS t, app, \`key\`, key_source, method, host, path, status, duration_ms, bytes_sent, ip, ua,
         params, \`user\`, role, attack, request, errors
       FROM ${this.table} FINAL
       WHERE session = ${lit(session)} AND part = toDate(${lit(part)})${after}
       ORDER BY ts_ms, request_id LIMIT ${num(opts.limit + 1)}`,
    );
    const more = rows.length > opts.limit;
    if (more) rows.pop();
    const items: StoredRequest[] = rows.map((r, i) => ({
      seq: seq + i + 1,
      request_id: r.request_id,
      ts: new Date(Number(r.t)).toISOString(),
      app: r.app,
      key: r.key,
      key_source: r.key_source,
      method: r.method,
      host: r.host,
      path: r.path,
      status: Number(r.status),
      duration_ms: Number(r.duration_ms),
      bytes_sent: Number(r.bytes_sent),
      ip: r.ip,
      ua: r.ua,
      params: parseJson<Record<string, string>>(r.params, {}),
      user: r.user,
      role: r.role,
      attack: r.attack.length === 0 ? null : r.attack,
      request: parseJson<SessionRecord['request']>(r.request, null),
      errors: r.errors,
    }));
    const last = rows[rows.length - 1];
    return { items, next: more && last ? encodeCursor([Number(last.t), last.request_id, seq + rows.length]) : null };
  }

  async *eachPartRequest(session: string, part: string): AsyncIterable<StoredRequest> {
    let cursor: string | null = null;
    do {
      const page: Page<StoredRequest> = await this.partRequests(session, part, { limit: 2000, cursor });
      for (const r of page.items) yield r;
      cursor = page.next;
    } while (cursor);
  }

  async timeline(session: string, part: string, buckets: number): Promise<TimelineBucket[]> {
    const p = await this.getPart(session, part);
    if (!p) return [];
    const first = Date.parse(p.first_ts);
    const lastMs = Date.parse(p.last_ts);
    const n = Math.max(1, Math.min(500, Math.floor(buckets)));
    const width = Math.max(1, Math.ceil((lastMs - first + 1) / n));
    const rows = await this.rows<{ b: string | number; n: string | number; a: string | number; f: string | number }>(
      `SELECT intDiv(ts_ms - ${num(first)}, ${num(width)}) AS b, count() AS n, countIf(notEmpty(attack)) AS a,
         countIf(status >= 400) AS f
       FROM ${this.table} FINAL WHERE session = ${lit(session)} AND part = toDate(${lit(part)})
       GROUP BY b ORDER BY b`,
    );
    const out: TimelineBucket[] = [];
    for (let i = 0; i < n; i++) out.push({ t: new Date(first + i * width).toISOString(), requests: 0, attacks: 0, failed: 0 });
    for (const r of rows) {
      const b = out[Math.min(n - 1, Number(r.b))];
      b.requests += Number(r.n);
      b.attacks += Number(r.a);
      b.failed += Number(r.f);
    }
    return out;
  }

  /** The drop-partition job: drops every day before `cutoffPart` (servers without TTL need it;
   *  with TTL it frees the space at once instead of at the next merge). */
  async deleteBefore(cutoffPart: string): Promise<number> {
    if (!PART_RE.test(cutoffPart)) throw new Error('bad part ' + JSON.stringify(cutoffPart));
    const counted = await this.rows<{ n: string | number }>(
      `SELECT count() AS n FROM (SELECT DISTINCT session, part FROM ${this.table} WHERE part < toDate(${lit(cutoffPart)}))`,
    );
    const tables = [this.table];
    if (this.journeys) tables.push(`${this.database}.links`, `${this.database}.samples`);
    for (const t of tables) {
      const [db, table] = t.split('.');
      const parts = await this.rows<{ partition_id: string }>(
        `SELECT DISTINCT partition_id FROM system.parts
         WHERE database = ${lit(db)} AND table = ${lit(table)} AND active
           AND partition_id < ${lit(cutoffPart.replace(/-/g, ''))}`,
      );
      for (const p of parts) {
        if (!/^\d{8}$/.test(p.partition_id)) continue;
        await this.client.command({ query: `ALTER TABLE ${t} DROP PARTITION ID ${lit(p.partition_id)}` });
      }
    }
    return Number(counted[0]?.n ?? 0);
  }

  async stats(): Promise<{ parts: number; requests: number; oldestPart: string | null; newestPart: string | null }> {
    const r = await this.rows<{ parts: string | number; requests: string | number; oldest: string; newest: string }>(
      `SELECT uniqExact(session, part) AS parts, count() AS requests, toString(min(part)) AS oldest, toString(max(part)) AS newest
       FROM ${this.table} FINAL`,
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
    await this.ingestChain;
    await this.client.close();
  }
}

function dayOf(ms: number): string {
  // Within the range of ClickHouse's Date (1970 to 2105 on every version).
  const d = new Date(Math.max(0, Math.min(ms, Date.UTC(2105, 11, 31))));
  return d.toISOString().slice(0, 10);
}

/** A record as a row of the requests table (schema.sql's encodings). */
function toRow(r: SessionRecord): Record<string, unknown> {
  return {
    v: r.v,
    // Normalized so that the materialized ts_ms always finds the milliseconds.
    ts: new Date(Date.parse(r.ts)).toISOString(),
    part: r.part,
    app: r.app,
    session: r.session,
    key: r.key,
    key_source: r.key_source,
    request_id: r.request_id,
    method: r.method,
    host: r.host,
    path: r.path,
    status: r.status,
    duration_ms: r.duration_ms,
    bytes_sent: r.bytes_sent,
    ip: r.ip,
    ua: r.ua,
    params: JSON.stringify(r.params),
    user: r.user,
    role: r.role,
    attack: r.attack ?? [],
    request: r.request === null ? null : JSON.stringify(r.request),
    errors: r.errors,
  };
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
