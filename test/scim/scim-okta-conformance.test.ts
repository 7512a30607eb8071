/**
 * Okta's SCIM 2.0 test plan (the "Okta SCIM 2.0 Spec Test" an OIN app must pass, and
 * ../shared/reference/apis.md section 8): lookups, create with realistic values, duplicate 409,
 * case-insensitive userName, import pages of count=100 with integer counts and a stable order,
 * PUT updates (without active: true a user is deactivated), the path-less deactivation of OIN apps,
 * and group push (POST with members, PATCH replace/add/remove, PUT, DELETE).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestHub, type TestHub } from '../support/hub.ts';
import {
  CORE_GROUP,
  CORE_USER,
  createScimDirectory,
  eventsOf,
  filterQuery,
  LIST_RESPONSE,
  PATCH_OP,
  type ScimDirectory,
} from './support.ts';

let t: TestHub;
let d: ScimDirectory;
beforeAll(async () => {
  t = await createTestHub();
  d = await createScimDirectory(t, { provider: 'okta' });
});
afterAll(async () => t?.close());

/** What Okta POSTs when an app is assigned (password, locale and an empty groups list included). */
function oktaUser(userName: string, given = 'Fred', family = 'Flintstone') {
  return {
    schemas: [CORE_USER],
    userName,
    name: { givenName: given, familyName: family },
    emails: [{ primary: true, value: userName, type: 'work' }],
    displayName: `${given} ${family}`,
    locale: 'en-US',
    externalId: `00u${randomUUID().replaceAll('-', '').slice(0, 17)}`,
    groups: [],
    password: '1mP@ssw0rd!',
    active: true,
  };
}

describe('Okta SCIM 2.0 test plan: users', () => {
  let fred: { id: string; userName: string };

  it('R1 — Test Users endpoint: a ListResponse with integer totalResults, startIndex and itemsPerPage', async () => {
    const res = await d.scim('GET', '/Users?count=1&startIndex=1');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      schemas: [LIST_RESPONSE],
      totalResults: 0,
      startIndex: 1,
      itemsPerPage: 0,
      Resources: [],
    });
  });

  it('R2 — Make sure a random user does not exist (0 results, not an error)', async () => {
    const res = await d.scim(
      'GET',
      `/Users?${filterQuery(`userName eq "${randomUUID()}@atko.com"`)}&startIndex=1&count=100`,
    );
    expect(res.status).toBe(200);
    expect(res.body.totalResults).toBe(0);
    expect(res.body.Resources).toEqual([]);
  });

  it('R3 — Create Okta user with realistic values: 201, values echoed, password never returned', async () => {
    const body = oktaUser('fred.flintstone@atko.com');
    const res = await d.scim('POST', '/Users', { body });
    expect(res.status).toBe(201);
    expect(res.text).not.toBe('');
    expect(res.body).toMatchObject({
      userName: body.userName,
      name: body.name,
      emails: body.emails,
      displayName: body.displayName,
      locale: 'en-US',
      externalId: body.externalId,
      active: true,
    });
    expect(res.text).not.toContain('1mP@ssw0rd!');
    expect(res.body).not.toHaveProperty('password');
    fred = { id: res.body.id, userName: body.userName };
    const user = await t.api('GET', `/api/v1/users/${fred.id}`);
    expect(user.body).toMatchObject({
      email: body.userName,
      displayName: 'Fred Flintstone',
      profile: { locale: 'en-US' },
    });
  });

  it('R4 — Verify that the user was created (GET /Users/{id})', async () => {
    const res = await d.scim('GET', `/Users/${fred.id}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: fred.id, userName: fred.userName });
    expect(res.headers.etag).toBe(res.body.meta.version);
  });

  it('R5 — Expect failure when recreating the user with the same values: 409 uniqueness', async () => {
    const res = await d.scim('POST', '/Users', { body: oktaUser(fred.userName) });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ status: '409', scimType: 'uniqueness' });
    const differentCase = await d.scim('POST', '/Users', { body: oktaUser(fred.userName.toUpperCase()) });
    expect(differentCase.status).toBe(409);
    const users = await t.api('GET', `/api/v1/organizations/${d.organizationId}/users`);
    expect(users.body.data).toHaveLength(1);
  });

  it('R6 — Username case sensitivity check: the lookup ignores case', async () => {
    const res = await d.scim('GET', `/Users?${filterQuery(`userName eq "${fred.userName.toUpperCase()}"`)}`);
    expect(res.body.totalResults).toBe(1);
    expect(res.body.Resources[0].id).toBe(fred.id);
  });

  it('R7 — Unknown id answers 404 with a SCIM error body', async () => {
    const res = await d.scim('GET', '/Users/010101001010101010');
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({
      schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'],
      status: '404',
    });
  });

  it('PUT update with the full object replaces it (attributes left out are cleared)', async () => {
    const current = (await d.scim('GET', `/Users/${fred.id}`)).body;
    const { meta: _meta, displayName: _displayName, ...rest } = current;
    const res = await d.scim('PUT', `/Users/${fred.id}`, {
      body: { ...rest, name: { givenName: 'Frederick', familyName: 'Flintstone' }, title: 'Quarry operator' },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      name: { givenName: 'Frederick', familyName: 'Flintstone' },
      title: 'Quarry operator',
      active: true,
    });
    expect(res.body).not.toHaveProperty('displayName');
    expect(res.body.meta.version).not.toBe(current.meta.version);
    const user = await t.api('GET', `/api/v1/users/${fred.id}`);
    expect(user.body).toMatchObject({
      givenName: 'Frederick',
      displayName: 'Frederick Flintstone',
      status: 'active',
    });
  });

  it('PUT with an unchanged body changes nothing (no version bump, no event)', async () => {
    const current = (await d.scim('GET', `/Users/${fred.id}`)).body;
    const before = (await eventsOf(t, d.organizationId)).length;
    const res = await d.scim('PUT', `/Users/${fred.id}`, { body: current });
    expect(res.status).toBe(200);
    expect(res.body.meta.version).toBe(current.meta.version);
    expect((await eventsOf(t, d.organizationId)).length).toBe(before);
  });

  it('PUT without active: true deactivates (custom AIW apps), and PUT with it reactivates', async () => {
    const current = (await d.scim('GET', `/Users/${fred.id}`)).body;
    const { active: _active, ...withoutActive } = current;
    const off = await d.scim('PUT', `/Users/${fred.id}`, { body: withoutActive });
    expect(off.body.active).toBe(false);
    expect((await t.api('GET', `/api/v1/users/${fred.id}`)).body.status).toBe('deprovisioned');
    const on = await d.scim('PUT', `/Users/${fred.id}`, { body: { ...withoutActive, active: true } });
    expect(on.body.active).toBe(true);
    expect((await t.api('GET', `/api/v1/users/${fred.id}`)).body.status).toBe('active');
    const types = (await eventsOf(t, d.organizationId, 'user.deactivated,user.reactivated')).map(
      (event) => event.type,
    );
    expect(types).toEqual(['user.deactivated', 'user.reactivated']);
  });

  it('Deactivate (OIN apps): path-less lowercase replace with a real boolean', async () => {
    const res = await d.scim('PATCH', `/Users/${fred.id}`, {
      body: { schemas: [PATCH_OP], Operations: [{ op: 'replace', value: { active: false } }] },
    });
    expect(res.status).toBe(200);
    expect(res.body.active).toBe(false);
    expect((await t.api('GET', `/api/v1/users/${fred.id}`)).body.status).toBe('deprovisioned');
    // Okta never deletes users: the deactivated one is still there for the next import.
    expect((await d.scim('GET', `/Users/${fred.id}`)).body.active).toBe(false);
  });

  it('Import: pages of count=100 with integer counts, a stable order, no overlap and no gap', async () => {
    for (let i = 0; i < 149; i++) {
      const res = await d.scim('POST', '/Users', {
        body: oktaUser(`import.${String(i).padStart(3, '0')}@atko.com`),
      });
      expect(res.status).toBe(201);
    }
    const first = await d.scim('GET', '/Users?startIndex=1&count=100');
    const second = await d.scim('GET', '/Users?startIndex=101&count=100');
    for (const page of [first.body, second.body]) {
      for (const key of ['totalResults', 'startIndex', 'itemsPerPage'] as const)
        expect(Number.isInteger(page[key])).toBe(true);
    }
    expect(first.body).toMatchObject({ totalResults: 150, startIndex: 1, itemsPerPage: 100 });
    expect(second.body).toMatchObject({ totalResults: 150, startIndex: 101, itemsPerPage: 50 });
    const ids = [...first.body.Resources, ...second.body.Resources].map((user: { id: string }) => user.id);
    expect(new Set(ids).size).toBe(150);
    const again = await d.scim('GET', '/Users?startIndex=1&count=100');
    expect(again.body.Resources.map((user: { id: string }) => user.id)).toEqual(
      first.body.Resources.map((user: { id: string }) => user.id),
    );
    const sorted = await d.scim(
      'GET',
      '/Users?sortBy=userName&sortOrder=descending&count=3&attributes=userName',
    );
    expect(sorted.body.Resources.map((user: { userName: string }) => user.userName)).toEqual([
      'import.148@atko.com',
      'import.147@atko.com',
      'import.146@atko.com',
    ]);
    expect(Object.keys(sorted.body.Resources[0]).sort()).toEqual(['id', 'schemas', 'userName']);
    const beyond = await d.scim('GET', '/Users?startIndex=1000&count=100');
    expect(beyond.body).toMatchObject({
      totalResults: 150,
      startIndex: 1000,
      itemsPerPage: 0,
      Resources: [],
    });
    const countOnly = await d.scim('GET', '/Users?count=0');
    expect(countOnly.body).toMatchObject({ totalResults: 150, itemsPerPage: 0 });
  });
});

describe('Okta SCIM 2.0 test plan: group push', () => {
  let members: string[];
  let groupId: string;

  beforeAll(async () => {
    members = [];
    for (const name of ['wilma', 'barney', 'betty']) {
      const res = await d.scim('POST', '/Users', {
        body: oktaUser(`${name}@bedrock.example.com`, name, 'Rubble'),
      });
      members.push(res.body.id);
    }
  });

  it('POST /Groups with members applies the memberships', async () => {
    const res = await d.scim('POST', '/Groups', {
      body: {
        schemas: [CORE_GROUP],
        displayName: 'Quarry Crew',
        members: [{ value: members[0], display: 'wilma' }],
      },
    });
    expect(res.status).toBe(201);
    groupId = res.body.id;
    expect(res.body.members).toEqual([expect.objectContaining({ value: members[0], type: 'User' })]);
    const group = await t.api('GET', `/api/v1/groups/${groupId}`);
    expect(group.body).toMatchObject({ name: 'Quarry Crew', memberCount: 1, source: 'scim' });
  });

  it('a duplicate displayName answers 409 uniqueness', async () => {
    const res = await d.scim('POST', '/Groups', {
      body: { schemas: [CORE_GROUP], displayName: 'quarry crew' },
    });
    expect(res.status).toBe(409);
    expect(res.body.scimType).toBe('uniqueness');
  });

  it('PATCH replace {id, displayName}, add members, remove members[value eq]', async () => {
    const rename = await d.scim('PATCH', `/Groups/${groupId}`, {
      body: {
        schemas: [PATCH_OP],
        Operations: [{ op: 'replace', value: { id: groupId, displayName: 'Quarry Crew 2' } }],
      },
    });
    expect([200, 204]).toContain(rename.status);
    const add = await d.scim('PATCH', `/Groups/${groupId}`, {
      body: {
        schemas: [PATCH_OP],
        Operations: [
          {
            op: 'add',
            path: 'members',
            value: [
              { value: members[1], display: 'barney' },
              { value: members[2], display: 'betty' },
            ],
          },
        ],
      },
    });
    expect([200, 204]).toContain(add.status);
    const remove = await d.scim('PATCH', `/Groups/${groupId}`, {
      body: {
        schemas: [PATCH_OP],
        Operations: [{ op: 'remove', path: `members[value eq "${members[0]}"]` }],
      },
    });
    expect([200, 204]).toContain(remove.status);
    const group = await d.scim('GET', `/Groups/${groupId}`);
    expect(group.body.displayName).toBe('Quarry Crew 2');
    expect(group.body.members.map((member: { value: string }) => member.value).sort()).toEqual(
      [members[1], members[2]].sort(),
    );
  });

  it('PATCH replace of all members, then PUT with the full group', async () => {
    const replace = await d.scim('PATCH', `/Groups/${groupId}`, {
      body: {
        schemas: [PATCH_OP],
        Operations: [{ op: 'replace', path: 'members', value: [{ value: members[0] }] }],
      },
    });
    expect([200, 204]).toContain(replace.status);
    expect(
      (await d.scim('GET', `/Groups/${groupId}`)).body.members.map(
        (member: { value: string }) => member.value,
      ),
    ).toEqual([members[0]]);
    const put = await d.scim('PUT', `/Groups/${groupId}`, {
      body: {
        schemas: [CORE_GROUP],
        id: groupId,
        displayName: 'Quarry Crew 3',
        members: [{ value: members[1] }, { value: members[2] }],
      },
    });
    expect(put.status).toBe(200);
    expect(put.body.displayName).toBe('Quarry Crew 3');
    expect(put.body.members.map((member: { value: string }) => member.value).sort()).toEqual(
      [members[1], members[2]].sort(),
    );
  });

  it('a member that is not a User of this directory is refused, and nothing is applied', async () => {
    const before = (await d.scim('GET', `/Groups/${groupId}`)).body;
    const res = await d.scim('PATCH', `/Groups/${groupId}`, {
      body: {
        schemas: [PATCH_OP],
        Operations: [
          { op: 'replace', path: 'displayName', value: 'Should not stick' },
          {
            op: 'add',
            path: 'members',
            value: [{ value: members[0] }, { value: 'usr_not_a_member_of_this_dir' }],
          },
        ],
      },
    });
    expect(res.status).toBe(400);
    expect(res.body.scimType).toBe('invalidValue');
    const after = (await d.scim('GET', `/Groups/${groupId}`)).body;
    expect(after).toEqual(before);
  });

  it('DELETE /Groups (the group was unlinked in Okta): 204, memberships recorded as removed', async () => {
    const res = await d.scim('DELETE', `/Groups/${groupId}`);
    expect(res.status).toBe(204);
    const removed = (await eventsOf(t, d.organizationId, 'group.member_removed')).filter(
      (event) => event.subject.id === groupId,
    );
    expect(removed.length).toBeGreaterThanOrEqual(2);
    expect((await t.api('GET', `/api/v1/groups/${groupId}`)).status).toBe(404);
  });
});
