/**
 * Groups by **name**. Adding a user (`POST /group_users {user_id, group_names}` → 201, empty body)
 * fails as a whole with 422 `{"errors":["Invalid group_names"]}` when a name does not exist, so a
 * group is found or created first (`findOrCreateGroup`: `GET /groups`, then `POST /groups` → **200**,
 * not 201; "has already been taken" when another caller created it meanwhile, then it is found).
 * The orchestrator does that once per destination and group, before anyone is added to it; the
 * fallback here only covers a group deleted by hand since.
 */
import { ConnectorError, type ConnectorHttpClient } from '../../http.ts';
import { thinkificPages } from '../manifest.ts';
import { type ThinkificGroup, ThinkificGroupSchema } from '../mapping.ts';

export async function listGroups(client: ConnectorHttpClient): Promise<ThinkificGroup[]> {
  return client.all(
    { path: '/groups' },
    thinkificPages((raw) => ThinkificGroupSchema.parse(raw)),
  );
}

export async function createGroup(client: ConnectorHttpClient, name: string): Promise<ThinkificGroup> {
  const response = await client.request<unknown>({ method: 'POST', path: '/groups', json: { name } });
  return ThinkificGroupSchema.parse(response.body);
}

/** The group named `name` (exactly: `group_names` matches names as written), found or created. */
export async function findOrCreateGroup(
  client: ConnectorHttpClient,
  name: string,
  known?: readonly ThinkificGroup[],
): Promise<ThinkificGroup> {
  const existing = (known ?? (await listGroups(client))).find((group) => group.name === name);
  if (existing) return existing;
  try {
    return await createGroup(client, name);
  } catch (error) {
    // Created by someone else meanwhile ("has already been taken"): then it is there to find.
    if (!(error instanceof ConnectorError) || error.kind !== 'invalid') throw error;
    const found = (await listGroups(client)).find((group) => group.name === name);
    if (!found) throw error;
    return found;
  }
}

export async function addToGroups(
  client: ConnectorHttpClient,
  input: { userId: string; groupNames: readonly string[] },
): Promise<void> {
  const send = () =>
    client.request({
      method: 'POST',
      path: '/group_users',
      // Adding a member twice leaves one membership: safe to repeat.
      idempotent: true,
      json: { user_id: Number(input.userId), group_names: input.groupNames },
    });
  try {
    await send();
    return;
  } catch (error) {
    if (
      !(error instanceof ConnectorError) ||
      error.kind !== 'invalid' ||
      !/group_names/i.test(error.message)
    ) {
      throw error;
    }
  }
  const groups = await listGroups(client);
  for (const name of input.groupNames) await findOrCreateGroup(client, name, groups);
  await send();
}

/** The ids of users in a group, filtered to one email (`GET /users?query[group_id]=&query[email]=`). */
export async function isInGroup(
  client: ConnectorHttpClient,
  input: { groupId: number; email: string },
): Promise<boolean> {
  const response = await client.request<{ items?: Array<{ email?: string }> }>({
    path: '/users',
    query: { 'query[group_id]': input.groupId, 'query[email]': input.email },
  });
  return (response.body?.items ?? []).some((user) => user.email?.toLowerCase() === input.email.toLowerCase());
}
