/**
 * The what-if preview: how the sampled requests of an application would be grouped under a
 * `$api_sessions_params` line, before anyone pastes it. It follows the module's grouping chain
 * (src/njs/identify.ts) on the discovery inventories: the line's grouping keys in order, then the
 * built-in set (src/shared/builtin.ts), then IP + User-Agent. The inventory's keyed hashes stand for the values (the same
 * hash is the same value, and the session id is over the value, not the selector), so a
 * session here is a value; a request carrying two keys' values links their sessions, and a
 * session decided by a response (a login's token) links the session the request came from,
 * as the module's `links` do. Journeys join linked sessions, never through an IP + User-Agent
 * session (as ../journey.ts).
 *
 * Users: the records' `user` (or, where no record names one, a user claim's hash; classify.ts).
 */
import { MAX_PARAMS, Param, parseParams } from '../../shared/params';
import { builtinCookies, builtinRequestHeaders, builtinResponseHeaders } from '../../shared/builtin';
import { sampleUsers } from './classify';
import { UnionFind } from './union-find';
import { SampleRow } from '../store/types';

/** Longest line the API takes (the module's own limit is 20 entries). */
export const MAX_LINE = 8000;
export const MAX_EXAMPLES = 10;

export interface PreviewParam {
  name: string;
  selectors: string[];
  flags: string[];
}

/** What a grouping of the sampled requests amounts to (a line's preview, or the configuration
 *  in force). */
export interface Figures {
  sampled: number;
  /** Sessions formed by a key (the line's or a built-in one). */
  sessions: number;
  /** Keyed sessions that hold requests of more than one user. */
  mixed_sessions: number;
  /** Requests in those sessions. */
  mixed_requests: number;
  /** Requests no key groups: left to IP + User-Agent. */
  fallback_requests: number;
  /** IP + User-Agent sessions formed, and those holding more than one user (expected behind
   *  a NAT: journeys never continue through them). */
  fallback_sessions: number;
  mixed_fallback_sessions: number;
  /** Keyed sessions joined by their links. */
  journeys: number;
  /** Users named in the sampled requests, and those whose keyed requests fall into more than one
   *  journey (a user who signed in on two devices is two journeys by design; a per-request key
   *  splits everyone). */
  users: number;
  users_split: number;
  /** Requests and sessions per deciding key (`ip+ua` for the fallback), most requests first. */
  by_key: Array<{ key: string; requests: number; sessions: number }>;
  /** The largest mixed sessions: their key, users and requests (at most MAX_EXAMPLES). */
  mixed: Array<{ key: string; users: number; requests: number }>;
}

export interface Preview extends Figures {
  /** The `$api_sessions_params` value previewed (a whole `set ... '...';` line is read too). */
  line: string;
  /** Entries of the line the module would refuse, as the module words it (they are skipped). */
  errors: string[];
  params: PreviewParam[];
  /** Selectors of the line's grouping keys that no sampled request carried. */
  unseen: string[];
}

/** The configuration in force, as the sampled records show it. */
export interface InForce extends Figures {
  /** The configured grouping keys that decided sampled requests (records whose `key_source` is
   *  `params`), in the order they were first seen. */
  keys: string[];
}

/** The params text of `line`: the quoted value of a whole `set $api_sessions_params '...';`
 *  line, or the text as it is. */
export function paramsOfLine(line: string): string {
  const m = /^\s*set\s+\$api_sessions_(extra_)?params\s+'([^']*)'\s*;?\s*$/s.exec(line);
  if (m) return m[2];
  const d = /^\s*set\s+\$api_sessions_(extra_)?params\s+"([^"]*)"\s*;?\s*$/s.exec(line);
  return d ? d[2] : line.trim();
}


export function preview(rows: SampleRow[], line: string, users: Array<string | null> = sampleUsers(rows)): Preview {
  const text = paramsOfLine(line);
  const params: Param[] = [];
  const errors: string[] = [];
  parseParams(text, 'api_sessions_params', false, MAX_PARAMS, params, {}, errors);
  const groups = params.filter((p) => p.group);
  const seenSelectors = new Set<string>();
  const builtin: Array<[string, string]> = [
    ...builtinCookies().map((c): [string, string] => ['request.cookie.' + c, 'request.cookie.' + c]),
    ...builtinRequestHeaders().map((h): [string, string] => ['request.header.' + h, 'request.header.' + h]),
    ...builtinCookies().map((c): [string, string] => ['response.cookie.' + c, 'response.cookie.' + c]),
    ...builtinResponseHeaders().map((h): [string, string] => ['response.header.' + h, 'response.header.' + h]),
  ];

  const sessionOf: string[] = [];
  const keyOf: string[] = [];
  const joiner = new UnionFind();
  for (const r of rows) {
    const inv = new Map<string, string>();
    for (const c of r.inventory) if (c && typeof c.s === 'string' && !inv.has(c.s)) inv.set(c.s, c.h);
    const fallback = 'f:' + r.ip + '\n' + (r.ua ?? '');
    const present: Array<{ key: string; session: string; response: boolean }> = [];
    for (const p of groups) {
      const hs: string[] = [];
      for (const s of p.selectors) {
        const h = inv.get(s.text);
        if (h === undefined) break;
        seenSelectors.add(s.text);
        hs.push(h);
      }
      if (hs.length !== p.selectors.length) continue;
      present.push({ key: p.name, session: 'v:' + hs.join('+'), response: p.selectors.some((s) => s.text.startsWith('response.')) });
    }
    let decided: { key: string; session: string; response: boolean } | undefined = present[0];
    let builtinRequestSide: string | undefined;
    for (const [sel, key] of builtin) {
      const h = inv.get(sel);
      if (h === undefined) continue;
      if (!sel.startsWith('response.') && builtinRequestSide === undefined) builtinRequestSide = 'v:' + h;
      if (decided === undefined) decided = { key, session: 'v:' + h, response: sel.startsWith('response.') };
    }
    if (decided === undefined) {
      sessionOf.push(fallback);
      keyOf.push('ip+ua');
      continue;
    }
    sessionOf.push(decided.session);
    keyOf.push(decided.key);
    for (const o of present) if (o.session !== decided.session) joiner.union(decided.session, o.session);
    if (decided.response) {
      const requestSide = present.find((o) => !o.response)?.session ?? builtinRequestSide;
      if (requestSide !== undefined && requestSide !== decided.session) joiner.union(decided.session, requestSide);
      // a link to an IP + User-Agent session is kept but never joins journeys
    }
  }

  const unseen: string[] = [];
  for (const p of groups) for (const s of p.selectors) if (!seenSelectors.has(s.text) && !unseen.includes(s.text)) unseen.push(s.text);
  return {
    line: text,
    errors,
    params: params.map((p) => ({
      name: p.name,
      selectors: p.selectors.map((s) => s.text),
      flags: (['group', 'user', 'role', 'hash'] as const).filter((f) => p[f]),
    })),
    unseen,
    ...figures(rows, users, sessionOf, keyOf, joiner),
  };
}

/** What a grouping of the sampled requests amounts to: `sessionOf[i]` is request i's session
 *  (`f:`... for an IP + User-Agent one), `keyOf[i]` its deciding key, `joiner` the links. */
function figures(rows: SampleRow[], users: Array<string | null>, sessionOf: string[], keyOf: string[], joiner: UnionFind): Figures {
  const sessionUsers = new Map<string, Set<string>>();
  const sessionRequests = new Map<string, number>();
  const sessionKey = new Map<string, string>();
  const byKey = new Map<string, { requests: number; sessions: Set<string> }>();
  const userJourneys = new Map<string, Set<string>>();
  const allUsers = new Set<string>();
  let fallbackRequests = 0;
  for (let i = 0; i < rows.length; i++) {
    const s = sessionOf[i];
    const u = users[i];
    sessionRequests.set(s, (sessionRequests.get(s) ?? 0) + 1);
    if (!sessionKey.has(s)) sessionKey.set(s, keyOf[i]);
    let k = byKey.get(keyOf[i]);
    if (!k) byKey.set(keyOf[i], (k = { requests: 0, sessions: new Set() }));
    k.requests++;
    k.sessions.add(s);
    if (s.startsWith('f:')) fallbackRequests++;
    if (u === null) continue;
    allUsers.add(u);
    let su = sessionUsers.get(s);
    if (!su) sessionUsers.set(s, (su = new Set()));
    su.add(u);
    if (!s.startsWith('f:')) {
      let j = userJourneys.get(u);
      if (!j) userJourneys.set(u, (j = new Set()));
      j.add(joiner.find(s));
    }
  }
  let sessions = 0;
  let fallbackSessions = 0;
  let mixedSessions = 0;
  let mixedRequests = 0;
  let mixedFallback = 0;
  const journeys = new Set<string>();
  const mixed: Preview['mixed'] = [];
  for (const [s, n] of sessionRequests) {
    const us = sessionUsers.get(s)?.size ?? 0;
    if (s.startsWith('f:')) {
      fallbackSessions++;
      if (us > 1) mixedFallback++;
      continue;
    }
    sessions++;
    journeys.add(joiner.find(s));
    if (us > 1) {
      mixedSessions++;
      mixedRequests += n;
      mixed.push({ key: sessionKey.get(s)!, users: us, requests: n });
    }
  }
  mixed.sort((a, b) => b.users - a.users || b.requests - a.requests || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  let split = 0;
  for (const j of userJourneys.values()) if (j.size > 1) split++;
  return {
    sampled: rows.length,
    sessions,
    mixed_sessions: mixedSessions,
    mixed_requests: mixedRequests,
    fallback_requests: fallbackRequests,
    fallback_sessions: fallbackSessions,
    mixed_fallback_sessions: mixedFallback,
    journeys: journeys.size,
    users: allUsers.size,
    users_split: split,
    by_key: [...byKey]
      .map(([key, v]) => ({ key, requests: v.requests, sessions: v.sessions.size }))
      .sort((a, b) => b.requests - a.requests || (a.key < b.key ? -1 : 1)),
    mixed: mixed.slice(0, MAX_EXAMPLES),
  };
}

/**
 * The same figures for the configuration in force: the sampled records as the module grouped
 * them (their own `session`, `key` and `links`), so that a recommendation can be compared with
 * what is configured. Journeys never continue through a session the sample shows grouped by
 * IP + User-Agent, as in the preview.
 */
export function inForce(rows: SampleRow[], users: Array<string | null> = sampleUsers(rows)): InForce {
  const fallbackIds = new Set<string>();
  for (const r of rows) if (r.key_source === 'fallback') fallbackIds.add(r.session);
  const sessionOf: string[] = [];
  const keyOf: string[] = [];
  const joiner = new UnionFind();
  const keys: string[] = [];
  for (const r of rows) {
    const fallback = r.key_source === 'fallback';
    sessionOf.push((fallback ? 'f:' : 'v:') + r.session);
    keyOf.push(fallback ? 'ip+ua' : r.key ?? r.key_source);
    if (r.key_source === 'params' && r.key !== null && !keys.includes(r.key)) keys.push(r.key);
    if (fallback) continue;
    for (const l of r.links) if (!fallbackIds.has(l)) joiner.union('v:' + r.session, 'v:' + l);
  }
  return { ...figures(rows, users, sessionOf, keyOf, joiner), keys };
}
