/**
 * Step-by-step guides for the client's IT admin, per identity provider: the menu names of the
 * vendor's admin console as it reads today, and which of our values goes in which of its fields.
 *
 * Sources: Microsoft Learn "Enable SAML single sign-on for an enterprise application" and
 * "Tutorial: Develop and plan provisioning for a SCIM endpoint"; Okta "Create SAML app
 * integrations" and "Add SCIM provisioning to app integrations"; PingFederate "Configuring an SP
 * connection"; Google Workspace Admin Help "Set up your own custom SAML app"; Microsoft Learn
 * "Create a relying party trust" (AD FS). Attribute names match the sso module's presets.
 */
import type { DirectoryProvider } from '../directory/index.ts';
import type { Preset } from '../sso/index.ts';

/** Our values the guides refer to. */
export type SsoValueKey = 'entityId' | 'acsUrl' | 'loginUrl';
export type ScimValueKey = 'baseUrl' | 'entraTenantUrl' | 'token';

export interface GuideStep<Key extends string> {
  /** Plain text; `*Menu → Item*` is rendered as menu names. */
  text: string;
  /** Fields of the IdP's form and what goes in each: one of our values, or a literal. */
  fields?: Array<{ label: string; value: Key } | { label: string; literal: string }>;
}

export interface SsoGuide {
  preset: Preset;
  name: string;
  steps: Array<GuideStep<SsoValueKey>>;
  /** Where the admin finds the IdP's metadata for the form below the guide. */
  metadataHint: string;
}

export const SSO_GUIDES: readonly SsoGuide[] = [
  {
    preset: 'entra',
    name: 'Microsoft Entra ID',
    steps: [
      {
        text: 'Sign in to the Microsoft Entra admin center (entra.microsoft.com) as at least a Cloud Application Administrator.',
      },
      {
        text: 'Go to *Entra ID → Enterprise apps → All applications* and select *New application*, then *Create your own application*. Enter a name, select *Integrate any other application you don’t find in the gallery (Non-gallery)* and select *Create*.',
      },
      {
        text: 'In the new application, open *Single sign-on* and select *SAML*. In box 1, *Basic SAML Configuration*, select *Edit*, fill in these fields and select *Save*:',
        fields: [
          { label: 'Identifier (Entity ID)', value: 'entityId' },
          { label: 'Reply URL (Assertion Consumer Service URL)', value: 'acsUrl' },
          { label: 'Sign on URL (Optional)', value: 'loginUrl' },
        ],
      },
      {
        text: 'Box 2, *Attributes & Claims*: the default claims work as they are (email address, given name, surname, user principal name). To send groups, select *Edit → Add a group claim*, choose *Groups assigned to the application* and, as source attribute, *Cloud-only group display names* (or *sAMAccountName* for groups synced from Active Directory).',
      },
      {
        text: 'Box 3, *SAML Certificates*: copy the *App Federation Metadata Url* (or download *Federation Metadata XML*) for the form below.',
      },
      {
        text: 'Open *Users and groups → Add user/group* and assign the people or groups who may sign in.',
      },
    ],
    metadataHint:
      'Entra: box 3 “SAML Certificates” → App Federation Metadata Url, or Federation Metadata XML.',
  },
  {
    preset: 'okta',
    name: 'Okta',
    steps: [
      {
        text: 'In the Okta Admin Console, go to *Applications → Applications* and select *Create App Integration*. Choose *SAML 2.0* and select *Next*.',
      },
      { text: 'On *General Settings*, enter an *App name* and select *Next*.' },
      {
        text: 'On *Configure SAML*, fill in these fields (keep *Use this for Recipient URL and Destination URL* ticked):',
        fields: [
          { label: 'Single sign-on URL', value: 'acsUrl' },
          { label: 'Audience URI (SP Entity ID)', value: 'entityId' },
          { label: 'Name ID format', literal: 'EmailAddress' },
          { label: 'Application username', literal: 'Email' },
        ],
      },
      {
        text: 'Under *Attribute Statements*, add these (Name → Value). Under *Group Attribute Statements*, add Name groups with filter *Matches regex* and .* to send every group (or a narrower filter):',
        fields: [
          { label: 'email', literal: 'user.email' },
          { label: 'firstName', literal: 'user.firstName' },
          { label: 'lastName', literal: 'user.lastName' },
          { label: 'groups (group attribute, Matches regex)', literal: '.*' },
        ],
      },
      {
        text: 'Select *Next*, choose *This is an internal app that we have created*, and select *Finish*.',
      },
      {
        text: 'On the application’s *Sign On* tab, under *SAML 2.0*, copy the *Metadata URL* for the form below. On the *Assignments* tab, select *Assign → Assign to People* (or *Assign to Groups*).',
      },
    ],
    metadataHint: 'Okta: the application’s Sign On tab → SAML 2.0 → Metadata URL.',
  },
  {
    preset: 'ping',
    name: 'PingFederate',
    steps: [
      {
        text: 'In the PingFederate administrative console, go to *Applications → Integration → SP Connections* and select *Create Connection*.',
      },
      {
        text: '*Connection Template*: *Do not use a template for this connection*. *Connection Type*: *Browser SSO Profiles*, protocol *SAML 2.0*. *Connection Options*: *Browser SSO*. *Import Metadata*: *None*.',
      },
      {
        text: 'On *General Info*, fill in:',
        fields: [
          { label: 'Partner’s Entity ID (Connection ID)', value: 'entityId' },
          { label: 'Connection Name', literal: 'any name you like' },
        ],
      },
      {
        text: '*Browser SSO → Configure Browser SSO*: tick *SP-Initiated SSO*. In *Assertion Creation*, extend the *Attribute Contract* with mail, givenName, sn and memberOf (LDAP names: we read them as Ping sends them) and map them from your data store in *Attribute Contract Fulfillment*; SAML_SUBJECT can be the user’s email or a stable id.',
      },
      {
        text: '*Protocol Settings → Assertion Consumer Service URL*: add an endpoint with binding *POST*:',
        fields: [
          { label: 'Endpoint URL (binding POST)', value: 'acsUrl' },
          { label: 'Allowable SAML Bindings', literal: 'POST and Redirect' },
          { label: 'Signature Policy', literal: 'Always sign the SAML Assertion' },
        ],
      },
      {
        text: '*Credentials*: choose your signing certificate with algorithm RSA SHA256. Activate the connection on *Activation & Summary* and select *Save*.',
      },
      {
        text: 'Export your metadata: *System → Protocol Metadata → Metadata Export*, choosing the same signing certificate, and upload the file below.',
      },
    ],
    metadataHint:
      'PingFederate: System → Protocol Metadata → Metadata Export (file), or https://<your PingFederate host>/pf/federation_metadata.ping?PartnerSpId=<our entity ID>.',
  },
  {
    preset: 'google',
    name: 'Google Workspace',
    steps: [
      {
        text: 'In the Google Admin console (admin.google.com), go to *Menu → Apps → Web and mobile apps* and select *Add app → Add custom SAML app*.',
      },
      { text: 'Enter an *App name* and select *Continue*.' },
      {
        text: 'On *Google Identity Provider details*, select *Download Metadata* (option 1) and keep the file for the form below. Select *Continue*.',
      },
      {
        text: 'On *Service provider details*, fill in these fields, leave *Signed response* unticked, and select *Continue*:',
        fields: [
          { label: 'ACS URL', value: 'acsUrl' },
          { label: 'Entity ID', value: 'entityId' },
          { label: 'Start URL (optional)', value: 'loginUrl' },
          { label: 'Name ID format', literal: 'EMAIL' },
          { label: 'Name ID', literal: 'Basic Information > Primary email' },
        ],
      },
      {
        text: 'On *Attribute mapping*, map these Google Directory attributes to app attributes; under *Group membership (optional)*, choose the groups to send and the app attribute groups. Select *Finish*.',
        fields: [
          { label: 'First name →', literal: 'firstName' },
          { label: 'Last name →', literal: 'lastName' },
          { label: 'Group membership →', literal: 'groups' },
        ],
      },
      {
        text: 'Open the app, select *User access*, turn it *ON for everyone* (or for the organizational units or groups who may sign in) and select *Save*. Google says changes can take up to 24 hours.',
      },
    ],
    metadataHint:
      'Google: the file from “Download Metadata” (Google publishes no metadata URL for custom SAML apps).',
  },
  {
    preset: 'adfs',
    name: 'AD FS',
    steps: [
      {
        text: 'Open *AD FS Management*, right-click *Relying Party Trusts* and select *Add Relying Party Trust…*. Choose *Claims aware* and select *Start*.',
      },
      {
        text: '*Select Data Source*: *Enter data about the relying party manually*. Enter a *Display name*. Skip *Configure Certificate* (no token encryption needed).',
      },
      {
        text: '*Configure URL*: tick *Enable support for the SAML 2.0 WebSSO protocol* and fill in:',
        fields: [{ label: 'Relying party SAML 2.0 SSO service URL', value: 'acsUrl' }],
      },
      {
        text: '*Configure Identifiers*: add our identifier, then choose an *Access Control Policy* (for example *Permit everyone*, or a group) and finish the wizard.',
        fields: [{ label: 'Relying party trust identifier', value: 'entityId' }],
      },
      {
        text: 'Select the trust and *Edit Claim Issuance Policy… → Add Rule… → Send LDAP Attributes as Claims*, attribute store *Active Directory*:',
        fields: [
          { label: 'E-Mail-Addresses →', literal: 'E-Mail Address' },
          { label: 'Given-Name →', literal: 'Given Name' },
          { label: 'Surname →', literal: 'Surname' },
          { label: 'User-Principal-Name →', literal: 'UPN' },
          { label: 'Token-Groups - Unqualified Names →', literal: 'Group' },
        ],
      },
      {
        text: 'Add a second rule, *Transform an Incoming Claim*: incoming claim type *UPN*, outgoing claim type *Name ID*, outgoing name ID format *Persistent Identifier*.',
      },
      {
        text: 'Your metadata is at https://<your AD FS host>/FederationMetadata/2007-06/FederationMetadata.xml: give that URL below.',
      },
    ],
    metadataHint: 'AD FS: https://<your AD FS host>/FederationMetadata/2007-06/FederationMetadata.xml',
  },
  {
    preset: 'generic',
    name: 'Another SAML 2.0 identity provider',
    steps: [
      {
        text: 'Create a SAML 2.0 application (a “service provider” or “relying party”) in your identity provider.',
      },
      {
        text: 'Fill in our values:',
        fields: [
          { label: 'SP entity ID / Audience', value: 'entityId' },
          { label: 'Assertion Consumer Service (ACS) URL, HTTP-POST binding', value: 'acsUrl' },
          { label: 'Sign-in / start URL (if asked)', value: 'loginUrl' },
        ],
      },
      {
        text: 'Name ID: the user’s email or a stable identifier. Attributes: email (or mail), firstName (or givenName), lastName (or sn), and groups if you want group sync.',
      },
      { text: 'Sign the assertion or the response with RSA-SHA256. Encrypting the assertion is optional.' },
      { text: 'Assign the people who may sign in, then give us your IdP metadata (URL or XML) below.' },
    ],
    metadataHint: 'Your IdP’s SAML metadata: a URL, or the XML file.',
  },
];

export function ssoGuide(preset: string | undefined): SsoGuide | undefined {
  return SSO_GUIDES.find((guide) => guide.preset === preset);
}

export interface ScimGuide {
  provider: DirectoryProvider;
  name: string;
  steps: Array<GuideStep<ScimValueKey>>;
}

export const SCIM_GUIDES: Record<DirectoryProvider, ScimGuide> = {
  entra: {
    provider: 'entra',
    name: 'Microsoft Entra ID',
    steps: [
      {
        text: 'In the Microsoft Entra admin center, open the enterprise application (*Entra ID → Enterprise apps → All applications*) and select *Provisioning*, then *Get started* or *New configuration*. Set *Provisioning Mode* to *Automatic*.',
      },
      {
        text: 'Under *Admin Credentials*, fill in these fields and select *Test Connection*, then *Save*:',
        fields: [
          { label: 'Tenant URL', value: 'entraTenantUrl' },
          { label: 'Secret Token', value: 'token' },
        ],
      },
      {
        text: 'The default *Mappings* work as they are. Under *Settings*, set *Scope* to *Sync only assigned users and groups*.',
      },
      { text: 'Set *Provisioning Status* to *On* and select *Save*. Entra syncs about every 40 minutes.' },
    ],
  },
  okta: {
    provider: 'okta',
    name: 'Okta',
    steps: [
      {
        text: 'In the Okta Admin Console, open the app integration (*Applications → Applications*), select the *General* tab, *App Settings → Edit*, set *Provisioning* to *SCIM* and select *Save*.',
      },
      {
        text: 'On the *Provisioning* tab, under *Integration*, select *Edit* and fill in:',
        fields: [
          { label: 'SCIM connector base URL', value: 'baseUrl' },
          { label: 'Unique identifier field for users', literal: 'userName' },
          {
            label: 'Supported provisioning actions',
            literal:
              'Import New Users and Profile Updates, Push New Users, Push Profile Updates, Push Groups',
          },
          { label: 'Authentication Mode', literal: 'HTTP Header' },
          { label: 'Authorization (Bearer)', value: 'token' },
        ],
      },
      { text: 'Select *Test Connector Configuration*, then *Save*.' },
      {
        text: 'Under *Provisioning → To App*, select *Edit*, enable *Create Users*, *Update User Attributes* and *Deactivate Users*, and select *Save*. Assign people on the *Assignments* tab; push groups on the *Push Groups* tab.',
      },
    ],
  },
  generic: {
    provider: 'generic',
    name: 'Any SCIM 2.0 client',
    steps: [
      {
        text: 'In your provisioning tool, add a SCIM 2.0 target with these values (bearer-token authentication):',
        fields: [
          { label: 'SCIM base URL', value: 'baseUrl' },
          { label: 'Authorization header (after “Bearer ”)', value: 'token' },
        ],
      },
      {
        text: 'We support Users (with the enterprise extension) and Groups, filters, PATCH, and paging. Send userName and emails; active: false deactivates a person.',
      },
    ],
  },
};
