/**
 * A finding: what a detection rule saw, about whom, with the requests that made it and what can
 * be blocked for it; and the interface a store implements to keep findings (both stores do:
 * store/sqlite/detections.ts, store/clickhouse/detections.ts).
 */
import type { BlockKind } from '../blocks';
import type { Counts } from '../store/types';

export type DetectionKind = 'hijack' | 'enumeration' | 'stuffing' | 'scripted';
export const DETECTION_KINDS: DetectionKind[] = ['hijack', 'enumeration', 'stuffing', 'scripted'];

/** What a finding is about: one session, or a grouping of requests across sessions. */
export type SubjectType = 'session' | 'address' | 'account' | 'agent' | 'client' | 'endpoint';

/** A request a finding points at: enough to show it and to link to it on its session page. */
export interface RequestRef {
  session: string;
  part: string;
  request_id: string;
  ts: string;
  method: string;
  path: string;
  status: number;
  ip: string;
  ua: string | null;
}

/** Something the analyst can block from the finding (POST /api/blocks takes kind and value). */
export interface BlockTarget {
  kind: BlockKind;
  value: string;
  label: string;
}

export interface Finding {
  /** 16 hex characters. */
  id: string;
  kind: DetectionKind;
  /** The rule of the kind that fired first (rules.ts: e.g. `sequential_ids`); its measures
   *  are the finding's. */
  rule: string;
  /** Every rule of the kind that fired for the subject since (a session walking ids in
   *  sequence that are mostly refused fires two). */
  rules: string[];
  app: string;
  subject_type: SubjectType;
  /** The session id, address, account, User-Agent, address + User-Agent, or login endpoint
   *  (method and path) it is about. */
  subject: string;
  /** The request that made the rule fire, and the newest one added since (ISO times). */
  first_ts: string;
  last_ts: string;
  /** One sentence with the measured values. */
  summary: string;
  /** The rule's threshold in words, with the settings in force when it fired. */
  threshold: string;
  /** Those settings (names as in the configuration). */
  settings: Record<string, number | string>;
  /** What the rule measured, the newest values. */
  measured: Record<string, number | string>;
  /** The sessions it names (at most MAX_FINDING_SESSIONS; `sessions_total` counts all). */
  sessions: Array<{ session: string; part: string }>;
  sessions_total: number;
  /** Users of those sessions (at most 20). */
  users: string[];
  /** The requests that made it, then later ones (at most MAX_EVIDENCE). */
  evidence: RequestRef[];
  /** Requests the rule counted for it in all. */
  requests: number;
  blocks: BlockTarget[];
  /** ms since the epoch when this state was written; grows with every change. */
  updated: number;
}

export const MAX_FINDING_SESSIONS = 200;
export const MAX_EVIDENCE = 30;
export const MAX_FINDING_USERS = 20;

export interface FindingFilter {
  kind?: DetectionKind;
  rule?: string;
  /** Exact application. */
  app?: string;
  /** Findings that name this session. */
  session?: string;
  /** Time range (ms): findings whose first..last request overlaps it. */
  from?: number;
  to?: number;
}

export interface FindingPage {
  items: Finding[];
  next: string | null;
}

/** A session's mark in lists: which findings name it. */
export interface FindingMark {
  id: string;
  kind: DetectionKind;
  rule: string;
}

/** A finding as it now stands, and from which of its `sessions` on they are new since the
 *  last time it was saved (their marks are written). */
export interface FindingUpdate {
  finding: Finding;
  sessionsFrom: number;
}

export interface FindingStore {
  /** Writes these findings as they now stand (new, or a newer state of one already kept: the
   *  largest `updated` wins) and the marks of the sessions they newly name. Serializes them
   *  before it returns to the event loop: the detector goes on changing its objects. */
  save(updates: FindingUpdate[]): Promise<void>;
  /** Newest first (by first_ts, then id), in pages. */
  list(filter: FindingFilter, opts: { limit: number; cursor?: string | null }): Promise<FindingPage>;
  get(id: string): Promise<Finding | null>;
  /** The findings naming each of these sessions (at most 100 sessions). */
  marks(sessions: string[]): Promise<Record<string, FindingMark[]>>;
  /** Findings by kind and by application (within the filter's time range and app / kind). */
  counts(filter: FindingFilter): Promise<{ kinds: Counts; apps: Counts; total: number }>;
  /** Findings whose last request is at or after `since` (ms), at most `max`: the console
   *  continues them after a restart instead of opening new ones. */
  recent(since: number, max: number): Promise<Finding[]>;
  /** Drops the findings that started on a day before `cutoffPart`; returns how many. */
  deleteBefore(cutoffPart: string): Promise<number>;
}

export class BadFindingCursor extends Error {}

/** The keyset cursor of a findings page: the last item's first_ts (ms) and id. */
export function findingCursor(f: Finding): string {
  return Buffer.from(`${Date.parse(f.first_ts)}:${f.id}`).toString('base64url');
}

export function readFindingCursor(c: string): { ts: number; id: string } {
  const m = /^(\d{1,15}):([0-9a-f]{16})$/.exec(Buffer.from(c, 'base64url').toString());
  if (!m) throw new BadFindingCursor('cursor: not one this API gave');
  return { ts: Number(m[1]), id: m[2] };
}
