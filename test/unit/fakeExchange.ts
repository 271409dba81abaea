/** A fake Exchange of plain values for the unit tests; counts what the pipeline asks for. */
import { Exchange, Body } from '../../src/njs/extract';
import type { Client } from '../../src/njs/identify';
import type { RawRequest } from '../../src/njs/record';

export interface FakeInput {
  headers?: { [lowercaseName: string]: string };
  responseHeaders?: { [lowercaseName: string]: string };
  setCookies?: string[];
  query?: string;
  requestBody?: Partial<Body>;
  responseBody?: Partial<Body>;
  client?: Client;
  raw?: RawRequest;
}

export interface Fake extends Exchange {
  calls: { [what: string]: number };
}

export function fake(input: FakeInput): Fake {
  const calls: { [what: string]: number } = {};
  const count = (what: string) => {
    calls[what] = (calls[what] || 0) + 1;
  };
  const body = (b: Partial<Body> | undefined): Body => ({
    text: b && b.text !== undefined ? b.text : null,
    unread: b && b.unread !== undefined ? b.unread : null,
    contentType: b ? b.contentType : undefined,
  });
  return {
    calls,
    client() {
      count('client');
      return input.client || { ip: '203.0.113.9', ua: 'Mozilla/5.0', fingerprint: undefined };
    },
    rawRequest() {
      count('rawRequest');
      return input.raw || { line: 'GET / HTTP/1.1', headers: [], body: null };
    },
    inventorySources() {
      count('inventorySources');
      return { requestLines: [], responseHeaderNames: [] };
    },
    requestHeader(name) {
      count('requestHeader:' + name);
      const h = input.headers || {};
      return Object.prototype.hasOwnProperty.call(h, name) ? h[name] : undefined;
    },
    responseHeader(name) {
      count('responseHeader:' + name);
      const h = input.responseHeaders || {};
      return Object.prototype.hasOwnProperty.call(h, name) ? h[name] : undefined;
    },
    setCookies() {
      count('setCookies');
      return input.setCookies || [];
    },
    query() {
      count('query');
      return input.query || '';
    },
    requestBody() {
      count('requestBody');
      return body(input.requestBody);
    },
    responseBody() {
      count('responseBody');
      return body(input.responseBody);
    },
  };
}

export function b64url(s: string): string {
  return Buffer.from(s, 'utf8').toString('base64url');
}

/** An unsigned-looking JWT with the given claims (the signature is never checked). */
export function jwt(claims: unknown): string {
  return b64url('{"alg":"HS256","typ":"JWT"}') + '.' + b64url(JSON.stringify(claims)) + '.c2ln';
}
