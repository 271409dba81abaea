/**
 * What every store keeps of a record for journeys and recommendations (Store.links,
 * Store.samples), validated the same way by each: the optional `links` and `inventory` are not
 * checked by the record reader, so only well-formed entries are kept.
 */
import { Candidate, SessionRecord } from '../../record/record';

/** Sampled records kept (and read at most) per application for the recommendations. */
export const MAX_SAMPLES = 20000;

const HEX32_RE = /^[0-9a-f]{32}$/;
const HEX12_RE = /^[0-9a-f]{12}$/;

/** The record's links that a store keeps: session ids (32 hex), at most 8. A link to the
 *  record's own session is in the list but stores no edge. */
export function recordLinks(r: SessionRecord): string[] {
  return Array.isArray(r.links) ? r.links.filter((l) => typeof l === 'string' && HEX32_RE.test(l)).slice(0, 8) : [];
}

/** The record's inventory as a store keeps it ({s, h, n} only, selectors up to 512 characters,
 *  12-hex hashes, at most 64 entries), or null when the record was not sampled. */
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
        .map((c) => ({ s: c.s, h: c.h, n: c.n }))
    : null;
}
