/**
 * All SQL of the SCIM module. Every statement filters by organization and directory first.
 *
 * The lookups and the user create are hand-written prepared statements (they run on every SCIM
 * request and were measured: see bench/scenarios/scim.ts); compiled filters are parameterized SQL.
 */
import type { Database, Tx } from '../../platform/db/client.ts';
import { preparedSql, runPrepared, runShaped, runSql } from '../../platform/db/prepared.ts';
import type { ResourceDocument } from './resource.ts';

export interface ScimUserRow {
  organization_id: string;
  directory_id: string;
  user_id: string;
  user_name: string;
  external_id: string | null;
  display_name: string | null;
  active: boolean;
  email_values: string[];
  resource: ResourceDocument;
  version: number;
  created_at: Date;
  updated_at: Date;
  /** Groups of this directory the user is in, when the query asked for them. */
  groups?: Array<{ value: string; display: string }>;
}

export interface ScimGroupRow {
  organization_id: string;
  directory_id: string;
  group_id: string;
  display_name: string;
  external_id: string | null;
  resource: ResourceDocument;
  version: number;
  created_at: Date;
  updated_at: Date;
}

/** The indexed copies of a user resource's attributes. */
export interface ScimUserColumns {
  userName: string;
  externalId: string | null;
  displayName: string | null;
  active: boolean;
  emailValues: string[];
  resource: ResourceDocument;
}

/** One statement that inserts the user, its SCIM resource and the `user.created` event. */
export interface NewScimUser {
  organizationId: string;
  directoryId: string;
  userId: string;
  email: string | null;
  givenName: string | null;
  familyName: string | null;
  displayName: string | null;
  status: string;
  externalIds: Record<string, string>;
  profile: Record<string, unknown>;
  at: Date;
  columns: ScimUserColumns;
  event: { actor: unknown; data: unknown };
}

const USER_COLUMNS = `s.organization_id, s.directory_id, s.user_id, s.user_name, s.external_id, s.display_name,
  s.active, s.email_values, s.resource, s.version, s.created_at, s.updated_at`;

/** The user's groups of the same directory, folded into the user query (no second round trip). */
const USER_GROUPS_COLUMN = `(select coalesce(jsonb_agg(jsonb_build_object('value', g.group_id, 'display', g.display_name)
     order by g.display_name), '[]'::jsonb)
   from group_memberships m join scim_groups g on g.organization_id = m.organization_id and g.group_id = m.group_id
  where m.organization_id = s.organization_id and m.user_id = s.user_id and g.directory_id = s.directory_id) as groups`;

const INSERT_USER_WITH_RESOURCE = preparedSql(
  'scim_insert_user',
  `with u as (
     insert into users (organization_id, id, email, given_name, family_name, display_name, status, external_ids,
                        profile, source, status_changed_at, created_at, updated_at)
     values ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9::jsonb, 'scim',
             case when $7::text = 'active' then null else $10::timestamptz end, $10, $10)
     returning organization_id, id
   ), s as (
     insert into scim_users (organization_id, directory_id, user_id, user_name, external_id, display_name, active,
                             email_values, resource, created_at, updated_at)
     select u.organization_id, $11, u.id, $12, $13, $14, $15, $16::text[], $17::jsonb, $10, $10 from u
     returning user_id
   ), e as (
     insert into events (organization_id, type, actor, subject_type, subject_id, data)
     select $1, 'user.created', $18::jsonb, 'user', s.user_id, $19::jsonb from s
     returning id
   )
   select (select count(*) from e)::int as events, pg_notify('switchboard_events', '') as notified`,
);

/** Inserts user, SCIM resource and event atomically, in one round trip (autocommit). */
export async function insertUserWithResource(database: Database, row: NewScimUser, tx?: Tx): Promise<void> {
  await runPrepared(
    database,
    INSERT_USER_WITH_RESOURCE,
    [
      row.organizationId,
      row.userId,
      row.email,
      row.givenName,
      row.familyName,
      row.displayName,
      row.status,
      JSON.stringify(row.externalIds),
      JSON.stringify(row.profile),
      row.at,
      row.directoryId,
      row.columns.userName,
      row.columns.externalId,
      row.columns.displayName,
      row.columns.active,
      row.columns.emailValues,
      JSON.stringify(row.columns.resource),
      JSON.stringify(row.event.actor),
      JSON.stringify(row.event.data),
    ],
    tx,
  );
}

const INSERT_SCIM_USER = preparedSql(
  'scim_insert_scim_user',
  `insert into scim_users (organization_id, directory_id, user_id, user_name, external_id, display_name, active,
                           email_values, resource)
   values ($1, $2, $3, $4, $5, $6, $7, $8::text[], $9::jsonb)`,
);

/** Links an existing user (adopted by email) to this directory. */
export async function insertScimUser(
  database: Database,
  tx: Tx,
  key: { organizationId: string; directoryId: string; userId: string },
  columns: ScimUserColumns,
): Promise<void> {
  await runPrepared(
    database,
    INSERT_SCIM_USER,
    [
      key.organizationId,
      key.directoryId,
      key.userId,
      columns.userName,
      columns.externalId,
      columns.displayName,
      columns.active,
      columns.emailValues,
      JSON.stringify(columns.resource),
    ],
    tx,
  );
}

const FIND_USER = preparedSql(
  'scim_find_user',
  `select ${USER_COLUMNS}, ${USER_GROUPS_COLUMN} from scim_users s where s.organization_id = $1 and s.directory_id = $2 and s.user_id = $3`,
);
const LOCK_USER = preparedSql(
  'scim_lock_user',
  `select ${USER_COLUMNS} from scim_users s where s.organization_id = $1 and s.directory_id = $2 and s.user_id = $3
   for update`,
);

export async function findScimUser(
  database: Database,
  key: { organizationId: string; directoryId: string },
  userId: string,
  tx?: Tx,
): Promise<ScimUserRow | undefined> {
  const [row] = await runPrepared<ScimUserRow>(
    database,
    tx ? LOCK_USER : FIND_USER,
    [key.organizationId, key.directoryId, userId],
    tx,
  );
  return row;
}

const UPDATE_SCIM_USER = preparedSql(
  'scim_update_user',
  `update scim_users s set user_name = $4, external_id = $5, display_name = $6, active = $7,
          email_values = $8::text[], resource = $9::jsonb, version = s.version + 1, updated_at = now()
    where s.organization_id = $1 and s.directory_id = $2 and s.user_id = $3
   returning ${USER_COLUMNS}, ${USER_GROUPS_COLUMN}`,
);

export async function updateScimUser(
  database: Database,
  tx: Tx,
  key: { organizationId: string; directoryId: string; userId: string },
  columns: ScimUserColumns,
): Promise<ScimUserRow> {
  const [row] = await runPrepared<ScimUserRow>(
    database,
    UPDATE_SCIM_USER,
    [
      key.organizationId,
      key.directoryId,
      key.userId,
      columns.userName,
      columns.externalId,
      columns.displayName,
      columns.active,
      columns.emailValues,
      JSON.stringify(columns.resource),
    ],
    tx,
  );
  return row as ScimUserRow;
}

export async function deleteScimUser(
  database: Database,
  tx: Tx,
  key: { organizationId: string; directoryId: string; userId: string },
): Promise<void> {
  await runSql(
    database,
    'delete from scim_users where organization_id = $1 and directory_id = $2 and user_id = $3',
    [key.organizationId, key.directoryId, key.userId],
    tx,
  );
}

/** The user holding `email` in the organization, and the directory that manages it (if any). */
export async function findUserByEmailForAdoption(
  database: Database,
  tx: Tx,
  organizationId: string,
  email: string,
): Promise<{ id: string; status: string; directory_id: string | null } | undefined> {
  const [row] = await runSql<{ id: string; status: string; directory_id: string | null }>(
    database,
    `select u.id, u.status, s.directory_id from users u
       left join scim_users s on s.organization_id = u.organization_id and s.user_id = u.id
      where u.organization_id = $1 and lower(u.email) = lower($2)
      for update of u`,
    [organizationId, email],
    tx,
  );
  return row;
}

export interface ListQuery {
  organizationId: string;
  directoryId: string;
  /** SQL condition over alias `s` with `$n` placeholders numbered after the first two. */
  where: string | undefined;
  params: unknown[];
  orderBy: string | undefined;
  descending: boolean;
  offset: number;
  limit: number;
}

/** A page of users, and the total (counted only when the page does not tell it). */
export async function listScimUsers(
  database: Database,
  query: ListQuery & { withGroups: boolean },
): Promise<{ rows: ScimUserRow[]; total: number }> {
  const columns = query.withGroups ? `${USER_COLUMNS}, ${USER_GROUPS_COLUMN}` : USER_COLUMNS;
  return listPage<ScimUserRow>(database, 'scim_users', columns, 's.user_id', query);
}

const GROUP_COLUMNS = `s.organization_id, s.directory_id, s.group_id, s.display_name, s.external_id, s.resource,
  s.version, s.created_at, s.updated_at`;

export async function listScimGroups(
  database: Database,
  query: ListQuery,
): Promise<{ rows: ScimGroupRow[]; total: number }> {
  return listPage<ScimGroupRow>(database, 'scim_groups', GROUP_COLUMNS, 's.group_id', query);
}

async function listPage<Row>(
  database: Database,
  table: string,
  columns: string,
  idColumn: string,
  query: ListQuery,
): Promise<{ rows: Row[]; total: number }> {
  const where = `s.organization_id = $1 and s.directory_id = $2${query.where ? ` and ${query.where}` : ''}`;
  const values = [query.organizationId, query.directoryId, ...query.params];
  const direction = query.descending ? 'desc' : 'asc';
  // Stable order: the sort key, then the id (time-ordered), so pages never overlap or skip.
  const order = query.orderBy
    ? `${query.orderBy} ${direction} nulls last, ${idColumn} ${direction}`
    : `${idColumn} ${direction}`;
  let rows: Row[] = [];
  if (query.limit > 0) {
    rows = await runShaped<Row>(
      database,
      `select ${columns} from ${table} s where ${where} order by ${order} limit ${query.limit} offset ${query.offset}`,
      values,
    );
  }
  // The page tells the total when it is the first and not full: one round trip for most lookups.
  if (query.offset === 0 && rows.length < query.limit) return { rows, total: rows.length };
  const [counted] = await runShaped<{ n: number }>(
    database,
    `select count(*)::int as n from ${table} s where ${where}`,
    values,
  );
  return { rows, total: Number(counted?.n ?? 0) };
}

const FIND_GROUP = preparedSql(
  'scim_find_group',
  `select ${GROUP_COLUMNS} from scim_groups s where s.organization_id = $1 and s.directory_id = $2 and s.group_id = $3`,
);
const LOCK_GROUP = preparedSql(
  'scim_lock_group',
  `select ${GROUP_COLUMNS} from scim_groups s where s.organization_id = $1 and s.directory_id = $2 and s.group_id = $3
   for update`,
);

export async function findScimGroup(
  database: Database,
  key: { organizationId: string; directoryId: string },
  groupId: string,
  tx?: Tx,
): Promise<ScimGroupRow | undefined> {
  const [row] = await runPrepared<ScimGroupRow>(
    database,
    tx ? LOCK_GROUP : FIND_GROUP,
    [key.organizationId, key.directoryId, groupId],
    tx,
  );
  return row;
}

export async function insertScimGroup(
  database: Database,
  tx: Tx,
  key: { organizationId: string; directoryId: string; groupId: string },
  columns: { displayName: string; externalId: string | null; resource: ResourceDocument },
): Promise<ScimGroupRow> {
  const [row] = await runSql<ScimGroupRow>(
    database,
    `insert into scim_groups as s (organization_id, directory_id, group_id, display_name, external_id, resource)
     values ($1, $2, $3, $4, $5, $6::jsonb) returning ${GROUP_COLUMNS}`,
    [
      key.organizationId,
      key.directoryId,
      key.groupId,
      columns.displayName,
      columns.externalId,
      JSON.stringify(columns.resource),
    ],
    tx,
  );
  return row as ScimGroupRow;
}

export async function updateScimGroup(
  database: Database,
  tx: Tx,
  key: { organizationId: string; directoryId: string; groupId: string },
  columns: { displayName: string; externalId: string | null; resource: ResourceDocument },
): Promise<ScimGroupRow> {
  const [row] = await runSql<ScimGroupRow>(
    database,
    `update scim_groups s set display_name = $4, external_id = $5, resource = $6::jsonb, version = s.version + 1,
            updated_at = now()
      where s.organization_id = $1 and s.directory_id = $2 and s.group_id = $3 returning ${GROUP_COLUMNS}`,
    [
      key.organizationId,
      key.directoryId,
      key.groupId,
      columns.displayName,
      columns.externalId,
      JSON.stringify(columns.resource),
    ],
    tx,
  );
  return row as ScimGroupRow;
}

/** The group with this name in the organization, and the directory managing it (if any). */
export async function findGroupByNameForAdoption(
  database: Database,
  tx: Tx,
  organizationId: string,
  name: string,
): Promise<{ id: string; directory_id: string | null } | undefined> {
  const [row] = await runSql<{ id: string; directory_id: string | null }>(
    database,
    `select g.id, s.directory_id from groups g
       left join scim_groups s on s.organization_id = g.organization_id and s.group_id = g.id
      where g.organization_id = $1 and lower(g.name) = lower($2)
      for update of g`,
    [organizationId, name],
    tx,
  );
  return row;
}

/** Of `userIds`, those that are users of this directory. */
export async function directoryUserIds(
  database: Database,
  key: { organizationId: string; directoryId: string },
  userIds: readonly string[],
  tx?: Tx,
): Promise<Set<string>> {
  if (userIds.length === 0) return new Set();
  const rows = await runSql<{ user_id: string }>(
    database,
    'select user_id from scim_users where organization_id = $1 and directory_id = $2 and user_id = any($3::text[])',
    [key.organizationId, key.directoryId, [...userIds]],
    tx,
  );
  return new Set(rows.map((row) => row.user_id));
}

/** Which of these users any SCIM directory of the organization manages. */
export async function scimManagedUserIds(
  database: Database,
  organizationId: string,
  userIds: readonly string[],
  tx?: Tx,
): Promise<Set<string>> {
  if (userIds.length === 0) return new Set();
  const rows = await runSql<{ user_id: string }>(
    database,
    'select user_id from scim_users where organization_id = $1 and user_id = any($2::text[])',
    [organizationId, [...userIds]],
    tx,
  );
  return new Set(rows.map((row) => row.user_id));
}

/** Members of groups, with a display name from their SCIM resource. */
export async function listGroupMembers(
  database: Database,
  organizationId: string,
  groupIds: readonly string[],
  tx?: Tx,
): Promise<Map<string, Array<{ value: string; display: string | null }>>> {
  const byGroup = new Map<string, Array<{ value: string; display: string | null }>>();
  if (groupIds.length === 0) return byGroup;
  const rows = await runSql<{ group_id: string; user_id: string; display: string | null }>(
    database,
    `select m.group_id, m.user_id, coalesce(s.display_name, s.user_name) as display
       from group_memberships m
       left join scim_users s on s.organization_id = m.organization_id and s.user_id = m.user_id
      where m.organization_id = $1 and m.group_id = any($2::text[])
      order by m.group_id, m.user_id`,
    [organizationId, [...groupIds]],
    tx,
  );
  for (const row of rows) {
    let list = byGroup.get(row.group_id);
    if (!list) {
      list = [];
      byGroup.set(row.group_id, list);
    }
    list.push({ value: row.user_id, display: row.display });
  }
  return byGroup;
}

export async function listMemberIds(
  database: Database,
  tx: Tx,
  organizationId: string,
  groupId: string,
): Promise<string[]> {
  const rows = await runSql<{ user_id: string }>(
    database,
    'select user_id from group_memberships where organization_id = $1 and group_id = $2',
    [organizationId, groupId],
    tx,
  );
  return rows.map((row) => row.user_id);
}

/** The groups of this directory each user belongs to. */
export async function listUserGroups(
  database: Database,
  key: { organizationId: string; directoryId: string },
  userIds: readonly string[],
  tx?: Tx,
): Promise<Map<string, Array<{ value: string; display: string }>>> {
  const byUser = new Map<string, Array<{ value: string; display: string }>>();
  if (userIds.length === 0) return byUser;
  const rows = await runSql<{ user_id: string; group_id: string; display_name: string }>(
    database,
    `select m.user_id, g.group_id, g.display_name from group_memberships m
       join scim_groups g on g.organization_id = m.organization_id and g.group_id = m.group_id
      where m.organization_id = $1 and g.directory_id = $2 and m.user_id = any($3::text[])
      order by m.user_id, g.display_name`,
    [key.organizationId, key.directoryId, [...userIds]],
    tx,
  );
  for (const row of rows) {
    let list = byUser.get(row.user_id);
    if (!list) {
      list = [];
      byUser.set(row.user_id, list);
    }
    list.push({ value: row.group_id, display: row.display_name });
  }
  return byUser;
}

/** The groups of this directory a user belongs to (ids), for removing them on deprovisioning. */
export async function directoryGroupIdsOfUser(
  database: Database,
  tx: Tx,
  key: { organizationId: string; directoryId: string },
  userId: string,
): Promise<string[]> {
  const rows = await runSql<{ group_id: string }>(
    database,
    `select m.group_id from group_memberships m
       join scim_groups g on g.organization_id = m.organization_id and g.group_id = m.group_id
      where m.organization_id = $1 and g.directory_id = $2 and m.user_id = $3`,
    [key.organizationId, key.directoryId, userId],
    tx,
  );
  return rows.map((row) => row.group_id);
}

export async function bumpScimGroupVersion(
  database: Database,
  tx: Tx,
  key: { organizationId: string; directoryId: string; groupId: string },
): Promise<void> {
  await runSql(
    database,
    `update scim_groups set version = version + 1, updated_at = now()
      where organization_id = $1 and directory_id = $2 and group_id = $3`,
    [key.organizationId, key.directoryId, key.groupId],
    tx,
  );
}

/** Refreshes planner statistics of the SCIM tables (embedded mode has no autovacuum). */
export async function analyzeScimTables(database: Database): Promise<void> {
  await runSql(database, 'analyze scim_users', []);
  await runSql(database, 'analyze scim_groups', []);
  await runSql(database, 'analyze users', []);
}
