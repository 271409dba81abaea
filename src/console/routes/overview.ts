/** The overview above the session list (overview.ts): requests, sessions, attacks and failed
 *  logins over a time window, and the applications, users and endpoints with the most requests. */
import type { FastifyInstance } from 'fastify';
import type { Store } from '../store/types';
import { HOUR, MAX_WINDOW_MS, OverviewQuery, ceilTo, floorTo, levelFor, overviewAnswer } from '../overview';
import { HttpError } from './errors';
import { TIME, parameters, text, time } from './query';

/** The window when neither `from` nor `to` gives it. */
export const DEFAULT_WINDOW_MS = 24 * HOUR;
const UNIT: Record<string, number> = { m: 60000, h: HOUR, d: 24 * HOUR };

/** The overview's query string. */
export interface OverviewParameters {
  from?: string;
  to?: string;
  window?: string;
  app?: string;
}
const OVERVIEW_QUERY = parameters({ from: TIME, to: TIME, window: text(16), app: text() });

/** `window`: a length such as `15m`, `1h`, `24h`, `7d` (its reading and range: here, not in the schema). */
function windowMs(q: OverviewParameters): number {
  const v = q.window;
  if (v === undefined) return DEFAULT_WINDOW_MS;
  const m = /^(\d{1,4})([mhd])$/.exec(v);
  const ms = m ? Number(m[1]) * UNIT[m[2]] : NaN;
  if (!(ms >= 60000 && ms <= MAX_WINDOW_MS)) throw new HttpError(400, 'window: a length from 1m to 31d (15m, 1h, 24h, 7d)');
  return ms;
}

/** The window asked for, widened to whole intervals: `from`/`to` as the list takes them; a
 *  missing end is `window` (default 24h) away from the other, or now. */
export function overviewQuery(q: OverviewParameters, now = Date.now()): OverviewQuery {
  const w = windowMs(q);
  let from = time(q, 'from');
  let to = time(q, 'to');
  if (to === undefined) to = from !== undefined ? Math.min(from + w, Math.max(now, from + 60000)) : now;
  if (from === undefined) from = to - w;
  if (from >= to) throw new HttpError(400, 'from: after to (swap them?)');
  if (to - from > MAX_WINDOW_MS) throw new HttpError(400, 'from, to: at most 31 days apart');
  const bucket = levelFor(from, to);
  const start = floorTo(from, bucket);
  const end = ceilTo(to, bucket) === start ? start + bucket : ceilTo(to, bucket);
  const app = q.app;
  return { from: start, to: end, bucket, topsFrom: floorTo(start, HOUR), topsTo: ceilTo(end, HOUR), ...(app !== undefined ? { app } : {}) };
}

export function registerOverviewRoutes(app: FastifyInstance, store: Store): void {
  app.get<{ Querystring: OverviewParameters }>('/api/overview', { schema: { querystring: OVERVIEW_QUERY } }, async (req) => {
    const q = overviewQuery(req.query);
    return overviewAnswer(q, await store.overview(q));
  });
}
