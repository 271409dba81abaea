/**
 * End to end in a real headless Chromium (Debian's, driven by playwright-core): records with
 * script and markup payloads are loaded, the list is filtered, a session is opened and its
 * timeline and request details read; nothing from a record ever runs or becomes markup.
 */
import { appendFileSync, truncateSync, writeFileSync } from 'fs';
import { join } from 'path';
import { BrowserContext, Page } from 'playwright-core';
import { CHROMIUM, haveChromium, launchChromium } from './chromium';
import { startConsole, RunningConsole } from '../../src/console/index';
import { SessionRecord } from '../../src/shared/record';
import { TODAY, line, rec, sid, tempDir, waitFor } from './helpers';

const have = haveChromium;

const XSS_PATH = '/products/<script>window.__xss=1</script>';
const XSS_UA = '<img src=x onerror="window.__xss=2">';
const XSS_PARAM = '"><svg onload="window.__xss=3">';
const XSS_BODY = '</pre><script>window.__xss=4</script>';

(have ? describe : describe.skip)(have ? 'console in Chromium' : `console in Chromium: SKIPPED, ${CHROMIUM} is missing (apt-get install chromium)`, () => {
  const tmp = tempDir('api-sessions-browser-');
  let c: RunningConsole;
  let browser: BrowserContext;
  let page: Page;
  let chrome: Awaited<ReturnType<typeof launchChromium>> | undefined;
  const today = new Date(TODAY).toISOString().slice(0, 10);
  const records: SessionRecord[] = [];
  let log: string;

  beforeAll(async () => {
    // alice: a normal session of 5 requests; mallory: an attack session with hostile values
    // everywhere; plus 60 filler sessions so that the list pages.
    for (let i = 0; i < 5; i++) records.push(rec({ s: 'alice', at: TODAY + i * 1000, user: 'alice', role: 'admin', path: '/orders/' + i, ip: '203.0.113.5' }));
    records.push(
      rec({ s: 'mallory', at: TODAY + 10000, path: XSS_PATH, ua: XSS_UA, ip: '192.0.2.66', status: 403, attack: ['xss'], params: { 'request.query.q': XSS_PARAM },
        errors: ['request.body.json: <b>bad</b>'],
        request: { line: 'GET ' + XSS_PATH + ' HTTP/1.1', headers: [['User-Agent', XSS_UA]], body: XSS_BODY, truncated: false } }),
      rec({ s: 'mallory', at: TODAY + 11000, path: '/search', ua: XSS_UA, ip: '192.0.2.66', status: 200 }),
    );
    for (let i = 0; i < 60; i++) records.push(rec({ s: 'filler' + i, at: TODAY - 3600000 + i * 1000, path: '/p' }));
    log = join(tmp.dir, 'api_sessions.log');
    writeFileSync(log, records.map(line).join(''));
    c = await startConsole({ dbPath: join(tmp.dir, 'b.db'), logFile: log, pollMs: 20, log: () => undefined });
    await waitFor('records ingested', async () => (await c.store.stats()).requests === records.length);
    chrome = await launchChromium();
    browser = chrome.browser;
    page = await browser.newPage();
    // a wait that hangs fails at its own step, well inside the test's time
    page.setDefaultTimeout(20000);
    page.on('dialog', (d) => void d.dismiss());
  });

  afterAll(async () => {
    await chrome?.close();
    await c?.close();
    tmp.cleanup();
  });

  const xssRan = () => page.evaluate(() => (globalThis as unknown as { __xss?: number }).__xss ?? null);

  test('the list pages and filters, with the filters in a copyable URL', async () => {
    await page.goto(c.url);
    await page.waitForSelector('#parts tbody tr');
    expect(await page.locator('#parts tbody tr').count()).toBe(50);
    await page.click('a.older');
    await page.waitForSelector('#parts tbody tr');
    expect(await page.locator('#parts tbody tr').count()).toBe(62 - 50);

    await page.goto(c.url);
    await page.fill('#search-input', 'ip:192.0.2.66 status:4xx');
    await Promise.all([page.waitForURL(/\?/), page.press('#search-input', 'Enter')]);
    expect(new URL(page.url()).search).toBe('?ip=192.0.2.66&status=4xx');
    await page.waitForSelector('#parts tbody tr');
    const rows = page.locator('#parts tbody tr');
    expect(await rows.count()).toBe(1);
    expect(await rows.first().getAttribute('data-session')).toBe(sid('mallory'));

    // The same URL opened fresh gives the same result.
    const again = await browser.newPage();
    await again.goto(page.url());
    await again.waitForSelector('#parts tbody tr');
    expect(await again.locator('#parts tbody tr').count()).toBe(1);
    await again.close();

    await page.goto(c.url + '?endpoint=' + encodeURIComponent('/orders/*') + '&user=alice');
    await page.waitForSelector('#parts tbody tr');
    expect(await page.locator('#parts tbody tr').getAttribute('data-session')).toBe(sid('alice'));
    await page.goto(c.url + '?user=nobody');
    await page.waitForSelector('#empty');

    // follow=links goes to the API (which refuses it without a user) and shows in the form
    await page.goto(c.url + '?follow=links');
    await page.waitForSelector('#result .error');
    expect(await page.locator('#result .error').textContent()).toMatch(/follow=links needs a user filter/);
    await page.goto(c.url + '?user=alice&follow=links');
    await page.waitForSelector('#parts tbody tr');
    expect(await page.locator('input[name=follow]').isChecked()).toBe(true);
    expect(await page.locator('#parts tbody tr').first().getAttribute('data-session')).toBe(sid('alice'));
    // the full form, folded behind the search box
    await page.goto(c.url);
    expect(await page.isVisible('#filters')).toBe(false);
    await page.click('#more-filters summary');
    await page.fill('input[name=user]', 'alice');
    await page.check('input[name=follow]');
    await Promise.all([page.waitForURL(/\?/), page.click('#filters button[type=submit]')]);
    expect(new URL(page.url()).search).toBe('?user=alice&follow=links');
    // the search box shows the filters in force as text
    expect(await page.inputValue('#search-input')).toBe('user:alice follow:links');
  });

  test('search from the form: free text, any-case wildcards, CIDR, a session id prefix; a from after to says why', async () => {
    const one = async () => {
      await page.waitForSelector('#parts tbody tr, #empty, #result .error');
      return page.locator('#parts tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-session')));
    };
    await page.goto(c.url);
    await page.fill('#search-input', '/SEARCH');
    await Promise.all([page.waitForURL(/\?/), page.click('#search button[type=submit]')]);
    expect(new URL(page.url()).search).toBe('?q=%2FSEARCH');
    expect(await one()).toEqual([sid('mallory')]);
    await page.goto(c.url + '?user=ALI*');
    expect(await one()).toEqual([sid('alice')]);
    await page.goto(c.url + '?ip=' + encodeURIComponent('192.0.2.0/24'));
    expect(await one()).toEqual([sid('mallory')]);
    await page.goto(c.url + '?session=' + sid('alice').slice(0, 12));
    expect(await one()).toEqual([sid('alice')]);
    await page.goto(c.url + '?from=2026-01-02T00:00:00&to=2026-01-01T00:00:00');
    await page.waitForSelector('#result .error');
    expect(await page.locator('#result .error').textContent()).toBe('Error: from: after to (swap them?)');
  });

  test('opens a session: statistics, the timeline in order, a request\'s details', async () => {
    await page.goto(c.url + '?user=alice');
    await page.click('a.session-link');
    await page.waitForURL(new RegExp(`/session/${sid('alice')}/${today}$`));
    await page.waitForSelector('#requests li');
    const items = page.locator('#requests li');
    expect(await items.count()).toBe(5);
    const paths = await page.locator('#requests li .path').allTextContents();
    expect(paths).toEqual(['/orders/0', '/orders/1', '/orders/2', '/orders/3', '/orders/4']);
    expect(await page.locator('#histogram .bar').count()).toBe(60);
    expect(await page.locator('[data-stat=method] tbody tr').allTextContents()).toEqual(['GET5']);
    expect(await page.locator('[data-stat=ip] tbody td.mono').allTextContents()).toEqual(['203.0.113.5']);

    await items.nth(2).click();
    await page.waitForSelector('#details h2');
    expect(await page.textContent('#details h2')).toBe('GET /orders/2');
    expect(page.url()).toContain('#r=' + records[2].request_id);

    // The request's link opens the page with that request selected.
    const link = page.url();
    const other = await browser.newPage();
    await other.goto(link);
    await other.waitForSelector('#requests li.selected');
    expect(await other.getAttribute('#requests li.selected', 'data-request-id')).toBe(records[2].request_id);
    await other.close();
  });

  test('values from attackers are shown as text, never run or parsed as markup', async () => {
    await page.goto(`${c.url}session/${sid('mallory')}/${today}`);
    await page.waitForSelector('#requests li.attack');
    await page.click('#requests li.attack');
    await page.waitForSelector('#details pre.request-body');
    expect(await page.textContent('#requests li.attack .path')).toBe(XSS_PATH);
    expect(await page.textContent('#details h2')).toBe('GET ' + XSS_PATH);
    const details = await page.textContent('#details');
    expect(details).toContain(XSS_UA);
    expect(details).toContain(XSS_PARAM);
    expect(details).toContain('request.body.json: <b>bad</b>');
    expect(await page.textContent('#details pre.request-body')).toBe(XSS_BODY);
    // No element was made from the payloads, and none of their scripts ran.
    expect(await page.locator('img[src=x], svg, script:not([src]), #details b').count()).toBe(0);
    expect(await xssRan()).toBeNull();

    await page.goto(c.url + '?ip=192.0.2.66');
    await page.waitForSelector('#parts tbody tr');
    expect(await xssRan()).toBeNull();
  });

  test('linked sessions, the journey and the recommendations page; hostile selectors stay text', async () => {
    const XSS_SEL = 'request.body.json.<img src=x onerror="window.__xss=5">';
    const inv = (i: number) => [
      { s: 'request.header.authorization', h: (i % 4).toString(16).padStart(12, 'a'), n: 40 },
      { s: XSS_SEL, h: 'bbbbbbbbbbbb', n: 3 },
    ];
    const more = [
      rec({ s: 'anon-kim', at: TODAY + 20000, key: 'ip+ua', key_source: 'fallback', path: '/catalog' }),
      rec({ s: 'tok-kim', at: TODAY + 21000, method: 'POST', path: '/login', key: 'response.body.json.token', links: [sid('anon-kim')] }),
      rec({ s: 'tok-kim', at: TODAY + 22000, path: '/orders/9', user: 'kim' }),
    ];
    for (let i = 0; i < 12; i++) more.push(rec({ s: 'x' + (i % 4), at: TODAY + 30000 + i * 1000, app: 'xapp', ip: '10.9.9.' + (i % 4), inventory: inv(i) }));
    const res = await fetch(new URL('/api/ingest', c.url), { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: more.map((r) => JSON.stringify(r)).join('\n') });
    expect(((await res.json()) as { inserted: number }).inserted).toBe(more.length);

    await page.goto(`${c.url}session/${sid('tok-kim')}/${today}`);
    await page.waitForSelector('#linked ul.before li');
    expect(await page.getAttribute('#linked ul.before li', 'data-session')).toBe(sid('anon-kim'));
    await page.click('a.journey-link');
    await page.waitForSelector('#journey-requests li');
    expect(await page.locator('#journey-requests li .path').allTextContents()).toEqual(['/catalog', '/login', '/orders/9']);
    // the journey as CSV, and its user a pivot
    expect(await page.getAttribute('a.csv-journey', 'href')).toBe(`/api/sessions/${sid('tok-kim')}/journey.csv`);
    expect(await page.evaluate(async (h) => (await (await fetch(h)).text()).trim().split('\n').length, `/api/sessions/${sid('tok-kim')}/journey.csv`)).toBe(4);
    expect(await page.getAttribute('#journey-requests a.pivot[data-pivot=user]', 'href')).toBe('/?user=kim');

    await page.goto(c.url + '?app=xapp');
    await page.click('a.recommendations-link');
    await page.waitForSelector('#suggestions tbody tr');
    expect(await page.getAttribute('#suggestions tbody tr:first-child', 'data-selector')).toBe('request.header.authorization');
    expect(await page.textContent('#nginx-line')).toBe("set $api_sessions_params 'request.header.authorization group';");
    expect(await page.textContent('#suggestions')).toContain(XSS_SEL);
    expect(await page.locator('img[src=x]').count()).toBe(0);
    expect(await xssRan()).toBeNull();
  });

  test('ingest health: no banner while nothing is lost; lost log records shown as text', async () => {
    await page.goto(c.url);
    await page.waitForSelector('#parts tbody tr');
    expect(await page.locator('#ingest-health').isHidden()).toBe(true);
    // The log truncated in place, no copy kept: what nginx wrote after the last read is gone.
    truncateSync(log, 0);
    appendFileSync(log, line(rec({ s: 'after', at: TODAY + 50000, path: '/after' })));
    await waitFor('the loss seen', async () => c.tailer!.lossCount === 1);
    await page.goto(c.url);
    await page.waitForSelector('#ingest-health:not([hidden])');
    const text = await page.textContent('#ingest-health');
    expect(text).toContain('1 time since start, log records could not be read and may be lost');
    expect(text).toContain(log + '  from byte ');
    expect(text).toContain('(truncated before it was read)');
  });

  test('the journey page: readable headings, dates with times, attack types, a details pane for the selected request', async () => {
    const more = [
      rec({ s: 'anon-lee', at: TODAY + 40000, key: 'ip+ua', key_source: 'fallback', path: '/catalog' }),
      rec({ s: 'tok-lee', at: TODAY + 41000, method: 'POST', path: '/login', key: 'response.body.json.token', links: [sid('anon-lee')] }),
      rec({ s: 'tok-lee', at: TODAY + 42000, path: "/search?q=' OR 1=1", user: 'lee', status: 403, attack: ['sqli', 'xss'] }),
      rec({ s: 'tok-lee-2', at: TODAY + 43000, method: 'POST', path: '/refresh', user: 'lee', key: 'response.body.json.token', links: [sid('tok-lee')] }),
      rec({ s: 'tok-lee-2', at: TODAY + 44000, path: '/orders/7', user: 'lee', ua: XSS_UA }),
    ];
    const res = await fetch(new URL('/api/ingest', c.url), { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: more.map((r) => JSON.stringify(r)).join('\n') });
    expect(((await res.json()) as { inserted: number }).inserted).toBe(more.length);

    await page.goto(`${c.url}journey/${sid('tok-lee')}`);
    await page.waitForSelector('#journey-requests li');
    expect(await page.textContent('h1')).toBe('Journey from session ' + sid('tok-lee').slice(0, 12) + '…');
    expect(await page.locator('h2.section').allTextContents()).toEqual(['Sessions', 'Requests in time order']);
    expect(await page.locator('#journey-sessions li').count()).toBe(3);
    expect(await page.textContent('#journey-summary')).toContain('3 linked sessions, 5 requests, ' + today + ' ');
    expect(await page.textContent('#journey-summary')).toContain('user lee, 1 malicious');
    // every request with its date and time, in order; the attack's types shown on it
    const whens = await page.locator('#journey-requests li .when').allTextContents();
    expect(whens).toEqual(more.map((r) => r.ts.replace('T', ' ').replace('Z', '')));
    expect(await page.locator('#journey-requests li.attack .chip.attack').allTextContents()).toEqual(['sqli', 'xss']);
    // the details pane, as on the session page, with a link to the request in its session
    await page.click('#journey-requests li.attack');
    await page.waitForSelector('#details h2');
    expect(await page.textContent('#details h2')).toBe("GET /search?q=' OR 1=1");
    expect(await page.textContent('#details')).toContain('sqli, xss');
    expect(await page.getAttribute('#details a.request-link', 'href')).toBe(`/session/${sid('tok-lee')}/${today}#r=${more[2].request_id}`);
    await page.click('#journey-requests li:last-child');
    await page.waitForFunction(() => (globalThis as any).document.querySelector('#details h2')?.textContent === 'GET /orders/7');
    expect(await page.textContent('#details')).toContain(XSS_UA);
    expect(await page.locator('img[src=x]').count()).toBe(0);
    expect(await xssRan()).toBeNull();
  });

  test('the what-if preview: the suggested line\'s figures, and any typed line\'s', async () => {
    // 6 users with their own tokens; u0 and u1 share a team header
    const more: SessionRecord[] = [];
    for (let i = 0; i < 24; i++) {
      const u = i % 6;
      more.push(rec({ s: 'p' + u, at: TODAY + 50000 + i * 1000, app: 'papp', ip: '10.8.8.' + u, user: 'pu' + u, inventory: [
        { s: 'request.header.authorization', h: (u + 1).toString(16).padStart(12, 'c'), n: 40 },
        { s: 'request.header.x-team', h: (u < 2 ? 0 : u).toString(16).padStart(12, 'd'), n: 20 },
      ] }));
    }
    const res = await fetch(new URL('/api/ingest', c.url), { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: more.map((r) => JSON.stringify(r)).join('\n') });
    expect(((await res.json()) as { inserted: number }).inserted).toBe(more.length);
    await page.goto(c.url + 'apps/papp/recommendations');
    await page.waitForSelector('#preview-suggested');
    expect(await page.textContent('#nginx-line')).toBe("set $api_sessions_params 'request.header.authorization group';");
    const figure = (box: string, f: string) => page.textContent(`${box} tr[data-figure=${f}] td.num`);
    expect(await figure('#preview-suggested', 'sessions')).toBe('6');
    expect(await figure('#preview-suggested', 'mixed_sessions')).toBe('0');
    expect(await figure('#preview-suggested', 'fallback_requests')).toMatch(/^0 of 24 /);
    expect(await page.getAttribute('#suggestions tr[data-selector="request.header.x-team"]', 'class')).toBe('decoy');
    // the typed line starts as the suggested one; another line is previewed on request
    expect(await page.inputValue('#preview-line')).toBe("set $api_sessions_params 'request.header.authorization group';");
    await page.fill('#preview-line', 'request.header.x-team group; nonsense group');
    await page.click('#preview-run');
    await page.waitForSelector('#preview-typed');
    expect(await figure('#preview-typed', 'sessions')).toBe('5');
    expect(await figure('#preview-typed', 'mixed_sessions')).toBe('1 (8 requests)');
    expect(await page.getAttribute('#preview-typed tr[data-figure=mixed_sessions]', 'class')).toBe('warn');
    expect(await page.textContent('#preview-typed ul.errors')).toMatch(/unknown selector "nonsense"/);
    expect(await page.textContent('#preview-typed ul.mixed')).toBe('request.header.x-team: 2 users, 8 requests');
  });

  test('pivots: every value filters by itself (as text); attacks first: the attacks page opens the session at that request; filters and previous / next attack inside a session; #r= followed in the same tab', async () => {
    // trudy: 9 requests, attacks at the 3rd, 6th and 8th.
    const trudy: SessionRecord[] = [];
    for (let i = 0; i < 9; i++) {
      trudy.push(rec({ s: 'trudy', at: TODAY + 70000 + i * 1000, app: 'tapp', user: 'trudy', role: 'intruder', ip: '198.51.100.77', ua: 'curl/8.0',
        path: i % 2 ? '/items/' + i : '/search', params: { 'request.query.q': 'needle-' + i }, attack: [2, 5, 7].includes(i) ? ['sqli'] : null, status: i === 4 ? 500 : 200 }));
    }
    const fb = rec({ s: 'fb-trudy', at: TODAY + 69000, app: 'tapp2', key: 'ip+ua', key_source: 'fallback' });
    const res = await fetch(new URL('/api/ingest', c.url), { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: trudy.concat([fb]).map((r) => JSON.stringify(r)).join('\n') });
    expect(((await res.json()) as { inserted: number }).inserted).toBe(trudy.length + 1);
    const rowsShown = () => page.locator('#parts tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-session')));

    // The list: user, role, app, IP and grouping key are links that filter by them.
    await page.goto(c.url + '?app=tapp');
    await page.waitForSelector('#parts tbody tr');
    for (const [name, value] of [['user', 'trudy'], ['role', 'intruder'], ['ip', '198.51.100.77'], ['key', 'request.query.token']]) {
      const a = page.locator(`#parts a.pivot[data-pivot=${name}]`).first();
      expect(await a.textContent()).toBe(value);
      expect(new URL(await a.getAttribute('href') as string, c.url).searchParams.get(name)).toBe(value);
    }
    const statusPivots = page.locator('#parts a.pivot[data-pivot=status]');
    expect(await statusPivots.allTextContents()).toEqual(['200 ×8', '500']);
    expect(await statusPivots.first().getAttribute('href')).toBe('/?app=tapp&status=200');
    await page.goto(c.url);
    await page.waitForSelector('#parts tbody tr');
    await Promise.all([page.waitForURL(/user=trudy/), page.click(`#parts tr[data-session="${sid('trudy')}"] a.pivot[data-pivot=user]`)]);
    await page.waitForSelector('#parts tbody tr');
    expect(await rowsShown()).toEqual([sid('trudy')]);

    // The session page: a hostile User-Agent is a pivot whose text is the value, never markup.
    await page.goto(`${c.url}session/${sid('mallory')}/${today}`);
    await page.waitForSelector('#requests li.attack');
    await page.click('#requests li.attack');
    const uaPivot = page.locator('#details a.pivot[data-pivot=ua]');
    expect(await uaPivot.textContent()).toBe(XSS_UA);
    expect(await page.locator('[data-stat=user-agent] a.pivot').first().textContent()).toBe(XSS_UA);
    expect(await page.locator('img[src=x], svg').count()).toBe(0);
    await Promise.all([page.waitForURL(/\?ua=/), uaPivot.click()]);
    await page.waitForSelector('#parts tbody tr');
    expect(await rowsShown()).toContain(sid('mallory')); // (and tok-lee-2 of the journey test, with the same User-Agent)
    expect(await rowsShown()).not.toContain(sid('alice'));
    expect(await page.inputValue('input[name=ua]')).toBe(XSS_UA);
    // A parameter's value filters by the free-text search.
    await page.goto(`${c.url}session/${sid('trudy')}/${today}#r=${trudy[3].request_id}`);
    await page.waitForSelector('#requests li.selected');
    const paramPivot = page.locator('#details a.pivot[data-pivot=q]');
    expect(await paramPivot.textContent()).toBe('needle-3');
    await Promise.all([page.waitForURL(/\?q=needle-3/), paramPivot.click()]);
    await page.waitForSelector('#parts tbody tr');
    expect(await rowsShown()).toEqual([sid('trudy')]);

    // Attacks first: the attacks page lists malicious requests; one opens its session there.
    await page.click('#nav-attacks');
    await page.waitForSelector('#attacks tbody tr');
    const listed = await page.locator('#attacks tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-request-id')));
    expect(listed).toEqual(expect.arrayContaining([trudy[2].request_id, trudy[5].request_id, trudy[7].request_id, records[5].request_id]));
    await Promise.all([page.waitForURL(/#r=/), page.click(`#attacks tr[data-request-id="${trudy[5].request_id}"] a.open-attack`)]);
    await page.waitForSelector('#requests li.selected');
    expect(await page.getAttribute('#requests li.selected', 'data-request-id')).toBe(trudy[5].request_id);
    expect(await page.textContent('#details h2')).toBe('GET /items/5');
    const selected = () => page.getAttribute('#requests li.selected', 'data-request-id');
    await page.click('#next-attack');
    expect(await selected()).toBe(trudy[7].request_id);
    await page.click('#next-attack');
    expect(await selected()).toBe(trudy[7].request_id);
    expect(await page.textContent('#attack-nav-note')).toBe('No attack after this one.');
    await page.click('#prev-attack');
    await page.click('#prev-attack');
    expect(await selected()).toBe(trudy[2].request_id);
    expect(page.url()).toContain('#r=' + trudy[2].request_id);
    // #r= changed in the same tab (an edited URL, a pasted link) selects that request.
    await page.evaluate((id) => { (globalThis as any).location.hash = '#r=' + id; }, trudy[4].request_id);
    await page.waitForFunction((id) => (globalThis as any).document.querySelector('#requests li.selected')?.getAttribute('data-request-id') === id, trudy[4].request_id);
    expect(await page.textContent('#details h2')).toBe('GET /search');

    // Filters inside the session: only attacks, only failed, one endpoint (in the URL).
    await page.selectOption('#inside select[name=only]', 'attacks');
    await Promise.all([page.waitForURL(/\?only=attacks/), page.click('#inside button[type=submit]')]);
    await page.waitForSelector('#requests li[data-request-id]');
    expect(await page.locator('#requests li[data-request-id]').evaluateAll((l) => l.map((x) => x.getAttribute('data-request-id')))).toEqual(
      [trudy[2].request_id, trudy[5].request_id, trudy[7].request_id]);
    await page.goto(`${c.url}session/${sid('trudy')}/${today}?only=failed`);
    await page.waitForSelector('#requests li[data-request-id]');
    expect(await page.locator('#requests li .path').allTextContents()).toEqual(['/search']);
    await page.goto(`${c.url}session/${sid('trudy')}/${today}?endpoint=${encodeURIComponent('/ITEMS/*')}`);
    await page.waitForSelector('#requests li[data-request-id]');
    expect(await page.locator('#requests li .path').allTextContents()).toEqual(['/items/1', '/items/3', '/items/5', '/items/7']);

    // The list's total; IP + User-Agent sessions hidden on request; the first page refreshing.
    await page.goto(c.url + '?app=tapp');
    await page.waitForSelector('#total');
    expect(await page.textContent('#total')).toBe('1 session part matches.');
    await page.goto(c.url + '?key=ip%2Bua');
    await page.waitForSelector('#parts tbody tr');
    expect(await rowsShown()).toContain(sid('fb-trudy'));
    await page.click('#more-filters summary');
    await page.check('input[name=fallback]');
    await Promise.all([page.waitForURL(/fallback=hide/), page.click('#filters button[type=submit]')]);
    await page.waitForSelector('#empty');
    expect(new URL(page.url()).search).toBe('?key=ip%2Bua&fallback=hide');
    await page.goto(c.url + '?refresh=30&app=tapp');
    await page.waitForSelector('#total');
    expect(await page.textContent('#total')).toMatch(/^1 session part matches \(refreshed every 30 s, last at \d\d:\d\d:\d\d UTC\)\.$/);
    expect(await page.isChecked('input[name=refresh]')).toBe(true);

    // Sorting by a column heading (descending; paging keeps the order).
    await page.goto(c.url);
    await page.waitForSelector('#parts tbody tr');
    await Promise.all([page.waitForURL(/sort=requests/), page.click('#parts thead a.sort:has-text("Requests")')]);
    await page.waitForSelector('#parts tbody tr');
    expect((await rowsShown())[0]).toBe(sid('trudy'));
    const counts = await page.locator('#parts tbody tr td.num').allTextContents();
    expect(counts.map(Number)).toEqual(counts.map(Number).slice().sort((a, b) => b - a));
    expect(await page.textContent('#parts thead a.sort.current')).toBe('Requests ▼');
    await Promise.all([page.waitForURL(/sort=attacked/), page.click('#parts thead a.sort:has-text("Attacks")')]);
    await page.waitForSelector('#parts tbody tr');
    expect((await rowsShown())[0]).toBe(sid('trudy')); // 3 attacks, more than any other session

    // A malformed session URL says so instead of showing the list.
    await page.goto(c.url + 'session/nothex/2026-01-01');
    await page.waitForSelector('#bad-url');
    expect(await page.locator('#parts').count()).toBe(0);
    expect(await xssRan()).toBeNull();
  });

  test('ingest failures shown: a missing --log file in the ingest-health banner, and the empty list says why', async () => {
    await page.goto(c.url + '?user=nobody-at-all');
    await page.waitForSelector('#empty');
    await page.waitForFunction(() => /these filters/.test((globalThis as any).document.querySelector('#empty').textContent));
    expect(await page.textContent('#empty')).toMatch(/^No sessions match these filters \(\d+ session parts are stored\)\.$/);

    const missing = join(tmp.dir, 'not-there.log');
    const c2 = await startConsole({ dbPath: join(tmp.dir, 'missing.db'), logFile: missing, pollMs: 20, log: () => undefined });
    try {
      await waitFor('the error reported', async () => c2.tailer!.lastError !== null);
      await page.goto(c2.url);
      await page.waitForSelector('#ingest-health:not([hidden])');
      expect(await page.textContent('#ingest-health')).toBe(`Reading the log failed: ${missing} does not exist: nothing is read until it appears (is --log the file nginx writes, and is it readable by this user?)`);
      await page.waitForSelector('#result p.error#empty');
      expect(await page.textContent('#empty')).toBe(`No sessions stored yet: the log file cannot be read: ${missing} does not exist: nothing is read until it appears (is --log the file nginx writes, and is it readable by this user?)`);
    } finally {
      await c2.close();
    }
  });

  test('session statistics: top endpoints as patterns (a filter inside the session), latency, User-Agents; the histogram has axes and its bars select requests; the attack chip stands apart', async () => {
    await page.goto(`${c.url}session/${sid('alice')}/${today}`);
    await page.waitForSelector('#top-endpoints tbody tr');
    expect(await page.locator('#top-endpoints tbody tr').first().getAttribute('data-endpoint')).toBe('GET /orders/N');
    expect(await page.locator('#top-endpoints tbody tr').first().locator('td.num').allTextContents()).toEqual(['5', '5', '0', '0', '3 ms', '3 ms']);
    expect(await page.textContent('#latency')).toBe('Latency: p50 3 ms, p95 3 ms, p99 3 ms, max 3 ms');
    expect(await page.locator('[data-stat=user-agent] a.pivot').allTextContents()).toEqual(['test-agent']);
    expect(await page.locator('#y-axis span').allTextContents()).toEqual(['1', '', '0']);
    expect(await page.locator('#x-axis span').count()).toBe(3);
    // The third bar with requests is /orders/2's interval.
    await page.waitForSelector('#requests li[data-request-id]');
    const bars = page.locator('#histogram .bar[title*="click"]');
    expect(await bars.count()).toBe(5);
    await bars.nth(2).click();
    expect(await page.getAttribute('#requests li.selected', 'data-request-id')).toBe(records[2].request_id);
    await bars.nth(4).click();
    expect(await page.getAttribute('#requests li.selected', 'data-request-id')).toBe(records[4].request_id);
    // The endpoint row filters the session by that pattern.
    await Promise.all([page.waitForURL(/\?endpoint=/), page.click('#top-endpoints a.endpoint-filter')]);
    expect(new URL(page.url()).searchParams.get('endpoint')).toBe('GET /orders/*');
    await page.waitForSelector('#requests li[data-request-id]');
    expect(await page.locator('#requests li[data-request-id]').count()).toBe(5);
    // CSV of what is on screen: the session filtered, all its days; the list with its filters.
    expect(await page.getAttribute('a.csv', 'href')).toBe(`/api/sessions/${sid('alice')}/parts/${today}/requests.csv?endpoint=GET+%2Forders%2F*`);
    expect(await page.getAttribute('a.csv-session', 'href')).toBe(`/api/sessions/${sid('alice')}/requests.csv`);
    await page.goto(c.url + '?user=alice&status=2xx');
    await page.waitForSelector('a.csv-list');
    expect(await page.getAttribute('a.csv-list', 'href')).toBe('/api/parts.csv?user=alice&status=2xx');
    const listed = await page.evaluate(async () => (await (await fetch('/api/parts.csv?user=alice&status=2xx')).text()).trim().split('\n').length);
    expect(listed).toBe(2);
    // "1 mssqli" no more: the chip has its own margin.
    await page.goto(`${c.url}session/${sid('mallory')}/${today}`);
    await page.waitForSelector('#requests li.attack .chip.attack');
    expect(await page.locator('#requests li.attack .chip.attack').evaluate((e) => (globalThis as any).getComputedStyle(e).marginLeft)).toBe('4px');
  });
  describe('the first screen', () => {
    // records of the last half hour (the overview's default window ends now): 4 users with their
    // tokens, one of them attacked, a refused login
    const more: SessionRecord[] = [];
    beforeAll(async () => {
      const now = Date.now() - 30 * 60000;
      const inv = (u: number) => [{ s: 'request.header.authorization', h: (u + 1).toString(16).padStart(12, 'e'), n: 40 }];
      for (let i = 0; i < 12; i++) {
        const u = i % 4;
        more.push(rec({ s: 'ov' + u, at: now + i * 1000, app: 'ovapp', user: 'ov-user' + u, ip: '10.7.7.' + u, path: '/orders/' + i, inventory: inv(u),
          ...(i === 5 ? { attack: ['sqli'], status: 403 } : {}) }));
      }
      more.push(rec({ s: 'ov-anon', at: now + 20000, app: 'ovapp', method: 'POST', path: '/login', status: 401, key: 'ip+ua', key_source: 'fallback' }));
      const res = await fetch(new URL('/api/ingest', c.url), { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: more.map((r) => JSON.stringify(r)).join('\n'),
        signal: AbortSignal.timeout(20000) });
      expect(((await res.json()) as { inserted: number }).inserted).toBe(more.length);
    });

    test('the overview\'s charts and tops from ingested records; a top entry and an attacks bar filter', async () => {
      await page.goto(c.url + '?app=ovapp');
      await page.waitForSelector('#overview-charts rect.ov-bar');
      const total = (chart: string) => page.textContent(`#overview-charts [data-chart=${chart}] .ov-total`);
      expect(await total('requests')).toBe('13');
      expect(await total('attacks')).toBe('1');
      expect(await total('failed_logins')).toBe('1');
      expect(await total('sessions')).toMatch(/^peak [1-5] per 10 min$/);
      expect(await page.locator('#overview-charts [data-chart=requests] rect.ov-bar').count()).toBeGreaterThan(0);
      expect(await page.locator('#top-apps li').allTextContents()).toEqual(['ovapp13']);
      expect(await page.locator('#top-users li a').allTextContents()).toEqual(['ov-user0', 'ov-user1', 'ov-user2', 'ov-user3']);
      expect(await page.textContent('#top-endpoints-overview li:first-child')).toBe('GET /orders/N12');
      // a top entry filters the list
      await Promise.all([page.waitForURL(/user=ov-user2/), page.click('#top-users a:has-text("ov-user2")')]);
      await page.waitForSelector('#parts tbody tr');
      expect(await page.locator('#parts tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-session')))).toEqual([sid('ov2')]);
      expect(await page.inputValue('#search-input')).toBe('app:ovapp user:ov-user2');
      // the attacks chart's bar opens the attacks of its interval
      await page.goto(c.url + '?app=ovapp');
      await page.waitForSelector('#overview-charts [data-chart=attacks] rect.ov-bar');
      await Promise.all([page.waitForURL(/\/attacks\?.*from=/), page.click('#overview-charts [data-chart=attacks] a.ov-bar-link')]);
      await page.waitForSelector('#attacks tbody tr');
      expect(await page.locator('#attacks tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-request-id')))).toEqual([more[5].request_id]);
    });

    test('a typed query filters the list or says what is wrong; the list\'s times on two lines', async () => {
      // a query typed in the search box: fields and a path pattern
      await page.goto(c.url);
      await page.fill('#search-input', 'app:OVAPP path:/orders/1* ip:10.7.7.0/24 user:ov-user1');
      await Promise.all([page.waitForURL(/\?/), page.press('#search-input', 'Enter')]);
      expect(Object.fromEntries(new URL(page.url()).searchParams)).toEqual({ app: 'OVAPP', endpoint: '/orders/1*', ip: '10.7.7.0/24', user: 'ov-user1' });
      await page.waitForSelector('#parts tbody tr');
      expect(await page.locator('#parts tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-session')))).toEqual([sid('ov1')]);
      // what it cannot read it says, and the list stays
      await page.fill('#search-input', 'nonsense:1 user:a user:b');
      await page.press('#search-input', 'Enter');
      await page.waitForSelector('#search-errors:not([hidden])');
      expect(await page.textContent('#search-errors')).toMatch(/^unknown field "nonsense" .*\nuser: given twice$/s);
      expect(new URL(page.url()).searchParams.get('user')).toBe('ov-user1');

      // the list's times: two lines each, never wrapped further
      const lines = await page.locator('#parts td.when .when-range').first().evaluate((e) => {
        const style = (globalThis as any).getComputedStyle(e);
        return Math.round(e.getBoundingClientRect().height / parseFloat(style.lineHeight));
      });
      expect(lines).toBe(2);
    });

    test('recommendations in the top bar; no Sign out without a token, Sign out once signed in', async () => {
      // recommendations in the top bar: the filtered application's page, else the applications
      await page.goto(c.url + '?app=ovapp');
      await page.waitForSelector('#parts tbody tr');
      await Promise.all([page.waitForURL(/\/apps\/ovapp\/recommendations$/), page.click('#nav-recommendations')]);
      await page.waitForSelector('#preview-suggested');
      // the page opens with the line, the comparison and the preview; the explanation comes last
      expect(await page.locator('#recommendations h2.section').allTextContents()).toEqual(['Recommended configuration', 'What-if preview', 'Candidates', 'How the figures are computed']);
      expect(await page.textContent('#nginx-line')).toBe("set $api_sessions_params 'request.header.authorization group';");
      // the records were grouped as the line would group them: as good as the configuration in force
      expect(await page.textContent('#comparison')).toBe('As good as the configuration in force on the sampled requests: sessions with more than one user: 0 (now 0); ' +
        'requests left to IP + User-Agent: 0 (now 0); users split over more than one journey: 0 (now 0).');
      expect(await page.textContent('#preview-suggested tr[data-figure=sessions] td.now')).toBe('4');
      expect(await page.textContent('#method')).toMatch(/^coverage: /);
      await page.goto(c.url);
      await page.waitForSelector('#parts tbody tr');
      await Promise.all([page.waitForURL(/\/recommendations$/), page.click('#nav-recommendations')]);
      await page.waitForSelector('#recommendation-apps a.recommendations-app');
      expect(await page.locator('#recommendation-apps a.recommendations-app').allTextContents()).toContain('ovapp');

      // no token: nothing to sign out of; with one, signed in, Sign out is there
      expect(await page.isHidden('#signout')).toBe(true);
      const c2 = await startConsole({ dbPath: join(tmp.dir, 'token.db'), token: 'browser-token-0123456789', pollMs: 20, log: () => undefined });
      try {
        await page.goto(c2.url);
        await page.waitForURL(/\/login/);
        await page.fill('input[name=token]', 'browser-token-0123456789');
        await Promise.all([page.waitForURL(c2.url), page.press('input[name=token]', 'Enter')]);
        await page.waitForSelector('#signout:not([hidden])');
        expect(await page.isVisible('#signout button')).toBe(true);
      } finally {
        await c2.close();
      }
    });
  });
});
