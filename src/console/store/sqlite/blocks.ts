/**
 * Blocks in the SQLite store: the blocks themselves and their audit list, in two tables of the
 * console's file. Synchronous under async methods, like the rest of the SQLite store.
 */
import type Database from 'better-sqlite3';
import { Block, BlockAudit, BlockKind, BlockStore } from '../../blocks';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS blocks (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  kind TEXT NOT NULL,
  value TEXT NOT NULL,
  reason TEXT NOT NULL,
  created_by TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  lifted_at INTEGER,
  lifted_by TEXT
);
CREATE INDEX IF NOT EXISTS blocks_active ON blocks (expires_at) WHERE lifted_at IS NULL;
CREATE TABLE IF NOT EXISTS block_audit (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  block_id INTEGER NOT NULL,
  at INTEGER NOT NULL,
  who TEXT NOT NULL,
  action TEXT NOT NULL,
  kind TEXT NOT NULL,
  value TEXT NOT NULL,
  reason TEXT NOT NULL,
  expires_at INTEGER NOT NULL
);
`;

/** A row of the blocks table: its columns are a Block's fields. */
type Row = Block;

function toBlock(r: Row): Block {
  return { ...r };
}

export class SqliteBlocks implements BlockStore {
  constructor(private readonly db: Database.Database) {
    db.exec(SCHEMA);
  }

  private audit(b: Block, at: number, who: string, action: BlockAudit['action'], reason: string): void {
    this.db
      .prepare('INSERT INTO block_audit (block_id, at, who, action, kind, value, reason, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(b.id, at, who, action, b.kind, b.value, reason, b.expires_at);
  }

  async active(now: number, max: number): Promise<Block[]> {
    const rows = this.db
      .prepare('SELECT * FROM blocks WHERE lifted_at IS NULL AND expires_at > ? ORDER BY id LIMIT ?')
      .all(now, max) as Row[];
    return rows.map(toBlock);
  }

  async list(opts: { now: number; all: boolean; limit: number }): Promise<Block[]> {
    const rows = (
      opts.all
        ? this.db.prepare('SELECT * FROM blocks ORDER BY id DESC LIMIT ?').all(opts.limit)
        : this.db.prepare('SELECT * FROM blocks WHERE lifted_at IS NULL AND expires_at > ? ORDER BY id DESC LIMIT ?').all(opts.now, opts.limit)
    ) as Row[];
    return rows.map(toBlock);
  }

  async get(id: number): Promise<Block | null> {
    const r = this.db.prepare('SELECT * FROM blocks WHERE id = ?').get(id) as Row | undefined;
    return r ? toBlock(r) : null;
  }

  async create(b: { kind: BlockKind; value: string; reason: string; who: string; now: number; expiresAt: number; max: number }): Promise<Block | 'full'> {
    return this.db.transaction((): Block | 'full' => {
      const n = (this.db.prepare('SELECT count(*) AS n FROM blocks WHERE lifted_at IS NULL AND expires_at > ?').get(b.now) as { n: number }).n;
      if (n >= b.max) return 'full';
      const info = this.db
        .prepare('INSERT INTO blocks (kind, value, reason, created_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)')
        .run(b.kind, b.value, b.reason, b.who, b.now, b.expiresAt);
      const block = toBlock(this.db.prepare('SELECT * FROM blocks WHERE id = ?').get(info.lastInsertRowid) as Row);
      this.audit(block, b.now, b.who, 'block', b.reason);
      return block;
    })();
  }

  async extend(id: number, expiresAt: number, who: string, reason: string, now: number): Promise<Block | null> {
    return this.db.transaction((): Block | null => {
      const r = this.db.prepare('SELECT * FROM blocks WHERE id = ? AND lifted_at IS NULL AND expires_at > ?').get(id, now) as Row | undefined;
      if (!r) return null;
      this.db.prepare('UPDATE blocks SET expires_at = ? WHERE id = ?').run(expiresAt, id);
      const block = { ...toBlock(r), expires_at: expiresAt };
      this.audit(block, now, who, 'extend', reason);
      return block;
    })();
  }

  async lift(id: number, who: string, reason: string, now: number): Promise<Block | null> {
    return this.db.transaction((): Block | null => {
      const r = this.db.prepare('SELECT * FROM blocks WHERE id = ? AND lifted_at IS NULL AND expires_at > ?').get(id, now) as Row | undefined;
      if (!r) return null;
      this.db.prepare('UPDATE blocks SET lifted_at = ?, lifted_by = ? WHERE id = ?').run(now, who, id);
      const block = { ...toBlock(r), lifted_at: now, lifted_by: who };
      this.audit(block, now, who, 'lift', reason);
      return block;
    })();
  }

  async auditList(limit: number): Promise<BlockAudit[]> {
    return this.db.prepare('SELECT * FROM block_audit ORDER BY id DESC LIMIT ?').all(limit) as BlockAudit[];
  }

  async version(): Promise<number> {
    const r = this.db.prepare('SELECT max(id) AS v FROM block_audit').get() as { v: number | null };
    return r.v ?? 0;
  }
}
