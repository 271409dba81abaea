/**
 * The overview's counts in the SQLite store (../../overview.ts has the definitions), kept as
 * records arrive so that a chart of a week reads a few thousand rows instead of a week of
 * requests:
 *
 * - `overview`: per interval length (1 min, 10 min, 1 h), interval and application: requests,
 *   session parts with a request in the interval, attacks, failed logins;
 * - `overview_tops`: per hour and application, the requests of each user (`u`) and endpoint
 *   (`e`), at most TOP_VALUES_PER_HOUR distinct values each.
 *
 * A batch's counts are summed in memory and written at its end, in its transaction. Whether a
 * request is its part's first in an interval is decided from the part's aggregates (write.ts):
 * records of a part arrive in time order as nginx writes them; one that arrives late for an
 * interval its part already had, or between two earlier ones, is not counted again.
 */
import type Database from 'better-sqlite3';
import { SessionRecord } from '../../../shared/record';
import { HOUR, OVERVIEW_LEVELS, OverviewCounts, OverviewQuery, TOP_VALUES_PER_HOUR, isFailedLogin, topEndpoint, topOf, topValue } from '../../overview';
import { textPattern } from '../search';

/** Kinds of the tops table. */
const USER = 'u';
const ENDPOINT = 'e';
/** Rows read per top list before the final order (by requests, then value) is made. */
const TOP_ROWS_READ = 1000;
/** OVERVIEW_LEVELS, read once (an imported binding may be a getter). */
const LEVELS = OVERVIEW_LEVELS.slice();

function add(m: Map<string, number>, k: string): void {
  m.set(k, (m.get(k) ?? 0) + 1);
}

export class OverviewCounter {
  /** This batch's counts, per application: `series` by interval start + level index (starts
   *  are multiples of a minute) -> [requests, sessions, attacks, failed logins]; `tops` by
   *  kind + hour + "\n" + value -> requests. */
  private pending = new Map<string, { series: Map<number, number[]>; tops: Map<string, number> }>();
  /** kind + hour + "\n" + app -> distinct values stored, for the cap (recent groups only). */
  private stored = new Map<string, number>();
  private readonly st;

  constructor(private readonly db: Database.Database) {
    this.st = {
      addSeries: db.prepare(
        `INSERT INTO overview (size, bucket, app, requests, sessions, attacks, failed_logins) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (size, bucket, app) DO UPDATE SET requests = requests + excluded.requests, sessions = sessions + excluded.sessions,
           attacks = attacks + excluded.attacks, failed_logins = failed_logins + excluded.failed_logins`,
      ),
      addToTop: db.prepare('UPDATE overview_tops SET requests = requests + ? WHERE kind = ? AND hour = ? AND app = ? AND value = ?'),
      newTop: db.prepare('INSERT INTO overview_tops (kind, hour, app, value, requests) VALUES (?, ?, ?, ?, ?)'),
      storedValues: db.prepare('SELECT count(*) FROM overview_tops WHERE kind = ? AND hour = ? AND app = ?').pluck(),
      deleteSeries: db.prepare('DELETE FROM overview WHERE size = ? AND bucket < ?'),
      deleteTops: db.prepare('DELETE FROM overview_tops WHERE kind = ? AND hour < ?'),
    };
  }

  /** A newly stored request: `fresh[i]` says it is its part's first in its interval of
   *  OVERVIEW_LEVELS[i]. */
  add(r: SessionRecord, ts: number, fresh: boolean[]): void {
    let p = this.pending.get(r.app);
    if (!p) this.pending.set(r.app, (p = { series: new Map(), tops: new Map() }));
    const attack = r.attack !== null && r.attack.length > 0 ? 1 : 0;
    const failed = r.method === 'POST' && isFailedLogin(r.method, r.path, r.status) ? 1 : 0;
    for (let i = 0; i < LEVELS.length; i++) {
      const k = ts - (ts % LEVELS[i]) + i;
      let c = p.series.get(k);
      if (!c) p.series.set(k, (c = [0, 0, 0, 0]));
      c[0]++;
      if (fresh[i]) c[1]++;
      c[2] += attack;
      c[3] += failed;
    }
    const hour = ts - (ts % HOUR);
    if (r.user !== null) add(p.tops, USER + hour + '\n' + topValue(r.user));
    add(p.tops, ENDPOINT + hour + '\n' + topEndpoint(r.method, r.path));
  }

  /** Writes the batch's counts (inside the batch's transaction). A value an hour has not seen is
   *  stored while the hour has fewer than TOP_VALUES_PER_HOUR of its kind. */
  flush(): void {
    const st = this.st;
    for (const [app, p] of this.pending) {
      for (const [k, c] of p.series) {
        const i = k % 60000;
        st.addSeries.run(LEVELS[i], k - i, app, c[0], c[1], c[2], c[3]);
      }
      // in key order: consecutive writes land on the same pages of the table
      const tops = [...p.tops].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      for (const [k, n] of tops) {
        const nl = k.indexOf('\n');
        const kind = k[0];
        const hour = Number(k.slice(1, nl));
        const value = k.slice(nl + 1);
        if (st.addToTop.run(n, kind, hour, app, value).changes > 0) continue;
        const group = k.slice(0, nl + 1) + app;
        let stored = this.stored.get(group);
        if (stored === undefined) {
          if (this.stored.size >= 4096) this.stored.clear();
          stored = st.storedValues.get(kind, hour, app) as number;
        }
        if (stored >= TOP_VALUES_PER_HOUR) continue;
        st.newTop.run(kind, hour, app, value, n);
        this.stored.set(group, stored + 1);
      }
    }
    this.pending.clear();
  }

  /** After a rolled-back batch: nothing of it was written. */
  forget(): void {
    this.pending.clear();
    this.stored.clear();
  }

  deleteBefore(cutoffMs: number): void {
    for (const level of OVERVIEW_LEVELS) this.st.deleteSeries.run(level, cutoffMs);
    for (const kind of [USER, ENDPOINT]) this.st.deleteTops.run(kind, cutoffMs);
    this.stored.clear();
  }

  read(q: OverviewQuery): OverviewCounts {
    const app = q.app !== undefined ? textPattern(q.app).like : null;
    const appWhere = app !== null ? " AND app LIKE ? ESCAPE '\\'" : '';
    const args = (...xs: unknown[]) => (app !== null ? [...xs, app] : xs);
    const series = (
      this.db
        .prepare(
          `SELECT bucket AS t, sum(requests) AS requests, sum(sessions) AS sessions, sum(attacks) AS attacks, sum(failed_logins) AS failed_logins
           FROM overview WHERE size = ? AND bucket >= ? AND bucket < ?${appWhere} GROUP BY bucket ORDER BY bucket`,
        )
        .all(...args(q.bucket, q.from, q.to)) as OverviewCounts['series']
    );
    const apps = this.db
      .prepare(`SELECT app AS v, sum(requests) AS n FROM overview WHERE size = ? AND bucket >= ? AND bucket < ?${appWhere} GROUP BY app`)
      .all(...args(HOUR, q.topsFrom, q.topsTo)) as Array<{ v: string; n: number }>;
    const tops = (kind: string) =>
      this.db
        .prepare(
          `SELECT value AS v, sum(requests) AS n FROM overview_tops WHERE kind = ? AND hour >= ? AND hour < ?${appWhere}
           GROUP BY value ORDER BY n DESC LIMIT ${TOP_ROWS_READ}`,
        )
        .all(...args(kind, q.topsFrom, q.topsTo)) as Array<{ v: string; n: number }>;
    const counts = (rows: Array<{ v: string; n: number }>) => new Map(rows.map((r) => [r.v, r.n]));
    return {
      series,
      top: { apps: topOf(counts(apps)), users: topOf(counts(tops(USER))), endpoints: topOf(counts(tops(ENDPOINT))) },
    };
  }
}
