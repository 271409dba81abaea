/**
 * The endpoint search: an optional method, then a path pattern where `*` matches any run of
 * characters (slashes included) and `?` exactly one. The pattern is anchored at both ends and
 * case-insensitive (ASCII letters, as every search of the list): `/orders/*` matches `/Orders/7`,
 * not `/orders`. Every other character is literal.
 */
import { TextPattern, textPattern } from './search';

export interface EndpointPattern {
  method: string | null;
  /** The path pattern ('*' alone: every path). */
  path: string;
  /** The path pattern for each store (search.ts). */
  text: TextPattern;
  /** The same pattern as a RegExp, for tests. */
  regexp: RegExp;
}

const METHOD = /^([A-Za-z]{3,10})\s+(\S.*)$/;

export function parseEndpointPattern(input: string): EndpointPattern | null {
  const s = input.trim();
  if (s === '') return null;
  let method: string | null = null;
  let path = s;
  const m = METHOD.exec(s);
  if (m) {
    method = m[1].toUpperCase();
    path = m[2];
  } else if (/^[A-Za-z]{3,10}$/.test(s) && s === s.toUpperCase()) {
    // A method alone ("DELETE"): every path.
    method = s;
    path = '*';
  }
  path = path.replace(/\*+/g, '*'); // `**` means `*`, and costs every matcher more
  const text = textPattern(path);
  return { method, path, text, regexp: { test: (v: string) => text.test(v) } as RegExp };
}
