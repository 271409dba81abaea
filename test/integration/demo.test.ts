/**
 * The README's first command, as a user runs it: the demo builds nothing here (npm test built
 * the bundle), starts nginx, the demo API and the console, prints sessions, and stops it all.
 */
import { execFile } from 'child_process';
import { resolve } from 'path';
import { currentEngine } from '../helpers/engines';

const ROOT = resolve(__dirname, '..', '..');

test('npm run demo -- --once: six sessions, one of them an attacker, alice\'s journey stitched, real keys recommended, all ingested by the console', async () => {
  const out: string = await new Promise((res, rej) => {
    execFile(
      resolve(ROOT, 'node_modules', '.bin', 'tsx'),
      ['scripts/demo.ts', '--once'],
      { cwd: ROOT, timeout: 90000, env: { ...process.env, API_SESSIONS_ENGINE: currentEngine().name } },
      (err, stdout, stderr) => (err ? rej(new Error(String(err) + '\n' + stdout + '\n' + stderr)) : res(stdout)),
    );
  });
  expect(out).toContain('16 requests in 6 sessions');
  // alice: anonymous browsing, the login that issues a token, its requests, a refresh, the new
  // token's requests: one journey of three linked sessions
  expect(out).toContain("alice's journey, stitched by the records' links: 9 requests in 3 linked sessions");
  expect(out).toMatch(/session 1 \(ip\+ua\) +GET +\/products/);
  expect(out).toMatch(/session 2 \(response\.body\.json\.token\) +POST +\/login/);
  expect(out).toMatch(/session 3 \(response\.body\.json\.token\) +POST +\/refresh/);
  expect(out).toMatch(/session 3 \(request\.header\.authorization\) +GET +\/profile/);
  // the recommended keys are the demo's real session keys only; the claims are user and role
  const line = /recommended grouping keys: .*\n +(set \$api_sessions_params '([^']*)';)/.exec(out)![2];
  const groups = line.split('; ').filter((e) => e.endsWith(' group')).map((e) => e.slice(0, -6));
  expect(groups.length).toBeGreaterThan(0);
  for (const g of groups) expect(['response.body.json.token', 'request.header.authorization', 'request.query.token', 'request.body.json.token', 'response.cookie.connect.sid', 'request.cookie.connect.sid']).toContain(g);
  expect(line).toContain('request.header.authorization.jwt.sub user');
  expect(out).toMatch(/what it would do to the \d+ sampled requests: \d+ sessions, 0 with more than one user/);
  // the recommendation is never worse than the demo's own configuration in its own preview
  const left = (what: string) => Number(new RegExp(what + ': \\d+ sessions, \\d+ with more than one user, (\\d+) requests left to IP \\+ User-Agent').exec(out)![1]);
  expect(left('what it would do to the \\d+ sampled requests')).toBeLessThanOrEqual(left('what the configuration in force did'));
  expect(out).toMatch(/\n {2}(As good as|Better than) the configuration in force on the sampled requests: /);
  expect(line).toContain('request.body.json.token group');
  expect(out).toMatch(/user alice/);
  expect(out).toMatch(/key=response\.body\.json\.token/);
  expect(out).toMatch(/key=request\.cookie\.connect\.sid/);
  expect(out).toMatch(/ATTACK=sqli/);
  expect(out).toMatch(/console: http:\/\/127\.0\.0\.1:\d+\/ {2}\(72 requests in 8 session parts ingested from nginx's log\)/);
}, 120000);
