/**
 * What the conformance suites do not cover: discovery documents that tell the truth, the
 * organization-defined extension, linking users that already exist, the DELETE policies,
 * projections, sorting and POST /.search.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestHub, type TestHub } from '../support/hub.ts';
import {
  CORE_GROUP,
  CORE_USER,
  createScimDirectory,
  ENTERPRISE_USER,
  eventsOf,
  filterQuery,
  LIST_RESPONSE,
  PATCH_OP,
} from './support.ts';

const CUSTOM = 'urn:ietf:params:scim:schemas:extension:acme:2.0:User';

let t: TestHub;
beforeAll(async () => {
  t = await createTestHub();
});
afterAll(async () => t?.close());

describe('discovery', () => {
  it('ServiceProviderConfig, ResourceTypes and Schemas describe what the server does', async () => {
    const d = await createScimDirectory(t, {
      settings: {
        customSchema: {
          id: CUSTOM,
          attributes: [
            { name: 'costCode', type: 'string' },
            { name: 'fte', type: 'decimal' },
          ],
        },
      },
    });
    const config = await d.scim('GET', '/ServiceProviderConfig');
    expect(config.status).toBe(200);
    expect(config.body).toMatchObject({
      patch: { supported: true },
      bulk: { supported: false },
      filter: { supported: true, maxResults: 1000 },
      changePassword: { supported: false },
      sort: { supported: true },
      etag: { supported: true },
      authenticationSchemes: [expect.objectContaining({ type: 'oauthbearertoken' })],
    });
    const types = await d.scim('GET', '/ResourceTypes');
    expect(types.body.schemas).toEqual([LIST_RESPONSE]);
    const user = types.body.Resources.find((type: { id: string }) => type.id === 'User');
    expect(user.schemaExtensions.map((extension: { schema: string }) => extension.schema)).toEqual([
      ENTERPRISE_USER,
      CUSTOM,
    ]);
    expect((await d.scim('GET', '/ResourceTypes/Group')).body.endpoint).toBe('/Groups');
    const schemas = await d.scim('GET', '/Schemas');
    expect(schemas.body.Resources.map((schema: { id: string }) => schema.id)).toEqual([
      CORE_USER,
      ENTERPRISE_USER,
      CUSTOM,
      CORE_GROUP,
    ]);
    const core = (await d.scim('GET', `/Schemas/${CORE_USER}`)).body;
    const userName = core.attributes.find((attribute: { name: string }) => attribute.name === 'userName');
    expect(userName).toMatchObject({ required: true, caseExact: false, uniqueness: 'server' });
    expect(
      core.attributes.find((attribute: { name: string }) => attribute.name === 'password'),
    ).toMatchObject({ returned: 'never' });
    expect((await d.scim('GET', '/Schemas/urn:nope')).status).toBe(404);
  });
});

describe('the organization-defined extension', () => {
  it('stores custom attributes, filters on them, and copies them into the profile', async () => {
    const d = await createScimDirectory(t, {
      provider: 'entra',
      settings: {
        customSchema: {
          id: CUSTOM,
          attributes: [
            { name: 'costCode', type: 'string' },
            { name: 'fte', type: 'decimal' },
            { name: 'skills', type: 'string', multiValued: true },
          ],
        },
      },
    });
    const created = await d.scim('POST', '/Users', {
      body: {
        schemas: [CORE_USER, CUSTOM],
        userName: 'custom@acme.example',
        [CUSTOM]: { costCode: 'CC-1', fte: '0.8', skills: ['Go', 'SQL'], unknown: 'dropped' },
      },
    });
    expect(created.status).toBe(201);
    expect(created.body.schemas).toEqual([CORE_USER, CUSTOM]);
    expect(created.body[CUSTOM]).toEqual({ costCode: 'CC-1', fte: 0.8, skills: ['Go', 'SQL'] });
    const bySkill = await d.scim('GET', `/Users?${filterQuery(`${CUSTOM}:skills eq "sql"`)}`);
    expect(bySkill.body.totalResults).toBe(1);
    const patched = await d.scim('PATCH', `/Users/${created.body.id}`, {
      body: {
        schemas: [PATCH_OP],
        Operations: [{ op: 'Replace', path: `${CUSTOM}:costCode`, value: 'CC-2' }],
      },
    });
    expect(patched.body[CUSTOM].costCode).toBe('CC-2');
    const found = await d.scim(
      'GET',
      `/Users?${filterQuery(`${CUSTOM}:costCode eq "cc-2" and ${CUSTOM}:fte gt 0.5`)}`,
    );
    expect(found.body.totalResults).toBe(1);
    expect((await t.api('GET', `/api/v1/users/${created.body.id}`)).body.profile).toMatchObject({
      costCode: 'CC-2',
      fte: 0.8,
    });
    const refused = await d.scim('PATCH', `/Users/${created.body.id}`, {
      body: { schemas: [PATCH_OP], Operations: [{ op: 'Replace', path: `${CUSTOM}:fte`, value: 'full' }] },
    });
    expect(refused.status).toBe(400);
    expect(refused.body.scimType).toBe('invalidValue');
  });
});

describe('users that already exist', () => {
  it('links a user the organization already has (by email) instead of refusing it', async () => {
    const d = await createScimDirectory(t, { provider: 'okta' });
    const existing = await t.api('POST', `/api/v1/organizations/${d.organizationId}/users`, {
      body: { email: 'Linus@Example.com', givenName: 'Linus' },
    });
    const created = await d.scim('POST', '/Users', {
      body: {
        schemas: [CORE_USER],
        userName: 'linus@example.com',
        name: { givenName: 'Linus', familyName: 'Torvalds' },
        emails: [{ value: 'linus@example.com', primary: true }],
        active: true,
      },
    });
    expect(created.status).toBe(201);
    expect(created.body.id).toBe(existing.body.id);
    const user = await t.api('GET', `/api/v1/users/${existing.body.id}`);
    expect(user.body).toMatchObject({ familyName: 'Torvalds', source: 'api' });
    expect((await eventsOf(t, d.organizationId, 'user.created')).length).toBe(1);
    // A second directory of the same organization cannot take it over.
    const other = await createScimDirectory(t, { provider: 'generic', organizationId: d.organizationId });
    const clash = await other.scim('POST', '/Users', {
      body: {
        schemas: [CORE_USER],
        userName: 'someone-else',
        emails: [{ value: 'linus@example.com', primary: true }],
      },
    });
    expect(clash.status).toBe(409);
    expect(clash.body.scimType).toBe('uniqueness');
  });

  it('adopts an admin-made group of the same name, not one another directory manages', async () => {
    const d = await createScimDirectory(t, { provider: 'entra' });
    const group = await t.api('POST', `/api/v1/organizations/${d.organizationId}/groups`, {
      body: { name: 'Coaching Users' },
    });
    const created = await d.scim('POST', '/Groups', {
      body: { schemas: [CORE_GROUP], displayName: 'Coaching Users' },
    });
    expect(created.status).toBe(201);
    expect(created.body.id).toBe(group.body.id);
    const other = await createScimDirectory(t, { organizationId: d.organizationId });
    expect(
      (
        await other.scim('POST', '/Groups', {
          body: { schemas: [CORE_GROUP], displayName: 'Coaching Users' },
        })
      ).status,
    ).toBe(409);
  });
});

describe('DELETE and deactivation', () => {
  it('deprovision policy (default): user kept as deprovisioned, memberships of the directory removed', async () => {
    const d = await createScimDirectory(t, { provider: 'entra' });
    const user = await d.scim('POST', '/Users', {
      body: { schemas: [CORE_USER], userName: 'leaver@corp.example' },
    });
    const group = await d.scim('POST', '/Groups', {
      body: { schemas: [CORE_GROUP], displayName: 'Team', members: [{ value: user.body.id }] },
    });
    expect((await d.scim('DELETE', `/Users/${user.body.id}`)).status).toBe(204);
    expect((await t.api('GET', `/api/v1/users/${user.body.id}`)).body.status).toBe('deprovisioned');
    expect((await d.scim('GET', `/Groups/${group.body.id}`)).body.members).toEqual([]);
    const types = (await eventsOf(t, d.organizationId)).map((event) => event.type);
    expect(types).toEqual([
      'organization.created',
      'directory.created',
      'user.created',
      'group.created',
      'group.member_added',
      'group.member_removed',
      'user.deactivated',
    ]);
    // Re-provisioned later with the same userName: the same Switchboard user comes back.
    const back = await d.scim('POST', '/Users', {
      body: {
        schemas: [CORE_USER],
        userName: 'leaver@corp.example',
        emails: [{ value: 'leaver@corp.example', primary: true }],
      },
    });
    expect(back.status).toBe(201);
    expect(back.body.id).toBe(user.body.id);
    expect((await t.api('GET', `/api/v1/users/${user.body.id}`)).body.status).toBe('active');
  });

  it('remove policy: the user is deleted, with user.deleted', async () => {
    const d = await createScimDirectory(t, { provider: 'generic', orgPolicies: { scimDelete: 'remove' } });
    const user = await d.scim('POST', '/Users', {
      body: { schemas: [CORE_USER], userName: 'gone@corp.example' },
    });
    expect((await d.scim('DELETE', `/Users/${user.body.id}`)).status).toBe(204);
    expect((await t.api('GET', `/api/v1/users/${user.body.id}`)).status).toBe(404);
    expect((await eventsOf(t, d.organizationId, 'user.deleted')).length).toBe(1);
  });

  it('an admin suspension is not lifted by SCIM re-activation', async () => {
    const d = await createScimDirectory(t);
    const user = await d.scim('POST', '/Users', {
      body: { schemas: [CORE_USER], userName: 'held@corp.example', active: true },
    });
    await t.api('POST', `/api/v1/users/${user.body.id}/suspend`);
    await d.scim('PATCH', `/Users/${user.body.id}`, {
      body: { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'title', value: 'x' }] },
    });
    expect((await t.api('GET', `/api/v1/users/${user.body.id}`)).body.status).toBe('suspended');
  });
});

describe('queries', () => {
  it('attributes, excludedAttributes, groups of a user, sortBy and POST /.search', async () => {
    const d = await createScimDirectory(t, { provider: 'okta' });
    const ids: string[] = [];
    for (const [userName, given] of [
      ['b@x.example', 'Bea'],
      ['a@x.example', 'Al'],
      ['c@x.example', 'Cy'],
    ]) {
      ids.push(
        (
          await d.scim('POST', '/Users', {
            body: {
              schemas: [CORE_USER, ENTERPRISE_USER],
              userName,
              name: { givenName: given, familyName: 'X' },
              [ENTERPRISE_USER]: { department: 'Ops' },
            },
          })
        ).body.id,
      );
    }
    const group = (
      await d.scim('POST', '/Groups', {
        body: { schemas: [CORE_GROUP], displayName: 'Ops', members: [{ value: ids[0] }] },
      })
    ).body;
    const projected = await d.scim(
      'GET',
      `/Users/${ids[0]}?attributes=name.givenName,${ENTERPRISE_USER}:department`,
    );
    expect(projected.body).toEqual({
      schemas: [CORE_USER, ENTERPRISE_USER],
      id: ids[0],
      name: { givenName: 'Bea' },
      [ENTERPRISE_USER]: { department: 'Ops' },
    });
    const excluded = await d.scim('GET', `/Users/${ids[0]}?excludedAttributes=meta,name`);
    expect(excluded.body).not.toHaveProperty('meta');
    expect(excluded.body).not.toHaveProperty('name');
    expect(excluded.body.groups).toEqual([
      {
        value: group.id,
        $ref: expect.stringContaining(`/Groups/${group.id}`),
        display: 'Ops',
        type: 'direct',
      },
    ]);
    const sorted = await d.scim('GET', '/Users?sortBy=name.givenName&attributes=userName');
    expect(sorted.body.Resources.map((user: { userName: string }) => user.userName)).toEqual([
      'a@x.example',
      'b@x.example',
      'c@x.example',
    ]);
    const searched = await d.scim('POST', '/Users/.search', {
      body: {
        schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'],
        filter: 'userName sw "C"',
        attributes: ['userName'],
        startIndex: 1,
        count: 10,
      },
    });
    expect(searched.status).toBe(200);
    expect(searched.body).toMatchObject({ totalResults: 1, Resources: [{ userName: 'c@x.example' }] });
    const byGroup = await d.scim('GET', `/Users?${filterQuery(`groups.value eq "${group.id}"`)}`);
    expect(byGroup.body.Resources.map((user: { id: string }) => user.id)).toEqual([ids[0]]);
    const complex = await d.scim(
      'GET',
      `/Users?${filterQuery('(userName eq "a@x.example" or userName eq "c@x.example") and not (name.givenName eq "cy")')}`,
    );
    expect(complex.body.Resources.map((user: { id: string }) => user.id)).toEqual([ids[1]]);
  });

  it('a user POSTed with groups (Okta) is added to them', async () => {
    const d = await createScimDirectory(t, { provider: 'okta' });
    const group = (
      await d.scim('POST', '/Groups', { body: { schemas: [CORE_GROUP], displayName: 'Joiners' } })
    ).body;
    const user = await d.scim('POST', '/Users', {
      body: { schemas: [CORE_USER], userName: 'joiner@x.example', groups: [{ value: group.id }] },
    });
    expect(user.status).toBe(201);
    expect(user.body.groups).toEqual([expect.objectContaining({ value: group.id })]);
    expect(
      (await d.scim('GET', `/Groups/${group.id}`)).body.members.map(
        (member: { value: string }) => member.value,
      ),
    ).toEqual([user.body.id]);
  });
});
