/**
 * Scripted clients: sessions a program drives, told by how they go rather than by what they
 * claim to be (a User-Agent is one header away from anything). Five rules:
 *
 * - rate: many requests over a few minutes in a row, and many in each of them: a person stops
 *   to read (pages and static files are not counted: a browser loads dozens at once);
 * - regular: a long run of gaps between requests that hardly vary (a loop with a sleep): a
 *   person clicks several things, then reads;
 * - no_assets: a browser's User-Agent on a session that never loads a page or a static file
 *   (nor do its linked sessions), at a pace without a person's pauses, in an application whose
 *   records do show such loads;
 * - churn: one address + User-Agent starting many sessions of one request each (a program that
 *   drops the cookie each response sets, or logs in afresh each time);
 * - crawl: a long run of requests, each to another object of one endpoint, with nothing else
 *   between, over a minute or more (a program walking a list of ids, whatever its pace): a
 *   person opening objects also opens their pages, files, reviews, a cart.
 *
 * Sessions grouped by IP + User-Agent may be many people behind one address: rate asks more of
 * them (scripted.fallback_rate_factor); their merged requests are anything but regular.
 */
import { SessionRecord } from '../../shared/record';
import { DetectionConfig } from './config';
import { RequestRef } from './finding';
import { Recent } from './recent';
import { AgentFamilies, PageLoads } from './signals';
import { Findings, RefRing, SessionState } from './state';

/** Sessions remembered per client for churn (the newest ones): twice the threshold, at least 64. */
const CHURN_KEPT_MIN = 64;
/** A session counts for churn once it is this old and still has one request. */
const CHURN_SETTLE_MS = 10000;
/** Gaps longer than this are cut to it (an hour: keeps the sums exact in doubles). */
const MAX_GAP_MS = 3600000;

/** One address + User-Agent's newest sessions: ids, parts, start times, whether named (kept as
 *  plain values: a client never holds a session's state beyond the detector's bound), and the
 *  first requests of the newest ones for evidence. */
class ChurnClient {
  ids: string[] = [];
  parts: string[] = [];
  firsts: number[] = [];
  named: boolean[] = [];
  /** The first requests of its newest sessions, from its second session on (most clients
   *  start one). */
  starts: RefRing | null = null;
  /** When the client last met the threshold (its settled one-request sessions are named until
   *  a window after it), and what it showed then. */
  hitAt = -Infinity;
  app = '';
  subject = '';
  measured: Record<string, number> = {};
}

export class ScriptedRules {
  private readonly c: DetectionConfig['scripted'];
  private readonly pageLoads: PageLoads;
  private readonly apps = new Map<string, number>();
  private readonly clients: Recent<ChurnClient>;
  /** Clients whose one-request sessions are being named (tick). */
  private readonly churning = new Set<ChurnClient>();
  private readonly churnMs: number;
  private readonly gaps: number;

  constructor(
    cfg: DetectionConfig['scripted'],
    private readonly families: AgentFamilies,
    private readonly findings: Findings,
    maxClients: number,
    /** The detector's state of a session, when it still holds it. */
    private readonly session: (id: string) => SessionState | undefined,
  ) {
    this.c = cfg;
    this.pageLoads = new PageLoads(cfg.assets_path);
    this.clients = new Recent(maxClients);
    this.churnMs = cfg.churn_window_minutes * 60000;
    this.gaps = cfg.regular_gaps;
  }

  get size(): number {
    return this.clients.size;
  }

  /** A session seen for the first time (or again after it was let go). */
  started(s: SessionState, r: SessionRecord, ts: number): void {
    if (s.fallback) return;
    const key = r.app + '\n' + r.ip + '\n' + (r.ua ?? '');
    let cl = this.clients.get(key);
    if (cl === undefined) {
      cl = new ChurnClient();
      this.clients.set(key, cl);
    }
    cl.ids.push(s.session);
    cl.parts.push(s.part);
    cl.firsts.push(ts);
    cl.named.push(false);
    // Evidence from the client's second session on (most clients start one).
    if (cl.ids.length > 1) (cl.starts ?? (cl.starts = new RefRing(20))).push(r);
    if (cl.ids.length > Math.max(CHURN_KEPT_MIN, 2 * this.c.churn_sessions)) {
      cl.ids.shift();
      cl.parts.shift();
      cl.firsts.shift();
      cl.named.shift();
    }
    let singles = 0;
    let oldest = ts;
    for (let i = 0; i < cl.ids.length; i++) {
      const first = cl.firsts[i];
      if (ts - first >= CHURN_SETTLE_MS && ts - first <= this.churnMs && this.single(cl.ids[i])) {
        singles++;
        oldest = Math.min(oldest, first);
      }
    }
    if (singles < this.c.churn_sessions) return;
    cl.hitAt = ts;
    cl.app = r.app;
    cl.subject = `${r.ip} ${r.ua ?? '(no User-Agent)'}`.slice(0, 512);
    cl.measured = { sessions: singles, span_ms: ts - oldest };
    // Bounded like the rest: beyond 1000 clients at once, the newest are named when they next start a session.
    if (this.churning.size < 1000) this.churning.add(cl);
    this.nameChurn(cl, ts);
  }

  /** A session of one request, as far as the detector still knows it. */
  private single(id: string): boolean {
    const x = this.session(id);
    return x !== undefined && x.requests <= 1;
  }

  /** Names the client's settled one-request sessions not named yet. */
  private nameChurn(cl: ChurnClient, now: number): void {
    const named: Array<{ session: string; part: string }> = [];
    let newest = cl.hitAt;
    for (let i = 0; i < cl.ids.length; i++) {
      const first = cl.firsts[i];
      if (cl.named[i] || now - first < CHURN_SETTLE_MS || first < cl.hitAt - this.churnMs || !this.single(cl.ids[i])) continue;
      cl.named[i] = true;
      named.push({ session: cl.ids[i], part: cl.parts[i] });
      newest = Math.max(newest, first);
    }
    // Evidence: the first requests of the client's newest sessions (its one-request sessions,
    // and perhaps the last few, not settled yet).
    const evidence = cl.starts === null ? [] : cl.starts.refs();
    if (named.length === 0) return;
    const measured = cl.measured;
    this.findings.report({
      kind: 'scripted',
      rule: 'churn',
      app: cl.app,
      subject_type: 'client',
      subject: cl.subject,
      ts: newest,
      sessions: named,
      users: [],
      evidence: () => evidence,
      measured: () => measured,
      reopenMs: this.churnMs,
    });
  }

  /** Names what settled by `now` (record time, or the clock): the last sessions of a client
   *  that stopped are named too. */
  tick(now: number): void {
    for (const cl of this.churning) {
      this.nameChurn(cl, now);
      if (now - cl.hitAt > this.churnMs + CHURN_SETTLE_MS) this.churning.delete(cl);
    }
  }

  /** Marks the session (and its linked ones) as having loaded a page or a file. */
  private loaded(s: SessionState, linked: Array<SessionState | undefined> | null): void {
    s.assets = true;
    if (linked !== null) for (const x of linked) if (x) x.assets = true;
  }

  observe(s: SessionState, r: SessionRecord, ts: number, linked: Array<SessionState | undefined> | null): void {
    const c = this.c;
    // Pages and files: the application's count, the session's mark (shared along links).
    const page = this.pageLoads.test(r);
    if (page) {
      if (this.apps.size < 10000 || this.apps.has(r.app)) this.apps.set(r.app, (this.apps.get(r.app) ?? 0) + 1);
      this.loaded(s, linked);
    } else if (linked !== null) {
      for (const x of linked) if (x && x.assets) s.assets = true;
      if (s.assets) this.loaded(s, linked);
    }

    // rate: requests other than pages and files per whole minute, the last rate_minutes minutes.
    const rate = s.fallback ? c.rate_per_minute * c.fallback_rate_factor : c.rate_per_minute;
    const atRate = !page && this.count(s, Math.floor(ts / 60000)) && this.atRate(s, rate);

    // regular: the last `gaps` gaps, their sum and sum of squares kept as they slide.
    if (s.requests > 1) {
      const gap = Math.min(MAX_GAP_MS, Math.max(0, ts - s.last));
      const g = s.gaps ?? (s.gaps = new Float64Array(this.gaps));
      if (s.gapCount === this.gaps) {
        const old = g[s.gapAt];
        s.gapSum -= old;
        s.gapSq -= old * old;
      } else s.gapCount++;
      g[s.gapAt] = gap;
      s.gapSum += gap;
      s.gapSq += gap * gap;
      s.gapAt = (s.gapAt + 1) % this.gaps;
    }
    s.remember(r);

    let bits = 0;
    if (atRate) bits |= 1;
    let cv = 0;
    if (s.gapCount === this.gaps) {
      const mean = s.gapSum / this.gaps;
      const regular = mean <= c.regular_max_mean_seconds * 1000;
      const bare = !s.assets && s.cookieKeyed && s.requests >= c.no_assets_requests;
      // The spread only when a rule could use it (most sessions: neither).
      if (regular || bare) {
        const variance = Math.max(0, s.gapSq / this.gaps - mean * mean);
        cv = mean > 0 ? Math.sqrt(variance) / mean : 0;
      }
      if (regular && cv <= c.regular_max_cv) bits |= 2;
      if (bare && cv <= c.no_assets_max_cv && (this.apps.get(s.app) ?? 0) >= c.app_assets_min) {
        if (s.browser === null) {
          const f = this.families.of(r.ua);
          s.browser = f.browser;
          s.family = f.name;
        }
        if (s.browser) bits |= 4;
      }
    }
    // crawl: enumeration.ts counts the run (it reads the path's ids).
    if (c.crawl_requests > 0 && s.idRun >= c.crawl_requests && ts - s.idRunFrom >= c.crawl_min_seconds * 1000) bits |= 8;
    if (bits === 0) return;
    // The session's open finding takes the request; a rule that fires for the first time, or a
    // closed finding, makes a report.
    if (s.scripted !== null && (s.scriptedRules & bits) === bits && this.findings.touch(s.scripted, r, ts)) return;
    if (s.scripted !== null && s.scripted.closed) s.scriptedRules = 0;
    if (bits & 1 && !(s.scriptedRules & 1)) {
      const requests = this.rateSum(s);
      this.fire(s, 'rate', ts, 1, () => ({ requests, minutes: c.rate_minutes, per_minute: Math.round(requests / c.rate_minutes) }));
    }
    if (bits & 2 && !(s.scriptedRules & 2)) this.fire(s, 'regular', ts, 2, () => ({ gaps: this.gaps, mean_ms: Math.round(s.gapSum / this.gaps), cv: this.cv(s) }));
    if (bits & 4 && !(s.scriptedRules & 4)) this.fire(s, 'no_assets', ts, 4, () => ({ family: s.family, requests: s.requests, cv: this.cv(s) }));
    if (bits & 8 && !(s.scriptedRules & 8)) {
      const w = s.idRunWalk!;
      const measured = { endpoint: w.method + ' ' + w.pattern, requests: s.idRun, span_ms: ts - s.idRunFrom };
      this.fire(s, 'crawl', ts, 8, () => measured);
    }
  }

  /** Counts a request of `minute` (rate). False when the current minute is under half the rate
   *  (cheap: most requests stop there). */
  private count(s: SessionState, minute: number): boolean {
    const k = this.c.rate_minutes - 1;
    if (minute > s.minute) {
      // A new minute: the one that ends goes to the minutes before (when it is one of them),
      // minutes without requests count 0.
      if (k > 0 && s.minute >= 0) {
        const m = s.minutes ?? (s.minutes = new Uint32Array(k));
        if (minute - s.minute > k) m.fill(0);
        else {
          m[s.minute % k] = s.minuteCount;
          for (let x = s.minute + 1; x < minute; x++) m[x % k] = 0;
        }
      }
      s.minute = minute;
      s.minuteCount = 0;
    }
    if (minute === s.minute) s.minuteCount++;
    // A record a little out of order: its minute, when still kept.
    else if (s.minutes !== null && s.minute - minute <= k) s.minutes[minute % k]++;
    return s.minuteCount * 2 >= this.c.rate_per_minute;
  }

  /** rate: the last rate_minutes minutes at least `rate` a minute in all, half of it in each. */
  private atRate(s: SessionState, rate: number): boolean {
    if (s.minuteCount * 2 < rate) return false;
    const m = s.minutes;
    if (m === null) return this.c.rate_minutes === 1 && s.minuteCount >= rate;
    let sum = s.minuteCount;
    for (let i = 0; i < m.length; i++) {
      if (m[i] * 2 < rate) return false;
      sum += m[i];
    }
    return sum >= rate * this.c.rate_minutes;
  }

  private rateSum(s: SessionState): number {
    let sum = s.minuteCount;
    if (s.minutes !== null) for (let i = 0; i < s.minutes.length; i++) sum += s.minutes[i];
    return sum;
  }

  private cv(s: SessionState): number {
    if (s.gapCount === 0) return 0;
    const mean = s.gapSum / s.gapCount;
    const variance = Math.max(0, s.gapSq / s.gapCount - mean * mean);
    return mean > 0 ? Math.round((Math.sqrt(variance) / mean) * 100) / 100 : 0;
  }

  private fire(s: SessionState, rule: string, ts: number, bit: number, measured: () => Record<string, number | string>): void {
    s.scriptedRules |= bit;
    // The figures as they were when it fired, then as the session goes on while the rule holds.
    const first = measured();
    s.scripted = this.findings.report({
      kind: 'scripted',
      rule,
      app: s.app,
      subject_type: 'session',
      subject: s.session,
      ts,
      sessions: s.named(),
      users: s.users(),
      evidence: () => s.recent(),
      measured: () => first,
      reopenMs: 30 * 60000,
    });
  }
}
