/**
 * The console configured from the environment, as containers run it (docker-compose.yml):
 *
 *   API_SESSIONS_CONSOLE_HOST     listen address (default 127.0.0.1)
 *   API_SESSIONS_CONSOLE_PORT     default 7441
 *   API_SESSIONS_TOKEN            access token (required, or generated, off loopback)
 *   API_SESSIONS_TRUST_PROXY      1: behind a TLS proxy that sets X-Forwarded-Proto and X-Forwarded-For
 *   API_SESSIONS_BLOCKS_TOKEN     token nginx sends to pull the block list (GET /api/blocks/list)
 *   API_SESSIONS_STORE            sqlite (default) | clickhouse
 *   API_SESSIONS_DATA             folder of the SQLite file (default .)
 *   API_SESSIONS_LOG              the module's log file to follow (optional)
 *   API_SESSIONS_RETENTION_DAYS   default 7
 *   API_SESSIONS_DETECTIONS       JSON file of detection settings to change (docs/console.md, "Detections")
 *   API_SESSIONS_CLICKHOUSE_URL, _DATABASE, _USER, _PASSWORD   for the ClickHouse store
 */
import { join } from 'path';
import { startConsole } from './index';
import { readDetectionSettings } from './detect/config';
import { createClickHouseStore } from './store/clickhouse';

async function main(): Promise<void> {
  const env = process.env;
  const retentionDays = env.API_SESSIONS_RETENTION_DAYS === undefined ? 7 : Number(env.API_SESSIONS_RETENTION_DAYS);
  const kind = env.API_SESSIONS_STORE || 'sqlite';
  if (kind !== 'sqlite' && kind !== 'clickhouse') throw new Error('API_SESSIONS_STORE: sqlite or clickhouse, not ' + kind);
  const store =
    kind === 'clickhouse'
      ? await createClickHouseStore({
          url: env.API_SESSIONS_CLICKHOUSE_URL || 'http://127.0.0.1:8123',
          database: env.API_SESSIONS_CLICKHOUSE_DATABASE,
          user: env.API_SESSIONS_CLICKHOUSE_USER,
          password: env.API_SESSIONS_CLICKHOUSE_PASSWORD,
          retentionDays,
        })
      : undefined;
  const c = await startConsole({
    store,
    dbPath: join(env.API_SESSIONS_DATA || '.', 'api-sessions.db'),
    logFile: env.API_SESSIONS_LOG || undefined,
    host: env.API_SESSIONS_CONSOLE_HOST,
    port: env.API_SESSIONS_CONSOLE_PORT === undefined ? 7441 : Number(env.API_SESSIONS_CONSOLE_PORT),
    token: env.API_SESSIONS_TOKEN || undefined,
    trustForwardedProto: env.API_SESSIONS_TRUST_PROXY === '1',
    blocksToken: env.API_SESSIONS_BLOCKS_TOKEN || undefined,
    retentionDays,
    detections: readDetectionSettings(env.API_SESSIONS_DETECTIONS || undefined),
  });
  process.stdout.write(`API Sessions console (${kind}): ${c.url}\n`);
  const stop = () => void c.close().then(() => process.exit(0), () => process.exit(1));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((e) => {
  process.stderr.write(`console: ${(e as Error).message}\n`);
  process.exit(1);
});
