/**
 * Debian's Chromium for the setup portal's browser tests, driven by playwright-core and launched
 * with the flags the console's end-to-end suite uses (test/e2e/console.e2e.test.ts). A real browser
 * sends what `fetch` does not (Origin under the page's Referrer-Policy, Sec-Fetch-*, SameSite
 * cookies), so the portal's forms are tested by clicking them here.
 *
 * `hasChromium` is false, with a warning, when /usr/bin/chromium is absent: the suites using it
 * are skipped then (`.ci/run` installs it).
 */
import { existsSync } from 'node:fs';
import { type Browser, chromium, type Locator, type Page, type Request } from 'playwright-core';
import { expect } from 'vitest';

export const CHROMIUM = '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) {
  console.warn(
    `setup portal browser tests skipped: ${CHROMIUM} is missing. Install Debian's chromium (apt-get install -y chromium; .ci/run does).`,
  );
}

/** `args`: extra flags, e.g. `--host-resolver-rules=MAP evil.example 127.0.0.1` for a page of another site. */
export function launchChromium(args: string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      ...args,
    ],
  });
}

/** The headers Chromium actually sent with a request (Origin, Sec-Fetch-*, Cookie included). */
export async function sentHeaders(request: Request): Promise<Record<string, string>> {
  return request.allHeaders();
}

/**
 * Clicks a form's submit button and waits for the page the POST leads to (after its redirect, if
 * any). Returns the POST as Chromium sent it and the answer's status.
 */
export async function clickSubmit(
  page: Page,
  button: Locator,
): Promise<{ request: Request; status: number; headers: Record<string, string> }> {
  const posted = page.waitForRequest(
    (request) => request.method() === 'POST' && request.isNavigationRequest(),
  );
  const committed = page.waitForEvent('framenavigated', { predicate: (frame) => frame === page.mainFrame() });
  await button.click();
  const request = await posted;
  await committed;
  await page.waitForLoadState('domcontentloaded');
  const response = await request.response();
  return { request, status: response?.status() ?? 0, headers: await sentHeaders(request) };
}

/** The text of the page's first heading. */
export async function headingOf(page: Page): Promise<string> {
  return ((await page.locator('h1').first().textContent()) ?? '').trim();
}

/** Fails, with what the page says, when the portal refused a form ("Form expired", ...). */
export async function expectAccepted(page: Page, what: string): Promise<void> {
  const heading = await headingOf(page);
  const alert = (await page.locator('[role="alert"]').allTextContents()).join(' | ');
  expect(heading, `${what}: the portal answered "${heading}": ${alert}`).not.toMatch(
    /Form expired|Request not understood|Something went wrong/,
  );
}

/** The page's width as laid out, and the viewport's: a page that scrolls sideways has scrollWidth > innerWidth. */
export function widths(page: Page): Promise<{ scrollWidth: number; innerWidth: number }> {
  return page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
  }));
}

/** Asserts the page does not scroll sideways at its current viewport, naming the widest elements if it does. */
export async function expectNoSidewaysScroll(page: Page, what: string): Promise<void> {
  const { scrollWidth, innerWidth } = await widths(page);
  if (scrollWidth <= innerWidth) return;
  const culprits = await page.evaluate((limit) => {
    const wide: string[] = [];
    for (const element of Array.from(document.body.querySelectorAll('*'))) {
      const box = element.getBoundingClientRect();
      if (box.right > limit + 0.5)
        wide.push(`${element.tagName.toLowerCase()}.${element.className} right=${Math.round(box.right)}`);
    }
    return wide.slice(0, 8);
  }, innerWidth);
  expect.fail(
    `${what} scrolls sideways: ${scrollWidth} px wide in a ${innerWidth} px viewport (${culprits.join('; ')})`,
  );
}
