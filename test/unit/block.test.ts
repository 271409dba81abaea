/**
 * The request-phase block probes: the request-side grouping (a response-side key never counts:
 * the response does not exist yet), the user as the record writes it, the grouping values'
 * keyed hashes; and the same ids the record of that request carries.
 */
import { buildConfig } from '../../src/njs/config';
import { startExtraction } from '../../src/njs/extract';
import { applyBlockList, blockLookup, blockProbes, listedNow, parseBlockList, userHash as moduleUserHash, SharedDict } from '../../src/njs/block';
import { buildRecord } from '../helpers/record-line';
import { sessionId, valueHash } from '../../src/njs/identify';
import { nginxMap, userHash, BlockList } from '../../src/console/blocks';
import { parseRecordValue } from '../../src/console/ingest/parse';
import { fake as fakeExchange } from './fakeExchange';

const SECRET = 's3cret';
const APP = 'shop';
const client = { ip: '192.0.2.1', ua: 'ua', fingerprint: undefined };

function probes(params: string, req: Parameters<typeof fakeExchange>[0]) {
  const cfg = buildConfig({ params });
  const ex = fakeExchange(req);
  const out = blockProbes(cfg, startExtraction(ex, cfg.limits, []), client, SECRET, APP);
  if (out === null) throw new Error('refused: too many session cookie values');
  return out;
}

describe('a session cookie however the request spells it', () => {
  const blockedValue = 's:abc.def'; // an express-session cookie, as express reads it
  const blockedSession = 's:' + sessionId(SECRET, APP, blockedValue);
  const spellings: Array<[string, string]> = [
    ['as the browser sent it', 'connect.sid=s%3Aabc.def'],
    ['every character encoded', 'connect.sid=%73%3A%61%62%63%2E%64%65%66'],
    ['spaces around the name and value', 'connect.sid = s%3Aabc.def ; theme=dark'],
    ['in double quotes', 'connect.sid="s%3Aabc.def"'],
    ['after a first, other one', 'connect.sid=s%3Aother; connect.sid=s%3Aabc.def'],
    ['after a comma', 'a=1, connect.sid=s%3Aabc.def; b=2'],
    ['behind another built-in cookie', 'PHPSESSID=x; connect.sid=s%3Aabc.def'],
    ['with an encoded name', '%63onnect.sid=s%3Aabc.def'],
  ];
  test.each(spellings)('%s: the blocked session is among the probes', (_name, cookie) => {
    expect(probes('', { headers: { cookie } })).toContain(blockedSession);
  });

  test('a configured grouping cookie too, with its key hash', () => {
    const p = probes('request.cookie.token group', { headers: { cookie: 'token=first; token=%62locked' } });
    expect(p).toContain('s:' + sessionId(SECRET, APP, 'blocked'));
    expect(p).toContain('k:' + valueHash(SECRET, 'blocked'));
  });

  test('more session cookie values than can be checked: refused (null), never passed unchecked', () => {
    const cfg = buildConfig({});
    const many = Array.from({ length: 9 }, (_, i) => 'sid=v' + i).join('; ');
    expect(blockProbes(cfg, startExtraction(fakeExchange({ headers: { cookie: many } }), cfg.limits, []), client, SECRET, APP)).toBeNull();
    const eight = Array.from({ length: 8 }, (_, i) => 'sid=v' + i).join('; ');
    expect(blockProbes(cfg, startExtraction(fakeExchange({ headers: { cookie: eight } }), cfg.limits, []), client, SECRET, APP)!.length).toBeLessThanOrEqual(22);
  });
});

test('a configured request-side key: its session id, its keyed hash, the user as the record has it', () => {
  const params = 'response.body.json.token group; request.query.token group; request.header.x-user user';
  const req = { query: 'token=abc123', headers: { 'x-user': 'Ana María' } };
  const p = probes(params, req);
  expect(p).toEqual(['s:' + sessionId(SECRET, APP, 'abc123'), 'u:' + userHash('Ana María'), 'k:' + valueHash(SECRET, 'abc123')]);
  // The record of the same request (no response yet) names the same session and user.
  const cfg = buildConfig({ params });
  const rec = buildRecord(
    { startMs: 0, app: APP, host: 'h', method: 'GET', requestUri: '/?token=abc123', status: 200, durationMs: 1, bytesSent: 1, requestId: 'r', client, attack: '', secret: SECRET },
    cfg, fakeExchange(req), () => ({ line: '', headers: [], body: null }), [],
  );
  expect('s:' + rec.session).toBe(p[0]);
  expect('u:' + userHash(rec.user!)).toBe(p[1]);
});

test('the built-in set on the request side: a token a login response issued, sent back', () => {
  const p = probes('', { headers: { authorization: 'Bearer tok-1' } });
  expect(p[0]).toBe('s:' + sessionId(SECRET, APP, 'tok-1'));
  expect(p).toContain('k:' + valueHash(SECRET, 'tok-1'));
  expect(p.filter((x) => x.startsWith('u:'))).toEqual([]);
});

test('the IP + User-Agent fallback: its session only, no key hash (never a value others share by accident)', () => {
  const p = probes('', {});
  expect(p).toEqual(['s:' + sessionId(SECRET, APP, '\u0001192.0.2.1\u001fua')]);
});

test('a hashed user and a combined key: the hash as the record writes it, each part hashed', () => {
  const p = probes('request.header.x-t+request.header.x-u group; request.header.x-mail user hash', { headers: { 'x-t': 'acme', 'x-u': 'u1', 'x-mail': 'a@b.c' } });
  expect(p).toEqual([
    's:' + sessionId(SECRET, APP, 'acme\u001fu1'),
    'u:' + userHash(valueHash(SECRET, 'a@b.c')),
    'k:' + valueHash(SECRET, 'acme\u001fu1'),
    'k:' + valueHash(SECRET, 'acme'),
    'k:' + valueHash(SECRET, 'u1'),
  ]);
});

test('the record line carries blocked: true only when set, and stays valid JSON', () => {
  const cfg = buildConfig({ params: '' });
  const rec = buildRecord(
    { startMs: 0, app: APP, host: 'h', method: 'GET', requestUri: '/', status: 403, durationMs: 1, bytesSent: 1, requestId: 'r', client, attack: '', secret: SECRET },
    cfg, fakeExchange({}), () => ({ line: '', headers: [], body: null }), [],
  );
  expect(rec.blocked).toBeUndefined();
  rec.blocked = true;
  const parsed = rec;
  expect(parsed.blocked).toBe(true);
  // A shipper's parsed value keeps the mark too.
  expect(parseRecordValue(parsed)).toMatchObject({ ok: true, record: { blocked: true } });
});

test("a user's hash is the same in the console and in the module, whatever the characters", () => {
  for (const u of ['alice', 'Ana María', "o'brien$x\\y", '用户'.repeat(128), 'x'.repeat(256)]) {
    expect(moduleUserHash(u)).toBe(userHash(u));
    expect(userHash(u)).toMatch(/^[0-9a-f]{32}$/);
  }
  expect(() => userHash('\ud800')).toThrow(URIError);
});

describe('parseBlockList: the pulled list is checked whole', () => {
  const ok = { v: 2, version: 7, expires: '2030-01-01T00:00:00.000Z', sessions: [['a'.repeat(32), 1893456000000]], users: [[userHash('Ana María'), 1893456000001]], keys: [['b'.repeat(32), 1893456000002]] };
  test('a good list: its entries as the dictionary keys them, each with its expiry; a stamp that changes with expiry', () => {
    expect(parseBlockList(JSON.stringify(ok))).toEqual({
      stamp: '7/2030-01-01T00:00:00.000Z',
      entries: ['s:' + 'a'.repeat(32), 'u:' + userHash('Ana María'), 'k:' + 'b'.repeat(32)],
      expiries: ['1893456000000', '1893456000001', '1893456000002'],
      latest: 1893456000002,
    });
    expect((parseBlockList(JSON.stringify({ ...ok, expires: null })) as { stamp: string }).stamp).toBe('7/');
  });
  test.each([
    ['not JSON', '{'],
    ['format version 1, this module reads 2 (update the console and the module together)', JSON.stringify({ ...ok, v: 1 })],
    ['version: not a whole number', JSON.stringify({ ...ok, version: '7' })],
    ['sessions[0]: not [32 hex characters, expiry in ms]', JSON.stringify({ ...ok, sessions: [['A'.repeat(32), 1]] })],
    ['sessions[0]: not [32 hex characters, expiry in ms]', JSON.stringify({ ...ok, sessions: ['a'.repeat(32)] })],
    ['users[0]: not [32 hex characters, expiry in ms]', JSON.stringify({ ...ok, users: [['a'.repeat(32), '1']] })],
    ['users[0]: not [32 hex characters, expiry in ms]', JSON.stringify({ ...ok, users: [null] })],
    ['keys: not a list', JSON.stringify({ ...ok, keys: 'x' })],
    ['more than 10000 entries', JSON.stringify({ ...ok, sessions: new Array(10001).fill(['c'.repeat(32), 1]) })],
    ['larger than 1048576 bytes, more than any list the console serves', ' '.repeat(1048577)],
    ['not a JSON object', '[1]'],
  ])('refuses: %s', (why, text) => {
    expect(parseBlockList(text)).toBe(why);
  });
});

/** A js_shared_dict_zone as njs offers it, in memory. */
function fakeDict(): SharedDict & { data: Map<string, string> } {
  const data = new Map<string, string>();
  return { data, get: (k) => data.get(k), set: (k, v) => data.set(k, v), delete: (k) => data.delete(k), keys: () => [...data.keys()] };
}

describe('a block ends at its expiry in nginx, whatever list is loaded', () => {
  const T = 1_900_000_000_000;
  const list: BlockList = { v: 2, version: 3, generated: new Date(T).toISOString(), expires: new Date(T + 1000).toISOString(), sessions: [['a'.repeat(32), T + 1000]], users: [[userHash('eve'), T + 5000]], keys: [] };

  test('the pulled list (shared dictionary): each probe until its own expiry; past the latest, no probe is looked up', () => {
    const dict = fakeDict();
    const logged: string[] = [];
    applyBlockList(dict, JSON.stringify(list), 'g1', (m) => logged.push(m));
    expect(logged).toEqual([]);
    expect(dict.get('current')).toBe(`g1 2 ${T + 5000} 3/${list.expires}`);
    const at = (now: number, probes: string[]) => {
      const lookup = blockLookup('shared', now, dict, {});
      return lookup !== null && listedNow(lookup, probes, now);
    };
    expect(at(T, ['s:' + 'a'.repeat(32)])).toBe(true);
    expect(at(T + 999, ['s:' + 'a'.repeat(32)])).toBe(true);
    expect(at(T + 1000, ['s:' + 'a'.repeat(32)])).toBe(false);
    expect(at(T + 4999, ['s:' + 'b'.repeat(32), 'u:' + userHash('eve')])).toBe(true);
    expect(at(T + 4999, ['u:' + userHash('eva')])).toBe(false);
    expect(blockLookup('shared', T + 5000, dict, {})).toBeNull();
    // A malformed list is refused whole and the current one stays.
    applyBlockList(dict, JSON.stringify({ ...list, version: 4, users: [['zz', 1]] }), 'g2', (m) => logged.push(m));
    expect(logged).toEqual(['block list refused whole, the last one stays: users[0]: not [32 hex characters, expiry in ms]']);
    expect(dict.get('current')!.startsWith('g1 ')).toBe(true);
    // A new list replaces the generation whole.
    applyBlockList(dict, JSON.stringify({ ...list, version: 5, sessions: [] }), 'g3', (m) => logged.push(m));
    expect([...dict.data.keys()].sort()).toEqual(['current', 'g3|u:' + userHash('eve')]);
  });

  test('the generated map include: the list names its latest expiry, each entry its own', () => {
    const text = nginxMap(list);
    expect(text).toContain(`map $host $api_sessions_block_list { default '3 ${T + 5000}'; }`);
    expect(text).toContain(`    's:${'a'.repeat(32)}' '${T + 1000}';`);
    expect(text).toContain(`    'u:${userHash('eve')}' '${T + 5000}';`);
    // What nginx's volatile map answers, as the module sees it through its variables.
    const entries = new Map([...text.matchAll(/^ {4}'([suk]:[0-9a-f]{32})' '(\d+)';$/gm)].map((m) => [m[1], m[2]]));
    const vars: { [k: string]: string | undefined } = {};
    Object.defineProperty(vars, 'api_sessions_block_hit', { get: () => entries.get(vars.api_sessions_block_probe!) ?? '' });
    const at = (now: number, probes: string[]) => {
      const lookup = blockLookup(`3 ${T + 5000}`, now, undefined, vars);
      return lookup !== null && listedNow(lookup, probes, now);
    };
    expect(at(T + 999, ['s:' + 'a'.repeat(32)])).toBe(true);
    expect(at(T + 1000, ['s:' + 'a'.repeat(32)])).toBe(false);
    expect(at(T + 4999, ['u:' + userHash('eve')])).toBe(true);
    expect(blockLookup(`3 ${T + 5000}`, T + 5000, undefined, vars)).toBeNull();
    expect(blockLookup('3', T, undefined, vars)).toBeNull(); // not this format: nothing to enforce
  });
});
