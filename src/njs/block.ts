/**
 * Blocks in the request phase: what this request would be blocked by, as probes of the block
 * list ("s:" + session id, "u:" + user as the record writes it, "k:" + a grouping value's keyed
 * hash). Request-side sources only: the response does not exist yet, and a token a login
 * response issued groups the next request by the request's own header or cookie, which this
 * reads. A request body is not read in the request phase (nginx has not read it yet).
 */
import { Config } from './config';
import { readsResponse } from './config';
import { Extraction, readSelector } from './extract';
import { builtinGrouping, fallbackGrouping, joinedValue, sessionId, valueHash, Client, Grouping } from './identify';


/** Characters of a user's percent-encoded form in its probe (USER_KEY_CHARS in the console). */
const USER_KEY_CHARS = 40;

/** The probes, and the user's percent-encoded form the "u:" probe's answer must list. */
export interface BlockProbes {
  probes: string[];
  user: string | null;
}

export function blockProbes(config: Config, st: Extraction, client: Client, secret: string, app: string): BlockProbes {
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
  let encoded: string | null = null;
  if (userParam >= 0 && userValue !== undefined) {
    // The user as the record exports it (record.ts): a grouping parameter's session id, a
    // grouping value's or a hashed parameter's keyed hash, else the value cut at maxValue.
    const p = config.params[userParam];
    const parts = grouping.source === 'fallback' ? [] : grouping.value.split('\u001f');
    let user: string;
    if (p.group) user = sessionId(secret, app, userValue);
    else if (p.hash || userValue === grouping.value || parts.indexOf(userValue) >= 0) user = valueHash(secret, userValue);
    else user = userValue.length > config.limits.maxValue ? userValue.slice(0, config.limits.maxValue) : userValue;
    // The map's key: nginx compares keys without case and bounds their length; the answer
    // lists the whole encoded users under that key, compared exactly by the caller.
    try {
      encoded = encodeURIComponent(user);
      probes.push('u:' + encoded.slice(0, USER_KEY_CHARS).toLowerCase());
    } catch (e) {
      encoded = null; // a lone surrogate: no blocked user can be written so either
    }
  }
  if (grouping.source !== 'fallback') {
    probes.push('k:' + valueHash(secret, grouping.value));
    const parts = grouping.value.split('\u001f');
    for (let i = 0; i < parts.length && parts.length > 1; i++) probes.push('k:' + valueHash(secret, parts[i]));
  }
  return { probes: probes, user: encoded };
}

/** Bytes of a block list the module accepts from the console (ngx.fetch's response limit). */
export const MAX_LIST_BYTES = 4194304;
/** Entries a list holds at most (MAX_BLOCKS in the console). */
export const MAX_LIST_ENTRIES = 10000;

/** A list as the shared dictionary keeps it: "s:" + id, "k:" + hash, "u=" + encoded user. */
export interface ParsedBlockList {
  /** What changes whenever the list does: the console's version and the soonest expiry (a
   *  block that expires changes the list without a new version). */
  stamp: string;
  entries: string[];
}

function hex32List(v: unknown, name: string, out: string[], prefix: string): string | null {
  if (!Array.isArray(v)) return name + ': not a list';
  for (let i = 0; i < v.length; i++) {
    const s = v[i];
    if (typeof s !== 'string' || !/^[0-9a-f]{32}$/.test(s)) return name + '[' + i + ']: not 32 hex characters';
    out.push(prefix + s);
  }
  return null;
}

/** GET /api/blocks/list's JSON, checked whole: any bad part refuses the whole list (a string
 *  says why). */
export function parseBlockList(text: string): ParsedBlockList | string {
  if (text.length > MAX_LIST_BYTES) return 'larger than ' + MAX_LIST_BYTES + ' bytes';
  let o: { [k: string]: unknown };
  try {
    o = JSON.parse(text);
  } catch (e) {
    return 'not JSON';
  }
  if (o === null || typeof o !== 'object' || Array.isArray(o)) return 'not a JSON object';
  if (o.v !== 1) return 'format version ' + String(o.v) + ', this module reads 1';
  const version = o.version;
  if (typeof version !== 'number' || version < 0 || version % 1 !== 0) return 'version: not a whole number';
  if (o.expires !== null && typeof o.expires !== 'string') return 'expires: not a time';
  const entries: string[] = [];
  const bad = hex32List(o.sessions, 'sessions', entries, 's:') || hex32List(o.keys, 'keys', entries, 'k:');
  if (bad !== null) return bad;
  const users = o.users;
  if (!Array.isArray(users)) return 'users: not a list';
  for (let i = 0; i < users.length; i++) {
    const u = users[i];
    if (typeof u !== 'string' || u === '' || u.length > 256) return 'users[' + i + ']: not a user';
    entries.push('u=' + encodeURIComponent(u));
  }
  if (entries.length > MAX_LIST_ENTRIES) return 'more than ' + MAX_LIST_ENTRIES + ' entries';
  return { stamp: version + '/' + (o.expires === null ? '' : o.expires), entries: entries };
}

/** The js_shared_dict_zone API (njs 0.8), which njs-types 0.7 does not declare. */
export interface SharedDict {
  get(key: string): string | undefined;
  set(key: string, value: string): unknown;
  delete(key: string): unknown;
  keys(max?: number): string[];
}

/** The shared dictionary of the pulled list (nginx/api_sessions_blocks_pull.conf, njs >= 0.8). */
const BLOCK_DICT = 'api_sessions_blocks';

export function blockDict(): SharedDict | undefined {
  const shared = (ngx as unknown as { shared?: { [name: string]: SharedDict } }).shared;
  return shared === undefined ? undefined : shared[BLOCK_DICT];
}

/**
 * js_periodic (njs >= 0.8): pulls GET /api/blocks/list from $api_sessions_blocks_url with the
 * blocks token ($api_sessions_blocks_token, else env API_SESSIONS_BLOCKS_TOKEN) into the shared
 * dictionary. A new generation is written beside the current one and then made current, so a
 * request never sees half a list; any failure (console away, bad status, malformed list, full
 * zone) keeps the current list and is logged.
 */
/** js_periodic's session object (njs 0.8), which njs-types 0.7 does not declare. */
interface PeriodicSession {
  variables: { [name: string]: string | undefined };
}

export function pull_blocks(s: PeriodicSession): Promise<void> {
  let dict: SharedDict | undefined;
  let url = '';
  let token = '';
  try {
    dict = blockDict();
    url = s.variables.api_sessions_blocks_url || '';
    token = s.variables.api_sessions_blocks_token || '';
    if (!token && typeof process !== 'undefined' && process.env) token = process.env.API_SESSIONS_BLOCKS_TOKEN || '';
  } catch (e) {
    ngx.log(ngx.ERR, 'api_sessions: block pull not configured: ' + String((e as Error).message || e));
    return Promise.resolve();
  }
  if (dict === undefined || !url) {
    ngx.log(ngx.ERR, 'api_sessions: block pull needs js_shared_dict_zone zone=' + BLOCK_DICT + ' and $api_sessions_blocks_url (nginx/api_sessions_blocks_pull.conf)');
    return Promise.resolve();
  }
  const d = dict;
  return ngx
    .fetch(url, { headers: { Authorization: 'Bearer ' + token }, max_response_body_size: MAX_LIST_BYTES } as NgxFetchOptions)
    .then(function (reply) {
      if (reply.status !== 200) throw new Error(url + ' answered ' + reply.status);
      return reply.text();
    })
    .then(function (text) {
      applyBlockList(d, text);
    })
    .catch(function (e) {
      ngx.log(ngx.WARN, 'api_sessions: block list not pulled, the last one stays: ' + String((e as Error).message || e));
    });
}

function applyBlockList(dict: SharedDict, text: string): void {
  const parsed = parseBlockList(text);
  if (typeof parsed === 'string') {
    ngx.log(ngx.ERR, 'api_sessions: block list refused whole, the last one stays: ' + parsed);
    return;
  }
  const current = dict.get('current');
  if (current !== undefined && current.split(' ')[2] === parsed.stamp) return;
  const generation = String(Date.now());
  const prefix = generation + '|';
  try {
    for (let i = 0; i < parsed.entries.length; i++) dict.set(prefix + parsed.entries[i], '1');
  } catch (e) {
    removeExcept(dict, current === undefined ? '' : current.split(' ')[0] + '|');
    ngx.log(ngx.ERR, 'api_sessions: block list not stored (enlarge the ' + BLOCK_DICT + ' zone), the last one stays: ' + String((e as Error).message || e));
    return;
  }
  dict.set('current', generation + ' ' + parsed.entries.length + ' ' + parsed.stamp);
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

