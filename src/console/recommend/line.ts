/**
 * The nginx line a recommendation proposes (`set $api_sessions_params '...';`), and the check
 * that the module's own parser reads a line as it was meant.
 */
import { MAX_PARAMS, Param, parseParams } from '../../njs/config';
import type { SampleRow } from '../store/types';
import { jwtClaimOf, userPreference } from './classify';
import { preview, Preview } from './whatif';
import type { Suggestion, Use } from './suggestion';

export const MAX_KEYS_IN_LINE = 3;
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

/**
 * The line: for each of the best suggested keys, its issuing response selector (when at least
 * half of its values came from it) and the key, kept only when the what-if preview of the line
 * with them holds no more mixed sessions than without; then the user and role entries, claims
 * of the chosen keys first. A selector goes in only when the whole line still parses back.
 */
export function buildLine(rows: SampleRow[], suggestions: Suggestion[], users: Array<string | null>): { text: string; preview: Preview } | null {
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
