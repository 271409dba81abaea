/**
 * The ClickHouse store's tables on the server, and how it speaks to them: rows read as
 * JSONEachRow, values inlined as escaped literals (18.16 has no query parameters).
 */
import { ClickHouseClient } from '@clickhouse/client';

/** Ids per `IN (...)` list of a lookup: keeps each query small. */
export const ID_CHUNK = 2000;

/** A ClickHouse string literal. */
export function lit(s: string): string {
  return "'" + s.replace(/\\/g, '\\\\').replace(/'/g, "\\'") + "'";
}

/** A non-negative integer literal (ms times, limits); anything else is a bug upstream. */
export function num(n: number): string {
  if (!Number.isSafeInteger(n)) throw new Error('not an integer: ' + n);
  return String(n);
}

export function parseJson<T>(s: string | null, fallback: T): T {
  if (s === null || s === '') return fallback;
  try {
    return JSON.parse(s) as T;
  } catch (e) {
    return fallback;
  }
}

export class ClickHouseTables {
  /** Whether links and samples are kept (set by the store's init, schema.ts). */
  journeys = false;
  /** Whether the samples table has the `user` and `key` columns (set likewise). */
  samplesUser = false;
  samplesKey = false;

  constructor(
    readonly client: ClickHouseClient,
    readonly database: string,
    /** The requests table read and written, with its database: `requests`, or a Distributed
     *  table over the shards. */
    readonly requests: string,
  ) {}

  async rows<T>(query: string): Promise<T[]> {
    const rs = await this.client.query({ query, format: 'JSONEachRow' });
    return rs.json<T>();
  }
}
