/**
 * The record: request facts + configured parameters + grouping -> one SessionRecord.
 * Pure: the glue supplies the facts and the exchange; tests call it with plain values.
 */
import { Config, Param } from './config';
import { Exchange, Extraction, startExtraction, readSelector, MAX_ERRORS } from './extract';
import { chooseGrouping, linkedValues, joinedValue, sessionId, valueHash, Client } from './identify';
import { RECORD_VERSION, SessionRecord, RequestContent } from '../record/record';
import { inventory, InventorySources } from './discover';
import { keepsModuleState } from './engine';

/** What nginx knows about the request, as plain values. */
export interface RequestFacts {
  /** Request start, milliseconds since the epoch. */
  startMs: number;
  app: string;
  host: string;
  method: string;
  /** $request_uri: path and query as the client sent them. */
  requestUri: string;
  status: number;
  durationMs: number;
  bytesSent: number;
  requestId: string;
  client: Client;
  /** $api_sessions_attack: comma-separated attack types, '' when the request is not malicious. */
  attack: string;
  secret: string;
}

/** The malicious request's raw content, read by the glue only when `attack` is set. */
export interface RawRequest {
  line: string;
  headers: Array<[string, string]>;
  body: string | null;
}

export const MAX_ATTACK_TYPES = 16;
export const MAX_ATTACK_HEADERS = 64;
export const MAX_HEADER_VALUE = 1024;

export function buildRecord(
  facts: RequestFacts,
  config: Config,
  ex: Exchange,
  readRaw: () => RawRequest,
  errors: string[],
  discover?: (() => InventorySources) | null,
): SessionRecord {
  for (let i = 0; i < config.errors.length && errors.length < MAX_ERRORS; i++) errors.push('config: ' + config.errors[i]);
  const st = startExtraction(ex, config.limits, errors);
  const values: Array<Array<string | undefined>> = [];
  for (let i = 0; i < config.params.length; i++) {
    const sels = config.params[i].selectors;
    const vs: Array<string | undefined> = [];
    for (let k = 0; k < sels.length; k++) vs.push(readSelector(sels[k], st));
    values.push(vs);
  }
  const grouping = chooseGrouping(config, values, st, facts.client);

  // A grouping key's value is exported as the session id it gives (so `links` and these params
  // share one HMAC each: about 17,000 instructions on njs 0.7.9).
  const known: KnownIds = { secret: facts.secret, app: facts.app, values: [], ids: [] };
  const params: { [name: string]: string } = {};
  let user: string | null = null;
  let role: string | null = null;
  // Raw values that must not reach the record even inside a malicious request's content.
  const groupValues: string[] = grouping.source === 'fallback' ? [] : splitJoined(grouping.value);
  // Needed only to redact a malicious request's content: collected only then.
  const attack = attackTypes(facts.attack);
  const secrets: string[] = attack === null ? [] : groupValues.slice(0);
  for (let i = 0; i < config.params.length; i++) {
    const p = config.params[i];
    const v = joinedValue(values[i]);
    if (v === undefined) continue;
    // A grouping key's raw value never reaches the record, whichever parameter reads it: a plain
    // parameter that holds it is exported as its keyed hash, one that contains it redacted.
    const exported = p.group
      ? idOf(known, v)
      : groupValues.length > 0 && (v === grouping.value || groupValues.indexOf(v) >= 0)
        ? valueHash(facts.secret, v)
        : exportValue(p, containsAny(v, groupValues) ? redact(v, groupValues, facts.secret) : v, facts.secret, config.limits.maxValue, errors);
    if (p.name === '__proto__') {
      // Plain assignment would set the prototype and drop the parameter.
      Object.defineProperty(params, p.name, { value: exported, enumerable: true, writable: true, configurable: true });
    } else params[p.name] = exported;
    if (attack !== null && (p.hash || p.group)) pushAll(secrets, values[i]);
    if (p.user && user === null) user = exported;
    if (p.role && role === null) role = exported;
  }

  const linked = linkedValues(config, values, st, facts.client, grouping);
  const links: string[] = [];
  for (let i = 0; i < linked.length; i++) links.push(idOf(known, linked[i]));

  const ts = isoTime(facts.startMs);
  const q = facts.requestUri.indexOf('?');
  const record: SessionRecord = {
    v: RECORD_VERSION,
    ts,
    app: facts.app,
    session: idOf(known, grouping.value),
    part: ts.slice(0, 10),
    key: grouping.key,
    key_source: grouping.source,
    request_id: facts.requestId,
    method: facts.method,
    host: facts.host,
    path: q < 0 ? facts.requestUri : facts.requestUri.slice(0, q),
    status: facts.status,
    duration_ms: facts.durationMs,
    bytes_sent: facts.bytesSent,
    ip: facts.client.ip,
    ua: facts.client.ua === undefined || facts.client.ua === '' ? null : facts.client.ua,
    params,
    user,
    role,
    attack,
    request: attack === null ? null : requestContent(readRaw(), secrets, facts.secret, config.limits.maxAttackBody),
    errors,
    links,
  };
  if (discover) record.inventory = inventory(st, discover(), facts.secret);
  return record;
}

// The ISO form of the last second seen, where module state outlives a request (engine.ts):
// toISOString costs QuickJS about 5,800 instructions, and requests of one second share
// everything but the milliseconds. On the njs engine it would only add work.
let isoSecond = -1;
let isoPrefix = '';

/** ISO 8601 UTC with milliseconds, as Date.prototype.toISOString writes it. */
export function isoTime(ms: number): string {
  if (!keepsModuleState()) return new Date(ms).toISOString();
  if (ms >= 0 && ms % 1 !== 0) ms = Math.floor(ms); // a Date keeps whole milliseconds
  const second = Math.floor(ms / 1000);
  if (second !== isoSecond || !(ms >= 0)) {
    const iso = new Date(ms).toISOString(); // throws on an invalid time, as before
    if (!(ms >= 0) || iso.length !== 24) return iso; // before 1970 or after 9999: no reuse
    isoSecond = second;
    isoPrefix = iso.slice(0, 20);
    return iso;
  }
  const milli = ms - second * 1000;
  return isoPrefix + (milli < 10 ? '00' : milli < 100 ? '0' : '') + milli + 'Z';
}

/** The session ids this record has computed, by value (a plain function and a state object,
 *  not a closure: making a closure costs QuickJS about 3,500 instructions per request). */
interface KnownIds {
  secret: string;
  app: string;
  values: string[];
  ids: string[];
}

function idOf(known: KnownIds, v: string): string {
  const at = known.values.indexOf(v);
  if (at >= 0) return known.ids[at];
  const id = sessionId(known.secret, known.app, v);
  known.values.push(v);
  known.ids.push(id);
  return id;
}

function exportValue(p: Param, v: string, secret: string, maxValue: number, errors: string[]): string {
  if (p.hash) return valueHash(secret, v);
  if (v.length > maxValue) {
    if (errors.length < MAX_ERRORS) errors.push('params.' + p.name + ': value cut at ' + maxValue + ' characters');
    return v.slice(0, maxValue);
  }
  return v;
}

/** Whether `v` holds any of the (long enough) secrets: a cheap test before redact(). */
function containsAny(v: string, secrets: string[]): boolean {
  for (let i = 0; i < secrets.length; i++) {
    if (secrets[i].length >= 4 && v.indexOf(secrets[i]) >= 0) return true;
  }
  return false;
}

function splitJoined(v: string): string[] {
  return v.split('\u001f');
}

function pushAll(out: string[], vs: Array<string | undefined>): void {
  for (let i = 0; i < vs.length; i++) {
    const v = vs[i];
    if (v !== undefined) out.push(v);
  }
}

export function attackTypes(text: string): string[] | null {
  if (text === '') return null;
  const out: string[] = [];
  const parts = text.split(',');
  for (let i = 0; i < parts.length && out.length < MAX_ATTACK_TYPES; i++) {
    const t = parts[i].trim();
    if (t !== '' && out.indexOf(t) < 0) out.push(t);
  }
  return out.length === 0 ? null : out;
}


/**
 * The malicious request's content for the record: request line, header lines and body up to
 * their limits, with credentials and every raw grouping or hashed value replaced by its keyed
 * hash. An attack payload stays readable; a session token does not leave.
 */
export function requestContent(raw: RawRequest, secrets: string[], secret: string, maxBody: number): RequestContent {
  let truncated = false;
  // Headers whose values are credentials or session ids wherever they appear.
  const secretHeaders = ['authorization', 'proxy-authorization', 'cookie', 'x-session-id', 'session-id', 'mcp-session-id',
    'x-auth-token', 'x-access-token', 'x-api-key'];
  const headers: Array<[string, string]> = [];
  for (let i = 0; i < raw.headers.length; i++) {
    if (headers.length >= MAX_ATTACK_HEADERS) {
      truncated = true;
      break;
    }
    const name = raw.headers[i][0];
    let value = raw.headers[i][1];
    const lower = name.toLowerCase();
    if (secretHeaders.indexOf(lower) >= 0) value = redactHeader(lower, value, secret);
    // Redact before cutting, and drop what a cut leaves of a secret: its first characters.
    value = redact(value, secrets, secret);
    if (value.length > MAX_HEADER_VALUE) {
      value = cutClean(value, MAX_HEADER_VALUE, secrets);
      truncated = true;
    }
    headers.push([name, value]);
  }
  // The glue may hand over a body already cut (at maxBody + 1): cutClean also drops the start
  // of a secret that such a cut went through.
  let body = raw.body === null ? null : redact(raw.body, secrets, secret);
  if (body !== null && body.length > maxBody) {
    body = cutClean(body, maxBody, secrets);
    truncated = true;
  }
  return {
    line: redact(raw.line, secrets, secret),
    headers,
    body,
    truncated,
  };
}

/** `text` cut at `max`, without a trailing start of any secret (or of its percent-encoded form). */
function cutClean(text: string, max: number, secrets: string[]): string {
  text = text.slice(0, max);
  for (let i = 0; i < secrets.length; i++) {
    const s = secrets[i];
    if (s.length < 4) continue;
    text = dropPartial(text, s);
    const enc = encodeURIComponent(s);
    if (enc !== s) text = dropPartial(text, enc);
  }
  return text;
}

function dropPartial(text: string, s: string): string {
  const first = s.charAt(0);
  let at = text.indexOf(first, text.length - s.length + 1 > 0 ? text.length - s.length + 1 : 0);
  while (at >= 0) {
    const tail = text.slice(at);
    if (s.slice(0, tail.length) === tail) return text.slice(0, at);
    at = text.indexOf(first, at + 1);
  }
  return text;
}

function hidden(secret: string, v: string): string {
  return '[hmac:' + valueHash(secret, v) + ']';
}

function redactHeader(lower: string, value: string, secret: string): string {
  if (lower === 'cookie') {
    // Keep the names and any attack payload readable: hide the values shaped like identifiers
    // (long runs of token characters), which is what session cookies and tokens are.
    const pairs = value.split(';');
    for (let i = 0; i < pairs.length; i++) {
      const eq = pairs[i].indexOf('=');
      if (eq < 0) continue;
      const v = pairs[i].slice(eq + 1).trim();
      if (v.length >= 8 && /^[A-Za-z0-9._~+\/=%:-]+$/.test(v)) pairs[i] = pairs[i].slice(0, eq + 1) + hidden(secret, v);
    }
    return pairs.join(';');
  }
  const space = value.indexOf(' ');
  if ((lower === 'authorization' || lower === 'proxy-authorization') && space > 0) {
    return value.slice(0, space + 1) + hidden(secret, value.slice(space + 1).trim());
  }
  return hidden(secret, value);
}

/** Replaces each secret value (and its percent-encoded form) by its keyed hash. */
export function redact(text: string, secrets: string[], secret: string): string {
  for (let i = 0; i < secrets.length; i++) {
    const s = secrets[i];
    if (s.length < 4) continue; // too short to be a credential, and would shred the text
    if (text.indexOf(s) >= 0) text = text.split(s).join(hidden(secret, s));
    const enc = encodeURIComponent(s);
    if (enc !== s && text.indexOf(enc) >= 0) text = text.split(enc).join(hidden(secret, s));
  }
  return text;
}

