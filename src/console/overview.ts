/**
 * The overview above the session list: what happened in a time window at a glance. Requests,
 * active sessions, attacks and failed logins per interval, and the applications, users and
 * endpoints with the most requests. The definitions live here, once, for every store:
 *
 * - intervals are 1 minute, 10 minutes or 1 hour (OVERVIEW_LEVELS), the finest that draws the
 *   window in at most MAX_BUCKETS bars; the window is widened to whole intervals;
 * - `sessions` of an interval: session parts with at least one request in it;
 * - `attacks`: requests marked malicious (the record's `attack`);
 * - `failed_logins`: isFailedLogin below;
 * - the tops count requests over the whole hours that cover the window; endpoints are "METHOD
 *   path" with ids folded (part-stats.ts's pathPattern: `/items/42` is `/items/N`).
 *
 * The SQLite store counts all of it as records arrive (store/sqlite/overview.ts: a chart of a
 * week must not read a week of requests); ClickHouse aggregates its requests at query time.
 */
import { pathPattern } from './part-stats';

/** Interval lengths a chart is drawn with, ms. */
export const OVERVIEW_LEVELS = [60000, 600000, 3600000];
/** The longest window (31 days of hourly bars). */
export const MAX_WINDOW_MS = 31 * 86400000;
/** Bars a window is drawn with at most, unless even hours give more. */
export const MAX_BUCKETS = 180;
export const HOUR = 3600000;
/** Entries of each top list. */
export const TOP_ENTRIES = 10;
/** Distinct users and endpoints the SQLite store counts per hour and application; the rest of an
 *  hour's distinct values are not counted (a path scanner's thousands of paths). */
export const TOP_VALUES_PER_HOUR = 1000;
/** Characters of a user or endpoint kept in the tops. */
export const TOP_VALUE_LENGTH = 1000;

/** Paths that log a user in: the words, found anywhere in the path (ASCII case folded). */
export const LOGIN_PATH = /login|logon|signin|sign-in|sign_in|auth|token/;
/** Statuses by which a login refuses its credentials. */
export const LOGIN_REFUSED = [400, 401, 403, 422];

/** A failed login: a POST to a path naming a login (LOGIN_PATH) refused with 400, 401, 403 or
 *  422. Only ASCII letters are folded, as ClickHouse's lower() folds them. */
export function isFailedLogin(method: string, path: string, status: number): boolean {
  return method === 'POST' && LOGIN_REFUSED.includes(status) && LOGIN_PATH.test(path.replace(/[A-Z]/g, (c) => c.toLowerCase()));
}

/** The endpoint of a request as the tops count it. */
export function topEndpoint(method: string, path: string): string {
  return topValue(method + ' ' + pathPattern(path));
}

export function topValue(v: string): string {
  return v.length > TOP_VALUE_LENGTH ? v.slice(0, TOP_VALUE_LENGTH) : v;
}

/** The level a window is drawn with: the finest giving at most MAX_BUCKETS bars. */
export function levelFor(from: number, to: number): number {
  for (const l of OVERVIEW_LEVELS) if ((to - from) / l <= MAX_BUCKETS) return l;
  return OVERVIEW_LEVELS[OVERVIEW_LEVELS.length - 1];
}

export const floorTo = (t: number, step: number) => Math.floor(t / step) * step;
export const ceilTo = (t: number, step: number) => Math.ceil(t / step) * step;

/** What a store is asked: a window of whole intervals, and optionally an application pattern. */
export interface OverviewQuery {
  /** Start and end, ms, multiples of `bucket`: [from, to). */
  from: number;
  to: number;
  /** One of OVERVIEW_LEVELS. */
  bucket: number;
  /** The tops' window: the whole hours around [from, to). */
  topsFrom: number;
  topsTo: number;
  /** Applications: a pattern as the list's `app` (search.ts); absent: all. */
  app?: string;
}

export interface OverviewBucket {
  /** The interval's start, ms. */
  t: number;
  requests: number;
  sessions: number;
  attacks: number;
  failed_logins: number;
}

export interface OverviewTop {
  value: string;
  requests: number;
}

/** What a store answers: the intervals that saw requests (others are empty), and the tops. */
export interface OverviewCounts {
  series: OverviewBucket[];
  top: { apps: OverviewTop[]; users: OverviewTop[]; endpoints: OverviewTop[] };
}

/** The API's answer: every interval of the window, times in ISO. */
export interface Overview {
  from: string;
  to: string;
  bucket_ms: number;
  app: string | null;
  series: Array<Omit<OverviewBucket, 't'> & { t: string }>;
  totals: { requests: number; attacks: number; failed_logins: number; sessions_peak: number };
  top: OverviewCounts['top'] & { from: string; to: string };
}

/** The store's counts as the API gives them: every interval of the window present. */
export function overviewAnswer(q: OverviewQuery, c: OverviewCounts): Overview {
  const by = new Map(c.series.map((b) => [b.t, b]));
  const series: Overview['series'] = [];
  const totals = { requests: 0, attacks: 0, failed_logins: 0, sessions_peak: 0 };
  for (let t = q.from; t < q.to; t += q.bucket) {
    const b = by.get(t) ?? { t, requests: 0, sessions: 0, attacks: 0, failed_logins: 0 };
    series.push({ t: new Date(t).toISOString(), requests: b.requests, sessions: b.sessions, attacks: b.attacks, failed_logins: b.failed_logins });
    totals.requests += b.requests;
    totals.attacks += b.attacks;
    totals.failed_logins += b.failed_logins;
    totals.sessions_peak = Math.max(totals.sessions_peak, b.sessions);
  }
  return {
    from: new Date(q.from).toISOString(),
    to: new Date(q.to).toISOString(),
    bucket_ms: q.bucket,
    app: q.app ?? null,
    series,
    totals,
    top: { from: new Date(q.topsFrom).toISOString(), to: new Date(q.topsTo).toISOString(), ...c.top },
  };
}

/** Top entries from counts: most requests first, ties by value. */
export function topOf(counts: Map<string, number>, n = TOP_ENTRIES): OverviewTop[] {
  return [...counts]
    .map(([value, requests]) => ({ value, requests }))
    .sort((a, b) => b.requests - a.requests || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0))
    .slice(0, n);
}
