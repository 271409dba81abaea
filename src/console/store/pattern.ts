/**
 * The endpoint search: an optional method, then a path pattern where `*` matches any run of
 * characters (slashes included) and `?` exactly one. The pattern is anchored at both ends and
 * case-sensitive, like a shell glob: `/orders/*` matches `/orders/7`, not `/orders`. Every other
 * character is literal (SQLite GLOB's `[` class syntax is escaped).
 */
export interface EndpointPattern {
  method: string | null;
  /** The path pattern in SQLite GLOB syntax. */
  glob: string;
  /** The same pattern as a RegExp, for stores without GLOB and for tests. */
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
  path = path.replace(/\*+/g, '*'); // `**` means `*`, and costs GLOB more
  const glob = path.replace(/\[/g, '[[]');
  const re = '^' + path.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$';
  return { method, glob, regexp: new RegExp(re, 's') };
}
