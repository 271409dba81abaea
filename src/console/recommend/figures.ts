/**
 * The figures of one candidate selector (docs/console-api.md defines them): coverage, of all
 * sampled requests and of its clients' requests; stability; distinctness over the whole sampled
 * window; the values users shared; the response that issued its values (origin); the score.
 */
import type { Origin } from './suggestion';
import { Candidates, MIN_ORIGIN_LENGTH, SelectorStat } from './candidates';
import type { SampleClients } from './clients';

export interface Figures {
  coverage: number;
  clientCoverage: number;
  /** Consecutive requests of one client that both carried it. */
  transitions: number;
  stability: number;
  distinctness: number;
  /** The most clients that held one of its values. */
  holdersMax: number;
  /** Values two or more users carried, and their requests. */
  sharedUserValues: number;
  sharedUserRequests: number;
  origin: Origin | null;
  /** coverage x stability x distinctness x (0.75 + 0.25 x origin share) */
  score: number;
  /** One value sent by several clients. */
  constant: boolean;
}

export const round = (x: number) => Math.round(x * 1000) / 1000;

export function measure(st: SelectorStat, candidates: Candidates, clients: SampleClients): Figures {
  const n = candidates.requests;
  const coverage = n > 0 ? st.requests / n : 0;
  let ofClients = 0;
  for (const c of st.clients) ofClients += candidates.clientRequests.get(c) ?? 0;
  const clientCoverage = ofClients > 0 ? st.requests / ofClients : 0;
  let transitions = 0;
  let changes = 0;
  for (const pc of st.perClient.values()) {
    transitions += pc.transitions;
    changes += pc.changes;
  }
  const stability = transitions > 0 ? 1 - changes / transitions : 0;
  let distinctRequests = 0;
  let holdersMax = 0;
  let sharedUserValues = 0;
  let sharedUserRequests = 0;
  const origins = new Map<string, Map<string, number>>();
  for (const [h, v] of st.values) {
    const holders = clients.holderCount(v.holders ?? new Set([v.holder]));
    if (holders > holdersMax) holdersMax = holders;
    if (holders === 1) distinctRequests += v.requests;
    if (v.users !== null) {
      sharedUserValues++;
      sharedUserRequests += v.requests;
    }
    const iss = candidates.issued.get(h);
    if (iss && iss.row < v.first && v.length >= MIN_ORIGIN_LENGTH) {
      let m = origins.get(iss.selector);
      if (!m) origins.set(iss.selector, (m = new Map()));
      m.set(iss.endpoint, (m.get(iss.endpoint) ?? 0) + 1);
    }
  }
  const distinctness = st.requests > 0 ? distinctRequests / st.requests : 0;
  let origin: Origin | null = null;
  for (const [sel, m] of origins) {
    const endpoints = [...m].map(([endpoint, values]) => ({ endpoint, values }));
    endpoints.sort((a, b) => b.values - a.values || (a.endpoint < b.endpoint ? -1 : 1));
    const values = endpoints.reduce((s, e) => s + e.values, 0);
    if (!origin || values > origin.values || (values === origin.values && sel < origin.selector)) {
      origin = { selector: sel, endpoints: endpoints.slice(0, 5), values, share: round(values / st.values.size) };
    }
  }
  const originShare = origin ? origin.values / st.values.size : 0;
  const score = coverage * stability * distinctness * (0.75 + 0.25 * originShare);
  const constant = st.values.size === 1 && holdersMax >= 2;
  return { coverage, clientCoverage, transitions, stability, distinctness, holdersMax, sharedUserValues, sharedUserRequests, origin, score, constant };
}
