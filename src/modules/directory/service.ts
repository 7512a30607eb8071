/**
 * The user store. Every change to a user, group, membership or identity goes through here and is
 * written together with its event in one transaction, so the event log is a complete record and
 * provisioning, webhooks and audit never miss a change.
 *
 * Callers that combine several changes (a SCIM request that creates a user and adds it to groups)
 * pass their open transaction as `ctx.tx`; otherwise each call runs in its own transaction.
 */
import type { Database, Executor, Tx } from '../../platform/db/client.ts';
import { sqlState, UNIQUE_VIOLATION } from '../../platform/db/client.ts';
import { Conflict, InvalidInput, NotFound, PreconditionFailed } from '../../platform/errors.ts';
import { newId } from '../../platform/ids.ts';
import type { Actor, NewEvent } from '../events/contracts.ts';
import type { EventLog } from '../events/service.ts';
import type { OrganizationService } from '../orgs/service.ts';
import {
  type CreateGroupInput,
  type CreateUserInput,
  type GroupView,
  type IdentityView,
  MAX_PROFILE_BYTES,
  type UpdateGroupInput,
  type UpdateUserInput,
  type UserStatus,
  type UserView,
} from './contracts.ts';
import {
  bumpGroupVersion,
  bumpGroupVersions,
  countMembers,
  deleteGroupRow,
  deleteIdentityRow,
  deleteMemberships,
  deleteUserRow,
  findGroupByExternalId,
  findGroupById,
  findGroupByName,
  findGroupInOrganization,
  findIdentity,
  findUserByEmail,
  findUserById,
  findUserInOrganization,
  findUsersByEmails,
  findUsersByEmployeeIds,
  type GroupRow,
  type IdentityRow,
  insertGroup,
  insertIdentity,
  insertMembershipPairs,
  insertMemberships,
  insertUser,
  insertUsersSkippingTaken,
  knownUserIds,
  listAllGroups,
  listGroups,
  listMemberIds,
  listMemberIdsFromSource,
  listMembers,
  listUserEmails,
  listUserGroups,
  listUserIdentities,
  listUserMemberships,
  listUsers,
  lockGroups,
  lockUsers,
  membershipsOfUsers,
  setUserStatusRows,
  touchUserLogin,
  type UserListQuery,
  type UserRow,
  updateGroupRow,
  updateIdentityRow,
  updateUserRow,
  updateUserRows,
} from './repository.ts';

export interface WriteContext {
  actor: Actor;
  /** Run inside this open transaction instead of a new one. */
  tx?: Tx;
  /** Where the change comes from (`api`, `scim`, `sso`, `import`, `hris`); recorded on new rows and events. */
  source?: string;
}

export interface UserChangeOptions {
  /** Refuse the change (412) unless the user is still at this version (SCIM If-Match). */
  expectedVersion?: number;
}

export class DirectoryService {
  readonly #database: Database;
  readonly #events: EventLog;
  readonly #orgs: OrganizationService;

  constructor(database: Database, events: EventLog, orgs: OrganizationService) {
    this.#database = database;
    this.#events = events;
    this.#orgs = orgs;
  }

  #inTx<T>(ctx: WriteContext, work: (tx: Tx) => Promise<T>): Promise<T> {
    return ctx.tx ? work(ctx.tx) : this.#database.transaction(work);
  }

  // Users

  async createUser(
    organizationIdOrSlug: string,
    input: CreateUserInput,
    ctx: WriteContext,
  ): Promise<UserView> {
    const source = ctx.source ?? 'api';
    return this.#inTx(ctx, async (tx) => {
      const org = await this.#orgs.require(organizationIdOrSlug, tx);
      if (await findUserByEmail(tx, org.id, input.email)) throw emailTaken(input.email);
      let row: UserRow;
      try {
        row = await insertUser(tx, {
          organizationId: org.id,
          id: newId('user'),
          email: input.email,
          givenName: input.givenName ?? null,
          familyName: input.familyName ?? null,
          displayName: input.displayName ?? defaultDisplayName(input.givenName, input.familyName),
          externalIds: input.externalIds ?? {},
          profile: input.profile ?? {},
          source,
        });
      } catch (error) {
        if (sqlState(error) === UNIQUE_VIOLATION) throw emailTaken(input.email);
        throw error;
      }
      const view = toUserView(row);
      await this.#events.append(tx, userEvent('user.created', row, ctx, { user: view, source }));
      return view;
    });
  }

  /**
   * Creates many users of one organization at once (an HR sync's joiners), each input named by the
   * caller's `key`, in the caller's transaction: `createUsers` underneath (one statement, one
   * `user.created` event each). Inputs whose email is taken, or repeated in the batch, are returned
   * in `refused` instead of failing the batch.
   */
  async createUsersKeyed(
    organizationId: string,
    inputs: ReadonlyArray<CreateUserInput & { key: string }>,
    ctx: WriteContext & { tx: Tx },
  ): Promise<{ created: Map<string, UserView>; refused: Map<string, 'email_taken' | 'duplicate_email'> }> {
    const created = new Map<string, UserView>();
    const refused = new Map<string, 'email_taken' | 'duplicate_email'>();
    const keyByEmail = new Map<string, string>();
    const unique: CreateUserInput[] = [];
    for (const { key, ...input } of inputs) {
      const email = input.email.toLowerCase();
      if (keyByEmail.has(email)) {
        refused.set(key, 'duplicate_email');
        continue;
      }
      keyByEmail.set(email, key);
      unique.push(input);
    }
    const result = await this.createUsers(organizationId, unique, ctx);
    for (const user of result.created) {
      created.set(keyByEmail.get(String(user.email).toLowerCase()) as string, user);
    }
    for (const email of result.taken)
      refused.set(keyByEmail.get(email.toLowerCase()) as string, 'email_taken');
    return { created, refused };
  }

  async getUser(id: string, executor: Executor = this.#database.db): Promise<UserView> {
    const row = await findUserById(executor, id);
    if (!row) throw userNotFound(id);
    return toUserView(row);
  }

  /** The user, only if it belongs to the organization (tenant-scoped callers). */
  async getUserInOrganization(
    organizationId: string,
    id: string,
    executor: Executor = this.#database.db,
  ): Promise<UserView | undefined> {
    const row = await findUserInOrganization(executor, organizationId, id);
    return row ? toUserView(row) : undefined;
  }

  async findUserByEmail(
    organizationId: string,
    email: string,
    executor: Executor = this.#database.db,
  ): Promise<UserView | undefined> {
    const row = await findUserByEmail(executor, organizationId, email);
    return row ? toUserView(row) : undefined;
  }

  /** Users of the organization known by one of these employee ids (externalIds.employee_id, SCIM employeeNumber). */
  async findUsersByEmployeeIds(
    organizationId: string,
    employeeIds: readonly string[],
    executor: Executor = this.#database.db,
  ): Promise<UserView[]> {
    return (await findUsersByEmployeeIds(executor, organizationId, employeeIds)).map(toUserView);
  }

  async listUsers(organizationIdOrSlug: string, query: Omit<UserListQuery, 'organizationId'>) {
    const org = await this.#orgs.require(organizationIdOrSlug);
    const rows = await listUsers(this.#database.db, {
      ...query,
      organizationId: org.id,
      limit: query.limit + 1,
    });
    const page = rows.slice(0, query.limit);
    return {
      data: page.map(toUserView),
      nextCursor: rows.length > query.limit ? (page.at(-1)?.id ?? null) : null,
    };
  }

  /** Applies a partial update; writes nothing and emits nothing when nothing changes. */
  async updateUser(
    id: string,
    input: UpdateUserInput,
    ctx: WriteContext,
    options: UserChangeOptions = {},
  ): Promise<UserView> {
    return this.#inTx(ctx, async (tx) => {
      const before = await this.#lockUser(tx, id, options);
      const changes: Partial<UserRow> = {};
      if (input.email !== undefined && input.email !== before.email) {
        const other = await findUserByEmail(tx, before.organizationId, input.email);
        if (other && other.id !== before.id) throw emailTaken(input.email);
        changes.email = input.email;
      }
      for (const key of ['givenName', 'familyName', 'displayName'] as const) {
        if (input[key] !== undefined && input[key] !== before[key]) changes[key] = input[key];
      }
      if (input.externalIds !== undefined) {
        const merged = mergeRecord(before.externalIds, input.externalIds) as Record<string, string>;
        if (!sameJson(merged, before.externalIds)) changes.externalIds = merged;
      }
      if (input.profile !== undefined) {
        const merged = mergeRecord(before.profile, input.profile);
        if (JSON.stringify(merged).length > MAX_PROFILE_BYTES) {
          throw new InvalidInput({
            code: 'profile_too_large',
            detail: `The profile would exceed ${MAX_PROFILE_BYTES} bytes.`,
            field: 'profile',
            fix: 'Store fewer or smaller attributes.',
          });
        }
        if (!sameJson(merged, before.profile)) changes.profile = merged;
      }
      if (Object.keys(changes).length === 0) return toUserView(before);
      let after: UserRow;
      try {
        after = await updateUserRow(tx, before.organizationId, before.id, changes);
      } catch (error) {
        if (sqlState(error) === UNIQUE_VIOLATION && changes.email) throw emailTaken(changes.email);
        throw error;
      }
      const view = toUserView(after);
      await this.#events.append(
        tx,
        userEvent('user.updated', after, ctx, { user: view, changes: diff(before, changes) }),
      );
      return view;
    });
  }

  /**
   * Moves a user to a status: `suspended` (an admin's hold), `active` (reactivated), or
   * `deprovisioned` (left the company; SSO refuses them, provisioning removes their access).
   */
  async setUserStatus(
    id: string,
    status: UserStatus,
    ctx: WriteContext,
    options: UserChangeOptions = {},
  ): Promise<UserView> {
    return this.#inTx(ctx, async (tx) => {
      const before = await this.#lockUser(tx, id, options);
      if (before.status === status) return toUserView(before);
      const after = await updateUserRow(tx, before.organizationId, before.id, {
        status,
        statusChangedAt: new Date(),
      });
      const view = toUserView(after);
      const type =
        status === 'active'
          ? 'user.reactivated'
          : status === 'suspended'
            ? 'user.suspended'
            : 'user.deactivated';
      await this.#events.append(
        tx,
        userEvent(type, after, ctx, { user: view, changes: { status: { from: before.status, to: status } } }),
      );
      return view;
    });
  }

  /** Deletes a user, their memberships and identities. */
  async deleteUser(id: string, ctx: WriteContext, options: UserChangeOptions = {}): Promise<void> {
    await this.#inTx(ctx, async (tx) => {
      const before = await this.#lockUser(tx, id, options);
      const groupRows = await listUserGroups(tx, before.organizationId, before.id);
      const removals: NewEvent[] = groupRows.map((group) =>
        membershipEvent('group.member_removed', group, before.id, ctx),
      );
      await deleteUserRow(tx, before.organizationId, before.id);
      await this.#events.append(
        tx,
        ...removals,
        userEvent('user.deleted', before, ctx, { user: toUserView(before) }),
      );
    });
  }

  /** Records a successful login time (not a profile change: no version bump, no event). */
  async recordLogin(
    organizationId: string,
    userId: string,
    executor: Executor = this.#database.db,
  ): Promise<void> {
    await touchUserLogin(executor, organizationId, userId);
  }

  async #lockUser(tx: Tx, id: string, options: UserChangeOptions): Promise<UserRow> {
    const row = await findUserById(tx, id, { lock: true });
    if (!row) throw userNotFound(id);
    if (options.expectedVersion !== undefined && options.expectedVersion !== row.version) {
      throw new PreconditionFailed({
        code: 'version_mismatch',
        detail: `The user changed since version ${options.expectedVersion}; it is now at version ${row.version}.`,
        fix: 'Read the user again and retry the change against the current version.',
      });
    }
    return row;
  }

  // Bulk changes (imports). One statement per kind of change for a whole chunk of users, in the
  // caller's transaction, and still one event per change, the same events the single-user methods
  // write, so provisioning and audit cannot tell an import from the API or SCIM.

  /** The organization's users with these emails, by lower-cased email. */
  async findUsersByEmails(
    organizationId: string,
    emails: readonly string[],
    executor: Executor = this.#database.db,
  ): Promise<Map<string, UserView>> {
    const rows = await findUsersByEmails(executor, organizationId, emails);
    return new Map(
      rows.filter((row) => row.email).map((row) => [String(row.email).toLowerCase(), toUserView(row)]),
    );
  }

  /** Group ids each of these users is a member of. */
  async membershipsOf(
    organizationId: string,
    userIds: readonly string[],
    executor: Executor = this.#database.db,
  ): Promise<Map<string, Set<string>>> {
    return membershipsOfUsers(executor, organizationId, userIds);
  }

  /** Every group of the organization (id and name), for resolving names in bulk. */
  async listAllGroups(
    organizationId: string,
    executor: Executor = this.#database.db,
  ): Promise<Array<{ id: string; name: string }>> {
    return (await listAllGroups(executor, organizationId)).map((row) => ({ id: row.id, name: row.name }));
  }

  /** A page (by id) of the organization's users with a status: id and email only. */
  async listUserEmails(
    organizationId: string,
    query: { status: UserStatus; after?: string; limit: number },
    executor: Executor = this.#database.db,
  ): Promise<Array<{ id: string; email: string | null }>> {
    return listUserEmails(executor, { organizationId, ...query });
  }

  /**
   * Creates users in one statement, each with its `user.created` event (as createUser). A user
   * whose email another writer took meanwhile is skipped and listed in `taken`; the rest are created.
   */
  async createUsers(
    organizationId: string,
    inputs: readonly CreateUserInput[],
    ctx: WriteContext,
  ): Promise<{ created: UserView[]; taken: string[] }> {
    const source = ctx.source ?? 'api';
    if (inputs.length === 0) return { created: [], taken: [] };
    return this.#inTx(ctx, async (tx) => {
      const org = await this.#orgs.require(organizationId, tx);
      const rows = await insertUsersSkippingTaken(
        tx,
        inputs.map((input) => ({
          organizationId: org.id,
          id: newId('user'),
          email: input.email,
          givenName: input.givenName ?? null,
          familyName: input.familyName ?? null,
          displayName: input.displayName ?? defaultDisplayName(input.givenName, input.familyName),
          externalIds: input.externalIds ?? {},
          profile: input.profile ?? {},
          source,
        })),
      );
      const inserted = new Set(rows.map((row) => String(row.email).toLowerCase()));
      const taken = inputs.map((input) => input.email).filter((email) => !inserted.has(email.toLowerCase()));
      const created = rows.map(toUserView);
      await this.#events.append(
        tx,
        ...rows.map((row, index) =>
          userEvent('user.created', row, ctx, { user: created[index] as UserView, source }),
        ),
      );
      return { created, taken };
    });
  }

  /**
   * Applies partial updates to many users (the semantics of updateUser: `profile` and `externalIds`
   * merge, null removes a key) in one statement under row locks. Users whose update changes
   * nothing are neither written nor evented, and are not in the result.
   */
  async updateUsers(
    organizationId: string,
    updates: ReadonlyArray<{ id: string; input: UpdateUserInput }>,
    ctx: WriteContext,
  ): Promise<Array<{ user: UserView; changed: string[] }>> {
    if (updates.length === 0) return [];
    return this.#inTx(ctx, async (tx) => {
      const before = new Map(
        (
          await lockUsers(
            tx,
            organizationId,
            updates.map((update) => update.id),
          )
        ).map((row) => [row.id, row]),
      );
      const writes: Array<Parameters<typeof updateUserRows>[2][number]> = [];
      const diffs = new Map<string, Record<string, { from: unknown; to: unknown }>>();
      for (const { id, input } of updates) {
        const row = before.get(id);
        if (!row) throw userNotFound(id);
        const changes: Partial<UserRow> = {};
        if (input.email !== undefined && input.email !== row.email) {
          const other = await findUserByEmail(tx, organizationId, input.email);
          if (other && other.id !== row.id) throw emailTaken(input.email);
          changes.email = input.email;
        }
        for (const key of ['givenName', 'familyName', 'displayName'] as const) {
          if (input[key] !== undefined && input[key] !== row[key]) changes[key] = input[key];
        }
        if (input.externalIds !== undefined) {
          const merged = mergeRecord(row.externalIds, input.externalIds) as Record<string, string>;
          if (!sameJson(merged, row.externalIds)) changes.externalIds = merged;
        }
        if (input.profile !== undefined) {
          const merged = mergeRecord(row.profile, input.profile);
          if (JSON.stringify(merged).length > MAX_PROFILE_BYTES) {
            throw new InvalidInput({
              code: 'profile_too_large',
              detail: `The profile of user ${id} would exceed ${MAX_PROFILE_BYTES} bytes.`,
              field: 'profile',
              fix: 'Store fewer or smaller attributes.',
            });
          }
          if (!sameJson(merged, row.profile)) changes.profile = merged;
        }
        if (Object.keys(changes).length === 0) continue;
        diffs.set(id, diff(row, changes));
        const next = { ...row, ...changes };
        writes.push({
          id,
          email: next.email,
          givenName: next.givenName,
          familyName: next.familyName,
          displayName: next.displayName,
          externalIds: next.externalIds,
          profile: next.profile,
        });
      }
      let after: UserRow[];
      try {
        after = await updateUserRows(tx, organizationId, writes);
      } catch (error) {
        if (sqlState(error) === UNIQUE_VIOLATION) {
          throw new Conflict({
            code: 'user_email_taken',
            detail: 'One of the new emails belongs to another user of this organization.',
            field: 'email',
            fix: 'Update the existing user instead, or use a different email.',
          });
        }
        throw error;
      }
      const results = after.map((row) => ({
        user: toUserView(row),
        changed: Object.keys(diffs.get(row.id) ?? {}),
      }));
      await this.#events.append(
        tx,
        ...after.map((row, index) =>
          userEvent('user.updated', row, ctx, {
            user: results[index]?.user,
            changes: diffs.get(row.id) ?? {},
          }),
        ),
      );
      return results;
    });
  }

  /**
   * Moves many users to a status in one statement, each with the event setUserStatus writes
   * (`user.reactivated`, `user.suspended`, `user.deactivated`). Users already there are skipped.
   */
  async setUsersStatus(
    organizationId: string,
    ids: readonly string[],
    status: UserStatus,
    ctx: WriteContext,
  ): Promise<UserView[]> {
    if (ids.length === 0) return [];
    return this.#inTx(ctx, async (tx) => {
      const locked = await lockUsers(tx, organizationId, [...new Set(ids)]);
      const missing = ids.filter((id) => !locked.some((row) => row.id === id));
      if (missing.length) throw userNotFound(missing[0] as string);
      const moving = locked.filter((row) => row.status !== status);
      const previous = new Map(moving.map((row) => [row.id, row.status]));
      const after = await setUserStatusRows(
        tx,
        organizationId,
        moving.map((row) => row.id),
        status,
      );
      const type =
        status === 'active'
          ? 'user.reactivated'
          : status === 'suspended'
            ? 'user.suspended'
            : 'user.deactivated';
      const views = after.map(toUserView);
      await this.#events.append(
        tx,
        ...after.map((row, index) =>
          userEvent(type, row, ctx, {
            user: views[index],
            changes: { status: { from: previous.get(row.id), to: status } },
          }),
        ),
      );
      return views;
    });
  }

  /**
   * Adds many (group, user) memberships across groups in one statement, each with the
   * `group.member_added` event addMembers writes. Memberships that exist are left alone; unknown
   * groups or users are refused (nothing is added).
   */
  async addMemberships(
    organizationId: string,
    memberships: ReadonlyArray<{ groupId: string; userId: string }>,
    ctx: WriteContext,
  ): Promise<Array<{ groupId: string; userId: string }>> {
    if (memberships.length === 0) return [];
    return this.#inTx(ctx, async (tx) => {
      const groupIds = [...new Set(memberships.map((item) => item.groupId))];
      const groupRows = new Map((await lockGroups(tx, organizationId, groupIds)).map((row) => [row.id, row]));
      const missingGroup = groupIds.find((id) => !groupRows.has(id));
      if (missingGroup) throw groupNotFound(missingGroup);
      const userIds = [...new Set(memberships.map((item) => item.userId))];
      const known = await knownUserIds(tx, organizationId, userIds);
      const unknown = userIds.filter((id) => !known.has(id));
      if (unknown.length) {
        throw new InvalidInput({
          code: 'unknown_members',
          detail: `No user${unknown.length === 1 ? '' : 's'} ${unknown.slice(0, 10).join(', ')}${unknown.length > 10 ? ', ...' : ''} in this organization.`,
          field: 'userIds',
          fix: 'Add only ids of users in the same organization as the group.',
          extra: { unknownUserIds: unknown },
        });
      }
      const added = await insertMembershipPairs(tx, organizationId, memberships, ctx.source ?? 'api');
      if (added.length) {
        await bumpGroupVersions(tx, organizationId, [...new Set(added.map((item) => item.groupId))]);
        await this.#events.append(
          tx,
          ...added.map((item) =>
            membershipEvent('group.member_added', groupRows.get(item.groupId) as GroupRow, item.userId, ctx),
          ),
        );
      }
      return added;
    });
  }

  // Groups

  async createGroup(
    organizationIdOrSlug: string,
    input: CreateGroupInput,
    ctx: WriteContext,
  ): Promise<GroupView> {
    const source = ctx.source ?? 'api';
    return this.#inTx(ctx, async (tx) => {
      const org = await this.#orgs.require(organizationIdOrSlug, tx);
      if (await findGroupByName(tx, org.id, input.name)) throw groupNameTaken(input.name);
      let row: GroupRow;
      try {
        row = await insertGroup(tx, {
          organizationId: org.id,
          id: newId('group'),
          name: input.name,
          description: input.description ?? null,
          externalIds: input.externalIds ?? {},
          source,
        });
      } catch (error) {
        if (sqlState(error) === UNIQUE_VIOLATION) throw groupNameTaken(input.name);
        throw error;
      }
      const view = toGroupView(row, 0);
      await this.#events.append(tx, groupEvent('group.created', row, ctx, { group: view, source }));
      return view;
    });
  }

  async getGroup(id: string, executor: Executor = this.#database.db): Promise<GroupView> {
    const row = await findGroupById(executor, id);
    if (!row) throw groupNotFound(id);
    const counts = await countMembers(executor, row.organizationId, [row.id]);
    return toGroupView(row, counts.get(row.id) ?? 0);
  }

  async getGroupInOrganization(
    organizationId: string,
    id: string,
    executor: Executor = this.#database.db,
  ): Promise<GroupView | undefined> {
    const row = await findGroupInOrganization(executor, organizationId, id);
    if (!row) return undefined;
    const counts = await countMembers(executor, organizationId, [id]);
    return toGroupView(row, counts.get(id) ?? 0);
  }

  async findGroupByName(
    organizationId: string,
    name: string,
    executor: Executor = this.#database.db,
  ): Promise<GroupView | undefined> {
    const row = await findGroupByName(executor, organizationId, name);
    if (!row) return undefined;
    const counts = await countMembers(executor, organizationId, [row.id]);
    return toGroupView(row, counts.get(row.id) ?? 0);
  }

  /** The group linked to another system's group id (`externalIds[key] = value`), with its member count. */
  async findGroupByExternalId(
    organizationId: string,
    key: string,
    value: string,
    executor: Executor = this.#database.db,
  ): Promise<GroupView | undefined> {
    const row = await findGroupByExternalId(executor, organizationId, key, value);
    if (!row) return undefined;
    const counts = await countMembers(executor, organizationId, [row.id]);
    return toGroupView(row, counts.get(row.id) ?? 0);
  }

  /** Ids of the members one source added to a group. */
  async memberIdsFromSource(
    groupId: string,
    source: string,
    executor: Executor = this.#database.db,
  ): Promise<string[]> {
    const group = await findGroupById(executor, groupId);
    if (!group) throw groupNotFound(groupId);
    return listMemberIdsFromSource(executor, group.organizationId, group.id, source);
  }

  /**
   * Makes the members *one source* added to a group exactly `userIds` (a directory pull's group):
   * adds the missing, removes those this source added that are no longer listed; members added
   * by anyone else stay. Writes and emits nothing when nothing changes.
   */
  async setMembersFromSource(
    groupId: string,
    userIds: readonly string[],
    ctx: WriteContext & { source: string },
  ): Promise<{ added: string[]; removed: string[] }> {
    return this.#inTx(ctx, async (tx) => {
      const group = await findGroupById(tx, groupId);
      if (!group) throw groupNotFound(groupId);
      const current = new Set(await listMemberIdsFromSource(tx, group.organizationId, group.id, ctx.source));
      const wanted = new Set(userIds);
      const toRemove = [...current].filter((id) => !wanted.has(id));
      const toAdd = [...wanted].filter((id) => !current.has(id));
      const { removed } = toRemove.length
        ? await this.removeMembers(groupId, toRemove, { ...ctx, tx })
        : { removed: [] as string[] };
      const { added } = toAdd.length
        ? await this.addMembers(groupId, toAdd, { ...ctx, tx })
        : { added: [] as string[] };
      return { added, removed };
    });
  }

  async listGroups(organizationIdOrSlug: string, query: { after?: string; limit: number; q?: string }) {
    const org = await this.#orgs.require(organizationIdOrSlug);
    const rows = await listGroups(this.#database.db, {
      ...query,
      organizationId: org.id,
      limit: query.limit + 1,
    });
    const page = rows.slice(0, query.limit);
    const counts = await countMembers(
      this.#database.db,
      org.id,
      page.map((row) => row.id),
    );
    return {
      data: page.map((row) => toGroupView(row, counts.get(row.id) ?? 0)),
      nextCursor: rows.length > query.limit ? (page.at(-1)?.id ?? null) : null,
    };
  }

  async updateGroup(id: string, input: UpdateGroupInput, ctx: WriteContext): Promise<GroupView> {
    return this.#inTx(ctx, async (tx) => {
      const before = await findGroupById(tx, id, { lock: true });
      if (!before) throw groupNotFound(id);
      const changes: Partial<GroupRow> = {};
      if (input.name !== undefined && input.name !== before.name) {
        const other = await findGroupByName(tx, before.organizationId, input.name);
        if (other && other.id !== before.id) throw groupNameTaken(input.name);
        changes.name = input.name;
      }
      if (input.description !== undefined && input.description !== before.description)
        changes.description = input.description;
      const counts = await countMembers(tx, before.organizationId, [before.id]);
      if (Object.keys(changes).length === 0) return toGroupView(before, counts.get(before.id) ?? 0);
      let after: GroupRow;
      try {
        after = await updateGroupRow(tx, before.organizationId, before.id, changes);
      } catch (error) {
        if (sqlState(error) === UNIQUE_VIOLATION && changes.name) throw groupNameTaken(changes.name);
        throw error;
      }
      const view = toGroupView(after, counts.get(before.id) ?? 0);
      await this.#events.append(
        tx,
        groupEvent('group.updated', after, ctx, { group: view, changes: diff(before, changes) }),
      );
      return view;
    });
  }

  /** Deletes a group; each membership it held is recorded as removed. */
  async deleteGroup(id: string, ctx: WriteContext): Promise<void> {
    await this.#inTx(ctx, async (tx) => {
      const before = await findGroupById(tx, id, { lock: true });
      if (!before) throw groupNotFound(id);
      const memberIds = await listMemberIds(tx, before.organizationId, before.id);
      const removals = memberIds.map((userId) =>
        membershipEvent('group.member_removed', before, userId, ctx),
      );
      await deleteGroupRow(tx, before.organizationId, before.id);
      await this.#events.append(
        tx,
        ...removals,
        groupEvent('group.deleted', before, ctx, { group: toGroupView(before, memberIds.length) }),
      );
    });
  }

  /** Adds users to a group. Users already in it are left alone; unknown users are refused. */
  async addMembers(
    groupId: string,
    userIds: readonly string[],
    ctx: WriteContext,
  ): Promise<{ added: string[] }> {
    return this.#inTx(ctx, async (tx) => {
      const group = await findGroupById(tx, groupId, { lock: true });
      if (!group) throw groupNotFound(groupId);
      const unique = [...new Set(userIds)];
      const known = await knownUserIds(tx, group.organizationId, unique);
      const unknown = unique.filter((id) => !known.has(id));
      if (unknown.length) {
        throw new InvalidInput({
          code: 'unknown_members',
          detail: `No user${unknown.length === 1 ? '' : 's'} ${unknown.slice(0, 10).join(', ')}${unknown.length > 10 ? ', ...' : ''} in this group's organization.`,
          field: 'userIds',
          fix: 'Add only ids of users in the same organization as the group.',
          extra: { unknownUserIds: unknown },
        });
      }
      const added = await insertMemberships(tx, group.organizationId, group.id, unique, ctx.source ?? 'api');
      if (added.length) {
        await bumpGroupVersion(tx, group.organizationId, group.id);
        await this.#events.append(
          tx,
          ...added.map((userId) => membershipEvent('group.member_added', group, userId, ctx)),
        );
      }
      return { added };
    });
  }

  async removeMembers(
    groupId: string,
    userIds: readonly string[],
    ctx: WriteContext,
  ): Promise<{ removed: string[] }> {
    return this.#inTx(ctx, async (tx) => {
      const group = await findGroupById(tx, groupId, { lock: true });
      if (!group) throw groupNotFound(groupId);
      const removed = await deleteMemberships(tx, group.organizationId, group.id, [...new Set(userIds)]);
      if (removed.length) {
        await bumpGroupVersion(tx, group.organizationId, group.id);
        await this.#events.append(
          tx,
          ...removed.map((userId) => membershipEvent('group.member_removed', group, userId, ctx)),
        );
      }
      return { removed };
    });
  }

  /** Makes the group's members exactly `userIds` (SCIM PUT, SSO group sync). */
  async setMembers(
    groupId: string,
    userIds: readonly string[],
    ctx: WriteContext,
  ): Promise<{ added: string[]; removed: string[] }> {
    return this.#inTx(ctx, async (tx) => {
      const group = await findGroupById(tx, groupId);
      if (!group) throw groupNotFound(groupId);
      const current = new Set(await listMemberIds(tx, group.organizationId, group.id));
      const wanted = new Set(userIds);
      const toRemove = [...current].filter((id) => !wanted.has(id));
      const toAdd = [...wanted].filter((id) => !current.has(id));
      const { removed } = await this.removeMembers(groupId, toRemove, { ...ctx, tx });
      const { added } = await this.addMembers(groupId, toAdd, { ...ctx, tx });
      return { added, removed };
    });
  }

  /**
   * Makes a user's memberships *from one source* match a list of group names (SSO group claims,
   * an HR system's teams, an import): joins the named groups (creating missing ones when
   * `createMissing`), and leaves the groups that this source added earlier but no longer names.
   * Memberships added by any other source (an admin, SCIM) are never touched. Names match
   * case-insensitively, as group names are unique that way.
   */
  async syncUserGroups(
    userId: string,
    groupNames: readonly string[],
    options: { source: string; createMissing: boolean },
    ctx: WriteContext,
  ): Promise<{ added: string[]; removed: string[]; created: string[]; skipped: string[] }> {
    const sourceCtx: WriteContext = { ...ctx, source: options.source };
    return this.#inTx(ctx, async (tx) => {
      const user = await findUserById(tx, userId);
      if (!user) throw userNotFound(userId);
      const wanted = new Map<string, string>();
      for (const name of groupNames) {
        const trimmed = name.trim();
        if (trimmed && !wanted.has(trimmed.toLowerCase())) wanted.set(trimmed.toLowerCase(), trimmed);
      }
      const memberships = await listUserMemberships(tx, user.organizationId, user.id);
      const memberOf = new Set(memberships.map((row) => row.groupName.toLowerCase()));
      const result = {
        added: [] as string[],
        removed: [] as string[],
        created: [] as string[],
        skipped: [] as string[],
      };
      for (const [key, name] of wanted) {
        if (memberOf.has(key)) continue;
        let group = await findGroupByName(tx, user.organizationId, name);
        if (!group) {
          if (!options.createMissing) {
            result.skipped.push(name);
            continue;
          }
          const created = await this.createGroup(user.organizationId, { name }, { ...sourceCtx, tx });
          result.created.push(created.name);
          group = await findGroupById(tx, created.id);
          if (!group) continue;
        }
        const { added } = await this.addMembers(group.id, [user.id], { ...sourceCtx, tx });
        if (added.length) result.added.push(group.name);
      }
      for (const membership of memberships) {
        if (membership.source !== options.source || wanted.has(membership.groupName.toLowerCase())) continue;
        const { removed } = await this.removeMembers(membership.groupId, [user.id], { ...sourceCtx, tx });
        if (removed.length) result.removed.push(membership.groupName);
      }
      return result;
    });
  }

  async listMembers(groupId: string, query: { after?: string; limit: number }) {
    const group = await findGroupById(this.#database.db, groupId);
    if (!group) throw groupNotFound(groupId);
    const rows = await listMembers(this.#database.db, {
      organizationId: group.organizationId,
      groupId,
      after: query.after,
      limit: query.limit + 1,
    });
    const page = rows.slice(0, query.limit);
    return {
      data: page.map(toUserView),
      nextCursor: rows.length > query.limit ? (page.at(-1)?.id ?? null) : null,
    };
  }

  async listUserGroups(userId: string, executor: Executor = this.#database.db): Promise<GroupView[]> {
    const user = await findUserById(executor, userId);
    if (!user) throw userNotFound(userId);
    const rows = await listUserGroups(executor, user.organizationId, user.id);
    const counts = await countMembers(
      executor,
      user.organizationId,
      rows.map((row) => row.id),
    );
    return rows.map((row) => toGroupView(row, counts.get(row.id) ?? 0));
  }

  // Identities

  async findIdentity(
    organizationId: string,
    providerId: string,
    subject: string,
    executor: Executor = this.#database.db,
  ) {
    const row = await findIdentity(executor, organizationId, providerId, subject);
    return row ? toIdentityView(row) : undefined;
  }

  /**
   * Links a user to a provider subject (an SSO connection's `sub`, a directory's record id). Updates
   * the stored profile and last-seen time when the link exists already.
   */
  async linkIdentity(
    input: {
      organizationId: string;
      userId: string;
      providerType: string;
      providerId: string;
      subject: string;
      profile?: Record<string, unknown>;
    },
    ctx: WriteContext,
  ): Promise<IdentityView> {
    return this.#inTx(ctx, async (tx) => {
      const existing = await findIdentity(tx, input.organizationId, input.providerId, input.subject);
      if (existing) {
        if (existing.userId !== input.userId) {
          throw new Conflict({
            code: 'identity_linked_elsewhere',
            detail: `Subject ${input.subject} of ${input.providerId} is already linked to another user.`,
            fix: 'Unlink it from the other user first.',
          });
        }
        await updateIdentityRow(tx, input.organizationId, existing.id, {
          profile: input.profile ?? existing.profile,
          lastSeenAt: new Date(),
        });
        return toIdentityView({
          ...existing,
          profile: input.profile ?? existing.profile,
          lastSeenAt: new Date(),
        });
      }
      const user = await findUserInOrganization(tx, input.organizationId, input.userId);
      if (!user) throw userNotFound(input.userId);
      const row = await insertIdentity(tx, {
        organizationId: input.organizationId,
        id: newId('identity'),
        userId: input.userId,
        providerType: input.providerType,
        providerId: input.providerId,
        subject: input.subject,
        profile: input.profile ?? {},
        lastSeenAt: new Date(),
      });
      const view = toIdentityView(row);
      await this.#events.append(tx, {
        organizationId: input.organizationId,
        type: 'identity.linked',
        actor: ctx.actor,
        subjectType: 'user',
        subjectId: input.userId,
        data: {
          identity: {
            id: row.id,
            providerType: row.providerType,
            providerId: row.providerId,
            subject: row.subject,
          },
        },
      });
      return view;
    });
  }

  async listIdentities(userId: string): Promise<IdentityView[]> {
    const user = await findUserById(this.#database.db, userId);
    if (!user) throw userNotFound(userId);
    return (await listUserIdentities(this.#database.db, user.organizationId, user.id)).map(toIdentityView);
  }

  async unlinkIdentity(userId: string, identityId: string, ctx: WriteContext): Promise<void> {
    await this.#inTx(ctx, async (tx) => {
      const user = await findUserById(tx, userId);
      if (!user) throw userNotFound(userId);
      const identity = (await listUserIdentities(tx, user.organizationId, user.id)).find(
        (row) => row.id === identityId,
      );
      if (!identity) {
        throw new NotFound({
          code: 'identity_not_found',
          detail: `User ${userId} has no identity ${identityId}.`,
          fix: "List the user's identities to find the right id.",
        });
      }
      await deleteIdentityRow(tx, user.organizationId, identity.id);
      await this.#events.append(tx, {
        organizationId: user.organizationId,
        type: 'identity.unlinked',
        actor: ctx.actor,
        subjectType: 'user',
        subjectId: user.id,
        data: {
          identity: {
            id: identity.id,
            providerType: identity.providerType,
            providerId: identity.providerId,
            subject: identity.subject,
          },
        },
      });
    });
  }
}

function userEvent(type: string, row: UserRow, ctx: WriteContext, data: Record<string, unknown>): NewEvent {
  return {
    organizationId: row.organizationId,
    type,
    actor: ctx.actor,
    subjectType: 'user',
    subjectId: row.id,
    data,
  };
}

function groupEvent(type: string, row: GroupRow, ctx: WriteContext, data: Record<string, unknown>): NewEvent {
  return {
    organizationId: row.organizationId,
    type,
    actor: ctx.actor,
    subjectType: 'group',
    subjectId: row.id,
    data,
  };
}

function membershipEvent(
  type: 'group.member_added' | 'group.member_removed',
  group: GroupRow,
  userId: string,
  ctx: WriteContext,
): NewEvent {
  return {
    organizationId: group.organizationId,
    type,
    actor: ctx.actor,
    subjectType: 'group',
    subjectId: group.id,
    data: {
      group: { id: group.id, name: group.name },
      userId,
      ...(ctx.source ? { source: ctx.source } : {}),
    },
  };
}

function defaultDisplayName(given?: string, family?: string): string | null {
  const joined = [given, family].filter(Boolean).join(' ').trim();
  return joined || null;
}

/** Merges `patch` into `base`; a null value in the patch removes the key. */
function mergeRecord(base: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete merged[key];
    else merged[key] = value;
  }
  return merged;
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function diff<Row extends object>(
  before: Row,
  changes: Partial<Row>,
): Record<string, { from: unknown; to: unknown }> {
  const result: Record<string, { from: unknown; to: unknown }> = {};
  for (const key of Object.keys(changes) as Array<keyof Row>) {
    result[String(key)] = { from: before[key] ?? null, to: changes[key] ?? null };
  }
  return result;
}

export function toUserView(row: UserRow): UserView {
  return {
    id: row.id,
    organizationId: row.organizationId,
    email: row.email,
    givenName: row.givenName,
    familyName: row.familyName,
    displayName: row.displayName,
    status: row.status as UserStatus,
    externalIds: row.externalIds ?? {},
    profile: row.profile ?? {},
    source: row.source,
    version: row.version,
    lastLoginAt: row.lastLoginAt?.toISOString() ?? null,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

export function toGroupView(row: GroupRow, memberCount: number): GroupView {
  return {
    id: row.id,
    organizationId: row.organizationId,
    name: row.name,
    description: row.description,
    source: row.source,
    externalIds: row.externalIds ?? {},
    memberCount,
    version: row.version,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

function toIdentityView(row: IdentityRow): IdentityView {
  return {
    id: row.id,
    userId: row.userId,
    providerType: row.providerType,
    providerId: row.providerId,
    subject: row.subject,
    profile: row.profile ?? {},
    lastSeenAt: row.lastSeenAt?.toISOString() ?? null,
    createdAt: row.createdAt.toISOString(),
  };
}

function userNotFound(id: string): NotFound {
  return new NotFound({
    code: 'user_not_found',
    detail: `No user with id "${id}".`,
    fix: "Check the id; list the organization's users to find it.",
  });
}

function groupNotFound(id: string): NotFound {
  return new NotFound({
    code: 'group_not_found',
    detail: `No group with id "${id}".`,
    fix: "Check the id; list the organization's groups to find it.",
  });
}

function emailTaken(email: string): Conflict {
  return new Conflict({
    code: 'user_email_taken',
    detail: `A user with email ${email} already exists in this organization.`,
    field: 'email',
    fix: 'Update the existing user instead, or use a different email.',
  });
}

function groupNameTaken(name: string): Conflict {
  return new Conflict({
    code: 'group_name_taken',
    detail: `A group named "${name}" already exists in this organization.`,
    field: 'name',
    fix: 'Choose another name, or add members to the existing group.',
  });
}
