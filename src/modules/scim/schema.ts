/**
 * SCIM resources as a directory sent them, linked to the users and groups Switchboard owns.
 *
 * A `scim_users` row is one directory's view of one user: the resource exactly as the IdP sent it
 * (`resource`, minus write-only and read-only attributes), plus indexed copies of the attributes
 * IdPs filter on, so a `userName eq` lookup is one index probe. The Switchboard user (`users`) holds
 * the canonical identity (email, names, status, profile) that SSO and provisioning use; a user is
 * managed by at most one SCIM directory. Groups likewise: `scim_groups` points at `groups`, and
 * memberships live in `group_memberships` (the SCIM `members` are computed from it).
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
import { directories, groups, users } from '../directory/schema.ts';

export const scimUsers = pgTable(
  'scim_users',
  {
    organizationId: text('organization_id').notNull(),
    directoryId: text('directory_id').notNull(),
    /** The Switchboard user id, which is also the SCIM `id`. */
    userId: text('user_id').notNull(),
    /** `userName` as sent (compared case-insensitively, RFC 7643 section 4.1.1). */
    userName: text('user_name').notNull(),
    /** `externalId` as sent (case-exact). */
    externalId: text('external_id'),
    displayName: text('display_name'),
    active: boolean('active').notNull().default(true),
    /** Lower-cased `emails[].value`, for indexed `emails.value eq` / `emails[...]` filters. */
    emailValues: text('email_values').array().notNull().default(sql`'{}'::text[]`),
    /** The SCIM resource as sent, without `id`, `meta`, `groups` and `password`. */
    resource: jsonb('resource').$type<Record<string, unknown>>().notNull(),
    /** SCIM `meta.version` (ETag), incremented on every change through SCIM. */
    version: integer('version').notNull().default(1),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    primaryKey({ name: 'scim_users_pkey', columns: [table.organizationId, table.directoryId, table.userId] }),
    uniqueIndex('scim_users_user_key').on(table.organizationId, table.userId),
    uniqueIndex('scim_users_user_name_key').on(
      table.organizationId,
      table.directoryId,
      sql`lower(${table.userName})`,
    ),
    index('scim_users_external_id_idx').on(table.organizationId, table.directoryId, table.externalId),
    index('scim_users_display_name_idx').on(
      table.organizationId,
      table.directoryId,
      sql`lower(${table.displayName})`,
    ),
    index('scim_users_email_values_idx').using('gin', table.emailValues),
    foreignKey({
      name: 'scim_users_directory_fkey',
      columns: [table.organizationId, table.directoryId],
      foreignColumns: [directories.organizationId, directories.id],
    }).onDelete('cascade'),
    foreignKey({
      name: 'scim_users_user_fkey',
      columns: [table.organizationId, table.userId],
      foreignColumns: [users.organizationId, users.id],
    }).onDelete('cascade'),
  ],
);

export const scimGroups = pgTable(
  'scim_groups',
  {
    organizationId: text('organization_id').notNull(),
    directoryId: text('directory_id').notNull(),
    /** The Switchboard group id, which is also the SCIM `id`. */
    groupId: text('group_id').notNull(),
    displayName: text('display_name').notNull(),
    externalId: text('external_id'),
    /** The SCIM resource as sent, without `id`, `meta` and `members`. */
    resource: jsonb('resource').$type<Record<string, unknown>>().notNull(),
    version: integer('version').notNull().default(1),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    primaryKey({
      name: 'scim_groups_pkey',
      columns: [table.organizationId, table.directoryId, table.groupId],
    }),
    uniqueIndex('scim_groups_group_key').on(table.organizationId, table.groupId),
    uniqueIndex('scim_groups_display_name_key').on(
      table.organizationId,
      table.directoryId,
      sql`lower(${table.displayName})`,
    ),
    index('scim_groups_external_id_idx').on(table.organizationId, table.directoryId, table.externalId),
    foreignKey({
      name: 'scim_groups_directory_fkey',
      columns: [table.organizationId, table.directoryId],
      foreignColumns: [directories.organizationId, directories.id],
    }).onDelete('cascade'),
    foreignKey({
      name: 'scim_groups_group_fkey',
      columns: [table.organizationId, table.groupId],
      foreignColumns: [groups.organizationId, groups.id],
    }).onDelete('cascade'),
  ],
);
