/**
 * The detections' routes (the rules: ../detect/; the findings kept by the store):
 *
 *   GET /api/detections              findings, newest first, filtered, in pages
 *   GET /api/detections/counts       findings by kind and by application
 *   GET /api/detections/marks        which findings name each of some sessions (the list's marks)
 *   GET /api/detections/rules        the rules, their thresholds and settings in force
 *   GET /api/detections/:id          one finding
 *
 * and the detections page with its script.
 */
import { readFileSync } from 'fs';
import { join } from 'path';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Store } from '../store/types';
import { UI_DIR } from '../assets';
import { DETECTION_KINDS, DetectionKind, Finding, FindingFilter, FindingStore, BadFindingCursor } from '../detect/finding';
import { RULES, ruleInfo } from '../detect/rules';
import { blockTargets } from '../detect/detector';
import { DEFAULT_DETECTION_CONFIG } from '../detect/config';
import type { Detections } from '../detect/runner';
import { HttpError } from './errors';
import { CURSOR, TIME, count, filterFromQuery, oneOf, parameters, text } from './query';

const HEX32 = /^[0-9a-f]{32}$/;
/** Sessions one marks request may ask about (a page of the list is 50). */
export const MARKS_MAX = 100;

export interface DetectionRoutesOptions {
  store: Store;
  /** The running detections (the rules in force); null: the defaults are shown. */
  detections: Detections | null;
}

/** A finding as the API gives it: with what can be blocked and its rule's title. */
function shown(f: Finding): Finding & { title: string } {
  return { ...f, blocks: blockTargets(f), title: ruleInfo(f.kind, f.rule).title };
}

/** The findings' filters (the list's, its counts'). */
const FINDING_FILTERS = {
  kind: oneOf(DETECTION_KINDS, `one of ${DETECTION_KINDS.join(', ')}`),
  rule: text(40),
  app: text(),
  session: { type: 'string', maxLength: 64, pattern: '^[0-9a-fA-F]{32}$', description: 'a session id (32 hex characters)' },
  from: TIME,
  to: TIME,
} as const;
type FindingQuery = { kind?: DetectionKind; rule?: string; app?: string; session?: string; from?: string; to?: string };

function findingFilter(q: FindingQuery): FindingFilter {
  const { from, to } = filterFromQuery({ from: q.from, to: q.to });
  const f: FindingFilter = { from, to, kind: q.kind, app: q.app, session: q.session?.toLowerCase() };
  // A rule of the kind asked for: one set of names or another, hence not in the schema.
  const rule = q.rule;
  if (rule !== undefined) {
    if (!RULES.some((r) => r.rule === rule && (f.kind === undefined || r.kind === f.kind))) throw new HttpError(400, `rule: one of ${[...new Set(RULES.map((r) => r.rule))].join(', ')}`);
    f.rule = rule;
  }
  for (const k of Object.keys(f) as Array<keyof FindingFilter>) if (f[k] === undefined) delete f[k];
  return f;
}

export function registerDetectionRoutes(app: FastifyInstance, opts: DetectionRoutesOptions): void {
  const script = readFileSync(join(UI_DIR, 'detections.js'));
  // The findings as they stand: what changed since the last write (at most a second ago) is
  // written before a read.
  const storeOf = async (reply: FastifyReply): Promise<FindingStore | null> => {
    if (opts.store.detections) {
      await opts.detections?.save();
      return opts.store.detections;
    }
    reply.code(501).send({ error: 'this store does not keep findings: the ClickHouse database has no detections tables (deploy/clickhouse/schema.sql defines them)' });
    return null;
  };

  app.get('/detections', (_req, reply) => reply.type('text/html; charset=utf-8').send(readFileSync(join(UI_DIR, 'index.html'))));
  app.get('/ui/detections.js', (_req, reply) => reply.type('text/javascript; charset=utf-8').send(script));

  const list = { querystring: parameters({ ...FINDING_FILTERS, limit: count(20, 100), cursor: CURSOR }) };
  app.get<{ Querystring: FindingQuery & { limit: number; cursor?: string } }>('/api/detections', { schema: list }, async (req, reply) => {
    const findings = await storeOf(reply);
    if (!findings) return reply;
    const q = req.query;
    const filter = findingFilter(q);
    try {
      const page = await findings.list(filter, { limit: q.limit, cursor: q.cursor ?? null });
      return { filter, items: page.items.map(shown), next: page.next };
    } catch (e) {
      if (e instanceof BadFindingCursor) throw new HttpError(400, e.message);
      throw e;
    }
  });

  app.get<{ Querystring: FindingQuery }>('/api/detections/counts', { schema: { querystring: parameters(FINDING_FILTERS) } }, async (req, reply) => {
    const findings = await storeOf(reply);
    if (!findings) return reply;
    const filter = findingFilter(req.query);
    return { filter, ...(await findings.counts(filter)) };
  });

  // The ids of a comma-separated list, each checked here (a pattern over the whole list would say less).
  const marks = { querystring: parameters({ sessions: text(MARKS_MAX * 33) }) };
  app.get<{ Querystring: { sessions?: string } }>('/api/detections/marks', { schema: marks }, async (req, reply) => {
    const findings = await storeOf(reply);
    if (!findings) return reply;
    const ids = req.query.sessions ?? '';
    const sessions = [...new Set(ids.split(',').map((s) => s.trim().toLowerCase()).filter((s) => s !== ''))];
    if (sessions.length > MARKS_MAX) throw new HttpError(400, `sessions: at most ${MARKS_MAX}`);
    for (const s of sessions) if (!HEX32.test(s)) throw new HttpError(400, 'sessions: session ids (32 hex characters), separated by commas');
    return { marks: await findings.marks(sessions) };
  });

  app.get('/api/detections/rules', async () => {
    const d = opts.detections;
    const config = d ? d.config : DEFAULT_DETECTION_CONFIG;
    return {
      enabled: config.enabled,
      rules: RULES.map((r) => ({ kind: r.kind, rule: r.rule, title: r.title, threshold: r.threshold(config), settings: r.settings(config) })),
      config,
      limits: d ? d.limits : null,
      held: d ? ((await d.status())?.held ?? null) : null,
    };
  });

  const finding = { params: parameters({ id: { type: 'string', pattern: '^[0-9a-f]{16}$', description: 'a finding id (16 hex characters)' } }) };
  app.get<{ Params: { id: string } }>('/api/detections/:id', { schema: finding }, async (req, reply) => {
    const findings = await storeOf(reply);
    if (!findings) return reply;
    const f = await findings.get(req.params.id);
    if (!f) return reply.code(404).send({ error: 'no such finding' });
    return shown(f);
  });
}
