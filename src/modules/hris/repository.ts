/** All SQL of the hris module. Every query filters by organization first. */
import { and, desc, eq, gt, isNotNull, isNull, lt, lte, sql } from 'drizzle-orm';
import type { Executor } from '../../platform/db/client.ts';
import { textList } from '../../platform/db/sql-fragments.ts';
import { hrisRecords, hrisSettings, hrisSyncRuns, type SyncRunStats } from './schema.ts';

export type RecordRow = typeof hrisRecords.$inferSelect;
export type NewRecordRow = typeof hrisRecords.$inferInsert;
export type RunRow = typeof hrisSyncRuns.$inferSelect;
export type SettingsRow = typeof hrisSettings.$inferSelect;

// Records

export async function recordsBySourceIds(
  executor: Executor,
  organizationId: string,
  directoryId: string,
  sourceIds: readonly string[],
): Promise<RecordRow[]> {
  if (!sourceIds.length) return [];
  return executor
    .select()
    .from(hrisRecords)
    .where(
      and(
        eq(hrisRecords.organizationId, organizationId),
        eq(hrisRecords.directoryId, directoryId),
        sql`${hrisRecords.sourceId} = any(${textList(sourceIds)})`,
      ),
    );
}

/** What deciding "unchanged?" needs, without the records' bodies (the hot path of a resync). */
export async function recordHashes(
  executor: Executor,
  organizationId: string,
  directoryId: string,
  sourceIds: readonly string[],
): Promise<Array<{ sourceId: string; hash: string; userId: string | null; deleted: boolean }>> {
  if (!sourceIds.length) return [];
  return executor
    .select({
      sourceId: hrisRecords.sourceId,
      hash: hrisRecords.hash,
      userId: hrisRecords.userId,
      deleted: sql<boolean>`${hrisRecords.deletedAt} is not null`,
    })
    .from(hrisRecords)
    .where(
      and(
        eq(hrisRecords.organizationId, organizationId),
        eq(hrisRecords.directoryId, directoryId),
        sql`${hrisRecords.sourceId} = any(${textList(sourceIds)})`,
      ),
    );
}

/** Inserts or replaces records (one statement per page). */
export async function upsertRecords(executor: Executor, rows: readonly NewRecordRow[]): Promise<void> {
  if (!rows.length) return;
  await executor
    .insert(hrisRecords)
    .values([...rows])
    .onConflictDoUpdate({
      target: [hrisRecords.organizationId, hrisRecords.directoryId, hrisRecords.sourceId],
      set: {
        userId: sql`excluded.user_id`,
        matchStatus: sql`excluded.match_status`,
        matchDetail: sql`excluded.match_detail`,
        employee: sql`excluded.employee`,
        fieldChangedAt: sql`excluded.field_changed_at`,
        hash: sql`excluded.hash`,
        deactivatedUser: sql`excluded.deactivated_user`,
        changedAt: sql`excluded.changed_at`,
        deletedAt: sql`excluded.deleted_at`,
      },
    });
}

/** Source ids of the directory's records that are not deleted. */
export async function liveSourceIds(
  executor: Executor,
  organizationId: string,
  directoryId: string,
): Promise<string[]> {
  const rows = await executor
    .select({ sourceId: hrisRecords.sourceId })
    .from(hrisRecords)
    .where(
      and(
        eq(hrisRecords.organizationId, organizationId),
        eq(hrisRecords.directoryId, directoryId),
        isNull(hrisRecords.deletedAt),
      ),
    );
  return rows.map((row) => row.sourceId);
}

/** Live, linked records whose termination date has come (and whose user HR has not yet deactivated). */
export async function dueTerminations(
  executor: Executor,
  organizationId: string,
  directoryId: string,
  today: string,
): Promise<RecordRow[]> {
  return executor
    .select()
    .from(hrisRecords)
    .where(
      and(
        eq(hrisRecords.organizationId, organizationId),
        eq(hrisRecords.directoryId, directoryId),
        isNull(hrisRecords.deletedAt),
        isNotNull(hrisRecords.userId),
        eq(hrisRecords.deactivatedUser, false),
        lte(sql`${hrisRecords.employee} -> 'fields' ->> 'terminationDate'`, today),
      ),
    );
}

export async function listRecords(
  executor: Executor,
  query: {
    organizationId: string;
    directoryId: string;
    matchStatus?: string;
    after?: string;
    limit: number;
  },
): Promise<RecordRow[]> {
  return executor
    .select()
    .from(hrisRecords)
    .where(
      and(
        eq(hrisRecords.organizationId, query.organizationId),
        eq(hrisRecords.directoryId, query.directoryId),
        query.matchStatus ? eq(hrisRecords.matchStatus, query.matchStatus) : undefined,
        query.after ? gt(hrisRecords.sourceId, query.after) : undefined,
      ),
    )
    .orderBy(hrisRecords.sourceId)
    .limit(query.limit);
}

/** The user's live records (one per HR/directory source), newest change first. */
export async function recordsOfUser(
  executor: Executor,
  organizationId: string,
  userId: string,
): Promise<RecordRow[]> {
  return executor
    .select()
    .from(hrisRecords)
    .where(
      and(
        eq(hrisRecords.organizationId, organizationId),
        eq(hrisRecords.userId, userId),
        isNull(hrisRecords.deletedAt),
      ),
    )
    .orderBy(desc(hrisRecords.changedAt));
}

/** Records of a directory linked to any of these users (a user may be claimed by one record per source). */
export async function recordsLinkedTo(
  executor: Executor,
  organizationId: string,
  directoryId: string,
  userIds: readonly string[],
): Promise<Array<{ sourceId: string; userId: string }>> {
  if (!userIds.length) return [];
  const rows = await executor
    .select({ sourceId: hrisRecords.sourceId, userId: hrisRecords.userId })
    .from(hrisRecords)
    .where(
      and(
        eq(hrisRecords.organizationId, organizationId),
        eq(hrisRecords.directoryId, directoryId),
        sql`${hrisRecords.userId} = any(${textList(userIds)})`,
      ),
    );
  return rows as Array<{ sourceId: string; userId: string }>;
}

/** What deleting a directory takes with it: its record count and the users its records are linked to. */
export async function directoryFootprint(
  executor: Executor,
  organizationId: string,
  directoryId: string,
): Promise<{ records: number; userIds: string[] }> {
  const rows = await executor
    .select({ userId: hrisRecords.userId, count: sql<number>`count(*)::int` })
    .from(hrisRecords)
    .where(and(eq(hrisRecords.organizationId, organizationId), eq(hrisRecords.directoryId, directoryId)))
    .groupBy(hrisRecords.userId);
  return {
    records: rows.reduce((sum, row) => sum + row.count, 0),
    userIds: rows.map((row) => row.userId).filter((id): id is string => id !== null),
  };
}

/** Live reports of a person (records naming their source id as manager) and how many are active. */
export async function countReports(
  executor: Executor,
  organizationId: string,
  directoryId: string,
  managerSourceId: string,
): Promise<number> {
  const [row] = await executor
    .select({ count: sql<number>`count(*)::int` })
    .from(hrisRecords)
    .where(
      and(
        eq(hrisRecords.organizationId, organizationId),
        eq(hrisRecords.directoryId, directoryId),
        sql`(${hrisRecords.employee} -> 'fields' ->> 'manager') = ${managerSourceId}`,
        isNull(hrisRecords.deletedAt),
        sql`coalesce(${hrisRecords.employee} -> 'fields' ->> 'employmentStatus', 'active') <> 'inactive'`,
      ),
    );
  return row?.count ?? 0;
}

export async function recordBySourceId(
  executor: Executor,
  organizationId: string,
  directoryId: string,
  sourceId: string,
): Promise<RecordRow | undefined> {
  const [row] = await recordsBySourceIds(executor, organizationId, directoryId, [sourceId]);
  return row;
}

// Runs

export const EMPTY_STATS: SyncRunStats = {
  pages: 0,
  read: 0,
  created: 0,
  updated: 0,
  unchanged: 0,
  deleted: 0,
  unmatched: 0,
  ambiguous: 0,
  usersCreated: 0,
  usersUpdated: 0,
  usersDeactivated: 0,
  usersReactivated: 0,
};

export async function insertRun(executor: Executor, row: typeof hrisSyncRuns.$inferInsert): Promise<RunRow> {
  const [inserted] = await executor.insert(hrisSyncRuns).values(row).returning();
  return inserted as RunRow;
}

export async function updateRun(
  executor: Executor,
  organizationId: string,
  id: string,
  changes: Partial<typeof hrisSyncRuns.$inferInsert>,
): Promise<void> {
  await executor
    .update(hrisSyncRuns)
    .set(changes)
    .where(and(eq(hrisSyncRuns.organizationId, organizationId), eq(hrisSyncRuns.id, id)));
}

export async function latestRun(
  executor: Executor,
  organizationId: string,
  directoryId: string,
): Promise<RunRow | undefined> {
  const [row] = await executor
    .select()
    .from(hrisSyncRuns)
    .where(and(eq(hrisSyncRuns.organizationId, organizationId), eq(hrisSyncRuns.directoryId, directoryId)))
    .orderBy(desc(hrisSyncRuns.startedAt), desc(hrisSyncRuns.id))
    .limit(1);
  return row;
}

export async function listRuns(
  executor: Executor,
  query: { organizationId: string; directoryId: string; before?: string; limit: number },
): Promise<RunRow[]> {
  return executor
    .select()
    .from(hrisSyncRuns)
    .where(
      and(
        eq(hrisSyncRuns.organizationId, query.organizationId),
        eq(hrisSyncRuns.directoryId, query.directoryId),
        query.before ? lt(hrisSyncRuns.id, query.before) : undefined,
      ),
    )
    .orderBy(desc(hrisSyncRuns.id))
    .limit(query.limit);
}

export async function findRun(
  executor: Executor,
  organizationId: string,
  id: string,
): Promise<RunRow | undefined> {
  const [row] = await executor
    .select()
    .from(hrisSyncRuns)
    .where(and(eq(hrisSyncRuns.organizationId, organizationId), eq(hrisSyncRuns.id, id)))
    .limit(1);
  return row;
}

// Settings

export async function findSettings(
  executor: Executor,
  organizationId: string,
): Promise<SettingsRow | undefined> {
  const [row] = await executor
    .select()
    .from(hrisSettings)
    .where(eq(hrisSettings.organizationId, organizationId))
    .limit(1);
  return row;
}

export async function upsertSettings(
  executor: Executor,
  row: typeof hrisSettings.$inferInsert,
): Promise<SettingsRow> {
  const [saved] = await executor
    .insert(hrisSettings)
    .values(row)
    .onConflictDoUpdate({
      target: hrisSettings.organizationId,
      set: {
        matchBy: row.matchBy,
        contextFields: row.contextFields,
        newInRoleDays: row.newInRoleDays,
        levelBands: row.levelBands,
        updatedAt: sql`now()`,
      },
    })
    .returning();
  return saved as SettingsRow;
}
