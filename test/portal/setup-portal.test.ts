/**
 * The setup portal as a client's IT admin uses it, over real HTTP with the test browser: a link for
 * SSO (metadata from the IdP, a test sign-in through samlify ending on its trace), for SCIM (the
 * endpoint and a token shown once, then rotated), and for a domain (DNS TXT record, verified
 * against a fake DNS server); expiry and revocation; and the audit trail of it all.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTxtResolver } from '../../src/modules/orgs/index.ts';
import { type FakeDns, startFakeDns } from '../fakes/dns.ts';
import { createOrganization, startHub, traceOf } from '../sso/helpers.ts';
import { Browser, textById } from '../support/browser.ts';
import type { TestHub } from '../support/hub.ts';
import { type OidcIdp, type SamlIdp, startOidcIdp, startSamlIdp } from '../support/idps.ts';
import { continueTestLogin, createLink, csrfOf, messagesOf } from './helpers.ts';

let t: TestHub;
let dns: FakeDns;
let org: { id: string; slug: string; domain: string };
const idps: SamlIdp[] = [];
const oidcIdps: OidcIdp[] = [];
const servers: Server[] = [];

async function audit(query: string) {
  const response = await t.api('GET', `/api/v1/audit?${query}&limit=200`);
  expect(response.status, response.text).toBe(200);
  return response.body.data as Array<{
    type: string;
    actor: { type: string; id?: string; name?: string; ip?: string; requestId?: string };
    resource: { type: string; id: string };
    data: Record<string, unknown>;
  }>;
}

beforeAll(async () => {
  dns = await startFakeDns();
  t = await startHub({ txtResolver: createTxtResolver([dns.server]) });
  org = await createOrganization(t);
});

afterAll(async () => {
  await Promise.all([...idps, ...oidcIdps].map((idp) => idp.close()));
  for (const server of servers) server.close();
  await t?.close();
  await dns?.close();
});

describe('setup link: admin API', () => {
  it('creates a link shown once, lists and gets it without the token, with a default expiry of 7 days', async () => {
    const created = await createLink(t, org.slug, { intent: 'sso', label: 'Jane Roe, Acme IT' });
    expect(created.url).toMatch(new RegExp(`^${t.url}/setup/setup_[A-Za-z0-9_-]{43}$`));
    expect(created.link).toMatchObject({ intent: 'sso', status: 'active', label: 'Jane Roe, Acme IT' });
    expect(created.link.connectionId).toMatch(/^conn_/);
    const days = (Date.parse(created.link.expiresAt) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(6.99);
    expect(days).toBeLessThanOrEqual(7);
    const list = await t.api('GET', `/api/v1/organizations/${org.id}/setup-links`, { key: t.readKey });
    expect(list.status).toBe(200);
    expect(list.body.data.map((link: { id: string }) => link.id)).toContain(created.link.id);
    expect(list.text).not.toContain(created.token);
    const one = await t.api('GET', `/api/v1/organizations/${org.id}/setup-links/${created.link.id}`);
    expect(one.body.tokenPrefix).toBe(created.token.slice(0, 12));
    expect(one.text).not.toContain(created.token);
    const stored = await t.hub.database.db.execute(
      sql`select * from setup_links where id = ${created.link.id}`,
    );
    expect(JSON.stringify(stored)).not.toContain(created.token);
  });

  it('takes an expiry in days and refuses bad input naming the field', async () => {
    const created = await createLink(t, org.id, { intent: 'domain', expiresInDays: 2 });
    expect((Date.parse(created.link.expiresAt) - Date.now()) / 86_400_000).toBeLessThanOrEqual(2);
    for (const [body, field] of [
      [{ intent: 'saml' }, 'intent'],
      [{ intent: 'sso', expiresInDays: 0 }, 'expiresInDays'],
      [{ intent: 'scim', connectionId: 'conn_x' }, 'connectionId'],
      [{ intent: 'sso', directoryId: 'dir_x' }, 'directoryId'],
    ] as const) {
      const response = await t.api('POST', `/api/v1/organizations/${org.id}/setup-links`, { body });
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.body.field).toBe(field);
    }
    const unknownConnection = await t.api('POST', `/api/v1/organizations/${org.id}/setup-links`, {
      body: { intent: 'sso', connectionId: 'conn_nope' },
    });
    expect(unknownConnection.status).toBe(404);
    const readOnly = await t.api('POST', `/api/v1/organizations/${org.id}/setup-links`, {
      body: { intent: 'sso' },
      key: t.readKey,
    });
    expect(readOnly.status).toBe(403);
  });
});

describe('setup link: SSO', () => {
  it('guides the IdP admin, takes the metadata, and a test sign-in succeeds with its trace', async () => {
    const created = await createLink(t, org.id, { intent: 'sso', label: 'Jane Roe, Acme IT' });
    const connectionId = created.link.connectionId as string;
    const browser = new Browser();
    const page = await browser.get(created.url);
    expect(page.status).toBe(200);
    // Security headers.
    expect(page.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
    expect(page.headers.get('content-security-policy')).toMatch(/frame-ancestors 'none'/);
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    // Our forms post with our Origin; a Referer (with the link token) only ever goes to our origin.
    expect(page.headers.get('referrer-policy')).toBe('same-origin');
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(browser.cookie('sb_setup_csrf')).toBeTruthy();
    // The Entra guide by default, with our values in the right fields.
    expect(page.html).toContain('Basic SAML Configuration');
    expect(page.html).toContain('Identifier (Entity ID)');
    expect(page.html).toContain(`${t.url}/sso/saml/${connectionId}/acs`);
    expect(page.html).toContain(`${t.url}/sso/saml/${connectionId}`);
    expect(page.html).toMatch(/<html lang="en">/);
    expect(page.html).toContain('name="viewport"');
    for (const idp of ['entra', 'okta', 'ping', 'google', 'adfs', 'generic']) {
      expect(page.html).toContain(`?idp=${idp}`);
    }
    const okta = await browser.get(`${created.url}?idp=okta`);
    expect(okta.html).toContain('Audience URI (SP Entity ID)');
    expect(okta.html).toContain('Single sign-on URL');
    expect(okta.html).toContain('aria-current="page"');

    // The IdP admin uploads the IdP's metadata (the form's textarea).
    const idp = await startSamlIdp();
    idps.push(idp);
    const saved = await browser.submit(okta, { metadataXml: idp.metadataXml }, '/sso/metadata');
    expect(saved.status, saved.html.slice(0, 2000)).toBe(200);
    expect(messagesOf(saved)).toContain('metadata is saved');
    expect(saved.html).toContain(idp.entityId);
    const connection = await t.api('GET', `/api/v1/organizations/${org.id}/connections/${connectionId}`);
    expect(connection.status).toBe(200);
    expect(connection.body).toMatchObject({ protocol: 'saml', preset: 'okta', active: true });
    idp.trustServiceProvider(await (await fetch(`${t.url}/sso/saml/${connectionId}/metadata`)).text());

    // Test sign-in: a new tab; it ends on the trace of that sign-in.
    idp.user = {
      nameId: `ada@${org.domain}`,
      attributes: { email: `ada@${org.domain}`, firstName: 'Ada', lastName: 'Lovelace' },
    };
    const tab = new Browser();
    tab.cookies.push(...browser.cookies);
    const start = await tab.submit(saved, {}, '/sso/test');
    expect(start.status).toBe(200);
    const result = await continueTestLogin(tab, start);
    expect(result.status, result.html.slice(0, 2000)).toBe(200);
    expect(result.history.some((url) => url.startsWith(idp.ssoUrl))).toBe(true);
    expect(result.html).toContain('it works');
    expect(result.html).toContain(`ada@${org.domain}`);
    const traceId = textById(result.html, 'trace-id') as string;
    const trace = await traceOf(t, org.id, traceId);
    expect(trace.status).toBe('succeeded');

    // Back on the setup page: the test sign-in and its steps.
    const again = await browser.get(created.url);
    expect(again.html).toContain(traceId);
    const steps = await browser.get(`${created.url}/sso/traces/${traceId}`);
    expect(steps.status).toBe(200);
    expect(steps.html).toContain('signature_check');
    expect(steps.html).toContain('Succeeded');

    // The audit trail: every change by the setup link, with where it came from.
    const entries = await audit(`organization=${org.id}&actorType=setup_link&actor=${created.link.id}`);
    const types = entries.map((entry) => entry.type);
    expect(types).toEqual(
      expect.arrayContaining(['setup_link.opened', 'connection.created', 'setup_link.test_login_started']),
    );
    for (const entry of entries) {
      expect(entry.actor).toMatchObject({
        type: 'setup_link',
        id: created.link.id,
        name: 'Jane Roe, Acme IT',
      });
      expect(entry.actor.ip).toBe('127.0.0.1');
      expect(entry.actor.requestId).toBeTruthy();
    }
    // Page loads within one visit are one `opened` event.
    expect(types.filter((type) => type === 'setup_link.opened')).toHaveLength(1);
  });

  it('sets up an OpenID Connect connection; the client secret is never shown back; a test sign-in succeeds', async () => {
    const created = await createLink(t, org.id, { intent: 'sso', label: 'OIDC admin' });
    const connectionId = created.link.connectionId as string;
    const redirectUri = `${t.url}/sso/oidc/${connectionId}/callback`;
    const browser = new Browser();
    const page = await browser.get(`${created.url}?idp=okta&protocol=oidc`);
    expect(page.html).toContain('Set up single sign-on (OpenID Connect)');
    expect(page.html).toContain('Sign-in redirect URIs');
    expect(page.html).toContain(redirectUri);
    const entra = await browser.get(`${created.url}?idp=entra&protocol=oidc`);
    expect(entra.html).toContain('App registrations');
    expect(entra.html).toContain('name="tenantId"');
    const idp = await startOidcIdp({ redirectUris: [redirectUri] });
    oidcIdps.push(idp);
    idp.accounts.set('grace', {
      email: `grace@${org.domain}`,
      email_verified: true,
      given_name: 'Grace',
      family_name: 'Hopper',
    });
    // A wrong discovery URL first: a clear message, the typed values kept, the secret not.
    const wrong = await browser.submit(
      page,
      { discoveryUrl: `${idp.issuer}/nope`, clientId: idp.clientId, clientSecret: idp.clientSecret },
      '/sso/oidc',
    );
    expect(wrong.status).toBeGreaterThanOrEqual(400);
    expect(messagesOf(wrong)).toMatch(/discovery|issuer|reach/i);
    expect(wrong.html).toContain(idp.clientId);
    expect(wrong.html).not.toContain(idp.clientSecret);
    const saved = await browser.submit(
      page,
      { discoveryUrl: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret },
      '/sso/oidc',
    );
    expect(saved.status, messagesOf(saved)).toBe(200);
    expect(messagesOf(saved)).toContain('details are saved');
    expect(saved.html).not.toContain(idp.clientSecret);
    expect(saved.html).toContain('saved (never shown)');
    const connection = await t.api('GET', `/api/v1/organizations/${org.id}/connections/${connectionId}`);
    expect(connection.body).toMatchObject({
      protocol: 'oidc',
      preset: 'okta',
      oidc: { clientId: idp.clientId, clientSecretSet: true },
    });

    const tab = new Browser();
    tab.cookies.push(...browser.cookies);
    const loginForm = await continueTestLogin(tab, await tab.submit(saved, {}, '/sso/test'));
    expect(loginForm.html, loginForm.html.slice(0, 400)).toContain('name="login"');
    const result = await tab.submit(loginForm, { login: 'grace', password: 'any' });
    expect(result.html, result.html.slice(0, 1500)).toContain('it works');
    expect(result.html).toContain(`grace@${org.domain}`);

    // Saving again without a secret keeps the saved one.
    const again = await browser.get(created.url);
    expect(again.html).toContain('Leave this empty to keep it');
    const kept = await browser.submit(
      again,
      { discoveryUrl: idp.issuer, clientId: idp.clientId },
      '/sso/oidc',
    );
    expect(messagesOf(kept)).toContain('details are saved');
    const after = await t.api('GET', `/api/v1/organizations/${org.id}/connections/${connectionId}`);
    expect(after.body.oidc.clientSecretSet).toBe(true);
    const entries = await audit(`organization=${org.id}&actor=${created.link.id}`);
    expect(entries.map((entry) => entry.type)).toEqual(
      expect.arrayContaining(['connection.created', 'connection.updated', 'setup_link.test_login_started']),
    );
    expect(JSON.stringify(entries)).not.toContain(idp.clientSecret);
  });

  it('shows a failed test sign-in on the setup page with the reason', async () => {
    const created = await createLink(t, org.id, { intent: 'sso' });
    const browser = new Browser();
    const page = await browser.get(`${created.url}?idp=generic`);
    const idp = await startSamlIdp();
    idps.push(idp);
    const saved = await browser.submit(page, { metadataXml: idp.metadataXml }, '/sso/metadata');
    idp.trustServiceProvider(
      await (await fetch(`${t.url}/sso/saml/${created.link.connectionId}/metadata`)).text(),
    );
    // The IdP sends an opaque NameID and no email attribute.
    idp.user = { nameId: 'opaque-4711', attributes: { firstName: 'No', lastName: 'Mail' } };
    const tab = new Browser();
    tab.cookies.push(...browser.cookies);
    const result = await continueTestLogin(tab, await tab.submit(saved, {}, '/sso/test'));
    expect(result.status).toBe(400);
    // The tab ends on the trace of that sign-in, not on the end-user error page.
    expect(result.html).toContain('Test sign-in: it failed');
    expect(result.html).toMatch(/found no usable email/);
    expect(result.html).not.toContain('Back to sign in');
    const traceId = textById(result.html, 'trace-id') as string;
    expect(traceId).toMatch(/^trc_/);
    const setup = await browser.get(created.url);
    expect(setup.html).toContain(traceId);
    expect(setup.html).toContain('Failed');
    expect(setup.html).toContain('mapping_no_email');
    const steps = await browser.get(`${created.url}/sso/traces/${traceId}`);
    expect(steps.html).toContain('it failed');
    expect(steps.html).toMatch(/found no usable email/);
  });

  it('takes a metadata file upload (multipart) and a metadata URL, updating the same connection', async () => {
    const created = await createLink(t, org.id, { intent: 'sso' });
    const browser = new Browser();
    const page = await browser.get(`${created.url}?idp=adfs`);
    const idp = await startSamlIdp();
    idps.push(idp);
    const form = new FormData();
    form.set('csrf', csrfOf(page));
    form.set('idp', 'adfs');
    form.set(
      'metadataFile',
      new Blob([idp.metadataXml], { type: 'application/xml' }),
      'FederationMetadata.xml',
    );
    const upload = await fetch(`${created.url}/sso/metadata`, {
      method: 'POST',
      body: form,
      headers: { cookie: `sb_setup_csrf=${browser.cookie('sb_setup_csrf')}`, origin: t.url },
      redirect: 'manual',
    });
    expect(upload.status, await upload.clone().text()).toBe(303);
    const connection = await t.api(
      'GET',
      `/api/v1/organizations/${org.id}/connections/${created.link.connectionId}`,
    );
    expect(connection.body).toMatchObject({ preset: 'adfs', saml: { idpEntityId: idp.entityId } });

    // A metadata URL replaces it (same connection: its id is in the IdP's configuration).
    const other = await startSamlIdp();
    idps.push(other);
    const server = createServer((_request, response) => {
      response.setHeader('content-type', 'application/samlmetadata+xml');
      response.end(other.metadataXml);
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const metadataUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metadata`;
    const reloaded = await browser.get(created.url);
    const saved = await browser.submit(reloaded, { metadataUrl }, '/sso/metadata');
    expect(messagesOf(saved)).toContain('metadata is saved');
    const updated = await t.api(
      'GET',
      `/api/v1/organizations/${org.id}/connections/${created.link.connectionId}`,
    );
    expect(updated.body.saml).toMatchObject({ idpEntityId: other.entityId, metadataUrl });
    const entries = await audit(`resource=${created.link.connectionId}&types=connection.updated`);
    expect(entries[0]?.actor).toMatchObject({ type: 'setup_link', id: created.link.id });
    expect(entries[0]?.data.changes).toMatchObject({
      'saml.idpEntityId': { from: idp.entityId, to: other.entityId },
    });
  });

  it('says what is wrong with bad metadata, keeping the form', async () => {
    const created = await createLink(t, org.id, { intent: 'sso' });
    const browser = new Browser();
    const page = await browser.get(created.url);
    const bad = await browser.submit(page, { metadataXml: '<not-metadata/>' }, '/sso/metadata');
    expect(bad.status).toBe(400);
    expect(messagesOf(bad)).toMatch(/metadata/i);
    expect(bad.html).toContain('&lt;not-metadata/&gt;');
    const empty = await browser.submit(page, {}, '/sso/metadata');
    expect(empty.status).toBe(400);
    expect(messagesOf(empty)).toContain('Upload the federation metadata XML');
    const plainHttp = await browser.submit(
      page,
      { metadataUrl: 'http://idp.example.test/metadata' },
      '/sso/metadata',
    );
    expect(plainHttp.status).toBe(400);
    const none = await t.api(
      'GET',
      `/api/v1/organizations/${org.id}/connections/${created.link.connectionId}`,
    );
    expect(none.status).toBe(404);
    // No test sign-in before there is a connection.
    expect(page.html).toMatch(/<button type="submit" disabled/);
  });
});

describe('setup link: SCIM', () => {
  it('creates the SCIM endpoint, shows the token once, and rotates it', async () => {
    const created = await createLink(t, org.id, { intent: 'scim', label: 'Okta admin' });
    const browser = new Browser();
    const page = await browser.get(created.url);
    expect(page.html).toContain('Create the SCIM endpoint');
    const done = await browser.submit(page, { provider: 'okta' }, '/scim/directory');
    expect(done.status).toBe(200);
    const token = textById(done.html, 'scim-token') as string;
    expect(token).toBeTruthy();
    expect(done.html).toContain('SCIM connector base URL');
    const link = await t.api('GET', `/api/v1/organizations/${org.id}/setup-links/${created.link.id}`);
    const directoryId = link.body.directoryId as string;
    expect(directoryId).toMatch(/^dir_/);
    expect(done.html).toContain(`${t.url}/scim/v2/${directoryId}`);
    // The token works against the SCIM API.
    const users = await t.api('GET', `/scim/v2/${directoryId}/Users`, { key: token });
    expect(users.status).toBe(200);
    // Shown once: a reload has the URL, not the token.
    const reload = await browser.get(created.url);
    expect(reload.html).toContain(`${t.url}/scim/v2/${directoryId}`);
    expect(reload.html).not.toContain(token);
    expect(reload.html).not.toContain('Create the SCIM endpoint');
    // A second directory is refused.
    const second = await browser.post(`${created.url}/scim/directory`, {
      csrf: csrfOf(reload),
      provider: 'entra',
    });
    expect(second.status).toBe(409);
    // Rotation: a new token, shown once; the old one keeps working during the overlap.
    const rotated = await browser.submit(reload, { overlap: '86400' }, '/scim/rotate');
    const next = textById(rotated.html, 'scim-token') as string;
    expect(next).toBeTruthy();
    expect(next).not.toBe(token);
    expect((await t.api('GET', `/scim/v2/${directoryId}/Users`, { key: next })).status).toBe(200);
    expect((await t.api('GET', `/scim/v2/${directoryId}/Users`, { key: token })).status).toBe(200);
    const entries = await audit(`organization=${org.id}&actor=${created.link.id}`);
    expect(entries.map((entry) => entry.type)).toEqual(
      expect.arrayContaining(['directory.created', 'directory.token_rotated']),
    );
    expect(JSON.stringify(entries)).not.toContain(token);
    expect(JSON.stringify(entries)).not.toContain(next);
  });
});

describe('setup link: domain', () => {
  it('adds a domain, shows its TXT record, and verifies it once published', async () => {
    const created = await createLink(t, org.id, { intent: 'domain' });
    const browser = new Browser();
    const page = await browser.get(created.url);
    expect(page.html).toContain(org.domain);
    const domain = `portal-${process.pid}.example.test`;
    const added = await browser.submit(page, { domain }, '/domain/add');
    expect(messagesOf(added)).toContain('The domain is added');
    const name = /id="txt-name-\d+" aria-labelledby="[^"]+">([^<]+)</.exec(
      added.html.slice(added.html.indexOf(domain)),
    )?.[1] as string;
    const value = /id="txt-value-\d+" aria-labelledby="[^"]+">([^<]+)</.exec(
      added.html.slice(added.html.indexOf(domain)),
    )?.[1] as string;
    expect(name).toBe(`_switchboard-verification.${domain}`);
    expect(value).toMatch(/^switchboard-verification=/);
    // Not published yet: a clear message, still unverified.
    const early = await browser.submit(added, { domain }, '/domain/verify');
    expect(early.status).toBe(422);
    expect(messagesOf(early)).toContain('Publish a TXT record');
    dns.txt.set(name, [value]);
    const verified = await browser.submit(early, { domain }, '/domain/verify');
    expect(messagesOf(verified)).toContain('The domain is verified');
    const orgView = await t.api('GET', `/api/v1/organizations/${org.id}`);
    expect(orgView.body.domains.find((entry: { domain: string }) => entry.domain === domain)).toMatchObject({
      verified: true,
      verificationMethod: 'dns',
    });
    const entries = await audit(`organization=${org.id}&actor=${created.link.id}`);
    expect(entries.map((entry) => entry.type)).toEqual(
      expect.arrayContaining(['organization.domain_added', 'organization.domain_verified']),
    );
  });

  it('says a domain another organization verified is taken, without naming that organization', async () => {
    const owner = await createOrganization(t, { domain: `taken-${process.pid}.example.test` });
    const created = await createLink(t, org.id, { intent: 'domain' });
    const browser = new Browser();
    const page = await browser.get(created.url);
    const refused = await browser.submit(page, { domain: owner.domain }, '/domain/add');
    expect(refused.status).toBe(409);
    expect(messagesOf(refused)).toContain(`${owner.domain} is already taken`);
    expect(refused.html).not.toContain(owner.slug);
    expect(refused.html).not.toContain(owner.id);
    const orgView = await t.api('GET', `/api/v1/organizations/${org.id}`);
    expect(JSON.stringify(orgView.body.domains)).not.toContain(owner.domain);
  });
});

describe('setup link: expiry and revocation', () => {
  it('shows a clear page once the link has expired', async () => {
    const created = await createLink(t, org.id, { intent: 'domain' });
    const browser = new Browser();
    const page = await browser.get(created.url);
    expect(page.status).toBe(200);
    await t.hub.database.db.execute(
      sql`update setup_links set expires_at = now() - interval '1 minute' where id = ${created.link.id}`,
    );
    const expired = await browser.get(created.url);
    expect(expired.status).toBe(410);
    expect(expired.html).toContain('Setup link expired');
    expect(expired.html).toContain('Ask your contact for a new one');
    // A form from before the expiry does nothing.
    const late = await browser.submit(page, { domain: 'late.example.test' }, '/domain/add');
    expect(late.status).toBe(410);
    const orgView = await t.api('GET', `/api/v1/organizations/${org.id}`);
    expect(JSON.stringify(orgView.body.domains)).not.toContain('late.example.test');
    const listed = await t.api('GET', `/api/v1/organizations/${org.id}/setup-links/${created.link.id}`);
    expect(listed.body.status).toBe('expired');
  });

  it('stops working at once when revoked, and the revocation is audited', async () => {
    const created = await createLink(t, org.id, { intent: 'scim' });
    const browser = new Browser();
    const page = await browser.get(created.url);
    const revoked = await t.api(
      'POST',
      `/api/v1/organizations/${org.id}/setup-links/${created.link.id}/revoke`,
    );
    expect(revoked.status).toBe(200);
    expect(revoked.body.status).toBe('revoked');
    const again = await t.api(
      'POST',
      `/api/v1/organizations/${org.id}/setup-links/${created.link.id}/revoke`,
    );
    expect(again.body.revokedAt).toBe(revoked.body.revokedAt);
    const closed = await browser.get(created.url);
    expect(closed.status).toBe(410);
    expect(closed.html).toContain('withdrawn');
    const late = await browser.submit(page, { provider: 'entra' }, '/scim/directory');
    expect(late.status).toBe(410);
    const link = await t.api('GET', `/api/v1/organizations/${org.id}/setup-links/${created.link.id}`);
    expect(link.body.directoryId).toBeNull();
    const active = await t.api('GET', `/api/v1/organizations/${org.id}/setup-links`);
    expect(active.body.data.map((item: { id: string }) => item.id)).not.toContain(created.link.id);
    const all = await t.api('GET', `/api/v1/organizations/${org.id}/setup-links?includeInactive=true`);
    expect(all.body.data.map((item: { id: string }) => item.id)).toContain(created.link.id);
    const entries = await audit(`resource=${created.link.id}&types=setup_link.revoked`);
    expect(entries).toHaveLength(1);
    expect(entries[0]?.actor.type).toBe('api_key');
  });

  it('answers an unknown token with a clear page', async () => {
    const page = await new Browser().get(`${t.url}/setup/setup_${'x'.repeat(43)}`);
    expect(page.status).toBe(404);
    expect(page.html).toContain('Setup link not valid');
    const malformed = await new Browser().get(`${t.url}/setup/nonsense`);
    expect(malformed.status).toBe(404);
  });
});
