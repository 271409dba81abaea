/**
 * The grammar of $api_sessions_params and $api_sessions_extra_params: entries
 * (`SELECTOR[+SELECTOR...] [group] [user|role] [hash] [as NAME]`, separated by `;`) -> Params,
 * every bad entry reported by its position and text while the valid ones are kept. Shared: the
 * module reads its configuration with it (../njs/config.ts) and the console its what-if preview
 * of a typed line (src/console/recommend/), so both read a line alike. Bundled into the njs
 * module: njs 0.7.9's rules hold here (build.mjs checks them).
 */
import { parseSelector, isResponseSource, Selector } from './selector';

/** A configured session parameter: one entry of $api_sessions_params or _extra_params. */
export interface Param {
  /** The name in the record's params (`as NAME`, else the selector text). */
  name: string;
  /** One selector, or up to three joined by `+` for a combined grouping key. */
  selectors: Selector[];
  group: boolean;
  user: boolean;
  role: boolean;
  hash: boolean;
  /** From $api_sessions_extra_params (hidden parameters of other controls). */
  extra: boolean;
}

export const MAX_PARAMS = 20;
/** Hidden parameters do not count toward MAX_PARAMS, but are bounded all the same. */
export const MAX_EXTRA_PARAMS = 20;
export const MAX_COMBINED = 3;

/** Splits the entries of one variable and appends the valid ones to `out`. */
export function parseParams(
  text: string,
  variable: string,
  extra: boolean,
  max: number,
  out: Param[],
  seen: { [name: string]: boolean },
  errors: string[],
): void {
  if (text === '') return;
  const entries = text.indexOf('["') < 0 ? text.split(';') : splitOutsideQuotes(text, ';');
  let count = 0;
  for (let i = 0; i < entries.length; i++) {
    // trim() drops the newlines and indentation around entries (a configuration written one
    // entry per line); whitespace inside an entry is rarer and normalized only where present:
    // a global regular-expression replace over the whole text cost njs 0.7.9 about 30 us.
    let entry = entries[i].trim();
    if (entry.indexOf('\n') >= 0 || entry.indexOf('\t') >= 0 || entry.indexOf('\r') >= 0) entry = spaced(entry);
    if (entry === '') continue;
    count++;
    if (count > max) {
      errors.push(where(variable, count, entry) + ': more than ' + max + ' entries, ignored');
      continue;
    }
    try {
      const p = parseEntry(entry, extra);
      // Prefixed: a name such as "__proto__" must be an ordinary key, not the prototype.
      if (seen['=' + p.name] === true) throw new Error('the name "' + p.name + '" is used by an earlier entry');
      seen['=' + p.name] = true;
      out.push(p);
    } catch (e) {
      errors.push(where(variable, count, entry) + ': ' + (e as Error).message);
    }
  }
}

/** Tabs, CRs and newlines as spaces, without a regular expression. */
function spaced(entry: string): string {
  let out = '';
  for (let i = 0; i < entry.length; i++) {
    const c = entry.charAt(i);
    out += c === '\n' || c === '\t' || c === '\r' ? ' ' : c;
  }
  return out;
}

function where(variable: string, count: number, entry: string): string {
  return '$' + variable + ' entry ' + count + ' "' + entry + '"';
}

/** `SELECTOR[+SELECTOR...] [group] [user|role] [hash] [as NAME]` -> a Param; throws on error. */
export function parseEntry(entry: string, extra: boolean): Param {
  // Every method call and property read costs njs 0.7.9 hundreds of instructions, and this runs
  // for each entry on every request: split once, and look for the rare forms only when present.
  const quoted = entry.indexOf('["') >= 0;
  const tokens = quoted ? splitOutsideQuotes(entry, ' ') : entry.split(' ');
  const first = tokens[0];
  const selectors: Selector[] = [];
  if (first.indexOf('+') < 0) selectors.push(parseSelector(first));
  else {
    const parts = quoted ? splitOutsideQuotes(first, '+') : first.split('+');
    if (parts.length > MAX_COMBINED) throw new Error('at most ' + MAX_COMBINED + ' selectors can be combined with "+"');
    for (let i = 0; i < parts.length; i++) selectors.push(parseSelector(parts[i]));
  }
  // Locals, and the Param built once at the end: each property write is a hash insert in njs.
  let name = '';
  let group = false;
  let user = false;
  let role = false;
  let hash = false;
  const n = tokens.length;
  for (let i = 1; i < n; i++) {
    const token = tokens[i];
    if (token === '') continue; // several spaces in a row
    const flag = token === 'group' || token === 'user' || token === 'role' || token === 'hash' || token === 'as'
      ? token
      : token.toLowerCase();
    if (flag === 'group') group = true;
    else if (flag === 'hash') hash = true;
    else if (flag === 'user') user = true;
    else if (flag === 'role') role = true;
    else if (flag === 'as') {
      while (i + 1 < n && tokens[i + 1] === '') i++;
      if (i + 1 >= n) throw new Error('"as" needs a name');
      name = tokens[++i];
    } else {
      throw new Error('unknown flag "' + token + '" (expected group, user, role, hash or as NAME)');
    }
  }
  const combined = selectors.length > 1;
  if (combined) {
    if (!group) throw new Error('selectors combined with "+" form a grouping key: add "group"');
    if (user || role) throw new Error('a combined grouping key cannot name the user or role');
  }
  if (user && role) throw new Error('a parameter names the user or the role, not both');
  if (name === '') {
    name = selectors[0].text;
    if (combined) for (let i = 1; i < selectors.length; i++) name += '+' + selectors[i].text;
  }
  return { name, selectors, group, user, role, hash, extra };
}

/** Splits at `sep` except inside `["..."]` (a JSON property may hold spaces, ';' and '+'). */
export function splitOutsideQuotes(text: string, sep: string): string[] {
  const out: string[] = [];
  let start = 0;
  let inQuotes = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charAt(i);
    if (inQuotes) {
      if (c === '"' && text.charAt(i + 1) === ']') {
        inQuotes = false;
        i++;
      }
    } else if (c === '[' && text.charAt(i + 1) === '"') {
      inQuotes = true;
      i++;
    } else if (c === sep) {
      out.push(text.slice(start, i));
      start = i + 1;
    }
  }
  out.push(text.slice(start));
  return out;
}

/** Whether any selector of a param reads the response. */
export function readsResponse(p: Param): boolean {
  for (let i = 0; i < p.selectors.length; i++) if (isResponseSource(p.selectors[i].source)) return true;
  return false;
}
