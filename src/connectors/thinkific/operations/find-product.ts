/**
 * Looks a course up by id (`GET /courses/{id}` → 200 CourseResponse, or 404 `{"error":"Record not
 * found."}`) or a bundle (`GET /bundles/{id}` → 200 BundleResponse, or 404): v1 has no list of
 * bundles, and a lookup per product is cheaper than paging a whole catalog for the few a rule names.
 */
import { z } from 'zod';
import type { ConnectorHttpClient } from '../../http.ts';

const NamedSchema = z.looseObject({ id: z.number(), name: z.string() });

export async function findProduct(
  client: ConnectorHttpClient,
  input: { kind: 'course' | 'bundle'; id: string },
): Promise<{ name: string } | null> {
  // Thinkific ids are integers; anything else cannot exist (and must not reach the path).
  if (!/^\d{1,18}$/.test(input.id)) return null;
  const response = await client.request<unknown>({
    path: `/${input.kind === 'bundle' ? 'bundles' : 'courses'}/${input.id}`,
    accept: [404],
  });
  if (response.status === 404) return null;
  return { name: NamedSchema.parse(response.body).name };
}
