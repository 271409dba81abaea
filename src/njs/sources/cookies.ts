/**
 * Cookie sources: the request's Cookie header and the response's Set-Cookie lines, read the way
 * applications read them, so that every spelling an application takes for the same cookie gives
 * the same value here (and so the same session id and the same block decision):
 * - pairs are split at ';' only (RFC 6265; express's `cookie`, PHP, Django, Tomcat): in
 *   `a=1, sid=x` the `sid` is part of `a`'s value, as those frameworks see it;
 * - spaces and tabs around the name and the value are dropped (`sid = x` is `sid`);
 * - a value in double quotes is unquoted;
 * - %XX is decoded in the value (express, PHP, Rack, Tomcat) and in the name (PHP) when it
 *   decodes; `+` stays `+`.
 * A cookie sent twice is read from its first occurrence (express, PHP); the block check
 * (block.ts) looks at every occurrence, so a framework that takes the last cannot be used to
 * walk past a block.
 */

/** A jar maps '=' + name to the value; the prefix keeps names such as `__proto__` ordinary keys. */
export interface CookieJar {
  values: { [prefixedName: string]: string };
  /** Names seen more than once (the first request cookie, the last Set-Cookie wins). */
  repeated: string[];
  /** Every pair in order, as read (also the repeated ones): what the block check probes. */
  pairs: Array<[string, string]>;
  /** True when the header had more cookies than the limit and the rest was not read. */
  cut: boolean;
}

export const MAX_COOKIES = 128;

/** ' ' and '\t' around a name or value. */
function trimmed(s: string): string {
  const n = s.length;
  if (n === 0) return s;
  const a = s.charCodeAt(0);
  const z = s.charCodeAt(n - 1);
  return a === 32 || a === 9 || z === 32 || z === 9 ? s.replace(/^[ \t]+|[ \t]+$/g, '') : s;
}

/** %XX decoded when the text has any and they decode; else the text as it is. */
function decoded(s: string): string {
  if (s.indexOf('%') < 0) return s;
  try {
    return decodeURIComponent(s);
  } catch (e) {
    return s;
  }
}

/** A raw value as applications read it: trimmed, unquoted, decoded. */
export function canonicalValue(raw: string): string {
  let v = trimmed(raw);
  if (v.length >= 2 && v.charCodeAt(0) === 34 && v.charCodeAt(v.length - 1) === 34) v = v.slice(1, -1);
  return decoded(v);
}

/** A raw name as applications read it: trimmed and decoded. */
export function canonicalName(raw: string): string {
  return decoded(trimmed(raw));
}

/** Parses a Cookie header whole (see the top of this file). Tolerates the trailing `; ` that newer
 *  nginx leaves when it merges lines. */
export function parseCookieHeader(header: string): CookieJar {
  const jar: CookieJar = { values: {}, repeated: [], pairs: [], cut: false };
  const parts = header.split(';');
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (jar.pairs.length >= MAX_COOKIES) {
      jar.cut = true;
      break;
    }
    const name = canonicalName(part.slice(0, eq));
    const value = canonicalValue(part.slice(eq + 1));
    jar.pairs.push([name, value]);
    const key = '=' + name;
    if (jar.values[key] !== undefined) {
      if (jar.repeated.indexOf(name) < 0) jar.repeated.push(name);
    } else jar.values[key] = value;
  }
  return jar;
}

/** Parses Set-Cookie lines; only `name=value` before the first `;` is read, as a browser does. */
export function parseSetCookies(lines: string[]): CookieJar {
  const jar: CookieJar = { values: {}, repeated: [], pairs: [], cut: false };
  const n = lines.length < MAX_COOKIES ? lines.length : MAX_COOKIES;
  jar.cut = lines.length > MAX_COOKIES;
  for (let i = 0; i < n; i++) {
    const line = lines[i];
    const semi = line.indexOf(';');
    const pair = semi < 0 ? line : line.slice(0, semi);
    const eq = pair.indexOf('=');
    if (eq < 0) continue;
    const name = canonicalName(pair.slice(0, eq));
    const value = canonicalValue(pair.slice(eq + 1));
    jar.pairs.push([name, value]);
    const key = '=' + name;
    if (jar.values[key] !== undefined && jar.repeated.indexOf(name) < 0) jar.repeated.push(name);
    jar.values[key] = value;
  }
  return jar;
}

/** Whether some pair's name holds '%' (it must then be decoded to be compared): one native
 *  search, so that headers without (nearly all) are read by name with indexOf. */
export function hasEncodedName(header: string): boolean {
  return header.indexOf('%') >= 0 && /(?:^|;)[^=;]*%/.test(header);
}

/**
 * Where the value of cookie `name` starts in a Cookie header whose names are all plain (see
 * hasEncodedName), searching from `from`; -1 when it is not there. The name must start a pair
 * (the header's start or ';', then spaces or tabs) and be followed by spaces or tabs and '='.
 * Looks the name up with indexOf instead of splitting the header: a request sends many cookies
 * and a configuration asks for a few.
 */
export function findCookie(header: string, name: string, from: number): number {
  for (;;) {
    const at = header.indexOf(name, from);
    if (at < 0) return -1;
    from = at + 1;
    let b = at - 1;
    while (b >= 0 && (header.charCodeAt(b) === 32 || header.charCodeAt(b) === 9)) b--;
    if (b >= 0 && header.charCodeAt(b) !== 59) continue;
    let e = at + name.length;
    while (e < header.length && (header.charCodeAt(e) === 32 || header.charCodeAt(e) === 9)) e++;
    if (header.charCodeAt(e) === 61) return e + 1;
  }
}

/** The value that starts at `start` (see findCookie), as applications read it. */
export function cookieValueAt(header: string, start: number): string {
  let end = header.indexOf(';', start);
  if (end < 0) end = header.length;
  return canonicalValue(header.slice(start, end));
}

export function cookieValue(jar: CookieJar, name: string): string | undefined {
  return jar.values['=' + name];
}
