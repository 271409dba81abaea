/**
 * The request-phase block probes: the request-side grouping (a response-side key never counts:
 * the response does not exist yet), the user as the record writes it, the grouping values'
 * keyed hashes; and the same ids the record of that request carries.
 */
import { buildConfig } from '../../src/njs/config';
import { startExtraction } from '../../src/njs/extract';
import { blockProbes, parseBlockList } from '../../src/njs/block';
import { buildRecord } from '../../src/njs/record';
import { sessionId, valueHash } from '../../src/njs/identify';
import { userKey } from '../../src/console/blocks';
import { recordLine } from '../../src/njs/record';
import { parseRecordValue } from '../../src/console/record/parse';
import { fake as fakeExchange } from './fakeExchange';

const SECRET = 's3cret';
const APP = 'shop';
const client = { ip: '192.0.2.1', ua: 'ua', fingerprint: undefined };

function probes(params: string, req: Parameters<typeof fakeExchange>[0]) {
  const cfg = buildConfig({ params });
  const ex = fakeExchange(req);
  return blockProbes(cfg, startExtraction(ex, cfg.limits, []), client, SECRET, APP);
}

test('a configured request-side key: its session id, its keyed hash, the user as the record has it', () => {
  const params = 'response.body.json.token group; request.query.token group; request.header.x-user user';
  const req = { query: 'token=abc123', headers: { 'x-user': 'Ana María' } };
  const p = probes(params, req);
  expect(p.probes).toEqual(['s:' + sessionId(SECRET, APP, 'abc123'), userKey('Ana María'), 'k:' + valueHash(SECRET, 'abc123')]);
  expect(p.user).toBe(encodeURIComponent('Ana María'));
  // The record of the same request (no response yet) names the same session and user.
  const cfg = buildConfig({ params });
  const rec = buildRecord(
    { startMs: 0, app: APP, host: 'h', method: 'GET', requestUri: '/?token=abc123', status: 200, durationMs: 1, bytesSent: 1, requestId: 'r', client, attack: '', secret: SECRET },
    cfg, fakeExchange(req), () => ({ line: '', headers: [], body: null }), [],
  );
  expect('s:' + rec.session).toBe(p.probes[0]);
  expect(userKey(rec.user!)).toBe(p.probes[1]);
});

test('the built-in set on the request side: a token a login response issued, sent back', () => {
  const p = probes('', { headers: { authorization: 'Bearer tok-1' } });
  expect(p.probes[0]).toBe('s:' + sessionId(SECRET, APP, 'tok-1'));
  expect(p.probes).toContain('k:' + valueHash(SECRET, 'tok-1'));
  expect(p.user).toBeNull();
});

test('the IP + User-Agent fallback: its session only, no key hash (never a value others share by accident)', () => {
  const p = probes('', {});
  expect(p.probes).toEqual(['s:' + sessionId(SECRET, APP, '\u0001192.0.2.1\u001fua')]);
});

test('a hashed user and a combined key: the hash as the record writes it, each part hashed', () => {
  const p = probes('request.header.x-t+request.header.x-u group; request.header.x-mail user hash', { headers: { 'x-t': 'acme', 'x-u': 'u1', 'x-mail': 'a@b.c' } });
  expect(p.probes).toEqual([
    's:' + sessionId(SECRET, APP, 'acme\u001fu1'),
    userKey(valueHash(SECRET, 'a@b.c')),
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
  expect(JSON.parse(recordLine(rec)).blocked).toBeUndefined();
  rec.blocked = true;
  const parsed = JSON.parse(recordLine(rec));
  expect(parsed.blocked).toBe(true);
  // A shipper's parsed value keeps the mark too.
  expect(parseRecordValue(parsed)).toMatchObject({ ok: true, record: { blocked: true } });
});

describe('parseBlockList: the pulled list is checked whole', () => {
  const ok = { v: 1, version: 7, expires: '2030-01-01T00:00:00.000Z', sessions: ['a'.repeat(32)], users: ['Ana María'], keys: ['b'.repeat(32)] };
  test('a good list: its entries as the dictionary keys them, and a stamp that changes with expiry', () => {
    expect(parseBlockList(JSON.stringify(ok))).toEqual({
      stamp: '7/2030-01-01T00:00:00.000Z',
      entries: ['s:' + 'a'.repeat(32), 'k:' + 'b'.repeat(32), 'u=' + encodeURIComponent('Ana María')],
    });
    expect((parseBlockList(JSON.stringify({ ...ok, expires: null })) as { stamp: string }).stamp).toBe('7/');
  });
  test.each([
    ['not JSON', '{'],
    ['format version 2, this module reads 1', JSON.stringify({ ...ok, v: 2 })],
    ['version: not a whole number', JSON.stringify({ ...ok, version: '7' })],
    ['sessions[0]: not 32 hex characters', JSON.stringify({ ...ok, sessions: ['A'.repeat(32)] })],
    ['keys: not a list', JSON.stringify({ ...ok, keys: 'x' })],
    ['users[1]: not a user', JSON.stringify({ ...ok, users: ['a', 'x'.repeat(257)] })],
    ['more than 10000 entries', JSON.stringify({ ...ok, sessions: new Array(10001).fill('c'.repeat(32)) })],
    ['not a JSON object', '[1]'],
  ])('refuses: %s', (why, text) => {
    expect(parseBlockList(text)).toBe(why);
  });
});
