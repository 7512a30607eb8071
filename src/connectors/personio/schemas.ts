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

// ---------------------------------------------------------------------------------------------
// API v2 (https://developer.personio.de/reference/get_v2-persons, apis.md §2 "API v2").
// ---------------------------------------------------------------------------------------------

/** `POST /v2/auth/token` (OAuth 2.0 client credentials) → `{access_token, token_type, expires_in}`. */
export const PersonioV2TokenResponseSchema = z.object({
  access_token: z.string().min(1),
  token_type: z.string().refine((type) => type.toLowerCase() === 'bearer', {
    message: 'expected token_type Bearer',
  }),
  expires_in: z.number().int().positive().optional(),
  scope: z.string().optional(),
});

const PersonioV2IdSchema = z.union([z.string().min(1), z.number()]).transform(String);

/** `_meta.links.next.href`: present while there is a next page. */
const PersonioV2PageMetaSchema = z
  .object({
    links: z
      .object({
        next: z
          .object({ href: z.string().min(1) })
          .loose()
          .nullish(),
      })
      .loose()
      .optional(),
  })
  .loose();

export const PersonioV2CustomAttributeSchema = z
  .object({
    id: PersonioV2IdSchema,
    global_id: PersonioV2IdSchema.nullish(),
    value: z.unknown(),
  })
  .loose();

export const PersonioV2PersonSchema = z
  .object({
    id: PersonioV2IdSchema,
    email: z.string().nullish(),
    first_name: z.string().nullish(),
    last_name: z.string().nullish(),
    preferred_name: z.string().nullish(),
    created_at: z.string().nullish(),
    updated_at: z.string().nullish(),
    custom_attributes: z.array(PersonioV2CustomAttributeSchema).nullish(),
    employments: z.array(z.object({ id: PersonioV2IdSchema }).loose()).nullish(),
  })
  .loose();
export type PersonioV2Person = z.output<typeof PersonioV2PersonSchema>;

/** `GET /v2/persons` (cursor paging: follow `_meta.links.next.href`). */
export const PersonioV2PersonsResponseSchema = z.object({
  _data: z.array(PersonioV2PersonSchema),
  _meta: PersonioV2PageMetaSchema.optional(),
});

export const PersonioV2EmploymentSchema = z
  .object({
    id: PersonioV2IdSchema,
    status: z.string().nullish(),
    supervisor: z.object({ id: PersonioV2IdSchema }).loose().nullish(),
    org_units: z.array(z.object({ type: z.string(), id: PersonioV2IdSchema }).loose()).nullish(),
    position: z.object({ title: z.string().nullish() }).loose().nullish(),
    employment_start_date: z.string().nullish(),
    termination: z.object({ termination_date: z.string().nullish() }).loose().nullish(),
  })
  .loose();
export type PersonioV2Employment = z.output<typeof PersonioV2EmploymentSchema>;

/** `GET /v2/persons/{id}/employments`. */
export const PersonioV2EmploymentsResponseSchema = z.object({
  _data: z.array(PersonioV2EmploymentSchema),
  _meta: PersonioV2PageMetaSchema.optional(),
});

/** v2 error body: `{"timestamp","trace_id","errors":[{"title","details","type"}]}`. */
export const PersonioV2ErrorSchema = z.object({
  timestamp: z.string().optional(),
  trace_id: z.string().optional(),
  errors: z
    .array(
      z
        .object({ title: z.string().optional(), details: z.string().optional(), type: z.string().optional() })
        .loose(),
    )
    .min(1),
});
