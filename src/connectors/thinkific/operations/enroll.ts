/**
 * Enrolls a user in a course (`POST /enrollments` → 201 EnrollmentResponse) or a bundle
 * (`POST /bundles/{id}/enrollments` → 201 done, or 202 queued, with no body). Without
 * `activated_at` Thinkific grants free-preview access only; without `expiry_date` it never expires.
 */
import type { ConnectorHttpClient } from '../../http.ts';
import { type ThinkificEnrollment, ThinkificEnrollmentSchema } from '../mapping.ts';

export async function enrollInCourse(
  client: ConnectorHttpClient,
  input: { userId: string; courseId: string; activatedAt: string | null; expiresAt: string | null },
): Promise<ThinkificEnrollment> {
  const response = await client.request<unknown>({
    method: 'POST',
    path: '/enrollments',
    json: {
      course_id: Number(input.courseId),
      user_id: Number(input.userId),
      ...(input.activatedAt ? { activated_at: input.activatedAt } : {}),
      ...(input.expiresAt ? { expiry_date: input.expiresAt } : {}),
    },
  });
  return ThinkificEnrollmentSchema.parse(response.body);
}

/** Returns true when Thinkific queued the work (202) rather than finishing it (201). */
export async function enrollInBundle(
  client: ConnectorHttpClient,
  input: { userId: string; bundleId: string; activatedAt: string | null; expiresAt: string | null },
): Promise<{ queued: boolean }> {
  const response = await client.request({
    method: 'POST',
    path: `/bundles/${encodeURIComponent(input.bundleId)}/enrollments`,
    json: {
      user_id: Number(input.userId),
      ...(input.activatedAt ? { activated_at: input.activatedAt } : {}),
      ...(input.expiresAt ? { expiry_date: input.expiresAt } : {}),
    },
  });
  return { queued: response.status === 202 };
}
