/**
 * What every handler reads from nginx's request the same way: the facts the include composes,
 * the secret, a header's text, and whether to speak in the error log now. Shared by the quick
 * path (index.ts) and the full pipeline (pipeline.ts).
 */
import { RequestFacts } from './record';

/**
 * The request's facts from $api_sessions_facts, one variable the include composes (each read of
 * a variable costs njs some thousands of instructions): "FLAGS$msec $request_time APP", where
 * FLAGS are "+" (some other $api_sessions_* setting is not empty: read them), "h" (a header of
 * the built-in set was sent), "r" (the response has a Set-Cookie or a built-in session header).
 * Null when the include does not define it (an include older than the module).
 */
export function factsLine(f: string | undefined, secret: string): RequestFacts | null {
  if (f === undefined) return null;
  const facts: RequestFacts = {
    startMs: 0,
    durationMs: 0,
    app: '',
    requestId: '',
    attack: '',
    secret,
    discover: false,
    blocked: false,
    replacedText: false,
    more: false,
    headers: false,
    response: false,
  };
  let at = 0;
  let c = f.charCodeAt(0);
  while (c < 48 || c > 57) {
    if (c === 43) facts.more = true;
    else if (c === 104) facts.headers = true;
    else if (c === 114) facts.response = true;
    else break;
    c = f.charCodeAt(++at);
  }
  const space = f.indexOf(' ', at);
  const space2 = f.indexOf(' ', space + 1);
  const msec = Number(f.slice(at, space));
  const elapsed = Number(f.slice(space + 1, space2));
  facts.startMs = Math.round((msec - elapsed) * 1000);
  facts.durationMs = Math.round(elapsed * 1000) || 0;
  facts.app = f.slice(space2 + 1);
  return facts;
}

/** $api_sessions_now (epoch seconds or ISO 8601) in milliseconds, or null when not pinned. */
export function pinnedMs(pinned: string | undefined): number | null {
  if (!pinned) return null;
  const n = Number(pinned);
  const ms = n === n ? n * 1000 : Date.parse(pinned);
  return ms === ms ? Math.round(ms) : null;
}

/** The request's start (or the pinned time) in milliseconds, read directly (request phase). */
export function nowMs(r: NginxHTTPRequest): number {
  const v = r.variables;
  const pinned = pinnedMs(v.api_sessions_now);
  if (pinned !== null) return pinned;
  const elapsed = Number(v.request_time);
  return Math.round((Number(v.msec) - (elapsed === elapsed ? elapsed : 0)) * 1000);
}

/** The key used when no secret is configured: ids and hashes are then guessable. */
export const BUILTIN_SECRET = 'api-sessions-builtin-key-set-api_sessions_secret';

export function secretOf(r: NginxHTTPRequest): string {
  const fromVar = r.variables.api_sessions_secret;
  if (fromVar) return fromVar;
  // `process` exists on the njs engine and on QuickJS from njs 0.8.8
  const fromEnv = typeof process !== 'undefined' && process.env ? process.env.API_SESSIONS_SECRET : undefined;
  if (fromEnv) return fromEnv;
  if (reportsNow(r)) {
    r.warn('api_sessions: neither $api_sessions_secret nor API_SESSIONS_SECRET is set: using a built-in key, ' +
      'so session ids and hashed values are guessable');
  }
  return BUILTIN_SECRET;
}

/** Error-log messages about the configuration go out on the first request of nginx's first
 *  eight connections and then of every 256th: visible at once after a start, never a flood.
 *  (njs keeps no state between requests to remember what it already said.) */
export function reportsNow(r: NginxHTTPRequest): boolean {
  if (r.variables.connection_requests !== '1') return false;
  const n = Number(r.variables.connection);
  return n <= 8 || n % 256 === 0;
}

export function header(h: unknown): string | undefined {
  if (h === undefined || h === null) return undefined;
  if (typeof h === 'string') return h;
  if (Array.isArray(h)) return h.join(', ');
  return String(h);
}
