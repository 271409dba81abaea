/**
 * Reading what a request asks: its query string and path parameters. Every value came from the
 * network, so each is bounded and checked, and one that breaks a rule is a 400 naming it.
 */
import { PartFilter, RequestFilter } from '../store/types';
import { MIN_ID_PREFIX, parseIpBlock } from '../store/search';
import { HttpError } from './errors';

const HEX32 = /^[0-9a-f]{32}$/;
const SESSION_OR_PREFIX = new RegExp(`^[0-9a-f]{${MIN_ID_PREFIX},32}$`);
const PART = /^\d{4}-\d{2}-\d{2}$/;

export function str(q: Record<string, unknown>, name: string, max = 1024): string | undefined {
  const v = q[name];
  if (v === undefined || v === '') return undefined;
  if (typeof v !== 'string') throw new HttpError(400, `${name}: give it once`);
  if (v.length > max) throw new HttpError(400, `${name}: longer than ${max} characters`);
  return v;
}

export function time(q: Record<string, unknown>, name: string): number | undefined {
  const v = str(q, name, 64);
  if (v === undefined) return undefined;
  // Only ISO 8601 or digits: Date.parse alone reads almost anything (`' OR '1'='1` as a day in 2001).
  const isoShape = /^\d{4}-\d\d-\d\d(T\d\d:\d\d(:\d\d(\.\d{1,9})?)?(Z|[+-]\d\d:?\d\d)?)?$/.test(v);
  if (!isoShape && !/^\d{1,15}$/.test(v)) throw new HttpError(400, `${name}: not a time (ISO 8601 or ms since the epoch)`);
  // A time without a zone (as an HTML datetime-local input gives it) is UTC.
  const iso = /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?$/.test(v) ? v + 'Z' : v;
  const n = isoShape ? Date.parse(iso) : Number(v);
  if (!Number.isFinite(n)) throw new HttpError(400, `${name}: not a time (ISO 8601 or ms since the epoch)`);
  return n;
}

/** Endpoint patterns are bounded so that no pattern makes a slow query (a GLOB with hundreds of
 *  `*` walks every stored path hundreds of times). */
export const MAX_ENDPOINT_LENGTH = 512;
export const MAX_ENDPOINT_WILDCARDS = 8;

function checkEndpointPattern(p: string): void {
  const wildcards = p.replace(/\*+/g, '*').replace(/[^*?]/g, '').length;
  if (wildcards > MAX_ENDPOINT_WILDCARDS) {
    throw new HttpError(400, `endpoint: at most ${MAX_ENDPOINT_WILDCARDS} wildcards (* and ?)`);
  }
}

/** The list filters from a query string (the same names the UI puts in its URLs). */
export function filterFromQuery(q: Record<string, unknown>): PartFilter {
  const f: PartFilter = {};
  f.from = time(q, 'from');
  f.to = time(q, 'to');
  f.app = str(q, 'app');
  if (f.from !== undefined && f.to !== undefined && f.from > f.to) throw new HttpError(400, 'from: after to (swap them?)');
  f.session = str(q, 'session', 64);
  if (f.session !== undefined) {
    f.session = f.session.toLowerCase();
    if (!SESSION_OR_PREFIX.test(f.session)) throw new HttpError(400, `session: ${MIN_ID_PREFIX} to 32 hex characters (an id or its start)`);
  }
  f.requestId = str(q, 'request_id', 128);
  if (f.requestId !== undefined && /^[0-9a-f]+$/i.test(f.requestId) && f.requestId.length < MIN_ID_PREFIX) {
    throw new HttpError(400, `request_id: at least ${MIN_ID_PREFIX} hex characters`);
  }
  f.q = str(q, 'q', 200);
  f.user = str(q, 'user');
  f.role = str(q, 'role');
  f.ua = str(q, 'ua', 8192); // a User-Agent is as long as nginx lets a header be
  f.ip = str(q, 'ip', 64);
  if (f.ip !== undefined && f.ip.includes('/') && !parseIpBlock(f.ip)) throw new HttpError(400, 'ip: an address or a CIDR block (127.0.0.0/8, 2001:db8::/32)');
  f.attack = str(q, 'attack', 100);
  f.status = str(q, 'status', 3);
  if (f.status !== undefined && !/^([1-5]\d\d|[1-5]xx)$/i.test(f.status)) throw new HttpError(400, 'status: a code (404) or a class (4xx)');
  f.key = str(q, 'key');
  f.endpoint = str(q, 'endpoint', MAX_ENDPOINT_LENGTH);
  if (f.endpoint !== undefined) checkEndpointPattern(f.endpoint);
  const fallback = str(q, 'fallback', 10);
  if (fallback !== undefined && fallback !== 'hide') throw new HttpError(400, 'fallback: only "hide"');
  if (fallback === 'hide') f.hideFallback = true;
  for (const k of Object.keys(f) as Array<keyof PartFilter>) if (f[k] === undefined) delete f[k];
  return f;
}

/** `only` and `endpoint` of a session part's requests. */
export function requestFilter(q: Record<string, unknown>): RequestFilter {
  const f: RequestFilter = {};
  const only = str(q, 'only', 10);
  if (only !== undefined) {
    if (only !== 'attacks' && only !== 'failed') throw new HttpError(400, 'only: attacks or failed');
    f.only = only;
  }
  const endpoint = str(q, 'endpoint', MAX_ENDPOINT_LENGTH);
  if (endpoint !== undefined) {
    checkEndpointPattern(endpoint);
    f.endpoint = endpoint;
  }
  return f;
}

export function limit(q: Record<string, unknown>, def: number, max: number): number {
  const v = str(q, 'limit', 6);
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new HttpError(400, `limit: 1 to ${max}`);
  return n;
}

export function sessionParams(p: unknown): { session: string; part: string } {
  const { session, part } = p as { session: string; part: string };
  if (!HEX32.test(session)) throw new HttpError(400, 'session: 32 hex characters');
  if (part !== undefined && !PART.test(part)) throw new HttpError(400, 'part: YYYY-MM-DD');
  return { session, part };
}
