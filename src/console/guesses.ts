/**
 * Limits on guessing a token: the sign-in form, `Authorization: Bearer` on every route and the
 * blocks token of nginx's routes all go through one TokenGuesses.
 *
 * - Per client: 5 wrong tokens within a minute lock that client out for the rest of the minute
 *   (429 with Retry-After), the right token included, so a guesser learns nothing meanwhile.
 *   A client is an IPv4 address or an IPv6 /64 (one host commonly holds a whole /64); behind a
 *   trusted proxy (`trustProxy`), the address the proxy wrote last in X-Forwarded-For.
 * - For everyone together: a slowdown, never a lockout. Past 50 wrong tokens within a minute
 *   from all clients, a client that has not shown the right token within the last 12 hours
 *   waits its turn: tokens are then checked one at a time, one every 250 ms (at most 240
 *   guesses a minute from such clients whatever the number of addresses), each client with one
 *   attempt waiting at most. The right token from a fresh address is thus slowed, never refused, by other
 *   addresses' failures (the line holds 120 attempts, about 30 s; past that 503 with
 *   Retry-After), and a client that signed in or sent the right token before is not slowed.
 *   This is per-address limiting plus a global slowdown instead of a global lockout, which an
 *   attacker could turn against the right token (OWASP, Authentication Cheat Sheet, "Account
 *   Lockout"; "Slow Down Online Guessing Attacks with Device Cookies", with a known address in
 *   place of the device cookie so that API clients and shippers are known too).
 * Everything here is bounded: 10,000 clients remembered, 120 waiting.
 */
import { isIP } from 'net';
import type { FastifyRequest } from 'fastify';
import { parseIpBlock } from './store/search';

export const FAILURES_PER_CLIENT = 5;
export const SLOWDOWN_AFTER_FAILURES = 50;
export const GUESS_WINDOW_MS = 60 * 1000;
/** While slowed: one token check per this many ms from clients not known. */
export const SLOWED_CHECK_MS = 250;
/** Attempts waiting their turn at most while slowed. */
export const MAX_WAITING = 120;
/** How long a client that showed the right token stays known. */
export const KNOWN_MS = 12 * 3600 * 1000;
const MAX_CLIENTS = 10000;

/** Why a token was not checked: the answer to send. */
export interface Refusal {
  status: 429 | 503;
  retryAfterSeconds: number;
  error: string;
}

export interface TokenGuessesOptions {
  /** Behind a proxy that writes the client's address last in X-Forwarded-For. */
  trustProxy: boolean;
  now?: () => number;
}

/** Keeps at most MAX_CLIENTS entries, dropping the least recently set. */
function setBounded<V>(map: Map<string, V>, key: string, value: V): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > MAX_CLIENTS) map.delete(map.keys().next().value as string);
}

export class TokenGuesses {
  private readonly now: () => number;
  private readonly failures = new Map<string, number[]>();
  private all: number[] = [];
  private readonly known = new Map<string, number>();
  private readonly line: Array<() => void> = [];
  private readonly waiting = new Set<string>();
  private lastCheck = -Infinity;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly opts: TokenGuessesOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** The client a request counts for (see above). */
  clientOf(req: FastifyRequest): string {
    let address = req.socket.remoteAddress ?? '';
    if (this.opts.trustProxy) {
      const forwarded = String(req.headers['x-forwarded-for'] ?? '').split(',');
      const last = forwarded[forwarded.length - 1].trim();
      if (isIP(last)) address = last;
    }
    if (/^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(address)) address = address.slice(7);
    if (isIP(address) === 6) {
      const net = parseIpBlock(address + '/64');
      if (net) return net.bytes.slice(0, 8).map((b) => b.toString(16).padStart(2, '0')).join('') + '::/64';
    }
    return address;
  }

  private recent(list: number[]): number[] {
    const since = this.now() - GUESS_WINDOW_MS;
    let i = 0;
    while (i < list.length && list[i] <= since) i++;
    return i === 0 ? list : list.slice(i);
  }

  /** Milliseconds until this client may try again, 0 when it may now. */
  private lockedFor(client: string): number {
    const mine = this.recent(this.failures.get(client) ?? []);
    if (mine.length < FAILURES_PER_CLIENT) return 0;
    return Math.max(1, mine[mine.length - FAILURES_PER_CLIENT] + GUESS_WINDOW_MS - this.now());
  }

  private slowed(): boolean {
    this.all = this.recent(this.all);
    return this.all.length >= SLOWDOWN_AFTER_FAILURES;
  }

  private isKnown(client: string): boolean {
    const at = this.known.get(client);
    return at !== undefined && at > this.now() - KNOWN_MS;
  }

  /** Resolves when this attempt may be checked: at once, or after those before it, one every SLOWED_CHECK_MS. */
  private turn(): Promise<void> {
    return new Promise((resolve) => {
      this.line.push(resolve);
      this.drain();
    });
  }

  private drain(): void {
    if (this.timer !== null) return;
    const wait = this.lastCheck + SLOWED_CHECK_MS - this.now();
    if (wait > 0) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.drain();
      }, wait);
      return;
    }
    const next = this.line.shift();
    if (next === undefined) return;
    this.lastCheck = this.now();
    next();
    if (this.line.length > 0) this.drain();
  }

  /**
   * Checks a token guess of this request's client: `matches` says whether the token is right.
   * A Refusal when the client is locked out, or when it would have to wait and the line is full.
   */
  async check(req: FastifyRequest, matches: () => boolean): Promise<boolean | Refusal> {
    const client = this.clientOf(req);
    const locked = this.lockedFor(client);
    if (locked > 0) return lockedOut(locked);
    if (this.slowed() && !this.isKnown(client)) {
      if (this.waiting.has(client)) return { status: 429, retryAfterSeconds: 1, error: 'a token from this address is already waiting to be checked' };
      if (this.line.length >= MAX_WAITING) {
        return { status: 503, retryAfterSeconds: Math.ceil((MAX_WAITING * SLOWED_CHECK_MS) / 1000), error: 'many wrong tokens from many addresses: tokens are checked one at a time; try again shortly' };
      }
      this.waiting.add(client);
      try {
        await this.turn();
      } finally {
        this.waiting.delete(client);
      }
      const lockedNow = this.lockedFor(client);
      if (lockedNow > 0) return lockedOut(lockedNow);
    }
    const ok = matches();
    const t = this.now();
    if (ok) setBounded(this.known, client, t);
    else {
      this.all.push(t);
      if (this.all.length > 4 * SLOWDOWN_AFTER_FAILURES) this.all = this.all.slice(-SLOWDOWN_AFTER_FAILURES);
      const mine = this.recent(this.failures.get(client) ?? []);
      mine.push(t);
      setBounded(this.failures, client, mine.slice(-FAILURES_PER_CLIENT));
    }
    return ok;
  }

  /** Stops the line's timer (the console closing). */
  close(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    for (const next of this.line.splice(0)) next();
  }
}

function lockedOut(ms: number): Refusal {
  const s = Math.ceil(ms / 1000);
  return { status: 429, retryAfterSeconds: s, error: `too many wrong tokens from this address: try again in ${s} s` };
}
