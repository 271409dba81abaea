/**
 * The console configured by flags: `npm start -- [options]` runs the built form
 * (node dist/console/cli.js, as the systemd unit does), `npm run console -- [options]` the sources
 * (tsx). `--help` prints the flags of settings.ts, the table parseArgs reads too.
 */
import { parseArgs } from 'util';
import { startConsole } from './index';
import { flagOptions, settingsFromFlags, usage } from './settings';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: flagOptions() });
  if (values.help) {
    process.stdout.write(usage());
    return;
  }
  const c = await startConsole(settingsFromFlags(values, process.env));
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
