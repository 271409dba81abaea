/**
 * Credential stuffing and brute force: failed logins (logins and failures as the configuration
 * defines them: signals.ts, Logins), counted over a window by what they have in common:
 *
 * - by_address: many failures from one address, and most of its logins failing: a tool trying
 *   lists of accounts, or one account's passwords. Twenty people behind one NAT log in too, but
 *   they mostly succeed, and a few typos do not reach the count. It names every login of the
 *   address in the window, its successes too (accounts the tool got into);
 * - by_account: many failures naming one account, from any number of addresses: a password
 *   guessed for one person, also from a pool of proxies;
 * - by_agent: many failures with one User-Agent from several addresses, for many accounts,
 *   most of that User-Agent's logins failing: a stuffing tool behind rotating proxies. A common
 *   browser's User-Agent is also that of people mistyping their password at the same time, so
 *   its attempts are named a minute after they happen (SETTLE_MS), and not those of a person:
 *   an address that then logged in to the account it had failed on, or a session that did
 *   more than log in (browsed, loaded a page or a file) as a tool does not;
 * - by_endpoint: many failed logins at one login endpoint, fleet-wide, each from a session that
 *   did nothing but log in (no page, no other request before or after), from many addresses,
 *   naming many accounts: a tool that takes a new address and User-Agent for every attempt, too
 *   slow to show from any one of them. A person's failed login comes from a session that loaded
 *   the login page or browsed first. Named a minute after they happen (SETTLE_MS), without the
 *   sessions that did more by then.
 *
 * The account a login names is the record's `user`, else a parameter named like a user name or
 * an email (login.account_params); without either, by_account cannot count and the others
 * count failures only.
 */
import { SessionRecord } from '../../shared/record';
import { DetectionConfig } from './config';
import { RequestRef, SubjectType } from './finding';
import { Recent } from './recent';
import { Logins } from './signals';
import { Findings, SessionState, ref } from './state';

/** Attempts kept per window at least (a tool's thousands are counted by the newest ones); twice
 *  the largest threshold when that is more. */
const MIN_KEPT = 100;
/** Failed attempts' requests kept for evidence per window. */
const EVIDENCE = 20;
/** by_agent names an attempt this long after it (record time), once it is known whether its
 *  address then logged in to the account it failed on. */
export const SETTLE_MS = 60000;
/** A session with this many requests other than logins is a person's (by_agent). */
const PERSON_REQUESTS = 3;
/** Login endpoints counted by by_endpoint (an application has a few) ... */
const MAX_ENDPOINTS = 100;
/** ... and the attempts each keeps at least: a minute of a flood by other tools (named by
 *  other rules) must not push a slow tool's attempts out before they settle. */
const ENDPOINT_KEPT = 1000;

interface Attempt {
  ts: number;
  failed: boolean;
  account: string | null;
  ip: string;
  ref: RequestRef;
  /** Looked at by by_agent's naming (named, or left out as a person's). */
  settled?: boolean;
}

function inc(m: Map<string, number>, k: string, d: number): void {
  const n = (m.get(k) ?? 0) + d;
  if (n <= 0) m.delete(k);
  else m.set(k, n);
}

/** The logins of one address, account or User-Agent within the window. */
class LoginWindow {
  attempts: Attempt[] = [];
  head = 0;
  failures = 0;
  /** Failed attempts per account and per address. */
  failedAccounts = new Map<string, number>();
  failedIps = new Map<string, number>();
  /** When a finding was last reported from this window (its later failures add to it). */
  reportedAt = -Infinity;
  /** by_agent: the window's application and User-Agent, its newest measures, and the time of
   *  its newest failure that met the thresholds (attempts up to it are named once settled). */
  app = '';
  ua = '';
  measured: Record<string, number> = {};
  activeUntil = -Infinity;

  get size(): number {
    return this.attempts.length - this.head;
  }

  add(a: Attempt, windowMs: number, kept: number): void {
    while (this.size > 0 && (a.ts - this.attempts[this.head].ts > windowMs || this.size >= kept)) this.drop();
    this.attempts.push(a);
    if (a.failed) {
      this.failures++;
      if (a.account !== null) inc(this.failedAccounts, a.account, 1);
      inc(this.failedIps, a.ip, 1);
    }
  }

  private drop(): void {
    const a = this.attempts[this.head++];
    if (a.failed) {
      this.failures--;
      if (a.account !== null) inc(this.failedAccounts, a.account, -1);
      inc(this.failedIps, a.ip, -1);
    }
    if (this.head > 64 && this.head * 2 > this.attempts.length) {
      this.attempts = this.attempts.slice(this.head);
      this.head = 0;
    }
  }

  /** The attempts in the window from its first failure on, oldest first. */
  sinceFailure(): Attempt[] {
    let i = this.head;
    while (i < this.attempts.length && !this.attempts[i].failed) i++;
    return this.attempts.slice(i);
  }
}

export class StuffingRules {
  private readonly windowMs: number;
  /** Attempts a window keeps (by_endpoint's: endpointKept). */
  private readonly kept: number;
  private readonly endpointKept: number;
  private readonly byAddress: Recent<LoginWindow>;
  private readonly byAccount: Recent<LoginWindow>;
  private readonly byAgent: Recent<LoginWindow>;
  /** by_endpoint: the failed logins of sessions that did nothing but log in, per login endpoint. */
  private readonly byEndpoint: Recent<LoginWindow>;
  /** by_agent and by_endpoint windows whose attempts are being named (tick). */
  private readonly activeAgents = new Set<LoginWindow>();
  private readonly activeEndpoints = new Set<LoginWindow>();

  constructor(
    private readonly cfg: DetectionConfig['stuffing'],
    readonly logins: Logins,
    private readonly findings: Findings,
    maxWindows: number,
    /** The detector's state of a session, when it still holds it. */
    private readonly session: (id: string) => SessionState | undefined,
  ) {
    this.windowMs = cfg.window_minutes * 60000;
    this.kept = Math.max(MIN_KEPT, 2 * Math.max(cfg.address_failures, cfg.account_failures, cfg.agent_failures, cfg.endpoint_failures));
    this.byAddress = new Recent(maxWindows);
    this.byAccount = new Recent(maxWindows);
    this.byAgent = new Recent(Math.max(100, maxWindows / 10));
    this.byEndpoint = new Recent(MAX_ENDPOINTS);
    this.endpointKept = Math.max(ENDPOINT_KEPT, this.kept);
  }

  get size(): number {
    return this.byAddress.size + this.byAccount.size + this.byAgent.size + this.byEndpoint.size;
  }

  /** A login request (Logins.isLogin); `bare`: its session did nothing but log in so far. */
  observe(r: SessionRecord, ts: number, user: string | null, bare: boolean): void {
    const failed = this.logins.failed(r);
    const account = this.logins.account(r);
    const a: Attempt = { ts, failed, account, ip: r.ip, ref: ref(r) };
    const c = this.cfg;

    const byAddress = this.window(this.byAddress, r.app + '\n' + r.ip);
    byAddress.add(a, this.windowMs, this.kept);
    // A finding's subject stays reported for the window: its later logins, successes too (an
    // account the tool got into), go to the finding.
    const addressHit = failed && byAddress.failures >= c.address_failures && byAddress.failures / byAddress.size >= c.address_failed_share;
    if (addressHit || ts - byAddress.reportedAt <= this.windowMs) {
      this.fire(r, 'by_address', 'address', r.ip, byAddress, ts, addressHit, user, {
        failures: byAddress.failures,
        attempts: byAddress.size,
        accounts: byAddress.failedAccounts.size,
      });
    }

    if (account !== null) {
      const byAccount = this.window(this.byAccount, r.app + '\n' + account);
      byAccount.add(a, this.windowMs, this.kept);
      const accountHit = failed && byAccount.failures >= c.account_failures;
      if (accountHit || ts - byAccount.reportedAt <= this.windowMs) {
        this.fire(r, 'by_account', 'account', account, byAccount, ts, accountHit, user, { failures: byAccount.failures, addresses: byAccount.failedIps.size });
      }
    }

    if (r.ua !== null) {
      const byAgent = this.window(this.byAgent, r.app + '\n' + r.ua);
      byAgent.add(a, this.windowMs, this.kept);
      if (
        failed &&
        byAgent.failures >= c.agent_failures &&
        byAgent.failedIps.size >= c.agent_addresses &&
        byAgent.failedAccounts.size >= c.agent_accounts &&
        byAgent.failures / byAgent.size >= c.agent_failed_share
      ) {
        byAgent.app = r.app;
        byAgent.ua = r.ua;
        byAgent.activeUntil = ts;
        byAgent.measured = {
          failures: byAgent.failures,
          attempts: byAgent.size,
          addresses: byAgent.failedIps.size,
          accounts: byAgent.failedAccounts.size,
          span_ms: ts - byAgent.attempts[byAgent.head].ts,
        };
        this.activeAgents.add(byAgent);
      }
    }

    if (failed && bare && c.endpoint_failures > 0) {
      const endpoint = r.method + ' ' + r.path;
      const w = this.window(this.byEndpoint, r.app + '\n' + endpoint);
      // Its own copy: an attempt is settled once per window that names it.
      w.add({ ...a }, this.windowMs, this.endpointKept);
      if (w.failures >= c.endpoint_failures && w.failedIps.size >= c.endpoint_addresses && w.failedAccounts.size >= c.endpoint_accounts) {
        w.app = r.app;
        w.ua = endpoint;
        w.activeUntil = ts;
        w.measured = { failures: w.failures, addresses: w.failedIps.size, accounts: w.failedAccounts.size, span_ms: ts - w.attempts[w.head].ts };
        if (this.activeEndpoints.size < MAX_ENDPOINTS) this.activeEndpoints.add(w);
      }
    }
  }

  /**
   * by_agent's and by_endpoint's naming, as record time reaches `now`: the attempts of active
   * windows that are SETTLE_MS old, except those of people. by_agent: not addresses that logged
   * in to the accounts they failed on (people who mistyped), nor sessions that did more than log
   * in; a tool's success among them is named too (an account it got into). by_endpoint: only
   * sessions that still did nothing but log in.
   */
  tick(now: number): void {
    for (const w of this.activeAgents) {
      let people: Set<string> | null = null;
      this.settle(w, now, this.activeAgents, 'by_agent', 'agent', (a) => {
        if (people === null) people = personAddresses(w);
        if (people.has(a.ip)) return false;
        const s = this.session(a.ref.session);
        return s === undefined || (!s.assets && s.requests - s.logins < PERSON_REQUESTS);
      });
    }
    for (const w of this.activeEndpoints) {
      this.settle(w, now, this.activeEndpoints, 'by_endpoint', 'endpoint', (a) => {
        const s = this.session(a.ref.session);
        return s === undefined || s.requests === s.logins;
      });
    }
  }

  /** Names the window's attempts settled by `now` that `tool` keeps; lets the window go from
   *  `active` once its last attempt is settled and its window has passed. */
  private settle(w: LoginWindow, now: number, active: Set<LoginWindow>, rule: string, type: SubjectType, tool: (a: Attempt) => boolean): void {
    const named: Attempt[] = [];
    let pending = false;
    for (let i = w.head; i < w.attempts.length; i++) {
      const a = w.attempts[i];
      if (a.settled || a.ts > w.activeUntil) continue;
      if (a.ts > now - SETTLE_MS) {
        pending = true;
        continue;
      }
      a.settled = true;
      if (tool(a)) named.push(a);
    }
    if (named.length > 0) this.name(w.app, rule, type, w.ua, named, named[named.length - 1].ts, null, w.measured);
    if (!pending && now - w.activeUntil > this.windowMs) active.delete(w);
  }

  private window(m: Recent<LoginWindow>, key: string): LoginWindow {
    let w = m.get(key);
    if (w === undefined) {
      w = new LoginWindow();
      m.set(key, w);
    }
    return w;
  }

  private fire(
    r: SessionRecord,
    rule: string,
    type: SubjectType,
    subject: string,
    w: LoginWindow,
    ts: number,
    hit: boolean,
    user: string | null,
    measured: Record<string, number>,
  ): void {
    // The first report names the window's attempts from its first failure on; later ones the
    // new attempt only (the detector adds it to the open finding). Only an attempt that meets
    // the thresholds keeps the subject reported: logins after the attack stop go nowhere.
    const continuing = ts - w.reportedAt <= this.windowMs;
    if (hit) w.reportedAt = ts;
    const attempts = continuing ? [w.attempts[w.attempts.length - 1]] : w.sinceFailure();
    this.name(r.app, rule, type, subject, attempts, ts, user, { ...measured, span_ms: ts - w.attempts[w.head].ts });
  }

  private name(app: string, rule: string, type: SubjectType, subject: string, attempts: Attempt[], ts: number, user: string | null, measured: Record<string, number>): void {
    const sessions: Array<{ session: string; part: string }> = [];
    const seen = new Set<string>();
    for (const x of attempts) {
      if (!seen.has(x.ref.session)) {
        seen.add(x.ref.session);
        sessions.push({ session: x.ref.session, part: x.ref.part });
      }
    }
    this.findings.report({
      kind: 'stuffing',
      rule,
      app,
      subject_type: type,
      subject: subject.length > 512 ? subject.slice(0, 512) : subject,
      ts,
      sessions,
      users: user !== null ? [user] : [],
      evidence: () => attempts.slice(-EVIDENCE).map((x) => x.ref),
      measured: () => measured,
      reopenMs: this.windowMs,
    });
  }
}

/** Addresses of a window that look like people: each logged in to the account(s) it failed on. */
function personAddresses(w: LoginWindow): Set<string> {
  const ok = new Map<string, Set<string | null>>();
  for (let i = w.head; i < w.attempts.length; i++) {
    const a = w.attempts[i];
    if (a.failed) continue;
    let s = ok.get(a.ip);
    if (!s) ok.set(a.ip, (s = new Set()));
    s.add(a.account);
  }
  const out = new Set<string>();
  for (const [ip, accounts] of ok) {
    let person = true;
    for (let i = w.head; i < w.attempts.length && person; i++) {
      const a = w.attempts[i];
      if (a.ip === ip && a.failed && !accounts.has(a.account)) person = false;
    }
    if (person) out.add(ip);
  }
  return out;
}
