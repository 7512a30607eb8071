/**
 * SAML logins against samlify as the upstream IdP: SP- and IdP-initiated, encrypted assertions,
 * and each preset's default mapping with the attribute names that IdP really sends.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, textById } from '../support/browser.ts';
import type { TestHub } from '../support/hub.ts';
import { type SamlIdp, type SamlUser, startSamlIdp } from '../support/idps.ts';
import { createConnection, createOrganization, startHub, traceOf } from './helpers.ts';

const CLAIMS = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims';

async function samlSetup(
  t: TestHub,
  options: {
    preset?: string;
    encrypt?: boolean;
    allowIdpInitiated?: boolean;
    user?: SamlUser;
    requireEncryptedAssertions?: boolean;
  } = {},
) {
  const org = await createOrganization(t);
  const idp = await startSamlIdp({
    encryptAssertions: options.encrypt ?? false,
    ...(options.user ? { user: options.user } : {}),
  });
  const connection = await createConnection(t, org.id, {
    name: `SAML ${options.preset ?? 'generic'}`,
    protocol: 'saml',
    preset: options.preset ?? 'generic',
    saml: {
      metadataXml: idp.metadataXml,
      allowIdpInitiated: options.allowIdpInitiated ?? false,
      ...(options.requireEncryptedAssertions ? { requireEncryptedAssertions: true } : {}),
    },
  });
  const metadata = await fetch(connection.saml?.spMetadataUrl as string);
  expect(metadata.headers.get('content-type')).toContain('samlmetadata+xml');
  idp.trustServiceProvider(await metadata.text());
  return { org, idp, connection };
}

describe('SAML SP against samlify', () => {
  let t: TestHub;
  const idps: SamlIdp[] = [];
  beforeAll(async () => {
    t = await startHub();
  });
  afterAll(async () => {
    await Promise.all(idps.map((idp) => idp.close()));
    await t?.close();
  });

  it('SP-initiated: /login -> AuthnRequest -> signed response -> user created', async () => {
    const setup = await samlSetup(t);
    idps.push(setup.idp);
    setup.idp.user = {
      nameId: `grace@${setup.org.domain}`,
      attributes: {
        email: `grace@${setup.org.domain}`,
        firstName: 'Grace',
        lastName: 'Hopper',
        groups: ['Navy', 'COBOL'],
      },
    };
    const browser = new Browser();
    const page = await browser.get(`${t.url}/login?login_hint=grace@${setup.org.domain}`);
    expect(page.status, page.html).toBe(200);
    expect(page.html).toContain('Signed in');
    expect(page.html).toContain('Grace Hopper');
    expect(page.history.some((url) => url.startsWith(setup.idp.ssoUrl))).toBe(true);
    const trace = await traceOf(t, setup.org.id, textById(page.html, 'trace-id') as string);
    expect(trace.status).toBe('succeeded');
    expect(JSON.stringify(trace.steps)).not.toMatch(/SignatureValue|BEGIN CERTIFICATE|SAMLResponse=/);
  });

  it('decrypts encrypted assertions (and can require them)', async () => {
    const setup = await samlSetup(t, { encrypt: true, requireEncryptedAssertions: true });
    idps.push(setup.idp);
    setup.idp.user = { nameId: `enc@${setup.org.domain}`, attributes: { email: `enc@${setup.org.domain}` } };
    const page = await new Browser().get(`${t.url}/login?connection=${setup.connection.id}`);
    expect(page.html).toContain('Signed in');
    const trace = await traceOf(t, setup.org.id, textById(page.html, 'trace-id') as string);
    expect(trace.steps.find((step) => step.step === 'signature_check')?.data).toMatchObject({
      encrypted: true,
    });
  });

  it('refuses a plain assertion when encryption is required', async () => {
    const setup = await samlSetup(t, { encrypt: false, requireEncryptedAssertions: true });
    idps.push(setup.idp);
    setup.idp.user = {
      nameId: `plain@${setup.org.domain}`,
      attributes: { email: `plain@${setup.org.domain}` },
    };
    const page = await new Browser().get(`${t.url}/login?connection=${setup.connection.id}`);
    expect(page.status).toBe(400);
    const trace = await traceOf(t, setup.org.id, textById(page.html, 'trace-id') as string);
    expect(trace.errorCode).toBe('saml_assertion_not_encrypted');
  });

  it('IdP-initiated: accepted only when switched on for the connection', async () => {
    const on = await samlSetup(t, { allowIdpInitiated: true });
    idps.push(on.idp);
    on.idp.user = { nameId: `idp@${on.org.domain}`, attributes: { email: `idp@${on.org.domain}` } };
    const browser = new Browser();
    const response = await on.idp.createResponse();
    const page = await browser.post(on.connection.saml?.acsUrl as string, { SAMLResponse: response });
    expect(page.status, page.html).toBe(200);
    expect(page.html).toContain('Signed in');

    const off = await samlSetup(t, { allowIdpInitiated: false });
    idps.push(off.idp);
    const refused = await browser.post(off.connection.saml?.acsUrl as string, {
      SAMLResponse: await off.idp.createResponse(),
    });
    expect(refused.status).toBe(400);
    const trace = await traceOf(t, off.org.id, textById(refused.html, 'trace-id') as string);
    expect(trace.errorCode).toBe('saml_idp_initiated_disabled');
  });

  const presets: Array<{
    preset: string;
    attributes: (email: string) => Record<string, string | string[]>;
    nameId?: (email: string) => string;
    expected: Record<string, unknown>;
    groups: string[];
  }> = [
    {
      preset: 'ping',
      attributes: (email) => ({
        mail: email,
        givenName: 'Pat',
        sn: 'Ping',
        memberOf: ['cn=Sales', 'cn=EMEA'],
        title: 'Rep',
        department: 'Sales',
      }),
      nameId: () => 'pat.ping',
      expected: { givenName: 'Pat', familyName: 'Ping' },
      groups: ['cn=EMEA', 'cn=Sales'],
    },
    {
      preset: 'adfs',
      attributes: (email) => ({
        [`${CLAIMS}/emailaddress`]: email,
        [`${CLAIMS}/givenname`]: 'Ada',
        [`${CLAIMS}/surname`]: 'Fs',
        'http://schemas.xmlsoap.org/claims/Group': ['Domain Users'],
      }),
      nameId: () => 'S-1-5-21-1004',
      expected: { givenName: 'Ada', familyName: 'Fs' },
      groups: ['Domain Users'],
    },
    {
      preset: 'entra',
      attributes: (email) => ({
        'http://schemas.microsoft.com/identity/claims/objectidentifier': '9f1c-entra-oid',
        [`${CLAIMS}/name`]: email,
        [`${CLAIMS}/givenname`]: 'Eve',
        [`${CLAIMS}/surname`]: 'Entra',
        'http://schemas.microsoft.com/identity/claims/displayname': 'Eve Entra',
        'http://schemas.microsoft.com/ws/2008/06/identity/claims/groups': ['b1e0d7a2-group'],
      }),
      nameId: () => 'pairwise-nameid-123',
      expected: { givenName: 'Eve', familyName: 'Entra', displayName: 'Eve Entra' },
      groups: ['b1e0d7a2-group'],
    },
    {
      preset: 'okta',
      attributes: (email) => ({ email, firstName: 'Olga', lastName: 'Okta', groups: ['Everyone'] }),
      expected: { givenName: 'Olga', familyName: 'Okta' },
      groups: ['Everyone'],
    },
    {
      preset: 'google',
      attributes: () => ({ firstName: 'Gus', lastName: 'Google' }),
      expected: { givenName: 'Gus', familyName: 'Google' },
      groups: [],
    },
    {
      preset: 'generic',
      attributes: (email) => ({
        'urn:oid:0.9.2342.19200300.100.1.3': email,
        'urn:oid:2.5.4.42': 'Gene',
        'urn:oid:2.5.4.4': 'Eric',
      }),
      nameId: () => 'opaque-1',
      expected: { givenName: 'Gene', familyName: 'Eric' },
      groups: [],
    },
  ];

  for (const preset of presets) {
    it(`preset ${preset.preset}: default mapping of what that IdP sends`, async () => {
      const setup = await samlSetup(t, { preset: preset.preset });
      idps.push(setup.idp);
      const email = `${preset.preset}.user@${setup.org.domain}`;
      setup.idp.user = { nameId: preset.nameId?.(email) ?? email, attributes: preset.attributes(email) };
      const page = await new Browser().get(`${t.url}/login?connection=${setup.connection.id}`);
      expect(page.status, page.html).toBe(200);
      expect(page.html).toContain('Signed in');
      const userId = textById(page.html, 'user-id') as string;
      const user = await t.api('GET', `/api/v1/users/${userId}`);
      expect(user.body).toMatchObject({ email, ...preset.expected });
      const groups = await t.api('GET', `/api/v1/users/${userId}/groups`);
      expect(groups.body.data.map((group: { name: string }) => group.name).sort()).toEqual(preset.groups);
    });
  }
});
