/**
 * SCIM Users: lookup by `userName eq` (RFC 7644 §3.4.2.2), create (POST → 201), PATCH (§3.5.2) to
 * update attributes or set `active`, DELETE (→ 204).
 */
import { z } from 'zod';
import type { ConnectorHttpClient } from '../../http.ts';
import { SCIM_PATCH_SCHEMA, SCIM_USER_SCHEMA, scimString } from '../manifest.ts';

export const ScimUserSchema = z.looseObject({
  id: z.string(),
  userName: z.string(),
  active: z.union([z.boolean(), z.string()]).optional(),
});
export type ScimUser = z.infer<typeof ScimUserSchema>;

export interface ScimUserInput {
  userName: string;
  externalId: string;
  givenName: string;
  familyName: string;
  displayName: string;
  active: boolean;
}

/** Some providers send `"False"` as a string (apis.md §8): read both. */
export function scimActive(user: ScimUser): boolean | undefined {
  if (user.active === undefined) return undefined;
  return typeof user.active === 'string' ? user.active.toLowerCase() === 'true' : user.active;
}

export async function findScimUser(client: ConnectorHttpClient, userName: string): Promise<ScimUser | null> {
  const response = await client.request<{ Resources?: unknown[] }>({
    path: '/Users',
    query: { filter: `userName eq ${scimString(userName)}`, startIndex: 1, count: 2 },
    // Some providers answer a lookup without match with 404 instead of an empty list (apis.md §8).
    accept: [404],
  });
  if (response.status === 404) return null;
  const match = (response.body?.Resources ?? [])
    .map((raw) => ScimUserSchema.parse(raw))
    .find((user) => user.userName.toLowerCase() === userName.toLowerCase());
  return match ?? null;
}

function userResource(input: ScimUserInput) {
  return {
    schemas: [SCIM_USER_SCHEMA],
    userName: input.userName,
    externalId: input.externalId,
    name: { givenName: input.givenName, familyName: input.familyName, formatted: input.displayName },
    displayName: input.displayName,
    emails: [{ value: input.userName, type: 'work', primary: true }],
    active: input.active,
  };
}

export async function createScimUser(client: ConnectorHttpClient, input: ScimUserInput): Promise<ScimUser> {
  const response = await client.request<unknown>({
    method: 'POST',
    path: '/Users',
    json: userResource(input),
  });
  return ScimUserSchema.parse(response.body);
}

export async function patchScimUser(
  client: ConnectorHttpClient,
  id: string,
  operations: Array<{ op: 'replace' | 'add' | 'remove'; path?: string; value?: unknown }>,
): Promise<void> {
  await client.request({
    method: 'PATCH',
    path: `/Users/${encodeURIComponent(id)}`,
    // Replacing with the same values twice leaves the same user.
    idempotent: true,
    json: { schemas: [SCIM_PATCH_SCHEMA], Operations: operations },
  });
}

export async function deleteScimUser(client: ConnectorHttpClient, id: string): Promise<void> {
  await client.request({ method: 'DELETE', path: `/Users/${encodeURIComponent(id)}`, accept: [404] });
}
