/**
 * Authorization credentials without the scheme, so that a token returned by a login and the same
 * token sent as `Bearer` are one value. The scheme is matched in any case and may be followed by
 * any run of spaces or tabs (`bearer\tTOKEN` and `Bearer   TOKEN` are the token, as the common
 * parsers read them). Basic yields the user name only: the base64 text is decoded four
 * characters at a time and decoding stops at the ':' that starts the password.
 */
export function credentials(header: string): string {
  header = header.trim();
  let gap = header.indexOf(' ');
  const tab = header.indexOf('\t');
  if (tab >= 0 && (gap < 0 || tab < gap)) gap = tab;
  if (gap < 0) {
    // A scheme without credentials ("Bearer " from a client that has no token yet) is no value:
    // returning the scheme would put every such client into one session.
    const lower = header.toLowerCase();
    return lower === 'bearer' || lower === 'basic' || lower === 'digest' ? '' : header;
  }
  const scheme = header.slice(0, gap).toLowerCase();
  const rest = header.slice(gap + 1).trim();
  if (scheme === 'basic') return basicUser(rest);
  if (scheme === 'digest') return digestUser(rest);
  return rest;
}

export function basicUser(b64: string): string {
  const parts: Buffer[] = [];
  for (let i = 0; i < b64.length; i += 4) {
    const bytes = Buffer.from(b64.slice(i, i + 4), 'base64');
    for (let k = 0; k < bytes.length; k++) {
      if (bytes[k] === 58) {
        parts.push(bytes.slice(0, k));
        return Buffer.concat(parts).toString();
      }
    }
    parts.push(bytes);
  }
  return Buffer.concat(parts).toString(); // no ':' at all: a malformed header, no password in it
}

function digestUser(params: string): string {
  const at = params.indexOf('username="');
  if (at < 0) return '';
  const end = params.indexOf('"', at + 10);
  return end < 0 ? '' : params.slice(at + 10, end);
}
