/** Discovery (src/njs/discover.ts): sampling and the inventory of candidate parameters. */
import { createHmac } from 'crypto';
import { buildConfig } from '../../src/njs/config';
import { startExtraction } from '../../src/njs/extract';
import { discoveryRate, sampled, inventory, MAX_CANDIDATES } from '../../src/njs/discover';
import { fake, FakeInput, jwt } from './fakeExchange';

const SECRET = 'disc-secret';
const h12 = (v: string) => createHmac('sha256', SECRET).update('v\n' + v).digest('hex').slice(0, 12);

function run(input: FakeInput, lines: Array<[string, string]> = [], responseHeaderNames: string[] = []) {
  const st = startExtraction(fake(input), buildConfig({}).limits, []);
  return inventory(st, { requestLines: lines, responseHeaderNames }, SECRET);
}

describe('sampling', () => {
  test('rates', () => {
    expect([discoveryRate(undefined), discoveryRate(''), discoveryRate('off'), discoveryRate('0')]).toEqual([0, 0, 0, 0]);
    expect([discoveryRate('on'), discoveryRate('1'), discoveryRate('7'), discoveryRate('0.25')]).toEqual([1, 1, 1, 0.25]);
    expect(discoveryRate('sometimes')).toBe(0);
  });

  test('deterministic by request id, about the configured share', () => {
    expect(sampled(0, 'ffffff')).toBe(false);
    expect(sampled(1, '000000')).toBe(true);
    expect(sampled(0.5, '000001')).toBe(true);
    expect(sampled(0.5, 'f00000')).toBe(false);
    let n = 0;
    for (let i = 0; i < 4096; i++) if (sampled(0.25, (i * 4099).toString(16).padStart(6, '0') + 'abc')) n++;
    expect(n).toBeGreaterThan(900);
    expect(n).toBeLessThan(1150);
  });
});

describe('inventory', () => {
  test('headers, cookies, query, JSON bodies, Set-Cookie and response headers, with hashes and lengths only', () => {
    const token = jwt({ sub: 'ann', org: { id: 7 } });
    const list = run(
      {
        headers: {},
        query: 'q=winter%20boots&lang=en',
        requestBody: { text: '{"email":"ann@example.com","cart":{"items":[{"sku":"A-1"}]}}', contentType: 'application/json' }, // items[0].sku is 4 deep: left out
        setCookies: ['sid=s-123; Path=/'],
        responseHeaders: { 'x-trace': 'tr-1', 'content-type': 'application/json' },
        responseBody: { text: '{"token":"' + token + '","user":{"id":42}}', contentType: 'application/json' },
      },
      [
        ['Host', 'shop'],
        ['User-Agent', 'UA/1'],
        ['Cookie', 'theme=dark; uid=u-9'],
        ['Authorization', 'Bearer tok-abc'],
      ],
      ['Content-Type', 'X-Trace'],
    );
    const bySel: Record<string, { h: string; n: number }> = {};
    for (const c of list) bySel[c.s] = { h: c.h, n: c.n };
    expect(Object.keys(bySel)).toEqual([
      'request.header.user-agent',
      'request.cookie.theme',
      'request.cookie.uid',
      'request.header.authorization',
      'request.query.q',
      'request.query.lang',
      'request.body.json.email',
      'response.cookie.sid',
      'response.header.x-trace',
      'response.body.json.token',
      'response.body.json.token.jwt.sub',
      'response.body.json.token.jwt.org.id',
      'response.body.json.user.id',
    ]);
    expect(bySel['request.header.authorization']).toEqual({ h: h12('tok-abc'), n: 7 });
    expect(bySel['request.query.q']).toEqual({ h: h12('winter boots'), n: 12 });
    expect(bySel['response.body.json.token.jwt.sub']).toEqual({ h: h12('ann'), n: 3 });
    const text = JSON.stringify(list);
    for (const raw of ['ann@example.com', 'tok-abc', 'winter', 'dark', 'u-9', 's-123', 'tr-1', token]) expect(text).not.toContain(raw);
  });

  test('bounded: at most MAX_CANDIDATES, JSON depth 3', () => {
    const many: Record<string, string> = {};
    for (let i = 0; i < 100; i++) many['k' + i] = 'v' + i;
    expect(run({ requestBody: { text: JSON.stringify(many), contentType: 'application/json' } })).toHaveLength(MAX_CANDIDATES);
    const deep = run({ requestBody: { text: '{"a":{"b":{"c":"x","d":{"e":"too deep"}}}}', contentType: 'application/json' } });
    expect(deep.map((c) => c.s)).toEqual(['request.body.json.a.b.c']);
  });

  test('odd property names use the quoted form, which the selector grammar reads back', () => {
    const list = run({ requestBody: { text: '{"odd.name":"x","jwt":"y"}', contentType: 'application/json' } });
    expect(list.map((c) => c.s)).toEqual(['request.body.json["odd.name"]', 'request.body.json["jwt"]']);
    const cfg = buildConfig({ params: list.map((c) => "'" + c.s + "'").join(';').split("'").join('') });
    expect(cfg.errors).toEqual([]);
  });

  test('bodies that are not JSON and values that do not decode are skipped, not thrown', () => {
    expect(run({ query: 'a=%zz&b=1', requestBody: { text: '{broken', contentType: 'application/json' } }).map((c) => c.s)).toEqual([
      'request.query.b',
    ]);
  });
});

describe('value kinds', () => {
  test('a Basic user name, times, numbers; nothing for other values', () => {
    const now = Math.floor(Date.now() / 1000);
    const token = jwt({ sub: 'ann', iat: now, exp: now + 3600, n: 7 });
    const list = run(
      { headers: {}, query: 'page=2&at=2026-11-29T01:02:03Z&ms=' + now * 1000 + '&neg=-5&id=abc', responseBody: { text: '{"token":"' + token + '"}', contentType: 'application/json' } },
      [['Authorization', 'Basic ' + Buffer.from('ann:pw').toString('base64')], ['X-Token', 'Bearer ' + token]],
    );
    const kind = (s: string) => list.find((c) => c.s === s)?.k;
    expect(list.find((c) => c.s === 'request.header.authorization')).toEqual({ s: 'request.header.authorization', h: h12('ann'), n: 3, k: 'basic' });
    expect(kind('request.query.page')).toBe('number');
    expect(kind('request.query.neg')).toBe('number');
    expect(kind('request.query.at')).toBe('time');
    expect(kind('request.query.ms')).toBe('time');
    expect(kind('request.query.id')).toBeUndefined();
    expect(kind('request.header.x-token.jwt.iat')).toBe('time');
    expect(kind('request.header.x-token.jwt.exp')).toBe('time');
    expect(kind('request.header.x-token.jwt.n')).toBe('number');
    expect(kind('request.header.x-token.jwt.sub')).toBeUndefined();
    expect(kind('response.body.json.token.jwt.iat')).toBe('time');
    expect(kind('request.header.x-token')).toBeUndefined();
  });
});
