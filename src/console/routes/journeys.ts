/** Journeys (journey.ts): the sessions linked to a session, and its journey (the linked
 *  sessions' requests in time order) as JSON and as CSV. */
import type { FastifyInstance } from 'fastify';
import type { Store } from '../store/types';
import { journey, linkedSessions, JOURNEY_MAX_SESSIONS, JOURNEY_WINDOW_MS } from '../journey';
import { limit, sessionParams } from './query';
import { sendRequestsCsv } from './csv';

export function registerJourneyRoutes(app: FastifyInstance, store: Store): void {
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

  app.get('/api/sessions/:session/journey.csv', async (req, reply) => {
    const { session } = sessionParams(req.params);
    const j = await journey(store, session, {});
    if (!j) return reply.code(404).send({ error: 'no such session' });
    async function* rows() {
      yield* j!.requests;
    }
    return sendRequestsCsv(reply, `journey-${session}.csv`, rows(), true);
  });
}
