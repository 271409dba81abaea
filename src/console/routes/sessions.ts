/**
 * Sessions: the list of session parts (filtered, sorted, counted) and its CSV, a session with its
 * parts, a part's page (summary, timeline, requests, endpoint stats) and its CSV, a session's CSV
 * over all its days, and the attacks of the listed parts.
 */
import type { FastifyInstance } from 'fastify';
import { Page, PartFilter, PartSort, PartSummary, RequestFilter, Store, StoredRequest } from '../store/types';
import { journey, sessionInfo, LinksNotSupported } from '../journey';
import { partStats } from '../part-stats';
import { HttpError } from './errors';
import { CURSOR, LIST_FILTERS, LIST_OPTIONS, ListQuery, REQUEST_FILTERS, SESSION_PARAMS, SessionParams, count, filterFromQuery, parameters, requestFilter } from './query';
import { sendCsv, sendRequestsCsv } from './csv';

/** Parts counted by /api/parts?total=1 at most. */
export const TOTAL_MAX = 10000;
/** Parts exported by /api/parts.csv at most. */
export const CSV_MAX_PARTS = 10000;
/** Attack requests shown per session part on a page of /api/attacks (the part's page has all). */
export const ATTACKS_PER_PART = 20;

const PART_COLUMNS = ['session', 'part', 'app', 'first_ts', 'last_ts', 'requests', 'attacked', 'errored', 'users', 'roles', 'keys', 'ips', 'uas', 'statuses', 'attacks', 'methods'];

/** The session list's query string (its CSV's too). */
type PartsQuery = ListQuery & { sort?: PartSort; total?: '1'; follow?: 'links' };
type Paged = { limit: number; cursor?: string };
type PartQuery = { only?: 'attacks' | 'failed'; endpoint?: string };

const PARTS_QUERY = { ...LIST_FILTERS, ...LIST_OPTIONS };
const ATTACKS_QUERY = { ...LIST_FILTERS, limit: count(20, 100), per_part: count(ATTACKS_PER_PART, 100), cursor: CURSOR };

export function registerSessionRoutes(app: FastifyInstance, store: Store): void {
  const params = SESSION_PARAMS;
  // --- The list, and the list as CSV ------------------------------------------------------------
  app.get<{ Querystring: PartsQuery & Paged }>('/api/parts', { schema: { querystring: parameters({ ...PARTS_QUERY, limit: count(50, 500), cursor: CURSOR }) } }, async (req) => {
    const q = req.query;
    const { filter, follow, query } = await listQuery(store, q);
    const total = q.total === '1' ? TOTAL_MAX : undefined;
    const page = await store.listParts(query, { limit: q.limit, cursor: q.cursor ?? null, count: total, sort: q.sort });
    if (total !== undefined && page.total === undefined) Object.assign(page, { total: 0, total_capped: false });
    return { filter: follow ? { ...filter, follow } : filter, ...page };
  });

  app.get<{ Querystring: PartsQuery }>('/api/parts.csv', { schema: { querystring: parameters(PARTS_QUERY) } }, async (req, reply) => {
    const { query } = await listQuery(store, req.query);
    async function* rows(): AsyncGenerator<unknown[]> {
      let cursor: string | null = null;
      let n = 0;
      do {
        const page: Page<PartSummary> = await store.listParts(query, { limit: 500, cursor });
        for (const p of page.items) {
          if (n++ >= CSV_MAX_PARTS) break;
          yield [p.session, p.part, p.app, p.first_ts, p.last_ts, p.requests, p.attacked, p.errored, p.users.join(','), p.roles.join(','),
            p.keys.join(','), JSON.stringify(p.ips), JSON.stringify(p.uas), JSON.stringify(p.statuses), JSON.stringify(p.attacks), JSON.stringify(p.methods)];
        }
        cursor = n < CSV_MAX_PARTS ? page.next : null;
      } while (cursor);
    }
    return sendCsv(reply, 'sessions.csv', PART_COLUMNS, rows());
  });

  // --- A session, and a session part's page -----------------------------------------------------
  app.get<{ Params: SessionParams }>('/api/sessions/:session', { schema: { params } }, async (req, reply) => {
    const { session } = req.params;
    const parts = await store.sessionParts(session);
    if (parts.length === 0) return reply.code(404).send({ error: 'no such session' });
    return { session, parts };
  });

  app.get<{ Params: SessionParams }>('/api/sessions/:session/requests.csv', { schema: { params } }, async (req, reply) => {
    const { session } = req.params;
    const parts = await store.sessionParts(session);
    if (parts.length === 0) return reply.code(404).send({ error: 'no such session' });
    async function* all(): AsyncGenerator<StoredRequest & { session: string; part: string }> {
      for (const p of parts.slice().reverse()) for await (const r of store.eachPartRequest(session, p.part)) yield { ...r, session, part: p.part };
    }
    return sendRequestsCsv(reply, `session-${session}.csv`, all(), true);
  });

  const partPage = { params, querystring: parameters({ buckets: count(60, 500) }) };
  app.get<{ Params: SessionParams; Querystring: { buckets: number } }>('/api/sessions/:session/parts/:part', { schema: partPage }, async (req, reply) => {
    const { session, part } = req.params;
    const summary = await store.getPart(session, part);
    if (!summary) return reply.code(404).send({ error: 'no such session part' });
    const [timeline, parts] = await Promise.all([store.timeline(session, part, req.query.buckets), store.sessionParts(session)]);
    return { summary, timeline, parts: parts.map((p) => ({ part: p.part, requests: p.requests, attacked: p.attacked })) };
  });

  const partRequests = { params, querystring: parameters({ ...REQUEST_FILTERS, limit: count(500, 2000), cursor: CURSOR }) };
  app.get<{ Params: SessionParams; Querystring: PartQuery & Paged }>('/api/sessions/:session/parts/:part/requests', { schema: partRequests }, async (req, reply) => {
    const { session, part } = req.params;
    const q = req.query;
    if (!(await store.getPart(session, part))) return reply.code(404).send({ error: 'no such session part' });
    return store.partRequests(session, part, { limit: q.limit, cursor: q.cursor ?? null, filter: requestFilter(q) });
  });

  const partCsv = { params, querystring: parameters(REQUEST_FILTERS) };
  app.get<{ Params: SessionParams; Querystring: PartQuery }>('/api/sessions/:session/parts/:part/requests.csv', { schema: partCsv }, async (req, reply) => {
    const { session, part } = req.params;
    const filter = requestFilter(req.query);
    if (!(await store.getPart(session, part))) return reply.code(404).send({ error: 'no such session part' });
    return sendRequestsCsv(reply, `session-${session}-${part}.csv`, partRequestsOf(store, session, part, filter), false);
  });

  // A part's endpoints as path patterns with counts, and latency percentiles (part-stats.ts).
  app.get<{ Params: SessionParams }>('/api/sessions/:session/parts/:part/stats', { schema: { params } }, async (req, reply) => {
    const { session, part } = req.params;
    const summary = await store.getPart(session, part);
    if (!summary) return reply.code(404).send({ error: 'no such session part' });
    return partStats(store, session, part, summary.requests);
  });

  // --- The analyst's paths (issue 16): attacks first ---------------------------------------------
  // The malicious requests of the parts the list filters select (any attack unless `attack`
  // names one), newest parts first; each names its session part, so that the UI opens the
  // session at that request.
  app.get<{ Querystring: ListQuery & Paged & { per_part: number } }>('/api/attacks', { schema: { querystring: parameters(ATTACKS_QUERY) } }, async (req) => {
    const q = req.query;
    const filter = filterFromQuery(q);
    if (filter.attack === undefined) filter.attack = '*';
    const perPart = q.per_part;
    const page = await store.listParts(filter, { limit: q.limit, cursor: q.cursor ?? null });
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

/** The session list's filters as the list and its CSV read them: with `follow=links`, the user
 *  filter becomes the sessions of that user and those linked to them. */
async function listQuery(store: Store, q: PartsQuery): Promise<{ filter: PartFilter; follow: string | undefined; query: PartFilter }> {
  const filter = filterFromQuery(q);
  const follow = q.follow;
  let query = filter;
  if (follow === 'links') {
    if (filter.user === undefined) throw new HttpError(400, 'follow=links needs a user filter');
    query = { ...filter, sessions: await followUser(store, filter) };
    delete query.user;
  }
  return { filter, follow, query };
}

/** The user's sessions (their newest FOLLOW_SEED_PARTS parts matching the user, application
 *  and time filters) and every session linked to them (their journeys), at most
 *  FOLLOW_MAX_SESSIONS in all. */
const FOLLOW_SEED_PARTS = 100;
const FOLLOW_MAX_SESSIONS = 1000;
async function followUser(store: Store, filter: PartFilter): Promise<string[]> {
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
