/**
 * The verdict on one candidate selector: what it is (classify.ts) decides first, then its figures
 * against the bars below; what it is offered as, what it lost and why, in words.
 */
import { CandidateKind, classify, jwtClaimOf, lastName } from './classify';
import type { SelectorStat } from './candidates';
import { Figures, round } from './figures';
import type { Shortfall, Unranked, Use } from './suggestion';

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

const pct = (x: number) => Math.round(x * 100) + '%';
const plural = (n: number, one: string, many = one + 's') => `${n} ${n === 1 ? one : many}`;

interface Reasons {
  as: Use | null;
  lost: Shortfall[];
  why: string[];
}

/** What the selector is offered as and what it lost: its kind first, then its figures. */
function reasons(selector: string, kind: CandidateKind, st: SelectorStat, f: Figures): Reasons {
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
  if (f.coverage < MIN_COVERAGE && f.clientCoverage < MIN_CLIENT_COVERAGE) {
    lost.push('low_coverage');
    why.push(`low coverage: only ${pct(f.coverage)} of sampled requests carry it, and ${pct(f.clientCoverage)} of the requests of the clients that send it`);
  }
  if (as === 'group' || as === null) {
    if (f.sharedUserValues > 0) {
      lost.push('shared_by_users');
      why.push(
        `shared by users: ${plural(f.sharedUserValues, 'value')} of it (${plural(f.sharedUserRequests, 'request')}) carried by two or more users: ` +
          'a session keyed by it would hold several users',
      );
    }
    if (f.constant) {
      lost.push('constant');
      why.push(`a constant: one value sent by ${f.holdersMax} clients (e.g. per deployment or per app version)`);
    }
    if (f.stability < MIN_STABILITY) {
      lost.push('low_stability');
      why.push(
        f.transitions > 0
          ? `low stability: a client's value changed in ${pct(1 - f.stability)} of its consecutive requests (a per-request value)`
          : 'low stability: no client sent it twice',
      );
    }
    if (f.distinctness < MIN_DISTINCTNESS && !f.constant) {
      lost.push('low_distinctness');
      why.push(
        `low distinctness: ${pct(1 - f.distinctness)} of its requests carry a value that several clients sent over the sampled window ` +
          `(up to ${f.holdersMax} clients for one value)`,
      );
    }
  }
  return { as, lost, why };
}

/** The candidate as a suggestion (not ranked yet), its verdict and figures explained in words;
 *  `sampled`: the sample's requests. */
export function judge(selector: string, st: SelectorStat, f: Figures, sampled: number): Unranked {
  const kind = classify(selector, st.kinds, st.requests);
  const { as, lost, why } = reasons(selector, kind, st, f);
  const offeredOk = as === 'group' ? lost.length === 0 : as !== null && !lost.includes('low_coverage');

  const facts =
    `carried by ${pct(f.coverage)} of ${sampled} sampled requests (coverage) and ${pct(f.clientCoverage)} of its clients' requests; ` +
    (f.transitions > 0
      ? `a client kept its value in ${pct(f.stability)} of its consecutive requests (stability); `
      : 'no client sent it twice (stability 0%); ') +
    `${pct(f.distinctness)} of its requests carry a value only one client sent (distinctness); ` +
    `${plural(st.values.size, 'distinct value')} from ${plural(st.clients.size, 'client')}, ` +
    `${Math.round(st.lengths / Math.max(1, st.requests))} characters long on average; ` +
    (f.origin
      ? `issued by ${f.origin.endpoints.map((e) => e.endpoint).join(', ')} in ${f.origin.selector} (${f.origin.values} of ${st.values.size} values)`
      : 'no earlier response issued its values');
  const head =
    as === 'group'
      ? offeredOk
        ? 'Suggested: '
        : 'Lost: ' + why.join('; ') + '. '
      : as !== null
        ? (offeredOk ? `Suggested as ${as}: ` : `Not suggested as ${as}: `) + why.join('; ') + '. '
        : (kind === 'credential' ? 'Never suggested: ' : 'Lost: ') + why.join('; ') + '. ';
  return {
    rank: 0,
    selector,
    kind,
    as,
    score: round(f.score),
    coverage: round(f.coverage),
    client_coverage: round(f.clientCoverage),
    stability: round(f.stability),
    distinctness: round(f.distinctness),
    requests: st.requests,
    values: st.values.size,
    clients: st.clients.size,
    shared_by_users: f.sharedUserValues,
    avg_length: round(st.lengths / Math.max(1, st.requests)),
    origin: f.origin,
    suggested: offeredOk,
    lost,
    explanation: head + facts + '.',
    _score: f.score,
  };
}
