/** Headless Chromium for the console's browser tests: Debian's binary, a fresh profile each time. */
import { existsSync } from 'fs';
import { chromium, BrowserContext } from 'playwright-core';
import { tempDir } from './helpers';

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
