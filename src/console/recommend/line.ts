/**
 * The nginx line a recommendation proposes (`set $api_sessions_params '...';`), and the check
 * that the module's own parser reads a line as it was meant.
 */
import { MAX_PARAMS, Param, parseParams } from '../../shared/params';
import type { SampleRow } from '../store/types';
import { jwtClaimOf, userPreference } from './classify';
import { Figures, InForce, preview, Preview } from './whatif';
import type { Suggestion, Use } from './suggestion';

/** Keys the line takes by rank alone; more only when the preview shows that they help. */
export const MAX_KEYS_IN_LINE = 3;
/** Grouping entries the line may hold: the module takes MAX_PARAMS entries, a user and a role among them. */
export const MAX_GROUP_ENTRIES = MAX_PARAMS - 2;
/** Selectors that can go into the nginx line as they are (no quote, `$`, `;`, space, backslash:
 *  nginx leaves the text between the single quotes unchanged). The line must moreover parse back
 *  exactly (lineParsesBack). */
const SAFE_SELECTOR = /^[A-Za-z0-9_.\-[\]"]+$/;

export interface LineEntry {
  selector: string;
  use: Use;
}

const entryOf = (e: string | LineEntry): LineEntry => (typeof e === 'string' ? { selector: e, use: 'group' } : e);

/** The `set $api_sessions_params` value of these entries. */
function paramsText(entries: Array<string | LineEntry>): string {
  return entries.map((e) => entryOf(e).selector + ' ' + entryOf(e).use).join('; ');
}

/** Whether the module's own parser (src/shared/params.ts) reads `paramsText(entries)` as exactly
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

/**
 * The line: for each of the best suggested keys, its issuing response selector (when at least
 * half of its values came from it) and the key, kept only when the what-if preview of the line
 * with them holds no more mixed sessions than without. Then further keys, each kept only when the
 * preview shows that it helps (fewer requests left to IP + User-Agent, no more mixed sessions,
 * no more users split): the remaining suggested keys, then the grouping keys of the configuration
 * in force (`configured`, as the records name them), so that the line keeps what the configured
 * keys group. Then the user and role entries, claims of the chosen keys first. A selector goes in
 * only when the whole line still parses back.
 */
export function buildLine(
  rows: SampleRow[],
  suggestions: Suggestion[],
  users: Array<string | null>,
  configured: string[] = [],
): { text: string; preview: Preview } | null {
  const entries: LineEntry[] = [];
  const fits = (more: LineEntry[]) =>
    more.every((e) => SAFE_SELECTOR.test(e.selector) && !entries.some((x) => x.selector === e.selector)) && lineParsesBack([...entries, ...more]);
  const previewOf = (es: LineEntry[]) => preview(rows, paramsText(es), users);
  let mixed = previewOf([]).mixed_sessions;
  const keys = suggestions.filter((s) => s.suggested && s.as === 'group' && SAFE_SELECTOR.test(s.selector) && lineParsesBack([s.selector]));
  /** The entries a key brings: its origin first when most of its values came from one. */
  const withOrigin = (s: { selector: string; origin: Suggestion['origin'] }): LineEntry[] | null => {
    const more: LineEntry[] = [];
    if (s.origin && s.origin.share >= 0.5 && !entries.some((e) => e.selector === s.origin!.selector)) more.push({ selector: s.origin.selector, use: 'group' });
    more.push({ selector: s.selector, use: 'group' });
    if (fits(more)) return more;
    // without its origin, if that is what does not fit
    return more.length === 2 && fits(more.slice(1)) ? more.slice(1) : null;
  };
  let taken = 0;
  const rest: Array<{ selector: string; origin: Suggestion['origin'] }> = [];
  for (const s of keys) {
    if (taken >= MAX_KEYS_IN_LINE) {
      rest.push(s);
      continue;
    }
    const more = withOrigin(s);
    if (more === null) continue;
    const m = previewOf([...entries, ...more]).mixed_sessions;
    if (m > mixed) continue;
    mixed = m;
    entries.push(...more);
    taken++;
  }
  if (taken === 0) return null;
  let current = previewOf(entries);
  for (const k of configured) if (!rest.some((r) => r.selector === k)) rest.push({ selector: k, origin: null });
  for (const s of rest) {
    if (entries.some((e) => e.selector === s.selector)) continue;
    const more = withOrigin(s);
    if (more === null || entries.length + more.length > MAX_GROUP_ENTRIES) continue;
    const p = previewOf([...entries, ...more]);
    if (p.fallback_requests < current.fallback_requests && p.mixed_sessions <= current.mixed_sessions && p.users_split <= current.users_split) {
      entries.push(...more);
      current = p;
    }
  }
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
  return { text: `set $api_sessions_params '${text}';`, preview: previewOf(entries) };
}

export interface Comparison {
  /** The recommended line against the configuration in force, on the sampled requests: `better`
   *  (no figure worse, one better), `same`, or `worse` (a figure worse). */
  verdict: 'better' | 'same' | 'worse';
  /** The same in words, naming each figure. */
  text: string;
}

/** The figures that decide whether a grouping is better: lower is better for each. */
const COMPARED: Array<[keyof Figures, string]> = [
  ['mixed_sessions', 'sessions with more than one user'],
  ['fallback_requests', 'requests left to IP + User-Agent'],
  ['users_split', 'users split over more than one journey'],
];

/** The recommended line's preview against the configuration in force. */
export function compare(p: Preview, now: InForce): Comparison {
  const worse: string[] = [];
  const better: string[] = [];
  const same: string[] = [];
  for (const [f, words] of COMPARED) {
    const a = p[f] as number;
    const b = now[f] as number;
    const phrase = `${words}: ${a} (now ${b})`;
    if (a > b) worse.push(phrase);
    else if (a < b) better.push(phrase);
    else same.push(phrase);
  }
  if (worse.length > 0) {
    const missing = now.keys.filter((k) => !p.params.some((x) => x.name === k && x.flags.includes('group')));
    return {
      verdict: 'worse',
      text:
        `Worse than the configuration in force on the sampled requests: ${worse.join('; ')}. Keep your configuration` +
        (missing.length ? `, or add its grouping keys to this line (${missing.join(', ')})` : '') + '.',
    };
  }
  if (better.length > 0) {
    return { verdict: 'better', text: `Better than the configuration in force on the sampled requests: ${better.join('; ')}${same.length ? '; unchanged: ' + same.join('; ') : ''}.` };
  }
  return { verdict: 'same', text: `As good as the configuration in force on the sampled requests: ${same.join('; ')}.` };
}
