/**
 * The detection rules, one scenario each, through the detector as ingest runs it: what must
 * make a finding (with its sessions, evidence, rule and measures) and what must not (a phone
 * changing network, an app and its in-app browser, an office behind one address logging in, a
 * person's mistyped passwords, a person browsing). And the signals the rules read, the
 * settings' checks, the bounds.
 */
import { SessionRecord } from '../../src/shared/record';
import { Detector, blockTargets } from '../../src/console/detect/detector';
import { BadDetectionConfig, DEFAULT_DETECTION_CONFIG, detectionConfig } from '../../src/console/detect/config';
import { Finding } from '../../src/console/detect/finding';
import { PathIds, agentFamily, networkOf, recordTime, Logins } from '../../src/console/detect/signals';
import { pathPattern } from '../../src/console/part-stats';
import { rec, sid, TODAY } from './helpers';

const CHROME_WIN = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';
const FIREFOX_LINUX = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';
const SAFARI_IOS = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';
const IOS_WEBVIEW = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148';
const APP_IOS = 'ShopApp/3.4.1 (iPhone; iOS 17.5; Scale/3.00)';
const TOKEN = { key: 'request.header.authorization', key_source: 'builtin' as const };
const COOKIE = { key: 'request.cookie.sid', key_source: 'builtin' as const };
const FALLBACK = { key: 'ip+ua', key_source: 'fallback' as const };

/** Runs records through a detector (in time order, in batches as ingest does) and returns its
 *  findings as they stand at the end. */
function detect(records: SessionRecord[], overrides: unknown = {}, until?: number): Finding[] {
  const d = new Detector(detectionConfig(overrides));
  const out = new Map<string, Finding>();
  const sorted = [...records].sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0));
  for (let i = 0; i < sorted.length; i += 50) {
    d.observe(sorted.slice(i, i + 50));
    for (const u of d.flush()) out.set(u.finding.id, structuredClone(u.finding));
  }
  if (until !== undefined) {
    d.tick(until);
    for (const u of d.flush()) out.set(u.finding.id, structuredClone(u.finding));
  }
  return [...out.values()];
}

const S = 1000;
const MIN = 60 * S;

describe('signals', () => {
  test('User-Agent families: browser and system without versions, in-app browsers, programs', () => {
    expect(agentFamily(CHROME_WIN)).toEqual({ name: 'Chrome on Windows', browser: true, os: 'Windows', webview: false });
    expect(agentFamily(CHROME_WIN.replace('126.0.0.0', '127.0.1.2')).name).toBe('Chrome on Windows');
    expect(agentFamily(FIREFOX_LINUX).name).toBe('Firefox on Linux');
    expect(agentFamily(SAFARI_IOS).name).toBe('Safari on iOS');
    expect(agentFamily(IOS_WEBVIEW)).toMatchObject({ name: 'In-app browser on iOS', webview: true });
    expect(agentFamily('Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/AP2A; wv) AppleWebKit/537.36 Chrome/125.0 Mobile Safari/537.36')).toMatchObject({ webview: true, os: 'Android' });
    expect(agentFamily(APP_IOS)).toEqual({ name: 'shopapp', browser: false, os: 'iOS', webview: false });
    expect(agentFamily('python-requests/2.31.0')).toEqual({ name: 'python-requests', browser: false, os: null, webview: false });
    expect(agentFamily(null).name).toBe('(no User-Agent)');
  });

  test('networks: an IPv4 /16 and an IPv6 /32 by default, IPv4-mapped addresses as IPv4', () => {
    expect(networkOf('203.0.113.7', 16, 32)).toBe('203.0.0.0/16');
    expect(networkOf('203.0.113.7', 24, 32)).toBe('203.0.113.0/24');
    expect(networkOf('2001:db8:1234:5678::1', 16, 32)).toBe('2001:db8::/32');
    expect(networkOf('2001:db8::1', 16, 32)).toBe('2001:db8::/32');
    expect(networkOf('::ffff:198.51.100.9', 16, 32)).toBe('198.51.0.0/16');
    expect(networkOf('unix:', 16, 32)).toBe('unix:');
  });

  test('ids in paths: folded as the session page folds endpoints, with their values', () => {
    const p = new PathIds();
    for (const path of ['/orders/17', '/orders/17/items/3', '/users/3f2504e0-4f89-11d3-9a0c-0305e82c3301/profile', '/blobs/0123456789abcdef0123', '/v2/items/12x', '/a//7/']) {
      expect(p.read(path)).toBe(pathPattern(path) !== path);
      if (pathPattern(path) !== path) expect(p.pattern()).toBe(pathPattern(path));
    }
    expect(p.read('/orders/17/items/3')).toBe(true);
    expect(p.ids()).toBe('17/3');
    expect(p.numbers).toEqual([17, 3]);
    expect(p.id()).toBe('17/3');
    p.read('/orders/42');
    expect(p.id()).toBe(42);
    expect(p.read('/orders')).toBe(false);
    expect(p.read('/v2/items')).toBe(false);
    const a = new PathIds();
    a.read('/orders/1');
    const b = new PathIds();
    b.read('/orders/2/items');
    expect(a.shape).not.toBe(b.shape);
    b.read('/orders/99');
    expect(a.shape).toBe(b.shape);
  });

  test('record times without Date.parse, the same values', () => {
    for (const ts of ['2026-11-23T08:43:57.837Z', '2026-11-23T23:59:59.999Z', '2026-11-24T00:00:00.000Z', '2024-02-29T12:00:00.001Z']) expect(recordTime(ts)).toBe(Date.parse(ts));
  });

  test('logins: POST to a login path by default; failures 401/403; the account from the user or a parameter', () => {
    const l = new Logins(DEFAULT_DETECTION_CONFIG.login);
    for (const p of ['/login', '/api/v1/auth/login', '/users/sign_in', '/oauth/token', '/api/session', '/wp-login.php', '/signin/']) expect(l.isLogin(rec({ s: 'x', at: TODAY, method: 'POST', path: p }))).toBe(true);
    for (const p of ['/logout', '/login/help', '/tokens/list', '/authors']) expect(l.isLogin(rec({ s: 'x', at: TODAY, method: 'POST', path: p }))).toBe(false);
    expect(l.isLogin(rec({ s: 'x', at: TODAY, method: 'GET', path: '/login' }))).toBe(false);
    expect(l.failed(rec({ s: 'x', at: TODAY, status: 401 }))).toBe(true);
    expect(l.failed(rec({ s: 'x', at: TODAY, status: 302 }))).toBe(false);
    expect(l.account(rec({ s: 'x', at: TODAY, user: 'alice' }))).toBe('alice');
    expect(l.account(rec({ s: 'x', at: TODAY, params: { 'request.body.json.email': 'ab'.repeat(16) } }))).toBe('request.body.json.email=' + 'ab'.repeat(16));
    expect(l.account(rec({ s: 'x', at: TODAY, params: { 'request.body.json.password_hint': 'x' } }))).toBeNull();
  });
});

describe('settings', () => {
  test('overrides merge with the defaults; unknown names, wrong types and bad expressions are refused with their path', () => {
    const c = detectionConfig({ enumeration: { min_ids: 30 }, login: { failure_statuses: [401, 422] } });
    expect(c.enumeration.min_ids).toBe(30);
    expect(c.enumeration.failed_share).toBe(DEFAULT_DETECTION_CONFIG.enumeration.failed_share);
    expect(c.login.failure_statuses).toEqual([401, 422]);
    expect(() => detectionConfig({ enumeration: { min_idz: 3 } })).toThrow(new BadDetectionConfig('enumeration.min_idz: no such setting'));
    expect(() => detectionConfig({ hijack: { switches: 'many' } })).toThrow('hijack.switches: a number, 0 or more');
    expect(() => detectionConfig({ login: { path: '(' } })).toThrow(/login\.path: not a regular expression/);
    expect(() => detectionConfig({ login: { failure_statuses: [99] } })).toThrow('login.failure_statuses: a list of statuses (100-999)');
    expect(() => detectionConfig({ stuffing: { address_failed_share: 2 } })).toThrow('stuffing.address_failed_share: a share, 0 to 1');
    expect(() => detectionConfig({ enumeration: { many_ids_share: 1.5 } })).toThrow('enumeration.many_ids_share: a share, 0 to 1');
    expect(() => detectionConfig({ scripted: { rate_minutes: 61 } })).toThrow('scripted.rate_minutes: a whole number, 1 to 60');
    expect(() => detectionConfig([])).toThrow('detections: a JSON object');
    expect(detect([rec({ s: 'x', at: TODAY, path: '/orders/1', status: 404 })], { enabled: false })).toEqual([]);
  });
});

describe('hijack', () => {
  /** The owner's token session: a request every 20 s from home with Safari on macOS. */
  const owner = (n: number, o: Partial<SessionRecord> = {}) =>
    Array.from({ length: n }, (_, i) => rec({ s: 'tok', at: TODAY + i * 20 * S, ...TOKEN, ip: '81.2.3.4', ua: SAFARI_IOS, user: 'alice', path: '/api/orders', ...o }));

  test('a stolen token used from another network by another program while its owner is active: new_device', () => {
    const thief = rec({ s: 'tok', at: TODAY + 95 * S, ...TOKEN, ip: '45.9.8.7', ua: 'python-requests/2.31.0', path: '/api/orders/77' });
    const [f, ...more] = detect([...owner(10), thief, rec({ s: 'tok', at: TODAY + 97 * S, ...TOKEN, ip: '45.9.8.7', ua: 'python-requests/2.31.0', path: '/api/orders/78' })]);
    expect(more).toEqual([]);
    expect(f).toMatchObject({ kind: 'hijack', rule: 'new_device', subject_type: 'session', subject: sid('tok'), app: 'shop', users: ['alice'], sessions_total: 1, requests: 2 });
    expect(f.sessions).toEqual([{ session: sid('tok'), part: thief.part }]);
    expect(f.evidence.map((e) => [e.ip, e.path])).toEqual([
      ['81.2.3.4', '/api/orders'],
      ['45.9.8.7', '/api/orders/77'],
      ['45.9.8.7', '/api/orders/78'],
    ]);
    expect(f.first_ts).toBe(thief.ts);
    expect(f.summary).toBe(`Session ${sid('tok').slice(0, 12)}… was used by python-requests from 45.9.0.0/16 15 s after Safari on iOS from 81.2.0.0/16 used it.`);
    expect(f.threshold).toContain('30 min');
    expect(f.settings['hijack.window_minutes']).toBe(30);
    expect(blockTargets(f)).toEqual([
      { kind: 'session', value: sid('tok'), label: `session ${sid('tok').slice(0, 12)}…` },
      { kind: 'user', value: 'alice', label: 'user alice' },
    ]);
  });

  test('a phone moving from Wi-Fi to its mobile network, and back ten minutes later, is not a hijack', () => {
    const rs = [
      ...owner(10, { ua: APP_IOS }),
      ...Array.from({ length: 10 }, (_, i) => rec({ s: 'tok', at: TODAY + 200 * S + i * 20 * S, ...TOKEN, ip: `172.56.${i}.9`, ua: APP_IOS })),
      ...Array.from({ length: 5 }, (_, i) => rec({ s: 'tok', at: TODAY + 1000 * S + i * 20 * S, ...TOKEN, ip: '81.2.3.4', ua: APP_IOS })),
    ];
    expect(detect(rs)).toEqual([]);
  });

  test('an app and its in-app browser sharing the token, the browser first on a new network, are not a hijack', () => {
    const rs = [...owner(6, { ua: APP_IOS }), rec({ s: 'tok', at: TODAY + 105 * S, ...TOKEN, ip: '172.56.1.1', ua: IOS_WEBVIEW, path: '/help/articles/3' })];
    expect(detect(rs)).toEqual([]);
    // Another program on that new network is one.
    expect(detect([...owner(6, { ua: APP_IOS }), rec({ s: 'tok', at: TODAY + 105 * S, ...TOKEN, ip: '172.56.1.1', ua: 'curl/8.5.0' })]).map((f) => f.rule)).toEqual(['new_device']);
  });

  test('another browser on the same network: agent_change; the same User-Agent back and forth between networks: two_networks', () => {
    const web = owner(6, { ua: CHROME_WIN, ...COOKIE });
    const firesheep = rec({ s: 'tok', at: TODAY + 101 * S, ...COOKIE, ip: '81.2.200.1', ua: FIREFOX_LINUX });
    expect(detect([...web, firesheep]).map((f) => [f.rule, f.measured.family, f.measured.earlier_family])).toEqual([['agent_change', 'Firefox on Linux', 'Chrome on Windows']]);

    // Owner and attacker take turns every few seconds: five returns to a network just used.
    const turns: SessionRecord[] = [];
    for (let i = 0; i < 12; i++) turns.push(rec({ s: 'tok', at: TODAY + i * 7 * S, ...TOKEN, ip: i % 2 ? '45.9.8.7' : '81.2.3.4', ua: SAFARI_IOS }));
    const [f] = detect(turns);
    expect(f).toMatchObject({ kind: 'hijack', rule: 'two_networks' });
    expect(f.first_ts).toBe(turns[6].ts); // the fifth return
    // A phone at the edge of a Wi-Fi: two detours to the mobile network, then it stays.
    const flaps = [0, 10, 20, 30, 40, 50, 60, 70].map((t, i) => rec({ s: 'tok', at: TODAY + t * S, ...TOKEN, ip: i === 2 || i === 5 ? '172.56.0.1' : '81.2.3.4', ua: APP_IOS }));
    expect(detect(flaps)).toEqual([]);
  });

  test('sessions grouped by IP + User-Agent, and keys an operator exempts, are never judged', () => {
    const shared = [rec({ s: 'ipua', at: TODAY, ...FALLBACK, ua: CHROME_WIN }), rec({ s: 'ipua', at: TODAY + S, ...FALLBACK, ip: '45.9.8.7', ua: 'curl/8.5.0' })];
    expect(detect(shared)).toEqual([]);
    const fleet = [rec({ s: 'svc', at: TODAY, key: 'request.header.x-api-key', ip: '10.1.0.1', ua: 'python-requests/2.31.0' }), rec({ s: 'svc', at: TODAY + S, key: 'request.header.x-api-key', ip: '99.1.0.1', ua: 'curl/8.5.0' })];
    expect(detect(fleet).map((f) => f.rule)).toEqual(['new_device']);
    expect(detect(fleet, { hijack: { ignore_keys: ['request.header.x-api-key'] } })).toEqual([]);
  });
});

describe('enumeration', () => {
  // Uneven gaps around `gap`: a loop with a fixed sleep is another rule's.
  const walk = (ids: number[], status: (i: number) => number, gap = 2 * S, o: Partial<SessionRecord> = {}) =>
    ids.map((id, i) => rec({ s: 'walker', at: TODAY + i * gap + Math.round((((i * 37) % 11) / 11) * 0.9 * gap), ...TOKEN, user: 'mallory', path: `/api/orders/${id}`, status: status(i), ...o }));

  test('ids walked in sequence, mostly refused: one finding with both rules and the evidence', () => {
    const rs = walk(Array.from({ length: 30 }, (_, i) => 1000 + i), (i) => (i % 10 === 0 ? 200 : 403));
    const fs = detect(rs);
    expect(fs).toHaveLength(1);
    const f = fs[0];
    // 30 distinct ids and nothing else: many_ids too.
    expect(f).toMatchObject({ kind: 'enumeration', rule: 'sequential_ids', rules: ['sequential_ids', 'failed_ids', 'many_ids'], subject: sid('walker'), users: ['mallory'] });
    expect(f.first_ts).toBe(rs[11].ts); // the 12th request in a row
    expect(f.measured).toMatchObject({ endpoint: 'GET /api/orders/N', ids: 30, requests: 30, failed: 27, run: 30, from_id: 1000, to_id: 1029 });
    expect(f.summary).toBe(`Session ${sid('walker').slice(0, 12)}… walked 30 ids of GET /api/orders/N in sequence (1000 to 1029); 27 of 30 were refused.`);
    expect(f.evidence.length).toBeGreaterThanOrEqual(12);
    expect(f.evidence.every((e) => e.session === sid('walker') && e.path.startsWith('/api/orders/'))).toBe(true);
    expect(f.requests).toBe(19);
  });

  test('random ids, mostly 404: failed_ids; all answered 200 in sequence: sequential_ids', () => {
    const random = walk([5, 9120, 33, 70001, 412, 8, 99, 1234, 777, 50, 61, 3002, 17, 8888, 4, 600, 31, 72, 19, 2024, 45], (i) => (i % 4 === 0 ? 403 : 404));
    expect(detect(random).map((f) => [f.rule, f.measured.ids, f.measured.failed_share])).toEqual([['failed_ids', 21, 1]]);
    const leaky = walk(Array.from({ length: 12 }, (_, i) => 500 - 2 * i), () => 200);
    expect(detect(leaky).map((f) => f.rule)).toEqual(['sequential_ids']);
  });

  test('random ids all answered 200 at a reading pace, and little else: many_ids; not a person opening many products among other things, nor people behind one address', () => {
    // 40 orders picked at random, 3-15 s apart, the account page now and then.
    const rs: SessionRecord[] = [];
    let t = TODAY;
    for (let i = 0; i < 40; i++) {
      t += 3 * S + ((i * 7919) % 12000);
      rs.push(rec({ s: 'harvest', at: t, ...TOKEN, user: 'mallory', path: `/api/orders/${100000 + ((i * 48271) % 900000)}` }));
      if (i % 15 === 7) rs.push(rec({ s: 'harvest', at: t + 500, ...TOKEN, user: 'mallory', path: '/api/me' }));
    }
    const fs = detect(rs).filter((f) => f.kind === 'enumeration');
    expect(fs.map((f) => f.rules)).toEqual([['many_ids']]);
    expect(fs[0].first_ts).toBe(rs.filter((r) => r.path !== '/api/me')[29].ts); // the 30th id
    // The newest measures: the 40 ids in the window, 3 visits to the account page among them.
    expect(fs[0].measured).toMatchObject({ endpoint: 'GET /api/orders/N', ids: 40, requests: 40, failed: 0, session_share: 0.93 });
    expect(fs[0].summary).toMatch(/requested 40 distinct ids of GET \/api\/orders\/N in \d+ min, 93% of its requests; 0 of 40 were refused\.$/);
    // Off with many_ids 0.
    expect(detect(rs, { enumeration: { many_ids: 0 } }).filter((f) => f.kind === 'enumeration')).toEqual([]);

    // Not many_ids: a person opening many products among other things, people behind one address.
    // 40 products, each with its reviews and the cart: a third of the session's requests.
    const person: SessionRecord[] = [];
    t = TODAY;
    for (let i = 0; i < 40; i++) {
      t += 4 * S + ((i * 7919) % 9000);
      person.push(rec({ s: 'shopper', at: t, ...TOKEN, path: `/api/products/${(i * 48271) % 40000}` }));
      person.push(rec({ s: 'shopper', at: t + 150, ...TOKEN, path: `/api/products/${(i * 48271) % 40000}/reviews` }));
      person.push(rec({ s: 'shopper', at: t + 300, ...TOKEN, path: '/api/cart' }));
    }
    expect(detect(person)).toEqual([]);
    // The same 40 random ids from a session grouped by IP + User-Agent (an office): not judged.
    const office = Array.from({ length: 40 }, (_, i) => rec({ s: 'office', at: TODAY + i * 9 * S + ((i * 37) % 11) * 400, ...FALLBACK, ua: CHROME_WIN, path: `/api/orders/${100000 + ((i * 48271) % 900000)}` }));
    expect(detect(office).filter((f) => f.kind === 'enumeration')).toEqual([]);
  });

  test('a person opening orders, some missing, some in a row, is not an enumeration', () => {
    expect(detect(walk([101, 102, 103, 104, 105, 900, 3, 7000, 42, 43, 44, 12, 13, 14, 15, 16, 88, 17, 2], () => 200, 8 * S))).toEqual([]);
    // 19 distinct ids all refused: under min_ids.
    expect(detect(walk(Array.from({ length: 19 }, (_, i) => 10 * i + 5), () => 404))).toEqual([]);
    // The same ids again and again: few distinct.
    expect(detect(walk(Array.from({ length: 40 }, (_, i) => i % 3), () => 404))).toEqual([]);
    // Spread over an hour: never 20 in a 10-minute window.
    expect(detect(walk(Array.from({ length: 40 }, (_, i) => 37 * i), () => 404, 3 * MIN))).toEqual([]);
  });
});

describe('credential stuffing and brute force', () => {
  const login = (s: string, at: number, ip: string, account: string, status: number, ua = CHROME_WIN, o: Partial<SessionRecord> = {}) =>
    rec({ s, at, method: 'POST', path: '/login', status, ip, ua, key: 'response.cookie.sid', key_source: 'builtin', params: { 'request.body.form.email': account }, ...o });

  test('twenty people behind one address logging in, three of them mistyping, are not stuffing', () => {
    const rs: SessionRecord[] = [];
    for (let p = 0; p < 20; p++) {
      const t = TODAY + p * 20 * S;
      if (p % 7 === 0) rs.push(login(`p${p}`, t, '198.51.100.1', `user${p}`, 401));
      rs.push(login(`p${p}`, t + 8 * S, '198.51.100.1', `user${p}`, 200));
    }
    expect(detect(rs, {}, TODAY + 60 * MIN)).toEqual([]);
  });

  test('many accounts from one address: by_address, naming its attempts and the account it got into', () => {
    const rs = Array.from({ length: 15 }, (_, i) => login(`a${i}`, TODAY + i * 2 * S, '45.9.8.7', `victim${i}`, i === 14 ? 200 : 401, 'python-requests/2.31.0'));
    const fs = detect(rs, {}, TODAY + 60 * MIN);
    expect(fs.map((f) => [f.rule, f.subject_type, f.subject])).toEqual([['by_address', 'address', '45.9.8.7']]);
    expect(fs[0].sessions.map((x) => x.session)).toEqual(rs.map((r) => r.session));
    expect(fs[0].measured).toMatchObject({ failures: 14, attempts: 15, accounts: 14 }); // the newest measures
    expect(fs[0].first_ts).toBe(rs[9].ts);
  });

  test('one account from many addresses: by_account, with a block that locks the account', () => {
    const rs = Array.from({ length: 12 }, (_, i) => login(`b${i}`, TODAY + i * 30 * S, `45.9.${i}.7`, 'cafe'.repeat(8), 401));
    const [f, ...more] = detect(rs, {}, TODAY + 60 * MIN);
    expect(more).toEqual([]);
    expect(f).toMatchObject({ rule: 'by_account', subject: 'request.body.form.email=' + 'cafe'.repeat(8), measured: { failures: 12, addresses: 12 } });
    expect(blockTargets(f).filter((b) => b.kind === 'key')).toEqual([{ kind: 'key', value: 'cafe'.repeat(8), label: "the account's keyed value (request.body.form.email): locks the account out" }]);
  });

  test('a list of accounts through proxies with one browser User-Agent: by_agent, a minute later, without the people who mistyped at that time', () => {
    const rs: SessionRecord[] = [];
    for (let i = 0; i < 30; i++) rs.push(login(`proxy${i}`, TODAY + i * 10 * S, `45.${i}.1.1`, `victim${i}`, 401));
    // A person with the same browser mistypes, then logs in; another browses, fails and gives up.
    rs.push(login('person', TODAY + 100 * S, '81.2.3.4', 'me@example.com', 401));
    rs.push(login('person', TODAY + 110 * S, '81.2.3.4', 'me@example.com', 200));
    for (let i = 0; i < 4; i++) rs.push(rec({ s: 'reader', at: TODAY + 120 * S + i * S, ip: '82.2.3.4', ua: CHROME_WIN, path: `/products/${i}`, key: 'request.cookie.sid' }));
    rs.push(login('reader', TODAY + 130 * S, '82.2.3.4', 'other@example.com', 401, CHROME_WIN, { key: 'request.cookie.sid' }));
    // Before the minute has passed, nothing is named yet; after it, the tool's attempts only.
    const early = detect(rs, {}, TODAY + 300 * S + 1);
    expect(early.filter((f) => f.rule === 'by_agent').flatMap((f) => f.sessions).length).toBeLessThan(30);
    const fs = detect(rs, {}, TODAY + 60 * MIN).filter((f) => f.rule === 'by_agent');
    expect(fs).toHaveLength(1);
    const named = fs[0].sessions.map((x) => x.session);
    expect(named).toHaveLength(30);
    expect(named).not.toContain(sid('person'));
    expect(named).not.toContain(sid('reader'));
    expect(fs[0].subject).toBe(CHROME_WIN);
  });

  test('a new address and User-Agent for every attempt, low and slow: by_endpoint, fleet-wide, once settled; not people who loaded the login page first', () => {
    // One attempt every 50 s, each its own session that does nothing else.
    const rs = Array.from({ length: 12 }, (_, i) => login(`rot${i}`, TODAY + i * 50 * S, `45.${i}.${i}.9`, `victim${i}`, 401, `${CHROME_WIN} ${i.toString(16).padStart(6, '0')}`));
    // The other rules see one attempt per address, account and User-Agent: nothing.
    expect(detect(rs, { stuffing: { endpoint_failures: 0 } }, TODAY + 60 * MIN)).toEqual([]);
    const fs = detect(rs, {}, TODAY + 60 * MIN);
    expect(fs.map((f) => [f.kind, f.rule, f.subject_type, f.subject])).toEqual([['stuffing', 'by_endpoint', 'endpoint', 'POST /login']]);
    expect(fs[0].sessions.map((x) => x.session)).toEqual(rs.map((r) => r.session));
    expect(fs[0].measured).toMatchObject({ failures: 12, addresses: 12, accounts: 12 });
    expect(fs[0].summary).toBe('12 failed logins at POST /login in 9 min came from sessions that did nothing but log in, from 12 addresses, naming 12 accounts.');
    // Named a minute after each attempt, not before: 30 s after the 8th, the 7 before it.
    const early = detect(rs.slice(0, 8), {}, Date.parse(rs[7].ts) + 30 * S);
    expect(early.flatMap((f) => f.sessions.map((x) => x.session))).toEqual(rs.slice(0, 7).map((r) => r.session));

    // Not by_endpoint: people mistyping their password after loading the login page, at the
    // same time from many addresses.
    const people: SessionRecord[] = [];
    for (let i = 0; i < 12; i++) {
      const t = TODAY + i * 50 * S;
      const ua = `${CHROME_WIN} ${i}`;
      people.push(rec({ s: `p${i}`, at: t, ip: `81.${i}.2.3`, ua, path: '/login', key: 'response.cookie.sid', key_source: 'builtin' }));
      people.push(login(`p${i}`, t + 9 * S, `81.${i}.2.3`, `user${i}`, 401, ua, { key: 'request.cookie.sid' }));
      people.push(login(`p${i}`, t + 20 * S, `81.${i}.2.3`, `user${i}`, 200, ua, { key: 'request.cookie.sid' }));
    }
    // And a client whose session starts with a failed login but then goes on to browse.
    for (let i = 0; i < 12; i++) {
      people.push(login(`app${i}`, TODAY + i * 50 * S + 5 * S, `82.${i}.2.3`, `app${i}`, 401, `ShopApp/3.4.1 ${i}`));
      people.push(rec({ s: `app${i}`, at: TODAY + i * 50 * S + 15 * S, ip: `82.${i}.2.3`, ua: `ShopApp/3.4.1 ${i}`, path: '/api/products', key: 'response.cookie.sid', key_source: 'builtin' }));
    }
    expect(detect(people, {}, TODAY + 60 * MIN)).toEqual([]);
  });
});

describe('scripted clients', () => {
  /** A scraper at `perSecond` on average, its gaps uneven (a scraper's rate is not a clock's):
   *  some minutes fall short of the average. */
  const scraper = (s: string, perSecond: number, minutes: number, o: Partial<SessionRecord> = {}) => {
    const out: SessionRecord[] = [];
    let t = TODAY + 20 * S;
    for (let i = 0; t < TODAY + 20 * S + minutes * MIN; i++) {
      // Gaps from 0.1 to 1.9 times the mean, slower in every third minute.
      const slow = Math.floor((t - TODAY) / MIN) % 3 === 1 ? 1.35 : 1;
      t += Math.round(((0.1 + ((i * 7919) % 1000) / 555) * slow * 1000) / perSecond);
      out.push(rec({ s, at: t, ...TOKEN, path: '/api/products', ua: 'Go-http-client/1.1', ...o }));
    }
    return out;
  };
  const perMinute = (rs: SessionRecord[]) => {
    const m = new Map<number, number>();
    for (const r of rs) m.set(Math.floor(Date.parse(r.ts) / MIN), (m.get(Math.floor(Date.parse(r.ts) / MIN)) ?? 0) + 1);
    return [...m.values()];
  };

  test('a scraper at 2 requests a second whose minutes vary: rate, over three minutes in a row', () => {
    const bot = scraper('bot', 2.1, 6);
    // Some whole minutes hold fewer than 120 requests.
    expect(Math.min(...perMinute(bot).slice(1, -1))).toBeLessThan(120);
    const fs = detect(bot);
    expect(fs.map((f) => [f.kind, f.rule])).toEqual([['scripted', 'rate']]);
    expect(Number(fs[0].measured.requests)).toBeGreaterThanOrEqual(300);
    expect(fs[0].measured.minutes).toBe(3);
    expect(fs[0].summary).toMatch(/made \d+ requests in 3 minutes in a row \(\d+ a minute\), pages and files not counted\.$/);
  });

  test('grouped by IP + User-Agent, at 2.8 requests a second: rate; at 2 a second (people behind one address) it needs more', () => {
    expect(detect(scraper('anon', 2.8, 6, FALLBACK)).map((f) => f.rule)).toEqual(['rate']);
    expect(detect(scraper('anon', 2, 6, FALLBACK)).filter((f) => f.rules.includes('rate'))).toEqual([]);
  });

  test('what a browser loads does not count toward the rate, nor does a single busy minute', () => {
    // A browser on heavy pages: a page with 40 files and 2 API calls every 12 s (200 files a
    // minute) for 6 minutes.
    const pages: SessionRecord[] = [];
    for (let p = 0; p < 30; p++) {
      const at = TODAY + 20 * S + p * 12 * S + ((p * 37) % 11) * 300;
      pages.push(rec({ s: 'reader', at, ...COOKIE, ua: CHROME_WIN, path: '/' }));
      for (let f = 1; f <= 40; f++) pages.push(rec({ s: 'reader', at: at + f * 25 + ((f * 7919) % 13) * 9, ...COOKIE, ua: CHROME_WIN, path: `/static/img/p${p}-${f}.webp` }));
      pages.push(rec({ s: 'reader', at: at + 1100, ...COOKIE, ua: CHROME_WIN, path: '/api/cart' }));
      pages.push(rec({ s: 'reader', at: at + 1300, ...COOKIE, ua: CHROME_WIN, path: '/api/recommendations' }));
    }
    expect(detect(pages)).toEqual([]);
    // (Counted, those files would make a rate.)
    expect(detect(pages.map((r) => ({ ...r, path: r.path.replace(/\.webp$/, '') }))).filter((f) => f.rules.includes('rate'))).toHaveLength(1);
    // 400 requests in one minute (a page that loads a report), then a person's pace.
    const burst = Array.from({ length: 400 }, (_, i) => rec({ s: 'report', at: TODAY + 20 * S + i * 140, ...TOKEN, path: '/api/report/rows' }));
    for (let i = 0; i < 40; i++) burst.push(rec({ s: 'report', at: TODAY + 2 * MIN + i * 7 * S + ((i * 37) % 11) * 900, ...TOKEN, path: '/api/products' }));
    expect(detect(burst).filter((f) => f.rules.includes('rate'))).toEqual([]);
  });

  test('a loop with a sleep: regular; a person reading is not', () => {
    const loop = Array.from({ length: 40 }, (_, i) => rec({ s: 'loop', at: TODAY + i * 3000 + (i % 3) * 20, ...TOKEN, path: '/api/stock' }));
    const [f] = detect(loop);
    expect(f).toMatchObject({ kind: 'scripted', rule: 'regular' });
    expect(f.measured.mean_ms).toBe(3000);
    expect(f.summary).toBe(`Session ${sid('loop').slice(0, 12)}… sent 30 requests 3.0 s apart on average, with a spread of 0.01.`);
    let t = TODAY;
    const person: SessionRecord[] = [];
    for (let i = 0; i < 60; i++) {
      t += i % 4 === 0 ? [9000, 31000, 4000, 17000, 60000][i % 5] : 150;
      person.push(rec({ s: 'person', at: t, ...TOKEN, path: '/api/products' }));
    }
    expect(detect(person)).toEqual([]);
  });

  test("a browser's User-Agent that never loads a page or a file: no_assets, where the application's records show such loads", () => {
    const assets = Array.from({ length: 120 }, (_, i) => rec({ s: `visitor${i}`, at: TODAY + i * 100, ...COOKIE, path: i % 2 ? '/static/app.js' : '/' }));
    const spoof = Array.from({ length: 40 }, (_, i) => rec({ s: 'spoof', at: TODAY + MIN + i * 2000 + (i % 2) * 700, ...COOKIE, ua: CHROME_WIN, path: `/products/${7 * i}` }));
    // (Forty products in a row and nothing else are also a crawl, and many_ids.)
    expect(detect([...assets, ...spoof]).map((f) => [f.rules, f.subject])).toEqual([
      [['many_ids'], sid('spoof')],
      [['no_assets', 'crawl'], sid('spoof')],
    ]);
    // Without the application's loads, or when a linked session loaded the page: nothing.
    const noAssets = (fs: Finding[]) => fs.filter((f) => f.rules.includes('no_assets'));
    expect(noAssets(detect(spoof))).toEqual([]);
    const linked = [rec({ s: 'page', at: TODAY + 50 * S, ...FALLBACK, ua: CHROME_WIN, path: '/' }), { ...spoof[0], links: [sid('page')] }, ...spoof.slice(1)];
    expect(noAssets(detect([...assets, ...linked]))).toEqual([]);
  });

  test('one address + User-Agent starting many one-request sessions: churn, naming them all once settled', () => {
    const rs = Array.from({ length: 40 }, (_, i) => rec({ s: `c${i}`, at: TODAY + i * 1500, key: 'response.cookie.sid', key_source: 'builtin', ip: '45.9.8.7', ua: 'curl/8.5.0', path: `/products/${i}` }));
    const fs = detect(rs, {}, TODAY + 60 * MIN);
    expect(fs.map((f) => [f.rule, f.subject_type, f.subject])).toEqual([['churn', 'client', '45.9.8.7 curl/8.5.0']]);
    expect(new Set(fs[0].sessions.map((x) => x.session))).toEqual(new Set(rs.map((r) => r.session)));
    // A browser that sends its cookie back makes one session, not many.
    const one = rs.map((r, i) => ({ ...r, session: sid('one'), key: i ? 'request.cookie.sid' : 'response.cookie.sid', path: `/products/${(i * 7919) % 1000}`, ts: new Date(TODAY + i * 1500 + ((i * 37) % 11) * 130).toISOString() }));
    expect(detect(one, {}, TODAY + 60 * MIN).filter((f) => f.rule === 'churn')).toEqual([]);
  });
});

describe('scripted clients: crawl', () => {
  /** Product ids at random, `gap(i)` ms apart. */
  const products = (s: string, n: number, gap: (i: number) => number, o: Partial<SessionRecord> = {}) => {
    let t = TODAY;
    return Array.from({ length: n }, (_, i) => rec({ s, at: (t += gap(i)), ...TOKEN, ua: 'python-requests/2.31.0', path: `/api/products/${1 + ((i * 48271) % 40000)}`, ...o }));
  };

  test('a token scraper sleeping 2-10 s at random: crawl (neither regular nor at a rate); not a person, a list fetched at once, a feed, a reader', () => {
    const rs = products('crawler', 40, (i) => 2000 + ((i * 7919 + i * i * 31) % 8000));
    const fs = detect(rs).filter((f) => f.kind === 'scripted');
    expect(fs.map((f) => f.rules)).toEqual([['crawl']]);
    expect(fs[0].first_ts).toBe(rs[24].ts); // the 25th in a row (over a minute by then)
    expect(fs[0].measured).toMatchObject({ endpoint: 'GET /api/products/N', requests: 25 });
    expect(fs[0].summary).toMatch(/requested 25 different ids of GET \/api\/products\/N in a row in \d+ (s|min), nothing else between\.$/);
    expect(detect(rs, { scripted: { crawl_requests: 0 } }).filter((f) => f.kind === 'scripted')).toEqual([]);

    // Not crawl: a person's products with their reviews between, a list's items fetched at once,
    // a feed scrolled.
    const person: SessionRecord[] = [];
    for (const r of products('person', 40, (i) => 2000 + ((i * 7919) % 8000), { ua: 'ShopApp/3.4.1 (Android 14; Pixel 8)' })) {
      person.push(r);
      if (Number(r.path.split('/')[3]) % 3 !== 0) person.push({ ...r, request_id: r.request_id + 'r', path: r.path + '/reviews' });
    }
    expect(detect(person).filter((f) => f.kind === 'scripted')).toEqual([]);
    // 30 items of a list in 3 s (an app fetching each item), then the next page of the list.
    const list = products('lister', 30, () => 100, { ua: 'ShopApp/3.4.1 (Android 14; Pixel 8)' });
    list.push(rec({ s: 'lister', at: TODAY + 40 * S, ...TOKEN, path: '/api/products' }));
    expect(detect(list).filter((f) => f.kind === 'scripted')).toEqual([]);
    // One product every 3 minutes, nothing else: a person's reading pauses.
    expect(detect(products('slow', 40, () => 3 * MIN)).filter((f) => f.kind === 'scripted')).toEqual([]);
    // A feed: one path, no ids, 3 s apart.
    const feed = Array.from({ length: 60 }, (_, i) => rec({ s: 'feed', at: TODAY + i * 3 * S + ((i * 37) % 11) * 150, ...TOKEN, path: '/api/feed' }));
    expect(detect(feed).filter((f) => f.kind === 'scripted')).toEqual([]);
  });
});

describe('the detector', () => {
  test('memory is bounded: sessions beyond the limit are let go, the oldest first', () => {
    const d = new Detector(detectionConfig(), { limits: { sessions: 1000, walks: 500 } });
    for (let i = 0; i < 5000; i++) d.observe([rec({ s: `s${i}`, at: TODAY + i, path: `/orders/${i}` })]);
    expect(d.sizes().sessions).toBeLessThanOrEqual(1000);
    expect(d.sizes().walks).toBeLessThanOrEqual(1000);
    expect(d.sizes().sessions).toBeGreaterThan(400);
  });

  test("a finding goes on after a restart: the store's recent findings are taken up", () => {
    const walk = (from: number, n: number) => Array.from({ length: n }, (_, i) => rec({ s: 'w', at: TODAY + (from + i) * S, path: `/orders/${from + i}`, status: 404 }));
    const first = new Detector();
    first.observe(walk(0, 25));
    const [u] = first.flush();
    expect(u.sessionsFrom).toBe(0);
    const saved = structuredClone(u.finding);
    const second = new Detector();
    second.resume([saved]);
    second.observe(walk(25, 25));
    const after = second.flush();
    expect(after.map((x) => x.finding.id)).toEqual([saved.id]);
    expect(after[0].finding.requests).toBeGreaterThan(saved.requests);
    expect(after[0].sessionsFrom).toBe(1);
  });
});
