/**
 * Event webhooks: subscriptions (a URL, the event types it wants, an optional organization scope,
 * its signing secret), one delivery per event and subscription, and every attempt of a delivery.
 *
 * Keys: a subscription may belong to one organization or to our staff (organization_id null: it
 * receives every organization's events), so it is not a tenant-owned row in the design's sense and
 * its key is its own id. `organization_id` is still on every row, so queries filter by it and an
 * organization's deletion removes its subscriptions and their deliveries.
 */
import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  index,
  integer,
  jsonb,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';
import { organizations } from '../orgs/schema.ts';

export const webhookSubscriptions = pgTable(
  'webhook_subscriptions',
  {
    id: text('id').primaryKey(),
    /** Scope: only this organization's events. Null: a staff subscription that receives all events. */
    organizationId: text('organization_id').references(() => organizations.id, { onDelete: 'cascade' }),
    url: text('url').notNull(),
    description: text('description'),
    /** Event type filters: exact types (`user.created`), families (`user.*`) or `*`. */
    eventTypes: text('event_types').array().notNull(),
    enabled: boolean('enabled').notNull().default(true),
    /** Why it is disabled: `manual` or `failures` (auto-disabled after consecutive failed attempts). */
    disabledReason: text('disabled_reason'),
    disabledAt: timestamp('disabled_at', { withTimezone: true }),
    /** The `whsec_...` signing secret, sealed (context `webhook:<id>:secret`). */
    secretSealed: text('secret_sealed').notNull(),
    /** First characters of the secret, so a person can tell which one a receiver holds. */
    secretPrefix: text('secret_prefix').notNull(),
    secretRotatedAt: timestamp('secret_rotated_at', { withTimezone: true }),
    /** The secret replaced by the last rotation: deliveries carry its signature too until it expires. */
    previousSecretSealed: text('previous_secret_sealed'),
    previousSecretExpiresAt: timestamp('previous_secret_expires_at', { withTimezone: true }),
    /** Failed attempts since the last success; reaching the threshold disables the subscription. */
    consecutiveFailures: integer('consecutive_failures').notNull().default(0),
    /**
     * While the receiver is failing (WEBHOOKS_HOLD_AFTER_FAILURES in a row), the one delivery that
     * probes it at growing intervals; the others are `held` until a probe succeeds.
     */
    probeDeliveryId: text('probe_delivery_id'),
    lastSuccessAt: timestamp('last_success_at', { withTimezone: true }),
    lastFailureAt: timestamp('last_failure_at', { withTimezone: true }),
    version: integer('version').notNull().default(1),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [index('webhook_subscriptions_org_idx').on(table.organizationId, table.id)],
);

/**
 * One event for one subscription. `message_id` is the Standard Webhooks `webhook-id`: the same for
 * every attempt, redelivery and replay of this event to this subscription, so receivers de-duplicate.
 */
export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    id: text('id').primaryKey(),
    subscriptionId: text('subscription_id')
      .notNull()
      .references(() => webhookSubscriptions.id, { onDelete: 'cascade' }),
    /** The event's organization (null for events outside any organization). */
    organizationId: text('organization_id'),
    eventId: bigint('event_id', { mode: 'bigint' }).notNull(),
    eventPosition: bigint('event_position', { mode: 'bigint' }).notNull(),
    eventType: text('event_type').notNull(),
    messageId: text('message_id').notNull(),
    /** The signed body, `{ type, timestamp, data }`, fixed at fan-out so every attempt sends the same bytes. */
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
    /**
     * `queued` (waits for a slot in the subscription's window: no job yet), `pending` (a job is
     * queued), `sending`, `retrying`, `held` (the receiver is failing: waits for a probe to
     * succeed), `succeeded`, `dead` (attempts exhausted) or `skipped` (subscription disabled).
     */
    status: text('status').notNull().default('pending'),
    /** What queued the current round: `automatic` (fan-out), `redeliver` or `replay`. */
    trigger: text('trigger').notNull().default('automatic'),
    /** Attempts in all. */
    attempts: integer('attempts').notNull().default(0),
    /** Attempts since the delivery was last (re)queued: the retry budget counts these. */
    roundAttempts: integer('round_attempts').notNull().default(0),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }),
    /** While `sending`: when the claim lapses (a worker that died mid-attempt). */
    claimedUntil: timestamp('claimed_until', { withTimezone: true }),
    lastStatusCode: integer('last_status_code'),
    lastError: text('last_error'),
    deliveredAt: timestamp('delivered_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    uniqueIndex('webhook_deliveries_subscription_event_key').on(table.subscriptionId, table.eventId),
    index('webhook_deliveries_subscription_idx').on(table.subscriptionId, table.id),
    index('webhook_deliveries_created_idx').on(table.createdAt),
    index('webhook_deliveries_waiting_idx')
      .on(table.subscriptionId, table.id)
      .where(sql`${table.status} in ('queued', 'pending', 'sending')`),
    index('webhook_deliveries_held_idx')
      .on(table.subscriptionId, table.id)
      .where(sql`${table.status} = 'held'`),
  ],
);

/** One HTTP attempt of a delivery: what the receiver answered, or why there was no answer. */
export const webhookAttempts = pgTable(
  'webhook_attempts',
  {
    id: bigint('id', { mode: 'bigint' }).primaryKey().generatedAlwaysAsIdentity(),
    deliveryId: text('delivery_id')
      .notNull()
      .references(() => webhookDeliveries.id, { onDelete: 'cascade' }),
    subscriptionId: text('subscription_id').notNull(),
    /** 1 for the first attempt of the delivery, counting across redeliveries. */
    attempt: integer('attempt').notNull(),
    /** `automatic` (fan-out and retries), `redeliver` or `replay`. */
    trigger: text('trigger').notNull(),
    url: text('url').notNull(),
    startedAt: timestamp('started_at', { withTimezone: true }).notNull(),
    latencyMs: integer('latency_ms').notNull(),
    /** HTTP status, or null when there was no response (refused, timed out, address not allowed). */
    statusCode: integer('status_code'),
    succeeded: boolean('succeeded').notNull(),
    error: text('error'),
    /** The start of the response body (at most 1 KiB). */
    responseSnippet: text('response_snippet'),
  },
  (table) => [index('webhook_attempts_delivery_idx').on(table.deliveryId, table.id)],
);

export const WEBHOOK_DELIVERY_STATUSES = [
  'queued',
  'pending',
  'sending',
  'retrying',
  'held',
  'succeeded',
  'dead',
  'skipped',
] as const;
