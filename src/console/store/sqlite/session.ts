/**
 * A session's page in the SQLite store: its parts' summaries, one part's requests (filtered, a
 * page at a time) and its timeline.
 */
import type Database from 'better-sqlite3';
import { SessionRecord } from '../../../shared/record';
import { decodeIntCursor, encodeIntCursor } from '../cursor';
import { parseEndpointPattern } from '../pattern';
import { BucketCounts, timelineGrid } from '../session-page';
import { storedRequest } from '../fields';
import { Page, PartSummary, RequestFilter, StoredRequest, TimelineBucket } from '../types';
import { PartRow, SELECT_PART, partSummary } from './part-row';
import { RequestDays } from './requests';
import { requestsTable } from './schema';

interface RequestRow {
  id: number;
  ts: number;
  record: string;
}

/** The part's app stands for the record's (the same value: a part is one application's). */
function toRequest(row: RequestRow, seq: number, app: string): StoredRequest {
  return { ...storedRequest(JSON.parse(row.record) as SessionRecord, seq), app };
}

export class SessionPages {
  private readonly st;

  constructor(
    private readonly db: Database.Database,
    private readonly days: RequestDays,
  ) {
    this.st = {
      getPart: db.prepare(SELECT_PART),
      sessionParts: db.prepare('SELECT * FROM parts WHERE session = ? ORDER BY part DESC'),
    };
  }

  getPart(session: string, part: string): PartSummary | null {
    const row = this.st.getPart.get(session, part) as PartRow | undefined;
    return row ? partSummary(row) : null;
  }

  sessionParts(session: string): PartSummary[] {
    return (this.st.sessionParts.all(session) as PartRow[]).map(partSummary);
  }

  partRequests(session: string, part: string, opts: { limit: number; cursor?: string | null; filter?: RequestFilter }): Page<StoredRequest> {
    const p = this.st.getPart.get(session, part) as PartRow | undefined;
    if (!p) return { items: [], next: null };
    let [ts, id, seq] = [-Infinity, 0, 0];
    if (opts.cursor) [ts, id, seq] = decodeIntCursor(opts.cursor, 3);
    const d = this.days.day(part, false);
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
    const items = rows.map((r, i) => toRequest(r, seq + i + 1, p.app));
    const last = rows[rows.length - 1];
    return { items, next: more && last ? encodeIntCursor([last.ts, last.id, seq + rows.length]) : null };
  }

  timeline(session: string, part: string, buckets: number): TimelineBucket[] {
    const p = this.st.getPart.get(session, part) as PartRow | undefined;
    if (!p) return [];
    const grid = timelineGrid(p.first_ts, p.last_ts, buckets);
    const d = this.days.day(part, false);
    if (!d) return [];
    return grid.fill(d.timeline.all(p.first_ts, grid.width, p.id) as BucketCounts[]);
  }
}
