/**
 * Blocks through the console's HTTP API: create with default and bounded durations, list,
 * extend, lift, expiry, the audit list, the distribution endpoints and their own token.
 */
import { join } from 'path';
import { startConsole, RunningConsole } from '../../src/console/index';
import { nginxMap, blockList, userHash, MAX_BLOCKS, MAX_DURATION_MS, MAX_LIST_BYTES } from '../../src/console/blocks';
import { SqliteBlocks } from '../../src/console/store/sqlite/blocks';
import Database from 'better-sqlite3';
import { sid, tempDir } from './helpers';

const TOKEN = 'ui-token';
const BLOCKS_TOKEN = 'nginx-token';

/* eslint-disable @typescript-eslint/no-explicit-any */
describe('blocks API', () => {
  const tmp = tempDir('api-sessions-blocks-');
  let c: RunningConsole;
  const call = (method: string, path: string, body?: unknown, token = TOKEN) =>
    fetch(c.url + path.slice(1), {
      method,
      headers: { authorization: 'Bearer ' + token, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(async (r): Promise<{ status: number; body: any }> => ({ status: r.status, body: r.headers.get('content-type')?.includes('json') ? await r.json() : await r.text() }));

  beforeAll(async () => {
    c = await startConsole({ dbPath: join(tmp.dir, 'b.db'), token: TOKEN, blocksToken: BLOCKS_TOKEN, log: () => undefined });
  });
  afterAll(async () => {
    await c.close();
    tmp.cleanup();
  });

  test('block a session for the default hour, list it, extend it, lift it; every change audited', async () => {
    const before = Date.now();
    const made = await call('POST', '/api/blocks', { kind: 'session', value: sid('eve').toUpperCase(), reason: 'credential stuffing', by: 'ana' });
    expect(made.status).toBe(201);
    expect(made.body.value).toBe(sid('eve'));
    expect(made.body.expires_at - made.body.created_at).toBe(3600000);
    expect(made.body.created_at).toBeGreaterThanOrEqual(before);
    const list = await call('GET', '/api/blocks');
    expect(list.body.items.map((b: { id: number }) => b.id)).toContain(made.body.id);

    const ext = await call('POST', `/api/blocks/${made.body.id}/extend`, { duration: '2h', by: 'bo', reason: 'still at it' });
    expect(ext.status).toBe(200);
    expect(ext.body.expires_at).toBe(made.body.expires_at + 2 * 3600000);

    const lifted = await call('POST', `/api/blocks/${made.body.id}/lift`, { by: 'cy', reason: 'false positive' });
    expect(lifted.body.state).toBe('lifted');
    expect((await call('GET', '/api/blocks')).body.items.map((b: { id: number }) => b.id)).not.toContain(made.body.id);
    expect((await call('POST', `/api/blocks/${made.body.id}/lift`, {})).status).toBe(404);
    const all = await call('GET', '/api/blocks?all=1');
    expect(all.body.items.find((b: { id: number }) => b.id === made.body.id).state).toBe('lifted');

    const audit = (await call('GET', '/api/blocks/audit')).body.items.filter((a: { block_id: number }) => a.block_id === made.body.id);
    expect(audit.map((a: { action: string; who: string; reason: string }) => [a.action, a.who, a.reason])).toEqual([
      ['lift', 'cy', 'false positive'],
      ['extend', 'bo', 'still at it'],
      ['block', 'ana', 'credential stuffing'],
    ]);
  });

  test('refuses bad input: kind, value shapes, durations beyond 30 days, a missing reason', async () => {
    expect((await call('POST', '/api/blocks', { kind: 'ip', value: '1.2.3.4', reason: 'x' })).status).toBe(400);
    expect((await call('POST', '/api/blocks', { kind: 'session', value: 'not-hex', reason: 'x' })).status).toBe(400);
    expect((await call('POST', '/api/blocks', { kind: 'key', value: 'abc', reason: 'x' })).status).toBe(400);
    expect((await call('POST', '/api/blocks', { kind: 'user', value: 'a\nb', reason: 'x' })).status).toBe(400);
    expect((await call('POST', '/api/blocks', { kind: 'user', value: 'x'.repeat(257), reason: 'x' })).status).toBe(400);
    expect((await call('POST', '/api/blocks', { kind: 'user', value: 'a\ud800', reason: 'x' })).status).toBe(400);
    expect((await call('POST', '/api/blocks', { kind: 'user', value: 'bob' })).status).toBe(400);
    expect((await call('POST', '/api/blocks', { kind: 'user', value: 'bob', reason: 'x', duration: '31d' })).status).toBe(400);
    const max = await call('POST', '/api/blocks', { kind: 'user', value: 'bob', reason: 'x', duration: '30d' });
    expect(max.status).toBe(201);
    expect(max.body.expires_at - max.body.created_at).toBe(MAX_DURATION_MS);
    // Extending never goes beyond 30 days from now.
    const ext = await call('POST', `/api/blocks/${max.body.id}/extend`, { duration: '10d' });
    expect(ext.body.expires_at).toBeLessThanOrEqual(Date.now() + MAX_DURATION_MS);
    await call('POST', `/api/blocks/${max.body.id}/lift`, {});
  });

  test('the distribution endpoints take the blocks token only; the UI token does not open them, nor theirs the API', async () => {
    const b = await call('POST', '/api/blocks', { kind: 'user', value: "o'brien$x\\y", reason: 'abuse', duration: '10m' });
    expect((await call('GET', '/api/blocks/list', undefined, TOKEN)).status).toBe(401);
    expect((await call('GET', '/api/blocks', undefined, BLOCKS_TOKEN)).status).toBe(401);
    const list = await call('GET', '/api/blocks/list', undefined, BLOCKS_TOKEN);
    expect(list.status).toBe(200);
    // Users go out as their hashes, each entry with its block's expiry.
    expect(list.body).toMatchObject({ v: 2, users: [[userHash("o'brien$x\\y"), b.body.expires_at]], sessions: [], keys: [] });
    expect(list.body.version).toBeGreaterThan(0);
    expect(Date.parse(list.body.expires)).toBe(b.body.expires_at);
    const map = await call('GET', '/api/blocks/nginx-map', undefined, BLOCKS_TOKEN);
    expect(map.status).toBe(200);
    // Hex and digits only: no quote, backslash or $ of the user reaches nginx's parser.
    expect(map.body).toContain(`    'u:${userHash("o'brien$x\\y")}' '${b.body.expires_at}';`);
    expect(map.body).toContain(`map $host $api_sessions_block_list { default '${list.body.version} ${b.body.expires_at}'; }`);
    await call('POST', `/api/blocks/${b.body.id}/lift`, {});
    const empty = await call('GET', '/api/blocks/nginx-map', undefined, BLOCKS_TOKEN);
    expect(empty.body).toContain("map $host $api_sessions_block_list { default ''; }");
  });

  test('without a blocks token the list is not served', async () => {
    const t2 = tempDir('api-sessions-blocks2-');
    const c2 = await startConsole({ dbPath: join(t2.dir, 'b.db'), log: () => undefined });
    try {
      const r = await fetch(c2.url + 'api/blocks/list');
      expect(r.status).toBe(503);
    } finally {
      await c2.close();
      t2.cleanup();
    }
  });
});

describe('block store', () => {
  test('expiry: a block past its time leaves the list; the list is bounded', async () => {
    const db = new Database(':memory:');
    const s = new SqliteBlocks(db);
    const t = 1_800_000_000_000;
    await s.create({ kind: 'session', value: sid('a'), reason: 'r', who: 'w', now: t, expiresAt: t + 1000, max: 10 });
    await s.create({ kind: 'key', value: sid('k'), reason: 'r', who: 'w', now: t, expiresAt: t + 5000, max: 10 });
    expect((await blockList(s, t + 999)).sessions).toEqual([[sid('a'), t + 1000]]);
    const later = await blockList(s, t + 1000);
    expect(later.sessions).toEqual([]);
    expect(later.keys).toEqual([[sid('k'), t + 5000]]);
    expect(nginxMap(later)).toContain(`'k:${sid('k')}' '${t + 5000}';`);
    // Two blocks of one value: one entry, until the later expiry.
    await s.create({ kind: 'key', value: sid('k'), reason: 'again', who: 'w', now: t, expiresAt: t + 9000, max: 10 });
    expect((await blockList(s, t + 1000)).keys).toEqual([[sid('k'), t + 9000]]);
    expect(await s.create({ kind: 'user', value: 'u', reason: 'r', who: 'w', now: t, expiresAt: t + 5000, max: 3 })).toBe('full');
    db.close();
  });

  test('the largest list (10,000 user blocks of 256 CJK characters each) stays far below what nginx loads', async () => {
    const db = new Database(':memory:');
    const s = new SqliteBlocks(db);
    const t = 1_800_000_000_000;
    for (let i = 0; i < MAX_BLOCKS; i++) {
      const user = String(i).padStart(5, '0') + '用'.repeat(251);
      expect(await s.create({ kind: 'user', value: user, reason: 'r', who: 'w', now: t, expiresAt: t + 3600000 + i, max: MAX_BLOCKS })).not.toBe('full');
    }
    const list = await blockList(s, t);
    expect(list.users).toHaveLength(MAX_BLOCKS);
    const map = Buffer.byteLength(nginxMap(list));
    const json = Buffer.byteLength(JSON.stringify(list));
    expect(map).toBeLessThan(MAX_LIST_BYTES * 0.6);
    expect(json).toBeLessThan(MAX_LIST_BYTES * 0.6);
    db.close();
  });
});
