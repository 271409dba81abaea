/**
 * npm run console -- [options]     (tsx src/console/cli.ts [options])
 *
 *   --db FILE              SQLite file (default ./api-sessions.db)
 *   --log FILE             the module's log file to follow
 *   --host ADDR            default 127.0.0.1
 *   --port N               default 7441 (0: a free port)
 *   --token TOKEN          access token (or env API_SESSIONS_TOKEN); generated when --host is not loopback
 *   --blocks-token TOKEN   token nginx sends to pull the block list (or env API_SESSIONS_BLOCKS_TOKEN)
 *   --retention-days N     parts kept besides today (default 7)
 *   --trust-proxy          behind a TLS proxy that sets X-Forwarded-Proto (or env API_SESSIONS_TRUST_PROXY=1):
 *                          the sign-in cookie is Secure when it says https
 */
import { parseArgs } from 'util';
import { startConsole } from './index';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      db: { type: 'string' },
      log: { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      token: { type: 'string' },
      'blocks-token': { type: 'string' },
      'retention-days': { type: 'string' },
      'trust-proxy': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(
      'usage: tsx src/console/cli.ts [--db FILE] [--log FILE] [--host ADDR] [--port N] [--token T] [--retention-days N] [--trust-proxy]\n',
    );
    return;
  }
  const port = values.port === undefined ? 7441 : Number(values.port);
  const retentionDays = values['retention-days'] === undefined ? 7 : Number(values['retention-days']);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error('--port: 0 to 65535');
  if (!Number.isInteger(retentionDays) || retentionDays < 0) throw new Error('--retention-days: a whole number of days');
  const c = await startConsole({
    dbPath: values.db ?? 'api-sessions.db',
    logFile: values.log,
    host: values.host,
    port,
    token: values.token ?? process.env.API_SESSIONS_TOKEN ?? undefined,
    blocksToken: values['blocks-token'] ?? process.env.API_SESSIONS_BLOCKS_TOKEN ?? undefined,
    retentionDays,
    trustForwardedProto: values['trust-proxy'] === true || process.env.API_SESSIONS_TRUST_PROXY === '1',
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
  process.exit(1);
});
