/**
 * Records sampled by discovery, in the ClickHouse store (table `samples`, partitioned by day).
 * Not trimmed as SQLite trims them (a DELETE is a mutation that rewrites whole parts): reads take
 * the newest MAX_SAMPLES by arrival, and retention bounds the table.
 */
import { SessionRecord } from '../../../shared/record';
import { clampSamples } from '../journey-rows';
import { SampleFields } from '../fields';
import { isPartDate } from '../part-date';
import { SampleRow } from '../types';
import { ClickHouseTables, lit, num, parseJson } from './tables';

export class Samples {
  /** The arrival order of samples: microseconds, raised past the last one given. */
  private lastSeq = 0;

  constructor(private readonly t: ClickHouseTables) {}

  /** A newly stored record's sample (journeyRows) as a row of the table. */
  row(r: SessionRecord, x: SampleFields): Record<string, unknown> {
    const seq = Math.max(Date.now() * 1000, this.lastSeq + 1);
    this.lastSeq = seq;
    return {
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
      ...(this.t.samplesUser ? { user: x.user } : {}),
      ...(this.t.samplesKey ? { key: x.key } : {}),
    };
  }

  async write(rows: Record<string, unknown>[]): Promise<void> {
    if (rows.length > 0) {
      await this.t.client.insert({ table: `${this.t.database}.samples`, values: rows, format: 'JSONEachRow' });
    }
  }

  async samples(app: string, max: number): Promise<SampleRow[]> {
    const t = this.t;
    const n = clampSamples(max);
    // The newest days that hold `n` samples (distinct request ids per day: a replayed batch's
    // copies count once), so that FINAL reads those days only, not every day kept.
    const days = await t.rows<{ p: string; n: string | number }>(
      `SELECT toString(part) AS p, uniqExact(request_id) AS n FROM ${t.database}.samples
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
    if (since !== '' && !isPartDate(since)) since = '';
    const rows = await t.rows<{
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
      key_: string | null;
    }>(
      `SELECT t, session, key_source, method, path, ip, ua, links, inventory, user_, key_ FROM (
         SELECT seq, ts_ms AS t, session, key_source, method, path, ip, ua, links, inventory,
           ${t.samplesUser ? 'user' : 'CAST(NULL AS Nullable(String))'} AS user_, ${t.samplesKey ? '`key`' : 'CAST(NULL AS Nullable(String))'} AS key_
         FROM ${t.database}.samples FINAL WHERE app = ${lit(app)}${since ? ` AND part >= toDate(${lit(since)})` : ''}
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
      key: r.key_ ?? null,
    }));
  }
}
