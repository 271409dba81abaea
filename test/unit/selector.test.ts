/** The selector grammar (src/shared/selector.ts): sources, names, JSON paths and JWT claim paths. */
import { parseSelector, parsePath, isResponseSource } from '../../src/shared/selector';

describe('parseSelector: sources and names', () => {
  test.each([
    ['request.header.x-tenant', 'request.header', 'x-tenant'],
    ['request.cookie.uid', 'request.cookie', 'uid'],
    ['request.query.token', 'request.query', 'token'],
    ['request.body.form.user', 'request.body.form', 'user'],
    ['response.header.x-session', 'response.header', 'x-session'],
    ['response.cookie.sid', 'response.cookie', 'sid'],
  ])('%s', (text, source, name) => {
    expect(parseSelector(text)).toEqual({ text, source, name, path: [], jwt: null });
  });

  test('header names are lowercased, in the name and in the record text', () => {
    expect(parseSelector('request.header.X-Tenant-ID')).toEqual({
      text: 'request.header.x-tenant-id',
      source: 'request.header',
      name: 'x-tenant-id',
      path: [],
      jwt: null,
    });
    expect(parseSelector('response.header.Mcp-Session-Id').name).toBe('mcp-session-id');
    expect(parseSelector('response.header.Mcp-Session-Id').text).toBe('response.header.mcp-session-id');
  });

  test('lowercasing a header name keeps the claim path as written', () => {
    const s = parseSelector('request.header.Authorization.jwt.details.userName');
    expect(s.name).toBe('authorization');
    expect(s.jwt).toEqual(['details', 'userName']);
    expect(s.text).toBe('request.header.authorization.jwt.details.userName');
  });

  test('cookie names are exact: case kept and dots are part of the name', () => {
    expect(parseSelector('request.cookie.connect.sid')).toEqual({
      text: 'request.cookie.connect.sid',
      source: 'request.cookie',
      name: 'connect.sid',
      path: [],
      jwt: null,
    });
    expect(parseSelector('request.cookie.ASP.NET_SessionId').name).toBe('ASP.NET_SessionId');
    expect(parseSelector('request.cookie.SESSION').name).toBe('SESSION');
    expect(parseSelector('response.cookie.JSESSIONID').name).toBe('JSESSIONID');
  });

  test('query and form names are exact (case kept)', () => {
    expect(parseSelector('request.query.Token').name).toBe('Token');
    expect(parseSelector('request.body.form.UserName').name).toBe('UserName');
  });

  test('names that are Object.prototype properties are ordinary names', () => {
    expect(parseSelector('request.cookie.__proto__').name).toBe('__proto__');
    expect(parseSelector('request.query.constructor').name).toBe('constructor');
  });
});

describe('parseSelector: JSON paths', () => {
  test('request.body.json.items[0].id', () => {
    expect(parseSelector('request.body.json.items[0].id')).toEqual({
      text: 'request.body.json.items[0].id',
      source: 'request.body.json',
      name: '',
      path: ['items', 0, 'id'],
      jwt: null,
    });
  });

  test('a quoted step may hold dots and spaces', () => {
    expect(parseSelector('request.body.json["odd.name"]').path).toEqual(['odd.name']);
    expect(parseSelector('request.body.json.a["odd.name"].b').path).toEqual(['a', 'odd.name', 'b']);
    expect(parseSelector('request.body.json["first name"][2]').path).toEqual(['first name', 2]);
  });

  test('a path may start with an array index', () => {
    expect(parseSelector('request.body.json[3].id').path).toEqual([3, 'id']);
    expect(parseSelector('response.body.json[0][1]').path).toEqual([0, 1]);
  });

  test('response.body.json.data.token', () => {
    const s = parseSelector('response.body.json.data.token');
    expect(s.source).toBe('response.body.json');
    expect(s.path).toEqual(['data', 'token']);
    expect(s.jwt).toBeNull();
  });

  test('a jwt step inside a JSON path starts the claim path', () => {
    const s = parseSelector('response.body.json.data.jwt.sub');
    expect(s.source).toBe('response.body.json');
    expect(s.path).toEqual(['data']);
    expect(s.jwt).toEqual(['sub']);
    const t = parseSelector('request.body.json.auth[0].jwt.details.roles[1]');
    expect(t.path).toEqual(['auth', 0]);
    expect(t.jwt).toEqual(['details', 'roles', 1]);
  });

  test('["jwt"] quoted is a property, not a claim path', () => {
    const s = parseSelector('response.body.json.data["jwt"].sub');
    expect(s.path).toEqual(['data', 'jwt', 'sub']);
    expect(s.jwt).toBeNull();
  });

  test('jwt as the last step is a property', () => {
    const s = parseSelector('request.body.json.data.jwt');
    expect(s.path).toEqual(['data', 'jwt']);
    expect(s.jwt).toBeNull();
  });

  test('__proto__ and constructor are ordinary path steps', () => {
    expect(parseSelector('request.body.json.__proto__.x').path).toEqual(['__proto__', 'x']);
    expect(parseSelector('request.body.json.constructor').path).toEqual(['constructor']);
  });
});

describe('parseSelector: JWT claims on other sources', () => {
  test('request.header.authorization.jwt.details.username', () => {
    expect(parseSelector('request.header.authorization.jwt.details.username')).toEqual({
      text: 'request.header.authorization.jwt.details.username',
      source: 'request.header',
      name: 'authorization',
      path: [],
      jwt: ['details', 'username'],
    });
  });

  test('a cookie holding a JWT', () => {
    const s = parseSelector('request.cookie.access_token.jwt.sub');
    expect(s.name).toBe('access_token');
    expect(s.jwt).toEqual(['sub']);
  });

  test('a claim path may have quoted steps and indexes (written after ".jwt.")', () => {
    const s = parseSelector('request.query.t.jwt.["https://example.com/roles"][0]');
    expect(s.name).toBe('t');
    expect(s.jwt).toEqual(['https://example.com/roles', 0]);
    const j = parseSelector('request.body.json.auth.jwt.["https://example.com/roles"][0]');
    expect(j.path).toEqual(['auth']);
    expect(j.jwt).toEqual(['https://example.com/roles', 0]);
  });
});

describe('parseSelector: errors', () => {
  test.each([
    'request.headers.x',
    'request.header',
    'request.header.',
    'request.body.xml.a',
    'request.body.json',
    'request.body.jsonx.a',
    'response.body.form.a',
    'request.body.form',
    'foo.bar.baz',
    'request',
    '',
    'REQUEST.header.x',
  ])('unknown selector %j', (text) => {
    expect(() => parseSelector(text)).toThrow('unknown selector "' + text + '"');
  });

  test('an empty claim path', () => {
    expect(() => parseSelector('request.header.authorization.jwt.')).toThrow('empty claim path');
  });

  test('an empty name before .jwt.', () => {
    expect(() => parseSelector('request.cookie..jwt.sub')).toThrow('empty name');
  });

  test.each([
    ['request.body.json.a..b', /empty step/],
    ['request.body.json.a.', /ends with "\."/],
    ['request.body.json.a[', /"\[" without "\]"/],
    ['request.body.json.a[x]', /\[x\] is not an array index/],
    ['request.body.json.a[-1]', /\[-1\] is not an array index/],
    ['request.body.json.a[1.5]', /\[1\.5\] is not an array index/],
    ['request.body.json.a[]', /\[\] is not an array index/],
    ['request.body.json["a', /unterminated|without/],
    ['request.body.json["a"]b', /expected "\." or "\[" after "\]"/],
    ['request.body.json.a[0].', /ends with "\."/],
  ])('bad path %s', (text, message) => {
    expect(() => parseSelector(text)).toThrow(message);
  });
});

describe('parsePath', () => {
  test('without allowJwt a jwt step is a property', () => {
    expect(parsePath('a.jwt.b', false)).toEqual({ steps: ['a', 'jwt', 'b'], jwtRest: null });
  });
  test('with allowJwt the rest after jwt is returned', () => {
    expect(parsePath('a.jwt.b.c', true)).toEqual({ steps: ['a'], jwtRest: 'b.c' });
  });
  test('an empty path throws', () => {
    expect(() => parsePath('', false)).toThrow('empty path');
  });
  test('bracket steps follow each other', () => {
    expect(parsePath('[0]["x y"][12]', false).steps).toEqual([0, 'x y', 12]);
  });
});

test('isResponseSource', () => {
  expect(isResponseSource('response.header')).toBe(true);
  expect(isResponseSource('response.cookie')).toBe(true);
  expect(isResponseSource('response.body.json')).toBe(true);
  expect(isResponseSource('request.header')).toBe(false);
  expect(isResponseSource('request.cookie')).toBe(false);
  expect(isResponseSource('request.query')).toBe(false);
  expect(isResponseSource('request.body.json')).toBe(false);
  expect(isResponseSource('request.body.form')).toBe(false);
});
