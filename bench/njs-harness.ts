/**
 * Runs the module's handlers in the njs CLI on request objects made of plain values, for
 * bench/instructions.ts to count the instructions they cost under valgrind. Not part of the
 * bundle nginx loads.
 */
import handlers from '../src/njs/index';
import type { HarnessScenario } from './harness-scenario';
import { withNginxFacts } from '../test/helpers/nginx-facts';

declare const print: (s: string) => void;

function request(s: HarnessScenario, i: number): unknown {
  const headersIn: { [name: string]: string } = {};
  const raw: Array<[string, string]> = [];
  const names = Object.keys(s.headers);
  for (let k = 0; k < names.length; k++) {
    // nginx's headersIn is case-insensitive: offer the names as sent and lowercased
    headersIn[names[k]] = s.headers[names[k]];
    headersIn[names[k].toLowerCase()] = s.headers[names[k]];
    raw.push([names[k], s.headers[names[k]]]);
  }
  const body = s.responseBody;
  const headersOut: { [name: string]: string } = body === undefined ? {} : { 'Content-Type': 'application/json', 'Content-Length': String(body.length) };
  return {
    method: s.method,
    variables: withNginxFacts({
      api_sessions_params: s.sameText || i % 2 === 0 ? s.params : s.params + ';',
      api_sessions_secret: 'bench-secret',
      api_sessions_response_body: body === undefined ? '' : '1',
      host: '127.0.0.1',
      request_uri: s.uri,
      request: s.method + ' ' + s.uri + ' HTTP/1.1',
      status: '200',
      request_time: '0.001',
      bytes_sent: '620',
      request_id: 'cea26e5ee6d9bdc0ee149b5c36480a7' + (i % 10),
      remote_addr: '127.0.0.1',
      msec: '1763900000.250',
      connection: '100',
      connection_requests: '2',
      content_length: s.requestText === undefined ? '' : String(s.requestText.length),
    }, headersIn, headersOut),
    headersIn,
    rawHeadersIn: raw,
    headersOut,
    requestText: s.requestText,
    sendBuffer() {},
    error() {},
    warn() {},
  };
}

function run(s: HarnessScenario, n: number): void {
  let out = '';
  for (let i = 0; i < n; i++) {
    const r = request(s, i) as NginxHTTPRequest;
    if (s.baseline) continue;
    const body = s.responseBody;
    if (body !== undefined) {
      const half = body.length >> 1;
      handlers.body_filter(r, Buffer.from(body.slice(0, half)), { last: false });
      handlers.body_filter(r, Buffer.from(body.slice(half)), { last: true });
    }
    out = handlers.record(r);
  }
  print(out);
}

export default { run };
