/**
 * Directories of different organizations pushing at the same time never write into each other
 * (a known failure of an open-source peer was per-request state shared between requests), and a
 * token only ever reaches its own directory. Over real HTTP, interleaved, on both databases.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestHub, type TestHub } from '../support/hub.ts';
import {
  CORE_GROUP,
  CORE_USER,
  createScimDirectory,
  filterQuery,
  PATCH_OP,
  type ScimDirectory,
} from './support.ts';

let t: TestHub;
let acme: ScimDirectory;
let globex: ScimDirectory;
const PER_DIRECTORY = 40;

beforeAll(async () => {
  t = await createTestHub({ listen: true });
  acme = await createScimDirectory(t, { provider: 'entra' });
  globex = await createScimDirectory(t, { provider: 'okta' });
});
afterAll(async () => t?.close());

async function http(
  directory: ScimDirectory,
  method: string,
  path: string,
  body?: unknown,
  token = directory.token,
) {
  const response = await fetch(`${t.url}${directory.base}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body ? { 'content-type': 'application/scim+json' } : {}),
    },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

it('interleaved concurrent pushes of two organizations land each user in its own organization', async () => {
  // The same userNames in both directories: only the token decides where a request goes.
  const requests = [];
  for (let i = 0; i < PER_DIRECTORY; i++) {
    for (const [directory, tag] of [
      [acme, 'acme'],
      [globex, 'globex'],
    ] as const) {
      requests.push(
        http(directory, 'POST', '/Users', {
          schemas: [CORE_USER],
          userName: `person${i}`,
          externalId: `${tag}-${i}`,
          name: { givenName: tag, familyName: `Person ${i}` },
          emails: [{ type: 'work', primary: true, value: `person${i}@${tag}.example.com` }],
          active: true,
        }),
      );
    }
  }
  const results = await Promise.all(requests);
  expect(results.map((result) => result.status)).toEqual(results.map(() => 201));

  for (const [directory, tag] of [
    [acme, 'acme'],
    [globex, 'globex'],
  ] as const) {
    const users = await t.api('GET', `/api/v1/organizations/${directory.organizationId}/users?limit=200`);
    expect(users.body.data).toHaveLength(PER_DIRECTORY);
    for (const user of users.body.data) {
      expect(user.organizationId).toBe(directory.organizationId);
      expect(user.givenName).toBe(tag);
      expect(user.email).toMatch(new RegExp(`@${tag}\\.example\\.com$`));
      expect(Object.keys(user.externalIds)).toEqual([`scim:${directory.directoryId}`]);
    }
    const listed = await http(directory, 'GET', '/Users?count=100');
    expect(listed.body.totalResults).toBe(PER_DIRECTORY);
    expect(
      listed.body.Resources.every((user: { externalId: string }) => user.externalId.startsWith(`${tag}-`)),
    ).toBe(true);
  }
});

it('interleaved concurrent updates and group pushes stay in their own directory', async () => {
  const acmeUsers = (await http(acme, 'GET', '/Users?count=100')).body.Resources as Array<{ id: string }>;
  const globexUsers = (await http(globex, 'GET', '/Users?count=100')).body.Resources as Array<{ id: string }>;
  const work = [];
  for (let i = 0; i < PER_DIRECTORY; i++) {
    work.push(
      http(acme, 'PATCH', `/Users/${acmeUsers[i]?.id}`, {
        schemas: [PATCH_OP],
        Operations: [{ op: 'Replace', path: 'title', value: 'acme title' }],
      }),
      http(globex, 'PATCH', `/Users/${globexUsers[i]?.id}`, {
        schemas: [PATCH_OP],
        Operations: [{ op: 'replace', value: { title: 'globex title' } }],
      }),
    );
  }
  work.push(
    http(acme, 'POST', '/Groups', {
      schemas: [CORE_GROUP],
      displayName: 'Everyone',
      members: acmeUsers.map((user) => ({ value: user.id })),
    }),
    http(globex, 'POST', '/Groups', {
      schemas: [CORE_GROUP],
      displayName: 'Everyone',
      members: globexUsers.map((user) => ({ value: user.id })),
    }),
  );
  const results = await Promise.all(work);
  expect(results.every((result) => result.status === 200 || result.status === 201)).toBe(true);
  for (const [directory, title, users] of [
    [acme, 'acme title', acmeUsers],
    [globex, 'globex title', globexUsers],
  ] as const) {
    const listed = await http(
      directory,
      'GET',
      `/Users?count=100&${filterQuery('title eq "acme title" or title eq "globex title"')}`,
    );
    expect(listed.body.Resources.map((user: { title: string }) => user.title)).toEqual(
      users.map(() => title),
    );
    const groups = await http(directory, 'GET', '/Groups');
    expect(groups.body.totalResults).toBe(1);
    expect(groups.body.Resources[0].members.map((member: { value: string }) => member.value).sort()).toEqual(
      users.map((user) => user.id).sort(),
    );
  }
});

it("a token never reaches another directory: not by path, not by another directory's ids", async () => {
  const globexUser = (await http(globex, 'GET', '/Users?count=1')).body.Resources[0] as { id: string };
  // Acme's token on Globex's base URL.
  for (const [method, path] of [
    ['GET', '/Users'],
    ['GET', `/Users/${globexUser.id}`],
    ['DELETE', `/Users/${globexUser.id}`],
    ['GET', '/ServiceProviderConfig'],
  ] as const) {
    const res = await http(globex, method, path, undefined, acme.token);
    expect(res.status, `${method} ${path}`).toBe(401);
    expect(res.body).toMatchObject({
      status: '401',
      schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'],
    });
  }
  // Globex's user id through Acme's own endpoint: not found there, and untouched.
  expect((await http(acme, 'GET', `/Users/${globexUser.id}`)).status).toBe(404);
  const patch = await http(acme, 'PATCH', `/Users/${globexUser.id}`, {
    schemas: [PATCH_OP],
    Operations: [{ op: 'replace', path: 'active', value: false }],
  });
  expect(patch.status).toBe(404);
  expect((await http(acme, 'DELETE', `/Users/${globexUser.id}`)).status).toBe(404);
  expect((await t.api('GET', `/api/v1/users/${globexUser.id}`)).body.status).toBe('active');
  // Globex's users as members of an Acme group: refused.
  const group = await http(acme, 'POST', '/Groups', {
    schemas: [CORE_GROUP],
    displayName: 'Sneaky',
    members: [{ value: globexUser.id }],
  });
  expect(group.status).toBe(400);
  expect(
    (await http(acme, 'GET', `/Groups?${filterQuery('displayName eq "Sneaky"')}`)).body.totalResults,
  ).toBe(0);
  // No token, a malformed header, an admin API key: all 401.
  for (const token of ['', 'not-a-token', t.adminKey]) {
    const res = await http(acme, 'GET', '/Users', undefined, token);
    expect(res.status).toBe(401);
  }
});

it('an admin API key cannot be used as a SCIM token, and a SCIM token not as an admin key', async () => {
  const res = await t.api('GET', '/api/v1/organizations', { key: acme.token });
  expect(res.status).toBe(401);
});
