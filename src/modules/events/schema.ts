/**
 * The append-only event log: every change, written in the same transaction as the change.
 *
 * Ordering and the cursor: a writer inserts its events without a `position`. Before anyone reads,
 * the sequencer (events/repository.ts `sequenceEvents`) gives every committed, unsequenced event
 * the next positions, one process at a time under an advisory lock. Only committed rows are visible
 * to it, so positions follow the order in which events became visible, and "position greater than
 * the last one seen" never skips an event whose transaction committed late. (A horizon based on
 * `pg_snapshot_xmin` would be cluster-wide: a long transaction in another database on the same
 * server would stall the feed.)
 */
import { sql } from 'drizzle-orm';
import { bigint, index, jsonb, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';

export const events = pgTable(
  'events',
  {
    id: bigint('id', { mode: 'bigint' }).primaryKey().generatedAlwaysAsIdentity(),
    /** Place in the log, assigned after commit by the sequencer; null until then. */
    position: bigint('position', { mode: 'bigint' }),
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
    uniqueIndex('events_position_key').on(table.position),
    index('events_unsequenced_idx').on(table.id).where(sql`${table.position} is null`),
    index('events_org_position_idx').on(table.organizationId, table.position),
    index('events_subject_position_idx').on(table.subjectId, table.position),
    // The audit log, newest first, by organization and by actor ("what did this key / person /
    // setup link do"). DESC NULLS LAST, which events_position_key cannot give, so the planner walks
    // these and never the whole log backwards filtering for one quiet organization (see the audit
    // query in repository.ts).
    index('events_org_position_desc_idx')
      .on(table.organizationId, table.position.desc().nullsLast())
      .where(sql`${table.position} is not null`),
    index('events_actor_position_idx')
      .on(sql`(${table.actor} ->> 'id')`, table.position.desc().nullsLast())
      .where(sql`${table.position} is not null`),
    // Per-organization statistics by type over a time window (logins per day, active users,
    // provisioning); subject_id makes the per-day counts index-only.
    index('events_org_type_time_idx').on(table.organizationId, table.type, table.occurredAt, table.subjectId),
  ],
);

/** Per-consumer position in the event log (orchestrator, webhooks, ...). */
export const eventConsumers = pgTable('event_consumers', {
  name: text('name').primaryKey(),
  position: bigint('position', { mode: 'bigint' }).notNull().default(sql`0`),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});
