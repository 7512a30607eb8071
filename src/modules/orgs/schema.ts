/**
 * Organizations (tenants) and their email domains.
 *
 * Tenant-owned tables carry `organization_id` in their primary, unique and foreign keys so the
 * schema can be distributed by organization (Citus) or moved per region without a redesign.
 */
import { sql } from 'drizzle-orm';
import {
  boolean,
  index,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';

export const organizations = pgTable(
  'organizations',
  {
    id: text('id').primaryKey(),
    slug: text('slug').notNull(),
    name: text('name').notNull(),
    /** `active` or `suspended` (a suspended organization's users cannot sign in). */
    status: text('status').notNull().default('active'),
    /** Data region label, e.g. `eu`, `us`. */
    region: text('region').notNull().default('default'),
    /** `production` or `sandbox`; the built-in test IdP is refused on production organizations. */
    environment: text('environment').notNull().default('production'),
    /** Organization policies (JIT, account linking, deprovisioning); see orgs/contracts.ts. */
    policies: jsonb('policies').notNull().default({}),
    /** App instance URLs by application key, e.g. `{ "coaching": "https://pg.example.com" }`. */
    instances: jsonb('instances').notNull().default({}),
    metadata: jsonb('metadata').notNull().default({}),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [uniqueIndex('organizations_slug_key').on(table.slug)],
);

export const organizationDomains = pgTable(
  'organization_domains',
  {
    organizationId: text('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    id: text('id').notNull(),
    /** Lower-case domain name without trailing dot. */
    domain: text('domain').notNull(),
    verified: boolean('verified').notNull().default(false),
    /** Value expected in the DNS TXT record `_switchboard-verification.<domain>`. */
    verificationToken: text('verification_token').notNull(),
    verificationMethod: text('verification_method'),
    verifiedAt: timestamp('verified_at', { withTimezone: true }),
    lastCheckedAt: timestamp('last_checked_at', { withTimezone: true }),
    lastCheckError: text('last_check_error'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    primaryKey({ name: 'organization_domains_pkey', columns: [table.organizationId, table.id] }),
    uniqueIndex('organization_domains_org_domain_key').on(table.organizationId, table.domain),
    // A verified domain routes logins (home-realm discovery): only one organization may hold it.
    uniqueIndex('organization_domains_verified_domain_key').on(table.domain).where(sql`${table.verified}`),
    index('organization_domains_domain_idx').on(table.domain),
  ],
);
