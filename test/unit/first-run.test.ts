/**
 * First run on a machine without nginx or its js module: `npm run demo` and the benchmark name
 * what is missing in one line with the command that installs it (the check the test projects use,
 * test/helpers/engine-list.cjs), and exit with status 2 instead of a stack trace.
 */
import { spawnSync } from 'child_process';
import { join } from 'path';

const ROOT = join(__dirname, '..', '..');
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');

function run(script: string, env: Record<string, string>): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(TSX, [script, '--once', '--short'], { cwd: ROOT, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('first run without nginx', () => {
  test.each([
    ['scripts/demo.ts', { NGINX_BIN: '/nonexistent/nginx' }, 'npm run demo: no nginx at /nonexistent/nginx: apt-get install nginx-light libnginx-mod-http-js njs'],
    ['scripts/demo.ts', { NGINX_JS_MODULE: '/nonexistent/ngx_http_js_module.so' }, 'npm run demo: no js module at /nonexistent/ngx_http_js_module.so: apt-get install libnginx-mod-http-js'],
    ['bench/run.ts', { NGINX_BIN: '/nonexistent/nginx' }, 'engine custom: no nginx at /nonexistent/nginx: apt-get install nginx-light libnginx-mod-http-js njs'],
    ['bench/run.ts', { NGINX_JS_MODULE: '/nonexistent/ngx_http_js_module.so' }, 'engine debian12: no js module at /nonexistent/ngx_http_js_module.so: apt-get install libnginx-mod-http-js'],
  ])('%s with %j: one line naming it and its install command, exit 2', (script, env, expected) => {
    const r = run(script, env);
    expect(r.stderr).toBe(expected + '\n');
    expect(r.status).toBe(2);
  });
});
