/** Extraction (src/njs/extract.ts) against a fake Exchange of plain values. */
import { parseSelector } from '../../src/shared/selector';
import { Limits, DEFAULT_MAX_BODY, DEFAULT_MAX_VALUE, DEFAULT_MAX_ATTACK_BODY } from '../../src/njs/config';
import { fake, Fake, FakeInput, b64url, jwt } from './fakeExchange';
import {
  Extraction,
  startExtraction,
  readSelector,
  report,
  asText,
  MAX_ERRORS,
} from '../../src/njs/extract';

const LIMITS: Limits = { maxBody: DEFAULT_MAX_BODY, maxValue: DEFAULT_MAX_VALUE, maxAttackBody: DEFAULT_MAX_ATTACK_BODY };

function start(input: FakeInput): { st: Extraction; ex: Fake; errors: string[] } {
  const ex = fake(input);
  const errors: string[] = [];
  return { st: startExtraction(ex, LIMITS, errors), ex, errors };
}

/** Reads selectors in order from one exchange; returns their values and the errors. */
function read(input: FakeInput, ...selectors: string[]): { values: Array<string | undefined>; errors: string[]; ex: Fake } {
  const { st, ex, errors } = start(input);
  const values = selectors.map((s) => readSelector(parseSelector(s), st));
  return { values, errors, ex };
}


describe('request headers', () => {
  test('read by lowercase name; absent and empty are undefined', () => {
    const r = read(
      { headers: { 'x-tenant': 'acme', 'x-empty': '' } },
      'request.header.X-Tenant',
      'request.header.x-missing',
      'request.header.x-empty',
    );
    expect(r.values).toEqual(['acme', undefined, undefined]);
    expect(r.errors).toEqual([]);
  });

  test('Authorization yields the credentials without the scheme; Basic only the user', () => {
    const bearer = read({ headers: { authorization: 'Bearer tok-123' } }, 'request.header.authorization');
    expect(bearer.values).toEqual(['tok-123']);
    const basic = read(
      { headers: { authorization: 'Basic ' + Buffer.from('alice:p:w').toString('base64') } },
      'request.header.authorization',
    );
    expect(basic.values).toEqual(['alice']);
    const proxy = read({ headers: { 'proxy-authorization': 'Bearer ptok' } }, 'request.header.proxy-authorization');
    expect(proxy.values).toEqual(['ptok']);
  });

  test('JWT claims of the Authorization header', () => {
    const token = jwt({ sub: 'u-42', details: { username: 'ann', age: 31, admin: true, tags: ['a', 'b'] } });
    const r = read(
      { headers: { authorization: 'Bearer ' + token } },
      'request.header.authorization.jwt.details.username',
      'request.header.authorization.jwt.sub',
      'request.header.authorization.jwt.details.age',
      'request.header.authorization.jwt.details.admin',
      'request.header.authorization.jwt.details.tags',
      'request.header.authorization.jwt.details.tags[1]',
      'request.header.authorization.jwt.missing',
      'request.header.authorization.jwt.constructor',
    );
    expect(r.values).toEqual(['ann', 'u-42', '31', 'true', '["a","b"]', 'b', undefined, undefined]);
    expect(r.errors).toEqual([]);
  });

  test('a broken JWT is absent and one error names the selector', () => {
    const r = read(
      { headers: { authorization: 'Bearer not-a-jwt', 'x-t': 'a.' + b64url('{"x"') + '.s' } },
      'request.header.authorization.jwt.sub',
      'request.header.x-t.jwt.sub',
    );
    expect(r.values).toEqual([undefined, undefined]);
    expect(r.errors).toEqual([
      'request.header.authorization.jwt.sub: not a JWT (expected header.payload.signature)',
      'request.header.x-t.jwt.sub: JWT payload is not JSON',
    ]);
  });

  test('Basic auth read as a JWT is an error, never the password', () => {
    const r = read(
      { headers: { authorization: 'Basic ' + Buffer.from('bob:hunter2').toString('base64') } },
      'request.header.authorization.jwt.sub',
    );
    expect(r.values).toEqual([undefined]);
    expect(r.errors.length).toBe(1);
    expect(r.errors.join()).not.toContain('hunter2');
  });
});

describe('request cookies', () => {
  test('exact names, including dotted ones', () => {
    const r = read(
      { headers: { cookie: 'connect.sid=s%3Aabc; SESSION=S1; session=s2' } },
      'request.cookie.connect.sid',
      'request.cookie.SESSION',
      'request.cookie.session',
      'request.cookie.Session',
    );
    expect(r.values).toEqual(['s:abc', 'S1', 's2', undefined]);
  });

  test('repeated cookie: the first wins, with one error', () => {
    const r = read({ headers: { cookie: 'sid=first; a=1; sid=second; sid=third' } }, 'request.cookie.sid', 'request.cookie.a');
    expect(r.values).toEqual(['first', '1']);
    expect(r.errors).toEqual(['request.cookie.sid: sent more than once; the first is used']);
  });

  test('empty value is absent; no Cookie header is absent', () => {
    expect(read({ headers: { cookie: 'sid=; a=1' } }, 'request.cookie.sid').values).toEqual([undefined]);
    expect(read({}, 'request.cookie.sid').values).toEqual([undefined]);
  });

  test('__proto__ and constructor names do not read prototype properties', () => {
    const r = read({ headers: { cookie: 'a=1' } }, 'request.cookie.__proto__', 'request.cookie.constructor', 'request.cookie.toString');
    expect(r.values).toEqual([undefined, undefined, undefined]);
    const s = read({ headers: { cookie: '__proto__=p; constructor=c' } }, 'request.cookie.__proto__', 'request.cookie.constructor');
    expect(s.values).toEqual(['p', 'c']);
  });

  test('a JWT in a cookie', () => {
    const r = read({ headers: { cookie: 'at=' + jwt({ sub: 'c-1' }) } }, 'request.cookie.at.jwt.sub');
    expect(r.values).toEqual(['c-1']);
  });

  test('the Cookie header is asked for once however many cookies are read', () => {
    const r = read({ headers: { cookie: 'a=1; b=2' } }, 'request.cookie.a', 'request.cookie.b', 'request.cookie.c');
    expect(r.ex.calls['requestHeader:cookie']).toBe(1);
  });
});

describe('query', () => {
  test('decoded values, first wins with an error, empty is absent', () => {
    const r = read(
      { query: 'q=%27+OR+1%3D1--&id=1&id=2&e=&u=%C3%BC' },
      'request.query.q',
      'request.query.id',
      'request.query.e',
      'request.query.u',
      'request.query.none',
    );
    expect(r.values).toEqual(["' OR 1=1--", '1', undefined, 'ü', undefined]);
    expect(r.errors).toEqual(['request.query.id: sent more than once; the first is used']);
  });

  test('invalid percent-encoding: absent with an error; other params still read', () => {
    const r = read({ query: 'bad=%E0%A4%A&nonutf8=%FF%FE&ok=yes' }, 'request.query.bad', 'request.query.nonutf8', 'request.query.ok');
    expect(r.values).toEqual([undefined, undefined, 'yes']);
    expect(r.errors).toEqual([
      'request.query.bad: invalid percent-encoding',
      'request.query.nonutf8: invalid percent-encoding',
    ]);
  });

  test('__proto__ and constructor', () => {
    expect(read({ query: 'a=1' }, 'request.query.__proto__', 'request.query.constructor').values).toEqual([undefined, undefined]);
    expect(read({ query: '__proto__=x&constructor=y' }, 'request.query.__proto__', 'request.query.constructor').values).toEqual([
      'x',
      'y',
    ]);
  });

  test('the query is parsed once', () => {
    const r = read({ query: 'a=1&b=2' }, 'request.query.a', 'request.query.b');
    expect(r.values).toEqual(['1', '2']);
    expect(r.ex.calls['query']).toBe(1);
  });

  test('too many parameters: an error, the first ones are read', () => {
    const pairs: string[] = [];
    for (let i = 0; i < 300; i++) pairs.push('p' + i + '=' + i);
    const r = read({ query: pairs.join('&') }, 'request.query.p0', 'request.query.p299');
    expect(r.values).toEqual(['0', undefined]);
    expect(r.errors).toEqual(['request.query: more parameters than the limit; the rest was not read']);
  });
});

describe('request body: JSON', () => {
  const body = (text: string, contentType: string | undefined = 'application/json'): FakeInput => ({
    requestBody: { text, contentType },
  });

  test('paths, indexes, quoted names, numbers and objects as text', () => {
    const r = read(
      body('{"items":[{"id":7},{"id":"b"}],"odd.name":"o","user":{"n":null,"ok":false},"obj":{"a":[1]}}'),
      'request.body.json.items[0].id',
      'request.body.json.items[1].id',
      'request.body.json["odd.name"]',
      'request.body.json.user.n',
      'request.body.json.user.ok',
      'request.body.json.obj',
      'request.body.json.items[5].id',
    );
    expect(r.values).toEqual(['7', 'b', 'o', undefined, 'false', '{"a":[1]}', undefined]);
    expect(r.errors).toEqual([]);
  });

  test('the body is parsed once for many selectors', () => {
    const r = read(body('{"a":1,"b":2}'), 'request.body.json.a', 'request.body.json.b');
    expect(r.values).toEqual(['1', '2']);
    expect(r.ex.calls['requestBody']).toBe(1);
  });

  test('constructor and __proto__ on {} are absent', () => {
    const r = read(body('{}'), 'request.body.json.constructor', 'request.body.json.__proto__', 'request.body.json.toString');
    expect(r.values).toEqual([undefined, undefined, undefined]);
    expect(r.errors).toEqual([]);
  });

  test('a JSON "__proto__" key is read as an own property, and pollutes nothing', () => {
    const r = read(body('{"__proto__":{"isAdmin":true},"constructor":{"prototype":1}}'), 'request.body.json.__proto__.isAdmin', 'request.body.json.constructor.prototype');
    expect(r.values).toEqual(['true', '1']);
    expect(({} as { isAdmin?: boolean }).isAdmin).toBeUndefined();
  });

  test('malformed JSON: absent, one error for the source', () => {
    const r = read(body('{"a":1,'), 'request.body.json.a', 'request.body.json.b');
    expect(r.values).toEqual([undefined, undefined]);
    expect(r.errors.length).toBe(1);
    expect(r.errors[0]).toBe('request.body.json: not valid JSON');
  });

  test('a body of another type is not parsed as JSON, and that is no error', () => {
    const r = read(body('a=1&b=2', 'application/x-www-form-urlencoded'), 'request.body.json.a', 'request.body.form.a');
    expect(r.values).toEqual([undefined, '1']);
    expect(r.errors).toEqual([]);
    const html = read(body('<html>{"a":1}</html>', 'text/html'), 'request.body.json.a');
    expect(html.values).toEqual([undefined]);
    expect(html.errors).toEqual([]);
  });

  test('a JSON-looking body of another type that does not parse is an error', () => {
    const r = read(body('{not json', 'text/plain'), 'request.body.json.a');
    expect(r.values).toEqual([undefined]);
    expect(r.errors.length).toBe(1);
    expect(r.errors[0]).toMatch(/^request\.body\.json: not valid JSON/);
  });

  test('a JSON body sent as text/plain or without a type is still read', () => {
    expect(read(body('{"a":"x"}', 'text/plain'), 'request.body.json.a').values).toEqual(['x']);
    expect(read(body('[{"a":"y"}]', undefined), 'request.body.json[0].a').values).toEqual(['y']);
    expect(read(body('{"a":"z"}', 'application/vnd.api+json'), 'request.body.json.a').values).toEqual(['z']);
  });

  test('a body without a type that is not JSON is an error', () => {
    const r = read(body('hello', undefined), 'request.body.json.a');
    expect(r.values).toEqual([undefined]);
    expect(r.errors.length).toBe(1);
    expect(r.errors[0]).toMatch(/^request\.body\.json: not valid JSON/);
  });

  test('no body and an empty body: absent without errors', () => {
    expect(read({}, 'request.body.json.a')).toMatchObject({ values: [undefined], errors: [] });
    expect(read(body(''), 'request.body.json.a')).toMatchObject({ values: [undefined], errors: [] });
  });

  test('an unread body (temp file) is reported once', () => {
    const r = read({ requestBody: { unread: 'nginx wrote the body to a temp file' } }, 'request.body.json.a', 'request.body.json.b');
    expect(r.values).toEqual([undefined, undefined]);
    expect(r.errors).toEqual(['request.body: nginx wrote the body to a temp file']);
  });

  test('deep nesting is refused as the njs engine refuses it, whatever the engine', () => {
    const depth = 100000;
    const text = '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
    const r = read(body(text), 'request.body.json.a.a.a', 'request.body.json.b');
    expect(r.values).toEqual([undefined, undefined]);
    expect(r.errors).toEqual(['request.body.json: not valid JSON (nested too deep)']);
    const ok = read(body('{"a":'.repeat(31) + '1' + '}'.repeat(31)), 'request.body.json.a.a.a');
    expect(ok.values).toEqual([JSON.stringify(JSON.parse('{"a":'.repeat(28) + '1' + '}'.repeat(28)))]);
    expect(ok.errors).toEqual([]);
  });

  test('a JWT inside a JSON body', () => {
    // `data.jwt.sub`: the value at `data` is the token, `sub` its claim
    const r = read(
      body(JSON.stringify({ data: jwt({ sub: 'j-1' }), token: 'Bearer ' + jwt({ sub: 'j-2' }), o: { jwt: 'prop' } })),
      'request.body.json.data.jwt.sub',
      'request.body.json.token.jwt.sub',
      'request.body.json.o["jwt"]',
    );
    expect(r.values).toEqual(['j-1', 'j-2', 'prop']);
    expect(r.errors).toEqual([]);
  });

  test('a JWT path on a non-string JSON value is an error', () => {
    const r = read(body('{"data":{"n":5}}'), 'request.body.json.data.n.jwt.sub');
    expect(r.values).toEqual([undefined]);
    expect(r.errors).toEqual(['request.body.json.data.n.jwt.sub: value is not a JWT string']);
  });
});

describe('request body: form', () => {
  test('urlencoded body values', () => {
    const r = read(
      { requestBody: { text: 'user=ann+lee&pw=secret&user=bob', contentType: 'application/x-www-form-urlencoded; charset=utf-8' } },
      'request.body.form.user',
      'request.body.form.missing',
    );
    expect(r.values).toEqual(['ann lee', undefined]);
    expect(r.errors).toEqual(['request.body.form.user: sent more than once; the first is used']);
  });

  test('a body of another type is not read as a form, and that is no error', () => {
    const r = read({ requestBody: { text: 'user=x', contentType: 'application/json' } }, 'request.body.form.user');
    expect(r.values).toEqual([undefined]);
    expect(r.errors).toEqual([]);
  });

  test('no content type: read as a form', () => {
    expect(read({ requestBody: { text: 'a=1' } }, 'request.body.form.a').values).toEqual(['1']);
  });

  test('invalid percent-encoding', () => {
    const r = read({ requestBody: { text: 'a=%zz', contentType: 'application/x-www-form-urlencoded' } }, 'request.body.form.a');
    expect(r.values).toEqual([undefined]);
    expect(r.errors).toEqual(['request.body.form.a: invalid percent-encoding']);
  });

  test('json and form selectors share one body read', () => {
    const r = read({ requestBody: { text: 'a=1', contentType: 'application/x-www-form-urlencoded' } }, 'request.body.form.a', 'request.body.json.a');
    expect(r.values).toEqual(['1', undefined]);
    expect(r.ex.calls['requestBody']).toBe(2);
  });
});

describe('response sources', () => {
  test('response headers, Set-Cookie (last wins) and JSON body', () => {
    const r = read(
      {
        responseHeaders: { 'mcp-session-id': 'm-1' },
        setCookies: ['sid=one; Path=/', 'sid=two; HttpOnly', 'theme=dark'],
        responseBody: { text: '{"data":{"token":"t-9","jwt":"' + jwt({ sub: 'r-1' }) + '"}}', contentType: 'application/json' },
        // data.token.jwt.sub below reads data.token as a JWT: "t-9" is not one
      },
      'response.header.Mcp-Session-Id',
      'response.cookie.sid',
      'response.cookie.theme',
      'response.cookie.__proto__',
      'response.body.json.data.token',
      'response.body.json.data["jwt"].jwt.sub',
      'response.body.json.data["jwt"]',
      'response.body.json.data.token.jwt.sub',
    );
    expect(r.values.slice(0, 6)).toEqual(['m-1', 'two', 'dark', undefined, 't-9', 'r-1']);
    expect(r.values[6]).toMatch(/^eyJ/);
    expect(r.values[7]).toBeUndefined();
    expect(r.errors).toEqual(['response.body.json.data.token.jwt.sub: not a JWT (expected header.payload.signature)']);
  });

  test('an unread response body is reported under response.body', () => {
    const r = read({ responseBody: { unread: 'compressed (Content-Encoding gzip)' } }, 'response.body.json.a');
    expect(r.values).toEqual([undefined]);
    expect(r.errors).toEqual(['response.body: compressed (Content-Encoding gzip)']);
  });

  test('a response body is not read when only request selectors are used', () => {
    const r = read({ query: 'a=1', responseBody: { text: '{}' } }, 'request.query.a');
    expect(r.ex.calls['responseBody']).toBeUndefined();
    expect(r.ex.calls['requestBody']).toBeUndefined();
  });
});

describe('JWT cache and errors', () => {
  test('one token is decoded once for several claims', () => {
    const token = jwt({ a: 1, b: 2 });
    const { st } = start({ headers: { authorization: 'Bearer ' + token } });
    expect(readSelector(parseSelector('request.header.authorization.jwt.a'), st)).toBe('1');
    expect(readSelector(parseSelector('request.header.authorization.jwt.b'), st)).toBe('2');
    expect(st.jwts.length).toBe(1);
    expect(st.jwts[0].token).toBe(token);
  });
});

describe('report', () => {
  test('once per source, bounded to MAX_ERRORS', () => {
    const { st, errors } = start({});
    report(st, 'x', 'one');
    report(st, 'x', 'two');
    expect(errors).toEqual(['x: one']);
    for (let i = 0; i < MAX_ERRORS + 10; i++) report(st, 's' + i, 'm');
    expect(errors.length).toBe(MAX_ERRORS);
    expect(MAX_ERRORS).toBe(16);
  });

  test('many failing selectors give at most 16 errors', () => {
    const selectors: string[] = [];
    const parts: string[] = [];
    for (let i = 0; i < 30; i++) {
      selectors.push('request.query.p' + i);
      parts.push('p' + i + '=%zz');
    }
    const r = read({ query: parts.join('&') }, ...selectors);
    expect(r.values.every((v) => v === undefined)).toBe(true);
    expect(r.errors.length).toBe(16);
    expect(r.errors[0]).toBe('request.query.p0: invalid percent-encoding');
  });
});

describe('asText', () => {
  test.each([
    [undefined, undefined],
    [null, undefined],
    ['', undefined],
    ['x', 'x'],
    [0, '0'],
    [1.5, '1.5'],
    [false, 'false'],
    [{ a: 1 }, '{"a":1}'],
    [[1, 'b'], '[1,"b"]'],
  ])('%j -> %j', (v, expected) => {
    expect(asText(v)).toBe(expected);
  });
});
