/**
 * The console configured from the environment, as containers run it (docker-compose.yml). The
 * variables, their defaults and checks: settings.ts (SETTINGS, settingsFromEnvironment):
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
import { startConsole } from './index';
import { settingsFromEnvironment } from './settings';

async function main(): Promise<void> {
  const settings = settingsFromEnvironment(process.env);
  const c = await startConsole(settings);
  process.stdout.write(`API Sessions console (${settings.clickhouse ? 'clickhouse' : 'sqlite'}): ${c.url}\n`);
  const stop = () => void c.close().then(() => process.exit(0), () => process.exit(1));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((e) => {
  process.stderr.write(`console: ${(e as Error).message}\n`);
  process.exit(1);
});
