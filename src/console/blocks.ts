/**
 * Blocks: an analyst blocks a session, a user or one grouping-key value for a while, with a
 * reason; every nginx of the fleet pulls the active list (its own token) and refuses the
 * blocked requests through $api_sessions_blocked (src/njs/block.ts). This file holds what a
 * block is, its bounds, and the list nginx pulls (as JSON and as an nginx `map` include); the
 * HTTP routes are in routes/blocks.ts.
 *
 * The values are what records hold, never raw credentials: a session id, a user as the record
 * writes it (a keyed hash when the user parameter is hashed), a grouping value's keyed hash.
 */
export type BlockKind = 'session' | 'user' | 'key';

export interface Block {
  id: number;
  kind: BlockKind;
  value: string;
  reason: string;
  created_by: string;
  /** ms since the epoch */
  created_at: number;
  expires_at: number;
  lifted_at: number | null;
  lifted_by: string | null;
}

export interface BlockAudit {
  id: number;
  block_id: number;
  at: number;
  who: string;
  action: 'block' | 'extend' | 'lift';
  kind: BlockKind;
  value: string;
  reason: string;
  /** The block's expiry after this change. */
  expires_at: number;
}

export interface BlockStore {
  /** Active blocks (not lifted, not expired at `now`), oldest first, at most `max`. */
  active(now: number, max: number): Promise<Block[]>;
  list(opts: { now: number; all: boolean; limit: number }): Promise<Block[]>;
  get(id: number): Promise<Block | null>;
  /** 'full' when MAX_BLOCKS are already active. */
  create(b: { kind: BlockKind; value: string; reason: string; who: string; now: number; expiresAt: number; max: number }): Promise<Block | 'full'>;
  /** null when the block is not active. */
  extend(id: number, expiresAt: number, who: string, reason: string, now: number): Promise<Block | null>;
  lift(id: number, who: string, reason: string, now: number): Promise<Block | null>;
  auditList(limit: number): Promise<BlockAudit[]>;
  /** Grows with every change (SQLite: the newest audit entry's id; ClickHouse: the number of changes). */
  version(): Promise<number>;
}

export const HOUR = 3600000;
export const DEFAULT_DURATION_MS = HOUR;
export const MAX_DURATION_MS = 30 * 24 * HOUR;
/** Active blocks at most: the list nginx holds stays bounded. */
export const MAX_BLOCKS = 10000;
export const MAX_USER = 256;
export const MAX_REASON = 1000;
export const MAX_WHO = 100;
/** Version of the distribution list's format (GET /api/blocks/list). */
export const BLOCK_LIST_VERSION = 1;
/** Paths nginx calls with the blocks token instead of the console's token. */
export const BLOCK_LIST_PATHS = ['/api/blocks/list', '/api/blocks/nginx-map'];

const HEX32 = /^[0-9a-f]{32}$/;

/** A block request that breaks a rule: the routes answer it 400 with its message. */
export class BadRequest extends Error {}

/** "90m", "1h", "7d", "3600s" or a number of seconds -> ms, at most 30 days. */
export function parseDuration(v: unknown): number {
  if (v === undefined || v === null || v === '') return DEFAULT_DURATION_MS;
  const m = /^(\d{1,9})([smhd]?)$/.exec(String(v).trim());
  if (!m) throw new BadRequest('duration: seconds, or a number with s, m, h or d (90m, 1h, 7d)');
  const unit = m[2] === 'd' ? 24 * HOUR : m[2] === 'h' ? HOUR : m[2] === 'm' ? 60000 : 1000;
  const ms = Number(m[1]) * unit;
  if (ms < 1000) throw new BadRequest('duration: at least 1 second');
  if (ms > MAX_DURATION_MS) throw new BadRequest('duration: at most 30 days');
  return ms;
}

export function checkValue(kind: unknown, value: unknown): { kind: BlockKind; value: string } {
  if (kind !== 'session' && kind !== 'user' && kind !== 'key') throw new BadRequest('kind: session, user or key');
  if (typeof value !== 'string' || value === '') throw new BadRequest('value: required');
  if (kind === 'user') {
    if (value.length > MAX_USER) throw new BadRequest(`value: a user of at most ${MAX_USER} characters`);
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(value)) throw new BadRequest('value: a user without control characters');
    return { kind, value };
  }
  const v = value.toLowerCase();
  if (!HEX32.test(v)) throw new BadRequest(kind === 'session' ? 'value: a session id (32 hex characters)' : "value: a grouping value's keyed hash (32 hex characters)");
  return { kind, value: v };
}

export interface BlockList {
  v: number;
  /** Grows with every change of the blocks. */
  version: number;
  generated: string;
  /** The soonest expiry of a listed block (ISO), null when none: pull again by then. */
  expires: string | null;
  sessions: string[];
  users: string[];
  keys: string[];
}

export async function blockList(blocks: BlockStore, now: number): Promise<BlockList> {
  const active = await blocks.active(now, MAX_BLOCKS);
  const out: BlockList = { v: BLOCK_LIST_VERSION, version: await blocks.version(), generated: new Date(now).toISOString(), expires: null, sessions: [], users: [], keys: [] };
  let soonest = Infinity;
  for (const b of active) {
    const list = b.kind === 'session' ? out.sessions : b.kind === 'user' ? out.users : out.keys;
    if (!list.includes(b.value)) list.push(b.value);
    soonest = Math.min(soonest, b.expires_at);
  }
  if (soonest !== Infinity) out.expires = new Date(soonest).toISOString();
  return out;
}

/** A string as an nginx configuration token in single quotes ($ never appears: see below). */
function nginxQuoted(s: string): string {
  return "'" + s.replace(/\\/g, '\\\\').replace(/'/g, "\\'") + "'";
}

/** Characters of a user's percent-encoded form in its map key: keys stay within nginx's
 *  default map_hash_bucket_size (64 bytes on x86_64), so the include needs no hash settings. */
export const USER_KEY_CHARS = 40;

/** The map key of a user: the module computes the same (src/njs/block.ts). */
export function userKey(user: string): string {
  return 'u:' + encodeURIComponent(user).slice(0, USER_KEY_CHARS).toLowerCase();
}

/**
 * The list as an nginx include (placed after nginx/api_sessions.conf): $api_sessions_block_list
 * tells the module a list exists (its version), and the volatile map answers the module's probes
 * one at a time: "s:" session id and "k:" keyed hash -> 1; a user's key (userKey: nginx compares
 * map keys without case, and bounds their length) -> the percent-encoded users under that key,
 * separated by spaces, which the module compares exactly. Keys are literal (nginx expands
 * variables only in values, and an encoded value holds no `$`) and prefixed, so none reads as
 * `default` or a `~` regex.
 */
export function nginxMap(list: BlockList): string {
  const lines = [
    `# API Sessions blocks, version ${list.version}, generated ${list.generated} by the console (GET /api/blocks/nginx-map).`,
    `# Include after nginx/api_sessions.conf in the http block; regenerate and reload (docs/console.md).`,
    list.expires ? `# The soonest expiry: ${list.expires}: regenerate before then.` : '# No active block.',
  ];
  const entries: Array<[string, string]> = [];
  for (const s of list.sessions) entries.push(['s:' + s, '1']);
  for (const k of list.keys) entries.push(['k:' + k, '1']);
  const users = new Map<string, string[]>();
  for (const u of list.users) {
    const key = userKey(u);
    const enc = encodeURIComponent(u);
    const same = users.get(key);
    if (same) same.push(enc);
    else users.set(key, [enc]);
  }
  for (const [key, encs] of users) entries.push([key, encs.join(' ')]);
  const any = list.sessions.length + list.users.length + list.keys.length > 0;
  lines.push(`map $host $api_sessions_block_list { default ${any ? "'" + list.version + "'" : "''"}; }`);
  lines.push('map $api_sessions_block_probe $api_sessions_block_hit {');
  lines.push('    volatile;');
  lines.push("    default '';");
  for (const [k, v] of entries) lines.push(`    ${nginxQuoted(k)} ${nginxQuoted(v)};`);
  lines.push('}');
  return lines.join('\n') + '\n';
}
