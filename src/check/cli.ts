/**
 * api-sessions-check: reads the configuration as `nginx -T` prints it and says, one line per
 * finding as `FILE:LINE: error|warning: message`, what the module's operator should change.
 *
 *   nginx -T | api-sessions-check -          the dump on standard input
 *   api-sessions-check [-c FILE] [-p PREFIX] [--nginx BINARY]    runs `nginx -T` itself
 *
 * Exit status: 0 nothing found, 1 findings, 2 the configuration could not be read.
 */
import { spawnSync } from 'child_process';
import { readFileSync } from 'fs';
import { parseArgs } from 'util';
import { checkDump, formatFinding } from './check';
import { ReadError } from './nginx-conf';

const USAGE = `usage: nginx -T | api-sessions-check -
       api-sessions-check [-c FILE] [-p PREFIX] [--nginx BINARY]

Checks an nginx configuration that uses API Sessions: settings replaced by the include's
declarations, the include's place, the values of $api_sessions_params and the other settings
the module parses, access logs lost to the module's. One line per finding, FILE:LINE: ...

  -              read the output of \`nginx -T\` from standard input
  -c FILE        the configuration file nginx -T reads (default: nginx's own)
  -p PREFIX      nginx's prefix (passed to nginx -T)
  --nginx BINARY the nginx to run (default: nginx on PATH)

Exit status: 0 nothing found, 1 something found, 2 the configuration could not be read.
`;

/** The dump, or the reason there is none. */
function readConfiguration(args: { stdin: boolean; conf?: string; prefix?: string; nginx: string }): string {
  if (args.stdin) {
    const dump = readFileSync(0, 'utf8');
    if (dump.trim() === '') throw new ReadError('nothing on standard input: did nginx -T fail? (nginx -t says why)');
    return dump;
  }
  const argv = ['-T'].concat(args.prefix ? ['-p', args.prefix] : [], args.conf ? ['-c', args.conf] : []);
  const r = spawnSync(args.nginx, argv, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.error) throw new ReadError(`cannot run ${args.nginx}: ${r.error.message}`);
  if (r.status !== 0) {
    let why = `${args.nginx} -T failed:\n${r.stderr.trim()}`;
    // The one failure this check knows the cause of: the include in a server or location.
    if (/"(map|log_format|js_var|js_set|js_import)" directive is not allowed here in \S*api_sessions\.conf:\d+/.test(r.stderr)) {
      why += '\napi_sessions.conf belongs in the http block, once, before the servers that log with its format';
    }
    throw new ReadError(why);
  }
  return r.stdout;
}

function main(): number {
  let values: { c?: string; p?: string; nginx?: string; help?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      allowPositionals: true,
      options: { c: { type: 'string', short: 'c' }, p: { type: 'string', short: 'p' }, nginx: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    }));
  } catch (e) {
    process.stderr.write(`api-sessions-check: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (positionals.length > 1 || (positionals.length === 1 && positionals[0] !== '-')) {
    process.stderr.write(`api-sessions-check: unexpected argument "${positionals.find((p) => p !== '-') ?? positionals[1]}"\n\n${USAGE}`);
    return 2;
  }
  try {
    const dump = readConfiguration({ stdin: positionals[0] === '-', conf: values.c, prefix: values.p, nginx: values.nginx ?? 'nginx' });
    const findings = checkDump(dump);
    for (const f of findings) process.stdout.write(formatFinding(f) + '\n');
    return findings.length > 0 ? 1 : 0;
  } catch (e) {
    const why = e instanceof ReadError ? e.message : `internal error: ${(e as Error).stack}`;
    process.stderr.write(`api-sessions-check: ${why}\n`);
    return 2;
  }
}

process.exitCode = main();
