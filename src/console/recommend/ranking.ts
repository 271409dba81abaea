/** The order of the suggestions: suggested keys first by score, then suggested user and role
 *  entries, then the rest; a key that is a better key under another form is lost as derived. */
import type { SampleRow } from '../store/types';
import type { Suggestion, Unranked } from './suggestion';

export function rank(rows: SampleRow[], out: Unranked[]): Suggestion[] {
  // Suggested keys first by score, then suggested user and role entries, then the rest.
  const tier = (s: Suggestion) => (s.suggested ? (s.as === 'group' ? 0 : s.as === 'user' ? 1 : 2) : 3);
  const order = (a: Unranked, b: Unranked) => tier(a) - tier(b) || b._score - a._score || (a.selector < b.selector ? -1 : 1);
  out.sort(order);
  // A key whose value follows a better one's, request by request, is that key under another
  // form (a cookie's signature, a hash of the token): not offered separately.
  const keys = out.filter((s) => s.suggested && s.as === 'group');
  for (let b = 1; b < keys.length; b++) {
    for (let a = 0; a < b; a++) {
      if (!keys[a].suggested || !follows(rows, keys[b].selector, keys[a].selector)) continue;
      keys[b].suggested = false;
      keys[b].lost.push('derived');
      keys[b].explanation =
        `Lost: derived from ${keys[a].selector}: every request that carries it carries that key too, and its value changes exactly ` +
        `when that key's does (a signature or another form of the same value): that key is the key. ` +
        keys[b].explanation.replace(/^Suggested: /, '');
      break;
    }
  }
  out.sort(order);
  return out.map((s, i) => {
    const { _score, ...rest } = s;
    void _score;
    return { ...rest, rank: i + 1 };
  });
}

/** Whether `b`'s value is a function of `a`'s and back, on every request that carries `b` (all
 *  of which carry `a`), with values of its own (not `a`'s value under another name, which the
 *  module would group as one session anyway). */
function follows(rows: SampleRow[], b: string, a: string): boolean {
  const ab = new Map<string, string>();
  const ba = new Map<string, string>();
  let same = true;
  let seen = 0;
  for (const r of rows) {
    let hb: string | undefined;
    let ha: string | undefined;
    for (const c of r.inventory) {
      if (c.s === b && hb === undefined) hb = c.h;
      else if (c.s === a && ha === undefined) ha = c.h;
    }
    if (hb === undefined) continue;
    if (ha === undefined) return false;
    if ((ab.get(ha) ?? hb) !== hb || (ba.get(hb) ?? ha) !== ha) return false;
    ab.set(ha, hb);
    ba.set(hb, ha);
    if (ha !== hb) same = false;
    seen++;
  }
  return seen > 0 && !same;
}
