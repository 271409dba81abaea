/**
 * Where the console's files other than code are: the UI (ui/) and ClickHouse's schema.sql.
 *
 * From the sources (tsx, ts-jest) they are where the checkout keeps them. In the built console
 * (dist/console/*.js, bundled by build-console.mjs) __dirname is the bundle's folder, and the build
 * copies ui/ and schema.sql beside it, so that the built form needs nothing from src/ or deploy/
 * (the container image holds dist/console and node_modules only).
 */
import { join } from 'path';

// Defined as `true` in the bundle by build-console.mjs; never declared when run from the sources.
declare const API_SESSIONS_BUNDLED: boolean | undefined;
const bundled = typeof API_SESSIONS_BUNDLED !== 'undefined' && API_SESSIONS_BUNDLED === true;

/** The UI's files: src/console/ui, or dist/console/ui. */
export const UI_DIR = join(__dirname, 'ui');

/** deploy/clickhouse/schema.sql, or its copy dist/console/schema.sql. */
export const SCHEMA_FILE = bundled ? join(__dirname, 'schema.sql') : join(__dirname, '..', '..', 'deploy', 'clickhouse', 'schema.sql');

/** The detector's thread (detect/worker.ts, run through tsx's loader), or its bundle
 *  dist/console/detect/worker.js. */
export const DETECTION_WORKER = bundled
  ? { file: join(__dirname, 'detect', 'worker.js'), typescript: false }
  : { file: join(__dirname, 'detect', 'worker.ts'), typescript: true };
