/** Shared by the console's tests: records to order, temp dirs, waiting for a condition. */
import crypto from 'crypto';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { SessionRecord } from '../../src/record/record';

export const DAY = 86400000;
/** Today at 10:00 UTC and the day before, so that parts are inside the retention period. */
export const TODAY = Math.floor(Date.now() / DAY) * DAY + 10 * 3600000;
export const YESTERDAY = TODAY - DAY;

export const sid = (name: string) => crypto.createHash('md5').update('session ' + name).digest('hex');

let counter = 0;
export function rid(): string {
  return crypto.createHash('md5').update('rid ' + ++counter + ' ' + Math.random()).digest('hex');
}

export function rec(o: Partial<SessionRecord> & { at: number; s: string }): SessionRecord {
  const { at, s, ...rest } = o;
  const ts = new Date(at).toISOString();
  return {
    v: 1,
    ts,
    app: 'shop',
    session: sid(s),
    part: ts.slice(0, 10),
    key: 'request.query.token',
    key_source: 'params',
    request_id: rid(),
    method: 'GET',
    host: 'shop.local',
    path: '/',
    status: 200,
    duration_ms: 3,
    bytes_sent: 100,
    ip: '203.0.113.1',
    ua: 'test-agent',
    params: {},
    user: null,
    role: null,
    attack: null,
    request: null,
    errors: [],
    ...rest,
  };
}

export function tempDir(prefix: string): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Polls `check` until it returns a truthy value or `ms` pass (then throws with `what`). */
export async function waitFor<T>(what: string, check: () => Promise<T> | T, ms = 15000): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}` + (last ? `: ${(last as Error).message}` : ''));
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const line = (r: SessionRecord) => JSON.stringify(r) + '\n';
