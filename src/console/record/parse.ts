/**
 * Reading records written by others: the module's log, a shipper's HTTP body. Every value in a
 * record comes from the network as much as from nginx, so a line is accepted only when each field
 * has the type docs/record.md gives it; anything else is refused with a short reason. Fields this
 * reader does not know (e.g. a later `links`) are ignored.
 */
import { RECORD_VERSION, SessionRecord, RequestContent, KeySource } from '../../record/record';

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

function checkRequest(v: unknown): v is RequestContent | null {
  if (v === null) return true;
  if (!isPlainObject(v)) return false;
  if (!isStr(v.line) || !isStrOrNull(v.body) || typeof v.truncated !== 'boolean') return false;
  if (!Array.isArray(v.headers)) return false;
  for (const h of v.headers) {
    if (!Array.isArray(h) || h.length !== 2 || !isStr(h[0]) || !isStr(h[1])) return false;
  }
  return true;
}

/** Returns the first problem found in `o` as a record, or null when it is a valid record. */
export function recordProblem(o: unknown): string | null {
  if (!isPlainObject(o)) return 'not a JSON object';
  if (o.v !== RECORD_VERSION) return `v is ${JSON.stringify(o.v)}, this console reads version ${RECORD_VERSION}`;
  if (!isStr(o.ts) || Number.isNaN(Date.parse(o.ts))) return 'ts is not a date';
  if (!isStr(o.app) || o.app === '') return 'app is missing';
  if (!isStr(o.session) || !HEX32.test(o.session)) return 'session is not 32 lowercase hex characters';
  if (!isStr(o.part) || !PART.test(o.part)) return 'part is not YYYY-MM-DD';
  if (!isStr(o.key)) return 'key is not a string';
  if (!isStr(o.key_source) || !KEY_SOURCES.has(o.key_source)) return 'key_source is not params, builtin or fallback';
  if (!isStr(o.request_id) || o.request_id === '' || o.request_id.length > 128) return 'request_id is missing';
  if (!isStr(o.method)) return 'method is not a string';
  if (!isStr(o.host)) return 'host is not a string';
  if (!isStr(o.path)) return 'path is not a string';
  if (!isNonNegInt(o.status)) return 'status is not a number';
  if (!isNonNegInt(o.duration_ms)) return 'duration_ms is not a number';
  if (!isNonNegInt(o.bytes_sent)) return 'bytes_sent is not a number';
  if (!isStr(o.ip)) return 'ip is not a string';
  if (!isStrOrNull(o.ua)) return 'ua is not a string or null';
  if (!isPlainObject(o.params)) return 'params is not an object';
  for (const k in o.params) if (!isStr(o.params[k])) return `params.${k} is not a string`;
  if (!isStrOrNull(o.user)) return 'user is not a string or null';
  if (!isStrOrNull(o.role)) return 'role is not a string or null';
  if (o.attack !== null && !isStrArray(o.attack)) return 'attack is not an array of strings or null';
  if (!checkRequest(o.request)) return 'request is not request content or null';
  if (!isStrArray(o.errors)) return 'errors is not an array of strings';
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
