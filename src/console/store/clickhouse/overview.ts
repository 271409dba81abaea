/**
 * The overview's counts in the ClickHouse store (../../overview.ts has the definitions),
 * aggregated from the requests at query time, as the part summaries are: rows that Vector writes
 * straight into ClickHouse count as well.
 */
import { LOGIN_PATH, LOGIN_REFUSED, OverviewCounts, OverviewQuery, topEndpoint, topOf, topValue } from '../../overview';
import { textPattern } from '../search';
import { ClickHouseTables, lit, num } from './tables';

/** Distinct (method, path) pairs read for the endpoints' top before ids are folded. */
const ENDPOINT_ROWS_READ = 100000;
/** Users read for their top, most requests first. */
const USER_ROWS_READ = 1000;

/** isFailedLogin in SQL: lower() folds ASCII letters only, as isFailedLogin does. */
const FAILED_LOGIN = `method = 'POST' AND status IN (${LOGIN_REFUSED.join(', ')}) AND match(lower(path), ${lit(LOGIN_PATH.source)})`;

const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

export async function overview(t: ClickHouseTables, q: OverviewQuery): Promise<OverviewCounts> {
  const app = q.app !== undefined ? ` AND match(lower(app), ${lit(textPattern(q.app).regexp)})` : '';
  // the days first (partitions), then the exact times
  const within = (from: number, to: number) =>
    `part >= toDate(${lit(dayOf(from))}) AND part <= toDate(${lit(dayOf(to - 1))}) AND ts_ms >= ${num(from)} AND ts_ms < ${num(to)}${app}`;
  const series = `SELECT intDiv(ts_ms, ${num(q.bucket)}) * ${num(q.bucket)} AS t, count() AS requests, uniqExact(session, part) AS sessions,
      countIf(notEmpty(attack)) AS attacks, countIf(${FAILED_LOGIN}) AS failed_logins
    FROM ${t.requests} FINAL WHERE ${within(q.from, q.to)} GROUP BY t ORDER BY t`;
  const tops = within(q.topsFrom, q.topsTo);
  const [rows, apps, users, endpoints] = await Promise.all([
    t.rows<{ t: string | number; requests: string | number; sessions: string | number; attacks: string | number; failed_logins: string | number }>(series),
    t.rows<{ v: string; n: string | number }>(`SELECT app AS v, count() AS n FROM ${t.requests} FINAL WHERE ${tops} GROUP BY app`),
    t.rows<{ v: string; n: string | number }>(
      `SELECT assumeNotNull(\`user\`) AS v, count() AS n FROM ${t.requests} FINAL WHERE ${tops} AND isNotNull(\`user\`)
       GROUP BY v ORDER BY n DESC LIMIT ${USER_ROWS_READ}`,
    ),
    t.rows<{ m: string; p: string; n: string | number }>(
      `SELECT method AS m, path AS p, count() AS n FROM ${t.requests} FINAL WHERE ${tops}
       GROUP BY method, path ORDER BY n DESC LIMIT ${ENDPOINT_ROWS_READ}`,
    ),
  ]);
  const sum = (m: Map<string, number>, k: string, n: string | number) => m.set(k, (m.get(k) ?? 0) + Number(n));
  const byApp = new Map<string, number>();
  for (const r of apps) sum(byApp, r.v, r.n);
  const byUser = new Map<string, number>();
  for (const r of users) sum(byUser, topValue(r.v), r.n);
  const byEndpoint = new Map<string, number>();
  for (const r of endpoints) sum(byEndpoint, topEndpoint(r.m, r.p), r.n);
  return {
    series: rows.map((r) => ({
      t: Number(r.t),
      requests: Number(r.requests),
      sessions: Number(r.sessions),
      attacks: Number(r.attacks),
      failed_logins: Number(r.failed_logins),
    })),
    top: { apps: topOf(byApp), users: topOf(byUser), endpoints: topOf(byEndpoint) },
  };
}
