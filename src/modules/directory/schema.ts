/**
 * The user store: users, groups, memberships and identities. Every change to these tables is made
 * by the directory service together with its event, in one transaction.
 */
import { sql } from 'drizzle-orm';
import {
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

export const users = pgTable(
  'users',
  {
    organizationId: text('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    /** Stable id: the `sub` our applications see. */
    id: text('id').notNull(),
    email: text('email'),
    givenName: text('given_name'),
    familyName: text('family_name'),
    displayName: text('display_name'),
    /** `active`, `suspended` or `deprovisioned`. */
    status: text('status').notNull().default('active'),
    /** Ids this person has in other systems, by source key (`employee_id`, `scim:dir_...`). */
    externalIds: jsonb('external_ids').$type<Record<string, string>>().notNull().default({}),
    /** Canonical profile attributes (title, department, ...) and custom attributes. */
    profile: jsonb('profile').$type<Record<string, unknown>>().notNull().default({}),
    /** Where the user came from first: `api`, `scim`, `sso`, `import`, `hris`. */
    source: text('source').notNull().default('api'),
    /** Incremented on every change: SCIM ETags and optimistic concurrency. */
    version: integer('version').notNull().default(1),
    lastLoginAt: timestamp('last_login_at', { withTimezone: true }),
    statusChangedAt: timestamp('status_changed_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    primaryKey({ name: 'users_pkey', columns: [table.organizationId, table.id] }),
    uniqueIndex('users_id_key').on(table.id),
    uniqueIndex('users_org_email_key')
      .on(table.organizationId, sql`lower(${table.email})`)
      .where(sql`${table.email} is not null`),
    index('users_org_status_idx').on(table.organizationId, table.status),
    index('users_org_email_pattern_idx').on(
      table.organizationId,
      sql`lower(${table.email}) text_pattern_ops`,
    ),
    // HR matching: by employee id (set by HR syncs and imports) or SCIM's enterprise employeeNumber.
    index('users_org_employee_id_idx').on(
      table.organizationId,
      sql`(${table.externalIds} ->> 'employee_id')`,
    ),
    index('users_org_employee_number_idx').on(
      table.organizationId,
      sql`(${table.profile} ->> 'employeeNumber')`,
    ),
  ],
);

export const groups = pgTable(
  'groups',
  {
    organizationId: text('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    id: text('id').notNull(),
    name: text('name').notNull(),
    description: text('description'),
    source: text('source').notNull().default('api'),
    externalIds: jsonb('external_ids').$type<Record<string, string>>().notNull().default({}),
    version: integer('version').notNull().default(1),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    primaryKey({ name: 'groups_pkey', columns: [table.organizationId, table.id] }),
    uniqueIndex('groups_id_key').on(table.id),
    uniqueIndex('groups_org_name_key').on(table.organizationId, sql`lower(${table.name})`),
  ],
);

export const groupMemberships = pgTable(
  'group_memberships',
  {
    organizationId: text('organization_id').notNull(),
    groupId: text('group_id').notNull(),
    userId: text('user_id').notNull(),
    source: text('source').notNull().default('api'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    primaryKey({
      name: 'group_memberships_pkey',
      columns: [table.organizationId, table.groupId, table.userId],
    }),
    index('group_memberships_user_idx').on(table.organizationId, table.userId),
    foreignKey({
      name: 'group_memberships_group_fkey',
      columns: [table.organizationId, table.groupId],
      foreignColumns: [groups.organizationId, groups.id],
    }).onDelete('cascade'),
    foreignKey({
      name: 'group_memberships_user_fkey',
      columns: [table.organizationId, table.userId],
      foreignColumns: [users.organizationId, users.id],
    }).onDelete('cascade'),
  ],
);

export const identities = pgTable(
  'identities',
  {
    organizationId: text('organization_id').notNull(),
    id: text('id').notNull(),
    userId: text('user_id').notNull(),
    /** `connection` (SSO), `directory` (SCIM, HR, import) or another source kind. */
    providerType: text('provider_type').notNull(),
    /** The connection's or directory's id. */
    providerId: text('provider_id').notNull(),
    /** The subject the provider knows this person by (OIDC `sub`, SAML NameID, SCIM id, employee id). */
    subject: text('subject').notNull(),
    /** What the provider last said about the person (mapped attributes, no secrets). */
    profile: jsonb('profile').$type<Record<string, unknown>>().notNull().default({}),
    lastSeenAt: timestamp('last_seen_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    primaryKey({ name: 'identities_pkey', columns: [table.organizationId, table.id] }),
    uniqueIndex('identities_provider_subject_key').on(table.organizationId, table.providerId, table.subject),
    index('identities_user_idx').on(table.organizationId, table.userId),
    foreignKey({
      name: 'identities_user_fkey',
      columns: [table.organizationId, table.userId],
      foreignColumns: [users.organizationId, users.id],
    }).onDelete('cascade'),
  ],
);

/**
 * Inbound user sources of an organization: a SCIM endpoint today; HR systems, directory pulls and
 * file imports later. `kind` says which; `provider` which product is on the other side (its quirks).
 */
export const directories = pgTable(
  'directories',
  {
    organizationId: text('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    id: text('id').notNull(),
    /** `scim` (pushed to us). Later: `hris`, `google_workspace`, `microsoft_graph`, `file`. */
    kind: text('kind').notNull(),
    /** `entra`, `okta` or `generic`. */
    provider: text('provider').notNull(),
    name: text('name').notNull(),
    /** `active` or `disabled` (a disabled directory refuses every request). */
    status: text('status').notNull().default('active'),
    /** Kind-specific settings (SCIM: the custom attribute extension). No secrets. */
    settings: jsonb('settings').$type<Record<string, unknown>>().notNull().default({}),
    /** Sealed credentials for pull kinds (HR API keys, OAuth client secrets); SecretBox envelope. */
    credentials: text('credentials'),
    /** Pull kinds: cursors, last run, last error. */
    syncState: jsonb('sync_state').$type<Record<string, unknown>>().notNull().default({}),
    lastActivityAt: timestamp('last_activity_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    primaryKey({ name: 'directories_pkey', columns: [table.organizationId, table.id] }),
    uniqueIndex('directories_id_key').on(table.id),
  ],
);

/**
 * Bearer tokens of a directory (SCIM). Only the SHA-256 is stored. Rotation issues a new token and
 * gives the previous ones an `expires_at` (the overlap period), so the IdP can be updated without
 * a failed sync; revocation is immediate.
 */
export const directoryTokens = pgTable(
  'directory_tokens',
  {
    organizationId: text('organization_id').notNull(),
    id: text('id').notNull(),
    directoryId: text('directory_id').notNull(),
    tokenHash: text('token_hash').notNull(),
    /** First characters of the token, to tell tokens apart. */
    tokenPrefix: text('token_prefix').notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true }),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    primaryKey({ name: 'directory_tokens_pkey', columns: [table.organizationId, table.id] }),
    uniqueIndex('directory_tokens_hash_key').on(table.tokenHash),
    index('directory_tokens_directory_idx').on(table.organizationId, table.directoryId),
    foreignKey({
      name: 'directory_tokens_directory_fkey',
      columns: [table.organizationId, table.directoryId],
      foreignColumns: [directories.organizationId, directories.id],
    }).onDelete('cascade'),
  ],
);
