/**
 * The record as the one JSON line nginx writes, built by concatenation: on QuickJS one
 * JSON.stringify of a whole record costs about 92,000 instructions, four HMACs' worth (counted
 * under valgrind in the njs CLI). Escaping stays the engine's (JSON.stringify), so the line is
 * valid JSON for any input; the nested parts (params, a malicious request's content, a
 * discovery inventory) go through JSON.stringify whole.
 */
import type { SessionRecord } from '../record/record';

export function recordLine(r: SessionRecord): string {
  // The strings that may hold any character. When JSON.stringify of them joined adds nothing
  // but its two quotes, none needs escaping and each is written between plain quotes: one
  // native call instead of one per string (each costs QuickJS about 5,000 instructions). A
  // string whose JSON differs from it only by escapes is always longer, so the test is exact.
  const ua = r.ua === null ? '' : r.ua;
  const user = r.user === null ? '' : r.user;
  const role = r.role === null ? '' : r.role;
  const joined = r.app + ' ' + r.host + ' ' + r.path + ' ' + ua + ' ' + r.key + ' ' + user + ' ' + role + ' ' + r.request_id + ' ' + r.method + ' ' + r.ip;
  const plain = JSON.stringify(joined).length === joined.length + 2;
  const q = plain ? quote : JSON.stringify;
  let line =
    '{"v":' + num(r.v) +
    ',"ts":"' + r.ts + // ISO 8601, made here: nothing to escape
    '","app":' + q(r.app) +
    ',"session":"' + r.session + // hex
    '","part":"' + r.part +
    '","key":' + q(r.key) +
    ',"key_source":"' + r.key_source +
    '","request_id":' + q(r.request_id) +
    ',"method":' + q(r.method) +
    ',"host":' + q(r.host) +
    ',"path":' + q(r.path) +
    ',"status":' + num(r.status) +
    ',"duration_ms":' + num(r.duration_ms) +
    ',"bytes_sent":' + num(r.bytes_sent) +
    ',"ip":' + q(r.ip) +
    ',"ua":' + (r.ua === null ? 'null' : q(r.ua)) +
    ',"params":' + params(r.params) +
    ',"user":' + (r.user === null ? 'null' : q(r.user)) +
    ',"role":' + (r.role === null ? 'null' : q(r.role)) +
    ',"attack":' + (r.attack === null ? 'null' : JSON.stringify(r.attack)) +
    ',"request":' + (r.request === null ? 'null' : JSON.stringify(r.request)) +
    ',"errors":' + strings(r.errors);
  if (r.links !== undefined) line += ',"links":' + strings(r.links);
  if (r.inventory !== undefined) line += ',"inventory":' + JSON.stringify(r.inventory);
  if (r.blocked === true) line += ',"blocked":true';
  return line + '}';
}

function quote(s: string): string {
  return '"' + s + '"';
}

/** JSON has no NaN or Infinity: JSON.stringify writes null for them, and so does this. */
function num(n: number): string {
  return n === n && n !== Infinity && n !== -Infinity ? String(n) : 'null';
}

function strings(list: string[]): string {
  return list.length === 0 ? '[]' : JSON.stringify(list);
}

/** Parameters: names and values (hashes, or anything a request carried) in one JSON.stringify. */
function params(p: Record<string, string>): string {
  for (const name in p) if (name !== undefined) return JSON.stringify(p);
  return '{}';
}
