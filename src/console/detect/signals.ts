/**
 * What the rules read from a record besides its fields: the User-Agent's family, the network of
 * an address, the ids in a path, whether a request is a login and whether it failed, whether it
 * loads a page or a static file, and the record's time as a number. Each is cheap: the rules
 * run on every record the console ingests.
 */
import { SessionRecord } from '../../shared/record';
import { DetectionConfig } from './config';

// --- User-Agent families ---------------------------------------------------------------------

/** A client software family: a browser with its operating system ("Firefox on Linux"), or the
 *  first product of any other User-Agent ("python-requests", "okhttp", "shop-app"). Versions
 *  are left out: an update is the same family. */
export interface AgentFamily {
  name: string;
  /** A web browser (its User-Agent starts with Mozilla/ and names a known browser engine). */
  browser: boolean;
  /** The operating system it names (iOS, Android, Windows, ...), null when it names none. */
  os: string | null;
  /** An app's in-app browser (Android's `; wv)`, an iOS WebKit view without Safari). */
  webview: boolean;
}

const BROWSERS: Array<[string, string]> = [
  ['Edg/', 'Edge'],
  ['EdgA/', 'Edge'],
  ['EdgiOS/', 'Edge'],
  ['OPR/', 'Opera'],
  ['SamsungBrowser/', 'Samsung Internet'],
  ['CriOS/', 'Chrome'],
  ['FxiOS/', 'Firefox'],
  ['Firefox/', 'Firefox'],
  ['Chrome/', 'Chrome'],
  ['Chromium/', 'Chrome'],
  ['Safari/', 'Safari'],
  ['Trident/', 'Internet Explorer'],
  ['MSIE ', 'Internet Explorer'],
];

const SYSTEMS: Array<[string, string]> = [
  ['Windows', 'Windows'],
  ['iPhone', 'iOS'],
  ['iPad', 'iOS'],
  ['iOS', 'iOS'],
  ['Android', 'Android'],
  ['CrOS', 'ChromeOS'],
  ['Macintosh', 'macOS'],
  ['Mac OS X', 'macOS'],
  ['Linux', 'Linux'],
];

const NO_AGENT: AgentFamily = { name: '(no User-Agent)', browser: false, os: null, webview: false };

function systemOf(ua: string): string | null {
  for (const [t, name] of SYSTEMS) if (ua.includes(t)) return name;
  return null;
}

export function agentFamily(ua: string | null): AgentFamily {
  if (ua === null || ua === '') return NO_AGENT;
  const os = systemOf(ua);
  if (ua.startsWith('Mozilla/')) {
    if (ua.includes('; wv)') || (os === 'iOS' && ua.includes('AppleWebKit/') && !ua.includes('Safari/'))) {
      return { name: `In-app browser on ${os ?? 'another system'}`, browser: true, os, webview: true };
    }
    for (const [token, browser] of BROWSERS) {
      if (ua.includes(token)) return { name: `${browser} on ${os ?? 'another system'}`, browser: true, os, webview: false };
    }
  }
  const m = /^[\s"']*([A-Za-z][A-Za-z0-9._+-]{0,40})/.exec(ua);
  return { name: m ? m[1].toLowerCase() : '(other)', browser: false, os, webview: false };
}

/** agentFamily with a bounded cache: User-Agents repeat, and each is looked up once per change. */
export class AgentFamilies {
  private cache = new Map<string, AgentFamily>();
  of(ua: string | null): AgentFamily {
    if (ua === null) return NO_AGENT;
    let f = this.cache.get(ua);
    if (f === undefined) {
      if (this.cache.size >= 10000) this.cache.clear();
      f = agentFamily(ua);
      this.cache.set(ua, f);
    }
    return f;
  }
}

// --- Networks --------------------------------------------------------------------------------

function ipv4Bits(ip: string): number | null {
  let n = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < ip.length; i++) {
    const c = ip.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || dots === 3) return null;
      n = n * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57 && digits < 3) {
      part = part * 10 + c - 48;
      digits++;
      if (part > 255) return null;
    } else return null;
  }
  if (digits === 0 || dots !== 3) return null;
  return n * 256 + part;
}

/** The 8 hextets of an IPv6 address (an embedded IPv4 tail read as two), or null. */
function ipv6Hextets(ip: string): number[] | null {
  let s = ip;
  const pct = s.indexOf('%');
  if (pct >= 0) s = s.slice(0, pct);
  let tail: number[] = [];
  const lastColon = s.lastIndexOf(':');
  if (s.indexOf('.', lastColon) >= 0) {
    const v4 = ipv4Bits(s.slice(lastColon + 1));
    if (v4 === null) return null;
    tail = [Math.floor(v4 / 65536), v4 % 65536];
    s = s.slice(0, lastColon);
    if (s.endsWith(':')) s += ':';
  }
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const read = (h: string) => (h === '' ? [] : h.split(':').map((x) => (/^[0-9a-fA-F]{1,4}$/.test(x) ? parseInt(x, 16) : NaN)));
  const head = read(halves[0]);
  const rest = halves.length === 2 ? read(halves[1]) : [];
  const want = 8 - tail.length;
  let groups: number[];
  if (halves.length === 2) {
    if (head.length + rest.length > want) return null;
    groups = [...head, ...new Array(want - head.length - rest.length).fill(0), ...rest];
  } else groups = head;
  groups = [...groups, ...tail];
  if (groups.length !== 8 || groups.some((g) => !Number.isInteger(g))) return null;
  return groups;
}

/** The network an address is in: its first `v4` (IPv4) or `v6` (IPv6) bits, as text
 *  ("203.0.0.0/16", "2001:db8::/32"). An IPv4-mapped IPv6 address is its IPv4 address. Anything
 *  else (a unix socket) is its own network. */
export function networkOf(ip: string, v4: number, v6: number): string {
  if (ip.indexOf(':') < 0) {
    const n = ipv4Bits(ip);
    if (n === null) return ip;
    const masked = v4 === 0 ? 0 : n - (n % 2 ** (32 - v4));
    return `${Math.floor(masked / 16777216)}.${Math.floor(masked / 65536) % 256}.${Math.floor(masked / 256) % 256}.${masked % 256}/${v4}`;
  }
  const g = ipv6Hextets(ip);
  if (g === null) return ip;
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    return networkOf(`${g[6] >> 8}.${g[6] & 255}.${g[7] >> 8}.${g[7] & 255}`, v4, v6);
  }
  const out: string[] = [];
  let bits = v6;
  for (let i = 0; i < 8; i++) {
    if (bits >= 16) out.push(g[i].toString(16));
    else if (bits <= 0) out.push('0');
    else out.push((g[i] & (0xffff << (16 - bits)) & 0xffff).toString(16));
    bits -= 16;
  }
  return `${out.join(':')}/${v6}`.replace(/(^|:)0(:0)+\//, '::/').replace(/^0::\//, '::/');
}

// --- Ids in paths ----------------------------------------------------------------------------

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);
}

/**
 * The ids in a path, folded as the session page's endpoints fold them (part-stats.ts: a segment
 * of digits is `N`, a UUID `UUID`, 16 or more hex digits `HEX`). One reader is reused for every
 * record, and read() builds no string: it runs on every record. It gives the folded path as a
 * hash (`shape`), which object the path names as a number when it holds one number (`id`, the
 * common case) and the ids' numbers; pattern() and ids() build the strings when a rule needs them.
 */
export class PathIds {
  /** FNV-1a over the folded path: the same for every path of one endpoint pattern. */
  shape = 0;
  /** Ids in the path. */
  count = 0;
  /** The ids as numbers, in order (NaN for a UUID, HEX, or more than 15 digits). */
  readonly numbers: number[] = [];
  private path = '';
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];
  private readonly folds: string[] = [];

  /** False when the path holds no id (then the fields are stale). */
  read(path: string): boolean {
    const n = path.length;
    // Most paths hold no digit at all: nothing more to do for them.
    let digit = false;
    for (let i = 0; i < n; i++) {
      const c = path.charCodeAt(i);
      if (c >= 48 && c <= 57) {
        digit = true;
        break;
      }
    }
    if (!digit) return false;
    let h = 0x811c9dc5;
    let found = 0;
    this.numbers.length = 0;
    this.starts.length = 0;
    this.ends.length = 0;
    this.folds.length = 0;
    for (let i = 0; i <= n; ) {
      let j = path.indexOf('/', i);
      if (j < 0) j = n;
      const len = j - i;
      let fold: string | null = null;
      let digits = len > 0;
      if (len > 0) {
        let hex = true;
        for (let k = i; k < j && (digits || hex); k++) {
          const c = path.charCodeAt(k);
          if (c < 48 || c > 57) digits = false;
          if (!isHex(c)) hex = false;
        }
        if (digits) fold = 'N';
        else if (len === 36 && UUID.test(path.slice(i, j))) fold = 'UUID';
        else if (hex && len >= 16) fold = 'HEX';
      }
      if (fold !== null) {
        h = Math.imul(h ^ fold.charCodeAt(0), 0x01000193);
        let v = NaN;
        if (digits && len <= 15) {
          v = 0;
          for (let k = i; k < j; k++) v = v * 10 + path.charCodeAt(k) - 48;
        }
        this.numbers.push(v);
        this.starts.push(i);
        this.ends.push(j);
        this.folds.push(fold);
        found++;
      } else for (let k = i; k < j; k++) h = Math.imul(h ^ path.charCodeAt(k), 0x01000193);
      h = Math.imul(h ^ 47, 0x01000193);
      i = j + 1;
    }
    if (found === 0) return false;
    this.shape = h >>> 0;
    this.count = found;
    this.path = path;
    return true;
  }

  /** Which object the path names: its number when it holds one number id, else the ids as text. */
  id(): number | string {
    return this.count === 1 && !Number.isNaN(this.numbers[0]) ? this.numbers[0] : this.ids();
  }

  /** The ids, joined by `/`. */
  ids(): string {
    let out = '';
    for (let k = 0; k < this.count; k++) out += (k ? '/' : '') + this.path.slice(this.starts[k], this.ends[k]);
    return out;
  }

  /** The path with its ids folded: `/orders/N/items/N`. */
  pattern(): string {
    let out = '';
    let kept = 0;
    for (let k = 0; k < this.count; k++) {
      out += this.path.slice(kept, this.starts[k]) + this.folds[k];
      kept = this.ends[k];
    }
    return out + this.path.slice(kept);
  }
}

// --- Logins and page loads -------------------------------------------------------------------

/** Login requests and their failures, as the configuration defines them. */
export class Logins {
  private readonly methods: Set<string>;
  private readonly path: RegExp;
  private readonly failures: Set<number>;
  private readonly accountParam: RegExp;

  constructor(cfg: DetectionConfig['login']) {
    this.methods = new Set(cfg.methods.map((m) => m.toUpperCase()));
    this.path = new RegExp(cfg.path, 'i');
    this.failures = new Set(cfg.failure_statuses);
    this.accountParam = new RegExp(cfg.account_params, 'i');
  }

  isLogin(r: SessionRecord): boolean {
    return this.methods.has(r.method) && this.path.test(r.path);
  }

  failed(r: SessionRecord): boolean {
    return this.failures.has(r.status);
  }

  /** The account a login names: the record's user, else the first parameter whose name says it
   *  is a user name or an email (as the record exports it: often a keyed hash). Null when none. */
  account(r: SessionRecord): string | null {
    if (r.user !== null && r.user !== '') return r.user;
    for (const k in r.params) {
      if (this.accountParam.test(k)) {
        const v = r.params[k];
        if (v !== '') return k + '=' + v;
      }
    }
    return null;
  }
}

/** Requests that load what a browser loads: a page or a static file (GET only). */
export class PageLoads {
  private readonly re: RegExp;
  constructor(pattern: string) {
    this.re = new RegExp(pattern, 'i');
  }
  test(r: SessionRecord): boolean {
    if (r.method !== 'GET') return false;
    const p = r.path;
    // Cheap first: the root, or a last segment with a dot.
    if (p !== '/' && p.lastIndexOf('.') < p.lastIndexOf('/')) return false;
    return this.re.test(p);
  }
}

// --- Time ------------------------------------------------------------------------------------

let dayPrefix = '\u0000'; // no record's ts starts with it: the first call parses its day
let dayMs = 0;

/** A record's `ts` (`YYYY-MM-DDTHH:MM:SS.mmmZ`, as the console's validator lets through) in ms,
 *  without Date.parse: the day is parsed once, the time of day from the digits. */
export function recordTime(ts: string): number {
  if (ts.length !== 24 || ts.charCodeAt(23) !== 90 /* Z */) return Date.parse(ts);
  if (!ts.startsWith(dayPrefix)) {
    dayPrefix = ts.slice(0, 11);
    dayMs = Date.parse(dayPrefix + '00:00:00.000Z');
  }
  return (
    dayMs +
    ((ts.charCodeAt(11) - 48) * 10 + ts.charCodeAt(12) - 48) * 3600000 +
    ((ts.charCodeAt(14) - 48) * 10 + ts.charCodeAt(15) - 48) * 60000 +
    ((ts.charCodeAt(17) - 48) * 10 + ts.charCodeAt(18) - 48) * 1000 +
    (ts.charCodeAt(20) - 48) * 100 +
    (ts.charCodeAt(21) - 48) * 10 +
    (ts.charCodeAt(22) - 48)
  );
}
