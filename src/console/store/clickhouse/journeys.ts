/**
 * Links between sessions in the ClickHouse store (table `links`, partitioned by day like
 * `requests`), kept as the SQLite store keeps them: a link's first time is the smallest ts_ms
 * and its day the newest part; each row carries both (schema.sql).
 */
import { SessionRecord } from '../../../shared/record';
import { clampLinksPerSession } from '../journey-rows';
import { LinkEdge } from '../types';
import { ClickHouseTables, ID_CHUNK, lit, num } from './tables';

interface LinkRow {
  a: string;
  b: string;
  app: string;
  ts_ms: number;
  part: string;
}

/** The links of a batch's newly stored records, merged per (a, b). */
export class LinkBatch {
  private readonly edges = new Map<string, LinkRow>();

  /** A record's edges (journeyRows). */
  add(r: SessionRecord, ts: number, edges: Array<[string, string]>): void {
    for (const [a, b] of edges) {
      const k = a + '/' + b;
      const e = this.edges.get(k);
      if (!e) this.edges.set(k, { a, b, app: r.app, ts_ms: ts, part: r.part });
      else {
        if (ts < e.ts_ms) e.ts_ms = ts;
        if (r.part > e.part) e.part = r.part;
      }
    }
  }

  /** Writes a row only for a link the batch adds, or whose first time it lowers or whose day it
   *  raises. */
  async write(t: ClickHouseTables): Promise<void> {
    const all = [...this.edges.values()];
    const write: typeof all = [];
    for (let i = 0; i < all.length; i += ID_CHUNK) {
      const chunk = all.slice(i, i + ID_CHUNK);
      const as = [...new Set(chunk.map((e) => e.a))];
      const bs = [...new Set(chunk.map((e) => e.b))];
      const known = await t.rows<{ a: string; b: string; app_: string; ts: string | number; p: string }>(
        `SELECT a, b, argMin(app, ts_ms) AS app_, min(ts_ms) AS ts, toString(max(part)) AS p FROM ${t.database}.links
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
      await t.client.insert({ table: `${t.database}.links`, values: write, format: 'JSONEachRow' });
    }
  }
}

export async function links(t: ClickHouseTables, sessions: string[], perSession: number): Promise<LinkEdge[]> {
  const limit = clampLinksPerSession(perSession);
  const out: LinkEdge[] = [];
  // In chunks of 500 ordered each, as the SQLite store answers; `LIMIT n BY a` (18.16 has it)
  // keeps each session's first `limit` links by time, so no more than that is sent.
  for (let i = 0; i < sessions.length; i += 500) {
    const chunk = sessions.slice(i, i + 500);
    const rows = await t.rows<{ a: string; b: string; app_: string; ts: string | number }>(
      `SELECT a, b, app_, ts FROM (
         SELECT a, b, argMin(app, ts_ms) AS app_, min(ts_ms) AS ts FROM ${t.database}.links
         WHERE a IN (${chunk.map(lit).join(',')}) GROUP BY a, b ORDER BY a, ts, b LIMIT ${num(limit)} BY a
       ) ORDER BY ts, a, b`,
    );
    for (const r of rows) out.push({ a: r.a, b: r.b, app: r.app_, ts: Number(r.ts) });
  }
  return out;
}
