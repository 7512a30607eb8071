/**
 * Connection presets: what each IdP vendor sends by default, so an admin picks "Entra ID" and only
 * overrides what their tenant does differently.
 *
 * Sources:
 * - Entra ID: "ID token claims reference" and "SAML token claims reference" (Microsoft identity
 *   platform docs). OIDC `sub` is pairwise per application; `oid` is the user's object id in the
 *   tenant, the same for every app, so it is the subject. SAML claims arrive as URIs.
 * - Okta: "OpenID Connect & OAuth 2.0 API, scopes and claims"; SAML attribute statements are named
 *   by the admin, and Okta's own templates use `firstName`, `lastName`, `email`, `groups`.
 * - PingFederate / PingOne: LDAP attribute names: `mail` (not `email`), `givenName`, `sn`, `memberOf`.
 * - Google Workspace: OIDC standard claims (no groups); SAML NameID is the primary email.
 * - AD FS: claim type URIs (`.../claims/emailaddress`, `.../claims/upn`, `.../claims/Group`).
 */
import type { AttributeMapping, Preset, Protocol } from './contracts.ts';
import { NAMEID_SOURCE } from './mapping.ts';

const CLAIMS_2005 = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims';
const MS_CLAIMS = 'http://schemas.microsoft.com/identity/claims';
const MS_2008 = 'http://schemas.microsoft.com/ws/2008/06/identity/claims';

export interface PresetDefaults {
  label: string;
  mapping: Record<'oidc' | 'saml', AttributeMapping>;
  oidc: { scopes: string[]; fetchUserInfo: boolean };
  saml: { nameIdFormat: string };
  /** Shown to the admin when setting the connection up. */
  hint: string;
}

const NAMEID_EMAIL = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';
const NAMEID_PERSISTENT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent';
const NAMEID_UNSPECIFIED = 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified';

const standardOidc: AttributeMapping = {
  subject: 'sub',
  email: 'email',
  given_name: 'given_name',
  family_name: 'family_name',
  name: 'name',
  groups: 'groups',
};

export const PRESETS: Record<Preset, PresetDefaults> = {
  generic: {
    label: 'Generic OIDC / SAML 2.0',
    mapping: {
      oidc: { ...standardOidc, employee_id: 'employee_id', department: 'department', title: 'title' },
      saml: {
        subject: NAMEID_SOURCE,
        email: [
          'email',
          'mail',
          'urn:oid:0.9.2342.19200300.100.1.3',
          `${CLAIMS_2005}/emailaddress`,
          NAMEID_SOURCE,
        ],
        given_name: ['given_name', 'firstName', 'givenName', 'urn:oid:2.5.4.42', `${CLAIMS_2005}/givenname`],
        family_name: ['family_name', 'lastName', 'sn', 'urn:oid:2.5.4.4', `${CLAIMS_2005}/surname`],
        name: ['name', 'displayName', 'urn:oid:2.16.840.1.113730.3.1.241'],
        employee_id: ['employee_id', 'employeeNumber'],
        department: ['department'],
        title: ['title'],
        groups: ['groups', 'memberOf'],
      },
    },
    oidc: { scopes: ['openid', 'profile', 'email'], fetchUserInfo: false },
    saml: { nameIdFormat: NAMEID_UNSPECIFIED },
    hint: 'Standard OIDC claims; common SAML attribute names (email, mail, firstName, givenName, ...).',
  },
  entra: {
    label: 'Microsoft Entra ID',
    mapping: {
      oidc: {
        subject: ['oid', 'sub'],
        email: ['email', 'preferred_username', 'upn'],
        given_name: 'given_name',
        family_name: 'family_name',
        name: 'name',
        groups: ['groups', 'roles'],
        employee_id: 'employeeid',
        department: 'department',
        title: 'jobtitle',
      },
      saml: {
        subject: [`${MS_CLAIMS}/objectidentifier`, NAMEID_SOURCE],
        email: [`${CLAIMS_2005}/emailaddress`, `${CLAIMS_2005}/name`, NAMEID_SOURCE],
        given_name: `${CLAIMS_2005}/givenname`,
        family_name: `${CLAIMS_2005}/surname`,
        name: `${MS_CLAIMS}/displayname`,
        groups: [`${MS_2008}/groups`, `${MS_2008}/role`],
        employee_id: ['employeeid', `${CLAIMS_2005}/employeeid`],
        department: ['department', `${CLAIMS_2005}/department`],
        title: ['jobtitle', `${CLAIMS_2005}/jobtitle`],
      },
    },
    oidc: { scopes: ['openid', 'profile', 'email'], fetchUserInfo: false },
    saml: { nameIdFormat: NAMEID_EMAIL },
    hint: 'Use the tenant-specific discovery URL https://login.microsoftonline.com/<tenant-id>/v2.0. Groups arrive as object ids unless the app registration emits names.',
  },
  okta: {
    label: 'Okta',
    mapping: {
      oidc: { ...standardOidc, employee_id: 'employeeNumber', department: 'department', title: 'title' },
      saml: {
        subject: NAMEID_SOURCE,
        email: ['email', NAMEID_SOURCE],
        given_name: 'firstName',
        family_name: 'lastName',
        name: 'displayName',
        groups: 'groups',
        employee_id: 'employeeNumber',
        department: 'department',
        title: 'title',
      },
    },
    oidc: { scopes: ['openid', 'profile', 'email', 'groups'], fetchUserInfo: false },
    saml: { nameIdFormat: NAMEID_EMAIL },
    hint: 'Add a groups claim (OIDC) or a "groups" group attribute statement (SAML) in the Okta app to sync groups.',
  },
  ping: {
    label: 'PingFederate / PingOne',
    mapping: {
      oidc: {
        subject: 'sub',
        email: ['mail', 'email'],
        given_name: ['givenName', 'given_name'],
        family_name: ['sn', 'family_name'],
        name: ['cn', 'name'],
        groups: ['memberOf', 'groups'],
        employee_id: 'employeeNumber',
        department: 'department',
        title: 'title',
      },
      saml: {
        subject: NAMEID_SOURCE,
        email: ['mail', 'email', NAMEID_SOURCE],
        given_name: 'givenName',
        family_name: 'sn',
        name: 'cn',
        groups: 'memberOf',
        employee_id: 'employeeNumber',
        department: 'department',
        title: 'title',
      },
    },
    oidc: { scopes: ['openid', 'profile', 'email'], fetchUserInfo: true },
    saml: { nameIdFormat: NAMEID_UNSPECIFIED },
    hint: 'Ping sends LDAP names: mail for the email, givenName, sn, memberOf.',
  },
  google: {
    label: 'Google Workspace',
    mapping: {
      oidc: {
        subject: 'sub',
        email: 'email',
        given_name: 'given_name',
        family_name: 'family_name',
        name: 'name',
      },
      saml: {
        subject: NAMEID_SOURCE,
        email: [NAMEID_SOURCE, 'email'],
        given_name: ['firstName', 'first_name'],
        family_name: ['lastName', 'last_name'],
        groups: 'groups',
        department: 'department',
        title: 'title',
        employee_id: 'employee_id',
      },
    },
    oidc: { scopes: ['openid', 'profile', 'email'], fetchUserInfo: false },
    saml: { nameIdFormat: NAMEID_EMAIL },
    hint: 'Google OIDC sends no groups; for groups, use a SAML app with a "groups" group membership attribute.',
  },
  adfs: {
    label: 'AD FS',
    mapping: {
      oidc: {
        subject: 'sub',
        email: ['email', 'upn', 'unique_name'],
        given_name: 'given_name',
        family_name: 'family_name',
        name: ['name', 'unique_name'],
        groups: ['group', 'groups', 'role'],
      },
      saml: {
        subject: NAMEID_SOURCE,
        email: [`${CLAIMS_2005}/emailaddress`, `${CLAIMS_2005}/upn`, NAMEID_SOURCE],
        given_name: `${CLAIMS_2005}/givenname`,
        family_name: `${CLAIMS_2005}/surname`,
        name: [`${CLAIMS_2005}/name`, `${MS_CLAIMS}/displayname`],
        groups: ['http://schemas.xmlsoap.org/claims/Group', `${MS_2008}/role`],
        employee_id: `${CLAIMS_2005}/employeeid`,
        department: `${CLAIMS_2005}/department`,
        title: `${CLAIMS_2005}/title`,
      },
    },
    oidc: { scopes: ['openid', 'profile', 'email', 'allatclaims'], fetchUserInfo: false },
    saml: { nameIdFormat: NAMEID_PERSISTENT },
    hint: 'Issue the E-Mail-Addresses, Given-Name, Surname and Token-Groups claims in the relying party trust.',
  },
};

export function presetMapping(preset: Preset, protocol: Protocol): AttributeMapping {
  return structuredClone(PRESETS[preset].mapping[protocol]);
}
