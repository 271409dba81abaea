/**
 * The SQLite store's requests, one table per day (schema.ts): each day's statements, a request
 * stored under the hash of its id, and a stored request found by its id.
 */
import type Database from 'better-sqlite3';
import { SessionRecord } from '../../../shared/record';
import { requestsSchema, requestsTable } from './schema';

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
export const ROWS_PER_INSERT = 32;

export interface DayStatements {
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

/** The days that have a requests table, and the statements of each. */
export class RequestDays {
  private readonly statements = new Map<string, DayStatements>();
  private readonly st;

  constructor(private readonly db: Database.Database) {
    this.st = {
      days: db.prepare('SELECT part FROM days ORDER BY part').pluck(),
      addDay: db.prepare('INSERT OR IGNORE INTO days (part) VALUES (?)'),
      dropDay: db.prepare('DELETE FROM days WHERE part = ?'),
    };
  }

  /** Days oldest first. */
  all(): string[] {
    return this.st.days.all() as string[];
  }

  /** Days newest first. */
  newestFirst(): string[] {
    return this.all().slice().reverse();
  }

  /** Statements of one day's requests table, creating the table on first use. */
  day(part: string, create: boolean): DayStatements | null {
    let d = this.statements.get(part);
    if (d) return d;
    const t = requestsTable(part);
    if (!create && !this.all().includes(part)) return null;
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
    this.statements.set(part, d);
    return d;
  }

  /** Forgets every day's statements: a batch rolled back takes the tables it created with it. */
  forget(): void {
    this.statements.clear();
  }

  /** Drops a day's table (retention). */
  drop(part: string): void {
    this.statements.delete(part);
    this.db.transaction(() => {
      this.db.exec(`DROP TABLE IF EXISTS ${requestsTable(part)}`);
      this.st.dropDay.run(part);
    })();
  }
}

/** Stores a request row unless its id is already in that day's table; true when stored. */
export function insertRequest(d: DayStatements, r: SessionRecord, partId: number, ts: number, attacked: number, raw: string): boolean {
  if (!d.hashed) return d.insert.run(r.request_id, partId, ts, r.status, attacked, raw).changes > 0;
  for (let h = requestIdHash(r.request_id); ; h = nextRid(h)) {
    if (d.insert.run(h, r.request_id, partId, ts, r.status, attacked, raw).changes > 0) return true;
    if (d.ridOwner.get(h) === r.request_id) return false;
  }
}

/** A stored request's row, by its id. */
function requestRow(d: DayStatements, requestId: string): { id: number; part_id: number } | undefined {
  if (!d.hashed) return d.partOf.get(requestId) as { id: number; part_id: number } | undefined;
  for (let h = requestIdHash(requestId); ; h = nextRid(h)) {
    const row = d.partOf.get(h) as { id: number; request_id: string; part_id: number } | undefined;
    if (!row || row.request_id === requestId) return row;
  }
}
export function partOfRequest(d: DayStatements, requestId: string): number | undefined {
  return requestRow(d, requestId)?.part_id;
}
export function requestRowId(d: DayStatements, requestId: string): number | undefined {
  return requestRow(d, requestId)?.id;
}
