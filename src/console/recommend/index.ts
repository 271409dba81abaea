/**
 * Recommendations of grouping keys for one application, measured on the records sampled by
 * $api_sessions_discovery. A sampled record's `inventory` lists the parameters that could group
 * sessions as {selector, 12-hex keyed hash, length, value kind}: never a value. Every figure here
 * is computed from those hashes, the records' time order, their client and their user, so the
 * same samples always give the same answer (ties are broken by selector name).
 *
 * A recommendation that merges two users is worse than none: the analyst trusts it and reads one
 * person's actions as another's. So a grouping key is suggested only when nothing in the sample
 * says its values are shared:
 * - the client of a request is its session as the module grouped it, joined with the sessions
 *   it is linked to (journeys, see ../journey.ts); sessions grouped only by the IP + User-Agent
 *   fallback are clients of their own and never joined through;
 * - distinctness counts the holders of a value over the whole sampled window (not only at the
 *   same time: a constant seen one client after another is shared all the same). An anonymous
 *   IP + User-Agent session linked to the client that also holds the value is that client's
 *   earlier part, not another holder;
 * - a value two users carried (the records' `user`, or a user claim's hash where no record
 *   names users: classify.ts) disqualifies the key outright;
 * - what the selector is decides before any figure (classify.ts): credentials are never
 *   suggested in any role; a token's claims follow the token (user claims are offered as
 *   `user`, role claims as `role`, exp/iat/nbf/jti and the rest never); timestamps and headers
 *   about the client software are rejected; constants are rejected;
 * - stability counts a value that a response of the same client issued (a refresh), or that a
 *   linked session continues, as the same session going on;
 * - a key whose value follows a better key's request by request (a signature, a digest) is
 *   that key under another form, not offered separately;
 * - an "issued by" origin needs values of at least MIN_ORIGIN_LENGTH characters that are not
 *   numbers or times: short equal values say nothing.
 * score = coverage x stability x distinctness x (0.75 + 0.25 x origin share). The nginx line
 * takes the best keys (with their issuing response selectors), a `user` and a `role` claim, and
 * is checked with the what-if preview (whatif.ts): a key that would put two users into one
 * session is left out.
 */
import { SampleRow } from '../store/types';
import { MAX_PARAMS, Param, parseParams } from '../../njs/config';
import { CandidateKind, classify, jwtClaimOf, lastName, sampleUsers, userPreference } from './classify';
import { preview, Preview } from './whatif';
import { UnionFind } from './union-find';

export const MIN_COVERAGE = 0.1;
/** ... unless its clients send it in at least this share of their requests: a token of the few
 *  users who sign in, among much anonymous traffic, is not rare where it is used. */
export const MIN_CLIENT_COVERAGE = 0.25;
export const MIN_STABILITY = 0.5;
/** Share of a key's requests whose value exactly one client held, over the sampled window. */
export const MIN_DISTINCTNESS = 0.9;
/** Shortest mean value length of a grouping key: shorter values (a page number, a flag) have
 *  too few possible values to tell clients apart. */
export const MIN_KEY_LENGTH = 4;
/** Shortest value that can count as issued by a response (a 64-bit id in hex is 16). */
export const MIN_ORIGIN_LENGTH = 16;
export const MAX_LISTED = 50;
export const MAX_KEYS_IN_LINE = 3;
/** Selectors that can go into the nginx line as they are (no quote, `$`, `;`, space, backslash:
 *  nginx leaves the text between the single quotes unchanged). The line must moreover parse back
 *  exactly (lineParsesBack). */
const SAFE_SELECTOR = /^[A-Za-z0-9_.\-[\]"]+$/;

export type Use = 'group' | 'user' | 'role';
export interface LineEntry {
  selector: string;
  use: Use;
}

const entryOf = (e: string | LineEntry): LineEntry => (typeof e === 'string' ? { selector: e, use: 'group' } : e);

/** The `set $api_sessions_params` value of these entries. */
function paramsText(entries: Array<string | LineEntry>): string {
  return entries.map((e) => entryOf(e).selector + ' ' + entryOf(e).use).join('; ');
}

/** Whether the module's own parser (src/njs/config.ts) reads `paramsText(entries)` as exactly
 *  these entries (a string is a grouping key), in this order, each a single selector written as
 *  given, without errors. A selector name the module would split, rename or refuse (an unclosed
 *  `["`, text after `"]`) fails, and so does one that changes how its neighbours parse. */
export function lineParsesBack(entries: Array<string | LineEntry>): boolean {
  const out: Param[] = [];
  const errors: string[] = [];
  try {
    parseParams(paramsText(entries), 'api_sessions_params', false, MAX_PARAMS, out, {}, errors);
  } catch (e) {
    return false;
  }
  if (errors.length > 0 || out.length !== entries.length) return false;
  return out.every((p, i) => {
    const e = entryOf(entries[i]);
    return (
      p.group === (e.use === 'group') &&
      p.user === (e.use === 'user') &&
      p.role === (e.use === 'role') &&
      !p.hash &&
      p.selectors.length === 1 &&
      p.name === e.selector &&
      p.selectors[0].text === e.selector
    );
  });
}

export type Shortfall =
  | 'low_coverage'
  | 'low_stability'
  | 'low_distinctness'
  | 'shared_by_users'
  | 'constant'
  | 'low_cardinality'
  | 'timestamp'
  | 'credential'
  | 'token_claim'
  | 'user_claim'
  | 'role_claim'
  | 'derived';

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
  /** What the selector is (classify.ts): `key` is a possible grouping key. */
  kind: CandidateKind;
  /** What it is offered as: a grouping key, the user, the role; null: nothing. */
  as: Use | null;
  score: number;
  coverage: number;
  /** Requests carrying it / all sampled requests of the clients that sent it. */
  client_coverage: number;
  stability: number;
  distinctness: number;
  /** Requests that carry it. */
  requests: number;
  /** Distinct values (hashes) seen. */
  values: number;
  /** Clients that sent it. */
  clients: number;
  /** Values that two or more users carried. */
  shared_by_users: number;
  /** Mean value length, characters. */
  avg_length: number;
  origin: Origin | null;
  /** Offered (as `as`) with nothing against it. */
  suggested: boolean;
  /** Why it is not a grouping key. */
  lost: Shortfall[];
  explanation: string;
}

export interface Recommendations {
  app: string;
  /** Sampled requests the figures are computed on, and their time span. */
  sampled: number;
  clients: number;
  /** Users named in the sample (records' `user`, or user claims where none is named). */
  users: number;
  from: string | null;
  to: string | null;
  suggestions: Suggestion[];
  /** The suggested keys as a configuration line (issuing response selectors first, then the
   *  keys, a user and a role); null when no grouping key is suggested. */
  nginx: string | null;
  /** The what-if preview of that line on the same samples; null without a line. */
  preview: Preview | null;
  /** How the figures are defined, in words (the same for every answer). */
  method: string;
}

export const METHOD_TEXT =
  'coverage: share of sampled requests carrying the parameter (a lower one will do when its clients carry it in 25% of their ' +
  'requests); stability: share of a client\'s consecutive requests ' +
  'carrying it where its value stayed the same (a refreshed token continuing the session counts as the same); ' +
  'distinctness: share of its requests whose value one client alone sent over the whole sampled window; ' +
  'a value two users carried disqualifies it; origin: share of its values (at least 16 characters, not numbers) first seen in an ' +
  'earlier response. score = coverage x stability x distinctness x (0.75 + 0.25 x origin). A client is a session with the ' +
  'sessions linked to it; IP + User-Agent fallback sessions are clients of their own. Credentials are never suggested; a ' +
  'token\'s claims follow the token (user claims are offered as user, role claims as role); timestamps, constants and ' +
  'headers about the client software are rejected.';

interface ValueStat {
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

interface SelectorStat {
  requests: number;
  lengths: number;
  kinds: Record<string, number>;
  values: Map<string, ValueStat>;
  clients: Set<string>;
  /** client -> its last value and session, transitions, changes */
  perClient: Map<string, { value: string; session: string; transitions: number; changes: number }>;
}

const pct = (x: number) => Math.round(x * 100) + '%';
const round = (x: number) => Math.round(x * 1000) / 1000;
const plural = (n: number, one: string, many = one + 's') => `${n} ${n === 1 ? one : many}`;


const NUMERIC_KINDS = new Set(['number', 'time']);

export function recommend(app: string, rows: SampleRow[]): Recommendations {
  const n = rows.length;
  const users = sampleUsers(rows);
  // Sessions grouped only by the fallback: clients of their own, never joined through.
  const fallback = new Map<string, boolean>();
  for (const r of rows) fallback.set(r.session, (fallback.get(r.session) ?? true) && r.key_source === 'fallback');
  const uf = new UnionFind();
  const linked = new Set<string>();
  for (const r of rows) {
    for (const l of r.links) {
      linked.add(r.session + '\n' + l).add(l + '\n' + r.session);
      if (!fallback.get(r.session) && fallback.get(l) === false) uf.union(r.session, l);
    }
  }
  const clientOf = (r: SampleRow) => (fallback.get(r.session) ? 'f:' + r.session : uf.find(r.session));
  // An anonymous (fallback) session -> the clients it is linked to (its users' logins).
  const fallbackLinks = new Map<string, Set<string>>();
  const addFallbackLink = (f: string, client: string) => {
    let m = fallbackLinks.get(f);
    if (!m) fallbackLinks.set(f, (m = new Set()));
    m.add(client);
  };
  for (const r of rows) {
    for (const l of r.links) {
      if (!fallback.get(r.session) && fallback.get(l)) addFallbackLink('f:' + l, clientOf(r));
      if (fallback.get(r.session) && fallback.get(l) === false) addFallbackLink('f:' + r.session, uf.find(l));
    }
  }

  const stats = new Map<string, SelectorStat>();
  /** hash -> the first response that carried it: [row index, selector, endpoint, client] */
  const issued = new Map<string, [number, string, string, string]>();
  const clients = new Set<string>();
  const clientRequests = new Map<string, number>();
  const allUsers = new Set<string>();
  for (let i = 0; i < n; i++) {
    const r = rows[i];
    const client = clientOf(r);
    const user = users[i];
    clients.add(client);
    clientRequests.set(client, (clientRequests.get(client) ?? 0) + 1);
    if (user !== null) allUsers.add(user);
    const endpoint = r.method + ' ' + r.path;
    const seen = new Set<string>();
    for (const c of r.inventory) {
      if (!c || typeof c.s !== 'string' || typeof c.h !== 'string' || seen.has(c.s)) continue;
      seen.add(c.s);
      const len = Number(c.n) || 0;
      if (c.s.startsWith('response.')) {
        // Only long values that are not numbers or times, from selectors that could carry a key.
        if (len >= MIN_ORIGIN_LENGTH && !NUMERIC_KINDS.has(c.k ?? '') && !issued.has(c.h) && jwtClaimOf(c.s) === null && classify(c.s) !== 'credential') {
          issued.set(c.h, [i, c.s, endpoint, client]);
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
          const continued =
            (iss !== undefined && iss[0] < i && iss[3] === client) || (pc.session !== r.session && linked.has(pc.session + '\n' + r.session));
          if (!continued) pc.changes++;
        }
        pc.value = c.h;
        pc.session = r.session;
      }
    }
  }

  /** Holders of a value: its clients. An anonymous session linked to one of them is that
   *  client's earlier part, not another holder; one that holds the value alone counts as the
   *  clients it is known to hold (those its logins linked to: people behind one IP and browser). */
  const holderCount = (holders: Set<string>): number => {
    const keyed = [...holders].filter((h) => !h.startsWith('f:'));
    let count = keyed.length;
    for (const h of holders) {
      if (!h.startsWith('f:')) continue;
      const to = fallbackLinks.get(h);
      if (!to || !keyed.some((k) => to.has(k))) count += Math.max(1, to ? to.size : 1);
    }
    return count;
  };

  const out: Array<Suggestion & { _score: number }> = [];
  for (const [selector, st] of stats) {
    const kind = classify(selector, st.kinds, st.requests);
    const coverage = n > 0 ? st.requests / n : 0;
    let ofClients = 0;
    for (const c of st.clients) ofClients += clientRequests.get(c) ?? 0;
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
      const holders = holderCount(v.holders ?? new Set([v.holder]));
      if (holders > holdersMax) holdersMax = holders;
      if (holders === 1) distinctRequests += v.requests;
      if (v.users !== null) {
        sharedUserValues++;
        sharedUserRequests += v.requests;
      }
      const iss = issued.get(h);
      if (iss && iss[0] < v.first && v.length >= MIN_ORIGIN_LENGTH) {
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
    const constant = st.values.size === 1 && holdersMax >= 2;

    const lost: Shortfall[] = [];
    const why: string[] = [];
    let as: Use | null = null;
    const claim = jwtClaimOf(selector);
    const name = lastName(selector);
    if (kind === 'credential') {
      lost.push('credential');
      why.push('a credential (password, secret, one-time code): never suggested in any role');
    } else if (kind === 'token_claim') {
      lost.push('token_claim');
      const perToken = ['exp', 'iat', 'nbf', 'jti', 'authtime'].includes(name);
      if (perToken) lost.push('timestamp');
      why.push(
        `a claim of the token in ${claim!.token}: it follows the token, which is the key` +
          (perToken ? ` (${name} is new with every token: a per-token timestamp or id, never a key)` : ''),
      );
    } else if (kind === 'user') {
      lost.push('user_claim');
      as = 'user';
      why.push(
        (claim ? `a user claim of the token in ${claim.token}` : (st.kinds.basic ?? 0) > 0 ? 'the user name of Basic credentials' : 'a user identity') +
          ': offered as user, not as a grouping key (it would join one user\'s separate logins and devices into one session)',
      );
    } else if (kind === 'role') {
      lost.push('role_claim');
      as = 'role';
      why.push((claim ? `a role claim of the token in ${claim.token}` : 'a role') + ': offered as role, never as a grouping key (everyone with the role shares it)');
    } else if (kind === 'timestamp') {
      lost.push('timestamp');
      why.push('a timestamp: everyone who signed in at the same second shares it, and it changes at every login');
    } else if (kind === 'client_software') {
      lost.push('low_cardinality');
      why.push('low cardinality: it describes the client software, its preferences or the request (languages, sec-fetch-*, accept), which many clients share');
    } else if (st.lengths < MIN_KEY_LENGTH * st.requests) {
      lost.push('low_cardinality');
      why.push(`low cardinality: ${Math.round(st.lengths / Math.max(1, st.requests))} characters on average, too short to tell many clients apart`);
    } else {
      as = 'group';
    }
    if (coverage < MIN_COVERAGE && clientCoverage < MIN_CLIENT_COVERAGE) {
      lost.push('low_coverage');
      why.push(`low coverage: only ${pct(coverage)} of sampled requests carry it, and ${pct(clientCoverage)} of the requests of the clients that send it`);
    }
    if (as === 'group' || as === null) {
      if (sharedUserValues > 0) {
        lost.push('shared_by_users');
        why.push(
          `shared by users: ${plural(sharedUserValues, 'value')} of it (${plural(sharedUserRequests, 'request')}) carried by two or more users: ` +
            'a session keyed by it would hold several users',
        );
      }
      if (constant) {
        lost.push('constant');
        why.push(`a constant: one value sent by ${holdersMax} clients (e.g. per deployment or per app version)`);
      }
      if (stability < MIN_STABILITY) {
        lost.push('low_stability');
        why.push(
          transitions > 0
            ? `low stability: a client's value changed in ${pct(1 - stability)} of its consecutive requests (a per-request value)`
            : 'low stability: no client sent it twice',
        );
      }
      if (distinctness < MIN_DISTINCTNESS && !constant) {
        lost.push('low_distinctness');
        why.push(
          `low distinctness: ${pct(1 - distinctness)} of its requests carry a value that several clients sent over the sampled window ` +
            `(up to ${holdersMax} clients for one value)`,
        );
      }
    }
    const offeredOk = as === 'group' ? lost.length === 0 : as !== null && !lost.includes('low_coverage');

    const facts =
      `carried by ${pct(coverage)} of ${n} sampled requests (coverage) and ${pct(clientCoverage)} of its clients' requests; ` +
      (transitions > 0
        ? `a client kept its value in ${pct(stability)} of its consecutive requests (stability); `
        : 'no client sent it twice (stability 0%); ') +
      `${pct(distinctness)} of its requests carry a value only one client sent (distinctness); ` +
      `${plural(st.values.size, 'distinct value')} from ${plural(st.clients.size, 'client')}, ` +
      `${Math.round(st.lengths / Math.max(1, st.requests))} characters long on average; ` +
      (origin
        ? `issued by ${origin.endpoints.map((e) => e.endpoint).join(', ')} in ${origin.selector} (${origin.values} of ${st.values.size} values)`
        : 'no earlier response issued its values');
    const head =
      as === 'group'
        ? offeredOk
          ? 'Suggested: '
          : 'Lost: ' + why.join('; ') + '. '
        : as !== null
          ? (offeredOk ? `Suggested as ${as}: ` : `Not suggested as ${as}: `) + why.join('; ') + '. '
          : (kind === 'credential' ? 'Never suggested: ' : 'Lost: ') + why.join('; ') + '. ';
    out.push({
      rank: 0,
      selector,
      kind,
      as,
      score: round(score),
      coverage: round(coverage),
      client_coverage: round(clientCoverage),
      stability: round(stability),
      distinctness: round(distinctness),
      requests: st.requests,
      values: st.values.size,
      clients: st.clients.size,
      shared_by_users: sharedUserValues,
      avg_length: round(st.lengths / Math.max(1, st.requests)),
      origin,
      suggested: offeredOk,
      lost,
      explanation: head + facts + '.',
      _score: score,
    });
  }
  // Suggested keys first by score, then suggested user and role entries, then the rest.
  const tier = (s: Suggestion) => (s.suggested ? (s.as === 'group' ? 0 : s.as === 'user' ? 1 : 2) : 3);
  const order = (a: Suggestion & { _score: number }, b: Suggestion & { _score: number }) =>
    tier(a) - tier(b) || b._score - a._score || (a.selector < b.selector ? -1 : 1);
  out.sort(order);
  // A key whose value follows a better one's, request by request, is that key under another
  // form (a cookie's signature, a hash of the token): not offered separately.
  const keys = out.filter((s) => s.suggested && s.as === 'group');
  for (let b = 1; b < keys.length; b++) {
    for (let a = 0; a < b; a++) {
      if (!keys[a].suggested || !follows(rows, keys[b].selector, keys[a].selector)) continue;
      keys[b].suggested = false;
      keys[b].lost.push('derived');
      keys[b].explanation =
        `Lost: derived from ${keys[a].selector}: every request that carries it carries that key too, and its value changes exactly ` +
        `when that key's does (a signature or another form of the same value): that key is the key. ` +
        keys[b].explanation.replace(/^Suggested: /, '');
      break;
    }
  }
  out.sort(order);
  const suggestions: Suggestion[] = out.map((s, i) => {
    const { _score, ...rest } = s;
    void _score;
    return { ...rest, rank: i + 1 };
  });

  const line = buildLine(rows, suggestions, users);
  return {
    app,
    sampled: n,
    clients: clients.size,
    users: allUsers.size,
    from: n ? new Date(rows[0].ts).toISOString() : null,
    to: n ? new Date(rows[n - 1].ts).toISOString() : null,
    suggestions: suggestions.slice(0, MAX_LISTED),
    nginx: line ? line.text : null,
    preview: line ? line.preview : null,
    method: METHOD_TEXT,
  };
}

/** Whether `b`'s value is a function of `a`'s and back, on every request that carries `b` (all
 *  of which carry `a`), with values of its own (not `a`'s value under another name, which the
 *  module would group as one session anyway). */
function follows(rows: SampleRow[], b: string, a: string): boolean {
  const ab = new Map<string, string>();
  const ba = new Map<string, string>();
  let same = true;
  let seen = 0;
  for (const r of rows) {
    let hb: string | undefined;
    let ha: string | undefined;
    for (const c of r.inventory) {
      if (c.s === b && hb === undefined) hb = c.h;
      else if (c.s === a && ha === undefined) ha = c.h;
    }
    if (hb === undefined) continue;
    if (ha === undefined) return false;
    if ((ab.get(ha) ?? hb) !== hb || (ba.get(hb) ?? ha) !== ha) return false;
    ab.set(ha, hb);
    ba.set(hb, ha);
    if (ha !== hb) same = false;
    seen++;
  }
  return seen > 0 && !same;
}

/**
 * The line: for each of the best suggested keys, its issuing response selector (when at least
 * half of its values came from it) and the key, kept only when the what-if preview of the line
 * with them holds no more mixed sessions than without; then the user and role entries, claims
 * of the chosen keys first. A selector goes in only when the whole line still parses back.
 */
function buildLine(rows: SampleRow[], suggestions: Suggestion[], users: Array<string | null>): { text: string; preview: Preview } | null {
  const entries: LineEntry[] = [];
  const fits = (more: LineEntry[]) =>
    more.every((e) => SAFE_SELECTOR.test(e.selector) && !entries.some((x) => x.selector === e.selector)) && lineParsesBack([...entries, ...more]);
  const mixedOf = (es: LineEntry[]) => preview(rows, paramsText(es), users).mixed_sessions;
  let mixed = mixedOf([]);
  const keys = suggestions.filter((s) => s.suggested && s.as === 'group' && SAFE_SELECTOR.test(s.selector) && lineParsesBack([s.selector]));
  let taken = 0;
  for (const s of keys) {
    if (taken >= MAX_KEYS_IN_LINE) break;
    const more: LineEntry[] = [];
    if (s.origin && s.origin.share >= 0.5 && !entries.some((e) => e.selector === s.origin!.selector)) more.push({ selector: s.origin.selector, use: 'group' });
    more.push({ selector: s.selector, use: 'group' });
    if (!fits(more)) {
      // without its origin, if that is what does not fit
      if (more.length === 2 && fits(more.slice(1))) more.shift();
      else continue;
    }
    const m = mixedOf([...entries, ...more]);
    if (m > mixed) continue;
    mixed = m;
    entries.push(...more);
    taken++;
  }
  if (taken === 0) return null;
  const chosen = entries.map((e) => e.selector);
  const ofChosen = (sel: string) => {
    const c = jwtClaimOf(sel);
    return c !== null && chosen.includes(c.token) ? 0 : 1;
  };
  for (const use of ['user', 'role'] as const) {
    const cands = suggestions
      .filter((s) => s.suggested && s.as === use)
      .sort((a, b) => ofChosen(a.selector) - ofChosen(b.selector) || (use === 'user' ? userPreference(a.selector) - userPreference(b.selector) : 0) || b.coverage - a.coverage || (a.selector < b.selector ? -1 : 1));
    for (const c of cands) {
      const e = { selector: c.selector, use };
      if (fits([e])) {
        entries.push(e);
        break;
      }
    }
  }
  const text = paramsText(entries);
  return { text: `set $api_sessions_params '${text}';`, preview: preview(rows, text, users) };
}
