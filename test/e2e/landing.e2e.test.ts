/**
 * A newcomer's first click: the hub's own address, opened in Chromium, lands on the console's
 * sign-in page, which links to the end-user sign-in (/login) and the API reference (/docs).
 *
 * The browser part is skipped, with a message, only when /usr/bin/chromium is absent (`.ci/run`
 * installs it).
 */
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestHub, type TestHub } from '../support/hub.ts';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);

describe('the hub address', { timeout: 90_000 }, () => {
  let t: TestHub;
  let browser: Browser | undefined;

  beforeAll(async () => {
    t = await createTestHub({ listen: true });
    if (hasChromium) {
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: [
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
        ],
      });
    }
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('redirects / to the console, not a JSON 404', async () => {
    const res = await fetch(`${t.url}/`, { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/admin/');
  });

  it.skipIf(!hasChromium)(
    'lands on the console sign-in, with links to /login and /docs that work',
    async () => {
      if (!browser) throw new Error('no browser');
      const page = await browser.newPage();
      await page.goto(`${t.url}/`);
      await page.getByRole('heading', { name: 'Switchboard console' }).waitFor();
      expect(new URL(page.url()).pathname).toMatch(/^\/admin\//);
      await page.getByRole('link', { name: '/docs' }).click();
      await page.waitForURL(/\/docs/);
      await page.goBack();
      await page.getByRole('link', { name: '/login' }).click();
      await page.waitForURL(/\/login/);
      expect(await page.locator('input[name="email"], input[type="email"]').count()).toBeGreaterThan(0);
      await page.close();
    },
  );
});
