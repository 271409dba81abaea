/**
 * JWT claims: the payload of a JWS compact token, base64url-decoded and parsed. The signature
 * is not checked: the claims only name and group a session, they grant nothing.
 */

/** The claims object of `token` (an auth scheme such as `Bearer ` is stripped); throws why not. */
export function jwtClaims(token: string): unknown {
  const space = token.lastIndexOf(' ');
  if (space >= 0) token = token.slice(space + 1);
  const first = token.indexOf('.');
  const second = first < 0 ? -1 : token.indexOf('.', first + 1);
  if (first <= 0 || second < 0) throw new Error('not a JWT (expected header.payload.signature)');
  const payload = token.slice(first + 1, second);
  if (payload === '' || !isBase64Url(payload)) throw new Error('JWT payload is not base64url');
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
  } catch (e) {
    throw new Error('JWT payload is not JSON');
  }
  if (claims === null || typeof claims !== 'object' || Array.isArray(claims)) {
    throw new Error('JWT payload is not a claims object');
  }
  return claims;
}

function isBase64Url(s: string): boolean {
  return /^[A-Za-z0-9_-]+={0,2}$/.test(s);
}
