/**
 * The blocks page in a real headless Chromium: block a user whose name is markup, see it listed
 * as text, extend and lift it, read the audit list; start a block from a session page.
 */
import { Page } from 'playwright-core';
import { CHROMIUM, consoleInChromium, haveChromium } from './chromium';
import { RunningConsole } from '../../src/console/index';
import { rec, line, sid, TODAY } from './helpers';

const have = haveChromium;
/* eslint-disable @typescript-eslint/no-explicit-any */
const HOSTILE = '<img src=x onerror="window.__xss=1">';

(have ? describe : describe.skip)(have ? 'blocks page in Chromium' : `blocks page in Chromium: SKIPPED, ${CHROMIUM} is missing`, () => {
  const opened = consoleInChromium('api-sessions-blocks-browser-');
  let c: RunningConsole;
  let page: Page;
  beforeAll(() => ({ c, page } = opened));

  test('block, list as text, extend, lift, audit', async () => {
    await page.goto(c.url + 'blocks');
    await page.waitForSelector('#block-form');
    // The page says what a session block and a user block stop.
    const help = await page.locator('#block-help').textContent();
    expect(help).toMatch(/session block ends when that person signs in again/);
    expect(help).toMatch(/To keep someone out, block their user: the login itself still passes, but the first request with the new token is refused/);
    await page.selectOption('#block-form select[name=kind]', 'user');
    await page.fill('#block-form input[name=value]', HOSTILE);
    await page.fill('#block-form input[name=reason]', '<b>scraping</b>');
    await page.fill('#block-form input[name=by]', 'ana');
    await page.click('#block-form button[type=submit]');
    await page.waitForSelector('#blocks tr.block');
    const cells = await page.locator('#blocks tr.block td').allTextContents();
    expect(cells.slice(0, 4)).toEqual(['user', HOSTILE, '<b>scraping</b>', 'ana']);
    expect(await page.locator('#blocks img, #blocks b').count()).toBe(0);
    const api = (await (await fetch(c.url + 'api/blocks')).json()) as any;
    expect(api.items[0].expires_at - api.items[0].created_at).toBe(3600000);

    await page.click('#blocks button.extend');
    await page.waitForFunction(() => (globalThis as any).document.querySelectorAll('#block-audit tr.audit').length === 2);
    const extended = (await (await fetch(c.url + 'api/blocks')).json()) as any;
    expect(extended.items[0].expires_at - extended.items[0].created_at).toBe(2 * 3600000);

    await page.click('#blocks button.lift');
    await page.waitForFunction(() => (globalThis as any).document.querySelectorAll('#block-audit tr.audit').length === 3);
    expect(await page.locator('#blocks tr.block').count()).toBe(0);
    const audit = await page.locator('#block-audit tr.audit td:nth-child(3)').allTextContents();
    expect(audit).toEqual(['lift', 'extend', 'block']);
    expect(await page.locator('#block-audit tr.audit').first().locator('td:nth-child(5)').textContent()).toBe(HOSTILE);
    expect(await page.evaluate(() => (globalThis as unknown as { __xss?: number }).__xss ?? null)).toBeNull();
  });

  test('a session page blocks its session or its user: the blocks page opens filled in', async () => {
    const body = [rec({ s: 'bob', at: TODAY, user: 'bob', path: '/orders/1' }), rec({ s: 'bob', at: TODAY + 1000, user: 'bob', path: '/orders/2' })].map(line).join('');
    const ingested = await fetch(c.url + 'api/ingest', { method: 'POST', body, headers: { 'content-type': 'application/x-ndjson' } });
    expect(ingested.status).toBe(200);
    const day = new Date(TODAY).toISOString().slice(0, 10);
    await page.goto(`${c.url}session/${sid('bob')}/${day}`);
    await page.click('a.block-user');
    await page.waitForSelector('#block-form');
    expect(await page.inputValue('#block-form select[name=kind]')).toBe('user');
    expect(await page.inputValue('#block-form input[name=value]')).toBe('bob');

    await page.goto(`${c.url}session/${sid('bob')}/${day}`);
    await page.click('a.block-session');
    await page.waitForSelector('#block-form');
    expect(await page.inputValue('#block-form select[name=kind]')).toBe('session');
    expect(await page.inputValue('#block-form input[name=value]')).toBe(sid('bob'));
    await page.fill('#block-form input[name=reason]', 'card testing');
    await page.click('#block-form button[type=submit]');
    await page.waitForSelector('#blocks tr.block');
    const api = (await (await fetch(c.url + 'api/blocks')).json()) as any;
    expect(api.items.map((b: any) => [b.kind, b.value, b.reason])).toEqual([['session', sid('bob'), 'card testing']]);
  });

  test('a refused block shows the error as text', async () => {
    await page.goto(c.url + 'blocks');
    await page.waitForSelector('#block-form');
    await page.fill('#block-form input[name=value]', 'not-a-session');
    await page.fill('#block-form input[name=reason]', 'x');
    await page.click('#block-form button[type=submit]');
    await page.waitForFunction(() => ((globalThis as any).document.getElementById('block-error').textContent || '') !== '');
    expect(await page.locator('#block-error').textContent()).toContain('32 hex characters');
  });
});
