/**
 * Drives oidc-provider's authorization-code flow (PKCE) like a browser plus a single-page app:
 * a cookie jar per user (path-scoped), redirects followed by hand, the development login and
 * consent forms filled in, then the token, userinfo, refresh, revocation and end-session calls.
 * Every request carries the same User-Agent; all of them come from 127.0.0.1. The token,
 * refresh and revocation calls are the single-page app's fetch() on the provider's origin, so
 * they carry its cookies; the API calls (`/me`) send the Bearer token only.
 */
import crypto from 'crypto';

export const UA = 'journey-browser/1.0';
export const REDIRECT_URI = 'http://127.0.0.1/callback';
export const CLIENT_ID = 'journey-spa';

interface Cookie {
  value: string;
  path: string;
}

export interface Sent {
  method: string;
  path: string;
  status: number;
  requestId: string;
}

export class Browser {
  private jar = new Map<string, Cookie>();
  /** Every request this user made: what the test expects to find in the user's journey. */
  readonly sent: Sent[] = [];
  accessToken = '';
  refreshToken = '';
  private verifier = '';

  constructor(
    readonly base: string,
    readonly user: string,
  ) {}

  private cookieHeader(path: string): string | undefined {
    const out: string[] = [];
    for (const [name, c] of this.jar) if (path === c.path || path.startsWith(c.path.endsWith('/') ? c.path : c.path + '/') || c.path === '/') out.push(`${name}=${c.value}`);
    return out.length ? out.join('; ') : undefined;
  }

  private store(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const i = pair.indexOf('=');
      const name = pair.slice(0, i).trim();
      const value = pair.slice(i + 1).trim();
      let path = '/';
      let expired = value === '';
      for (const a of attrs) {
        const [k, v] = a.split('=').map((s) => s.trim());
        if (k.toLowerCase() === 'path' && v) path = v;
        if (k.toLowerCase() === 'expires' && v && Date.parse(v) < Date.now()) expired = true;
        if (k.toLowerCase() === 'max-age' && Number(v) <= 0) expired = true;
      }
      if (expired) this.jar.delete(name);
      else this.jar.set(name, { value, path });
    }
  }

  /** One request. `cookies: false` is the app's API call (fetch with credentials: 'omit'). */
  async send(
    method: string,
    pathAndQuery: string,
    opts: { form?: Record<string, string>; headers?: Record<string, string>; cookies?: boolean } = {},
  ): Promise<Response> {
    const headers: Record<string, string> = { 'user-agent': UA, 'accept-language': 'en', ...(opts.headers || {}) };
    const path = pathAndQuery.split('?')[0];
    const cookie = opts.cookies === false ? undefined : this.cookieHeader(path);
    if (cookie) headers.cookie = cookie;
    let body: string | undefined;
    if (opts.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(opts.form).toString();
    }
    const res = await fetch(this.base + pathAndQuery, { method, headers, body, redirect: 'manual' });
    this.store(res);
    this.sent.push({ method, path, status: res.status, requestId: res.headers.get('x-request-id') || '' });
    return res;
  }

  /** GETs a path and follows redirects within the provider; stops at the client's redirect_uri. */
  async follow(first: Response): Promise<{ res: Response; html: string; location: string | null }> {
    let res = first;
    for (let i = 0; i < 10; i++) {
      const loc = res.headers.get('location');
      if (res.status < 300 || res.status >= 400 || !loc) break;
      if (loc.startsWith(REDIRECT_URI)) return { res, html: '', location: loc };
      await res.arrayBuffer();
      const u = new URL(loc, this.base);
      res = await this.send('GET', u.pathname + u.search);
    }
    return { res, html: await res.text(), location: null };
  }

  /** Anonymous browsing: the discovery document and the login page, twice (a reload). */
  async browseAnonymously(): Promise<string> {
    this.verifier = crypto.randomBytes(32).toString('base64url');
    const challenge = crypto.createHash('sha256').update(this.verifier).digest('base64url');
    const q = new URLSearchParams({
      client_id: CLIENT_ID,
      response_type: 'code',
      redirect_uri: REDIRECT_URI,
      scope: 'openid offline_access',
      prompt: 'consent',
      state: crypto.randomBytes(8).toString('hex'),
      code_challenge: challenge,
      code_challenge_method: 'S256',
    });
    const page = await this.follow(await this.send('GET', '/auth?' + q.toString()));
    const action = formAction(page.html);
    const again = await this.send('GET', action);
    await again.text();
    return action;
  }

  /** The development login form, the consent form, the code for tokens. */
  async login(action: string): Promise<void> {
    let step = await this.follow(await this.send('POST', action, { form: { prompt: 'login', login: this.user, password: 'any' } }));
    for (let i = 0; i < 3 && !step.location; i++) {
      step = await this.follow(await this.send('POST', formAction(step.html), { form: { prompt: 'consent' } }));
    }
    if (!step.location) throw new Error('no code: ' + step.html.slice(0, 300));
    const code = new URL(step.location).searchParams.get('code');
    if (!code) throw new Error('no code in ' + step.location);
    const res = await this.send('POST', '/token', {
      form: { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, client_id: CLIENT_ID, code_verifier: this.verifier },
    });
    const tokens = (await res.json()) as { access_token: string; refresh_token: string };
    if (!tokens.access_token || !tokens.refresh_token) throw new Error('token response: ' + JSON.stringify(tokens));
    this.accessToken = tokens.access_token;
    this.refreshToken = tokens.refresh_token;
  }

  /** The app's API call: the access token as a Bearer, no cookies. */
  async me(): Promise<string> {
    const res = await this.send('GET', '/me', { headers: { authorization: 'Bearer ' + this.accessToken }, cookies: false });
    const body = (await res.json()) as { sub?: string };
    if (body.sub !== this.user) throw new Error('userinfo for ' + this.user + ': ' + JSON.stringify(body));
    return body.sub;
  }

  async refresh(): Promise<void> {
    const res = await this.send('POST', '/token', {
      form: { grant_type: 'refresh_token', refresh_token: this.refreshToken, client_id: CLIENT_ID },
    });
    const tokens = (await res.json()) as { access_token: string; refresh_token: string };
    if (!tokens.access_token) throw new Error('refresh: ' + JSON.stringify(tokens));
    this.accessToken = tokens.access_token;
    this.refreshToken = tokens.refresh_token || this.refreshToken;
  }

  /** Logout: the refresh token revoked, then the provider's end-session page confirmed. */
  async logout(): Promise<void> {
    const rev = await this.send('POST', '/token/revocation', { form: { token: this.refreshToken, client_id: CLIENT_ID } });
    await rev.arrayBuffer();
    const page = await this.follow(await this.send('GET', '/session/end?client_id=' + CLIENT_ID));
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(page.html);
    if (!xsrf) throw new Error('no logout form: ' + page.html.slice(0, 300));
    // The app posts the confirmation and does not load the provider's "signed out" page.
    const done = await this.send('POST', formAction(page.html), { form: { xsrf: xsrf[1], logout: 'yes' } });
    await done.arrayBuffer();
    if (done.status !== 303) throw new Error('logout: ' + done.status);
    if (this.jar.has('_session')) throw new Error('logout: the provider kept the session cookie');
  }
}

function formAction(html: string): string {
  const m = /<form[^>]*action="([^"]+)"/.exec(html);
  if (!m) throw new Error('no form in page: ' + html.slice(0, 300));
  const u = new URL(m[1].replace(/&amp;/g, '&'), 'http://x');
  return u.pathname + u.search;
}
