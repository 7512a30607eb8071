/** Every query of the provider module. */
import { and, asc, eq, gt, inArray, isNull, lt, or, sql } from 'drizzle-orm';
import type { Executor } from '../../platform/db/client.ts';
import { applications, lmsSites, loginRoutes, oidcPayloads, signingKeys } from './schema.ts';

export type ApplicationRow = typeof applications.$inferSelect;
export type PayloadRow = typeof oidcPayloads.$inferSelect;
export type SigningKeyRow = typeof signingKeys.$inferSelect;
export type RouteRow = typeof loginRoutes.$inferSelect;
export type LmsSiteRow = typeof lmsSites.$inferSelect;

// oidc-provider payloads

export async function upsertPayload(
  executor: Executor,
  row: Omit<typeof oidcPayloads.$inferInsert, 'createdAt' | 'consumedAt'>,
): Promise<void> {
  await executor
    .insert(oidcPayloads)
    .values(row)
    .onConflictDoUpdate({
      target: [oidcPayloads.model, oidcPayloads.id],
      // consumed_at is left as it is: saving a consumed row again must not make it usable again.
      set: {
        payload: row.payload,
        grantId: row.grantId ?? null,
        uid: row.uid ?? null,
        userCode: row.userCode ?? null,
        accountId: row.accountId ?? null,
        expiresAt: row.expiresAt ?? null,
      },
    });
}

const unexpired = () => or(isNull(oidcPayloads.expiresAt), gt(oidcPayloads.expiresAt, sql`now()`));

export async function findPayload(
  executor: Executor,
  model: string,
  where: { id: string } | { uid: string } | { userCode: string },
): Promise<Pick<PayloadRow, 'payload' | 'consumedAt'> | undefined> {
  const key =
    'id' in where
      ? eq(oidcPayloads.id, where.id)
      : 'uid' in where
        ? eq(oidcPayloads.uid, where.uid)
        : eq(oidcPayloads.userCode, where.userCode);
  const [row] = await executor
    .select({ payload: oidcPayloads.payload, consumedAt: oidcPayloads.consumedAt })
    .from(oidcPayloads)
    .where(and(eq(oidcPayloads.model, model), key, unexpired()))
    .limit(1);
  return row;
}

/** Marks a row consumed unless it already is; returns whether this call consumed it. */
export async function consumePayload(executor: Executor, model: string, id: string): Promise<boolean> {
  const rows = await executor
    .update(oidcPayloads)
    .set({ consumedAt: sql`now()` })
    .where(and(eq(oidcPayloads.model, model), eq(oidcPayloads.id, id), isNull(oidcPayloads.consumedAt)))
    .returning({ id: oidcPayloads.id });
  return rows.length > 0;
}

export async function findPayloadGrantId(
  executor: Executor,
  model: string,
  id: string,
): Promise<string | null | undefined> {
  const [row] = await executor
    .select({ grantId: oidcPayloads.grantId })
    .from(oidcPayloads)
    .where(and(eq(oidcPayloads.model, model), eq(oidcPayloads.id, id)))
    .limit(1);
  return row ? row.grantId : undefined;
}

export async function deletePayload(executor: Executor, model: string, id: string): Promise<void> {
  await executor.delete(oidcPayloads).where(and(eq(oidcPayloads.model, model), eq(oidcPayloads.id, id)));
}

export async function deletePayloadsOfGrant(executor: Executor, grantId: string, model?: string) {
  await executor
    .delete(oidcPayloads)
    .where(and(eq(oidcPayloads.grantId, grantId), model ? eq(oidcPayloads.model, model) : undefined));
}

/** Every row (sessions, grants, tokens) of one user, for ending their sessions everywhere. */
export async function listPayloadsOfAccount(
  executor: Executor,
  accountId: string,
  models: readonly string[],
): Promise<Array<Pick<PayloadRow, 'model' | 'id' | 'payload' | 'grantId'>>> {
  return executor
    .select({
      model: oidcPayloads.model,
      id: oidcPayloads.id,
      payload: oidcPayloads.payload,
      grantId: oidcPayloads.grantId,
    })
    .from(oidcPayloads)
    .where(and(eq(oidcPayloads.accountId, accountId), inArray(oidcPayloads.model, [...models])));
}

export async function deletePayloadsOfAccount(executor: Executor, accountId: string): Promise<number> {
  const rows = await executor
    .delete(oidcPayloads)
    .where(eq(oidcPayloads.accountId, accountId))
    .returning({ id: oidcPayloads.id });
  return rows.length;
}

export async function deleteExpiredPayloads(executor: Executor, before: Date): Promise<number> {
  const rows = await executor
    .delete(oidcPayloads)
    .where(lt(oidcPayloads.expiresAt, before))
    .returning({ id: oidcPayloads.id });
  return rows.length;
}

// Applications

export async function insertApplication(
  executor: Executor,
  row: typeof applications.$inferInsert,
): Promise<ApplicationRow> {
  const [inserted] = await executor.insert(applications).values(row).returning();
  return inserted as ApplicationRow;
}

export async function findApplication(
  executor: Executor,
  id: string,
  options: { lock?: boolean } = {},
): Promise<ApplicationRow | undefined> {
  const query = executor.select().from(applications).where(eq(applications.id, id)).limit(1);
  const [row] = options.lock ? await query.for('update') : await query;
  return row;
}

export async function listApplications(
  executor: Executor,
  filter: { organizationId?: string | null; after?: string; limit: number },
): Promise<ApplicationRow[]> {
  return executor
    .select()
    .from(applications)
    .where(
      and(
        filter.organizationId === undefined
          ? undefined
          : filter.organizationId === null
            ? isNull(applications.organizationId)
            : eq(applications.organizationId, filter.organizationId),
        filter.after ? gt(applications.id, filter.after) : undefined,
      ),
    )
    .orderBy(asc(applications.id))
    .limit(filter.limit + 1);
}

export async function updateApplicationRow(
  executor: Executor,
  id: string,
  changes: Partial<ApplicationRow>,
): Promise<ApplicationRow> {
  const [row] = await executor
    .update(applications)
    .set({ ...changes, version: sql`${applications.version} + 1`, updatedAt: new Date() })
    .where(eq(applications.id, id))
    .returning();
  return row as ApplicationRow;
}

export async function deleteApplicationRow(executor: Executor, id: string): Promise<void> {
  await executor.delete(applications).where(eq(applications.id, id));
}

/** The largest ID token lifetime any application asks for (bounds how long a retired key stays published). */
export async function maxIdTokenLifetime(executor: Executor): Promise<number | null> {
  const [row] = await executor
    .select({
      max: sql<number | null>`max((${applications.tokenLifetimes}->>'idTokenSeconds')::int)`,
    })
    .from(applications);
  return row?.max ?? null;
}

// Signing keys

export async function listSigningKeys(executor: Executor): Promise<SigningKeyRow[]> {
  return executor.select().from(signingKeys).orderBy(asc(signingKeys.alg), asc(signingKeys.activatesAt));
}

export async function insertSigningKey(executor: Executor, row: typeof signingKeys.$inferInsert) {
  await executor.insert(signingKeys).values(row);
}

export async function revokeSigningKey(executor: Executor, kid: string, at: Date): Promise<boolean> {
  const rows = await executor
    .update(signingKeys)
    .set({ revokedAt: at })
    .where(and(eq(signingKeys.kid, kid), isNull(signingKeys.revokedAt)))
    .returning({ kid: signingKeys.kid });
  return rows.length > 0;
}

export async function deleteSigningKeys(executor: Executor, kids: readonly string[]): Promise<void> {
  if (kids.length === 0) return;
  await executor.delete(signingKeys).where(inArray(signingKeys.kid, [...kids]));
}

// Routes

export async function listRoutes(executor: Executor, organizationId: string): Promise<RouteRow[]> {
  return executor
    .select()
    .from(loginRoutes)
    .where(eq(loginRoutes.organizationId, organizationId))
    .orderBy(asc(loginRoutes.position), asc(loginRoutes.id));
}

export async function findRoute(
  executor: Executor,
  organizationId: string,
  id: string,
): Promise<RouteRow | undefined> {
  const [row] = await executor
    .select()
    .from(loginRoutes)
    .where(and(eq(loginRoutes.organizationId, organizationId), eq(loginRoutes.id, id)))
    .limit(1);
  return row;
}

export async function insertRoute(
  executor: Executor,
  row: typeof loginRoutes.$inferInsert,
): Promise<RouteRow> {
  const [inserted] = await executor.insert(loginRoutes).values(row).returning();
  return inserted as RouteRow;
}

export async function updateRouteRow(
  executor: Executor,
  organizationId: string,
  id: string,
  changes: Partial<RouteRow>,
): Promise<RouteRow> {
  const [row] = await executor
    .update(loginRoutes)
    .set({ ...changes, version: sql`${loginRoutes.version} + 1`, updatedAt: new Date() })
    .where(and(eq(loginRoutes.organizationId, organizationId), eq(loginRoutes.id, id)))
    .returning();
  return row as RouteRow;
}

export async function setRoutePositions(
  executor: Executor,
  organizationId: string,
  orderedIds: readonly string[],
): Promise<void> {
  for (const [index, id] of orderedIds.entries()) {
    await executor
      .update(loginRoutes)
      .set({ position: index + 1 })
      .where(and(eq(loginRoutes.organizationId, organizationId), eq(loginRoutes.id, id)));
  }
}

export async function deleteRouteRow(executor: Executor, organizationId: string, id: string): Promise<void> {
  await executor
    .delete(loginRoutes)
    .where(and(eq(loginRoutes.organizationId, organizationId), eq(loginRoutes.id, id)));
}

/** Routes (any organization) whose target names this value (`application` or `site`). */
export async function listRoutesTargeting(
  executor: Executor,
  key: 'application' | 'site',
  value: string,
): Promise<RouteRow[]> {
  return executor.select().from(loginRoutes).where(sql`${loginRoutes.target}->>${key} = ${value}`);
}

/** Serializes changes to one organization's route list (positions stay dense and unique). */
export async function lockRoutes(executor: Executor, organizationId: string): Promise<void> {
  await executor.execute(sql`select pg_advisory_xact_lock(hashtext(${`login_routes:${organizationId}`}))`);
}

// LMS sites

export async function listLmsSites(executor: Executor, organizationId: string): Promise<LmsSiteRow[]> {
  return executor
    .select()
    .from(lmsSites)
    .where(eq(lmsSites.organizationId, organizationId))
    .orderBy(asc(lmsSites.id));
}

export async function findLmsSite(
  executor: Executor,
  organizationId: string,
  id: string,
): Promise<LmsSiteRow | undefined> {
  const [row] = await executor
    .select()
    .from(lmsSites)
    .where(and(eq(lmsSites.organizationId, organizationId), eq(lmsSites.id, id)))
    .limit(1);
  return row;
}

export async function insertLmsSite(
  executor: Executor,
  row: typeof lmsSites.$inferInsert,
): Promise<LmsSiteRow> {
  const [inserted] = await executor.insert(lmsSites).values(row).returning();
  return inserted as LmsSiteRow;
}

export async function updateLmsSiteRow(
  executor: Executor,
  organizationId: string,
  id: string,
  changes: Partial<LmsSiteRow>,
): Promise<LmsSiteRow> {
  const [row] = await executor
    .update(lmsSites)
    .set({ ...changes, version: sql`${lmsSites.version} + 1`, updatedAt: new Date() })
    .where(and(eq(lmsSites.organizationId, organizationId), eq(lmsSites.id, id)))
    .returning();
  return row as LmsSiteRow;
}

export async function deleteLmsSiteRow(
  executor: Executor,
  organizationId: string,
  id: string,
): Promise<void> {
  await executor
    .delete(lmsSites)
    .where(and(eq(lmsSites.organizationId, organizationId), eq(lmsSites.id, id)));
}
