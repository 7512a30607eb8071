/** All SQL of the setup portal. */
import { and, desc, eq, isNull, sql } from 'drizzle-orm';
import type { Executor } from '../../platform/db/client.ts';
import { type SetupLinkRow, setupLinks } from './schema.ts';

export async function insertSetupLink(
  executor: Executor,
  row: typeof setupLinks.$inferInsert,
): Promise<SetupLinkRow> {
  const [inserted] = await executor.insert(setupLinks).values(row).returning();
  return inserted as SetupLinkRow;
}

export async function findSetupLinkByTokenHash(
  executor: Executor,
  tokenHash: string,
): Promise<SetupLinkRow | undefined> {
  const [row] = await executor.select().from(setupLinks).where(eq(setupLinks.tokenHash, tokenHash));
  return row;
}

export async function findSetupLink(
  executor: Executor,
  organizationId: string,
  id: string,
  options: { lock?: boolean } = {},
): Promise<SetupLinkRow | undefined> {
  const query = executor
    .select()
    .from(setupLinks)
    .where(and(eq(setupLinks.organizationId, organizationId), eq(setupLinks.id, id)));
  const [row] = options.lock ? await query.for('update') : await query;
  return row;
}

export async function listSetupLinks(
  executor: Executor,
  organizationId: string,
  options: { activeOnly: boolean; limit: number },
): Promise<SetupLinkRow[]> {
  const filters = [eq(setupLinks.organizationId, organizationId)];
  if (options.activeOnly) {
    filters.push(isNull(setupLinks.revokedAt), sql`${setupLinks.expiresAt} > now()`);
  }
  return executor
    .select()
    .from(setupLinks)
    .where(and(...filters))
    .orderBy(desc(setupLinks.createdAt), desc(setupLinks.id))
    .limit(options.limit);
}

export async function updateSetupLink(
  executor: Executor,
  organizationId: string,
  id: string,
  changes: Partial<Pick<SetupLinkRow, 'revokedAt' | 'directoryId' | 'lastUsedAt'>>,
): Promise<SetupLinkRow> {
  const [row] = await executor
    .update(setupLinks)
    .set(changes)
    .where(and(eq(setupLinks.organizationId, organizationId), eq(setupLinks.id, id)))
    .returning();
  return row as SetupLinkRow;
}

/**
 * Marks a link used now; returns true when the previous use was more than `quietSeconds` ago (so
 * the caller records one `setup_link.opened` event per visit, not one per page load).
 */
export async function touchSetupLink(
  executor: Executor,
  organizationId: string,
  id: string,
  quietSeconds: number,
): Promise<boolean> {
  const rows = (await executor.execute(
    sql`with previous as (
          select last_used_at from setup_links where organization_id = ${organizationId} and id = ${id}
        )
        update setup_links set last_used_at = now()
        where organization_id = ${organizationId} and id = ${id}
        returning (select last_used_at from previous) as previous`,
  )) as unknown as { rows: Array<{ previous: Date | string | null }> };
  const previous = rows.rows[0]?.previous;
  return !previous || Date.now() - new Date(previous).getTime() > quietSeconds * 1000;
}
