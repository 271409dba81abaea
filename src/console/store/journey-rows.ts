/**
 * What every store keeps of a record for journeys and recommendations (Store.links,
 * Store.samples), validated the same way by each: the optional `links` and `inventory` are not
 * checked by the record reader, so only well-formed entries are kept.
 */
import { Candidate, SessionRecord } from '../../shared/record';
import { SAMPLE_FIELDS, SampleFields, pick } from './fields';
import { LinkEdge } from './types';

/** Sampled records kept (and read at most) per application for the recommendations. */
export const MAX_SAMPLES = 20000;

const HEX32_RE = /^[0-9a-f]{32}$/;
const HEX12_RE = /^[0-9a-f]{12}$/;

/** The record's links that a store keeps: session ids (32 hex), at most 8. A link to the
 *  record's own session is in the list but stores no edge. */
export function recordLinks(r: SessionRecord): string[] {
  return Array.isArray(r.links) ? r.links.filter((l) => typeof l === 'string' && HEX32_RE.test(l)).slice(0, 8) : [];
}

const KINDS = ['basic', 'time', 'number'];

/** The record's inventory as a store keeps it ({s, h, n} and a known `k` only, selectors up to
 *  512 characters, 12-hex hashes, at most 64 entries), or null when the record was not sampled. */
export function recordInventory(r: SessionRecord): Candidate[] | null {
  return Array.isArray(r.inventory)
    ? r.inventory
        .filter(
          (c) =>
            c !== null &&
            typeof c === 'object' &&
            typeof c.s === 'string' &&
            c.s.length <= 512 &&
            typeof c.h === 'string' &&
            HEX12_RE.test(c.h) &&
            typeof c.n === 'number',
        )
        .slice(0, 64)
        .map((c) => (typeof c.k === 'string' && KINDS.includes(c.k) ? { s: c.s, h: c.h, n: c.n, k: c.k } : { s: c.s, h: c.h, n: c.n }))
    : null;
}

/** Store.links' `perSession` as a positive integer (at most 100,000). */
export function clampLinksPerSession(n: number): number {
  return Number.isFinite(n) ? Math.max(1, Math.min(100000, Math.floor(n))) : 100000;
}

/** Store.links' order: time, then `a`, then `b`. */
export function compareEdges(x: LinkEdge, y: LinkEdge): number {
  return x.ts - y.ts || (x.a < y.a ? -1 : x.a > y.a ? 1 : x.b < y.b ? -1 : x.b > y.b ? 1 : 0);
}

/** Store.samples' `max` as a count from 1 to MAX_SAMPLES (MAX_SAMPLES when not a number). */
export function clampSamples(max: number): number {
  return Number.isFinite(max) ? Math.max(1, Math.min(MAX_SAMPLES, Math.floor(max))) : MAX_SAMPLES;
}

/** What a newly stored record adds to the journey tables: its link edges (both directions,
 *  none to its own session) and, when discovery sampled it with a non-empty inventory, its
 *  sample. Null when it adds nothing. */
export function journeyRows(r: SessionRecord, ts: number): { edges: Array<[string, string]>; sample: SampleFields | null } | null {
  const links = recordLinks(r);
  const inv = recordInventory(r);
  if (links.length === 0 && inv === null) return null;
  const edges: Array<[string, string]> = [];
  for (const l of links) {
    if (l === r.session) continue;
    edges.push([r.session, l], [l, r.session]);
  }
  const sample =
    inv !== null && inv.length > 0
      ? { ...pick(r, SAMPLE_FIELDS), app: r.app, ts, part: r.part, links, inventory: inv,
          user: typeof r.user === 'string' ? r.user.slice(0, 1000) : null, key: r.key.slice(0, 1000) }
      : null;
  return { edges, sample };
}
