/**
 * The connections admin API: presets fill defaults, validation on save names the problem, warnings
 * for certificates about to expire, mapping preview, SP metadata, traces listing, and /login
 * that does not reveal which organizations exist.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeyAndCertificate } from '../../src/modules/sso/certificates.ts';
import { Browser } from '../support/browser.ts';
import type { TestHub } from '../support/hub.ts';
import { startSamlIdp } from '../support/idps.ts';
import { createConnection, createOrganization, startHub } from './helpers.ts';

function idpMetadata(certificatePem: string, entityId = 'https://idp.example.com/metadata') {
  const body = certificatePem.replace(/-----(BEGIN|END) CERTIFICATE-----|\s+/g, '');
  return `<?xml version="1.0"?><md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="${entityId}"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>${body}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor><md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.com/sso"/></md:IDPSSODescriptor></md:EntityDescriptor>`;
}

describe('SSO connections API', () => {
  let t: TestHub;
  let org: { id: string; domain: string };
  beforeAll(async () => {
    t = await startHub();
    org = await createOrganization(t);
  });
  afterAll(async () => t?.close());

  it('SAML from metadata XML: parses entity ID, SSO URL and several certificates (rollover); returns our SP URLs', async () => {
    const a = await createKeyAndCertificate({ commonName: 'old', validDays: 365 });
    const b = await createKeyAndCertificate({ commonName: 'new', validDays: 730 });
    const xml = idpMetadata(a.certificatePem).replace(
      '</md:KeyDescriptor>',
      `</md:KeyDescriptor>${/<md:KeyDescriptor[\s\S]*?<\/md:KeyDescriptor>/.exec(idpMetadata(b.certificatePem))?.[0]}`,
    );
    const created = await t.api('POST', `/api/v1/organizations/${org.id}/connections`, {
      body: { name: 'Okta SAML', protocol: 'saml', preset: 'okta', saml: { metadataXml: xml } },
    });
    expect(created.status, created.text).toBe(201);
    expect(created.body.saml).toMatchObject({
      idpEntityId: 'https://idp.example.com/metadata',
      idpSsoUrl: 'https://idp.example.com/sso',
      idpSsoBinding: 'redirect',
    });
    expect(created.body.saml.idpCertificates.map((c: { subject: string }) => c.subject)).toEqual([
      'CN=old',
      'CN=new',
    ]);
    expect(created.body.saml.acsUrl).toBe(`${t.url}/sso/saml/${created.body.id}/acs`);
    expect(created.body.saml.spEntityId).toBe(`${t.url}/sso/saml/${created.body.id}`);
    expect(created.body.mapping).toMatchObject({ given_name: 'firstName', family_name: 'lastName' });
    const metadata = await fetch(created.body.saml.spMetadataUrl);
    const text = await metadata.text();
    expect(text).toContain(`entityID="${created.body.saml.spEntityId}"`);
    expect(text).toContain(`Location="${created.body.saml.acsUrl}"`);
    expect(text).toContain('use="encryption"');
    const list = await t.api('GET', `/api/v1/organizations/${org.id}/connections`, { key: t.readKey });
    expect(list.body.data.some((c: { id: string }) => c.id === created.body.id)).toBe(true);
  });

  it('refuses invalid metadata, an expired certificate and DTDs, naming the problem', async () => {
    const bad = await t.api('POST', `/api/v1/organizations/${org.id}/connections`, {
      body: { name: 'x', protocol: 'saml', saml: { metadataXml: '<html>not metadata</html>' } },
    });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ code: 'invalid_metadata', field: 'saml.metadataXml' });
    const expired = await createKeyAndCertificate({
      commonName: 'expired',
      validDays: 1,
      notBefore: new Date(Date.now() - 10 * 86_400_000),
    });
    const refused = await t.api('POST', `/api/v1/organizations/${org.id}/connections`, {
      body: { name: 'x', protocol: 'saml', saml: { metadataXml: idpMetadata(expired.certificatePem) } },
    });
    expect(refused.status).toBe(400);
    expect(refused.body.code).toBe('certificate_expired');
    expect(refused.body.detail).toContain('CN=expired');
    const dtd = await t.api('POST', `/api/v1/organizations/${org.id}/connections`, {
      body: {
        name: 'x',
        protocol: 'saml',
        saml: {
          metadataXml: `<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>${idpMetadata(expired.certificatePem)}`,
        },
      },
    });
    expect(dtd.status).toBe(400);
    expect(dtd.body.detail).toMatch(/DTD/);
  });

  it('saves a certificate expiring within 30 days, with a warning', async () => {
    const soon = await createKeyAndCertificate({ commonName: 'soon', validDays: 10 });
    const created = await t.api('POST', `/api/v1/organizations/${org.id}/connections`, {
      body: { name: 'Soon', protocol: 'saml', saml: { metadataXml: idpMetadata(soon.certificatePem) } },
    });
    expect(created.status, created.text).toBe(201);
    expect(created.body.warnings).toEqual([expect.objectContaining({ code: 'certificate_expiring' })]);
    expect(created.body.saml.idpCertificates[0].status).toBe('expiring_soon');
  });

  it('fetches IdP metadata by URL, and reports an unreachable one', async () => {
    const idp = await startSamlIdp();
    const server = createServer((_req, res) => res.end(idp.metadataXml));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metadata`;
      const created = await t.api('POST', `/api/v1/organizations/${org.id}/connections`, {
        body: { name: 'By URL', protocol: 'saml', saml: { metadataUrl: url } },
      });
      expect(created.status, created.text).toBe(201);
      expect(created.body.saml.idpEntityId).toBe(idp.entityId);
    } finally {
      server.close();
      await idp.close();
    }
    const unreachable = await t.api('POST', `/api/v1/organizations/${org.id}/connections`, {
      body: { name: 'x', protocol: 'saml', saml: { metadataUrl: 'http://127.0.0.1:9/metadata' } },
    });
    expect(unreachable.status).toBe(502);
    expect(unreachable.body.code).toBe('metadata_unreachable');
  });

  it('refreshes IdP metadata from its URL: picks up a rolled certificate, keeps the last good settings on failure', async () => {
    const first = await createKeyAndCertificate({ commonName: 'signing-2026', validDays: 365 });
    const second = await createKeyAndCertificate({ commonName: 'signing-2027', validDays: 730 });
    let served: { status: number; body: string } = { status: 200, body: idpMetadata(first.certificatePem) };
    const server = createServer((_req, res) => {
      res.statusCode = served.status;
      res.end(served.body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metadata`;
      const created = await createConnection(t, org.id, {
        name: 'Rolling',
        protocol: 'saml',
        saml: { metadataUrl: url },
      });
      const refresh = () =>
        t.api('POST', `/api/v1/organizations/${org.id}/connections/${created.id}/metadata/refresh`);

      // Nothing changed at the IdP: nothing to record.
      const unchanged = await refresh();
      expect(unchanged.status, unchanged.text).toBe(200);
      expect(unchanged.body.changed).toBe(false);

      // The IdP publishes its next certificate beside the current one (rollover), then drops the old.
      served = {
        status: 200,
        body: idpMetadata(first.certificatePem).replace(
          '</md:KeyDescriptor>',
          `</md:KeyDescriptor>${/<md:KeyDescriptor[\s\S]*?<\/md:KeyDescriptor>/.exec(idpMetadata(second.certificatePem))?.[0]}`,
        ),
      };
      const rolled = await refresh();
      expect(rolled.body.changed).toBe(true);
      expect(rolled.body.connection.saml.idpCertificates).toHaveLength(2);
      served = { status: 200, body: idpMetadata(second.certificatePem) };
      expect((await refresh()).body.connection.saml.idpCertificates).toHaveLength(1);

      // The IdP is down: the settings that work stay, with a warning saying so.
      served = { status: 503, body: 'maintenance' };
      const failed = await refresh();
      expect(failed.body).toMatchObject({ changed: false, error: expect.stringContaining('503') });
      expect(failed.body.connection.warnings).toEqual(
        expect.arrayContaining([expect.objectContaining({ code: 'metadata_refresh_failed' })]),
      );
      expect(failed.body.connection.saml.idpCertificates).toHaveLength(1);
      // Back up: the warning goes away.
      served = { status: 200, body: idpMetadata(second.certificatePem) };
      const recovered = await t.hub.sso.connections.refreshAllSamlMetadata({ type: 'system', name: 'test' });
      expect(recovered.checked).toBeGreaterThanOrEqual(1);
      const after = await t.api('GET', `/api/v1/organizations/${org.id}/connections/${created.id}`);
      expect(after.body.warnings.map((warning: { code: string }) => warning.code)).not.toContain(
        'metadata_refresh_failed',
      );

      const events = await t.api(
        'GET',
        `/api/v1/events?subject=${created.id}&types=connection.metadata_refreshed`,
      );
      expect(events.body.data).toHaveLength(2);
      expect(events.body.data[0].data.changes.certificates.added).toHaveLength(1);
      expect(events.body.data[1].data.changes.certificates.removed).toHaveLength(1);

      const xmlOnly = await createConnection(t, org.id, {
        name: 'XML',
        protocol: 'saml',
        saml: { metadataXml: idpMetadata(first.certificatePem) },
      });
      const refused = await t.api(
        'POST',
        `/api/v1/organizations/${org.id}/connections/${xmlOnly.id}/metadata/refresh`,
      );
      expect(refused.status).toBe(400);
      expect(refused.body.code).toBe('no_metadata_url');
    } finally {
      server.close();
    }
  });

  it('OIDC: unreachable discovery, plain http to a non-local host, and Entra’s templated issuer', async () => {
    const unreachable = await t.api('POST', `/api/v1/organizations/${org.id}/connections`, {
      body: {
        name: 'x',
        protocol: 'oidc',
        oidc: { discoveryUrl: 'http://127.0.0.1:9', clientId: 'a', clientSecret: 'b' },
      },
    });
    expect(unreachable.status).toBe(502);
    expect(unreachable.body).toMatchObject({ code: 'discovery_unreachable', field: 'oidc.discoveryUrl' });
    const insecure = await t.api('POST', `/api/v1/organizations/${org.id}/connections`, {
      body: {
        name: 'x',
        protocol: 'oidc',
        oidc: { discoveryUrl: 'http://idp.example.com', clientId: 'a', clientSecret: 'b' },
      },
    });
    expect(insecure.status).toBe(400);
    expect(insecure.body.code).toBe('insecure_url');
    // A discovery document like login.microsoftonline.com/common/v2.0 publishes.
    const server = createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          issuer: 'https://login.microsoftonline.com/{tenantid}/v2.0',
          authorization_endpoint: 'http://127.0.0.1/oauth2/v2.0/authorize',
          token_endpoint: 'http://127.0.0.1/oauth2/v2.0/token',
          jwks_uri: 'http://127.0.0.1/discovery/v2.0/keys',
        }),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const discoveryUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/common/v2.0`;
      const templated = await t.api('POST', `/api/v1/organizations/${org.id}/connections`, {
        body: {
          name: 'Entra',
          protocol: 'oidc',
          preset: 'entra',
          oidc: { discoveryUrl, clientId: 'a', clientSecret: 'b' },
        },
      });
      expect(templated.status).toBe(400);
      expect(templated.body).toMatchObject({ code: 'templated_issuer', field: 'oidc.tenantId' });
      const tenant = '72f988bf-86f1-41af-91ab-2d7cd011db47';
      const fixed = await t.api('POST', `/api/v1/organizations/${org.id}/connections`, {
        body: {
          name: 'Entra',
          protocol: 'oidc',
          preset: 'entra',
          oidc: { discoveryUrl, tenantId: tenant, clientId: 'a', clientSecret: 'b' },
        },
      });
      expect(fixed.status, fixed.text).toBe(201);
      expect(fixed.body.oidc.issuer).toBe(`https://login.microsoftonline.com/${tenant}/v2.0`);
      expect(fixed.body.oidc.redirectUri).toBe(`${t.url}/sso/oidc/${fixed.body.id}/callback`);
      expect(fixed.body.mapping.subject).toEqual(['oid', 'sub']);
      // Update: rotate the secret, change scopes; the secret is never echoed.
      const updated = await t.api('PATCH', `/api/v1/organizations/${org.id}/connections/${fixed.body.id}`, {
        body: { oidc: { clientSecret: 'rotated-secret', scopes: ['openid', 'email'] } },
      });
      expect(updated.status, updated.text).toBe(200);
      expect(updated.body.oidc.scopes).toEqual(['openid', 'email']);
      expect(updated.text).not.toContain('rotated-secret');
    } finally {
      server.close();
    }
  });

  it('mapping preview shows the result and what is missing', async () => {
    const connection = await createConnection(t, org.id, {
      name: 'Ping',
      protocol: 'saml',
      preset: 'ping',
      testIdp: true,
    });
    const preview = await t.api(
      'POST',
      `/api/v1/organizations/${org.id}/connections/${connection.id}/mapping/preview`,
      {
        key: t.readKey,
        body: {
          nameId: 'pat',
          claims: {
            mail: 'Pat@Acme.test',
            givenName: 'Pat',
            sn: 'Doe',
            memberOf: ['Sales', 'Sales', 'EMEA'],
            costCenter: '42',
          },
          mapping: { attributes: { cost_center: 'costCenter' } },
        },
      },
    );
    expect(preview.status, preview.text).toBe(200);
    expect(preview.body).toMatchObject({
      usable: true,
      profile: {
        email: 'pat@acme.test',
        given_name: 'Pat',
        family_name: 'Doe',
        name: 'Pat Doe',
        groups: ['Sales', 'EMEA'],
        attributes: { cost_center: '42' },
      },
      sources: { email: 'mail' },
    });
    const missing = await t.api(
      'POST',
      `/api/v1/organizations/${org.id}/connections/${connection.id}/mapping/preview`,
      { body: { claims: { email: 'not-an-email' } } },
    );
    expect(missing.body.usable).toBe(false);
    expect(missing.body.problems[0]).toMatch(/email/);
  });

  it('delete, enable/disable, 404s', async () => {
    const connection = await createConnection(t, org.id, { name: 'Temp', protocol: 'saml', testIdp: true });
    const disabled = await t.api(
      'POST',
      `/api/v1/organizations/${org.id}/connections/${connection.id}/disable`,
    );
    expect(disabled.body).toMatchObject({ enabled: false, active: false });
    const page = await new Browser().get(`${t.url}/login?connection=${connection.id}`);
    expect(page.status).toBe(403);
    expect(
      (await t.api('DELETE', `/api/v1/organizations/${org.id}/connections/${connection.id}`)).status,
    ).toBe(204);
    expect((await t.api('GET', `/api/v1/organizations/${org.id}/connections/${connection.id}`)).status).toBe(
      404,
    );
    expect(
      (
        await t.api('POST', `/api/v1/organizations/${org.id}/connections`, {
          key: t.readKey,
          body: { name: 'x', protocol: 'saml', testIdp: true },
        })
      ).status,
    ).toBe(403);
  });

  it('login traces: list with filters and cursor', async () => {
    const connection = await createConnection(t, org.id, { name: 'Traced', protocol: 'saml', testIdp: true });
    for (const email of [`t1@${org.domain}`, `t2@${org.domain}`, 'bad']) {
      const browser = new Browser();
      const form = await browser.get(`${t.url}/login?connection=${connection.id}`);
      await browser.submit(form, { email });
    }
    const all = await t.api(
      'GET',
      `/api/v1/organizations/${org.id}/login-traces?connection=${connection.id}`,
      { key: t.readKey },
    );
    expect(all.status, all.text).toBe(200);
    expect(all.body.data.length).toBeGreaterThanOrEqual(3);
    const byEmail = await t.api('GET', `/api/v1/organizations/${org.id}/login-traces?email=T1@${org.domain}`);
    expect(byEmail.body.data).toHaveLength(1);
    expect(byEmail.body.data[0].status).toBe('succeeded');
    const failed = await t.api(
      'GET',
      `/api/v1/organizations/${org.id}/login-traces?connection=${connection.id}&status=failed`,
    );
    expect(failed.body.data.length).toBeGreaterThanOrEqual(1);
    const page1 = await t.api(
      'GET',
      `/api/v1/organizations/${org.id}/login-traces?connection=${connection.id}&limit=1`,
    );
    expect(page1.body.nextCursor).toBeTruthy();
    const page2 = await t.api(
      'GET',
      `/api/v1/organizations/${org.id}/login-traces?connection=${connection.id}&limit=1&after=${page1.body.nextCursor}`,
    );
    expect(page2.body.data[0].id).not.toBe(page1.body.data[0].id);
    // Each trace names its connection, in the list, by id and by id alone.
    expect(
      all.body.data.every((trace: { connectionName: string }) => trace.connectionName === 'Traced'),
    ).toBe(true);
    const traceId = page1.body.data[0].id;
    const one = await t.api('GET', `/api/v1/organizations/${org.id}/login-traces/${traceId}`);
    expect(one.body).toMatchObject({ connectionId: connection.id, connectionName: 'Traced' });
    expect((await t.api('GET', `/api/v1/login-traces/${traceId}`)).body.connectionName).toBe('Traced');
  });

  it('/login: plain HTML form; unknown and known-but-unconfigured domains get the same answer', async () => {
    const browser = new Browser();
    const form = await browser.get(`${t.url}/login`);
    expect(form.status).toBe(200);
    expect(form.headers.get('content-type')).toContain('text/html');
    expect(form.html).toContain('<form method="post" action="/login">');
    const unknown = await browser.submit(form, { email: 'someone@no-such-company.example' });
    const bare = await createOrganization(t);
    const known = await browser.submit(form, { email: `someone@${bare.domain}` });
    expect(unknown.status).toBe(known.status);
    expect(unknown.html.replace(/value="[^"]*"/g, '')).toBe(known.html.replace(/value="[^"]*"/g, ''));
    const unknownOrg = await browser.get(`${t.url}/login?organization=no-such-org`);
    const orgWithoutSso = await browser.get(`${t.url}/login?organization=${bare.id}`);
    expect(unknownOrg.status).toBe(200);
    expect(orgWithoutSso.html).toBe(unknownOrg.html);
    const xss = await browser.get(
      `${t.url}/login?login_hint=${encodeURIComponent('"><script>alert(1)</script>@x.example')}`,
    );
    expect(xss.html).not.toContain('<script>alert(1)</script>');
  });

  it('/login refuses a connection that does not belong to the organization the link names', async () => {
    const acme = await createOrganization(t);
    const other = await createOrganization(t);
    await createConnection(t, acme.id, { name: 'Acme IdP', protocol: 'saml', testIdp: true });
    const theirs = await createConnection(t, other.id, {
      name: 'Other IdP',
      protocol: 'saml',
      testIdp: true,
    });
    const before = await t.api('GET', `/api/v1/organizations/${other.id}/login-traces`);
    for (const organization of [acme.slug, acme.id, 'no-such-org']) {
      const page = await new Browser().get(
        `${t.url}/login?organization=${organization}&connection=${theirs.id}`,
      );
      expect(page.status, organization).toBe(400);
      expect(page.html).toContain('does not belong to the organization it names');
      expect(page.html).not.toContain('Test identity provider');
    }
    // Nothing started on the other organization's connection.
    const after = await t.api('GET', `/api/v1/organizations/${other.id}/login-traces`);
    expect(after.body.data.length).toBe(before.body.data.length);
    // The connection with its own organization, by slug or id, goes to its IdP.
    for (const organization of [other.slug, other.id]) {
      const page = await new Browser().get(
        `${t.url}/login?organization=${organization}&connection=${theirs.id}`,
      );
      expect(page.html).toContain('Test identity provider');
    }
  });

  it('/login?domain_hint= runs discovery on the domain; an unknown domain shows the email form', async () => {
    const org = await createOrganization(t);
    await createConnection(t, org.id, { name: 'Hinted IdP', protocol: 'saml', testIdp: true });
    const hinted = await new Browser().get(`${t.url}/login?domain_hint=${org.domain.toUpperCase()}`);
    expect(hinted.html).toContain('Test identity provider');
    const unknown = await new Browser().get(`${t.url}/login?domain_hint=no-such-company.example`);
    expect(unknown.status).toBe(200);
    expect(unknown.html).toContain('Work email');
    // A login hint wins over the domain hint.
    const both = await new Browser().get(
      `${t.url}/login?domain_hint=${org.domain}&login_hint=someone@no-such-company.example`,
    );
    expect(both.html).not.toContain('Test identity provider');
  });

  it('/login with several connections shows a picker', async () => {
    const multi = await createOrganization(t);
    await createConnection(t, multi.id, { name: 'Staff (Entra)', protocol: 'saml', testIdp: true });
    await createConnection(t, multi.id, { name: 'Contractors', protocol: 'saml', testIdp: true });
    const page = await new Browser().get(`${t.url}/login?login_hint=x@${multi.domain}`);
    expect(page.html).toContain('Choose how to sign in');
    expect(page.html).toContain('Staff (Entra)');
    expect(page.html).toContain('Contractors');
  });
});

describe('signed AuthnRequests', () => {
  let t: TestHub;
  beforeAll(async () => {
    t = await startHub();
  });
  afterAll(async () => t?.close());

  it('signs the HTTP-Redirect AuthnRequest with the connection key when asked (SAML Bindings §3.4.4.1)', async () => {
    const { createVerify } = await import('node:crypto');
    const org = await createOrganization(t);
    const idp = await startSamlIdp();
    try {
      const connection = await t.api('POST', `/api/v1/organizations/${org.id}/connections`, {
        body: {
          name: 'Signed',
          protocol: 'saml',
          saml: { metadataXml: idp.metadataXml, signAuthnRequests: true },
        },
      });
      expect(connection.status, connection.text).toBe(201);
      expect(connection.body.saml.signAuthnRequests).toBe(true);
      const browser = new Browser();
      browser.stopAt = [idp.ssoUrl];
      const atIdp = await browser.get(`${t.url}/login?connection=${connection.body.id}`);
      const query = new URL(atIdp.url).search.slice(1);
      const params = new URLSearchParams(query);
      expect(params.get('SigAlg')).toBe('http://www.w3.org/2001/04/xmldsig-more#rsa-sha256');
      // The signature covers the query string as sent, up to and including SigAlg.
      const signed = query.slice(0, query.indexOf('&Signature='));
      const verifier = createVerify('RSA-SHA256');
      verifier.update(signed);
      expect(
        verifier.verify(connection.body.saml.spCertificate, params.get('Signature') as string, 'base64'),
      ).toBe(true);
      const metadata = await (await fetch(connection.body.saml.spMetadataUrl)).text();
      expect(metadata).toContain('AuthnRequestsSigned="true"');
    } finally {
      await idp.close();
    }
  });
});
