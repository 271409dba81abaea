/**
 * The session record: one JSON object per request, written by the njs module through
 * access_log and read by the console. This file is the contract between them; docs/record.md
 * documents every field. Adding an optional field keeps RECORD_VERSION; renaming, removing or
 * changing the meaning of a field raises it.
 */
export const RECORD_VERSION = 1;

/** Which stage of the grouping chain decided the session. */
export type KeySource = 'params' | 'builtin' | 'fallback';

/** Full request content, present only for requests marked malicious. */
export interface RequestContent {
  /** Request line with secret values replaced by `[hmac:...]`. */
  line: string;
  /** Request header lines in arrival order, [name, value]; secret values replaced. */
  headers: Array<[string, string]>;
  /** Request body up to the attack body limit, or null when there is none or it is unreadable. */
  body: string | null;
  /** True when the body or the headers were cut at their limit. */
  truncated: boolean;
}

/** A parameter that could group sessions, seen in a sampled request (discovery). */
export interface Candidate {
  /** Selector that reads it, in the $api_sessions_params grammar. */
  s: string;
  /** First 12 hex characters of the value's keyed hash (the same hash as hashed params). */
  h: string;
  /** Length of the value in characters. */
  n: number;
  /** What the value looks like, when the module can tell cheaply: `basic` (the user name of
   *  Authorization Basic credentials), `time` (digits of a Unix time in seconds or ms, or an ISO
   *  date), `number` (other digits). Optional: added without raising the version. */
  k?: 'basic' | 'time' | 'number';
}

export interface SessionRecord {
  v: number;
  /** Request start, ISO 8601 UTC with milliseconds. */
  ts: string;
  app: string;
  /** 32 hex characters: HMAC-SHA256(secret, app + value of the grouping key), first 128 bits. */
  session: string;
  /** The one-day part of the session: UTC date of `ts`, YYYY-MM-DD. */
  part: string;
  /** Name of what grouped the request: a configured parameter's name, a built-in selector,
   *  or a fallback (`ip+ua`, `ip+ua+fingerprint`, `ip`). */
  key: string;
  key_source: KeySource;
  request_id: string;
  method: string;
  host: string;
  /** Path without the query string. */
  path: string;
  status: number;
  duration_ms: number;
  bytes_sent: number;
  ip: string;
  ua: string | null;
  /** Configured parameters present in this request: name -> value, or keyed hash (32 hex)
   *  for `hash` and `group` parameters. */
  params: Record<string, string>;
  user: string | null;
  role: string | null;
  /** Attack types when the request was marked malicious, else null. */
  attack: string[] | null;
  request: RequestContent | null;
  /** What could not be read, one short sentence each, naming the selector or source. */
  errors: string[];
  /** Session ids this request also belongs to (at most 3): other grouping keys present in it,
   *  and the session a response-issued key (a login's token) continues. Optional for readers:
   *  added in version 1 without raising it. */
  links?: string[];
  /** True when $api_sessions_blocked found the request blocked (a blocked session, user or
   *  grouping value): the operator's `if` then usually refused it. Absent otherwise. Optional:
   *  added without raising the version. */
  blocked?: boolean;
  /** Only on requests sampled by $api_sessions_discovery: the candidate grouping parameters. */
  inventory?: Candidate[];
}
