/** The record (src/njs/record.ts): buildRecord with plain facts and a fake exchange. */
import { createHmac } from 'crypto';
import { readFileSync } from 'fs';
import { join } from 'path';
import { recordProblem } from '../../src/console/ingest/parse';
import { sessionId } from '../../src/njs/identify';
import { buildConfig } from '../../src/njs/config';
import { RawRequest, attackTypes, redact, requestContent, isoTime } from '../../src/njs/record';
import { buildRecord, LineFacts as RequestFacts } from '../helpers/record-line';
import { RECORD_VERSION, SessionRecord } from '../../src/shared/record';
import { fake, FakeInput, jwt } from './fakeExchange';

const SECRET = 'unit-test-secret';

function hmac32(data: string, secret: string = SECRET): string {
  return createHmac('sha256', secret).update(data).digest('hex').slice(0, 32);
}
const vhash = (v: string) => hmac32('v\n' + v);
const sid = (app: string, v: string) => hmac32('s\n' + app + '\n' + v);

function facts(over: Partial<RequestFacts> = {}): RequestFacts {
  return {
    startMs: Date.UTC(2024, 2, 1, 12, 30, 45, 123),
    app: 'shop.example',
    host: 'shop.example',
    method: 'GET',
    requestUri: '/api/items?token=abc',
    status: 200,
    durationMs: 12,
    bytesSent: 345,
    requestId: 'req-1',
    client: { ip: '203.0.113.9', ua: 'Mozilla/5.0', fingerprint: undefined },
    attack: '',
    secret: SECRET,
    ...over,
  };
}

interface Run {
  record: SessionRecord;
  json: string;
  rawCalls: number;
}

function run(opts: { params?: string; extra?: string; maxValue?: string; maxAttackBody?: string; input?: FakeInput; facts?: Partial<RequestFacts>; raw?: RawRequest }): Run {
  const config = buildConfig({ params: opts.params, extraParams: opts.extra, maxValue: opts.maxValue, maxAttackBody: opts.maxAttackBody });
  let rawCalls = 0;
  const raw = opts.raw || { line: 'GET / HTTP/1.1', headers: [], body: null };
  const record = buildRecord(facts(opts.facts), config, fake(opts.input || {}), () => {
    rawCalls++;
    return raw;
  }, []);
  const json = JSON.stringify(record);
  // one line of valid JSON that reads back equal
  expect(json.indexOf('\n')).toBe(-1);
  expect(JSON.parse(json)).toEqual(record);
  return { record, json, rawCalls };
}

describe('request facts', () => {
  test('the full shape of a plain record', () => {
    const { record, rawCalls } = run({ facts: { client: { ip: '203.0.113.9', ua: 'UA/1', fingerprint: undefined } } });
    expect(record).toEqual({
      v: RECORD_VERSION,
      ts: '2024-03-01T12:30:45.123Z',
      app: 'shop.example',
      session: sid('shop.example', '\u0001203.0.113.9\u001fUA/1'),
      part: '2024-03-01',
      key: 'ip+ua',
      key_source: 'fallback',
      request_id: 'req-1',
      method: 'GET',
      host: 'shop.example',
      path: '/api/items',
      status: 200,
      duration_ms: 12,
      bytes_sent: 345,
      ip: '203.0.113.9',
      ua: 'UA/1',
      params: {},
      user: null,
      role: null,
      attack: null,
      request: null,
      errors: [],
      links: [],
    });
    expect(rawCalls).toBe(0);
    expect(RECORD_VERSION).toBe(1);
  });

  test('path never holds the query string', () => {
    expect(run({ facts: { requestUri: '/a/b?x=1&secret=s?t' } }).record.path).toBe('/a/b');
    expect(run({ facts: { requestUri: '/plain' } }).record.path).toBe('/plain');
    expect(run({ facts: { requestUri: '/?q' } }).record.path).toBe('/');
  });

  test('part is the UTC date of the start, across midnight', () => {
    const before = run({ facts: { startMs: Date.UTC(2024, 11, 31, 23, 59, 59, 999) } }).record;
    const after = run({ facts: { startMs: Date.UTC(2025, 0, 1, 0, 0, 0, 0) } }).record;
    expect(before.part).toBe('2024-12-31');
    expect(before.ts).toBe('2024-12-31T23:59:59.999Z');
    expect(after.part).toBe('2025-01-01');
    expect(after.ts).toBe('2025-01-01T00:00:00.000Z');
    // same grouping value: same session id on both days
    expect(before.session).toBe(after.session);
  });

  test('an empty User-Agent is null and the IP alone groups', () => {
    const r = run({ facts: { client: { ip: '10.0.0.1', ua: '', fingerprint: undefined } } }).record;
    expect(r.ua).toBeNull();
    expect(r.key).toBe('ip');
    expect(r.session).toBe(sid('shop.example', '\u000110.0.0.1'));
  });

  test('the fingerprint joins the fallback', () => {
    const r = run({ facts: { client: { ip: '10.0.0.1', ua: 'UA', fingerprint: 'ja4x' } } }).record;
    expect(r.key).toBe('ip+ua+fingerprint');
    expect(r.session).toBe(sid('shop.example', '\u000110.0.0.1\u001fUA\u001fja4x'));
  });
});

describe('params', () => {
  test('present params exported by name, absent and empty ones left out', () => {
    const r = run({
      params: 'request.query.page; request.header.x-tenant as tenant; request.query.none; request.query.empty; request.body.json.items[0].id',
      input: { query: 'page=3&empty=', headers: { 'x-tenant': 'acme' }, requestBody: { text: '{"items":[{"id":99}]}', contentType: 'application/json' } },
    }).record;
    expect(r.params).toEqual({ 'request.query.page': '3', tenant: 'acme', 'request.body.json.items[0].id': '99' });
    expect(r.errors).toEqual([]);
  });

  test('hash params: keyed hash only, the raw value nowhere', () => {
    const email = 'alice@example.com';
    const { record, json } = run({ params: 'request.body.form.email hash', input: { requestBody: { text: 'email=' + encodeURIComponent(email) } } });
    expect(record.params).toEqual({ 'request.body.form.email': vhash(email) });
    expect(record.params['request.body.form.email']).toMatch(/^[0-9a-f]{32}$/);
    expect(json).not.toContain(email);
    expect(json).not.toContain(encodeURIComponent(email));
  });

  test('group params: the session id the key gives, over app and value; raw value nowhere', () => {
    const token = 'grp-token-7f3a9c';
    const { record, json } = run({ params: 'request.header.x-session group', input: { headers: { 'x-session': token } } });
    expect(record.key).toBe('request.header.x-session');
    expect(record.key_source).toBe('params');
    expect(record.session).toBe(sid('shop.example', token));
    expect(record.params).toEqual({ 'request.header.x-session': sid('shop.example', token) });
    expect(record.params['request.header.x-session']).not.toBe(vhash(token));
    expect(json).not.toContain(token);
  });

  test('a hashed value hashes the same across apps, while the session (and a group param) differs', () => {
    const params = 'request.query.k group; request.query.k hash as hk';
    const a = run({ params, input: { query: 'k=v123' }, facts: { app: 'a' } }).record;
    const b = run({ params, input: { query: 'k=v123' }, facts: { app: 'b' } }).record;
    expect(a.params.hk).toBe(vhash('v123'));
    expect(b.params.hk).toBe(vhash('v123'));
    expect(a.params['request.query.k']).toBe(a.session);
    expect(b.params['request.query.k']).toBe(b.session);
    expect(a.session).not.toBe(b.session);
    expect(a.session).toBe(sid('a', 'v123'));
    expect(b.session).toBe(sid('b', 'v123'));
  });

  test('two grouping keys: the second one\'s param is the id in links', () => {
    const { record } = run({
      params: 'request.cookie.a group; request.header.x-b group',
      input: { headers: { cookie: 'a=first-key-1', 'x-b': 'second-key-2' } },
    });
    expect(record.session).toBe(sid('shop.example', 'first-key-1'));
    expect(record.params['request.cookie.a']).toBe(record.session);
    expect(record.params['request.header.x-b']).toBe(sid('shop.example', 'second-key-2'));
    expect(record.links).toEqual([sid('shop.example', 'second-key-2')]);
  });

  test('a combined group key: hash of the joined value; neither part appears', () => {
    const { record, json } = run({
      params: 'request.header.x-tenant+request.cookie.uid group as tu',
      input: { headers: { 'x-tenant': 'tenant-alpha', cookie: 'uid=user-0042' } },
    });
    expect(record.key).toBe('tu');
    expect(record.params).toEqual({ tu: sid('shop.example', 'tenant-alpha\u001fuser-0042') });
    expect(record.session).toBe(sid('shop.example', 'tenant-alpha\u001fuser-0042'));
    expect(json).not.toContain('tenant-alpha');
    expect(json).not.toContain('user-0042');
  });

  test('a grouping value never appears, even when another plain param reads it', () => {
    const token = 'Zk9wQ2xhc3NpY1Rva2VuMTIz';
    const { record, json } = run({
      params: 'request.query.access_token',
      input: { headers: { authorization: 'Bearer ' + token }, query: 'access_token=' + token },
    });
    expect(record.key).toBe('request.header.authorization');
    expect(record.session).toBe(sid('shop.example', token));
    expect(json).not.toContain(token);
    expect(record.params['request.query.access_token']).toBe(vhash(token));
  });

  test('user and role: the first present one wins; hashed when marked hash', () => {
    const r = run({
      params: 'request.query.u1 user; request.header.authorization.jwt.details.username user; request.header.authorization.jwt.role role; request.query.r2 role hash',
      input: { headers: { authorization: 'Bearer ' + jwt({ details: { username: 'ann' }, role: 'admin' }) }, query: 'r2=ops' },
    }).record;
    expect(r.user).toBe('ann');
    expect(r.role).toBe('admin');
    const h = run({ params: 'request.query.u user hash', input: { query: 'u=bob' } });
    expect(h.record.user).toBe(vhash('bob'));
    expect(h.json).not.toContain('bob');
    const none = run({ params: 'request.query.u user' }).record;
    expect(none.user).toBeNull();
    expect(none.role).toBeNull();
  });

  test('a value longer than maxValue is cut with an error', () => {
    const long = 'x'.repeat(30) + 'TAIL';
    const r = run({ params: 'request.query.v as v', maxValue: '10', input: { query: 'v=' + long } }).record;
    expect(r.params.v).toBe('x'.repeat(10));
    expect(r.errors).toEqual(['params.v: value cut at 10 characters']);
  });

  test('a hashed value is hashed whole, not cut', () => {
    const long = 'y'.repeat(50);
    const r = run({ params: 'request.query.v hash as v', maxValue: '10', input: { query: 'v=' + long } }).record;
    expect(r.params.v).toBe(vhash(long));
    expect(r.errors).toEqual([]);
  });

  test('names such as __proto__ and constructor are ordinary record names', () => {
    const { record, json } = run({
      params: 'request.query.a as __proto__; request.query.b as constructor',
      input: { query: 'a=1&b=2' },
    });
    expect(Object.keys(record.params).sort()).toEqual(['__proto__', 'constructor']);
    expect(JSON.parse(json).params).toEqual(JSON.parse('{"__proto__":"1","constructor":"2"}'));
  });
});

describe('errors', () => {
  test('config errors come first, prefixed', () => {
    const r = run({ params: 'request.nope.x; request.query.a', input: { query: 'a=1' } }).record;
    expect(r.params).toEqual({ 'request.query.a': '1' });
    expect(r.errors.length).toBe(1);
    expect(r.errors[0]).toMatch(/^config: \$api_sessions_params entry 1 "request\.nope\.x": unknown selector/);
  });

  test('bounded to 16 in all', () => {
    const entries: string[] = [];
    const pairs: string[] = [];
    for (let i = 0; i < 10; i++) entries.push('bad.sel' + i);
    for (let i = 0; i < 10; i++) {
      entries.push('request.query.p' + i);
      pairs.push('p' + i + '=%zz');
    }
    const r = run({ params: entries.join(';'), extra: 'request.query.long', maxValue: '1', input: { query: pairs.join('&') + '&long=abc' } }).record;
    expect(r.errors.length).toBe(16);
    expect(r.errors.slice(0, 10).every((e) => e.startsWith('config: '))).toBe(true);
    expect(r.errors[10]).toBe('request.query.p0: invalid percent-encoding');
  });

  test('bad inputs still give a full record with errors', () => {
    const r = run({
      params: 'request.body.json.user.id; request.header.authorization.jwt.sub; request.query.q; request.cookie.c',
      input: {
        headers: { authorization: 'Bearer x.!!!.y', cookie: 'c=1; c=2' },
        query: 'q=%E0%A4%A',
        requestBody: { text: '{"user": {"id": 1,,}', contentType: 'application/json' },
      },
    }).record;
    expect(r.params).toEqual({ 'request.cookie.c': '1' });
    expect(r.errors.length).toBe(4);
    expect(r.errors[0]).toMatch(/^request\.body\.json: not valid JSON/);
    expect(r.errors.slice(1)).toEqual([
      'request.header.authorization.jwt.sub: JWT payload is not base64url',
      'request.query.q: invalid percent-encoding',
      'request.cookie.c: sent more than once; the first is used',
    ]);
    expect(r.key).toBe('request.header.authorization');
  });
});

describe('attack marking and request content', () => {
  const sessionToken = 'sessTok9f8e7d6c5b4a3921';
  const bearer = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1LTEifQ.sig4a8b';
  const basicCreds = Buffer.from('mallory:s3cr3t:pw').toString('base64');

  function attackRun(over: { params?: string; raw?: Partial<RawRequest>; input?: FakeInput; attack?: string; maxAttackBody?: string } = {}) {
    const raw: RawRequest = {
      line: "GET /search?q=%27+OR+1%3D1--&sid=" + sessionToken + ' HTTP/1.1',
      headers: [
        ['Host', 'shop.example'],
        ['Cookie', 'PHPSESSID=' + sessionToken + "; theme=dark; note=' OR 1=1--; tracker=abcdefgh12345678"],
        ['Authorization', 'Bearer ' + bearer],
        ['X-Api-Key', 'key-0123456789'],
        ['User-Agent', 'sqlmap/1.7'],
      ],
      body: "name=' OR 1=1--&again=" + sessionToken,
      ...over.raw,
    };
    return run({
      params: over.params,
      maxAttackBody: over.maxAttackBody,
      input: over.input || { headers: { cookie: 'PHPSESSID=' + sessionToken, authorization: 'Bearer ' + bearer } },
      facts: { attack: over.attack === undefined ? 'sqli, xss ,sqli' : over.attack, requestUri: '/search?q=%27+OR+1%3D1--' },
      raw,
    });
  }

  test('attack types are listed once each; the request content is recorded', () => {
    const { record, rawCalls } = attackRun();
    expect(rawCalls).toBe(1);
    expect(record.attack).toEqual(['sqli', 'xss']);
    expect(record.request).not.toBeNull();
    expect(record.key).toBe('request.cookie.PHPSESSID');
    expect(record.session).toBe(sid('shop.example', sessionToken));
  });

  test('the grouping token, Authorization credentials and long token-like cookies never appear', () => {
    const { record, json } = attackRun();
    expect(json).not.toContain(sessionToken);
    expect(json).not.toContain(bearer);
    expect(json).not.toContain('key-0123456789');
    expect(json).not.toContain('abcdefgh12345678');
    const req = record.request!;
    expect(req.line).toBe("GET /search?q=%27+OR+1%3D1--&sid=[hmac:" + vhash(sessionToken) + '] HTTP/1.1');
    expect(req.headers[0]).toEqual(['Host', 'shop.example']);
    expect(req.headers[2]).toEqual(['Authorization', 'Bearer [hmac:' + vhash(bearer) + ']']);
    expect(req.headers[3]).toEqual(['X-Api-Key', '[hmac:' + vhash('key-0123456789') + ']']);
    expect(req.headers[4]).toEqual(['User-Agent', 'sqlmap/1.7']);
    expect(req.body).toBe("name=' OR 1=1--&again=[hmac:" + vhash(sessionToken) + ']');
    expect(req.truncated).toBe(false);
  });

  test("the attack payload stays readable: ' OR 1=1-- in query, cookie and body", () => {
    const { record } = attackRun();
    const req = record.request!;
    expect(req.line).toContain('q=%27+OR+1%3D1--');
    const cookie = req.headers[1][1];
    expect(cookie).toContain("note=' OR 1=1--");
    expect(cookie).toContain('theme=dark');
    expect(cookie).toContain('PHPSESSID=[hmac:' + vhash(sessionToken) + ']');
    expect(cookie).toContain('tracker=[hmac:' + vhash('abcdefgh12345678') + ']');
    expect(req.body).toContain("name=' OR 1=1--");
  });

  test('Basic credentials: never the password, nor the base64 text', () => {
    const { record, json } = attackRun({
      input: { headers: { authorization: 'Basic ' + basicCreds } },
      raw: { headers: [['Authorization', 'Basic ' + basicCreds]], line: 'GET / HTTP/1.1', body: null },
    });
    expect(record.key).toBe('request.header.authorization');
    expect(json).not.toContain('s3cr3t');
    expect(json).not.toContain(basicCreds);
    expect(json).not.toContain('mallory');
    expect(record.request!.headers).toEqual([['Authorization', 'Basic [hmac:' + vhash(basicCreds) + ']']]);
  });

  test('a hashed or grouping param value is hidden wherever it appears, percent-encoded too', () => {
    const secretValue = 'a b+c/d=ef';
    const { json, record } = attackRun({
      params: 'request.query.k group; request.body.json.email hash',
      input: { query: 'k=' + encodeURIComponent(secretValue), requestBody: { text: '{"email":"eve@example.org"}', contentType: 'application/json' } },
      raw: {
        line: 'GET /x?k=' + encodeURIComponent(secretValue) + ' HTTP/1.1',
        headers: [['X-Echo', secretValue]],
        body: '{"email":"eve@example.org","q":"\' OR 1=1--"}',
      },
    });
    expect(json).not.toContain(secretValue);
    expect(json).not.toContain(encodeURIComponent(secretValue));
    expect(json).not.toContain('eve@example.org');
    expect(record.request!.line).toBe('GET /x?k=[hmac:' + vhash(secretValue) + '] HTTP/1.1');
    expect(record.request!.body).toBe('{"email":"[hmac:' + vhash('eve@example.org') + ']","q":"\' OR 1=1--"}');
  });

  test('a token cut at the body limit does not leave a prefix behind', () => {
    const token = 'Q7pLm2Xv9RtK4wYb8NcZ';
    const body = 'p=' + 'x'.repeat(88) + token; // the limit (100) cuts the token after 10 characters
    const { record, json } = attackRun({ maxAttackBody: '100', raw: { line: 'POST / HTTP/1.1', headers: [], body } , input: { headers: { 'x-session-id': token } } });
    expect(record.key).toBe('request.header.x-session-id');
    expect(record.request!.truncated).toBe(true);
    expect(json).not.toContain(token.slice(0, 10));
  });

  test('a body the glue already cut at maxAttackBody + 1 through a token leaves no prefix', () => {
    const token = 'Hh3Jk5Lm7Nn9Pq1Rs3Tu';
    const full = 'p=' + 'x'.repeat(88) + token;
    const { record, json } = attackRun({ maxAttackBody: '100', raw: { line: 'POST / HTTP/1.1', headers: [], body: full.slice(0, 101) }, input: { headers: { 'x-session-id': token } } });
    expect(record.request!.body).toBe('p=' + 'x'.repeat(88));
    expect(json).not.toContain(token.slice(0, 4));
  });

  test('a cut that meets no secret keeps the whole limit', () => {
    const { record } = attackRun({ maxAttackBody: '10', raw: { body: 'abcdefghijklmnop' }, input: { headers: { 'x-session-id': 'zzzzzzzz' } } });
    expect(record.request!.body).toBe('abcdefghij');
  });

  test('a token cut at the header value limit does not leave a prefix behind', () => {
    const token = 'W3eR5tY7uI9oP1aS2dF4';
    const value = 'z'.repeat(1014) + token; // cut at 1024
    const { record, json } = attackRun({ raw: { line: 'GET / HTTP/1.1', headers: [['X-Forwarded-Data', value]], body: null }, input: { headers: { 'x-session-id': token } } });
    expect(record.request!.truncated).toBe(true);
    expect(json).not.toContain(token.slice(0, 10));
  });

  test('the body is cut at maxAttackBody and marked truncated', () => {
    const { record } = attackRun({ maxAttackBody: '20', raw: { body: "q=' OR 1=1--" + 'A'.repeat(100) } });
    expect(record.request!.body).toBe("q=' OR 1=1--AAAAAAAA");
    expect(record.request!.truncated).toBe(true);
  });

  test('a body nginx did not keep is null', () => {
    expect(attackRun({ raw: { body: null } }).record.request!.body).toBeNull();
  });

  test('no attack, no content, and readRaw is not called', () => {
    const { record, rawCalls } = attackRun({ attack: '' });
    expect(record.attack).toBeNull();
    expect(record.request).toBeNull();
    expect(rawCalls).toBe(0);
  });

  test('an attack value of only separators is no attack', () => {
    expect(attackRun({ attack: ' , ,' }).record.attack).toBeNull();
  });
});

describe('helpers', () => {
  test('attackTypes', () => {
    expect(attackTypes('')).toBeNull();
    expect(attackTypes('sqli')).toEqual(['sqli']);
    expect(attackTypes(' a ,b,, a ')).toEqual(['a', 'b']);
    const many = Array.from({ length: 20 }, (_, i) => 't' + i).join(',');
    expect(attackTypes(many)!.length).toBe(16);
  });

  test('redact replaces plain and percent-encoded forms and skips values shorter than 4', () => {
    expect(redact('a=tok/en&b=tok%2Fen', ['tok/en'], SECRET)).toBe('a=[hmac:' + vhash('tok/en') + ']&b=[hmac:' + vhash('tok/en') + ']');
    expect(redact('id=abc', ['abc'], SECRET)).toBe('id=abc');
  });

  test('requestContent: at most 64 headers', () => {
    const headers: Array<[string, string]> = [];
    for (let i = 0; i < 70; i++) headers.push(['X-H' + i, 'v']);
    const c = requestContent({ line: 'GET / HTTP/1.1', headers, body: null }, [], SECRET, 100);
    expect(c.headers.length).toBe(64);
    expect(c.truncated).toBe(true);
  });

  test('requestContent: session headers are hidden whatever their case', () => {
    const c = requestContent({ line: 'GET / HTTP/1.1', headers: [['x-AUTH-token', 'abc']], body: null }, [], SECRET, 100);
    expect(c.headers).toEqual([['x-AUTH-token', '[hmac:' + vhash('abc') + ']']]);
  });
});

test('isoTime (the time memo where module state lives on) writes what toISOString writes, also within one second and around its edges', () => {
  const times = [1763900000250, 1763900000251, 1763900000999, 1763900001000, 1763900001007, 1763900000000, 0, 999, 1000,
    Date.UTC(2026, 0, 31, 23, 59, 59, 999), Date.UTC(2026, 1, 1), 253402300799999, 1763900000250.6];
  for (const t of times.concat(times.slice().reverse())) expect(isoTime(t)).toBe(new Date(t).toISOString());
  expect(isoTime(-1)).toBe(new Date(-1).toISOString());
  expect(() => isoTime(NaN)).toThrow(RangeError);
});

test("docs/record.md's example is a record the module would write: valid, its session and its grouping key's value computed from the stated secret, application and token", () => {
  const doc = readFileSync(join(__dirname, '..', '..', 'docs', 'record.md'), 'utf8');
  const example = doc.slice(doc.indexOf('## Example'), doc.indexOf('## Fields'));
  const stated = /returned the token `([^`]+)`.*?the secret `([^`]+)`,\s+the application `([^`]+)`/s.exec(example)!;
  const [, token, secret, app] = stated;
  const r = JSON.parse(/```json\n([\s\S]*?)```/.exec(example)![1]);
  expect(recordProblem(r)).toBeNull();
  expect(r.app).toBe(app);
  expect(r.session).toBe(sessionId(secret, app, token));
  expect(r.params[r.key]).toBe(r.session);
  expect(JSON.stringify(r)).not.toContain(token);
});

test("the include's log_format writes the record version the contract declares", () => {
  const conf = readFileSync(join(__dirname, '..', '..', 'nginx', 'api_sessions.conf'), 'utf8');
  const m = /log_format api_sessions escape=none '\{"v":(\d+),/.exec(conf);
  expect(m).not.toBeNull();
  expect(Number(m![1])).toBe(RECORD_VERSION);
});
