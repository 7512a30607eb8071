/**
 * The setup portal in a real browser: Debian's Chromium driven by playwright-core, against a hub
 * listening on a real port. Every form of the portal is submitted the way a client's IT admin
 * submits it, by clicking its submit button: SAML metadata as a file, a URL and pasted XML; OIDC
 * settings; a test sign-in that succeeds and one that fails, each ending on its trace in the new
 * tab (SAML through samlify, OIDC through oidc-provider); the SCIM endpoint created and its token
 * rotated; a domain added and checked against a fake DNS server. Chromium sends what `fetch` does
 * not (Origin under the page's Referrer-Policy, Sec-Fetch-Site, SameSite cookies), which is what
 * these tests are for. The test sign-in's result and the portal's trace page are also laid out at
 * 390 px, where they must not scroll sideways.
 *
 * Skipped, with a message, only when /usr/bin/chromium is absent (`.ci/run` installs it).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTxtResolver } from '../../src/modules/orgs/index.ts';
import { type FakeDns, startFakeDns } from '../fakes/dns.ts';
import {
  clickSubmit,
  expectAccepted,
  expectNoSidewaysScroll,
  hasChromium,
  headingOf,
  launchChromium,
} from '../portal/chromium.ts';
import { type CreatedLink, createLink } from '../portal/helpers.ts';
import { createOrganization, startHub } from '../sso/helpers.ts';
import type { TestHub } from '../support/hub.ts';
import { type OidcIdp, type SamlIdp, startOidcIdp, startSamlIdp } from '../support/idps.ts';

let t: TestHub;
let dns: FakeDns;
let org: { id: string; slug: string; domain: string };
let browser: Browser;
let context: BrowserContext;
let page: Page;
const samlIdps: SamlIdp[] = [];
const oidcIdps: OidcIdp[] = [];
const servers: Server[] = [];
/** Every request Chromium made, with the headers it sent, for the Referer and Origin checks. */
const requests: Array<{ url: string; method: string; headers: Promise<Record<string, string>> }> = [];

async function connection(connectionId: string) {
  const response = await t.api('GET', `/api/v1/organizations/${org.id}/connections/${connectionId}`);
  expect(response.status, response.text).toBe(200);
  return response.body as {
    protocol: string;
    preset: string;
    active: boolean;
    saml?: { idpEntityId: string; metadataUrl?: string | null };
    oidc?: { clientId: string; clientSecretSet: boolean };
  };
}

/** A SAML IdP (samlify) that trusts the link's connection once its metadata is saved. */
async function samlIdp(): Promise<SamlIdp> {
  const idp = await startSamlIdp();
  samlIdps.push(idp);
  return idp;
}

async function trustHub(idp: SamlIdp, connectionId: string) {
  idp.trustServiceProvider(await (await fetch(`${t.url}/sso/saml/${connectionId}/metadata`)).text());
}

/**
 * Clicks "Start a test sign-in" and returns the new tab once it shows the result of that sign-in
 * (the trace) or anything else that ends the journey (a refusal, the end-user error page).
 * `signIn` answers the IdP's own pages in between (the OIDC IdP's login form).
 */
async function runTestSignIn(setup: Page, signIn?: (tab: Page) => Promise<void>): Promise<Page> {
  const opened = setup.context().waitForEvent('page');
  await setup.getByRole('button', { name: 'Start a test sign-in' }).click();
  const tab = await opened;
  tab.setDefaultTimeout(30_000);
  if (signIn) await signIn(tab);
  await tab.locator('h1', { hasText: /Test sign-in:|Sign-in failed|Form expired|Signed in/ }).waitFor();
  return tab;
}

describe.skipIf(!hasChromium)('setup portal forms clicked in Chromium', { timeout: 120_000 }, () => {
  beforeAll(async () => {
    dns = await startFakeDns();
    t = await startHub({ txtResolver: createTxtResolver([dns.server]) });
    org = await createOrganization(t);
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    context.on('request', (request) => {
      const headers = request.allHeaders();
      headers.catch(() => {});
      requests.push({ url: request.url(), method: request.method(), headers });
    });
    page = await context.newPage();
    page.setDefaultTimeout(30_000);
  });

  afterAll(async () => {
    await browser?.close();
    await Promise.all([...samlIdps, ...oidcIdps].map((idp) => idp.close()));
    for (const server of servers) server.close();
    await t?.close();
    await dns?.close();
  });

  // A failing step leaves a picture of where it stopped (not kept in the repository).
  afterEach(async (test) => {
    if (test.task.result?.state !== 'fail' || !context) return;
    const name = test.task.name.replace(/[^a-z0-9]+/gi, '-').slice(0, 60);
    for (const [index, open] of context.pages().entries()) {
      await open
        .screenshot({ path: `${tmpdir()}/portal-e2e-${name}-${index}.png`, fullPage: true })
        .catch(() => {});
    }
  });

  let sso: CreatedLink;
  let idp: SamlIdp;

  it('SAML: saves the metadata from a file, then a URL, then pasted XML (same connection)', async () => {
    sso = await createLink(t, org.id, { intent: 'sso', label: 'Jane Roe, Acme IT' });
    const connectionId = sso.link.connectionId as string;
    await page.goto(sso.url);
    await page
      .getByRole('navigation', { name: 'Identity providers' })
      .getByRole('link', { name: 'Okta' })
      .click();
    await page.getByRole('heading', { name: '2. Create the application in Okta' }).waitFor();

    // A file, as exported by the IdP.
    const fromFile = await samlIdp();
    await page.getByLabel('Metadata file (XML)').setInputFiles({
      name: 'metadata.xml',
      mimeType: 'application/xml',
      buffer: Buffer.from(fromFile.metadataXml),
    });
    const upload = await clickSubmit(page, page.getByRole('button', { name: 'Save the metadata' }));
    await expectAccepted(page, 'metadata file');
    expect(upload.headers['content-type']).toMatch(/^multipart\/form-data/);
    await page.getByRole('status').filter({ hasText: 'metadata is saved' }).waitFor();
    await page.getByText(fromFile.entityId, { exact: true }).waitFor();
    expect(await connection(connectionId)).toMatchObject({
      protocol: 'saml',
      preset: 'okta',
      active: true,
      saml: { idpEntityId: fromFile.entityId },
    });

    // A metadata URL.
    const fromUrl = await samlIdp();
    const server = createServer((_request, reply) => {
      reply.setHeader('content-type', 'application/samlmetadata+xml');
      reply.end(fromUrl.metadataXml);
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const metadataUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metadata`;
    await page.getByLabel('or metadata URL').fill(metadataUrl);
    await clickSubmit(page, page.getByRole('button', { name: 'Replace the metadata' }));
    await expectAccepted(page, 'metadata URL');
    await page.getByText(fromUrl.entityId, { exact: true }).waitFor();
    expect((await connection(connectionId)).saml).toMatchObject({
      idpEntityId: fromUrl.entityId,
      metadataUrl,
    });

    // Pasted XML: the IdP the test sign-ins below go through.
    idp = await samlIdp();
    await page.getByLabel('or paste the XML').fill(idp.metadataXml);
    await clickSubmit(page, page.getByRole('button', { name: 'Replace the metadata' }));
    await expectAccepted(page, 'pasted metadata');
    await page.getByText(idp.entityId, { exact: true }).waitFor();
    expect((await connection(connectionId)).saml?.idpEntityId).toBe(idp.entityId);
    await trustHub(idp, connectionId);
  });

  it('SAML: a test sign-in that works ends on its trace in the new tab', async () => {
    idp.user = {
      nameId: `ada@${org.domain}`,
      attributes: { email: `ada@${org.domain}`, firstName: 'Ada', lastName: 'Lovelace' },
    };
    const tab = await runTestSignIn(page);
    expect(await headingOf(tab)).toBe('Test sign-in: it works');
    await tab.getByText(`ada@${org.domain}`).first().waitFor();
    await tab.getByRole('cell', { name: 'signature_check' }).waitFor();
    await tab.close();
  });

  it('SAML: a test sign-in that fails ends on its trace (not the end-user error page), which fits 390 px', async () => {
    // The IdP sends an opaque NameID and no email attribute.
    idp.user = { nameId: 'opaque-4711', attributes: { firstName: 'No', lastName: 'Mail' } };
    const tab = await runTestSignIn(page);
    expect(await headingOf(tab)).toBe('Test sign-in: it failed');
    await expect(tab.getByRole('link', { name: 'Back to sign in' }).count()).resolves.toBe(0);
    await tab
      .getByText(/found no usable email/)
      .first()
      .waitFor();
    const traceId = ((await tab.locator('#trace-id').textContent()) ?? '').trim();
    expect(traceId).toMatch(/^trc_/);
    await tab.setViewportSize({ width: 390, height: 800 });
    await expectNoSidewaysScroll(tab, 'the test sign-in result');
    await tab.close();

    // The setup page lists it; its steps open on the portal's trace page, which fits 390 px too.
    await page.getByRole('link', { name: 'Refresh' }).click();
    const row = page.getByRole('row').filter({ hasText: traceId });
    await row.getByText('mapping_no_email').waitFor();
    await page.setViewportSize({ width: 390, height: 800 });
    await expectNoSidewaysScroll(page, 'the SSO setup page with its test sign-ins');
    await row.getByRole('link', { name: /Steps/ }).click();
    await page.getByRole('heading', { name: 'Test sign-in: it failed' }).waitFor();
    await page.getByRole('cell', { name: 'mapping', exact: true }).waitFor();
    await expectNoSidewaysScroll(page, 'the portal trace page');
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it('OIDC: saves the application’s details and a test sign-in through the IdP’s login form works', async () => {
    const link = await createLink(t, org.id, { intent: 'sso', label: 'OIDC admin' });
    const connectionId = link.link.connectionId as string;
    const oidc = await startOidcIdp({ redirectUris: [`${t.url}/sso/oidc/${connectionId}/callback`] });
    oidcIdps.push(oidc);
    oidc.accounts.set('grace', {
      email: `grace@${org.domain}`,
      email_verified: true,
      given_name: 'Grace',
      family_name: 'Hopper',
    });
    await page.goto(link.url);
    await page
      .getByRole('navigation', { name: 'Protocol' })
      .getByRole('link', { name: 'OpenID Connect' })
      .click();
    await page
      .getByRole('navigation', { name: 'Identity providers' })
      .getByRole('link', { name: 'Okta' })
      .click();
    await page.getByRole('heading', { name: 'Set up single sign-on (OpenID Connect)' }).waitFor();
    await page.getByLabel('Issuer or discovery URL').fill(oidc.issuer);
    await page.getByLabel('Client ID').fill(oidc.clientId);
    await page.getByLabel('Client secret').fill(oidc.clientSecret);
    await clickSubmit(page, page.getByRole('button', { name: 'Save', exact: true }));
    await expectAccepted(page, 'OIDC settings');
    await page.getByRole('status').filter({ hasText: 'details are saved' }).waitFor();
    await page.getByText('saved (never shown)').waitFor();
    expect(await page.content()).not.toContain(oidc.clientSecret);
    expect(await connection(connectionId)).toMatchObject({
      protocol: 'oidc',
      preset: 'okta',
      oidc: { clientId: oidc.clientId, clientSecretSet: true },
    });

    const tab = await runTestSignIn(page, async (idpTab) => {
      // oidc-provider's development login form, then its consent page when it asks.
      await idpTab.locator('input[name="login"]').fill('grace');
      await idpTab.locator('input[name="password"]').fill('any');
      await idpTab.locator('button[type="submit"]').click();
      const answered = idpTab.locator('h1', { hasText: /Test sign-in:|Sign-in failed|Form expired/ });
      const consent = idpTab.getByRole('button', { name: 'Continue' });
      await answered.or(consent).first().waitFor();
      if (await consent.isVisible()) await consent.click();
    });
    expect(await headingOf(tab)).toBe('Test sign-in: it works');
    await tab.getByText(`grace@${org.domain}`).first().waitFor();
    await tab.close();
  });

  it('SCIM: creates the endpoint, shows its token once, and rotates it', async () => {
    const link = await createLink(t, org.id, { intent: 'scim', label: 'Okta admin' });
    await page.goto(link.url);
    await page.getByLabel('Okta').check();
    await clickSubmit(page, page.getByRole('button', { name: 'Create the SCIM endpoint' }));
    await expectAccepted(page, 'SCIM directory');
    const token = ((await page.locator('#scim-token').textContent()) ?? '').trim();
    expect(token).toBeTruthy();
    const created = await t.api('GET', `/api/v1/organizations/${org.id}/setup-links/${link.link.id}`);
    const directoryId = created.body.directoryId as string;
    expect(directoryId).toMatch(/^dir_/);
    expect((await t.api('GET', `/scim/v2/${directoryId}/Users`, { key: token })).status).toBe(200);

    await page.getByLabel('1 hour').check();
    await clickSubmit(page, page.getByRole('button', { name: 'Rotate the token' }));
    await expectAccepted(page, 'SCIM rotation');
    await page.getByRole('status').filter({ hasText: 'within the hour' }).waitFor();
    const next = ((await page.locator('#scim-token').textContent()) ?? '').trim();
    expect(next).toBeTruthy();
    expect(next).not.toBe(token);
    expect((await t.api('GET', `/scim/v2/${directoryId}/Users`, { key: next })).status).toBe(200);
    // The previous token keeps working for the hour chosen.
    expect((await t.api('GET', `/scim/v2/${directoryId}/Users`, { key: token })).status).toBe(200);
  });

  it('domain: adds a domain, then checks it once its TXT record is published', async () => {
    const link = await createLink(t, org.id, { intent: 'domain' });
    const domain = `portal-e2e-${process.pid}.example.test`;
    await page.goto(link.url);
    await page.getByLabel('Domain', { exact: true }).fill(domain);
    await clickSubmit(page, page.getByRole('button', { name: 'Add the domain' }));
    await expectAccepted(page, 'domain add');
    await page.getByRole('status').filter({ hasText: 'The domain is added' }).waitFor();
    const item = page.getByRole('listitem').filter({ has: page.getByRole('heading', { name: domain }) });
    const name = ((await item.locator('code.value[id^="txt-name-"]').textContent()) ?? '').trim();
    const value = ((await item.locator('code.value[id^="txt-value-"]').textContent()) ?? '').trim();
    expect(name).toBe(`_switchboard-verification.${domain}`);
    expect(value).toMatch(/^switchboard-verification=/);

    // Before the record exists: a clear message, still unverified.
    await clickSubmit(page, item.getByRole('button', { name: `Check ${domain} now` }));
    await expectAccepted(page, 'domain check');
    await page.getByRole('alert').filter({ hasText: 'Publish a TXT record' }).waitFor();
    dns.txt.set(name, [value]);
    await clickSubmit(
      page,
      page
        .getByRole('listitem')
        .filter({ has: page.getByRole('heading', { name: domain }) })
        .getByRole('button', { name: `Check ${domain} now` }),
    );
    await expectAccepted(page, 'domain check');
    await page.getByRole('status').filter({ hasText: 'The domain is verified' }).waitFor();
    const view = await t.api('GET', `/api/v1/organizations/${org.id}`);
    expect(view.body.domains.find((entry: { domain: string }) => entry.domain === domain)).toMatchObject({
      verified: true,
    });
  });

  it('posted every form with our Origin and Sec-Fetch-Site: same-origin, and the link token never left in a Referer', async () => {
    const hubOrigin = new URL(t.url).origin;
    const response = await page.goto(sso.url);
    expect(response?.headers()['referrer-policy']).toBe('same-origin');
    const posts = requests.filter((request) => request.method === 'POST' && request.url.includes('/setup/'));
    // Metadata ×3, OIDC, two SAML and one OIDC test sign-in, SCIM ×2, domain ×3.
    expect(posts.length).toBeGreaterThanOrEqual(12);
    for (const request of posts) {
      const headers = await request.headers;
      expect(headers.origin, request.url).toBe(hubOrigin);
      expect(headers['sec-fetch-site'], request.url).toBe('same-origin');
    }
    // The IdPs' pages (SAML SSO, OIDC authorization and login) were reached from the portal's tabs.
    const elsewhere = requests.filter((request) => new URL(request.url).origin !== hubOrigin);
    expect(elsewhere.length).toBeGreaterThanOrEqual(3);
    for (const request of elsewhere) {
      expect((await request.headers).referer ?? '', request.url).not.toContain('/setup/');
    }
  });
});
