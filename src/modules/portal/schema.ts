/**
 * Setup links: a capability our staff send a client's IT admin to set up one thing (SSO, SCIM or a
 * domain) for one organization, without an account. Only the SHA-256 of the token is stored.
 *
 * A link is bound to what it may touch: an `sso` link to one connection (its id is reserved when
 * the link is made, because the IdP admin needs our ACS URL and entity ID, which contain it, before
 * the IdP's metadata exists), a `scim` link to the one directory it creates (or was given), a
 * `domain` link to the domains of its organization.
 */
import { sql } from 'drizzle-orm';
import { index, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { organizations } from '../orgs/schema.ts';

export const setupLinks = pgTable(
  'setup_links',
  {
    organizationId: text('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    id: text('id').notNull(),
    /** `sso`, `scim` or `domain`. */
    intent: text('intent').notNull(),
    /** Who the link is for (shown to staff and in the audit log), e.g. "Jane Roe, Acme IT". */
    label: text('label'),
    tokenHash: text('token_hash').notNull(),
    /** First characters of the token, to tell links apart. */
    tokenPrefix: text('token_prefix').notNull(),
    /** sso: the connection this link sets up (reserved id until the IdP metadata arrives). */
    connectionId: text('connection_id'),
    /** scim: the directory this link created or was given. */
    directoryId: text('directory_id'),
    /** Who made the link (the actor of `setup_link.created`). */
    createdBy: jsonb('created_by').$type<Record<string, unknown>>().notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    primaryKey({ name: 'setup_links_pkey', columns: [table.organizationId, table.id] }),
    uniqueIndex('setup_links_id_key').on(table.id),
    uniqueIndex('setup_links_token_hash_key').on(table.tokenHash),
    index('setup_links_org_created_idx').on(table.organizationId, table.createdAt),
    index('setup_links_connection_idx')
      .on(table.organizationId, table.connectionId)
      .where(sql`${table.connectionId} is not null`),
  ],
);

export type SetupLinkRow = typeof setupLinks.$inferSelect;
