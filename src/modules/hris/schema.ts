/**
 * HR data: one row per person per HR/directory source (their canonical record, its hash, and the
 * user it is matched to), the sync runs of each pull directory, and each organization's HR
 * policies (matching order, context API allow-list, level bands).
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
} from 'drizzle-orm/pg-core';
import { directories } from '../directory/schema.ts';
import { organizations } from '../orgs/schema.ts';

/** What a source record holds (canonical fields, custom attributes, job history, per-field change times). */
export interface StoredEmployee {
  fields: Record<string, string | string[] | null>;
  custom: Record<string, string | string[] | null>;
  jobHistory?: Array<{
    effectiveDate: string;
    jobTitle?: string | null;
    level?: string | null;
    department?: string | null;
    promotion?: boolean;
  }>;
}

export const hrisRecords = pgTable(
  'hris_records',
  {
    organizationId: text('organization_id').notNull(),
    directoryId: text('directory_id').notNull(),
    /** The person's id in the source. */
    sourceId: text('source_id').notNull(),
    /** The Switchboard user this record is matched to (null: unmatched or ambiguous). */
    userId: text('user_id'),
    /** `matched` (to an existing user), `created` (a user made from it), `unmatched`, `ambiguous`. */
    matchStatus: text('match_status').notNull(),
    /** Why unmatched or ambiguous, and the candidate user ids. */
    matchDetail: jsonb('match_detail').$type<{ reason: string; candidates?: string[] }>(),
    employee: jsonb('employee').$type<StoredEmployee>().notNull(),
    /** When each canonical field last changed value (ISO), for time-in-role and provenance. */
    fieldChangedAt: jsonb('field_changed_at').$type<Record<string, string>>().notNull().default({}),
    /** SHA-256 of the canonical record: an unchanged record is not written again. */
    hash: text('hash').notNull(),
    /** The user was deactivated because this record left (so a rehire may reactivate them). */
    deactivatedUser: boolean('deactivated_user').notNull().default(false),
    firstSeenAt: timestamp('first_seen_at', { withTimezone: true }).notNull().defaultNow(),
    changedAt: timestamp('changed_at', { withTimezone: true }).notNull().defaultNow(),
    /** The source no longer has this person (a full sync did not return them, or it said so). */
    deletedAt: timestamp('deleted_at', { withTimezone: true }),
  },
  (table) => [
    primaryKey({
      name: 'hris_records_pkey',
      columns: [table.organizationId, table.directoryId, table.sourceId],
    }),
    index('hris_records_user_idx').on(table.organizationId, table.userId),
    index('hris_records_manager_idx').on(
      table.organizationId,
      table.directoryId,
      sql`(${table.employee} -> 'fields' ->> 'manager')`,
    ),
    // Lists of unmatched and ambiguous records, paged by source id. Partial, so that it is never a
    // candidate for lookups by source id: on a table that has grown since its last ANALYZE the
    // planner took the full (org, directory, status) index for those and read every record per page.
    index('hris_records_open_match_idx')
      .on(table.organizationId, table.directoryId, table.matchStatus, table.sourceId)
      .where(sql`${table.matchStatus} in ('unmatched', 'ambiguous')`),
    foreignKey({
      name: 'hris_records_directory_fkey',
      columns: [table.organizationId, table.directoryId],
      foreignColumns: [directories.organizationId, directories.id],
    }).onDelete('cascade'),
  ],
);

export interface SyncRunStats {
  pages: number;
  read: number;
  created: number;
  updated: number;
  unchanged: number;
  deleted: number;
  unmatched: number;
  ambiguous: number;
  usersCreated: number;
  usersUpdated: number;
  usersDeactivated: number;
  usersReactivated: number;
}

export const hrisSyncRuns = pgTable(
  'hris_sync_runs',
  {
    organizationId: text('organization_id').notNull(),
    id: text('id').notNull(),
    directoryId: text('directory_id').notNull(),
    /** `full` or `incremental`. */
    mode: text('mode').notNull(),
    /** `schedule` or `manual`. */
    trigger: text('trigger').notNull(),
    /** `running`, `succeeded`, `failed` (resumable from `checkpoint`), `abandoned`. */
    status: text('status').notNull(),
    /** Resume point after the last committed page. */
    checkpoint: text('checkpoint'),
    /** The incremental token this run read from. */
    since: text('since'),
    attempts: integer('attempts').notNull().default(1),
    stats: jsonb('stats').$type<SyncRunStats>().notNull(),
    /** Source ids a failed full run had read, so its resumption can still detect deletions. */
    seenIds: jsonb('seen_ids').$type<string[]>(),
    error: jsonb('error').$type<{ code: string; message: string; at: string; page?: number }>(),
    startedAt: timestamp('started_at', { withTimezone: true }).notNull().defaultNow(),
    heartbeatAt: timestamp('heartbeat_at', { withTimezone: true }).notNull().defaultNow(),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
  },
  (table) => [
    primaryKey({ name: 'hris_sync_runs_pkey', columns: [table.organizationId, table.id] }),
    index('hris_sync_runs_directory_idx').on(table.organizationId, table.directoryId, table.startedAt),
    foreignKey({
      name: 'hris_sync_runs_directory_fkey',
      columns: [table.organizationId, table.directoryId],
      foreignColumns: [directories.organizationId, directories.id],
    }).onDelete('cascade'),
  ],
);

/** Per-organization HR policies. */
export const hrisSettings = pgTable('hris_settings', {
  organizationId: text('organization_id')
    .primaryKey()
    .references(() => organizations.id, { onDelete: 'cascade' }),
  /** Keys tried in order to match a record to a user: `employeeId`, `workEmail`. */
  matchBy: jsonb('match_by').$type<string[]>().notNull(),
  /** Profile fields and facts the context API may return (nothing else ever leaves). */
  contextFields: jsonb('context_fields').$type<string[]>().notNull(),
  newInRoleDays: integer('new_in_role_days').notNull(),
  /** Level → band, e.g. `[{band:'senior', levels:['L5','L6']}]`. */
  levelBands: jsonb('level_bands').$type<Array<{ band: string; levels: string[] }>>().notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});
