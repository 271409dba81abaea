/**
 * The clients of a sample. The client of a request is its session as the module grouped it,
 * joined with the sessions it is linked to (journeys, see ../journey.ts); sessions grouped only
 * by the IP + User-Agent fallback are clients of their own (`f:` and the session) and never
 * joined through.
 */
import type { SampleRow } from '../store/types';
import { UnionFind } from './union-find';

export interface SampleClients {
  /** The client of a sampled request. */
  of(r: SampleRow): string;
  /** Whether a sampled request of session `a` named `b` among its links, or one of `b` named `a`. */
  linked(a: string, b: string): boolean;
  /** Holders of a value: its clients. An anonymous session linked to one of them is that
   *  client's earlier part, not another holder; one that holds the value alone counts as the
   *  clients it is known to hold (those its logins linked to: people behind one IP and browser). */
  holderCount(holders: Set<string>): number;
}

export function sampleClients(rows: SampleRow[]): SampleClients {
  // Sessions grouped only by the fallback: clients of their own, never joined through.
  const fallback = new Map<string, boolean>();
  for (const r of rows) fallback.set(r.session, (fallback.get(r.session) ?? true) && r.key_source === 'fallback');
  const uf = new UnionFind();
  const linked = new Set<string>();
  for (const r of rows) {
    for (const l of r.links) {
      linked.add(r.session + '\n' + l).add(l + '\n' + r.session);
      if (!fallback.get(r.session) && fallback.get(l) === false) uf.union(r.session, l);
    }
  }
  const clientOf = (r: SampleRow) => (fallback.get(r.session) ? 'f:' + r.session : uf.find(r.session));
  // An anonymous (fallback) session -> the clients it is linked to (its users' logins).
  const fallbackLinks = new Map<string, Set<string>>();
  const addFallbackLink = (f: string, client: string) => {
    let m = fallbackLinks.get(f);
    if (!m) fallbackLinks.set(f, (m = new Set()));
    m.add(client);
  };
  for (const r of rows) {
    for (const l of r.links) {
      if (!fallback.get(r.session) && fallback.get(l)) addFallbackLink('f:' + l, clientOf(r));
      if (fallback.get(r.session) && fallback.get(l) === false) addFallbackLink('f:' + r.session, uf.find(l));
    }
  }

  return {
    of: clientOf,
    linked: (a, b) => linked.has(a + '\n' + b),
    holderCount(holders) {
      const keyed = [...holders].filter((h) => !h.startsWith('f:'));
      let count = keyed.length;
      for (const h of holders) {
        if (!h.startsWith('f:')) continue;
        const to = fallbackLinks.get(h);
        if (!to || !keyed.some((k) => to.has(k))) count += Math.max(1, to ? to.size : 1);
      }
      return count;
    },
  };
}
