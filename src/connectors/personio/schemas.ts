/**
 * Raw Personio API v1 shapes (personio/api-docs `personio-personnel-data-api-oa3.yaml`, mirrored in
 * `shared/reference/openapi/personio-v1.yaml`). Every employee attribute is wrapped as
 * `{label, value, type, universal_id}`; relations nest (`supervisor.value` is an Employee,
 * `department.value` a `{type, attributes: {id, name}}`), custom fields are `dynamic_<n>`.
 */
import { z } from 'zod';

/** `POST /auth` → `{"success":true,"data":{"token":"papi-…","expires_in":86400,"scope":"…"}}`. */
export const PersonioAuthResponseSchema = z.object({
  success: z.literal(true),
  data: z.object({
    token: z.string().min(1),
    expires_in: z.number().int().positive().optional(),
    scope: z.string().optional(),
  }),
});

export const PersonioAttributeSchema = z
  .object({
    label: z.string(),
    value: z.unknown(),
    type: z.string(),
    universal_id: z.string().nullable().optional(),
  })
  .loose();
export type PersonioAttribute = z.output<typeof PersonioAttributeSchema>;

/**
 * An attribute as the list endpoint wraps it. Checked structurally (an object with `value`) rather
 * than with a full object schema: a 100,000-person read has 2.5 million of them.
 */
const WrappedAttributeSchema = z.custom<PersonioAttribute>(
  (value) => typeof value === 'object' && value !== null && !Array.isArray(value) && 'value' in value,
  { message: 'expected a wrapped attribute {label, value, type, universal_id}' },
);

export const PersonioEmployeeSchema = z.object({
  type: z.literal('Employee'),
  attributes: z
    .record(z.string(), WrappedAttributeSchema)
    .refine((attributes) => attributes.id !== undefined && attributes.id.value !== null, {
      message: 'every employee carries its id attribute',
    }),
});
export type PersonioEmployee = z.output<typeof PersonioEmployeeSchema>;

/** `GET /company/employees` (offset paging; `updated_since` ignores limit and offset). */
export const PersonioEmployeesResponseSchema = z.object({
  success: z.literal(true),
  metadata: z
    .object({
      total_elements: z.number().int().nonnegative(),
      current_page: z.number().int().nonnegative(),
      total_pages: z.number().int().nonnegative(),
    })
    .optional(),
  offset: z.number().int().nonnegative().optional(),
  limit: z.number().int().nonnegative().optional(),
  data: z.array(PersonioEmployeeSchema),
});

/** `GET /company/employees/attributes`. */
export const PersonioAttributesResponseSchema = z.object({
  success: z.literal(true),
  data: z.array(
    z
      .object({
        key: z.string(),
        label: z.string(),
        type: z.string(),
        universal_id: z.string().nullable().optional(),
        options: z.array(z.unknown()).optional(),
      })
      .loose(),
  ),
});

/** Error body: `{"success":false,"error":{"code":422,"message":"…"}}`. */
export const PersonioErrorSchema = z.object({
  success: z.literal(false),
  error: z.object({ code: z.union([z.number(), z.string()]).optional(), message: z.string() }).loose(),
});
