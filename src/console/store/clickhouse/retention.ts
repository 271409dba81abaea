/**
 * Retention in the ClickHouse store: the drop-partition job. Servers without TTL (before 19.6)
 * need it; with TTL it frees the space at once instead of at the next merge.
 */
import { isPartDate } from '../part-date';
import { ClickHouseTables, lit } from './tables';

/** Drops every day before `cutoffPart` of the requests (and links and samples, when kept);
 *  returns how many parts there were. */
export async function deleteBefore(t: ClickHouseTables, cutoffPart: string): Promise<number> {
  if (!isPartDate(cutoffPart)) throw new Error('bad part ' + JSON.stringify(cutoffPart));
  const counted = await t.rows<{ n: string | number }>(
    `SELECT count() AS n FROM (SELECT DISTINCT session, part FROM ${t.requests} WHERE part < toDate(${lit(cutoffPart)}))`,
  );
  const tables = [t.requests];
  if (t.journeys) tables.push(`${t.database}.links`, `${t.database}.samples`);
  for (const name of tables) {
    const [db, table] = name.split('.');
    const parts = await t.rows<{ partition_id: string }>(
      `SELECT DISTINCT partition_id FROM system.parts
       WHERE database = ${lit(db)} AND table = ${lit(table)} AND active
         AND partition_id < ${lit(cutoffPart.replace(/-/g, ''))}`,
    );
    for (const p of parts) {
      if (!/^\d{8}$/.test(p.partition_id)) continue;
      await t.client.command({ query: `ALTER TABLE ${name} DROP PARTITION ID ${lit(p.partition_id)}` });
    }
  }
  return Number(counted[0]?.n ?? 0);
}
