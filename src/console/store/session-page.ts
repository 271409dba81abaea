/**
 * What both stores share of a session page: a part's requests read through page by page (the CSV
 * export), and the buckets of its timeline.
 */
import { Page, Store, StoredRequest, TimelineBucket } from './types';

/** Every request of a part in time order, without loading them all at once. */
export async function* eachPartRequest(store: Pick<Store, 'partRequests'>, session: string, part: string): AsyncIterable<StoredRequest> {
  let cursor: string | null = null;
  do {
    const page: Page<StoredRequest> = await store.partRequests(session, part, { limit: 2000, cursor });
    for (const r of page.items) yield r;
    cursor = page.next;
  } while (cursor);
}

/** A store's counts of one bucket: `b` is its index, (ts - first) / width rounded down. */
export interface BucketCounts {
  b: number;
  requests: number;
  attacks: number;
  failed: number;
}

/** A part's timeline from its first request to its last: `buckets` (1 to 500) buckets of `width`
 *  ms, which `fill` counts into. */
export function timelineGrid(firstMs: number, lastMs: number, buckets: number): { width: number; fill(counts: BucketCounts[]): TimelineBucket[] } {
  const n = Math.max(1, Math.min(500, Math.floor(buckets)));
  const width = Math.max(1, Math.ceil((lastMs - firstMs + 1) / n));
  const fill = (counts: BucketCounts[]): TimelineBucket[] => {
    const out: TimelineBucket[] = [];
    for (let i = 0; i < n; i++) out.push({ t: new Date(firstMs + i * width).toISOString(), requests: 0, attacks: 0, failed: 0 });
    for (const c of counts) {
      const b = out[Math.max(0, Math.min(n - 1, Math.floor(c.b)))];
      b.requests += c.requests;
      b.attacks += c.attacks;
      b.failed += c.failed;
    }
    return out;
  };
  return { width, fill };
}
