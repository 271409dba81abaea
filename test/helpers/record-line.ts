/**
 * A whole record line from plain request facts, for the unit tests: the part nginx writes (as
 * nginx/api_sessions.conf's log_format writes it for plain texts) followed by the module's part
 * (src/njs/record.ts buildRecord), parsed back into a record.
 */
import { buildRecord as buildPart, RequestFacts, RawRequest } from '../../src/njs/record';
import type { Config } from '../../src/njs/config';
import type { Exchange } from '../../src/njs/extract';
import type { Client } from '../../src/njs/identify';
import type { InventorySources } from '../../src/njs/discover';
import { RECORD_VERSION, SessionRecord } from '../../src/shared/record';

/** What a test says about a request: the module's facts and what nginx writes itself. */
export interface LineFacts {
  startMs: number;
  durationMs: number;
  app: string;
  requestId: string;
  attack: string;
  secret: string;
  host: string;
  method: string;
  /** $request_uri: path and query as the client sent them. */
  requestUri: string;
  status: number;
  bytesSent: number;
  client: Client;
  blocked?: boolean;
  replacedText?: boolean;
}

/** nginx's part of the line: `{"v":1,...,"ua":...,` (the include's log_format). */
export function nginxPart(f: LineFacts): string {
  const q = f.requestUri.indexOf('?');
  return '{"v":' + RECORD_VERSION + ',"request_id":' + JSON.stringify(f.requestId) + ',"method":' + JSON.stringify(f.method) +
    ',"status":' + f.status + ',"bytes_sent":' + f.bytesSent + ',"ip":' + JSON.stringify(f.client.ip) +
    ',"app":' + JSON.stringify(f.app) + ',"host":' + JSON.stringify(f.host) + ',"path":' + JSON.stringify(q < 0 ? f.requestUri : f.requestUri.slice(0, q)) +
    ',"ua":' + (f.client.ua === undefined || f.client.ua === '' ? 'null' : JSON.stringify(f.client.ua)) + ',';
}

/** The record line's text. `readRaw` answers rawRequest(), `discover` (when given) lists the
 *  inventory's sources and samples the request. */
export function recordText(f: LineFacts, config: Config, ex: Exchange, readRaw: () => RawRequest, errors: string[], discover?: (() => InventorySources) | null): string {
  const facts: RequestFacts = {
    startMs: f.startMs,
    durationMs: f.durationMs,
    app: f.app,
    requestId: f.requestId,
    attack: f.attack,
    secret: f.secret,
    discover: discover !== undefined && discover !== null,
    blocked: f.blocked === true,
    replacedText: f.replacedText === true,
    more: true,
    headers: true,
    response: true,
  };
  const whole: Exchange = {
    ...ex,
    client: () => f.client,
    rawRequest: readRaw,
    inventorySources: discover || (() => ({ requestLines: [], responseHeaderNames: [] })),
  };
  return nginxPart(f) + buildPart(facts, config, whole, errors) + '}';
}

/** The record, parsed from its line. */
export function buildRecord(f: LineFacts, config: Config, ex: Exchange, readRaw: () => RawRequest, errors: string[], discover?: (() => InventorySources) | null): SessionRecord {
  return JSON.parse(recordText(f, config, ex, readRaw, errors, discover));
}
