/**
 * The list's search values, parsed once for every store: case-insensitive `*` / `?` patterns
 * (user, app, endpoint path), CIDR blocks (IP), status classes, id prefixes (session, request id)
 * and the bounds of the free-text search `q`. Case is folded for ASCII letters only, in every
 * store alike (SQLite's LIKE and ClickHouse's lower() both fold ASCII only).
 */
import { BlockList, isIPv4, isIPv6 } from 'net';

/** Distinct values (users, IPs, apps) a store may walk to match one pattern or `q` term; beyond
 *  it the store stops (docs/console-api.md says so). */
export const MAX_DISTINCT_SCANNED = 100000;
/** `q` and request-id prefixes look at the parameters / ids of the newest this many requests. */
export const Q_NEWEST_REQUESTS = 100000;
/** Shortest id prefix accepted (hex characters). */
export const MIN_ID_PREFIX = 8;

export function foldAscii(s: string): string {
  return s.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

/** A shell-like pattern: `*` any run of characters, `?` one; everything else literal; matched
 *  whole (anchored) and case-insensitively (ASCII). */
export interface TextPattern {
  /** For SQLite: `x LIKE ? ESCAPE '\'` (LIKE folds ASCII case). */
  like: string;
  /** For ClickHouse: `match(lower(x), ?)`, RE2 syntax, already folded. */
  regexp: string;
  /** A JavaScript check with the same meaning (tests, and stores that filter in JS). */
  test(value: string): boolean;
  /** True when the pattern has no wildcard. */
  literal: boolean;
}

export function textPattern(input: string): TextPattern {
  const like = input.replace(/[\\%_]/g, '\\$&').replace(/\*/g, '%').replace(/\?/g, '_');
  const body = foldAscii(input).replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  const regexp = '(?s)^' + body + '$';
  const js = new RegExp('^' + body + '$', 's');
  return { like, regexp, test: (v) => js.test(foldAscii(v)), literal: !/[*?]/.test(input) };
}

/** `q`: a literal, case-insensitive substring. */
export function substringLike(term: string): string {
  return '%' + term.replace(/[\\%_]/g, '\\$&') + '%';
}

/** An IP address or a CIDR block (`127.0.0.0/8`, `2001:db8::/32`). */
export interface IpBlock {
  family: 4 | 6;
  /** The network address's bytes (4 or 16), host bits cleared. */
  bytes: number[];
  bits: number;
  contains(ip: string): boolean;
  /** For SQLite: text ranges [lo, hi) of the facet values that may be in the block (a superset,
   *  checked with `contains`); null: every value of the family may be. */
  textRanges(): Array<[string, string]> | null;
}

function ipv6Bytes(s: string): number[] | null {
  if (!isIPv6(s)) return null;
  let text = s.toLowerCase();
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  let tail: number[] = [];
  if (v4) {
    tail = v4[1].split('.').map(Number);
    text = text.slice(0, -v4[1].length) + '0:0';
  }
  const [head, rest] = text.split('::');
  const hs = head ? head.split(':') : [];
  const rs = rest !== undefined && rest !== '' ? rest.split(':') : [];
  const groups = rest === undefined ? hs : [...hs, ...new Array(8 - hs.length - rs.length).fill('0'), ...rs];
  const out: number[] = [];
  for (const g of groups) {
    const n = parseInt(g, 16);
    out.push(n >> 8, n & 255);
  }
  if (v4) out.splice(12, 4, ...tail);
  return out.length === 16 ? out : null;
}

export function parseIpBlock(input: string): IpBlock | null {
  const m = /^([^/]+?)(?:\/(\d{1,3}))?$/.exec(input.trim());
  if (!m) return null;
  const addr = m[1];
  const family: 4 | 6 | 0 = isIPv4(addr) ? 4 : isIPv6(addr) ? 6 : 0;
  if (family === 0) return null;
  const max = family === 4 ? 32 : 128;
  const bits = m[2] === undefined ? max : Number(m[2]);
  if (bits > max) return null;
  const raw = family === 4 ? addr.split('.').map(Number) : ipv6Bytes(addr);
  if (!raw) return null;
  const bytes = raw.map((b, i) => {
    const keep = Math.max(0, Math.min(8, bits - i * 8));
    return b & ((0xff << (8 - keep)) & 0xff);
  });
  const type = family === 4 ? 'ipv4' : 'ipv6';
  const net = family === 4 ? bytes.join('.') : ipv6Text(bytes);
  const list = new BlockList();
  list.addSubnet(net, bits, type);
  return {
    family,
    bytes,
    bits,
    contains: (ip: string) => (family === 4 ? isIPv4(ip) : isIPv6(ip)) && list.check(ip, type),
    textRanges: () => {
      if (family === 6) {
        // The first group is written without leading zeros: fixed when the block fixes it.
        if (bits < 16) return null;
        const g = ((bytes[0] << 8) | bytes[1]).toString(16);
        if (g === '0') return [['0:', '0;'], [':', ';']];
        return [[g + ':', g + ';']];
      }
      const k = Math.floor(bits / 8);
      const r = bits - k * 8;
      if (k === 4) return [[net, net + '\0']];
      if (k === 0 && r === 0) return null;
      const fixed = bytes.slice(0, k).join('.');
      const pre = k > 0 ? fixed + '.' : '';
      if (r === 0) return [[pre, pre.slice(0, -1) + '/']];
      const out: Array<[string, string]> = [];
      for (let v = bytes[k]; v < bytes[k] + (1 << (8 - r)); v++) {
        // "10.1." would also take "10.10."... only with the dot: values of this octet exactly.
        const p = pre + v + (k === 3 ? '' : '.');
        out.push(k === 3 ? [p, p + '\0'] : [p, p.slice(0, -1) + '/']);
      }
      return out;
    },
  };
}

/** A CIDR block (`/N` given, `/32` and `/128` included), which the list matches by containment,
 *  so that any spelling of an address in it is found; null for a plain value (matched exactly,
 *  as is anything that is no IP). */
export function ipNetwork(input: string): IpBlock | null {
  return input.includes('/') ? parseIpBlock(input) : null;
}

function ipv6Text(bytes: number[]): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] << 8) | bytes[i + 1]).toString(16));
  return groups.join(':');
}

/** For ClickHouse: a condition on column `col` (String) that holds exactly for the block's
 *  addresses written in canonical text. */
export function ipBlockSql(col: string, b: IpBlock): string {
  if (b.family === 4) {
    const net = ((b.bytes[0] << 24) >>> 0) + (b.bytes[1] << 16) + (b.bytes[2] << 8) + b.bytes[3];
    const mask = b.bits === 0 ? 0 : (0xffffffff << (32 - b.bits)) >>> 0;
    return `(match(${col}, '^[0-9]{1,3}\\\\.[0-9]{1,3}\\\\.[0-9]{1,3}\\\\.[0-9]{1,3}$') AND bitAnd(IPv4StringToNum(${col}), ${mask}) = ${net})`;
  }
  const conds = [`position(${col}, ':') > 0`];
  const whole = Math.floor(b.bits / 8);
  const v6 = `IPv6StringToNum(${col})`;
  if (whole > 0) {
    const hex = b.bytes.slice(0, whole).map((x) => x.toString(16).padStart(2, '0')).join('');
    conds.push(`hex(substring(${v6}, 1, ${whole})) = '${hex.toUpperCase()}'`);
  }
  const r = b.bits - whole * 8;
  if (r > 0) {
    const mask = (0xff << (8 - r)) & 0xff;
    conds.push(`bitAnd(reinterpretAsUInt8(substring(${v6}, ${whole + 1}, 1)), ${mask}) = ${b.bytes[whole]}`);
  }
  return '(' + conds.join(' AND ') + ')';
}

/** The status filter names a class (`4xx`, any case) rather than one code (`404`). */
export function isStatusClass(status: string): boolean {
  return /^[1-5]xx$/i.test(status);
}

/** A lower-case hex id or id prefix: [lo, hi) bounds of the ids that start with it. */
export function idRange(prefix: string): [string, string] {
  return [prefix, prefix + 'g'];
}

/** A request id given as a prefix (8 to 31 hex characters) rather than whole. */
export function isIdPrefix(id: string): boolean {
  return /^[0-9a-fA-F]+$/.test(id) && id.length >= MIN_ID_PREFIX && id.length < 32;
}

/** Text ranges [lo, hi) that hold every value a pattern can match, from its first character
 *  when that is literal (both cases of a letter): a store walks only those values. Null: any. */
export function patternRanges(input: string): Array<[string, string]> | null {
  const c = input.charAt(0);
  if (c === '' || c === '*' || c === '?') return null;
  const next = (x: string) => String.fromCodePoint(x.codePointAt(0)! + 1);
  const first = String.fromCodePoint(input.codePointAt(0)!);
  const variants = /^[a-z]$/i.test(first) ? [first.toUpperCase(), first.toLowerCase()] : [first];
  return variants.map((v) => [v, next(v)] as [string, string]);
}
