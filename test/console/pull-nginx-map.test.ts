/**
 * deploy/blocks/pull-nginx-map.sh against a console that answers what the test chooses: the
 * real console's list is installed (then nginx is tested and reloaded); anything that is not
 * exactly a block list as the console writes it (an extra `server` block, an `access_log` line,
 * an `include`, quotes, a list cut short or too large, odd bytes) is refused with its reason,
 * the installed list stays and nginx is not touched; so are an unreachable console, a refused
 * token and a host without curl. nginx itself is a stand-in here that records its calls: the
 * real nginx runs this script in test/integration/blocks.test.ts.
 */
import http from 'http';
import { AddressInfo } from 'net';
import { spawn } from 'child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'fs';
import { join } from 'path';
import { startConsole, RunningConsole } from '../../src/console/index';
import { userHash } from '../../src/console/blocks';
import { tempDir } from './helpers';

const SCRIPT = join(__dirname, '..', '..', 'deploy', 'blocks', 'pull-nginx-map.sh');
const TOKEN = 'ui-token';
const BLOCKS_TOKEN = 'nginx-token';

const tmp = tempDir('api-sessions-pull-map-');
let c: RunningConsole;
let fake: http.Server;
let fakeUrl: string;
/** What the fake console answers next: a status and a body. */
let answer: { status: number; body: string | Buffer } = { status: 200, body: '' };
const file = join(tmp.dir, 'api_sessions_blocks.conf');
const nginxCalls = join(tmp.dir, 'nginx-calls');
const fakeNginx = join(tmp.dir, 'nginx');

beforeAll(async () => {
  c = await startConsole({ dbPath: join(tmp.dir, 'c.db'), token: TOKEN, blocksToken: BLOCKS_TOKEN, log: () => undefined });
  fake = http.createServer((req, res) => {
    res.statusCode = req.headers.authorization === 'Bearer ' + BLOCKS_TOKEN ? answer.status : 401;
    res.end(answer.body);
  });
  await new Promise<void>((res) => fake.listen(0, '127.0.0.1', () => res()));
  fakeUrl = `http://127.0.0.1:${(fake.address() as AddressInfo).port}/`;
  writeFileSync(fakeNginx, `#!/bin/sh\necho "$*" >> '${nginxCalls}'\n`);
  chmodSync(fakeNginx, 0o755);
});
afterAll(async () => {
  await new Promise((res) => fake?.close(res));
  await c?.close();
  tmp.cleanup();
});

function run(consoleUrl: string, env: Record<string, string> = {}): Promise<{ status: number | null; stderr: string }> {
  return new Promise((res) => {
    const child = spawn(SCRIPT, [], {
      env: { PATH: process.env.PATH!, API_SESSIONS_CONSOLE: consoleUrl, API_SESSIONS_BLOCKS_TOKEN: BLOCKS_TOKEN, BLOCKS_FILE: file, API_SESSIONS_NGINX: fakeNginx, ...env },
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (status) => res({ status, stderr }));
  });
}
const calls = () => (existsSync(nginxCalls) ? readFileSync(nginxCalls, 'utf8') : '');

async function block(kind: string, value: string): Promise<void> {
  const r = await fetch(c.url + 'api/blocks', { method: 'POST', headers: { authorization: 'Bearer ' + TOKEN, 'content-type': 'application/json' }, body: JSON.stringify({ kind, value, reason: 'test' }) });
  expect(r.status).toBe(201);
}

let good = '';

test("the console's list is installed and nginx reloaded; the same list again changes nothing", async () => {
  await block('user', "o'brien $x {y} \\z;");
  await block('user', '用户'.repeat(128));
  await block('session', 'a'.repeat(32));
  const first = await run(c.url);
  expect(first.stderr).toBe('');
  expect(first.status).toBe(0);
  good = readFileSync(file, 'utf8');
  expect(good).toContain(`'u:${userHash("o'brien $x {y} \\z;")}'`);
  expect(calls()).toBe('-t -q\n-s reload\n');
  expect((await run(c.url)).status).toBe(0);
  expect(calls()).toBe('-t -q\n-s reload\n');
});

describe('anything but a block list is refused; the installed list stays and nginx is not touched', () => {
  const lines = () => good.split('\n');
  const withLine = (at: number, line: string) => [...lines().slice(0, at), line, ...lines().slice(at)].join('\n');
  const entryAt = () => lines().findIndex((l) => l.startsWith("    's:"));
  const cases: Array<[string, () => string | Buffer, RegExp]> = [
    ['an extra server block after the list', () => good + 'server { listen 127.0.0.1:8999; location / { root /etc; autoindex on; } }\n', /line \d+: text after the end of the list/],
    ['an access_log line among the entries', () => withLine(entryAt(), '    access_log /tmp/owned.log;'), /line \d+: not a block list entry/],
    ['a server block on the first map line', () => good.replace("{ default '", "{ default ''; } server { listen 8999; } map $host $x { default '"), /line 4: expected the map of \$api_sessions_block_list/],
    ['an include before the maps', () => withLine(3, 'include /etc/nginx/other.conf;'), /line 4: expected the map of \$api_sessions_block_list/],
    ['a value that is not an expiry', () => withLine(entryAt(), `    's:${'b'.repeat(32)}' '$remote_addr';`), /not a block list entry/],
    ['a quote that ends the key early', () => withLine(entryAt(), `    's:${'b'.repeat(31)}' 'x' '1';`), /not a block list entry/],
    ['a key one character short', () => withLine(entryAt(), `    's:${'b'.repeat(31)}' '1';`), /not a block list entry/],
    ['a map without volatile', () => good.replace('    volatile;\n', ''), /expected volatile;/],
    ['a list cut short', () => good.slice(0, good.lastIndexOf('\n}')), /the list is cut short/],
    ['another header', () => '# hello\n' + good, /line 1: not the header of a block list/],
    ['a carriage return', () => good.replace('\n', '\r\n'), /bytes other than printable ASCII/],
    ['a NUL byte', () => Buffer.concat([Buffer.from(good), Buffer.from([0])]), /bytes other than printable ASCII/],
    ['a list larger than 1 MiB', () => good + '#'.repeat(1048577), /larger than 1048576 bytes/],
    ['more than 10,000 entries', () => withLine(entryAt(), Array.from({ length: 10001 }, (_, i) => `    's:${i.toString(16).padStart(32, '0')}' '1';`).join('\n')), /more than 10000 entries/],
  ];
  test.each(cases)('%s', async (_what, body, why) => {
    answer = { status: 200, body: body() };
    const before = calls();
    const r = await run(fakeUrl);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(why);
    expect(r.stderr).toMatch(/the installed list stays/);
    expect(readFileSync(file, 'utf8')).toBe(good);
    expect(calls()).toBe(before);
  });
});

test('a console that is away, a wrong token, a host without curl: said as such, the installed list stays', async () => {
  const away = await run('http://127.0.0.1:1/');
  expect([away.status, away.stderr]).toEqual([1, expect.stringMatching(/the console was not reached \(curl exit status 7\): the installed list stays/)]);
  const wrong = await run(fakeUrl, { API_SESSIONS_BLOCKS_TOKEN: 'wrong' });
  expect([wrong.status, wrong.stderr]).toEqual([1, expect.stringMatching(/the console answered HTTP 401 \(401: check the blocks token\)/)]);
  // A PATH with what the script uses, curl left out.
  const bin = join(tmp.dir, 'bin');
  mkdirSync(bin);
  for (const tool of ['sh', 'awk', 'mawk', 'tr', 'head', 'tail', 'wc', 'cp', 'mv', 'rm', 'cat']) {
    for (const dir of ['/usr/bin', '/bin']) {
      if (existsSync(join(dir, tool)) && !existsSync(join(bin, tool))) symlinkSync(join(dir, tool), join(bin, tool));
    }
  }
  const noCurl = await run(c.url, { PATH: bin });
  expect([noCurl.status, noCurl.stderr]).toEqual([1, expect.stringMatching(/curl is needed/)]);
  expect(readFileSync(file, 'utf8')).toBe(good);
});
