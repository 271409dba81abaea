/**
 * Identification: the grouping chain -> which key grouped the request, and the session id.
 * Order: the configured grouping keys as listed, then the built-in set, then client IP +
 * User-Agent (+ fingerprint), then the IP alone.
 */
import crypto from 'crypto';
import type { Config } from './config';
import { readsResponse } from '../shared/params';
import { builtinCookies, builtinRequestHeaders, builtinResponseHeaders } from '../shared/builtin';
import { Extraction, responseCookie, asText, authorization, cookieHeader, encodedJar, report } from './extract';
import { CookieJar, parseCookieHeader, cookieValue, cookieValueAt } from './sources/cookies';
import type { KeySource } from '../shared/record';
import { keepsModuleState } from './engine';

/**
 * The built-in session cookie of the request's Cookie header, by builtinCookies() order, or null.
 * Every name of the list holds "ess", "ESS" or "sid": a header without them (or a '%', which may
 * hide an encoded name) has none, and costs four native searches. Else one native
 * regular-expression pass finds the first candidate; only when another may follow it (the rest
 * of the header holds one of the marks) is the header read whole and the names tried in order.
 * A cookie sent twice is read from its first occurrence, and `errors` says so.
 */
export function builtinCookie(st: Extraction): { name: string; value: string } | null {
  const header = cookieHeader(st);
  if (header === '' || !mayHoldBuiltin(header, 0) && header.indexOf('%') < 0) return null;
  let jar = encodedJar(st, header);
  if (jar === null) {
    const plain = plainBuiltinCookie(header);
    if (plain !== undefined) return plain;
    jar = parseCookieHeader(header);
  }
  return builtinCookieOf(st, jar);
}

/** The first built-in cookie name of a Cookie header (builtinCookies()' names, any order: keep
 *  the two lists alike). A
 *  regular expression without the g flag keeps no state, so one object serves every request. */
const BUILTIN_COOKIE = /(?:^|;)[ \t]*(PHPSESSID|JSESSIONID|ASP\.NET_SessionId|connect\.sid|laravel_session|ci_session|_session_id|sessionid|session|SESSION|sid)[ \t]*=/;

/**
 * The built-in cookie of a header whose names are all plain (hasEncodedName false), found by one
 * native regular-expression pass; undefined when another candidate may follow the first (the
 * header must then be read whole, builtinCookieOf).
 */
export function plainBuiltinCookie(header: string): { name: string; value: string } | null | undefined {
  const m = BUILTIN_COOKIE.exec(header);
  if (m === null) return null;
  const start = m.index + m[0].length;
  const next = header.indexOf(';', start);
  if (next >= 0 && mayHoldBuiltin(header, next)) return undefined;
  const value = cookieValueAt(header, start);
  return value === '' ? null : { name: m[1], value };
}

/** Whether `header` from `from` on holds a mark of a built-in cookie name. */
export function mayHoldBuiltin(header: string, from: number): boolean {
  return header.indexOf('ess', from) >= 0 || header.indexOf('ESS', from) >= 0 || header.indexOf('sid', from) >= 0;
}

function builtinCookieOf(st: Extraction, jar: CookieJar): { name: string; value: string } | null {
  const names = builtinCookies();
  for (let i = 0; i < names.length; i++) {
    const v = cookieValue(jar, names[i]);
    if (v === undefined || v === '') continue;
    if (jar.repeated.indexOf(names[i]) >= 0) report(st, 'request.cookie.' + names[i], 'sent more than once; the first is used');
    return { name: names[i], value: v };
  }
  return null;
}

/** The most values of session cookies a request may carry while a block list is loaded. */
export const MAX_SESSION_COOKIE_VALUES = 8;

/**
 * Every value the request carries in a cookie named `names` (the built-in set and the configured
 * grouping cookies), as any common framework may read it: each occurrence (some take the last),
 * and also what a reader that splits at ',' as well as ';' finds. The block check probes them
 * all, so that no spelling of the request walks past a block. Null when there are more than
 * MAX_SESSION_COOKIE_VALUES distinct values.
 */
export function sessionCookieValues(header: string, names: string[]): string[] | null {
  const out: string[] = [];
  if (header === '') return out;
  let all = parseCookieHeader(header).pairs;
  if (header.indexOf(',') >= 0) all = all.concat(parseCookieHeader(header.split(',').join(';')).pairs);
  for (let i = 0; i < all.length; i++) {
    const v = all[i][1];
    if (v === '' || names.indexOf(all[i][0]) < 0 || out.indexOf(v) >= 0) continue;
    if (out.length >= MAX_SESSION_COOKIE_VALUES) return null;
    out.push(v);
  }
  return out;
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
): Grouping {
  for (let i = 0; i < config.params.length; i++) {
    const p = config.params[i];
    if (!p.group) continue;
    const v = joinedValue(values[i]);
    if (v !== undefined) return { key: p.name, source: 'params', value: v };
  }
  const b = builtinGrouping(st, true);
  if (b !== null) return b;
  return fallbackGrouping(st.ex.client());
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
      requestSide = b !== null ? b.value : fallbackGrouping(st.ex.client()).value;
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
  const cookie = builtinCookie(st);
  if (cookie !== null) return { key: 'request.cookie.' + cookie.name, source: 'builtin', value: cookie.value };
  // The glue may know that none is there (nginx looks them up natively): then none is read.
  const headers = st.ex.builtinHeadersSent === undefined || st.ex.builtinHeadersSent() ? builtinRequestHeaders() : [];
  for (let i = 0; i < headers.length; i++) {
    const name = headers[i];
    const v = name === 'authorization' ? authorization(st) : st.ex.requestHeader(name);
    if (v !== undefined && v !== '') return { key: 'request.header.' + name, source: 'builtin', value: v };
  }
  if (!response || st.ex.builtinResponseSent !== undefined && !st.ex.builtinResponseSent()) return null;
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
