/**
 * Recommendations of grouping keys for one application, measured on the records sampled by
 * $api_sessions_discovery. A sampled record's `inventory` lists the parameters that could group
 * sessions as {selector, 12-hex keyed hash, length}: never a value. Every figure here is computed
 * from those hashes, the records' time order and their client, so the same samples always give
 * the same answer (ties are broken by selector name).
 *
 * The client of a request: its session as the module grouped it, joined with the sessions it is
 * linked to (journeys, see journey.ts). Sessions grouped only by the IP + User-Agent fallback
 * stay separate clients and are never joined through. So people behind one IP with one browser
 * build are told apart as soon as any key (built-in or configured) or link tells them apart, and
 * are one client when nothing does.
 *
 * For each request-side selector (what a client sends; response-side selectors only appear as
 * origins):
 * - coverage: the share of sampled requests that carry it;
 * - stability: over each client's requests that carry it, in time order, the share of
 *   consecutive pairs where the value stayed the same (a rotated token changes once; a
 *   per-request id changes every time). 0 when no client sent it twice;
 * - distinctness: the share of its requests whose value had one holder only. The holders of a
 *   value are the (client, IP + User-Agent) pairs that sent it, counted as the most of them active
 *   at the same time (their first..last request with the value overlapping): one user's
 *   successive sessions (a token rotated without a link) count once, people behind one IP who
 *   use it at once count each. A constant, a language or a value shared by everyone behind one
 *   IP has several holders;
 * - origin: the share of its values that a response issued first (the same hash in an earlier
 *   record's response-side candidate of the same application), with that response selector and
 *   its endpoints.
 * score = coverage x stability x distinctness x (0.75 + 0.25 x origin share).
 * A candidate is suggested unless coverage < 10%, stability < 50% or distinctness < 50%; each
 * such shortfall is named in its explanation.
 */
import { SampleRow } from './store/types';
import { MAX_PARAMS, Param, parseParams } from '../njs/config';

export const MIN_COVERAGE = 0.1;
export const MIN_STABILITY = 0.5;
export const MIN_DISTINCTNESS = 0.5;
export const MAX_LISTED = 50;
export const MAX_KEYS_IN_LINE = 3;
/** Selectors that can go into the nginx line as they are (no quote, `$`, `;`, space, backslash:
 *  nginx leaves the text between the single quotes unchanged). The line must moreover parse back
 *  exactly (lineParsesBack). */
const SAFE_SELECTOR = /^[A-Za-z0-9_.\-[\]"]+$/;

/** The `set $api_sessions_params` value of these grouping selectors. */
function paramsText(selectors: string[]): string {
  return selectors.map((x) => x + ' group').join('; ');
}

/** Whether the module's own parser (src/njs/config.ts) reads `paramsText(selectors)` as exactly
 *  these grouping keys, in this order, each a single selector written as given, without errors.
 *  A selector name the module would split, rename or refuse (an unclosed `["`, text after `"]`)
 *  fails, and so does one that changes how its neighbours parse. */
export function lineParsesBack(selectors: string[]): boolean {
  const out: Param[] = [];
  const errors: string[] = [];
  try {
    parseParams(paramsText(selectors), 'api_sessions_params', false, MAX_PARAMS, out, {}, errors);
  } catch (e) {
    return false;
  }
  if (errors.length > 0 || out.length !== selectors.length) return false;
  return out.every(
    (p, i) =>
      p.group &&
      !p.user &&
      !p.role &&
      !p.hash &&
      p.selectors.length === 1 &&
      p.name === selectors[i] &&
      p.selectors[0].text === selectors[i],
  );
}

export type Shortfall = 'low_coverage' | 'low_stability' | 'low_distinctness';

export interface Origin {
  /** The response selector that issued the values, e.g. `response.body.json.token`. */
  selector: string;
  /** Endpoints ("METHOD path") whose responses issued them, with how many values each. */
  endpoints: Array<{ endpoint: string; values: number }>;
  /** Values of the candidate issued this way. */
  values: number;
  /** That count over the candidate's distinct values. */
  share: number;
}

export interface Suggestion {
  rank: number;
  selector: string;
  score: number;
  coverage: number;
  stability: number;
  distinctness: number;
  /** Requests that carry it. */
  requests: number;
  /** Distinct values (hashes) seen. */
  values: number;
  /** Clients that sent it. */
  clients: number;
  /** Mean value length, characters. */
  avg_length: number;
  origin: Origin | null;
  suggested: boolean;
  lost: Shortfall[];
  explanation: string;
}

export interface Recommendations {
  app: string;
  /** Sampled requests the figures are computed on, and their time span. */
  sampled: number;
  clients: number;
  from: string | null;
  to: string | null;
  suggestions: Suggestion[];
  /** The suggested keys as a configuration line, issuing response selectors first; null when
   *  nothing is suggested. */
  nginx: string | null;
  /** How the figures are defined, in words (the same for every answer). */
  method: string;
}

export const METHOD_TEXT =
  'coverage: share of sampled requests carrying the parameter; stability: share of a client\'s consecutive requests ' +
  'carrying it where its value stayed the same; distinctness: share of its requests whose value only one client ' +
  '(and one IP + User-Agent) held at a time; origin: share of its values first seen in an earlier response. ' +
  'score = coverage x stability x distinctness x (0.75 + 0.25 x origin). A client is a session with the sessions ' +
  'linked to it; IP + User-Agent fallback sessions are clients of their own.';

interface ValueStat {
  requests: number;
  first: number;
  /** holder -> [first ts, last ts] of its requests with this value */
  holders: Map<string, [number, number]>;
  ips: Set<string>;
}

/** The most holders active at one time: their [first, last] intervals overlapping. */
function concurrentHolders(holders: Map<string, [number, number]>): number {
  if (holders.size <= 1) return holders.size;
  const ev: Array<[number, number]> = [];
  for (const [a, b] of holders.values()) ev.push([a, 1], [b, -1]);
  // starts before ends at the same time: touching intervals count as overlapping
  ev.sort((x, y) => x[0] - y[0] || y[1] - x[1]);
  let cur = 0;
  let max = 0;
  for (const [, d] of ev) {
    cur += d;
    if (cur > max) max = cur;
  }
  return max;
}

interface SelectorStat {
  requests: number;
  lengths: number;
  values: Map<string, ValueStat>;
  clients: Set<string>;
  /** client -> [last value, transitions, changes] */
  perClient: Map<string, [string, number, number]>;
}

const pct = (x: number) => Math.round(x * 100) + '%';
const round = (x: number) => Math.round(x * 1000) / 1000;

class UnionFind {
  private parent = new Map<string, string>();
  find(x: string): string {
    let r = x;
    for (let p = this.parent.get(r); p !== undefined && p !== r; p = this.parent.get(r)) r = p;
    return r;
  }
  union(a: string, b: string): void {
    const ra = this.find(a);
    const rb = this.find(b);
    // The smaller id becomes the root: the same links in any order give the same clients.
    if (ra < rb) this.parent.set(rb, ra);
    else if (rb < ra) this.parent.set(ra, rb);
  }
}

export function recommend(app: string, rows: SampleRow[]): Recommendations {
  const n = rows.length;
  // Sessions grouped only by the fallback: clients of their own, never joined through.
  const fallback = new Map<string, boolean>();
  for (const r of rows) fallback.set(r.session, (fallback.get(r.session) ?? true) && r.key_source === 'fallback');
  const uf = new UnionFind();
  for (const r of rows) {
    if (fallback.get(r.session)) continue;
    for (const l of r.links) if (fallback.get(l) === false) uf.union(r.session, l);
  }
  const clientOf = (r: SampleRow) => uf.find(r.session);

  const stats = new Map<string, SelectorStat>();
  /** hash -> the first response that carried it: [row index, selector, endpoint] */
  const issued = new Map<string, [number, string, string]>();
  const clients = new Set<string>();
  for (let i = 0; i < n; i++) {
    const r = rows[i];
    const client = clientOf(r);
    clients.add(client);
    const ipua = r.ip + '\n' + (r.ua ?? '');
    const endpoint = r.method + ' ' + r.path;
    const seen = new Set<string>();
    for (const c of r.inventory) {
      if (!c || typeof c.s !== 'string' || typeof c.h !== 'string' || seen.has(c.s)) continue;
      seen.add(c.s);
      if (c.s.startsWith('response.')) {
        if (!issued.has(c.h)) issued.set(c.h, [i, c.s, endpoint]);
        continue;
      }
      if (!c.s.startsWith('request.')) continue;
      let st = stats.get(c.s);
      if (!st) stats.set(c.s, (st = { requests: 0, lengths: 0, values: new Map(), clients: new Set(), perClient: new Map() }));
      st.requests++;
      st.clients.add(client);
      st.lengths += Number(c.n) || 0;
      let v = st.values.get(c.h);
      if (!v) st.values.set(c.h, (v = { requests: 0, first: i, holders: new Map(), ips: new Set() }));
      v.requests++;
      // A holder: the client, told apart from other holders by IP + User-Agent too.
      const holder = client + '\n' + ipua;
      const span = v.holders.get(holder);
      if (!span) v.holders.set(holder, [r.ts, r.ts]);
      else span[1] = Math.max(span[1], r.ts);
      v.ips.add(r.ip);
      const pc = st.perClient.get(client);
      if (!pc) st.perClient.set(client, [c.h, 0, 0]);
      else {
        pc[1]++;
        if (pc[0] !== c.h) pc[2]++;
        pc[0] = c.h;
      }
    }
  }

  const out: Suggestion[] = [];
  for (const [selector, st] of stats) {
    const coverage = n > 0 ? st.requests / n : 0;
    let transitions = 0;
    let changes = 0;
    for (const [, t, ch] of st.perClient.values()) {
      transitions += t;
      changes += ch;
    }
    const stability = transitions > 0 ? 1 - changes / transitions : 0;
    let distinctRequests = 0;
    let holdersSum = 0;
    let sharedValues = 0;
    let sharedOneIp = 0;
    const origins = new Map<string, Map<string, number>>();
    for (const [h, v] of st.values) {
      const holders = concurrentHolders(v.holders);
      holdersSum += holders;
      if (holders === 1) distinctRequests += v.requests;
      else {
        sharedValues++;
        if (v.ips.size === 1) sharedOneIp++;
      }
      const iss = issued.get(h);
      if (iss && iss[0] < v.first) {
        let m = origins.get(iss[1]);
        if (!m) origins.set(iss[1], (m = new Map()));
        m.set(iss[2], (m.get(iss[2]) ?? 0) + 1);
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
    const lost: Shortfall[] = [];
    if (coverage < MIN_COVERAGE) lost.push('low_coverage');
    if (stability < MIN_STABILITY) lost.push('low_stability');
    if (distinctness < MIN_DISTINCTNESS) lost.push('low_distinctness');

    const facts =
      `carried by ${pct(coverage)} of ${n} sampled requests (coverage); ` +
      (transitions > 0
        ? `a client kept its value in ${pct(stability)} of its consecutive requests (stability); `
        : 'no client sent it twice (stability 0%); ') +
      `${pct(distinctness)} of its requests carry a value only one client sent (distinctness); ` +
      `${st.values.size} distinct value${st.values.size === 1 ? '' : 's'} from ${st.clients.size} client${st.clients.size === 1 ? '' : 's'}, ` +
      `${Math.round(st.lengths / Math.max(1, st.requests))} characters long on average; ` +
      (origin
        ? `issued by ${origin.endpoints.map((e) => e.endpoint).join(', ')} in ${origin.selector} (${origin.values} of ${st.values.size} values)`
        : 'no earlier response issued its values');
    const why: string[] = [];
    for (const l of lost) {
      if (l === 'low_coverage') why.push(`low coverage: only ${pct(coverage)} of sampled requests carry it`);
      if (l === 'low_stability') {
        why.push(
          transitions > 0
            ? `low stability: a client's value changed in ${pct(1 - stability)} of its consecutive requests (a per-request value)`
            : 'low stability: no client sent it twice',
        );
      }
      if (l === 'low_distinctness') {
        const avg = holdersSum / Math.max(1, st.values.size);
        if (st.values.size === 1) why.push(`low distinctness: one value shared by ${Math.round(avg)} clients (a constant, e.g. per deployment)`);
        else if (sharedValues > 0 && sharedOneIp === sharedValues)
          why.push(`low distinctness: ${pct(1 - distinctness)} of its requests carry a value shared by several clients behind one IP address`);
        else why.push(`low distinctness: its ${st.values.size} values are shared by ${avg.toFixed(1)} clients each on average (low cardinality, e.g. a language)`);
      }
    }
    out.push({
      rank: 0,
      selector,
      score: round(score),
      coverage: round(coverage),
      stability: round(stability),
      distinctness: round(distinctness),
      requests: st.requests,
      values: st.values.size,
      clients: st.clients.size,
      avg_length: round(st.lengths / Math.max(1, st.requests)),
      origin,
      suggested: lost.length === 0,
      lost,
      explanation: (lost.length ? 'Lost: ' + why.join('; ') + '. ' : 'Suggested: ') + facts + '.',
      // exact score for the sort below
      ...{ _score: score },
    } as Suggestion);
  }
  const exact = (s: Suggestion) => (s as unknown as { _score: number })._score;
  out.sort((a, b) => Number(b.suggested) - Number(a.suggested) || exact(b) - exact(a) || (a.selector < b.selector ? -1 : 1));
  out.forEach((s, i) => {
    s.rank = i + 1;
    delete (s as unknown as { _score?: number })._score;
  });

  // A selector goes into the line only when the whole line, with it, still parses back exactly;
  // otherwise it is left out of the line (it is still listed).
  const entries: string[] = [];
  const add = (selector: string): boolean => {
    if (!SAFE_SELECTOR.test(selector) || entries.includes(selector)) return false;
    if (!lineParsesBack([...entries, selector])) return false;
    entries.push(selector);
    return true;
  };
  for (const s of out.filter((x) => x.suggested && SAFE_SELECTOR.test(x.selector) && lineParsesBack([x.selector])).slice(0, MAX_KEYS_IN_LINE)) {
    if (s.origin && s.origin.share >= 0.5) add(s.origin.selector);
    add(s.selector);
  }
  return {
    app,
    sampled: n,
    clients: clients.size,
    from: n ? new Date(rows[0].ts).toISOString() : null,
    to: n ? new Date(rows[n - 1].ts).toISOString() : null,
    suggestions: out.slice(0, MAX_LISTED),
    nginx: entries.length ? `set $api_sessions_params '${paramsText(entries)}';` : null,
    method: METHOD_TEXT,
  };
}
