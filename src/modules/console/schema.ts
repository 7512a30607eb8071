/**
 * The admin console: who may use it (members and their console role), the sessions of people
 * signed in to it, and the one-time login links of the first-run bootstrap. Tokens are stored only
 * as SHA-256 hashes. These are staff records, not tenant data: no organization_id.
 */
import { index, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';

export const consoleMembers = pgTable(
  'console_members',
  {
    id: text('id').primaryKey(),
    /** Lower-cased email the grant was made to; matched on first SSO sign-in (verified emails only). */
    email: text('email').notNull(),
    /** The Switchboard user (the provider's `sub`), bound on first sign-in or given at grant time. */
    userId: text('user_id'),
    /** `owner`, `admin` or `support`. */
    role: text('role').notNull(),
    grantedBy: text('granted_by'),
    lastSignInAt: timestamp('last_sign_in_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    uniqueIndex('console_members_email_key').on(table.email),
    uniqueIndex('console_members_user_id_key').on(table.userId),
  ],
);

export const consoleSessions = pgTable(
  'console_sessions',
  {
    id: text('id').primaryKey(),
    /** SHA-256 of the cookie value. */
    tokenHash: text('token_hash').notNull(),
    /** The member signed in; null for a login-link (bootstrap) session. */
    memberId: text('member_id'),
    userId: text('user_id'),
    email: text('email'),
    name: text('name').notNull(),
    role: text('role').notNull(),
    /** `sso` or `login_link`. */
    method: text('method').notNull(),
    ip: text('ip'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    lastSeenAt: timestamp('last_seen_at', { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  },
  (table) => [
    uniqueIndex('console_sessions_token_hash_key').on(table.tokenHash),
    index('console_sessions_expires_at_idx').on(table.expiresAt),
    index('console_sessions_member_id_idx').on(table.memberId),
  ],
);

export const consoleLoginLinks = pgTable(
  'console_login_links',
  {
    id: text('id').primaryKey(),
    tokenHash: text('token_hash').notNull(),
    createdBy: text('created_by').notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    usedAt: timestamp('used_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [uniqueIndex('console_login_links_token_hash_key').on(table.tokenHash)],
);

/** The console's own OIDC client at Switchboard's provider (one row, id `console`). */
export const consoleClient = pgTable('console_client', {
  id: text('id').primaryKey(),
  applicationId: text('application_id').notNull(),
  redirectUri: text('redirect_uri').notNull(),
  /** The client secret, sealed with SECRET_KEY. */
  secretSealed: text('secret_sealed').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});
