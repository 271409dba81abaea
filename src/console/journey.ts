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

function needLinks(store: Store): (sessions: string[]) => Promise<LinkEdge[]> {
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
  // A shared session (IP + User-Agent behind a NAT) may have many links: the first 200 by time.
  const edges = (await links([session])).slice(0, LINKED_MAX);
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

/** Follows links from `start` breadth-first (bounded), then merges the sessions' requests into
 *  one timeline. Null when `start` is unknown. */
export async function journey(store: Store, start: string, opts: JourneyOptions = {}): Promise<Journey | null> {
  const links = needLinks(store);
  const maxSessions = opts.maxSessions ?? JOURNEY_MAX_SESSIONS;
  const windowMs = opts.windowMs ?? JOURNEY_WINDOW_MS;
  const maxRequests = opts.maxRequests ?? JOURNEY_MAX_REQUESTS;
  const first = sessionInfo(await store.sessionParts(start));
  if (!first) return null;
  let lo = Date.parse(first.first_ts) - windowMs;
  let hi = Date.parse(first.last_ts) + windowMs;
  const found = new Map<string, SessionInfo & { via: string | null; depth: number }>();
  found.set(start, { ...first, via: null, depth: 0 });
  const seen = new Set<string>([start]);
  let frontier = [start];
  let truncated = false;
  for (let depth = 1; frontier.length > 0; depth++) {
    const edges = await links(frontier);
    const next: string[] = [];
    for (const e of edges) {
      if (seen.has(e.b)) continue;
      if (e.ts < lo || e.ts > hi) {
        truncated = true;
        continue;
      }
      seen.add(e.b);
      const info = sessionInfo(await store.sessionParts(e.b));
      if (!info) continue;
      if (found.size >= maxSessions) {
        truncated = true;
        break;
      }
      found.set(e.b, { ...info, via: e.a, depth });
      lo = Math.min(lo, Date.parse(info.first_ts) - windowMs);
      hi = Math.max(hi, Date.parse(info.last_ts) + windowMs);
      if (!info.fallback) next.push(e.b);
    }
    frontier = truncated && found.size >= maxSessions ? [] : next;
  }
  const sessions = [...found.values()].sort((x, y) =>
    x.first_ts < y.first_ts ? -1 : x.first_ts > y.first_ts ? 1 : x.session < y.session ? -1 : 1,
  );
  const requests: JourneyRequest[] = [];
  if (!opts.sessionsOnly) {
    outer: for (const s of sessions) {
      for (const part of s.parts) {
        for await (const r of store.eachPartRequest(s.session, part)) {
          if (requests.length >= maxRequests) {
            truncated = true;
            break outer;
          }
          requests.push({ ...r, session: s.session, part });
        }
      }
    }
    const order = new Map(sessions.map((s, i) => [s.session, i]));
    requests.sort((x, y) => {
      const dt = Date.parse(x.ts) - Date.parse(y.ts);
      if (dt !== 0) return dt;
      const ds = order.get(x.session)! - order.get(y.session)!;
      return ds !== 0 ? ds : x.seq - y.seq;
    });
  }
  return { start, sessions, requests, truncated };
}
