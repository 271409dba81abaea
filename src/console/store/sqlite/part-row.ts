/**
 * A part's row in the SQLite store's `parts`: its aggregates (the counts as JSON in `stats`), and
 * the summary the list and the session page show of it.
 */
import { Counts, PartSummary } from '../types';

export interface PartStats {
  methods: Counts;
  statuses: Counts;
  ips: Counts;
  uas: Counts;
  attacks: Counts;
  keys: Counts;
  users: Counts;
  roles: Counts;
}

export interface PartRow {
  id: number;
  session: string;
  part: string;
  app: string;
  first_ts: number;
  last_ts: number;
  requests: number;
  attacked: number;
  errored: number;
  user: string | null;
  role: string | null;
  key: string;
  stats: string;
}

/** One part's row, by (session, part). */
export const SELECT_PART = 'SELECT * FROM parts WHERE session = ? AND part = ?';

export function emptyStats(): PartStats {
  return { methods: {}, statuses: {}, ips: {}, uas: {}, attacks: {}, keys: {}, users: {}, roles: {} };
}

/** The row's counts (rows written before a kind of count was kept lack it: empty). */
export function readStats(row: PartRow): PartStats {
  return { ...emptyStats(), ...JSON.parse(row.stats) };
}

export function partSummary(row: PartRow): PartSummary {
  const s = readStats(row);
  return {
    session: row.session,
    part: row.part,
    app: row.app,
    first_ts: new Date(row.first_ts).toISOString(),
    last_ts: new Date(row.last_ts).toISOString(),
    requests: row.requests,
    attacked: row.attacked,
    errored: row.errored,
    user: row.user,
    role: row.role,
    key: row.key,
    users: Object.keys(s.users),
    roles: Object.keys(s.roles),
    keys: Object.keys(s.keys),
    ips: s.ips,
    uas: s.uas,
    statuses: s.statuses,
    attacks: s.attacks,
    methods: s.methods,
  };
}
