/**
 * The detections in a real headless Chromium, as an analyst uses them: the Detections page lists
 * the findings (values that are markup stay text), narrows them by kind, opens a finding's
 * evidence request on its session page (selected there, with the session's findings shown),
 * blocks the session named in one click and all the sessions of a stuffing finding in another;
 * the session list marks the sessions that findings name.
 */
import { Page } from 'playwright-core';
import { CHROMIUM, consoleInChromium, haveChromium } from './chromium';
import { RunningConsole } from '../../src/console/index';
import { SessionRecord } from '../../src/shared/record';
import { rec, line, sid, TODAY } from './helpers';

/* eslint-disable @typescript-eslint/no-explicit-any */
const HOSTILE = '<img src=x onerror="window.__xss=1">';
const day = new Date(TODAY).toISOString().slice(0, 10);

function traffic(): SessionRecord[] {
  const walk = Array.from({ length: 25 }, (_, i) =>
    rec({ s: 'mallory', at: TODAY + i * 2000 + ((i * 37) % 11) * 150, user: 'mallory', ua: HOSTILE, path: `/orders/${500 + i}`, status: i % 5 ? 403 : 200 }),
  );
  const stuffing = Array.from({ length: 12 }, (_, i) =>
    rec({ s: `try${i}`, at: TODAY + 60000 + i * 3000, method: 'POST', path: '/api/login', status: 401, ip: '192.0.2.66', ua: 'python-requests/2.31.0', key: 'response.cookie.sid', key_source: 'builtin' }),
  );
  const bystander = [rec({ s: 'alice', at: TODAY + 1000, user: 'alice', path: '/orders/1' })];
  return [...walk, ...stuffing, ...bystander];
}

(haveChromium ? describe : describe.skip)(haveChromium ? 'detections in Chromium' : `detections in Chromium: SKIPPED, ${CHROMIUM} is missing`, () => {
  const opened = consoleInChromium('api-sessions-detections-browser-');
  let c: RunningConsole;
  let page: Page;
  beforeAll(() => ({ c, page } = opened));
  beforeAll(async () => {
    const r = await fetch(c.url + 'api/ingest', { method: 'POST', body: traffic().map(line).join(''), headers: { 'content-type': 'application/x-ndjson' } });
    expect(r.status).toBe(200);
  });

  test('the page lists the findings with their rule and counts; a kind narrows it', async () => {
    await page.goto(c.url);
    await page.click('#nav-detections');
    await page.waitForSelector('article.finding-card');
    expect(await page.locator('article.finding-card').count()).toBe(2);
    const kinds = await page.locator('article.finding-card').evaluateAll((xs) => xs.map((x) => (x as any).dataset.kind));
    expect(kinds).toEqual(['stuffing', 'enumeration']);
    const walk = page.locator('article.finding-card[data-kind=enumeration]');
    expect(await walk.locator('p.summary').textContent()).toBe(`Session ${sid('mallory').slice(0, 12)}… walked 25 ids of GET /orders/N in sequence (500 to 524); 20 of 25 were refused.`);
    expect(await walk.locator('p.threshold').textContent()).toContain('12 requests in a row to one endpoint');
    // The User-Agent that is markup is text in the evidence table.
    expect(await walk.locator('td.ua').first().textContent()).toBe(HOSTILE);
    expect(await page.locator('#findings img').count()).toBe(0);
    await page.waitForSelector('#detection-counts .facet-link');
    expect(await page.locator('#detection-counts p.total').textContent()).toBe('2 findings.');
    await page.click('#detection-counts [data-facet=kind] a:has-text("Object enumeration")');
    await page.waitForSelector('article.finding-card');
    expect(new URL(page.url()).searchParams.get('kind')).toBe('enumeration');
    expect(await page.locator('article.finding-card').count()).toBe(1);
    expect(await page.evaluate(() => (globalThis as unknown as { __xss?: number }).__xss ?? null)).toBeNull();
  });

  test('from a finding to its evidence: the request selected on its session page, which shows the finding', async () => {
    await page.goto(c.url + 'detections?kind=enumeration');
    await page.waitForSelector('a.evidence-link');
    const link = page.locator('a.evidence-link').nth(3);
    const text = await link.textContent();
    await link.click();
    await page.waitForSelector('ol li.selected, li.selected');
    expect(new URL(page.url()).pathname).toBe(`/session/${sid('mallory')}/${day}`);
    expect(new URL(page.url()).hash).toMatch(/^#r=[0-9a-f]{32}$/);
    expect(await page.locator('li.selected .path').textContent()).toBe(text!.replace(/^GET /, ''));
    await page.waitForSelector('#session-findings li');
    expect(await page.locator('#session-findings li').textContent()).toContain('Object ids walked in sequence');
    await page.click('#session-findings a.finding-link');
    await page.waitForSelector('article.finding-card');
    expect(await page.locator('article.finding-card').count()).toBe(1);
  });

  test('one click blocks the session a finding names; another blocks all the sessions of a stuffing finding', async () => {
    await page.goto(c.url + 'detections?kind=enumeration');
    await page.waitForSelector('button.block-target[data-kind=session]');
    await page.click('button.block-target[data-kind=session]');
    await page.waitForSelector('button.blocked');
    expect(await page.locator('button.blocked').textContent()).toMatch(/^Blocked until \d{4}-\d\d-\d\d \d\d:\d\d UTC$/);
    let blocks = ((await (await fetch(c.url + 'api/blocks')).json()) as any).items;
    expect(blocks.map((b: any) => [b.kind, b.value])).toEqual([['session', sid('mallory')]]);
    expect(blocks[0].reason).toMatch(/^Detection [0-9a-f]{16} \(enumeration: Object ids walked in sequence\): Session /);

    await page.goto(c.url + 'detections?kind=stuffing');
    await page.waitForSelector('button.block-all');
    expect(await page.locator('button.block-all').textContent()).toBe('all 12 sessions named');
    await page.click('button.block-all');
    await page.waitForSelector('button.block-all.blocked');
    expect(await page.locator('button.block-all').textContent()).toBe('Blocked 12 of 12');
    blocks = ((await (await fetch(c.url + 'api/blocks')).json()) as any).items;
    expect(blocks.filter((b: any) => b.kind === 'session').map((b: any) => b.value).sort()).toEqual([sid('mallory'), ...Array.from({ length: 12 }, (_, i) => sid(`try${i}`))].sort());
  });

  test('the session list marks the sessions findings name, and only those', async () => {
    await page.goto(c.url + '?limit=50');
    await page.waitForSelector('tr.part-row');
    await page.waitForSelector('.finding-marks a.chip.finding');
    const marked = await page.locator('tr.part-row').evaluateAll((rows) =>
      rows.filter((r) => r.querySelector('.finding-marks')).map((r) => [(r as any).dataset.session, r.querySelector('.finding-marks')!.textContent]),
    );
    expect(marked.find((m) => m[0] === sid('mallory'))).toEqual([sid('mallory'), 'Object enumeration']);
    expect(marked.find((m) => m[0] === sid('try0'))).toEqual([sid('try0'), 'Credential stuffing / brute force']);
    expect(marked.find((m) => m[0] === sid('alice'))).toBeUndefined();
    expect(marked).toHaveLength(13);
    await page.click(`tr.part-row[data-session="${sid('mallory')}"] .finding-marks a`);
    await page.waitForSelector('article.finding-card');
    expect(new URL(page.url()).searchParams.get('session')).toBe(sid('mallory'));
  });
});
