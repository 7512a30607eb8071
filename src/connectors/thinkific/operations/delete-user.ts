/** `DELETE /users/{id}` → 204; an already deleted user (404) counts as done. */
import type { ConnectorHttpClient } from '../../http.ts';

export async function deleteUser(client: ConnectorHttpClient, input: { id: string }): Promise<void> {
  await client.request({ method: 'DELETE', path: `/users/${encodeURIComponent(input.id)}`, accept: [404] });
}
