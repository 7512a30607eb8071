/** API shapes of applications, signing keys, post-login routes and LMS sites. */
import { z } from 'zod';
import { conditionSchema } from '../../platform/conditions.ts';

export const APPLICATION_TYPES = ['confidential', 'public'] as const;
export type ApplicationType = (typeof APPLICATION_TYPES)[number];

export const GRANT_TYPES = ['authorization_code', 'refresh_token', 'client_credentials'] as const;
export type GrantType = (typeof GRANT_TYPES)[number];

/** Scopes an application can ask for, and the claims each releases. */
export const SCOPE_CLAIMS = {
  openid: ['sub', 'org_id', 'org_slug'],
  profile: ['name', 'given_name', 'family_name', 'updated_at'],
  email: ['email', 'email_verified'],
  groups: ['groups'],
  roles: ['roles'],
  offline_access: [],
  /**
   * An API scope, no claims: read people's HR profiles through the coaching context API
   * (`GET /api/v1/users/{id}/context`) with a client-credentials token. Never granted by default.
   */
  'profile:read': [],
} as const satisfies Record<string, readonly string[]>;

export const SCOPES = Object.keys(SCOPE_CLAIMS) as Array<keyof typeof SCOPE_CLAIMS>;
export type Scope = keyof typeof SCOPE_CLAIMS;
/** Scopes of an application created without a list: every sign-in scope, no API scope. */
export const DEFAULT_SCOPES = SCOPES.filter((scope) => scope !== 'profile:read');

export const TOKEN_AUTH_METHODS = ['client_secret_basic', 'client_secret_post'] as const;
export const ID_TOKEN_SIGNING_ALGS = ['RS256', 'ES256'] as const;

export const tokenLifetimesSchema = z
  .object({
    accessTokenSeconds: z
      .number()
      .int()
      .min(60)
      .max(86_400)
      .optional()
      .describe('Access tokens (and client-credentials tokens). Default 3600.'),
    idTokenSeconds: z.number().int().min(60).max(86_400).optional().describe('ID tokens. Default 3600.'),
    refreshTokenSeconds: z
      .number()
      .int()
      .min(300)
      .max(365 * 86_400)
      .optional()
      .describe(
        'How long a refresh token stays usable unused; each refresh issues a new one. Default 14 days.',
      ),
    refreshTokenMaxSeconds: z
      .number()
      .int()
      .min(300)
      .max(365 * 86_400)
      .optional()
      .describe('Absolute limit from the sign-in, however often the token is refreshed. Default 90 days.'),
  })
  .strict()
  .meta({ id: 'TokenLifetimes' });

export type TokenLifetimes = Required<z.output<typeof tokenLifetimesSchema>>;

export const DEFAULT_TOKEN_LIFETIMES: TokenLifetimes = {
  accessTokenSeconds: 3600,
  idTokenSeconds: 3600,
  refreshTokenSeconds: 14 * 86_400,
  refreshTokenMaxSeconds: 90 * 86_400,
};

const uri = z.string().min(1).max(2000);
const INSTANCE_KEY = /^[a-z0-9][a-z0-9_-]{0,62}$/;

const applicationFields = {
  name: z.string().trim().min(1).max(200),
  description: z.string().max(2000).nullable().optional(),
  redirectUris: z
    .array(uri)
    .max(100)
    .describe(
      'Exact redirect URIs (no wildcards): https, http only on localhost/127.0.0.1/[::1], or a private-use scheme (com.example.app:/callback) for public native apps.',
    ),
  postLogoutRedirectUris: z
    .array(uri)
    .max(100)
    .describe('Where RP-initiated logout may send the person back.'),
  backchannelLogoutUri: uri
    .nullable()
    .describe('Receives a signed logout token (OIDC Back-Channel Logout 1.0) when a session ends.'),
  backchannelLogoutSessionRequired: z.boolean().describe('Include `sid` in logout tokens (default true).'),
  grantTypes: z
    .array(z.enum(GRANT_TYPES))
    .min(1)
    .max(3)
    .describe(
      'Default `authorization_code` and `refresh_token`. `client_credentials` is for confidential applications only.',
    ),
  scopes: z
    .array(z.enum(SCOPES as [Scope, ...Scope[]]))
    .min(1)
    .describe(
      'Scopes the application may ask for (default every sign-in scope; `profile:read`, the context API scope, only when listed).',
    ),
  tokenEndpointAuthMethod: z
    .enum(TOKEN_AUTH_METHODS)
    .describe('How a confidential application sends its secret (default `client_secret_basic`).'),
  requirePkce: z
    .boolean()
    .describe('Require PKCE (S256) from a confidential application too. Public applications always must.'),
  idTokenSigningAlg: z.enum(ID_TOKEN_SIGNING_ALGS).describe('Default RS256.'),
  tokenLifetimes: tokenLifetimesSchema,
  allowedOrganizations: z
    .array(z.string().min(1).max(100))
    .max(10_000)
    .nullable()
    .describe(
      'Shared applications only: ids or slugs of the organizations whose users may sign in; null (default) allows every organization. An organization-owned application only ever serves its own organization.',
    ),
  firstParty: z.boolean().describe('First-party applications skip the consent screen (default true).'),
  startUrl: uri
    .nullable()
    .describe(
      'Where a person starts using the application (OIDC `initiate_login_uri`); post-login routing sends people here. May contain `{instance}`.',
    ),
  instanceKey: z
    .string()
    .regex(INSTANCE_KEY)
    .nullable()
    .describe(
      'Key of the organization\'s instance URL that `{instance}` in startUrl stands for, e.g. `coaching` for instances {"coaching": "https://pg.example.com"}.',
    ),
  enabled: z.boolean().describe('A disabled application gets `invalid_client` everywhere.'),
};

export const createApplicationBody = z
  .object({
    ...applicationFields,
    organization: z
      .string()
      .min(1)
      .max(100)
      .optional()
      .describe(
        'Owning organization (id or slug). Omit for a shared application that serves every organization.',
      ),
    type: z
      .enum(APPLICATION_TYPES)
      .describe('`confidential` (server-side, has a secret) or `public` (SPA, native).'),
    description: applicationFields.description,
    redirectUris: applicationFields.redirectUris.default([]),
    postLogoutRedirectUris: applicationFields.postLogoutRedirectUris.optional(),
    backchannelLogoutUri: applicationFields.backchannelLogoutUri.optional(),
    backchannelLogoutSessionRequired: applicationFields.backchannelLogoutSessionRequired.optional(),
    grantTypes: applicationFields.grantTypes.optional(),
    scopes: applicationFields.scopes.optional(),
    tokenEndpointAuthMethod: applicationFields.tokenEndpointAuthMethod.optional(),
    requirePkce: applicationFields.requirePkce.optional(),
    idTokenSigningAlg: applicationFields.idTokenSigningAlg.optional(),
    tokenLifetimes: applicationFields.tokenLifetimes.optional(),
    allowedOrganizations: applicationFields.allowedOrganizations.optional(),
    firstParty: applicationFields.firstParty.optional(),
    startUrl: applicationFields.startUrl.optional(),
    instanceKey: applicationFields.instanceKey.optional(),
    enabled: applicationFields.enabled.optional(),
  })
  .strict()
  .meta({ id: 'CreateApplication' });

export const updateApplicationBody = z
  .object(
    Object.fromEntries(
      Object.entries(applicationFields).map(([key, schema]) => [key, schema.optional()]),
    ) as {
      [K in keyof typeof applicationFields]: z.ZodOptional<(typeof applicationFields)[K]>;
    },
  )
  .strict()
  .meta({ id: 'UpdateApplication' });

export type CreateApplicationInput = z.output<typeof createApplicationBody>;
export type UpdateApplicationInput = z.output<typeof updateApplicationBody>;

export const applicationSchema = z
  .object({
    id: z.string().describe('The `client_id`.'),
    clientId: z.string(),
    organizationId: z.string().nullable().describe('Owner; null for a shared application.'),
    name: z.string(),
    description: z.string().nullable(),
    type: z.enum(APPLICATION_TYPES),
    enabled: z.boolean(),
    firstParty: z.boolean(),
    redirectUris: z.array(z.string()),
    postLogoutRedirectUris: z.array(z.string()),
    backchannelLogoutUri: z.string().nullable(),
    backchannelLogoutSessionRequired: z.boolean(),
    grantTypes: z.array(z.string()),
    scopes: z.array(z.string()),
    tokenEndpointAuthMethod: z.string(),
    requirePkce: z.boolean().describe('Effective: always true for public applications.'),
    idTokenSigningAlg: z.string(),
    tokenLifetimes: z.object({
      accessTokenSeconds: z.number().int(),
      idTokenSeconds: z.number().int(),
      refreshTokenSeconds: z.number().int(),
      refreshTokenMaxSeconds: z.number().int(),
    }),
    allowedOrganizations: z
      .array(z.string())
      .nullable()
      .describe('Organization ids; null = every organization.'),
    startUrl: z.string().nullable(),
    instanceKey: z.string().nullable(),
    clientSecret: z
      .object({
        prefix: z.string().describe('First characters of the current secret.'),
        rotatedAt: z.string().nullable(),
        previousValidUntil: z
          .string()
          .nullable()
          .describe('Until when the secret replaced by the last rotation is still accepted.'),
      })
      .nullable()
      .describe('Never the secret itself; it is shown once, on create and rotate.'),
    issuer: z
      .string()
      .describe(
        'Configure your OIDC library with this issuer (discovery at /.well-known/openid-configuration).',
      ),
    version: z.number().int(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'Application' });

export type ApplicationView = z.output<typeof applicationSchema>;

export const applicationWithSecretSchema = applicationSchema
  .extend({
    secret: z
      .string()
      .nullable()
      .describe(
        'The client secret, shown only in this response. Store it now. Null for public applications.',
      ),
  })
  .meta({ id: 'ApplicationWithSecret' });

export const rotateSecretBody = z
  .object({
    keepPreviousForSeconds: z
      .number()
      .int()
      .min(0)
      .max(30 * 86_400)
      .default(0)
      .describe(
        'Keep accepting the current secret this long, so deployed apps can switch without downtime. Default 0.',
      ),
  })
  .strict()
  .meta({ id: 'RotateSecret' });

// Signing keys

export const signingKeySchema = z
  .object({
    kid: z.string(),
    alg: z.enum(['RS256', 'ES256']),
    status: z
      .enum(['next', 'active', 'retired', 'expired', 'revoked'])
      .describe(
        'next: published, not yet signing; active: signing; retired: published until what it signed expires.',
      ),
    published: z.boolean(),
    createdAt: z.string(),
    activatesAt: z.string(),
    retiresAt: z.string().nullable(),
    unpublishAt: z.string().nullable(),
    revokedAt: z.string().nullable(),
  })
  .meta({ id: 'SigningKey' });

export const rotateKeysBody = z
  .object({
    algorithms: z
      .array(z.enum(['RS256', 'ES256']))
      .min(1)
      .max(2)
      .optional()
      .describe('Default both.'),
    activateInSeconds: z
      .number()
      .int()
      .min(0)
      .max(30 * 86_400)
      .optional()
      .describe(
        'How long the new key is published before it signs (default PROVIDER_KEY_ACTIVATION_DELAY_SECONDS). 0 signs at once: for a compromised key.',
      ),
  })
  .strict()
  .meta({ id: 'RotateSigningKeys' });

// Post-login routes

export { type Condition, conditionSchema } from '../../platform/conditions.ts';

export const routeTargetSchema = z
  .discriminatedUnion('type', [
    z
      .object({
        type: z.literal('application'),
        application: z
          .string()
          .min(1)
          .max(100)
          .describe('An application id; the person goes to its startUrl.'),
      })
      .strict(),
    z
      .object({
        type: z.literal('url'),
        url: uri.describe(
          "An https URL. `{instance:<key>}` stands for the organization's instance URL, e.g. `{instance:coaching}/home`.",
        ),
      })
      .strict(),
    z
      .object({
        type: z.literal('thinkific'),
        site: z.string().min(1).max(100).describe('An LMS site (lms_...) of the organization.'),
        returnTo: uri
          .optional()
          .describe("Where Thinkific sends the person after sign-in (a course URL); default the site's."),
      })
      .strict(),
  ])
  .meta({ id: 'RouteTarget' });

export type RouteTarget = z.output<typeof routeTargetSchema>;

export const createRouteBody = z
  .object({
    name: z.string().trim().min(1).max(200),
    condition: conditionSchema.default({ always: true }).describe('Default: everyone.'),
    target: routeTargetSchema,
    enabled: z.boolean().optional(),
    position: z.number().int().min(1).optional().describe('1-based; default last.'),
  })
  .strict()
  .meta({ id: 'CreateRoute' });

export const updateRouteBody = z
  .object({
    name: z.string().trim().min(1).max(200).optional(),
    condition: conditionSchema.optional(),
    target: routeTargetSchema.optional(),
    enabled: z.boolean().optional(),
    position: z.number().int().min(1).optional(),
  })
  .strict()
  .meta({ id: 'UpdateRoute' });

export const reorderRoutesBody = z
  .object({
    ids: z.array(z.string()).max(1000).describe('Every route id of the organization, in the new order.'),
  })
  .strict()
  .meta({ id: 'ReorderRoutes' });

export type CreateRouteInput = z.output<typeof createRouteBody>;
export type UpdateRouteInput = z.output<typeof updateRouteBody>;

export const routeSchema = z
  .object({
    id: z.string(),
    organizationId: z.string(),
    position: z.number().int(),
    name: z.string(),
    enabled: z.boolean(),
    condition: z.record(z.string(), z.unknown()),
    target: z.record(z.string(), z.unknown()),
    version: z.number().int(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'Route' });

export type RouteView = z.output<typeof routeSchema>;

export const routePreviewBody = z
  .object({
    user: z.string().min(1).max(320).optional().describe('A user of the organization: id or email.'),
    subject: z
      .object({
        email: z.string().max(320).optional(),
        givenName: z.string().max(200).optional(),
        familyName: z.string().max(200).optional(),
        groups: z.array(z.string().max(256)).max(500).optional(),
        roles: z.array(z.string().max(256)).max(500).optional(),
        source: z.string().max(50).optional(),
        profile: z.record(z.string(), z.unknown()).optional(),
      })
      .strict()
      .optional()
      .describe('A hypothetical person instead of a real user.'),
    routes: z
      .array(createRouteBody.omit({ position: true }).extend({ id: z.string().optional() }))
      .max(200)
      .optional()
      .describe('Try these routes instead of the saved ones (to check a change before saving it).'),
  })
  .strict()
  .refine((value) => (value.user === undefined) !== (value.subject === undefined), {
    message: 'give exactly one of user, subject',
  })
  .meta({ id: 'RoutePreviewRequest' });

export const routePreviewSchema = z
  .object({
    destination: z
      .object({
        routeId: z.string().nullable(),
        routeName: z.string(),
        type: z.enum(['application', 'url', 'thinkific']),
        url: z
          .string()
          .describe('Where the browser would go. A Thinkific JWT is shown as `[signed at login]`.'),
        application: z.string().optional(),
        site: z.string().optional(),
      })
      .nullable()
      .describe('Null: no route applies; the person would see the signed-in page.'),
    evaluated: z.array(
      z.object({
        routeId: z.string().nullable(),
        name: z.string(),
        position: z.number().int(),
        outcome: z.enum(['chosen', 'disabled', 'condition_false', 'target_unavailable', 'not_reached']),
        detail: z.string(),
      }),
    ),
    subject: z.object({
      userId: z.string().nullable(),
      email: z.string().nullable(),
      groups: z.array(z.string()),
      roles: z.array(z.string()),
    }),
  })
  .meta({ id: 'RoutePreview' });

// LMS sites

const SUBDOMAIN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const HOSTNAME = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

export const createLmsSiteBody = z
  .object({
    provider: z.literal('thinkific').default('thinkific'),
    name: z.string().trim().min(1).max(200),
    subdomain: z
      .string()
      .trim()
      .toLowerCase()
      .regex(SUBDOMAIN, 'expected the school subdomain, e.g. acme for https://acme.thinkific.com')
      .optional()
      .describe(
        "The school: `acme` for https://acme.thinkific.com. Default with `destinationId`: the destination's subdomain.",
      ),
    destinationId: z
      .string()
      .min(1)
      .max(100)
      .optional()
      .describe(
        'The Thinkific provisioning destination whose API key signs the SSO JWTs: one credential for both, rotated once (on the destination). Give this or `apiKey`.',
      ),
    customDomain: z
      .string()
      .trim()
      .toLowerCase()
      .regex(HOSTNAME, 'expected a host name such as learn.acme.com')
      .nullable()
      .optional()
      .describe("The school's custom domain, if it uses one (SSO then goes there)."),
    apiKey: z
      .string()
      .min(8)
      .max(500)
      .optional()
      .describe(
        "The site's own API key (Settings → Code & analytics → API), for a school no destination provisions. Signs the SSO JWTs; stored encrypted, never returned. Give this or `destinationId`.",
      ),
    defaultReturnTo: uri
      .nullable()
      .optional()
      .describe('Where Thinkific sends people after sign-in, unless a route says otherwise.'),
  })
  .strict()
  .meta({ id: 'CreateLmsSite' });

export const updateLmsSiteBody = z
  .object({
    name: createLmsSiteBody.shape.name.optional(),
    subdomain: createLmsSiteBody.shape.subdomain,
    customDomain: createLmsSiteBody.shape.customDomain,
    destinationId: z
      .string()
      .min(1)
      .max(100)
      .nullable()
      .optional()
      .describe(
        "Sign with this Thinkific destination's API key from now on (the site's own key is deleted); null, with `apiKey`, to keep a key of its own again.",
      ),
    apiKey: createLmsSiteBody.shape.apiKey,
    defaultReturnTo: createLmsSiteBody.shape.defaultReturnTo,
  })
  .strict()
  .meta({ id: 'UpdateLmsSite' });

export type CreateLmsSiteInput = z.output<typeof createLmsSiteBody>;
export type UpdateLmsSiteInput = z.output<typeof updateLmsSiteBody>;

export const lmsSiteSchema = z
  .object({
    id: z.string(),
    organizationId: z.string(),
    provider: z.literal('thinkific'),
    name: z.string(),
    subdomain: z.string(),
    customDomain: z.string().nullable(),
    baseUrl: z.string(),
    ssoUrl: z.string().describe('The Thinkific SSO endpoint people are sent to with a signed JWT.'),
    defaultReturnTo: z.string().nullable(),
    destinationId: z
      .string()
      .nullable()
      .describe('The Thinkific destination whose API key signs the handoffs; null: the site keeps its own.'),
    apiKeySet: z.boolean().describe('A key signs the handoffs (its own, or its destination’s).'),
    version: z.number().int(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'LmsSite' });

export type LmsSiteView = z.output<typeof lmsSiteSchema>;
