/**
 * SAML metadata: reading an IdP's (entity ID, SSO endpoints, signing certificates, several during a
 * rollover) and writing ours (SP entity ID, ACS, signing and encryption certificate).
 * Spec: SAML V2.0 Metadata (saml-metadata-2.0-os) §2.4.3 IDPSSODescriptor, §2.4.4 SPSSODescriptor.
 */
import { BINDINGS, child, children, escapeXml, NS, parseXml, text } from './xml.ts';

export interface IdpMetadata {
  entityId: string;
  /** SingleSignOnService for the HTTP-Redirect binding, if offered. */
  ssoRedirectUrl?: string;
  /** SingleSignOnService for the HTTP-POST binding, if offered. */
  ssoPostUrl?: string;
  /** Base64 bodies of the signing certificates (KeyDescriptor use="signing" or without use). */
  signingCertificates: string[];
  wantAuthnRequestsSigned: boolean;
  nameIdFormats: string[];
}

export class MetadataError extends Error {
  override name = 'MetadataError';
}

export function parseIdpMetadata(xml: string): IdpMetadata {
  let document: Document;
  try {
    document = parseXml(xml);
  } catch (error) {
    throw new MetadataError(`IdP metadata is not usable: ${(error as Error).message}`);
  }
  const root = document.documentElement;
  let entity: Element | undefined;
  if (root.namespaceURI === NS.metadata && root.localName === 'EntityDescriptor') entity = root;
  else if (root.namespaceURI === NS.metadata && root.localName === 'EntitiesDescriptor') {
    entity = children(root, NS.metadata, 'EntityDescriptor').find((candidate) =>
      Boolean(child(candidate, NS.metadata, 'IDPSSODescriptor')),
    );
  }
  if (!entity) {
    throw new MetadataError(
      'IdP metadata has no md:EntityDescriptor (expected SAML 2.0 metadata, namespace urn:oasis:names:tc:SAML:2.0:metadata)',
    );
  }
  const entityId = entity.getAttribute('entityID')?.trim();
  if (!entityId) throw new MetadataError('IdP metadata: the EntityDescriptor has no entityID');
  const idp = child(entity, NS.metadata, 'IDPSSODescriptor');
  if (!idp) {
    throw new MetadataError(
      `IdP metadata for ${entityId} has no IDPSSODescriptor: this looks like service-provider metadata, not the IdP's`,
    );
  }
  const services = children(idp, NS.metadata, 'SingleSignOnService');
  const location = (binding: string) =>
    services
      .find((service) => service.getAttribute('Binding') === binding)
      ?.getAttribute('Location')
      ?.trim() || undefined;
  const ssoRedirectUrl = location(BINDINGS.redirect);
  const ssoPostUrl = location(BINDINGS.post);
  if (!ssoRedirectUrl && !ssoPostUrl) {
    throw new MetadataError(
      `IdP metadata for ${entityId} has no SingleSignOnService with the HTTP-Redirect or HTTP-POST binding`,
    );
  }
  const signingCertificates: string[] = [];
  for (const descriptor of children(idp, NS.metadata, 'KeyDescriptor')) {
    const use = descriptor.getAttribute('use');
    if (use && use !== 'signing') continue;
    const keyInfo = child(descriptor, NS.dsig, 'KeyInfo');
    const data = keyInfo ? children(keyInfo, NS.dsig, 'X509Data') : [];
    for (const x509Data of data) {
      for (const certificate of children(x509Data, NS.dsig, 'X509Certificate')) {
        const body = text(certificate)?.replace(/\s+/g, '');
        if (body && !signingCertificates.includes(body)) signingCertificates.push(body);
      }
    }
  }
  if (signingCertificates.length === 0) {
    throw new MetadataError(
      `IdP metadata for ${entityId} has no signing certificate (KeyDescriptor use="signing")`,
    );
  }
  return {
    entityId,
    ...(ssoRedirectUrl ? { ssoRedirectUrl } : {}),
    ...(ssoPostUrl ? { ssoPostUrl } : {}),
    signingCertificates,
    wantAuthnRequestsSigned: idp.getAttribute('WantAuthnRequestsSigned') === 'true',
    nameIdFormats: children(idp, NS.metadata, 'NameIDFormat')
      .map((element) => text(element) ?? '')
      .filter(Boolean),
  };
}

/** Our SP metadata for one connection. */
export function renderSpMetadata(options: {
  entityId: string;
  acsUrl: string;
  certificatePem: string;
  nameIdFormat: string;
  authnRequestsSigned: boolean;
  wantAssertionsSigned: boolean;
}): string {
  const cert = options.certificatePem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
  const keyDescriptor = (use: string) => `
    <md:KeyDescriptor use="${use}">
      <ds:KeyInfo xmlns:ds="${NS.dsig}">
        <ds:X509Data><ds:X509Certificate>${cert}</ds:X509Certificate></ds:X509Data>
      </ds:KeyInfo>${
        use === 'encryption'
          ? `
      <md:EncryptionMethod Algorithm="http://www.w3.org/2009/xmlenc11#aes256-gcm"/>
      <md:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes256-cbc"/>`
          : ''
      }
    </md:KeyDescriptor>`;
  return `<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="${NS.metadata}" entityID="${escapeXml(options.entityId)}">
  <md:SPSSODescriptor AuthnRequestsSigned="${options.authnRequestsSigned}" WantAssertionsSigned="${options.wantAssertionsSigned}" protocolSupportEnumeration="${NS.protocol}">${keyDescriptor('signing')}${keyDescriptor('encryption')}
    <md:NameIDFormat>${escapeXml(options.nameIdFormat)}</md:NameIDFormat>
    <md:AssertionConsumerService Binding="${BINDINGS.post}" Location="${escapeXml(options.acsUrl)}" index="0" isDefault="true"/>
  </md:SPSSODescriptor>
</md:EntityDescriptor>
`;
}
