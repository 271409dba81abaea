/**
 * End to end in a real headless Chromium (Debian's, driven by playwright-core): records with
 * script and markup payloads are loaded, the list is filtered, a session is opened and its
 * timeline and request details read; nothing from a record ever runs or becomes markup.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { chromium, BrowserContext, Page } from 'playwright-core';
import { startConsole, RunningConsole } from '../../src/console/index';
import { SessionRecord } from '../../src/record/record';
import { TODAY, line, rec, sid, tempDir, waitFor } from './helpers';

const CHROMIUM = '/usr/bin/chromium';
const have = existsSync(CHROMIUM);

const XSS_PATH = '/products/<script>window.__xss=1</script>';
const XSS_UA = '<img src=x onerror="window.__xss=2">';
const XSS_PARAM = '"><svg onload="window.__xss=3">';
const XSS_BODY = '</pre><script>window.__xss=4</script>';

(have ? describe : describe.skip)(have ? 'console in Chromium' : `console in Chromium: SKIPPED, ${CHROMIUM} is missing (apt-get install chromium)`, () => {
  const tmp = tempDir('api-sessions-browser-');
  let c: RunningConsole;
  let browser: BrowserContext;
  let page: Page;
  let profile: string;
  const today = new Date(TODAY).toISOString().slice(0, 10);
  const records: SessionRecord[] = [];

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
    const log = join(tmp.dir, 'api_sessions.log');
    writeFileSync(log, records.map(line).join(''));
    c = await startConsole({ dbPath: join(tmp.dir, 'b.db'), logFile: log, pollMs: 20, log: () => undefined });
    await waitFor('records ingested', async () => (await c.store.stats()).requests === records.length);
    profile = mkdtempSync(join(tmpdir(), 'api-sessions-chromium-'));
    // A fresh profile directory: playwright passes it as --user-data-dir.
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = await browser.newPage();
    page.on('dialog', (d) => void d.dismiss());
  });

  afterAll(async () => {
    await browser?.close();
    await c?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
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
    await page.fill('input[name=ip]', '192.0.2.66');
    await page.fill('input[name=status]', '4xx');
    await Promise.all([page.waitForURL(/\?/), page.click('button[type=submit]')]);
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
    await page.goto(c.url);
    await page.fill('input[name=user]', 'alice');
    await page.check('input[name=follow]');
    await Promise.all([page.waitForURL(/\?/), page.click('button[type=submit]')]);
    expect(new URL(page.url()).search).toBe('?user=alice&follow=links');
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

    await page.goto(c.url + '?app=xapp');
    await page.click('a.recommendations-link');
    await page.waitForSelector('#suggestions tbody tr');
    expect(await page.getAttribute('#suggestions tbody tr:first-child', 'data-selector')).toBe('request.header.authorization');
    expect(await page.textContent('#nginx-line')).toBe("set $api_sessions_params 'request.header.authorization group';");
    expect(await page.textContent('#suggestions')).toContain(XSS_SEL);
    expect(await page.locator('img[src=x]').count()).toBe(0);
    expect(await xssRan()).toBeNull();
  });
});
