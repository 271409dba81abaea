/**
 * The ClickHouse store's schema: deploy/clickhouse/schema.sql (also run by the compose setup),
 * run at start unless an operator manages the tables; and which of the optional tables (links,
 * samples and its `user` column) the store finds.
 */
import { readFileSync } from 'fs';
import { ClickHouseTables, lit } from './tables';
import { SCHEMA_FILE } from '../../assets';

/** deploy/clickhouse/schema.sql, or its copy beside the built console (assets.ts). */
export const DEFAULT_SCHEMA_FILE = SCHEMA_FILE;

/** The statements of schema.sql for a server: placeholders filled, the `@ttl` section kept only
 *  when the server has TTL. */
export function schemaStatements(text: string, opts: { database: string; retentionDays: number; ttl: boolean }): string[] {
  let body = text;
  const at = body.search(/^-- @ttl\b/m);
  if (at >= 0 && !opts.ttl) body = body.slice(0, at);
  body = body.replace(/\{database\}/g, opts.database).replace(/\{retention_days\}/g, String(opts.retentionDays));
  return body
    .split(/;\s*$/m)
    .map((s) =>
      s
        .split('\n')
        .filter((l) => !/^\s*--/.test(l))
        .join('\n')
        .trim(),
    )
    .filter((s) => s !== '');
}

/** TTL on MergeTree tables arrived in ClickHouse 19.6. */
export function serverHasTtl(version: string): boolean {
  const [maj, min] = version.split('.').map(Number);
  return maj > 19 || (maj === 19 && min >= 6);
}

/** Runs the schema file's statements (a TTL the table already has is not set again). */
export async function createTables(t: ClickHouseTables, file: string, opts: { retentionDays: number; ttl: boolean }): Promise<void> {
  const text = readFileSync(file, 'utf8');
  for (const stmt of schemaStatements(text, { database: t.database, retentionDays: opts.retentionDays, ttl: opts.ttl })) {
    const m = /^ALTER TABLE \S+\.(\w+) MODIFY TTL/s.exec(stmt);
    if (m && (await hasTtl(t, m[1], opts.retentionDays))) continue;
    await t.client.command({ query: stmt });
  }
}

/** Whether a table already has its TTL (a MODIFY TTL rewrites nothing then). */
async function hasTtl(t: ClickHouseTables, table: string, retentionDays: number): Promise<boolean> {
  const r = await t.rows<{ q: string }>(
    `SELECT create_table_query AS q FROM system.tables WHERE database = ${lit(t.database)} AND name = ${lit(table)}`,
  );
  return r.length > 0 && new RegExp(`TTL part \\+ (toIntervalDay\\(${retentionDays}\\)|INTERVAL ${retentionDays} DAY)`).test(r[0].q);
}

/** Whether links and samples are kept (`journeys` when given; otherwise when the schema was
 *  created, or both tables exist), and which of the columns samples gained later (`user`,
 *  `key`) it has. */
export async function findJourneyTables(
  t: ClickHouseTables,
  opts: { journeys?: boolean; createSchema: boolean },
): Promise<{ journeys: boolean; samplesUser: boolean; samplesKey: boolean }> {
  let journeys = opts.journeys;
  if (journeys === undefined) {
    if (opts.createSchema) journeys = true;
    else {
      const found = await t.rows<{ name: string }>(
        `SELECT name FROM system.tables WHERE database = ${lit(t.database)} AND name IN ('links', 'samples')`,
      );
      journeys = found.length === 2;
    }
  }
  if (!journeys) return { journeys, samplesUser: false, samplesKey: false };
  // `samples.user` and `samples.key` arrived after the table: added here (18.16 has no ADD
  // COLUMN IF NOT EXISTS); an operator-managed schema without them is read with NULLs.
  const cols = new Set(
    (
      await t.rows<{ name: string }>(
        `SELECT name FROM system.columns WHERE database = ${lit(t.database)} AND table = 'samples' AND name IN ('user', 'key')`,
      )
    ).map((c) => c.name),
  );
  if (opts.createSchema) {
    for (const c of ['user', 'key']) {
      if (!cols.has(c)) {
        await t.client.command({ query: `ALTER TABLE ${t.database}.samples ADD COLUMN \`${c}\` Nullable(String)` });
        cols.add(c);
      }
    }
  }
  return { journeys, samplesUser: cols.has('user'), samplesKey: cols.has('key') };
}
