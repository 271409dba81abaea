/** Recommendations of grouping keys for an application (recommend/), and the what-if preview of a
 *  typed `$api_sessions_params` line (recommend/whatif.ts), both on the application's sampled
 *  records. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Store } from '../store/types';
import { MAX_SAMPLES } from '../store/journey-rows';
import { recommend } from '../recommend';
import { preview, MAX_LINE } from '../recommend/whatif';
import { HttpError } from './errors';
import { limit, str } from './query';

function appParam(req: FastifyRequest): string {
  const { app: name } = req.params as { app: string };
  if (name.length > 1000) throw new HttpError(400, 'app: longer than 1000 characters');
  return name;
}

const samplesLimit = (q: Record<string, unknown>) => limit({ limit: q.samples }, MAX_SAMPLES, MAX_SAMPLES);

export function registerRecommendationRoutes(app: FastifyInstance, store: Store): void {
  app.get('/api/apps/:app/recommendations', async (req, reply) => {
    const name = appParam(req);
    const q = req.query as Record<string, unknown>;
    if (!store.samples) {
      return reply.code(501).send({
        error: 'this store does not keep discovery inventories (recommendations need a store with samples: SQLite, or ClickHouse with its links and samples tables)',
      });
    }
    const rows = await store.samples(name, samplesLimit(q));
    return recommend(name, rows);
  });

  // --- What-if preview (recommend/whatif.ts): how the samples would be grouped under a typed line
  // GET with ?line=, or POST {"line": ...} for lines whose encoding would not fit in a URL.
  const previewHandler = async (req: FastifyRequest, reply: FastifyReply) => {
    const name = appParam(req);
    const q = req.query as Record<string, unknown>;
    const body = req.method === 'POST' ? (req.body as Record<string, unknown> | undefined) : undefined;
    if (req.method === 'POST' && (body === null || typeof body !== 'object' || typeof body.line !== 'string')) throw new HttpError(400, 'body: {"line": "..."}');
    const line = (body ? str(body, 'line', MAX_LINE) : str(q, 'line', MAX_LINE)) ?? '';
    if (!store.samples) {
      return reply.code(501).send({ error: 'this store does not keep discovery inventories (the preview needs a store with samples)' });
    }
    const rows = await store.samples(name, samplesLimit(q));
    return { app: name, ...preview(rows, line) };
  };
  app.get('/api/apps/:app/preview', previewHandler);
  app.post('/api/apps/:app/preview', previewHandler);
}
