/** What the recommendation says of one candidate selector: its figures, what it is offered as,
 *  what it lost and why, in words. */
import type { CandidateKind } from './classify';

/** What an entry of the nginx line makes of its selector: a grouping key, the user, the role. */
export type Use = 'group' | 'user' | 'role';

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

/** A suggestion before ranking, with its score unrounded (ranking orders by it). */
export type Unranked = Suggestion & { _score: number };
