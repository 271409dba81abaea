/**
 * The detections' thresholds: every number a rule compares with, with its default, in one
 * object that an operator overrides from a JSON file (`--detections FILE`,
 * API_SESSIONS_DETECTIONS). docs/console.md explains each one; GET /api/detections/rules shows
 * those in force.
 */
import { readFileSync } from 'fs';

export interface LoginConfig {
  /** Methods of a login request. */
  methods: string[];
  /** A login's path (a regular expression, case-insensitive, over the record's path). */
  path: string;
  /** Statuses that mean the login failed. */
  failure_statuses: number[];
  /** Parameters (a regular expression over the names in the record's `params`) that name the
   *  account a login tries, when the record has no `user`. */
  account_params: string;
}

export interface HijackConfig {
  /** A second client counts when the first one was seen within this long before it. */
  window_minutes: number;
  /** The bits of an address that make its network: IPv4 /16, IPv6 /32 (a provider's block). */
  ipv4_prefix: number;
  ipv6_prefix: number;
  /** two_networks: a return to a network counts when that network was used within this long. */
  concurrent_seconds: number;
  /** two_networks: returns that make a finding, within window_minutes (a phone at the edge of
   *  a Wi-Fi flips back and forth a few times, then stays). */
  switches: number;
  /** Grouping keys whose sessions are never judged (e.g. a service account's API key that a
   *  fleet of machines shares). */
  ignore_keys: string[];
}

export interface EnumerationConfig {
  window_minutes: number;
  /** failed_ids: distinct ids of one endpoint pattern within the window. */
  min_ids: number;
  /** Statuses that refuse an object. */
  failed_statuses: number[];
  /** failed_ids: share of the endpoint's requests refused. */
  failed_share: number;
  /** sequential_ids: requests in a row, each to a new id within sequence_gap of the one before. */
  sequence_run: number;
  sequence_gap: number;
  /** many_ids: distinct ids of one endpoint pattern within the window, whatever the answers
   *  (0 turns it off) ... */
  many_ids: number;
  /** ... making at least this share of the session's requests over the same time (a session
   *  that does little else than open objects). Sessions grouped by IP + User-Agent are not
   *  judged by it (many people behind one address). */
  many_ids_share: number;
}

export interface StuffingConfig {
  window_minutes: number;
  /** by_address: failed logins from one address, and their share of its logins. */
  address_failures: number;
  address_failed_share: number;
  /** by_account: failed logins naming one account, from any addresses. */
  account_failures: number;
  /** by_agent: failed logins with one User-Agent, from this many addresses, naming this many
   *  accounts, and their share of that User-Agent's logins. */
  agent_failures: number;
  agent_addresses: number;
  agent_accounts: number;
  agent_failed_share: number;
  /** by_endpoint: failed logins at one login endpoint (method and path) from sessions that did
   *  nothing but log in (no page, no other request), from this many addresses, naming this
   *  many accounts, within the window, fleet-wide (a tool rotating addresses and User-Agents).
   *  0 turns it off. */
  endpoint_failures: number;
  endpoint_addresses: number;
  endpoint_accounts: number;
}

export interface ScriptedConfig {
  /** rate: at least rate_per_minute × rate_minutes requests within rate_minutes whole minutes in
   *  a row (the current one and those before it), and at least half of rate_per_minute in each
   *  of them (a person stops to read). Pages and static files (assets_path) are not counted: a
   *  browser loads dozens at once. */
  rate_per_minute: number;
  rate_minutes: number;
  /** rate: a session grouped by IP + User-Agent (everyone behind one address with one browser
   *  build) needs this many times the rate. */
  fallback_rate_factor: number;
  /** regular: the last `regular_gaps` gaps between requests: their mean at most
   *  regular_max_mean_seconds, their spread (standard deviation / mean) at most regular_max_cv. */
  regular_gaps: number;
  regular_max_mean_seconds: number;
  regular_max_cv: number;
  /** no_assets: a browser's session (grouped by a cookie or by IP + User-Agent) with this many
   *  requests, none of them (nor of its linked sessions) a page or a static file ... */
  no_assets_requests: number;
  /** ... whose last regular_gaps gaps spread at most this much (people read, then click) ... */
  no_assets_max_cv: number;
  /** ... in an application whose records held at least this many such loads. */
  app_assets_min: number;
  /** What a browser loads: a regular expression over GET paths (case-insensitive). */
  assets_path: string;
  /** churn: sessions of one request each started by one address + User-Agent within the window. */
  churn_sessions: number;
  churn_window_minutes: number;
  /** crawl: requests in a row, each to an id of one endpoint pattern that the session did not
   *  open within enumeration.window_minutes, with nothing else between (0 turns it off) ... */
  crawl_requests: number;
  /** ... over at least this long (a list's items fetched at once by a person's app take
   *  seconds) ... */
  crawl_min_seconds: number;
  /** ... without a pause longer than this between two of them (a person stops to read). */
  crawl_max_gap_seconds: number;
}

export interface DetectionConfig {
  /** false: no detection runs (the API answers with no findings). */
  enabled: boolean;
  login: LoginConfig;
  hijack: HijackConfig;
  enumeration: EnumerationConfig;
  stuffing: StuffingConfig;
  scripted: ScriptedConfig;
}

export const DEFAULT_DETECTION_CONFIG: DetectionConfig = {
  enabled: true,
  login: {
    methods: ['POST'],
    path: '(^|/)(log-?in|log_in|logon|sign-?in|sign_in|authenticate|auth|token|sessions?|wp-login\\.php|j_security_check)/?$',
    failure_statuses: [401, 403],
    account_params: '(^|[._])(user(name)?|email|login|account)$',
  },
  hijack: {
    window_minutes: 30,
    ipv4_prefix: 16,
    ipv6_prefix: 32,
    concurrent_seconds: 120,
    switches: 5,
    ignore_keys: [],
  },
  enumeration: {
    window_minutes: 10,
    min_ids: 20,
    failed_statuses: [401, 403, 404],
    failed_share: 0.5,
    sequence_run: 12,
    sequence_gap: 3,
    many_ids: 30,
    many_ids_share: 0.8,
  },
  stuffing: {
    window_minutes: 10,
    address_failures: 10,
    address_failed_share: 0.5,
    account_failures: 10,
    agent_failures: 20,
    agent_addresses: 5,
    agent_accounts: 10,
    agent_failed_share: 0.5,
    endpoint_failures: 8,
    endpoint_addresses: 8,
    endpoint_accounts: 8,
  },
  scripted: {
    rate_per_minute: 100,
    rate_minutes: 3,
    fallback_rate_factor: 1.5,
    regular_gaps: 30,
    regular_max_mean_seconds: 10,
    regular_max_cv: 0.25,
    no_assets_requests: 30,
    no_assets_max_cv: 0.5,
    app_assets_min: 100,
    assets_path: '(^/$|\\.(html?|js|mjs|css|png|jpe?g|gif|svg|ico|webp|avif|woff2?|ttf)$)',
    churn_sessions: 30,
    churn_window_minutes: 10,
    crawl_requests: 25,
    crawl_min_seconds: 60,
    crawl_max_gap_seconds: 60,
  },
};

/** The settings file (`--detections FILE`): its JSON object, unchecked (detectionConfig checks
 *  it); undefined without a file. */
export function readDetectionSettings(file: string | undefined): unknown {
  if (file === undefined || file === '') return undefined;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new BadDetectionConfig(`detections settings ${file}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new BadDetectionConfig(`detections settings ${file}: not JSON (${(e as Error).message})`);
  }
}

/** A configuration that breaks a rule: the console refuses to start, naming it. */
export class BadDetectionConfig extends Error {}

type Shape = { [k: string]: unknown };

function isObject(v: unknown): v is Shape {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Checks a value against the default's type; numbers must be finite and not negative. */
function checkValue(path: string, def: unknown, v: unknown): unknown {
  if (typeof def === 'number') {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new BadDetectionConfig(`${path}: a number, 0 or more`);
    return v;
  }
  if (typeof def === 'boolean') {
    if (typeof v !== 'boolean') throw new BadDetectionConfig(`${path}: true or false`);
    return v;
  }
  if (typeof def === 'string') {
    if (typeof v !== 'string') throw new BadDetectionConfig(`${path}: a string`);
    try {
      new RegExp(v, 'i');
    } catch (e) {
      throw new BadDetectionConfig(`${path}: not a regular expression (${(e as Error).message})`);
    }
    return v;
  }
  if (Array.isArray(def)) {
    if (!Array.isArray(v)) throw new BadDetectionConfig(`${path}: a list`);
    const numbers = path.endsWith('statuses');
    for (const x of v) {
      if (numbers ? !(Number.isInteger(x) && x >= 100 && x <= 999) : typeof x !== 'string') {
        throw new BadDetectionConfig(`${path}: a list of ${numbers ? 'statuses (100-999)' : 'strings'}`);
      }
    }
    return [...v];
  }
  throw new BadDetectionConfig(`${path}: unexpected`);
}

function merge(path: string, def: Shape, over: Shape): Shape {
  const out: Shape = {};
  for (const k of Object.keys(def)) out[k] = Array.isArray(def[k]) ? [...(def[k] as unknown[])] : isObject(def[k]) ? merge(`${path}${k}.`, def[k] as Shape, {}) : def[k];
  for (const k of Object.keys(over)) {
    if (!Object.prototype.hasOwnProperty.call(def, k)) throw new BadDetectionConfig(`${path}${k}: no such setting`);
    const d = def[k];
    if (isObject(d)) {
      if (!isObject(over[k])) throw new BadDetectionConfig(`${path}${k}: an object`);
      out[k] = merge(`${path}${k}.`, d, over[k] as Shape);
    } else out[k] = checkValue(path + k, d, over[k]);
  }
  return out;
}

/** The defaults with `overrides` (a parsed JSON object: any subset of DetectionConfig) applied.
 *  An unknown name, a wrong type or a bad regular expression is refused with its path. */
export function detectionConfig(overrides: unknown = {}): DetectionConfig {
  if (!isObject(overrides)) throw new BadDetectionConfig('detections: a JSON object');
  const c = merge('', DEFAULT_DETECTION_CONFIG as unknown as Shape, overrides) as unknown as DetectionConfig;
  if (!Number.isInteger(c.hijack.ipv4_prefix) || c.hijack.ipv4_prefix > 32) throw new BadDetectionConfig('hijack.ipv4_prefix: a whole number of bits, 0 to 32');
  if (!Number.isInteger(c.hijack.ipv6_prefix) || c.hijack.ipv6_prefix > 128) throw new BadDetectionConfig('hijack.ipv6_prefix: a whole number of bits, 0 to 128');
  for (const [name, v] of [
    ['enumeration.failed_share', c.enumeration.failed_share],
    ['enumeration.many_ids_share', c.enumeration.many_ids_share],
    ['stuffing.address_failed_share', c.stuffing.address_failed_share],
    ['stuffing.agent_failed_share', c.stuffing.agent_failed_share],
  ] as const) {
    if (v > 1) throw new BadDetectionConfig(`${name}: a share, 0 to 1`);
  }
  if (c.scripted.regular_gaps < 2 || c.scripted.regular_gaps > 1000 || !Number.isInteger(c.scripted.regular_gaps)) {
    throw new BadDetectionConfig('scripted.regular_gaps: a whole number, 2 to 1000');
  }
  if (c.scripted.rate_minutes < 1 || c.scripted.rate_minutes > 60 || !Number.isInteger(c.scripted.rate_minutes)) {
    throw new BadDetectionConfig('scripted.rate_minutes: a whole number, 1 to 60');
  }
  return c;
}
