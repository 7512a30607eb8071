/** The identity providers a connection can be made for, in the words of each one's admin console. */
import type { Schemas } from '../../api/types.ts';

export type Connection = Schemas['Connection'];

/** What each preset needs, in the words of that IdP's admin console. */
export const PRESETS: Record<
  Connection['preset'],
  { label: string; protocols: Array<'oidc' | 'saml'>; guide: string }
> = {
  entra: {
    label: 'Microsoft Entra ID',
    protocols: ['oidc', 'saml'],
    guide:
      'OIDC: App registrations → New registration, redirect URI (Web) = our redirect URI; use the tenant-specific discovery URL https://login.microsoftonline.com/<tenant-id>/v2.0. SAML: Enterprise applications → Create your own → SAML; Identifier = our entity ID, Reply URL = our ACS URL; upload the Federation Metadata XML here.',
  },
  okta: {
    label: 'Okta',
    protocols: ['oidc', 'saml'],
    guide:
      'OIDC: Applications → Create App Integration → OIDC Web Application, sign-in redirect URI = our redirect URI, discovery URL https://<your-okta-domain>. SAML: Single sign-on URL = our ACS URL, Audience URI = our entity ID; attribute statements email, firstName, lastName and a groups statement.',
  },
  ping: {
    label: 'PingFederate / PingOne',
    protocols: ['saml', 'oidc'],
    guide:
      'Ping sends LDAP names (mail, givenName, sn, memberOf): the preset maps them. SAML: import our SP metadata URL; OIDC: the preset also reads userinfo, where Ping often puts mail.',
  },
  google: {
    label: 'Google Workspace',
    protocols: ['saml', 'oidc'],
    guide:
      'SAML: Admin console → Apps → Web and mobile apps → Add custom SAML app; ACS URL and Entity ID from us; map firstName, lastName and group membership to "groups". OIDC: discovery https://accounts.google.com (no groups).',
  },
  adfs: {
    label: 'AD FS',
    protocols: ['saml'],
    guide:
      'Add Relying Party Trust → import our SP metadata URL; claim rules E-Mail-Addresses, Given-Name, Surname, UPN, Token-Groups. Metadata: https://<adfs>/FederationMetadata/2007-06/FederationMetadata.xml.',
  },
  generic: {
    label: 'Other (generic)',
    protocols: ['oidc', 'saml'],
    guide: 'Standard OIDC claims or common SAML attribute names; adjust the mapping afterwards if needed.',
  },
};
