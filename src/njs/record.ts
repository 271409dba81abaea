/**
 * The record: request facts + configured parameters + grouping -> one SessionRecord.
 * Pure: the glue supplies the facts and the exchange; tests call it with plain values.
 */
import { Config, Param } from './config';
import { Exchange, Extraction, startExtraction, readSelector, MAX_ERRORS } from './extract';
import { chooseGrouping, linkedValues, joinedValue, sessionId, valueHash, Client } from './identify';
import { RECORD_VERSION, SessionRecord, RequestContent } from '../record/record';
import { inventory, InventorySources } from './discover';
import { keepsModuleState, isNjsEngine } from './engine';
import { RedactNames, redactor } from './redact';
import { asText, wellFormed, noLoneSurrogates } from './utf8';

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
    request: attack === null ? null : requestContent(readRaw(), secrets, facts.secret, config.limits.maxAttackBody, redactNames(config), errors),
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
 * their limits, with credentials (by name, whatever their length) and every raw grouping or
 * hashed value (by value, in any spelling) replaced by its keyed hash. An attack payload stays
 * readable; a session token does not leave. Invalid UTF-8 becomes U+FFFD (and `errors` says so).
 */
export function requestContent(
  raw: RawRequest,
  secrets: string[],
  secret: string,
  maxBody: number,
  names?: RedactNames | null,
  errors?: string[],
): RequestContent {
  const R = redactor();
  const bad: boolean[] = [];
  const nameList = names === undefined ? null : names;
  const values: string[] = [];
  for (let i = 0; i < secrets.length; i++) {
    const v = asText(secrets[i]);
    if (v !== '' && values.indexOf(v) < 0) values.push(v);
  }
  let truncated = false;
  const headers: Array<[string, string]> = [];
  for (let i = 0; i < raw.headers.length; i++) {
    if (headers.length >= MAX_ATTACK_HEADERS) {
      truncated = true;
      break;
    }
    const name = asText(raw.headers[i][0], bad);
    let value = R.redactHeaderByName(name.toLowerCase(), asText(raw.headers[i][1], bad), nameList, secret);
    // Redact before cutting, and drop what a cut leaves of a secret: its first characters.
    value = R.redactValues(value, values, secret);
    if (value.length > MAX_HEADER_VALUE) {
      value = R.cutClean(value, MAX_HEADER_VALUE, values);
      truncated = true;
    }
    headers.push([name, value]);
  }
  // The glue may hand over a body already cut (at maxBody + 1): cutClean also drops the start
  // of a secret that such a cut went through.
  let body = raw.body === null ? null : R.redactValues(R.redactBodyByName(asText(raw.body, bad), nameList, secret), values, secret);
  if (body !== null && body.length > maxBody) {
    body = R.cutClean(body, maxBody, values);
    truncated = true;
  }
  const line = R.redactValues(R.redactQueryPairs(asText(raw.line, bad), nameList, secret), values, secret);
  if (bad.length > 0 && errors !== undefined && errors.length < MAX_ERRORS && errors.indexOf(INVALID_UTF8) < 0) errors.push(INVALID_UTF8);
  return { line, headers, body, truncated };
}

/** The names of the configured grouping keys and hashed parameters: hidden by name in the content. */
export function redactNames(config: Config): RedactNames {
  const names: RedactNames = { cookies: [], headers: [], fields: [] };
  for (let i = 0; i < config.params.length; i++) {
    const p = config.params[i];
    if (!p.group && !p.hash) continue;
    for (let k = 0; k < p.selectors.length; k++) {
      const sel = p.selectors[k];
      const src = sel.source;
      if (src === 'request.cookie' || src === 'response.cookie') names.cookies.push(sel.name);
      else if (src === 'request.header' || src === 'response.header') names.headers.push(sel.name);
      else if (src === 'request.query' || src === 'request.body.form') names.fields.push(sel.name);
      else {
        for (let s = sel.path.length - 1; s >= 0; s--) {
          const step = sel.path[s];
          if (typeof step === 'string') {
            names.fields.push(step);
            break;
          }
        }
      }
    }
  }
  return names;
}

/** Replaces each secret value wherever it occurs, in any spelling the module decodes (see redact.ts). */
export function redact(text: string, secrets: string[], secret: string): string {
  return redactor().redactValues(text, secrets, secret);
}

/** What a record says when invalid UTF-8 was replaced. */
export const INVALID_UTF8 = 'record: invalid UTF-8 replaced with U+FFFD';

/**
 * The record as one line of valid UTF-8 JSON, whatever bytes nginx handed over. On njs 0.7.9 a
 * string read from nginx keeps the request's bytes as they came; invalid ones would reach the log.
 * Invalid sequences become U+FFFD (by the module on njs 0.7.9, by njs itself on newer versions),
 * and the record then says so in `errors`.
 */
export function recordLine(record: object): string {
  let line = JSON.stringify(record);
  if (!isNjsEngine()) {
    // QuickJS (and Node): strings are UTF-16, and njs has already turned invalid bytes into
    // U+FFFD, except an encoded surrogate (ed a0 80), which QuickJS reads as an unpaired
    // surrogate and JSON.stringify writes as a `\ud800` escape: ASCII, but no valid text once
    // parsed. Rare, so the line is parsed back only when such an escape may be there. (Counted
    // on QuickJS, builtin location: Buffer.byteLength of the line cost 64,000 instructions per
    // request, these two indexOf 40,000, one regular expression for both 110,000.)
    if (line.indexOf('\\ud') >= 0) line = JSON.stringify(JSON.parse(line, unpairedSurrogatesReplaced));
    return line.indexOf('\ufffd') < 0 ? line : withReplacementNoted(record, line);
  }
  // The njs engine: its strings are UTF-8 and hold no unpaired surrogates, but on njs 0.7.9 they
  // keep invalid bytes as they came. An ASCII line, or a byte string of valid UTF-8, has as many
  // bytes as characters: one native count.
  if (Buffer.byteLength(line) === line.length) return line;
  const fixed = wellFormed(line);
  return fixed.indexOf('\ufffd') < 0 ? fixed : withReplacementNoted(record, fixed);
}

/** Told by the result, not by the replacing: njs 0.7.9 hands the module the raw bytes (replaced
 *  above), newer njs replaces them itself before the module sees them. Either way the record
 *  says so, alike on every engine (also when a request sent U+FFFD itself: where njs replaced
 *  first, the two cannot be told apart). */
function withReplacementNoted(record: object, line: string): string {
  const errors = (record as { errors?: unknown }).errors;
  if (!Array.isArray(errors) || errors.indexOf(INVALID_UTF8) >= 0) return line;
  if (errors.length >= MAX_ERRORS) errors.length = MAX_ERRORS - 1;
  errors.push(INVALID_UTF8);
  return recordLine(record);
}

function unpairedSurrogatesReplaced(_key: string, v: unknown): unknown {
  return typeof v === 'string' ? noLoneSurrogates(v) : v;
}
