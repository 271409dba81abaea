/** Recommendations of grouping keys for an application (recommend/), and the what-if preview of a
 *  typed `$api_sessions_params` line (recommend/whatif.ts), both on the application's sampled
 *  records. */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Store } from '../store/types';
import { MAX_SAMPLES } from '../store/journey-rows';
import { recommend } from '../recommend';
import { preview, MAX_LINE } from '../recommend/whatif';
import { HttpError } from './errors';
import { count, parameters, text } from './query';
import { FIELD_LIMITS } from '../ingest/parse';

// As long as a record's app may be (ingest/parse.ts).
const APP_PARAMS = parameters({ app: text(FIELD_LIMITS.name) });
const SAMPLES = count(MAX_SAMPLES, MAX_SAMPLES);
type AppParams = { app: string };

export function registerRecommendationRoutes(app: FastifyInstance, store: Store): void {
  const recommendations = { params: APP_PARAMS, querystring: parameters({ samples: SAMPLES }) };
  app.get<{ Params: AppParams; Querystring: { samples: number } }>('/api/apps/:app/recommendations', { schema: recommendations }, async (req, reply) => {
    if (!store.samples) {
      return reply.code(501).send({
        error: 'this store does not keep discovery inventories (recommendations need a store with samples: SQLite, or ClickHouse with its links and samples tables)',
      });
    }
    const rows = await store.samples(req.params.app, req.query.samples);
    return recommend(req.params.app, rows);
  });

  // --- What-if preview (recommend/whatif.ts): how the samples would be grouped under a typed line
  // GET with ?line=, or POST {"line": ...} for lines whose encoding would not fit in a URL.
  const answer = async (reply: FastifyReply, name: string, line: string, samples: number) => {
    if (!store.samples) {
      return reply.code(501).send({ error: 'this store does not keep discovery inventories (the preview needs a store with samples)' });
    }
    const rows = await store.samples(name, samples);
    return { app: name, ...preview(rows, line) };
  };
  const previewGet = { params: APP_PARAMS, querystring: parameters({ line: text(MAX_LINE), samples: SAMPLES }) };
  app.get<{ Params: AppParams; Querystring: { line?: string; samples: number } }>('/api/apps/:app/preview', { schema: previewGet }, async (req, reply) =>
    answer(reply, req.params.app, req.query.line ?? '', req.query.samples),
  );
  // The body by hand: Fastify's ajv would take {"line": 5} or {"line": null} as a string.
  const previewPost = { params: APP_PARAMS, querystring: parameters({ samples: SAMPLES }) };
  app.post<{ Params: AppParams; Querystring: { samples: number } }>('/api/apps/:app/preview', { schema: previewPost }, async (req, reply) => {
    const body = req.body as Record<string, unknown> | null | undefined;
    if (body === null || typeof body !== 'object' || typeof body.line !== 'string') throw new HttpError(400, 'body: {"line": "..."}');
    if (body.line.length > MAX_LINE) throw new HttpError(400, `line: longer than ${MAX_LINE} characters`);
    return answer(reply, req.params.app, body.line, req.query.samples);
  });
}
