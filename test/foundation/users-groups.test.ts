import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestHub, type TestHub } from '../support/hub.ts';

let t: TestHub;
let orgId: string;
let otherOrgId: string;

beforeAll(async () => {
  t = await createTestHub();
  orgId = (await t.api('POST', '/api/v1/organizations', { body: { name: 'Users Co', slug: 'users-co' } }))
    .body.id;
  otherOrgId = (await t.api('POST', '/api/v1/organizations', { body: { name: 'Other Co' } })).body.id;
});
afterAll(async () => {
  await t?.close();
});

async function createUser(body: Record<string, unknown>, org = orgId) {
  const res = await t.api('POST', `/api/v1/organizations/${org}/users`, { body });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

describe('users', () => {
  it('creates, reads and updates a user', async () => {
    const user = await createUser({
      email: 'Ada.Lovelace@Example.com',
      givenName: 'Ada',
      familyName: 'Lovelace',
      externalIds: { employee_id: 'E1' },
      profile: { department: 'R&D', title: 'Analyst' },
    });
    expect(user).toMatchObject({
      organizationId: orgId,
      email: 'Ada.Lovelace@Example.com',
      displayName: 'Ada Lovelace',
      status: 'active',
      source: 'api',
      version: 1,
      externalIds: { employee_id: 'E1' },
    });
    expect(user.id).toMatch(/^usr_/);

    const fetched = await t.api('GET', `/api/v1/users/${user.id}`, { key: t.readKey });
    expect(fetched.status).toBe(200);
    expect(fetched.body).toEqual(user);

    const updated = await t.api('PATCH', `/api/v1/users/${user.id}`, {
      body: { givenName: 'Augusta Ada', profile: { title: 'Countess', department: null, level: 'L5' } },
    });
    expect(updated.status).toBe(200);
    expect(updated.body.givenName).toBe('Augusta Ada');
    expect(updated.body.profile).toEqual({ title: 'Countess', level: 'L5' });
    expect(updated.body.version).toBe(2);

    const unchanged = await t.api('PATCH', `/api/v1/users/${user.id}`, {
      body: { givenName: 'Augusta Ada' },
    });
    expect(unchanged.body.version).toBe(2);
  });

  it('treats email as unique per organization, case-insensitively', async () => {
    await createUser({ email: 'dup@example.com' });
    const again = await t.api('POST', `/api/v1/organizations/${orgId}/users`, {
      body: { email: 'DUP@example.com' },
    });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ code: 'user_email_taken', field: 'email' });
    // Same email in another organization is a different person.
    await createUser({ email: 'dup@example.com' }, otherOrgId);
    // Changing another user's email onto it is refused too.
    const other = await createUser({ email: 'other@example.com' });
    const clash = await t.api('PATCH', `/api/v1/users/${other.id}`, { body: { email: 'Dup@Example.com' } });
    expect(clash.status).toBe(409);
  });

  it('rejects bad input naming the field', async () => {
    const cases: Array<[unknown, string]> = [
      [{}, 'email'],
      [{ email: 'not-an-email' }, 'email'],
      [{ email: 'a@b.c' }, 'email'],
      [{ email: 'ok@example.com', givenName: 5 }, 'givenName'],
      [{ email: 'ok@example.com', profile: 'x' }, 'profile'],
      [{ email: 'ok@example.com', profile: { big: 'x'.repeat(70_000) } }, 'profile'],
      [{ email: 'ok@example.com', status: 'active' }, ''],
    ];
    for (const [body, field] of cases) {
      const res = await t.api('POST', `/api/v1/organizations/${orgId}/users`, { body });
      expect(res.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(res.body.code).toBe('invalid_request');
      if (field) expect(res.body.field).toBe(field);
    }
    expect(
      (await t.api('GET', `/api/v1/organizations/${orgId}/users?email=ok@example.com`)).body.data,
    ).toEqual([]);
    expect(
      (await t.api('POST', '/api/v1/organizations/nope/users', { body: { email: 'x@example.com' } })).status,
    ).toBe(404);
    expect((await t.api('GET', '/api/v1/users/usr_doesnotexist')).body.code).toBe('user_not_found');
    expect((await t.api('GET', `/api/v1/organizations/${orgId}/users?limit=0`)).body.field).toBe('limit');
  });

  it('suspends, reactivates, deprovisions and deletes', async () => {
    const user = await createUser({ email: 'status@example.com' });
    const suspended = await t.api('POST', `/api/v1/users/${user.id}/suspend`);
    expect(suspended.body.status).toBe('suspended');
    const reactivated = await t.api('POST', `/api/v1/users/${user.id}/reactivate`);
    expect(reactivated.body.status).toBe('active');
    const gone = await t.api('POST', `/api/v1/users/${user.id}/deprovision`);
    expect(gone.body.status).toBe('deprovisioned');
    const deleted = await t.api('DELETE', `/api/v1/users/${user.id}`);
    expect(deleted.status).toBe(204);
    expect((await t.api('GET', `/api/v1/users/${user.id}`)).status).toBe(404);
    expect((await t.api('DELETE', `/api/v1/users/${user.id}`)).status).toBe(404);
  });

  it('lists with search, filters and stable cursor pagination', async () => {
    const org = (await t.api('POST', '/api/v1/organizations', { body: { name: 'Paging Co' } })).body.id;
    const names = ['Grace Hopper', 'Alan Turing', 'Grace Brewster', 'Edsger Dijkstra', 'Barbara Liskov'];
    const created = [];
    for (const [index, name] of names.entries()) {
      const [given, family] = name.split(' ');
      created.push(
        await createUser(
          {
            email: `p${index}_${given?.toLowerCase()}@paging.example.com`,
            givenName: given,
            familyName: family,
          },
          org,
        ),
      );
    }
    const seen: string[] = [];
    let after: string | null = null;
    do {
      const page: any = await t.api(
        'GET',
        `/api/v1/organizations/${org}/users?limit=2${after ? `&after=${after}` : ''}`,
      );
      expect(page.status).toBe(200);
      seen.push(...page.body.data.map((user: { id: string }) => user.id));
      after = page.body.nextCursor;
    } while (after);
    expect(seen).toEqual(created.map((user) => user.id));

    const grace = await t.api('GET', `/api/v1/organizations/${org}/users?q=grace`);
    expect(grace.body.data.map((user: { givenName: string }) => user.givenName)).toEqual(['Grace', 'Grace']);
    const byEmailPrefix = await t.api('GET', `/api/v1/organizations/${org}/users?q=P1_ALAN`);
    expect(byEmailPrefix.body.data.map((user: { familyName: string }) => user.familyName)).toEqual([
      'Turing',
    ]);
    const fullName = await t.api(
      'GET',
      `/api/v1/organizations/${org}/users?q=${encodeURIComponent('edsger dijk')}`,
    );
    expect(fullName.body.data).toHaveLength(1);
    const wildcard = await t.api('GET', `/api/v1/organizations/${org}/users?q=%25`);
    expect(wildcard.body.data).toEqual([]);
    const exact = await t.api('GET', `/api/v1/organizations/${org}/users?email=P3_EDSGER@paging.example.com`);
    expect(exact.body.data).toHaveLength(1);
    // Tenants never see each other's users.
    const otherList = await t.api('GET', `/api/v1/organizations/${otherOrgId}/users?q=grace`);
    expect(otherList.body.data).toEqual([]);
  });
});

describe('groups and memberships', () => {
  it('creates groups, manages members and lists both ways', async () => {
    const a = await createUser({ email: 'member.a@example.com' });
    const b = await createUser({ email: 'member.b@example.com' });
    const group = (
      await t.api('POST', `/api/v1/organizations/${orgId}/groups`, { body: { name: 'Sales EMEA' } })
    ).body;
    expect(group).toMatchObject({ name: 'Sales EMEA', memberCount: 0, organizationId: orgId });

    const dupe = await t.api('POST', `/api/v1/organizations/${orgId}/groups`, {
      body: { name: 'sales emea' },
    });
    expect(dupe.status).toBe(409);
    expect(dupe.body.code).toBe('group_name_taken');

    const added = await t.api('POST', `/api/v1/groups/${group.id}/members`, {
      body: { userIds: [a.id, b.id, a.id] },
    });
    expect(added.status).toBe(200);
    expect(added.body.added.sort()).toEqual([a.id, b.id].sort());
    const again = await t.api('POST', `/api/v1/groups/${group.id}/members`, { body: { userIds: [a.id] } });
    expect(again.body.added).toEqual([]);

    const members = await t.api('GET', `/api/v1/groups/${group.id}/members`);
    expect(members.body.data.map((user: { id: string }) => user.id).sort()).toEqual([a.id, b.id].sort());
    const groupsOfA = await t.api('GET', `/api/v1/users/${a.id}/groups`);
    expect(groupsOfA.body.data.map((g: { name: string }) => g.name)).toEqual(['Sales EMEA']);
    expect((await t.api('GET', `/api/v1/groups/${group.id}`)).body.memberCount).toBe(2);

    const removed = await t.api('DELETE', `/api/v1/groups/${group.id}/members/${a.id}`);
    expect(removed.status).toBe(204);
    expect((await t.api('GET', `/api/v1/groups/${group.id}`)).body.memberCount).toBe(1);

    const renamed = await t.api('PATCH', `/api/v1/groups/${group.id}`, { body: { name: 'Sales Europe' } });
    expect(renamed.body.name).toBe('Sales Europe');
    expect((await t.api('DELETE', `/api/v1/groups/${group.id}`)).status).toBe(204);
    expect((await t.api('GET', `/api/v1/users/${b.id}/groups`)).body.data).toEqual([]);
  });

  it('refuses members from another organization and adds nothing then', async () => {
    const mine = await createUser({ email: 'mine@example.com' });
    const theirs = await createUser({ email: 'theirs@example.com' }, otherOrgId);
    const group = (await t.api('POST', `/api/v1/organizations/${orgId}/groups`, { body: { name: 'Mixed' } }))
      .body;
    const res = await t.api('POST', `/api/v1/groups/${group.id}/members`, {
      body: { userIds: [mine.id, theirs.id] },
    });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({
      code: 'unknown_members',
      field: 'userIds',
      unknownUserIds: [theirs.id],
    });
    expect((await t.api('GET', `/api/v1/groups/${group.id}`)).body.memberCount).toBe(0);
    expect(
      (await t.api('POST', `/api/v1/groups/${group.id}/members`, { body: { userIds: [] } })).status,
    ).toBe(400);
  });
});

describe('identities', () => {
  it('lists and unlinks the identities that tie a user to providers', async () => {
    const user = await createUser({ email: 'linked@example.com' });
    const actor = { type: 'system' as const };
    await t.hub.directory.linkIdentity(
      {
        organizationId: orgId,
        userId: user.id,
        providerType: 'connection',
        providerId: 'conn_test',
        subject: 'okta|123',
        profile: { email: 'linked@example.com' },
      },
      { actor },
    );
    // Linking again refreshes it; linking the same subject to someone else is refused.
    await t.hub.directory.linkIdentity(
      {
        organizationId: orgId,
        userId: user.id,
        providerType: 'connection',
        providerId: 'conn_test',
        subject: 'okta|123',
      },
      { actor },
    );
    const someoneElse = await createUser({ email: 'else@example.com' });
    await expect(
      t.hub.directory.linkIdentity(
        {
          organizationId: orgId,
          userId: someoneElse.id,
          providerType: 'connection',
          providerId: 'conn_test',
          subject: 'okta|123',
        },
        { actor },
      ),
    ).rejects.toMatchObject({ code: 'identity_linked_elsewhere' });

    const listed = await t.api('GET', `/api/v1/users/${user.id}/identities`, { key: t.readKey });
    expect(listed.status).toBe(200);
    expect(listed.body.data).toEqual([
      expect.objectContaining({
        providerType: 'connection',
        providerId: 'conn_test',
        subject: 'okta|123',
        lastSeenAt: expect.any(String),
      }),
    ]);
    const identityId = listed.body.data[0].id;
    expect(
      (await t.api('DELETE', `/api/v1/users/${user.id}/identities/${identityId}`, { key: t.readKey })).status,
    ).toBe(403);
    expect((await t.api('DELETE', `/api/v1/users/${someoneElse.id}/identities/${identityId}`)).status).toBe(
      404,
    );
    expect((await t.api('DELETE', `/api/v1/users/${user.id}/identities/${identityId}`)).status).toBe(204);
    expect((await t.api('GET', `/api/v1/users/${user.id}/identities`)).body.data).toEqual([]);
    const events = await t.api('GET', `/api/v1/events?subject=${user.id}&types=identity.*`);
    expect(events.body.data.map((event: { type: string }) => event.type)).toEqual([
      'identity.linked',
      'identity.unlinked',
    ]);
  });

  it('validates group updates and member lists', async () => {
    const group = (
      await t.api('POST', `/api/v1/organizations/${orgId}/groups`, { body: { name: 'Validated' } })
    ).body;
    expect((await t.api('PATCH', `/api/v1/groups/${group.id}`, { body: { name: '' } })).body.field).toBe(
      'name',
    );
    expect((await t.api('PATCH', `/api/v1/groups/${group.id}`, { body: { members: [] } })).status).toBe(400);
    expect(
      (await t.api('POST', `/api/v1/groups/${group.id}/members`, { body: { userIds: 'usr_x' } })).body.field,
    ).toBe('userIds');
    expect((await t.api('GET', `/api/v1/groups/${group.id}/members?limit=500`)).body.field).toBe('limit');
    expect(
      (await t.api('POST', '/api/v1/groups/grp_missing/members', { body: { userIds: ['usr_x'] } })).status,
    ).toBe(404);
  });
});
