/**
 * Extraction: a selector -> its value in one request/response exchange. Each source is parsed
 * at most once per request, and only when a selector reads it; what cannot be read becomes one
 * entry in `errors` naming the source, never an exception.
 */
import { Selector, PathStep } from '../shared/selector';
import { Limits } from './config';
import { CookieJar, parseCookieHeader, parseSetCookies, cookieValue, findCookie, cookieValueAt, hasEncodedName } from './sources/cookies';
import { Form, parseForm, formValue } from './sources/urlencoded';
import { walk, isJsonType, parseJson } from './sources/json';
import { jwtClaims } from './sources/jwt';
import { credentials } from './sources/authorization';
import type { Client } from './identify';
import type { RawRequest } from './record';
import type { InventorySources } from './discover';

/** A body as the glue found it: its text, or why there is none to read. */
export interface Body {
  text: string | null;
  /** Why the body was not read (too large, in a temp file, compressed, ...), else null. */
  unread: string | null;
  contentType: string | undefined;
}

/** What the glue gives the pipeline: raw request and response facts, read on demand. */
export interface Exchange {
  /** A request header by lowercase name; repeated headers as nginx joins them. */
  requestHeader(name: string): string | undefined;
  /** A response header by lowercase name (not Set-Cookie). */
  responseHeader(name: string): string | undefined;
  /** The response's Set-Cookie lines. */
  setCookies(): string[];
  /** The raw query string, without '?'. */
  query(): string;
  requestBody(): Body;
  responseBody(): Body;
  /** The client, for the IP + User-Agent fallback (read only when the chain gets there). */
  client(): Client;
  /** A malicious request's raw content (read only for one). */
  rawRequest(): RawRequest;
  /** What discovery lists (read only for sampled requests). */
  inventorySources(): InventorySources;
  /** False when the request has none of the built-in set's headers (builtinRequestHeaders), so
   *  that they need not be looked up one by one; absent: unknown. */
  builtinHeadersSent?(): boolean;
  /** False when the response has no Set-Cookie and none of builtinResponseHeaders. */
  builtinResponseSent?(): boolean;
}

/** Per-request extraction state: lives as long as one request, never in a module variable. */
export interface Extraction {
  ex: Exchange;
  limits: Limits;
  errors: string[];
  /** The Authorization header's credentials (scheme stripped, Basic: the user name), null when
   *  absent. */
  authorization?: string | null;
  /** The Cookie header, '' when absent; cookies are looked up in it by name. */
  cookieHeader?: string;
  /** The Cookie header parsed whole, where some name is percent-encoded (see cookies.ts); null
   *  when names can be looked up as they stand. */
  cookieJar?: CookieJar | null;
  setCookies?: CookieJar;
  query?: Form;
  form?: Form | null;
  requestJson?: { value: unknown } | null;
  responseJson?: { value: unknown } | null;
  /** Decoded JWTs of this request, by token. */
  jwts: Array<{ token: string; claims: unknown }>;
  /** Sources already reported in `errors` (each source once). */
  reported: { [what: string]: boolean };
}

export const MAX_ERRORS = 16;

export function startExtraction(ex: Exchange, limits: Limits, errors: string[]): Extraction {
  return { ex, limits, errors, jwts: [], reported: {} };
}

/** Adds an error once per `what`, bounded. */
export function report(st: Extraction, what: string, message: string): void {
  if (st.reported[what] === true) return;
  st.reported[what] = true;
  if (st.errors.length < MAX_ERRORS) st.errors.push(what + ': ' + message);
}

/** The selector's value as text; undefined when absent or empty. */
export function readSelector(sel: Selector, st: Extraction): string | undefined {
  try {
    let v = readSource(sel, st);
    if (v !== undefined && sel.jwt !== null) v = readClaim(sel, v, st);
    // Inside the try: printing a deeply nested object as JSON can throw (stack overflow).
    return asText(v);
  } catch (e) {
    report(st, sel.text, (e as Error).message);
    return undefined;
  }
}

function readSource(sel: Selector, st: Extraction): unknown {
  switch (sel.source) {
    case 'request.header': {
      if (sel.name === 'authorization') return authorization(st);
      const v = st.ex.requestHeader(sel.name);
      if (v !== undefined && sel.name === 'proxy-authorization') return credentials(v);
      return v;
    }
    case 'request.cookie':
      return requestCookie(st, sel.name);
    case 'request.query':
      return readForm(st, queryForm(st), sel.name, 'request.query');
    case 'request.body.json':
      return walkJson(st, requestJson(st), sel.path);
    case 'request.body.form':
      return readForm(st, bodyForm(st), sel.name, 'request.body.form');
    case 'response.header':
      return st.ex.responseHeader(sel.name);
    case 'response.cookie':
      return responseCookie(st, sel.name);
    case 'response.body.json':
      return walkJson(st, responseJson(st), sel.path);
  }
  return undefined;
}

/** The Authorization header's credentials, read and decoded once per request: most
 *  configurations read it with several selectors (one per JWT claim), and the built-in set too. */
export function authorization(st: Extraction): string | undefined {
  if (st.authorization === undefined) {
    const h = st.ex.requestHeader('authorization');
    st.authorization = h === undefined ? null : credentials(h);
  }
  return st.authorization === null ? undefined : st.authorization;
}

export function requestCookie(st: Extraction, name: string): string | undefined {
  const header = cookieHeader(st);
  if (header === '') return undefined;
  const jar = encodedJar(st, header);
  if (jar !== null) {
    if (jar.repeated.indexOf(name) >= 0) report(st, 'request.cookie.' + name, 'sent more than once; the first is used');
    return cookieValue(jar, name);
  }
  const start = findCookie(header, name, 0);
  if (start < 0) return undefined;
  if (findCookie(header, name, start) >= 0) report(st, 'request.cookie.' + name, 'sent more than once; the first is used');
  return cookieValueAt(header, start);
}

/** The request's Cookie header, read once; '' when absent. */
export function cookieHeader(st: Extraction): string {
  if (st.cookieHeader === undefined) {
    const h = st.ex.requestHeader('cookie');
    st.cookieHeader = h === undefined ? '' : h;
  }
  return st.cookieHeader;
}

/** The header parsed whole when some cookie name is percent-encoded, else null. */
export function encodedJar(st: Extraction, header: string): CookieJar | null {
  if (st.cookieJar === undefined) st.cookieJar = hasEncodedName(header) ? parseCookieHeader(header) : null;
  return st.cookieJar;
}

export function responseCookie(st: Extraction, name: string): string | undefined {
  if (st.setCookies === undefined) {
    st.setCookies = parseSetCookies(st.ex.setCookies());
  }
  return cookieValue(st.setCookies, name);
}

function queryForm(st: Extraction): Form {
  if (st.query === undefined) {
    st.query = parseForm(st.ex.query());
    if (st.query.cut) report(st, 'request.query', 'more parameters than the limit; the rest was not read');
  }
  return st.query;
}

function bodyForm(st: Extraction): Form | null {
  if (st.form === undefined) {
    st.form = null;
    const body = st.ex.requestBody();
    if (body.unread !== null) report(st, 'request.body', body.unread);
    else if (body.text !== null) {
      // A body of another type simply has no form fields: APIs that accept JSON and forms are
      // configured with selectors for both, and that is not an error.
      const ct = body.contentType === undefined ? '' : body.contentType.toLowerCase();
      if (ct === '' || ct.indexOf('application/x-www-form-urlencoded') >= 0) {
        st.form = parseForm(body.text);
        if (st.form.cut) report(st, 'request.body.form', 'more parameters than the limit; the rest was not read');
      }
    }
  }
  return st.form;
}

function readForm(st: Extraction, form: Form | null, name: string, what: string): string | undefined {
  if (form === null) return undefined;
  let v: string | undefined;
  try {
    v = formValue(form, name);
  } catch (e) {
    report(st, what + '.' + name, 'invalid percent-encoding');
    return undefined;
  }
  if (v !== undefined && form.repeated.length > 0 && form.repeated.indexOf(name) >= 0) {
    report(st, what + '.' + name, 'sent more than once; the first is used');
  }
  return v;
}

function requestJson(st: Extraction): { value: unknown } | null {
  if (st.requestJson === undefined) st.requestJson = parseBodyJson(st, st.ex.requestBody(), 'request.body');
  return st.requestJson;
}

function responseJson(st: Extraction): { value: unknown } | null {
  if (st.responseJson === undefined) st.responseJson = parseBodyJson(st, st.ex.responseBody(), 'response.body');
  return st.responseJson;
}

function parseBodyJson(st: Extraction, body: Body, what: string): { value: unknown } | null {
  if (body.unread !== null) {
    report(st, what, body.unread);
    return null;
  }
  if (body.text === null || body.text === '') return null;
  if (body.contentType !== undefined && !isJsonType(body.contentType)) {
    // A JSON body sent as text/plain is still read; a form or any other body simply has no JSON
    // properties (not an error: APIs that accept several body types are configured for each).
    const c = body.text.charAt(0);
    if (c !== '{' && c !== '[') return null;
  }
  try {
    return { value: parseJson(body.text) };
  } catch (e) {
    report(st, what + '.json', (e as Error).message);
    return null;
  }
}

function walkJson(st: Extraction, doc: { value: unknown } | null, path: PathStep[]): unknown {
  return doc === null ? undefined : walk(doc.value, path);
}

function readClaim(sel: Selector, v: unknown, st: Extraction): unknown {
  if (typeof v !== 'string') throw new Error('value is not a JWT string');
  let claims: unknown = undefined;
  for (let i = 0; i < st.jwts.length; i++) {
    if (st.jwts[i].token === v) claims = st.jwts[i].claims;
  }
  if (claims === undefined) {
    claims = jwtClaims(v); // throws why not; the caller reports it under the selector
    if (st.jwts.length < 8) st.jwts.push({ token: v, claims });
  }
  return walk(claims, sel.jwt as PathStep[]);
}

/** Values become text: strings as they are, numbers and booleans printed, objects as JSON. */
export function asText(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v === '' ? undefined : v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}
