/**
 * Signing in and out of the UI: POST /login (the sign-in page's form: the token and the address
 * to go back to) and POST /logout. The cookie and its checks: signin.ts. A console without a
 * token has nothing to sign out of: /logout goes home.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { SignIn, safeNext } from '../signin';

export function registerSignInRoutes(app: FastifyInstance, signin: SignIn | null): void {
  if (!signin) {
    app.post('/logout', (_req, reply) => reply.redirect('/'));
    return;
  }
  app.register(async (scope) => {
    scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 16 * 1024 }, (_req, body, done) => {
      done(null, new URLSearchParams(body as string));
    });
    scope.post('/login', async (req: FastifyRequest, reply: FastifyReply) => {
      const form = req.body instanceof URLSearchParams ? req.body : new URLSearchParams();
      const next = safeNext(form.get('next'));
      const signed = await signin.signIn(req, form.get('token') ?? '');
      if (signed === false) return reply.redirect('/login?failed=1&next=' + encodeURIComponent(next));
      if (typeof signed !== 'string') return reply.code(signed.status).header('retry-after', String(signed.retryAfterSeconds)).send({ error: signed.error });
      reply.header('set-cookie', signed);
      return reply.redirect(next);
    });
    scope.post('/logout', async (req: FastifyRequest, reply: FastifyReply) => {
      reply.header('set-cookie', signin.signOut(req));
      return reply.redirect('/login');
    });
  });
}
