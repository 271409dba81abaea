/**
 * The record: request facts + configured parameters + grouping -> the module's part of the
 * record line. nginx writes the facts it owns itself (nginx/api_sessions.conf: v, request_id,
 * method, status, bytes_sent, ip, app, host, path, ua); this writes the rest, already as JSON text
 * (`"ts":...,"session":...,...`): building an object and printing it with JSON.stringify costs
 * njs several times what writing the few fields that vary does. Pure: the glue supplies the facts
 * and the exchange; tests call it with plain values and parse `{` + the part + `}`.
 */
import type { Config } from './config';
import type { Param } from '../shared/params';
import { Exchange, startExtraction, readSelector, MAX_ERRORS } from './extract';
import { chooseGrouping, linkedValues, joinedValue, sessionId, valueHash, Grouping } from './identify';
import { RequestContent } from '../shared/record';
import { inventory } from './discover';
import { keepsModuleState, isNjsEngine } from './engine';
import { RedactNames, redactor } from './redact';
import { asText, wellFormed, noLoneSurrogates } from './utf8';

/** What nginx knows about the request that the module's part needs, as plain values. */
export interface RequestFacts {
  /** Request start, milliseconds since the epoch. */
  startMs: number;
  durationMs: number;
  /** The application id ($api_sessions_app, else the server's name, else $host). */
  app: string;
  requestId: string;
  /** $api_sessions_attack: comma-separated attack types, '' when the request is not malicious. */
  attack: string;
  secret: string;
  /** Whether the record lists the request's candidate grouping parameters (discovery). */
  discover: boolean;
  /** Whether $api_sessions_blocked found the request blocked. */
  blocked: boolean;
  /** Whether nginx's text fields (app, host, path, ua) held invalid UTF-8 that the module replaced. */
  replacedText: boolean;
  /** $api_sessions_facts' flags: some other setting is set; a built-in header was sent; the
   *  response may hand out a session. */
  more: boolean;
  headers: boolean;
  response: boolean;
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

/** The module's part of the record line. `errors` collects what could not be read. */
export function buildRecord(facts: RequestFacts, config: Config, ex: Exchange, errors: string[]): string {
  for (let i = 0; i < config.errors.length && errors.length < MAX_ERRORS; i++) errors.push('config: ' + config.errors[i]);
  const st = startExtraction(ex, config.limits, errors);
  const n = config.params.length;
  const values: Array<Array<string | undefined>> = [];
  for (let i = 0; i < n; i++) {
    const sels = config.params[i].selectors;
    const vs: Array<string | undefined> = [];
    for (let k = 0; k < sels.length; k++) vs.push(readSelector(sels[k], st));
    values.push(vs);
  }
  const grouping = chooseGrouping(config, values, st);

  // A grouping key's value is exported as the session id it gives (so `links` and these params
  // share one HMAC each).
  const known: KnownIds = { secret: facts.secret, app: facts.app, values: [], ids: [] };
  const session = idOf(known, grouping.value);
  const names: string[] = [];
  const exported: string[] = [];
  let user: string | null = null;
  let role: string | null = null;
  // Raw values that must not reach the record even inside a malicious request's content.
  const groupValues: string[] = grouping.source === 'fallback' ? [] : splitJoined(grouping.value);
  // Needed only to redact a malicious request's content: collected only then.
  const attack = attackTypes(facts.attack);
  const secrets: string[] = attack === null ? [] : groupValues.slice(0);
  // The texts this part writes that a request or the configuration chose: checked together, in
  // one native call, for anything JSON must escape or that is not valid text.
  let texts = grouping.source === 'params' ? grouping.key : '';
  for (let i = 0; i < n; i++) {
    const p = config.params[i];
    const v = joinedValue(values[i]);
    if (v === undefined) continue;
    // A grouping key's raw value never reaches the record, whichever parameter reads it: a plain
    // parameter that holds it is exported as its keyed hash, one that contains it redacted.
    const out = p.group
      ? idOf(known, v)
      : groupValues.length > 0 && (v === grouping.value || groupValues.indexOf(v) >= 0)
        ? valueHash(facts.secret, v)
        : exportValue(p, containsAny(v, groupValues) ? redact(v, groupValues, facts.secret) : v, facts.secret, config.limits.maxValue, errors);
    names.push(p.name);
    exported.push(out);
    if (!p.group && !p.hash) texts += out;
    texts += p.name;
    if (attack !== null && (p.hash || p.group)) pushAll(secrets, values[i]);
    if (p.user && user === null) user = out;
    if (p.role && role === null) role = out;
  }

  const linked = linkedValues(config, values, st, grouping);
  const links: string[] = [];
  for (let i = 0; i < linked.length; i++) links.push(idOf(known, linked[i]));

  const plain = texts === '' || plainText(texts);
  const bad: boolean[] = [];
  let params = '{';
  for (let i = 0; i < names.length; i++) {
    params += (i === 0 ? '' : ',') + (plain ? '"' + names[i] + '":"' + exported[i] + '"' : jsonText(names[i], bad) + ':' + jsonText(exported[i], bad));
  }
  const request = attack === null ? 'null' : validJson(JSON.stringify(requestContent(ex.rawRequest(), secrets, facts.secret, config.limits.maxAttackBody, redactNames(config), errors)), bad);
  let more = facts.blocked ? ',"blocked":true' : '';
  if (facts.discover) more += ',"inventory":' + validJson(JSON.stringify(inventory(st, ex.inventorySources(), facts.secret)), bad);
  const tail = ',"user":' + (user === null ? 'null' : plain ? '"' + user + '"' : jsonText(user, bad)) +
    ',"role":' + (role === null ? 'null' : plain ? '"' + role + '"' : jsonText(role, bad)) +
    ',"attack":' + (attack === null ? 'null' : validJson(JSON.stringify(attack), bad)) +
    ',"request":' + request;
  if ((bad.length > 0 || facts.replacedText) && errors.indexOf(INVALID_UTF8) < 0) {
    if (errors.length >= MAX_ERRORS) errors.length = MAX_ERRORS - 1;
    errors.push(INVALID_UTF8);
  }
  const key = grouping.source !== 'params' || plain ? '"' + grouping.key + '"' : jsonText(grouping.key, bad);
  return sessionFields(facts.startMs, session, key, grouping.source, facts.durationMs) + ',"params":' + params + '}' + tail +
    ',"errors":' + (errors.length === 0 ? '[]' : validJson(JSON.stringify(errors), [])) +
    ',"links":' + (links.length === 0 ? '[]' : '["' + links.join('","') + '"]') + more;
}

/**
 * The fields every record's part starts with: `"ts":...,"session":...,"part":...,"key":KEY,
 * "key_source":...,"duration_ms":...` (`key` already JSON). Also the failed record's.
 */
export function sessionFields(startMs: number, session: string, key: string, source: string, durationMs: number): string {
  const ts = isoTime(startMs);
  return '"ts":"' + ts + '","session":"' + session + '","part":"' + ts.slice(0, 10) + '","key":' + key +
    ',"key_source":"' + source + '","duration_ms":' + durationMs;
}

/** What follows the session fields when nothing but errors is known (no parameter, user, role,
 *  attack or link): the quick path's record and the failed one. */
const NOTHING_MORE = ',"params":{},"user":null,"role":null,"attack":null,"request":null,"errors":';

/** The part of a request that nothing configured reads (index.ts' quick path): the same text
 *  buildRecord writes for it. */
export function quietRecord(startMs: number, durationMs: number, session: string, key: string, source: string): string {
  return sessionFields(startMs, session, '"' + key + '"', source, durationMs) + NOTHING_MORE + '[],"links":[]';
}

/** The part of a request whose record could not be built: grouped by its address, naming the
 *  failure, so that the request still appears in a session. */
export function failedFields(startMs: number, durationMs: number, secret: string, app: string, ip: string, errors: string[]): string {
  return sessionFields(startMs, sessionId(secret, app, '\u0001' + ip), '"ip"', 'fallback', durationMs) + NOTHING_MORE +
    validJson(JSON.stringify(errors.slice(0, MAX_ERRORS)), []) + ',"links":[]';
}

/**
 * Whether `s` can be written between quotes as it is: nothing JSON escapes (quotes, backslashes,
 * control characters) and, on the njs engine, plain ASCII (its strings may hold invalid UTF-8
 * bytes on njs 0.7.9); on QuickJS no unpaired surrogate (which JSON.stringify escapes) and no
 * U+FFFD (what njs made of invalid bytes: the record must say so). Two native calls.
 */
export function plainText(s: string): boolean {
  if (JSON.stringify(s).length !== s.length + 2) return false;
  return isNjsEngine() ? Buffer.byteLength(s) === s.length : s.indexOf('\ufffd') < 0;
}

/** `s` as a JSON string of valid UTF-8 whatever it holds; `bad` gets true when invalid UTF-8
 *  was replaced (or the text held U+FFFD, which is what newer njs made of invalid bytes). */
export function jsonText(s: string, bad: boolean[]): string {
  const t = isNjsEngine() ? (Buffer.byteLength(s) === s.length ? s : wellFormed(s)) : noLoneSurrogates(s);
  if (t.indexOf('\ufffd') >= 0) bad.push(true);
  return JSON.stringify(t);
}

/** JSON text (of module-made values) made valid UTF-8 whatever bytes the values held. */
export function validJson(json: string, bad: boolean[]): string {
  if (!isNjsEngine()) {
    // QuickJS: njs has already turned invalid bytes into U+FFFD, except an encoded surrogate
    // (ed a0 80), which QuickJS reads as an unpaired surrogate and JSON.stringify writes as a
    // `\ud800` escape: ASCII, but no valid text once parsed.
    if (json.indexOf('\\ud') >= 0) json = JSON.stringify(JSON.parse(json, unpairedSurrogatesReplaced));
  } else if (Buffer.byteLength(json) !== json.length) json = wellFormed(json);
  if (json.indexOf('\ufffd') >= 0) bad.push(true);
  return json;
}

function unpairedSurrogatesReplaced(_key: string, v: unknown): unknown {
  return typeof v === 'string' ? noLoneSurrogates(v) : v;
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

