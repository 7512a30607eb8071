/** `POST /users` → 201 UserResponse. No welcome email: the person signs in through SSO. */
import type { ConnectorHttpClient } from '../../http.ts';
import { type ThinkificUser, ThinkificUserSchema } from '../mapping.ts';

export async function createUser(
  client: ConnectorHttpClient,
  input: { email: string; firstName: string; lastName: string; externalId: string },
): Promise<ThinkificUser> {
  const response = await client.request<unknown>({
    method: 'POST',
    path: '/users',
    json: {
      email: input.email,
      first_name: input.firstName,
      last_name: input.lastName,
      external_id: input.externalId,
      send_welcome_email: false,
    },
  });
  return ThinkificUserSchema.parse(response.body);
}
