/**
 * Raw BambooHR shapes (BambooHR/bhr-api-python's OpenAPI file, mirrored in
 * `shared/reference/openapi/bamboohr-v1.yaml`). Report and directory values are strings (or null);
 * the set of keys varies by company and by the fields asked for.
 */
import { z } from 'zod';

const value = z.union([z.string(), z.number(), z.boolean(), z.null()]);

export const BambooFieldSchema = z
  .object({ id: z.union([z.string(), z.number()]), type: z.string().optional(), name: z.string().optional() })
  .loose();

export const BambooEmployeeSchema = z
  .object({ id: z.union([z.string(), z.number()]).transform(String) })
  .catchall(z.union([value, z.array(value), z.record(z.string(), z.unknown())]));
export type BambooEmployee = z.output<typeof BambooEmployeeSchema>;

/** `POST /reports/custom?format=JSON` → `{title, fields:[{id,type,name}], employees:[{id, ...}]}`. */
export const BambooReportSchema = z.object({
  title: z.string().optional(),
  fields: z.array(BambooFieldSchema).optional(),
  employees: z.array(BambooEmployeeSchema),
});

/** `GET /employees/directory` → `{fields, employees}` (active employees only). */
export const BambooDirectorySchema = z.object({
  fields: z.array(BambooFieldSchema),
  employees: z.array(BambooEmployeeSchema),
});

/** `GET /employees/changed?since=` → `{latest, employees: {"123": {id, action, lastChanged}}}`. */
export const BambooChangedSchema = z.object({
  latest: z.string().nullable().optional(),
  employees: z.union([
    z.record(
      z.string(),
      z.object({
        id: z.union([z.string(), z.number()]).transform(String),
        action: z.enum(['Inserted', 'Updated', 'Deleted']),
        lastChanged: z.string().optional(),
      }),
    ),
    // PHP serialises an empty map as a list.
    z.array(z.never()).transform(() => ({})),
  ]),
});

/** `GET /meta/fields` → `[{id, name, type, alias?, deprecated?}]`. */
export const BambooMetaFieldsSchema = z.array(
  z
    .object({
      id: z.union([z.string(), z.number()]),
      name: z.string(),
      type: z.string(),
      alias: z.string().optional(),
      deprecated: z.boolean().optional(),
    })
    .loose(),
);
