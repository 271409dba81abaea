/**
 * A session part's statistics beyond the store's counts: the endpoints as path patterns (ids
 * folded, so that 620 requests of /items/1../items/620 are one endpoint, /items/N) with their
 * counts, and latency percentiles. Computed from the part's requests, at most
 * PART_STATS_MAX_REQUESTS of them (the first ones), the same way for every store.
 */
import { Store } from './store/types';

export const PART_STATS_MAX_REQUESTS = 100000;
/** Endpoints listed (by count); the rest are summed in `other_requests`. */
export const TOP_ENDPOINTS = 20;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A path with its ids folded: a segment of digits is `N`, a UUID `UUID`, a run of 16 or more hex
 *  digits `HEX`; everything else is kept. `/items/42` -> `/items/N`. */
export function pathPattern(path: string): string {
  if (!/[0-9]|[a-f]{16}/i.test(path)) return path; // no id to fold (the common case, and cheap)
  return path
    .split('/')
    .map((seg) => (/^\d+$/.test(seg) ? 'N' : UUID.test(seg) ? 'UUID' : /^[0-9a-f]{16,}$/i.test(seg) ? 'HEX' : seg))
    .join('/');
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export interface EndpointStat {
  method: string;
  pattern: string;
  requests: number;
  /** Distinct paths folded into the pattern (at most 1000 counted). */
  paths: number;
  failed: number;
  attacks: number;
  p50_ms: number | null;
  p95_ms: number | null;
}

export interface PartStats {
  /** Requests read (at most PART_STATS_MAX_REQUESTS); `truncated` when the part has more. */
  requests: number;
  truncated: boolean;
  latency_ms: { p50: number | null; p95: number | null; p99: number | null; max: number | null };
  endpoints: EndpointStat[];
  /** Requests of the endpoints not listed. */
  other_requests: number;
}

export async function partStats(store: Store, session: string, part: string, total: number): Promise<PartStats> {
  const all: number[] = [];
  const by = new Map<string, { method: string; pattern: string; requests: number; paths: Set<string>; failed: number; attacks: number; ms: number[] }>();
  for await (const r of store.eachPartRequest(session, part)) {
    if (all.length >= PART_STATS_MAX_REQUESTS) break;
    all.push(r.duration_ms);
    const pattern = pathPattern(r.path);
    const k = r.method + ' ' + pattern;
    let e = by.get(k);
    if (!e) by.set(k, (e = { method: r.method, pattern, requests: 0, paths: new Set(), failed: 0, attacks: 0, ms: [] }));
    e.requests++;
    if (e.paths.size < 1000) e.paths.add(r.path);
    if (r.status >= 400) e.failed++;
    if (r.attack) e.attacks++;
    e.ms.push(r.duration_ms);
  }
  all.sort((a, b) => a - b);
  const ranked = [...by.values()].sort((a, b) => b.requests - a.requests || (a.pattern < b.pattern ? -1 : a.pattern > b.pattern ? 1 : a.method < b.method ? -1 : 1));
  const endpoints = ranked.slice(0, TOP_ENDPOINTS).map((e) => {
    const ms = e.ms.sort((a, b) => a - b);
    return { method: e.method, pattern: e.pattern, requests: e.requests, paths: e.paths.size, failed: e.failed, attacks: e.attacks, p50_ms: percentile(ms, 50), p95_ms: percentile(ms, 95) };
  });
  return {
    requests: all.length,
    truncated: total > all.length,
    latency_ms: { p50: percentile(all, 50), p95: percentile(all, 95), p99: percentile(all, 99), max: all.length ? all[all.length - 1] : null },
    endpoints,
    other_requests: ranked.slice(TOP_ENDPOINTS).reduce((s, e) => s + e.requests, 0),
  };
}
