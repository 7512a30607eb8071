/**
 * Forged setup forms in a real browser: a page of another origin auto-posts a form to the portal in
 * the IT admin's Chromium (which has opened the link, so it holds the CSRF cookie), and the portal
 * must refuse it, changing nothing. The attacker is given the best case: the real form tag copied
 * from the admin's page. Each case is checked against what Chromium really sent (Origin,
 * Sec-Fetch-Site, Cookie), so the refusal is known to come from the check under test:
 *
 * - another site (`evil.example`, resolved to 127.0.0.1 by Chromium): no cookie (SameSite=Strict),
 *   `Sec-Fetch-Site: cross-site`, with its Origin or, under its own `no-referrer`, `Origin: null`;
 * - another origin on our site (127.0.0.1, another port): the cookie IS sent (same-site) with a
 *   valid tag, and `Origin: null` under `no-referrer`; only Fetch Metadata (`same-site`) tells;
 * - the portal's own page with its tag forged or removed, or with the cookie gone.
 *
 * Skipped, with a message, only when /usr/bin/chromium is absent (`.ci/run` installs it).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrganization, startHub } from '../sso/helpers.ts';
import type { TestHub } from '../support/hub.ts';
import { type SamlIdp, startSamlIdp } from '../support/idps.ts';
import { clickSubmit, expectAccepted, hasChromium, headingOf, launchChromium } from './chromium.ts';
import { type CreatedLink, createLink } from './helpers.ts';

const EVIL_SITE = 'evil.example';

let t: TestHub;
let org: { id: string; domain: string };
let idp: SamlIdp;
let domainLink: CreatedLink;
let ssoLink: CreatedLink;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let attacker: Server;
let attackerPort: number;
/** The attacker's pages, by path. */
const attacks = new Map<string, { html: string; referrerPolicy?: string }>();

async function domains(): Promise<string[]> {
  const view = await t.api('GET', `/api/v1/organizations/${org.id}`);
  return (view.body.domains as Array<{ domain: string }>).map((entry) => entry.domain);
}

/** An auto-posting form on the attacker's page, the classic CSRF page. */
function autoPost(options: { action: string; fields: Record<string, string>; multipart?: boolean }): string {
  const attribute = (text: string) =>
    text.replaceAll('&', '&amp;').replaceAll('"', '&quot;').replaceAll('<', '&lt;');
  const inputs = Object.entries(options.fields)
    .map(([name, value]) => `<input type="hidden" name="${attribute(name)}" value="${attribute(value)}">`)
    .join('');
  return `<!DOCTYPE html><html><body><form method="post" action="${attribute(options.action)}"${
    options.multipart ? ' enctype="multipart/form-data"' : ''
  }>${inputs}<button>Win a prize</button></form><script>document.forms[0].submit()</script></body></html>`;
}

/**
 * Opens the attacker's page in the admin's browser; returns what Chromium sent with the forged POST
 * and the portal's answer.
 */
async function attack(
  origin: string,
  attackPage: { html: string; referrerPolicy?: string },
): Promise<{ headers: Record<string, string>; status: number; heading: string }> {
  const path = `/attack-${attacks.size + 1}`;
  attacks.set(path, attackPage);
  const posted = page.waitForRequest(
    (request) => request.method() === 'POST' && request.url().startsWith(`${t.url}/setup/`),
  );
  // 'commit': the page submits its form while it loads, replacing itself before its load event.
  await page.goto(`${origin}${path}`, { waitUntil: 'commit' });
  const request = await posted;
  const response = await request.response();
  await page.waitForURL((url) => url.href.startsWith(`${t.url}/setup/`));
  await page.locator('h1').first().waitFor();
  return {
    headers: await request.allHeaders(),
    status: response?.status() ?? 0,
    heading: await headingOf(page),
  };
}

describe.skipIf(!hasChromium)(
  'setup forms forged by another origin, in Chromium',
  { timeout: 120_000 },
  () => {
    let tag: string;
    let ssoTag: string;

    beforeAll(async () => {
      t = await startHub();
      org = await createOrganization(t);
      idp = await startSamlIdp();
      domainLink = await createLink(t, org.id, { intent: 'domain' });
      ssoLink = await createLink(t, org.id, { intent: 'sso' });
      attacker = createServer((request, reply) => {
        const found = attacks.get(new URL(request.url ?? '/', 'http://x').pathname);
        if (!found) {
          reply.statusCode = 404;
          reply.end();
          return;
        }
        reply.setHeader('content-type', 'text/html; charset=utf-8');
        if (found.referrerPolicy) reply.setHeader('referrer-policy', found.referrerPolicy);
        reply.end(found.html);
      });
      await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
      attackerPort = (attacker.address() as AddressInfo).port;
      browser = await launchChromium([`--host-resolver-rules=MAP ${EVIL_SITE} 127.0.0.1`]);
      context = await browser.newContext();
      page = await context.newPage();
      page.setDefaultTimeout(30_000);
      // The IT admin has both pages open: the browser holds the CSRF cookie.
      await page.goto(ssoLink.url);
      ssoTag = await page.locator('input[name="csrf"]').first().inputValue();
      await page.goto(domainLink.url);
      tag = await page.locator('input[name="csrf"]').first().inputValue();
      expect((await context.cookies()).map((cookie) => cookie.name)).toContain('sb_setup_csrf');
    });

    afterAll(async () => {
      await browser?.close();
      attacker?.close();
      await idp?.close();
      await t?.close();
    });

    const cases = [
      {
        name: 'another site, with its Origin',
        site: 'cross-site',
        origin: () => `http://${EVIL_SITE}:${attackerPort}`,
        sentOrigin: () => `http://${EVIL_SITE}:${attackerPort}`,
        cookie: false,
      },
      {
        name: 'another site under no-referrer (Origin: null)',
        site: 'cross-site',
        referrerPolicy: 'no-referrer',
        origin: () => `http://${EVIL_SITE}:${attackerPort}`,
        sentOrigin: () => 'null',
        cookie: false,
      },
      {
        name: 'another origin on our site, with its Origin (the cookie is sent)',
        site: 'same-site',
        origin: () => `http://127.0.0.1:${attackerPort}`,
        sentOrigin: () => `http://127.0.0.1:${attackerPort}`,
        cookie: true,
      },
      {
        name: 'another origin on our site under no-referrer (Origin: null, the cookie is sent)',
        site: 'same-site',
        referrerPolicy: 'no-referrer',
        origin: () => `http://127.0.0.1:${attackerPort}`,
        sentOrigin: () => 'null',
        cookie: true,
      },
    ] as const;

    for (const [index, testCase] of cases.entries()) {
      it(`refuses a domain form auto-posted from ${testCase.name}, with the real tag`, async () => {
        const domain = `forged-${index}.example.test`;
        const sent = await attack(testCase.origin(), {
          html: autoPost({ action: `${domainLink.url}/domain/add`, fields: { csrf: tag, domain } }),
          ...('referrerPolicy' in testCase ? { referrerPolicy: testCase.referrerPolicy } : {}),
        });
        expect(sent.headers['sec-fetch-site']).toBe(testCase.site);
        expect(sent.headers.origin).toBe(testCase.sentOrigin());
        expect((sent.headers.cookie ?? '').includes('sb_setup_csrf=')).toBe(testCase.cookie);
        expect(sent.status).toBe(403);
        expect(sent.heading).toBe('Form expired');
        expect(await domains()).not.toContain(domain);
      });
    }

    it('refuses a metadata upload (multipart) auto-posted from another origin on our site, creating no connection', async () => {
      const sent = await attack(`http://127.0.0.1:${attackerPort}`, {
        html: autoPost({
          action: `${ssoLink.url}/sso/metadata`,
          fields: { csrf: ssoTag, idp: 'okta', metadataXml: idp.metadataXml },
          multipart: true,
        }),
        referrerPolicy: 'no-referrer',
      });
      expect(sent.headers['content-type']).toMatch(/^multipart\/form-data/);
      expect(sent.headers['sec-fetch-site']).toBe('same-site');
      expect(sent.status).toBe(403);
      expect(sent.heading).toBe('Form expired');
      const connection = await t.api(
        'GET',
        `/api/v1/organizations/${org.id}/connections/${ssoLink.link.connectionId}`,
      );
      expect(connection.status).toBe(404);
    });

    it('refuses the portal’s own form with its tag forged or removed, or without the cookie; accepts it after a reload', async () => {
      const domain = 'own-page.example.test';
      const tries: Array<[string, (form: Page) => Promise<void>]> = [
        [
          'forged tag',
          (form) =>
            form.evaluate(() => {
              for (const input of Array.from(
                document.querySelectorAll<HTMLInputElement>('input[name="csrf"]'),
              ))
                input.value = 'forged';
            }),
        ],
        [
          'tag removed',
          (form) =>
            form.evaluate(() => {
              for (const input of Array.from(document.querySelectorAll('input[name="csrf"]'))) input.remove();
            }),
        ],
        ['cookie gone', () => context.clearCookies()],
      ];
      for (const [what, tamper] of tries) {
        await page.goto(domainLink.url);
        await page.getByLabel('Domain', { exact: true }).fill(domain);
        await tamper(page);
        const sent = await clickSubmit(page, page.getByRole('button', { name: 'Add the domain' }));
        expect(sent.headers['sec-fetch-site'], what).toBe('same-origin');
        expect(sent.status, what).toBe(403);
        expect(await headingOf(page), what).toBe('Form expired');
        expect(await domains(), what).not.toContain(domain);
      }
      // "Reload the setup page and try again", as the refusal says: that works.
      await page.goto(domainLink.url);
      await page.getByLabel('Domain', { exact: true }).fill(domain);
      await clickSubmit(page, page.getByRole('button', { name: 'Add the domain' }));
      await expectAccepted(page, 'domain add after a reload');
      await page.getByRole('status').filter({ hasText: 'The domain is added' }).waitFor();
      expect(await domains()).toContain(domain);
    });
  },
);
