/**
 * The IdP side of SAML Web Browser SSO, used by the built-in test IdP: reads an AuthnRequest
 * (HTTP-Redirect binding), builds a Response with one assertion, and signs the assertion with
 * xml-crypto (RSA-SHA256, exclusive c14n, enveloped: what Entra and Okta send). The hub's own ACS
 * then checks it like any other IdP's response.
 */
import { randomBytes } from 'node:crypto';
import { inflateRawSync } from 'node:zlib';
import { SignedXml } from 'xml-crypto';
import { BINDINGS, child, escapeXml, NS, parseXml, text } from './xml.ts';

export interface IncomingAuthnRequest {
  id: string;
  issuer: string | undefined;
  acsUrl: string | undefined;
}

/** Decodes a SAMLRequest from the HTTP-Redirect binding (base64 of raw DEFLATE, Bindings §3.4.4.1). */
export function readRedirectAuthnRequest(samlRequest: string): IncomingAuthnRequest {
  const compressed = Buffer.from(samlRequest, 'base64');
  let xml: string;
  try {
    xml = inflateRawSync(compressed, { maxOutputLength: 256 * 1024 }).toString('utf8');
  } catch {
    xml = compressed.toString('utf8');
  }
  return readAuthnRequestXml(xml);
}

export function readAuthnRequestXml(xml: string): IncomingAuthnRequest {
  const document = parseXml(xml);
  const root = document.documentElement;
  if (root.namespaceURI !== NS.protocol || root.localName !== 'AuthnRequest') {
    throw new Error('SAMLRequest is not an AuthnRequest');
  }
  const id = root.getAttribute('ID');
  if (!id) throw new Error('AuthnRequest has no ID');
  return {
    id,
    issuer: text(child(root, NS.assertion, 'Issuer')),
    acsUrl: root.getAttribute('AssertionConsumerServiceURL') || undefined,
  };
}

export interface AssertionInput {
  issuer: string;
  /** The SP's ACS URL: Destination and Recipient. */
  acsUrl: string;
  /** The SP's entity ID: the audience. */
  audience: string;
  inResponseTo?: string | undefined;
  nameId: string;
  nameIdFormat: string;
  attributes: Record<string, string | string[]>;
  /** How long the assertion may be presented (seconds). */
  validForSeconds?: number;
  now?: Date;
  sessionIndex?: string;
}

export function samlId(): string {
  // NCName: must not start with a digit (XML Schema ID type).
  return `_${randomBytes(20).toString('hex')}`;
}

/** An unsigned samlp:Response with one saml:Assertion. */
export function buildResponseXml(input: AssertionInput): {
  xml: string;
  responseId: string;
  assertionId: string;
} {
  const now = input.now ?? new Date();
  const issueInstant = now.toISOString();
  const notBefore = new Date(now.getTime() - 60_000).toISOString();
  const notOnOrAfter = new Date(now.getTime() + (input.validForSeconds ?? 300) * 1000).toISOString();
  const responseId = samlId();
  const assertionId = samlId();
  const inResponseTo = input.inResponseTo ? ` InResponseTo="${escapeXml(input.inResponseTo)}"` : '';
  const attributes = Object.entries(input.attributes)
    .map(([name, value]) => {
      const values = (Array.isArray(value) ? value : [value])
        .map((item) => `<saml:AttributeValue xsi:type="xs:string">${escapeXml(item)}</saml:AttributeValue>`)
        .join('');
      return `<saml:Attribute Name="${escapeXml(name)}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified">${values}</saml:Attribute>`;
    })
    .join('');
  const xml = `<samlp:Response xmlns:samlp="${NS.protocol}" xmlns:saml="${NS.assertion}" ID="${responseId}" Version="2.0" IssueInstant="${issueInstant}" Destination="${escapeXml(input.acsUrl)}"${inResponseTo}><saml:Issuer>${escapeXml(input.issuer)}</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status><saml:Assertion xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ID="${assertionId}" Version="2.0" IssueInstant="${issueInstant}"><saml:Issuer>${escapeXml(input.issuer)}</saml:Issuer><saml:Subject><saml:NameID Format="${escapeXml(input.nameIdFormat)}">${escapeXml(input.nameId)}</saml:NameID><saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="${notOnOrAfter}" Recipient="${escapeXml(input.acsUrl)}"${inResponseTo}/></saml:SubjectConfirmation></saml:Subject><saml:Conditions NotBefore="${notBefore}" NotOnOrAfter="${notOnOrAfter}"><saml:AudienceRestriction><saml:Audience>${escapeXml(input.audience)}</saml:Audience></saml:AudienceRestriction></saml:Conditions><saml:AuthnStatement AuthnInstant="${issueInstant}" SessionIndex="${escapeXml(input.sessionIndex ?? assertionId)}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>${attributes ? `<saml:AttributeStatement>${attributes}</saml:AttributeStatement>` : ''}</saml:Assertion></samlp:Response>`;
  return { xml, responseId, assertionId };
}

const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
const SHA256 = 'http://www.w3.org/2001/04/xmlenc#sha256';
const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';
const ENVELOPED = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature';

/**
 * Signs the assertion (`target: 'assertion'`) or the whole response (`'response'`) of a SAML
 * response; the signature goes right after the signed element's Issuer (schema order).
 */
export function signSamlXml(
  xml: string,
  options: {
    target: 'assertion' | 'response';
    privateKeyPem: string;
    certificatePem: string;
    signatureAlgorithm?: string;
    digestAlgorithm?: string;
  },
): string {
  const element = options.target === 'assertion' ? 'Assertion' : 'Response';
  const signer = new SignedXml({
    privateKey: options.privateKeyPem,
    publicCert: options.certificatePem,
    signatureAlgorithm: options.signatureAlgorithm ?? RSA_SHA256,
    canonicalizationAlgorithm: EXC_C14N,
  });
  signer.addReference({
    xpath: `//*[local-name(.)='${element}']`,
    digestAlgorithm: options.digestAlgorithm ?? SHA256,
    transforms: [ENVELOPED, EXC_C14N],
  });
  signer.computeSignature(xml, {
    prefix: 'ds',
    location: {
      reference: `//*[local-name(.)='${element}']/*[local-name(.)='Issuer']`,
      action: 'after',
    },
  });
  return signer.getSignedXml();
}

/** IdP metadata for the test IdP (so it can also be used as a "real" IdP by other SPs). */
export function renderIdpMetadata(options: {
  entityId: string;
  ssoUrl: string;
  certificatePem: string;
}): string {
  const cert = options.certificatePem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
  return `<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="${NS.metadata}" entityID="${escapeXml(options.entityId)}">
  <md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="${NS.protocol}">
    <md:KeyDescriptor use="signing">
      <ds:KeyInfo xmlns:ds="${NS.dsig}"><ds:X509Data><ds:X509Certificate>${cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>
    </md:KeyDescriptor>
    <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>
    <md:SingleSignOnService Binding="${BINDINGS.redirect}" Location="${escapeXml(options.ssoUrl)}"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>
`;
}
