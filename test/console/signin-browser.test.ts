/**
 * Signing in and out of a console that has a token, in a real headless Chromium, by clicking the
 * console's own forms as a person does: the sign-in page, a wrong token, the right one, back to
 * the page asked for; Sign out, after which the cookie the browser held opens nothing.
 */
import { BrowserContext, Page } from 'playwright-core';
import { CHROMIUM, consoleInChromium, haveChromium } from './chromium';
import { RunningConsole } from '../../src/console/index';
import { SIGNIN_COOKIE } from '../../src/console/signin';

const TOKEN = 'browser-sign-in-token';

(haveChromium ? describe : describe.skip)(haveChromium ? 'sign-in and sign-out in Chromium' : `sign-in and sign-out in Chromium: SKIPPED, ${CHROMIUM} is missing`, () => {
  const opened = consoleInChromium('api-sessions-signin-browser-', { token: TOKEN });
  let c: RunningConsole;
  let browser: BrowserContext;
  let page: Page;
  beforeAll(() => ({ c, browser, page } = opened));

  const signInCookie = async () => (await browser.cookies(c.url)).find((k) => k.name === SIGNIN_COOKIE);
  const parts = (cookie: string) => fetch(c.url + 'api/parts', { headers: { cookie } });

  test('sign in through the form, land on the page asked for; sign out, and the old cookie no longer works', async () => {
    await page.goto(c.url + 'blocks');
    await page.waitForSelector('form.login');
    expect(new URL(page.url()).pathname).toBe('/login');

    // A wrong token: the form says so, nothing is set.
    await page.fill('form.login input[name=token]', 'not-the-token');
    await Promise.all([page.waitForURL(/failed=1/), page.click('form.login button[type=submit]')]);
    await page.waitForSelector('#failed:not([hidden])');
    expect(await signInCookie()).toBeUndefined();

    await page.fill('form.login input[name=token]', TOKEN);
    await Promise.all([page.waitForURL(c.url + 'blocks'), page.click('form.login button[type=submit]')]);
    await page.waitForSelector('#block-form');
    const held = await signInCookie();
    expect(held).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    const cookie = `${SIGNIN_COOKIE}=${held!.value}`;
    expect((await parts(cookie)).status).toBe(200);

    await Promise.all([page.waitForURL(/\/login$/), page.click('form.signout button')]);
    expect(await signInCookie()).toBeUndefined();
    // Signed out on the console, not only in this browser: the cookie it held opens nothing.
    expect((await parts(cookie)).status).toBe(401);
    await page.goto(c.url);
    await page.waitForSelector('form.login');
    expect(new URL(page.url()).pathname).toBe('/login');
  });
});
