/** Headless Chromium for the console's browser tests: Debian's binary, a fresh profile each time. */
import { existsSync } from 'fs';
import { chromium, BrowserContext, Page } from 'playwright-core';
import type { ConsoleOptions, RunningConsole } from '../../src/console/index';
import { tempDir, testConsoles } from './helpers';

export const CHROMIUM = '/usr/bin/chromium';
export const haveChromium = existsSync(CHROMIUM);

/** Starts Chromium on a fresh profile directory (playwright passes it as --user-data-dir);
 *  close() stops it and removes the profile. */
export async function launchChromium(): Promise<{ browser: BrowserContext; close(): Promise<void> }> {
  const profile = tempDir('api-sessions-chromium-');
  const browser = await chromium.launchPersistentContext(profile.dir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  return {
    browser,
    close: async () => {
      await browser.close();
      profile.cleanup();
    },
  };
}

/**
 * What a describe block of browser tests starts with: a console (on a fresh SQLite file, with
 * `options`) and Chromium with one page, started before all its tests and closed after all.
 * Its fields are set once beforeAll has run.
 */
export function consoleInChromium(prefix: string, options: ConsoleOptions = {}): { c: RunningConsole; browser: BrowserContext; page: Page } {
  const consoles = testConsoles(prefix, 'all');
  const opened = {} as { c: RunningConsole; browser: BrowserContext; page: Page };
  let chrome: Awaited<ReturnType<typeof launchChromium>> | undefined;
  beforeAll(async () => {
    opened.c = await consoles.start(options);
    chrome = await launchChromium();
    opened.browser = chrome.browser;
    opened.page = await opened.browser.newPage();
  });
  afterAll(async () => {
    await chrome?.close();
  });
  return opened;
}
