/** API shapes of SSO connections, mapping previews and login traces. */
import { z } from 'zod';

export const PROTOCOLS = ['oidc', 'saml'] as const;
export type Protocol = (typeof PROTOCOLS)[number];

export const PRESET_NAMES = ['entra', 'okta', 'ping', 'google', 'adfs', 'generic'] as const;
export type Preset = (typeof PRESET_NAMES)[number];

export type CanonicalField =
  | 'subject'
  | 'email'
  | 'given_name'
  | 'family_name'
  | 'name'
  | 'employee_id'
  | 'department'
  | 'title'
  | 'groups';

const source = z
  .union([z.string().min(1).max(300), z.array(z.string().min(1).max(300)).min(1).max(10)])
  .describe('An IdP claim or SAML attribute name, or a list tried in order; `$nameid` is the SAML NameID.');

const nullableSource = source.nullable();

export const attributeMappingSchema = z
  .object({
    subject: nullableSource
      .optional()
      .describe('Stable id of the person at the IdP (default `sub` / NameID).'),
    email: nullableSource.optional(),
    given_name: nullableSource.optional(),
    family_name: nullableSource.optional(),
    name: nullableSource.optional(),
    employee_id: nullableSource.optional(),
    department: nullableSource.optional(),
    title: nullableSource.optional(),
    groups: nullableSource.optional(),
    attributes: z
      .record(z.string().regex(/^[A-Za-z][A-Za-z0-9_.-]{0,63}$/), nullableSource)
      .optional()
      .describe('Custom profile attributes: profile key -> source.'),
  })
  .strict()
  .meta({ id: 'AttributeMapping' });

export type AttributeMapping = {
  [K in CanonicalField]?: string | string[];
} & { attributes?: Record<string, string | string[]> };

const httpsUrl = z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' });

export const oidcSettingsInput = z
  .object({
    discoveryUrl: httpsUrl
      .optional()
      .describe(
        'The issuer URL or its /.well-known/openid-configuration. For Entra use https://login.microsoftonline.com/<tenant-id>/v2.0.',
      ),
    issuer: z
      .string()
      .min(1)
      .max(500)
      .optional()
      .describe(
        'Expected `iss` of ID tokens. Needed when discovery publishes a templated issuer (Entra /common or /organizations: https://login.microsoftonline.com/<tenant-id>/v2.0).',
      ),
    tenantId: z
      .string()
      .regex(/^[A-Za-z0-9.-]{1,100}$/)
      .optional()
      .describe('Entra tenant id, substituted for {tenantid} in a templated issuer.'),
    authorizationEndpoint: httpsUrl.optional(),
    tokenEndpoint: httpsUrl.optional(),
    jwksUri: httpsUrl.optional(),
    userinfoEndpoint: httpsUrl.optional(),
    clientId: z.string().min(1).max(500),
    clientSecret: z.string().min(1).max(2000).optional().describe('Stored encrypted; never returned.'),
    clientAuthMethod: z.enum(['client_secret_basic', 'client_secret_post', 'none']).optional(),
    scopes: z
      .array(z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/))
      .max(30)
      .optional(),
    pkce: z.boolean().optional().describe('Send a PKCE S256 challenge (default true).'),
    responseMode: z.enum(['query', 'form_post']).optional(),
    fetchUserInfo: z.boolean().optional().describe('Also read claims from the userinfo endpoint.'),
    idTokenSigningAlg: z
      .enum(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'])
      .optional(),
  })
  .strict()
  .meta({ id: 'OidcSettingsInput' });

export const samlSettingsInput = z
  .object({
    metadataUrl: httpsUrl.optional().describe('Where the IdP publishes its metadata.'),
    metadataXml: z.string().min(1).max(500_000).optional().describe('The IdP metadata document itself.'),
    idpEntityId: z.string().min(1).max(1000).optional(),
    idpSsoUrl: httpsUrl.optional(),
    idpCertificates: z
      .array(z.string().min(1).max(20_000))
      .max(5)
      .optional()
      .describe('Signing certificates (PEM). Several during a rollover.'),
    signAuthnRequests: z.boolean().optional(),
    requireEncryptedAssertions: z.boolean().optional(),
    nameIdFormat: z.string().min(1).max(200).optional(),
    clockSkewSeconds: z.number().int().min(0).max(600).optional(),
    allowIdpInitiated: z.boolean().optional(),
  })
  .strict()
  .meta({ id: 'SamlSettingsInput' });

const groupSettings = z
  .object({
    sync: z.boolean().optional().describe('Keep group memberships in step with the IdP (default true).'),
    createMissing: z
      .boolean()
      .optional()
      .describe('Create groups the IdP names that do not exist yet (default true).'),
  })
  .strict();

export const createConnectionBody = z
  .object({
    name: z.string().trim().min(1).max(200),
    protocol: z.enum(PROTOCOLS),
    preset: z.enum(PRESET_NAMES).optional(),
    enabled: z.boolean().optional(),
    testIdp: z
      .boolean()
      .optional()
      .describe(
        'Attach the built-in test IdP (SAML; sandbox organizations only) instead of an external one.',
      ),
    oidc: oidcSettingsInput.optional(),
    saml: samlSettingsInput.optional(),
    mapping: attributeMappingSchema
      .optional()
      .describe("Overrides of the preset's mapping; null removes a field."),
    groups: groupSettings.optional(),
  })
  .strict()
  .meta({ id: 'CreateConnection' });

export const updateConnectionBody = z
  .object({
    name: z.string().trim().min(1).max(200).optional(),
    preset: z.enum(PRESET_NAMES).optional(),
    enabled: z.boolean().optional(),
    oidc: oidcSettingsInput.partial().optional(),
    saml: samlSettingsInput.optional(),
    mapping: attributeMappingSchema.optional(),
    groups: groupSettings.optional(),
  })
  .strict()
  .meta({ id: 'UpdateConnection' });

export type CreateConnectionInput = z.output<typeof createConnectionBody>;
export type UpdateConnectionInput = z.output<typeof updateConnectionBody>;

/** Stored OIDC settings (no secret). */
export interface OidcSettings {
  discoveryUrl?: string;
  issuer: string;
  tenantId?: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  jwksUri: string;
  userinfoEndpoint?: string;
  clientId: string;
  clientAuthMethod: 'client_secret_basic' | 'client_secret_post' | 'none';
  scopes: string[];
  pkce: boolean;
  responseMode: 'query' | 'form_post';
  fetchUserInfo: boolean;
  idTokenSigningAlg: string;
  discoveredAt?: string;
}

/** Stored SAML settings. */
export interface SamlSettings {
  metadataUrl?: string;
  idpEntityId: string;
  idpSsoUrl: string;
  idpSsoBinding: 'redirect' | 'post';
  idpCertificates: string[];
  signAuthnRequests: boolean;
  requireEncryptedAssertions: boolean;
  nameIdFormat: string;
  clockSkewSeconds: number;
  allowIdpInitiated: boolean;
  metadataFetchedAt?: string;
}

export interface ConnectionSettings {
  oidc?: OidcSettings;
  saml?: SamlSettings;
  testIdp?: boolean;
  groups: { sync: boolean; createMissing: boolean };
}

const warningSchema = z.object({ code: z.string(), message: z.string() }).catchall(z.unknown());

const certificateView = z.object({
  subject: z.string(),
  fingerprintSha256: z.string(),
  notBefore: z.string(),
  notAfter: z.string(),
  status: z.enum(['valid', 'expiring_soon', 'expired', 'not_yet_valid']),
});

export const connectionSchema = z
  .object({
    id: z.string(),
    organizationId: z.string(),
    name: z.string(),
    protocol: z.enum(PROTOCOLS),
    preset: z.enum(PRESET_NAMES),
    enabled: z.boolean(),
    testIdp: z.boolean(),
    /** Whether logins can use it now (enabled, and for a test IdP, a non-production organization). */
    active: z.boolean(),
    inactiveReason: z.string().nullable(),
    warnings: z.array(warningSchema),
    loginUrl: z.string().describe('Starts a login on this connection directly.'),
    oidc: z
      .object({
        discoveryUrl: z.string().nullable(),
        issuer: z.string(),
        tenantId: z.string().nullable(),
        authorizationEndpoint: z.string(),
        tokenEndpoint: z.string(),
        jwksUri: z.string(),
        userinfoEndpoint: z.string().nullable(),
        clientId: z.string(),
        clientSecretSet: z.boolean(),
        clientAuthMethod: z.string(),
        scopes: z.array(z.string()),
        pkce: z.boolean(),
        responseMode: z.string(),
        fetchUserInfo: z.boolean(),
        idTokenSigningAlg: z.string(),
        redirectUri: z.string().describe('Register this redirect URI at the IdP.'),
      })
      .optional(),
    saml: z
      .object({
        metadataUrl: z.string().nullable(),
        idpEntityId: z.string(),
        idpSsoUrl: z.string(),
        idpSsoBinding: z.string(),
        idpCertificates: z.array(certificateView),
        signAuthnRequests: z.boolean(),
        requireEncryptedAssertions: z.boolean(),
        nameIdFormat: z.string(),
        clockSkewSeconds: z.number(),
        allowIdpInitiated: z.boolean(),
        spEntityId: z.string().describe('Our entity ID (the audience) for this connection.'),
        acsUrl: z.string().describe('Our Assertion Consumer Service URL (HTTP-POST).'),
        spMetadataUrl: z.string().describe('Our SP metadata, to upload to the IdP.'),
        spCertificate: z.string().describe('Our signing and encryption certificate (PEM).'),
      })
      .optional(),
    mapping: attributeMappingSchema,
    groups: z.object({ sync: z.boolean(), createMissing: z.boolean() }),
    version: z.number().int(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'Connection' });

export type ConnectionView = z.output<typeof connectionSchema>;

export const mappingPreviewBody = z
  .object({
    claims: z.record(z.string(), z.unknown()).describe('What the IdP sends: OIDC claims or SAML attributes.'),
    nameId: z.string().max(1000).optional().describe('SAML NameID, for mappings that use `$nameid`.'),
    mapping: attributeMappingSchema.optional().describe("A mapping to try instead of the connection's."),
  })
  .strict()
  .meta({ id: 'MappingPreviewRequest' });

export const mappingPreviewSchema = z
  .object({
    usable: z
      .boolean()
      .describe('True when a login with these claims would get a user (an email was found).'),
    profile: z.record(z.string(), z.unknown()),
    sources: z.record(z.string(), z.string()),
    missing: z.array(z.object({ field: z.string(), tried: z.array(z.string()) })),
    invalid: z.array(z.object({ field: z.string(), source: z.string(), reason: z.string() })),
    problems: z.array(z.string()),
    mapping: attributeMappingSchema,
  })
  .meta({ id: 'MappingPreview' });

export const TRACE_STATUSES = ['started', 'succeeded', 'failed'] as const;

export const traceStepSchema = z
  .object({
    at: z.string(),
    step: z.string(),
    ok: z.boolean(),
    message: z.string(),
    data: z.record(z.string(), z.unknown()).optional(),
  })
  .meta({ id: 'LoginTraceStep' });

export const traceSchema = z
  .object({
    id: z.string(),
    organizationId: z.string(),
    connectionId: z.string().nullable(),
    connectionName: z
      .string()
      .nullable()
      .describe('The connection’s name now; null without a connection or once it is deleted.'),
    protocol: z.string(),
    status: z.enum(TRACE_STATUSES),
    errorCode: z.string().nullable(),
    reason: z.string().nullable(),
    email: z.string().nullable(),
    subject: z.string().nullable(),
    userId: z.string().nullable(),
    ip: z.string().nullable(),
    userAgent: z.string().nullable(),
    steps: z.array(traceStepSchema),
    createdAt: z.string(),
    finishedAt: z.string().nullable(),
  })
  .meta({ id: 'LoginTrace' });

export type TraceView = z.output<typeof traceSchema>;

export const traceListQuery = z
  .object({
    connection: z.string().optional(),
    status: z.enum(TRACE_STATUSES).optional(),
    email: z.string().max(320).optional().describe('Exact email, case-insensitive.'),
    user: z.string().optional(),
    errorCode: z.string().max(100).optional(),
    since: z.iso.datetime({ offset: true }).optional(),
    after: z.string().optional().describe('Cursor: the last id of the previous page (newest first).'),
    limit: z.coerce.number().int().min(1).max(200).default(50),
  })
  .strict();
