/**
 * Findings of the detections in the ClickHouse store (schema.sql: `detections`,
 * `detection_sessions`). ClickHouse has no cheap updates, so a finding's newer state is a new
 * row of `detections` with a larger `updated`: ReplacingMergeTree(updated) keeps the newest on
 * merge, and readers take it with FINAL. A row per session a finding names goes to
 * `detection_sessions` (the marks). Both are partitioned by the day the finding started, so that
 * every state of a finding is in one partition (FINAL collapses within a partition only) and
 * retention drops whole days.
 */
import { Counts } from '../types';
import { isPartDate } from '../part-date';
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
import { ClickHouseTables, ID_CHUNK, lit, num } from './tables';

const day = (iso: string) => iso.slice(0, 10);

export class ClickHouseDetections implements FindingStore {
  constructor(private readonly t: ClickHouseTables) {}

  private get findings(): string {
    return `${this.t.database}.detections`;
  }
  private get marksTable(): string {
    return `${this.t.database}.detection_sessions`;
  }

  async save(updates: FindingUpdate[]): Promise<void> {
    if (updates.length === 0) return;
    // Serialized here, before the first await: the detector goes on changing its findings.
    const rows = updates.map(({ finding: f }) => ({
      id: f.id,
      kind: f.kind,
      rules: f.rules,
      app: f.app,
      first_ts: Date.parse(f.first_ts),
      last_ts: Date.parse(f.last_ts),
      updated: f.updated,
      part: day(f.first_ts),
      body: JSON.stringify(f),
    }));
    const marks: Array<Record<string, unknown>> = [];
    for (const { finding: f, sessionsFrom } of updates) {
      for (let i = sessionsFrom; i < f.sessions.length; i++) {
        marks.push({ session: f.sessions[i].session, id: f.id, kind: f.kind, rule: f.rule, part: day(f.first_ts) });
      }
    }
    // Marks first: should the findings' insert fail, the next save writes the finding again.
    if (marks.length > 0) await this.t.client.insert({ table: this.marksTable, values: marks, format: 'JSONEachRow' });
    await this.t.client.insert({ table: this.findings, values: rows, format: 'JSONEachRow' });
  }

  private where(filter: FindingFilter, skip: 'kind' | 'app' | null = null): string[] {
    const w: string[] = [];
    if (filter.kind !== undefined && skip !== 'kind') w.push(`kind = ${lit(filter.kind)}`);
    if (filter.rule !== undefined) w.push(`has(rules, ${lit(filter.rule)})`);
    if (filter.app !== undefined && skip !== 'app') w.push(`app = ${lit(filter.app)}`);
    if (filter.session !== undefined) w.push(`id IN (SELECT id FROM ${this.marksTable} WHERE session = ${lit(filter.session)})`);
    if (filter.from !== undefined) w.push(`last_ts >= ${num(filter.from)}`);
    if (filter.to !== undefined) w.push(`first_ts <= ${num(filter.to)}`);
    return w;
  }

  async list(filter: FindingFilter, opts: { limit: number; cursor?: string | null }): Promise<FindingPage> {
    const w = this.where(filter);
    if (opts.cursor) {
      const c = readFindingCursor(opts.cursor);
      w.push(`(first_ts < ${num(c.ts)} OR (first_ts = ${num(c.ts)} AND id < ${lit(c.id)}))`);
    }
    const rows = await this.t.rows<{ body: string }>(
      `SELECT body FROM ${this.findings} FINAL ${w.length ? 'WHERE ' + w.join(' AND ') : ''}
       ORDER BY first_ts DESC, id DESC LIMIT ${num(opts.limit + 1)}`,
    );
    const items = rows.slice(0, opts.limit).map((r) => JSON.parse(r.body) as Finding);
    return { items, next: rows.length > opts.limit ? findingCursor(items[items.length - 1]) : null };
  }

  async get(id: string): Promise<Finding | null> {
    const rows = await this.t.rows<{ body: string }>(`SELECT body FROM ${this.findings} FINAL WHERE id = ${lit(id)} LIMIT 1`);
    return rows.length > 0 ? (JSON.parse(rows[0].body) as Finding) : null;
  }

  async marks(sessions: string[]): Promise<Record<string, FindingMark[]>> {
    const out: Record<string, FindingMark[]> = {};
    for (let i = 0; i < sessions.length; i += ID_CHUNK) {
      const chunk = sessions.slice(i, i + ID_CHUNK);
      const rows = await this.t.rows<{ session: string } & FindingMark>(
        `SELECT DISTINCT session, id, kind, rule FROM ${this.marksTable}
         WHERE session IN (${chunk.map(lit).join(',')}) ORDER BY session, id`,
      );
      for (const r of rows) (out[r.session] ??= []).push({ id: r.id, kind: r.kind, rule: r.rule });
    }
    return out;
  }

  async counts(filter: FindingFilter): Promise<{ kinds: Counts; apps: Counts; total: number }> {
    const count = async (by: 'kind' | 'app') => {
      const w = this.where(filter, by);
      const rows = await this.t.rows<{ k: string; n: string | number }>(
        `SELECT ${by} AS k, count() AS n FROM ${this.findings} FINAL ${w.length ? 'WHERE ' + w.join(' AND ') : ''}
         GROUP BY k ORDER BY n DESC, k LIMIT 1000`,
      );
      const out: Counts = {};
      for (const r of rows) out[r.k] = Number(r.n);
      return out;
    };
    const w = this.where(filter);
    const total = await this.t.rows<{ n: string | number }>(`SELECT count() AS n FROM ${this.findings} FINAL ${w.length ? 'WHERE ' + w.join(' AND ') : ''}`);
    return { kinds: await count('kind'), apps: await count('app'), total: Number(total[0]?.n ?? 0) };
  }

  async recent(since: number, max: number): Promise<Finding[]> {
    const rows = await this.t.rows<{ body: string }>(
      `SELECT body FROM ${this.findings} FINAL WHERE last_ts >= ${num(since)} ORDER BY last_ts DESC LIMIT ${num(max)}`,
    );
    return rows.map((r) => JSON.parse(r.body) as Finding);
  }

  async deleteBefore(cutoffPart: string): Promise<number> {
    if (!isPartDate(cutoffPart)) throw new Error('bad part ' + JSON.stringify(cutoffPart));
    const counted = await this.t.rows<{ n: string | number }>(`SELECT count() AS n FROM ${this.findings} FINAL WHERE part < toDate(${lit(cutoffPart)})`);
    for (const name of [this.findings, this.marksTable]) {
      const [db, table] = name.split('.');
      const parts = await this.t.rows<{ partition_id: string }>(
        `SELECT DISTINCT partition_id FROM system.parts
         WHERE database = ${lit(db)} AND table = ${lit(table)} AND active AND partition_id < ${lit(cutoffPart.replace(/-/g, ''))}`,
      );
      for (const p of parts) {
        if (!/^\d{8}$/.test(p.partition_id)) continue;
        await this.t.client.command({ query: `ALTER TABLE ${name} DROP PARTITION ID ${lit(p.partition_id)}` });
      }
    }
    return Number(counted[0]?.n ?? 0);
  }
}

/** Whether the database has the findings' tables (an operator-managed schema may not). */
export async function hasDetectionTables(t: ClickHouseTables): Promise<boolean> {
  const found = await t.rows<{ name: string }>(
    `SELECT name FROM system.tables WHERE database = ${lit(t.database)} AND name IN ('detections', 'detection_sessions')`,
  );
  return found.length === 2;
}
