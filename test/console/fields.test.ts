/**
 * One field list per record (src/console/store/fields.ts): every field of the contract is kept
 * by the stores or said to be kept elsewhere, and the stores' schemas have a column for each field
 * the list gives them. A new record field without a column fails here.
 */
import { readFileSync } from 'fs';
import { join } from 'path';
import ts from 'typescript';
import Database from 'better-sqlite3';
import { FIELDS_ELSEWHERE, REQUEST_FIELDS, SAMPLE_FIELDS } from '../../src/console/store/fields';
import { SqliteStore } from '../../src/console/store/sqlite';
import { createTables } from '../../src/console/store/sqlite/schema';
import { SessionRecord } from '../../src/shared/record';
import { TODAY, rec, tempDir } from './helpers';

const ROOT = join(__dirname, '..', '..');

/** The fields of SessionRecord as src/shared/record.ts declares them. */
function contractFields(): string[] {
  const file = join(ROOT, 'src', 'shared', 'record.ts');
  const src = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest);
  const out: string[] = [];
  src.forEachChild((n) => {
    if (ts.isInterfaceDeclaration(n) && n.name.text === 'SessionRecord') {
      for (const m of n.members) if (m.name && ts.isIdentifier(m.name)) out.push(m.name.text);
    }
  });
  return out;
}

/** The columns of a ClickHouse table in deploy/clickhouse/schema.sql. */
function clickhouseColumns(table: string): string[] {
  const sql = readFileSync(join(ROOT, 'deploy', 'clickhouse', 'schema.sql'), 'utf8');
  const m = new RegExp(`CREATE TABLE IF NOT EXISTS \\{database\\}\\.${table} \\(([\\s\\S]*?)\\n\\) ENGINE`).exec(sql);
  if (!m) throw new Error(`schema.sql has no table ${table}`);
  return m[1]
    .split('\n')
    .map((l) => /^\s*`?([a-z_]+)`?\s+[A-Z]/.exec(l)?.[1])
    .filter((c): c is string => c !== undefined);
}

function sqliteColumns(table: string): string[] {
  const db = new Database(':memory:');
  createTables(db);
  const cols = (db.prepare(`PRAGMA table_info(${table})`).all() as Array<{ name: string }>).map((c) => c.name);
  db.close();
  return cols;
}

test('every field of the contract is a stored request field or is said to be kept elsewhere', () => {
  const fields = contractFields();
  expect(fields).toContain('request_id'); // the declaration was read
  const placed = [...REQUEST_FIELDS, ...Object.keys(FIELDS_ELSEWHERE)];
  expect(fields.filter((f) => !placed.includes(f))).toEqual([]);
  expect(placed.filter((f) => !fields.includes(f))).toEqual([]);
});

test("ClickHouse: a column of the requests table for each request field and what addresses it; of samples for each sample field", () => {
  const requests = clickhouseColumns('requests');
  expect([...REQUEST_FIELDS, 'v', 'session', 'part'].filter((f) => !requests.includes(f))).toEqual([]);
  const samples = clickhouseColumns('samples');
  expect([...SAMPLE_FIELDS, 'app', 'part', 'links', 'inventory', 'user', 'key'].filter((f) => !samples.includes(f))).toEqual([]);
});

test('SQLite: a record with every field reads back with each request field; samples have a column for each sample field', async () => {
  const samples = sqliteColumns('samples');
  expect([...SAMPLE_FIELDS, 'app', 'part', 'links', 'inventory', 'user', 'key'].filter((f) => !samples.includes(f))).toEqual([]);

  const tmp = tempDir('api-sessions-fields-');
  const store = new SqliteStore(join(tmp.dir, 'f.db'));
  try {
    const r: SessionRecord = rec({
      s: 'every-field', at: TODAY, user: 'ann', role: 'admin', attack: ['sqli'], params: { q: 'x' }, errors: ['request.body: not read'],
      request: { line: 'GET / HTTP/1.1', headers: [['Host', 'shop.local']], body: null, truncated: false },
    });
    await store.ingest([r]);
    const [got] = (await store.partRequests(r.session, r.part, { limit: 1 })).items;
    for (const f of REQUEST_FIELDS) expect([f, got[f]]).toEqual([f, r[f]]);
  } finally {
    await store.close();
    tmp.cleanup();
  }
});
