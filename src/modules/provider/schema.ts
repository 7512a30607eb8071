/**
 * Switchboard as the OpenID provider of our applications: the registered applications (OAuth
 * clients), the provider's protocol state (sessions, interactions, grants, codes, tokens), its
 * signing keys, and each organization's post-login routes and LMS sites.
 *
 * Protocol state is global rather than tenant-owned: a shared application serves every
 * organization, and a row lives only as long as its token or session. Everything an organization
 * configures (routes, LMS sites) carries `organization_id` first in its keys.
 */
import { sql } from 'drizzle-orm';
import {
  boolean,
  check,
  foreignKey,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';
import { organizations } from '../orgs/schema.ts';
import { provisioningDestinations } from '../provisioning/schema.ts';

/**
 * An OIDC client of Switchboard. `id` is the `client_id`. Owned by one organization, or shared
 * (organization_id null) by every organization (or those in `allowed_organization_ids`).
 */
export const applications = pgTable(
  'applications',
  {
    id: text('id').primaryKey(),
    /** Owner; null for a shared application. */
    organizationId: text('organization_id').references(() => organizations.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    description: text('description'),
    /** `confidential` (has a secret) or `public` (SPA, native app: PKCE, no secret). */
    type: text('type').notNull(),
    enabled: boolean('enabled').notNull().default(true),
    /** First-party applications skip the consent screen. */
    firstParty: boolean('first_party').notNull().default(true),
    redirectUris: text('redirect_uris').array().notNull().default(sql`'{}'::text[]`),
    postLogoutRedirectUris: text('post_logout_redirect_uris').array().notNull().default(sql`'{}'::text[]`),
    backchannelLogoutUri: text('backchannel_logout_uri'),
    backchannelLogoutSessionRequired: boolean('backchannel_logout_session_required').notNull().default(true),
    /** `authorization_code`, `refresh_token`, `client_credentials`. */
    grantTypes: text('grant_types').array().notNull(),
    /** Scopes the application may ask for. */
    scopes: text('scopes').array().notNull(),
    /** `client_secret_basic`, `client_secret_post` or `none` (public). */
    tokenEndpointAuthMethod: text('token_endpoint_auth_method').notNull(),
    requirePkce: boolean('require_pkce').notNull().default(false),
    idTokenSigningAlg: text('id_token_signing_alg').notNull().default('RS256'),
    /** `{ accessTokenSeconds, idTokenSeconds, refreshTokenSeconds, refreshTokenMaxSeconds }`. */
    tokenLifetimes: jsonb('token_lifetimes').$type<Record<string, number>>().notNull().default({}),
    /** Shared applications only: the organizations whose users may sign in; null = all. */
    allowedOrganizationIds: text('allowed_organization_ids').array(),
    /** Where a person starts using the application (OIDC `initiate_login_uri`); may contain `{instance}`. */
    startUrl: text('start_url'),
    /** Key of the organization's instance URL (`organizations.instances`) that `{instance}` stands for. */
    instanceKey: text('instance_key'),
    /** SHA-256 (hex) of the client secret; the secret itself is shown once. */
    clientSecretHash: text('client_secret_hash'),
    /** First characters of the secret, so a person can tell which one an app holds. */
    clientSecretPrefix: text('client_secret_prefix'),
    clientSecretRotatedAt: timestamp('client_secret_rotated_at', { withTimezone: true }),
    /** The secret replaced by the last rotation, still accepted until `previous_secret_expires_at`. */
    previousSecretHash: text('previous_secret_hash'),
    previousSecretExpiresAt: timestamp('previous_secret_expires_at', { withTimezone: true }),
    version: integer('version').notNull().default(1),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [index('applications_org_idx').on(table.organizationId, table.id)],
);

/**
 * What oidc-provider stores: sessions, interactions, grants, authorization codes, access and
 * refresh tokens, client-credentials tokens, replay detection, pushed requests. One row per
 * (model, id), with the indexes its adapter looks up by: grant (revoke every token of a grant),
 * session uid, user code, and the account (end a person's sessions).
 */
export const oidcPayloads = pgTable(
  'oidc_payloads',
  {
    model: text('model').notNull(),
    id: text('id').notNull(),
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
    grantId: text('grant_id'),
    /** Session uid (Session rows). */
    uid: text('uid'),
    userCode: text('user_code'),
    /** The user (`sub`) the row belongs to, when it belongs to one. */
    accountId: text('account_id'),
    expiresAt: timestamp('expires_at', { withTimezone: true }),
    /** Set once, atomically: a second consumption of a code or refresh token is a replay. */
    consumedAt: timestamp('consumed_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    primaryKey({ name: 'oidc_payloads_pkey', columns: [table.model, table.id] }),
    index('oidc_payloads_grant_idx').on(table.grantId).where(sql`${table.grantId} is not null`),
    uniqueIndex('oidc_payloads_uid_key').on(table.model, table.uid).where(sql`${table.uid} is not null`),
    uniqueIndex('oidc_payloads_user_code_key')
      .on(table.model, table.userCode)
      .where(sql`${table.userCode} is not null`),
    index('oidc_payloads_account_idx')
      .on(table.accountId, table.model)
      .where(sql`${table.accountId} is not null`),
    index('oidc_payloads_expires_idx').on(table.expiresAt),
  ],
);

/**
 * The provider's signing keys (ES256 and RS256), private halves sealed with the secret box. A key
 * is published from `created_at`, signs from `activates_at` until the next key of its algorithm
 * activates, and stays published after that until the tokens it signed have expired.
 */
export const signingKeys = pgTable(
  'provider_signing_keys',
  {
    kid: text('kid').primaryKey(),
    alg: text('alg').notNull(),
    publicJwk: jsonb('public_jwk').$type<Record<string, unknown>>().notNull(),
    /** The private JWK, sealed (context `signing_key:<kid>`). */
    privateJwkSealed: text('private_jwk_sealed').notNull(),
    activatesAt: timestamp('activates_at', { withTimezone: true }).notNull(),
    /** Set by an operator to withdraw a key at once (compromise): it neither signs nor verifies. */
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [index('provider_signing_keys_alg_idx').on(table.alg, table.activatesAt)],
);

/** An organization's ordered post-login routes: a condition and a target. */
export const loginRoutes = pgTable(
  'login_routes',
  {
    organizationId: text('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    id: text('id').notNull(),
    /** 1-based; the first enabled route whose condition holds (and target resolves) wins. */
    position: integer('position').notNull(),
    name: text('name').notNull(),
    enabled: boolean('enabled').notNull().default(true),
    condition: jsonb('condition').$type<Record<string, unknown>>().notNull(),
    target: jsonb('target').$type<Record<string, unknown>>().notNull(),
    version: integer('version').notNull().default(1),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    primaryKey({ name: 'login_routes_pkey', columns: [table.organizationId, table.id] }),
    uniqueIndex('login_routes_id_key').on(table.id),
    index('login_routes_org_position_idx').on(table.organizationId, table.position),
  ],
);

/** An LMS site a route can hand people to with single sign-on (Thinkific custom JWT SSO). */
export const lmsSites = pgTable(
  'lms_sites',
  {
    organizationId: text('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    id: text('id').notNull(),
    /** `thinkific`. */
    provider: text('provider').notNull(),
    name: text('name').notNull(),
    /** The school's subdomain: `acme` for https://acme.thinkific.com. */
    subdomain: text('subdomain').notNull(),
    /** The school's custom domain, when it has one (`learn.acme.com`). */
    customDomain: text('custom_domain'),
    /** Where Thinkific sends the person after sign-in unless the route says otherwise. */
    defaultReturnTo: text('default_return_to'),
    /**
     * The provisioning destination (a Thinkific one) whose API key signs this site's SSO JWTs: one
     * credential for both, rotated once. Null when the site keeps its own key (below).
     */
    destinationId: text('destination_id'),
    /**
     * The site's own API key (the HS256 key of its SSO JWTs), sealed (context `lms_site:<id>:api_key`),
     * for a site no destination provisions. Exactly one of this and `destinationId` is set.
     */
    apiKeySealed: text('api_key_sealed'),
    version: integer('version').notNull().default(1),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    primaryKey({ name: 'lms_sites_pkey', columns: [table.organizationId, table.id] }),
    uniqueIndex('lms_sites_id_key').on(table.id),
    // A destination a site signs with cannot be deleted (the API says which site uses it first).
    foreignKey({
      name: 'lms_sites_destination_fkey',
      columns: [table.organizationId, table.destinationId],
      foreignColumns: [provisioningDestinations.organizationId, provisioningDestinations.id],
    }),
    check(
      'lms_sites_one_key_check',
      sql`(${table.apiKeySealed} is null) <> (${table.destinationId} is null)`,
    ),
  ],
);
