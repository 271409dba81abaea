/** Identification (src/njs/identify.ts): the grouping chain and the session id. */
import { createHmac } from 'crypto';
import { buildConfig, Config } from '../../src/njs/config';
import { startExtraction, readSelector } from '../../src/njs/extract';
import {
  chooseGrouping,
  linkedValues,
  builtinGrouping,
  builtinCookie,
  joinedValue,
  sessionId,
  valueHash,
  Client,
  Grouping,
} from '../../src/njs/identify';
import { builtinCookies, builtinRequestHeaders, builtinResponseHeaders } from '../../src/shared/builtin';
import { fake, FakeInput, jwt } from './fakeExchange';

const CLIENT: Client = { ip: '203.0.113.7', ua: 'curl/8.0', fingerprint: undefined };

/** The built-in cookie of a Cookie header. */
function builtinCookieIn(header: string): { name: string; value: string } | null {
  return builtinCookie(startExtraction(fake({ headers: { cookie: header } }), buildConfig({}).limits, []));
}

/** Runs the chain the way buildRecord does: read every param once, then choose. */
function group(params: string, input: FakeInput, client: Client = CLIENT): { g: Grouping; errors: string[]; config: Config } {
  const config = buildConfig({ params });
  const errors: string[] = [];
  const st = startExtraction(fake({ ...input, client }), config.limits, errors);
  const values = config.params.map((p) => p.selectors.map((s) => readSelector(s, st)));
  return { g: chooseGrouping(config, values, st), errors, config };
}

function expectedId(secret: string, app: string, value: string): string {
  return createHmac('sha256', secret).update('s\n' + app + '\n' + value).digest('hex').slice(0, 32);
}

describe('configured grouping keys', () => {
  test('the first present group param in listed order decides', () => {
    const params = 'request.header.x-a group; request.cookie.b group; request.query.c group';
    expect(group(params, { headers: { 'x-a': 'A', cookie: 'b=B' }, query: 'c=C' }).g).toEqual({ key: 'request.header.x-a', source: 'params', value: 'A' });
    expect(group(params, { headers: { cookie: 'b=B' }, query: 'c=C' }).g).toEqual({ key: 'request.cookie.b', source: 'params', value: 'B' });
    expect(group(params, { query: 'c=C' }).g).toEqual({ key: 'request.query.c', source: 'params', value: 'C' });
  });

  test('listed order, not the order of sources', () => {
    const g = group('request.query.c group; request.header.x-a group', { headers: { 'x-a': 'A' }, query: 'c=C' }).g;
    expect(g.key).toBe('request.query.c');
  });

  test('a non-group param never groups', () => {
    const g = group('request.query.c; request.header.x-a group', { headers: { 'x-a': 'A' }, query: 'c=C' }).g;
    expect(g).toEqual({ key: 'request.header.x-a', source: 'params', value: 'A' });
  });

  test('an empty value is skipped', () => {
    const g = group('request.query.c group; request.header.x-a group', { headers: { 'x-a': 'A' }, query: 'c=' }).g;
    expect(g.key).toBe('request.header.x-a');
  });

  test('the key is the "as" name', () => {
    const g = group('request.header.authorization.jwt.sub group as user_id', { headers: { authorization: 'Bearer ' + jwt({ sub: 'u-1' }) } }).g;
    expect(g).toEqual({ key: 'user_id', source: 'params', value: 'u-1' });
  });

  test('group params beat the built-in set', () => {
    const g = group('request.query.t group', { headers: { cookie: 'PHPSESSID=php1', authorization: 'Bearer b' }, query: 't=T' }).g;
    expect(g.source).toBe('params');
    expect(g.value).toBe('T');
  });

  test('extra params group after params', () => {
    const config = buildConfig({ params: 'request.query.a group', extraParams: 'request.query.b group' });
    const st = startExtraction(fake({ query: 'a=1&b=2' }), config.limits, []);
    const values = config.params.map((p) => p.selectors.map((s) => readSelector(s, st)));
    expect(chooseGrouping(config, values, st).key).toBe('request.query.a');
    const st2 = startExtraction(fake({ query: 'b=2' }), config.limits, []);
    const values2 = config.params.map((p) => p.selectors.map((s) => readSelector(s, st2)));
    expect(chooseGrouping(config, values2, st2).key).toBe('request.query.b');
  });

  describe('combined keys', () => {
    const params = 'request.header.x-tenant+request.cookie.uid group; request.query.fallback group';

    test('apply only when all parts are present; the value joins the parts', () => {
      const g = group(params, { headers: { 'x-tenant': 'acme', cookie: 'uid=42' }, query: 'fallback=f' }).g;
      expect(g.key).toBe('request.header.x-tenant+request.cookie.uid');
      expect(g.source).toBe('params');
      expect(g.value).toBe('acme\u001f42');
    });

    test('one part missing or empty: the next key decides', () => {
      expect(group(params, { headers: { 'x-tenant': 'acme' }, query: 'fallback=f' }).g.key).toBe('request.query.fallback');
      expect(group(params, { headers: { cookie: 'uid=42' }, query: 'fallback=f' }).g.key).toBe('request.query.fallback');
      expect(group(params, { headers: { 'x-tenant': '', cookie: 'uid=42' }, query: 'fallback=f' }).g.key).toBe('request.query.fallback');
    });

    test('three parts', () => {
      const g = group('request.query.a+request.query.b+request.query.c group', { query: 'a=1&b=2&c=3' }).g;
      expect(g.value).toBe('1\u001f2\u001f3');
      expect(group('request.query.a+request.query.b+request.query.c group', { query: 'a=1&c=3' }).g.source).toBe('fallback');
    });

    test('parts do not collide with a single value that contains them', () => {
      const a = group('request.query.a+request.query.b group', { query: 'a=x&b=y' }).g.value;
      const b = group('request.query.a+request.query.b group', { query: 'a=x%1Fy&b=' }).g;
      expect(b.source).toBe('fallback');
      expect(a).not.toBe('xy');
    });
  });
});

describe('the built-in set', () => {
  test('documented cookie list, in order', () => {
    expect(builtinCookies()).toEqual([
      'PHPSESSID',
      'JSESSIONID',
      'ASP.NET_SessionId',
      'connect.sid',
      'laravel_session',
      'ci_session',
      '_session_id',
      'sessionid',
      'session',
      'SESSION',
      'sid',
    ]);
    expect(builtinRequestHeaders()).toEqual(['authorization', 'x-session-id', 'session-id', 'mcp-session-id', 'x-auth-token', 'x-access-token', 'x-api-key']);
    expect(builtinResponseHeaders()).toEqual(['mcp-session-id', 'x-session-id', 'session-id', 'x-auth-token', 'x-access-token']);
  });

  test('every built-in cookie groups on its own, by its exact name', () => {
    for (const name of builtinCookies()) {
      const g = group('', { headers: { cookie: 'other=1; ' + name + '=val-' + name } }).g;
      expect(g).toEqual({ key: 'request.cookie.' + name, source: 'builtin', value: 'val-' + name });
    }
  });

  test('cookie order: the earlier in the list wins whatever the header order', () => {
    const cookies = builtinCookies();
    for (let i = 0; i < cookies.length - 1; i++) {
      const later = cookies[i + 1];
      const earlier = cookies[i];
      const g = group('', { headers: { cookie: later + '=L; ' + earlier + '=E' } }).g;
      expect(g.key).toBe('request.cookie.' + earlier);
      expect(g.value).toBe('E');
    }
  });

  test('cookie names are exact: Session, phpsessid and xsid are not built-in', () => {
    const g = group('', { headers: { cookie: 'Session=a; phpsessid=b; xsid=c; my_session=d' } }).g;
    expect(g.source).toBe('fallback');
  });

  test('an empty built-in cookie is skipped', () => {
    const g = group('', { headers: { cookie: 'PHPSESSID=; sid=s1' } }).g;
    expect(g).toEqual({ key: 'request.cookie.sid', source: 'builtin', value: 's1' });
  });

  test('a repeated built-in cookie: first wins and an error', () => {
    const r = group('', { headers: { cookie: 'PHPSESSID=one; PHPSESSID=two' } });
    expect(r.g.value).toBe('one');
    expect(r.errors).toEqual(['request.cookie.PHPSESSID: sent more than once; the first is used']);
  });

  test('every built-in request header on its own', () => {
    for (const name of builtinRequestHeaders()) {
      const g = group('', { headers: { [name]: 'tok-' + name } }).g;
      expect(g).toEqual({ key: 'request.header.' + name, source: 'builtin', value: 'tok-' + name });
    }
  });

  test('request header order', () => {
    const headers = builtinRequestHeaders();
    for (let i = 0; i < headers.length - 1; i++) {
      const g = group('', { headers: { [headers[i + 1]]: 'later', [headers[i]]: 'earlier' } }).g;
      expect(g.key).toBe('request.header.' + headers[i]);
    }
  });

  test('Authorization groups by credentials without the scheme; Basic by user name', () => {
    expect(group('', { headers: { authorization: 'Bearer abc' } }).g.value).toBe('abc');
    expect(group('', { headers: { authorization: 'Basic ' + Buffer.from('ann:pw:x').toString('base64') } }).g.value).toBe('ann');
  });

  test('an Authorization header without credentials does not group', () => {
    const g = group('', { headers: { authorization: 'Bearer ', 'x-api-key': 'k1' } }).g;
    expect(g).toEqual({ key: 'request.header.x-api-key', source: 'builtin', value: 'k1' });
  });

  test('cookies before request headers, request headers before the response', () => {
    const g1 = group('', {
      headers: { cookie: 'sid=c', authorization: 'Bearer h' },
      setCookies: ['PHPSESSID=r'],
      responseHeaders: { 'mcp-session-id': 'rh' },
    }).g;
    expect(g1.key).toBe('request.cookie.sid');
    const g2 = group('', { headers: { authorization: 'Bearer h' }, setCookies: ['PHPSESSID=r'], responseHeaders: { 'mcp-session-id': 'rh' } }).g;
    expect(g2.key).toBe('request.header.authorization');
    const g3 = group('', { setCookies: ['PHPSESSID=r; Path=/'], responseHeaders: { 'mcp-session-id': 'rh' } }).g;
    expect(g3).toEqual({ key: 'response.cookie.PHPSESSID', source: 'builtin', value: 'r' });
    const g4 = group('', { setCookies: ['theme=dark'], responseHeaders: { 'mcp-session-id': 'rh', 'x-session-id': 'xs' } }).g;
    expect(g4).toEqual({ key: 'response.header.mcp-session-id', source: 'builtin', value: 'rh' });
  });

  test('a deleted Set-Cookie (empty value) does not group', () => {
    const g = group('', { setCookies: ['PHPSESSID=; Max-Age=0'], responseHeaders: { 'x-auth-token': 't' } }).g;
    expect(g.key).toBe('response.header.x-auth-token');
  });

  test('response header order', () => {
    const headers = builtinResponseHeaders();
    for (let i = 0; i < headers.length - 1; i++) {
      const g = group('', { responseHeaders: { [headers[i + 1]]: 'later', [headers[i]]: 'earlier' } }).g;
      expect(g.key).toBe('response.header.' + headers[i]);
    }
  });

  test('a Cookie header without a built-in cookie still reaches the headers', () => {
    const g = group('', { headers: { cookie: 'theme=dark; lang=en', 'x-session-id': 'xs' } }).g;
    expect(g.key).toBe('request.header.x-session-id');
  });

  test('builtinGrouping returns null when nothing is there', () => {
    const st = startExtraction(fake({ headers: { cookie: 'a=1' } }), buildConfig({}).limits, []);
    expect(builtinGrouping(st, true)).toBeNull();
  });

  test('builtinCookieIn: the earliest built-in name present with a value', () => {
    expect(builtinCookieIn('a=1; JSESSIONID=x; PHPSESSID=y')).toEqual({ name: 'PHPSESSID', value: 'y' });
    expect(builtinCookieIn('connect.sid=x')).toEqual({ name: 'connect.sid', value: 'x' });
    // split at ';' only: after a ',' the text belongs to a's value
    expect(builtinCookieIn('a=1,sid=2')).toBeNull();
    expect(builtinCookieIn('sid = %73%3Ax ; a=1')).toEqual({ name: 'sid', value: 's:x' });
    expect(builtinCookieIn('sid="q"')).toEqual({ name: 'sid', value: 'q' });
    expect(builtinCookieIn('PHPSESSID=; sid=s')).toEqual({ name: 'sid', value: 's' });
    expect(builtinCookieIn('xsid=1; mysession=2; connectXsid=3')).toBeNull();
    expect(builtinCookieIn('a=sid')).toBeNull();
    expect(builtinCookieIn('')).toBeNull();
  });

  test('a built-in cookie groups with the same value as request.cookie.NAME gives (one session id)', () => {
    const header = 'sid=abc,def; other=1';
    const builtin = group('', { headers: { cookie: header } }).g;
    const configured = group('request.cookie.sid group', { headers: { cookie: header } }).g;
    expect(builtin.key).toBe('request.cookie.sid');
    expect(builtin.value).toBe(configured.value);
    expect(builtin.value).toBe('abc,def');
  });
});

describe('fallbacks', () => {
  test('ip + ua', () => {
    expect(group('', {}).g).toEqual({ key: 'ip+ua', source: 'fallback', value: '\u0001203.0.113.7\u001fcurl/8.0' });
  });

  test('ip + ua + fingerprint when set', () => {
    const g = group('', {}, { ip: '198.51.100.1', ua: 'UA', fingerprint: 't13d1516h2_8daaf6152771' }).g;
    expect(g).toEqual({ key: 'ip+ua+fingerprint', source: 'fallback', value: '\u0001198.51.100.1\u001fUA\u001ft13d1516h2_8daaf6152771' });
  });

  test('an empty fingerprint is ignored', () => {
    expect(group('', {}, { ip: '1.2.3.4', ua: 'UA', fingerprint: '' }).g.key).toBe('ip+ua');
  });

  test('ip alone without a User-Agent (absent or empty), even with a fingerprint', () => {
    expect(group('', {}, { ip: '1.2.3.4', ua: undefined, fingerprint: undefined }).g).toEqual({ key: 'ip', source: 'fallback', value: '\u00011.2.3.4' });
    expect(group('', {}, { ip: '1.2.3.4', ua: '', fingerprint: 'fp' }).g.key).toBe('ip');
  });

  test('a configured key whose value equals the IP does not share the IP session', () => {
    const a = group('request.query.k group', { query: 'k=1.2.3.4' }, { ip: '9.9.9.9', ua: undefined, fingerprint: undefined }).g;
    const b = group('', {}, { ip: '1.2.3.4', ua: undefined, fingerprint: undefined }).g;
    expect(sessionId('s', 'app', a.value)).not.toBe(sessionId('s', 'app', b.value));
  });
});

describe('joinedValue', () => {
  test('one value as it is; all parts joined; any missing -> undefined', () => {
    expect(joinedValue(['a'])).toBe('a');
    expect(joinedValue([undefined])).toBeUndefined();
    expect(joinedValue(['a', 'b', 'c'])).toBe('a\u001fb\u001fc');
    expect(joinedValue(['a', undefined])).toBeUndefined();
    expect(joinedValue([undefined, 'b'])).toBeUndefined();
  });
});

describe('session id', () => {
  const secret = 'fleet-secret';

  test('HMAC-SHA256 over app and value, first 128 bits in hex', () => {
    const id = sessionId(secret, 'shop.example', 'tok-1');
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(id).toBe(expectedId(secret, 'shop.example', 'tok-1'));
  });

  test('value hash: HMAC-SHA256 over "v\\n" + value, independent of the app', () => {
    const expected = createHmac('sha256', secret).update('v\ntok-1').digest('hex').slice(0, 32);
    expect(valueHash(secret, 'tok-1')).toBe(expected);
    expect(valueHash(secret, 'tok-1')).not.toBe(sessionId(secret, 'shop.example', 'tok-1'));
  });

  test('the same value under different parameters gives the same id', () => {
    const token = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc';
    const values = [
      group('', { headers: { authorization: 'Bearer ' + token } }).g,
      group('', { headers: { cookie: 'connect.sid=' + token } }).g,
      group('', { responseHeaders: { 'x-auth-token': token } }).g,
      group('request.query.access_token group', { query: 'access_token=' + encodeURIComponent(token) }).g,
      group('response.body.json.token group', { responseBody: { text: JSON.stringify({ token }), contentType: 'application/json' } }).g,
    ];
    const keys = values.map((g) => g.key);
    expect(new Set(keys).size).toBe(5);
    const ids = values.map((g) => sessionId(secret, 'app1', g.value));
    for (const id of ids) expect(id).toBe(expectedId(secret, 'app1', token));
  });

  test('a different app, secret or value gives a different id', () => {
    const base = sessionId(secret, 'app1', 'v');
    expect(sessionId(secret, 'app2', 'v')).not.toBe(base);
    expect(sessionId('other', 'app1', 'v')).not.toBe(base);
    expect(sessionId(secret, 'app1', 'w')).not.toBe(base);
    expect(sessionId(secret, 'app2', 'v')).toBe(expectedId(secret, 'app2', 'v'));
  });

  test('app and value are separated: ("a", "b\\nc") and ("a\\nb", "c") are different sessions', () => {
    // The newline separator is in the input: these differ only if app and value do.
    expect(sessionId(secret, 'ab', 'c')).not.toBe(sessionId(secret, 'a', 'bc'));
  });

  test('deterministic: same inputs, same id', () => {
    expect(sessionId(secret, 'a', 'v')).toBe(sessionId(secret, 'a', 'v'));
  });
});

describe('links: the other sessions a request belongs to', () => {
  function links(params: string, input: FakeInput, client: Client = CLIENT): string[] {
    const config = buildConfig({ params });
    const st = startExtraction(fake({ ...input, client }), config.limits, []);
    const values = config.params.map((p) => p.selectors.map((s) => readSelector(s, st)));
    return linkedValues(config, values, st, chooseGrouping(config, values, st));
  }
  const LOGIN = 'response.body.json.token group; request.header.authorization group';

  test('a login whose response issues a token links the anonymous IP + User-Agent session', () => {
    const v = links(LOGIN, { responseBody: { text: '{"token":"new-1"}', contentType: 'application/json' } });
    expect(v).toEqual(['\u0001203.0.113.7\u001fcurl/8.0']);
  });

  test('a login from a visitor with a framework cookie links that cookie session, not the IP', () => {
    const v = links(LOGIN, { headers: { cookie: 'PHPSESSID=anon-7' }, responseBody: { text: '{"token":"new-1"}', contentType: 'application/json' } });
    expect(v).toEqual(['anon-7']);
  });

  test('a refresh: the response issues a new token, the request carried the old one', () => {
    const v = links(LOGIN, { headers: { authorization: 'Bearer old-1' }, responseBody: { text: '{"token":"new-2"}', contentType: 'application/json' } });
    expect(v).toEqual(['old-1']);
  });

  test('an ordinary request with one key links nothing; two different request keys link each other', () => {
    expect(links(LOGIN, { headers: { authorization: 'Bearer tok' } })).toEqual([]);
    expect(links('request.cookie.a group; request.header.x-b group', { headers: { cookie: 'a=1', 'x-b': '2' } })).toEqual(['2']);
    // the same value under two keys is one session: no link
    expect(links('request.cookie.a group; request.header.x-b group', { headers: { cookie: 'a=1', 'x-b': '1' } })).toEqual([]);
  });

  test('a first Set-Cookie of a framework links the request to its anonymous session', () => {
    const v = links('', { setCookies: ['connect.sid=s%3Anew; Path=/'] });
    expect(v).toEqual(['\u0001203.0.113.7\u001fcurl/8.0']);
  });

  test('at most 3 links', () => {
    const params = 'request.header.x-1 group; request.header.x-2 group; request.header.x-3 group; request.header.x-4 group; request.header.x-5 group';
    expect(links(params, { headers: { 'x-1': 'a', 'x-2': 'b', 'x-3': 'c', 'x-4': 'd', 'x-5': 'e' } })).toEqual(['b', 'c', 'd']);
  });
});

describe('session ids with the per-instance HMAC memo', () => {
  const { createHmac } = require('crypto');
  const direct = (secret: string, app: string, v: string) => createHmac('sha256', secret).update('s\n' + app + '\n' + v).digest('hex').slice(0, 32);
  test('a changed secret, app or value is never answered from the memo, past its size too', () => {
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 50; i++) {
        for (const secret of ['k1', 'k2']) {
          for (const app of ['a', 'b']) expect(sessionId(secret, app, 'v' + (i % 40))).toBe(direct(secret, app, 'v' + (i % 40)));
        }
      }
    }
    // the separator keeps secret and input apart: ("k", "1\u0000...") is not ("k1", ...)
    expect(sessionId('k', 'a', 'x')).not.toBe(sessionId('k\u0000s\na', '', 'x'));
    expect(sessionId('k', 'a', 'x')).toBe(direct('k', 'a', 'x'));
  });
});
