/**
 * What a discovery candidate is, from its selector (and the value kinds the module noted): a
 * credential, a claim of a token, a user or role, a timestamp, a header about the client
 * software, or possibly a session key. Shared by the recommendations and the what-if preview.
 * Names are compared lower-cased with everything but letters and digits removed, so that
 * `user_id`, `userId` and `X-User-Id` read alike.
 */

export type CandidateKind = 'credential' | 'token_claim' | 'user' | 'role' | 'timestamp' | 'client_software' | 'key';

/** `request.header.authorization.jwt.sub` -> the token's selector and the claim path. */
export function jwtClaimOf(selector: string): { token: string; claim: string } | null {
  const i = selector.indexOf('.jwt.');
  const j = selector.indexOf('.jwt[');
  const at = i >= 0 && (j < 0 || i < j) ? i : j;
  if (at < 0) return null;
  return { token: selector.slice(0, at), claim: selector.slice(at + (selector.charAt(at + 4) === '.' ? 5 : 4)) };
}

/** The last name of a selector path, normalized: `request.body.json.user["e-mail"][0]` -> `email`. */
export function lastName(selector: string): string {
  let s = selector;
  while (/\[\d+\]$/.test(s)) s = s.replace(/\[\d+\]$/, '');
  let name: string;
  if (s.endsWith('"]')) {
    const open = s.lastIndexOf('["');
    name = open >= 0 ? s.slice(open + 2, -2) : s;
  } else {
    name = s.slice(s.lastIndexOf('.') + 1);
  }
  return normalize(name);
}

const normalize = (name: string) => name.toLowerCase().replace(/[^a-z0-9]/g, '');

/** Passwords, secrets and other credentials: never suggested in any role. */
const CREDENTIAL = /password|passwd|passphrase|secret|privatekey|^(pass|pwd|pin|otp|totp|mfacode|cvv|cvc|cardnumber|creditcard|ssn|apipassword)$/;
/** User identities: one user's separate logins and devices share them. */
const USER = /^(x)?(sub|subject|email|mail|emailaddress|username|user|userid|uid|login|loginname|preferredusername|upn|uniquename|accountid|customerid|nickname)$/;
const ROLE = /^(x)?(role|roles|userrole|scope|scopes|scp|groups|authorities|permissions)$/;
/** Claim names (RFC 7519 and OIDC) and field names that hold times. */
const TIME = /^(exp|iat|nbf|authtime|updatedat|createdat|issuedat|expiresat|expires|expiry|expiration|timestamp|ts|time|date|logintime|loginat|lastlogin|now)$/;
/** Request headers about the client software, its preferences or the request itself. */
const CLIENT_HEADER = /^request\.header\.(accept(-.*)?|sec-.*|user-agent|referer|origin|dnt|upgrade-insecure-requests|priority|x-forwarded-.*|forwarded|x-real-ip|via|content-.*|x-requested-with|save-data|viewport-width|device-memory|rtt|downlink|ect)$/;

/**
 * The kind of a request-side candidate. `kinds` counts the module's value kinds seen for it
 * (`basic`: an Authorization Basic user name; `time`: a value shaped like a time; `number`).
 */
export function classify(selector: string, kinds: Record<string, number> = {}, requests = 0): CandidateKind {
  const name = lastName(selector);
  // A proxy's credentials are the client's to the proxy, never the application's session.
  if (CREDENTIAL.test(name) || selector === 'request.header.proxy-authorization') return 'credential';
  if (jwtClaimOf(selector) !== null) {
    if (USER.test(name)) return 'user';
    if (ROLE.test(name)) return 'role';
    return 'token_claim';
  }
  if ((kinds.basic ?? 0) > 0) return 'user';
  if (TIME.test(name) || (requests > 0 && (kinds.time ?? 0) * 2 > requests)) return 'timestamp';
  if (CLIENT_HEADER.test(selector)) return 'client_software';
  if (USER.test(name)) return 'user';
  if (ROLE.test(name)) return 'role';
  return 'key';
}

/** Preference among user claims for the `user` entry: a stable subject first, then names. */
export function userPreference(selector: string): number {
  const order = ['sub', 'preferredusername', 'username', 'email', 'upn', 'uniquename', 'userid', 'uid', 'login', 'user'];
  const i = order.indexOf(lastName(selector));
  return i < 0 ? order.length : i;
}

/**
 * The user of each sampled request, for "two users carried this value": the record's `user`
 * where the records name users; where no sampled record does, the keyed hash of a user claim
 * the request carries (a token's `sub`, `email`, ...), so that users are still told apart when
 * the configuration names none. Null when the request names no user (anonymous browsing).
 */
export function sampleUsers(rows: Array<{ user?: string | null; inventory: Array<{ s: string; h: string }> }>): Array<string | null> {
  const named = rows.some((r) => typeof r.user === 'string' && r.user !== '');
  return rows.map((r) => {
    if (named) return typeof r.user === 'string' && r.user !== '' ? 'user:' + r.user : null;
    let best: { s: string; h: string } | null = null;
    for (const c of r.inventory) {
      if (!c || typeof c.s !== 'string' || !c.s.startsWith('request.') || jwtClaimOf(c.s) === null) continue;
      if (!USER.test(lastName(c.s))) continue;
      if (best === null || userPreference(c.s) < userPreference(best.s) || (userPreference(c.s) === userPreference(best.s) && c.s < best.s)) best = c;
    }
    return best === null ? null : 'claim:' + best.h;
  });
}
