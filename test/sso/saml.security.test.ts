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

  it('the trace names the signature that was verified: assertion, response, or response over a signed assertion', async () => {
    const signatureStep = async (xml: string) => {
      const page = await post(xml);
      expect(page.html).toContain('Signed in');
      const trace = await traceOf(t, org.id, textById(page.html, 'trace-id') as string);
      return trace.steps.find((step) => step.step === 'signature_check') as {
        message: string;
        data?: Record<string, unknown>;
      };
    };
    const assertionOnly = await signatureStep(signedByIdp({ email: `label1@${org.domain}` }));
    expect(assertionOnly.message).toMatch(/^Assertion signature verified/);
    expect(assertionOnly.message).not.toMatch(/response signed/i);
    expect(assertionOnly.data).toMatchObject({ verified: 'assertion', signed: ['assertion'] });

    const unsignedAssertion = samlResponseXml({
      issuer: idp.entityId,
      acsUrl,
      audience,
      user: { nameId: `label2@${org.domain}`, attributes: { email: `label2@${org.domain}` } },
    }).xml;
    const keys = { privateKeyPem: idp.privateKeyPem, certificatePem: idp.certificatePem };
    const responseOnly = await signatureStep(signSamlXml(unsignedAssertion, { target: 'response', ...keys }));
    expect(responseOnly.message).toMatch(/^Response signature verified/);
    expect(responseOnly.data).toMatchObject({ verified: 'response', signed: ['response'] });

    const both = await signatureStep(
      signSamlXml(signedByIdp({ email: `label3@${org.domain}` }), { target: 'response', ...keys }),
    );
    expect(both.message).toMatch(/^Response signature verified/);
    expect(both.data).toMatchObject({ verified: 'response', signed: ['response', 'assertion'] });
  });

  it('a response signature that does not verify is refused, even when the assertion’s does', async () => {
    const keys = { privateKeyPem: idp.privateKeyPem, certificatePem: idp.certificatePem };
    const both = signSamlXml(signedByIdp({ email: `tampered@${org.domain}` }), {
      target: 'response',
      ...keys,
    });
    // Alter the response outside the assertion: only the response's own signature covers this.
    const tampered = both.replace(/(<samlp:Response[^>]*IssueInstant=")[^"]+"/, '$12001-01-01T00:00:00Z"');
    expect(tampered).not.toBe(both);
    const trace = await expectRefused(await post(tampered), 'saml_signature_invalid');
    expect(trace.reason).toMatch(/response's signature/i);
    const users = await t.api('GET', `/api/v1/organizations/${org.id}/users?q=tampered`);
    expect(users.body.data).toEqual([]);
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
    // Two assertions in the message: refused before any signature is looked at.
    await expectRefused(await post(forged), 'saml_multiple_assertions');
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
    // The signed assertion nested in the evil one's Advice still counts: two assertions.
    await expectRefused(await post(genuine.replace(signedAssertion, wrapped)), 'saml_multiple_assertions');
  });

  it('XSW7: an unsigned assertion inside samlp:Extensions, the signed one after it', async () => {
    const genuine = signedByIdp({ email: `attacker@${org.domain}` });
    const evil = samlResponseXml({
      issuer: idp.entityId,
      acsUrl,
      audience,
      user: { nameId: victim(), attributes: { email: victim() } },
    }).xml;
    const evilAssertion = /<saml:Assertion[\s\S]*<\/saml:Assertion>/.exec(evil)?.[0] as string;
    const forged = genuine.replace(
      '</saml:Issuer>',
      `</saml:Issuer><samlp:Extensions>${evilAssertion}</samlp:Extensions>`,
    );
    const page = await post(forged);
    const trace = await expectRefused(page, 'saml_multiple_assertions');
    expect(trace.reason).toContain('Response/Extensions/Assertion');
    const attacker = await t.api('GET', `/api/v1/organizations/${org.id}/users?q=attacker`);
    expect(attacker.body.data).toEqual([]);
  });

  it('an EncryptedAssertion counts as an assertion wherever it sits', async () => {
    // A real encrypted assertion (samlify, to our SP's encryption certificate).
    const encrypting = await startSamlIdp({ encryptAssertions: true });
    try {
      encrypting.trustServiceProvider(await (await fetch(connection.saml?.spMetadataUrl as string)).text());
      const encryptedXml = Buffer.from(await encrypting.createResponse(), 'base64').toString('utf8');
      const encrypted = /<(\w+):EncryptedAssertion[\s\S]*<\/\1:EncryptedAssertion>/.exec(encryptedXml)?.[0];
      expect(encrypted).toBeTruthy();
      // Beside a signed plain assertion, hidden in Extensions.
      const genuine = signedByIdp({ email: `attacker@${org.domain}` });
      const hidden = genuine.replace(
        '</saml:Issuer>',
        `</saml:Issuer><samlp:Extensions>${encrypted}</samlp:Extensions>`,
      );
      const first = await expectRefused(await post(hidden), 'saml_multiple_assertions');
      expect(first.reason).toContain('Response/Extensions/EncryptedAssertion');
      // An unsigned plain assertion hidden beside the encrypted one.
      const evil = /<saml:Assertion[\s\S]*<\/saml:Assertion>/.exec(
        samlResponseXml({
          issuer: idp.entityId,
          acsUrl,
          audience,
          user: { nameId: victim(), attributes: { email: victim() } },
        }).xml,
      )?.[0] as string;
      const beside = encryptedXml.replace(
        /(<\/\w+:Issuer>)/,
        `$1<samlp:Extensions xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">${evil}</samlp:Extensions>`,
      );
      await expectRefused(await post(beside), 'saml_multiple_assertions');
    } finally {
      await encrypting.close();
    }
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
    let firstTraceId = '';
    // Stop before the IdP's auto-posted form reaches the ACS, keep the form, post it twice.
    const atIdp = await new Browser().get(`${t.url}/login?connection=${connection.id}`);
    expect(atIdp.html).toContain('Signed in');
    const { html } = await (async () => {
      const b = new Browser();
      b.autoSubmit = false;
      const page = await b.get(`${t.url}/login?connection=${connection.id}`);
      const first = await b.submit(page);
      expect(first.html).toContain('Signed in');
      firstTraceId = textById(first.html, 'trace-id') as string;
      const second = await b.submit(page);
      return second;
    })();
    expect(html).not.toContain('Signed in');
    // The replay is an attempt of its own: its own trace, and the first login's stays succeeded.
    const replayTraceId = textById(html, 'trace-id') as string;
    expect(replayTraceId).not.toBe(firstTraceId);
    const trace = await traceOf(t, org.id, replayTraceId);
    expect(trace.status).toBe('failed');
    expect(trace.errorCode).toBe('flow_already_used');
    expect(trace.steps.map((step) => step.step)).toEqual(['response_received', 'flow_check', 'outcome']);
    const original = await traceOf(t, org.id, firstTraceId);
    expect(original.status).toBe('succeeded');
    expect(original.errorCode).toBeNull();
    expect(original.steps.filter((step) => !step.ok)).toEqual([]);
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
