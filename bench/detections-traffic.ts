/**
 * Traffic for the detections' benchmark (bench/detections.ts), with ground truth: normal people
 * on a web shop (cookie sessions, pages and their files, logins with a few mistyped passwords,
 * offices of 20 to 60 people behind one NAT address and one browser build), on its mobile app
 * (anonymous browsing grouped by IP + User-Agent behind carriers' shared addresses, token
 * sessions, phones moving between Wi-Fi and the mobile network and back, carriers changing a
 * phone's address, an in-app browser sharing the token, feeds scrolled) and on its single-page
 * app (pages loaded anonymously, then a token; tabs left open that poll every 30 s); and each
 * attack mixed in, in several variants. Every attack session is labelled with its kind and
 * variant; every other session is normal.
 *
 * Records are yielded in time order (a log's order), merged from the actors as they go, so
 * memory holds the actors in progress only.
 */
import { createHash } from 'crypto';
import { SessionRecord } from '../src/shared/record';
import { prng } from '../test/helpers/generate-records';
import { DetectionKind } from '../src/console/detect/finding';

export interface Truth {
  kind: DetectionKind;
  variant: string;
  /** Counted toward the targets; false for the variants the rules are known not to see. */
  counted: boolean;
}

export interface TrafficOptions {
  seed: number;
  /** Normal actors (visits, app users, page-app users), about 1.3 sessions each. */
  actors: number;
  /** Campaigns of each attack variant. */
  campaigns: number;
  /** Start of the simulated period (ms) and its length. */
  start: number;
  hours: number;
}

export const VARIANTS: Array<{ kind: DetectionKind; variant: string; counted: boolean; what: string }> = [
  { kind: 'hijack', variant: 'replay', counted: true, what: "a stolen token used from the attacker's machine while its owner is active" },
  { kind: 'hijack', variant: 'copied_agent', counted: true, what: "the owner's User-Agent copied, both browsing at once for a few minutes" },
  { kind: 'hijack', variant: 'copied_agent_brief', counted: false, what: "the owner's User-Agent copied, overlapping the owner for a moment only (looks like a phone at the edge of a Wi-Fi)" },
  { kind: 'hijack', variant: 'same_network', counted: true, what: 'a session cookie used by another browser on the same network' },
  { kind: 'hijack', variant: 'after_owner_left', counted: false, what: "copied User-Agent, another network, after the owner left (looks like a phone changing network)" },
  { kind: 'enumeration', variant: 'sequential_refused', counted: true, what: 'ids walked one by one, mostly 403/404' },
  { kind: 'enumeration', variant: 'random_refused', counted: true, what: 'random ids guessed, mostly 404' },
  { kind: 'enumeration', variant: 'sequential_leaky', counted: true, what: 'ids walked one by one, all answered 200' },
  { kind: 'enumeration', variant: 'slow_sequential', counted: true, what: 'ids walked one by one, one every 8-20 s' },
  { kind: 'enumeration', variant: 'random_leaky_slow', counted: true, what: 'random ids all answered 200, at a reading pace' },
  { kind: 'stuffing', variant: 'one_address', counted: true, what: 'a list of accounts from one address (a new cookie per attempt, or none)' },
  { kind: 'stuffing', variant: 'proxy_pool', counted: true, what: 'a list of accounts from 100-300 proxies, one browser User-Agent' },
  { kind: 'stuffing', variant: 'one_account_distributed', counted: true, what: "one account's password from 30-60 addresses" },
  { kind: 'stuffing', variant: 'one_account_one_address', counted: true, what: "one account's password from one address" },
  { kind: 'stuffing', variant: 'rotating_everything', counted: true, what: 'a new address and User-Agent for every attempt, low and slow' },
  { kind: 'scripted', variant: 'fast', counted: true, what: 'a scraper at 2-10 requests a second' },
  { kind: 'scripted', variant: 'regular', counted: true, what: 'a loop with a fixed sleep of 1-8 s (3% jitter)' },
  { kind: 'scripted', variant: 'browser_no_assets', counted: true, what: "a browser's User-Agent with a cookie jar, 1-4 s apart, no page files" },
  { kind: 'scripted', variant: 'cookieless', counted: true, what: 'a script that drops the cookie each response sets: a session per request' },
  { kind: 'scripted', variant: 'random_sleep', counted: true, what: 'a token scraper sleeping 2-10 s at random' },
];

const BROWSERS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0',
  'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36',
  'Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36',
];
/** The browser build an office's machines share. */
const OFFICE_BROWSER = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36';
const APP_AGENTS = ['ShopApp/3.4.1 (iPhone; iOS 17.5; Scale/3.00)', 'ShopApp/3.4.1 (Android 14; Pixel 8)', 'ShopApp/3.3.0 (Android 13; SM-A536B)', 'okhttp/4.12.0'];
const WEBVIEWS = [
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148',
  'Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/AP2A.240605.024; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/125.0.6422.165 Mobile Safari/537.36',
];
const TOOLS = ['python-requests/2.31.0', 'curl/8.5.0', 'Go-http-client/1.1', 'python-httpx/0.27.0', 'axios/1.7.2'];

type Rec = SessionRecord;

/** One actor's requests in time order, and what its sessions are. */
interface Actor {
  recs: Rec[];
  at: number;
}

class Gen {
  readonly rnd: () => number;
  private seq = 0;
  private spare: number | null = null;
  /** Shared addresses: offices (NAT) and carriers' pools (CGNAT), fixed for the run. */
  readonly offices: string[] = [];
  readonly carriers: Array<{ prefix: string; ips: string[] }> = [];

  constructor(seed: number) {
    this.rnd = prng(seed);
    for (let i = 0; i < 40; i++) this.offices.push(this.publicIp());
    // Carriers' shared addresses: five pools of 150, and a dense one of 8 that a quarter of
    // the phones on a mobile network share (one app version's User-Agent: one IP + User-Agent
    // session for all of them while they browse anonymously).
    for (let i = 0; i < 6; i++) {
      const a = this.int(11, 220);
      const b = this.int(0, 255);
      const ips: string[] = [];
      for (let j = 0; j < (i === 0 ? 8 : 150); j++) ips.push(`${a}.${b}.${this.int(0, 255)}.${this.int(1, 254)}`);
      this.carriers.push({ prefix: `${a}.${b}`, ips });
    }
  }

  int(a: number, b: number): number {
    return a + Math.floor(this.rnd() * (b - a + 1));
  }
  chance(p: number): boolean {
    return this.rnd() < p;
  }
  pick<T>(xs: T[]): T {
    return xs[Math.floor(this.rnd() * xs.length)];
  }
  gauss(): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    const u = Math.max(1e-12, this.rnd());
    const v = this.rnd();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }
  /** A log-normal time (ms) with this median and spread. */
  lognormal(median: number, sigma: number): number {
    return median * Math.exp(sigma * this.gauss());
  }
  id(): string {
    let s = '';
    for (let i = 0; i < 4; i++) s += Math.floor(this.rnd() * 0x100000000).toString(16).padStart(8, '0');
    return s;
  }
  requestId(): string {
    return (++this.seq).toString(16).padStart(32, '0');
  }
  publicIp(): string {
    let a = this.int(2, 223);
    while (a === 10 || a === 127 || a === 100 || a === 172 || a === 192 || a === 169) a = this.int(2, 223);
    return `${a}.${this.int(0, 255)}.${this.int(0, 255)}.${this.int(1, 254)}`;
  }
  ipv6(): string {
    return `2a0${this.int(1, 9)}:${this.int(0x1000, 0xffff).toString(16)}:${this.int(0, 0xffff).toString(16)}:${this.int(0, 0xffff).toString(16)}::${this.int(1, 0xffff).toString(16)}`;
  }
  homeIp(): string {
    return this.chance(0.12) ? this.ipv6() : this.publicIp();
  }
  /** Attackers' machines and proxies: hosting ranges of their own. */
  hostingIp(): string {
    return `${this.pick([45, 91, 146, 185, 193, 194, 212])}.${this.int(0, 255)}.${this.int(0, 255)}.${this.int(1, 254)}`;
  }
}

/** The IP + User-Agent fallback's session id, as the module derives one id per value. */
function fallbackId(app: string, ip: string, ua: string): string {
  return createHash('md5').update(`${app}\n${ip}\n${ua}`).digest('hex');
}

function hashed(v: string): string {
  return createHash('md5').update('v\n' + v).digest('hex');
}

/** Builds one actor's records. */
class Script {
  recs: Rec[] = [];
  constructor(
    private readonly g: Gen,
    readonly app: string,
  ) {}

  add(o: {
    t: number;
    session: string;
    key: string;
    source: 'params' | 'builtin' | 'fallback';
    method?: string;
    path: string;
    status?: number;
    ip: string;
    ua: string | null;
    user?: string | null;
    params?: Record<string, string>;
    links?: string[];
  }): void {
    const ts = new Date(Math.round(o.t)).toISOString();
    this.recs.push({
      v: 1,
      ts,
      app: this.app,
      session: o.session,
      part: ts.slice(0, 10),
      key: o.key,
      key_source: o.source,
      request_id: this.g.requestId(),
      method: o.method ?? 'GET',
      host: this.app + '.example',
      path: o.path,
      status: o.status ?? 200,
      duration_ms: 20,
      bytes_sent: 800,
      ip: o.ip,
      ua: o.ua,
      params: o.params ?? {},
      user: o.user ?? null,
      role: null,
      attack: null,
      request: null,
      errors: [],
      links: o.links ?? [],
    });
  }
}

const PAGE_FILES = ['/static/app.3f9a1c.js', '/static/app.3f9a1c.css', '/static/img/logo.svg', '/favicon.ico'];
const SPA_FILES = ['/assets/index-8d2f41.js', '/assets/index-8d2f41.css', '/favicon.ico'];

/** Mistyped passwords before a successful login: none mostly, up to three. */
function typos(g: Gen): number {
  const x = g.rnd();
  return x < 0.85 ? 0 : x < 0.95 ? 1 : x < 0.99 ? 2 : 3;
}

interface Visit {
  /** Sessions of the visit, the one that continues last. */
  sessions: string[];
  last: string;
  end: number;
}

/** A person on the web shop: cookie sessions, pages with their files, maybe a login. */
function webVisit(g: Gen, s: Script, t0: number, ip: string, ua: string, login: boolean): Visit {
  let session = g.id();
  const sessions = [session];
  let first = true;
  let user: string | null = null;
  const cold = g.chance(0.6);
  let t = t0;
  const hit = (path: string, o: { method?: string; status?: number; params?: Record<string, string>; links?: string[] } = {}) => {
    s.add({ t, session, key: first ? 'response.cookie.sid' : 'request.cookie.sid', source: 'builtin', path, ip, ua, user, ...o });
    first = false;
  };
  const files = (list: string[]) => {
    const base = t;
    for (const f of list) {
      t = base + g.int(20, 400);
      hit(f, { status: g.chance(0.3) ? 304 : 200 });
    }
    t = base;
  };
  hit(g.chance(0.7) ? '/' : `/products/${g.int(1, 40000)}`);
  if (cold) files(PAGE_FILES);
  const views = Math.max(1, Math.round(g.lognormal(8, 0.8)));
  const loginAt = login ? g.int(0, Math.min(views - 1, 5)) : -1;
  const email = `user${g.int(1, 2000000)}@example.com`;
  for (let v = 0; v < views; v++) {
    t += Math.max(800, g.lognormal(9000, 1.0));
    if (v === loginAt) {
      hit('/login');
      const fails = typos(g);
      const gaveUp = g.chance(0.02);
      for (let i = 0; i < (gaveUp ? Math.max(1, fails) : fails); i++) {
        t += g.int(4000, 15000);
        hit('/login', { method: 'POST', status: 401, params: { 'request.body.form.email': hashed(email) } });
      }
      if (!gaveUp) {
        t += g.int(4000, 15000);
        const next = g.id();
        hit('/login', { method: 'POST', status: 200, params: { 'request.body.form.email': hashed(email) }, links: [next] });
        session = next;
        sessions.push(next);
        user = email;
        t += g.int(200, 800);
        hit('/account');
        t += Math.max(800, g.lognormal(6000, 0.8));
        hit('/account/orders');
        const orders = g.int(0, 5);
        const own = g.int(100000, 900000);
        for (let i = 0; i < orders; i++) {
          t += Math.max(800, g.lognormal(8000, 0.8));
          // Orders of one person: sometimes the next ones of the list, mostly far apart.
          hit(`/account/orders/${g.chance(0.3) ? own + i : g.int(100000, 999999)}`);
        }
        continue;
      }
    }
    const pid = g.int(1, 40000);
    hit(g.chance(0.7) ? `/products/${pid}` : g.chance(0.5) ? `/c/${g.pick(['boots', 'coats', 'scarves', 'gloves', 'hats'])}` : '/search', { status: g.chance(0.01) ? 404 : 200 });
    if (cold) files([`/static/img/p${pid}.jpg`]);
    t += g.int(50, 300);
    hit('/api/cart');
    if (g.chance(0.5)) {
      t += g.int(30, 200);
      hit(`/api/products/${pid}/reviews`);
    }
  }
  return { sessions, last: session, end: t };
}

/** A person on the mobile app: anonymous browsing (IP + User-Agent), a login or a stored
 *  token, then the token's session; maybe moving between Wi-Fi and the mobile network. */
function appUser(g: Gen, s: Script, t0: number, o: { ua?: string; webview?: boolean } = {}): Visit {
  const ua = o.ua ?? g.pick(APP_AGENTS);
  const home = g.homeIp();
  const carrier = g.chance(0.25) ? g.carriers[0] : g.pick(g.carriers.slice(1));
  const carrierIps = [g.pick(carrier.ips)];
  if (g.chance(0.2)) for (let i = g.int(1, 3); i > 0; i--) carrierIps.push(g.pick(carrier.ips));
  let onCarrier = g.chance(0.4);
  const moves = g.chance(0.3) ? (g.chance(0.33) ? 2 : 1) : 0;
  let t = t0;
  const ip = () => (onCarrier ? g.pick(carrierIps) : home);
  const sessions: string[] = [];
  const anonymous = g.int(2, 15);
  const anonIp = ip();
  const fallback = fallbackId('api', anonIp, ua);
  sessions.push(fallback);
  const anon = (path: string, x: { method?: string; status?: number; params?: Record<string, string> } = {}) =>
    s.add({ t, session: fallback, key: 'ip+ua', source: 'fallback', path, ip: anonIp, ua, ...x });
  for (let i = 0; i < anonymous; i++) {
    t += Math.max(500, g.lognormal(6000, 0.9));
    anon(g.chance(0.5) ? '/api/v1/products' : `/api/v1/products/${g.int(1, 40000)}`);
  }
  let token = g.id();
  const user = `user${g.int(1, 2000000)}@example.com`;
  if (g.chance(0.6)) {
    const fails = typos(g);
    for (let i = 0; i < fails; i++) {
      t += g.int(5000, 20000);
      anon('/api/v1/auth/login', { method: 'POST', status: 401, params: { 'request.body.json.email': hashed(user) } });
    }
    if (g.chance(0.02)) return { sessions, last: fallback, end: t };
    t += g.int(5000, 20000);
    s.add({ t, session: token, key: 'response.body.json.token', source: 'params', method: 'POST', path: '/api/v1/auth/login', ip: anonIp, ua, links: [fallback], params: { 'request.body.json.email': hashed(user) } });
  } else token = g.id();
  sessions.push(token);
  const n = Math.max(5, Math.round(g.lognormal(35, 0.8)));
  const moveAt = moves > 0 ? g.int(1, n - 1) : -1;
  // Some phones sit at the edge of a Wi-Fi: they drop to the mobile network and come back within
  // a minute or two, once or twice in a session.
  const flaps = g.chance(0.05) ? [g.int(1, n - 1), g.int(1, n - 1)].slice(0, g.int(1, 2)) : [];
  const backAt = moves > 1 ? g.int(moveAt + 1, n + 30) : -1;
  let feed = g.chance(0.2) ? g.int(0, n - 1) : -1;
  const webviewAt = o.webview ? g.int(1, n - 1) : -1;
  for (let i = 0; i < n; i++) {
    if (i === moveAt) onCarrier = !onCarrier;
    if (i === backAt) {
      // Back to the first network, minutes later (home again, or out of the lift).
      t += g.int(300000, 1200000);
      onCarrier = !onCarrier;
    }
    t += i % 3 === 0 ? Math.max(700, g.lognormal(8000, 1.0)) : g.int(40, 400);
    if (flaps.includes(i)) {
      // A few requests on the other network, then back.
      onCarrier = !onCarrier;
      for (let j = g.int(1, 4); j > 0; j--) {
        t += g.int(3000, 25000);
        s.add({ t, session: token, key: 'request.header.authorization', source: 'builtin', path: '/api/v1/products', ip: ip(), ua, user });
      }
      onCarrier = !onCarrier;
      t += g.int(3000, 25000);
    }
    const a = ip();
    const call = (path: string, method = 'GET', status = 200, agent = ua) =>
      s.add({ t, session: token, key: 'request.header.authorization', source: 'builtin', method, path, ip: a, ua: agent, user, status });
    if (i === feed) {
      for (let j = g.int(30, 100); j > 0; j--) {
        t += Math.max(600, g.lognormal(3000, 0.5));
        call('/api/v1/feed');
      }
      feed = -1;
      continue;
    }
    if (i === webviewAt) {
      // The in-app browser of the app's own system.
      const wv = /iPhone|iOS/.test(ua) ? WEBVIEWS[0] : WEBVIEWS[1];
      for (let j = g.int(2, 6); j > 0; j--) {
        t += g.int(300, 4000);
        call(`/help/articles/${g.int(1, 300)}`, 'GET', 200, wv);
      }
      continue;
    }
    const x = g.rnd();
    if (x < 0.35) call(`/api/v1/products/${g.int(1, 40000)}`);
    else if (x < 0.5) call('/api/v1/products');
    else if (x < 0.6) call('/api/v1/me');
    else if (x < 0.7) call('/api/v1/orders');
    else if (x < 0.78) call(`/api/v1/orders/${g.int(100000, 999999)}`, 'GET', g.chance(0.02) ? 404 : 200);
    else if (x < 0.9) call('/api/v1/cart', g.chance(0.5) ? 'POST' : 'GET', 200);
    else call(`/api/v1/products/${g.int(1, 40000)}/reviews`);
  }
  return { sessions, last: token, end: t };
}

/** A person on the single-page app: the page and its files anonymously (IP + User-Agent), then a
 *  login or a stored token; some leave the tab open, which polls every 30 s. */
function spaUser(g: Gen, s: Script, t0: number, ip: string, ua: string): Visit {
  const fallback = fallbackId('api', ip, ua);
  let t = t0;
  const anon = (path: string, x: { method?: string; status?: number; params?: Record<string, string> } = {}) =>
    s.add({ t, session: fallback, key: 'ip+ua', source: 'fallback', path, ip, ua, ...x });
  anon('/');
  if (g.chance(0.7)) {
    for (const f of SPA_FILES) {
      t += g.int(20, 300);
      anon(f);
    }
  }
  for (let i = g.int(0, 5); i > 0; i--) {
    t += Math.max(500, g.lognormal(5000, 0.9));
    anon(`/api/v1/products/${g.int(1, 40000)}`);
  }
  const user = `user${g.int(1, 2000000)}@example.com`;
  const token = g.id();
  if (g.chance(0.5)) {
    for (let i = typos(g); i > 0; i--) {
      t += g.int(4000, 15000);
      anon('/api/v1/auth/login', { method: 'POST', status: 401, params: { 'request.body.json.email': hashed(user) } });
    }
    t += g.int(4000, 15000);
    s.add({ t, session: token, key: 'response.body.json.token', source: 'params', method: 'POST', path: '/api/v1/auth/login', ip, ua, links: [fallback], params: { 'request.body.json.email': hashed(user) } });
  }
  const call = (path: string) => s.add({ t, session: token, key: 'request.header.authorization', source: 'builtin', path, ip, ua, user });
  const n = Math.max(3, Math.round(g.lognormal(25, 0.8)));
  for (let i = 0; i < n; i++) {
    t += i % 4 === 0 ? Math.max(700, g.lognormal(9000, 1.0)) : g.int(20, 250);
    const x = g.rnd();
    call(x < 0.4 ? `/api/v1/products/${g.int(1, 40000)}` : x < 0.6 ? '/api/v1/products' : x < 0.75 ? '/api/v1/orders' : x < 0.85 ? `/api/v1/orders/${g.int(100000, 999999)}` : '/api/v1/me');
  }
  if (g.chance(0.05)) {
    // A tab left open: the page polls for notifications every 30 s.
    for (let i = g.int(40, 120); i > 0; i--) {
      t += 30000 + g.int(-300, 300);
      call('/api/v1/notifications');
    }
  }
  return { sessions: [fallback, token], last: token, end: t };
}

export interface Generated {
  records: Generator<Rec>;
  /** Filled as records are yielded: attack sessions with their label; every other session seen
   *  is normal. */
  attacks: Map<string, Truth>;
  sessions: Set<string>;
}

/** The traffic, in time order. */
export function generateTraffic(o: TrafficOptions): Generated {
  const g = new Gen(o.seed);
  const span = o.hours * 3600000;
  const attacks = new Map<string, Truth>();
  const sessions = new Set<string>();
  const label = (session: string, v: { kind: DetectionKind; variant: string; counted: boolean }) =>
    attacks.set(session, { kind: v.kind, variant: v.variant, counted: v.counted });

  // Who arrives when: normal actors uniformly over the period, attack campaigns too (not in
  // its last hour, so that each can run its course).
  type Plan = { at: number; make: (t: number) => Rec[] };
  const plans: Plan[] = [];
  for (let i = 0; i < o.actors; i++) {
    const at = o.start + g.rnd() * span;
    const x = g.rnd();
    if (x < 0.5) {
      const office = g.chance(0.2);
      plans.push({
        at,
        make: (t) => {
          const s = new Script(g, 'shop');
          const ip = office ? g.pick(g.offices) : g.homeIp();
          const ua = office && g.chance(0.7) ? OFFICE_BROWSER : g.pick(BROWSERS);
          webVisit(g, s, t, ip, ua, g.chance(0.3));
          return s.recs;
        },
      });
    } else if (x < 0.8) {
      plans.push({
        at,
        make: (t) => {
          const s = new Script(g, 'api');
          appUser(g, s, t, { webview: g.chance(0.03) });
          return s.recs;
        },
      });
    } else {
      const office = g.chance(0.2);
      plans.push({
        at,
        make: (t) => {
          const s = new Script(g, 'api');
          const ip = office ? g.pick(g.offices) : g.homeIp();
          const ua = office && g.chance(0.7) ? OFFICE_BROWSER : g.pick(BROWSERS);
          spaUser(g, s, t, ip, ua);
          return s.recs;
        },
      });
    }
  }
  const attackSpan = Math.max(1, span - 3600000);
  for (const v of VARIANTS) {
    for (let i = 0; i < o.campaigns; i++) {
      plans.push({ at: o.start + g.rnd() * attackSpan, make: (t) => attack(g, v, t, label) });
    }
  }
  plans.sort((a, b) => a.at - b.at);

  function* records(): Generator<Rec> {
    // A heap of the actors in progress, by their next record's time.
    const heap: Array<{ recs: Rec[]; i: number; t: number }> = [];
    const less = (a: number, b: number) => heap[a].t < heap[b].t;
    const up = (i: number) => {
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!less(i, p)) break;
        [heap[i], heap[p]] = [heap[p], heap[i]];
        i = p;
      }
    };
    const down = (i: number) => {
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && less(l, m)) m = l;
        if (r < heap.length && less(r, m)) m = r;
        if (m === i) return;
        [heap[i], heap[m]] = [heap[m], heap[i]];
        i = m;
      }
    };
    let next = 0;
    for (;;) {
      while (next < plans.length && (heap.length === 0 || plans[next].at <= heap[0].t)) {
        const recs = plans[next].make(plans[next].at);
        next++;
        if (recs.length === 0) continue;
        recs.sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0));
        heap.push({ recs, i: 0, t: Date.parse(recs[0].ts) });
        up(heap.length - 1);
      }
      if (heap.length === 0) return;
      const top = heap[0];
      const r = top.recs[top.i++];
      sessions.add(r.session);
      yield r;
      if (top.i < top.recs.length) top.t = Date.parse(top.recs[top.i].ts);
      else {
        heap[0] = heap[heap.length - 1];
        heap.pop();
      }
      if (heap.length > 0) down(0);
    }
  }
  return { records: records(), attacks, sessions };
}

type Label = (session: string, v: { kind: DetectionKind; variant: string; counted: boolean }) => void;

/** One campaign of an attack variant: its records, its sessions labelled. */
function attack(g: Gen, v: (typeof VARIANTS)[number], t0: number, label: Label): Rec[] {
  switch (v.kind) {
    case 'hijack':
      return hijack(g, v, t0, label);
    case 'enumeration':
      return enumeration(g, v, t0, label);
    case 'stuffing':
      return stuffing(g, v, t0, label);
    default:
      return scripted(g, v, t0, label);
  }
}

/** A victim's token or cookie session (a normal visit), and the attacker using it too. */
function hijack(g: Gen, v: (typeof VARIANTS)[number], t0: number, label: Label): Rec[] {
  const sameNetwork = v.variant === 'same_network';
  // The victim: on the web shop, the page app, or the mobile app (not for same_network: a
  // cookie taken on a shared network is a browser's).
  const where = sameNetwork ? 'shop' : g.pick(['shop', 'spa', 'app']);
  const s = new Script(g, where === 'shop' ? 'shop' : 'api');
  let ua = g.pick(BROWSERS);
  let ip = g.publicIp();
  let visit: Visit;
  // A victim that stays a while, so that the attacker overlaps it.
  do {
    s.recs = [];
    visit = where === 'shop' ? webVisit(g, s, t0, ip, ua, true) : where === 'spa' ? spaUser(g, s, t0, ip, ua) : appUser(g, s, t0);
  } while (!longEnough(s.recs.filter((r) => r.session === visit.last), v.variant === 'copied_agent' ? 7 : 0) || visit.last === visit.sessions[0]);
  const own = s.recs.filter((r) => r.session === visit.last);
  if (where === 'app') {
    ua = own[own.length - 1].ua!;
    ip = own[own.length - 1].ip;
  }
  const from = Date.parse(own[0].ts);
  const to = Date.parse(own[own.length - 1].ts);
  const key = own[own.length - 1].key;
  const attackerUa =
    v.variant === 'copied_agent' || v.variant === 'copied_agent_brief' || v.variant === 'after_owner_left'
      ? ua
      : sameNetwork
        ? g.pick(BROWSERS.filter((b) => familyOf(b) !== familyOf(ua)))
        : g.chance(0.5)
          ? g.pick(TOOLS)
          : g.pick(BROWSERS.filter((b) => familyOf(b) !== familyOf(ua)));
  const attackerIp = sameNetwork ? ip.replace(/\.\d+$/, `.${g.int(1, 254)}`) : g.hostingIp();
  const attackerPath = () => (where === 'shop' ? (g.chance(0.5) ? '/account/orders' : `/account/orders/${g.int(100000, 999999)}`) : g.chance(0.5) ? '/api/v1/orders' : `/api/v1/orders/${g.int(100000, 999999)}`);
  const add = (t: number) => s.add({ t, session: visit.last, key, source: 'builtin', path: attackerPath(), ip: attackerIp, ua: attackerUa, user: own[own.length - 1].user });
  if (v.variant === 'copied_agent') {
    // Between the owner's requests (their pauses: between page views), over at least six of
    // them from some point on: both use the session at once for a few minutes.
    const pauses: number[] = [];
    for (let i = 0; i < own.length - 1; i++) if (Date.parse(own[i + 1].ts) - Date.parse(own[i].ts) > 500) pauses.push(i);
    const from = pauses.length > 6 ? g.int(0, pauses.length - 6) : 0;
    for (const i of pauses.slice(from, from + g.int(6, 15))) {
      const a = Date.parse(own[i].ts);
      const b = Date.parse(own[i + 1].ts);
      add(a + (b - a) * g.rnd());
    }
  } else if (v.variant === 'copied_agent_brief') {
    // A couple of requests while the owner is active, then the attacker goes on alone.
    const i = g.int(1, own.length - 2);
    let t = Date.parse(own[i].ts) + 500;
    for (let k = g.int(5, 30); k > 0; k--) {
      add(t);
      t += g.int(1000, 20000);
    }
  } else {
    const n = g.int(5, 30);
    let t = v.variant === 'after_owner_left' ? to + g.int(120000, 1200000) : from + (to - from) * (0.2 + 0.5 * g.rnd());
    for (let i = 0; i < n; i++) {
      add(t);
      t += g.int(1000, 20000);
    }
  }
  label(visit.last, v);
  return s.recs;
}

/** At least 8 requests, and `pauses` pauses between them (page views). */
function longEnough(own: Rec[], pauses: number): boolean {
  let n = 0;
  for (let i = 0; i < own.length - 1; i++) if (Date.parse(own[i + 1].ts) - Date.parse(own[i].ts) > 500) n++;
  return own.length >= 8 && n >= pauses;
}

function familyOf(ua: string): string {
  const b = /Edg\/|SamsungBrowser|Firefox|Chrome|Safari/.exec(ua)?.[0] ?? '';
  const os = /Windows|iPhone|Android|Macintosh|Linux/.exec(ua)?.[0] ?? '';
  return b + '/' + os;
}

/** An attacker with an account of their own walking other people's objects. */
function enumeration(g: Gen, v: (typeof VARIANTS)[number], t0: number, label: Label): Rec[] {
  const web = g.chance(0.4);
  const s = new Script(g, web ? 'shop' : 'api');
  const ip = g.hostingIp();
  const ua = g.chance(0.5) ? g.pick(TOOLS) : g.pick(BROWSERS);
  const session = g.id();
  const key = web ? 'request.cookie.sid' : 'request.header.authorization';
  const user = `user${g.int(1, 2000000)}@example.com`;
  const endpoint = web ? '/account/orders/' : g.pick(['/api/v1/orders/', '/api/v1/users/', '/api/v1/invoices/']);
  let t = t0;
  const hit = (path: string, status: number) => s.add({ t, session, key, source: 'builtin', path, status, ip, ua, user });
  hit(web ? '/account' : '/api/v1/me', 200);
  const n = v.variant === 'slow_sequential' ? g.int(40, 60) : g.int(30, 200);
  let id = g.int(100000, 900000);
  const dir = g.chance(0.8) ? 1 : -1;
  for (let i = 0; i < n; i++) {
    switch (v.variant) {
      case 'sequential_refused':
        t += g.int(200, 2000);
        id += dir;
        hit(endpoint + id, g.chance(0.85) ? 403 : g.chance(0.6) ? 404 : 200);
        break;
      case 'random_refused':
        t += g.int(500, 3000);
        hit(endpoint + g.int(1, 99999999), g.chance(0.9) ? 404 : 403);
        break;
      case 'sequential_leaky':
        t += g.int(300, 3000);
        id += dir;
        hit(endpoint + id, 200);
        break;
      case 'slow_sequential':
        t += g.int(8000, 20000);
        id += dir;
        hit(endpoint + id, g.chance(0.8) ? 403 : 404);
        break;
      default:
        t += g.int(3000, 15000);
        hit(endpoint + g.int(100000, 999999), 200);
    }
    // Now and then the attacker's own browsing in between.
    if (g.chance(0.05)) {
      t += g.int(500, 3000);
      hit(web ? '/account' : '/api/v1/me', 200);
    }
  }
  label(session, v);
  return s.recs;
}

/** Failed logins, many accounts or one, from one address or many. */
function stuffing(g: Gen, v: (typeof VARIANTS)[number], t0: number, label: Label): Rec[] {
  const web = g.chance(0.5);
  const s = new Script(g, web ? 'shop' : 'api');
  const path = web ? '/login' : '/api/v1/auth/login';
  const param = web ? 'request.body.form.email' : 'request.body.json.email';
  let t = t0;
  // Each attempt: the web shop sets a cookie the tool drops (a session per attempt); the app's
  // API has none (the IP + User-Agent session).
  const attempt = (ip: string, ua: string, account: string, ok: boolean) => {
    const session = web ? g.id() : fallbackId('api', ip, ua);
    s.add({
      t,
      session,
      key: web ? 'response.cookie.sid' : 'ip+ua',
      source: web ? 'builtin' : 'fallback',
      method: 'POST',
      path,
      status: ok ? 200 : 401,
      ip,
      ua,
      params: { [param]: hashed(account) },
    });
    label(session, v);
  };
  const account = () => `victim${g.int(1, 50000000)}@mail.example`;
  switch (v.variant) {
    case 'one_address': {
      const ip = g.hostingIp();
      const ua = g.chance(0.5) ? g.pick(TOOLS) : g.pick(BROWSERS);
      for (let i = g.int(50, 300); i > 0; i--) {
        t += g.int(500, 3000);
        attempt(ip, ua, account(), g.chance(0.01));
      }
      break;
    }
    case 'proxy_pool': {
      const ua = g.pick(BROWSERS);
      const proxies = Array.from({ length: g.int(100, 300) }, () => g.hostingIp());
      const n = g.int(150, 400);
      const gap = g.int(10, 30) * 60000 / n;
      for (let i = 0; i < n; i++) {
        t += gap * (0.5 + g.rnd());
        attempt(g.pick(proxies), ua, account(), g.chance(0.02));
      }
      break;
    }
    case 'one_account_distributed': {
      const target = account();
      const n = g.int(30, 60);
      const gap = g.int(5, 15) * 60000 / (n * 2);
      for (let i = 0; i < n; i++) {
        const ip = g.hostingIp();
        const ua = g.pick(BROWSERS);
        for (let j = g.int(1, 3); j > 0; j--) {
          t += gap * (0.5 + g.rnd());
          attempt(ip, ua, target, false);
        }
      }
      break;
    }
    case 'one_account_one_address': {
      const target = account();
      const ip = g.hostingIp();
      const ua = g.chance(0.5) ? g.pick(TOOLS) : g.pick(BROWSERS);
      for (let i = g.int(20, 100); i > 0; i--) {
        t += g.int(1000, 5000);
        attempt(ip, ua, target, false);
      }
      break;
    }
    default: {
      // A new address and User-Agent for every attempt, an attempt every 30-90 s.
      for (let i = g.int(40, 80); i > 0; i--) {
        t += g.int(30000, 90000);
        attempt(g.hostingIp(), `${g.pick(BROWSERS)} ${g.id().slice(0, 6)}`, account(), false);
      }
    }
  }
  return s.recs;
}

/** Programs reading the shop: fast, regular, with a browser's name, or dropping cookies. */
function scripted(g: Gen, v: (typeof VARIANTS)[number], t0: number, label: Label): Rec[] {
  const web = v.variant === 'browser_no_assets' || v.variant === 'cookieless' || g.chance(0.3);
  const s = new Script(g, web ? 'shop' : 'api');
  const ip = g.hostingIp();
  let t = t0;
  const product = () => (web ? `/products/${g.int(1, 40000)}` : `/api/v1/products/${g.int(1, 40000)}`);
  if (v.variant === 'cookieless') {
    const ua = g.chance(0.5) ? g.pick(BROWSERS) : g.pick(TOOLS);
    for (let i = g.int(60, 300); i > 0; i--) {
      t += g.int(500, 2000);
      const session = g.id();
      s.add({ t, session, key: 'response.cookie.sid', source: 'builtin', path: product(), ip, ua, links: [fallbackId('shop', ip, ua)] });
      label(session, v);
    }
    return s.recs;
  }
  const ua = v.variant === 'browser_no_assets' ? g.pick(BROWSERS) : g.pick(TOOLS);
  // Logged in (a token or a cookie), or anonymous on the app's API (IP + User-Agent).
  const anonymous = !web && g.chance(0.4) && v.variant !== 'random_sleep';
  const session = anonymous ? fallbackId('api', ip, ua) : g.id();
  const key = anonymous ? 'ip+ua' : web ? 'request.cookie.sid' : 'request.header.authorization';
  const source = anonymous ? 'fallback' : 'builtin';
  const hit = () => s.add({ t, session, key, source, path: product(), ip, ua });
  switch (v.variant) {
    case 'fast': {
      const perSecond = 2 + g.rnd() * 8;
      const end = t + g.int(4, 12) * 60000;
      while (t < end) {
        t += (-Math.log(1 - g.rnd()) * 1000) / perSecond;
        hit();
      }
      break;
    }
    case 'regular': {
      const period = g.int(1000, 8000);
      for (let i = g.int(40, 200); i > 0; i--) {
        t += period * (1 + 0.03 * (2 * g.rnd() - 1));
        hit();
      }
      break;
    }
    case 'browser_no_assets':
      for (let i = g.int(40, 150); i > 0; i--) {
        t += g.int(1000, 4000);
        hit();
      }
      break;
    default:
      for (let i = g.int(40, 100); i > 0; i--) {
        t += g.int(2000, 10000);
        hit();
      }
  }
  label(session, v);
  return s.recs;
}
