/**
 * The handlers nginx calls. Thin: read variables and request facts, call the stages
 * (config -> extract -> identify -> record), catch everything. Per-request state lives on the
 * request object `r`, never in module variables (QuickJS reuses contexts across requests).
 *
 * - record:      js_set $api_sessions_record (log time): one JSON line per request.
 * - blocked:     js_set $api_sessions_blocked (request phase): "1" when the request belongs to a
 *                blocked session, user or grouping value (block.ts), else "".
 * - body_filter: js_body_filter (per location): passes every chunk on at once and unchanged,
 *                and keeps a bounded copy only when a parameter reads the response's JSON body.
 */
import { buildConfig, Config, RawConfig, configKey, isConfig } from './config';
import { isNjsEngine } from './engine';
import { Body, Exchange, startExtraction } from './extract';
import { isJsonType } from './sources/json';
import { buildRecord, RequestFacts, RawRequest, recordLine } from './record';
import { sessionId } from './identify';
import { discoveryRate, sampled, InventorySources } from './discover';
import { RECORD_VERSION } from '../record/record';
import { blockLookup, blockProbes, listedNow, SharedDict } from './block';
import { blockDict, pull_blocks } from './block-pull';

/** The key used when no secret is configured: ids and hashes are then guessable. */
const BUILTIN_SECRET = 'api-sessions-builtin-key-set-api_sessions_secret';

/** Response body capture state, kept on the request between body filter calls and log time. */
interface Capture {
  chunks: Buffer[] | null;
  size: number;
  /** $api_sessions_max_body, read once per response. */
  max: number;
  /** Why the body is not read, or null. */
  unread: string | null;
}

interface Held {
  apiSessionsCapture?: Capture;
  /** The configuration parsed by the body filter, reused at log time: njs 0.7.9 keeps nothing
   *  between requests, so each parse costs every time (about a third of the module's work). */
  apiSessionsConfig?: Config;
  /** $api_sessions_blocked's answer, decided once per request and marked in the record. */
  apiSessionsBlocked?: boolean;
}

function configOf(r: NginxHTTPRequest): Config {
  const held = r as unknown as Held;
  if (held.apiSessionsConfig !== undefined) return held.apiSessionsConfig;
  const cfg = parseConfigOf(r);
  held.apiSessionsConfig = cfg;
  return cfg;
}

function parseConfigOf(r: NginxHTTPRequest): Config {
  const v = r.variables;
  const raw = {
    params: v.api_sessions_params,
    extraParams: v.api_sessions_extra_params,
    maxBody: v.api_sessions_max_body,
    maxValue: v.api_sessions_max_value,
    maxAttackBody: v.api_sessions_max_attack_body,
  };
  // The njs engine keeps nothing between requests: where the operator gave the module a shared
  // dictionary (nginx/api_sessions_config_cache.conf, njs >= 0.8), the configuration is parsed
  // once and read back as JSON, which costs that engine less than parsing the entries again.
  // Read inline: without the zone this is all it costs (njs 0.7.9 has no ngx.shared at all; the
  // njs CLI, where the bundle test runs the handlers, has no `ngx`).
  const shared = typeof ngx === 'undefined' ? undefined : (ngx as unknown as { shared?: { [name: string]: SharedDict | undefined } }).shared;
  // Nothing configured: parsing nothing costs less than reading it back. QuickJS keeps its own
  // memo (config.ts) and never looks the dictionary up.
  if (shared !== undefined && (raw.params || raw.extraParams) && isNjsEngine()) {
    const dict = shared[CONFIG_DICT];
    if (dict !== undefined) return sharedConfig(dict, raw);
  }
  return buildConfig(raw);
}

/** Set by build.mjs: a digest of the module's sources. A shared dictionary outlives a reload, so
 *  a configuration parsed by another build of the module is never read as this build's. */
declare const API_SESSIONS_BUILD: string;

function sharedConfig(dict: SharedDict, raw: RawConfig): Config {
  const key = (typeof API_SESSIONS_BUILD === 'undefined' ? 'sources' : API_SESSIONS_BUILD) + '\u0001' + configKey(raw);
  const compiled = dict.get(key);
  if (compiled !== undefined) {
    // A kept copy that does not read back (altered, truncated) is dropped and parsed again:
    // a configuration cache must never cost a request its record or its block check.
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

/** Error-log messages about the configuration go out on the first request of nginx's first
 *  eight connections and then of every 256th: visible at once after a start, never a flood.
 *  (njs keeps no state between requests to remember what it already said.) */
function reportsNow(r: NginxHTTPRequest): boolean {
  if (r.variables.connection_requests !== '1') return false;
  const n = Number(r.variables.connection);
  return n <= 8 || n % 256 === 0;
}

function secretOf(r: NginxHTTPRequest): string {
  const fromVar = r.variables.api_sessions_secret;
  if (fromVar) return fromVar;
  // `process` exists on the njs engine and on QuickJS from njs 0.8.8
  const fromEnv = typeof process !== 'undefined' && process.env ? process.env.API_SESSIONS_SECRET : undefined;
  if (fromEnv) return fromEnv;
  if (reportsNow(r)) {
    r.warn('api_sessions: neither $api_sessions_secret nor API_SESSIONS_SECRET is set: using a built-in key, ' +
      'so session ids and hashed values are guessable');
  }
  return BUILTIN_SECRET;
}

function header(h: unknown): string | undefined {
  if (h === undefined || h === null) return undefined;
  if (typeof h === 'string') return h;
  if (Array.isArray(h)) return h.join(', ');
  return String(h);
}

/** An Exchange over one request: its methods live on one shared object made once per module
 *  instance, and each request's exchange only points at its `r`. Six closures per request cost
 *  QuickJS about 3,500 instructions each (counted in the njs CLI). */
interface RequestExchange extends Exchange {
  r: NginxHTTPRequest;
  maxBody: number;
}

let exchangeMethods: Exchange | null = null;

function exchangeOf(r: NginxHTTPRequest, cfg: Config): Exchange {
  if (exchangeMethods === null) exchangeMethods = makeExchangeMethods();
  const ex = Object.create(exchangeMethods) as RequestExchange;
  ex.r = r;
  ex.maxBody = cfg.limits.maxBody;
  return ex;
}

function makeExchangeMethods(): Exchange {
  return {
    requestHeader(this: RequestExchange, name: string) {
      return header(this.r.headersIn[name]);
    },
    responseHeader(this: RequestExchange, name: string) {
      return header(this.r.headersOut[name]);
    },
    setCookies(this: RequestExchange) {
      const h = this.r.headersOut['Set-Cookie'] as unknown;
      if (h === undefined || h === null) return [];
      return Array.isArray(h) ? (h as string[]) : [String(h)];
    },
    // The query as the client sent it: $args changes with rewrites and internal redirects.
    query(this: RequestExchange) {
      const uri = this.r.variables.request_uri || '';
      const q = uri.indexOf('?');
      return q < 0 ? '' : uri.slice(q + 1);
    },
    requestBody(this: RequestExchange) {
      return requestBody(this.r, this.maxBody);
    },
    responseBody(this: RequestExchange) {
      return responseBody(this.r);
    },
  };
}

function requestBody(r: NginxHTTPRequest, maxBody: number): Body {
  const contentType = header(r.headersIn['Content-Type']);
  if (r.variables.request_body_file) {
    return { text: null, unread: 'nginx wrote the body to a temp file: not read (raise client_body_buffer_size)', contentType };
  }
  if (Number(r.variables.content_length) > maxBody) {
    return { text: null, unread: 'larger than $api_sessions_max_body (' + maxBody + ' bytes): not read', contentType };
  }
  let text: string | undefined;
  try {
    text = r.requestText as string | undefined;
  } catch (e) {
    return { text: null, unread: 'not readable (' + (e as Error).message + ')', contentType };
  }
  if (text === undefined || text === null) return { text: null, unread: null, contentType };
  if (text.length > maxBody) {
    return { text: null, unread: 'larger than $api_sessions_max_body (' + maxBody + ' bytes): not read', contentType };
  }
  return { text, unread: null, contentType };
}

function responseBody(r: NginxHTTPRequest): Body {
  const contentType = header(r.headersOut['Content-Type']);
  const c = (r as unknown as Held).apiSessionsCapture;
  // A location without the filter reads no response bodies by design: nothing to report there.
  // Where nginx/api_sessions_response.conf is included it marks the location, so a response
  // whose body the filter never saw is explained.
  if (c === undefined && !r.variables.api_sessions_response_body) return { text: null, unread: null, contentType };
  const status = Number(r.variables.status);
  if (r.method === 'HEAD') return { text: null, unread: 'HEAD request: the response has no body', contentType };
  if (status === 204 || status === 304) return { text: null, unread: 'status ' + status + ': the response has no body', contentType };
  if (c === undefined) return { text: null, unread: 'the response had no body', contentType };
  if (c.unread !== null) return { text: null, unread: c.unread, contentType };
  if (c.chunks === null) return { text: null, unread: null, contentType };
  return { text: Buffer.concat(c.chunks).toString(), unread: null, contentType };
}

/** Decides once per response, at its first chunk, whether a copy is needed. */
function startCapture(r: NginxHTTPRequest): Capture {
  const cfg = configOf(r);
  const max = cfg.limits.maxBody;
  const wanted = cfg.needs.responseBody || sampled(discoveryRate(r.variables.api_sessions_discovery), r.variables.request_id || '');
  if (!wanted) return { chunks: null, size: 0, max, unread: null };
  const encoding = header(r.headersOut['Content-Encoding']);
  if (encoding !== undefined && encoding !== '' && encoding.toLowerCase() !== 'identity') {
    return {
      chunks: null,
      size: 0,
      max,
      unread: encoding + '-encoded: not read (set proxy_set_header Accept-Encoding "" or gunzip on the upstream side)',
    };
  }
  if (!isJsonType(header(r.headersOut['Content-Type']))) return { chunks: null, size: 0, max, unread: null };
  const length = Number(header(r.headersOut['Content-Length']));
  if (length > max) return { chunks: null, size: 0, max, unread: 'larger than $api_sessions_max_body (' + max + ' bytes): not read' };
  return { chunks: [], size: 0, max, unread: null };
}

function body_filter(r: NginxHTTPRequest, data: Buffer | string, flags: NginxHTTPSendBufferOptions): void {
  try {
    const held = r as unknown as Held;
    let c = held.apiSessionsCapture;
    if (c === undefined) {
      c = startCapture(r);
      held.apiSessionsCapture = c;
    }
    if (c.chunks !== null && data.length > 0) {
      c.size += data.length;
      if (c.size > c.max) {
        c.chunks = null;
        c.unread = 'larger than $api_sessions_max_body (' + c.max + ' bytes): not read';
      } else {
        // A copy: nginx may reuse the chunk's memory once it is sent.
        c.chunks.push(Buffer.from(data as Buffer));
      }
    }
  } catch (e) {
    try {
      (r as unknown as Held).apiSessionsCapture = { chunks: null, size: 0, max: 0, unread: 'not read (' + (e as Error).message + ')' };
    } catch (e2) {
      // nothing more to do: the chunk must still go out
    }
  }
  // njs hands the filter only `last`; without `flush` its output waits in nginx's write filter
  // and a streamed response (server-sent events) would reach the client only at its end.
  r.sendBuffer(data, { last: flags.last, flush: true });
}

function startMsOf(r: NginxHTTPRequest): number {
  const pinned = r.variables.api_sessions_now;
  if (pinned) {
    const n = Number(pinned);
    const ms = n === n ? n * 1000 : Date.parse(pinned);
    if (ms === ms) return Math.round(ms);
  }
  const msec = Number(r.variables.msec);
  const elapsed = Number(r.variables.request_time);
  return Math.round((msec - (elapsed === elapsed ? elapsed : 0)) * 1000);
}

function rawRequest(r: NginxHTTPRequest, maxBody: number): RawRequest {
  const headers: Array<[string, string]> = [];
  const raw = r.rawHeadersIn as unknown as Array<[string, string]>;
  for (let i = 0; i < raw.length && i < 256; i++) headers.push([String(raw[i][0]), String(raw[i][1])]);
  const body = requestBody(r, 16 * 1024 * 1024);
  let text = body.text;
  if (text !== null && text.length > maxBody + 1) text = text.slice(0, maxBody + 1); // requestContent marks the cut
  return { line: r.variables.request || '', headers, body: text };
}

function noRawRequest(): RawRequest {
  return { line: '', headers: [], body: null };
}

function inventorySources(r: NginxHTTPRequest): InventorySources {
  const raw = r.rawHeadersIn as unknown as Array<[string, string]>;
  const requestLines: Array<[string, string]> = [];
  for (let i = 0; i < raw.length && i < 128; i++) requestLines.push([String(raw[i][0]), String(raw[i][1])]);
  return { requestLines, responseHeaderNames: Object.keys(r.headersOut) };
}

/** The shared dictionary of parsed configurations (nginx/api_sessions_config_cache.conf). */
const CONFIG_DICT = 'api_sessions_config';

/**
 * $api_sessions_blocked. Without a list ($api_sessions_block_list empty) one variable read.
 * With one (block.ts): a list that is empty or whose every block has expired at the request's
 * time stops there; otherwise the request's probes are looked up, and a probe blocks while its
 * block's expiry is ahead of the request's time. Never throws: a failure is logged and the
 * request passes (fail open).
 */
function blocked(r: NginxHTTPRequest): string {
  const held = r as unknown as Held;
  try {
    if (held.apiSessionsBlocked !== undefined) return held.apiSessionsBlocked ? '1' : '';
    const v = r.variables;
    const list = v.api_sessions_block_list;
    held.apiSessionsBlocked = false;
    if (!list) return '';
    const now = startMsOf(r);
    const lookup = blockLookup(list, now, list === 'shared' ? blockDict() : undefined, v);
    if (lookup === null) return '';
    const cfg = configOf(r);
    const host = v.host || '';
    const st = startExtraction(exchangeOf(r, cfg), cfg.limits, []);
    const client = { ip: v.remote_addr || '', ua: header(r.headersIn['User-Agent']), fingerprint: v.api_sessions_fingerprint };
    if (!listedNow(lookup, blockProbes(cfg, st, client, secretOf(r), v.api_sessions_app || host), now)) return '';
    held.apiSessionsBlocked = true;
    return '1';
  } catch (e) {
    try {
      r.error('api_sessions: block check failed, the request passes: ' + String((e as Error).message || e));
    } catch (e2) {
      // nothing more to do
    }
    return '';
  }
}

function record(r: NginxHTTPRequest): string {
  const errors: string[] = [];
  try {
    const cfg = configOf(r);
    if (cfg.errors.length > 0 && reportsNow(r)) {
      for (let i = 0; i < cfg.errors.length; i++) r.error('api_sessions: ' + cfg.errors[i]);
    }
    const v = r.variables;
    const host = v.host || '';
    const facts: RequestFacts = {
      startMs: startMsOf(r),
      app: v.api_sessions_app || host,
      host,
      method: r.method,
      requestUri: v.request_uri || '',
      status: Number(v.status) || 0,
      durationMs: Math.round(Number(v.request_time) * 1000) || 0,
      bytesSent: Number(v.bytes_sent) || 0,
      requestId: v.request_id || '',
      client: {
        ip: v.remote_addr || '',
        ua: header(r.headersIn['User-Agent']),
        fingerprint: v.api_sessions_fingerprint,
      },
      attack: v.api_sessions_attack || '',
      secret: secretOf(r),
    };
    // Discovery costs one variable read when off; sampled requests list their candidates.
    const discover = sampled(discoveryRate(v.api_sessions_discovery), facts.requestId) ? () => inventorySources(r) : null;
    // The raw request is read only for a malicious one (a closure costs every other request).
    const readRaw = facts.attack === '' ? noRawRequest : () => rawRequest(r, cfg.limits.maxAttackBody);
    const rec = buildRecord(facts, cfg, exchangeOf(r, cfg), readRaw, errors, discover);
    if ((r as unknown as Held).apiSessionsBlocked === true) rec.blocked = true;
    // recordLine: JSON.stringify, kept valid UTF-8 whatever bytes arrived (record.ts).
    return recordLine(rec);
  } catch (e) {
    return failedRecord(r, errors, e);
  }
}

/** A record of the full shape, grouped by IP, naming the failure: when the pipeline itself threw,
 *  the request still appears in its session list. */
function failedRecord(r: NginxHTTPRequest, errors: string[], e: unknown): string {
  const message = 'internal: ' + String((e as Error).message || e);
  try {
    r.error('api_sessions: record failed: ' + message);
    const v = r.variables;
    const ts = new Date(startMsOf(r)).toISOString();
    const app = v.api_sessions_app || v.host || '';
    const ip = v.remote_addr || '';
    const uri = v.request_uri || '';
    const q = uri.indexOf('?');
    return recordLine({
      v: RECORD_VERSION,
      ts,
      app,
      session: sessionId(secretOf(r), app, '\u0001' + ip),
      part: ts.slice(0, 10),
      key: 'ip',
      key_source: 'fallback',
      request_id: v.request_id || '',
      method: r.method,
      host: v.host || '',
      path: q < 0 ? uri : uri.slice(0, q),
      status: Number(v.status) || 0,
      duration_ms: Math.round(Number(v.request_time) * 1000) || 0,
      bytes_sent: Number(v.bytes_sent) || 0,
      ip,
      ua: null,
      params: {},
      user: null,
      role: null,
      attack: null,
      request: null,
      errors: errors.slice(0, 15).concat([message]),
    });
  } catch (e2) {
    return '{"v":' + RECORD_VERSION + ',"errors":[' + JSON.stringify(message) + ']}';
  }
}

export default { record, body_filter, blocked, pull_blocks };
