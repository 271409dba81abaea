/** Journeys (journey.ts): the sessions linked to a session, and its journey (the linked
 *  sessions' requests in time order) as JSON and as CSV. */
import type { FastifyInstance } from 'fastify';
import type { Store } from '../store/types';
import { journey, linkedSessions, JOURNEY_MAX_SESSIONS, JOURNEY_WINDOW_MS } from '../journey';
import { SESSION_PARAMS, SessionParams, count, parameters } from './query';
import { sendRequestsCsv } from './csv';

/** A journey's bounds (docs/console-api.md). */
const JOURNEY_QUERY = parameters({
  window_hours: count(JOURNEY_WINDOW_MS / 3600000, 168),
  max_sessions: count(JOURNEY_MAX_SESSIONS, JOURNEY_MAX_SESSIONS),
  limit: count(5000, 5000),
});

export function registerJourneyRoutes(app: FastifyInstance, store: Store): void {
  const params = SESSION_PARAMS;
  app.get<{ Params: SessionParams }>('/api/sessions/:session/links', { schema: { params } }, async (req, reply) => {
    const { session } = req.params;
    const res = await linkedSessions(store, session);
    if (!res) return reply.code(404).send({ error: 'no such session' });
    return res;
  });

  type Bounds = { window_hours: number; max_sessions: number; limit: number };
  app.get<{ Params: SessionParams; Querystring: Bounds }>('/api/sessions/:session/journey', { schema: { params, querystring: JOURNEY_QUERY } }, async (req, reply) => {
    const { session } = req.params;
    const q = req.query;
    const j = await journey(store, session, { windowMs: q.window_hours * 3600000, maxSessions: q.max_sessions, maxRequests: q.limit });
    if (!j) return reply.code(404).send({ error: 'no such session' });
    return j;
  });

  app.get<{ Params: SessionParams }>('/api/sessions/:session/journey.csv', { schema: { params } }, async (req, reply) => {
    const { session } = req.params;
    const j = await journey(store, session, {});
    if (!j) return reply.code(404).send({ error: 'no such session' });
    async function* rows() {
      yield* j!.requests;
    }
    return sendRequestsCsv(reply, `journey-${session}.csv`, rows(), true);
  });
}
