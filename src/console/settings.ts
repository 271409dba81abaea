/**
 * The console's settings in one place: each one's default, its flag (cli.ts, `--help` prints
 * them) and its environment variable (main.ts, as containers run the console), and the checks
 * both entry points apply. startConsole (index.ts) takes what they decide; the stores and
 * startConsole take their defaults from DEFAULTS.
 */
import { join } from 'path';
import { readDetectionSettings } from './detect/config';

export const DEFAULTS = {
  host: '127.0.0.1',
  /** The port cli.ts and main.ts listen on (startConsole called from code: 0, a free port). */
  port: 7441,
  /** Days of parts kept besides today. */
  retentionDays: 7,
  /** How often retention runs, ms. */
  retentionIntervalMs: 10 * 60000,
  /** The SQLite file: in the working directory (cli.ts) or in API_SESSIONS_DATA (main.ts). */
  dbFile: 'api-sessions.db',
  clickhouseUrl: 'http://127.0.0.1:8123',
  /** API queries that may wait at once; more get 503. */
  maxQueuedQueries: 16,
} as const;

/** The ClickHouse store's server (docs/deployment.md). */
export interface ClickHouseSettings {
  url: string;
  database?: string;
  user?: string;
  password?: string;
}

/** What an entry point decides from its flags or environment, checked. */
export interface ConsoleSettings {
  /** The SQLite file (with the ClickHouse store: the sign-outs file goes beside it). */
  dbPath: string;
  /** Given: the ClickHouse store instead of SQLite. */
  clickhouse?: ClickHouseSettings;
  logFile?: string;
  host?: string;
  port: number;
  token?: string;
  blocksToken?: string;
  retentionDays: number;
  trustForwardedProto: boolean;
  /** The detections' settings file, parsed (startConsole checks it with detectionConfig). */
  detections?: unknown;
}

/** One setting: its flag (cli.ts), its environment variable, and what it means. */
export interface Setting {
  /** cli.ts's `--flag` (none: from the environment only, main.ts). */
  flag?: string;
  short?: string;
  /** What the flag takes (none: a switch). */
  value?: string;
  /** The environment variable main.ts reads. */
  env?: string;
  /** --help's line for the flag. */
  help: string;
}

export const SETTINGS: readonly Setting[] = [
  { flag: 'db', value: 'FILE', help: `SQLite file (default ./${DEFAULTS.dbFile})` },
  { env: 'API_SESSIONS_DATA', help: 'folder of the SQLite file (default .)' },
  { env: 'API_SESSIONS_STORE', help: 'sqlite (default) | clickhouse' },
  { env: 'API_SESSIONS_CLICKHOUSE_URL', help: `the ClickHouse store's HTTP interface (default ${DEFAULTS.clickhouseUrl})` },
  { env: 'API_SESSIONS_CLICKHOUSE_DATABASE', help: "the ClickHouse store's database" },
  { env: 'API_SESSIONS_CLICKHOUSE_USER', help: "the ClickHouse store's user" },
  { env: 'API_SESSIONS_CLICKHOUSE_PASSWORD', help: "the ClickHouse store's password" },
  { flag: 'log', value: 'FILE', env: 'API_SESSIONS_LOG', help: "the module's log file to follow (optional: shippers can POST records)" },
  { flag: 'host', value: 'ADDR', env: 'API_SESSIONS_CONSOLE_HOST', help: `listen address (default ${DEFAULTS.host})` },
  { flag: 'port', value: 'N', env: 'API_SESSIONS_CONSOLE_PORT', help: `listen port (default ${DEFAULTS.port}; 0: a free port)` },
  { flag: 'token', value: 'TOKEN', env: 'API_SESSIONS_TOKEN', help: 'access token (or env API_SESSIONS_TOKEN); generated when --host is not loopback' },
  {
    flag: 'blocks-token',
    value: 'TOKEN',
    env: 'API_SESSIONS_BLOCKS_TOKEN',
    help: 'token nginx sends to pull the block list (or env API_SESSIONS_BLOCKS_TOKEN)',
  },
  { flag: 'retention-days', value: 'N', env: 'API_SESSIONS_RETENTION_DAYS', help: `days of parts kept besides today (default ${DEFAULTS.retentionDays})` },
  {
    flag: 'detections',
    value: 'FILE',
    env: 'API_SESSIONS_DETECTIONS',
    help: 'JSON file of detection settings to change (or env API_SESSIONS_DETECTIONS; docs/console.md, "Detections")',
  },
  {
    flag: 'trust-proxy',
    env: 'API_SESSIONS_TRUST_PROXY',
    help: 'behind a TLS proxy that sets X-Forwarded-Proto and X-Forwarded-For (or env API_SESSIONS_TRUST_PROXY=1): the sign-in cookie is Secure when the first says https; wrong tokens are counted per address of the second',
  },
  { flag: 'help', short: 'h', help: 'print this and exit' },
];

/** cli.ts's --help: the flags of SETTINGS. */
export function usage(): string {
  const rows = SETTINGS.filter((s) => s.flag).map((o) => [
    '  ' + (o.short ? `-${o.short}, ` : '') + `--${o.flag}` + (o.value ? ` ${o.value}` : ''),
    o.help,
  ]);
  const width = Math.max(...rows.map(([flag]) => flag.length)) + 2;
  return (
    'usage: node dist/console/cli.js [options]   (npm start -- [options]; from the sources: npm run console -- [options])\n\n' +
    rows.map(([flag, help]) => flag.padEnd(width) + help + '\n').join('')
  );
}

/** parseArgs's options for the flags of SETTINGS. */
export function flagOptions(): Record<string, { type: 'string' | 'boolean'; short?: string }> {
  return Object.fromEntries(
    SETTINGS.filter((s) => s.flag).map((s) => [s.flag!, { type: s.value ? ('string' as const) : ('boolean' as const), ...(s.short ? { short: s.short } : {}) }]),
  );
}

/** A whole number from `min` to `max`, or the error naming where it came from. */
function wholeNumber(text: string | undefined, fallback: number, check: (n: number) => boolean, error: string): number {
  const n = text === undefined ? fallback : Number(text);
  if (!Number.isInteger(n) || !check(n)) throw new Error(error);
  return n;
}
const validPort = (n: number) => n >= 0 && n <= 65535;

/** cli.ts: the flags parseArgs read (the SQLite store); the tokens and the proxy switch also
 *  from the environment, as their help says. */
export function settingsFromFlags(values: Record<string, string | boolean | undefined>, env: NodeJS.ProcessEnv): ConsoleSettings {
  const flag = (name: string): string | undefined => (typeof values[name] === 'string' ? (values[name] as string) : undefined);
  return {
    dbPath: flag('db') ?? DEFAULTS.dbFile,
    logFile: flag('log'),
    host: flag('host'),
    port: wholeNumber(flag('port'), DEFAULTS.port, validPort, '--port: 0 to 65535'),
    token: flag('token') ?? env.API_SESSIONS_TOKEN ?? undefined,
    blocksToken: flag('blocks-token') ?? env.API_SESSIONS_BLOCKS_TOKEN ?? undefined,
    retentionDays: wholeNumber(flag('retention-days'), DEFAULTS.retentionDays, (n) => n >= 0, '--retention-days: a whole number of days'),
    trustForwardedProto: values['trust-proxy'] === true || env.API_SESSIONS_TRUST_PROXY === '1',
    detections: readDetectionSettings(flag('detections') ?? env.API_SESSIONS_DETECTIONS),
  };
}

/** main.ts: the environment (an empty variable counts as not set, as compose files leave them). */
export function settingsFromEnvironment(env: NodeJS.ProcessEnv): ConsoleSettings {
  const store = env.API_SESSIONS_STORE || 'sqlite';
  if (store !== 'sqlite' && store !== 'clickhouse') throw new Error('API_SESSIONS_STORE: sqlite or clickhouse, not ' + store);
  return {
    dbPath: join(env.API_SESSIONS_DATA || '.', DEFAULTS.dbFile),
    clickhouse:
      store === 'clickhouse'
        ? {
            url: env.API_SESSIONS_CLICKHOUSE_URL || DEFAULTS.clickhouseUrl,
            database: env.API_SESSIONS_CLICKHOUSE_DATABASE,
            user: env.API_SESSIONS_CLICKHOUSE_USER,
            password: env.API_SESSIONS_CLICKHOUSE_PASSWORD,
          }
        : undefined,
    logFile: env.API_SESSIONS_LOG || undefined,
    host: env.API_SESSIONS_CONSOLE_HOST,
    port: wholeNumber(env.API_SESSIONS_CONSOLE_PORT, DEFAULTS.port, validPort, 'API_SESSIONS_CONSOLE_PORT: 0 to 65535'),
    token: env.API_SESSIONS_TOKEN || undefined,
    blocksToken: env.API_SESSIONS_BLOCKS_TOKEN || undefined,
    retentionDays: wholeNumber(env.API_SESSIONS_RETENTION_DAYS, DEFAULTS.retentionDays, (n) => n >= 0, 'API_SESSIONS_RETENTION_DAYS: a whole number of days'),
    trustForwardedProto: env.API_SESSIONS_TRUST_PROXY === '1',
    detections: readDetectionSettings(env.API_SESSIONS_DETECTIONS || undefined),
  };
}
