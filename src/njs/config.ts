/**
 * Configuration: the $api_sessions_* nginx variables as plain strings -> a typed configuration.
 * Pure: the glue reads the variables, this turns them into parameters (the entries' grammar:
 * ../shared/params.ts, which the console's what-if preview reads too) and limits, and reports
 * every bad entry by its position and text while keeping the valid ones.
 */
import { MAX_EXTRA_PARAMS, MAX_PARAMS, Param, parseParams } from '../shared/params';

export interface Limits {
  /** Bytes of a request or response body that are parsed; larger bodies are not parsed. */
  maxBody: number;
  /** Characters of an exported parameter value. */
  maxValue: number;
  /** Bytes of a malicious request's body kept in the record. */
  maxAttackBody: number;
}

export interface Config {
  /** In their configured order; those with `group` are the grouping keys, in that order. */
  params: Param[];
  /** Sources some parameter reads, so that nothing else is parsed. */
  needs: {
    requestBody: boolean;
    responseBody: boolean;
  };
  limits: Limits;
  /** Bad entries and settings, each naming the variable and the entry. */
  errors: string[];
}

/** The variables as the glue read them; undefined or '' means unset. */
export interface RawConfig {
  params?: string;
  extraParams?: string;
  maxBody?: string;
  maxValue?: string;
  maxAttackBody?: string;
}

// Plain numbers: njs 0.7.9 runs top-level code for every request, so no module-level objects.
export const DEFAULT_MAX_BODY = 65536;
export const DEFAULT_MAX_VALUE = 1024;
export const DEFAULT_MAX_ATTACK_BODY = 8192;
const LIMIT_CEILING = 16777216;

// Parsed configurations by their source text. Immutable once built, so sharing it between
// requests is safe where njs keeps module state (QuickJS reuses contexts); the default engine
// gives each request a fresh copy and this is then a per-request no-op.
let memoKey: string | null = null;
let memo: Config | null = null;

/** The variables' texts as one string: what a parsed configuration is remembered by. */
export function configKey(raw: RawConfig): string {
  return (raw.params || '') + '\u0000' + (raw.extraParams || '') + '\u0000' + (raw.maxBody || '') +
    '\u0000' + (raw.maxValue || '') + '\u0000' + (raw.maxAttackBody || '');
}

/** Whether a configuration read back as JSON (the shared-dictionary cache) has a Config's shape
 *  (cheap: the top level only; the rest is this build's own JSON, keyed by its build). A Config
 *  is plain data (strings, numbers, booleans, arrays), so JSON keeps it whole. */
export function isConfig(c: unknown): c is Config {
  if (c === null || typeof c !== 'object') return false;
  const o = c as Config;
  return Array.isArray(o.params) && Array.isArray(o.errors) &&
    typeof o.needs === 'object' && o.needs !== null && typeof o.limits === 'object' && o.limits !== null;
}

/** The js_shared_dict_zone API (njs >= 0.8), which njs-types 0.7 does not declare. */
export interface SharedDict {
  get(key: string): string | undefined;
  set(key: string, value: string): unknown;
  delete(key: string): unknown;
  /** Adds the entry only when the key is absent: true when added. */
  add?(key: string, value: string): boolean;
  keys(max?: number): string[];
}

/** The shared dictionary of parsed configurations (nginx/api_sessions_config_cache.conf). */
export const CONFIG_DICT = 'api_sessions_config';

/**
 * The configuration kept in a shared dictionary, for the njs engine (njs >= 0.8), which keeps
 * nothing between requests: each configuration is parsed once and read back with one
 * JSON.parse, which costs that engine less than parsing the entries again. `build` (build.mjs's
 * digest of the module's sources) is part of the key: the dictionary outlives a reload, and a
 * configuration parsed by another build of the module is never read as this build's. A kept
 * copy that does not read back (altered, truncated) is dropped and parsed again: a cache must
 * never cost a request its record or its block check.
 */
export function sharedConfig(dict: SharedDict, raw: RawConfig, build: string): Config {
  const key = build + '\u0001' + configKey(raw);
  const compiled = dict.get(key);
  if (compiled !== undefined) {
    try {
      const c: unknown = JSON.parse(compiled);
      if (isConfig(c)) return c;
    } catch (e) {
      // parsed again below
    }
    try {
      dict.delete(key);
    } catch (e) {
      // parsed again below all the same
    }
  }
  const cfg = buildConfig(raw);
  try {
    dict.set(key, JSON.stringify(cfg));
  } catch (e) {
    // A full zone only means parsing again next time.
  }
  return cfg;
}

export function buildConfig(raw: RawConfig): Config {
  const key = configKey(raw);
  if (memo !== null && key === memoKey) return memo;
  const errors: string[] = [];
  const params: Param[] = [];
  const seen: { [name: string]: boolean } = {};
  parseParams(raw.params || '', 'api_sessions_params', false, MAX_PARAMS, params, seen, errors);
  parseParams(raw.extraParams || '', 'api_sessions_extra_params', true, MAX_EXTRA_PARAMS, params, seen, errors);
  const needs = { requestBody: false, responseBody: false };
  for (let i = 0; i < params.length; i++) {
    const p = params[i];
    for (let k = 0; k < p.selectors.length; k++) {
      const s = p.selectors[k].source;
      if (s === 'request.body.json' || s === 'request.body.form') needs.requestBody = true;
      if (s === 'response.body.json') needs.responseBody = true;
    }
  }
  const limits: Limits = {
    maxBody: parseLimit(raw.maxBody, 'api_sessions_max_body', DEFAULT_MAX_BODY, errors),
    maxValue: parseLimit(raw.maxValue, 'api_sessions_max_value', DEFAULT_MAX_VALUE, errors),
    maxAttackBody: parseLimit(raw.maxAttackBody, 'api_sessions_max_attack_body', DEFAULT_MAX_ATTACK_BODY, errors),
  };
  memoKey = key;
  memo = { params, needs, limits, errors };
  return memo;
}

function parseLimit(text: string | undefined, variable: string, fallback: number, errors: string[]): number {
  if (!text) return fallback;
  const unit = text.charAt(text.length - 1).toLowerCase();
  const scaled = unit === 'k' || unit === 'm';
  const digits = scaled ? text.slice(0, -1) : text;
  // Number('') and Number(' ') are 0: a bare "k" or blanks are not a size.
  const n = digits.trim() === '' ? NaN : Number(digits) * (scaled ? (unit === 'k' ? 1024 : 1048576) : 1);
  if (!(n >= 0) || Math.floor(n) !== n || n > LIMIT_CEILING) {
    errors.push('$' + variable + ' "' + text + '" is not a size from 0 to 16m; using ' + fallback);
    return fallback;
  }
  return n;
}
