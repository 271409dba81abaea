/**
 * The console's store, behind a small interface: SQLite (store/sqlite/) is the embedded
 * default; a server-backed store (ClickHouse, for traffic that outgrows one machine) implements
 * the same methods. Every method is async so that such a store fits without changing callers.
 */
import { SessionRecord } from '../../shared/record';
import type { SampleRow, StoredRequest } from './fields';

export type { SampleRow, StoredRequest } from './fields';
import type { BlockStore } from '../blocks';
import type { FindingStore } from '../detect/finding';
import type { OverviewCounts, OverviewQuery } from '../overview';

/** Filters of the session list; all given ones must hold (AND). */
export interface PartFilter {
  /** Time range, ms since the epoch: parts whose [first, last] request overlaps it. */
  from?: number;
  to?: number;
  /** Application: a case-insensitive pattern with `*` and `?` (search.ts). */
  app?: string;
  /** All parts of this session: a lower-case hex id or a prefix of one (8 or more). */
  session?: string;
  /** The part that holds this request; 8 to 31 hex characters: a prefix, looked up among the
   *  newest Q_NEWEST_REQUESTS requests. */
  requestId?: string;
  /** A case-insensitive pattern with `*` and `?`. */
  user?: string;
  role?: string;
  /** An address or a CIDR block (IPv4 or IPv6). */
  ip?: string;
  /** User-Agent, exact. */
  ua?: string;
  /** Free text: a case-insensitive substring of the user, an IP, a path, or a parameter of the
   *  newest Q_NEWEST_REQUESTS requests (search.ts bounds). */
  q?: string;
  /** Attack type, e.g. `sqli`; `*` for any attack. */
  attack?: string;
  /** Status code (`404`) or class (`4xx`). */
  status?: string;
  /** Grouping key name, e.g. `request.query.token` or `ip+ua`. */
  key?: string;
  /** Endpoint pattern: optional method, then a path pattern with `*` and `?` wildcards. */
  endpoint?: string;
  /** Leave out parts grouped only by the IP + User-Agent fallback (keys FALLBACK_KEYS): keep
   *  those with a request grouped by another key. */
  hideFallback?: boolean;
  /** Parts of any of these sessions (the list's `follow=links`: a user's sessions and the
   *  sessions linked to them). At most 1000. */
  sessions?: string[];
}

export interface Counts {
  [value: string]: number;
}

export interface PartSummary {
  session: string;
  part: string;
  app: string;
  first_ts: string;
  last_ts: string;
  requests: number;
  /** Requests marked malicious. */
  attacked: number;
  /** Requests whose record has errors. */
  errored: number;
  /** First user / role seen in the part (null when none). */
  user: string | null;
  role: string | null;
  /** Grouping key of the first request. */
  key: string;
  users: string[];
  roles: string[];
  keys: string[];
  ips: Counts;
  /** Requests per User-Agent (parts stored before the console kept them: empty). */
  uas: Counts;
  statuses: Counts;
  attacks: Counts;
  methods: Counts;
}

/** Requests of one part that a session page shows (all when empty). */
export interface RequestFilter {
  /** Only requests marked malicious, or only those answered with a status of 400 or more. */
  only?: 'attacks' | 'failed';
  /** Endpoint pattern (pattern.ts). */
  endpoint?: string;
}

export interface Page<T> {
  items: T[];
  /** Opaque cursor for the next page, null on the last one. */
  next: string | null;
  /** listParts with `count`: how many parts match in all, counted up to `count` (then `count`
   *  and `total_capped`). */
  total?: number;
  total_capped?: boolean;
}

/** Orders of the session list, all descending: by the last request, by requests, by malicious
 *  requests. */
export type PartSort = 'last' | 'requests' | 'attacked';
export const PART_SORTS: PartSort[] = ['last', 'requests', 'attacked'];

/** Grouping keys of the IP + User-Agent fallback (the module's identify.ts). */
export const FALLBACK_KEYS = ['ip+ua', 'ip+ua+fingerprint', 'ip'];

export interface TimelineBucket {
  /** Bucket start, ISO time. */
  t: string;
  requests: number;
  attacks: number;
  /** Responses with status >= 400. */
  failed: number;
}

export interface IngestResult {
  inserted: number;
  /** Already stored (same request_id). */
  duplicates: number;
  /** Older than the retention period: dropped. */
  expired: number;
  /** Dated after tomorrow (UTC): dropped, a clock or a sender is wrong. */
  future: number;
}

export interface Checkpoint {
  name: string;
  value: string;
}

/** Links read per session by Store.links when the caller gives no bound (a session shared by
 *  many, e.g. one IP + User-Agent behind a NAT, may have tens of thousands). */
export const LINKS_PER_SESSION = 1000;

/** A link between two sessions: a request of `a` (or of `b`) named the other in its `links`.
 *  Stored in both directions; `ts` is the first such request's time (ms). */

export interface LinkEdge {
  a: string;
  b: string;
  app: string;
  ts: number;
}

export interface Store {
  /** Stores records (one per request_id) and, in the same transaction where the store has
   *  transactions, a checkpoint. `raws[i]`, when given, is records[i]'s JSON text as received
   *  (a store may keep it instead of re-serializing; unknown fields then survive for later
   *  readers). `fresh`, when given, receives the records newly stored, in their order (not the
   *  duplicates, expired or future ones): what the detections look at. */
  ingest(records: SessionRecord[], checkpoint?: Checkpoint, raws?: string[], fresh?: SessionRecord[]): Promise<IngestResult>;
  getCheckpoint(name: string): Promise<string | null>;
  /** With `count`, also the total (see Page.total). Ordered by `sort` (default `last`: the last
   *  request), descending, ties by the newest part. */
  listParts(filter: PartFilter, opts: { limit: number; cursor?: string | null; count?: number; sort?: PartSort }): Promise<Page<PartSummary>>;
  getPart(session: string, part: string): Promise<PartSummary | null>;
  /** All parts of a session, newest first. */
  sessionParts(session: string): Promise<PartSummary[]>;
  /** The part's requests in time order. */
  /** With a filter, `seq` numbers the matching requests (1, 2, ...), not their place in the part. */
  partRequests(session: string, part: string, opts: { limit: number; cursor?: string | null; filter?: RequestFilter }): Promise<Page<StoredRequest>>;
  /** Every request of a part in time order, for CSV export, without loading them all at once. */
  eachPartRequest(session: string, part: string): AsyncIterable<StoredRequest>;
  timeline(session: string, part: string, buckets: number): Promise<TimelineBucket[]>;
  /** Deletes parts whose date is before `cutoffPart` (YYYY-MM-DD); returns how many. */
  deleteBefore(cutoffPart: string): Promise<number>;
  /** Records below this part date are dropped at ingest. */
  setCutoff(cutoffPart: string): void;
  stats(): Promise<{ parts: number; requests: number; oldestPart: string | null; newestPart: string | null }>;
  close(): Promise<void>;
  /** Links of these sessions (both directions: every edge whose `a` is one of them), at most
   *  `perSession` (default LINKS_PER_SESSION) per session: the first ones by time (ties: by
   *  `b`). Ordered by time, then `a`, then `b` (within each chunk of 500 sessions). Stores that
   *  do not keep links leave it out; the API then answers 501. */
  links?(sessions: string[], perSession?: number): Promise<LinkEdge[]>;
  /** The newest `max` sampled records (those with an `inventory`) of an application, oldest
   *  first. Stores that do not keep them leave it out; the API then answers 501. */
  samples?(app: string, max: number): Promise<SampleRow[]>;
  /** The overview's counts of a window (../overview.ts defines them). */
  overview(q: OverviewQuery): Promise<OverviewCounts>;
  /** Blocks and their audit list (blocks.ts). Stores that do not keep them leave it out; the
   *  block API then answers 501. */
  blocks?: BlockStore;
  /** Findings of the detections (detect/finding.ts). Stores that do not keep them leave it
   *  out; the detections API then answers 501. */
  detections?: FindingStore;
}

export class BadCursorError extends Error {}
