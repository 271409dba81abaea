/**
 * deploy/systemd/api-sessions-console.service: systemd-analyze checks the unit offline (it needs no
 * running systemd), and the console is started the way the unit starts it (its ExecStart, with the
 * install prefix, the state directory and nginx's log directory mapped to the checkout and temp
 * folders, its environment file): it serves /healthz on loopback, requires the file's token,
 * ingests the log's records, those present at start and those appended later, and finds an
 * attack among them.
 */
import { spawnSync } from 'child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'fs';
import { join } from 'path';
import { ROOT } from '../helpers/run-node';
import { requireBuiltConsole, startConsoleProcess, ConsoleProcess } from '../helpers/console-process';
import { TODAY, line, rec, tempDir, waitFor } from './helpers';

const UNIT = join(ROOT, 'deploy/systemd/api-sessions-console.service');
const ENV_FILE = join(ROOT, 'deploy/systemd/api-sessions-console.env');

/** The unit's `Key=value` lines of a section, in order (keys may repeat). */
function section(text: string, name: string): Array<[string, string]> {
  const body = text.split(/^\[/m).find((s) => s.startsWith(name + ']'));
  if (!body) throw new Error(`no [${name}] section`);
  return body
    .split('\n')
    .slice(1)
    .filter((l) => /^[A-Za-z]+=/.test(l))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]);
}

const unitText = readFileSync(UNIT, 'utf8');
const service = section(unitText, 'Service');
const value = (key: string) => service.filter(([k]) => k === key).map(([, v]) => v);

const analyze = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
const haveAnalyze = analyze.status === 0;
if (!haveAnalyze) console.log('systemd-analyze checks skipped: systemd-analyze is not installed');

(haveAnalyze ? describe : describe.skip)('systemd-analyze, offline', () => {
  // Where node 20 is not /usr/bin/node (the path the unit names, NodeSource's), verify checks the
  // unit with this node instead: that ExecStart's program exists is all it would add.
  const tmp = tempDir('api-sessions-unit-');
  afterAll(() => tmp.cleanup());
  const unitFile = () => {
    if (existsSync('/usr/bin/node')) return UNIT;
    const copy = join(tmp.dir, 'api-sessions-console.service');
    writeFileSync(copy, unitText.replace(/^ExecStart=\/usr\/bin\/node /m, `ExecStart=${process.execPath} `));
    return copy;
  };

  test('verify: the unit loads without an error or a warning', () => {
    const r = spawnSync('systemd-analyze', ['verify', unitFile()], { encoding: 'utf8' });
    expect({ status: r.status, output: (r.stdout + r.stderr).trim() }).toEqual({ status: 0, output: '' });
  });

  test('security: the sandbox rates "OK" (exposure 2.0 or less of 10)', () => {
    const r = spawnSync('systemd-analyze', ['security', '--offline=true', '--threshold=20', unitFile()], { encoding: 'utf8' });
    const level = /Overall exposure level for \S+: ([\d.]+)/.exec(r.stdout);
    expect(level).not.toBeNull();
    expect(Number(level![1])).toBeLessThanOrEqual(2.0);
    expect(r.status).toBe(0);
  });
});

test('the unit runs the built console as an unprivileged user with a state directory, reading nginx\'s log through its group', () => {
  expect(value('ExecStart')).toHaveLength(1);
  expect(value('ExecStart')[0]).toMatch(/^\/usr\/bin\/node (--[a-z-]+ )*\/opt\/api-sessions\/dist\/console\/cli\.js /);
  expect(value('DynamicUser')).toEqual(['yes']);
  expect(value('User')).toEqual([]); // DynamicUser's own, never root
  expect(value('SupplementaryGroups')).toEqual(['adm']);
  expect(value('StateDirectory')).toEqual(['api-sessions']);
  expect(value('Restart')).toEqual(['on-failure']);
  expect(value('EnvironmentFile')).toEqual(['/etc/default/api-sessions-console']);
  for (const [k, v] of [['NoNewPrivileges', 'yes'], ['ProtectSystem', 'strict'], ['ProtectHome', 'yes'], ['PrivateTmp', 'yes']]) expect({ [k]: value(k) }).toEqual({ [k]: [v] });
  // The database in the state directory, the only place ProtectSystem=strict leaves writable.
  expect(value('ExecStart')[0]).toContain('--db /var/lib/api-sessions/');
  expect(value('ExecStart')[0]).not.toContain('--host'); // loopback, the console's default
});

test('the unit refuses to start without a token (ExecStartPre), and starts with one', () => {
  const pre = value('ExecStartPre');
  expect(pre).toHaveLength(1);
  const m = /^\/bin\/sh -c '(.*)'$/.exec(pre[0]);
  expect(m).not.toBeNull();
  const run = (token: string) => spawnSync('/bin/sh', ['-c', m![1]], { env: { PATH: process.env.PATH, API_SESSIONS_TOKEN: token }, encoding: 'utf8' });
  const empty = run('');
  expect(empty.status).toBe(1);
  expect(empty.stderr).toContain('set API_SESSIONS_TOKEN in /etc/default/api-sessions-console');
  // The example environment file as shipped has an empty token.
  expect(readFileSync(ENV_FILE, 'utf8')).toMatch(/^API_SESSIONS_TOKEN=$/m);
  expect(run('a-token').status).toBe(0);
});

describe('started as the unit starts it', () => {
  const tmp = tempDir('api-sessions-unit-run-');
  let c: ConsoleProcess | null = null;
  const TOKEN = 'unit-test-token';
  afterAll(async () => {
    if (c) await c.stop();
    tmp.cleanup();
  });

  test('serves /healthz on 127.0.0.1, requires the token of its environment file, ingests the log (present and appended), finds an attack in it', async () => {
    requireBuiltConsole();
    const state = join(tmp.dir, 'var/lib/api-sessions');
    const logs = join(tmp.dir, 'var/log/nginx');
    mkdirSync(state, { recursive: true });
    mkdirSync(logs, { recursive: true });
    const exec = value('ExecStart')[0];
    expect(exec).not.toMatch(/["'\\$%]/); // plain words: split on spaces as systemd would
    const logPath = / --log (\S+)/.exec(exec)![1];
    const mapPath = (p: string) => p.replace(/^\/opt\/api-sessions\//, ROOT + '/').replace(/^\/var\/lib\/api-sessions\//, state + '/').replace(/^\/var\/log\/nginx\//, logs + '/');
    // --port 0: other jobs of this machine may hold 7441; everything else is the unit's.
    const argv = [process.execPath, ...exec.split(' ').slice(1).map(mapPath), '--port', '0'];
    expect(value('WorkingDirectory')).toEqual(['/var/lib/api-sessions']);

    // The example environment file, with its token filled in as the documentation says.
    const envFile = readFileSync(ENV_FILE, 'utf8').replace(/^API_SESSIONS_TOKEN=.*$/m, `API_SESSIONS_TOKEN=${TOKEN}`);
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH };
    for (const l of envFile.split('\n')) if (/^[A-Z_]+=/.test(l)) env[l.slice(0, l.indexOf('='))] = l.slice(l.indexOf('=') + 1);
    expect(Object.keys(env).sort()).toEqual(['API_SESSIONS_TOKEN', 'PATH']);

    const first = rec({ at: TODAY, s: 'unit-a', path: '/first' });
    const second = rec({ at: TODAY + 1000, s: 'unit-a', path: '/second' });
    writeFileSync(mapPath(logPath), line(first));
    c = await startConsoleProcess(argv, { env, cwd: mapPath(value('WorkingDirectory')[0] + '/') });
    expect(c.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);

    const health = await fetch(c.url + 'healthz');
    expect([health.status, await health.json()]).toEqual([200, { ok: true }]);
    const requests = `${c.url}api/sessions/${first.session}/parts/${first.part}/requests`;
    expect((await fetch(requests)).status).toBe(401);
    const auth = { authorization: `Bearer ${TOKEN}` };
    await waitFor('the record present at start', async () => ((await (await fetch(requests, { headers: auth })).json()) as any).items?.length === 1);
    appendFileSync(mapPath(logPath), line(second));
    const items = await waitFor('the appended record', async () => {
      const b = (await (await fetch(requests, { headers: auth })).json()) as any;
      return b.items?.length === 2 ? b.items : null;
    });
    expect(items.map((r: any) => [r.request_id, r.path])).toEqual([
      [first.request_id, '/first'],
      [second.request_id, '/second'],
    ]);
    expect(existsSync(mapPath(/ --db (\S+)/.exec(exec)![1]))).toBe(true);

    // The detections run on their own thread (dist/console/detect/worker.js): a walk over 25
    // orders, mostly refused, becomes a finding.
    const walk = Array.from({ length: 25 }, (_, i) => rec({ s: 'unit-walker', at: TODAY + 5000 + i * 2000, path: `/orders/${500 + i}`, status: i % 5 ? 403 : 200 }));
    appendFileSync(mapPath(logPath), walk.map(line).join(''));
    const found = await waitFor('the walk as a finding', async () => {
      const b = (await (await fetch(`${c!.url}api/detections?kind=enumeration`, { headers: auth })).json()) as any;
      return b.items?.length === 1 ? b.items[0] : null;
    });
    expect(found).toMatchObject({ kind: 'enumeration', subject: walk[0].session, sessions_total: 1 });

    const code = await c.stop();
    c = null;
    expect(code).toBe(0); // SIGTERM, as systemctl stop sends it: a clean close
  });
});
