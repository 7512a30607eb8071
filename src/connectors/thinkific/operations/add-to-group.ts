/**
 * Adds a user to groups by **name** (`POST /group_users {user_id, group_names}` → 201, empty body).
 * An unknown name fails the whole call with 422 `{"errors":["Invalid group_names"]}`, so missing
 * groups are created first (`POST /groups` → **200**, not 201) and the call is repeated.
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

export async function addToGroups(
  client: ConnectorHttpClient,
  input: { userId: string; groupNames: readonly string[] },
): Promise<{ createdGroups: string[] }> {
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
    return { createdGroups: [] };
  } catch (error) {
    if (
      !(error instanceof ConnectorError) ||
      error.kind !== 'invalid' ||
      !/group_names/i.test(error.message)
    ) {
      throw error;
    }
  }
  const existing = new Set((await listGroups(client)).map((group) => group.name));
  const createdGroups: string[] = [];
  for (const name of input.groupNames) {
    if (existing.has(name)) continue;
    try {
      await createGroup(client, name);
      createdGroups.push(name);
    } catch (error) {
      // Another worker created it meanwhile ("has already been taken"): fine.
      if (!(error instanceof ConnectorError) || error.kind !== 'invalid') throw error;
    }
  }
  await send();
  return { createdGroups };
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
