/**
 * The console's HTTP side (Fastify): the web UI, the JSON query API (docs/console-api.md), CSV
 * export, ingest over HTTP for shippers, and /metrics. buildServer puts it together; each
 * resource's routes are in a file of their own:
 *
 *   routes/access.ts           who may ask: security headers, token or sign-in cookie, loopback Host
 *   routes/errors.ts           error replies
 *   routes/query-gate.ts       API queries wait in a bounded queue
 *   routes/ui.ts               the web UI's pages and files
 *   routes/signin.ts           signing in and out of the UI (POST /login, POST /logout)
 *   routes/sessions.ts         the session list and its CSV, a session, a part's page, attacks
 *   routes/overview.ts         the overview above the list: activity over time, top values
 *   routes/journeys.ts         linked sessions and journeys
 *   routes/recommendations.ts  grouping-key recommendations and the what-if preview
 *   routes/status.ts           /healthz, /api/status, /metrics
 *   routes/blocks.ts           blocks, and the block list nginx pulls
 *   routes/detections.ts       findings of the detections, their page
 *   ingest/http.ts             POST /api/ingest
 *
 * (routes/query.ts and routes/csv.ts: the input schemas' shared pieces and how a broken rule is
 * answered, streaming CSV.)
 */
import Fastify, { FastifyInstance } from 'fastify';
import { Store } from './store/types';
import { Batch, InvalidSink } from './ingest/lines';
import { registerIngest } from './ingest/http';
import { signIn } from './signin';
import { TokenGuesses } from './guesses';
import { Metrics } from './metrics';
import { guardRequests } from './routes/access';
import { answerErrors } from './routes/errors';
import { queryGate } from './routes/query-gate';
import { AJV_OPTIONS, emptyParametersAreAbsent, validationError } from './routes/query';
import { registerUiRoutes } from './routes/ui';
import { registerSignInRoutes } from './routes/signin';
import { registerSessionRoutes } from './routes/sessions';
import { registerOverviewRoutes } from './routes/overview';
import { registerJourneyRoutes } from './routes/journeys';
import { registerRecommendationRoutes } from './routes/recommendations';
import { registerStatusRoutes } from './routes/status';
import { registerBlockRoutes } from './routes/blocks';
import { registerDetectionRoutes } from './routes/detections';
import type { Detections } from './detect/runner';
import { DEFAULTS } from './settings';
import { FIELD_LIMITS } from './ingest/parse';

export interface ServerOptions {
  store: Store;
  metrics: Metrics;
  onInvalid: InvalidSink;
  /** Saves a batch received over HTTP (counts and metrics included). */
  ingest(batch: Batch, source: string): Promise<{ inserted: number; duplicates: number; expired: number; future: number }>;
  /** When set, every route but the login page needs it (Bearer header or the login cookie). */
  token: string | null;
  /** Largest ingest body accepted, bytes (after decompression too). Default 16 MiB. */
  maxBodyBytes?: number;
  /** Behind a TLS proxy that sets X-Forwarded-Proto and X-Forwarded-For: the sign-in cookie is
   *  `Secure` when the first says https, and wrong tokens are counted per address of the second. */
  trustForwardedProto?: boolean;
  /** API queries waiting at most at once; more get 503 (default 16). */
  maxQueuedQueries?: number;
  status(): Promise<Record<string, unknown>>;
  /** Token nginx sends for the block list (routes/blocks.ts), separate from `token`; null: not served. */
  blocksToken?: string | null;
  /** The detections (routes/detections.ts); without them the rules in force are the defaults. */
  detections?: Detections;
  /** Where sign-outs are kept across restarts (signouts.ts); null or absent: in memory only. */
  signOutFile?: string | null;
  log?: (msg: string) => void;
}

export async function buildServer(opts: ServerOptions): Promise<FastifyInstance> {
  // Each route's input is checked by its schema; a broken rule is a 400 naming it (routes/query.ts).
  // maxParamLength: an application's name (a path parameter of /apps/:app/...) may be as long as
  // a record's name fields, percent-encoded (Fastify's default, 100, answered 414 below that).
  const app = Fastify({ logger: false, bodyLimit: 1024 * 1024, trustProxy: false, routerOptions: { maxParamLength: 3 * FIELD_LIMITS.name }, ajv: AJV_OPTIONS, schemaErrorFormatter: validationError });
  const { store } = opts;
  // One limit on wrong tokens for the sign-in form, the Bearer header and the blocks token.
  const guesses = new TokenGuesses({ trustProxy: opts.trustForwardedProto ?? false });
  app.addHook('onClose', async () => guesses.close());
  const signin = opts.token
    ? signIn({ token: opts.token, trustForwardedProto: opts.trustForwardedProto ?? false, guesses, signOutFile: opts.signOutFile, log: opts.log })
    : null;
  guardRequests(app, opts.token, signin, guesses);
  answerErrors(app);
  emptyParametersAreAbsent(app);

  registerUiRoutes(app);
  registerSignInRoutes(app, signin);

  queryGate(app, { maxQueued: opts.maxQueuedQueries ?? DEFAULTS.maxQueuedQueries, metrics: opts.metrics });
  registerSessionRoutes(app, store);
  registerOverviewRoutes(app, store);
  registerJourneyRoutes(app, store);
  registerRecommendationRoutes(app, store);
  registerStatusRoutes(app, opts);
  registerBlockRoutes(app, { store, blocksToken: opts.blocksToken ?? null, guesses });
  registerDetectionRoutes(app, { store, detections: opts.detections ?? null });
  registerIngest(app, {
    maxBodyBytes: opts.maxBodyBytes,
    onInvalid: opts.onInvalid,
    ingest: opts.ingest,
    refused: (reason) => opts.metrics.ingestRefused.inc({ reason }),
  });
  return app;
}
