/**
 * Screenshots of the setup portal's pages, wide (1280 px) and narrow (390 px), into
 * docs/screenshots/portal-*.png: `node scripts/portal-screenshots.ts` (needs Debian's `chromium`).
 *
 * Runs a hub on an in-memory database, creates an organization and one setup link per intent, and
 * walks each page in Chromium (playwright-core) as the IT admin would: every form is submitted by
 * clicking its button, so a form the portal refuses from a real browser stops the script, as does
 * a narrow page that scrolls sideways. It pastes IdP metadata, runs a test sign-in that works and
 * one that fails through a SAML IdP on this machine (the test suite's samlify IdP), creates a SCIM
 * endpoint, checks a domain (against an in-process DNS table) and adds another. Nothing leaves the
 * machine.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import { chromium, type Locator, type Page } from 'playwright-core';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { closeHub, createHub, startBackgroundWork } from '../src/hub.ts';
import { createKeyAndCertificate } from '../src/modules/sso/certificates.ts';
import { renderIdpMetadata } from '../src/modules/sso/saml/identity-provider.ts';
import { createLogger } from '../src/platform/logging.ts';
import { startSamlIdp } from '../test/support/idps.ts';

const out = join(import.meta.dirname, '../docs/screenshots');
const WIDE = { width: 1280, height: 800 };
const NARROW = { width: 390, height: 844 };

/** Screenshots the page as it is, wide and narrow; refuses a narrow layout that scrolls sideways. */
async function shoot(page: Page, name: string) {
  for (const [suffix, viewport] of [
    ['wide', WIDE],
    ['narrow', NARROW],
  ] as const) {
    await page.setViewportSize(viewport);
    const { scrollWidth, innerWidth } = await page.evaluate(() => ({
      scrollWidth: document.documentElement.scrollWidth,
      innerWidth: window.innerWidth,
    }));
    if (scrollWidth > innerWidth) {
      throw new Error(`${name} scrolls sideways at ${innerWidth} px (${scrollWidth} px wide)`);
    }
    const file = join(out, `portal-${name}-${suffix}.png`);
    await page.screenshot({ path: file, fullPage: true });
    console.log(`wrote ${file}`);
  }
  await page.setViewportSize(WIDE);
}

/** Clicks a submit button and waits for the answer; stops on a refusal ("Form expired", ...). */
async function submit(page: Page, button: Locator) {
  const committed = page.waitForEvent('framenavigated', { predicate: (frame) => frame === page.mainFrame() });
  await button.click();
  await committed;
  await page.waitForLoadState('domcontentloaded');
  const heading = (await page.locator('h1').first().textContent())?.trim() ?? '';
  if (/Form expired|Request not understood|Something went wrong/.test(heading)) {
    const alert = (await page.locator('[role="alert"]').allTextContents()).join(' ');
    throw new Error(`the portal refused the form on ${page.url()}: ${heading}: ${alert}`);
  }
}

/** Clicks "Start a test sign-in" and returns the tab once it shows the result (the IdP answers on its own). */
async function testSignIn(page: Page): Promise<Page> {
  const opened = page.context().waitForEvent('page');
  await page.getByRole('button', { name: 'Start a test sign-in' }).click();
  const tab = await opened;
  await tab.locator('h1', { hasText: /^Test sign-in:/ }).waitFor();
  return tab;
}

async function main() {
  mkdirSync(out, { recursive: true });
  const port = 40000 + Math.floor(Math.random() * 10000);
  const config = loadConfig({
    PORT: String(port),
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    SECRET_KEY: randomBytes(32).toString('base64'),
    LOG_LEVEL: 'warn',
  });
  // Domain checks read this table instead of DNS.
  const txt = new Map<string, string[][]>();
  const hub = await createHub(config, {
    logger: createLogger('warn'),
    pglite: await PGlite.create(),
    txtResolver: {
      resolveTxt: async (name) => {
        const records = txt.get(name);
        if (!records) throw Object.assign(new Error(`queryTxt ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
        return records;
      },
    },
  });
  const app = await buildApp(hub);
  await startBackgroundWork(hub, 'web');
  await app.listen({ port, host: '127.0.0.1' });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const actor = { type: 'system' as const, name: 'screenshots' };
  try {
    const page = await (await browser.newContext({ viewport: WIDE })).newPage();
    page.setDefaultTimeout(30_000);
    const org = await hub.orgs.create(
      { name: 'Acme Corp', domains: ['acme.example'], environment: 'sandbox' } as never,
      actor,
    );
    const links = hub.portal.links;

    // SSO: the guides before anything is saved, then the IdP's metadata pasted and saved.
    const sso = await links.create(org.id, { intent: 'sso', label: 'Jane Roe, Acme IT' }, actor);
    await page.goto(`${sso.url}?idp=entra`);
    await shoot(page, 'sso-guide');
    await page.goto(`${sso.url}?idp=entra&protocol=oidc`);
    await shoot(page, 'sso-oidc-guide');
    await page.goto(`${sso.url}?idp=okta&protocol=saml`);
    const keys = await createKeyAndCertificate({ commonName: 'login.acme.example', validDays: 365 });
    await page.getByLabel('or paste the XML').fill(
      renderIdpMetadata({
        entityId: 'https://login.acme.example/saml/metadata',
        ssoUrl: 'https://login.acme.example/saml/sso',
        certificatePem: keys.certificatePem,
      }),
    );
    await submit(page, page.getByRole('button', { name: 'Save the metadata' }));
    await page.getByRole('status').waitFor();
    await shoot(page, 'sso-saved');

    // Test sign-ins through a SAML IdP on this machine (samlify, as in the test suite): one that
    // works, and one where the IdP sends no email; then the failed one's steps on the setup page.
    const idp = await startSamlIdp({
      user: {
        nameId: 'jane.roe@acme.example',
        attributes: { email: 'jane.roe@acme.example', firstName: 'Jane', lastName: 'Roe' },
      },
    });
    try {
      const trial = await links.create(org.id, { intent: 'sso', label: 'Jane Roe, Acme IT' }, actor);
      await page.goto(`${trial.url}?idp=generic&protocol=saml`);
      await page.getByLabel('or paste the XML').fill(idp.metadataXml);
      await submit(page, page.getByRole('button', { name: 'Save the metadata' }));
      const connectionId = trial.link.connectionId as string;
      idp.trustServiceProvider(await (await fetch(`${base}/sso/saml/${connectionId}/metadata`)).text());
      const worked = await testSignIn(page);
      if ((await worked.locator('h1').textContent())?.trim() !== 'Test sign-in: it works') {
        throw new Error(`the test sign-in did not work: ${await worked.locator('main').textContent()}`);
      }
      await worked.close();
      idp.user = { nameId: 'opaque-4711', attributes: { firstName: 'Jane', lastName: 'Roe' } };
      const failed = await testSignIn(page);
      await shoot(failed, 'sso-test-failed');
      await failed.close();
      await page.getByRole('link', { name: 'Refresh' }).click();
      await page.getByRole('row').filter({ hasText: 'Failed' }).getByRole('link', { name: /Steps/ }).click();
      await page.getByRole('heading', { name: 'Test sign-in: it failed' }).waitFor();
      await shoot(page, 'sso-trace');
    } finally {
      await idp.close();
    }

    // SCIM: the start page, then the endpoint just created, with its token shown once.
    const scim = await links.create(org.id, { intent: 'scim', label: 'Okta admin' }, actor);
    await page.goto(scim.url);
    await shoot(page, 'scim-start');
    await page.getByLabel('Okta').check();
    await submit(page, page.getByRole('button', { name: 'Create the SCIM endpoint' }));
    await page.locator('#scim-token').waitFor();
    await shoot(page, 'scim-created');

    // Domain: acme.example checked once its TXT record is published, acme-corp.example added.
    const domain = await links.create(org.id, { intent: 'domain' }, actor);
    await page.goto(domain.url);
    const record = page
      .getByRole('listitem')
      .filter({ has: page.getByRole('heading', { name: 'acme.example' }) });
    const name = ((await record.locator('code[id^="txt-name-"]').textContent()) ?? '').trim();
    const value = ((await record.locator('code[id^="txt-value-"]').textContent()) ?? '').trim();
    txt.set(name, [[value]]);
    await submit(page, record.getByRole('button', { name: 'Check acme.example now' }));
    await page.getByLabel('Domain', { exact: true }).fill('acme-corp.example');
    await submit(page, page.getByRole('button', { name: 'Add the domain' }));
    await page.getByRole('status').waitFor();
    await shoot(page, 'domain');

    // An expired link.
    await hub.database.db.execute(
      sql`update setup_links set expires_at = now() - interval '1 day' where id = ${domain.link.id}`,
    );
    await page.goto(domain.url);
    await shoot(page, 'expired');
  } finally {
    await browser.close();
    await app.close();
    await closeHub(hub, 1000);
  }
}

await main();
