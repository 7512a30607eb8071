/** All SQL of users, groups, memberships and identities. Every query filters by organization first. */
import { and, asc, eq, gt, inArray, sql } from 'drizzle-orm';
import { type Executor, queryRows } from '../../platform/db/client.ts';
import { likePattern, textList } from '../../platform/db/sql-fragments.ts';
import { groupMemberships, groups, identities, users } from './schema.ts';

export type UserRow = typeof users.$inferSelect;
export type GroupRow = typeof groups.$inferSelect;
export type IdentityRow = typeof identities.$inferSelect;

// Users

export async function insertUser(executor: Executor, row: typeof users.$inferInsert): Promise<UserRow> {
  const [inserted] = await executor.insert(users).values(row).returning();
  return inserted as UserRow;
}

/** Inserts many users in one statement (bulk sources: HR syncs). */
export async function findUserById(
  executor: Executor,
  id: string,
  options: { lock?: boolean } = {},
): Promise<UserRow | undefined> {
  const query = executor.select().from(users).where(eq(users.id, id)).limit(1);
  const [row] = options.lock ? await query.for('update') : await query;
  return row;
}

export async function findUserInOrganization(
  executor: Executor,
  organizationId: string,
  id: string,
  options: { lock?: boolean } = {},
): Promise<UserRow | undefined> {
  const query = executor
    .select()
    .from(users)
    .where(and(eq(users.organizationId, organizationId), eq(users.id, id)))
    .limit(1);
  const [row] = options.lock ? await query.for('update') : await query;
  return row;
}

export async function findUserByEmail(
  executor: Executor,
  organizationId: string,
  email: string,
): Promise<UserRow | undefined> {
  const [row] = await executor
    .select()
    .from(users)
    .where(and(eq(users.organizationId, organizationId), sql`lower(${users.email}) = lower(${email})`))
    .limit(1);
  return row;
}

/**
 * Users of an organization known by one of these employee ids: `externalIds.employee_id` (HR
 * syncs, imports) or the SCIM enterprise `employeeNumber` in the profile.
 */
export async function findUsersByEmployeeIds(
  executor: Executor,
  organizationId: string,
  employeeIds: readonly string[],
): Promise<UserRow[]> {
  if (!employeeIds.length) return [];
  const ids = [...new Set(employeeIds)];
  return executor
    .select()
    .from(users)
    .where(
      and(
        eq(users.organizationId, organizationId),
        sql`((${users.externalIds} ->> 'employee_id') = any(${sql.param(ids)}::text[]) or (${users.profile} ->> 'employeeNumber') = any(${sql.param(ids)}::text[]))`,
      ),
    );
}

export interface UserListQuery {
  organizationId: string;
  after?: string;
  limit: number;
  q?: string;
  status?: string;
  email?: string;
  groupId?: string;
}

export async function listUsers(executor: Executor, query: UserListQuery): Promise<UserRow[]> {
  const filters = [eq(users.organizationId, query.organizationId)];
  if (query.after) filters.push(gt(users.id, query.after));
  if (query.status) filters.push(eq(users.status, query.status));
  if (query.email) filters.push(sql`lower(${users.email}) = lower(${query.email})`);
  if (query.groupId) {
    filters.push(
      sql`exists (select 1 from group_memberships m where m.organization_id = ${users.organizationId}
            and m.user_id = ${users.id} and m.group_id = ${query.groupId})`,
    );
  }
  if (query.q) {
    // Email prefix uses the (organization_id, lower(email) text_pattern_ops) index; names match anywhere.
    const prefix = likePattern(query.q.toLowerCase(), 'prefix');
    const contains = likePattern(query.q, 'contains');
    filters.push(
      sql`(lower(${users.email}) like ${prefix} or ${users.displayName} ilike ${contains}
           or ${users.givenName} ilike ${contains} or ${users.familyName} ilike ${contains}
           or (coalesce(${users.givenName}, '') || ' ' || coalesce(${users.familyName}, '')) ilike ${contains})`,
    );
  }
  return executor
    .select()
    .from(users)
    .where(and(...filters))
    .orderBy(asc(users.id))
    .limit(query.limit);
}

export async function updateUserRow(
  executor: Executor,
  organizationId: string,
  id: string,
  changes: Partial<typeof users.$inferInsert>,
): Promise<UserRow> {
  const [row] = await executor
    .update(users)
    .set({ ...changes, version: sql`${users.version} + 1`, updatedAt: sql`now()` })
    .where(and(eq(users.organizationId, organizationId), eq(users.id, id)))
    .returning();
  return row as UserRow;
}

/** Records a login without bumping the version (not a profile change). */
export async function touchUserLogin(executor: Executor, organizationId: string, id: string): Promise<void> {
  await executor
    .update(users)
    .set({ lastLoginAt: sql`now()` })
    .where(and(eq(users.organizationId, organizationId), eq(users.id, id)));
}

export async function deleteUserRow(executor: Executor, organizationId: string, id: string): Promise<void> {
  await executor.delete(users).where(and(eq(users.organizationId, organizationId), eq(users.id, id)));
}

// Groups

export async function insertGroup(executor: Executor, row: typeof groups.$inferInsert): Promise<GroupRow> {
  const [inserted] = await executor.insert(groups).values(row).returning();
  return inserted as GroupRow;
}

export async function findGroupById(
  executor: Executor,
  id: string,
  options: { lock?: boolean } = {},
): Promise<GroupRow | undefined> {
  const query = executor.select().from(groups).where(eq(groups.id, id)).limit(1);
  const [row] = options.lock ? await query.for('update') : await query;
  return row;
}

export async function findGroupInOrganization(
  executor: Executor,
  organizationId: string,
  id: string,
  options: { lock?: boolean } = {},
): Promise<GroupRow | undefined> {
  const query = executor
    .select()
    .from(groups)
    .where(and(eq(groups.organizationId, organizationId), eq(groups.id, id)))
    .limit(1);
  const [row] = options.lock ? await query.for('update') : await query;
  return row;
}

export async function findGroupByName(
  executor: Executor,
  organizationId: string,
  name: string,
): Promise<GroupRow | undefined> {
  const [row] = await executor
    .select()
    .from(groups)
    .where(and(eq(groups.organizationId, organizationId), sql`lower(${groups.name}) = lower(${name})`))
    .limit(1);
  return row;
}

/** The group another system knows by `value` under `externalIds[key]` (a directory pull's group id). */
export async function findGroupByExternalId(
  executor: Executor,
  organizationId: string,
  key: string,
  value: string,
): Promise<GroupRow | undefined> {
  const [row] = await executor
    .select()
    .from(groups)
    .where(and(eq(groups.organizationId, organizationId), sql`${groups.externalIds} ->> ${key} = ${value}`))
    .limit(1);
  return row;
}

export async function listGroups(
  executor: Executor,
  query: { organizationId: string; after?: string; limit: number; q?: string },
): Promise<GroupRow[]> {
  const filters = [eq(groups.organizationId, query.organizationId)];
  if (query.after) filters.push(gt(groups.id, query.after));
  if (query.q) filters.push(sql`${groups.name} ilike ${likePattern(query.q, 'contains')}`);
  return executor
    .select()
    .from(groups)
    .where(and(...filters))
    .orderBy(asc(groups.id))
    .limit(query.limit);
}

export async function updateGroupRow(
  executor: Executor,
  organizationId: string,
  id: string,
  changes: Partial<typeof groups.$inferInsert>,
): Promise<GroupRow> {
  const [row] = await executor
    .update(groups)
    .set({ ...changes, version: sql`${groups.version} + 1`, updatedAt: sql`now()` })
    .where(and(eq(groups.organizationId, organizationId), eq(groups.id, id)))
    .returning();
  return row as GroupRow;
}

/** Marks a group changed (membership changes bump its version for SCIM ETags). */
export async function bumpGroupVersion(
  executor: Executor,
  organizationId: string,
  id: string,
): Promise<void> {
  await executor
    .update(groups)
    .set({ version: sql`${groups.version} + 1`, updatedAt: sql`now()` })
    .where(and(eq(groups.organizationId, organizationId), eq(groups.id, id)));
}

export async function deleteGroupRow(executor: Executor, organizationId: string, id: string): Promise<void> {
  await executor.delete(groups).where(and(eq(groups.organizationId, organizationId), eq(groups.id, id)));
}

export async function countMembers(
  executor: Executor,
  organizationId: string,
  groupIds: readonly string[],
): Promise<Map<string, number>> {
  if (groupIds.length === 0) return new Map();
  const rows = await executor
    .select({ groupId: groupMemberships.groupId, n: sql<number>`count(*)::int` })
    .from(groupMemberships)
    .where(
      and(
        eq(groupMemberships.organizationId, organizationId),
        inArray(groupMemberships.groupId, [...groupIds]),
      ),
    )
    .groupBy(groupMemberships.groupId);
  return new Map(rows.map((row) => [row.groupId, Number(row.n)]));
}

// Memberships

/** Inserts memberships that do not exist yet; returns the user ids actually added. */
export async function insertMemberships(
  executor: Executor,
  organizationId: string,
  groupId: string,
  userIds: readonly string[],
  source: string,
): Promise<string[]> {
  if (userIds.length === 0) return [];
  // One parameter for the whole list: a directory group may have 100,000 members.
  const rows = await queryRows<{ user_id: string }>(
    executor,
    sql`insert into group_memberships (organization_id, group_id, user_id, source)
        select ${organizationId}, ${groupId}, u.user_id, ${source} from unnest(${textList(userIds)}) as u(user_id)
        on conflict do nothing
        returning user_id`,
  );
  return rows.map((row) => row.user_id);
}

/** Deletes memberships; returns the user ids actually removed. */
export async function deleteMemberships(
  executor: Executor,
  organizationId: string,
  groupId: string,
  userIds: readonly string[],
): Promise<string[]> {
  if (userIds.length === 0) return [];
  const rows = await executor
    .delete(groupMemberships)
    .where(
      and(
        eq(groupMemberships.organizationId, organizationId),
        eq(groupMemberships.groupId, groupId),
        sql`${groupMemberships.userId} = any(${textList(userIds)})`,
      ),
    )
    .returning({ userId: groupMemberships.userId });
  return rows.map((row) => row.userId);
}

export async function listMemberIds(
  executor: Executor,
  organizationId: string,
  groupId: string,
): Promise<string[]> {
  const rows = await executor
    .select({ userId: groupMemberships.userId })
    .from(groupMemberships)
    .where(and(eq(groupMemberships.organizationId, organizationId), eq(groupMemberships.groupId, groupId)))
    .orderBy(asc(groupMemberships.userId));
  return rows.map((row) => row.userId);
}

/** Members a given source added (memberships carry their source). */
export async function listMemberIdsFromSource(
  executor: Executor,
  organizationId: string,
  groupId: string,
  source: string,
): Promise<string[]> {
  const rows = await executor
    .select({ userId: groupMemberships.userId })
    .from(groupMemberships)
    .where(
      and(
        eq(groupMemberships.organizationId, organizationId),
        eq(groupMemberships.groupId, groupId),
        eq(groupMemberships.source, source),
      ),
    );
  return rows.map((row) => row.userId);
}

export async function listMembers(
  executor: Executor,
  query: { organizationId: string; groupId: string; after?: string; limit: number },
): Promise<UserRow[]> {
  const rows = await queryRows<{ id: string }>(
    executor,
    sql`select m.user_id as id from group_memberships m
        where m.organization_id = ${query.organizationId} and m.group_id = ${query.groupId}
          ${query.after ? sql`and m.user_id > ${query.after}` : sql``}
        order by m.user_id limit ${query.limit}`,
  );
  if (rows.length === 0) return [];
  const found = await executor
    .select()
    .from(users)
    .where(
      and(
        eq(users.organizationId, query.organizationId),
        inArray(
          users.id,
          rows.map((row) => row.id),
        ),
      ),
    )
    .orderBy(asc(users.id));
  return found;
}

export async function listUserGroups(
  executor: Executor,
  organizationId: string,
  userId: string,
): Promise<GroupRow[]> {
  return executor
    .select({
      organizationId: groups.organizationId,
      id: groups.id,
      name: groups.name,
      description: groups.description,
      source: groups.source,
      externalIds: groups.externalIds,
      version: groups.version,
      createdAt: groups.createdAt,
      updatedAt: groups.updatedAt,
    })
    .from(groupMemberships)
    .innerJoin(
      groups,
      and(
        eq(groups.organizationId, groupMemberships.organizationId),
        eq(groups.id, groupMemberships.groupId),
      ),
    )
    .where(and(eq(groupMemberships.organizationId, organizationId), eq(groupMemberships.userId, userId)))
    .orderBy(asc(groups.name));
}

// Identities

export async function insertIdentity(
  executor: Executor,
  row: typeof identities.$inferInsert,
): Promise<IdentityRow> {
  const [inserted] = await executor.insert(identities).values(row).returning();
  return inserted as IdentityRow;
}

export async function findIdentity(
  executor: Executor,
  organizationId: string,
  providerId: string,
  subject: string,
): Promise<IdentityRow | undefined> {
  const [row] = await executor
    .select()
    .from(identities)
    .where(
      and(
        eq(identities.organizationId, organizationId),
        eq(identities.providerId, providerId),
        eq(identities.subject, subject),
      ),
    )
    .limit(1);
  return row;
}

export async function updateIdentityRow(
  executor: Executor,
  organizationId: string,
  id: string,
  changes: Partial<typeof identities.$inferInsert>,
): Promise<void> {
  await executor
    .update(identities)
    .set(changes)
    .where(and(eq(identities.organizationId, organizationId), eq(identities.id, id)));
}

export async function listUserIdentities(
  executor: Executor,
  organizationId: string,
  userId: string,
): Promise<IdentityRow[]> {
  return executor
    .select()
    .from(identities)
    .where(and(eq(identities.organizationId, organizationId), eq(identities.userId, userId)))
    .orderBy(asc(identities.createdAt));
}

export async function deleteIdentityRow(
  executor: Executor,
  organizationId: string,
  id: string,
): Promise<void> {
  await executor
    .delete(identities)
    .where(and(eq(identities.organizationId, organizationId), eq(identities.id, id)));
}

/** A user's memberships with the group name and the source that added each one. */
export async function listUserMemberships(
  executor: Executor,
  organizationId: string,
  userId: string,
): Promise<Array<{ groupId: string; groupName: string; source: string }>> {
  return executor
    .select({ groupId: groupMemberships.groupId, groupName: groups.name, source: groupMemberships.source })
    .from(groupMemberships)
    .innerJoin(
      groups,
      and(
        eq(groups.organizationId, groupMemberships.organizationId),
        eq(groups.id, groupMemberships.groupId),
      ),
    )
    .where(and(eq(groupMemberships.organizationId, organizationId), eq(groupMemberships.userId, userId)))
    .orderBy(asc(groups.name));
}

// Bulk (imports): one statement per chunk instead of one per user.

/** Users of an organization by email (case-insensitive). */
export async function findUsersByEmails(
  executor: Executor,
  organizationId: string,
  emails: readonly string[],
): Promise<UserRow[]> {
  if (emails.length === 0) return [];
  const lowered = [...new Set(emails.map((email) => email.toLowerCase()))];
  return executor
    .select()
    .from(users)
    .where(
      and(eq(users.organizationId, organizationId), sql`lower(${users.email}) = any(${textList(lowered)})`),
    );
}

/** A `users` row as the driver returns it from raw SQL (snake_case columns). */
function userRowOf(row: Record<string, unknown>): UserRow {
  const date = (value: unknown) => (value === null || value === undefined ? null : new Date(value as string));
  const json = <T>(value: unknown): T => (typeof value === 'string' ? JSON.parse(value) : value) as T;
  return {
    organizationId: row.organization_id as string,
    id: row.id as string,
    email: (row.email as string | null) ?? null,
    givenName: (row.given_name as string | null) ?? null,
    familyName: (row.family_name as string | null) ?? null,
    displayName: (row.display_name as string | null) ?? null,
    status: row.status as string,
    externalIds: json<Record<string, string>>(row.external_ids),
    profile: json<Record<string, unknown>>(row.profile),
    source: row.source as string,
    version: Number(row.version),
    lastLoginAt: date(row.last_login_at),
    statusChangedAt: date(row.status_changed_at),
    createdAt: date(row.created_at) as Date,
    updatedAt: date(row.updated_at) as Date,
  };
}

/** The organization's users with these ids. */
async function usersByIds(
  executor: Executor,
  organizationId: string,
  ids: readonly string[],
): Promise<UserRow[]> {
  if (ids.length === 0) return [];
  return executor
    .select()
    .from(users)
    .where(and(eq(users.organizationId, organizationId), sql`${users.id} = any(${textList(ids)})`));
}

/** Locks and returns the organization's users with these ids. */
export async function lockUsers(
  executor: Executor,
  organizationId: string,
  ids: readonly string[],
): Promise<UserRow[]> {
  if (ids.length === 0) return [];
  return executor
    .select()
    .from(users)
    .where(and(eq(users.organizationId, organizationId), sql`${users.id} = any(${textList(ids)})`))
    .orderBy(asc(users.id))
    .for('update');
}

/**
 * Inserts users (one JSON parameter for the whole batch); a row whose email is taken meanwhile is
 * skipped. Returns the rows inserted.
 */
export async function insertUsersSkippingTaken(
  executor: Executor,
  rows: ReadonlyArray<typeof users.$inferInsert>,
): Promise<UserRow[]> {
  if (rows.length === 0) return [];
  const organizationId = rows[0]?.organizationId as string;
  const payload = JSON.stringify(
    rows.map((row) => ({
      id: row.id,
      email: row.email ?? null,
      given_name: row.givenName ?? null,
      family_name: row.familyName ?? null,
      display_name: row.displayName ?? null,
      external_ids: row.externalIds ?? {},
      profile: row.profile ?? {},
      source: row.source ?? 'api',
    })),
  );
  const inserted = await queryRows<Record<string, unknown>>(
    executor,
    sql`insert into users (organization_id, id, email, given_name, family_name, display_name, external_ids,
                           profile, source)
        select ${organizationId}, v.id, v.email, v.given_name, v.family_name, v.display_name, v.external_ids,
               v.profile, v.source
        from jsonb_to_recordset(${payload}::jsonb) as v(id text, email text, given_name text, family_name text,
          display_name text, external_ids jsonb, profile jsonb, source text)
        on conflict do nothing
        returning *`,
  );
  const byId = new Map(inserted.map((row) => [row.id as string, userRowOf(row)]));
  // In input order.
  return rows.map((row) => byId.get(row.id as string)).filter((row): row is UserRow => Boolean(row));
}

/** Writes each user's full new field values (computed by the caller under lock), one statement. */
export async function updateUserRows(
  executor: Executor,
  organizationId: string,
  rows: ReadonlyArray<{
    id: string;
    email: string | null;
    givenName: string | null;
    familyName: string | null;
    displayName: string | null;
    externalIds: Record<string, string>;
    profile: Record<string, unknown>;
  }>,
): Promise<UserRow[]> {
  if (rows.length === 0) return [];
  const payload = JSON.stringify(
    rows.map((row) => ({
      id: row.id,
      email: row.email,
      given_name: row.givenName,
      family_name: row.familyName,
      display_name: row.displayName,
      external_ids: row.externalIds,
      profile: row.profile,
    })),
  );
  const updated = await queryRows<{ id: string }>(
    executor,
    sql`update users u set email = v.email, given_name = v.given_name, family_name = v.family_name,
          display_name = v.display_name, external_ids = v.external_ids, profile = v.profile,
          version = u.version + 1, updated_at = now()
        from jsonb_to_recordset(${payload}::jsonb) as v(id text, email text, given_name text,
          family_name text, display_name text, external_ids jsonb, profile jsonb)
        where u.organization_id = ${organizationId} and u.id = v.id
        returning u.id`,
  );
  return usersByIds(
    executor,
    organizationId,
    updated.map((row) => row.id),
  );
}

/** Group memberships of these users: user id -> group ids. */
export async function membershipsOfUsers(
  executor: Executor,
  organizationId: string,
  userIds: readonly string[],
): Promise<Map<string, Set<string>>> {
  const result = new Map<string, Set<string>>();
  if (userIds.length === 0) return result;
  const rows = await executor
    .select({ userId: groupMemberships.userId, groupId: groupMemberships.groupId })
    .from(groupMemberships)
    .where(
      and(
        eq(groupMemberships.organizationId, organizationId),
        sql`${groupMemberships.userId} = any(${textList(userIds)})`,
      ),
    );
  for (const row of rows) {
    let set = result.get(row.userId);
    if (!set) {
      set = new Set();
      result.set(row.userId, set);
    }
    set.add(row.groupId);
  }
  return result;
}

/** A page of an organization's users with a status: id and email only (full-roster comparisons). */
export async function listUserEmails(
  executor: Executor,
  query: { organizationId: string; status: string; after?: string; limit: number },
): Promise<Array<{ id: string; email: string | null }>> {
  const filters = [eq(users.organizationId, query.organizationId), eq(users.status, query.status)];
  if (query.after) filters.push(gt(users.id, query.after));
  return executor
    .select({ id: users.id, email: users.email })
    .from(users)
    .where(and(...filters))
    .orderBy(asc(users.id))
    .limit(query.limit);
}

/** All groups of an organization (imports resolve group names against them). */
export async function listAllGroups(executor: Executor, organizationId: string): Promise<GroupRow[]> {
  return executor
    .select()
    .from(groups)
    .where(eq(groups.organizationId, organizationId))
    .orderBy(asc(groups.id));
}

/** Moves users to a status in one statement; returns the rows after the change. */
export async function setUserStatusRows(
  executor: Executor,
  organizationId: string,
  ids: readonly string[],
  status: string,
): Promise<UserRow[]> {
  if (ids.length === 0) return [];
  return executor
    .update(users)
    .set({ status, statusChangedAt: sql`now()`, version: sql`${users.version} + 1`, updatedAt: sql`now()` })
    .where(and(eq(users.organizationId, organizationId), sql`${users.id} = any(${textList(ids)})`))
    .returning();
}

/** Locks the organization's groups with these ids (in id order, so concurrent lockers do not deadlock). */
export async function lockGroups(
  executor: Executor,
  organizationId: string,
  ids: readonly string[],
): Promise<GroupRow[]> {
  if (ids.length === 0) return [];
  return executor
    .select()
    .from(groups)
    .where(and(eq(groups.organizationId, organizationId), sql`${groups.id} = any(${textList(ids)})`))
    .orderBy(asc(groups.id))
    .for('update');
}

/** Which of these ids are users of the organization (one bound parameter for the whole list). */
export async function knownUserIds(
  executor: Executor,
  organizationId: string,
  ids: readonly string[],
): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await executor
    .select({ id: users.id })
    .from(users)
    .where(and(eq(users.organizationId, organizationId), sql`${users.id} = any(${textList(ids)})`));
  return new Set(rows.map((row) => row.id));
}

/** Inserts (group, user) memberships that do not exist yet, in one statement; returns those added. */
export async function insertMembershipPairs(
  executor: Executor,
  organizationId: string,
  pairs: ReadonlyArray<{ groupId: string; userId: string }>,
  source: string,
): Promise<Array<{ groupId: string; userId: string }>> {
  if (pairs.length === 0) return [];
  const payload = JSON.stringify(pairs.map((pair) => ({ group_id: pair.groupId, user_id: pair.userId })));
  const rows = await queryRows<{ group_id: string; user_id: string }>(
    executor,
    sql`insert into group_memberships (organization_id, group_id, user_id, source)
        select ${organizationId}, v.group_id, v.user_id, ${source}
        from jsonb_to_recordset(${payload}::jsonb) as v(group_id text, user_id text)
        on conflict do nothing
        returning group_id, user_id`,
  );
  return rows.map((row) => ({ groupId: row.group_id, userId: row.user_id }));
}

/** Marks groups changed (membership changes), one statement. */
export async function bumpGroupVersions(
  executor: Executor,
  organizationId: string,
  ids: readonly string[],
): Promise<void> {
  if (ids.length === 0) return;
  await executor
    .update(groups)
    .set({ version: sql`${groups.version} + 1`, updatedAt: sql`now()` })
    .where(and(eq(groups.organizationId, organizationId), sql`${groups.id} = any(${textList(ids)})`));
}
