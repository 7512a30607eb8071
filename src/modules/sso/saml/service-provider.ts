/**
 * Our SAML 2.0 service provider, one per connection, behind our own interface.
 *
 * node-saml does the XML signature and decryption work (it refuses signature wrapping and only
 * hands back the XML a signature actually covers). It does not check the response's Destination,
 * the Recipient, or the Issuer; its replay protection is the one-time InResponseTo only; and it
 * accepts SHA-1 silently. The ACS pipeline below adds those checks as small named steps, each of
 * which throws a LoginFailure naming what was wrong.
 *
 * Spec references: SAML 2.0 Core (saml-core-2.0-os) §2.3.3 Assertion, §2.5 Conditions, §3.2.2
 * Response; Profiles (saml-profiles-2.0-os) §4.1.4.3 "Message Processing Rules" of Web Browser SSO.
 */
import { SAML, type SamlConfig, ValidateInResponseTo } from '@node-saml/node-saml';
// The very check node-saml runs on the response's own signature, so we can tell which signature it
// relied on (it returns the verified XML of one or the other, not which).
import { getVerifiedXml } from '@node-saml/node-saml/lib/xml.js';
import { LoginFailure } from '../traces.ts';
import { child, children, containsComment, descendants, NS, parseXml, text, XmlRefused } from './xml.ts';

export interface ServiceProviderOptions {
  spEntityId: string;
  acsUrl: string;
  idpEntityId: string;
  idpSsoUrl: string;
  idpCertificates: string[];
  /** PEM; signs AuthnRequests (when asked) and decrypts encrypted assertions. */
  spPrivateKey: string;
  signAuthnRequests: boolean;
  nameIdFormat: string;
  clockSkewSeconds: number;
}

/** Largest SAMLResponse accepted, base64 (a response with many groups can be big; 1 MB is plenty). */
export const MAX_SAML_RESPONSE_BYTES = 1024 * 1024;

const SHA1_ALGORITHMS = new Set([
  'http://www.w3.org/2000/09/xmldsig#rsa-sha1',
  'http://www.w3.org/2000/09/xmldsig#dsa-sha1',
  'http://www.w3.org/2000/09/xmldsig#sha1',
  'http://www.w3.org/2000/09/xmldsig#hmac-sha1',
]);
const STATUS_SUCCESS = 'urn:oasis:names:tc:SAML:2.0:status:Success';
const BEARER = 'urn:oasis:names:tc:SAML:2.0:cm:bearer';

function nodeSaml(options: ServiceProviderOptions, requestId?: string): SAML {
  const config: SamlConfig = {
    callbackUrl: options.acsUrl,
    entryPoint: options.idpSsoUrl,
    issuer: options.spEntityId,
    audience: options.spEntityId,
    idpCert: options.idpCertificates,
    // Either the response or the assertion must be signed; node-saml then requires the assertion's
    // signature whenever the response's is absent or invalid.
    wantAuthnResponseSigned: false,
    wantAssertionsSigned: false,
    acceptedClockSkewMs: options.clockSkewSeconds * 1000,
    identifierFormat: options.nameIdFormat,
    decryptionPvk: options.spPrivateKey,
    signatureAlgorithm: 'sha256',
    digestAlgorithm: 'sha256',
    disableRequestedAuthnContext: true,
    // InResponseTo is checked against the flow stored in the database (works across processes).
    validateInResponseTo: ValidateInResponseTo.never,
    ...(options.signAuthnRequests ? { privateKey: options.spPrivateKey } : {}),
    ...(requestId ? { generateUniqueId: () => requestId } : {}),
  };
  return new SAML(config);
}

/** The IdP's SSO URL with a (deflated, optionally signed) AuthnRequest: HTTP-Redirect binding. */
export async function authnRequestRedirectUrl(
  options: ServiceProviderOptions,
  requestId: string,
  relayState: string,
): Promise<string> {
  return nodeSaml(options, requestId).getAuthorizeUrlAsync(relayState, undefined, {});
}

/** The AuthnRequest XML (signed inside when asked), for the HTTP-POST binding. */
export async function authnRequestXml(options: ServiceProviderOptions, requestId: string): Promise<string> {
  const saml = nodeSaml(options, requestId) as unknown as {
    generateAuthorizeRequestAsync(isPassive: boolean, isHttpPostBinding: boolean): Promise<string>;
  };
  return saml.generateAuthorizeRequestAsync(false, true);
}

export interface ResponseEnvelope {
  xml: string;
  document: Document;
  response: Element;
  responseId: string | undefined;
  inResponseTo: string | undefined;
  destination: string | undefined;
  issuer: string | undefined;
  statusCode: string | undefined;
  statusMessage: string | undefined;
  encrypted: boolean;
  responseSigned: boolean;
}

/** Step: base64-decodes the SAMLResponse form field and parses it (no DTDs). */
export function readSamlResponse(samlResponse: unknown): ResponseEnvelope {
  if (typeof samlResponse !== 'string' || samlResponse.length === 0) {
    throw new LoginFailure({
      code: 'saml_response_missing',
      step: 'response_received',
      reason: 'The POST to the ACS URL carried no SAMLResponse form field.',
    });
  }
  if (samlResponse.length > MAX_SAML_RESPONSE_BYTES) {
    throw new LoginFailure({
      code: 'saml_response_too_large',
      step: 'response_received',
      reason: `The SAMLResponse is ${samlResponse.length} bytes; at most ${MAX_SAML_RESPONSE_BYTES} are accepted.`,
    });
  }
  const xml = Buffer.from(samlResponse.replace(/\s+/g, ''), 'base64').toString('utf8');
  let document: Document;
  try {
    document = parseXml(xml);
  } catch (error) {
    throw new LoginFailure({
      code:
        error instanceof XmlRefused && /DTD/.test(error.message)
          ? 'saml_dtd_refused'
          : 'saml_response_malformed',
      step: 'response_received',
      reason: `The SAMLResponse was refused: ${(error as Error).message}.`,
    });
  }
  const response = document.documentElement;
  if (response.namespaceURI !== NS.protocol || response.localName !== 'Response') {
    throw new LoginFailure({
      code: 'saml_response_malformed',
      step: 'response_received',
      reason: `Expected a samlp:Response, got <${response.localName}> (${response.namespaceURI ?? 'no namespace'}).`,
    });
  }
  const status = child(response, NS.protocol, 'Status');
  const statusCode = status ? child(status, NS.protocol, 'StatusCode') : undefined;
  const nested = statusCode ? child(statusCode, NS.protocol, 'StatusCode') : undefined;
  const code = statusCode?.getAttribute('Value') ?? undefined;
  return {
    xml,
    document,
    response,
    responseId: response.getAttribute('ID') || undefined,
    inResponseTo: response.getAttribute('InResponseTo') || undefined,
    destination: response.getAttribute('Destination') || undefined,
    issuer: text(child(response, NS.assertion, 'Issuer')),
    statusCode: code && nested?.getAttribute('Value') ? `${code} / ${nested.getAttribute('Value')}` : code,
    statusMessage: status ? text(child(status, NS.protocol, 'StatusMessage')) : undefined,
    encrypted: children(response, NS.assertion, 'EncryptedAssertion').length > 0,
    responseSigned: children(response, NS.dsig, 'Signature').length > 0,
  };
}

/** Step: a non-Success status is the IdP refusing the login (the user cancelled, no access, ...). */
export function checkStatus(envelope: ResponseEnvelope): void {
  if (envelope.statusCode?.startsWith(STATUS_SUCCESS)) return;
  throw new LoginFailure({
    code: 'saml_idp_error',
    step: 'response_received',
    reason: `The IdP answered with status ${envelope.statusCode ?? '(none)'}${envelope.statusMessage ? `: ${envelope.statusMessage}` : ''}.`,
    userMessage:
      'Your identity provider did not sign you in. It may not have granted you access to this application.',
  });
}

export interface VerifiedAssertion {
  /** The assertion element as covered by a valid signature (decrypted first when it was encrypted). */
  assertion: Element;
  assertionXml: string;
  /**
   * The signature the assertion was accepted on: the response's (it covers the assertion), or,
   * when the response is unsigned, the assertion's own.
   */
  signedBy: 'response' | 'assertion';
  /** The assertion carries a signature of its own (checked only when `signedBy` is `assertion`). */
  assertionSigned: boolean;
}

/** Where an element sits, by local names from the root: `Response/Extensions/Assertion`. */
function elementPath(element: Element): string {
  const names: string[] = [];
  for (let node: Node | null = element; node && node.nodeType === 1; node = node.parentNode) {
    names.unshift((node as Element).localName);
  }
  return names.join('/');
}

/**
 * Step: exactly one assertion in the whole message. Every saml:Assertion and saml:EncryptedAssertion
 * counts, wherever it sits (samlp:Extensions, saml:Advice, inside another assertion): a second one
 * anywhere is how signature wrapping (XSW) smuggles an unsigned identity next to a signed one, and
 * no IdP sends more than one.
 */
export function checkSingleAssertion(envelope: ResponseEnvelope): void {
  const found = [
    ...descendants(envelope.document, NS.assertion, 'Assertion'),
    ...descendants(envelope.document, NS.assertion, 'EncryptedAssertion'),
  ];
  if (found.length === 1) return;
  const where = found.map(elementPath);
  throw new LoginFailure({
    code: found.length === 0 ? 'saml_no_assertion' : 'saml_multiple_assertions',
    step: 'signature_check',
    reason:
      found.length === 0
        ? 'The response carries no assertion.'
        : `The response carries ${found.length} assertions (${where.join(', ')}); exactly one is accepted anywhere in the message (a second one is a signature-wrapping attack).`,
    data: { assertions: where },
  });
}

/**
 * Step: verifies the signature of the response or the assertion against the configured certificates
 * only (a certificate inside the message is never trusted), decrypts an encrypted assertion, and
 * returns only what the signature covers. More than one assertion anywhere is refused; so is a
 * response signature that does not verify (node-saml would fall back to the assertion's, leaving
 * the response's Destination and InResponseTo unprotected although the IdP signed them).
 */
export async function verifySignature(
  options: ServiceProviderOptions,
  envelope: ResponseEnvelope,
  samlResponse: string,
): Promise<VerifiedAssertion> {
  checkSingleAssertion(envelope);
  const saml = nodeSaml(options);
  let assertionXml: string;
  try {
    const result = await saml.validatePostResponseAsync({ SAMLResponse: samlResponse });
    const profile = result.profile as { getAssertionXml?: () => string } | null;
    if (!profile?.getAssertionXml) throw new Error('Missing SAML assertion');
    assertionXml = profile.getAssertionXml();
  } catch (error) {
    throw classifyNodeSamlError(error);
  }
  const assertion = parseXml(assertionXml).documentElement;
  if (assertion.namespaceURI !== NS.assertion || assertion.localName !== 'Assertion') {
    throw new LoginFailure({
      code: 'saml_signature_invalid',
      step: 'signature_check',
      reason: 'The signed content is not a saml:Assertion.',
    });
  }
  // node-saml relies on the response's signature when it verifies, else on the assertion's; it has
  // cached the configured certificates as PEM (`pemFiles`) while validating.
  let responseVerified = false;
  if (envelope.responseSigned) {
    try {
      responseVerified = getVerifiedXml(envelope.xml, envelope.response, saml.pemFiles) !== null;
    } catch {
      responseVerified = false;
    }
    if (!responseVerified) {
      throw new LoginFailure({
        code: 'saml_signature_invalid',
        step: 'signature_check',
        reason:
          "The response's signature does not verify against the configured certificate(s) (the response was changed after signing, or signed with another key); the assertion's own signature is not accepted in its place.",
      });
    }
  }
  const received = child(envelope.response, NS.assertion, 'Assertion');
  const assertionSigned =
    children(assertion, NS.dsig, 'Signature').length > 0 ||
    (received !== undefined && children(received, NS.dsig, 'Signature').length > 0) ||
    !responseVerified;
  return { assertion, assertionXml, signedBy: responseVerified ? 'response' : 'assertion', assertionSigned };
}

/** The trace's words for what `verifySignature` verified. */
export function describeVerifiedSignature(envelope: ResponseEnvelope, verified: VerifiedAssertion): string {
  const decrypted = envelope.encrypted ? ' (assertion decrypted)' : '';
  if (verified.signedBy === 'assertion')
    return `Assertion signature verified against the configured certificate(s); the response itself is unsigned${decrypted}`;
  return verified.assertionSigned
    ? `Response signature verified against the configured certificate(s); it covers the assertion, whose own signature was not needed${decrypted}`
    : `Response signature verified against the configured certificate(s); it covers the unsigned assertion${decrypted}`;
}

/** Maps node-saml's error messages to our codes, keeping its message for the admin. */
function classifyNodeSamlError(error: unknown): LoginFailure {
  const message = error instanceof Error ? error.message : String(error);
  const rules: Array<[RegExp, string, string]> = [
    [/multiple assertions/i, 'saml_multiple_assertions', 'signature_check'],
    [/signature/i, 'saml_signature_invalid', 'signature_check'],
    [/decrypt|EncryptedAssertion|decryption/i, 'saml_decryption_failed', 'signature_check'],
    [/audience/i, 'saml_audience_mismatch', 'message_checks'],
    [/not yet valid/i, 'saml_not_yet_valid', 'message_checks'],
    [/expired/i, 'saml_expired', 'message_checks'],
    [/subject confirmation/i, 'saml_subject_confirmation_invalid', 'message_checks'],
    [/status|Responder|Requester/i, 'saml_idp_error', 'response_received'],
  ];
  for (const [pattern, code, step] of rules) {
    if (pattern.test(message)) {
      return new LoginFailure({
        code,
        step: step as 'signature_check',
        reason: `SAML validation failed: ${message}.`,
        cause: error,
      });
    }
  }
  return new LoginFailure({
    code: 'saml_response_invalid',
    step: 'signature_check',
    reason: `SAML validation failed: ${message}.`,
    cause: error,
  });
}

/** Step: refuses SHA-1 signatures and digests (collision attacks; no IdP still needs them). */
export function refuseWeakAlgorithms(envelope: ResponseEnvelope, verified: VerifiedAssertion): void {
  const signatures = [
    ...descendants(envelope.document, NS.dsig, 'Signature'),
    ...descendants(verified.assertion, NS.dsig, 'Signature'),
  ];
  for (const signature of signatures) {
    for (const [localName] of [['SignatureMethod'], ['DigestMethod']] as const) {
      for (const method of descendants(signature, NS.dsig, localName)) {
        const algorithm = method.getAttribute('Algorithm') ?? '';
        if (SHA1_ALGORITHMS.has(algorithm)) {
          throw new LoginFailure({
            code: 'saml_weak_algorithm',
            step: 'signature_check',
            reason: `The response is signed with SHA-1 (${algorithm}). Configure the IdP to sign with SHA-256.`,
          });
        }
      }
    }
  }
}

/** Step: the assertion (and the response, when it names one) comes from the configured IdP. */
export function checkIssuer(
  options: ServiceProviderOptions,
  envelope: ResponseEnvelope,
  verified: VerifiedAssertion,
) {
  const assertionIssuer = text(child(verified.assertion, NS.assertion, 'Issuer'));
  if (assertionIssuer !== options.idpEntityId) {
    throw new LoginFailure({
      code: 'saml_issuer_mismatch',
      step: 'message_checks',
      reason: `The assertion's Issuer is "${assertionIssuer ?? '(none)'}"; this connection expects "${options.idpEntityId}".`,
    });
  }
  if (envelope.issuer !== undefined && envelope.issuer !== options.idpEntityId) {
    throw new LoginFailure({
      code: 'saml_issuer_mismatch',
      step: 'message_checks',
      reason: `The response's Issuer is "${envelope.issuer}"; this connection expects "${options.idpEntityId}".`,
    });
  }
}

/**
 * Step: the response was meant for our ACS URL. Destination is required when the response itself
 * is signed (Core §3.2.2), and must match whenever present.
 */
export function checkDestination(
  options: ServiceProviderOptions,
  envelope: ResponseEnvelope,
  verified: VerifiedAssertion,
) {
  if (envelope.destination === undefined) {
    if (verified.signedBy === 'response') {
      throw new LoginFailure({
        code: 'saml_destination_mismatch',
        step: 'message_checks',
        reason: 'The signed response has no Destination attribute.',
      });
    }
    return;
  }
  if (envelope.destination !== options.acsUrl) {
    throw new LoginFailure({
      code: 'saml_destination_mismatch',
      step: 'message_checks',
      reason: `The response's Destination is "${envelope.destination}"; our ACS URL is "${options.acsUrl}".`,
    });
  }
}

/**
 * Step: a bearer SubjectConfirmation for our ACS URL (Recipient), still valid, answering our
 * request (InResponseTo) or, for IdP-initiated logins, answering none (Profiles §4.1.4.2).
 */
export function checkSubjectConfirmation(
  options: ServiceProviderOptions,
  verified: VerifiedAssertion,
  expectedRequestId: string | undefined,
  now: Date,
): void {
  const subject = child(verified.assertion, NS.assertion, 'Subject');
  const confirmations = subject ? children(subject, NS.assertion, 'SubjectConfirmation') : [];
  const problems: string[] = [];
  for (const confirmation of confirmations) {
    if (confirmation.getAttribute('Method') !== BEARER) {
      problems.push(`method ${confirmation.getAttribute('Method')} is not bearer`);
      continue;
    }
    const data = child(confirmation, NS.assertion, 'SubjectConfirmationData');
    if (!data) {
      problems.push('no SubjectConfirmationData');
      continue;
    }
    const recipient = data.getAttribute('Recipient') || undefined;
    if (recipient !== options.acsUrl) {
      problems.push(`Recipient is "${recipient ?? '(none)'}", expected "${options.acsUrl}"`);
      continue;
    }
    const notOnOrAfter = data.getAttribute('NotOnOrAfter');
    if (!notOnOrAfter) {
      problems.push('no NotOnOrAfter');
      continue;
    }
    if (now.getTime() - options.clockSkewSeconds * 1000 >= Date.parse(notOnOrAfter)) {
      problems.push(`expired at ${notOnOrAfter}`);
      continue;
    }
    const notBefore = data.getAttribute('NotBefore');
    if (notBefore && now.getTime() + options.clockSkewSeconds * 1000 < Date.parse(notBefore)) {
      problems.push(`not valid before ${notBefore}`);
      continue;
    }
    const inResponseTo = data.getAttribute('InResponseTo') || undefined;
    if (inResponseTo !== expectedRequestId) {
      problems.push(
        expectedRequestId
          ? `InResponseTo is "${inResponseTo ?? '(none)'}", expected our request "${expectedRequestId}"`
          : `InResponseTo is "${inResponseTo}" but no request of ours is pending with that id`,
      );
      continue;
    }
    return;
  }
  throw new LoginFailure({
    code: 'saml_subject_confirmation_invalid',
    step: 'message_checks',
    reason: `No usable bearer SubjectConfirmation: ${problems.join('; ') || 'none present'}.`,
  });
}

/** Step: Conditions: NotBefore / NotOnOrAfter with the allowed clock skew, and our entity ID as audience. */
export function checkConditions(
  options: ServiceProviderOptions,
  verified: VerifiedAssertion,
  now: Date,
): { expiresAt: Date } {
  const conditions = children(verified.assertion, NS.assertion, 'Conditions');
  if (conditions.length !== 1) {
    throw new LoginFailure({
      code: 'saml_conditions_invalid',
      step: 'message_checks',
      reason: `The assertion has ${conditions.length} Conditions elements; exactly one is required.`,
    });
  }
  const element = conditions[0] as Element;
  const skew = options.clockSkewSeconds * 1000;
  const notBefore = element.getAttribute('NotBefore');
  const notOnOrAfter = element.getAttribute('NotOnOrAfter');
  if (notBefore && now.getTime() + skew < Date.parse(notBefore)) {
    throw new LoginFailure({
      code: 'saml_not_yet_valid',
      step: 'message_checks',
      reason: `The assertion is not valid before ${notBefore} (now ${now.toISOString()}, ${options.clockSkewSeconds}s skew allowed). Check the IdP's clock.`,
    });
  }
  if (notOnOrAfter && now.getTime() - skew >= Date.parse(notOnOrAfter)) {
    throw new LoginFailure({
      code: 'saml_expired',
      step: 'message_checks',
      reason: `The assertion expired at ${notOnOrAfter} (now ${now.toISOString()}, ${options.clockSkewSeconds}s skew allowed).`,
    });
  }
  const restrictions = children(element, NS.assertion, 'AudienceRestriction');
  const audiences = restrictions.flatMap((restriction) =>
    children(restriction, NS.assertion, 'Audience').map((audience) => text(audience) ?? ''),
  );
  // Every AudienceRestriction must include us (Core §2.5.1.4).
  const admitted =
    restrictions.length > 0 &&
    restrictions.every((restriction) =>
      children(restriction, NS.assertion, 'Audience').some(
        (audience) => text(audience) === options.spEntityId,
      ),
    );
  if (!admitted) {
    throw new LoginFailure({
      code: 'saml_audience_mismatch',
      step: 'message_checks',
      reason: `The assertion's audience is ${audiences.length ? audiences.map((a) => `"${a}"`).join(', ') : '(none)'}; this connection's SP entity ID is "${options.spEntityId}".`,
    });
  }
  const fallback = new Date(now.getTime() + 60 * 60 * 1000);
  const expiresAt = notOnOrAfter ? new Date(Date.parse(notOnOrAfter) + skew) : fallback;
  return { expiresAt };
}

/**
 * Step: no XML comments inside the assertion. Canonicalization drops comments, so
 * `admin@acme.com<!---->.evil.com` carries the signature of `admin@acme.com.evil.com`; libraries
 * that read the first text node see `admin@acme.com`. We read whole text content, and refuse such
 * assertions outright: no IdP puts comments in an assertion.
 */
export function refuseComments(envelope: ResponseEnvelope, verified: VerifiedAssertion): void {
  // The verified XML is canonical (comments stripped), so look at the message as received too.
  const received = children(envelope.response, NS.assertion, 'Assertion');
  if (containsComment(verified.assertion) || received.some((assertion) => containsComment(assertion))) {
    throw new LoginFailure({
      code: 'saml_comment_in_assertion',
      step: 'message_checks',
      reason: 'The assertion contains an XML comment (NameID / attribute comment injection); refused.',
    });
  }
}

export interface AssertionClaims {
  assertionId: string;
  nameId: string;
  nameIdFormat: string | undefined;
  sessionIndex: string | undefined;
  attributes: Record<string, string | string[]>;
}

/** Step: reads NameID and attributes from the verified assertion. */
export function readAssertionClaims(verified: VerifiedAssertion): AssertionClaims {
  const assertionId = verified.assertion.getAttribute('ID');
  const subject = child(verified.assertion, NS.assertion, 'Subject');
  const nameIdElement = subject ? child(subject, NS.assertion, 'NameID') : undefined;
  const nameId = text(nameIdElement);
  if (!assertionId || !nameId) {
    throw new LoginFailure({
      code: 'saml_subject_missing',
      step: 'claims_received',
      reason: !assertionId ? 'The assertion has no ID.' : 'The assertion has no Subject/NameID.',
    });
  }
  const attributes: Record<string, string | string[]> = {};
  for (const statement of children(verified.assertion, NS.assertion, 'AttributeStatement')) {
    for (const attribute of children(statement, NS.assertion, 'Attribute')) {
      const name = attribute.getAttribute('Name');
      if (!name) continue;
      const values = children(attribute, NS.assertion, 'AttributeValue')
        .map((value) => text(value) ?? '')
        .filter((value) => value !== '');
      if (values.length === 0) continue;
      const previous = attributes[name];
      const merged =
        previous === undefined ? values : [...(Array.isArray(previous) ? previous : [previous]), ...values];
      attributes[name] = merged.length === 1 ? (merged[0] as string) : merged;
    }
  }
  const authn = child(verified.assertion, NS.assertion, 'AuthnStatement');
  return {
    assertionId,
    nameId,
    nameIdFormat: nameIdElement?.getAttribute('Format') || undefined,
    sessionIndex: authn?.getAttribute('SessionIndex') || undefined,
    attributes,
  };
}
