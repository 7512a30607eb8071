/** All SQL of organizations and domains. */
import { and, asc, count, eq, gt, ilike, or, sql } from 'drizzle-orm';
import type { Executor } from '../../platform/db/client.ts';
import { likePattern, textArray } from '../../platform/db/sql-fragments.ts';
import { organizationDomains, organizations } from './schema.ts';

export type OrganizationRow = typeof organizations.$inferSelect;
export type DomainRow = typeof organizationDomains.$inferSelect;

export async function insertOrganization(
  executor: Executor,
  row: typeof organizations.$inferInsert,
): Promise<OrganizationRow> {
  const [inserted] = await executor.insert(organizations).values(row).returning();
  return inserted as OrganizationRow;
}

export async function findOrganization(
  executor: Executor,
  idOrSlug: string,
): Promise<OrganizationRow | undefined> {
  const column = idOrSlug.startsWith('org_') ? organizations.id : organizations.slug;
  const [row] = await executor.select().from(organizations).where(eq(column, idOrSlug)).limit(1);
  return row;
}

export async function lockOrganization(executor: Executor, id: string): Promise<OrganizationRow | undefined> {
  const [row] = await executor
    .select()
    .from(organizations)
    .where(eq(organizations.id, id))
    .for('update')
    .limit(1);
  return row;
}

export async function slugExists(executor: Executor, slug: string): Promise<boolean> {
  const [row] = await executor
    .select({ id: organizations.id })
    .from(organizations)
    .where(eq(organizations.slug, slug))
    .limit(1);
  return Boolean(row);
}

export async function listOrganizations(
  executor: Executor,
  options: { after?: string; limit: number; q?: string; status?: string },
): Promise<OrganizationRow[]> {
  const filters = [];
  if (options.after) filters.push(gt(organizations.id, options.after));
  if (options.status) filters.push(eq(organizations.status, options.status));
  if (options.q) {
    const pattern = likePattern(options.q, 'contains');
    filters.push(or(ilike(organizations.name, pattern), ilike(organizations.slug, pattern)));
  }
  return executor
    .select()
    .from(organizations)
    .where(filters.length ? and(...filters) : undefined)
    .orderBy(asc(organizations.id))
    .limit(options.limit);
}

export async function updateOrganizationRow(
  executor: Executor,
  id: string,
  changes: Partial<typeof organizations.$inferInsert>,
): Promise<OrganizationRow> {
  const [row] = await executor
    .update(organizations)
    .set({ ...changes, updatedAt: sql`now()` })
    .where(eq(organizations.id, id))
    .returning();
  return row as OrganizationRow;
}

export async function deleteOrganizationRow(executor: Executor, id: string): Promise<void> {
  await executor.delete(organizations).where(eq(organizations.id, id));
}

export async function countOrganizationUsers(executor: Executor, organizationId: string): Promise<number> {
  const rows = await executor.execute(
    sql`select count(*)::int as n from users where organization_id = ${organizationId}`,
  );
  return Number((rows as unknown as { rows: Array<{ n: number }> }).rows[0]?.n ?? 0);
}

export async function listDomains(
  executor: Executor,
  organizationIds: readonly string[],
): Promise<DomainRow[]> {
  if (organizationIds.length === 0) return [];
  return executor
    .select()
    .from(organizationDomains)
    .where(sql`${organizationDomains.organizationId} = any(${textArray(organizationIds)})`)
    .orderBy(asc(organizationDomains.domain));
}

export async function insertDomain(
  executor: Executor,
  row: typeof organizationDomains.$inferInsert,
): Promise<DomainRow> {
  const [inserted] = await executor.insert(organizationDomains).values(row).returning();
  return inserted as DomainRow;
}

export async function findDomain(
  executor: Executor,
  organizationId: string,
  domain: string,
): Promise<DomainRow | undefined> {
  const [row] = await executor
    .select()
    .from(organizationDomains)
    .where(
      and(eq(organizationDomains.organizationId, organizationId), eq(organizationDomains.domain, domain)),
    )
    .limit(1);
  return row;
}

/** The organization holding a verified domain (home-realm discovery). */
export async function findVerifiedDomainOwner(
  executor: Executor,
  domain: string,
): Promise<DomainRow | undefined> {
  const [row] = await executor
    .select()
    .from(organizationDomains)
    .where(and(eq(organizationDomains.domain, domain), eq(organizationDomains.verified, true)))
    .limit(1);
  return row;
}

/** Every organization holding one of these domains (verified or not), with its slug and name. */
export async function listDomainHolders(
  executor: Executor,
  domains: readonly string[],
): Promise<Array<{ domain: string; organizationId: string; slug: string; name: string; verified: boolean }>> {
  if (domains.length === 0) return [];
  return executor
    .select({
      domain: organizationDomains.domain,
      organizationId: organizationDomains.organizationId,
      slug: organizations.slug,
      name: organizations.name,
      verified: organizationDomains.verified,
    })
    .from(organizationDomains)
    .innerJoin(organizations, eq(organizations.id, organizationDomains.organizationId))
    .where(sql`${organizationDomains.domain} = any(${textArray(domains)})`)
    .orderBy(asc(organizationDomains.domain), asc(organizationDomains.createdAt));
}

export async function updateDomainRow(
  executor: Executor,
  organizationId: string,
  id: string,
  changes: Partial<typeof organizationDomains.$inferInsert>,
): Promise<DomainRow> {
  const [row] = await executor
    .update(organizationDomains)
    .set(changes)
    .where(and(eq(organizationDomains.organizationId, organizationId), eq(organizationDomains.id, id)))
    .returning();
  return row as DomainRow;
}

export async function deleteDomainRow(executor: Executor, organizationId: string, id: string): Promise<void> {
  await executor
    .delete(organizationDomains)
    .where(and(eq(organizationDomains.organizationId, organizationId), eq(organizationDomains.id, id)));
}

export async function countOrganizations(executor: Executor): Promise<number> {
  const [row] = await executor.select({ n: count() }).from(organizations);
  return Number(row?.n ?? 0);
}

/** Ids, slugs and names of these organizations (those that still exist). */
export async function organizationNames(
  executor: Executor,
  ids: readonly string[],
): Promise<Array<{ id: string; slug: string; name: string }>> {
  if (ids.length === 0) return [];
  return executor
    .select({ id: organizations.id, slug: organizations.slug, name: organizations.name })
    .from(organizations)
    .where(sql`${organizations.id} = any(${textArray(ids)})`);
}

/**
 * Organizations a new one could be mistaken for: the same name (case aside), or the slug a name
 * derives to, with or without the `-2`, `-3`, ... suffix that keeps slugs unique.
 */
export async function similarlyNamedOrganizations(
  executor: Executor,
  name: string,
  baseSlug: string,
): Promise<Array<{ id: string; slug: string; name: string }>> {
  return executor
    .select({ id: organizations.id, slug: organizations.slug, name: organizations.name })
    .from(organizations)
    .where(
      or(
        sql`lower(${organizations.name}) = lower(${name})`,
        eq(organizations.slug, baseSlug),
        and(
          sql`starts_with(${organizations.slug}, ${`${baseSlug}-`})`,
          sql`${organizations.slug} ~ ${`^${baseSlug}-[0-9]+$`}`,
        ),
      ),
    )
    .orderBy(asc(organizations.createdAt), asc(organizations.id))
    .limit(10);
}
