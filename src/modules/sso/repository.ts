/** Every query of the SSO module. */
import { and, desc, eq, getTableColumns, gte, isNull, lt, lte, sql } from 'drizzle-orm';
import type { Executor } from '../../platform/db/client.ts';
import { ssoAssertionIds, ssoConnections, ssoLoginFlows, ssoLoginTraces } from './schema.ts';

export type ConnectionRow = typeof ssoConnections.$inferSelect;
export type FlowRow = typeof ssoLoginFlows.$inferSelect;
export type TraceRow = typeof ssoLoginTraces.$inferSelect;
/** A trace with the name of its connection (null when it has none, or it was deleted). */
export type NamedTraceRow = TraceRow & { connectionName: string | null };

// Connections

export async function insertConnection(
  executor: Executor,
  row: typeof ssoConnections.$inferInsert,
): Promise<ConnectionRow> {
  const [inserted] = await executor.insert(ssoConnections).values(row).returning();
  return inserted as ConnectionRow;
}

export async function findConnection(executor: Executor, id: string): Promise<ConnectionRow | undefined> {
  const [row] = await executor.select().from(ssoConnections).where(eq(ssoConnections.id, id)).limit(1);
  return row;
}

export async function findConnectionInOrganization(
  executor: Executor,
  organizationId: string,
  id: string,
  options: { lock?: boolean } = {},
): Promise<ConnectionRow | undefined> {
  const query = executor
    .select()
    .from(ssoConnections)
    .where(and(eq(ssoConnections.organizationId, organizationId), eq(ssoConnections.id, id)))
    .limit(1);
  const [row] = options.lock ? await query.for('update') : await query;
  return row;
}

export async function listConnections(
  executor: Executor,
  organizationId: string,
  options: { enabledOnly?: boolean } = {},
): Promise<ConnectionRow[]> {
  return executor
    .select()
    .from(ssoConnections)
    .where(
      and(
        eq(ssoConnections.organizationId, organizationId),
        options.enabledOnly ? eq(ssoConnections.enabled, true) : undefined,
      ),
    )
    .orderBy(ssoConnections.createdAt, ssoConnections.id);
}

export async function updateConnectionRow(
  executor: Executor,
  organizationId: string,
  id: string,
  changes: Partial<ConnectionRow>,
): Promise<ConnectionRow> {
  const [row] = await executor
    .update(ssoConnections)
    .set({ ...changes, version: sql`${ssoConnections.version} + 1`, updatedAt: new Date() })
    .where(and(eq(ssoConnections.organizationId, organizationId), eq(ssoConnections.id, id)))
    .returning();
  return row as ConnectionRow;
}

export async function deleteConnectionRow(executor: Executor, organizationId: string, id: string) {
  await executor
    .delete(ssoConnections)
    .where(and(eq(ssoConnections.organizationId, organizationId), eq(ssoConnections.id, id)));
}

export async function countTestIdpConnections(executor: Executor, organizationId: string): Promise<number> {
  const [row] = await executor
    .select({ count: sql<number>`count(*)::int` })
    .from(ssoConnections)
    .where(
      and(
        eq(ssoConnections.organizationId, organizationId),
        sql`(${ssoConnections.settings} ->> 'testIdp')::boolean is true`,
      ),
    );
  return row?.count ?? 0;
}

// Login flows

export async function insertFlow(executor: Executor, row: typeof ssoLoginFlows.$inferInsert): Promise<void> {
  await executor.insert(ssoLoginFlows).values(row);
}

export async function findFlow(executor: Executor, id: string): Promise<FlowRow | undefined> {
  const [row] = await executor.select().from(ssoLoginFlows).where(eq(ssoLoginFlows.id, id)).limit(1);
  return row;
}

export async function findFlowBySamlRequest(
  executor: Executor,
  connectionId: string,
  samlRequestId: string,
): Promise<FlowRow | undefined> {
  const [row] = await executor
    .select()
    .from(ssoLoginFlows)
    .where(and(eq(ssoLoginFlows.connectionId, connectionId), eq(ssoLoginFlows.samlRequestId, samlRequestId)))
    .limit(1);
  return row;
}

/**
 * Marks a redirected flow consumed; returns it only if this call consumed it (not expired, not used
 * before), so two processes receiving the same answer cannot both proceed.
 */
export async function consumeFlow(executor: Executor, id: string, now: Date): Promise<FlowRow | undefined> {
  const [row] = await executor
    .update(ssoLoginFlows)
    .set({ consumedAt: now, stage: 'consumed' })
    .where(
      and(
        eq(ssoLoginFlows.id, id),
        eq(ssoLoginFlows.stage, 'redirected'),
        isNull(ssoLoginFlows.consumedAt),
        gte(ssoLoginFlows.expiresAt, now),
      ),
    )
    .returning();
  return row;
}

export async function deleteExpiredFlows(executor: Executor, before: Date): Promise<number> {
  const rows = await executor
    .delete(ssoLoginFlows)
    .where(lt(ssoLoginFlows.expiresAt, before))
    .returning({ id: ssoLoginFlows.id });
  return rows.length;
}

// Assertion replay cache

/** Records an assertion id; false when it was recorded before (a replay). */
export async function recordAssertionId(
  executor: Executor,
  row: typeof ssoAssertionIds.$inferInsert,
): Promise<boolean> {
  const inserted = await executor
    .insert(ssoAssertionIds)
    .values(row)
    .onConflictDoNothing()
    .returning({ id: ssoAssertionIds.assertionId });
  return inserted.length === 1;
}

export async function deleteExpiredAssertionIds(executor: Executor, before: Date): Promise<number> {
  const rows = await executor
    .delete(ssoAssertionIds)
    .where(lt(ssoAssertionIds.expiresAt, before))
    .returning({ id: ssoAssertionIds.assertionId });
  return rows.length;
}

// Traces

export async function insertTrace(
  executor: Executor,
  row: typeof ssoLoginTraces.$inferInsert,
): Promise<void> {
  await executor.insert(ssoLoginTraces).values(row);
}

/** Appends steps and applies changes to a trace. */
export async function appendTrace(
  executor: Executor,
  organizationId: string,
  id: string,
  steps: Array<Record<string, unknown>>,
  changes: Partial<TraceRow>,
): Promise<void> {
  await executor
    .update(ssoLoginTraces)
    .set({ ...changes, steps: sql`${ssoLoginTraces.steps} || ${JSON.stringify(steps)}::jsonb` })
    .where(and(eq(ssoLoginTraces.organizationId, organizationId), eq(ssoLoginTraces.id, id)));
}

/** Traces with their connection's name (a left join: the connection may be gone). */
function selectNamedTraces(executor: Executor) {
  return executor
    .select({ ...getTableColumns(ssoLoginTraces), connectionName: ssoConnections.name })
    .from(ssoLoginTraces)
    .leftJoin(
      ssoConnections,
      and(
        eq(ssoConnections.organizationId, ssoLoginTraces.organizationId),
        eq(ssoConnections.id, ssoLoginTraces.connectionId),
      ),
    );
}

export async function findTrace(
  executor: Executor,
  organizationId: string,
  id: string,
): Promise<NamedTraceRow | undefined> {
  const [row] = await selectNamedTraces(executor)
    .where(and(eq(ssoLoginTraces.organizationId, organizationId), eq(ssoLoginTraces.id, id)))
    .limit(1);
  return row;
}

/**
 * A trace by id alone, whatever its organization: staff look up the id a person read off an error
 * page before they know the organization. The admin API only (staff see every organization).
 */
export async function findTraceById(executor: Executor, id: string): Promise<NamedTraceRow | undefined> {
  const [row] = await selectNamedTraces(executor).where(eq(ssoLoginTraces.id, id)).limit(1);
  return row;
}

export async function listTraces(
  executor: Executor,
  query: {
    organizationId: string;
    connectionId?: string;
    status?: string;
    email?: string;
    userId?: string;
    errorCode?: string;
    since?: Date;
    after?: string;
    limit: number;
  },
): Promise<NamedTraceRow[]> {
  return selectNamedTraces(executor)
    .where(
      and(
        eq(ssoLoginTraces.organizationId, query.organizationId),
        query.connectionId ? eq(ssoLoginTraces.connectionId, query.connectionId) : undefined,
        query.status ? eq(ssoLoginTraces.status, query.status) : undefined,
        query.email ? sql`lower(${ssoLoginTraces.email}) = lower(${query.email})` : undefined,
        query.userId ? eq(ssoLoginTraces.userId, query.userId) : undefined,
        query.errorCode ? eq(ssoLoginTraces.errorCode, query.errorCode) : undefined,
        query.since ? gte(ssoLoginTraces.createdAt, query.since) : undefined,
        query.after ? lt(ssoLoginTraces.id, query.after) : undefined,
      ),
    )
    .orderBy(desc(ssoLoginTraces.id))
    .limit(query.limit);
}

export async function deleteTracesBefore(executor: Executor, before: Date): Promise<number> {
  const rows = await executor
    .delete(ssoLoginTraces)
    .where(lte(ssoLoginTraces.createdAt, before))
    .returning({ id: ssoLoginTraces.id });
  return rows.length;
}

/** SAML connections whose IdP metadata comes from a URL (for the periodic refresh), all organizations. */
export async function listMetadataUrlConnections(
  executor: Executor,
): Promise<Array<{ organizationId: string; id: string }>> {
  return executor
    .select({ organizationId: ssoConnections.organizationId, id: ssoConnections.id })
    .from(ssoConnections)
    .where(
      and(
        eq(ssoConnections.protocol, 'saml'),
        sql`${ssoConnections.settings} -> 'saml' ->> 'metadataUrl' is not null`,
      ),
    );
}
