/** `PUT /users/{id}` → 204. */
import type { ConnectorHttpClient } from '../../http.ts';

export async function updateUser(
  client: ConnectorHttpClient,
  input: { id: string; email: string; firstName: string; lastName: string; externalId: string },
): Promise<void> {
  await client.request({
    method: 'PUT',
    path: `/users/${encodeURIComponent(input.id)}`,
    json: {
      email: input.email,
      first_name: input.firstName,
      last_name: input.lastName,
      external_id: input.externalId,
    },
  });
}
