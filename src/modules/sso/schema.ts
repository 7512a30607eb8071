/**
 * Inbound SSO: connections (one organization's IdP), login flows in progress, the SAML assertion
 * replay cache, and login traces.
 *
 * Everything a login needs between the redirect to the IdP and the IdP's answer lives here, with an
 * expiry and one-time use, so any hub process can finish a login another one started.
 */
import { sql } from 'drizzle-orm';
import {
  boolean,
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

export const ssoConnections = pgTable(
  'sso_connections',
  {
    organizationId: text('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    id: text('id').notNull(),
    name: text('name').notNull(),
    /** `oidc`, `saml`, or `test` (the built-in test IdP, a real SAML IdP inside the hub). */
    protocol: text('protocol').notNull(),
    /** `entra`, `okta`, `ping`, `google`, `adfs`, `generic`. */
    preset: text('preset').notNull(),
    enabled: boolean('enabled').notNull().default(true),
    /** Protocol settings without secrets (see contracts.ts: OidcSettings, SamlSettings). */
    settings: jsonb('settings').$type<Record<string, unknown>>().notNull().default({}),
    /** Attribute mapping: canonical field -> IdP claim or attribute name(s). */
    mapping: jsonb('mapping').$type<Record<string, unknown>>().notNull().default({}),
    /** OIDC client secret, sealed with the secret box (context `sso_connection:<id>:client_secret`). */
    clientSecretSealed: text('client_secret_sealed'),
    /** Our SAML SP key (signs AuthnRequests, decrypts assertions), sealed; or the test IdP's signing key. */
    privateKeySealed: text('private_key_sealed'),
    /** The certificate of that key (public), PEM. */
    certificate: text('certificate'),
    /** Problems found on save that do not block it (a certificate expiring soon). */
    warnings: jsonb('warnings').$type<Array<Record<string, unknown>>>().notNull().default([]),
    version: integer('version').notNull().default(1),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    primaryKey({ name: 'sso_connections_pkey', columns: [table.organizationId, table.id] }),
    uniqueIndex('sso_connections_id_key').on(table.id),
    index('sso_connections_org_idx').on(table.organizationId, table.enabled),
  ],
);

/**
 * One login attempt between `/login` and the IdP's answer. The row is found by the hash of the
 * OIDC `state` or the SAML request id / RelayState handle, never by a value the IdP could guess,
 * and consumed exactly once (`consumed_at`).
 */
export const ssoLoginFlows = pgTable(
  'sso_login_flows',
  {
    /** sha256 of the handle the browser carries (OIDC `state`, SAML `RelayState`). */
    id: text('id').primaryKey(),
    organizationId: text('organization_id').references(() => organizations.id, { onDelete: 'cascade' }),
    connectionId: text('connection_id'),
    /** `pending` (still choosing a connection), `redirected` (sent to the IdP), `consumed`. */
    stage: text('stage').notNull(),
    /** The SAML AuthnRequest id we sent; the response's InResponseTo must match it. */
    samlRequestId: text('saml_request_id'),
    /** OIDC nonce, sealed with the PKCE code verifier (`{nonce, codeVerifier}`). */
    oidcSecretsSealed: text('oidc_secrets_sealed'),
    /** sha256 of the value in the browser's flow cookie: ties the answer to the browser that asked. */
    browserBindingHash: text('browser_binding_hash'),
    /** What to do after a successful login (e.g. `{ type: 'oidc_interaction', uid }`); null: result page. */
    continuation: jsonb('continuation').$type<Record<string, unknown>>(),
    loginHint: text('login_hint'),
    traceId: text('trace_id'),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    consumedAt: timestamp('consumed_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    uniqueIndex('sso_login_flows_saml_request_key')
      .on(table.connectionId, table.samlRequestId)
      .where(sql`${table.samlRequestId} is not null`),
    index('sso_login_flows_expires_idx').on(table.expiresAt),
  ],
);

/**
 * SAML assertion ids seen, kept until the assertion expires: a second use of the same assertion is
 * refused by the unique key, whichever hub process receives it.
 */
export const ssoAssertionIds = pgTable(
  'sso_assertion_ids',
  {
    organizationId: text('organization_id').notNull(),
    connectionId: text('connection_id').notNull(),
    /** The IdP's entity id and the assertion's ID together (ids are only unique per issuer). */
    issuer: text('issuer').notNull(),
    assertionId: text('assertion_id').notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    primaryKey({
      name: 'sso_assertion_ids_pkey',
      columns: [table.organizationId, table.connectionId, table.issuer, table.assertionId],
    }),
    index('sso_assertion_ids_expires_idx').on(table.expiresAt),
    foreignKey({
      name: 'sso_assertion_ids_connection_fkey',
      columns: [table.organizationId, table.connectionId],
      foreignColumns: [ssoConnections.organizationId, ssoConnections.id],
    }).onDelete('cascade'),
  ],
);

/** Every login attempt, step by step, with secrets redacted. */
export const ssoLoginTraces = pgTable(
  'sso_login_traces',
  {
    organizationId: text('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    id: text('id').notNull(),
    /** Null when the connection was deleted since. */
    connectionId: text('connection_id'),
    protocol: text('protocol').notNull(),
    /** `started`, `succeeded`, `failed`. */
    status: text('status').notNull(),
    /** Stable code of the failure (`saml_audience_mismatch`, `user_suspended`, ...). */
    errorCode: text('error_code'),
    /** A sentence saying what went wrong, for the admin. */
    reason: text('reason'),
    email: text('email'),
    subject: text('subject'),
    userId: text('user_id'),
    /** `{ at, step, ok, message, data }` entries in order. */
    steps: jsonb('steps').$type<Array<Record<string, unknown>>>().notNull().default([]),
    ip: text('ip'),
    userAgent: text('user_agent'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
  },
  (table) => [
    primaryKey({ name: 'sso_login_traces_pkey', columns: [table.organizationId, table.id] }),
    uniqueIndex('sso_login_traces_id_key').on(table.id),
    index('sso_login_traces_org_created_idx').on(table.organizationId, table.id),
    index('sso_login_traces_org_connection_idx').on(table.organizationId, table.connectionId, table.id),
    index('sso_login_traces_org_email_idx').on(table.organizationId, sql`lower(${table.email})`),
  ],
);
