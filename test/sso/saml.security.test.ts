/**
 * Forged and tampered SAML responses: each must be refused (fail closed) with a trace saying why.
 * The IdP is samlify; forgeries are made from its real signed output, or signed with its key where
 * the attack needs a valid signature over hostile content.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeyAndCertificate } from '../../src/modules/sso/certificates.ts';
import { signSamlXml } from '../../src/modules/sso/saml/identity-provider.ts';
import { Browser, textById } from '../support/browser.ts';
import { createTestHub, type TestHub } from '../support/hub.ts';
import { type SamlIdp, samlResponseXml, startSamlIdp } from '../support/idps.ts';
import { createConnection, createOrganization, startHub, traceOf } from './helpers.ts';

const b64 = (xml: string) => Buffer.from(xml).toString('base64');

describe('SAML ACS refuses forged responses', () => {
  let t: TestHub;
  let idp: SamlIdp;
  let org: { id: string; domain: string };
  let connection: { id: string; saml?: { acsUrl: string; spEntityId: string; spMetadataUrl: string } };
  let acsUrl: string;
  let audience: string;

  beforeAll(async () => {
    t = await startHub();
    org = await createOrganization(t);
    idp = await startSamlIdp();
    connection = await createConnection(t, org.id, {
      name: 'Security',
      protocol: 'saml',
      saml: { metadataXml: idp.metadataXml, allowIdpInitiated: true },
    });
    idp.trustServiceProvider(await (await fetch(connection.saml?.spMetadataUrl as string)).text());
    acsUrl = connection.saml?.acsUrl as string;
    audience = connection.saml?.spEntityId as string;
  });
  afterAll(async () => {
    await idp?.close();
    await t?.close();
  });

  const victim = () => `victim@${org.domain}`;

  /** A response signed (assertion) by the real IdP key, with content we choose. */
  function signedByIdp(
    options: {
      nameId?: string;
      email?: string;
      audience?: string;
      recipient?: string;
      destination?: string;
      issuer?: string;
      notOnOrAfter?: Date;
      notBefore?: Date;
      algorithm?: 'sha1';
    } = {},
  ) {
    const email = options.email ?? victim();
    let { xml } = samlResponseXml({
      issuer: options.issuer ?? idp.entityId,
      acsUrl,
      audience: options.audience ?? audience,
      user: { nameId: options.nameId ?? email, attributes: { email } },
      ...(options.notOnOrAfter ? { notOnOrAfter: options.notOnOrAfter } : {}),
      ...(options.notBefore ? { notBefore: options.notBefore } : {}),
    });
    if (options.recipient) xml = xml.replace(`Recipient="${acsUrl}"`, `Recipient="${options.recipient}"`);
    if (options.destination)
      xml = xml.replace(`Destination="${acsUrl}"`, `Destination="${options.destination}"`);
    return signSamlXml(xml, {
      target: 'assertion',
      privateKeyPem: idp.privateKeyPem,
      certificatePem: idp.certificatePem,
      ...(options.algorithm === 'sha1'
        ? {
            signatureAlgorithm: 'http://www.w3.org/2000/09/xmldsig#rsa-sha1',
            digestAlgorithm: 'http://www.w3.org/2000/09/xmldsig#sha1',
          }
        : {}),
    });
  }

  async function post(xmlOrBase64: string, options: { encoded?: boolean; target?: TestHub } = {}) {
    const response = await new Browser().post(`${(options.target ?? t).url}/sso/saml/${connection.id}/acs`, {
      SAMLResponse: options.encoded ? xmlOrBase64 : b64(xmlOrBase64),
    });
    return response;
  }

  async function expectRefused(page: { status: number; html: string }, code: string | RegExp) {
    expect(page.status, page.html.slice(0, 300)).toBeGreaterThanOrEqual(400);
    expect(page.html).not.toContain('Signed in');
    const traceId = textById(page.html, 'trace-id');
    expect(traceId).toBeTruthy();
    const trace = await traceOf(t, org.id, traceId as string);
    expect(trace.status).toBe('failed');
    if (typeof code === 'string') expect(trace.errorCode).toBe(code);
    else expect(trace.errorCode).toMatch(code);
    const users = await t.api('GET', `/api/v1/organizations/${org.id}/users?q=victim`);
    expect(users.body.data).toEqual([]);
    return trace;
  }

  it('baseline: the same harness accepts a genuine response (so refusals below are meaningful)', async () => {
    const page = await post(signedByIdp({ email: `baseline@${org.domain}` }));
    expect(page.status, page.html).toBe(200);
    expect(page.html).toContain('Signed in');
  });

  it('XSW1: an unsigned evil assertion placed before the signed one', async () => {
    const genuine = signedByIdp({ email: `attacker@${org.domain}` });
    const evil = samlResponseXml({
      issuer: idp.entityId,
      acsUrl,
      audience,
      user: { nameId: victim(), attributes: { email: victim() } },
    }).xml;
    const evilAssertion = /<saml:Assertion[\s\S]*<\/saml:Assertion>/.exec(evil)?.[0] as string;
    const forged = genuine.replace('<saml:Assertion', `${evilAssertion}<saml:Assertion`);
    await expectRefused(await post(forged), 'saml_multiple_assertions');
  });

  it('XSW2: the signed assertion hidden in Extensions, an evil one in its place', async () => {
    const genuine = signedByIdp({ email: `attacker@${org.domain}` });
    const signedAssertion = /<saml:Assertion[\s\S]*<\/saml:Assertion>/.exec(genuine)?.[0] as string;
    const evilAssertion = signedAssertion
      .replace(/attacker@/g, 'victim@')
      .replace(/<ds:Signature[\s\S]*<\/ds:Signature>/, '');
    const forged = genuine
      .replace(signedAssertion, evilAssertion)
      .replace('</saml:Issuer>', `</saml:Issuer><samlp:Extensions>${signedAssertion}</samlp:Extensions>`);
    await expectRefused(await post(forged), /saml_signature_invalid|saml_response_invalid/);
  });

  it('XSW3: an evil assertion with the signed assertion’s ID, the original wrapped inside it', async () => {
    const genuine = signedByIdp({ email: `attacker@${org.domain}` });
    const signedAssertion = /<saml:Assertion[\s\S]*<\/saml:Assertion>/.exec(genuine)?.[0] as string;
    const id = /ID="([^"]+)"/.exec(signedAssertion)?.[1] as string;
    const evil = signedAssertion
      .replace(/attacker@/g, 'victim@')
      .replace(/<ds:Signature[\s\S]*<\/ds:Signature>/, '');
    const wrapped = evil.replace(
      '</saml:Subject>',
      `</saml:Subject><saml:Advice>${signedAssertion}</saml:Advice>`,
    );
    expect(wrapped).toContain(`ID="${id}"`);
    await expectRefused(
      await post(genuine.replace(signedAssertion, wrapped)),
      /saml_signature_invalid|saml_response_invalid/,
    );
  });

  it('XSW4: content changed after signing (digest no longer matches)', async () => {
    const genuine = signedByIdp({ email: `attacker@${org.domain}` });
    await expectRefused(await post(genuine.replace(/attacker@/g, 'victim@')), 'saml_signature_invalid');
  });

  it('comment injection in NameID and email (victim@x<!---->.evil)', async () => {
    const attackerEmail = `victim@${org.domain}.evil.test`;
    const genuine = signedByIdp({ email: attackerEmail });
    const injected = genuine.replaceAll(
      `victim@${org.domain}.evil.test`,
      `victim@${org.domain}<!---->.evil.test`,
    );
    await expectRefused(await post(injected), 'saml_comment_in_assertion');
  });

  it('an unsigned response and assertion', async () => {
    const { xml } = samlResponseXml({
      issuer: idp.entityId,
      acsUrl,
      audience,
      user: { nameId: victim(), attributes: { email: victim() } },
    });
    await expectRefused(await post(xml), 'saml_signature_invalid');
  });

  it('signed with another key whose certificate is embedded in the message', async () => {
    const attacker = await createKeyAndCertificate({ commonName: idp.entityId, validDays: 30 });
    const { xml } = samlResponseXml({
      issuer: idp.entityId,
      acsUrl,
      audience,
      user: { nameId: victim(), attributes: { email: victim() } },
    });
    const forged = signSamlXml(xml, {
      target: 'assertion',
      privateKeyPem: attacker.privateKeyPem,
      certificatePem: attacker.certificatePem,
    });
    expect(forged).toContain('X509Certificate');
    await expectRefused(await post(forged), 'saml_signature_invalid');
  });

  it('expired assertion', async () => {
    const forged = signedByIdp({
      notOnOrAfter: new Date(Date.now() - 10 * 60_000),
      notBefore: new Date(Date.now() - 20 * 60_000),
    });
    await expectRefused(await post(forged), /saml_expired|saml_subject_confirmation_invalid/);
  });

  it('not yet valid assertion', async () => {
    const forged = signedByIdp({
      notBefore: new Date(Date.now() + 30 * 60_000),
      notOnOrAfter: new Date(Date.now() + 40 * 60_000),
    });
    await expectRefused(await post(forged), /saml_not_yet_valid|saml_subject_confirmation_invalid/);
  });

  it('wrong audience', async () => {
    await expectRefused(
      await post(signedByIdp({ audience: 'https://other-sp.example.com' })),
      'saml_audience_mismatch',
    );
  });

  it('wrong Recipient', async () => {
    await expectRefused(
      await post(signedByIdp({ recipient: 'https://other-sp.example.com/acs' })),
      'saml_subject_confirmation_invalid',
    );
  });

  it('wrong Destination', async () => {
    await expectRefused(
      await post(signedByIdp({ destination: 'https://other-sp.example.com/acs' })),
      'saml_destination_mismatch',
    );
  });

  it('wrong Issuer (signed by the right key)', async () => {
    await expectRefused(
      await post(signedByIdp({ issuer: 'https://evil-idp.example.com' })),
      'saml_issuer_mismatch',
    );
  });

  it('SHA-1 signature', async () => {
    await expectRefused(await post(signedByIdp({ algorithm: 'sha1' })), 'saml_weak_algorithm');
  });

  it('DTD with an external entity (XXE)', async () => {
    const xxe = `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>${signedByIdp()}`;
    await expectRefused(await post(xxe), 'saml_dtd_refused');
  });

  it('InResponseTo naming no request of ours', async () => {
    const response = await idp.createResponse({ inResponseTo: '_made_up_request_id' });
    await expectRefused(await post(response, { encoded: true }), 'saml_in_response_to_unknown');
  });

  it('SP-initiated response replayed to the same hub', async () => {
    const browser = new Browser();
    browser.stopAt = [acsUrl];
    idp.user = { nameId: `replay@${org.domain}`, attributes: { email: `replay@${org.domain}` } };
    browser.autoSubmit = true;
    // Stop before the IdP's auto-posted form reaches the ACS, keep the form, post it twice.
    const atIdp = await new Browser().get(`${t.url}/login?connection=${connection.id}`);
    expect(atIdp.html).toContain('Signed in');
    const { html } = await (async () => {
      const b = new Browser();
      b.autoSubmit = false;
      const page = await b.get(`${t.url}/login?connection=${connection.id}`);
      const first = await b.submit(page);
      expect(first.html).toContain('Signed in');
      const second = await b.submit(page);
      return second;
    })();
    expect(html).not.toContain('Signed in');
    const trace = await traceOf(t, org.id, textById(html, 'trace-id') as string);
    expect(trace.errorCode).toMatch(/flow_already_used|saml_assertion_replayed/);
  });

  it('IdP-initiated response replayed to a second hub process on the same database', async () => {
    const second = await createTestHub({ listen: true, sameDatabaseAs: t, env: { PUBLIC_URL: t.url } });
    try {
      const response = signedByIdp({ email: `once@${org.domain}` });
      const first = await post(response);
      expect(first.html).toContain('Signed in');
      const replay = await post(response, { target: second });
      expect(replay.status).toBe(400);
      const trace = await traceOf(t, org.id, textById(replay.html, 'trace-id') as string);
      expect(trace.errorCode).toBe('saml_assertion_replayed');
    } finally {
      await second.close();
    }
  });

  it('the response carried by a genuine login cannot be used on another connection', async () => {
    const other = await createConnection(t, org.id, {
      name: 'Other',
      protocol: 'saml',
      saml: { metadataXml: idp.metadataXml, allowIdpInitiated: true },
    });
    const page = await new Browser().post(other.saml?.acsUrl as string, { SAMLResponse: b64(signedByIdp()) });
    expect(page.status).toBe(400);
    expect(page.html).not.toContain('Signed in');
  });
});
