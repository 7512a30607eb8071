/**
 * Finds a user by email (`GET /users?query[email]=`), then by our id as external id
 * (`GET /users/{external_id}?provider=SSO`, apis.md §1: "{id} may be an external ID").
 */
import type { ConnectorHttpClient } from '../../http.ts';
import { type ThinkificUser, ThinkificUserSchema } from '../mapping.ts';

export async function findUser(
  client: ConnectorHttpClient,
  input: { email: string; externalId?: string },
): Promise<ThinkificUser | null> {
  const list = await client.request<{ items?: unknown[] }>({
    path: '/users',
    query: { 'query[email]': input.email, limit: 25 },
  });
  const wanted = input.email.toLowerCase();
  for (const raw of list.body?.items ?? []) {
    const user = ThinkificUserSchema.parse(raw);
    if (user.email.toLowerCase() === wanted) return user;
  }
  if (!input.externalId) return null;
  const byExternal = await client.request<unknown>({
    path: `/users/${encodeURIComponent(input.externalId)}`,
    query: { provider: 'SSO' },
    accept: [404],
  });
  return byExternal.status === 404 ? null : ThinkificUserSchema.parse(byExternal.body);
}
