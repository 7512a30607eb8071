/** Raw Thinkific payloads, parsed at the boundary and mapped to the canonical model. */
import { z } from 'zod';
import type { RemoteAccount, RemoteEnrollment } from '../destination.ts';

export const ThinkificUserSchema = z.looseObject({
  id: z.number(),
  email: z.string(),
  first_name: z.string().nullable().optional(),
  last_name: z.string().nullable().optional(),
  external_source: z.string().nullable().optional(),
});
export type ThinkificUser = z.infer<typeof ThinkificUserSchema>;

export const ThinkificEnrollmentSchema = z.looseObject({
  id: z.number(),
  user_id: z.number(),
  course_id: z.number(),
  activated_at: z.string().nullable().optional(),
  expiry_date: z.string().nullable().optional(),
  expired: z.boolean().optional(),
});
export type ThinkificEnrollment = z.infer<typeof ThinkificEnrollmentSchema>;

export const ThinkificGroupSchema = z.looseObject({ id: z.number(), name: z.string() });
export type ThinkificGroup = z.infer<typeof ThinkificGroupSchema>;

export const ThinkificBundleSchema = z.looseObject({ id: z.number(), course_ids: z.array(z.number()) });

export function toRemoteAccount(user: ThinkificUser): RemoteAccount {
  return { remoteId: String(user.id), email: user.email };
}

export function toRemoteCourseEnrollment(enrollment: ThinkificEnrollment): RemoteEnrollment {
  const expiresAt = enrollment.expiry_date ?? null;
  return {
    remoteId: String(enrollment.id),
    kind: 'course',
    productId: String(enrollment.course_id),
    activatedAt: enrollment.activated_at ?? null,
    expiresAt,
    expired: enrollment.expired ?? (expiresAt !== null && Date.parse(expiresAt) <= Date.now()),
  };
}
