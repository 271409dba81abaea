/**
 * The selector grammar: `request.header.NAME`, `request.cookie.NAME`, `request.query.NAME`,
 * `request.body.json.PATH`, `request.body.form.NAME`, `response.header.NAME`,
 * `response.cookie.NAME`, `response.body.json.PATH`, each optionally followed by
 * `.jwt.CLAIM_PATH`. PATH is dot-separated properties, `[N]` array items and `["odd.name"]`
 * properties with dots or spaces.
 *
 * Written with indexOf/slice only: njs runs this for every request (its default engine keeps
 * no state between requests) and a regular expression split costs it ~25 us.
 */

export type Source =
  | 'request.header'
  | 'request.cookie'
  | 'request.query'
  | 'request.body.json'
  | 'request.body.form'
  | 'response.header'
  | 'response.cookie'
  | 'response.body.json';

/** A property name or an array index. */
export type PathStep = string | number;

export interface Selector {
  /** The selector as written (header names lowercased), used as its default record name. */
  text: string;
  source: Source;
  /** Header (lowercase), cookie, query or form name; empty for JSON sources. */
  name: string;
  /** JSON path for body sources; empty otherwise. */
  path: PathStep[];
  /** Claim path when the value is read as a JWT, else null. */
  jwt: PathStep[] | null;
}

const JWT_MARK = '.jwt.';

const UNKNOWN =
  '": expected request.header|cookie|query|body.json|body.form.NAME or response.header|cookie|body.json.NAME';

/**
 * Parses a selector; throws an Error whose message says what is wrong with it. Dispatches on the
 * text between the first two dots with a switch: njs pays for every operation, and this runs
 * for each configured entry on every request.
 */
export function parseSelector(text: string): Selector {
  // The first 14 characters tell every source apart; the character after the prefix must be
  // the separator. (One slice and a switch: this runs for each entry on every request.)
  let source: Source | null = null;
  let restAt = 0;
  switch (text.slice(0, 14)) {
    case 'request.header':
      source = 'request.header';
      restAt = 15;
      break;
    case 'request.cookie':
      source = 'request.cookie';
      restAt = 15;
      break;
    case 'request.query.':
      source = 'request.query';
      restAt = 14;
      break;
    case 'response.heade':
      if (text.slice(14, 16) === 'r.') {
        source = 'response.header';
        restAt = 16;
      }
      break;
    case 'response.cooki':
      if (text.slice(14, 16) === 'e.') {
        source = 'response.cookie';
        restAt = 16;
      }
      break;
    case 'request.body.j':
      if (text.slice(14, 17) === 'son') source = 'request.body.json';
      restAt = 17;
      break;
    case 'request.body.f':
      if (text.slice(14, 17) === 'orm' && text.charAt(17) === '.') source = 'request.body.form';
      restAt = 18;
      break;
    case 'response.body.':
      if (text.slice(14, 18) === 'json') source = 'response.body.json';
      restAt = 18;
      break;
  }
  if (source !== null) {
    const sep = text.charAt(restAt - 1);
    const json = source === 'request.body.json' || source === 'response.body.json';
    if (json) {
      // `request.body.json.a` or `request.body.json["a"]`
      const c = text.charAt(restAt);
      if (c === '.') restAt++;
      else if (c !== '[') source = null;
    } else if (sep !== '.') source = null;
  }
  if (source === null || restAt >= text.length) throw new Error('unknown selector "' + text + UNKNOWN);
  const rest = text.slice(restAt);
  if (source === 'request.body.json' || source === 'response.body.json') {
    const parsed = parsePath(rest, true);
    const jwt = parsed.jwtRest === null ? null : parsePath(parsed.jwtRest, false).steps;
    return { text, source, name: '', path: parsed.steps, jwt };
  }
  // `.jwt.claim` or `.jwt["odd/claim"]`
  let j = rest.indexOf('.jwt');
  while (j >= 0) {
    const c = rest.charAt(j + 4);
    if (c === '.' || (c === '[' && rest.charAt(j + 5) === '"')) break;
    j = rest.indexOf('.jwt', j + 1);
  }
  let name = j < 0 ? rest : rest.slice(0, j);
  let jwt: PathStep[] | null = null;
  if (j >= 0) {
    const claims = rest.slice(j + (rest.charAt(j + 4) === '.' ? JWT_MARK.length : 4));
    if (claims === '') throw new Error('selector "' + text + '" has an empty claim path');
    jwt = parsePath(claims, false).steps;
  }
  if (name === '') throw new Error('selector "' + text + '" has an empty name');
  if (restAt === 15 || restAt === 16) {
    // header names are case-insensitive: lowercase them (cookies and query names are not)
    if (source === 'request.header' || source === 'response.header') {
      const lower = name.toLowerCase();
      if (lower !== name) {
        text = text.slice(0, restAt) + lower + text.slice(restAt + name.length);
        name = lower;
      }
    }
  }
  return { text, source, name, path: [], jwt };
}

/**
 * Parses a PATH into steps. With `allowJwt`, an unquoted step `jwt` followed by more steps ends
 * the path and the rest is returned as the claim path (quote it, `["jwt"]`, to mean a property).
 */
export function parsePath(text: string, allowJwt: boolean): { steps: PathStep[]; jwtRest: string | null } {
  const n = text.length;
  if (n === 0) throw new Error('empty path');
  // The common form, plain dotted names, in one native split instead of a scan per step.
  if (text.indexOf('[') < 0) {
    const names = text.split('.');
    const last = names.length - 1;
    for (let k = 0; k <= last; k++) {
      if (names[k] === '') throw new Error('path "' + text + (k === last ? '" ends with "."' : '" has an empty step'));
    }
    if (allowJwt) {
      for (let k = 0; k < last; k++) {
        if (names[k] === 'jwt') return { steps: names.slice(0, k), jwtRest: names.slice(k + 1).join('.') };
      }
    }
    return { steps: names, jwtRest: null };
  }
  const steps: PathStep[] = [];
  let i = 0;
  while (i < n) {
    if (text.charAt(i) === '[') {
      const close = text.indexOf(']', i);
      if (close < 0) throw new Error('path "' + text + '": "[" without "]"');
      const inner = text.slice(i + 1, close);
      if (inner.charAt(0) === '"') {
        const endQuote = text.indexOf('"]', i + 2);
        if (endQuote < 0) throw new Error('path "' + text + '": unterminated ["..."]');
        steps.push(text.slice(i + 2, endQuote));
        i = endQuote + 2;
      } else {
        const idx = Number(inner);
        if (inner === '' || !(idx >= 0) || Math.floor(idx) !== idx) {
          throw new Error('path "' + text + '": [' + inner + '] is not an array index');
        }
        steps.push(idx);
        i = close + 1;
      }
      if (i < n) {
        const c = text.charAt(i);
        if (c === '.') i++;
        else if (c !== '[') throw new Error('path "' + text + '": expected "." or "[" after "]"');
        if (i === n) throw new Error('path "' + text + '" ends with "."');
      }
      continue;
    }
    let end = n;
    const dot = text.indexOf('.', i);
    const bracket = text.indexOf('[', i);
    if (dot >= 0) end = dot;
    if (bracket >= 0 && bracket < end) end = bracket;
    const step = text.slice(i, end);
    if (step === '') throw new Error('path "' + text + '" has an empty step');
    if (allowJwt && step === 'jwt' && end === dot && dot + 1 < n) {
      return { steps, jwtRest: text.slice(dot + 1) };
    }
    steps.push(step);
    i = end === dot ? dot + 1 : end;
    if (end === dot && i === n) throw new Error('path "' + text + '" ends with "."');
  }
  if (allowJwt && steps.length === 0) throw new Error('empty path');
  return { steps, jwtRest: null };
}

/** Whether a source is read from the response (needs the response to have been seen). */
export function isResponseSource(source: Source): boolean {
  return source.charAt(2) === 's'; // "response..." vs "request..."
}
