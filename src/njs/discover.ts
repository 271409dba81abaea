/**
 * Discovery: for sampled requests, an inventory of the parameters that could group sessions,
 * from which the console recommends grouping keys. Each candidate is a selector with a short
 * keyed hash of its value, the value's length and, where a glance tells, its kind (a Basic user
 * name, a time, a number): never the value itself. Bounded in count and depth; not run at all
 * when $api_sessions_discovery is off.
 */
import { Extraction } from './extract';
import { parseCookieHeader, parseSetCookies } from './sources/cookies';
import { parseForm, decodeComponent } from './sources/urlencoded';
import { isJsonType, parseJson } from './sources/json';
import { jwtClaims } from './sources/jwt';
import { credentials } from './sources/authorization';
import { valueHash } from './identify';

import type { Candidate } from '../shared/record';

export const MAX_CANDIDATES = 64;
export const MAX_JSON_DEPTH = 3;

/** `off`, empty or 0: off; `on`: every request; a number in (0, 1]: that share of requests. */
export function discoveryRate(text: string | undefined): number {
  if (!text || text === 'off') return 0;
  if (text === 'on') return 1;
  const n = Number(text);
  return n > 0 ? (n > 1 ? 1 : n) : 0;
}

/** Deterministic sampling by request id, so every nginx of a fleet samples the same way. */
export function sampled(rate: number, requestId: string): boolean {
  if (!(rate > 0)) return false;
  if (rate >= 1) return true;
  const n = parseInt(requestId.slice(0, 6), 16);
  return n === n && n / 16777216 < rate;
}

/** Headers that describe the transfer or the content, never a client. */
function transferHeader(lower: string): boolean {
  return ['content-type', 'content-length', 'date', 'server', 'connection', 'etag', 'last-modified', 'cache-control',
    'vary', 'transfer-encoding', 'set-cookie', 'keep-alive', 'expires', 'content-encoding', 'accept-ranges', 'host',
    'te', 'upgrade', 'accept', 'accept-encoding', 'pragma', 'if-none-match', 'if-modified-since', 'cookie'].indexOf(lower) >= 0;
}

export interface InventorySources {
  /** The request's header lines as sent. */
  requestLines: Array<[string, string]>;
  /** The response's header names (values are read through the exchange). */
  responseHeaderNames: string[];
}

/**
 * What a value looks like, for the console to tell timestamps and small numbers from keys:
 * `time` for the digits of a Unix time in seconds (9-10) or milliseconds (12-13) or an ISO date,
 * `number` for other digits, undefined otherwise. One character test for most values.
 */
export function valueKind(v: string): 'time' | 'number' | undefined {
  const c = v.charCodeAt(0);
  if (!(c >= 48 && c <= 57) && c !== 45) return undefined;
  if (v.length <= 32 && /^-?\d+(\.\d+)?$/.test(v)) {
    const n = v.length;
    return c !== 45 && v.indexOf('.') < 0 && (n === 9 || n === 10 || n === 12 || n === 13) ? 'time' : 'number';
  }
  return /^\d{4}-\d\d-\d\d[T ]\d\d:\d\d/.test(v) ? 'time' : undefined;
}

export function inventory(st: Extraction, src: InventorySources, secret: string): Candidate[] {
  const out: Candidate[] = [];
  const add = (selector: string, value: string, basic?: boolean) => {
    if (value === '' || out.length >= MAX_CANDIDATES) return;
    const c: Candidate = { s: selector, h: valueHash(secret, value).slice(0, 12), n: value.length };
    const k = basic === true ? 'basic' : valueKind(value);
    if (k !== undefined) c.k = k;
    out.push(c);
    if (value.length > 20 && value.indexOf('eyJ') >= 0) addClaims(selector, value);
  };
  const addClaims = (selector: string, token: string) => {
    let claims: unknown;
    try {
      claims = jwtClaims(token);
    } catch (e) {
      return; // not a JWT after all
    }
    leaves(claims, selector + '.jwt', 1, add);
  };

  // request headers (the Cookie header is listed cookie by cookie)
  for (let i = 0; i < src.requestLines.length; i++) {
    const lower = String(src.requestLines[i][0]).toLowerCase();
    const value = String(src.requestLines[i][1]);
    if (lower === 'cookie') {
      const jar = parseCookieHeader(value);
      const names = Object.keys(jar.values);
      for (let k = 0; k < names.length; k++) add('request.cookie' + '.' + names[k].slice(1), jar.values[names[k]]);
    } else if (!transferHeader(lower)) {
      if (lower === 'authorization' || lower === 'proxy-authorization') {
        // Basic credentials give the user name (credentials() drops the password): a user.
        add('request.header.' + lower, credentials(value), value.trim().slice(0, 6).toLowerCase() === 'basic ');
      } else add('request.header.' + lower, value);
    }
  }
  // query parameters
  formCandidates(parseForm(st.ex.query()), 'request.query.', add);
  // request body
  const body = st.ex.requestBody();
  if (body.text !== null && body.unread === null) {
    const ct = body.contentType === undefined ? '' : body.contentType.toLowerCase();
    if (isJsonType(ct) || body.text.charAt(0) === '{') jsonCandidates(body.text, 'request.body.json', add);
    else if (ct === '' || ct.indexOf('application/x-www-form-urlencoded') >= 0) formCandidates(parseForm(body.text), 'request.body.form.', add);
  }
  // response: cookies it sets, headers that are not about the transfer, its JSON body
  const set = parseSetCookies(st.ex.setCookies());
  const setNames = Object.keys(set.values);
  for (let k = 0; k < setNames.length; k++) add('response.cookie.' + setNames[k].slice(1), set.values[setNames[k]]);
  for (let i = 0; i < src.responseHeaderNames.length; i++) {
    const lower = src.responseHeaderNames[i].toLowerCase();
    if (transferHeader(lower)) continue;
    const v = st.ex.responseHeader(lower);
    if (v !== undefined) add('response.header.' + lower, v);
  }
  const resp = st.ex.responseBody();
  if (resp.text !== null && resp.unread === null) jsonCandidates(resp.text, 'response.body.json', add);
  return out;
}

function formCandidates(form: ReturnType<typeof parseForm>, prefix: string, add: (s: string, v: string) => void): void {
  const names = Object.keys(form.raw);
  for (let i = 0; i < names.length; i++) {
    try {
      add(prefix + names[i].slice(1), decodeComponent(form.raw[names[i]]));
    } catch (e) {
      // a value that does not decode is no candidate
    }
  }
}

function jsonCandidates(text: string, prefix: string, add: (s: string, v: string) => void): void {
  let doc: unknown;
  try {
    doc = parseJson(text);
  } catch (e) {
    return;
  }
  leaves(doc, prefix, 1, add);
}

/** Scalar leaves of `v` up to MAX_JSON_DEPTH, as selector paths; arrays by their first item. */
function leaves(v: unknown, path: string, depth: number, add: (s: string, v: string) => void): void {
  if (v === null || v === undefined) return;
  if (typeof v === 'string') return add(path, v);
  if (typeof v === 'number' || typeof v === 'boolean') return add(path, String(v));
  if (typeof v !== 'object' || depth > MAX_JSON_DEPTH) return;
  if (Array.isArray(v)) {
    if (v.length > 0) leaves(v[0], path + '[0]', depth + 1, add);
    return;
  }
  const keys = Object.keys(v as object);
  for (let i = 0; i < keys.length && i < MAX_CANDIDATES; i++) {
    const k = keys[i];
    const step = k.indexOf('.') >= 0 || k.indexOf(' ') >= 0 || k.indexOf('[') >= 0 || k === 'jwt' || k === '' ? '["' + k + '"]' : '.' + k;
    leaves((v as { [key: string]: unknown })[k], path + step, depth + 1, add);
  }
}
