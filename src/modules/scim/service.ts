/**
 * SCIM operations on one directory's Users and Groups. Every write runs in one transaction with
 * its events (written by the DirectoryService, or, for the hot user create, by one statement that
 * inserts the user, its SCIM resource and `user.created` together). Nothing here calls another
 * system: provisioning and webhooks react to the events later.
 *
 * All per-request state is in the `ScimRequest` passed along; the service holds none, so
 * concurrent requests of different directories cannot see each other's.
 */
import type { Database, Tx } from '../../platform/db/client.ts';
import { sqlState, UNIQUE_VIOLATION, violatedConstraint } from '../../platform/db/client.ts';
import { AppError } from '../../platform/errors.ts';
import { newId } from '../../platform/ids.ts';
import {
  type DirectoryPrincipal,
  type DirectoryService,
  EMAIL_PATTERN,
  toUserView,
  type UpdateUserInput,
  type UserView,
} from '../directory/index.ts';
import type { Actor } from '../events/contracts.ts';
import type { OrganizationService } from '../orgs/index.ts';
import { invalidValue, preconditionFailed, resourceNotFound, ScimError, uniqueness } from './errors.ts';
import { compileFilter, compileSortBy, parseFilter, SqlParams } from './filter-sql.ts';
import { applyPatch, type MemberChange, readPatchRequest } from './patch.ts';
import {
  analyzeScimTables,
  bumpScimGroupVersion,
  deleteScimUser,
  directoryGroupIdsOfUser,
  directoryUserIds,
  findGroupByNameForAdoption,
  findScimGroup,
  findScimUser,
  findUserByEmailForAdoption,
  insertScimGroup,
  insertScimUser,
  insertUserWithResource,
  listGroupMembers,
  listMemberIds,
  listScimGroups,
  listScimUsers,
  listUserGroups,
  type ScimGroupRow,
  type ScimUserColumns,
  type ScimUserRow,
  scimManagedUserIds,
  updateScimGroup,
  updateScimUser,
} from './repository.ts';
import {
  checkRequired,
  etagOf,
  isReturned,
  type Projection,
  parseAttributeList,
  project,
  type ResourceDocument,
  readResourceBody,
} from './resource.ts';
import {
  customSchemaDef,
  ENTERPRISE_USER_SCHEMA,
  GROUP_MODEL,
  type ResourceModel,
  SCHEMA,
  userModel,
} from './schemas.ts';

/** One SCIM request: who is calling (which directory) and where it lives. */
export interface ScimRequest {
  principal: DirectoryPrincipal;
  actor: Actor;
  /** `{PUBLIC_URL}/scim/v2/{directoryId}` */
  baseUrl: string;
  userModel: ResourceModel;
}

export interface ListParams {
  filter?: string;
  startIndex?: number;
  count?: number;
  sortBy?: string;
  sortOrder?: string;
  attributes?: string;
  excludedAttributes?: string;
}

export interface ListResponse {
  schemas: string[];
  totalResults: number;
  startIndex: number;
  itemsPerPage: number;
  Resources: ResourceDocument[];
}

/** A resource and its ETag. */
export interface ResourceResult {
  resource: ResourceDocument;
  version: number;
}

/** Embedded database: SCIM user creates between two ANALYZE runs. */
const ANALYZE_EVERY_WRITES = 2000;

/** Largest page returned (ServiceProviderConfig `filter.maxResults`). */
export const MAX_RESULTS = 1000;
const DEFAULT_COUNT = 100;

/** Profile keys SCIM owns (set from the resource; removed when the resource no longer has them). */
const ENTERPRISE_PROFILE_KEYS = [
  'employeeNumber',
  'costCenter',
  'organization',
  'division',
  'department',
] as const;
const CORE_PROFILE_KEYS = [
  'title',
  'userType',
  'preferredLanguage',
  'locale',
  'timezone',
  'nickName',
] as const;

export class ScimService {
  readonly #database: Database;
  readonly #directory: DirectoryService;
  readonly #orgs: OrganizationService;
  readonly #models = new Map<string, { key: string; model: ResourceModel }>();
  #writesSinceAnalyze = 0;

  constructor(database: Database, directory: DirectoryService, orgs: OrganizationService) {
    this.#database = database;
    this.#directory = directory;
    this.#orgs = orgs;
  }

  /**
   * Which of these users a SCIM directory manages: their directory decides their status, so other
   * sources (a full-roster import) leave it alone.
   */
  async managedUserIds(organizationId: string, userIds: readonly string[], tx?: Tx): Promise<Set<string>> {
    return scimManagedUserIds(this.#database, organizationId, userIds, tx);
  }

  /** The User resource model of a directory: core, enterprise and its custom extension. */
  userModelOf(principal: DirectoryPrincipal): ResourceModel {
    const custom = principal.settings.customSchema;
    const key = JSON.stringify(custom ?? null);
    const cached = this.#models.get(principal.directoryId);
    if (cached && cached.key === key) return cached.model;
    const model = userModel(customSchemaDef(custom));
    if (this.#models.size > 10_000) this.#models.clear();
    this.#models.set(principal.directoryId, { key, model });
    return model;
  }

  // Users

  async createUser(request: ScimRequest, body: unknown): Promise<ResourceResult> {
    const model = request.userModel;
    const { resource, references } = readResourceBody(model, body);
    // Absent `active` on create means active: neither Entra nor Okta create disabled users.
    if (resource.active === undefined) resource.active = true;
    checkRequired(model, resource);
    const columns = userColumns(resource);
    const fields = userFields(request, resource, model);
    const key = keyOf(request);
    const at = new Date();
    const userId = newId('user');
    const status = columns.active ? 'active' : 'deprovisioned';
    const view = toUserView({
      organizationId: key.organizationId,
      id: userId,
      email: fields.email,
      givenName: fields.givenName,
      familyName: fields.familyName,
      displayName: fields.displayName,
      status,
      externalIds: fields.externalIds,
      profile: withoutNulls(fields.profile),
      source: 'scim',
      version: 1,
      lastLoginAt: null,
      statusChangedAt: status === 'active' ? null : at,
      createdAt: at,
      updatedAt: at,
    });
    const newRow = {
      ...key,
      userId,
      email: fields.email,
      givenName: fields.givenName,
      familyName: fields.familyName,
      displayName: fields.displayName,
      status,
      externalIds: fields.externalIds,
      profile: withoutNulls(fields.profile),
      at,
      columns,
      // The same event the DirectoryService writes for a created user.
      event: { actor: request.actor, data: { user: view, source: 'scim' } },
    };
    const created: ScimUserRow = {
      organization_id: key.organizationId,
      directory_id: key.directoryId,
      user_id: userId,
      user_name: columns.userName,
      external_id: columns.externalId,
      display_name: columns.displayName,
      active: columns.active,
      email_values: columns.emailValues,
      resource: columns.resource,
      version: 1,
      created_at: at,
      updated_at: at,
    };
    const hasGroups = Boolean(references?.length);
    try {
      if (!hasGroups) {
        // Hot path: user, SCIM resource and event in one statement, one round trip.
        await insertUserWithResource(this.#database, newRow);
        this.#noteWrite();
        return { resource: this.#renderUser(request, created, []), version: 1 };
      }
      return await this.#database.transaction(async (tx) => {
        await insertUserWithResource(this.#database, newRow, tx);
        await this.#addUserToGroups(request, tx, userId, references ?? []);
        const groups = await listUserGroups(this.#database, key, [userId], tx);
        return { resource: this.#renderUser(request, created, groups.get(userId) ?? []), version: 1 };
      });
    } catch (error) {
      if (sqlState(error) !== UNIQUE_VIOLATION) throw error;
      const constraint = violatedConstraint(error);
      if (constraint === 'users_org_email_key' && fields.email) {
        return this.#adoptUser(request, columns, fields, fields.email, references ?? []);
      }
      throw uniquenessOf(constraint, columns.userName);
    }
  }

  /**
   * The organization already has a user with this email (from SSO, the admin API or an import)
   * that no directory manages: link it instead of refusing, so turning SCIM on after SSO works.
   */
  async #adoptUser(
    request: ScimRequest,
    columns: ScimUserColumns,
    fields: UserFields,
    email: string,
    references: Array<{ value: string }>,
  ): Promise<ResourceResult> {
    const key = keyOf(request);
    return this.#database.transaction(async (tx) => {
      const existing = await findUserByEmailForAdoption(this.#database, tx, key.organizationId, email);
      if (!existing) throw new ScimError(409, `The user with email ${email} changed meanwhile; retry.`);
      if (existing.directory_id) {
        throw uniqueness(
          existing.directory_id === key.directoryId
            ? `Another User of this directory has the email ${email}.`
            : `The email ${email} belongs to a user managed by another directory of this organization.`,
        );
      }
      const ctx = this.#writeContext(request, tx);
      const { email: _email, ...changes } = fields;
      const view = await this.#directory.updateUser(existing.id, { ...changes, email }, ctx);
      await this.#syncStatus(existing.id, view.status, columns.active, ctx);
      try {
        await insertScimUser(this.#database, tx, { ...key, userId: existing.id }, columns);
      } catch (error) {
        if (sqlState(error) === UNIQUE_VIOLATION)
          throw uniquenessOf(violatedConstraint(error), columns.userName);
        throw error;
      }
      await this.#addUserToGroups(request, tx, existing.id, references);
      const row = (await findScimUser(this.#database, key, existing.id, tx)) as ScimUserRow;
      const groups = await listUserGroups(this.#database, key, [existing.id], tx);
      return {
        resource: this.#renderUser(request, row, groups.get(existing.id) ?? []),
        version: row.version,
      };
    });
  }

  async getUser(request: ScimRequest, id: string, projection: Projection): Promise<ResourceResult> {
    const key = keyOf(request);
    const row = await findScimUser(this.#database, key, id);
    if (!row) throw resourceNotFound('User', id);
    const groups = isReturned(projection, 'groups') ? (row.groups ?? []) : [];
    return {
      resource: project(this.#renderUser(request, row, groups), projection),
      version: row.version,
    };
  }

  async listUsers(request: ScimRequest, params: ListParams): Promise<ListResponse> {
    const model = request.userModel;
    const key = keyOf(request);
    const page = pageOf(params);
    const projection = projectionOf(model, params);
    const query = buildQuery(model, params);
    const { rows, total } = await listScimUsers(this.#database, {
      ...key,
      ...query,
      offset: page.startIndex - 1,
      limit: page.count,
      withGroups: isReturned(projection, 'groups'),
    });
    return listResponse(
      rows.map((row) => project(this.#renderUser(request, row, row.groups ?? []), projection)),
      total,
      page.startIndex,
    );
  }

  async replaceUser(
    request: ScimRequest,
    id: string,
    body: unknown,
    ifMatch: string | undefined,
  ): Promise<ResourceResult> {
    const model = request.userModel;
    const read = readResourceBody(model, body);
    if (read.id !== undefined && read.id !== id)
      throw invalidValue(`The body's id ${read.id} is not ${id}; id is read-only.`);
    // PUT replaces the whole resource: without `active: true` the user is not active (Okta's
    // custom apps deactivate this way).
    read.resource.active = read.resource.active === true;
    return this.#saveUser(request, id, ifMatch, () => read.resource);
  }

  async patchUser(
    request: ScimRequest,
    id: string,
    body: unknown,
    ifMatch: string | undefined,
  ): Promise<ResourceResult> {
    const operations = readPatchRequest(body);
    return this.#saveUser(request, id, ifMatch, (current) => {
      const result = applyPatch({ model: request.userModel, id }, current.resource, operations);
      return result.resource;
    });
  }

  async #saveUser(
    request: ScimRequest,
    id: string,
    ifMatch: string | undefined,
    produce: (current: ScimUserRow) => ResourceDocument,
  ): Promise<ResourceResult> {
    const model = request.userModel;
    const key = keyOf(request);
    return this.#database.transaction(async (tx) => {
      const current = await findScimUser(this.#database, key, id, tx);
      if (!current) throw resourceNotFound('User', id);
      checkIfMatch(ifMatch, current.version);
      const next = produce(current);
      if (typeof next.active !== 'boolean') next.active = current.active;
      checkRequired(model, next);
      let row = current;
      if (!sameDocument(next, current.resource)) {
        const columns = userColumns(next);
        const fields = userFields(request, next, model);
        const ctx = this.#writeContext(request, tx);
        const view = await this.#directory.updateUser(id, toUpdateInput(request, fields), ctx);
        if (columns.active !== current.active) await this.#syncStatus(id, view.status, columns.active, ctx);
        try {
          row = await updateScimUser(this.#database, tx, { ...key, userId: id }, columns);
        } catch (error) {
          if (sqlState(error) === UNIQUE_VIOLATION)
            throw uniquenessOf(violatedConstraint(error), columns.userName);
          throw error;
        }
      }
      // The update returns the groups with the row; only an unchanged resource needs a read.
      const groups = row.groups ?? (await listUserGroups(this.#database, key, [id], tx)).get(id) ?? [];
      return { resource: this.#renderUser(request, row, groups), version: row.version };
    });
  }

  /** DELETE: the organization's `scimDelete` policy says whether the user is deprovisioned or removed. */
  async deleteUser(request: ScimRequest, id: string, ifMatch: string | undefined): Promise<void> {
    const key = keyOf(request);
    const org = await this.#orgs.require(key.organizationId);
    await this.#database.transaction(async (tx) => {
      const current = await findScimUser(this.#database, key, id, tx);
      if (!current) throw resourceNotFound('User', id);
      checkIfMatch(ifMatch, current.version);
      const ctx = this.#writeContext(request, tx);
      if (org.policies.scimDelete === 'remove') {
        await this.#directory.deleteUser(id, ctx);
        return;
      }
      // Deprovision: the user stays (deprovisioned, refused by SSO); the directory's resource and
      // its group memberships go, as RFC 7644 section 3.6 requires of a deleted resource.
      for (const groupId of await directoryGroupIdsOfUser(this.#database, tx, key, id)) {
        await this.#directory.removeMembers(groupId, [id], ctx);
        await bumpScimGroupVersion(this.#database, tx, { ...key, groupId });
      }
      await deleteScimUser(this.#database, tx, { ...key, userId: id });
      await this.#directory.setUserStatus(id, 'deprovisioned', ctx);
    });
  }

  /**
   * The embedded database has no autovacuum, so its planner never learns how large the SCIM tables
   * have grown and may pick the wrong index for a lookup. Refresh the statistics now and then.
   */
  #noteWrite(): void {
    if (this.#database.kind !== 'embedded' || ++this.#writesSinceAnalyze < ANALYZE_EVERY_WRITES) return;
    this.#writesSinceAnalyze = 0;
    analyzeScimTables(this.#database).catch(() => {});
  }

  /** Moves the Switchboard user's status after SCIM `active` changed. An admin's suspension stays. */
  async #syncStatus(
    userId: string,
    status: UserView['status'],
    active: boolean,
    ctx: WriteContext,
  ): Promise<void> {
    if (!active && status !== 'deprovisioned')
      await this.#directory.setUserStatus(userId, 'deprovisioned', ctx);
    if (active && status === 'deprovisioned') await this.#directory.setUserStatus(userId, 'active', ctx);
  }

  async #addUserToGroups(request: ScimRequest, tx: Tx, userId: string, references: Array<{ value: string }>) {
    if (references.length === 0) return;
    const key = keyOf(request);
    for (const groupId of new Set(references.map((reference) => reference.value))) {
      const group = await findScimGroup(this.#database, key, groupId, tx);
      if (!group) throw invalidValue(`groups: no Group ${groupId} in this directory.`);
      await this.#applyMemberChanges(request, tx, groupId, [{ kind: 'add', ids: [userId] }]);
    }
  }

  #renderUser(
    request: ScimRequest,
    row: ScimUserRow,
    groups: Array<{ value: string; display: string }>,
  ): ResourceDocument {
    const { schemas: _schemas, active: _active, ...attributes } = row.resource;
    const schemas = [
      SCHEMA.user,
      ...request.userModel.extensions.map((schema) => schema.id).filter((id) => id in attributes),
    ];
    const enterprise = attributes[ENTERPRISE_USER_SCHEMA.id] as Record<string, unknown> | undefined;
    const manager = enterprise?.manager as Record<string, unknown> | undefined;
    if (enterprise && manager && typeof manager.value === 'string' && manager.$ref === undefined) {
      attributes[ENTERPRISE_USER_SCHEMA.id] = {
        ...enterprise,
        manager: { ...manager, $ref: `${request.baseUrl}/Users/${manager.value}` },
      };
    }
    return {
      schemas,
      id: row.user_id,
      ...attributes,
      active: row.active,
      ...(groups.length
        ? {
            groups: groups.map((group) => ({
              value: group.value,
              $ref: `${request.baseUrl}/Groups/${group.value}`,
              display: group.display,
              type: 'direct',
            })),
          }
        : {}),
      meta: {
        resourceType: 'User',
        created: toIso(row.created_at),
        lastModified: toIso(row.updated_at),
        location: `${request.baseUrl}/Users/${row.user_id}`,
        version: etagOf(row.version),
      },
    };
  }

  // Groups

  async createGroup(request: ScimRequest, body: unknown): Promise<ResourceResult> {
    const { resource, references } = readResourceBody(GROUP_MODEL, body);
    checkRequired(GROUP_MODEL, resource);
    const key = keyOf(request);
    const displayName = resource.displayName as string;
    const externalId = typeof resource.externalId === 'string' ? resource.externalId : null;
    return this.#database.transaction(async (tx) => {
      const ctx = this.#writeContext(request, tx);
      const existing = await findGroupByNameForAdoption(this.#database, tx, key.organizationId, displayName);
      let groupId: string;
      if (existing) {
        // An admin-made group of the same name that no directory manages: adopt it.
        if (existing.directory_id) throw uniqueness(`A Group named "${displayName}" already exists.`);
        groupId = existing.id;
      } else {
        const group = await this.#directory.createGroup(
          key.organizationId,
          { name: displayName, externalIds: externalId ? { [`scim:${key.directoryId}`]: externalId } : {} },
          ctx,
        );
        groupId = group.id;
      }
      try {
        await insertScimGroup(this.#database, tx, { ...key, groupId }, { displayName, externalId, resource });
      } catch (error) {
        if (sqlState(error) === UNIQUE_VIOLATION)
          throw uniqueness(`A Group named "${displayName}" already exists.`);
        throw error;
      }
      if (references?.length || existing) {
        await this.#applyMemberChanges(
          request,
          tx,
          groupId,
          [{ kind: 'replace', ids: (references ?? []).map((item) => item.value) }],
          false,
        );
      }
      const row = (await findScimGroup(this.#database, key, groupId, tx)) as ScimGroupRow;
      const members =
        (await listGroupMembers(this.#database, key.organizationId, [groupId], tx)).get(groupId) ?? [];
      return { resource: this.#renderGroup(request, row, members), version: row.version };
    });
  }

  async getGroup(request: ScimRequest, id: string, projection: Projection): Promise<ResourceResult> {
    const key = keyOf(request);
    const row = await findScimGroup(this.#database, key, id);
    if (!row) throw resourceNotFound('Group', id);
    const members = isReturned(projection, 'members')
      ? ((await listGroupMembers(this.#database, key.organizationId, [id])).get(id) ?? [])
      : undefined;
    return {
      resource: project(this.#renderGroup(request, row, members), projection),
      version: row.version,
    };
  }

  async listGroups(request: ScimRequest, params: ListParams): Promise<ListResponse> {
    const key = keyOf(request);
    const page = pageOf(params);
    const projection = projectionOf(GROUP_MODEL, params);
    const query = buildQuery(GROUP_MODEL, params);
    const { rows, total } = await listScimGroups(this.#database, {
      ...key,
      ...query,
      offset: page.startIndex - 1,
      limit: page.count,
    });
    const members =
      rows.length && isReturned(projection, 'members')
        ? await listGroupMembers(
            this.#database,
            key.organizationId,
            rows.map((row) => row.group_id),
          )
        : undefined;
    return listResponse(
      rows.map((row) =>
        project(
          this.#renderGroup(request, row, members ? (members.get(row.group_id) ?? []) : undefined),
          projection,
        ),
      ),
      total,
      page.startIndex,
    );
  }

  async replaceGroup(
    request: ScimRequest,
    id: string,
    body: unknown,
    ifMatch: string | undefined,
  ): Promise<ResourceResult> {
    const read = readResourceBody(GROUP_MODEL, body);
    if (read.id !== undefined && read.id !== id)
      throw invalidValue(`The body's id ${read.id} is not ${id}; id is read-only.`);
    // `members` absent leaves memberships alone (a rename by PUT must not empty the group);
    // `members: []` empties it.
    const changes: MemberChange[] = read.references
      ? [{ kind: 'replace', ids: read.references.map((item) => item.value) }]
      : [];
    return this.#saveGroup(
      request,
      id,
      ifMatch,
      () => ({ resource: read.resource, memberChanges: changes }),
      true,
    );
  }

  async patchGroup(
    request: ScimRequest,
    id: string,
    body: unknown,
    ifMatch: string | undefined,
  ): Promise<ResourceResult> {
    const operations = readPatchRequest(body);
    return this.#saveGroup(
      request,
      id,
      ifMatch,
      (current) => applyPatch({ model: GROUP_MODEL, id }, current.resource, operations),
      false,
    );
  }

  async #saveGroup(
    request: ScimRequest,
    id: string,
    ifMatch: string | undefined,
    produce: (current: ScimGroupRow) => { resource: ResourceDocument; memberChanges: MemberChange[] },
    withMembers: boolean,
  ): Promise<ResourceResult> {
    const key = keyOf(request);
    return this.#database.transaction(async (tx) => {
      const current = await findScimGroup(this.#database, key, id, tx);
      if (!current) throw resourceNotFound('Group', id);
      checkIfMatch(ifMatch, current.version);
      const { resource, memberChanges } = produce(current);
      checkRequired(GROUP_MODEL, resource);
      let row = current;
      let bumped = false;
      if (!sameDocument(resource, current.resource)) {
        const displayName = resource.displayName as string;
        const ctx = this.#writeContext(request, tx);
        try {
          if (displayName !== current.display_name)
            await this.#directory.updateGroup(id, { name: displayName }, ctx);
          row = await updateScimGroup(
            this.#database,
            tx,
            { ...key, groupId: id },
            {
              displayName,
              externalId: typeof resource.externalId === 'string' ? resource.externalId : null,
              resource,
            },
          );
        } catch (error) {
          if (sqlState(error) === UNIQUE_VIOLATION)
            throw uniqueness(`A Group named "${displayName}" already exists.`);
          throw error;
        }
        bumped = true;
      }
      if (memberChanges.length) {
        const changed = await this.#applyMemberChanges(request, tx, id, memberChanges, !bumped);
        if (changed && !bumped) row = { ...row, version: row.version + 1 };
      }
      const members = withMembers
        ? ((await listGroupMembers(this.#database, key.organizationId, [id], tx)).get(id) ?? [])
        : undefined;
      return { resource: this.#renderGroup(request, row, members), version: row.version };
    });
  }

  async deleteGroup(request: ScimRequest, id: string, ifMatch: string | undefined): Promise<void> {
    const key = keyOf(request);
    await this.#database.transaction(async (tx) => {
      const current = await findScimGroup(this.#database, key, id, tx);
      if (!current) throw resourceNotFound('Group', id);
      checkIfMatch(ifMatch, current.version);
      await this.#directory.deleteGroup(id, this.#writeContext(request, tx));
    });
  }

  /**
   * Applies membership changes in request order. Members must be Users of this directory; unknown
   * ids are refused (nothing applied) rather than silently dropped. Returns whether anything changed.
   */
  async #applyMemberChanges(
    request: ScimRequest,
    tx: Tx,
    groupId: string,
    changes: readonly MemberChange[],
    bumpVersion = true,
  ): Promise<boolean> {
    const key = keyOf(request);
    let fromEmpty = false;
    const added = new Set<string>();
    const removed = new Set<string>();
    for (const change of changes) {
      if (change.kind === 'replace' || change.kind === 'removeAll') {
        fromEmpty = true;
        added.clear();
        removed.clear();
      }
      if (change.kind === 'add' || change.kind === 'replace') {
        for (const id of change.ids) {
          removed.delete(id);
          added.add(id);
        }
      }
      if (change.kind === 'remove') {
        for (const id of change.ids) {
          added.delete(id);
          removed.add(id);
        }
      }
    }
    let toAdd = [...added];
    let toRemove = [...removed];
    if (fromEmpty) {
      const current = new Set(await listMemberIds(this.#database, tx, key.organizationId, groupId));
      toRemove = [...current].filter((id) => !added.has(id));
      toAdd = toAdd.filter((id) => !current.has(id));
    }
    if (toAdd.length) {
      const known = await directoryUserIds(this.#database, key, toAdd, tx);
      const unknown = toAdd.filter((id) => !known.has(id));
      if (unknown.length) {
        throw invalidValue(
          `members: no User ${unknown.slice(0, 10).join(', ')}${unknown.length > 10 ? ', ...' : ''} in this directory.`,
        );
      }
    }
    const ctx = this.#writeContext(request, tx);
    let changed = false;
    if (toRemove.length)
      changed = (await this.#directory.removeMembers(groupId, toRemove, ctx)).removed.length > 0;
    if (toAdd.length)
      changed = (await this.#directory.addMembers(groupId, toAdd, ctx)).added.length > 0 || changed;
    if (changed && bumpVersion) await bumpScimGroupVersion(this.#database, tx, { ...key, groupId });
    return changed;
  }

  #renderGroup(
    request: ScimRequest,
    row: ScimGroupRow,
    members: Array<{ value: string; display: string | null }> | undefined,
  ): ResourceDocument {
    const { schemas: _schemas, ...attributes } = row.resource;
    return {
      schemas: [SCHEMA.group],
      id: row.group_id,
      ...attributes,
      ...(members
        ? {
            members: members.map((member) => ({
              value: member.value,
              $ref: `${request.baseUrl}/Users/${member.value}`,
              ...(member.display ? { display: member.display } : {}),
              type: 'User',
            })),
          }
        : {}),
      meta: {
        resourceType: 'Group',
        created: toIso(row.created_at),
        lastModified: toIso(row.updated_at),
        location: `${request.baseUrl}/Groups/${row.group_id}`,
        version: etagOf(row.version),
      },
    };
  }

  #writeContext(request: ScimRequest, tx: Tx): WriteContext {
    return { actor: request.actor, tx, source: 'scim' };
  }
}

interface WriteContext {
  actor: Actor;
  tx: Tx;
  source: string;
}

/** Equal as JSON documents, whatever the key order (jsonb does not keep it). */
function sameDocument(a: unknown, b: unknown): boolean {
  return stableJson(a) === stableJson(b);
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${stableJson((value as Record<string, unknown>)[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

function withoutNulls(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(record).filter(([, value]) => value !== null && value !== undefined),
  );
}

function keyOf(request: ScimRequest): { organizationId: string; directoryId: string } {
  return { organizationId: request.principal.organizationId, directoryId: request.principal.directoryId };
}

function toIso(value: Date | string): string {
  return (value instanceof Date ? value : new Date(value)).toISOString();
}

/** RFC 7644 section 3.4.2.4: startIndex is 1-based (less than 1 means 1); count below 0 means 0. */
function pageOf(params: ListParams): { startIndex: number; count: number } {
  const startIndex =
    Number.isFinite(params.startIndex) && (params.startIndex as number) >= 1
      ? Math.floor(params.startIndex as number)
      : 1;
  const requested = Number.isFinite(params.count) ? Math.floor(params.count as number) : DEFAULT_COUNT;
  return { startIndex, count: Math.min(Math.max(requested, 0), MAX_RESULTS) };
}

function projectionOf(model: ResourceModel, params: ListParams): Projection {
  return {
    attributes: parseAttributeList(model, params.attributes),
    excluded: parseAttributeList(model, params.excludedAttributes),
  };
}

function buildQuery(model: ResourceModel, params: ListParams) {
  const sql = new SqlParams([]);
  // Placeholders $1 and $2 are the organization and directory.
  sql.values.push(undefined, undefined);
  const where =
    params.filter !== undefined && params.filter.trim() !== ''
      ? compileFilter(model, parseFilter(params.filter), sql)
      : undefined;
  const orderBy = params.sortBy ? compileSortBy(model, params.sortBy, sql) : undefined;
  const sortOrder = params.sortOrder?.toLowerCase();
  if (sortOrder !== undefined && sortOrder !== 'ascending' && sortOrder !== 'descending') {
    throw invalidValue('sortOrder must be "ascending" or "descending".');
  }
  return { where, params: sql.values.slice(2), orderBy, descending: sortOrder === 'descending' };
}

export function listResponse(resources: ResourceDocument[], total: number, startIndex: number): ListResponse {
  return {
    schemas: [SCHEMA.listResponse],
    totalResults: total,
    startIndex,
    itemsPerPage: resources.length,
    Resources: resources,
  };
}

/** `If-Match` (RFC 7644 section 3.14): `*`, or one of the listed ETags (weak comparison). */
function checkIfMatch(header: string | undefined, version: number): void {
  if (header === undefined || header.trim() === '') return;
  const current = String(version);
  const tags = header.split(',').map((tag) => tag.trim());
  if (tags.includes('*')) return;
  const matches = tags.some((tag) => tag.replace(/^W\//, '').replace(/^"|"$/g, '') === current);
  if (!matches)
    throw preconditionFailed(`The resource is at version ${etagOf(version)}; If-Match was ${header}.`);
}

function uniquenessOf(constraint: string | undefined, userName: string): ScimError {
  if (constraint === 'users_org_email_key')
    return uniqueness('Another user of this organization has the same email.');
  if (constraint === 'scim_users_user_key')
    return uniqueness('This user is already managed by this directory.');
  return uniqueness(`A User with userName "${userName}" already exists in this directory.`);
}

// Mapping to the Switchboard user

function userColumns(resource: ResourceDocument): ScimUserColumns {
  const emails = Array.isArray(resource.emails) ? (resource.emails as Array<Record<string, unknown>>) : [];
  return {
    userName: resource.userName as string,
    externalId: typeof resource.externalId === 'string' ? resource.externalId : null,
    displayName: typeof resource.displayName === 'string' ? resource.displayName : null,
    active: resource.active === true,
    emailValues: [
      ...new Set(
        emails
          .map((email) => email.value)
          .filter((value): value is string => typeof value === 'string')
          .map((value) => value.toLowerCase()),
      ),
    ],
    resource,
  };
}

interface UserFields {
  email: string | null;
  givenName: string | null;
  familyName: string | null;
  displayName: string | null;
  externalIds: Record<string, string>;
  profile: Record<string, unknown>;
}

/**
 * The Switchboard user a SCIM resource describes: email (primary, else work, else first email,
 * else a userName that is an email), names, `externalIds["scim:<directory>"]`, and the profile
 * (title, enterprise attributes, `managerId`, custom attributes).
 */
function userFields(request: ScimRequest, resource: ResourceDocument, model: ResourceModel): UserFields {
  const name = (resource.name ?? {}) as Record<string, unknown>;
  const givenName = typeof name.givenName === 'string' ? name.givenName : null;
  const familyName = typeof name.familyName === 'string' ? name.familyName : null;
  const displayName =
    (typeof resource.displayName === 'string' && resource.displayName) ||
    (typeof name.formatted === 'string' && name.formatted) ||
    [givenName, familyName].filter(Boolean).join(' ').trim() ||
    null;
  const profile: Record<string, unknown> = {};
  for (const key of CORE_PROFILE_KEYS) profile[key] = resource[key] ?? null;
  const enterprise = (resource[SCHEMA.enterpriseUser] ?? {}) as Record<string, unknown>;
  for (const key of ENTERPRISE_PROFILE_KEYS) profile[key] = enterprise[key] ?? null;
  const manager = enterprise.manager as Record<string, unknown> | undefined;
  profile.managerId = typeof manager?.value === 'string' ? manager.value : null;
  const phones = Array.isArray(resource.phoneNumbers)
    ? (resource.phoneNumbers as Array<Record<string, unknown>>)
    : [];
  const phone =
    phones.find((item) => item.primary === true) ?? phones.find((item) => item.type === 'work') ?? phones[0];
  profile.phoneNumber = typeof phone?.value === 'string' ? phone.value : null;
  const custom = model.extensions.find((schema) => schema.id !== SCHEMA.enterpriseUser);
  if (custom) {
    const values = (resource[custom.id] ?? {}) as Record<string, unknown>;
    for (const attribute of custom.attributes) profile[attribute.name] = values[attribute.name] ?? null;
  }
  const externalId = typeof resource.externalId === 'string' ? resource.externalId : null;
  return {
    email: emailOf(resource),
    givenName,
    familyName,
    displayName,
    externalIds: externalId ? { [`scim:${request.principal.directoryId}`]: externalId } : {},
    profile,
  };
}

/** Fields of an update: null profile keys remove them; the externalId key is removed when absent. */
function toUpdateInput(request: ScimRequest, fields: UserFields): UpdateUserInput {
  const externalIdKey = `scim:${request.principal.directoryId}`;
  return {
    ...(fields.email ? { email: fields.email } : {}),
    givenName: fields.givenName,
    familyName: fields.familyName,
    displayName: fields.displayName,
    externalIds: { [externalIdKey]: fields.externalIds[externalIdKey] ?? null },
    profile: fields.profile,
  };
}

function emailOf(resource: ResourceDocument): string | null {
  const emails = Array.isArray(resource.emails) ? (resource.emails as Array<Record<string, unknown>>) : [];
  const chosen =
    emails.find((item) => item.primary === true) ??
    emails.find((item) => typeof item.type === 'string' && item.type.toLowerCase() === 'work') ??
    emails[0];
  const candidates = [chosen?.value, resource.userName];
  for (const candidate of candidates) {
    if (typeof candidate === 'string' && EMAIL_PATTERN.test(candidate.trim())) return candidate.trim();
  }
  return null;
}

export { AppError };
