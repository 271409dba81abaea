/**
 * A session's page in the ClickHouse store: its parts' summaries, one part's requests (filtered,
 * a page at a time) and its timeline.
 */
import { SessionRecord } from '../../../shared/record';
import { decodeCursor, encodeCursor } from '../cursor';
import { isPartDate } from '../part-date';
import { REQUEST_FIELDS } from '../fields';
import { parseEndpointPattern } from '../pattern';
import { timelineGrid } from '../session-page';
import { BadCursorError, Page, PartSummary, RequestFilter, StoredRequest, TimelineBucket } from '../types';
import { summaries } from './summaries';
import { ClickHouseTables, lit, num, parseJson } from './tables';

/** A requests row as read back: the REQUEST_FIELDS in schema.sql's encodings (`ts` as ts_ms). */
type RequestRow = Omit<StoredRequest, 'seq' | 'ts' | 'bytes_sent' | 'params' | 'attack' | 'request'> & {
  ts: string | number;
  bytes_sent: string | number;
  params: string;
  attack: string[];
  request: string | null;
};
const REQUEST_COLUMNS = REQUEST_FIELDS.map((f) => (f === 'ts' ? 'ts_ms AS ts' : '`' + f + '`')).join(', ');

export async function getPart(t: ClickHouseTables, session: string, part: string): Promise<PartSummary | null> {
  if (!isPartDate(part)) return null;
  const m = await summaries(t, `session = ${lit(session)} AND part = toDate(${lit(part)})`);
  return m.get(session + '/' + part) ?? null;
}

export async function sessionParts(t: ClickHouseTables, session: string): Promise<PartSummary[]> {
  const m = await summaries(t, `session = ${lit(session)}`);
  return [...m.values()].sort((a, b) => (a.part < b.part ? 1 : a.part > b.part ? -1 : 0));
}

export async function partRequests(
  t: ClickHouseTables,
  session: string,
  part: string,
  opts: { limit: number; cursor?: string | null; filter?: RequestFilter },
): Promise<Page<StoredRequest>> {
  if (!isPartDate(part)) return { items: [], next: null };
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
  const rows = await t.rows<RequestRow>(
    `SELECT ${REQUEST_COLUMNS}
     FROM ${t.requests} FINAL
     WHERE session = ${lit(session)} AND part = toDate(${lit(part)})${after}
     ORDER BY ts_ms, request_id LIMIT ${num(opts.limit + 1)}`,
  );
  const more = rows.length > opts.limit;
  if (more) rows.pop();
  const items: StoredRequest[] = rows.map((r, i) => ({
    seq: seq + i + 1,
    ...r,
    ts: new Date(Number(r.ts)).toISOString(),
    status: Number(r.status),
    duration_ms: Number(r.duration_ms),
    bytes_sent: Number(r.bytes_sent),
    params: parseJson<Record<string, string>>(r.params, {}),
    attack: r.attack.length === 0 ? null : r.attack,
    request: parseJson<SessionRecord['request']>(r.request, null),
  }));
  const last = rows[rows.length - 1];
  return { items, next: more && last ? encodeCursor([Number(last.ts), last.request_id, seq + rows.length]) : null };
}

export async function timeline(t: ClickHouseTables, session: string, part: string, buckets: number): Promise<TimelineBucket[]> {
  const p = await getPart(t, session, part);
  if (!p) return [];
  const first = Date.parse(p.first_ts);
  const grid = timelineGrid(first, Date.parse(p.last_ts), buckets);
  const rows = await t.rows<{ b: string | number; n: string | number; a: string | number; f: string | number }>(
    `SELECT intDiv(ts_ms - ${num(first)}, ${num(grid.width)}) AS b, count() AS n, countIf(notEmpty(attack)) AS a,
       countIf(status >= 400) AS f
     FROM ${t.requests} FINAL WHERE session = ${lit(session)} AND part = toDate(${lit(part)})
     GROUP BY b ORDER BY b`,
  );
  return grid.fill(rows.map((r) => ({ b: Number(r.b), requests: Number(r.n), attacks: Number(r.a), failed: Number(r.f) })));
}
