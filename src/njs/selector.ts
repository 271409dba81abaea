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

const SOURCES: Source[] = [
  'request.header',
  'request.cookie',
  'request.query',
  'request.body.json',
  'request.body.form',
  'response.header',
  'response.cookie',
  'response.body.json',
];

const JWT_MARK = '.jwt.';

/** Parses a selector; throws an Error whose message says what is wrong with it. */
export function parseSelector(text: string): Selector {
  let source: Source | null = null;
  for (let i = 0; i < SOURCES.length; i++) {
    const s = SOURCES[i];
    const next = text.charAt(s.length);
    const bracketed = next === '[' && (s === 'request.body.json' || s === 'response.body.json');
    if (text.length > s.length + 1 && (next === '.' || bracketed) && text.slice(0, s.length) === s) {
      source = s;
      break;
    }
  }
  if (source === null) {
    throw new Error(
      'unknown selector "' + text + '": expected request.header|cookie|query|body.json|body.form.NAME ' +
        'or response.header|cookie|body.json.NAME',
    );
  }
  const rest = text.slice(source.length + (text.charAt(source.length) === '.' ? 1 : 0));
  let name = '';
  let path: PathStep[] = [];
  let jwt: PathStep[] | null = null;
  if (source === 'request.body.json' || source === 'response.body.json') {
    const parsed = parsePath(rest, true);
    path = parsed.steps;
    if (parsed.jwtRest !== null) jwt = parsePath(parsed.jwtRest, false).steps;
  } else {
    const j = rest.indexOf(JWT_MARK);
    name = j < 0 ? rest : rest.slice(0, j);
    if (j >= 0) jwt = parsePath(rest.slice(j + JWT_MARK.length), false).steps;
    if (name === '') throw new Error('selector "' + text + '" has an empty name');
    if (source === 'request.header' || source === 'response.header') name = name.toLowerCase();
  }
  if (jwt !== null && jwt.length === 0) throw new Error('selector "' + text + '" has an empty claim path');
  const shown = source === 'request.header' || source === 'response.header'
    ? source + '.' + name + (jwt ? text.slice(source.length + 1 + name.length) : '')
    : text;
  return { text: shown, source, name, path, jwt };
}

/**
 * Parses a PATH into steps. With `allowJwt`, an unquoted step `jwt` followed by more steps ends
 * the path and the rest is returned as the claim path (quote it, `["jwt"]`, to mean a property).
 */
export function parsePath(text: string, allowJwt: boolean): { steps: PathStep[]; jwtRest: string | null } {
  const steps: PathStep[] = [];
  let i = 0;
  const n = text.length;
  if (n === 0) throw new Error('empty path');
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
