import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Metrics } from '../metrics';
import { routePath } from './access';

/**
 * API queries run one or two at a time, each after a turn of the event loop, and at most
 * `maxQueued` wait: SQLite answers synchronously, so without this a burst of slow queries
 * would hold every other request (/healthz included) until the last one ends. Beyond the queue:
 * 503 with Retry-After. The CSV export streams in its own steps and is not queued.
 */
export function queryGate(app: FastifyInstance, opts: { maxQueued: number; metrics: Metrics }): void {
  const { maxQueued } = opts;
  const running = 2;
  let active = 0;
  const waiting: Array<() => void> = [];
  type Gated = { gate?: 'waiting' | 'active' | 'done'; wake?: () => void };
  const next = () => {
    const wake = waiting.shift();
    if (wake) wake();
  };
  app.addHook('preHandler', async (req, reply) => {
    const path = routePath(req);
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
