/**
 * The rules, in words: each kind's rules with a title, what they compare (the threshold, with
 * the settings in force) and the sentence a finding reads as. The detector (detector.ts) fills
 * `measured`; this file turns it into text. GET /api/detections/rules lists them.
 */
import { DetectionConfig } from './config';
import { DetectionKind, SubjectType } from './finding';

export interface RuleInfo {
  kind: DetectionKind;
  rule: string;
  title: string;
  /** What it compares, with the settings in force. */
  threshold(c: DetectionConfig): string;
  /** The settings it reads (configuration names, values in force). */
  settings(c: DetectionConfig): Record<string, number | string>;
  /** The finding as a sentence, from what was measured. */
  summary(m: Record<string, number | string>, subject: string): string;
}

const pct = (x: number | string) => Math.round(Number(x) * 100) + '%';
const short = (s: string) => (/^[0-9a-f]{32}$/.test(s) ? s.slice(0, 12) + '…' : s);
const gap = (ms: number | string) => (Number(ms) < 1000 ? `${Math.round(Number(ms))} ms` : `${(Number(ms) / 1000).toFixed(1)} s`);
const mins = (ms: number | string) => {
  const s = Math.max(0, Math.round(Number(ms) / 1000));
  return s < 120 ? `${s} s` : `${Math.round(s / 60)} min`;
};

export const RULES: RuleInfo[] = [
  {
    kind: 'hijack',
    rule: 'new_device',
    title: 'Session used from another device',
    threshold: (c) =>
      `a request from a network (IPv4 /${c.hijack.ipv4_prefix}, IPv6 /${c.hijack.ipv6_prefix}) and a User-Agent family that the session never used, ` +
      `while its earlier client was active within the last ${c.hijack.window_minutes} min`,
    settings: (c) => ({ 'hijack.window_minutes': c.hijack.window_minutes, 'hijack.ipv4_prefix': c.hijack.ipv4_prefix, 'hijack.ipv6_prefix': c.hijack.ipv6_prefix }),
    summary: (m, s) =>
      `Session ${short(s)} was used by ${m.family} from ${m.network} ${mins(m.gap_ms)} after ${m.earlier_family} from ${m.earlier_network} used it.`,
  },
  {
    kind: 'hijack',
    rule: 'agent_change',
    title: 'Browser or system changed mid-session',
    threshold: (c) =>
      `a browser of another kind or on another system (User-Agent family) on the same network, within ${c.hijack.window_minutes} min of the session's earlier browser`,
    settings: (c) => ({ 'hijack.window_minutes': c.hijack.window_minutes }),
    summary: (m, s) => `Session ${short(s)} changed from ${m.earlier_family} to ${m.family} on ${m.network} within ${mins(m.gap_ms)}.`,
  },
  {
    kind: 'hijack',
    rule: 'two_networks',
    title: 'Session used from two networks at once',
    threshold: (c) =>
      `${c.hijack.switches} returns to a network the session used less than ${c.hijack.concurrent_seconds} s before, within ${c.hijack.window_minutes} min ` +
      `(a phone moving from Wi-Fi to its mobile network changes network once, not back and forth)`,
    settings: (c) => ({ 'hijack.switches': c.hijack.switches, 'hijack.concurrent_seconds': c.hijack.concurrent_seconds, 'hijack.window_minutes': c.hijack.window_minutes }),
    summary: (m, s) => `Session ${short(s)} went back and forth ${m.switches} times between ${m.network} and ${m.earlier_network} within ${mins(m.span_ms)}.`,
  },
  {
    kind: 'enumeration',
    rule: 'failed_ids',
    title: 'Many object ids, mostly refused',
    threshold: (c) =>
      `at least ${c.enumeration.min_ids} distinct ids of one endpoint within ${c.enumeration.window_minutes} min, ` +
      `at least ${pct(c.enumeration.failed_share)} of its requests answered ${c.enumeration.failed_statuses.join('/')}`,
    settings: (c) => ({ 'enumeration.min_ids': c.enumeration.min_ids, 'enumeration.failed_share': c.enumeration.failed_share, 'enumeration.window_minutes': c.enumeration.window_minutes }),
    summary: (m, s) => `Session ${short(s)} requested ${m.ids} distinct ids of ${m.endpoint} in ${mins(m.span_ms)}; ${m.failed} of ${m.requests} (${pct(m.failed_share)}) were refused.`,
  },
  {
    kind: 'enumeration',
    rule: 'sequential_ids',
    title: 'Object ids walked in sequence',
    threshold: (c) =>
      `${c.enumeration.sequence_run} requests in a row to one endpoint, each to a new id within ${c.enumeration.sequence_gap} of the one before, within ${c.enumeration.window_minutes} min`,
    settings: (c) => ({ 'enumeration.sequence_run': c.enumeration.sequence_run, 'enumeration.sequence_gap': c.enumeration.sequence_gap, 'enumeration.window_minutes': c.enumeration.window_minutes }),
    summary: (m, s) => `Session ${short(s)} walked ${m.run} ids of ${m.endpoint} in sequence (${m.from_id} to ${m.to_id}); ${m.failed} of ${m.requests} were refused.`,
  },
  {
    kind: 'enumeration',
    rule: 'many_ids',
    title: 'Many object ids, little else',
    threshold: (c) =>
      `at least ${c.enumeration.many_ids} distinct ids of one endpoint within ${c.enumeration.window_minutes} min, whatever the answers, ` +
      `making at least ${pct(c.enumeration.many_ids_share)} of the session's requests in that time (sessions grouped by IP + User-Agent are not judged)`,
    settings: (c) => ({ 'enumeration.many_ids': c.enumeration.many_ids, 'enumeration.many_ids_share': c.enumeration.many_ids_share, 'enumeration.window_minutes': c.enumeration.window_minutes }),
    summary: (m, s) =>
      `Session ${short(s)} requested ${m.ids} distinct ids of ${m.endpoint} in ${mins(m.span_ms)}, ${pct(m.session_share ?? 1)} of its requests; ${m.failed} of ${m.requests} were refused.`,
  },
  {
    kind: 'stuffing',
    rule: 'by_address',
    title: 'Failed logins from one address',
    threshold: (c) =>
      `at least ${c.stuffing.address_failures} failed logins from one address within ${c.stuffing.window_minutes} min, and at least ${pct(c.stuffing.address_failed_share)} of its logins failed`,
    settings: (c) => ({ 'stuffing.address_failures': c.stuffing.address_failures, 'stuffing.address_failed_share': c.stuffing.address_failed_share, 'stuffing.window_minutes': c.stuffing.window_minutes }),
    summary: (m, s) => `${m.failures} of ${m.attempts} logins from ${s} failed in ${mins(m.span_ms)}, naming ${m.accounts} accounts.`,
  },
  {
    kind: 'stuffing',
    rule: 'by_account',
    title: 'Failed logins against one account',
    threshold: (c) => `at least ${c.stuffing.account_failures} failed logins naming one account within ${c.stuffing.window_minutes} min, from any addresses`,
    settings: (c) => ({ 'stuffing.account_failures': c.stuffing.account_failures, 'stuffing.window_minutes': c.stuffing.window_minutes }),
    summary: (m, s) => `${m.failures} failed logins naming ${short(s)} in ${mins(m.span_ms)}, from ${m.addresses} addresses.`,
  },
  {
    kind: 'stuffing',
    rule: 'by_agent',
    title: 'Failed logins with one User-Agent across addresses',
    threshold: (c) =>
      `at least ${c.stuffing.agent_failures} failed logins with one User-Agent within ${c.stuffing.window_minutes} min, from at least ${c.stuffing.agent_addresses} addresses, ` +
      `naming at least ${c.stuffing.agent_accounts} accounts, and at least ${pct(c.stuffing.agent_failed_share)} of that User-Agent's logins failed`,
    settings: (c) => ({
      'stuffing.agent_failures': c.stuffing.agent_failures,
      'stuffing.agent_addresses': c.stuffing.agent_addresses,
      'stuffing.agent_accounts': c.stuffing.agent_accounts,
      'stuffing.agent_failed_share': c.stuffing.agent_failed_share,
      'stuffing.window_minutes': c.stuffing.window_minutes,
    }),
    summary: (m, s) => `${m.failures} of ${m.attempts} logins with User-Agent "${s}" failed in ${mins(m.span_ms)}, from ${m.addresses} addresses, naming ${m.accounts} accounts.`,
  },
  {
    kind: 'stuffing',
    rule: 'by_endpoint',
    title: 'Failed logins at one endpoint from sessions that only log in',
    threshold: (c) =>
      `at least ${c.stuffing.endpoint_failures} failed logins at one login endpoint within ${c.stuffing.window_minutes} min, each from a session that did nothing but log in, ` +
      `from at least ${c.stuffing.endpoint_addresses} addresses, naming at least ${c.stuffing.endpoint_accounts} accounts`,
    settings: (c) => ({
      'stuffing.endpoint_failures': c.stuffing.endpoint_failures,
      'stuffing.endpoint_addresses': c.stuffing.endpoint_addresses,
      'stuffing.endpoint_accounts': c.stuffing.endpoint_accounts,
      'stuffing.window_minutes': c.stuffing.window_minutes,
    }),
    summary: (m, s) =>
      `${m.failures} failed logins at ${s} in ${mins(m.span_ms)} came from sessions that did nothing but log in, from ${m.addresses} addresses, naming ${m.accounts} accounts.`,
  },
  {
    kind: 'scripted',
    rule: 'rate',
    title: 'A rate no person keeps',
    threshold: (c) =>
      `at least ${c.scripted.rate_per_minute * c.scripted.rate_minutes} requests within ${c.scripted.rate_minutes} minutes in a row, at least ${c.scripted.rate_per_minute / 2} in each, ` +
      `pages and static files not counted (${c.scripted.rate_per_minute * c.scripted.fallback_rate_factor} a minute for a session grouped by IP + User-Agent, which may be many people behind one address)`,
    settings: (c) => ({ 'scripted.rate_per_minute': c.scripted.rate_per_minute, 'scripted.rate_minutes': c.scripted.rate_minutes, 'scripted.fallback_rate_factor': c.scripted.fallback_rate_factor }),
    // (A stored finding measured as per_minute and minutes only reads the same.)
    summary: (m, s) =>
      `Session ${short(s)} made ${m.requests ?? Number(m.per_minute) * Number(m.minutes)} requests in ${m.minutes} minutes in a row (${m.per_minute} a minute), pages and files not counted.`,
  },
  {
    kind: 'scripted',
    rule: 'regular',
    title: 'Requests at a regular pace',
    threshold: (c) =>
      `${c.scripted.regular_gaps} gaps between requests in a row averaging at most ${c.scripted.regular_max_mean_seconds} s, ` +
      `with a spread (standard deviation / mean) of at most ${c.scripted.regular_max_cv} (a person reads, then clicks several things)`,
    settings: (c) => ({ 'scripted.regular_gaps': c.scripted.regular_gaps, 'scripted.regular_max_mean_seconds': c.scripted.regular_max_mean_seconds, 'scripted.regular_max_cv': c.scripted.regular_max_cv }),
    summary: (m, s) => `Session ${short(s)} sent ${m.gaps} requests ${gap(m.mean_ms)} apart on average, with a spread of ${m.cv}.`,
  },
  {
    kind: 'scripted',
    rule: 'no_assets',
    title: 'A browser that loads no page or file',
    threshold: (c) =>
      `a browser's User-Agent, ${c.scripted.no_assets_requests} requests without a page or a static file in the session or its linked sessions, ` +
      `gaps with a spread of at most ${c.scripted.no_assets_max_cv}, in an application whose records show at least ${c.scripted.app_assets_min} such loads ` +
      `(sessions grouped by a cookie or by IP + User-Agent only: a page load carries no Authorization header)`,
    settings: (c) => ({
      'scripted.no_assets_requests': c.scripted.no_assets_requests,
      'scripted.no_assets_max_cv': c.scripted.no_assets_max_cv,
      'scripted.app_assets_min': c.scripted.app_assets_min,
      'scripted.assets_path': c.scripted.assets_path,
    }),
    summary: (m, s) => `Session ${short(s)} claims to be ${m.family} but made ${m.requests} requests without loading a page or a file (gap spread ${m.cv}).`,
  },
  {
    kind: 'scripted',
    rule: 'churn',
    title: 'One client, many one-request sessions',
    threshold: (c) => `at least ${c.scripted.churn_sessions} sessions of one request each started by one address + User-Agent within ${c.scripted.churn_window_minutes} min`,
    settings: (c) => ({ 'scripted.churn_sessions': c.scripted.churn_sessions, 'scripted.churn_window_minutes': c.scripted.churn_window_minutes }),
    summary: (m, s) => `${s} started ${m.sessions} sessions of one request each in ${mins(m.span_ms)}.`,
  },
  {
    kind: 'scripted',
    rule: 'crawl',
    title: 'Objects of one endpoint one after another, nothing else',
    threshold: (c) =>
      `${c.scripted.crawl_requests} requests in a row, each to an id of one endpoint that the session did not open in the last ${c.enumeration.window_minutes} min, ` +
      `with no other request between, over at least ${c.scripted.crawl_min_seconds} s, no pause longer than ${c.scripted.crawl_max_gap_seconds} s ` +
      `(a person opening objects also loads their pages, files, reviews, a cart, and stops to read)`,
    settings: (c) => ({
      'scripted.crawl_requests': c.scripted.crawl_requests,
      'scripted.crawl_min_seconds': c.scripted.crawl_min_seconds,
      'scripted.crawl_max_gap_seconds': c.scripted.crawl_max_gap_seconds,
      'enumeration.window_minutes': c.enumeration.window_minutes,
    }),
    summary: (m, s) => `Session ${short(s)} requested ${m.requests} different ids of ${m.endpoint} in a row in ${mins(m.span_ms)}, nothing else between.`,
  },
];

const BY_ID = new Map(RULES.map((r) => [`${r.kind}/${r.rule}`, r]));

export function ruleInfo(kind: DetectionKind, rule: string): RuleInfo {
  const r = BY_ID.get(`${kind}/${rule}`);
  if (!r) throw new Error(`no rule ${kind}/${rule}`);
  return r;
}

/** What each kind's subject is, in words (the page's headings). */
export const SUBJECT_WORDS: Record<SubjectType, string> = {
  session: 'session',
  address: 'address',
  account: 'account',
  agent: 'User-Agent',
  client: 'address + User-Agent',
  endpoint: 'login endpoint',
};
