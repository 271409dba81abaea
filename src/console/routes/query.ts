/**
 * Reading what a request asks: its query string, path parameters and body. Every value came from
 * the network, so each is bounded and checked, and one that breaks a rule is a 400 naming it.
 *
 * Each route declares its input as JSON Schema next to its handler (`schema: { querystring,
 * params, body }`), checked by Fastify's ajv before the handler runs; the pieces they share are
 * here. How a broken rule is answered (validationError):
 *
 *   - a value longer than `maxLength`:      `name: longer than N characters`
 *   - a query parameter given twice:        `name: give it once`
 *   - anything else (type, pattern, enum, range): `name: <the property's description>`, so a
 *     description says what the value must be ("32 hex characters", "1 to 500").
 *
 * An empty query parameter is no parameter (`?user=&app=shop`: the UI's empty fields).
 *
 * What a schema cannot say stays written out below and in the routes: a time (Date's reading of
 * it), `from` after `to`, a CIDR block, the wildcards of an endpoint pattern, a request id prefix
 * (only an all-hex one has a least length), and bodies' fields: Fastify's ajv coerces types, which
 * in a JSON body would take `{"reason": 5}` or `{"line": null}` as strings where the API refuses them.
 */
import type { FastifyInstance, FastifySchemaValidationError } from 'fastify';
import { PART_SORTS, PartFilter, RequestFilter } from '../store/types';
import { MIN_ID_PREFIX, parseIpBlock } from '../store/search';
import { HttpError } from './errors';

// --- How the schemas are checked and their errors answered --------------------------------------

/** Fastify's ajv, as the console sets it: errors carry the schema that failed (its description)
 *  and the value (an array: a query parameter given twice). */
export const AJV_OPTIONS = { customOptions: { verbose: true } };

type VerboseError = FastifySchemaValidationError & { data?: unknown; parentSchema?: { description?: string } };

/** The first broken rule as a 400 naming the value (`dataVar`: `querystring`, `params`, `body`). */
export function validationError(errors: FastifySchemaValidationError[], dataVar: string): Error {
  const e = errors[0] as VerboseError;
  const name = e.instancePath.split('/').pop() || dataVar;
  let rule: string;
  if (e.keyword === 'maxLength') rule = `longer than ${(e.params as { limit: number }).limit} characters`;
  else if (e.keyword === 'type' && dataVar === 'querystring' && Array.isArray(e.data)) rule = 'give it once';
  else rule = e.parentSchema?.description ?? e.message ?? 'not valid';
  return new HttpError(400, `${name}: ${rule}`);
}

/** `?app=&user=`: empty parameters are dropped before the schemas see them. */
export function emptyParametersAreAbsent(app: FastifyInstance): void {
  app.addHook('preValidation', async (req) => {
    const q = req.query as Record<string, unknown> | undefined;
    if (q) for (const k of Object.keys(q)) if (q[k] === '') delete q[k];
  });
}

// --- Pieces of the routes' schemas ---------------------------------------------------------------

/** A string of at most `max` characters. */
export const text = (max = 1024) => ({ type: 'string', maxLength: max }) as const;
/** One of `values`. */
export const oneOf = (values: readonly string[], description: string) => ({ type: 'string', enum: values, description }) as const;
/** A whole number from 1 to `max`, `def` when not given. */
export const count = (def: number, max: number) => ({ type: 'integer', minimum: 1, maximum: max, default: def, description: `1 to ${max}` }) as const;
/** A query string of these parameters (each optional). */
export const parameters = <P extends Record<string, unknown>>(properties: P) => ({ type: 'object', properties }) as const;

export const CURSOR = text(200);
/** Endpoint patterns are bounded so that no pattern makes a slow query (a GLOB with hundreds of
 *  `*` walks every stored path hundreds of times). */
export const MAX_ENDPOINT_LENGTH = 512;
export const MAX_ENDPOINT_WILDCARDS = 8;
/** A time: ISO 8601 or ms since the epoch (read by time()). */
export const TIME = text(64);

/** The session list's filters (the same names the UI puts in its URLs). */
export const LIST_FILTERS = {
  from: TIME,
  to: TIME,
  app: text(),
  session: { type: 'string', maxLength: 64, pattern: `^[0-9a-fA-F]{${MIN_ID_PREFIX},32}$`, description: `${MIN_ID_PREFIX} to 32 hex characters (an id or its start)` },
  request_id: text(128),
  q: text(200),
  user: text(),
  role: text(),
  ua: text(8192), // a User-Agent is as long as nginx lets a header be
  ip: text(64),
  attack: text(100),
  status: { type: 'string', maxLength: 3, pattern: '^([1-5][0-9][0-9]|[1-5][xX][xX])$', description: 'a code (404) or a class (4xx)' },
  key: text(),
  endpoint: text(MAX_ENDPOINT_LENGTH),
  fallback: oneOf(['hide'], 'only "hide"'),
} as const;

/** The session list's query string, as its schema let it through. */
export interface ListQuery {
  from?: string;
  to?: string;
  app?: string;
  session?: string;
  request_id?: string;
  q?: string;
  user?: string;
  role?: string;
  ua?: string;
  ip?: string;
  attack?: string;
  status?: string;
  key?: string;
  endpoint?: string;
  fallback?: 'hide';
}

/** The session list's order, `total` and `follow`. */
export const LIST_OPTIONS = {
  sort: oneOf(PART_SORTS, PART_SORTS.join(', ')),
  total: oneOf(['1'], '1'),
  follow: oneOf(['links'], 'only "links"'),
} as const;

/** A part's requests: `only` and `endpoint`. */
export const REQUEST_FILTERS = {
  only: oneOf(['attacks', 'failed'], 'attacks or failed'),
  endpoint: text(MAX_ENDPOINT_LENGTH),
} as const;

/** `/api/sessions/:session` and `/api/sessions/:session/parts/:part`. */
export const SESSION_PARAMS = {
  type: 'object',
  properties: {
    session: { type: 'string', pattern: '^[0-9a-f]{32}$', description: '32 hex characters' },
    part: { type: 'string', pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$', description: 'YYYY-MM-DD' },
  },
} as const;
export interface SessionParams {
  session: string;
  part: string;
}

// --- What a schema does not say ------------------------------------------------------------------

/** `from` / `to`: ISO 8601 or ms since the epoch, read as Date reads it. */
export function time(q: { from?: string; to?: string }, name: 'from' | 'to'): number | undefined {
  const v = q[name];
  if (v === undefined) return undefined;
  // Only ISO 8601 or digits: Date.parse alone reads almost anything (`' OR '1'='1` as a day in 2001).
  const isoShape = /^\d{4}-\d\d-\d\d(T\d\d:\d\d(:\d\d(\.\d{1,9})?)?(Z|[+-]\d\d:?\d\d)?)?$/.test(v);
  if (!isoShape && !/^\d{1,15}$/.test(v)) throw new HttpError(400, `${name}: not a time (ISO 8601 or ms since the epoch)`);
  // A time without a zone (as an HTML datetime-local input gives it) is UTC.
  const iso = /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?$/.test(v) ? v + 'Z' : v;
  const n = isoShape ? Date.parse(iso) : Number(v);
  if (!Number.isFinite(n)) throw new HttpError(400, `${name}: not a time (ISO 8601 or ms since the epoch)`);
  return n;
}

function checkEndpointPattern(p: string): void {
  const wildcards = p.replace(/\*+/g, '*').replace(/[^*?]/g, '').length;
  if (wildcards > MAX_ENDPOINT_WILDCARDS) {
    throw new HttpError(400, `endpoint: at most ${MAX_ENDPOINT_WILDCARDS} wildcards (* and ?)`);
  }
}

/** The list filters from a query string that LIST_FILTERS let through. */
export function filterFromQuery(q: ListQuery): PartFilter {
  const f: PartFilter = {};
  f.from = time(q, 'from');
  f.to = time(q, 'to');
  f.app = q.app;
  if (f.from !== undefined && f.to !== undefined && f.from > f.to) throw new HttpError(400, 'from: after to (swap them?)');
  f.session = q.session?.toLowerCase();
  f.requestId = q.request_id;
  if (f.requestId !== undefined && /^[0-9a-f]+$/i.test(f.requestId) && f.requestId.length < MIN_ID_PREFIX) {
    throw new HttpError(400, `request_id: at least ${MIN_ID_PREFIX} hex characters`);
  }
  f.q = q.q;
  f.user = q.user;
  f.role = q.role;
  f.ua = q.ua;
  f.ip = q.ip;
  if (f.ip !== undefined && f.ip.includes('/') && !parseIpBlock(f.ip)) throw new HttpError(400, 'ip: an address or a CIDR block (127.0.0.0/8, 2001:db8::/32)');
  f.attack = q.attack;
  f.status = q.status;
  f.key = q.key;
  f.endpoint = q.endpoint;
  if (f.endpoint !== undefined) checkEndpointPattern(f.endpoint);
  if (q.fallback === 'hide') f.hideFallback = true;
  for (const k of Object.keys(f) as Array<keyof PartFilter>) if (f[k] === undefined) delete f[k];
  return f;
}

/** `only` and `endpoint` of a session part's requests, as REQUEST_FILTERS let them through. */
export function requestFilter(q: { only?: 'attacks' | 'failed'; endpoint?: string }): RequestFilter {
  const f: RequestFilter = {};
  if (q.only !== undefined) f.only = q.only;
  if (q.endpoint !== undefined) {
    checkEndpointPattern(q.endpoint);
    f.endpoint = q.endpoint;
  }
  return f;
}
