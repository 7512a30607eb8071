/** Every query of the provisioning module. */
import { and, asc, desc, eq, gt, inArray, isNotNull, lt, max, or, sql } from 'drizzle-orm';
import { type Executor, queryRows } from '../../platform/db/client.ts';
import {
  provisioningAttempts,
  provisioningDestinations,
  provisioningRemoteGroups,
  provisioningRules,
  provisioningStates,
} from './schema.ts';

export type DestinationRow = typeof provisioningDestinations.$inferSelect;
export type RuleRow = typeof provisioningRules.$inferSelect;
export type StateRow = typeof provisioningStates.$inferSelect;
export type AttemptRow = typeof provisioningAttempts.$inferSelect;

// Destinations

export async function insertDestination(
  executor: Executor,
  row: typeof provisioningDestinations.$inferInsert,
) {
  const [inserted] = await executor.insert(provisioningDestinations).values(row).returning();
  return inserted as DestinationRow;
}

export async function selectDestination(
  executor: Executor,
  organizationId: string,
  id: string,
  options: { forUpdate?: boolean } = {},
): Promise<DestinationRow | undefined> {
  const query = executor
    .select()
    .from(provisioningDestinations)
    .where(
      and(eq(provisioningDestinations.organizationId, organizationId), eq(provisioningDestinations.id, id)),
    );
  const [row] = options.forUpdate ? await query.for('update') : await query;
  return row;
}

export async function selectDestinationByName(executor: Executor, organizationId: string, name: string) {
  const [row] = await executor
    .select({ id: provisioningDestinations.id })
    .from(provisioningDestinations)
    .where(
      and(
        eq(provisioningDestinations.organizationId, organizationId),
        eq(provisioningDestinations.name, name),
      ),
    );
  return row;
}

export async function listDestinations(
  executor: Executor,
  organizationId: string,
): Promise<DestinationRow[]> {
  return executor
    .select()
    .from(provisioningDestinations)
    .where(eq(provisioningDestinations.organizationId, organizationId))
    .orderBy(asc(provisioningDestinations.id));
}

export async function listAllEnabledDestinations(executor: Executor): Promise<DestinationRow[]> {
  return executor.select().from(provisioningDestinations).where(eq(provisioningDestinations.enabled, true));
}

export async function updateDestinationRow(
  executor: Executor,
  organizationId: string,
  id: string,
  changes: Partial<typeof provisioningDestinations.$inferInsert>,
): Promise<DestinationRow> {
  const [row] = await executor
    .update(provisioningDestinations)
    .set({ ...changes, updatedAt: new Date() })
    .where(
      and(eq(provisioningDestinations.organizationId, organizationId), eq(provisioningDestinations.id, id)),
    )
    .returning();
  return row as DestinationRow;
}

export async function deleteDestinationRow(executor: Executor, organizationId: string, id: string) {
  await executor
    .delete(provisioningDestinations)
    .where(
      and(eq(provisioningDestinations.organizationId, organizationId), eq(provisioningDestinations.id, id)),
    );
}

// Rules

export async function listRules(executor: Executor, organizationId: string): Promise<RuleRow[]> {
  return executor
    .select()
    .from(provisioningRules)
    .where(eq(provisioningRules.organizationId, organizationId))
    .orderBy(asc(provisioningRules.position), asc(provisioningRules.id));
}

export async function selectRule(
  executor: Executor,
  organizationId: string,
  id: string,
): Promise<RuleRow | undefined> {
  const [row] = await executor
    .select()
    .from(provisioningRules)
    .where(and(eq(provisioningRules.organizationId, organizationId), eq(provisioningRules.id, id)))
    .for('update');
  return row;
}

export async function lastRulePosition(executor: Executor, organizationId: string): Promise<number> {
  const [row] = await executor
    .select({ value: max(provisioningRules.position) })
    .from(provisioningRules)
    .where(eq(provisioningRules.organizationId, organizationId));
  return row?.value ?? 0;
}

export async function insertRule(
  executor: Executor,
  row: typeof provisioningRules.$inferInsert,
): Promise<RuleRow> {
  const [inserted] = await executor.insert(provisioningRules).values(row).returning();
  return inserted as RuleRow;
}

export async function updateRuleRow(
  executor: Executor,
  organizationId: string,
  id: string,
  changes: Partial<typeof provisioningRules.$inferInsert>,
): Promise<RuleRow> {
  const [row] = await executor
    .update(provisioningRules)
    .set({ ...changes, updatedAt: new Date() })
    .where(and(eq(provisioningRules.organizationId, organizationId), eq(provisioningRules.id, id)))
    .returning();
  return row as RuleRow;
}

export async function deleteRuleRow(executor: Executor, organizationId: string, id: string) {
  await executor
    .delete(provisioningRules)
    .where(and(eq(provisioningRules.organizationId, organizationId), eq(provisioningRules.id, id)));
}

/** Rewrites positions 1..n in the given order. */
export async function renumberRules(executor: Executor, organizationId: string, orderedIds: string[]) {
  for (const [index, id] of orderedIds.entries()) {
    await executor
      .update(provisioningRules)
      .set({ position: index + 1 })
      .where(and(eq(provisioningRules.organizationId, organizationId), eq(provisioningRules.id, id)));
  }
}

// States

const stateKey = (organizationId: string, destinationId: string, userId: string) =>
  and(
    eq(provisioningStates.organizationId, organizationId),
    eq(provisioningStates.destinationId, destinationId),
    eq(provisioningStates.userId, userId),
  );

export async function selectState(
  executor: Executor,
  organizationId: string,
  destinationId: string,
  userId: string,
): Promise<StateRow | undefined> {
  const [row] = await executor
    .select()
    .from(provisioningStates)
    .where(stateKey(organizationId, destinationId, userId));
  return row;
}

/**
 * Takes the row for one job: free, expired, or already this job's (its own retry after a crash).
 * Creates the row when missing. Undefined when another live job holds it.
 */
export async function acquireStateLease(
  executor: Executor,
  key: { organizationId: string; destinationId: string; userId: string },
  owner: string,
  leaseSeconds: number,
): Promise<StateRow | undefined> {
  await executor
    .insert(provisioningStates)
    .values({ ...key, status: 'pending' })
    .onConflictDoNothing();
  const [row] = await executor
    .update(provisioningStates)
    .set({ leaseOwner: owner, leaseUntil: sql`now() + make_interval(secs => ${leaseSeconds})` })
    .where(
      and(
        stateKey(key.organizationId, key.destinationId, key.userId),
        or(
          sql`${provisioningStates.leaseOwner} is null`,
          lt(provisioningStates.leaseUntil, sql`now()`),
          eq(provisioningStates.leaseOwner, owner),
        ),
      ),
    )
    .returning();
  return row;
}

export async function extendStateLease(
  executor: Executor,
  key: { organizationId: string; destinationId: string; userId: string },
  owner: string,
  leaseSeconds: number,
) {
  await executor
    .update(provisioningStates)
    .set({ leaseUntil: sql`now() + make_interval(secs => ${leaseSeconds})` })
    .where(
      and(
        stateKey(key.organizationId, key.destinationId, key.userId),
        eq(provisioningStates.leaseOwner, owner),
      ),
    );
}

/** Saves what the job found and did, and releases the lease. */
export async function saveState(
  executor: Executor,
  key: { organizationId: string; destinationId: string; userId: string },
  owner: string,
  changes: Partial<typeof provisioningStates.$inferInsert>,
  options: { release: boolean },
) {
  await executor
    .update(provisioningStates)
    .set({
      ...changes,
      updatedAt: new Date(),
      ...(options.release ? { leaseOwner: null, leaseUntil: null } : {}),
    })
    .where(
      and(
        stateKey(key.organizationId, key.destinationId, key.userId),
        eq(provisioningStates.leaseOwner, owner),
      ),
    );
}

export async function deleteState(
  executor: Executor,
  key: { organizationId: string; destinationId: string; userId: string },
) {
  await executor
    .delete(provisioningStates)
    .where(stateKey(key.organizationId, key.destinationId, key.userId));
}

export async function listStates(
  executor: Executor,
  query: {
    organizationId: string;
    destinationId?: string;
    userId?: string;
    status?: string;
    after?: string;
    limit: number;
  },
): Promise<StateRow[]> {
  const filters = [eq(provisioningStates.organizationId, query.organizationId)];
  if (query.destinationId) filters.push(eq(provisioningStates.destinationId, query.destinationId));
  if (query.userId) filters.push(eq(provisioningStates.userId, query.userId));
  if (query.status) filters.push(eq(provisioningStates.status, query.status));
  if (query.after) filters.push(gt(provisioningStates.userId, query.after));
  return executor
    .select()
    .from(provisioningStates)
    .where(and(...filters))
    .orderBy(asc(provisioningStates.userId), asc(provisioningStates.destinationId))
    .limit(query.limit);
}

export async function destinationIdsWithState(
  executor: Executor,
  organizationId: string,
  userId: string,
): Promise<string[]> {
  const rows = await executor
    .select({ destinationId: provisioningStates.destinationId })
    .from(provisioningStates)
    .where(and(eq(provisioningStates.organizationId, organizationId), eq(provisioningStates.userId, userId)));
  return rows.map((row) => row.destinationId);
}

/** States of users that no longer exist in the directory (deleted users still to deprovision). */
export async function orphanStateUserIds(executor: Executor, organizationId: string, destinationId: string) {
  const rows = await queryRows<{ user_id: string }>(
    executor,
    sql`select s.user_id from provisioning_states s
         where s.organization_id = ${organizationId} and s.destination_id = ${destinationId}
           and not exists (select 1 from users u where u.organization_id = s.organization_id and u.id = s.user_id)`,
  );
  return rows.map((row) => row.user_id);
}

/** States whose removal grace period has ended. */
export async function dueRemovals(executor: Executor, limit: number) {
  return executor
    .select({
      organizationId: provisioningStates.organizationId,
      destinationId: provisioningStates.destinationId,
      userId: provisioningStates.userId,
    })
    .from(provisioningStates)
    .where(and(isNotNull(provisioningStates.removalAfter), lt(provisioningStates.removalAfter, sql`now()`)))
    .limit(limit);
}

export async function statesByStatus(
  executor: Executor,
  organizationId: string,
  statuses: string[],
  filter: { destinationId?: string; userId?: string },
) {
  const filters = [
    eq(provisioningStates.organizationId, organizationId),
    inArray(provisioningStates.status, statuses),
  ];
  if (filter.destinationId) filters.push(eq(provisioningStates.destinationId, filter.destinationId));
  if (filter.userId) filters.push(eq(provisioningStates.userId, filter.userId));
  return executor
    .select({ destinationId: provisioningStates.destinationId, userId: provisioningStates.userId })
    .from(provisioningStates)
    .where(and(...filters));
}

export async function stateUserIdsOfDestination(
  executor: Executor,
  organizationId: string,
  destinationId: string,
  after: string | undefined,
  limit: number,
): Promise<string[]> {
  const filters = [
    eq(provisioningStates.organizationId, organizationId),
    eq(provisioningStates.destinationId, destinationId),
  ];
  if (after) filters.push(gt(provisioningStates.userId, after));
  const rows = await executor
    .select({ userId: provisioningStates.userId })
    .from(provisioningStates)
    .where(and(...filters))
    .orderBy(asc(provisioningStates.userId))
    .limit(limit);
  return rows.map((row) => row.userId);
}

// Attempts

export async function insertAttempt(executor: Executor, row: typeof provisioningAttempts.$inferInsert) {
  await executor.insert(provisioningAttempts).values(row);
}

export async function listAttempts(
  executor: Executor,
  query: { organizationId: string; destinationId?: string; userId?: string; before?: string; limit: number },
): Promise<AttemptRow[]> {
  const filters = [eq(provisioningAttempts.organizationId, query.organizationId)];
  if (query.destinationId) filters.push(eq(provisioningAttempts.destinationId, query.destinationId));
  if (query.userId) filters.push(eq(provisioningAttempts.userId, query.userId));
  if (query.before) filters.push(lt(provisioningAttempts.id, query.before));
  return executor
    .select()
    .from(provisioningAttempts)
    .where(and(...filters))
    .orderBy(desc(provisioningAttempts.id))
    .limit(query.limit);
}

// Remote groups (found or created once per destination)

export type RemoteGroupRow = typeof provisioningRemoteGroups.$inferSelect;

function remoteGroupKey(key: { organizationId: string; destinationId: string }, name: string) {
  return and(
    eq(provisioningRemoteGroups.organizationId, key.organizationId),
    eq(provisioningRemoteGroups.destinationId, key.destinationId),
    eq(provisioningRemoteGroups.name, name),
  );
}

export async function selectRemoteGroup(
  executor: Executor,
  key: { organizationId: string; destinationId: string },
  name: string,
): Promise<RemoteGroupRow | undefined> {
  const [row] = await executor.select().from(provisioningRemoteGroups).where(remoteGroupKey(key, name));
  return row;
}

/**
 * Claims the making of a group: true when `owner` may find or create it now (nobody made it yet and
 * no other claim holds). One statement, so two jobs never both win.
 */
export async function claimRemoteGroup(
  executor: Executor,
  key: { organizationId: string; destinationId: string },
  name: string,
  owner: string,
  claimSeconds: number,
): Promise<boolean> {
  const rows = await executor
    .insert(provisioningRemoteGroups)
    .values({
      ...key,
      name,
      claimedBy: owner,
      claimedUntil: sql`now() + make_interval(secs => ${claimSeconds})`,
    })
    .onConflictDoUpdate({
      target: [
        provisioningRemoteGroups.organizationId,
        provisioningRemoteGroups.destinationId,
        provisioningRemoteGroups.name,
      ],
      set: { claimedBy: owner, claimedUntil: sql`now() + make_interval(secs => ${claimSeconds})` },
      setWhere: sql`${provisioningRemoteGroups.remoteId} is null and (${provisioningRemoteGroups.claimedUntil} is null or ${provisioningRemoteGroups.claimedUntil} < now() or ${provisioningRemoteGroups.claimedBy} = ${owner})`,
    })
    .returning({ claimedBy: provisioningRemoteGroups.claimedBy });
  return rows[0]?.claimedBy === owner;
}

export async function settleRemoteGroup(
  executor: Executor,
  key: { organizationId: string; destinationId: string },
  name: string,
  owner: string,
  remoteId: string | null,
): Promise<void> {
  await executor
    .update(provisioningRemoteGroups)
    .set({ remoteId, claimedBy: null, claimedUntil: null })
    .where(and(remoteGroupKey(key, name), eq(provisioningRemoteGroups.claimedBy, owner)));
}
