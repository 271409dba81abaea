/**
 * The request ids of a rotation experiment, on both sides: what nginx wrote (the log and its
 * rotated siblings) and what the console's SQLite store holds. Shared by the rotation tests and
 * bench/tail-rotation.ts, which compare the two.
 */
import { readdirSync, readFileSync } from 'fs';
import { join } from 'path';
import { SqliteStore } from '../../src/console/store/sqlite';

/** Every request id nginx wrote, from the log and all its rotated files. */
export function writtenIds(log: string): string[] {
  const dir = join(log, '..');
  const ids: string[] = [];
  for (const f of readdirSync(dir)) {
    if (!f.startsWith('api_sessions.log')) continue;
    for (const l of readFileSync(join(dir, f), 'utf8').split('\n')) if (l !== '') ids.push(JSON.parse(l).request_id);
  }
  return ids;
}

/** Every request id the store at `db` holds, over all its days. */
export function storedIds(db: string): string[] {
  const s = new SqliteStore(db, { readonly: true });
  try {
    const days = s.db.prepare('SELECT part FROM days').pluck().all() as string[];
    const ids: string[] = [];
    for (const d of days) ids.push(...(s.db.prepare(`SELECT request_id FROM requests_${d.replace(/-/g, '')}`).pluck().all() as string[]));
    return ids;
  } finally {
    s.db.close();
  }
}
