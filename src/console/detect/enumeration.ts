/**
 * Object enumeration (BOLA): one session walking the ids of one endpoint. The endpoint is the
 * method and the path with its ids folded as the session page folds them (`GET /orders/N`); a
 * walk is a session's requests to one endpoint within the window. Three rules:
 *
 * - failed_ids: many distinct ids, most of them refused (401/403/404): someone guessing ids
 *   that are not theirs;
 * - sequential_ids: a run of requests each to a new id close to the one before (12, 13, 15,
 *   14, ...): someone counting, whatever the answers (an API that hands out other people's
 *   objects answers 200);
 * - many_ids: many distinct ids, whatever the answers and their order, making most of what the
 *   session did in that time: someone harvesting objects at random, at a person's pace (a
 *   scraper walking a public catalogue shows the same; its endpoint tells which). Not judged
 *   for sessions grouped by IP + User-Agent: many people behind one address open many objects.
 *
 * It also counts, for scripted.ts's crawl, the session's requests in a row each to a new id of
 * one walk (SessionState.idRun).
 *
 * A person opens a few objects, picked from a list, mostly their own: few ids, few refusals,
 * no long runs.
 */
import { SessionRecord } from '../../shared/record';
import { DetectionConfig } from './config';
import { Recent } from './recent';
import { PathIds } from './signals';
import { Findings, OpenFinding, RefRing, SessionState } from './state';

/** Requests of a walk kept in its window (the oldest go first beyond it). */
const MAX_STEPS = 64;
/** Requests of a walk kept for evidence. */
const EVIDENCE = 12;
/** Requests of a walk's window below which distinct ids are counted without a Map. */
const SMALL = 8;
/** Walks per session (the least recently used goes first). */
const WALKS_PER_SESSION = 4;

let walkIds = 0;

export class Walk {
  ts: number[] = [];
  /** The session's request count at each step (many_ids: the session's requests over the
   *  window are its count now less the one at the window's first step, plus one). */
  at: number[] = [];
  ids: Array<number | string> = [];
  failedAt: boolean[] = [];
  head = 0;
  /** Distinct ids in the window; counted with a Map once the window holds more than a few
   *  requests (most walks are one or two requests: no Map for them). */
  distinct = 0;
  private counts: Map<number | string, number> | null = null;
  failed = 0;
  run = 0;
  runFrom = 0;
  readonly prev: number[] = [];
  last = 0;
  /** Made at the walk's second request (most walks are one request: no ring for them); the
   *  first request waits in `first` until then. */
  evidence: RefRing | null = null;
  first: SessionRecord | null = null;
  /** The finding this walk went to, and which rules fired for it (bits: failed_ids 1,
   *  sequential_ids 2, many_ids 4). */
  finding: OpenFinding | null = null;
  fired = 0;
  /** Let go by the bound on walks: its session drops it when it next looks. */
  dead = false;
  readonly uid = ++walkIds;

  constructor(
    readonly method: string,
    /** PathIds.shape of the endpoint's pattern, and the pattern. */
    readonly shape: number,
    readonly pattern: string,
  ) {}

  get size(): number {
    return this.ts.length - this.head;
  }

  /** Whether the window holds this id. */
  has(id: number | string): boolean {
    if (this.counts !== null) return this.counts.has(id);
    for (let i = this.head; i < this.ids.length; i++) if (this.ids[i] === id) return true;
    return false;
  }

  /** A request to `id` (`fresh`: not in the window before). */
  add(ts: number, at: number, id: number | string, fresh: boolean, failed: boolean): void {
    this.ts.push(ts);
    this.at.push(at);
    this.ids.push(id);
    this.failedAt.push(failed);
    if (failed) this.failed++;
    if (fresh) this.distinct++;
    if (this.counts !== null) this.counts.set(id, (this.counts.get(id) ?? 0) + 1);
    else if (this.size > SMALL) {
      this.counts = new Map();
      for (let i = this.head; i < this.ids.length; i++) this.counts.set(this.ids[i], (this.counts.get(this.ids[i]) ?? 0) + 1);
    }
  }

  dropOldest(): void {
    const id = this.ids[this.head];
    if (this.failedAt[this.head]) this.failed--;
    this.head++;
    if (this.counts !== null) {
      const n = this.counts.get(id)! - 1;
      if (n === 0) {
        this.counts.delete(id);
        this.distinct--;
      } else this.counts.set(id, n);
    } else if (!this.has(id)) this.distinct--;
    if (this.head >= 32 && this.head * 2 > this.ts.length) {
      this.ts = this.ts.slice(this.head);
      this.at = this.at.slice(this.head);
      this.ids = this.ids.slice(this.head);
      this.failedAt = this.failedAt.slice(this.head);
      this.head = 0;
    }
  }
}

export class EnumerationRules {
  private readonly windowMs: number;
  private readonly failedStatuses: Set<number>;
  private readonly path = new PathIds();
  /** Every walk held, the least recently used first out: the bound on what walks hold. */
  private readonly live: Recent<Walk, number>;

  constructor(
    private readonly cfg: DetectionConfig['enumeration'],
    private readonly findings: Findings,
    maxWalks: number,
    /** crawl's run: a longer pause between two requests breaks it (scripted.crawl_max_gap_seconds). */
    private readonly crawlGapMs: number,
  ) {
    this.windowMs = cfg.window_minutes * 60000;
    this.failedStatuses = new Set(cfg.failed_statuses);
    this.live = new Recent(maxWalks, (w) => (w.dead = true));
  }

  get walks(): number {
    return this.live.size;
  }

  observe(s: SessionState, r: SessionRecord, ts: number): void {
    const p = this.path;
    if (!p.read(r.path)) {
      s.idRun = 0;
      return;
    }
    let w: Walk | null = null;
    const walks = s.walks ?? (s.walks = []);
    for (let i = 0; i < walks.length; i++) {
      const x = walks[i];
      if (x.dead) walks.splice(i--, 1);
      else if (x.shape === p.shape && x.method === r.method) w = x;
    }
    if (w === null) {
      w = new Walk(r.method, p.shape, p.pattern());
      if (walks.length >= WALKS_PER_SESSION) {
        let oldest = 0;
        for (let i = 1; i < walks.length; i++) if (walks[i].last < walks[oldest].last) oldest = i;
        this.live.delete(walks[oldest].uid);
        walks.splice(oldest, 1);
      }
      walks.push(w);
      this.live.set(w.uid, w);
    } else this.live.get(w.uid);
    w.last = ts;
    while (w.size > 0 && (ts - w.ts[w.head] > this.windowMs || w.size >= MAX_STEPS)) w.dropOldest();
    const nums = p.numbers;
    const id = p.id();
    const fresh = !w.has(id);
    if (fresh) {
      // In sequence: the first id that differs from the previous request's is a number within
      // sequence_gap of it (a retry of the same id neither extends nor breaks the run).
      let step = NaN;
      if (w.prev.length === nums.length) {
        for (let i = 0; i < nums.length; i++) {
          if (nums[i] !== w.prev[i]) {
            step = nums[i] - w.prev[i];
            break;
          }
        }
      }
      const gap = Math.abs(step);
      if (gap > 0 && gap <= this.cfg.sequence_gap && w.run > 0) w.run++;
      else {
        w.run = 1;
        w.runFrom = nums[0];
      }
      w.prev.length = 0;
      for (let i = 0; i < nums.length; i++) w.prev.push(nums[i]);
    }
    // crawl's run: a new id of the walk the session's previous request went to, soon after it.
    if (fresh && s.idRun > 0 && s.idRunWalk === w && ts - s.last <= this.crawlGapMs) s.idRun++;
    else if (fresh) {
      s.idRun = 1;
      s.idRunFrom = ts;
      s.idRunWalk = w;
    } else s.idRun = 0;
    w.add(ts, s.requests, id, fresh, this.failedStatuses.has(r.status));
    if (w.evidence !== null) w.evidence.push(r);
    else if (w.first === null) w.first = r;
    else {
      w.evidence = new RefRing(EVIDENCE);
      w.evidence.push(w.first);
      w.evidence.push(r);
      w.first = null;
    }

    const failedIds = w.distinct >= this.cfg.min_ids && w.failed / w.size >= this.cfg.failed_share;
    const sequential = w.run >= this.cfg.sequence_run;
    const manyIds = !s.fallback && this.cfg.many_ids > 0 && w.distinct >= this.cfg.many_ids && w.size >= this.cfg.many_ids_share * (s.requests - w.at[w.head] + 1);
    if (!failedIds && !sequential && !manyIds) return;
    // The walk's open finding takes the request; a rule that fires for the first time, or a
    // closed finding, makes a report.
    const bits = (failedIds ? 1 : 0) | (sequential ? 2 : 0) | (manyIds ? 4 : 0);
    if (w.finding !== null && (w.fired & bits) === bits && this.findings.touch(w.finding, r, ts)) return;
    if (w.finding !== null && w.finding.closed) w.fired = 0;
    if (failedIds && !(w.fired & 1)) this.fire(s, 'failed_ids', w, ts, 1);
    if (sequential && !(w.fired & 2)) this.fire(s, 'sequential_ids', w, ts, 2);
    if (manyIds && !(w.fired & 4)) this.fire(s, 'many_ids', w, ts, 4);
  }

  private fire(s: SessionState, rule: string, w: Walk, ts: number, bit: number): void {
    w.fired |= bit;
    const sequence = { run: w.run, from_id: w.runFrom, to_id: w.prev[0] };
    w.finding = this.findings.report({
      kind: 'enumeration',
      rule,
      app: s.app,
      subject_type: 'session',
      subject: s.session,
      ts,
      sessions: s.named(),
      users: s.users(),
      evidence: () => (w.evidence === null ? [] : w.evidence.refs()),
      measured: () => {
        const n = w.size;
        const m: Record<string, number | string> = {
          endpoint: w.method + ' ' + w.pattern,
          ids: w.distinct,
          requests: n,
          failed: w.failed,
          failed_share: n > 0 ? Math.round((w.failed / n) * 100) / 100 : 0,
          span_ms: n > 0 ? w.last - w.ts[w.head] : 0,
        };
        // many_ids: the walk's share of the session's requests over the window.
        if (bit === 4 && n > 0) m.session_share = Math.round((n / (s.requests - w.at[w.head] + 1)) * 100) / 100;
        if (bit === 2) {
          // The run as it stands (or as it was when it fired, once it broke).
          if (w.runFrom === sequence.from_id && w.run >= sequence.run) {
            sequence.run = w.run;
            sequence.to_id = w.prev[0];
          }
          Object.assign(m, sequence);
        }
        return m;
      },
      reopenMs: this.windowMs,
    });
  }
}
