/**
 * What a setup link must never do: reach another organization, another intent, or be driven by a
 * forged form. Each case tampers with what a browser sends (paths, hidden fields, extra fields,
 * cookies, Origin) and checks both the answer and that nothing changed.
 */
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { closeHub, createHub } from '../../src/hub.ts';
import { createLogger, redactUrl } from '../../src/platform/logging.ts';
import { createOrganization, startHub } from '../sso/helpers.ts';
import { Browser, textById } from '../support/browser.ts';
import { freshDatabase, type TestHub } from '../support/hub.ts';
import { type SamlIdp, startSamlIdp } from '../support/idps.ts';
import { type CreatedLink, createLink, csrfOf } from './helpers.ts';

let t: TestHub;
let orgA: { id: string; domain: string };
let orgB: { id: string; slug: string; domain: string };
let idp: SamlIdp;
let ssoA: CreatedLink;
let scimA: CreatedLink;
let domainA: CreatedLink;
let connectionB: string;
let directoryB: { id: string; token: string };

async function count(table: 'directories' | 'sso_connections' | 'organization_domains', orgId: string) {
  const result = (await t.hub.database.db.execute(
    sql`select count(*)::int as n from ${sql.raw(table)} where organization_id = ${orgId}`,
  )) as unknown as { rows: Array<{ n: number }> };
  return Number(result.rows[0]?.n);
}

/** A browser that has opened the link (so it holds the CSRF cookie), and the page's CSRF tag. */
async function openLink(link: CreatedLink): Promise<{ browser: Browser; csrf: string }> {
  const browser = new Browser();
  const page = await browser.get(link.url);
  expect(page.status).toBe(200);
  return { browser, csrf: csrfOf(page) };
}

beforeAll(async () => {
  t = await startHub();
  orgA = await createOrganization(t);
  orgB = await createOrganization(t);
  idp = await startSamlIdp();
  ssoA = await createLink(t, orgA.id, { intent: 'sso' });
  scimA = await createLink(t, orgA.id, { intent: 'scim' });
  domainA = await createLink(t, orgA.id, { intent: 'domain' });
  const connection = await t.api('POST', `/api/v1/organizations/${orgB.id}/connections`, {
    body: { name: 'B SAML', protocol: 'saml', saml: { metadataXml: idp.metadataXml } },
  });
  expect(connection.status, connection.text).toBe(201);
  connectionB = connection.body.id;
  const directory = await t.api('POST', `/api/v1/organizations/${orgB.id}/directories`, {
    body: { name: 'B SCIM', provider: 'generic' },
  });
  directoryB = { id: directory.body.directory.id, token: directory.body.token };
});

afterAll(async () => {
  await idp?.close();
  await t?.close();
});

describe('setup links cannot reach another intent', () => {
  it('refuses every action of another intent, changing nothing', async () => {
    const sso = await openLink(ssoA);
    const domain = await openLink(domainA);
    const scim = await openLink(scimA);
    const directoriesBefore = await count('directories', orgA.id);
    const domainsBefore = await count('organization_domains', orgA.id);
    const connectionsBefore = await count('sso_connections', orgA.id);
    const attempts: Array<[Browser, string, Record<string, string>]> = [
      [sso.browser, `${ssoA.url}/scim/directory`, { csrf: sso.csrf, provider: 'generic' }],
      [sso.browser, `${ssoA.url}/domain/add`, { csrf: sso.csrf, domain: 'evil.example.test' }],
      [domain.browser, `${domainA.url}/sso/metadata`, { csrf: domain.csrf, metadataXml: idp.metadataXml }],
      [domain.browser, `${domainA.url}/scim/rotate`, { csrf: domain.csrf, overlap: '0' }],
      [scim.browser, `${scimA.url}/sso/test`, { csrf: scim.csrf }],
      [scim.browser, `${scimA.url}/domain/verify`, { csrf: scim.csrf, domain: orgA.domain }],
    ];
    for (const [browser, url, fields] of attempts) {
      const page = await browser.post(url, fields);
      expect(page.status, url).toBe(403);
      expect(page.html).toContain('Not part of this setup');
    }
    const trace = await scim.browser.get(`${scimA.url}/sso/traces/trc_x`);
    expect(trace.status).toBe(403);
    expect(await count('directories', orgA.id)).toBe(directoriesBefore);
    expect(await count('organization_domains', orgA.id)).toBe(domainsBefore);
    expect(await count('sso_connections', orgA.id)).toBe(connectionsBefore);
  });
});

describe('setup links cannot reach another organization', () => {
  it('ignores ids smuggled into the SSO form: only the link’s own connection changes', async () => {
    const { browser, csrf } = await openLink(ssoA);
    const before = await t.api('GET', `/api/v1/organizations/${orgB.id}/connections/${connectionB}`);
    const other = await startSamlIdp();
    try {
      const page = await browser.post(`${ssoA.url}/sso/metadata`, {
        csrf,
        idp: 'okta',
        metadataXml: other.metadataXml,
        connectionId: connectionB,
        connection: connectionB,
        organization: orgB.id,
        organizationId: orgB.id,
      });
      expect(page.status).toBe(200);
    } finally {
      await other.close();
    }
    const after = await t.api('GET', `/api/v1/organizations/${orgB.id}/connections/${connectionB}`);
    expect(after.body).toEqual(before.body);
    const own = await t.api('GET', `/api/v1/organizations/${orgA.id}/connections/${ssoA.link.connectionId}`);
    expect(own.status).toBe(200);
    expect(own.body.organizationId).toBe(orgA.id);
  });

  it('does not show a trace of another organization or another connection', async () => {
    // A failed login on B's connection leaves a trace in B.
    const failed = await new Browser().post(`${t.url}/sso/saml/${connectionB}/acs`, {
      SAMLResponse: 'bm9wZQ==',
    });
    expect(failed.status).toBeGreaterThanOrEqual(400);
    const traces = await t.api('GET', `/api/v1/organizations/${orgB.id}/login-traces`);
    const traceB = traces.body.data[0]?.id as string;
    expect(traceB).toMatch(/^trc_/);
    const { browser } = await openLink(ssoA);
    const page = await browser.get(`${ssoA.url}/sso/traces/${traceB}`);
    expect(page.status).toBe(404);
    expect(page.html).not.toContain(traceB.slice(4));
    // A trace in A but of another connection (a test IdP of A) is not this link's either.
    const testIdp = await t.api('POST', `/api/v1/organizations/${orgA.id}/connections`, {
      body: { name: 'A test IdP', protocol: 'saml', testIdp: true },
    });
    const login = new Browser();
    const form = await login.get(`${t.url}/login?connection=${testIdp.body.id}`);
    await login.submit(form, { email: `x@${orgA.domain}` });
    const traceA = (
      await t.api('GET', `/api/v1/organizations/${orgA.id}/login-traces?connection=${testIdp.body.id}`)
    ).body.data[0]?.id as string;
    expect((await browser.get(`${ssoA.url}/sso/traces/${traceA}`)).status).toBe(404);
    // Nor does the list of test sign-ins show it.
    expect((await browser.get(ssoA.url)).html).not.toContain(traceA);
  });

  it('rotates only the link’s own directory, whatever id the form carries', async () => {
    const { browser, csrf } = await openLink(scimA);
    const refused = await browser.post(`${scimA.url}/scim/rotate`, {
      csrf,
      overlap: '0',
      directoryId: directoryB.id,
    });
    expect(refused.status).toBe(409);
    expect((await t.api('GET', `/scim/v2/${directoryB.id}/Users`, { key: directoryB.token })).status).toBe(
      200,
    );
    const created = await browser.post(`${scimA.url}/scim/directory`, {
      csrf,
      provider: 'generic',
      directoryId: directoryB.id,
      organization: orgB.id,
    });
    expect(created.status).toBe(200);
    const rotated = await browser.post(`${scimA.url}/scim/rotate`, {
      csrf,
      overlap: '0',
      directoryId: directoryB.id,
    });
    expect(rotated.status).toBe(200);
    // B's token still works: its directory was not touched.
    expect((await t.api('GET', `/scim/v2/${directoryB.id}/Users`, { key: directoryB.token })).status).toBe(
      200,
    );
    const link = await t.api('GET', `/api/v1/organizations/${orgA.id}/setup-links/${scimA.link.id}`);
    const own = await t.api('GET', `/api/v1/organizations/${orgA.id}/directories/${link.body.directoryId}`);
    expect(own.status).toBe(200);
    expect(own.body.organizationId).toBe(orgA.id);
  });

  it('cannot verify or see another organization’s domain', async () => {
    const { browser, csrf } = await openLink(domainA);
    await t.api('POST', `/api/v1/organizations/${orgB.id}/domains`, {
      body: { domain: 'b-only.example.test' },
    });
    const page = await browser.post(`${domainA.url}/domain/verify`, { csrf, domain: 'b-only.example.test' });
    expect(page.status).toBe(404);
    expect(page.html).toContain('is not a domain of this organization');
    const view = await browser.get(domainA.url);
    expect(view.html).not.toContain('b-only.example.test');
    expect(view.html).not.toContain(orgB.domain);
    // B's verified domain can be neither added to A (taken, without naming B) nor verified there.
    const added = await browser.post(`${domainA.url}/domain/add`, { csrf, domain: orgB.domain });
    expect(added.status).toBe(409);
    expect(added.html).toContain('is already taken');
    expect(added.html).not.toContain(orgB.slug);
    const stolen = await browser.post(`${domainA.url}/domain/verify`, { csrf, domain: orgB.domain });
    expect(stolen.status).toBeGreaterThanOrEqual(400);
    const orgBView = await t.api('GET', `/api/v1/organizations/${orgB.id}`);
    expect(orgBView.body.domains.find((d: { domain: string }) => d.domain === orgB.domain).verified).toBe(
      true,
    );
  });
});

describe('setup forms are CSRF-protected', () => {
  it('refuses a POST without the cookie, without or with a wrong tag, from another origin, or that a browser says is not same-origin', async () => {
    const { browser, csrf } = await openLink(domainA);
    const other = await openLink(ssoA);
    const cases: Array<{
      fields: Record<string, string>;
      headers?: Record<string, string>;
      cookie?: boolean;
    }> = [
      { fields: { domain: 'csrf1.example.test' } },
      { fields: { domain: 'csrf2.example.test', csrf: 'forged' } },
      // A tag made for another link (same browser cookie would be needed too).
      { fields: { domain: 'csrf3.example.test', csrf: other.csrf } },
      { fields: { domain: 'csrf4.example.test', csrf }, cookie: false },
      { fields: { domain: 'csrf5.example.test', csrf }, headers: { origin: 'https://evil.example.test' } },
      // Origin: null (a no-referrer or sandboxed page) with nothing from the browser vouching for it.
      { fields: { domain: 'csrf6.example.test', csrf }, headers: { origin: 'null' } },
      // Fetch Metadata: whatever the Origin, a browser saying the page is not ours is refused.
      { fields: { domain: 'csrf7.example.test', csrf }, headers: { 'sec-fetch-site': 'cross-site' } },
      {
        fields: { domain: 'csrf8.example.test', csrf },
        headers: { 'sec-fetch-site': 'same-site', origin: 'null' },
      },
      {
        fields: { domain: 'csrf9.example.test', csrf },
        headers: { 'sec-fetch-site': 'same-site', origin: t.url },
      },
      { fields: { domain: 'csrf10.example.test', csrf }, headers: { 'sec-fetch-site': 'none' } },
      // Same-origin by Fetch Metadata does not replace the token.
      {
        fields: { domain: 'csrf11.example.test', csrf: 'forged' },
        headers: { 'sec-fetch-site': 'same-origin', origin: t.url },
      },
    ];
    for (const [index, testCase] of cases.entries()) {
      const headers: Record<string, string> = {
        'content-type': 'application/x-www-form-urlencoded',
        ...testCase.headers,
      };
      if (testCase.cookie !== false) headers.cookie = `sb_setup_csrf=${browser.cookie('sb_setup_csrf')}`;
      const response = await fetch(`${domainA.url}/domain/add`, {
        method: 'POST',
        headers,
        body: new URLSearchParams(testCase.fields).toString(),
        redirect: 'manual',
      });
      expect(response.status, `case ${index}`).toBe(403);
      expect(await response.text()).toContain('Form expired');
    }
    const domains = JSON.stringify((await t.api('GET', `/api/v1/organizations/${orgA.id}`)).body.domains);
    expect(domains).not.toMatch(/csrf\d+\.example\.test/);
    // With the cookie and the tag: our Origin works, and so does Origin: null from a browser that
    // says same-origin (a page of ours under no-referrer, as Chromium posts it).
    const accepted: Array<Record<string, string>> = [
      { origin: t.url },
      { origin: t.url, 'sec-fetch-site': 'same-origin' },
      { origin: 'null', 'sec-fetch-site': 'same-origin' },
    ];
    for (const [index, headers] of accepted.entries()) {
      const ok = await fetch(`${domainA.url}/domain/add`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          cookie: `sb_setup_csrf=${browser.cookie('sb_setup_csrf')}`,
          ...headers,
        },
        body: new URLSearchParams({ domain: `csrf-ok${index}.example.test`, csrf }).toString(),
        redirect: 'manual',
      });
      expect(ok.status, JSON.stringify(headers)).toBe(303);
    }
  });

  it('sets the CSRF cookie HttpOnly and SameSite=Strict, scoped to /setup/', async () => {
    const response = await fetch(domainA.url);
    const cookie = response.headers.getSetCookie().find((line) => line.startsWith('sb_setup_csrf='));
    expect(cookie).toMatch(/; Path=\/setup\/; HttpOnly; SameSite=Strict/);
  });
});

describe('setup link tokens stay out of logs', () => {
  it('logs no link token and no SCIM token while a link is used, at debug level', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const database = await freshDatabase();
    const config = loadConfig({ SECRET_KEY: randomBytes(32).toString('base64'), ...database.env });
    const hub = await createHub(config, {
      logger: createLogger('debug', sink),
      ...(database.pglite ? { pglite: database.pglite } : {}),
    });
    const app = await buildApp(hub);
    await app.ready();
    try {
      const actor = { type: 'system' as const, name: 'log-test' };
      const org = await hub.orgs.create({ name: 'Log Corp' } as never, actor);
      const { url } = await hub.portal.links.create(org.id, { intent: 'scim' }, actor);
      const path = new URL(url).pathname;
      const token = path.split('/').at(-1) as string;
      const opened = await app.inject({ method: 'GET', url: path });
      expect(opened.statusCode).toBe(200);
      const cookie = String(opened.headers['set-cookie']).split(';')[0] as string;
      const csrf = /name="csrf" value="([^"]+)"/.exec(opened.body)?.[1] as string;
      const created = await app.inject({
        method: 'POST',
        url: `${path}/scim/directory`,
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ csrf, provider: 'entra' }).toString(),
      });
      expect(created.statusCode).toBe(200);
      const scimToken = textById(created.body, 'scim-token') as string;
      expect(scimToken).toBeTruthy();
      await app.inject({ method: 'POST', url: `${path}/sso/test`, headers: { cookie }, payload: '' });
      await app.inject({ method: 'GET', url: `${path}x` });
      const log = lines.join('');
      expect(log).toContain('/setup/[redacted]');
      expect(log).not.toContain(token);
      expect(log).not.toContain(token.slice(6, 30));
      expect(log).not.toContain(scimToken);
    } finally {
      await app.close();
      await closeHub(hub, 1000);
      await database.drop();
    }
  });

  it('redacts the token segment of setup paths', () => {
    expect(redactUrl(`/setup/setup_${'a'.repeat(43)}`)).toBe('/setup/[redacted]');
    expect(redactUrl(`/setup/setup_${'a'.repeat(43)}/sso/traces/trc_1?idp=okta`)).toBe(
      '/setup/[redacted]/sso/traces/trc_1?idp=okta',
    );
  });
});
