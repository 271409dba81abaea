/**
 * The console configured by flags: `npm start -- [options]` runs the built form
 * (node dist/console/cli.js, as the systemd unit does), `npm run console -- [options]` the sources
 * (tsx). `--help` prints OPTIONS below, the table parseArgs reads too.
 */
import { parseArgs } from 'util';
import { startConsole } from './index';
import { readDetectionSettings } from './detect/config';

const OPTIONS = [
  { name: 'db', value: 'FILE', help: 'SQLite file (default ./api-sessions.db)' },
  { name: 'log', value: 'FILE', help: "the module's log file to follow (optional: shippers can POST records)" },
  { name: 'host', value: 'ADDR', help: 'listen address (default 127.0.0.1)' },
  { name: 'port', value: 'N', help: 'listen port (default 7441; 0: a free port)' },
  { name: 'token', value: 'TOKEN', help: 'access token (or env API_SESSIONS_TOKEN); generated when --host is not loopback' },
  { name: 'blocks-token', value: 'TOKEN', help: 'token nginx sends to pull the block list (or env API_SESSIONS_BLOCKS_TOKEN)' },
  { name: 'retention-days', value: 'N', help: 'days of parts kept besides today (default 7)' },
  { name: 'detections', value: 'FILE', help: 'JSON file of detection settings to change (or env API_SESSIONS_DETECTIONS; docs/console.md, "Detections")' },
  { name: 'trust-proxy', help: 'behind a TLS proxy that sets X-Forwarded-Proto and X-Forwarded-For (or env API_SESSIONS_TRUST_PROXY=1): the sign-in cookie is Secure when the first says https; wrong tokens are counted per address of the second' },
  { name: 'help', short: 'h', help: 'print this and exit' },
] as const;

function usage(): string {
  const rows = OPTIONS.map((o) => ['  ' + ('short' in o ? `-${o.short}, ` : '') + `--${o.name}` + ('value' in o ? ` ${o.value}` : ''), o.help]);
  const width = Math.max(...rows.map(([flag]) => flag.length)) + 2;
  return (
    'usage: node dist/console/cli.js [options]   (npm start -- [options]; from the sources: npm run console -- [options])\n\n' +
    rows.map(([flag, help]) => flag.padEnd(width) + help + '\n').join('')
  );
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: Object.fromEntries(
      OPTIONS.map((o) => [o.name, { type: 'value' in o ? ('string' as const) : ('boolean' as const), ...('short' in o ? { short: o.short } : {}) }]),
    ),
  });
  if (values.help) {
    process.stdout.write(usage());
    return;
  }
  const flag = (name: string): string | undefined => (typeof values[name] === 'string' ? (values[name] as string) : undefined);
  const port = flag('port') === undefined ? 7441 : Number(flag('port'));
  const retentionDays = flag('retention-days') === undefined ? 7 : Number(flag('retention-days'));
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error('--port: 0 to 65535');
  if (!Number.isInteger(retentionDays) || retentionDays < 0) throw new Error('--retention-days: a whole number of days');
  const c = await startConsole({
    dbPath: flag('db') ?? 'api-sessions.db',
    logFile: flag('log'),
    host: flag('host'),
    port,
    token: flag('token') ?? process.env.API_SESSIONS_TOKEN ?? undefined,
    blocksToken: flag('blocks-token') ?? process.env.API_SESSIONS_BLOCKS_TOKEN ?? undefined,
    retentionDays,
    trustForwardedProto: values['trust-proxy'] === true || process.env.API_SESSIONS_TRUST_PROXY === '1',
    detections: readDetectionSettings(flag('detections') ?? process.env.API_SESSIONS_DETECTIONS),
  });
  process.stdout.write(`API Sessions console: ${c.url}\n`);
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    c.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((e) => {
  process.stderr.write(`console: ${(e as Error).message}\n`);
  // A flag parseArgs refused (unknown, or a value missing): the options that exist.
  if (String((e as { code?: string }).code).startsWith('ERR_PARSE_ARGS')) process.stderr.write('\n' + usage());
  process.exit(1);
});
