/**
 * Changes an enrollment's activation and expiry: `PUT /enrollments/{id}` → 204, or
 * `PUT /bundles/{id}/enrollments` → 204 for every course of a bundle. Expiring now is how access is
 * taken away (the enrollment and its progress stay); a null expiry restores unlimited access.
 */
import type { ConnectorHttpClient } from '../../http.ts';

export async function updateEnrollment(
  client: ConnectorHttpClient,
  input: { enrollmentId: string; activatedAt: string | null; expiresAt: string | null },
): Promise<void> {
  await client.request({
    method: 'PUT',
    path: `/enrollments/${encodeURIComponent(input.enrollmentId)}`,
    json: { activated_at: input.activatedAt, expiry_date: input.expiresAt },
  });
}

export async function updateBundleEnrollment(
  client: ConnectorHttpClient,
  input: { bundleId: string; userId: string; activatedAt: string | null; expiresAt: string | null },
): Promise<void> {
  await client.request({
    method: 'PUT',
    path: `/bundles/${encodeURIComponent(input.bundleId)}/enrollments`,
    json: { user_id: Number(input.userId), activated_at: input.activatedAt, expiry_date: input.expiresAt },
  });
}

/** Reads a bundle's course ids (`GET /bundles/{id}`): v1 has no other way to see its contents. */
export async function bundleCourseIds(client: ConnectorHttpClient, bundleId: string): Promise<string[]> {
  const response = await client.request<{ course_ids?: number[] }>({
    path: `/bundles/${encodeURIComponent(bundleId)}`,
  });
  return (response.body?.course_ids ?? []).map(String);
}
