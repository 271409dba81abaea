/**
 * Findings of the detections in the SQLite store: one row per finding (its newest state as
 * JSON, with the columns the filters read) and one row per session a finding names (the marks
 * of the session list and the session page). Synchronous under async methods, like the rest of
 * the SQLite store.
 */
import type Database from 'better-sqlite3';
import { Counts } from '../types';
import {
  Finding,
  FindingFilter,
  FindingMark,
  FindingPage,
  FindingStore,
  FindingUpdate,
  findingCursor,
  readFindingCursor,
} from '../../detect/finding';
import { isPartDate } from '../part-date';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS detections (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  rules TEXT NOT NULL,
  app TEXT NOT NULL,
  first_ts INTEGER NOT NULL,
  last_ts INTEGER NOT NULL,
  updated INTEGER NOT NULL,
  body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS detections_first ON detections (first_ts DESC, id DESC);
CREATE INDEX IF NOT EXISTS detections_kind ON detections (kind, first_ts DESC, id DESC);
CREATE INDEX IF NOT EXISTS detections_app ON detections (app, first_ts DESC, id DESC);
CREATE INDEX IF NOT EXISTS detections_last ON detections (last_ts);
CREATE TABLE IF NOT EXISTS detection_sessions (
  session TEXT NOT NULL,
  id TEXT NOT NULL,
  kind TEXT NOT NULL,
  rule TEXT NOT NULL,
  PRIMARY KEY (session, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS detection_sessions_id ON detection_sessions (id);
`;

/** `rules` column: ",a,b," so that one rule is found with LIKE. */
const rulesText = (f: Finding) => ',' + f.rules.join(',') + ',';

export class SqliteDetections implements FindingStore {
  private readonly st;

  constructor(private readonly db: Database.Database) {
    db.exec(SCHEMA);
    this.st = {
      upsert: db.prepare(
        `INSERT INTO detections (id, kind, rules, app, first_ts, last_ts, updated, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET rules = excluded.rules, last_ts = excluded.last_ts, updated = excluded.updated, body = excluded.body
         WHERE excluded.updated >= detections.updated`,
      ),
      mark: db.prepare('INSERT OR IGNORE INTO detection_sessions (session, id, kind, rule) VALUES (?, ?, ?, ?)'),
      get: db.prepare('SELECT body FROM detections WHERE id = ?').pluck(),
    };
  }

  async save(updates: FindingUpdate[]): Promise<void> {
    if (updates.length === 0) return;
    this.db.transaction(() => {
      for (const { finding: f, sessionsFrom } of updates) {
        this.st.upsert.run(f.id, f.kind, rulesText(f), f.app, Date.parse(f.first_ts), Date.parse(f.last_ts), f.updated, JSON.stringify(f));
        for (let i = sessionsFrom; i < f.sessions.length; i++) this.st.mark.run(f.sessions[i].session, f.id, f.kind, f.rule);
      }
    })();
  }

  private where(filter: FindingFilter, skip: 'kind' | 'app' | null = null): { sql: string; args: unknown[] } {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.kind !== undefined && skip !== 'kind') {
      where.push('kind = ?');
      args.push(filter.kind);
    }
    if (filter.rule !== undefined) {
      where.push("rules LIKE ? ESCAPE '\\'");
      args.push('%,' + filter.rule.replace(/[\\%_]/g, (c) => '\\' + c) + ',%');
    }
    if (filter.app !== undefined && skip !== 'app') {
      where.push('app = ?');
      args.push(filter.app);
    }
    if (filter.session !== undefined) {
      where.push('id IN (SELECT id FROM detection_sessions WHERE session = ?)');
      args.push(filter.session);
    }
    if (filter.from !== undefined) {
      where.push('last_ts >= ?');
      args.push(filter.from);
    }
    if (filter.to !== undefined) {
      where.push('first_ts <= ?');
      args.push(filter.to);
    }
    return { sql: where.length ? 'WHERE ' + where.join(' AND ') : '', args };
  }

  async list(filter: FindingFilter, opts: { limit: number; cursor?: string | null }): Promise<FindingPage> {
    const { sql, args } = this.where(filter);
    const more: string[] = [];
    if (opts.cursor) {
      const c = readFindingCursor(opts.cursor);
      more.push('(first_ts < ? OR (first_ts = ? AND id < ?))');
      args.push(c.ts, c.ts, c.id);
    }
    const whereSql = sql ? sql + (more.length ? ' AND ' + more.join(' AND ') : '') : more.length ? 'WHERE ' + more.join(' AND ') : '';
    const rows = this.db
      .prepare(`SELECT body FROM detections ${whereSql} ORDER BY first_ts DESC, id DESC LIMIT ?`)
      .pluck()
      .all(...args, opts.limit + 1) as string[];
    const items = rows.slice(0, opts.limit).map((b) => JSON.parse(b) as Finding);
    return { items, next: rows.length > opts.limit ? findingCursor(items[items.length - 1]) : null };
  }

  async get(id: string): Promise<Finding | null> {
    const b = this.st.get.get(id) as string | undefined;
    return b === undefined ? null : (JSON.parse(b) as Finding);
  }

  async marks(sessions: string[]): Promise<Record<string, FindingMark[]>> {
    const out: Record<string, FindingMark[]> = {};
    if (sessions.length === 0) return out;
    const rows = this.db
      .prepare(`SELECT session, id, kind, rule FROM detection_sessions WHERE session IN (${sessions.map(() => '?').join(',')}) ORDER BY session, id`)
      .all(...sessions) as Array<{ session: string } & FindingMark>;
    for (const r of rows) (out[r.session] ??= []).push({ id: r.id, kind: r.kind, rule: r.rule });
    return out;
  }

  async counts(filter: FindingFilter): Promise<{ kinds: Counts; apps: Counts; total: number }> {
    const count = (by: 'kind' | 'app') => {
      const { sql, args } = this.where(filter, by);
      const rows = this.db.prepare(`SELECT ${by} AS k, count(*) AS n FROM detections ${sql} GROUP BY ${by} ORDER BY n DESC, k LIMIT 1000`).all(...args) as Array<{ k: string; n: number }>;
      const out: Counts = {};
      for (const r of rows) out[r.k] = r.n;
      return out;
    };
    const { sql, args } = this.where(filter);
    const total = (this.db.prepare(`SELECT count(*) AS n FROM detections ${sql}`).get(...args) as { n: number }).n;
    return { kinds: count('kind'), apps: count('app'), total };
  }

  async recent(since: number, max: number): Promise<Finding[]> {
    const rows = this.db.prepare('SELECT body FROM detections WHERE last_ts >= ? ORDER BY last_ts DESC LIMIT ?').pluck().all(since, max) as string[];
    return rows.map((b) => JSON.parse(b) as Finding);
  }

  async deleteBefore(cutoffPart: string): Promise<number> {
    if (!isPartDate(cutoffPart)) throw new Error('bad part ' + JSON.stringify(cutoffPart));
    const cutoff = Date.parse(cutoffPart + 'T00:00:00Z');
    let deleted = 0;
    // In small transactions, as retention deletes parts: ingest carries on in between.
    for (;;) {
      const ids = this.db.prepare('SELECT id FROM detections WHERE first_ts < ? LIMIT 500').pluck().all(cutoff) as string[];
      if (ids.length === 0) return deleted;
      this.db.transaction(() => {
        const list = ids.map(() => '?').join(',');
        this.db.prepare(`DELETE FROM detection_sessions WHERE id IN (${list})`).run(...ids);
        this.db.prepare(`DELETE FROM detections WHERE id IN (${list})`).run(...ids);
      })();
      deleted += ids.length;
    }
  }
}
