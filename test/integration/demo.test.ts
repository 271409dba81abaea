/**
 * The README's first command, as a user runs it: the demo builds nothing here (npm test built
 * the bundle), starts nginx, the demo API and the console, prints sessions, and stops it all.
 */
import { execFile } from 'child_process';
import { resolve } from 'path';
import { currentEngine } from '../helpers/engines';

const ROOT = resolve(__dirname, '..', '..');

test('npm run demo -- --once: four sessions, one of them an attacker, all ingested by the console', async () => {
  const out: string = await new Promise((res, rej) => {
    execFile(
      resolve(ROOT, 'node_modules', '.bin', 'tsx'),
      ['scripts/demo.ts', '--once'],
      { cwd: ROOT, timeout: 90000, env: { ...process.env, API_SESSIONS_ENGINE: currentEngine().name } },
      (err, stdout, stderr) => (err ? rej(new Error(String(err) + '\n' + stdout + '\n' + stderr)) : res(stdout)),
    );
  });
  expect(out).toContain('11 requests in 4 sessions');
  expect(out).toMatch(/user alice/);
  expect(out).toMatch(/key=response\.body\.json\.token/);
  expect(out).toMatch(/key=request\.cookie\.connect\.sid/);
  expect(out).toMatch(/ATTACK=sqli/);
  expect(out).toMatch(/console: http:\/\/127\.0\.0\.1:\d+\/ {2}\(11 requests in 4 session parts ingested from nginx's log\)/);
}, 120000);
