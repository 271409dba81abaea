/**
 * npm run demo: the whole local system on 127.0.0.1. nginx with the module in front of a small
 * demo API, a few scripted sessions driven through it, their records printed grouped by session,
 * alice's journey stitched from her sessions' links (anonymous browsing, the login that issues a
 * token, the token's requests, a refresh, the new token's requests), a credential-stuffing run
 * and an object-enumeration run, the console ingesting nginx's log, the grouping keys it
 * recommends and what its detections found, its URLs printed. Runs until Ctrl-C (or, with
 * --once, exits after printing); everything it started is stopped before it exits.
 */
import { readFileSync, mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { startConsole, RunningConsole } from '../src/console/index';
import { startNginx, Nginx, ROOT } from '../test/helpers/nginx';
import { engineFromArgs } from '../test/helpers/engines';
import { startUpstream, Upstream } from '../test/helpers/upstream';
import { request } from '../test/helpers/http';

/** How many requests traffic() sends, and attacks(). */
const REQUESTS = 16;
const ATTACK_REQUESTS = 15 + 1 + 40;

async function traffic(ng: Nginx): Promise<void> {
  const url = (p: string) => ng.url(p);
  const json = (body: unknown, headers: Record<string, string> = {}) => ({
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const browser = { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0' };
  const alicesBrowser = { 'user-agent': 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) Safari/605.1.15' };

  // 1. An anonymous visitor: grouped by IP + User-Agent.
  await request(url('/products?q=boots'), { headers: browser });
  await request(url('/products/42'), { headers: browser });

  // 2. Alice browses anonymously (IP + User-Agent), then logs in with the same browser: the token
  //    comes back in the login response's JSON body (the seeds' example), and the login links
  //    her anonymous session to the token's. She sends the token in the query, in a JSON body and
  //    as a Bearer header; a refresh trades it for a new one (linked too), which she then uses.
  await request(url('/products?q=scarf'), { headers: alicesBrowser });
  await request(url('/products/7'), { headers: alicesBrowser });
  const login = await request(url('/login'), json({ user: 'alice' }, alicesBrowser));
  const token = JSON.parse(login.text).token;
  await request(url('/orders?token=' + token), { headers: alicesBrowser });
  await request(url('/cart'), json({ token, item: 'sku-7', email: 'alice@example.com' }, alicesBrowser));
  await request(url('/profile'), { headers: { authorization: 'Bearer ' + token, ...alicesBrowser } });
  const refresh = await request(url('/refresh'), { method: 'POST', headers: { authorization: 'Bearer ' + token, ...alicesBrowser } });
  const fresh = JSON.parse(refresh.text).token;
  await request(url('/orders?token=' + fresh), { headers: alicesBrowser });
  await request(url('/profile'), { headers: { authorization: 'Bearer ' + fresh, ...alicesBrowser } });

  // 3. Bob uses the web shop: express-session's cookie groups him, from the response that set it.
  const first = await request(url('/cart'), { headers: browser });
  const cookie = String(first.headers['set-cookie']).split(';')[0];
  await request(url('/cart'), { headers: { ...browser, cookie } });
  await request(url('/checkout'), { method: 'POST', headers: { ...browser, cookie } });

  // 4. Mallory probes the search with SQL injection: marked malicious, full content recorded.
  const attacker = { 'user-agent': 'sqlmap/1.8' };
  await request(url("/products?q=boots' OR 1=1--".replace(/ /g, '%20')), { headers: attacker });
  await request(url('/products?q=%3Cscript%3Ealert(1)%3C/script%3E'), { headers: attacker });
}

/**
 * Two attacks the console's detections find: a tool trying a list of accounts on the sign-in
 * (credential stuffing), then mallory, signed in with her own account, walking the invoices
 * one id after the other, most of them other people's (object enumeration).
 */
async function attacks(ng: Nginx): Promise<void> {
  const url = (p: string) => ng.url(p);
  // (Everything here comes from 127.0.0.1: mallory signs in before the tool starts, so that the
  // address's failed logins are the tool's alone.)
  const browser = { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0' };
  const signin = await request(url('/signin'), { method: 'POST', headers: { ...browser, 'content-type': 'application/json' }, body: JSON.stringify({ email: 'mallory@example.com', password: 'mallory-2026' }) });
  const token = JSON.parse(signin.text).token;
  const tool = { 'user-agent': 'python-requests/2.31.0', 'content-type': 'application/json' };
  for (let i = 1; i <= 15; i++) {
    await request(url('/signin'), { method: 'POST', headers: tool, body: JSON.stringify({ email: `customer${i}@example.com`, password: 'Summer2024!' }) });
  }
  for (let id = 1000; id < 1040; id++) await request(url(`/invoices/${id}`), { headers: { ...browser, authorization: 'Bearer ' + token } });
}

/** The requests in time order of the sessions linked to `start` (following the records'
 *  links, never through an IP + User-Agent session, as the console's journeys do). */
function journeyOf(records: any[], start: string): any[] {
  const fallback = new Set(records.filter((r) => r.key_source === 'fallback').map((r) => r.session));
  const keyed = new Set(records.filter((r) => r.key_source !== 'fallback').map((r) => r.session));
  const edges = new Map<string, Set<string>>();
  const edge = (a: string, b: string) => {
    if (!edges.has(a)) edges.set(a, new Set());
    edges.get(a)!.add(b);
  };
  for (const r of records) for (const l of r.links || []) if (l !== r.session) (edge(r.session, l), edge(l, r.session));
  const found = new Set([start]);
  const queue = [start];
  while (queue.length > 0) {
    const s = queue.shift()!;
    if (fallback.has(s) && !keyed.has(s) && s !== start) continue;
    for (const n of edges.get(s) || []) if (!found.has(n)) (found.add(n), queue.push(n));
  }
  return records.filter((r) => found.has(r.session)).sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0));
}

function printJourney(title: string, rs: any[]): void {
  const order: string[] = [];
  for (const r of rs) if (!order.includes(r.session)) order.push(r.session);
  console.log(`${title}: ${rs.length} requests in ${order.length} linked sessions\n`);
  for (const r of rs) {
    console.log(`  ${r.ts.slice(11, 23)}  session ${order.indexOf(r.session) + 1} (${r.key})`.padEnd(58) + `${r.method.padEnd(5)} ${r.path.padEnd(10)} ${r.status}${r.user ? '  user ' + r.user : ''}`);
  }
  console.log('');
}

function printSessions(records: any[]): void {
  const sessions = new Map<string, any[]>();
  for (const r of records) {
    if (!sessions.has(r.session)) sessions.set(r.session, []);
    sessions.get(r.session)!.push(r);
  }
  console.log(`\n${records.length} requests in ${sessions.size} sessions:\n`);
  for (const [id, rs] of sessions) {
    const who = rs.find((r) => r.user)?.user || 'anonymous';
    console.log(`session ${id}  part ${rs[0].part}  app ${rs[0].app}  user ${who}`);
    for (const r of rs) {
      const extra = [
        `key=${r.key}`,
        Object.keys(r.params).length ? `params=${JSON.stringify(r.params)}` : '',
        r.attack ? `ATTACK=${r.attack.join(',')}` : '',
        r.errors.length ? `errors=${JSON.stringify(r.errors)}` : '',
      ]
        .filter(Boolean)
        .join('  ');
      console.log(`  ${r.ts.slice(11, 23)}  ${r.method.padEnd(5)} ${r.path.padEnd(14)} ${r.status}  ${extra}`);
    }
    console.log('');
  }
}

/** What the demo needs from the machine (nginx and its js module), checked as the tests check it
 *  (test/helpers/engine-list.cjs): one line naming what is missing and the command that installs
 *  it, instead of a stack trace from spawning a binary that is not there. */
function checkMachine(): void {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const { currentEngine } = require('../test/helpers/engine-list.cjs') as { currentEngine(): { name: string; why: string | null } };
  const e = currentEngine();
  if (e.why !== null) {
    console.error(`npm run demo: ${e.why}`);
    process.exit(2);
  }
}

async function main(): Promise<void> {
  checkMachine();
  // --engine debian12|trixie|sid|sid-qjs (scripts/engines.sh); default: the host's nginx
  engineFromArgs(process.argv.slice(2));
  const once = process.argv.includes('--once');
  let up: Upstream | undefined;
  let ng: Nginx | undefined;
  let con: RunningConsole | undefined;
  const data = mkdtempSync(join(tmpdir(), 'api-sessions-demo-'));
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (con) await con.close();
    if (ng) await ng.stop();
    if (up) await up.close();
    rmSync(data, { recursive: true, force: true });
  };
  process.on('SIGINT', () => void stop().then(() => process.exit(0)));
  process.on('SIGTERM', () => void stop().then(() => process.exit(0)));
  try {
    up = await startUpstream();
    const http = readFileSync(join(ROOT, 'nginx', 'demo', 'http.conf'), 'utf8').replace(/\{\{UPSTREAM_PORT\}\}/g, String(up.port));
    ng = await startNginx({ http });
    console.log(`nginx with api-sessions on ${ng.url('/')} (pid ${ng.pid}), demo API on 127.0.0.1:${up.port}`);
    await traffic(ng);
    await attacks(ng);
    const all = await ng.records(REQUESTS + ATTACK_REQUESTS); // the requests traffic() and attacks() send
    const records = all.slice(0, REQUESTS);
    console.log('\nThe records nginx wrote (one JSON line each), first one in full:\n');
    console.log(JSON.stringify(records[0], null, 2));
    printSessions(records);
    console.log(`Then ${ATTACK_REQUESTS} more: a tool trying 15 accounts on POST /signin, and mallory walking /invoices/1000 to 1039 (most of them answered 403).\n`);
    const aliceToken = records.find((r) => r.user === 'alice');
    if (aliceToken) printJourney("alice's journey, stitched by the records' links", journeyOf(records, aliceToken.session));

    // The console follows nginx's log, as it would in production.
    con = await startConsole({
      dbPath: join(data, 'sessions.db'),
      logFile: join(ng.prefix, 'logs', 'api_sessions.log'),
      log: () => {},
    });
    const deadline = Date.now() + 10000;
    while ((await con.store.stats()).requests < all.length && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const stats = await con.store.stats();
    const attacked = records.find((r) => r.attack);
    console.log(`console: ${con.url}  (${stats.requests} requests in ${stats.parts} session parts ingested from nginx's log)`);
    if (attacked) console.log(`the attacker's session: ${con.url}session/${attacked.session}/${attacked.part}`);
    // Alice's login links her anonymous session to her token's, the refresh her first token's to
    // the new one's: her journey reads them as one.
    const alice = records.find((r) => r.user === 'alice');
    if (alice) console.log(`alice's journey: ${con.url}journey/${alice.session}`);
    const app = encodeURIComponent(records[0].app);
    const rec = (await (await fetch(new URL(`/api/apps/${app}/recommendations`, con.url))).json()) as any;
    console.log(`recommended grouping keys: ${con.url}apps/${app}/recommendations`);
    console.log(`  ${rec.nginx ?? '(nothing to suggest)'}`);
    if (rec.preview) {
      const p = rec.preview;
      const now = rec.in_force;
      console.log(`  what it would do to the ${p.sampled} sampled requests: ${p.sessions} sessions, ${p.mixed_sessions} with more than one user, ` +
        `${p.fallback_requests} requests left to IP + User-Agent`);
      console.log(`  what the configuration in force did: ${now.sessions} sessions, ${now.mixed_sessions} with more than one user, ` +
        `${now.fallback_requests} requests left to IP + User-Agent`);
      console.log(`  ${rec.comparison.text}`);
    }
    // What the detections found in that traffic, as the Detections page shows it.
    const findings = (await (await fetch(new URL('/api/detections', con.url))).json()) as any;
    console.log(`\ndetections: ${con.url}detections  (${findings.items.length} findings)`);
    for (const f of findings.items) {
      console.log(`  ${f.kind}/${f.rule}: ${f.summary}`);
      console.log(`    rule: ${f.threshold}`);
      const e = f.evidence[f.evidence.length - 1];
      if (e) console.log(`    evidence, e.g. ${e.method} ${e.path} ${e.status}: ${con.url}session/${e.session}/${e.part}#r=${e.request_id}`);
    }
    if (once) return;
    console.log('\nSend more traffic to ' + ng.url('/') + ' and watch it arrive; Ctrl-C stops everything.');
    await new Promise(() => {}); // until a signal
  } finally {
    if (once || !ng) await stop();
  }
}

main().catch(async (e) => {
  console.error(e);
  process.exit(1);
});
