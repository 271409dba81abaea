/**
 * The handlers nginx calls (nginx/api_sessions.conf, nginx/api_sessions_response.conf). Thin:
 * read what nginx hands over, call the stages (config -> extract -> identify -> record), catch
 * everything. nginx writes the record's facts itself; these write what needs JavaScript.
 * Per-request state lives on the request object `r`, never in module variables (QuickJS reuses
 * contexts across requests).
 *
 * - record:      js_set $api_sessions_record (log time): the session's part of the record line.
 * - text:        js_set $api_sessions_text_escaped (log time): app, host, path and ua as JSON, for
 *                the rare request whose texts nginx cannot write as they are (a quote, a
 *                backslash, a control character, anything but ASCII).
 * - method:      js_set $api_sessions_method_escaped: likewise for a method nginx cannot write.
 * - body_filter: js_body_filter (per location): passes every chunk on at once and unchanged,
 *                and keeps a bounded copy only when a parameter reads the response's JSON body.
 * - blocked:     js_set $api_sessions_blocked_check (request phase): "1" when the request
 *                belongs to a blocked session, user or grouping value (block.ts), else "".
 * - pull_blocks: js_periodic (njs >= 0.8): the block list pulled from the console (block-pull.ts).
 */
import { buildConfig, sharedConfig, Config, RawConfig, SharedDict, CONFIG_DICT } from './config';
import { isNjsEngine, keepsModuleState } from './engine';
import { Body, Exchange, startExtraction } from './extract';
import { isJsonType } from './sources/json';
import { buildRecord, failedFields, jsonText, RawRequest, RequestFacts } from './record';
import { discoveryRate, sampled, InventorySources } from './discover';
import { blockLookup, blockProbes, listedNow } from './block';
import { blockDict, pull_blocks } from './block-pull';
import { MAX_SESSION_COOKIE_VALUES, Client } from './identify';
import { factsLine, header, nowMs, pinnedMs, reportsNow, secretOf } from './request';

export default { record, text, method, body_filter, blocked, pull_blocks };

function record(r: NginxHTTPRequest): string {
  const errors: string[] = [];
  try {
    const ex = exchangeOf(r);
    const facts = factsOf(r, ex);
    const cfg = ex.more ? configOf(r) : buildConfig({});
    ex.maxBody = cfg.limits.maxBody;
    ex.maxAttackBody = cfg.limits.maxAttackBody;
    if (cfg.errors.length > 0 && reportsConfig(r, cfg)) {
      for (let i = 0; i < cfg.errors.length; i++) r.error('api_sessions: ' + cfg.errors[i]);
    }
    return buildRecord(facts, cfg, ex, errors);
  } catch (e) {
    return failedRecord(r, errors, e);
  }
}

function text(r: NginxHTTPRequest): string {
  try {
    const v = r.variables;
    const bad: boolean[] = [];
    const uri = v.request_uri || '';
    const q = uri.indexOf('?');
    const ua = header(r.headersIn['User-Agent']);
    const out = '"app":' + jsonText(v.api_sessions_app_value || '', bad) + ',"host":' + jsonText(v.host || '', bad) +
      ',"path":' + jsonText(q < 0 ? uri : uri.slice(0, q), bad) + ',"ua":' + (ua === undefined || ua === '' ? 'null' : jsonText(ua, bad));
    if (bad.length > 0) (r as unknown as Held).apiSessionsReplacedText = true;
    return out;
  } catch (e) {
    return '"app":"","host":"","path":"","ua":null';
  }
}

function method(r: NginxHTTPRequest): string {
  try {
    const bad: boolean[] = [];
    const out = jsonText(r.method || '', bad);
    if (bad.length > 0) (r as unknown as Held).apiSessionsReplacedText = true;
    return out;
  } catch (e) {
    return '""';
  }
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

/**
 * $api_sessions_blocked. Without a list ($api_sessions_block_list empty) one variable read; with
 * a list whose blocks have all expired, one more. Never throws: a failure is logged and the
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
    const now = nowMs(r);
    const lookup = blockLookup(list, now, list === 'shared' ? blockDict() : undefined, v);
    if (lookup === null) return '';
    const cfg = configOf(r);
    const ex = exchangeOf(r);
    ex.more = true;
    // $api_sessions_facts is a log-time variable: here whether a built-in header was sent is
    // not known, so each is looked up
    ex.headers = true;
    ex.maxBody = cfg.limits.maxBody;
    const st = startExtraction(ex, cfg.limits, []);
    const probes = blockProbes(cfg, st, ex.client(), secretOf(r), v.api_sessions_app_value || '');
    if (probes === null) {
      r.warn('api_sessions: request refused: more than ' + MAX_SESSION_COOKIE_VALUES + ' values of session cookies while a block list is loaded');
    } else if (!listedNow(lookup, probes, now)) return '';
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

/** What the handlers keep on the request between their calls. */
interface Held {
  apiSessionsCapture?: Capture;
  /** The configuration parsed by the body filter or the block check, reused at log time. */
  apiSessionsConfig?: Config;
  /** $api_sessions_blocked's answer, decided once per request and marked in the record. */
  apiSessionsBlocked?: boolean;
  /** Set by text()/method() when a text held invalid UTF-8: the record's errors say so. */
  apiSessionsReplacedText?: boolean;
}

/** Response body capture state, kept on the request between body filter calls and log time. */
interface Capture {
  chunks: Buffer[] | null;
  size: number;
  /** $api_sessions_max_body, read once per response. */
  max: number;
  /** Why the body is not read, or null. */
  unread: string | null;
}



/** The request's facts ($api_sessions_facts, request.ts), and what else a setting asks for. */
function factsOf(r: NginxHTTPRequest, ex: RequestExchange): RequestFacts {
  const v = r.variables;
  const facts = factsLine(v.api_sessions_facts, secretOf(r));
  if (facts === null) throw new Error('$api_sessions_facts is not defined: install nginx/api_sessions.conf from the same build as api_sessions.js');
  ex.more = facts.more;
  ex.headers = facts.headers;
  ex.response = facts.response;
  const held = r as unknown as Held;
  facts.blocked = held.apiSessionsBlocked === true;
  facts.replacedText = held.apiSessionsReplacedText === true;
  if (facts.more) {
    const pinned = pinnedMs(v.api_sessions_now);
    if (pinned !== null) facts.startMs = pinned;
    facts.attack = v.api_sessions_attack || '';
    const rate = discoveryRate(v.api_sessions_discovery);
    if (rate > 0) {
      facts.requestId = v.request_id || '';
      facts.discover = sampled(rate, facts.requestId);
    }
  }
  return facts;
}

function configOf(r: NginxHTTPRequest): Config {
  const held = r as unknown as Held;
  if (held.apiSessionsConfig !== undefined) return held.apiSessionsConfig;
  const v = r.variables;
  const raw: RawConfig = {
    params: v.api_sessions_params,
    extraParams: v.api_sessions_extra_params,
    maxBody: v.api_sessions_max_body,
    maxValue: v.api_sessions_max_value,
    maxAttackBody: v.api_sessions_max_attack_body,
  };
  // The njs engine keeps nothing between requests: where the operator gave the module a shared
  // dictionary (nginx/api_sessions_config_cache.conf, njs >= 0.8), the configuration is read back
  // from it (config.ts). QuickJS keeps its own memo (buildConfig) and never looks it up.
  let cfg: Config | undefined;
  if ((raw.params || raw.extraParams) && isNjsEngine()) {
    const dict = sharedDict(CONFIG_DICT);
    if (dict !== undefined) cfg = sharedConfig(dict, raw, typeof API_SESSIONS_BUILD === 'undefined' ? 'sources' : API_SESSIONS_BUILD);
  }
  if (cfg === undefined) cfg = buildConfig(raw);
  held.apiSessionsConfig = cfg;
  return cfg;
}

// QuickJS: the configuration errors this context has written, the last 16 (a context serves one
// worker's requests one after another, and a reload starts new workers with new contexts).
let reportedErrors: string[] | null = null;

/** Whether to write the configuration's errors now: on QuickJS once per context and set of
 *  errors; on the njs engine, which keeps nothing itself, once per worker and set of errors where
 *  the configuration cache's shared dictionary is there to remember it (njs >= 0.8, see
 *  reportedInDict), else on reportsNow's schedule. */
function reportsConfig(r: NginxHTTPRequest, cfg: Config): boolean {
  const key = cfg.errors.join('\n');
  if (!keepsModuleState()) {
    const first = reportedInDict(key);
    return first === undefined ? reportsNow(r) : first;
  }
  if (reportedErrors === null) reportedErrors = [];
  if (reportedErrors.indexOf(key) >= 0) return false;
  if (reportedErrors.length >= 16) reportedErrors.shift();
  reportedErrors.push(key);
  return true;
}

/** On the njs engine with nginx/api_sessions_config_cache.conf: true the first time this worker
 *  (its pid: a reload starts new workers) meets this set of errors, false after; undefined when
 *  there is no dictionary to remember it in (njs 0.7.9, no include) or it refuses the entry. The
 *  entries expire with the zone's timeout and are evicted first when it fills. */
function reportedInDict(errors: string): boolean | undefined {
  const dict = sharedDict(CONFIG_DICT);
  if (dict === undefined || typeof dict.add !== 'function' || typeof process === 'undefined' || !process.pid) return undefined;
  try {
    return dict.add('reported\u0001' + process.pid + '\u0001' + (errors.length > 512 ? errors.length + errors.slice(0, 512) : errors), '1');
  } catch (e) {
    return undefined;
  }
}

/** Set by build.mjs: a digest of the module's sources (the configuration cache's key). */
declare const API_SESSIONS_BUILD: string;

/** A js_shared_dict_zone by name: none on njs 0.7.9 (no ngx.shared) nor in the njs CLI (no ngx). */
function sharedDict(name: string): SharedDict | undefined {
  const shared = typeof ngx === 'undefined' ? undefined : (ngx as unknown as { shared?: { [name: string]: SharedDict | undefined } }).shared;
  return shared === undefined ? undefined : shared[name];
}





/** An Exchange over one request: its methods live on one shared object made once per module
 *  instance, and each request's exchange only points at its `r` (a closure per method and
 *  request costs QuickJS about 3,500 instructions each). */
interface RequestExchange extends Exchange {
  r: NginxHTTPRequest;
  maxBody: number;
  maxAttackBody: number;
  /** Flags of $api_sessions_facts (see factsOf). */
  more: boolean;
  headers: boolean;
  response: boolean;
}

let exchangeMethods: Exchange | null = null;

function exchangeOf(r: NginxHTTPRequest): RequestExchange {
  if (exchangeMethods === null) exchangeMethods = makeExchangeMethods();
  const ex = Object.create(exchangeMethods) as RequestExchange;
  ex.r = r;
  ex.maxBody = 0;
  ex.maxAttackBody = 0;
  ex.more = false;
  ex.headers = false;
  ex.response = false;
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
    client(this: RequestExchange): Client {
      return {
        ip: this.r.variables.remote_addr || '',
        ua: header(this.r.headersIn['User-Agent']),
        fingerprint: this.more ? this.r.variables.api_sessions_fingerprint : undefined,
      };
    },
    rawRequest(this: RequestExchange) {
      return rawRequest(this.r, this.maxAttackBody);
    },
    inventorySources(this: RequestExchange) {
      return inventorySources(this.r);
    },
    builtinHeadersSent(this: RequestExchange) {
      return this.headers;
    },
    builtinResponseSent(this: RequestExchange) {
      return this.response;
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

function rawRequest(r: NginxHTTPRequest, maxBody: number): RawRequest {
  const headers: Array<[string, string]> = [];
  const raw = r.rawHeadersIn as unknown as Array<[string, string]>;
  for (let i = 0; i < raw.length && i < 256; i++) headers.push([String(raw[i][0]), String(raw[i][1])]);
  const body = requestBody(r, 16 * 1024 * 1024);
  let text = body.text;
  if (text !== null && text.length > maxBody + 1) text = text.slice(0, maxBody + 1); // requestContent marks the cut
  return { line: r.variables.request || '', headers, body: text };
}

function inventorySources(r: NginxHTTPRequest): InventorySources {
  const raw = r.rawHeadersIn as unknown as Array<[string, string]>;
  const requestLines: Array<[string, string]> = [];
  for (let i = 0; i < raw.length && i < 128; i++) requestLines.push([String(raw[i][0]), String(raw[i][1])]);
  return { requestLines, responseHeaderNames: Object.keys(r.headersOut) };
}

/** The part of a record whose pipeline threw: grouped by the client's address, naming the
 *  failure, so that the request still appears in its session list. */
function failedRecord(r: NginxHTTPRequest, errors: string[], e: unknown): string {
  const message = 'internal: ' + String((e as Error).message || e);
  try {
    r.error('api_sessions: record failed: ' + message);
    const v = r.variables;
    const elapsed = Number(v.request_time);
    return failedFields(nowMs(r), Math.round(elapsed * 1000) || 0, secretOf(r), v.api_sessions_app_value || '', v.remote_addr || '',
      errors.slice(0, 15).concat([message]));
  } catch (e2) {
    return '"errors":' + JSON.stringify([message]);
  }
}
