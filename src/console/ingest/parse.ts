/**
 * Reading records written by others: the module's log, a shipper's HTTP body. Every value in a
 * record comes from the network as much as from nginx, so a line is accepted only when each field
 * has the type docs/record.md gives it; anything else is refused with a short reason. Fields this
 * reader does not know (e.g. a later `links`) are ignored.
 */
import { isIP } from 'net';
import { RECORD_VERSION, SessionRecord, RequestContent, KeySource } from '../../shared/record';

/** A valid record and its JSON text as stored: the line as written (unknown fields kept, for
 *  later readers), or the record re-serialized when it arrived as a parsed value. */
export interface ParsedRecord {
  record: SessionRecord;
  raw: string;
}

export type ParseResult =
  | ({ ok: true } & ParsedRecord)
  | { ok: false; reason: InvalidReason; detail: string };

/** Why a line was refused: not JSON at all, JSON that is no record, or a record of another version. */
export type InvalidReason = 'json' | 'shape' | 'version';

const HEX32 = /^[0-9a-f]{32}$/;
const PART = /^\d{4}-\d{2}-\d{2}$/;
/** `ts` as the module writes it (Date.prototype.toISOString): UTC, milliseconds. */
const TS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
/** An HTTP method token (RFC 9110), as nginx accepts them. */
const METHOD = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,32}$/;

/**
 * Field limits, the same for the tailer and HTTP ingest (both validate here). Names and values an
 * analyst filters on (app, user, role, key, attack types) are kept within what the query API
 * accepts (1,024 characters), so that every stored value can be found again.
 */
export const FIELD_LIMITS = {
  /** app, host, key, user, role, each attack type, each params name. */
  name: 1024,
  /** path, ua, each params value, each errors entry, request line and each header value. */
  text: 65536,
  /** request.body (the module keeps at most $api_sessions_max_attack_body, 8 KiB by default). */
  body: 1024 * 1024,
  params: 64,
  errors: 16,
  attack: 16,
  headers: 256,
  links: 16,
  /** status: nginx's status codes are three digits (0 when there was no response). */
  status: 999,
  /** duration_ms: 31 days. */
  durationMs: 31 * 86400000,
} as const;
const KEY_SOURCES: ReadonlySet<string> = new Set<KeySource>(['params', 'builtin', 'fallback']);

function isStr(v: unknown): v is string {
  return typeof v === 'string';
}
function isStrOrNull(v: unknown): v is string | null {
  return v === null || typeof v === 'string';
}
function isNonNegInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0;
}
function isStrArray(v: unknown): v is string[] {
  if (!Array.isArray(v)) return false;
  for (const x of v) if (typeof x !== 'string') return false;
  return true;
}
function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isShort(v: unknown, max: number): v is string {
  return typeof v === 'string' && v.length <= max;
}
function isShortOrNull(v: unknown, max: number): v is string | null {
  return v === null || isShort(v, max);
}
function isShortArray(v: unknown, maxItems: number, maxLength: number): v is string[] {
  return isStrArray(v) && v.length <= maxItems && v.every((x) => x.length <= maxLength);
}

function checkRequest(v: unknown): v is RequestContent | null {
  if (v === null) return true;
  if (!isPlainObject(v)) return false;
  if (!isShort(v.line, FIELD_LIMITS.text) || !isShortOrNull(v.body, FIELD_LIMITS.body) || typeof v.truncated !== 'boolean') return false;
  if (!Array.isArray(v.headers) || v.headers.length > FIELD_LIMITS.headers) return false;
  for (const h of v.headers) {
    if (!Array.isArray(h) || h.length !== 2 || !isShort(h[0], FIELD_LIMITS.name) || !isShort(h[1], FIELD_LIMITS.text)) return false;
  }
  return true;
}

/** Whether `ts` is a real instant written as the module writes it (2026-02-30 is not). */
function isRecordTime(ts: unknown): ts is string {
  if (typeof ts !== 'string' || !TS.test(ts)) return false;
  const ms = Date.parse(ts);
  return Number.isFinite(ms) && new Date(ms).toISOString() === ts;
}

/** Returns the first problem found in `o` as a record, or null when it is a valid record. */
export function recordProblem(o: unknown): string | null {
  if (!isPlainObject(o)) return 'not a JSON object';
  const L = FIELD_LIMITS;
  if (o.v !== RECORD_VERSION) return `v is ${JSON.stringify(o.v)}, this console reads version ${RECORD_VERSION}`;
  if (!isRecordTime(o.ts)) return 'ts is not a UTC time as YYYY-MM-DDTHH:MM:SS.mmmZ';
  if (!isShort(o.app, L.name) || o.app === '') return `app is missing or longer than ${L.name} characters`;
  if (!isStr(o.session) || !HEX32.test(o.session)) return 'session is not 32 lowercase hex characters';
  if (!isStr(o.part) || !PART.test(o.part)) return 'part is not YYYY-MM-DD';
  if (o.part !== o.ts.slice(0, 10)) return 'part is not the UTC date of ts';
  if (!isShort(o.key, L.name)) return `key is not a string of at most ${L.name} characters`;
  if (!isStr(o.key_source) || !KEY_SOURCES.has(o.key_source)) return 'key_source is not params, builtin or fallback';
  if (!isStr(o.request_id) || o.request_id === '' || o.request_id.length > 128) return 'request_id is missing';
  if (!isStr(o.method) || !METHOD.test(o.method)) return 'method is not an HTTP method';
  if (!isShort(o.host, L.name)) return `host is not a string of at most ${L.name} characters`;
  if (!isShort(o.path, L.text)) return `path is not a string of at most ${L.text} characters`;
  if (!isNonNegInt(o.status) || o.status > L.status) return `status is not a number from 0 to ${L.status}`;
  if (!isNonNegInt(o.duration_ms) || o.duration_ms > L.durationMs) return `duration_ms is not a number from 0 to ${L.durationMs}`;
  if (!isNonNegInt(o.bytes_sent) || o.bytes_sent > Number.MAX_SAFE_INTEGER) return 'bytes_sent is not a number';
  if (!isStr(o.ip) || (isIP(o.ip) === 0 && o.ip !== 'unix:')) return 'ip is not an IPv4 or IPv6 address';
  if (!isShortOrNull(o.ua, L.text)) return `ua is not a string of at most ${L.text} characters or null`;
  if (!isPlainObject(o.params)) return 'params is not an object';
  let n = 0;
  for (const k in o.params) {
    if (++n > L.params) return `params has more than ${L.params} entries`;
    if (k.length > L.name) return `a params name is longer than ${L.name} characters`;
    if (!isShort(o.params[k], L.text)) return `params.${k.slice(0, 100)} is not a string of at most ${L.text} characters`;
  }
  if (!isShortOrNull(o.user, L.name)) return `user is not a string of at most ${L.name} characters or null`;
  if (!isShortOrNull(o.role, L.name)) return `role is not a string of at most ${L.name} characters or null`;
  if (o.attack !== null && !isShortArray(o.attack, L.attack, L.name)) return `attack is not an array of at most ${L.attack} strings or null`;
  if (!checkRequest(o.request)) return 'request is not request content within its limits, or null';
  if (!isShortArray(o.errors, L.errors, L.text)) return `errors is not an array of at most ${L.errors} strings`;
  if (o.links !== undefined && !isShortArray(o.links, L.links, 32)) return `links is not an array of at most ${L.links} session ids`;
  return null;
}

export function isSessionRecord(o: unknown): o is SessionRecord {
  return recordProblem(o) === null;
}

/** Copies only the fields of the contract, so unknown fields never travel further. */
export function pickRecord(o: SessionRecord): SessionRecord {
  return {
    v: o.v,
    ts: o.ts,
    app: o.app,
    session: o.session,
    part: o.part,
    key: o.key,
    key_source: o.key_source,
    request_id: o.request_id,
    method: o.method,
    host: o.host,
    path: o.path,
    status: o.status,
    duration_ms: o.duration_ms,
    bytes_sent: o.bytes_sent,
    ip: o.ip,
    ua: o.ua,
    params: o.params,
    user: o.user,
    role: o.role,
    attack: o.attack,
    request: o.request,
    errors: o.errors,
    // Optional (added in version 1): kept for journeys and recommendations; the store checks
    // their entries.
    ...(Array.isArray(o.links) ? { links: o.links } : {}),
    ...(Array.isArray(o.inventory) ? { inventory: o.inventory } : {}),
    ...(o.blocked === true ? { blocked: true } : {}),
  };
}

/** Validates an already parsed value (e.g. one element of a shipper's JSON array). */
export function parseRecordValue(o: unknown): ParseResult {
  const problem = recordProblem(o);
  if (problem === null) {
    const record = pickRecord(o as SessionRecord);
    return { ok: true, record, raw: JSON.stringify(record) };
  }
  const reason: InvalidReason = isPlainObject(o) && 'v' in o && o.v !== RECORD_VERSION ? 'version' : 'shape';
  return { ok: false, reason, detail: problem };
}

/** Parses one line of the module's log (or of an NDJSON body). The line is kept as the raw text. */
export function parseRecord(line: string): ParseResult {
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch (e) {
    return { ok: false, reason: 'json', detail: 'not JSON: ' + (e as Error).message };
  }
  const problem = recordProblem(o);
  if (problem === null) return { ok: true, record: o as SessionRecord, raw: line };
  return parseRecordValue(o) as ParseResult;
}
