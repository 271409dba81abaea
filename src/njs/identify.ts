/**
 * Identification: the grouping chain -> which key grouped the request, and the session id.
 * Order: the configured grouping keys as listed, then the built-in set, then client IP +
 * User-Agent (+ fingerprint), then the IP alone.
 */
import crypto from 'crypto';
import { Config, readsResponse } from './config';
import { Extraction, requestCookie, responseCookie, asText, authorization } from './extract';
import type { KeySource } from '../record/record';
import { keepsModuleState } from './engine';

// The built-in set. Functions, not module constants: njs 0.7.9 runs a module's top-level code
// again for every request, so a constant array would be built for every request of every
// location; a function builds it only when the grouping chain reaches the built-in set.

/** Session cookies of common frameworks, in the order they are tried. */
export function builtinCookies(): string[] {
  return [
    'PHPSESSID', // PHP
    'JSESSIONID', // Java servlet containers
    'ASP.NET_SessionId', // ASP.NET
    'connect.sid', // Express (express-session)
    'laravel_session', // Laravel
    'ci_session', // CodeIgniter
    '_session_id', // Ruby on Rails (older default)
    'sessionid', // Django
    'session', // Flask and others
    'SESSION', // Spring Session
    'sid', // generic
  ];
}

/**
 * The built-in session cookie a Cookie header holds, by builtinCookies() order, or null. One
 * native regular-expression pass finds the candidates (usually none or one) instead of eleven
 * lookups: njs pays for every operation of every request.
 */
export function builtinCookieIn(header: string): { name: string; value: string } | null {
  const re = /(?:^|[;,])\s*(PHPSESSID|JSESSIONID|ASP\.NET_SessionId|connect\.sid|laravel_session|ci_session|_session_id|sessionid|session|SESSION|sid)=([^;,]*)/g;
  let best: { name: string; value: string } | null = null;
  let bestRank = 99;
  let m = re.exec(header);
  while (m !== null) {
    const value = m[2].trim();
    if (value !== '') {
      const rank = builtinCookies().indexOf(m[1]);
      if (rank === 0) return { name: m[1], value: unquoted(value) };
      if (rank < bestRank) {
        bestRank = rank;
        best = { name: m[1], value: unquoted(value) };
      }
    }
    m = re.exec(header);
  }
  return best;
}

function unquoted(v: string): string {
  return v.length >= 2 && v.charAt(0) === '"' && v.charAt(v.length - 1) === '"' ? v.slice(1, -1) : v;
}

/** Request headers that carry a session or credentials, in the order they are tried. */
export function builtinRequestHeaders(): string[] {
  return ['authorization', 'x-session-id', 'session-id', 'mcp-session-id', 'x-auth-token', 'x-access-token', 'x-api-key'];
}

/** Response headers by which a server hands out a session (MCP's initialize, token logins). */
export function builtinResponseHeaders(): string[] {
  return ['mcp-session-id', 'x-session-id', 'session-id', 'x-auth-token', 'x-access-token'];
}

export interface Grouping {
  /** Name of what grouped: a param's name, a built-in selector, or a fallback. */
  key: string;
  source: KeySource;
  /** The raw grouping value: hashed into the session id, never written to a record. */
  value: string;
}

export interface Client {
  ip: string;
  ua: string | undefined;
  fingerprint: string | undefined;
}


/**
 * Picks the grouping key. `values[i]` holds the value of config.params[i]'s selectors (one
 * entry per selector, undefined when absent), read once by the caller for export as well.
 */
export function chooseGrouping(
  config: Config,
  values: Array<Array<string | undefined>>,
  st: Extraction,
  client: Client,
): Grouping {
  for (let i = 0; i < config.params.length; i++) {
    const p = config.params[i];
    if (!p.group) continue;
    const v = joinedValue(values[i]);
    if (v !== undefined) return { key: p.name, source: 'params', value: v };
  }
  const b = builtinGrouping(st, true);
  if (b !== null) return b;
  return fallbackGrouping(client);
}

export function fallbackGrouping(client: Client): Grouping {
  if (client.ua !== undefined && client.ua !== '') {
    if (client.fingerprint !== undefined && client.fingerprint !== '') {
      return { key: 'ip+ua+fingerprint', source: 'fallback', value: '\u0001' + client.ip + '\u001f' + client.ua + '\u001f' + client.fingerprint };
    }
    return { key: 'ip+ua', source: 'fallback', value: '\u0001' + client.ip + '\u001f' + client.ua };
  }
  return { key: 'ip', source: 'fallback', value: '\u0001' + client.ip };
}

export const MAX_LINKS = 3;

/**
 * The sessions this request also belongs to: the values of the other grouping keys present in
 * it (a request that carries an old token and a new one), and, when the session was decided by
 * something the response issued (a login's token, a first Set-Cookie), the session the request
 * itself came from (its request-side key, or the anonymous IP + User-Agent). At most MAX_LINKS
 * values, decided key excluded; the caller turns them into session ids.
 */
export function linkedValues(
  config: Config,
  values: Array<Array<string | undefined>>,
  st: Extraction,
  client: Client,
  grouping: Grouping,
): string[] {
  const out: string[] = [];
  let decidedByResponse = grouping.source === 'builtin' && grouping.key.charAt(2) === 's';
  let requestSide: string | undefined;
  for (let i = 0; i < config.params.length; i++) {
    const p = config.params[i];
    if (!p.group) continue;
    const v = joinedValue(values[i]);
    if (v === undefined) continue;
    const fromResponse = readsResponse(p);
    if (p.name === grouping.key) decidedByResponse = fromResponse;
    else addLink(out, v, grouping);
    if (!fromResponse && requestSide === undefined) requestSide = v;
  }
  if (decidedByResponse) {
    if (requestSide === undefined) {
      const b = builtinGrouping(st, false);
      requestSide = b !== null ? b.value : fallbackGrouping(client).value;
    }
    addLink(out, requestSide, grouping);
  }
  return out;
}

function addLink(out: string[], v: string, grouping: Grouping): void {
  if (v !== grouping.value && out.indexOf(v) < 0 && out.length < MAX_LINKS) out.push(v);
}

/** All values present -> one value; any absent -> undefined. */
export function joinedValue(vs: Array<string | undefined>): string | undefined {
  if (vs.length === 1) return vs[0];
  let out = '';
  for (let i = 0; i < vs.length; i++) {
    const v = vs[i];
    if (v === undefined) return undefined;
    out += i === 0 ? v : '\u001f' + v;
  }
  return out;
}

/** The built-in set; with `response` false only its request-side entries. */
export function builtinGrouping(st: Extraction, response: boolean): Grouping | null {
  const header = st.ex.requestHeader('cookie');
  const cookie = header === undefined ? null : builtinCookieIn(header);
  if (cookie !== null) {
    // Read it again as a request.cookie selector does: the same value (up to ';', so the same
    // session id as a configured request.cookie.NAME), and an error when it was sent twice.
    const v = requestCookie(st, cookie.name);
    return { key: 'request.cookie.' + cookie.name, source: 'builtin', value: v !== undefined && v !== '' ? v : cookie.value };
  }
  const headers = builtinRequestHeaders();
  for (let i = 0; i < headers.length; i++) {
    const name = headers[i];
    const v = name === 'authorization' ? authorization(st) : st.ex.requestHeader(name);
    if (v !== undefined && v !== '') return { key: 'request.header.' + name, source: 'builtin', value: v };
  }
  if (!response) return null;
  // The response that starts a session: its Set-Cookie or session header groups the request
  // that caused it with the requests that then send the value back.
  if (st.ex.setCookies().length > 0) {
    const names = builtinCookies();
    for (let i = 0; i < names.length; i++) {
      const v = responseCookie(st, names[i]);
      if (v !== undefined && v !== '') return { key: 'response.cookie.' + names[i], source: 'builtin', value: v };
    }
  }
  const out = builtinResponseHeaders();
  for (let i = 0; i < out.length; i++) {
    const v = asText(st.ex.responseHeader(out[i]));
    if (v !== undefined) return { key: 'response.header.' + out[i], source: 'builtin', value: v };
  }
  return null;
}

// The last HMACs of this module instance, where it outlives a request (QuickJS reuses contexts):
// the same client sends the same key again and again, one HMAC costs QuickJS about 19,000
// instructions, a hit a native indexOf over at most HMAC_CACHE entries (counted in nginx: the
// headers location's four ids, 743,000 -> 667,000 instructions per request). Keyed by secret and
// input, so a changed secret or value is never answered from it; bounded, so it never grows with
// traffic. Not on the njs engine, where an instance lives one request (see engine.ts).
const HMAC_CACHE = 32;
let hmacCache: { keys: string[]; values: string[]; next: number } | null = null;

function hmacHex(secret: string, data: string): string {
  if (!keepsModuleState()) return hmacOnce(secret, data);
  const key = secret + '\u0000' + data;
  if (hmacCache === null) hmacCache = { keys: [], values: [], next: 0 };
  const c = hmacCache;
  const at = c.keys.indexOf(key);
  if (at >= 0) return c.values[at];
  const out = hmacOnce(secret, data);
  c.keys[c.next] = key;
  c.values[c.next] = out;
  c.next = (c.next + 1) % HMAC_CACHE;
  return out;
}

function hmacOnce(secret: string, data: string): string {
  return crypto.createHmac('sha256', secret).update(data).digest('hex').slice(0, 32);
}

/** 128-bit session id: HMAC-SHA256 over the application and the value, not the parameter's
 *  name, so one value seen under different parameters is one session. */
export function sessionId(secret: string, app: string, value: string): string {
  return hmacHex(secret, 's\n' + app + '\n' + value);
}

/** Keyed hash of an exported value (`hash` and `group` params): stable across applications so
 *  that an analyst can match the same hidden value in two places. */
export function valueHash(secret: string, value: string): string {
  return hmacHex(secret, 'v\n' + value);
}
