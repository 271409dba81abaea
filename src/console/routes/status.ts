/** How the console is doing: /healthz (answered without a token, for probes), /api/status (store,
 *  ingest and tailer totals) and /metrics (Prometheus). */
import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../metrics';

export interface StatusRoutesOptions {
  metrics: Metrics;
  status(): Promise<Record<string, unknown>>;
}

export function registerStatusRoutes(app: FastifyInstance, opts: StatusRoutesOptions): void {
  app.get('/healthz', async () => ({ ok: true }));

  app.get('/api/status', async () => opts.status());

  app.get('/metrics', async (_req, reply) => {
    reply.type(opts.metrics.registry.contentType);
    return opts.metrics.registry.metrics();
  });
}
