/** Checks credentials with the cheapest authenticated read (`GET /courses?limit=1`). */
import type { ConnectorHttpClient } from '../../http.ts';

export async function testConnection(client: ConnectorHttpClient): Promise<void> {
  await client.request({ path: '/courses', query: { page: 1, limit: 1 } });
}
