/**
 * The detector: runs the rules on every record the console stores, as it stores them (the
 * console's ingest calls observe() with each batch's new records), and turns the rules'
 * reports into findings. Nothing is scanned at query time: the page reads findings the store
 * keeps.
 *
 * Findings: a report opens a finding for its kind and subject (a session, an address, an
 * account, a User-Agent, an address + User-Agent) and application, or adds to the open one
 * (its sessions, its evidence up to a bound, its newest measures) while reports keep coming
 * within the rule's window. flush() hands the findings that changed since the last call to
 * the store.
 *
 * Memory is bounded: each table below holds at most its `limits` entries, the least recently
 * used going first (recent.ts); a finding names at most MAX_FINDING_SESSIONS sessions and keeps
 * MAX_EVIDENCE requests. What is let go only means that a rule starts counting again.
 */
import { randomBytes } from 'crypto';
import { SessionRecord } from '../../shared/record';
import { BlockTarget, DetectionKind, Finding, FindingUpdate, MAX_EVIDENCE, MAX_FINDING_SESSIONS, MAX_FINDING_USERS, RequestRef } from './finding';
import { DetectionConfig, detectionConfig } from './config';
import { EnumerationRules } from './enumeration';
import { HijackRules } from './hijack';
import { Recent } from './recent';
import { ruleInfo } from './rules';
import { ScriptedRules } from './scripted';
import { AgentFamilies, Logins, recordTime } from './signals';
import { Findings, OpenFinding, SessionState, Trigger } from './state';
import { ref } from './state';
import { StuffingRules } from './stuffing';

export interface DetectorLimits {
  /** Sessions remembered (hijack, scripted). */
  sessions: number;
  /** Walks of a session over an endpoint (enumeration), in all sessions. */
  walks: number;
  /** Login windows per address and per account (stuffing; a tenth of it per User-Agent). */
  logins: number;
  /** Address + User-Agent clients (churn). */
  clients: number;
  /** Findings kept open (to add to them). */
  open: number;
}

export const DEFAULT_LIMITS: DetectorLimits = { sessions: 50000, walks: 20000, logins: 20000, clients: 20000, open: 5000 };

interface Open extends OpenFinding {
  f: Finding;
  lastTs: number;
  reopenMs: number;
  named: Set<string>;
  evidence: Set<string>;
  users: Set<string>;
  /** The finding's own rule (others add their name to `rules`), and its measures. */
  rule: string;
  measure: (() => Record<string, number | string>) | null;
  /** Sessions of f.sessions already handed to the store. */
  saved: number;
}

export interface DetectorOptions {
  limits?: Partial<DetectorLimits>;
  /** Called once per new finding (the Prometheus counter). */
  onFinding?: (kind: DetectionKind, rule: string) => void;
  /** Finding ids (tests). */
  newId?: () => string;
  /** The clock of `updated` (tests). */
  now?: () => number;
}

const HEX32 = /^[0-9a-f]{32}$/;
/** Record time between two looks of the rules that name requests later (ms). */
const TICK_MS = 1000;

export class Detector {
  readonly config: DetectionConfig;
  private readonly limits: DetectorLimits;
  private readonly sessions: Recent<SessionState>;
  private readonly open: Recent<Open>;
  private readonly dirty = new Set<Open>();
  private readonly families = new AgentFamilies();
  private readonly logins: Logins;
  private readonly ignoreKeys: Set<string>;
  private readonly hijack: HijackRules;
  private readonly enumeration: EnumerationRules;
  private readonly stuffing: StuffingRules;
  private readonly scripted: ScriptedRules;
  private readonly newId: () => string;
  private readonly now: () => number;
  private readonly findings: Findings = { report: (t) => this.add(t), touch: (o, r, ts) => this.touch(o as Open, r, ts) };
  /** Records observed, findings opened (since start). */
  observed = 0;
  opened = 0;
  /** The newest record time seen (ms), and when the rules that name requests later look next. */
  private maxTs = 0;
  private nextTick = 0;

  constructor(config: DetectionConfig = detectionConfig(), private readonly opts: DetectorOptions = {}) {
    this.config = config;
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.sessions = new Recent(this.limits.sessions);
    this.open = new Recent(this.limits.open, (o) => (o.closed = true));
    this.logins = new Logins(config.login);
    this.ignoreKeys = new Set(config.hijack.ignore_keys);
    this.hijack = new HijackRules(config.hijack, this.families, this.findings);
    this.enumeration = new EnumerationRules(config.enumeration, this.findings, this.limits.walks, config.scripted.crawl_max_gap_seconds * 1000);
    this.stuffing = new StuffingRules(config.stuffing, this.logins, this.findings, this.limits.logins, (id) => this.sessions.peek(id));
    this.scripted = new ScriptedRules(config.scripted, this.families, this.findings, this.limits.clients, (id) => this.sessions.peek(id));
    this.newId = opts.newId ?? (() => randomBytes(8).toString('hex'));
    this.now = opts.now ?? Date.now;
  }

  /** What is held in memory, by table (GET /api/detections/rules shows it). */
  sizes(): Record<string, number> {
    return {
      sessions: this.sessions.size,
      walks: this.enumeration.walks,
      logins: this.stuffing.size,
      clients: this.scripted.size,
      open: this.open.size,
    };
  }

  /** Runs the rules on records newly stored, in the order given (a log's order). */
  observe(records: SessionRecord[]): void {
    if (!this.config.enabled) return;
    for (let i = 0; i < records.length; i++) this.one(records[i]);
  }

  private one(r: SessionRecord): void {
    this.observed++;
    const ts = recordTime(r.ts);
    if (ts > this.maxTs) this.maxTs = ts;
    if (this.maxTs >= this.nextTick) {
      this.tick(this.maxTs);
      this.nextTick = this.maxTs + TICK_MS;
    }
    let s = this.sessions.get(r.session);
    const started = s === undefined;
    if (s === undefined) {
      s = new SessionState(r, ts, this.ignoreKeys);
      this.sessions.set(r.session, s);
    }
    s.requests++;
    s.part = r.part;
    if (r.user !== null) s.user = r.user;
    if (started) this.scripted.started(s, r, ts);
    // Linked sessions (a login's anonymous session, a refresh's earlier token): only records
    // that name some, which most do not.
    let linked: Array<SessionState | undefined> | null = null;
    const links = r.links;
    if (links !== undefined && links.length > 0) {
      linked = [];
      for (const l of links) if (l !== r.session) linked.push(this.sessions.peek(l));
    }
    this.hijack.observe(s, r, ts);
    this.enumeration.observe(s, r, ts);
    if (this.logins.isLogin(r)) {
      s.logins++;
      this.stuffing.observe(r, ts, s.user, s.requests === s.logins);
    }
    this.scripted.observe(s, r, ts, linked);
    if (ts > s.last) s.last = ts;
  }

  /** Rules that name requests some time after them (stuffing's by_agent and by_endpoint,
   *  churn) do so as time reaches `now` (ms): record time as records arrive (each TICK_MS of it,
   *  so that what they name depends on the records alone, not on when findings are written),
   *  the clock when none do (runner.ts). */
  tick(now: number): void {
    this.stuffing.tick(now);
    this.scripted.tick(now);
  }

  /** Findings that changed since the last call, as they now stand. They are the detector's
   *  own objects, which later records change: a store writes (serializes) them at once. */
  flush(): FindingUpdate[] {
    const out: FindingUpdate[] = [];
    const now = this.now();
    for (const o of this.dirty) {
      const f = o.f;
      if (o.measure !== null) Object.assign(f.measured, o.measure());
      f.last_ts = new Date(o.lastTs).toISOString();
      f.evidence.sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0));
      f.summary = ruleInfo(f.kind, o.rule).summary(f.measured, f.subject);
      f.updated = Math.max(now, f.updated + 1);
      out.push({ finding: f, sessionsFrom: o.saved });
      o.saved = f.sessions.length;
    }
    this.dirty.clear();
    return out;
  }

  /** Findings of the store that are still recent (after a restart): reports about the same
   *  subject add to them rather than open new ones. */
  resume(findings: Finding[]): void {
    for (const f of findings) {
      const reopenMs = this.reopenOf(f.kind);
      const o: Open = {
        f: structuredClone(f),
        lastTs: Date.parse(f.last_ts),
        reopenMs,
        named: new Set(f.sessions.map((x) => x.session)),
        evidence: new Set(f.evidence.map((x) => x.request_id)),
        users: new Set(f.users),
        rule: f.rule,
        measure: null,
        saved: f.sessions.length,
        closed: false,
      };
      this.open.set(openKey(f.kind, f.app, f.subject_type, f.subject, f.rule), o);
    }
  }

  private reopenOf(kind: DetectionKind): number {
    const c = this.config;
    if (kind === 'hijack') return c.hijack.window_minutes * 60000;
    if (kind === 'enumeration') return c.enumeration.window_minutes * 60000;
    if (kind === 'stuffing') return c.stuffing.window_minutes * 60000;
    return 30 * 60000;
  }

  private add(t: Trigger): Open {
    // One finding per session and kind (its rules listed); per subject and rule otherwise.
    const key = openKey(t.kind, t.app, t.subject_type, t.subject, t.rule);
    let o = this.open.get(key);
    // Closed when the rule stayed quiet for its window, or when it names as many sessions as a
    // finding holds and the report brings another: the next finding of the subject goes on.
    if (o !== undefined && (t.ts - o.lastTs > o.reopenMs || (o.f.sessions.length >= MAX_FINDING_SESSIONS && t.sessions.some((s) => !o!.named.has(s.session))))) {
      o.closed = true;
      o = undefined;
    }
    if (o === undefined) {
      const info = ruleInfo(t.kind, t.rule);
      const iso = new Date(t.ts).toISOString();
      o = {
        f: {
          id: this.newId(),
          kind: t.kind,
          rule: t.rule,
          rules: [t.rule],
          app: t.app,
          subject_type: t.subject_type,
          subject: t.subject,
          first_ts: iso,
          last_ts: iso,
          summary: '',
          threshold: info.threshold(this.config),
          settings: info.settings(this.config),
          measured: {},
          sessions: [],
          sessions_total: 0,
          users: [],
          evidence: [],
          requests: 0,
          blocks: [],
          updated: 0,
        },
        lastTs: t.ts,
        reopenMs: t.reopenMs,
        named: new Set(),
        evidence: new Set(),
        users: new Set(),
        rule: t.rule,
        measure: null,
        saved: 0,
        closed: false,
      };
      this.open.set(key, o);
      this.opened++;
      this.opts.onFinding?.(t.kind, t.rule);
    }
    const f = o.f;
    if (!f.rules.includes(t.rule)) f.rules.push(t.rule);
    if (t.rule === o.rule) o.measure = t.measured;
    if (t.ts > o.lastTs) o.lastTs = t.ts;
    f.requests++;
    for (const s of t.sessions) {
      if (o.named.has(s.session)) continue;
      o.named.add(s.session);
      f.sessions_total++;
      if (f.sessions.length < MAX_FINDING_SESSIONS) f.sessions.push(s);
    }
    for (const u of t.users) {
      if (f.users.length < MAX_FINDING_USERS && !o.users.has(u)) {
        o.users.add(u);
        f.users.push(u);
      }
    }
    if (f.evidence.length < MAX_EVIDENCE) for (const e of t.evidence()) this.keep(o, e);
    this.dirty.add(o);
    return o;
  }

  private keep(o: Open, e: RequestRef): void {
    if (o.f.evidence.length >= MAX_EVIDENCE || o.evidence.has(e.request_id)) return;
    o.evidence.add(e.request_id);
    o.f.evidence.push(e);
  }

  /** A later request of an open finding's subject (Findings.touch). */
  private touch(o: Open, r: SessionRecord, ts: number): boolean {
    if (o.closed || ts - o.lastTs > o.reopenMs) return false;
    if (ts > o.lastTs) o.lastTs = ts;
    o.f.requests++;
    if (o.f.evidence.length < MAX_EVIDENCE) this.keep(o, ref(r));
    this.dirty.add(o);
    return true;
  }
}

function openKey(kind: string, app: string, type: string, subject: string, rule: string): string {
  // Session findings: one per session and kind, whichever of its rules fired.
  return type === 'session' ? `${kind}\n${app}\n${subject}` : `${kind}\n${rule}\n${app}\n${type}\n${subject}`;
}

/** What the analyst can block from a finding: its sessions, its users, and for an account
 *  finding the account (its user, or its keyed value). */
export function blockTargets(f: Finding): BlockTarget[] {
  const out: BlockTarget[] = [];
  for (const s of f.sessions) out.push({ kind: 'session', value: s.session, label: `session ${s.session.slice(0, 12)}…` });
  if (f.subject_type === 'account') {
    const eq = f.subject.indexOf('=');
    const hash = eq >= 0 ? f.subject.slice(eq + 1) : '';
    if (eq >= 0 && HEX32.test(hash)) out.push({ kind: 'key', value: hash, label: `the account's keyed value (${f.subject.slice(0, eq)}): locks the account out` });
    else if (eq < 0) out.push({ kind: 'user', value: f.subject, label: `user ${f.subject}: locks the account out` });
  }
  for (const u of f.users) if (!out.some((b) => b.kind === 'user' && b.value === u)) out.push({ kind: 'user', value: u, label: `user ${u}` });
  return out;
}
