/**
 * SCIM Groups: lookup by `displayName eq`, create (POST, empty `members`), and membership by PATCH
 * `add`/`remove` on `members` (RFC 7644 §3.5.2.1, §3.5.2.2).
 */
import { z } from 'zod';
import type { ConnectorHttpClient } from '../../http.ts';
import { SCIM_GROUP_SCHEMA, SCIM_PATCH_SCHEMA, scimString } from '../manifest.ts';

export const ScimGroupSchema = z.looseObject({
  id: z.string(),
  displayName: z.string(),
  members: z.array(z.looseObject({ value: z.string() })).optional(),
});
export type ScimGroup = z.infer<typeof ScimGroupSchema>;

export async function findScimGroup(
  client: ConnectorHttpClient,
  displayName: string,
): Promise<ScimGroup | null> {
  const response = await client.request<{ Resources?: unknown[] }>({
    path: '/Groups',
    query: { filter: `displayName eq ${scimString(displayName)}`, startIndex: 1, count: 2 },
    accept: [404],
  });
  if (response.status === 404) return null;
  const match = (response.body?.Resources ?? [])
    .map((raw) => ScimGroupSchema.parse(raw))
    .find((group) => group.displayName.toLowerCase() === displayName.toLowerCase());
  return match ?? null;
}

export async function createScimGroup(client: ConnectorHttpClient, displayName: string): Promise<ScimGroup> {
  const response = await client.request<unknown>({
    method: 'POST',
    path: '/Groups',
    json: { schemas: [SCIM_GROUP_SCHEMA], displayName, members: [] },
  });
  return ScimGroupSchema.parse(response.body);
}

export async function patchScimGroupMembers(
  client: ConnectorHttpClient,
  groupId: string,
  op: 'add' | 'remove',
  userId: string,
): Promise<void> {
  await client.request({
    method: 'PATCH',
    path: `/Groups/${encodeURIComponent(groupId)}`,
    idempotent: true,
    json: {
      schemas: [SCIM_PATCH_SCHEMA],
      Operations:
        op === 'add'
          ? [{ op: 'add', path: 'members', value: [{ value: userId }] }]
          : [{ op: 'remove', path: `members[value eq ${scimString(userId)}]` }],
    },
  });
}
