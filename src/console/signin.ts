/**
 * Signing in to the console's UI with its token: the sign-in cookie (signed, expiring, one per
 * sign-in, revoked by signing out, also across restarts: signouts.ts), the `next` address after
 * sign-in (same-origin paths only); wrong tokens are limited by guesses.ts. Made by server.ts
 * only when the console has a token; its routes (POST /login, POST /logout) are routes/signin.ts.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'crypto';
import type { FastifyRequest } from 'fastify';
import { SignOuts } from './signouts';
import type { Refusal, TokenGuesses } from './guesses';

export const SIGNIN_COOKIE = 'api_sessions_token';
/** How long a sign-in lasts. */
export const SIGNIN_TTL_MS = 12 * 3600 * 1000;
/** Sign-outs remembered at most (signouts.ts). */
const MAX_REVOKED = 10000;

export interface SignInOptions {
  token: string;
  /** Mark the cookie `Secure` when X-Forwarded-Proto says https (only behind a TLS proxy you
   *  trust to set it). A TLS connection to the console itself always gets `Secure`. */
  trustForwardedProto: boolean;
  /** The limit on wrong tokens, shared with the Bearer header's and the blocks token's checks. */
  guesses: TokenGuesses;
  /** Where sign-outs are kept across restarts (signouts.ts); null: in memory only. */
  signOutFile?: string | null;
  /** Sign-outs remembered at most (default 10,000). */
  maxSignOuts?: number;
  log?: (msg: string) => void;
  now?: () => number;
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

export function readCookie(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return null;
}

/**
 * The address to go to after sign-in: a path on this console, or `/`. Refuses anything a browser
 * could read as another origin (`//host`, `/\host`, `/%09/host` once decoded: browsers drop tabs
 * and newlines), and any character outside printable ASCII (which a Location header cannot hold).
 * The path is resolved (dot segments, `%2e`) and the result checked the way the browser will
 * read it from Location: `/.//host` resolves to `//host`, another origin, and is refused.
 */
export function safeNext(next: string | null | undefined): string {
  if (typeof next !== 'string' || next.length > 2048) return '/';
  if (!/^\/[\x21-\x7e]*$/.test(next)) return '/';
  if (next.startsWith('//') || next.includes('\\')) return '/';
  try {
    const base = 'http://console.invalid';
    const u = new URL(next, base);
    const resolved = u.pathname + u.search + u.hash;
    if (u.origin !== base || !/^\/(?![/\\])/.test(resolved) || new URL(resolved, base).origin !== base) return '/';
    return resolved;
  } catch {
    return '/';
  }
}

export interface SignIn {
  /** Whether the request carries a valid, unexpired, not signed-out sign-in cookie. */
  valid(req: FastifyRequest): boolean;
  /** Checks a token given in the sign-in form (wrong ones counted by guesses.ts): the cookie of a
   *  new sign-in, false, or the refusal when too many were wrong. */
  signIn(req: FastifyRequest, given: string): Promise<string | false | Refusal>;
  /** Ends the sign-in the request carries, also across restarts; the cookie that clears it. */
  signOut(req: FastifyRequest): string;
}

export function signIn(opts: SignInOptions): SignIn {
  const now = opts.now ?? Date.now;
  // The cookie is signed with a key derived from the token: a new token ends every sign-in.
  const key = sha256('api-sessions cookie key\n' + opts.token);
  const tokenHash = sha256(opts.token);
  const signOuts = new SignOuts(opts.signOutFile ?? null, opts.maxSignOuts ?? MAX_REVOKED, SIGNIN_TTL_MS, now, opts.log ?? (() => undefined));

  const mac = (payload: string) => createHmac('sha256', key).update(payload).digest('base64url');

  /** `v1.<expiry ms>.<nonce>.<mac>`: a fresh value for every sign-in. */
  const issue = (): string => {
    const payload = 'v1.' + (now() + SIGNIN_TTL_MS) + '.' + randomBytes(16).toString('base64url');
    return payload + '.' + mac(payload);
  };

  const parse = (value: string | null): { nonce: string; expires: number } | null => {
    if (value === null || value.length > 200) return null;
    const parts = value.split('.');
    if (parts.length !== 4 || parts[0] !== 'v1' || !/^\d{1,15}$/.test(parts[1])) return null;
    const expected = Buffer.from(mac(parts.slice(0, 3).join('.')));
    const given = Buffer.from(parts[3]);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
    const expires = Number(parts[1]);
    if (expires <= now() || signOuts.has(parts[2], expires)) return null;
    return { nonce: parts[2], expires };
  };

  const secure = (req: FastifyRequest): boolean => {
    if ((req.socket as { encrypted?: boolean }).encrypted) return true;
    if (!opts.trustForwardedProto) return false;
    const proto = String(req.headers['x-forwarded-proto'] ?? '').split(',')[0].trim().toLowerCase();
    return proto === 'https';
  };

  const cookie = (req: FastifyRequest, value: string, maxAgeSeconds: number) =>
    `${SIGNIN_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure(req) ? '; Secure' : ''}`;

  return {
    valid: (req) => parse(readCookie(req.headers.cookie, SIGNIN_COOKIE)) !== null,
    async signIn(req, given) {
      const right = await opts.guesses.check(req, () => timingSafeEqual(sha256(given), tokenHash));
      if (right !== true) return right;
      return cookie(req, issue(), Math.floor(SIGNIN_TTL_MS / 1000));
    },
    signOut(req) {
      const signed = parse(readCookie(req.headers.cookie, SIGNIN_COOKIE));
      if (signed !== null) signOuts.signOut(signed.nonce, signed.expires);
      return cookie(req, '', 0);
    },
  };
}
