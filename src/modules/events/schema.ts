/**
 * The append-only event log: every change, written in the same transaction as the change.
 *
 * Ordering and the cursor: `tx_id` is the writing transaction's id (`pg_current_xact_id()`). A reader
 * only returns events whose transaction is older than every transaction still running
 * (`tx_id < pg_snapshot_xmin(pg_current_snapshot())`), ordered by `(tx_id, id)`. Sequence values are
 * handed out before commit, so "id greater than the last one seen" would skip an event whose
 * transaction commits late; the xmin horizon makes the cursor gap-free.
 */
import { sql } from 'drizzle-orm';
import { bigint, index, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

export const events = pgTable(
  'events',
  {
    id: bigint('id', { mode: 'bigint' }).primaryKey().generatedAlwaysAsIdentity(),
    txId: bigint('tx_id', { mode: 'bigint' }).notNull().default(sql`(pg_current_xact_id()::text::bigint)`),
    /** Null for events outside any organization (API keys, applications shared by all). */
    organizationId: text('organization_id'),
    type: text('type').notNull(),
    /** Who made the change: `{ type, id, name, ip, requestId }`. */
    actor: jsonb('actor').$type<Record<string, unknown>>().notNull(),
    subjectType: text('subject_type'),
    subjectId: text('subject_id'),
    /** The change: the resource after it and, for updates, the fields before. Never secrets. */
    data: jsonb('data').$type<Record<string, unknown>>().notNull().default({}),
    occurredAt: timestamp('occurred_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    index('events_cursor_idx').on(table.txId, table.id),
    index('events_org_cursor_idx').on(table.organizationId, table.txId, table.id),
    index('events_subject_idx').on(table.subjectId, table.txId),
  ],
);

/** Per-consumer position in the event log (orchestrator, webhooks, ...). */
export const eventConsumers = pgTable('event_consumers', {
  name: text('name').primaryKey(),
  cursorTxId: bigint('cursor_tx_id', { mode: 'bigint' }).notNull().default(sql`0`),
  cursorId: bigint('cursor_id', { mode: 'bigint' }).notNull().default(sql`0`),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});
