/**
 * The record's fields as the stores keep them: one list, derived from the contract
 * (src/shared/record.ts), that both stores and the API's types read. A new record field is added
 * here, to REQUEST_FIELDS or to FIELDS_ELSEWHERE (the compiler refuses a field in neither), and
 * to the stores' schemas (test/console/fields.test.ts checks both schemas against this list).
 */
import { Candidate, SessionRecord } from '../../shared/record';

/** The record's fields a stored request keeps and the API returns, in the API's order. SQLite
 *  keeps the whole record as JSON; ClickHouse has a column of the requests table for each. */
export const REQUEST_FIELDS = [
  'request_id',
  'ts',
  'app',
  'key',
  'key_source',
  'method',
  'host',
  'path',
  'status',
  'duration_ms',
  'bytes_sent',
  'ip',
  'ua',
  'params',
  'user',
  'role',
  'attack',
  'request',
  'errors',
] as const satisfies ReadonlyArray<keyof SessionRecord>;
export type RequestField = (typeof REQUEST_FIELDS)[number];

/** The record's other fields: where they are kept instead, or why not. */
export const FIELDS_ELSEWHERE: { [F in Exclude<keyof SessionRecord, RequestField>]-?: string } = {
  v: "the requests table's `v` (ClickHouse), the record's JSON (SQLite); not returned",
  session: 'the part a request belongs to (the address of the page that lists it)',
  part: 'the part a request belongs to (the address of the page that lists it)',
  links: 'the links table, both directions (journeys)',
  inventory: 'the samples table (recommendations)',
  blocked: "the record's JSON in SQLite; not a column, not returned",
};

/** The record's `fields` as a store reads them back: `key_source` as text (a store may hold
 *  records of a later contract than this console's). */
type Kept<F extends keyof SessionRecord> = Omit<Pick<SessionRecord, F>, 'key_source'> & ('key_source' extends F ? { key_source: string } : unknown);

/** One request as the API returns it: the record's REQUEST_FIELDS, numbered in its part. */
export type StoredRequest = { seq: number } & Kept<RequestField>;

/** The record's fields a discovery sample keeps as they are. */
export const SAMPLE_FIELDS = ['session', 'key_source', 'method', 'path', 'ip', 'ua'] as const satisfies ReadonlyArray<keyof SessionRecord>;

/** A record sampled by $api_sessions_discovery, as the recommendations read it. */
export type SampleRow = Kept<(typeof SAMPLE_FIELDS)[number]> & {
  /** The record's `ts`, ms. */
  ts: number;
  links: string[];
  inventory: Candidate[];
  /** The record's `user` (null when it names none). */
  user: string | null;
  /** The record's `key`: what grouped it (null for samples stored before it was kept). */
  key: string | null;
};

/** A sampled record as both stores write it (each adds its own columns). */
export type SampleFields = Omit<SampleRow, 'key'> & {
  app: string;
  part: string;
  /** The record's `user`, up to 1000 characters (null when none). */
  user: string | null;
  /** The record's `key` (what grouped it), up to 1000 characters: with `key_source` `params`,
   *  a grouping key of the configuration in force. */
  key: string;
};

/** The named fields of a record, in the list's order. */
export function pick<F extends keyof SessionRecord>(r: SessionRecord, fields: readonly F[]): Pick<SessionRecord, F> {
  const out = {} as Pick<SessionRecord, F>;
  for (const f of fields) out[f] = r[f];
  return out;
}

/** A stored record as the API returns it: `seq`, then its REQUEST_FIELDS. */
export function storedRequest(r: SessionRecord, seq: number): StoredRequest {
  return { seq, ...pick(r, REQUEST_FIELDS) };
}
