/**
 * What the rules remember of a session between its records: one object per recently active
 * session (the detector holds a bounded number of them, detector.ts), with a part for each
 * rule. Plain fields, set in place: the rules run on every ingested record.
 */
import { SessionRecord } from '../../shared/record';
import { FALLBACK_KEYS } from '../store/types';
import { BlockTarget, DetectionKind, RequestRef, SubjectType } from './finding';
import type { Walk } from './enumeration';

/** A rule's report to the detector: it fired for a subject, with what it saw. */
export interface Trigger {
  kind: DetectionKind;
  rule: string;
  app: string;
  subject_type: SubjectType;
  subject: string;
  /** The triggering request's time (ms). */
  ts: number;
  sessions: Array<{ session: string; part: string }>;
  users: string[];
  /** The requests that made it (called only while the finding has room for more). */
  evidence: () => RequestRef[];
  /** What the rule measured, read when the finding is written (so, the newest values of the
   *  state it reads: no object per request). */
  measured: () => Record<string, number | string>;
  /** A finding of the same rule and subject whose last request is older than this is closed:
   *  the next trigger opens a new one. */
  reopenMs: number;
  /** Grouping values that can be blocked (hashed parameters of the triggering request). */
  keys?: BlockTarget[];
}

/** The finding a report went to, for the rule to add later requests to it (Findings.touch). */
export interface OpenFinding {
  /** Replaced by a newer finding of its subject, or let go: reports open a new one. */
  closed: boolean;
}

/** What the rules report to (the detector). */
export interface Findings {
  /** Opens a finding for the trigger's subject, or adds to the open one. */
  report(t: Trigger): OpenFinding;
  /** Adds a later request of the subject to its open finding: its time, a count, the request as
   *  evidence while there is room. False when the finding is closed (report again instead). */
  touch(o: OpenFinding, r: SessionRecord, ts: number): boolean;
}

export function ref(r: SessionRecord): RequestRef {
  return { session: r.session, part: r.part, request_id: r.request_id, ts: r.ts, method: r.method, path: r.path, status: r.status, ip: r.ip, ua: r.ua };
}

const FALLBACK = new Set(FALLBACK_KEYS);

/**
 * The newest requests of something (a session, a walk), for evidence: the fields of each kept in
 * arrays of a fixed size, so that remembering a request allocates nothing (the strings are the
 * record's own); RequestRefs are made only when a rule fires.
 */
export class RefRing {
  private at = 0;
  private n = 0;
  /** FIELDS values per request, one array for all (one allocation). */
  private readonly slots: Array<string | number | null>;

  constructor(private readonly size: number) {
    this.slots = new Array(size * FIELDS);
  }

  push(r: SessionRecord): void {
    const o = this.at * FIELDS;
    const x = this.slots;
    x[o] = r.session;
    x[o + 1] = r.part;
    x[o + 2] = r.request_id;
    x[o + 3] = r.ts;
    x[o + 4] = r.method;
    x[o + 5] = r.path;
    x[o + 6] = r.status;
    x[o + 7] = r.ip;
    x[o + 8] = r.ua;
    this.at = (this.at + 1) % this.size;
    if (this.n < this.size) this.n++;
  }

  /** The requests kept, oldest first. */
  refs(): RequestRef[] {
    const out: RequestRef[] = [];
    const x = this.slots;
    for (let k = 0; k < this.n; k++) {
      const o = ((this.at - this.n + k + this.size) % this.size) * FIELDS;
      out.push({
        session: x[o] as string,
        part: x[o + 1] as string,
        request_id: x[o + 2] as string,
        ts: x[o + 3] as string,
        method: x[o + 4] as string,
        path: x[o + 5] as string,
        status: x[o + 6] as number,
        ip: x[o + 7] as string,
        ua: x[o + 8] as string | null,
      });
    }
    return out;
  }
}

const FIELDS = 9;

/** One client of a session for the hijack rules: a network and a User-Agent family, with its
 *  last request (copied field by field: no object per request). */
export class Client {
  requests = 0;
  first = 0;
  last = 0;
  /** The finding a hijack rule named this client in: its later requests go to it. */
  finding: OpenFinding | null = null;
  lastId = '';
  lastTs = '';
  lastPart = '';
  lastMethod = '';
  lastPath = '';
  lastStatus = 0;
  lastIp = '';
  lastUa: string | null = null;

  constructor(
    readonly net: string,
    readonly family: string,
    readonly browser: boolean,
    /** The system its User-Agent names, null when none. */
    readonly os: string | null,
    /** An app's in-app browser. */
    readonly webview: boolean,
  ) {}

  touch(r: SessionRecord, ts: number): void {
    if (this.requests === 0) this.first = ts;
    this.requests++;
    if (ts >= this.last) {
      this.last = ts;
      this.lastId = r.request_id;
      this.lastTs = r.ts;
      this.lastPart = r.part;
      this.lastMethod = r.method;
      this.lastPath = r.path;
      this.lastStatus = r.status;
      this.lastIp = r.ip;
      this.lastUa = r.ua;
    }
  }

  lastRef(session: string): RequestRef {
    return { session, part: this.lastPart, request_id: this.lastId, ts: this.lastTs, method: this.lastMethod, path: this.lastPath, status: this.lastStatus, ip: this.lastIp, ua: this.lastUa };
  }
}

/** Requests of the session kept for evidence once it is busy (scripted rules). */
export const SESSION_RING = 10;
/** A session gets its evidence ring from this many requests on: short sessions never need it. */
export const RING_FROM = 20;

export class SessionState {
  readonly session: string;
  readonly app: string;
  part: string;
  readonly key: string;
  /** Grouped by the IP + User-Agent fallback: everyone behind one address with one browser. */
  readonly fallback: boolean;
  /** Grouped by a cookie (or the fallback): a page load would carry it. */
  readonly cookieKeyed: boolean;
  requests = 0;
  /** Of which logins (stuffing: a session that only logs in is a tool's). */
  logins = 0;
  first: number;
  last = 0;
  user: string | null = null;

  // hijack (hijack.ts)
  hijackOff: boolean;
  clients: Client[] = [];
  cur: Client | null = null;
  seenIp = '';
  seenUa: string | null = null;
  /** Times of returns to a network used shortly before (two_networks). */
  returns: number[] | null = null;

  // enumeration (enumeration.ts): the session's walks, at most a few
  walks: Walk[] | null = null;

  /** Requests in a row, each to an id of one endpoint that the walk (`idRunWalk`) did not hold,
   *  nothing else between, since `idRunFrom` (enumeration.ts counts, scripted.ts's crawl reads). */
  idRun = 0;
  idRunFrom = 0;
  idRunWalk: Walk | null = null;

  // scripted (scripted.ts)
  /** rate: the current whole minute and its requests (pages and files not counted) ... */
  minute = -1;
  minuteCount = 0;
  /** ... and those of the rate_minutes - 1 minutes before it, by minute modulo their number
   *  (made at the session's first new minute: most sessions last less). */
  minutes: Uint32Array | null = null;
  gaps: Float64Array | null = null;
  gapAt = 0;
  gapCount = 0;
  gapSum = 0;
  gapSq = 0;
  /** Loaded a page or a static file (or a linked session did). */
  assets = false;
  browser: boolean | null = null;
  family = '';
  ring: RefRing | null = null;
  /** The scripted finding of the session, and which of its rules fired (bits: rate 1,
   *  regular 2, no_assets 4, crawl 8). */
  scripted: OpenFinding | null = null;
  scriptedRules = 0;

  constructor(r: SessionRecord, ts: number, ignoreKeys: Set<string>) {
    this.session = r.session;
    this.app = r.app;
    this.part = r.part;
    this.key = r.key;
    this.first = ts;
    this.fallback = r.key_source === 'fallback' || FALLBACK.has(r.key);
    this.cookieKeyed = this.fallback || r.key.startsWith('request.cookie.') || r.key.startsWith('response.cookie.');
    this.hijackOff = this.fallback || ignoreKeys.has(r.key);
  }

  /** The session's newest requests (oldest first), for evidence. */
  recent(): RequestRef[] {
    return this.ring === null ? [] : this.ring.refs();
  }

  remember(r: SessionRecord): void {
    if (this.requests < RING_FROM) return;
    (this.ring ?? (this.ring = new RefRing(SESSION_RING))).push(r);
  }

  users(): string[] {
    return this.user === null ? [] : [this.user];
  }

  named(): Array<{ session: string; part: string }> {
    return [{ session: this.session, part: this.part }];
  }
}
