/**
 * The store contract (contract.ts) against the embedded SQLite store: the reference the
 * ClickHouse store is held to (clickhouse.test.ts runs the same checks on a real server).
 */
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { SqliteStore } from '../../src/console/store/sqlite';
import { defineStoreContract } from './contract';
import { defineFindingContract } from './detections-contract';

const dir = mkdtempSync(join(tmpdir(), 'api-sessions-contract-'));
let n = 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

defineStoreContract('sqlite', () => ({
  open: async () => new SqliteStore(join(dir, `store-${++n}.db`)),
}));
defineFindingContract('sqlite', () => ({
  open: async () => new SqliteStore(join(dir, `store-${++n}.db`)),
}));
