/**
 * Blocks in the ClickHouse store. ClickHouse has no transactions and no cheap updates, so a block
 * is the rows of its changes in `block_audit` (schema.sql): the `block` row gives what is blocked,
 * why and by whom; the newest row its expiry; a `lift` row when and by whom it was lifted. The
 * audit list is the table itself.
 *
 * Without transactions, "at most MAX_BLOCKS active" and "extend or lift an active block" are a
 * read then a write: two consoles on one database that change blocks in the same instant may pass
 * the bound by one, or both extend. Blocks are made by people, a few a day: acceptable, and said
 * in docs/console.md.
 */
import { Block, BlockAudit, BlockKind, BlockStore } from '../../blocks';
import { ClickHouseTables, lit, num } from './tables';

/** A block's state from its rows (UInt64 columns come back as strings). The aliases differ from
 *  the columns: ClickHouse would otherwise read an alias where an aggregate names its column. */
interface StateRow {
  block: string;
  s_kind: string;
  s_value: string;
  s_reason: string;
  s_created_by: string;
  s_created_at: string;
  s_expires_at: string;
  s_lifted_at: string;
  s_lifted_by: string;
}

interface AuditRow {
  id: string;
  block_id: string;
  at: string;
  who: string;
  action: string;
  kind: string;
  value: string;
  reason: string;
  expires_at: string;
}

function toBlock(r: StateRow): Block {
  const lifted = Number(r.s_lifted_at);
  return {
    id: Number(r.block),
    kind: r.s_kind as BlockKind,
    value: r.s_value,
    reason: r.s_reason,
    created_by: r.s_created_by,
    created_at: Number(r.s_created_at),
    expires_at: Number(r.s_expires_at),
    lifted_at: lifted > 0 ? lifted : null,
    lifted_by: lifted > 0 ? r.s_lifted_by : null,
  };
}

/** A block's state: what the `block` row says, the newest row's expiry, the `lift` row's time. */
const STATE = `block_id AS block,
  anyIf(kind, action = 'block') AS s_kind,
  anyIf(value, action = 'block') AS s_value,
  anyIf(reason, action = 'block') AS s_reason,
  anyIf(who, action = 'block') AS s_created_by,
  anyIf(at, action = 'block') AS s_created_at,
  argMax(expires_at, id) AS s_expires_at,
  maxIf(at, action = 'lift') AS s_lifted_at,
  argMaxIf(who, id, action = 'lift') AS s_lifted_by`;

export class ClickHouseBlocks implements BlockStore {
  private lastId = 0;

  constructor(private readonly t: ClickHouseTables) {}

  private get table(): string {
    return `${this.t.database}.block_audit`;
  }

  /** An id above every id the table holds, so that the newest change of a block is the one with
   *  the largest id whatever the clocks of the consoles writing (one more query per change:
   *  blocks change a few times a day); time-based so that two consoles racing in the same
   *  millisecond rarely collide; a safe integer (ms * 1000 < 2^53 until the year 2255). */
  private async nextId(): Promise<number> {
    const r = await this.t.rows<{ v: string }>(`SELECT max(id) AS v FROM ${this.table}`);
    const id = Math.max(this.lastId + 1, Number(r[0]?.v ?? 0) + 1, Date.now() * 1000 + Math.floor(Math.random() * 1000));
    this.lastId = id;
    return id;
  }

  /** The states of the blocks matching `having` (a condition on the state's aliases). */
  private async states(having: string, order: 'ASC' | 'DESC', limit: number): Promise<Block[]> {
    const rows = await this.t.rows<StateRow>(
      `SELECT ${STATE} FROM ${this.table} GROUP BY block_id ${having ? 'HAVING ' + having : ''}
       ORDER BY block ${order} LIMIT ${num(limit)}`,
    );
    return rows.map(toBlock);
  }

  private activeAt(now: number): string {
    return `s_lifted_at = 0 AND s_expires_at > ${num(now)}`;
  }

  private async write(b: Block, id: number, at: number, who: string, action: BlockAudit['action'], reason: string): Promise<void> {
    await this.t.client.insert({
      table: this.table,
      values: [{ id, block_id: b.id, at, who, action, kind: b.kind, value: b.value, reason, expires_at: b.expires_at }],
      format: 'JSONEachRow',
    });
  }

  active(now: number, max: number): Promise<Block[]> {
    return this.states(this.activeAt(now), 'ASC', max);
  }

  list(opts: { now: number; all: boolean; limit: number }): Promise<Block[]> {
    return this.states(opts.all ? '' : this.activeAt(opts.now), 'DESC', opts.limit);
  }

  async get(id: number): Promise<Block | null> {
    const found = await this.states(`block = ${num(id)}`, 'ASC', 1);
    return found.length > 0 ? found[0] : null;
  }

  async create(b: { kind: BlockKind; value: string; reason: string; who: string; now: number; expiresAt: number; max: number }): Promise<Block | 'full'> {
    const counted = await this.t.rows<{ n: string }>(
      `SELECT count() AS n FROM (
         SELECT argMax(expires_at, id) AS s_expires_at, maxIf(at, action = 'lift') AS s_lifted_at
         FROM ${this.table} GROUP BY block_id HAVING ${this.activeAt(b.now)})`,
    );
    if (Number(counted[0]?.n ?? 0) >= b.max) return 'full';
    const id = await this.nextId();
    const block: Block = {
      id,
      kind: b.kind,
      value: b.value,
      reason: b.reason,
      created_by: b.who,
      created_at: b.now,
      expires_at: b.expiresAt,
      lifted_at: null,
      lifted_by: null,
    };
    await this.write(block, id, b.now, b.who, 'block', b.reason);
    return block;
  }

  private async activeBlock(id: number, now: number): Promise<Block | null> {
    const b = await this.get(id);
    return b !== null && b.lifted_at === null && b.expires_at > now ? b : null;
  }

  async extend(id: number, expiresAt: number, who: string, reason: string, now: number): Promise<Block | null> {
    const b = await this.activeBlock(id, now);
    if (b === null) return null;
    const block = { ...b, expires_at: expiresAt };
    await this.write(block, await this.nextId(), now, who, 'extend', reason);
    return block;
  }

  async lift(id: number, who: string, reason: string, now: number): Promise<Block | null> {
    const b = await this.activeBlock(id, now);
    if (b === null) return null;
    const block = { ...b, lifted_at: now, lifted_by: who };
    await this.write(block, await this.nextId(), now, who, 'lift', reason);
    return block;
  }

  async auditList(limit: number): Promise<BlockAudit[]> {
    const rows = await this.t.rows<AuditRow>(
      `SELECT id, block_id, at, who, action, kind, value, reason, expires_at FROM ${this.table} ORDER BY id DESC LIMIT ${num(limit)}`,
    );
    return rows.map((r) => ({
      id: Number(r.id),
      block_id: Number(r.block_id),
      at: Number(r.at),
      who: r.who,
      action: r.action as BlockAudit['action'],
      kind: r.kind as BlockKind,
      value: r.value,
      reason: r.reason,
      expires_at: Number(r.expires_at),
    }));
  }

  /** The number of changes: the table only grows, so this grows with every change whichever
   *  console made it (nginx's pull compares it to skip an unchanged list). */
  async version(): Promise<number> {
    const r = await this.t.rows<{ n: string }>(`SELECT count() AS n FROM ${this.table}`);
    return Number(r[0]?.n ?? 0);
  }
}

/** Whether the database has the blocks table (an operator-managed schema may not). */
export async function hasBlockTable(t: ClickHouseTables): Promise<boolean> {
  const found = await t.rows<{ name: string }>(
    `SELECT name FROM system.tables WHERE database = ${lit(t.database)} AND name = 'block_audit'`,
  );
  return found.length === 1;
}
