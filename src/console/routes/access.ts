/**
 * Who may ask the console what. Every value in the store came from the network, so the API
 * returns JSON only and the UI renders it as text; responses carry a strict
 * Content-Security-Policy as a second line of defence. POSTs from other sites are refused;
 * without a token only loopback Host names are answered; with one, every route but the sign-in
 * page and what it needs takes the token as a Bearer header or the UI's sign-in cookie
 * (signin.ts), and ingest the header only.
 */
import { createHash, timingSafeEqual } from 'crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { BLOCK_LIST_PATHS } from '../blocks';
import type { SignIn } from '../signin';
import type { Refusal, TokenGuesses } from '../guesses';

/**
 * Whether a request comes from a web page on another origin (or another port: same-site is not
 * same-origin). Browsers set `Sec-Fetch-Site` themselves (no page can), so it decides where
 * present; `Origin` must agree. `Origin: null` (an opaque origin: sandboxed pages, file:, and
 * Chromium's form posts from a page whose Referrer-Policy is no-referrer) passes only when the
 * browser's `Sec-Fetch-Site` says same-origin. Clients that are no browser send neither.
 */
export function crossSite(req: FastifyRequest): boolean {
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return true;
  const origin = req.headers.origin;
  if (origin === undefined) return false;
  if (origin === 'null') return site === undefined;
  try {
    return new URL(origin).host !== String(req.headers.host ?? '').toLowerCase();
  } catch {
    return true; // anything unreadable
  }
}

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  // The console's own addresses (filters, session ids) go to the console only; `no-referrer`
  // would also make Chromium post the sign-in and sign-out forms with `Origin: null`.
  'referrer-policy': 'same-origin',
  'x-frame-options': 'DENY',
  'cache-control': 'no-store',
};

/** A token's digest: compared in constant time with timingSafeEqual, which needs equal lengths. */
export function tokenDigest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

/**
 * Whether the request's `Authorization: Bearer` header carries the token of `digest`, checked
 * through the limit on wrong tokens (guesses.ts): true or false, a Refusal when the limit
 * answers instead, null when the request has no such header.
 */
export async function bearerMatches(req: FastifyRequest, digest: Buffer, guesses: TokenGuesses): Promise<boolean | Refusal | null> {
  const auth = req.headers.authorization;
  if (!auth || !/^Bearer\s+/i.test(auth)) return null;
  const given = tokenDigest(auth.replace(/^Bearer\s+/i, '').trim());
  return guesses.check(req, () => timingSafeEqual(given, digest));
}

/** Answers a request the limit on wrong tokens refused. */
export function sendRefusal(reply: FastifyReply, r: Refusal): FastifyReply {
  return reply.code(r.status).header('retry-after', String(r.retryAfterSeconds)).send({ error: r.error });
}

/** The one path every access decision is made on: the route the router matched (it decodes
 *  %XX, so /api/%69ngest is /api/ingest here as it is to the router), or the raw path when no
 *  route matched (the answer is a 404). */
export function routePath(req: FastifyRequest): string {
  return req.routeOptions.url ?? req.url.split('?')[0];
}

function isLoopbackHost(hostHeader: string | undefined): boolean {
  if (!hostHeader) return false;
  let h = hostHeader.toLowerCase();
  if (h.startsWith('[')) h = h.slice(1, h.indexOf(']'));
  else if (h.lastIndexOf(':') > 0) h = h.slice(0, h.lastIndexOf(':'));
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** Checks every request before its route: the headers above, then who is asking. `signin` is
 *  null exactly when `token` is. */
export function guardRequests(app: FastifyInstance, token: string | null, signin: SignIn | null, guesses: TokenGuesses): void {
  const tokenHash = token ? tokenDigest(token) : null;

  /** The token as a Bearer header, or (when `cookie`) the UI's sign-in cookie. Ingest takes the
   *  header only: a browser sends the cookie with requests other pages make. */
  const authorized = async (req: FastifyRequest, cookie: boolean): Promise<boolean | Refusal> => {
    if (!tokenHash || !signin) return true;
    const bearer = await bearerMatches(req, tokenHash, guesses);
    if (bearer !== null) return bearer;
    return cookie && signin.valid(req);
  };

  app.addHook('onRequest', async (req, reply) => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) reply.header(k, v);
    const path = routePath(req);
    // Sign-in and sign-out only from the console's own pages (ingest checks this itself, and counts it).
    if (req.method === 'POST' && path !== '/api/ingest' && crossSite(req)) {
      reply.code(403).send({ error: 'cross-site request refused' });
      return reply;
    }
    if (!token) {
      // Without a token the console listens on loopback only; refusing other Host names keeps
      // a web page elsewhere from reading it through DNS rebinding.
      if (!isLoopbackHost(req.headers.host)) {
        reply.code(403).send({ error: 'Host must be localhost or a loopback address (or start the console with a token)' });
        return reply;
      }
      return;
    }
    if (path === '/login' || path === '/logout' || path === '/ui/style.css' || path === '/ui/login.js' || path === '/healthz' || path === '/favicon.ico') return;
    if (BLOCK_LIST_PATHS.includes(path)) return; // nginx's own token, checked by routes/blocks.ts
    const allowed = await authorized(req, path !== '/api/ingest');
    if (allowed === true) return;
    if (allowed !== false) return sendRefusal(reply, allowed);
    if (req.method === 'GET' && !path.startsWith('/api/') && path !== '/metrics') {
      reply.redirect('/login?next=' + encodeURIComponent(req.url));
      return reply;
    }
    reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'token required' });
    return reply;
  });
}
