/**
 * api-sessions-check (dist/check/cli.js, as built) on what the real nginx prints: a configuration
 * with a map before the include and a bad entry in $api_sessions_params passes `nginx -t`, and the
 * check names both by file and line with exit status 1, whether it reads `nginx -T` from its
 * standard input or runs nginx itself; the same configuration put right exits 0 with no output.
 */
import { spawnSync } from 'child_process';
import { readFileSync, writeFileSync, chmodSync } from 'fs';
import { join } from 'path';
import { checkNginx, withConfig, NginxOptions, DIST, ROOT } from '../helpers/nginx';
import { currentEngine } from '../helpers/engines';

const CLI = join(DIST, 'check', 'cli.js');

/** The command's output and exit status; `stdin`: the dump it reads with `-`. */
function runCheck(args: string[], stdin?: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI].concat(args), { encoding: 'utf8', input: stdin });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The whole nginx.conf: the temp paths in the prefix, the map before or after the include. */
function config(mapBeforeInclude: boolean, params: string): string {
  const map = "    map $host $api_sessions_params {\n        default 'request.header.authorization.jwt.sub user';\n    }\n";
  return `load_module {{JS_MODULE}};
${process.getuid && process.getuid() === 0 ? 'user root;' : ''}
daemon off;
pid {{PREFIX}}/nginx.pid;
error_log {{PREFIX}}/logs/error.log;
events { worker_connections 64; }
http {
    client_body_temp_path {{PREFIX}}/tmp/body;
    proxy_temp_path {{PREFIX}}/tmp/proxy;
    fastcgi_temp_path {{PREFIX}}/tmp/fastcgi;
    uwsgi_temp_path {{PREFIX}}/tmp/uwsgi;
    scgi_temp_path {{PREFIX}}/tmp/scgi;
    access_log {{PREFIX}}/logs/access.log;
${mapBeforeInclude ? map : ''}    js_path {{DIST}}/;
    include {{ROOT}}/nginx/api_sessions.conf;
${mapBeforeInclude ? '' : map}    server {
        listen 127.0.0.1:{{PORT0}};
        access_log {{PREFIX}}/logs/access.log;
        access_log {{PREFIX}}/logs/api_sessions.log api_sessions;
        set $api_sessions_params '${params}';
    }
}
`;
}

function options(text: string): NginxOptions {
  return { config: text.replace('{{JS_MODULE}}', currentEngine().jsModule) };
}

/** A script that runs the engine's nginx (in its root for trixie and sid): what --nginx names. */
function nginxScript(prefix: string, nginx: string[]): string {
  const path = join(prefix, 'nginx.sh');
  writeFileSync(path, `#!/bin/sh\nexec ${nginx.map((a) => `'${a}'`).join(' ')} "$@"\n`);
  chmodSync(path, 0o755);
  return path;
}

/** The line in `text` (the configuration as written, placeholders filled) that starts with `start`. */
function lineOf(text: string, start: string): number {
  const i = text.split('\n').findIndex((l) => l.trimStart().startsWith(start));
  if (i < 0) throw new Error(`no line starting "${start}" in\n${text}`);
  return i + 1;
}

test('a map before the include and a bad entry: nginx -t passes, the check names both (exit 1), from nginx -T on stdin and running nginx itself', async () => {
  const opts = options(config(true, 'request.cookie.sid group; bogus.thing group'));
  const t = await checkNginx(opts);
  expect({ ok: t.ok, output: t.output }).toEqual({ ok: true, output: expect.stringContaining('test is successful') });

  await withConfig(opts, ({ nginx, command, prefix, inner, conf }) => {
    const dump = spawnSync(command(['-T'])[0], command(['-T']).slice(1), { encoding: 'utf8' });
    expect(dump.status).toBe(0);
    // The files as the engine names them: the copy of the checkout's nginx/ it reads.
    const moduleFile = /^# configuration file (\S*\/nginx\/api_sessions\.conf):$/m.exec(dump.stdout)![1];
    const declaration = readFileSync(join(ROOT, 'nginx', 'api_sessions.conf'), 'utf8').split('\n').findIndex((l) => l.startsWith('js_var $api_sessions_params;')) + 1;
    const file = `${inner}/nginx.conf`;
    const expected = [
      `${file}:${lineOf(conf, 'map $host $api_sessions_params')}: error: map $api_sessions_params is replaced by the include's declaration at ${moduleFile}:${declaration} (included at ${file}:${lineOf(conf, 'include ')}); move it after the include`,
      `${file}:${lineOf(conf, 'set $api_sessions_params')}: error: $api_sessions_params entry 2 "bogus.thing group": unknown selector "bogus.thing": expected request.header|cookie|query|body.json|body.form.NAME or response.header|cookie|body.json.NAME`,
      '',
    ].join('\n');

    const piped = runCheck(['-'], dump.stdout);
    expect(piped).toEqual({ status: 1, stdout: expected, stderr: '' });

    // Running nginx itself, with the test's prefix.
    const itself = runCheck(['--nginx', nginxScript(prefix, nginx), '-p', inner, '-c', file]);
    expect(itself).toEqual({ status: 1, stdout: expected, stderr: '' });
  });
}, 30000);

test('the same configuration put right: exit 0, nothing printed', async () => {
  const opts = options(config(false, 'request.cookie.sid group; request.query.q'));
  const dump = await checkNginx(opts, '-T');
  expect(dump.ok).toBe(true);
  expect(runCheck(['-'], dump.dump)).toEqual({ status: 0, stdout: '', stderr: '' });
}, 30000);

test('a configuration nginx refuses: exit 2 with what nginx said, and where the include belongs', async () => {
  const text = config(false, 'request.cookie.sid group').replace(/^ {4}include (\S+);\n/m, '').replace('    server {\n', '    server {\n        include {{ROOT}}/nginx/api_sessions.conf;\n');
  await withConfig(options(text), ({ nginx, prefix, inner }) => {
    const r = runCheck(['--nginx', nginxScript(prefix, nginx), '-p', inner, '-c', `${inner}/nginx.conf`]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/-T failed:\n.*"map" directive is not allowed here in \S*\/nginx\/api_sessions\.conf:\d+/);
    expect(r.stderr).toContain('api_sessions.conf belongs in the http block, once, before the servers that log with its format');
  });
  // and nothing on standard input (nginx -T failed before the pipe)
  expect(runCheck(['-'], '')).toEqual({ status: 2, stdout: '', stderr: expect.stringContaining('nothing on standard input') });
}, 30000);
