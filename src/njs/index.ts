/**
 * The handlers nginx calls (nginx/api_sessions.conf, nginx/api_sessions_response.conf), and the
 * quick path: a request for which nothing is configured and whose session the built-in cookie
 * or the client's address decides gets its record here, from one variable, one header and one
 * HMAC. Everything else goes to the full pipeline (pipeline.ts: config -> extract -> identify ->
 * record), which writes the same text for these requests (test/unit/quick.test.ts) and is made
 * only when a request needs it (full-pipeline.ts).
 *
 * - record:      js_set $api_sessions_record (log time): the session's part of the record line.
 * - text:        js_set $api_sessions_text_escaped (log time): app, host, path and ua as JSON, for
 *                the rare request whose texts nginx cannot write as they are.
 * - method:      js_set $api_sessions_method_escaped: likewise for a method nginx cannot write.
 * - body_filter: js_body_filter (per location): passes every chunk on at once and unchanged.
 * - blocked:     js_set $api_sessions_blocked_check (request phase): "1" when the request
 *                belongs to a blocked session, user or grouping value, else "".
 * - pull_blocks: js_periodic (njs >= 0.8): the block list pulled from the console.
 */
import { fullPipeline } from './full-pipeline';
import type { PeriodicSession } from './block-pull';
import { header, secretOf } from './request';
import { fallbackGrouping, mayHoldBuiltin, plainBuiltinCookie, sessionId } from './identify';
import { hasEncodedName } from './sources/cookies';
import type { KeySource } from '../shared/record';
import { quietRecord } from './record';

export default { record, text, method, body_filter, blocked, pull_blocks };

function record(r: NginxHTTPRequest): string {
  let quick: string | null = null;
  try {
    quick = quickRecord(r);
  } catch (e) {
    // the full pipeline reports what failed
  }
  return quick !== null ? quick : fullPipeline().record(r);
}

function text(r: NginxHTTPRequest): string {
  return fullPipeline().text(r);
}

function method(r: NginxHTTPRequest): string {
  return fullPipeline().method(r);
}

function body_filter(r: NginxHTTPRequest, data: Buffer | string, flags: NginxHTTPSendBufferOptions): void {
  fullPipeline().body_filter(r, data, flags);
}

/** Without a block list (the variable empty) one variable read, and the pipeline is not made. */
function blocked(r: NginxHTTPRequest): string {
  try {
    if (!r.variables.api_sessions_block_list) return '';
  } catch (e) {
    return '';
  }
  return fullPipeline().blocked(r);
}

function pull_blocks(s: PeriodicSession): Promise<void> {
  return fullPipeline().pull_blocks(s);
}

/** What the handlers keep on the request (pipeline.ts): the quick path leaves such requests to it. */
interface Held {
  apiSessionsBlocked?: boolean;
  apiSessionsReplacedText?: boolean;
}

/**
 * The record of a request that nothing configured reads, or null when the full pipeline must
 * write it: a setting other than the secret and the application is set ("+"), the response may
 * hand out a session ("r"), a header of the built-in set may decide it ("h" and no built-in
 * cookie), a cookie name is percent-encoded or more than one built-in cookie may be there, the
 * request was blocked, or a text needed replacing.
 */
function quickRecord(r: NginxHTTPRequest): string | null {
  const held = r as unknown as Held;
  if (held.apiSessionsBlocked === true || held.apiSessionsReplacedText === true) return null;
  const v = r.variables;
  const f = v.api_sessions_facts;
  if (f === undefined) return null;
  // factsLine's format (request.ts), read here without its object: on the njs engine the object
  // cost this path 6,500 instructions per request (bench:probe parts.conf, sid).
  // Flags first ('+', 'h', 'r' in that order): '+' and 'r' need the pipeline.
  let at = 0;
  let c = f.charCodeAt(0);
  if (c === 43) return null;
  const headers = c === 104;
  if (headers) c = f.charCodeAt(++at);
  if (c === 114) return null;
  let key = '';
  let value = '';
  const cookies = r.headersIn.Cookie;
  if (typeof cookies === 'string' && cookies !== '' && (mayHoldBuiltin(cookies, 0) || cookies.indexOf('%') >= 0)) {
    if (hasEncodedName(cookies)) return null;
    const found = plainBuiltinCookie(cookies);
    if (found === undefined) return null;
    if (found !== null) {
      key = 'request.cookie.' + found.name;
      value = found.value;
    }
  }
  let source: KeySource = 'builtin';
  if (key === '') {
    if (headers) return null;
    const g = fallbackGrouping({ ip: v.remote_addr || '', ua: header(r.headersIn['User-Agent']), fingerprint: undefined });
    key = g.key;
    value = g.value;
    source = g.source;
  }
  const space = f.indexOf(' ', at);
  const space2 = f.indexOf(' ', space + 1);
  const elapsed = Number(f.slice(space + 1, space2));
  const app = f.slice(space2 + 1);
  return quietRecord(Math.round((Number(f.slice(at, space)) - elapsed) * 1000), Math.round(elapsed * 1000) || 0,
    sessionId(secretOf(r), app, value), key, source);
}
