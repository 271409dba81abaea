/**
 * Well-formed text from whatever bytes nginx hands over (see wellFormed).
 */

/**
 * `s` as a well-formed string. On njs 0.7.9 strings read from nginx are byte strings that may
 * hold invalid UTF-8; a round trip through a Buffer replaces each invalid byte with U+FFFD and
 * leaves valid text equal (a byte string of valid UTF-8 compares equal to the decoded text).
 * `bad` (when given) gets `true` pushed when something was replaced.
 */
export function wellFormed(s: string, bad?: boolean[]): string {
  let t = Buffer.from(s).toString();
  // QuickJS strings are UTF-16 and may hold lone surrogates that a Buffer keeps as CESU-8.
  if (isQuickJs()) t = noLoneSurrogates(t);
  if (bad && t !== s) bad.push(true);
  return t;
}

function isQuickJs(): boolean {
  const g = globalThis as unknown as { njs?: { engine?: string } };
  return g.njs !== undefined && g.njs.engine === 'QuickJS';
}

export function noLoneSurrogates(s: string): string {
  let out = '';
  let from = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    const next = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
    if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
      i++;
      continue;
    }
    out += s.slice(from, i) + '\ufffd';
    from = i + 1;
  }
  return from === 0 ? s : out + s.slice(from);
}

/** Text that may hold non-ASCII: made well-formed once, so that every comparison below is between like strings. */
export function asText(s: string, bad?: boolean[]): string {
  return /[^\x00-\x7f]/.test(s) ? wellFormed(s, bad) : s;
}
