/**
 * Part summaries in the ClickHouse store, aggregated from the requests at query time (there is
 * nothing to keep up to date on ingest, so Vector can write the requests directly).
 */
import { Counts, PartSummary } from '../types';
import { ClickHouseTables } from './tables';

interface SummaryRow {
  session: string;
  p: string;
  app_: string;
  first_ms: string | number;
  last_ms: string | number;
  n: string | number;
  attacked: string | number;
  errored: string | number;
  first_user: string;
  has_user: string | number;
  first_role: string;
  has_role: string | number;
  first_key: string;
}

interface CountRow {
  session: string;
  p: string;
  dim: string;
  val: string;
  n: string | number;
  first_seen: string | number;
}

/** Summaries of the parts the WHERE clause selects, keyed "session/part". */
export async function summaries(t: ClickHouseTables, where: string): Promise<Map<string, PartSummary>> {
  const [main, counts] = await Promise.all([
    t.rows<SummaryRow>(
      `SELECT session, toString(part) AS p, any(app) AS app_, min(ts_ms) AS first_ms, max(ts_ms) AS last_ms,
         count() AS n, countIf(notEmpty(attack)) AS attacked, countIf(notEmpty(errors)) AS errored,
         argMinIf(assumeNotNull(\`user\`), (ts_ms, request_id), isNotNull(\`user\`)) AS first_user,
         countIf(isNotNull(\`user\`)) AS has_user,
         argMinIf(assumeNotNull(role), (ts_ms, request_id), isNotNull(role)) AS first_role,
         countIf(isNotNull(role)) AS has_role,
         argMin(\`key\`, (ts_ms, request_id)) AS first_key
       FROM ${t.requests} FINAL WHERE ${where} GROUP BY session, part`,
    ),
    t.rows<CountRow>(
      `SELECT session, toString(part) AS p, kv.1 AS dim, kv.2 AS val, count() AS n, min(ts_ms) AS first_seen
       FROM (
         SELECT session, part, ts_ms, arrayJoin(arrayConcat(
           [('i', ip), ('s', toString(status)), ('m', method), ('k', \`key\`)],
           arrayMap(a -> ('a', a), attack),
           arrayMap(u -> ('u', assumeNotNull(u)), arrayFilter(u -> isNotNull(u), [\`user\`])),
           arrayMap(r -> ('r', assumeNotNull(r)), arrayFilter(r -> isNotNull(r), [role])),
           arrayMap(g -> ('g', assumeNotNull(g)), arrayFilter(g -> isNotNull(g), [ua]))
         )) AS kv
         FROM ${t.requests} FINAL WHERE ${where}
       ) GROUP BY session, part, dim, val`,
    ),
  ]);
  const out = new Map<string, PartSummary>();
  for (const r of main) {
    out.set(r.session + '/' + r.p, {
      session: r.session,
      part: r.p,
      app: r.app_,
      first_ts: new Date(Number(r.first_ms)).toISOString(),
      last_ts: new Date(Number(r.last_ms)).toISOString(),
      requests: Number(r.n),
      attacked: Number(r.attacked),
      errored: Number(r.errored),
      user: Number(r.has_user) > 0 ? r.first_user : null,
      role: Number(r.has_role) > 0 ? r.first_role : null,
      key: r.first_key,
      users: [],
      roles: [],
      keys: [],
      ips: {},
      uas: {},
      statuses: {},
      attacks: {},
      methods: {},
    });
  }
  // In order of first appearance, as the SQLite store lists them.
  counts.sort((a, b) => Number(a.first_seen) - Number(b.first_seen) || (a.val < b.val ? -1 : a.val > b.val ? 1 : 0));
  for (const c of counts) {
    const s = out.get(c.session + '/' + c.p);
    if (!s) continue;
    const n = Number(c.n);
    const add = (o: Counts) => (o[c.val] = n);
    switch (c.dim) {
      case 'i':
        add(s.ips);
        break;
      case 'g':
        add(s.uas);
        break;
      case 's':
        add(s.statuses);
        break;
      case 'm':
        add(s.methods);
        break;
      case 'a':
        add(s.attacks);
        break;
      case 'k':
        s.keys.push(c.val);
        break;
      case 'u':
        s.users.push(c.val);
        break;
      case 'r':
        s.roles.push(c.val);
        break;
    }
  }
  return out;
}
