import { parseRecord, isSessionRecord, parseRecordValue } from '../../src/console/ingest/parse';
import { generateRecords } from '../helpers/generate-records';
import { parseEndpointPattern } from '../../src/console/store/pattern';
import { parseBody } from '../../src/console/ingest/lines';
import { rec, TODAY } from './helpers';

describe('parseRecord', () => {
  const good = rec({ s: 'a', at: TODAY, user: 'alice', attack: ['sqli'], request: { line: 'GET / HTTP/1.1', headers: [['Host', 'x']], body: null, truncated: false } });

  test('accepts a valid record and keeps the line as its raw text', () => {
    const line = JSON.stringify(good);
    const r = parseRecord(line);
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(r.record.session).toBe(good.session);
      expect(r.raw).toBe(line);
    }
  });

  test('ignores unknown fields; keeps the optional links and inventory', () => {
    expect(parseRecord(JSON.stringify({ ...good, links: ['0123456789abcdef0123456789abcdef'] })).ok).toBe(true);
    const v = parseRecordValue({ ...good, links: ['x'], date: 1.5 });
    // a shipper's extra keys are dropped; the optional links and inventory are kept (journeys,
    // recommendations; the store checks their entries)
    expect(v.ok && JSON.parse(v.raw)).not.toHaveProperty('date');
    expect(v.ok && JSON.parse(v.raw)).toHaveProperty('links', ['x']);
  });

  test.each([
    ['not JSON', 'garbage', 'json'],
    ['an array', '[]', 'shape'],
    ['another version', JSON.stringify({ ...good, v: 2 }), 'version'],
    ['a bad session id', JSON.stringify({ ...good, session: 'XYZ' }), 'shape'],
    ['a bad part', JSON.stringify({ ...good, part: '2026-1-1' }), 'shape'],
    ['a string status', JSON.stringify({ ...good, status: '200' }), 'shape'],
    ['a non-string param', JSON.stringify({ ...good, params: { a: 1 } }), 'shape'],
    ['attack not an array', JSON.stringify({ ...good, attack: 'sqli' }), 'shape'],
    ['bad request headers', JSON.stringify({ ...good, request: { ...good.request, headers: [['a']] } }), 'shape'],
    ['a missing field', JSON.stringify({ ...good, errors: undefined }), 'shape'],
    ['a bad ts', JSON.stringify({ ...good, ts: 'yesterday' }), 'shape'],
  ])('refuses %s', (_name, line, reason) => {
    const r = parseRecord(line);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toBe(reason);
  });
});

describe('generateRecords', () => {
  test('gives valid records, the same ones for the same seed, in time order per day', () => {
    const a = [...generateRecords({ count: 2000, seed: 7, hostile: true, to: TODAY })];
    const b = [...generateRecords({ count: 2000, seed: 7, hostile: true, to: TODAY })];
    expect(a).toHaveLength(2000);
    expect(a).toEqual(b);
    expect(a.every(isSessionRecord)).toBe(true);
    expect(new Set(a.map((r) => r.request_id)).size).toBe(2000);
    for (let i = 1; i < a.length; i++) if (a[i].part === a[i - 1].part) expect(a[i].ts >= a[i - 1].ts).toBe(true);
    expect(a.some((r) => r.attack !== null)).toBe(true);
    expect(a.some((r) => r.path.includes('%3Cscript') || (r.ua ?? '').includes('<script>'))).toBe(true);
  });
});

describe('endpoint pattern', () => {
  test.each([
    ['/orders/*', '/orders/7', true],
    ['/orders/*', '/orders', false],
    ['/orders/?', '/orders/7', true],
    ['/orders/?', '/orders/77', false],
    ['*invoices*', '/api/v1/invoices/3', true],
    ['/a[b]', '/a[b]', true],
    ['/a.b', '/aXb', false],
    ['/Orders/*', '/orders/7', true],
    ['/orders/%', '/orders/7', false],
    ['/orders/_', '/orders/7', false],
  ])('%s against %s', (pattern, path, match) => {
    expect(parseEndpointPattern(pattern)!.regexp.test(path)).toBe(match);
  });

  test('a method before the path', () => {
    expect(parseEndpointPattern('post /login')).toMatchObject({ method: 'POST', path: '/login' });
    expect(parseEndpointPattern('DELETE')).toMatchObject({ method: 'DELETE', path: '*' });
    expect(parseEndpointPattern('/a_1%')!.text.like).toBe('/a\\_1\\%');
  });
});

describe('shipper bodies', () => {
  const r1 = rec({ s: 'a', at: TODAY });
  const r2 = rec({ s: 'b', at: TODAY });
  const noop = () => undefined;

  test('NDJSON of records (Vector newline_delimited, Fluent Bit json_lines with its date key)', () => {
    const b = parseBody(JSON.stringify(r1) + '\n' + JSON.stringify({ ...r2, date: 1732350000.5 }) + '\n\nnope\n', 'http', noop)!;
    expect(b.records.map((r) => r.request_id)).toEqual([r1.request_id, r2.request_id]);
    expect(b.invalid).toBe(1);
  });

  test('a JSON array of envelopes whose message / log is the module line', () => {
    const body = JSON.stringify([
      { message: JSON.stringify(r1), file: '/var/log/nginx/api_sessions.log', source_type: 'file' },
      { log: JSON.stringify(r2) + '\n', date: 1.5 },
      { message: 'not a record' },
    ]);
    const b = parseBody(body, 'http', noop)!;
    expect(b.records.map((r) => r.request_id)).toEqual([r1.request_id, r2.request_id]);
    expect(b.invalid).toBe(1);
  });

  test('a broken JSON array is refused as a whole', () => {
    expect(parseBody('[{"a":', 'http', noop)).toBeNull();
  });
});
