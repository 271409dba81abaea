/**
 * Synthetic records for tests and the console's benchmark: a seeded, repeatable stream of
 * sessions (users who log in, anonymous visitors, attackers, a few busy bots) spread over a time
 * range, in time order per day as nginx would write them. Not used by the module or the console
 * at run time.
 */
import { SessionRecord } from '../../src/shared/record';

export interface GenerateOptions {
  /** Number of records to produce. */
  count: number;
  /** PRNG seed: the same seed and options give the same records. */
  seed?: number;
  /** Time range, ms since the epoch (default: the 7 days up to now). */
  from?: number;
  to?: number;
  /** Mix in values that try to be markup or script (paths, User-Agents, params). */
  hostile?: boolean;
}

/** mulberry32: small, fast, good enough for test data. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const HEX = '0123456789abcdef';
function hex32(rnd: () => number): string {
  let s = '';
  for (let i = 0; i < 32; i++) s += HEX[(rnd() * 16) | 0];
  return s;
}

const APPS = ['shop.example', 'billing-api', 'admin-portal'];
const ROLES = ['customer', 'customer', 'customer', 'support', 'admin'];
const BROWSERS = [
  'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) Safari/605.1.15',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/126.0',
  'shop-app/2.1 (Android 14)',
  'shop-app/2.1 (iOS 17.5)',
];
const ATTACK_TOOLS = ['sqlmap/1.8', 'Nuclei - Open-source project', 'curl/8.5.0', 'python-requests/2.32'];
const ATTACKS: Array<{ type: string; path: string; query: string }> = [
  { type: 'sqli', path: '/products', query: "q=boots'%20OR%201=1--" },
  { type: 'xss', path: '/search', query: 'q=%3Cscript%3Ealert(1)%3C/script%3E' },
  { type: 'path_traversal', path: '/static/..%2f..%2fetc%2fpasswd', query: '' },
  { type: 'rce', path: '/api/v1/export', query: 'file=;cat%20/etc/passwd' },
  { type: 'scanner', path: '/.env', query: '' },
  { type: 'ssrf', path: '/api/v1/fetch', query: 'url=http://169.254.169.254/' },
];
const HOSTILE = [
  '<script>window.__xss=1</script>',
  '<img src=x onerror="window.__xss=1">',
  '"><svg onload=window.__xss=1>',
  "javascript:window.__xss=1//",
  '{{constructor.constructor("window.__xss=1")()}}',
];

interface Endpoint {
  method: string;
  path: (r: () => number) => string;
  ok: number;
}
const ENDPOINTS: Endpoint[] = [
  { method: 'GET', path: () => '/products', ok: 200 },
  { method: 'GET', path: (r) => '/products/' + ((r() * 5000) | 0), ok: 200 },
  { method: 'GET', path: () => '/cart', ok: 200 },
  { method: 'POST', path: () => '/cart', ok: 201 },
  { method: 'DELETE', path: (r) => '/cart/items/' + ((r() * 300) | 0), ok: 204 },
  { method: 'GET', path: () => '/orders', ok: 200 },
  { method: 'GET', path: (r) => '/orders/' + ((r() * 20000) | 0), ok: 200 },
  { method: 'POST', path: () => '/checkout', ok: 200 },
  { method: 'GET', path: () => '/profile', ok: 200 },
  { method: 'PUT', path: () => '/profile', ok: 200 },
  { method: 'GET', path: () => '/search', ok: 200 },
  { method: 'GET', path: (r) => '/api/v1/invoices/' + ((r() * 8000) | 0), ok: 200 },
  { method: 'POST', path: () => '/api/v1/payments', ok: 201 },
  { method: 'GET', path: (r) => '/admin/users/' + ((r() * 3000) | 0), ok: 200 },
];

function pickStatus(r: () => number, ok: number): number {
  const x = r();
  if (x < 0.86) return ok;
  if (x < 0.89) return 304;
  if (x < 0.92) return 404;
  if (x < 0.94) return 400;
  if (x < 0.96) return 401;
  if (x < 0.975) return 403;
  if (x < 0.99) return 500;
  return 502;
}

interface Actor {
  app: string;
  session: string;
  key: string;
  keySource: 'params' | 'builtin' | 'fallback';
  user: string | null;
  role: string | null;
  ips: string[];
  ua: string | null;
  attacker: boolean;
  tokenHash: string | null;
}

const DAY = 86400000;

/**
 * Yields `count` records. Records are produced day by day; within a day they are in time order.
 * About 1 in 4 signed-in users comes back on other days under the same session id, so multi-day
 * sessions (several parts) occur.
 */
export function* generateRecords(opts: GenerateOptions): Generator<SessionRecord> {
  const rnd = prng(opts.seed ?? 1);
  const to = opts.to ?? Date.now();
  const from = opts.from ?? to - 7 * DAY;
  const span = Math.max(1, to - from);
  const days: Array<[number, number]> = [];
  for (let d = Math.floor(from / DAY) * DAY; d < to; d += DAY) days.push([Math.max(d, from), Math.min(d + DAY, to)]);
  const perDay = days.map(([a, b]) => Math.round(((b - a) / span) * opts.count));
  let diff = opts.count - perDay.reduce((s, n) => s + n, 0);
  perDay[perDay.length - 1] += diff;

  const returning: Actor[] = [];
  let made = 0;
  for (let di = 0; di < days.length; di++) {
    const [dayStart, dayEnd] = days[di];
    const want = perDay[di];
    const recs: SessionRecord[] = [];
    while (recs.length < want) {
      const actor = newActor(rnd, returning, opts.hostile === true);
      const bot = rnd() < 0.01;
      const n = Math.min(want - recs.length, bot ? 300 + ((rnd() * 1700) | 0) : 1 + Math.floor(-Math.log(1 - rnd()) * 19));
      const len = bot ? Math.min(dayEnd - dayStart - 1, 3 * 3600000) : Math.min(dayEnd - dayStart - 1, n * (2000 + rnd() * 20000));
      const start = dayStart + rnd() * Math.max(1, dayEnd - dayStart - len);
      let t = start;
      const step = len / Math.max(1, n);
      for (let i = 0; i < n; i++) {
        recs.push(makeRecord(rnd, actor, Math.floor(t), i, opts.hostile === true));
        t += step * (0.2 + rnd() * 1.6);
        if (t >= dayEnd) t = dayEnd - 1;
      }
    }
    recs.sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0));
    for (const r of recs) {
      if (made++ >= opts.count) return;
      yield r;
    }
  }
}

function newActor(rnd: () => number, returning: Actor[], hostile: boolean): Actor {
  if (returning.length > 0 && rnd() < 0.15) return returning[(rnd() * returning.length) | 0];
  const app = APPS[rnd() < 0.7 ? 0 : rnd() < 0.7 ? 1 : 2];
  const ipv6 = rnd() < 0.1;
  const ip = ipv6
    ? `2001:db8::${((rnd() * 0xffff) | 0).toString(16)}`
    : `${rnd() < 0.5 ? '203.0.113' : '198.51.100'}.${(rnd() * 254 + 1) | 0}`;
  const ips = [ip];
  if (rnd() < 0.05) ips.push(`192.0.2.${(rnd() * 254 + 1) | 0}`);
  const attacker = rnd() < 0.03;
  const x = rnd();
  let ua: string | null = attacker ? ATTACK_TOOLS[(rnd() * ATTACK_TOOLS.length) | 0] : BROWSERS[(rnd() * BROWSERS.length) | 0];
  if (rnd() < 0.02) ua = null;
  if (hostile && rnd() < 0.3) ua = HOSTILE[(rnd() * HOSTILE.length) | 0];
  let a: Actor;
  if (x < 0.6 && !attacker) {
    const u = (rnd() * 3000) | 0;
    a = {
      app,
      session: hex32(rnd),
      key: 'request.query.token',
      keySource: 'params',
      user: `user${String(u).padStart(4, '0')}@example.com`,
      role: ROLES[u % ROLES.length],
      ips,
      ua,
      attacker,
      tokenHash: hex32(rnd),
    };
    if (rnd() < 0.25) returning.push(a);
  } else if (x < 0.85) {
    a = { app, session: hex32(rnd), key: 'request.cookie.PHPSESSID', keySource: 'builtin', user: null, role: null, ips, ua, attacker, tokenHash: hex32(rnd) };
  } else {
    a = { app, session: hex32(rnd), key: ua === null ? 'ip' : 'ip+ua', keySource: 'fallback', user: null, role: null, ips, ua, attacker, tokenHash: null };
  }
  return a;
}

function makeRecord(rnd: () => number, a: Actor, t: number, i: number, hostile: boolean): SessionRecord {
  const ts = new Date(t).toISOString();
  const ip = a.ips.length > 1 && rnd() < 0.3 ? a.ips[1] : a.ips[0];
  const params: Record<string, string> = {};
  if (a.tokenHash) params[a.key] = a.tokenHash;
  const errors: string[] = [];
  let method: string;
  let path: string;
  let status: number;
  let attack: string[] | null = null;
  let request: SessionRecord['request'] = null;
  if (a.attacker && rnd() < 0.6) {
    const at = ATTACKS[(rnd() * ATTACKS.length) | 0];
    method = 'GET';
    path = at.path;
    status = rnd() < 0.7 ? 403 : 404;
    attack = [at.type];
    if (rnd() < 0.1) attack.push('scanner');
    request = {
      line: `GET ${at.path}${at.query ? '?' + at.query : ''} HTTP/1.1`,
      headers: [
        ['Host', a.app],
        ['User-Agent', a.ua ?? ''],
        ['Accept', '*/*'],
      ],
      body: null,
      truncated: false,
    };
  } else if (i === 0 && a.keySource === 'params') {
    method = 'POST';
    path = '/login';
    status = 200;
  } else {
    const ep = ENDPOINTS[(rnd() * (a.role === 'admin' ? ENDPOINTS.length : ENDPOINTS.length - 1)) | 0];
    method = ep.method;
    path = ep.path(rnd);
    status = pickStatus(rnd, ep.ok);
  }
  if (hostile && rnd() < 0.2) path = '/products/' + encodeURI(HOSTILE[(rnd() * HOSTILE.length) | 0]);
  if (a.user) {
    params['request.body.json.email'] = a.user;
    if (rnd() < 0.3) params['response.body.json.cart_id'] = String((rnd() * 100000) | 0);
  }
  if (hostile && rnd() < 0.3) params['request.query.q'] = HOSTILE[(rnd() * HOSTILE.length) | 0];
  if (rnd() < 0.01) errors.push('request.body.json: not valid JSON (Unexpected token)');
  return {
    v: 1,
    ts,
    app: a.app,
    session: a.session,
    part: ts.slice(0, 10),
    key: a.key,
    key_source: a.keySource,
    request_id: hex32(rnd),
    method,
    host: a.app,
    path,
    status,
    duration_ms: Math.floor(-Math.log(1 - rnd()) * 30),
    bytes_sent: 200 + ((rnd() * 5000) | 0),
    ip,
    ua: a.ua,
    params,
    user: a.user && i > 0 ? a.user : null,
    role: a.role && i > 0 ? a.role : null,
    attack,
    request,
    errors,
  };
}
