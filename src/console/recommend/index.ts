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
 * session is left out. Further keys, those of the configuration in force among them, go in when
 * the preview shows that they help; the answer compares the line's preview with how the
 * configuration in force grouped the same samples, and says which is better.
 *
 * The stages, a file each: clients.ts (who the clients are), candidates.ts (the sample read
 * once, per request selector), figures.ts (a candidate's figures), verdict.ts (what it is
 * offered as, what it lost and why), ranking.ts (the order, and derived keys), line.ts (the
 * nginx line).
 */
import type { SampleRow } from '../store/types';
import { sampleUsers } from './classify';
import { inForce, InForce, Preview } from './whatif';
import { sampleClients } from './clients';
import { collectCandidates } from './candidates';
import { measure } from './figures';
import { judge } from './verdict';
import { rank } from './ranking';
import { buildLine, compare, Comparison } from './line';
import type { Suggestion } from './suggestion';

export type { Origin, Shortfall, Suggestion, Use } from './suggestion';
export { lineParsesBack } from './line';
export type { Comparison, LineEntry } from './line';

export const MAX_LISTED = 50;

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
  /** How the configuration in force grouped the same samples: the records' own sessions, keys
   *  and links. */
  in_force: InForce;
  /** The line's preview against the configuration in force, in words; null without a line. */
  comparison: Comparison | null;
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

/** The stages: who the clients are, what the sample says of each request selector, each one's
 *  figures and verdict, their order, and the nginx line of the best. */
export function recommend(app: string, rows: SampleRow[]): Recommendations {
  const n = rows.length;
  const users = sampleUsers(rows);
  const clients = sampleClients(rows);
  const candidates = collectCandidates(rows, users, clients);
  const judged = [...candidates.selectors].map(([selector, st]) => judge(selector, st, measure(st, candidates, clients), n));
  const suggestions = rank(rows, judged);
  const now = inForce(rows, users);
  const line = buildLine(rows, suggestions, users, now.keys);
  return {
    app,
    sampled: n,
    clients: candidates.clients.size,
    users: candidates.users.size,
    from: n ? new Date(rows[0].ts).toISOString() : null,
    to: n ? new Date(rows[n - 1].ts).toISOString() : null,
    suggestions: suggestions.slice(0, MAX_LISTED),
    nginx: line ? line.text : null,
    preview: line ? line.preview : null,
    in_force: now,
    comparison: line ? compare(line.preview, now) : null,
    method: METHOD_TEXT,
  };
}
