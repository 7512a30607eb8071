/**
 * Microsoft Entra ID provisioning, request by request as Entra sends them (the request examples of
 * Microsoft's "Develop and plan provisioning for a SCIM endpoint" and ../shared/reference/apis.md
 * section 8), in the default behaviour and with `aadOptscim062020`: capitalised `op`, the string
 * boolean "False", filtered email paths, manager as a bare id, path-less multi-attribute replaces,
 * Entra's two ways of removing a member, and the 204s Entra expects.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestHub, type TestHub } from '../support/hub.ts';
import {
  CORE_GROUP,
  CORE_USER,
  createScimDirectory,
  ENTERPRISE_USER,
  ERROR,
  eventsOf,
  filterQuery,
  LIST_RESPONSE,
  PATCH_OP,
  type ScimDirectory,
} from './support.ts';

const ADSCIM_GROUP = 'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group';

let t: TestHub;
beforeAll(async () => {
  t = await createTestHub();
});
afterAll(async () => t?.close());

/** The Create User body of Microsoft's documentation, with fresh names. */
function entraCreateUser(suffix: string) {
  return {
    schemas: [CORE_USER, ENTERPRISE_USER],
    externalId: `0a21f0f2-8d2a-4f8e-bf98-${suffix}`,
    userName: `Test_User_ab6490ee-${suffix}`,
    active: true,
    emails: [{ primary: true, type: 'work', value: `Test_User_fd0ea19b-${suffix}@testuser.com` }],
    meta: { resourceType: 'User' },
    name: { formatted: 'givenName familyName', familyName: 'familyName', givenName: 'givenName' },
    roles: [],
  };
}

const MODES = [
  {
    mode: 'default',
    op: (name: string) => name[0]?.toUpperCase() + name.slice(1),
    falseValue: 'False' as const,
  },
  { mode: 'aadOptscim062020', op: (name: string) => name, falseValue: false as const },
];

describe.each(MODES)('Entra provisioning ($mode)', ({ mode, op, falseValue }) => {
  let d: ScimDirectory;
  let userId: string;
  let managerId: string;
  let groupId: string;

  beforeAll(async () => {
    d = await createScimDirectory(t, { provider: 'entra' });
  });

  it('Test connection: a query for a user that does not exist answers an empty ListResponse', async () => {
    const res = await d.scim('GET', `/Users?${filterQuery('userName eq "non-existent user"')}`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toContain('application/scim+json');
    expect(res.body).toEqual({
      schemas: [LIST_RESPONSE],
      totalResults: 0,
      startIndex: 1,
      itemsPerPage: 0,
      Resources: [],
    });
  });

  it('Create User: 201 with the resource as sent, id, meta and an ETag', async () => {
    const body = entraCreateUser(`${mode}-1`);
    const res = await d.scim('POST', '/Users', { body });
    expect(res.status).toBe(201);
    userId = res.body.id;
    expect(userId).toMatch(/^usr_/);
    expect(res.body).toMatchObject({
      schemas: [CORE_USER],
      userName: body.userName,
      externalId: body.externalId,
      active: true,
      emails: body.emails,
      name: body.name,
      meta: {
        resourceType: 'User',
        location: `${t.config.PUBLIC_URL}${d.base}/Users/${userId}`,
        version: 'W/"1"',
      },
    });
    expect(res.body).not.toHaveProperty('roles'); // an empty list is "unassigned"
    expect(res.headers.etag).toBe('W/"1"');
    expect(res.headers.location).toBe(res.body.meta.location);

    const manager = await d.scim('POST', '/Users', { body: entraCreateUser(`${mode}-manager`) });
    expect(manager.status).toBe(201);
    managerId = manager.body.id;
  });

  it('the Switchboard user is created with the mapped fields and a user.created event', async () => {
    const user = await t.api('GET', `/api/v1/users/${userId}`);
    expect(user.body).toMatchObject({
      organizationId: d.organizationId,
      email: `Test_User_fd0ea19b-${mode}-1@testuser.com`,
      givenName: 'givenName',
      familyName: 'familyName',
      displayName: 'givenName familyName',
      status: 'active',
      source: 'scim',
      externalIds: { [`scim:${d.directoryId}`]: `0a21f0f2-8d2a-4f8e-bf98-${mode}-1` },
    });
    const created = (await eventsOf(t, d.organizationId, 'user.created')).filter(
      (event) => event.subject.id === userId,
    );
    expect(created).toHaveLength(1);
    expect(created[0].actor).toMatchObject({ type: 'scim', id: d.directoryId });
    expect(created[0].data.user).toEqual(user.body);
  });

  it('Get User and Get User by query (userName, case-insensitive; externalId; work email)', async () => {
    const byId = await d.scim('GET', `/Users/${userId}`);
    expect(byId.status).toBe(200);
    expect(byId.body.userName).toBe(`Test_User_ab6490ee-${mode}-1`);
    for (const filter of [
      `userName eq "Test_User_ab6490ee-${mode}-1"`,
      `userName eq "TEST_USER_AB6490EE-${mode.toUpperCase()}-1"`,
      `externalId eq "0a21f0f2-8d2a-4f8e-bf98-${mode}-1"`,
      `emails[type eq "work"].value eq "test_user_fd0ea19b-${mode}-1@TESTUSER.com"`,
      `userName eq "Test_User_ab6490ee-${mode}-1" and externalId eq "0a21f0f2-8d2a-4f8e-bf98-${mode}-1"`,
    ]) {
      const res = await d.scim('GET', `/Users?${filterQuery(filter)}`);
      expect(res.status, filter).toBe(200);
      expect(res.body.totalResults, filter).toBe(1);
      expect(res.body.Resources[0].id, filter).toBe(userId);
    }
    // Entra's validator encodes spaces as "+".
    const plusEncoded = await d.scim('GET', `/Users?filter=userName+eq+%22Test_User_ab6490ee-${mode}-1%22`);
    expect(plusEncoded.body.totalResults).toBe(1);
    const wrongCaseExternalId = await d.scim(
      'GET',
      `/Users?${filterQuery(`externalId eq "0A21F0F2-8D2A-4F8E-BF98-${mode}-1"`)}`,
    );
    expect(wrongCaseExternalId.body.totalResults).toBe(0); // externalId is caseExact
  });

  it('Update User [multi-valued properties]: filtered email path and name.familyName', async () => {
    const res = await d.scim('PATCH', `/Users/${userId}`, {
      body: {
        schemas: [PATCH_OP],
        Operations: [
          { op: op('replace'), path: 'emails[type eq "work"].value', value: 'updatedEmail@microsoft.com' },
          { op: op('replace'), path: 'name.familyName', value: 'updatedFamilyName' },
        ],
      },
    });
    expect(res.status).toBe(200);
    expect(res.body.emails).toEqual([{ primary: true, type: 'work', value: 'updatedEmail@microsoft.com' }]);
    expect(res.body.name.familyName).toBe('updatedFamilyName');
    expect(res.body.meta.version).toBe('W/"2"');
    const user = await t.api('GET', `/api/v1/users/${userId}`);
    expect(user.body).toMatchObject({ email: 'updatedEmail@microsoft.com', familyName: 'updatedFamilyName' });
    const updated = (await eventsOf(t, d.organizationId, 'user.updated')).filter(
      (event) => event.subject.id === userId,
    );
    expect(updated).toHaveLength(1);
    expect(updated[0].data.changes).toMatchObject({
      email: { from: `Test_User_fd0ea19b-${mode}-1@testuser.com`, to: 'updatedEmail@microsoft.com' },
      familyName: { from: 'familyName', to: 'updatedFamilyName' },
    });
  });

  it('Update User [single-valued properties]: userName', async () => {
    const res = await d.scim('PATCH', `/Users/${userId}`, {
      body: {
        schemas: [PATCH_OP],
        Operations: [{ op: op('replace'), path: 'userName', value: `5b50642d-${mode}@testuser.com` }],
      },
    });
    expect(res.status).toBe(200);
    expect(res.body.userName).toBe(`5b50642d-${mode}@testuser.com`);
  });

  it('enterprise attributes by URN path (default) or in a path-less value object (aadOptscim062020)', async () => {
    const operations =
      mode === 'default'
        ? [
            { op: 'Add', path: `${ENTERPRISE_USER}:employeeNumber`, value: '1042' },
            { op: 'Replace', path: `${ENTERPRISE_USER}:department`, value: 'Research' },
            { op: 'Replace', path: 'title', value: 'Engineer' },
          ]
        : [
            {
              op: 'replace',
              value: {
                [`${ENTERPRISE_USER}:employeeNumber`]: '1042',
                [`${ENTERPRISE_USER}:department`]: 'Research',
                title: 'Engineer',
                'name.givenName': 'Grace',
              },
            },
          ];
    const res = await d.scim('PATCH', `/Users/${userId}`, {
      body: { schemas: [PATCH_OP], Operations: operations },
    });
    expect(res.status).toBe(200);
    expect(res.body.schemas).toEqual([CORE_USER, ENTERPRISE_USER]);
    expect(res.body[ENTERPRISE_USER]).toMatchObject({ employeeNumber: '1042', department: 'Research' });
    const user = await t.api('GET', `/api/v1/users/${userId}`);
    expect(user.body.profile).toMatchObject({
      employeeNumber: '1042',
      department: 'Research',
      title: 'Engineer',
    });
    if (mode !== 'default') expect(user.body.givenName).toBe('Grace');
  });

  it('Update User [add manager] with a bare id, then [remove manager]', async () => {
    const add = await d.scim('PATCH', `/Users/${userId}`, {
      body: {
        schemas: [PATCH_OP],
        Operations: [{ op: op('add'), path: `${ENTERPRISE_USER}:manager`, value: managerId }],
      },
    });
    expect(add.status).toBe(200);
    expect(add.body[ENTERPRISE_USER].manager.value).toBe(managerId);
    expect((await t.api('GET', `/api/v1/users/${userId}`)).body.profile.managerId).toBe(managerId);
    const remove = await d.scim('PATCH', `/Users/${userId}`, {
      body: { schemas: [PATCH_OP], Operations: [{ op: op('remove'), path: `${ENTERPRISE_USER}:manager` }] },
    });
    expect(remove.status).toBe(200);
    expect(remove.body[ENTERPRISE_USER].manager).toBeUndefined();
    expect((await t.api('GET', `/api/v1/users/${userId}`)).body.profile.managerId).toBeUndefined();
  });

  it('Disable User: active false deactivates; the user stays visible to Entra', async () => {
    const operations =
      mode === 'default'
        ? [{ op: 'Replace', path: 'active', value: falseValue }]
        : [{ op: 'replace', value: { active: falseValue } }];
    const res = await d.scim('PATCH', `/Users/${userId}`, {
      body: { schemas: [PATCH_OP], Operations: operations },
    });
    expect(res.status).toBe(200);
    expect(res.body.active).toBe(false);
    expect((await t.api('GET', `/api/v1/users/${userId}`)).body.status).toBe('deprovisioned');
    const deactivated = (await eventsOf(t, d.organizationId, 'user.deactivated')).filter(
      (event) => event.subject.id === userId,
    );
    expect(deactivated).toHaveLength(1);
    const found = await d.scim('GET', `/Users?${filterQuery(`userName eq "5b50642d-${mode}@testuser.com"`)}`);
    expect(found.body.Resources[0]).toMatchObject({ id: userId, active: false });
    const inactive = await d.scim('GET', `/Users?${filterQuery('active eq false')}`);
    expect(inactive.body.Resources.map((user: { id: string }) => user.id)).toEqual([userId]);
  });

  it('Create Group with the ADSCIM schema, Get Group and Get Group by displayName without members', async () => {
    const res = await d.scim('POST', '/Groups', {
      body: {
        schemas: [CORE_GROUP, ADSCIM_GROUP],
        externalId: `8aa1a0c0-${mode}`,
        displayName: `displayName-${mode}`,
        meta: { resourceType: 'Group' },
      },
    });
    expect(res.status).toBe(201);
    groupId = res.body.id;
    expect(res.body).toMatchObject({
      schemas: [CORE_GROUP],
      displayName: `displayName-${mode}`,
      externalId: `8aa1a0c0-${mode}`,
    });
    const get = await d.scim('GET', `/Groups/${groupId}?excludedAttributes=members`);
    expect(get.status).toBe(200);
    expect(get.body).not.toHaveProperty('members');
    const byName = await d.scim(
      'GET',
      `/Groups?excludedAttributes=members&${filterQuery(`displayName eq "DISPLAYNAME-${mode}"`)}`,
    );
    expect(byName.body.totalResults).toBe(1);
    expect(byName.body.Resources[0]).toMatchObject({ id: groupId });
    expect(byName.body.Resources[0]).not.toHaveProperty('members');
  });

  it('Update Group [non-member attributes] answers 204', async () => {
    const res = await d.scim('PATCH', `/Groups/${groupId}`, {
      body: {
        schemas: [PATCH_OP],
        Operations: [{ op: op('replace'), path: 'displayName', value: `renamed-${mode}` }],
      },
    });
    expect(res.status).toBe(204);
    expect(res.text).toBe('');
    expect((await d.scim('GET', `/Groups/${groupId}`)).body.displayName).toBe(`renamed-${mode}`);
  });

  it('Update Group [add members] and [remove members], in both removal forms', async () => {
    const add = await d.scim('PATCH', `/Groups/${groupId}`, {
      body: {
        schemas: [PATCH_OP],
        Operations: [
          {
            op: op('add'),
            path: 'members',
            value: [
              { $ref: null, value: userId },
              { $ref: null, value: managerId },
            ],
          },
        ],
      },
    });
    expect(add.status).toBe(204);
    const withMembers = await d.scim('GET', `/Groups/${groupId}`);
    expect(withMembers.body.members.map((member: { value: string }) => member.value).sort()).toEqual(
      [userId, managerId].sort(),
    );
    expect((await d.scim('GET', `/Users/${userId}`)).body.groups).toEqual([
      expect.objectContaining({ value: groupId, display: `renamed-${mode}` }),
    ]);
    const removal =
      mode === 'default'
        ? { op: 'Remove', path: 'members', value: [{ value: managerId }] }
        : { op: 'remove', path: `members[value eq "${managerId}"]` };
    const remove = await d.scim('PATCH', `/Groups/${groupId}`, {
      body: { schemas: [PATCH_OP], Operations: [removal] },
    });
    expect(remove.status).toBe(204);
    const after = await d.scim('GET', `/Groups/${groupId}`);
    expect(after.body.members.map((member: { value: string }) => member.value)).toEqual([userId]);
    const events = (await eventsOf(t, d.organizationId, 'group.member_added,group.member_removed')).filter(
      (event) => event.subject.id === groupId,
    );
    expect(events.map((event) => [event.type, event.data.userId])).toEqual([
      ...[userId, managerId].sort().map((id) => ['group.member_added', id]),
      ['group.member_removed', managerId],
    ]);
    const byMember = await d.scim(
      'GET',
      `/Groups?${filterQuery(`members[value eq "${userId}"]`)}&excludedAttributes=members`,
    );
    expect(byMember.body.Resources.map((group: { id: string }) => group.id)).toEqual([groupId]);
  });

  it('Delete User answers 204, then 404 with a SCIM error body', async () => {
    const res = await d.scim('DELETE', `/Users/${managerId}`);
    expect(res.status).toBe(204);
    const gone = await d.scim('GET', `/Users/${managerId}`);
    expect(gone.status).toBe(404);
    expect(gone.body).toEqual({ schemas: [ERROR], status: '404', detail: expect.any(String) });
    // Default policy: deprovisioned, kept in Switchboard.
    expect((await t.api('GET', `/api/v1/users/${managerId}`)).body.status).toBe('deprovisioned');
  });

  it('Delete Group answers 204 and records group.deleted', async () => {
    const res = await d.scim('DELETE', `/Groups/${groupId}`);
    expect(res.status).toBe(204);
    expect((await d.scim('GET', `/Groups/${groupId}`)).status).toBe(404);
    const deleted = (await eventsOf(t, d.organizationId, 'group.deleted')).filter(
      (event) => event.subject.id === groupId,
    );
    expect(deleted).toHaveLength(1);
    expect((await d.scim('DELETE', `/Groups/${groupId}`)).status).toBe(404);
  });
});
