/** Provisioning test setup: a hub with workers, an organization, and a Thinkific fake as a destination. */

import { FakeThinkific, type FakeThinkificOptions } from '../fakes/thinkific/server.ts';
import { createScimDirectory, type ScimDirectory } from '../scim/support.ts';
import { createTestHub, type TestHub, type TestHubOptions } from '../support/hub.ts';

export const CORE_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const CORE_GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

export interface ProvisioningSetup {
  t: TestHub;
  fake: FakeThinkific;
  directory: ScimDirectory;
  organizationId: string;
  destinationId: string;
  close(): Promise<void>;
}

export async function setupProvisioning(
  options: { fake?: FakeThinkificOptions; destination?: Record<string, unknown>; hub?: TestHubOptions } = {},
): Promise<ProvisioningSetup> {
  const fake = await new FakeThinkific({ rateLimit: null, ...options.fake }).start();
  const t = await createTestHub({
    workers: true,
    ...options.hub,
    env: { PROVISIONING_RETRY_DELAY_SECONDS: '1', PROVISIONING_RECONCILE_CRON: '', ...options.hub?.env },
  });
  const directory = await createScimDirectory(t);
  const organizationId = directory.organizationId;
  const created = await t.api('POST', `/api/v1/organizations/${organizationId}/destinations`, {
    body: {
      kind: 'thinkific',
      name: 'Academy',
      settings: { baseUrl: fake.url, subdomain: fake.subdomain },
      credentials: { apiKey: fake.apiKey },
      ...options.destination,
    },
  });
  if (created.status !== 201) throw new Error(`destination: ${created.status} ${created.text}`);
  return {
    t,
    fake,
    directory,
    organizationId,
    destinationId: created.body.id,
    async close() {
      await t.close();
      await fake.stop();
    },
  };
}

/** Polls until `check` returns a truthy value (no timing is asserted: the bound only ends a hung test). */
export async function eventually<T>(
  check: () => T | Promise<T>,
  what: string,
  timeoutMs = 150_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export async function scimUser(directory: ScimDirectory, email: string, extra: Record<string, unknown> = {}) {
  const response = await directory.scim('POST', '/Users', {
    body: {
      schemas: [CORE_USER],
      userName: email,
      externalId: email,
      active: true,
      name: { givenName: email.split('@')[0], familyName: 'Tester' },
      emails: [{ value: email, primary: true, type: 'work' }],
      ...extra,
    },
  });
  if (response.status !== 201) throw new Error(`scim user: ${response.status} ${response.text}`);
  return response.body as { id: string };
}

export async function scimGroup(directory: ScimDirectory, name: string, memberIds: string[]) {
  const response = await directory.scim('POST', '/Groups', {
    body: { schemas: [CORE_GROUP], displayName: name, members: memberIds.map((value) => ({ value })) },
  });
  if (response.status !== 201) throw new Error(`scim group: ${response.status} ${response.text}`);
  return response.body as { id: string };
}

export async function createRule(setup: ProvisioningSetup, body: Record<string, unknown>) {
  const response = await setup.t.api(
    'POST',
    `/api/v1/organizations/${setup.organizationId}/provisioning/rules`,
    {
      body,
    },
  );
  if (response.status !== 201) throw new Error(`rule: ${response.status} ${response.text}`);
  return response.body as { id: string };
}

const TEST_ACTOR = { actor: { type: 'system' as const, name: 'test' }, source: 'api' };

/** Creates `count` users through the directory (as an import or HR sync would) and puts them in `groupName`. */
export async function directoryUsers(
  setup: ProvisioningSetup,
  count: number,
  options: { groupName?: string; prefix?: string } = {},
): Promise<Array<{ id: string; email: string }>> {
  const { hub } = setup.t;
  const users = [];
  for (let index = 0; index < count; index++) {
    const email = `${options.prefix ?? 'person'}${index}@example.com`;
    const user = await hub.directory.createUser(
      setup.organizationId,
      { email, givenName: `Person${index}`, familyName: 'Example' },
      TEST_ACTOR,
    );
    users.push({ id: user.id, email });
  }
  if (options.groupName) {
    const existing = await hub.directory
      .findGroupByName(setup.organizationId, options.groupName)
      .catch(() => undefined);
    const group =
      existing ??
      (await hub.directory.createGroup(setup.organizationId, { name: options.groupName }, TEST_ACTOR));
    await hub.directory.addMembers(
      group.id,
      users.map((user) => user.id),
      TEST_ACTOR,
    );
  }
  return users;
}

export { TEST_ACTOR };
