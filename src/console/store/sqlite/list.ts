/**
 * The session list in the SQLite store: the parts a filter selects, through the facet and endpoint
 * indexes, in one of the list's orders, a page at a time with their total.
 */
import type Database from 'better-sqlite3';
import { decodeCursor, decodeIntCursor, encodeCursor, encodeIntCursor } from '../cursor';
import { parseEndpointPattern } from '../pattern';
import { MAX_DISTINCT_SCANNED, Q_NEWEST_REQUESTS, foldAscii, idRange, ipNetwork, isIdPrefix, isStatusClass, patternRanges, substringLike, textPattern } from '../search';
import { BadCursorError, FALLBACK_KEYS, Page, PartFilter, PartSort, PartSummary } from '../types';
import { PartRow, partSummary } from './part-row';
import { RequestDays, partOfRequest } from './requests';
import { FACET, requestsTable } from './schema';

/** Cursor of the list in another order than the last request: [sort, value, session, part]. */
function decodeSortCursor(c: string, sort: PartSort): [number, string, string] {
  const v = decodeCursor(c);
  if (v.length !== 4 || v[0] !== sort || !Number.isSafeInteger(v[1]) || typeof v[2] !== 'string' || typeof v[3] !== 'string') {
    throw new BadCursorError('bad cursor');
  }
  return [v[1] as number, v[2], v[3]];
}

export class PartList {
  /**
   * How a set-valued filter (parts having some facet value or endpoint) joins the list. When it
   * matches few parts, their ids are collected first (IN); when it matches many, the parts are
   * walked newest first and each is checked (EXISTS), which stops after one page. A bounded
   * count tells the two apart.
   */
  private static readonly MANY = 3000;
  private readonly st;

  constructor(
    private readonly db: Database.Database,
    private readonly days: RequestDays,
  ) {
    db.exec('CREATE TEMP TABLE IF NOT EXISTS matched_endpoints (id INTEGER PRIMARY KEY)');
    // Facet values matched by a pattern / CIDR, and the parts `q` found (see listParts).
    db.exec('CREATE TEMP TABLE IF NOT EXISTS matched_facets (kind TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (kind, value)) WITHOUT ROWID');
    db.exec('CREATE TEMP TABLE IF NOT EXISTS matched_parts (id INTEGER PRIMARY KEY)');
    this.st = {
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
    };
  }

  listParts(filter: PartFilter, opts: { limit: number; cursor?: string | null; count?: number; sort?: PartSort }): Page<PartSummary> {
    const where: string[] = [];
    const args: unknown[] = [];
    const many = (sql: string, a: unknown[]) =>
      (this.db.prepare(`SELECT count(*) FROM (${sql} LIMIT ${PartList.MANY})`).pluck().get(...a) as number) >= PartList.MANY;
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
      for (const [lo, hi] of patternRanges(filter.user) ?? [['', '\u{10ffff}']]) for (const v of this.distinctFacetValues(FACET.user, lo, hi)) if (pat.test(v)) found.push(v);
      if (!facetAny(FACET.user, found)) return none;
    }
    if (filter.role !== undefined) facet(FACET.role, filter.role);
    if (filter.ua !== undefined) facet(FACET.ua, filter.ua);
    if (filter.ip !== undefined) {
      const block = ipNetwork(filter.ip);
      if (block) {
        const ranges = block.textRanges() ?? [['', '\u{10ffff}']];
        const found: string[] = [];
        for (const [lo, hi] of ranges) for (const v of this.distinctFacetValues(FACET.ip, lo, hi)) if (block.contains(v)) found.push(v);
        if (!facetAny(FACET.ip, found)) return none;
      } else facet(FACET.ip, filter.ip);
    }
    if (filter.attack !== undefined) facet(FACET.attack, filter.attack);
    if (filter.key !== undefined) facet(FACET.key, filter.key);
    if (filter.status !== undefined) {
      if (isStatusClass(filter.status)) facet(FACET.cls, filter.status.toLowerCase());
      else facet(FACET.status, filter.status);
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
      where.push(`EXISTS (SELECT 1 FROM facets f WHERE f.part_id = p.id AND f.kind = '${FACET.key}' AND f.value NOT IN (${FALLBACK_KEYS.map(() => '?').join(',')}))`);
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
    return { items: rows.map(partSummary), next: more && last ? key(last) : null, ...total };
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

  private partOfRequest(requestId: string): number[] {
    for (const part of this.days.newestFirst()) {
      const d = this.days.day(part, false);
      const pid = d ? partOfRequest(d, requestId) : undefined;
      if (pid !== undefined) return [pid];
    }
    return [];
  }

  /** Runs `fn` on the newest Q_NEWEST_REQUESTS requests, day table by day table, newest first,
   *  with the table and how many of its newest rows are left to look at. */
  private eachNewestDay(fn: (table: string, budget: number) => number): void {
    let budget = Q_NEWEST_REQUESTS;
    for (const part of this.days.newestFirst()) {
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
    for (const kind of [FACET.user, FACET.ip]) {
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
}
