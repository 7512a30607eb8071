/**
 * Provisioning: destinations (systems we provision into, with sealed credentials), rules (who gets
 * what where), the desired and last-seen state per user and destination with remote ids, every
 * attempt made, and the shared rate-limit buckets of the connector core.
 */
import {
  boolean,
  doublePrecision,
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

export const provisioningDestinations = pgTable(
  'provisioning_destinations',
  {
    organizationId: text('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    id: text('id').notNull(),
    name: text('name').notNull(),
    /** `thinkific`, `scim`, `webhook`. */
    kind: text('kind').notNull(),
    enabled: boolean('enabled').notNull().default(true),
    /** Connection settings without secrets (subdomain, base URL, webhook URL). */
    settings: jsonb('settings').$type<Record<string, unknown>>().notNull().default({}),
    /** Credentials as JSON, sealed with the secret box (context `destination:<id>:credentials`). */
    credentialsSealed: text('credentials_sealed').notNull(),
    /** Deprovisioning, grace period and drift policy (contracts.ts: DestinationPolicy). */
    policy: jsonb('policy').$type<Record<string, unknown>>().notNull().default({}),
    /** Requests per window the destination allows; null: the connector's default. */
    rateLimit: jsonb('rate_limit').$type<{ requests: number; perSeconds: number } | null>(),
    /** Jobs of this destination running at once across all workers. */
    concurrency: integer('concurrency').notNull().default(4),
    /** Attempts per job before it is dead-lettered and reported failed. */
    maxAttempts: integer('max_attempts').notNull().default(6),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    primaryKey({ name: 'provisioning_destinations_pkey', columns: [table.organizationId, table.id] }),
    uniqueIndex('provisioning_destinations_id_key').on(table.id),
    uniqueIndex('provisioning_destinations_name_key').on(table.organizationId, table.name),
  ],
);

export const provisioningRules = pgTable(
  'provisioning_rules',
  {
    organizationId: text('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    id: text('id').notNull(),
    name: text('name').notNull(),
    /** Evaluation order, lowest first (1, 2, ...). */
    position: integer('position').notNull(),
    enabled: boolean('enabled').notNull().default(true),
    condition: jsonb('condition').$type<Record<string, unknown>>().notNull(),
    /** Per destination: account, enrollments, groups (contracts.ts: RuleEffect). */
    effects: jsonb('effects').$type<Array<Record<string, unknown>>>().notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    primaryKey({ name: 'provisioning_rules_pkey', columns: [table.organizationId, table.id] }),
    uniqueIndex('provisioning_rules_id_key').on(table.id),
    index('provisioning_rules_order_idx').on(table.organizationId, table.position),
  ],
);

/**
 * What should exist for one user in one destination (`desired`), what we last saw or made exist
 * there (`actual`, with remote ids), and the job holding the row (`lease_*`): one job at a time
 * works on a user in a destination, so two workers never both create the account.
 */
export const provisioningStates = pgTable(
  'provisioning_states',
  {
    organizationId: text('organization_id').notNull(),
    destinationId: text('destination_id').notNull(),
    /** No foreign key: a deleted user's row drives its deprovisioning. */
    userId: text('user_id').notNull(),
    desired: jsonb('desired').$type<Record<string, unknown>>(),
    actual: jsonb('actual').$type<Record<string, unknown>>().notNull().default({}),
    remoteId: text('remote_id'),
    /** `pending`, `synced`, `retrying`, `failed`, `grace` (removal scheduled), `drift` (reported). */
    status: text('status').notNull().default('pending'),
    /** Removals wait until then (the destination's grace period). */
    removalAfter: timestamp('removal_after', { withTimezone: true }),
    drift: jsonb('drift').$type<Array<Record<string, unknown>>>(),
    lastError: text('last_error'),
    leaseOwner: text('lease_owner'),
    leaseUntil: timestamp('lease_until', { withTimezone: true }),
    syncedAt: timestamp('synced_at', { withTimezone: true }),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    primaryKey({
      name: 'provisioning_states_pkey',
      columns: [table.organizationId, table.destinationId, table.userId],
    }),
    foreignKey({
      name: 'provisioning_states_destination_fkey',
      columns: [table.organizationId, table.destinationId],
      foreignColumns: [provisioningDestinations.organizationId, provisioningDestinations.id],
    }).onDelete('cascade'),
    index('provisioning_states_user_idx').on(table.organizationId, table.userId),
    index('provisioning_states_status_idx').on(table.organizationId, table.destinationId, table.status),
  ],
);

/** One operation against a destination (find user, create user, enroll, ...) and how it went. */
export const provisioningAttempts = pgTable(
  'provisioning_attempts',
  {
    organizationId: text('organization_id').notNull(),
    id: text('id').notNull(),
    destinationId: text('destination_id').notNull(),
    userId: text('user_id').notNull(),
    jobId: text('job_id'),
    /** `find-user`, `create-user`, `enroll`, `expire-enrollment`, `add-to-group`, ... */
    operation: text('operation').notNull(),
    /** What was asked: the target (course id, group name) and the HTTP exchanges, never bodies or headers. */
    request: jsonb('request').$type<Record<string, unknown>>().notNull().default({}),
    /** `succeeded` or `failed`. */
    outcome: text('outcome').notNull(),
    httpStatus: integer('http_status'),
    latencyMs: integer('latency_ms').notNull(),
    error: text('error'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    primaryKey({ name: 'provisioning_attempts_pkey', columns: [table.organizationId, table.id] }),
    foreignKey({
      name: 'provisioning_attempts_destination_fkey',
      columns: [table.organizationId, table.destinationId],
      foreignColumns: [provisioningDestinations.organizationId, provisioningDestinations.id],
    }).onDelete('cascade'),
    index('provisioning_attempts_destination_idx').on(table.organizationId, table.destinationId, table.id),
    index('provisioning_attempts_user_idx').on(table.organizationId, table.userId, table.id),
  ],
);

/**
 * The groups of a destination (LMS or SCIM groups, by name) as the orchestrator found or created
 * them: each is made once, by the first job that needs it (`claimed_by` until `claimed_until`),
 * while the others wait for its `remote_id` instead of racing to create it.
 */
export const provisioningRemoteGroups = pgTable(
  'provisioning_remote_groups',
  {
    organizationId: text('organization_id').notNull(),
    destinationId: text('destination_id').notNull(),
    name: text('name').notNull(),
    /** The destination's id of the group, once it exists. */
    remoteId: text('remote_id'),
    /** The job finding or creating it right now, and until when its claim holds. */
    claimedBy: text('claimed_by'),
    claimedUntil: timestamp('claimed_until', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    primaryKey({
      name: 'provisioning_remote_groups_pkey',
      columns: [table.organizationId, table.destinationId, table.name],
    }),
    foreignKey({
      name: 'provisioning_remote_groups_destination_fkey',
      columns: [table.organizationId, table.destinationId],
      foreignColumns: [provisioningDestinations.organizationId, provisioningDestinations.id],
    }).onDelete('cascade'),
  ],
);

/**
 * Token buckets of the connector core's Postgres rate limiter (src/connectors/rate-limiter.ts),
 * one per destination key. Not tenant data: keys name a destination, never a person.
 */
export const connectorRateBuckets = pgTable('connector_rate_buckets', {
  key: text('key').primaryKey(),
  tokens: doublePrecision('tokens').notNull(),
  refilledAt: timestamp('refilled_at', { withTimezone: true }).notNull(),
  blockedUntil: timestamp('blocked_until', { withTimezone: true }),
  /** How the destination's `RateLimit-Reset` counts down, once learned: `seconds` or `milliseconds`. */
  resetUnit: text('reset_unit'),
});
