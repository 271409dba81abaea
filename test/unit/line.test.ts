/** The record's JSON line: the same JSON as JSON.stringify of the record, for any string. */
import { recordLine } from '../../src/njs/line';
import type { SessionRecord } from '../../src/record/record';

function record(over: Partial<SessionRecord>): SessionRecord {
  return {
    v: 1, ts: '2026-11-29T01:02:03.456Z', app: 'shop', session: '0123456789abcdef0123456789abcdef', part: '2026-11-29',
    key: 'request.cookie.sid', key_source: 'params', request_id: 'cea26e5ee6d9bdc0ee149b5c36480a70', method: 'GET',
    host: 'shop.example', path: '/items/42', status: 200, duration_ms: 3, bytes_sent: 620, ip: '192.0.2.1',
    ua: 'Mozilla/5.0', params: {}, user: null, role: null, attack: null, request: null, errors: [], links: [],
    ...over,
  };
}

const hostile = ['a"b', 'back\\slash', 'tab\there', 'nl\nx', '\u0000\u001f', 'caf\u00e9 \u4e2d', 'lone \ud800 surrogate', '\u2028\u2029', '</script>', '', ' ', '{"x":1}'];

test('plain ASCII fields: the line parses back to the record', () => {
  const r = record({ params: { 'request.query.q': 'boots', odd: 'v' }, user: 'dana', role: 'admin' });
  expect(JSON.parse(recordLine(r))).toEqual(r);
});

test.each(hostile)('every string field holding %j: the line is valid JSON equal to JSON.stringify\'s', (s) => {
  const fields: Array<Partial<SessionRecord>> = [
    { app: s }, { host: s }, { path: s }, { ua: s }, { key: s }, { user: s }, { role: s }, { request_id: s }, { method: s }, { ip: s },
    { params: { [s]: s, plain: 'x' } }, { errors: [s] }, { attack: [s] },
    { request: { line: s, headers: [[s, s]], body: s, truncated: false } },
    { inventory: [{ s, h: 'abcdefabcdef', n: 3 }] },
  ];
  for (const f of fields) {
    const r = record(f);
    const line = recordLine(r);
    expect(JSON.parse(line)).toEqual(JSON.parse(JSON.stringify(r)));
    // a lone surrogate must be escaped, never written raw (invalid UTF-8 in the log)
    expect(/[\ud800-\udfff]/.test(line)).toBe(false);
  }
});

test('numbers that JSON cannot hold are null, as JSON.stringify writes them', () => {
  const r = record({ status: NaN, duration_ms: Infinity, bytes_sent: -Infinity });
  expect(JSON.parse(recordLine(r))).toMatchObject({ status: null, duration_ms: null, bytes_sent: null });
});

test('optional parts: links and inventory appear only when present', () => {
  const r = record({});
  delete r.links;
  expect(JSON.parse(recordLine(r))).not.toHaveProperty('links');
  expect(JSON.parse(recordLine(r))).not.toHaveProperty('inventory');
  expect(JSON.parse(recordLine(record({ links: ['ab'] }))).links).toEqual(['ab']);
});

test('__proto__ as a parameter name stays a parameter', () => {
  const params: Record<string, string> = {};
  Object.defineProperty(params, '__proto__', { value: 'x', enumerable: true, writable: true, configurable: true });
  const line = recordLine(record({ params }));
  expect(line).toContain('"params":{"__proto__":"x"}');
});

test('isoTime writes what toISOString writes, also within one second and around its edges', () => {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const { isoTime } = require('../../src/njs/record');
  const times = [1763900000250, 1763900000251, 1763900000999, 1763900001000, 1763900001007, 1763900000000, 0, 999, 1000,
    Date.UTC(2026, 0, 31, 23, 59, 59, 999), Date.UTC(2026, 1, 1), 253402300799999, 1763900000250.6];
  for (const t of times.concat(times.slice().reverse())) expect(isoTime(t)).toBe(new Date(t).toISOString());
  expect(isoTime(-1)).toBe(new Date(-1).toISOString());
  expect(() => isoTime(NaN)).toThrow(RangeError);
});
