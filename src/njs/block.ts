/**
 * Blocks in the request phase: what this request would be blocked by, as probes of the block
 * list ("s:" + session id, "u:" + the user's hash, "k:" + a grouping value's keyed hash), and
 * whether the list holds one of them with an expiry still ahead of the request's time: a block
 * ends in nginx at its expiry, whether or not a newer list arrives. Request-side sources only:
 * the response does not exist yet, and a token a login response issued groups the next request
 * by the request's own header or cookie, which this reads. A request body is not read in the
 * request phase (nginx has not read it yet). The list comes by one of two routes: the console's
 * generated map include, or the pull into a shared dictionary (block-pull.ts), whose list is
 * parsed and applied here.
 */
import crypto from 'crypto';
import { Config, SharedDict } from './config';
import { readsResponse } from '../shared/params';
import { builtinCookies } from '../shared/builtin';
import { Extraction, readSelector } from './extract';
import { builtinGrouping, fallbackGrouping, joinedValue, sessionCookieValues, sessionId, valueHash, Client, Grouping, MAX_SESSION_COOKIE_VALUES } from './identify';
import { cookieHeader } from './extract';

/** Probes a request makes at most: a session, a user, up to four key hashes, and a session and
 *  a key hash for each other value of a session cookie (MAX_SESSION_COOKIE_VALUES). */
export const MAX_PROBES = 22; // 6 + 2 * MAX_SESSION_COOKIE_VALUES (a literal: the bundle's top level holds primitives only)

/** A user as the block list names it (userHash in the console): the first 32 hex characters of
 *  the SHA-256 of the user percent-encoded. Throws URIError for a lone surrogate. */
export function userHash(user: string): string {
  return crypto.createHash('sha256').update(encodeURIComponent(user)).digest('hex').slice(0, 32);
}

/**
 * The probes of a request, in the list's terms; null when the request carries more than
 * MAX_SESSION_COOKIE_VALUES values of session cookies, which cannot all be checked (the request
 * is then refused: a block must not be walked past by sending many).
 */
export function blockProbes(config: Config, st: Extraction, client: Client, secret: string, app: string): string[] | null {
  let grouping: Grouping | null = null;
  let userValue: string | undefined;
  let userParam = -1;
  for (let i = 0; i < config.params.length; i++) {
    const p = config.params[i];
    if (!(p.group || p.user) || readsResponse(p)) continue;
    if (p.group && grouping !== null && !p.user) continue;
    if (p.user && userParam >= 0 && !p.group) continue;
    const sels = p.selectors;
    const vs: Array<string | undefined> = [];
    for (let k = 0; k < sels.length; k++) vs.push(readSelector(sels[k], st));
    const v = joinedValue(vs);
    if (v === undefined) continue;
    if (p.group && grouping === null) grouping = { key: p.name, source: 'params', value: v };
    if (p.user && userParam < 0) {
      userParam = i;
      userValue = v;
    }
  }
  if (grouping === null) grouping = builtinGrouping(st, false);
  if (grouping === null) grouping = fallbackGrouping(client);
  const probes = ['s:' + sessionId(secret, app, grouping.value)];
  if (userParam >= 0 && userValue !== undefined) {
    // The user as the record exports it (record.ts): a grouping parameter's session id, a
    // grouping value's or a hashed parameter's keyed hash, else the value cut at maxValue.
    const p = config.params[userParam];
    const parts = grouping.source === 'fallback' ? [] : grouping.value.split('\u001f');
    let user: string;
    if (p.group) user = sessionId(secret, app, userValue);
    else if (p.hash || userValue === grouping.value || parts.indexOf(userValue) >= 0) user = valueHash(secret, userValue);
    else user = userValue.length > config.limits.maxValue ? userValue.slice(0, config.limits.maxValue) : userValue;
    try {
      probes.push('u:' + userHash(user));
    } catch (e) {
      // a lone surrogate: no blocked user can be written so either
    }
  }
  if (grouping.source !== 'fallback') {
    probes.push('k:' + valueHash(secret, grouping.value));
    const parts = grouping.value.split('\u001f');
    for (let i = 0; i < parts.length && parts.length > 1; i++) probes.push('k:' + valueHash(secret, parts[i]));
  }
  // Every value of a session cookie the request carries, as any framework may read it (the
  // last of a repeated cookie, a value after a ','): the session the application sees may be
  // another than the one the record names.
  const names = builtinCookies();
  for (let i = 0; i < config.params.length; i++) {
    const sels = config.params[i].group ? config.params[i].selectors : [];
    for (let k = 0; k < sels.length; k++) if (sels[k].source === 'request.cookie') names.push(sels[k].name);
  }
  const values = sessionCookieValues(cookieHeader(st), names);
  if (values === null) return null;
  for (let i = 0; i < values.length; i++) {
    if (values[i] === grouping.value) continue;
    probes.push('s:' + sessionId(secret, app, values[i]), 'k:' + valueHash(secret, values[i]));
  }
  return probes;
}

export type { SharedDict };

/** Looks a probe up in the list: the expiry (ms, as text) of its block, or undefined or '' when
 *  not listed. */
export type BlockLookup = (probe: string) => string | undefined;

/**
 * Whether a list can block anything at `now`, from $api_sessions_block_list's value: "shared"
 * (the pulled dictionary: its `current` entry, "generation count latest-expiry stamp"), or the
 * map include's "version latest-expiry". Null when no list is loaded, it is empty, or every
 * entry has expired: then no probe is computed at all. Else the lookup of a probe.
 */
export function blockLookup(list: string, now: number, dict: SharedDict | undefined, variables: { [name: string]: string | undefined }): BlockLookup | null {
  if (list === 'shared') {
    if (dict === undefined) return null;
    const current = dict.get('current');
    if (current === undefined) return null;
    const fields = current.split(' ');
    if (fields[1] === '0' || !(Number(fields[2]) > now)) return null;
    const generation = fields[0] + '|';
    const d = dict;
    return function (probe) {
      return d.get(generation + probe);
    };
  }
  const space = list.indexOf(' ');
  if (space < 0 || !(Number(list.slice(space + 1)) > now)) return null;
  return function (probe) {
    variables.api_sessions_block_probe = probe;
    return variables.api_sessions_block_hit;
  };
}

/** Whether one of the probes is listed with an expiry after `now`. */
export function listedNow(lookup: BlockLookup, probes: string[], now: number): boolean {
  for (let i = 0; i < probes.length && i < MAX_PROBES; i++) {
    const until = lookup(probes[i]);
    if (until && Number(until) > now) return true;
  }
  return false;
}

/** Bytes of a block list the module accepts from the console (MAX_LIST_BYTES there; the
 *  console's largest list is about half of it). */
export const MAX_LIST_BYTES = 1048576;
/** Entries a list holds at most (MAX_BLOCKS in the console). */
export const MAX_LIST_ENTRIES = 10000;
/** Version of the list's format this module reads (BLOCK_LIST_VERSION in the console). */
const LIST_FORMAT = 2;

/** A list as the shared dictionary keeps it: "s:" + id, "u:" + user hash, "k:" + keyed hash,
 *  each with its expiry in ms (as text). */
export interface ParsedBlockList {
  /** What changes whenever the list does: the console's version and the soonest expiry (a
   *  block that expires changes the list without a new version). */
  stamp: string;
  entries: string[];
  expiries: string[];
  /** The latest expiry: past it nothing in the list blocks. */
  latest: number;
}

function entryList(v: unknown, name: string, prefix: string, out: ParsedBlockList): string | null {
  if (!Array.isArray(v)) return name + ': not a list';
  for (let i = 0; i < v.length; i++) {
    const e = v[i];
    const ok = Array.isArray(e) && e.length === 2 && typeof e[0] === 'string' && /^[0-9a-f]{32}$/.test(e[0]) && typeof e[1] === 'number' && e[1] % 1 === 0 && e[1] >= 0 && e[1] <= 8.64e15;
    if (!ok) return name + '[' + i + ']: not [32 hex characters, expiry in ms]';
    out.entries.push(prefix + e[0]);
    out.expiries.push(String(e[1]));
    if (e[1] > out.latest) out.latest = e[1];
  }
  return null;
}

/** GET /api/blocks/list's JSON, checked whole: any bad part refuses the whole list (a string
 *  says why). */
export function parseBlockList(text: string): ParsedBlockList | string {
  if (text.length > MAX_LIST_BYTES) return 'larger than ' + MAX_LIST_BYTES + ' bytes, more than any list the console serves';
  let o: { [k: string]: unknown };
  try {
    o = JSON.parse(text);
  } catch (e) {
    return 'not JSON';
  }
  if (o === null || typeof o !== 'object' || Array.isArray(o)) return 'not a JSON object';
  if (o.v !== LIST_FORMAT) return 'format version ' + String(o.v) + ', this module reads ' + LIST_FORMAT + ' (update the console and the module together)';
  const version = o.version;
  if (typeof version !== 'number' || version < 0 || version % 1 !== 0) return 'version: not a whole number';
  if (o.expires !== null && typeof o.expires !== 'string') return 'expires: not a time';
  const out: ParsedBlockList = { stamp: version + '/' + (o.expires === null ? '' : o.expires), entries: [], expiries: [], latest: 0 };
  const bad = entryList(o.sessions, 'sessions', 's:', out) || entryList(o.users, 'users', 'u:', out) || entryList(o.keys, 'keys', 'k:', out);
  if (bad !== null) return bad;
  if (out.entries.length > MAX_LIST_ENTRIES) return 'more than ' + MAX_LIST_ENTRIES + ' entries';
  return out;
}

/** The shared dictionary of the pulled list (nginx/api_sessions_blocks_pull.conf, njs >= 0.8). */
export const BLOCK_DICT = 'api_sessions_blocks';

/**
 * Makes a pulled list current in the dictionary: a new generation is written beside the current
 * one, then `current` ("generation count latest-expiry stamp") names it, then the old one goes,
 * so a request never sees half a list. A list refused whole, or one the zone cannot hold, leaves
 * the current one, and `log` says why. `generation` names the new one (a time, unique enough).
 */
export function applyBlockList(dict: SharedDict, text: string, generation: string, log: (message: string) => void): void {
  const parsed = parseBlockList(text);
  if (typeof parsed === 'string') {
    log('block list refused whole, the last one stays: ' + parsed);
    return;
  }
  const current = dict.get('current');
  if (current !== undefined && current.split(' ')[3] === parsed.stamp) return;
  const prefix = generation + '|';
  try {
    for (let i = 0; i < parsed.entries.length; i++) dict.set(prefix + parsed.entries[i], parsed.expiries[i]);
  } catch (e) {
    removeExcept(dict, current === undefined ? '' : current.split(' ')[0] + '|');
    log('block list not stored (enlarge the ' + BLOCK_DICT + ' zone), the last one stays: ' + String((e as Error).message || e));
    return;
  }
  dict.set('current', generation + ' ' + parsed.entries.length + ' ' + parsed.latest + ' ' + parsed.stamp);
  removeExcept(dict, prefix);
}

/** Deletes every entry but `current` and those of the generation `keep`. */
function removeExcept(dict: SharedDict, keep: string): void {
  const keys = dict.keys(3 * MAX_LIST_ENTRIES + 1);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    if (k !== 'current' && (keep === '' || k.indexOf(keep) !== 0)) dict.delete(k);
  }
}
