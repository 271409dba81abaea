/**
 * Stitched sessions: a record's `links` name the sessions the same request also belongs to (the
 * login that turns an anonymous session into a token's, a refresh that turns an old token's
 * session into a new one's). The store keeps each link in both directions (Store.links); this
 * file walks them, on top of the Store interface, so that every store that keeps links gets the
 * same answers.
 *
 * A session grouped by the IP + User-Agent fallback (every key `ip+ua`, `ip+ua+fingerprint` or
 * `ip`) is shared by everyone behind one address with one browser build: a journey includes it
 * when one of its sessions links to it, but never continues through it (unless the journey
 * starts there), so that two users behind one NAT are not stitched together through their common
 * anonymous session. Sessions that have no stored requests (a link to a session whose requests
 * expired or were never logged) are skipped.
 */
import { LinkEdge, PartSummary, Store, StoredRequest } from './store/types';

export const FALLBACK_KEYS = new Set(['ip+ua', 'ip+ua+fingerprint', 'ip']);
export const JOURNEY_MAX_SESSIONS = 50;
export const JOURNEY_WINDOW_MS = 24 * 3600000;
export const JOURNEY_MAX_REQUESTS = 5000;
export const LINKED_MAX = 200;

export class LinksNotSupported extends Error {
  constructor() {
    super('this store does not keep links between sessions (linked sessions and journeys need a store with links: SQLite, or ClickHouse with its links and samples tables)');
  }
}

/** One session as journeys and link lists show it: its parts folded together. */
export interface SessionInfo {
  session: string;
  app: string;
  first_ts: string;
  last_ts: string;
  requests: number;
  attacked: number;
  parts: string[];
  users: string[];
  keys: string[];
  /** Grouped only by the IP + User-Agent fallback: shown, never followed. */
  fallback: boolean;
}

export interface LinkedSession extends SessionInfo {
  /** When the link was first seen (the request that named both sessions). */
  linked_at: string;
}

export function sessionInfo(parts: PartSummary[]): SessionInfo | null {
  if (parts.length === 0) return null;
  const users = new Set<string>();
  const keys = new Set<string>();
  let first = parts[0].first_ts;
  let last = parts[0].last_ts;
  let requests = 0;
  let attacked = 0;
  for (const p of parts) {
    if (p.first_ts < first) first = p.first_ts;
    if (p.last_ts > last) last = p.last_ts;
    requests += p.requests;
    attacked += p.attacked;
    p.users.forEach((u) => users.add(u));
    p.keys.forEach((k) => keys.add(k));
  }
  const keyList = [...keys];
  return {
    session: parts[0].session,
    app: parts[0].app,
    first_ts: first,
    last_ts: last,
    requests,
    attacked,
    parts: parts.map((p) => p.part).sort(),
    users: [...users],
    keys: keyList,
    fallback: keyList.length > 0 && keyList.every((k) => FALLBACK_KEYS.has(k)),
  };
}

function needLinks(store: Store): (sessions: string[], perSession?: number) => Promise<LinkEdge[]> {
  if (!store.links) throw new LinksNotSupported();
  return store.links.bind(store);
}

/** The sessions directly linked to `session`, split by time: those that started before it and
 *  those that started at the same time or after. Null when the session is unknown. */
export async function linkedSessions(
  store: Store,
  session: string,
): Promise<{ session: SessionInfo; before: LinkedSession[]; after: LinkedSession[] } | null> {
  const links = needLinks(store);
  const self = sessionInfo(await store.sessionParts(session));
  if (!self) return null;
  // A shared session (IP + User-Agent behind a NAT) may have many links: the first 200 by time,
  // bounded in the store's query.
  const edges = await links([session], LINKED_MAX);
  const before: LinkedSession[] = [];
  const after: LinkedSession[] = [];
  for (const e of edges) {
    if (e.b === session) continue;
    const info = sessionInfo(await store.sessionParts(e.b));
    if (!info) continue;
    const item = { ...info, linked_at: new Date(e.ts).toISOString() };
    (info.first_ts < self.first_ts ? before : after).push(item);
  }
  const byTime = (x: SessionInfo, y: SessionInfo) => (x.first_ts < y.first_ts ? -1 : x.first_ts > y.first_ts ? 1 : x.session < y.session ? -1 : 1);
  before.sort(byTime);
  after.sort(byTime);
  return { session: self, before, after };
}

export interface JourneyOptions {
  /** Most sessions in one journey (default 50). */
  maxSessions?: number;
  /** Links are followed when first seen within this long before the journey's first request or
   *  after its last (default 24 h). */
  windowMs?: number;
  /** Most requests returned (default 5000); `truncated` says when more were left out. */
  maxRequests?: number;
  /** Leave out the requests (the session list's `follow=links` needs the sessions only). */
  sessionsOnly?: boolean;
}

export interface JourneyRequest extends StoredRequest {
  session: string;
  part: string;
}

export interface Journey {
  start: string;
  /** The journey's sessions, by their first request. */
  sessions: Array<SessionInfo & { via: string | null; depth: number }>;
  /** Every request of those sessions, in time order (ties: by session, then sequence). */
  requests: JourneyRequest[];
  /** True when the session bound, the request bound or the window cut something off. */
  truncated: boolean;
}

/** Links a journey examines, per session of its bound (maxSessions x 4): each new one costs a
 *  look-up of the session it names, so a session linked to many (a shared one, or one that
 *  names many sessions no longer stored) cannot make a journey slow. */
export const JOURNEY_EDGES_PER_SESSION = 4;

/** Follows links from `start` breadth-first (bounded), then merges the sessions' requests into
 *  one timeline. Null when `start` is unknown. */
export async function journey(store: Store, start: string, opts: JourneyOptions = {}): Promise<Journey | null> {
  const links = needLinks(store);
  const maxSessions = opts.maxSessions ?? JOURNEY_MAX_SESSIONS;
  const windowMs = opts.windowMs ?? JOURNEY_WINDOW_MS;
  const maxRequests = opts.maxRequests ?? JOURNEY_MAX_REQUESTS;
  const maxEdges = Math.max(1, maxSessions) * JOURNEY_EDGES_PER_SESSION;
  const first = sessionInfo(await store.sessionParts(start));
  if (!first) return null;
  let lo = Date.parse(first.first_ts) - windowMs;
  let hi = Date.parse(first.last_ts) + windowMs;
  const found = new Map<string, SessionInfo & { via: string | null; depth: number }>();
  found.set(start, { ...first, via: null, depth: 0 });
  const seen = new Set<string>([start]);
  let frontier = [start];
  let truncated = false;
  let examined = 0;
  let full = false;
  for (let depth = 1; frontier.length > 0 && !full; depth++) {
    // One more than the bound per session: tells that a session had more links than were read.
    const edges = await links(frontier, maxEdges + 1);
    const perSession = new Map<string, number>();
    const next: string[] = [];
    for (const e of edges) {
      const k = (perSession.get(e.a) ?? 0) + 1;
      perSession.set(e.a, k);
      if (k > maxEdges) {
        truncated = true;
        continue;
      }
      if (seen.has(e.b)) continue;
      if (e.ts < lo || e.ts > hi) {
        truncated = true;
        continue;
      }
      if (examined >= maxEdges) {
        truncated = true;
        full = true;
        break;
      }
      examined++;
      seen.add(e.b);
      const info = sessionInfo(await store.sessionParts(e.b));
      if (!info) continue;
      if (found.size >= maxSessions) {
        truncated = true;
        full = true;
        break;
      }
      found.set(e.b, { ...info, via: e.a, depth });
      lo = Math.min(lo, Date.parse(info.first_ts) - windowMs);
      hi = Math.max(hi, Date.parse(info.last_ts) + windowMs);
      if (!info.fallback) next.push(e.b);
    }
    frontier = next;
  }
  const sessions = [...found.values()].sort((x, y) =>
    x.first_ts < y.first_ts ? -1 : x.first_ts > y.first_ts ? 1 : x.session < y.session ? -1 : 1,
  );
  const requests: JourneyRequest[] = [];
  if (!opts.sessionsOnly) {
    if (await mergeRequests(store, sessions, maxRequests, requests)) truncated = true;
  }
  return { start, sessions, requests, truncated };
}

/** One session's requests, part after part (each part in time order). */
async function* sessionRequests(store: Store, s: SessionInfo): AsyncGenerator<JourneyRequest> {
  for (const part of s.parts) {
    for await (const r of store.eachPartRequest(s.session, part)) yield { ...r, session: s.session, part };
  }
}

/**
 * Merges the sessions' requests into `out` in time order (ties: by the sessions' order, then as
 * each session gives them), stopping at `max`: a journey cut short is its first `max` requests,
 * without holes. Reads each session as a stream (a page at a time), so memory stays bounded.
 * True when requests were left out.
 */
async function mergeRequests(store: Store, sessions: SessionInfo[], max: number, out: JourneyRequest[]): Promise<boolean> {
  const streams = sessions.map((s) => sessionRequests(store, s)[Symbol.asyncIterator]());
  const heads: Array<{ r: JourneyRequest; t: number } | null> = [];
  const advance = async (i: number) => {
    const n = await streams[i].next();
    heads[i] = n.done ? null : { r: n.value, t: Date.parse(n.value.ts) };
  };
  try {
    for (let i = 0; i < streams.length; i++) await advance(i);
    for (;;) {
      let best = -1;
      for (let i = 0; i < heads.length; i++) {
        const h = heads[i];
        if (h !== null && (best < 0 || h.t < heads[best]!.t)) best = i;
      }
      if (best < 0) return false;
      if (out.length >= max) return true;
      out.push(heads[best]!.r);
      await advance(best);
    }
  } finally {
    for (let i = 0; i < streams.length; i++) if (heads[i] !== null) await streams[i].return?.(undefined);
  }
}
