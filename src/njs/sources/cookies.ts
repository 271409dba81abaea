/**
 * Cookie sources: the request's Cookie header and the response's Set-Cookie lines.
 * A jar maps '=' + name to the value; the prefix keeps names such as `__proto__` ordinary keys.
 */
export interface CookieJar {
  values: { [prefixedName: string]: string };
  /** Names seen more than once (the first request cookie, the last Set-Cookie wins). */
  repeated: string[];
  /** True when the header had more cookies than the limit and the rest was not read. */
  cut: boolean;
}

export const MAX_COOKIES = 128;

function unquote(v: string): string {
  return v.length >= 2 && v.charAt(0) === '"' && v.charAt(v.length - 1) === '"' ? v.slice(1, -1) : v;
}

/** Parses `a=1; b=2`. Tolerates the trailing `; ` that newer nginx leaves when it merges lines. */
export function parseCookieHeader(header: string): CookieJar {
  const jar: CookieJar = { values: {}, repeated: [], cut: false };
  const pairs = header.split(';');
  let n = 0;
  for (let i = 0; i < pairs.length; i++) {
    const pair = pairs[i];
    const eq = pair.indexOf('=');
    if (eq < 0) continue;
    if (++n > MAX_COOKIES) {
      jar.cut = true;
      break;
    }
    const key = '=' + pair.slice(0, eq).trim();
    if (jar.values[key] !== undefined) jar.repeated.push(key.slice(1));
    else jar.values[key] = unquote(pair.slice(eq + 1).trim());
  }
  return jar;
}

/** Parses Set-Cookie lines; only `name=value` before the first `;` is read. */
export function parseSetCookies(lines: string[]): CookieJar {
  const jar: CookieJar = { values: {}, repeated: [], cut: false };
  const n = lines.length < MAX_COOKIES ? lines.length : MAX_COOKIES;
  jar.cut = lines.length > MAX_COOKIES;
  for (let i = 0; i < n; i++) {
    const line = lines[i];
    const semi = line.indexOf(';');
    const pair = semi < 0 ? line : line.slice(0, semi);
    const eq = pair.indexOf('=');
    if (eq < 0) continue;
    const key = '=' + pair.slice(0, eq).trim();
    if (jar.values[key] !== undefined) jar.repeated.push(key.slice(1));
    jar.values[key] = unquote(pair.slice(eq + 1).trim());
  }
  return jar;
}

/**
 * Where the value of cookie `name` starts in a Cookie header, searching from `from`; -1 when it
 * is not there. Looks the name up with indexOf instead of splitting the header: a request sends
 * many cookies and a configuration asks for a few.
 */
export function findCookie(header: string, name: string, from: number): number {
  const needle = name + '=';
  for (;;) {
    const at = header.indexOf(needle, from);
    if (at < 0) return -1;
    const before = at === 0 ? 59 : header.charCodeAt(at - 1);
    // preceded by the start, ';', ' ' or ',' (a header merged from several lines)
    if (before === 59 || before === 32 || before === 44 || before === 9) {
      if (at === 0 || before === 59 || before === 44 || isPairStart(header, at)) return at + needle.length;
    }
    from = at + 1;
  }
}

/** `a=1; b=2`: a name after spaces is a pair start only if a ';' or ',' (or the start) precedes them. */
function isPairStart(header: string, at: number): boolean {
  let i = at - 1;
  while (i >= 0 && (header.charCodeAt(i) === 32 || header.charCodeAt(i) === 9)) i--;
  return i < 0 || header.charCodeAt(i) === 59 || header.charCodeAt(i) === 44;
}

/** The value that starts at `start` (see findCookie), trimmed and unquoted. */
export function cookieValueAt(header: string, start: number): string {
  let end = header.indexOf(';', start);
  if (end < 0) end = header.length;
  let v = header.slice(start, end);
  if (v.charCodeAt(0) === 32 || v.charCodeAt(v.length - 1) === 32) v = v.trim();
  return unquote(v);
}

export function cookieValue(jar: CookieJar, name: string): string | undefined {
  return jar.values['=' + name];
}
