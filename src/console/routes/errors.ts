/**
 * The console's error replies: a request that breaks a rule gets its 4xx with what it broke, as
 * JSON; anything else is logged and answered 500 without detail.
 */
import type { FastifyInstance } from 'fastify';
import { BadCursorError } from '../store/types';
import { LinksNotSupported } from '../journey';

/** A refused request: answered with `status` and `{error: message}`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function answerErrors(app: FastifyInstance): void {
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
}
