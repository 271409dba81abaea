/** The routes' input as their schemas check it (src/console/routes/query.ts): a broken rule is a
 *  400 naming the parameter and what it must be, a parameter given twice is refused, an empty one
 *  is as if not given, and bodies' fields are not coerced into strings. */
import { RunningConsole } from '../../src/console/index';
import { testConsoles } from './helpers';

const consoles = testConsoles('api-sessions-validation-', 'all');
let c: RunningConsole;
const S = '0123456789abcdef0123456789abcdef';

async function answer(path: string, body?: unknown): Promise<[number, string | undefined]> {
  const init: RequestInit = body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
  const res = await fetch(new URL(path, c.url), init);
  return [res.status, ((await res.json()) as { error?: string }).error];
}

beforeAll(async () => {
  c = await consoles.start();
});

test('query strings: each parameter named with its rule', async () => {
  expect(await answer('/api/parts?limit=0')).toEqual([400, 'limit: 1 to 500']);
  expect(await answer('/api/parts?limit=abc')).toEqual([400, 'limit: 1 to 500']);
  expect(await answer('/api/parts?limit=5&limit=6')).toEqual([400, 'limit: give it once']);
  expect(await answer('/api/parts?app=a&app=b')).toEqual([400, 'app: give it once']);
  expect(await answer('/api/parts?cursor=' + 'x'.repeat(201))).toEqual([400, 'cursor: longer than 200 characters']);
  expect(await answer('/api/parts?status=4444')).toEqual([400, 'status: longer than 3 characters']);
  expect(await answer('/api/parts?status=600')).toEqual([400, 'status: a code (404) or a class (4xx)']);
  expect(await answer('/api/parts?total=2')).toEqual([400, 'total: 1']);
  expect(await answer('/api/parts?follow=yes')).toEqual([400, 'follow: only "links"']);
  expect(await answer('/api/attacks?per_part=101')).toEqual([400, 'per_part: 1 to 100']);
  expect(await answer(`/api/sessions/${S}/parts/2026-01-01?buckets=0`)).toEqual([400, 'buckets: 1 to 500']);
  expect(await answer(`/api/sessions/${S}/journey?window_hours=169`)).toEqual([400, 'window_hours: 1 to 168']);
  expect(await answer(`/api/sessions/${S}/journey?max_sessions=51`)).toEqual([400, 'max_sessions: 1 to 50']);
  expect(await answer('/api/apps/shop/recommendations?samples=0')).toEqual([400, 'samples: 1 to 20000']);
  expect(await answer('/api/detections?kind=evil')).toEqual([400, 'kind: one of hijack, enumeration, stuffing, scripted']);
  expect(await answer('/api/blocks/audit?limit=1001')).toEqual([400, 'limit: 1 to 1000']);
});

test('an empty parameter is as if not given', async () => {
  expect((await answer('/api/parts?limit=&app=&status='))[0]).toBe(200);
  expect((await answer('/api/blocks/audit?limit='))[0]).toBe(200);
});

test('path parameters and bodies', async () => {
  expect(await answer('/api/sessions/xyz')).toEqual([400, 'session: 32 hex characters']);
  expect(await answer(`/api/sessions/${S}/parts/2026-1-1`)).toEqual([400, 'part: YYYY-MM-DD']);
  expect(await answer('/api/detections/xyz')).toEqual([400, 'id: a finding id (16 hex characters)']);
  expect(await answer('/api/blocks/0/lift', {})).toEqual([400, 'id: a block id']);
  expect(await answer('/api/blocks/abc/extend', {})).toEqual([400, 'id: a block id']);
  expect(await answer('/api/blocks', [1])).toEqual([400, 'body: a JSON object']);
  // not coerced: a number is not a reason, nor a line
  expect(await answer('/api/blocks', { kind: 'user', value: 'bob', reason: 5 })).toEqual([400, 'reason: a string']);
  expect(await answer('/api/apps/shop/preview', { line: 5 })).toEqual([400, 'body: {"line": "..."}']);
});
