/**
 * Raw Merge HRIS shapes (apis.md §10; https://docs.merge.dev/hris/employees/). Expanded relations
 * arrive as objects, unexpanded ones as ids, so both are accepted.
 */
import { z } from 'zod';

const id = z.string().min(1);

export const MergeEmploymentSchema = z.looseObject({
  id,
  employee: z.string().nullish(),
  job_title: z.string().nullish(),
  effective_date: z.string().nullish(),
  employment_type: z.string().nullish(),
  remote_was_deleted: z.boolean().nullish(),
  modified_at: z.string().nullish(),
});
export type MergeEmployment = z.output<typeof MergeEmploymentSchema>;

const NamedSchema = z.looseObject({ id, name: z.string().nullish() });
const GroupSchema = z.looseObject({ id, name: z.string().nullish(), type: z.string().nullish() });

export const MergeEmployeeSchema = z.looseObject({
  id,
  remote_id: z.string().nullish(),
  modified_at: z.string().nullish(),
  employee_number: z.string().nullish(),
  first_name: z.string().nullish(),
  last_name: z.string().nullish(),
  preferred_name: z.string().nullish(),
  display_full_name: z.string().nullish(),
  work_email: z.string().nullish(),
  groups: z.array(z.union([id, GroupSchema])).nullish(),
  employments: z.array(z.union([id, MergeEmploymentSchema])).nullish(),
  work_location: z.union([id, NamedSchema]).nullish(),
  manager: z.union([id, z.looseObject({ id })]).nullish(),
  team: z.union([id, NamedSchema]).nullish(),
  hire_date: z.string().nullish(),
  start_date: z.string().nullish(),
  employment_status: z.string().nullish(),
  termination_date: z.string().nullish(),
  custom_fields: z.record(z.string(), z.unknown()).nullish(),
  remote_was_deleted: z.boolean().nullish(),
  remote_data: z.unknown().optional(),
  field_mappings: z.unknown().optional(),
});
export type MergeEmployee = z.output<typeof MergeEmployeeSchema>;

/** A cursor page: `next` is a bare cursor (not a URL), null on the last page. */
export function mergePageSchema<T extends z.ZodType>(item: T) {
  return z.object({ next: z.string().nullish(), previous: z.string().nullish(), results: z.array(item) });
}

export const MergeSyncStatusSchema = mergePageSchema(
  z.looseObject({
    model_name: z.string(),
    status: z.string(),
    last_sync_result: z.string().nullish(),
    last_sync_finished: z.string().nullish(),
    is_initial_sync: z.boolean().nullish(),
  }),
);

export const MergeAccountDetailsSchema = z.looseObject({
  integration: z.string().nullish(),
  end_user_organization_name: z.string().nullish(),
  status: z.string().nullish(),
});

/** Django REST framework errors: `{"detail"}`, or field errors `{"field":["message"]}`. */
export const MergeErrorSchema = z.union([
  z.object({ detail: z.string() }),
  z.record(z.string(), z.array(z.string())),
]);
