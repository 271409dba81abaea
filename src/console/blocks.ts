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
import { createHash } from 'crypto';

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
export const BLOCK_LIST_VERSION = 2;
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
    try {
      userHash(value);
    } catch {
      throw new BadRequest('value: a user in Unicode text (no lone surrogate)');
    }
    return { kind, value };
  }
  const v = value.toLowerCase();
  if (!HEX32.test(v)) throw new BadRequest(kind === 'session' ? 'value: a session id (32 hex characters)' : "value: a grouping value's keyed hash (32 hex characters)");
  return { kind, value: v };
}

/** A listed value and the time its block ends (ms since the epoch): nginx enforces it until then. */
export type ListEntry = [string, number];

export interface BlockList {
  v: number;
  /** Grows with every change of the blocks. */
  version: number;
  generated: string;
  /** The soonest expiry of a listed block (ISO), null when none: pull again by then. */
  expires: string | null;
  /** Session ids, users' hashes (userHash) and grouping values' keyed hashes, each with the
   *  expiry of its block (the latest, when one value has several blocks). */
  sessions: ListEntry[];
  users: ListEntry[];
  keys: ListEntry[];
}

/**
 * A user as the block list names it: the first 32 hex characters of the SHA-256 of the user
 * (as records write `user`) percent-encoded. The module computes the same (src/njs/block.ts).
 * Every entry thus has the same small size whatever the user, so the list of MAX_BLOCKS blocks
 * stays far below what nginx loads (MAX_LIST_BYTES), and no user name reaches nginx's hosts.
 * Throws URIError for a string that is no Unicode text (a lone surrogate): no record writes one.
 */
export function userHash(user: string): string {
  return createHash('sha256').update(encodeURIComponent(user)).digest('hex').slice(0, 32);
}

/** The largest list, in either form, a console may serve: MAX_BLOCKS entries of the longest
 *  form take about 600 KB; the module and the pull script refuse more (and say so). */
export const MAX_LIST_BYTES = 1024 * 1024;

export async function blockList(blocks: BlockStore, now: number): Promise<BlockList> {
  const active = await blocks.active(now, MAX_BLOCKS);
  const out: BlockList = { v: BLOCK_LIST_VERSION, version: await blocks.version(), generated: new Date(now).toISOString(), expires: null, sessions: [], users: [], keys: [] };
  const seen = new Map<string, ListEntry>();
  let soonest = Infinity;
  for (const b of active) {
    const value = b.kind === 'user' ? userHash(b.value) : b.value;
    const id = b.kind + ' ' + value;
    const same = seen.get(id);
    if (same) same[1] = Math.max(same[1], b.expires_at);
    else {
      const entry: ListEntry = [value, b.expires_at];
      seen.set(id, entry);
      (b.kind === 'session' ? out.sessions : b.kind === 'user' ? out.users : out.keys).push(entry);
    }
    soonest = Math.min(soonest, b.expires_at);
  }
  if (soonest !== Infinity) out.expires = new Date(soonest).toISOString();
  return out;
}

/** The first line of the include: deploy/blocks/pull-nginx-map.sh checks it. */
export const NGINX_MAP_HEADER = '# API Sessions blocks, version ';

/**
 * The list as an nginx include (placed after nginx/api_sessions.conf): $api_sessions_block_list
 * holds the version and the latest expiry (empty when nothing is blocked: the module is then
 * not even called), and the volatile map answers the module's probes one at a time: "s:"
 * session id, "u:" user hash, "k:" keyed hash -> the block's expiry in ms. The module blocks a
 * request only while that expiry is ahead of the request's time, so a block ends in nginx at its
 * expiry whether or not a newer list arrives. Every key and value is hex or digits: nothing in
 * it can read as more than a map entry (the pull script refuses anything else).
 */
export function nginxMap(list: BlockList): string {
  const lines = [
    `${NGINX_MAP_HEADER}${list.version}, generated ${list.generated} by the console (GET /api/blocks/nginx-map).`,
    '# Include after nginx/api_sessions.conf in the http block; deploy/blocks/pull-nginx-map.sh installs it (docs/console.md).',
    list.expires ? `# Each block ends at its expiry (ms since the epoch) in nginx too; the soonest: ${list.expires}.` : '# No active block.',
  ];
  const entries: Array<[string, number]> = [];
  for (const [v, e] of list.sessions) entries.push(['s:' + v, e]);
  for (const [v, e] of list.users) entries.push(['u:' + v, e]);
  for (const [v, e] of list.keys) entries.push(['k:' + v, e]);
  let latest = 0;
  for (const [, e] of entries) latest = Math.max(latest, e);
  lines.push(`map $host $api_sessions_block_list { default '${entries.length > 0 ? list.version + ' ' + latest : ''}'; }`);
  lines.push('map $api_sessions_block_probe $api_sessions_block_hit {');
  lines.push('    volatile;');
  lines.push("    default '';");
  for (const [k, e] of entries) lines.push(`    '${k}' '${e}';`);
  lines.push('}');
  return lines.join('\n') + '\n';
}
