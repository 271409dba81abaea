/**
 * Ingest into the ClickHouse store: a batch's new requests (those whose ids are not stored yet),
 * their links and samples, then the checkpoint (after them, not in one transaction: index.ts).
 */
import { SessionRecord } from '../../../shared/record';
import { REQUEST_FIELDS, pick } from '../fields';
import { journeyRows } from '../journey-rows';
import { batchCounts } from '../part-date';
import { Checkpoint, IngestResult } from '../types';
import { LinkBatch } from './journeys';
import { Samples } from './samples';
import { ClickHouseTables, ID_CHUNK, lit } from './tables';

/** A record as a row of the requests table: its REQUEST_FIELDS and what addresses it, in
 *  schema.sql's encodings. */
function toRow(r: SessionRecord): Record<string, unknown> {
  return {
    ...pick(r, REQUEST_FIELDS),
    v: r.v,
    session: r.session,
    part: r.part,
    // Normalized so that the materialized ts_ms always finds the milliseconds.
    ts: new Date(Date.parse(r.ts)).toISOString(),
    params: JSON.stringify(r.params),
    attack: r.attack ?? [],
    request: r.request === null ? null : JSON.stringify(r.request),
  };
}

export class RequestWriter {
  private cutoff = '0000-00-00';
  private chain: Promise<unknown> = Promise.resolve();
  private lastCheckpointAt = 0;

  constructor(
    private readonly t: ClickHouseTables,
    private readonly samples: Samples,
  ) {}

  setCutoff(cutoffPart: string): void {
    this.cutoff = cutoffPart;
  }

  /** `newlyStored` receives the records newly stored, once they are. */
  ingest(records: SessionRecord[], checkpoint?: Checkpoint, newlyStored?: SessionRecord[]): Promise<IngestResult> {
    // One batch at a time: the duplicate check of a batch must see the rows of the one before.
    const run = this.chain.then(() => this.ingestNow(records, checkpoint, newlyStored));
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** Settles when the batches given so far have been written or have failed. */
  idle(): Promise<unknown> {
    return this.chain;
  }

  private async ingestNow(records: SessionRecord[], checkpoint?: Checkpoint, newlyStored?: SessionRecord[]): Promise<IngestResult> {
    const t = this.t;
    const { res, takes } = batchCounts(this.cutoff);
    const batch = new Map<string, SessionRecord>();
    for (const r of records) {
      if (!takes(r.part)) continue;
      if (batch.has(r.request_id)) res.duplicates++;
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
      const found = await t.rows<{ request_id: string }>(
        `SELECT DISTINCT request_id FROM ${t.requests}
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
    if (t.journeys && newRecords.length > 0) await this.addJourneys(newRecords);
    if (rows.length > 0) {
      await t.client.insert({
        table: t.requests,
        values: rows,
        format: 'JSONEachRow',
        clickhouse_settings: { input_format_skip_unknown_fields: 1 },
      });
    }
    res.inserted = rows.length;
    if (newlyStored) for (const r of newRecords) newlyStored.push(r);
    if (checkpoint) {
      const at = Math.max(Date.now() * 1000, this.lastCheckpointAt + 1);
      this.lastCheckpointAt = at;
      await t.client.insert({
        table: `${t.database}.checkpoints`,
        values: [{ name: checkpoint.name, value: checkpoint.value, at }],
        format: 'JSONEachRow',
      });
    }
    return res;
  }

  /** Links (both directions) and samples of newly stored records. */
  private async addJourneys(records: SessionRecord[]): Promise<void> {
    const links = new LinkBatch();
    const samples: Record<string, unknown>[] = [];
    for (const r of records) {
      const ts = Date.parse(r.ts);
      const rows = journeyRows(r, ts);
      if (rows === null) continue;
      links.add(r, ts, rows.edges);
      if (rows.sample !== null) samples.push(this.samples.row(r, rows.sample));
    }
    await links.write(this.t);
    await this.samples.write(samples);
  }
}

export async function getCheckpoint(t: ClickHouseTables, name: string): Promise<string | null> {
  const r = await t.rows<{ value: string; n: string | number }>(
    `SELECT argMax(value, at) AS value, count() AS n FROM ${t.database}.checkpoints WHERE name = ${lit(name)}`,
  );
  return r.length > 0 && Number(r[0].n) > 0 ? r[0].value : null;
}
