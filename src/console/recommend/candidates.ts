/**
 * The sample read once, request by request: for every request selector (a candidate grouping
 * key) how many requests carried it, its values with their holders and users, and how each
 * client's value went on from one request to the next; and the long values responses issued.
 */
import type { SampleRow } from '../store/types';
import { classify, jwtClaimOf } from './classify';
import type { SampleClients } from './clients';

/** Shortest value that can count as issued by a response (a 64-bit id in hex is 16). */
export const MIN_ORIGIN_LENGTH = 16;

const NUMERIC_KINDS = new Set(['number', 'time']);

export interface ValueStat {
  requests: number;
  first: number;
  length: number;
  /** Its first holder and user; the sets only once a second one appears (most values have one:
   *  20,000 samples hold hundreds of thousands of values). */
  holder: string;
  holders: Set<string> | null;
  user: string | null;
  users: Set<string> | null;
}

function addHolder(v: ValueStat, client: string, user: string | null): void {
  if (client !== v.holder) {
    if (v.holders === null) v.holders = new Set([v.holder]);
    v.holders.add(client);
  }
  if (user === null) return;
  if (v.user === null) v.user = user;
  else if (user !== v.user) {
    if (v.users === null) v.users = new Set([v.user]);
    v.users.add(user);
  }
}

export interface SelectorStat {
  requests: number;
  lengths: number;
  kinds: Record<string, number>;
  values: Map<string, ValueStat>;
  clients: Set<string>;
  /** client -> its last value and session, transitions, changes */
  perClient: Map<string, { value: string; session: string; transitions: number; changes: number }>;
}

/** The first response that carried a value. */
export interface Issued {
  /** Index of the sampled request. */
  row: number;
  selector: string;
  /** "METHOD path" */
  endpoint: string;
  client: string;
}

export interface Candidates {
  /** Sampled requests. */
  requests: number;
  /** request selector -> what the sample says of it */
  selectors: Map<string, SelectorStat>;
  /** value hash -> the first response that carried it */
  issued: Map<string, Issued>;
  clients: Set<string>;
  clientRequests: Map<string, number>;
  /** Users named in the sample. */
  users: Set<string>;
}

/** `users[i]`: the user of `rows[i]` (classify.ts's sampleUsers). */
export function collectCandidates(rows: SampleRow[], users: Array<string | null>, clients: SampleClients): Candidates {
  const out: Candidates = { requests: rows.length, selectors: new Map(), issued: new Map(), clients: new Set(), clientRequests: new Map(), users: new Set() };
  const { selectors: stats, issued } = out;
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    const client = clients.of(r);
    const user = users[i];
    out.clients.add(client);
    out.clientRequests.set(client, (out.clientRequests.get(client) ?? 0) + 1);
    if (user !== null) out.users.add(user);
    const endpoint = r.method + ' ' + r.path;
    const seen = new Set<string>();
    for (const c of r.inventory) {
      if (!c || typeof c.s !== 'string' || typeof c.h !== 'string' || seen.has(c.s)) continue;
      seen.add(c.s);
      const len = Number(c.n) || 0;
      if (c.s.startsWith('response.')) {
        // Only long values that are not numbers or times, from selectors that could carry a key.
        if (len >= MIN_ORIGIN_LENGTH && !NUMERIC_KINDS.has(c.k ?? '') && !issued.has(c.h) && jwtClaimOf(c.s) === null && classify(c.s) !== 'credential') {
          issued.set(c.h, { row: i, selector: c.s, endpoint, client });
        }
        continue;
      }
      if (!c.s.startsWith('request.')) continue;
      let st = stats.get(c.s);
      if (!st) stats.set(c.s, (st = { requests: 0, lengths: 0, kinds: {}, values: new Map(), clients: new Set(), perClient: new Map() }));
      st.requests++;
      st.clients.add(client);
      st.lengths += len;
      if (typeof c.k === 'string') st.kinds[c.k] = (st.kinds[c.k] ?? 0) + 1;
      let v = st.values.get(c.h);
      if (!v) st.values.set(c.h, (v = { requests: 0, first: i, length: len, holder: client, holders: null, user, users: null }));
      v.requests++;
      addHolder(v, client, user);
      const pc = st.perClient.get(client);
      if (!pc) st.perClient.set(client, { value: c.h, session: r.session, transitions: 0, changes: 0 });
      else {
        pc.transitions++;
        if (pc.value !== c.h) {
          // A refresh: the new value was issued to this client by an earlier response, or its
          // session is linked to the previous one. The same session going on, not a change.
          const iss = issued.get(c.h);
          const continued = (iss !== undefined && iss.row < i && iss.client === client) || (pc.session !== r.session && clients.linked(pc.session, r.session));
          if (!continued) pc.changes++;
        }
        pc.value = c.h;
        pc.session = r.session;
      }
    }
  }
  return out;
}
