/**
 * The session list in the ClickHouse store: the parts a filter selects, grouped from the
 * requests (conditions on a part's requests as HAVING), in one of the list's orders, a page at
 * a time with their total; then the summaries of that page's parts.
 */
import { decodeCursor, encodeCursor } from '../cursor';
import { isPartDate } from '../part-date';
import { parseEndpointPattern } from '../pattern';
import { Q_NEWEST_REQUESTS, foldAscii, idRange, ipBlockSql, ipNetwork, isIdPrefix, isStatusClass, textPattern } from '../search';
import { BadCursorError, FALLBACK_KEYS, Page, PartFilter, PartSort, PartSummary } from '../types';
import { summaries } from './summaries';
import { ClickHouseTables, lit, num } from './tables';

function dayOf(ms: number): string {
  // Within the range of ClickHouse's Date (1970 to 2105 on every version).
  const d = new Date(Math.max(0, Math.min(ms, Date.UTC(2105, 11, 31))));
  return d.toISOString().slice(0, 10);
}

export async function listParts(
  t: ClickHouseTables,
  filter: PartFilter,
  opts: { limit: number; cursor?: string | null; count?: number; sort?: PartSort },
): Promise<Page<PartSummary>> {
  const where: string[] = ['1'];
  const having: string[] = ['1'];
  const any = (cond: string) => having.push(`countIf(${cond}) > 0`);
  const ci = (col: string, pattern: string) => `match(lower(${col}), ${lit(textPattern(pattern).regexp)})`;
  // The newest Q_NEWEST_REQUESTS requests, as `q` and request-id prefixes search them.
  const newest = `ts_ms >= (SELECT min(ts_ms) FROM (SELECT ts_ms FROM ${t.requests} ORDER BY ts_ms DESC LIMIT ${num(Q_NEWEST_REQUESTS)}))`;
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
    const block = ipNetwork(filter.ip);
    if (block) any(ipBlockSql('ip', block));
    else any(`ip = ${lit(filter.ip)}`);
  }
  if (filter.attack !== undefined) any(filter.attack === '*' ? 'notEmpty(attack)' : `has(attack, ${lit(filter.attack)})`);
  if (filter.key !== undefined) any(`\`key\` = ${lit(filter.key)}`);
  if (filter.status !== undefined) {
    if (isStatusClass(filter.status)) any(`intDiv(status, 100) = ${filter.status[0]}`);
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
    const q = lit(foldAscii(filter.q));
    any(
      `(isNotNull(\`user\`) AND position(lower(assumeNotNull(\`user\`)), ${q}) > 0) OR position(lower(ip), ${q}) > 0 ` +
        `OR position(lower(path), ${q}) > 0 OR (position(lower(params), ${q}) > 0 AND ${newest})`,
    );
  }
  if (filter.hideFallback) any(`\`key\` NOT IN (${FALLBACK_KEYS.map(lit).join(',')})`);
  let total: { total?: number; total_capped?: boolean } = {};
  if (opts.count !== undefined) {
    const r = await t.rows<{ n: string | number }>(
      `SELECT count() AS n FROM (SELECT session, part FROM ${t.requests} WHERE ${where.join(' AND ')} GROUP BY session, part HAVING ${having.join(' AND ')} LIMIT ${num(opts.count + 1)})`,
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
    if (c.length !== (sort === 'last' ? 3 : 4) || (sort !== 'last' && c[0] !== sort) || !Number.isSafeInteger(lt) || typeof session !== 'string' || typeof part !== 'string' || !isPartDate(part)) {
      throw new BadCursorError('bad cursor');
    }
    having.push(
      `(${value} < ${num(lt as number)} OR (${value} = ${num(lt as number)} AND (session < ${lit(session)} OR (session = ${lit(session)} AND part < toDate(${lit(part)})))))`,
    );
  }
  // The page's keys first (duplicates change no filter, so no FINAL), then their summaries.
  const keys = await t.rows<{ session: string; p: string; v: string | number }>(
    `SELECT session, toString(part) AS p, ${value} AS v FROM ${t.requests}
     WHERE ${where.join(' AND ')} GROUP BY session, part HAVING ${having.join(' AND ')}
     ORDER BY v DESC, session DESC, p DESC LIMIT ${num(opts.limit + 1)}`,
  );
  const more = keys.length > opts.limit;
  if (more) keys.pop();
  if (keys.length === 0) return { items: [], next: null, ...total };
  const sums = await summaries(t, `(session, part) IN (${keys.map((k) => `(${lit(k.session)}, toDate(${lit(k.p)}))`).join(', ')})`);
  const items = keys.map((k) => sums.get(k.session + '/' + k.p)).filter((s): s is PartSummary => s !== undefined);
  const last = keys[keys.length - 1];
  const cursor = [Number(last.v), last.session, last.p];
  return { items, next: more ? encodeCursor(sort === 'last' ? cursor : [sort, ...cursor]) : null, ...total };
}
