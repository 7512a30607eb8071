/**
 * A user's course enrollments (`GET /enrollments?query[user_id]=`, every page), and a bundle's
 * enrollments of that user (`GET /bundles/{id}/enrollments?query[user_id]=`).
 */
import type { ConnectorHttpClient } from '../../http.ts';
import { thinkificPages } from '../manifest.ts';
import { type ThinkificEnrollment, ThinkificEnrollmentSchema } from '../mapping.ts';

export async function listEnrollments(
  client: ConnectorHttpClient,
  input: { userId: string; bundleId?: string },
): Promise<ThinkificEnrollment[]> {
  return client.all(
    {
      path: input.bundleId ? `/bundles/${encodeURIComponent(input.bundleId)}/enrollments` : '/enrollments',
      query: { 'query[user_id]': input.userId },
    },
    thinkificPages((raw) => ThinkificEnrollmentSchema.parse(raw)),
  );
}
