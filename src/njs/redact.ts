/**
 * Redaction of a malicious request's kept content (request line, header values, body) by
 * meaning, not by spelling:
 *
 * - by name: the value of a credential, wherever its name appears (query and form parameters,
 *   JSON properties, multipart fields, cookies, headers), whatever its length;
 * - by value: every raw value of a grouping key or `hash` parameter, wherever it appears, as
 *   written or under any of the encodings the module decodes (percent-encoding in any case,
 *   `+` for a space, JSON string escapes such as `\u00e4`, `\/`, `\"`, `\\`).
 *
 * Runs only for requests marked malicious. Written in the njs 0.7.9 subset.
 */
import { valueHash } from './identify';
import { canonicalName, canonicalValue } from './sources/cookies';

/** Names configured as grouping keys or `hash` parameters, redacted by name wherever they appear. */
export interface RedactNames {
  /** Cookie names (exact). */
  cookies: string[];
  /** Header names (lowercase). */
  headers: string[];
  /** Query and form parameter names, and the last property name of JSON paths (exact). */
  fields: string[];
}

/** Values shorter than this are hidden by name only: searched everywhere they would shred the text. */
export const MIN_SEARCHED = 4;

/** A piece of the decoded text: `len` decoded units from raw [r, r + rlen); literal runs map 1:1. */
interface Piece {
  d: number;
  len: number;
  r: number;
  rlen: number;
  literal: boolean;
}

interface View {
  text: string;
  pieces: Piece[];
}


/** The redaction functions: made only when a malicious request needs them (njs 0.7.9 creates a
 *  module's functions anew for every request; these stay out of normal requests' cost). */
export interface Redactor {
  redactValues(text: string, secrets: string[], secret: string): string;
  cutClean(text: string, max: number, secrets: string[]): string;
  redactBodyByName(body: string, names: RedactNames | null, secret: string): string;
  redactHeaderByName(lower: string, value: string, names: RedactNames | null, secret: string): string;
  redactQueryPairs(text: string, names: RedactNames | null, secret: string, embedded?: boolean): string;
}

export function redactor(): Redactor {
  /** Query, form, JSON and multipart names whose values are credentials (case-insensitive). */
  function credentialFieldRe(): RegExp {
    return /token|key|secret|passw|passphrase|pwd|csrf|xsrf|credential|signature|session|^(auth|authorization|sid|jwt|otp)$/i;
  }
  /** Cookie names that are credentials, beyond CREDENTIAL_FIELD: the built-in session cookies and their kind. */
  function credentialCookieRe(): RegExp {
    return /sess|^sid$|[_.-]sid$|auth|^PHPSESSID$|^JSESSIONID$/i;
  }
  /** Header names that are credentials: Authorization and its kind (X-Forwarded-Authorization,
   *  X-CSRF-Token, X-Amz-Security-Token, X-Api-Key, X-Session-Id, ...). */
  function credentialHeaderRe(): RegExp {
    return /authorization|token|secret|passw|csrf|xsrf|credential|signature|session|api-?key|auth-key|-key$|^key$/i;
  }

  function hidden(secret: string, v: string): string {
    return '[hmac:' + valueHash(secret, v) + ']';
  }

  function credentialField(name: string, names: RedactNames | null): boolean {
    return credentialFieldRe().test(name) || (names !== null && names.fields.indexOf(name) >= 0);
  }

  function credentialCookie(name: string, names: RedactNames | null): boolean {
    return credentialFieldRe().test(name) || credentialCookieRe().test(name) || (names !== null && names.cookies.indexOf(name) >= 0);
  }

  function credentialHeader(lower: string, names: RedactNames | null): boolean {
    return credentialHeaderRe().test(lower) || (names !== null && names.headers.indexOf(lower) >= 0);
  }

  // ---------------------------------------------------------------------------------------------
  // Decoded views: the text as the receiving application reads it, mapped back to the raw text.

  function escapesRe(): RegExp {
    return /(?:%[0-9a-fA-F]{2})+|\\u[0-9a-fA-F]{4}(?:\\u[0-9a-fA-F]{4})?|\\[\/"\\bfnrt]|\+/g;
  }
  function simpleEscape(c: string): string {
    switch (c) {
      case 'b': return '\b';
      case 'f': return '\f';
      case 'n': return '\n';
      case 'r': return '\r';
      case 't': return '\t';
      default: return c; // / " \
    }
  }

  /** Whether `raw` holds anything a view decodes. */
  function encoded(raw: string): boolean {
    return raw.indexOf('%') >= 0 || raw.indexOf('\\') >= 0 || raw.indexOf('+') >= 0;
  }

  /** The decoded view of `raw`: percent-encoding (UTF-8, any case), JSON escapes, and `+` as a space when `plus`. */
  function decodedView(raw: string, plus: boolean): View {
    const parts: string[] = [];
    const pieces: Piece[] = [];
    let d = 0;
    let last = 0;
    const re = escapesRe();
    let m: RegExpExecArray | null;
    const literal = (from: number, to: number) => {
      if (to <= from) return;
      parts.push(raw.slice(from, to));
      pieces.push({ d, len: to - from, r: from, rlen: to - from, literal: true });
      d += to - from;
    };
    const decodedPiece = (text: string, r: number, rlen: number) => {
      parts.push(text);
      pieces.push({ d, len: text.length, r, rlen, literal: false });
      d += text.length;
    };
    while ((m = re.exec(raw)) !== null) {
      const at = m.index;
      const tok = m[0];
      if (tok === '+') {
        if (!plus) continue; // stays inside the next literal run
        literal(last, at);
        decodedPiece(' ', at, 1);
      } else if (tok.charAt(0) === '%') {
        literal(last, at);
        percentRun(tok, at, decodedPiece);
      } else if (tok.charAt(1) === 'u') {
        literal(last, at);
        const hi = parseInt(tok.slice(2, 6), 16);
        if (tok.length === 12) {
          const lo = parseInt(tok.slice(8, 12), 16);
          if (hi >= 0xd800 && hi <= 0xdbff && lo >= 0xdc00 && lo <= 0xdfff) decodedPiece(String.fromCharCode(hi, lo), at, 12);
          else {
            decodedPiece(String.fromCharCode(hi), at, 6);
            decodedPiece(String.fromCharCode(lo), at + 6, 6);
          }
        } else decodedPiece(String.fromCharCode(hi), at, 6);
      } else {
        literal(last, at);
        decodedPiece(simpleEscape(tok.charAt(1)), at, 2);
      }
      last = at + tok.length;
    }
    literal(last, raw.length);
    return { text: parts.join(''), pieces };
  }

  /** A run of %XX: UTF-8 sequences become their characters; a byte that starts none becomes U+FFFD. */
  function percentRun(run: string, at: number, out: (text: string, r: number, rlen: number) => void): void {
    const bytes: number[] = [];
    for (let i = 0; i < run.length; i += 3) bytes.push(parseInt(run.slice(i + 1, i + 3), 16));
    let i = 0;
    while (i < bytes.length) {
      const b = bytes[i];
      let n = 0;
      let cp = 0;
      let min = 0;
      if (b < 0x80) {
        n = 1;
        cp = b;
      } else if (b >= 0xc2 && b <= 0xdf) {
        n = 2;
        cp = b & 0x1f;
        min = 0x80;
      } else if (b >= 0xe0 && b <= 0xef) {
        n = 3;
        cp = b & 0x0f;
        min = 0x800;
      } else if (b >= 0xf0 && b <= 0xf4) {
        n = 4;
        cp = b & 0x07;
        min = 0x10000;
      }
      let ok = n > 0 && i + n <= bytes.length;
      for (let k = 1; ok && k < n; k++) {
        const c = bytes[i + k];
        if (c < 0x80 || c > 0xbf) ok = false;
        else cp = (cp << 6) | (c & 0x3f);
      }
      if (ok && (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)) ok = false;
      if (!ok) {
        out('\ufffd', at + i * 3, 3);
        i++;
        continue;
      }
      let text: string;
      if (cp >= 0x10000) {
        const v = cp - 0x10000;
        text = String.fromCharCode(0xd800 + (v >> 10), 0xdc00 + (v & 0x3ff));
      } else text = String.fromCharCode(cp);
      out(text, at + i * 3, n * 3);
      i += n;
    }
  }

  /** The raw index where decoded position `p` starts. */
  function rawStart(view: View, p: number): number {
    const ps = view.pieces;
    for (let i = 0; i < ps.length; i++) {
      const piece = ps[i];
      if (p < piece.d + piece.len) return piece.literal ? piece.r + (p - piece.d) : piece.r;
    }
    return ps.length === 0 ? 0 : ps[ps.length - 1].r + ps[ps.length - 1].rlen;
  }

  /** The raw index where decoded position `p` (exclusive end) ends. */
  function rawEnd(view: View, p: number): number {
    const ps = view.pieces;
    for (let i = 0; i < ps.length; i++) {
      const piece = ps[i];
      if (p <= piece.d + piece.len) return piece.literal ? piece.r + (p - piece.d) : piece.r + piece.rlen;
    }
    return ps.length === 0 ? 0 : ps[ps.length - 1].r + ps[ps.length - 1].rlen;
  }

  /** Replaces raw spans [from, to) (sorted by start, possibly overlapping) by their markers. */
  function replaceSpans(raw: string, spans: Array<[number, number, string]>): string {
    if (spans.length === 0) return raw;
    spans.sort((a, b) => a[0] - b[0]);
    let out = '';
    let pos = 0;
    for (let i = 0; i < spans.length; i++) {
      const s = spans[i];
      if (s[0] < pos) continue; // inside one already replaced
      out += raw.slice(pos, s[0]) + s[2];
      pos = s[1];
    }
    return out + raw.slice(pos);
  }

  function searchView(raw: string, view: View, secrets: string[], secret: string): string {
    const spans: Array<[number, number, string]> = [];
    for (let i = 0; i < secrets.length; i++) {
      const s = secrets[i];
      if (s.length < MIN_SEARCHED) continue;
      let at = view.text.indexOf(s);
      while (at >= 0) {
        spans.push([rawStart(view, at), rawEnd(view, at + s.length), hidden(secret, s)]);
        at = view.text.indexOf(s, at + s.length);
      }
    }
    return replaceSpans(raw, spans);
  }

  /**
   * Replaces each secret value (at least MIN_SEARCHED long) wherever it occurs in `text`: as
   * written, and under percent-encoding (any case), `+` for a space and JSON escapes, by its
   * keyed hash `[hmac:...]`.
   */
  function redactValues(text: string, secrets: string[], secret: string): string {
    let any = false;
    for (let i = 0; i < secrets.length; i++) if (secrets[i].length >= MIN_SEARCHED) any = true;
    if (!any) return text;
    for (let i = 0; i < secrets.length; i++) {
      const s = secrets[i];
      if (s.length >= MIN_SEARCHED && text.indexOf(s) >= 0) text = text.split(s).join(hidden(secret, s));
    }
    if (!encoded(text)) return text;
    text = searchView(text, decodedView(text, false), secrets, secret);
    if (text.indexOf('+') >= 0) text = searchView(text, decodedView(text, true), secrets, secret);
    return text;
  }

  /** An escape cut in the middle at the end of a text: `%`, `%C`, `\`, `\u00`, ... */
  function cutEscapeRe(): RegExp {
    return /(?:%[0-9a-fA-F]?|\\u[0-9a-fA-F]{0,3}|\\)$/;
  }

  /**
   * `text` cut at `max`, without a trailing start of any secret in any of its spellings (nor an
   * escape the cut went through), so that a cut leaves no prefix of a secret behind.
   */
  function cutClean(text: string, max: number, secrets: string[]): string {
    text = text.slice(0, max);
    const escape = cutEscapeRe().exec(text);
    if (escape !== null) text = text.slice(0, escape.index);
    text = withoutCutSequence(text);
    for (let pass = 0; pass < 3; pass++) {
      if (pass > 0 && !encoded(text)) break;
      if (pass === 2 && text.indexOf('+') < 0) break;
      const view = pass === 0 ? null : decodedView(text, pass === 2);
      const decoded = view === null ? text : view.text;
      let cut = decoded.length;
      for (let i = 0; i < secrets.length; i++) {
        const s = secrets[i];
        if (s.length < MIN_SEARCHED) continue;
        const p = partialAt(decoded, s);
        if (p < cut) cut = p;
      }
      if (cut < decoded.length) text = text.slice(0, view === null ? cut : rawStart(view, cut));
    }
    return text;
  }

  /** `text` without a percent-encoded UTF-8 sequence that a cut left incomplete at its end (`%C3`). */
  function withoutCutSequence(text: string): string {
    const run = /(?:%[0-9a-fA-F]{2}){1,3}$/.exec(text);
    if (run === null) return text;
    const n = run[0].length / 3;
    for (let k = n - 1; k >= 0; k--) {
      const b = parseInt(run[0].slice(k * 3 + 1, k * 3 + 3), 16);
      if (b >= 0x80 && b <= 0xbf) continue; // a continuation byte: look further back for its lead
      const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
      return n - k < need ? text.slice(0, run.index + k * 3) : text;
    }
    return text;
  }

  /** Where a trailing start of `s` begins in `text`, or text.length. */
  function partialAt(text: string, s: string): number {
    const first = s.charAt(0);
    let at = text.indexOf(first, text.length - s.length + 1 > 0 ? text.length - s.length + 1 : 0);
    while (at >= 0) {
      const tail = text.slice(at);
      if (s.slice(0, tail.length) === tail) return at;
      at = text.indexOf(first, at + 1);
    }
    return text.length;
  }

  // ---------------------------------------------------------------------------------------------
  // By name.

  /** A percent-decoded query or form name or value; invalid escapes are kept as written. */
  function decodeLoose(s: string, plus: boolean): string {
    if (plus && s.indexOf('+') >= 0) s = s.split('+').join(' ');
    if (s.indexOf('%') < 0) return s;
    try {
      return decodeURIComponent(s);
    } catch (e) {
      return decodedView(s, false).text;
    }
  }

  /** A JSON string's content (without quotes) decoded; tolerant of bad escapes and a cut end. */
  function jsonUnescape(s: string): string {
    if (s.indexOf('\\') < 0) return s;
    try {
      return JSON.parse('"' + s + '"') as string;
    } catch (e) {
      return decodedView(s, false).text;
    }
  }

  function queryPairRe(): RegExp {
    return /([?&;])([^=&;#\s?]*)=([^&;#\s]*)/g;
  }
  function formPairRe(): RegExp {
    return /(^|&)([^=&]*)=([^&]*)/g;
  }
  /** Query strings inside JSON strings (URLs): a value stops at a quote or a backslash. */
  function embeddedPairRe(): RegExp {
    return /([?&])([^=&#\s"\\?]*)=([^&#\s"\\]*)/g;
  }
  /** A JSON property with a string (possibly cut at the end of the text), number or literal value. */
  function jsonPairRe(): RegExp {
    return /"((?:[^"\\]|\\[\s\S])*)"(\s*:\s*)("(?:[^"\\]|\\[\s\S])*(?:"|\\?$)|-?[0-9][0-9.eE+-]*|true|false)/g;
  }
  /** A multipart part: its headers naming the field, then its content up to the next boundary line. */
  function multipartFieldRe(): RegExp {
    return /(name="([^"]*)"[^\r\n]*\r?\n(?:[^\r\n]+\r?\n)*\r?\n)([\s\S]*?)(?=\r?\n--|$)/g;
  }

  /** Query-string pairs in a request line or a header value (Referer): credential values hidden. */
  function redactQueryPairs(text: string, names: RedactNames | null, secret: string, embedded?: boolean): string {
    if (text.indexOf('=') < 0) return text;
    return text.replace(embedded ? embeddedPairRe() : queryPairRe(), (m: string, sep: string, name: string, value: string) => {
      if (value === '' || !credentialField(decodeLoose(name, true), names)) return m;
      return sep + name + '=' + hidden(secret, decodeLoose(value, true));
    });
  }

  /** Fields of an application/x-www-form-urlencoded body. */
  function redactFormPairs(text: string, names: RedactNames | null, secret: string): string {
    return text.replace(formPairRe(), (m: string, sep: string, name: string, value: string) => {
      if (value === '' || !credentialField(decodeLoose(name, true), names)) return m;
      return sep + name + '=' + hidden(secret, decodeLoose(value, true));
    });
  }

  /** JSON properties anywhere in a text (also in a cut or malformed body). */
  function redactJsonPairs(text: string, names: RedactNames | null, secret: string): string {
    return text.replace(jsonPairRe(), (m: string, name: string, sep: string, value: string) => {
      if (!credentialField(jsonUnescape(name), names)) return m;
      let v = value;
      if (v.charAt(0) === '"') {
        v = v.slice(1);
        if (v.charAt(v.length - 1) === '"' && v.charAt(v.length - 2) !== '\\') v = v.slice(0, -1);
        v = jsonUnescape(v);
      }
      if (v === '') return m;
      return '"' + name + '"' + sep + '"' + hidden(secret, v) + '"';
    });
  }

  function redactMultipart(text: string, names: RedactNames | null, secret: string): string {
    return text.replace(multipartFieldRe(), (m: string, head: string, name: string, value: string) => {
      if (value === '' || !credentialField(name, names)) return m;
      return head + hidden(secret, value);
    });
  }

  /** A request body: credential values hidden by name, whatever the body's type. */
  function redactBodyByName(body: string, names: RedactNames | null, secret: string): string {
    if (body.indexOf('"') >= 0) body = redactJsonPairs(body, names, secret);
    if (body.indexOf('name="') >= 0) body = redactMultipart(body, names, secret);
    const start = body.replace(/^\s+/, '').charAt(0);
    if (start === '{' || start === '[') return body.indexOf('=') >= 0 ? redactQueryPairs(body, names, secret, true) : body;
    return body.indexOf('=') >= 0 ? redactFormPairs(body, names, secret) : body;
  }

  /** A header value: the whole value of a credential header (the scheme of Authorization stays),
   *  credential cookies, and credential parameters of a URL (Referer). */
  function redactHeaderByName(lower: string, value: string, names: RedactNames | null, secret: string): string {
    if (lower === 'cookie') return redactCookies(value, names, secret);
    if (credentialHeader(lower, names)) {
      if (value === '') return value;
      const space = value.indexOf(' ');
      if (lower.indexOf('authorization') >= 0 && space > 0 && /^[A-Za-z][A-Za-z0-9._~+\/-]*$/.test(value.slice(0, space))) {
        const credentials = value.slice(space + 1).trim();
        return credentials === '' ? value : value.slice(0, space + 1) + hidden(secret, credentials);
      }
      return hidden(secret, value);
    }
    return redactQueryPairs(value, names, secret);
  }

  /** The Cookie header: credential cookies by name whatever their length, and any value shaped like an
   *  identifier (8 or more token characters); names and other values (attack payloads) stay. Names
   *  and values are read as the cookie reader reads them (sources/cookies.ts: trimmed, unquoted,
   *  %XX decoded), so a re-spelled name or a quoted value is hidden like the plain one, under the
   *  same keyed hash. */
  function redactCookies(value: string, names: RedactNames | null, secret: string): string {
    const pairs = value.split(';');
    for (let i = 0; i < pairs.length; i++) {
      const eq = pairs[i].indexOf('=');
      if (eq < 0) continue;
      const name = canonicalName(pairs[i].slice(0, eq));
      const v = canonicalValue(pairs[i].slice(eq + 1));
      if (v === '') continue;
      if (credentialCookie(name, names) || (v.length >= 8 && /^[A-Za-z0-9._~+\/=%:-]+$/.test(v))) {
        pairs[i] = pairs[i].slice(0, eq + 1) + hidden(secret, v);
      }
    }
    return pairs.join(';');
  }
  return { redactValues, cutClean, redactBodyByName, redactHeaderByName, redactQueryPairs };
}
