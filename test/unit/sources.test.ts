/** The parsers (src/njs/sources/*): cookies, urlencoded, JSON walk, JWT, Authorization. */
import {
  parseCookieHeader,
  parseSetCookies,
  findCookie,
  cookieValueAt,
  cookieValue,
  MAX_COOKIES,
} from '../../src/njs/sources/cookies';
import { parseForm, formValue, decodeComponent, MAX_FORM_PARAMS } from '../../src/njs/sources/urlencoded';
import { walk, isJsonType, parseJson, nestedTooDeep, JSON_DEPTH_LIMIT } from '../../src/njs/sources/json';
import { jwtClaims } from '../../src/njs/sources/jwt';
import { credentials, basicUser } from '../../src/njs/sources/authorization';

function b64url(s: string): string {
  return Buffer.from(s, 'utf8').toString('base64url');
}

function jwt(claims: unknown, header: unknown = { alg: 'HS256', typ: 'JWT' }): string {
  return b64url(JSON.stringify(header)) + '.' + b64url(JSON.stringify(claims)) + '.c2lnbmF0dXJl';
}

/** Looks a request cookie up the way extract.ts does: first occurrence. */
function requestCookie(header: string, name: string): string | undefined {
  const at = findCookie(header, name, 0);
  return at < 0 ? undefined : cookieValueAt(header, at);
}

describe('request cookies (findCookie / cookieValueAt)', () => {
  test('values by exact name', () => {
    const h = 'a=1; connect.sid=s%3Aabc.def; SESSION=upper; session=lower';
    expect(requestCookie(h, 'a')).toBe('1');
    // %XX decoded, as express, PHP, Rack and Tomcat read it
    expect(requestCookie(h, 'connect.sid')).toBe('s:abc.def');
    expect(requestCookie(h, 'SESSION')).toBe('upper');
    expect(requestCookie(h, 'session')).toBe('lower');
    expect(requestCookie(h, 'Session')).toBeUndefined();
    expect(requestCookie(h, 'b')).toBeUndefined();
  });

  test('a name that ends another name, or appears inside a value, is not matched', () => {
    const h = 'xsid=1; data=a sid=2; other=sid=3; sid=4';
    expect(requestCookie(h, 'sid')).toBe('4');
    expect(requestCookie('mysid=1', 'sid')).toBeUndefined();
    expect(requestCookie('a=sid=1', 'sid')).toBeUndefined();
  });

  test('repeated cookie: the first wins and a second occurrence is found after it', () => {
    const h = 'sid=first; x=1; sid=second';
    const at = findCookie(h, 'sid', 0);
    expect(cookieValueAt(h, at)).toBe('first');
    const again = findCookie(h, 'sid', at);
    expect(again).toBeGreaterThan(at);
    expect(cookieValueAt(h, again)).toBe('second');
    expect(findCookie(h, 'sid', again)).toBe(-1);
  });

  test('spaces are trimmed, quotes removed, a trailing "; " (merged headers) is tolerated', () => {
    expect(requestCookie('a=1;   b =x; c= "quoted" ; ', 'c')).toBe('quoted');
    expect(requestCookie('a=1; b=2; ', 'b')).toBe('2');
    // pairs split at ';' only (RFC 6265, as the frameworks read it): `b` is inside a's value
    expect(requestCookie('a=1, b=2', 'b')).toBeUndefined();
    expect(requestCookie('a=1, b=2', 'a')).toBe('1, b=2');
  });

  test('an empty value is an empty string (the extractor treats it as absent)', () => {
    expect(requestCookie('sid=; a=1', 'sid')).toBe('');
    expect(requestCookie('sid=', 'sid')).toBe('');
  });

  test('__proto__ and constructor are looked up as text', () => {
    expect(requestCookie('a=1', '__proto__')).toBeUndefined();
    expect(requestCookie('a=1', 'constructor')).toBeUndefined();
    expect(requestCookie('__proto__=x; constructor=y', '__proto__')).toBe('x');
    expect(requestCookie('__proto__=x; constructor=y', 'constructor')).toBe('y');
  });

  test('a value containing "=" is kept whole', () => {
    expect(requestCookie('t=YWJj==; u=1', 't')).toBe('YWJj==');
  });
});

describe('parseCookieHeader', () => {
  test('first wins, repeated names listed, prototype names are plain keys', () => {
    const jar = parseCookieHeader('a=1; b="two"; a=3; __proto__=p; constructor=c; flag; ');
    expect(cookieValue(jar, 'a')).toBe('1');
    expect(cookieValue(jar, 'b')).toBe('two');
    expect(cookieValue(jar, '__proto__')).toBe('p');
    expect(cookieValue(jar, 'constructor')).toBe('c');
    expect(cookieValue(jar, 'flag')).toBeUndefined();
    expect(cookieValue(jar, 'toString')).toBeUndefined();
    expect(jar.repeated).toEqual(['a']);
    expect(jar.cut).toBe(false);
  });

  test('no prototype property is read from an empty jar', () => {
    const jar = parseCookieHeader('');
    expect(cookieValue(jar, '__proto__')).toBeUndefined();
    expect(cookieValue(jar, 'constructor')).toBeUndefined();
    expect(cookieValue(jar, 'hasOwnProperty')).toBeUndefined();
  });

  test('more cookies than the limit: the rest is not read', () => {
    const pairs: string[] = [];
    for (let i = 0; i < MAX_COOKIES + 5; i++) pairs.push('c' + i + '=' + i);
    const jar = parseCookieHeader(pairs.join('; '));
    expect(jar.cut).toBe(true);
    expect(cookieValue(jar, 'c' + (MAX_COOKIES - 1))).toBe(String(MAX_COOKIES - 1));
    expect(cookieValue(jar, 'c' + MAX_COOKIES)).toBeUndefined();
  });
});

describe('parseSetCookies', () => {
  test('name=value before the first ";", attributes ignored, last line wins', () => {
    const jar = parseSetCookies([
      'sid=abc; Path=/; HttpOnly',
      'theme="dark"',
      'noequals; Path=/',
      'sid=def; Secure',
      '__proto__=x',
    ]);
    expect(cookieValue(jar, 'sid')).toBe('def');
    expect(cookieValue(jar, 'theme')).toBe('dark');
    expect(cookieValue(jar, 'Path')).toBeUndefined();
    expect(cookieValue(jar, 'noequals')).toBeUndefined();
    expect(cookieValue(jar, '__proto__')).toBe('x');
    expect(cookieValue(jar, 'constructor')).toBeUndefined();
    expect(jar.repeated).toEqual(['sid']);
  });

  test('a deleted cookie has an empty value', () => {
    expect(cookieValue(parseSetCookies(['sid=; Max-Age=0']), 'sid')).toBe('');
  });

  test('more lines than the limit', () => {
    const lines: string[] = [];
    for (let i = 0; i < MAX_COOKIES + 1; i++) lines.push('c' + i + '=v');
    const jar = parseSetCookies(lines);
    expect(jar.cut).toBe(true);
    expect(cookieValue(jar, 'c' + MAX_COOKIES)).toBeUndefined();
    expect(cookieValue(jar, 'c0')).toBe('v');
  });
});

describe('urlencoded', () => {
  test('decodes names and values, "+" is a space, first wins and repeats are listed', () => {
    const f = parseForm('a=1&b=hello+world&c=%E2%82%AC%20x&a=2&d&e=&f%5Bx%5D=y');
    expect(formValue(f, 'a')).toBe('1');
    expect(formValue(f, 'b')).toBe('hello world');
    expect(formValue(f, 'c')).toBe('€ x');
    expect(formValue(f, 'd')).toBe('');
    expect(formValue(f, 'e')).toBe('');
    expect(formValue(f, 'f[x]')).toBe('y');
    expect(formValue(f, 'zzz')).toBeUndefined();
    expect(f.repeated).toEqual(['a']);
  });

  test('a value that contains "=" keeps it', () => {
    expect(formValue(parseForm('t=a=b=='), 't')).toBe('a=b==');
  });

  test('an attack payload decodes to its text', () => {
    expect(formValue(parseForm('q=%27+OR+1%3D1--'), 'q')).toBe("' OR 1=1--");
  });

  test('invalid percent-encoding in a value throws URIError only when read', () => {
    const f = parseForm('bad=%E0%A4%A&bad2=%zz&pct=100%&ok=1&nonutf8=%FF');
    expect(formValue(f, 'ok')).toBe('1');
    expect(() => formValue(f, 'bad')).toThrow(URIError);
    expect(() => formValue(f, 'bad2')).toThrow(URIError);
    expect(() => formValue(f, 'pct')).toThrow(URIError);
    expect(() => formValue(f, 'nonutf8')).toThrow(URIError);
  });

  test('a name that does not decode is skipped', () => {
    const f = parseForm('%zz=1&ok=2');
    expect(formValue(f, 'ok')).toBe('2');
    expect(formValue(f, '%zz')).toBeUndefined();
    expect(Object.keys(f.raw)).toEqual(['=ok']);
  });

  test('__proto__ and constructor as names: own keys only, nothing from the prototype', () => {
    const empty = parseForm('a=1');
    expect(formValue(empty, '__proto__')).toBeUndefined();
    expect(formValue(empty, 'constructor')).toBeUndefined();
    expect(formValue(empty, 'toString')).toBeUndefined();
    const f = parseForm('__proto__=x&constructor=y&%5F%5Fproto%5F%5F=z');
    expect(formValue(f, '__proto__')).toBe('x');
    expect(formValue(f, 'constructor')).toBe('y');
    expect(f.repeated).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(f.raw)).toBe(Object.prototype);
  });

  test('empty text and empty pairs', () => {
    expect(parseForm('')).toEqual({ raw: {}, repeated: [], cut: false });
    expect(formValue(parseForm('&&a=1&&'), 'a')).toBe('1');
  });

  test('more pairs than the limit', () => {
    const pairs: string[] = [];
    for (let i = 0; i < MAX_FORM_PARAMS + 2; i++) pairs.push('p' + i + '=' + i);
    const f = parseForm(pairs.join('&'));
    expect(f.cut).toBe(true);
    expect(formValue(f, 'p' + (MAX_FORM_PARAMS - 1))).toBe(String(MAX_FORM_PARAMS - 1));
    expect(formValue(f, 'p' + MAX_FORM_PARAMS)).toBeUndefined();
  });

  test('decodeComponent', () => {
    expect(decodeComponent('a+b%2Bc')).toBe('a b+c');
    expect(decodeComponent('plain')).toBe('plain');
  });
});

describe('json walk', () => {
  const doc = JSON.parse(
    '{"items":[{"id":7},{"id":"x"}],"odd.name":1,"user":{"name":"ann","flags":[true,false],"none":null},"__proto__":{"polluted":"own"},"arr":[[1,2],[3]]}',
  );

  test('properties, indexes and quoted names', () => {
    expect(walk(doc, ['items', 0, 'id'])).toBe(7);
    expect(walk(doc, ['items', 1, 'id'])).toBe('x');
    expect(walk(doc, ['odd.name'])).toBe(1);
    expect(walk(doc, ['user', 'flags', 1])).toBe(false);
    expect(walk(doc, ['arr', 0, 1])).toBe(2);
    expect(walk(doc, ['user', 'none'])).toBeNull();
    expect(walk(doc, [])).toBe(doc);
  });

  test('missing steps and wrong kinds are undefined', () => {
    expect(walk(doc, ['items', 2, 'id'])).toBeUndefined();
    expect(walk(doc, ['items', 'length'])).toBeUndefined();
    expect(walk(doc, ['items', '0'])).toBeUndefined();
    expect(walk(doc, ['user', 0])).toBeUndefined();
    expect(walk(doc, ['user', 'name', 'length'])).toBeUndefined();
    expect(walk(doc, ['user', 'none', 'x'])).toBeUndefined();
    expect(walk('text', ['length'])).toBeUndefined();
    expect(walk(null, ['a'])).toBeUndefined();
    expect(walk(undefined, [0])).toBeUndefined();
  });

  test('prototype properties are never read', () => {
    expect(walk({}, ['constructor'])).toBeUndefined();
    expect(walk({}, ['__proto__'])).toBeUndefined();
    expect(walk({}, ['toString'])).toBeUndefined();
    expect(walk([], ['constructor'])).toBeUndefined();
    expect(walk(JSON.parse('{"a":{}}'), ['a', 'constructor', 'name'])).toBeUndefined();
    expect(walk(doc, ['user', 'hasOwnProperty'])).toBeUndefined();
  });

  test('a JSON "__proto__" key is an own property and is read as such', () => {
    expect(walk(doc, ['__proto__', 'polluted'])).toBe('own');
    expect(({} as { polluted?: string }).polluted).toBeUndefined();
  });

  test('deep nesting', () => {
    const depth = 5000;
    const text = '['.repeat(depth) + '"deep"' + ']'.repeat(depth);
    const deep = JSON.parse(text);
    const path: number[] = [];
    for (let i = 0; i < depth; i++) path.push(0);
    expect(walk(deep, path)).toBe('deep');
    expect(walk(deep, path.concat([0]))).toBeUndefined();
  });
});

describe('isJsonType', () => {
  test.each([
    ['application/json', true],
    ['application/json; charset=utf-8', true],
    ['Application/JSON', true],
    [' application/json ;charset=UTF-8', true],
    ['application/problem+json', true],
    ['application/vnd.api+json; ext=x', true],
    ['text/plain', false],
    ['text/html; charset=utf-8', false],
    ['application/jsonp', false],
    ['application/x-www-form-urlencoded', false],
    ['', false],
  ])('%j -> %s', (ct, expected) => {
    expect(isJsonType(ct)).toBe(expected);
  });
  test('undefined', () => {
    expect(isJsonType(undefined)).toBe(false);
  });
});

describe('jwtClaims', () => {
  const claims = { sub: 'u-1', details: { username: 'ann', roles: ['admin'] }, n: 3 };

  test('decodes the payload; the signature is not checked', () => {
    expect(jwtClaims(jwt(claims))).toEqual(claims);
  });

  test('a scheme such as "Bearer " is stripped', () => {
    expect(jwtClaims('Bearer ' + jwt(claims))).toEqual(claims);
  });

  test('non-ASCII claims', () => {
    expect(jwtClaims(jwt({ name: 'Jörg Ünal 日本' }))).toEqual({ name: 'Jörg Ünal 日本' });
  });

  test('a padded payload is accepted', () => {
    const payload = Buffer.from('{"a":1}').toString('base64'); // eyJhIjoxfQ==
    expect(payload.endsWith('=')).toBe(true);
    expect(jwtClaims('eyJhbGciOiJub25lIn0.' + payload + '.')).toEqual({ a: 1 });
  });

  test('"alg: none" tokens with an empty signature are read', () => {
    expect(jwtClaims(b64url('{"alg":"none"}') + '.' + b64url('{"sub":"x"}') + '.')).toEqual({ sub: 'x' });
  });

  test.each([
    ['no dots', 'abcdef', 'not a JWT'],
    ['one dot', 'abc.def', 'not a JWT'],
    ['empty header', '.' + b64url('{}') + '.sig', 'not a JWT'],
    ['empty payload', 'abc..sig', 'not base64url'],
    ['payload not base64url', 'abc.a*b!.sig', 'not base64url'],
    ['payload standard base64 with "+"', 'abc.ab+c.sig', 'not base64url'],
    ['payload standard base64 with "/"', 'abc.' + b64url('{"a":1}').slice(0, 4) + '/' + b64url('{"a":1}').slice(5) + '.sig', 'not base64url'],
    ['payload with "=" inside', 'abc.' + b64url('{"sub":"abcdef"}').slice(0, 6) + '=' + b64url('{"sub":"abcdef"}').slice(7) + '.sig', 'not base64url'],
    ['payload with a "%" inside', 'abc.eyJh%IjoxfQ.sig', 'not base64url'],
    ['payload of 4n+1 characters', 'abc.eyJhI.sig', 'not base64url'],
    ['payload over-padded', 'abc.' + b64url('{"a":1}') + '===.sig', 'not base64url'],
    ['payload not JSON', 'abc.' + b64url('not json') + '.sig', 'not JSON'],
    ['payload a JSON string', 'abc.' + b64url('"str"') + '.sig', 'not a claims object'],
    ['payload a JSON array', 'abc.' + b64url('[1,2]') + '.sig', 'not a claims object'],
    ['payload null', 'abc.' + b64url('null') + '.sig', 'not a claims object'],
    ['payload truncated', 'abc.' + b64url('{"sub":"abcdef"}').slice(0, 10) + '.sig', 'not JSON'],
  ])('%s: throws', (_name, token, message) => {
    expect(() => jwtClaims(token)).toThrow(message);
  });

  test('a "__proto__" claim is an own property; constructor is absent', () => {
    const c = jwtClaims(jwt(JSON.parse('{"__proto__":{"role":"admin"}}'))) as object;
    expect(walk(c, ['__proto__', 'role'])).toBe('admin');
    expect(walk(c, ['constructor'])).toBeUndefined();
  });
});

describe('Authorization credentials', () => {
  function basic(userPass: string): string {
    return 'Basic ' + Buffer.from(userPass, 'utf8').toString('base64');
  }

  test('Bearer and other schemes: the credentials without the scheme', () => {
    expect(credentials('Bearer abc.def.ghi')).toBe('abc.def.ghi');
    expect(credentials('bearer   tok  ')).toBe('tok');
    expect(credentials('Token xyz')).toBe('xyz');
  });

  test('no scheme: the whole value', () => {
    expect(credentials('rawtoken')).toBe('rawtoken');
    expect(credentials('  rawtoken  ')).toBe('rawtoken');
  });

  test('Basic: the user name only', () => {
    expect(credentials(basic('alice:secret'))).toBe('alice');
    expect(credentials('BASIC ' + Buffer.from('bob:pw').toString('base64'))).toBe('bob');
  });

  test('Basic: a password with ":" and non-ASCII characters is never returned', () => {
    expect(credentials(basic('alice:pa:ss:wörd'))).toBe('alice');
    expect(credentials(basic('jörg:geheim:ä€'))).toBe('jörg');
    expect(credentials(basic('日本語ユーザー:パス:ワード'))).toBe('日本語ユーザー');
  });

  test.each([
    ['a', 'a'],
    ['ab', 'ab'],
    ['abc', 'abc'],
    ['abcd', 'abcd'],
    ['abcde', 'abcde'],
    ['ü', 'ü'],
    ['üü', 'üü'],
  ])('Basic: user %j at every alignment of the base64 groups', (user, expected) => {
    expect(basicUser(Buffer.from(user + ':password:with:colons').toString('base64'))).toBe(expected);
  });

  test('Basic: empty user, no colon, broken base64', () => {
    expect(credentials(basic(':onlypassword'))).toBe('');
    expect(credentials(basic('nocolon'))).toBe('nocolon');
    expect(credentials('Basic !!!!')).toBe('');
  });

  test('a scheme without credentials is no value', () => {
    expect(credentials('Basic')).toBe('');
    expect(credentials('Bearer ')).toBe('');
    expect(credentials('  bearer')).toBe('');
    expect(credentials('Digest')).toBe('');
  });

  test('Basic: the password is not part of the value even when base64 is unpadded', () => {
    const b64 = Buffer.from('carol:topsecret').toString('base64').replace(/=+$/, '');
    expect(credentials('Basic ' + b64)).toBe('carol');
  });

  test('Digest: the username parameter', () => {
    const h =
      'Digest username="Mufasa", realm="http-auth@example.org", uri="/dir/index.html", nonce="7ypf", response="8ca5"';
    expect(credentials(h)).toBe('Mufasa');
    expect(credentials('digest realm="r", username="bob", nonce="n"')).toBe('bob');
  });

  test('Digest without a username or with an unterminated one: empty', () => {
    expect(credentials('Digest realm="r", nonce="n"')).toBe('');
    expect(credentials('Digest username="unterminated')).toBe('');
  });
});

describe('parseJson: the same outcome on every engine', () => {
  const nest = (n: number) => '['.repeat(n) + ']'.repeat(n);

  test('nesting: 31 containers deep parse, 32 do not (the njs engine\'s own limit)', () => {
    expect(JSON_DEPTH_LIMIT).toBe(32);
    expect(parseJson(nest(31))).toBeDefined();
    expect(() => parseJson(nest(32))).toThrow(/^not valid JSON \(nested too deep\)$/);
    expect(() => parseJson('{"a":' + nest(31) + '}')).toThrow('not valid JSON (nested too deep)');
    expect(() => parseJson(nest(100000))).toThrow('not valid JSON (nested too deep)');
  });

  test('brackets inside strings, escaped quotes and many shallow containers do not count as depth', () => {
    expect(nestedTooDeep(JSON.stringify({ s: '['.repeat(100), t: 'a\\"[[[[' + '{'.repeat(50) }), 32)).toBe(false);
    const list = JSON.stringify(Array(500).fill({ a: [1, { b: [2] }] }));
    expect(nestedTooDeep(list, 32)).toBe(false);
    expect(parseJson(list)).toHaveLength(500);
    expect(nestedTooDeep(JSON.stringify({ s: 'x"]' }).slice(0, -1) + ',"d":' + nest(32) + '}', 32)).toBe(true);
  });

  test('errors never carry the engine\'s words or the text', () => {
    expect(() => parseJson('{"password":"hunter2", x}')).toThrow(/^not valid JSON$/);
    expect(() => parseJson('')).toThrow(/^not valid JSON$/);
  });
});
