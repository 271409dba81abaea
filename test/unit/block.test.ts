/**
 * The request-phase block probes: the request-side grouping (a response-side key never counts:
 * the response does not exist yet), the user as the record writes it, the grouping values'
 * keyed hashes; and the same ids the record of that request carries.
 */
import { buildConfig } from '../../src/njs/config';
import { startExtraction } from '../../src/njs/extract';
import { blockProbes } from '../../src/njs/block';
import { buildRecord } from '../../src/njs/record';
import { sessionId, valueHash } from '../../src/njs/identify';
import { userKey } from '../../src/console/blocks';
import { recordLine } from '../../src/njs/line';
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
