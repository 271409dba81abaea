/**
 * The console's HTTP side (Fastify): the web UI, the JSON query API (docs/console-api.md), CSV
 * export, ingest over HTTP for shippers, and /metrics. Every value in the store came from the
 * network, so the API returns JSON only and the UI renders it as text; responses carry a strict
 * Content-Security-Policy as a second line of defence.
 */
import { createHash, timingSafeEqual } from 'crypto';
import { readFileSync } from 'fs';
import { join } from 'path';
import Fastify, { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { stringify } from 'csv-stringify';
import { BadCursorError, Page, PART_SORTS, PartFilter, PartSort, RequestFilter, Store, StoredRequest } from './store/types';
import { Batch, InvalidSink } from './ingest/lines';
import { crossSite, registerIngest } from './ingest/http';
import { signIn } from './signin';
import { Metrics } from './metrics';
import { journey, linkedSessions, sessionInfo, LinksNotSupported, JOURNEY_MAX_SESSIONS, JOURNEY_WINDOW_MS } from './journey';
import { recommend } from './recommend';
import { preview, MAX_LINE } from './whatif';
import { MAX_SAMPLES } from './store/journey-rows';
import { registerBlockRoutes, BLOCK_LIST_PATHS } from './blocks';
import { MIN_ID_PREFIX, parseIpBlock } from './store/search';
import { partStats } from './part-stats';
import { UI_DIR } from './assets';

export interface ServerOptions {
  store: Store;
  metrics: Metrics;
  onInvalid: InvalidSink;
  /** Saves a batch received over HTTP (counts and metrics included). */
  ingest(batch: Batch, source: string): Promise<{ inserted: number; duplicates: number; expired: number; future: number }>;
  /** When set, every route but the login page needs it (Bearer header or the login cookie). */
  token: string | null;
  /** Largest ingest body accepted, bytes (after decompression too). Default 16 MiB. */
  maxBodyBytes?: number;
  /** Longest ingest line accepted, bytes: the tailer's chunkBytes. Default 4 MiB. */
  maxLineBytes?: number;
  /** Behind a TLS proxy that sets X-Forwarded-Proto: the sign-in cookie is `Secure` when it says https. */
  trustForwardedProto?: boolean;
  /** API queries waiting at most at once; more get 503 (default 16). */
  maxQueuedQueries?: number;
  status(): Promise<Record<string, unknown>>;
  /** Token nginx sends for the block list (blocks.ts), separate from `token`; null: not served. */
  blocksToken?: string | null;
}

const HEX32 = /^[0-9a-f]{32}$/;
const SESSION_OR_PREFIX = new RegExp(`^[0-9a-f]{${MIN_ID_PREFIX},32}$`);
const PART = /^\d{4}-\d{2}-\d{2}$/;

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cache-control': 'no-store',
};

function sha256(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

function isLoopbackHost(hostHeader: string | undefined): boolean {
  if (!hostHeader) return false;
  let h = hostHeader.toLowerCase();
  if (h.startsWith('[')) h = h.slice(1, h.indexOf(']'));
  else if (h.lastIndexOf(':') > 0) h = h.slice(0, h.lastIndexOf(':'));
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function str(q: Record<string, unknown>, name: string, max = 1024): string | undefined {
  const v = q[name];
  if (v === undefined || v === '') return undefined;
  if (typeof v !== 'string') throw new HttpError(400, `${name}: give it once`);
  if (v.length > max) throw new HttpError(400, `${name}: longer than ${max} characters`);
  return v;
}

function time(q: Record<string, unknown>, name: string): number | undefined {
  const v = str(q, name, 64);
  if (v === undefined) return undefined;
  // Only ISO 8601 or digits: Date.parse alone reads almost anything (`' OR '1'='1` as a day in 2001).
  const isoShape = /^\d{4}-\d\d-\d\d(T\d\d:\d\d(:\d\d(\.\d{1,9})?)?(Z|[+-]\d\d:?\d\d)?)?$/.test(v);
  if (!isoShape && !/^\d{1,15}$/.test(v)) throw new HttpError(400, `${name}: not a time (ISO 8601 or ms since the epoch)`);
  // A time without a zone (as an HTML datetime-local input gives it) is UTC.
  const iso = /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?$/.test(v) ? v + 'Z' : v;
  const n = isoShape ? Date.parse(iso) : Number(v);
  if (!Number.isFinite(n)) throw new HttpError(400, `${name}: not a time (ISO 8601 or ms since the epoch)`);
  return n;
}

/** Endpoint patterns are bounded so that no pattern makes a slow query (a GLOB with hundreds of
 *  `*` walks every stored path hundreds of times). */
export const MAX_ENDPOINT_LENGTH = 512;
export const MAX_ENDPOINT_WILDCARDS = 8;

function checkEndpointPattern(p: string): void {
  const wildcards = p.replace(/\*+/g, '*').replace(/[^*?]/g, '').length;
  if (wildcards > MAX_ENDPOINT_WILDCARDS) {
    throw new HttpError(400, `endpoint: at most ${MAX_ENDPOINT_WILDCARDS} wildcards (* and ?)`);
  }
}

/** The list filters from a query string (the same names the UI puts in its URLs). */
export function filterFromQuery(q: Record<string, unknown>): PartFilter {
  const f: PartFilter = {};
  f.from = time(q, 'from');
  f.to = time(q, 'to');
  f.app = str(q, 'app');
  if (f.from !== undefined && f.to !== undefined && f.from > f.to) throw new HttpError(400, 'from: after to (swap them?)');
  f.session = str(q, 'session', 64);
  if (f.session !== undefined) {
    f.session = f.session.toLowerCase();
    if (!SESSION_OR_PREFIX.test(f.session)) throw new HttpError(400, `session: ${MIN_ID_PREFIX} to 32 hex characters (an id or its start)`);
  }
  f.requestId = str(q, 'request_id', 128);
  if (f.requestId !== undefined && /^[0-9a-f]+$/i.test(f.requestId) && f.requestId.length < MIN_ID_PREFIX) {
    throw new HttpError(400, `request_id: at least ${MIN_ID_PREFIX} hex characters`);
  }
  f.q = str(q, 'q', 200);
  f.user = str(q, 'user');
  f.role = str(q, 'role');
  f.ua = str(q, 'ua', 8192); // a User-Agent is as long as nginx lets a header be
  f.ip = str(q, 'ip', 64);
  if (f.ip !== undefined && f.ip.includes('/') && !parseIpBlock(f.ip)) throw new HttpError(400, 'ip: an address or a CIDR block (127.0.0.0/8, 2001:db8::/32)');
  f.attack = str(q, 'attack', 100);
  f.status = str(q, 'status', 3);
  if (f.status !== undefined && !/^([1-5]\d\d|[1-5]xx)$/i.test(f.status)) throw new HttpError(400, 'status: a code (404) or a class (4xx)');
  f.key = str(q, 'key');
  f.endpoint = str(q, 'endpoint', MAX_ENDPOINT_LENGTH);
  if (f.endpoint !== undefined) checkEndpointPattern(f.endpoint);
  const fallback = str(q, 'fallback', 10);
  if (fallback !== undefined && fallback !== 'hide') throw new HttpError(400, 'fallback: only "hide"');
  if (fallback === 'hide') f.hideFallback = true;
  for (const k of Object.keys(f) as Array<keyof PartFilter>) if (f[k] === undefined) delete f[k];
  return f;
}

function limit(q: Record<string, unknown>, def: number, max: number): number {
  const v = str(q, 'limit', 6);
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new HttpError(400, `limit: 1 to ${max}`);
  return n;
}

function sessionParams(p: unknown): { session: string; part: string } {
  const { session, part } = p as { session: string; part: string };
  if (!HEX32.test(session)) throw new HttpError(400, 'session: 32 hex characters');
  if (part !== undefined && !PART.test(part)) throw new HttpError(400, 'part: YYYY-MM-DD');
  return { session, part };
}

export async function buildServer(opts: ServerOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, bodyLimit: 1024 * 1024, trustProxy: false });
  const { store } = opts;
  const tokenHash = opts.token ? sha256(opts.token) : null;
  const signin = opts.token ? signIn({ token: opts.token, trustForwardedProto: opts.trustForwardedProto ?? false }) : null;
  const ui = {
    html: readFileSync(join(UI_DIR, 'index.html')),
    js: readFileSync(join(UI_DIR, 'app.js')),
    css: readFileSync(join(UI_DIR, 'style.css')),
    login: readFileSync(join(UI_DIR, 'login.html')),
    loginJs: readFileSync(join(UI_DIR, 'login.js')),
  };

  /** The token as a Bearer header, or (when `cookie`) the UI's sign-in cookie. Ingest takes the
   *  header only: a browser sends the cookie with requests other pages make. */
  const authorized = (req: FastifyRequest, cookie: boolean): boolean => {
    if (!tokenHash || !signin) return true;
    const auth = req.headers.authorization;
    if (auth && /^Bearer\s+/i.test(auth)) {
      return timingSafeEqual(sha256(auth.replace(/^Bearer\s+/i, '').trim()), tokenHash);
    }
    return cookie && signin.valid(req);
  };

  app.addHook('onRequest', async (req, reply) => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) reply.header(k, v);
    const path = req.url.split('?')[0];
    // Sign-in and sign-out only from the console's own pages (ingest checks this itself, and counts it).
    if (req.method === 'POST' && path !== '/api/ingest' && crossSite(req)) {
      reply.code(403).send({ error: 'cross-site request refused' });
      return reply;
    }
    if (!opts.token) {
      // Without a token the console listens on loopback only; refusing other Host names keeps
      // a web page elsewhere from reading it through DNS rebinding.
      if (!isLoopbackHost(req.headers.host)) {
        reply.code(403).send({ error: 'Host must be localhost or a loopback address (or start the console with a token)' });
        return reply;
      }
      return;
    }
    if (path === '/login' || path === '/logout' || path === '/ui/style.css' || path === '/ui/login.js' || path === '/healthz' || path === '/favicon.ico') return;
    if (BLOCK_LIST_PATHS.includes(path)) return; // nginx's own token, checked by blocks.ts
    if (authorized(req, path !== '/api/ingest')) return;
    if (req.method === 'GET' && !path.startsWith('/api/') && path !== '/metrics') {
      reply.redirect('/login?next=' + encodeURIComponent(req.url));
      return reply;
    }
    reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'token required' });
    return reply;
  });

  app.setErrorHandler((e, _req, reply) => {
    const err = e as Error;
    if (err instanceof HttpError) return reply.code(err.status).send({ error: err.message });
    if (err instanceof BadCursorError) return reply.code(400).send({ error: 'cursor: not one this API gave' });
    if (err instanceof LinksNotSupported) return reply.code(501).send({ error: err.message });
    const status = (err as { statusCode?: number }).statusCode;
    if (status && status >= 400 && status < 500) return reply.code(status).send({ error: err.message });
    console.error('console: ' + (err.stack ?? err.message));
    return reply.code(500).send({ error: 'internal error' });
  });

  // --- UI -------------------------------------------------------------------------------------
  const page = (_req: FastifyRequest, reply: FastifyReply) => reply.type('text/html; charset=utf-8').send(ui.html);
  app.get('/', page);
  app.get('/session/:session/:part', page);
  app.get('/journey/:session', page);
  app.get('/attacks', page);
  app.get('/apps/:app/recommendations', page);
  app.get('/ui/app.js', (_req, reply) => reply.type('text/javascript; charset=utf-8').send(ui.js));
  app.get('/ui/style.css', (_req, reply) => reply.type('text/css; charset=utf-8').send(ui.css));
  app.get('/ui/login.js', (_req, reply) => reply.type('text/javascript; charset=utf-8').send(ui.loginJs));
  app.get('/favicon.ico', (_req, reply) => reply.code(204).send());
  app.get('/healthz', async () => ({ ok: true }));
  app.get('/login', (_req, reply) => reply.type('text/html; charset=utf-8').send(ui.login));
  // Sign-in (signin.ts): POST /login, POST /logout, when the console has a token.
  if (signin) signin.register(app);
  else app.post('/logout', (_req, reply) => reply.redirect('/')); // nothing to sign out of

  // Queries wait in a bounded queue (queryGate below).
  queryGate(app, opts);

  // --- Query API ------------------------------------------------------------------------------
  app.get('/api/parts', async (req) => {
    const q = req.query as Record<string, unknown>;
    const { filter, follow, query } = await listQuery(q, followUser);
    const page = await store.listParts(query, { limit: limit(q, 50, 500), cursor: str(q, 'cursor', 200) ?? null, count: wantsTotal(q), sort: partSort(q) });
    if (wantsTotal(q) !== undefined && page.total === undefined) Object.assign(page, { total: 0, total_capped: false });
    return { filter: follow ? { ...filter, follow } : filter, ...page };
  });

  /** The user's sessions (their newest FOLLOW_SEED_PARTS parts matching the user, application
   *  and time filters) and every session linked to them (their journeys), at most
   *  FOLLOW_MAX_SESSIONS in all. */
  const FOLLOW_SEED_PARTS = 100;
  const FOLLOW_MAX_SESSIONS = 1000;
  async function followUser(filter: PartFilter): Promise<string[]> {
    if (!store.links) throw new LinksNotSupported();
    const seedFilter: PartFilter = { user: filter.user };
    if (filter.app !== undefined) seedFilter.app = filter.app;
    if (filter.from !== undefined) seedFilter.from = filter.from;
    if (filter.to !== undefined) seedFilter.to = filter.to;
    const seeds = await store.listParts(seedFilter, { limit: FOLLOW_SEED_PARTS });
    const out = new Set<string>();
    for (const p of seeds.items) {
      if (out.has(p.session)) continue;
      out.add(p.session);
      // A seed grouped only by the IP + User-Agent fallback (e.g. a login POST that named the
      // user in its body) is shared by everyone behind that address: listed, never followed,
      // as journeys never go through such a session (journey.ts).
      if (sessionInfo(await store.sessionParts(p.session))?.fallback !== false) continue;
      const j = await journey(store, p.session, { sessionsOnly: true });
      for (const s of j?.sessions ?? []) if (out.size < FOLLOW_MAX_SESSIONS) out.add(s.session);
      if (out.size >= FOLLOW_MAX_SESSIONS) break;
    }
    return [...out];
  }

  app.get('/api/sessions/:session/links', async (req, reply) => {
    const { session } = sessionParams(req.params);
    const res = await linkedSessions(store, session);
    if (!res) return reply.code(404).send({ error: 'no such session' });
    return res;
  });

  app.get('/api/sessions/:session/journey', async (req, reply) => {
    const { session } = sessionParams(req.params);
    const q = req.query as Record<string, unknown>;
    const hours = limit({ limit: q.window_hours }, JOURNEY_WINDOW_MS / 3600000, 168);
    const maxSessions = limit({ limit: q.max_sessions }, JOURNEY_MAX_SESSIONS, JOURNEY_MAX_SESSIONS);
    const j = await journey(store, session, { windowMs: hours * 3600000, maxSessions, maxRequests: limit(q, 5000, 5000) });
    if (!j) return reply.code(404).send({ error: 'no such session' });
    return j;
  });

  app.get('/api/apps/:app/recommendations', async (req, reply) => {
    const { app: name } = req.params as { app: string };
    if (name.length > 1000) throw new HttpError(400, 'app: longer than 1000 characters');
    const q = req.query as Record<string, unknown>;
    if (!store.samples) {
      return reply.code(501).send({
        error: 'this store does not keep discovery inventories (recommendations need a store with samples: SQLite, or ClickHouse with its links and samples tables)',
      });
    }
    const rows = await store.samples(name, limit({ limit: q.samples }, MAX_SAMPLES, MAX_SAMPLES));
    return recommend(name, rows);
  });

  // --- What-if preview (whatif.ts): how the samples would be grouped under a typed line -------
  // GET with ?line=, or POST {"line": ...} for lines whose encoding would not fit in a URL.
  const previewHandler = async (req: FastifyRequest, reply: FastifyReply) => {
    const { app: name } = req.params as { app: string };
    if (name.length > 1000) throw new HttpError(400, 'app: longer than 1000 characters');
    const q = req.query as Record<string, unknown>;
    const body = req.method === 'POST' ? (req.body as Record<string, unknown> | undefined) : undefined;
    if (req.method === 'POST' && (body === null || typeof body !== 'object' || typeof body.line !== 'string')) throw new HttpError(400, 'body: {"line": "..."}');
    const line = (body ? str(body, 'line', MAX_LINE) : str(q, 'line', MAX_LINE)) ?? '';
    if (!store.samples) {
      return reply.code(501).send({ error: 'this store does not keep discovery inventories (the preview needs a store with samples)' });
    }
    const rows = await store.samples(name, limit({ limit: q.samples }, MAX_SAMPLES, MAX_SAMPLES));
    return { app: name, ...preview(rows, line) };
  };
  app.get('/api/apps/:app/preview', previewHandler);
  app.post('/api/apps/:app/preview', previewHandler);

  app.get('/api/sessions/:session', async (req, reply) => {
    const { session } = sessionParams(req.params);
    const parts = await store.sessionParts(session);
    if (parts.length === 0) return reply.code(404).send({ error: 'no such session' });
    return { session, parts };
  });

  app.get('/api/sessions/:session/parts/:part', async (req, reply) => {
    const { session, part } = sessionParams(req.params);
    const q = req.query as Record<string, unknown>;
    const summary = await store.getPart(session, part);
    if (!summary) return reply.code(404).send({ error: 'no such session part' });
    const buckets = limit({ limit: q.buckets }, 60, 500);
    const [timeline, parts] = await Promise.all([store.timeline(session, part, buckets), store.sessionParts(session)]);
    return { summary, timeline, parts: parts.map((p) => ({ part: p.part, requests: p.requests, attacked: p.attacked })) };
  });

  app.get('/api/sessions/:session/parts/:part/requests', async (req, reply) => {
    const { session, part } = sessionParams(req.params);
    const q = req.query as Record<string, unknown>;
    if (!(await store.getPart(session, part))) return reply.code(404).send({ error: 'no such session part' });
    return store.partRequests(session, part, { limit: limit(q, 500, 2000), cursor: str(q, 'cursor', 200) ?? null, filter: requestFilter(q) });
  });

  app.get('/api/sessions/:session/parts/:part/requests.csv', async (req, reply) => {
    const { session, part } = sessionParams(req.params);
    const filter = requestFilter(req.query as Record<string, unknown>);
    if (!(await store.getPart(session, part))) return reply.code(404).send({ error: 'no such session part' });
    return sendRequestsCsv(reply, `session-${session}-${part}.csv`, partRequestsOf(store, session, part, filter), false);
  });

  attackRoutes(app, store, followUser);

  app.get('/api/status', async () => opts.status());

  registerBlockRoutes(app, { store, blocksToken: opts.blocksToken ?? null });

  app.get('/metrics', async (_req, reply) => {
    reply.type(opts.metrics.registry.contentType);
    return opts.metrics.registry.metrics();
  });

  // --- Ingest (ingest/http.ts) -------------------------------------------------------------
  registerIngest(app, {
    maxBodyBytes: opts.maxBodyBytes,
    maxLineBytes: opts.maxLineBytes,
    onInvalid: opts.onInvalid,
    ingest: opts.ingest,
    refused: (reason) => opts.metrics.ingestRefused.inc({ reason }),
  });

  return app;
}

/**
 * API queries run one or two at a time, each after a turn of the event loop, and at most
 * `maxQueuedQueries` wait: SQLite answers synchronously, so without this a burst of slow queries
 * would hold every other request (/healthz included) until the last one ends. Beyond the queue:
 * 503 with Retry-After. The CSV export streams in its own steps and is not queued.
 */
function queryGate(app: FastifyInstance, opts: ServerOptions): void {
  const maxQueued = opts.maxQueuedQueries ?? 16;
  const running = 2;
  let active = 0;
  const waiting: Array<() => void> = [];
  type Gated = { gate?: 'waiting' | 'active' | 'done'; wake?: () => void };
  const next = () => {
    const wake = waiting.shift();
    if (wake) wake();
  };
  app.addHook('preHandler', async (req, reply) => {
    const path = req.url.split('?')[0];
    if (req.method !== 'GET' || !path.startsWith('/api/') || path.endsWith('.csv')) return;
    if (active >= running && waiting.length >= maxQueued) {
      opts.metrics.queriesRefused.inc();
      reply.code(503).header('retry-after', '1').send({ error: `busy: ${waiting.length} queries are waiting; retry shortly` });
      return reply;
    }
    const g = req as Gated;
    if (active >= running) {
      g.gate = 'waiting';
      await new Promise<void>((resolve) => {
        g.wake = resolve;
        waiting.push(resolve);
      });
    }
    g.gate = 'active';
    active++;
    // A turn of the event loop first: requests that arrived meanwhile (/healthz) are answered.
    await new Promise<void>((resolve) => setImmediate(resolve));
  });
  const done = async (req: FastifyRequest) => {
    const g = req as Gated;
    if (g.gate === 'active') {
      active--;
      next();
    } else if (g.gate === 'waiting' && g.wake) {
      const at = waiting.indexOf(g.wake);
      if (at >= 0) waiting.splice(at, 1);
    }
    g.gate = 'done';
  };
  app.addHook('onResponse', done);
  app.addHook('onRequestAbort', done);
}

// --- The analyst's paths (issue 16): attacks first, requests of a session filtered ------------

/** `only` and `endpoint` of a session part's requests. */
export function requestFilter(q: Record<string, unknown>): RequestFilter {
  const f: RequestFilter = {};
  const only = str(q, 'only', 10);
  if (only !== undefined) {
    if (only !== 'attacks' && only !== 'failed') throw new HttpError(400, 'only: attacks or failed');
    f.only = only;
  }
  const endpoint = str(q, 'endpoint', MAX_ENDPOINT_LENGTH);
  if (endpoint !== undefined) {
    checkEndpointPattern(endpoint);
    f.endpoint = endpoint;
  }
  return f;
}

/** Attack requests shown per session part on a page of /api/attacks (the part's page has all). */
export const ATTACKS_PER_PART = 20;

const CSV_COLUMNS = ['seq', 'ts', 'request_id', 'method', 'host', 'path', 'status', 'duration_ms', 'bytes_sent', 'ip', 'ua', 'user', 'role', 'key', 'key_source', 'attack', 'params', 'errors', 'request'];

/** Streams requests as CSV (with `session` and `part` first when they come from several). */
function sendRequestsCsv(reply: FastifyReply, filename: string, rows: AsyncIterable<StoredRequest & { session?: string; part?: string }>, withSession: boolean) {
  const columns = (withSession ? ['session', 'part'] : []).concat(CSV_COLUMNS);
  // escape_formulas: a value that starts with = + - @ is prefixed so spreadsheets show it as text.
  const csv = stringify({ header: true, columns, escape_formulas: true });
  (async () => {
    try {
      for await (const r of rows) {
        const row: unknown[] = [
          r.seq, r.ts, r.request_id, r.method, r.host, r.path, r.status, r.duration_ms, r.bytes_sent, r.ip, r.ua ?? '',
          r.user ?? '', r.role ?? '', r.key, r.key_source, r.attack ? r.attack.join(',') : '', JSON.stringify(r.params),
          r.errors.length ? JSON.stringify(r.errors) : '', r.request ? JSON.stringify(r.request) : '',
        ];
        const ok = csv.write(withSession ? [r.session, r.part, ...row] : row);
        if (!ok) await new Promise((res) => csv.once('drain', res));
      }
      csv.end();
    } catch (e) {
      csv.destroy(e as Error);
    }
  })();
  return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${filename}"`).send(csv);
}

/** A part's requests (filtered as the session page filters them), a page at a time. */
async function* partRequestsOf(store: Store, session: string, part: string, filter: RequestFilter): AsyncGenerator<StoredRequest> {
  if (filter.only === undefined && filter.endpoint === undefined) {
    yield* store.eachPartRequest(session, part);
    return;
  }
  let cursor: string | null = null;
  do {
    const page: Page<StoredRequest> = await store.partRequests(session, part, { limit: 2000, cursor, filter });
    yield* page.items;
    cursor = page.next;
  } while (cursor);
}

function partSort(q: Record<string, unknown>): PartSort | undefined {
  const v = str(q, 'sort', 10);
  if (v !== undefined && !PART_SORTS.includes(v as PartSort)) throw new HttpError(400, `sort: ${PART_SORTS.join(', ')}`);
  return v as PartSort | undefined;
}

/** Parts counted by /api/parts?total=1 at most. */
export const TOTAL_MAX = 10000;
function wantsTotal(q: Record<string, unknown>): number | undefined {
  const v = str(q, 'total', 1);
  if (v !== undefined && v !== '1') throw new HttpError(400, 'total: 1');
  return v === '1' ? TOTAL_MAX : undefined;
}

/** Parts exported by /api/parts.csv at most. */
export const CSV_MAX_PARTS = 10000;

/** The session list's filters as the list and its CSV read them: with `follow=links`, the user
 *  filter becomes the sessions of that user and those linked to them. */
async function listQuery(
  q: Record<string, unknown>,
  followUser: (f: PartFilter) => Promise<string[]>,
): Promise<{ filter: PartFilter; follow: string | undefined; query: PartFilter }> {
  const filter = filterFromQuery(q);
  const follow = str(q, 'follow', 10);
  if (follow !== undefined && follow !== 'links') throw new HttpError(400, 'follow: only "links"');
  let query = filter;
  if (follow === 'links') {
    if (filter.user === undefined) throw new HttpError(400, 'follow=links needs a user filter');
    query = { ...filter, sessions: await followUser(filter) };
    delete query.user;
  }
  return { filter, follow, query };
}

function attackRoutes(app: FastifyInstance, store: Store, followUser: (f: PartFilter) => Promise<string[]>): void {
  // --- Exports of what is on screen: the filtered list, a journey, a session over its days ---
  app.get('/api/parts.csv', async (req, reply) => {
    const { query } = await listQuery(req.query as Record<string, unknown>, followUser);
    const csv = stringify({
      header: true,
      columns: ['session', 'part', 'app', 'first_ts', 'last_ts', 'requests', 'attacked', 'errored', 'users', 'roles', 'keys', 'ips', 'uas', 'statuses', 'attacks', 'methods'],
      escape_formulas: true,
    });
    (async () => {
      try {
        let cursor: string | null = null;
        let n = 0;
        do {
          const page = await store.listParts(query, { limit: 500, cursor });
          for (const p of page.items) {
            if (n++ >= CSV_MAX_PARTS) break;
            const ok = csv.write([p.session, p.part, p.app, p.first_ts, p.last_ts, p.requests, p.attacked, p.errored, p.users.join(','), p.roles.join(','),
              p.keys.join(','), JSON.stringify(p.ips), JSON.stringify(p.uas), JSON.stringify(p.statuses), JSON.stringify(p.attacks), JSON.stringify(p.methods)]);
            if (!ok) await new Promise((res) => csv.once('drain', res));
          }
          cursor = n < CSV_MAX_PARTS ? page.next : null;
        } while (cursor);
        csv.end();
      } catch (e) {
        csv.destroy(e as Error);
      }
    })();
    return reply.type('text/csv; charset=utf-8').header('content-disposition', 'attachment; filename="sessions.csv"').send(csv);
  });

  app.get('/api/sessions/:session/requests.csv', async (req, reply) => {
    const { session } = sessionParams(req.params);
    const parts = await store.sessionParts(session);
    if (parts.length === 0) return reply.code(404).send({ error: 'no such session' });
    async function* all(): AsyncGenerator<StoredRequest & { session: string; part: string }> {
      for (const p of parts.slice().reverse()) for await (const r of store.eachPartRequest(session, p.part)) yield { ...r, session, part: p.part };
    }
    return sendRequestsCsv(reply, `session-${session}.csv`, all(), true);
  });

  app.get('/api/sessions/:session/journey.csv', async (req, reply) => {
    const { session } = sessionParams(req.params);
    const j = await journey(store, session, {});
    if (!j) return reply.code(404).send({ error: 'no such session' });
    async function* rows() {
      yield* j!.requests;
    }
    return sendRequestsCsv(reply, `journey-${session}.csv`, rows(), true);
  });

  // A part's endpoints as path patterns with counts, and latency percentiles (part-stats.ts).
  app.get('/api/sessions/:session/parts/:part/stats', async (req, reply) => {
    const { session, part } = sessionParams(req.params);
    const summary = await store.getPart(session, part);
    if (!summary) return reply.code(404).send({ error: 'no such session part' });
    return partStats(store, session, part, summary.requests);
  });

  // The malicious requests of the parts the list filters select (any attack unless `attack`
  // names one), newest parts first; each names its session part, so that the UI opens the
  // session at that request.
  app.get('/api/attacks', async (req) => {
    const q = req.query as Record<string, unknown>;
    const filter = filterFromQuery(q);
    if (filter.attack === undefined) filter.attack = '*';
    const perPart = limit({ limit: q.per_part }, ATTACKS_PER_PART, 100);
    const page = await store.listParts(filter, { limit: limit(q, 20, 100), cursor: str(q, 'cursor', 200) ?? null });
    const items: Array<Record<string, unknown>> = [];
    // Parts with more attack requests than shown here: the session page has them all.
    const more: Array<{ session: string; part: string; attacked: number }> = [];
    for (const p of page.items) {
      const reqs = await store.partRequests(p.session, p.part, { limit: perPart, filter: { only: 'attacks' } });
      for (const r of reqs.items) {
        if (filter.attack !== '*' && !(r.attack ?? []).includes(filter.attack)) continue;
        items.push({ session: p.session, part: p.part, ...r });
      }
      if (reqs.next) more.push({ session: p.session, part: p.part, attacked: p.attacked });
    }
    return { filter, items, more, next: page.next };
  });
}
