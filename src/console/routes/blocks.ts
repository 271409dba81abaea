/**
 * The block routes (what a block is, and the list nginx pulls: ../blocks.ts):
 *
 *   GET  /api/blocks                 active blocks (?all=1: lifted and expired ones too)
 *   POST /api/blocks                 {kind, value, reason, duration?, by?}
 *   POST /api/blocks/:id/extend      {duration, reason?, by?}
 *   POST /api/blocks/:id/lift        {reason?, by?}
 *   GET  /api/blocks/audit           who, when, what, why: newest first
 *   GET  /api/blocks/list            for nginx (blocks token): the active list as JSON
 *   GET  /api/blocks/nginx-map       for nginx (blocks token): the list as an nginx `map` include
 *
 * and the blocks page with its script.
 */
import { readFileSync } from 'fs';
import { join } from 'path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Store } from '../store/types';
import { UI_DIR } from '../assets';
import {
  BadRequest,
  Block,
  BlockStore,
  DEFAULT_DURATION_MS,
  MAX_BLOCKS,
  MAX_DURATION_MS,
  MAX_REASON,
  MAX_WHO,
  blockList,
  checkValue,
  nginxMap,
  parseDuration,
} from '../blocks';
import { bearerMatches, sendRefusal, tokenDigest } from './access';
import { count, parameters } from './query';
import type { TokenGuesses } from '../guesses';

/** The bodies are JSON objects (their schema); their fields are read by hand: Fastify's ajv would
 *  take `{"reason": 5}` as the string "5", and an empty or null field is one not given. The rules
 *  of `kind`, `value` and `duration` are the blocks' own (../blocks.ts). */
const BODY = { type: 'object', description: 'a JSON object' } as const;
/** A block's id in the path. */
const BLOCK_PARAMS = parameters({ id: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: 'a block id' } });

function field(body: Record<string, unknown>, name: string, max: number): string | undefined {
  const v = body[name];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw new BadRequest(`${name}: a string`);
  if (v.length > max) throw new BadRequest(`${name}: longer than ${max} characters`);
  return v;
}

export interface BlockRoutesOptions {
  store: Store;
  /** Token of the distribution endpoints (nginx's), separate from the console's; null: they answer 503. */
  blocksToken: string | null;
  /** The limit on wrong tokens, shared with the console's token. */
  guesses: TokenGuesses;
  now?: () => number;
}

export function registerBlockRoutes(app: FastifyInstance, opts: BlockRoutesOptions): void {
  const now = opts.now ?? Date.now;
  const tokenHash = opts.blocksToken ? tokenDigest(opts.blocksToken) : null;
  const script = readFileSync(join(UI_DIR, 'blocks.js'));

  const storeOf = (reply: FastifyReply): BlockStore | null => {
    if (opts.store.blocks) return opts.store.blocks;
    reply.code(501).send({ error: 'this store does not keep blocks: the ClickHouse database has no block_audit table (deploy/clickhouse/schema.sql defines it)' });
    return null;
  };
  const fail = (reply: FastifyReply, e: unknown) => {
    if (e instanceof BadRequest) return reply.code(400).send({ error: e.message });
    throw e;
  };
  const who = (body: Record<string, unknown>) => field(body, 'by', MAX_WHO) ?? 'console';
  const shown = (b: Block, t: number) => ({ ...b, state: b.lifted_at !== null ? 'lifted' : b.expires_at <= t ? 'expired' : 'active' });
  const nginxAuthorized = async (req: FastifyRequest, reply: FastifyReply): Promise<boolean> => {
    if (!tokenHash) {
      reply.code(503).send({ error: 'the block list is not served: start the console with a blocks token (API_SESSIONS_BLOCKS_TOKEN or --blocks-token)' });
      return false;
    }
    const right = await bearerMatches(req, tokenHash, opts.guesses);
    if (right === true) return true;
    if (right !== null && right !== false) sendRefusal(reply, right);
    else reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'blocks token required' });
    return false;
  };

  app.get('/blocks', (_req, reply) => reply.type('text/html; charset=utf-8').send(readFileSync(join(UI_DIR, 'index.html'))));
  app.get('/ui/blocks.js', (_req, reply) => reply.type('text/javascript; charset=utf-8').send(script));

  app.get<{ Querystring: { all?: string } }>('/api/blocks', async (req, reply) => {
    const blocks = storeOf(reply);
    if (!blocks) return reply;
    const q = req.query;
    const t = now();
    const items = await blocks.list({ now: t, all: q.all === '1' || q.all === 'true', limit: 1000 });
    return { items: items.map((b) => shown(b, t)), max_duration_s: MAX_DURATION_MS / 1000, default_duration_s: DEFAULT_DURATION_MS / 1000 };
  });

  app.post<{ Body: Record<string, unknown> }>('/api/blocks', { schema: { body: BODY } }, async (req, reply) => {
    const blocks = storeOf(reply);
    if (!blocks) return reply;
    try {
      const body = req.body;
      const { kind, value } = checkValue(body.kind, body.value);
      const reason = field(body, 'reason', MAX_REASON);
      if (reason === undefined) throw new BadRequest('reason: required');
      const t = now();
      const b = await blocks.create({ kind, value, reason, who: who(body), now: t, expiresAt: t + parseDuration(body.duration), max: MAX_BLOCKS });
      if (b === 'full') return reply.code(409).send({ error: `${MAX_BLOCKS} blocks are active already: lift some first` });
      return reply.code(201).send(shown(b, t));
    } catch (e) {
      return fail(reply, e);
    }
  });

  // Extend and lift: a change to an active block, answered with the block as it now stands, or
  // 404 when no active block has the id (`change` answers null then).
  const changeActive = (change: (blocks: BlockStore, id: number, body: Record<string, unknown>, t: number) => Promise<Block | null>) =>
    async (req: FastifyRequest<{ Params: { id: number }; Body: Record<string, unknown> }>, reply: FastifyReply) => {
      const blocks = storeOf(reply);
      if (!blocks) return reply;
      try {
        const { id } = req.params;
        const body = req.body;
        const t = now();
        const b = await change(blocks, id, body, t);
        if (!b) return reply.code(404).send({ error: 'no active block with this id' });
        return shown(b, t);
      } catch (e) {
        return fail(reply, e);
      }
    };

  const change = { schema: { params: BLOCK_PARAMS, body: BODY } };
  app.post(
    '/api/blocks/:id/extend',
    change,
    changeActive(async (blocks, id, body, t) => {
      const cur = await blocks.get(id);
      if (!cur || cur.lifted_at !== null || cur.expires_at <= t) return null;
      // Adds the duration to the current expiry, never beyond 30 days from now.
      const until = Math.min(cur.expires_at + parseDuration(body.duration), t + MAX_DURATION_MS);
      return blocks.extend(id, until, who(body), field(body, 'reason', MAX_REASON) ?? '', t);
    }),
  );

  app.post(
    '/api/blocks/:id/lift',
    change,
    changeActive((blocks, id, body, t) => blocks.lift(id, who(body), field(body, 'reason', MAX_REASON) ?? '', t)),
  );

  const audit = { querystring: parameters({ limit: count(200, 1000) }) };
  app.get<{ Querystring: { limit: number } }>('/api/blocks/audit', { schema: audit }, async (req, reply) => {
    const blocks = storeOf(reply);
    if (!blocks) return reply;
    return { items: await blocks.auditList(req.query.limit) };
  });

  app.get('/api/blocks/list', async (req, reply) => {
    if (!(await nginxAuthorized(req, reply))) return reply;
    const blocks = storeOf(reply);
    if (!blocks) return reply;
    return blockList(blocks, now());
  });

  app.get('/api/blocks/nginx-map', async (req, reply) => {
    if (!(await nginxAuthorized(req, reply))) return reply;
    const blocks = storeOf(reply);
    if (!blocks) return reply;
    return reply.type('text/plain; charset=utf-8').send(nginxMap(await blockList(blocks, now())));
  });
}
