/**
 * Raw Microsoft identity platform and Graph v1.0 shapes (apis.md §6;
 * https://learn.microsoft.com/graph/api/resources/user, /graph/delta-query-overview).
 * Delta pages carry partial users (id + changed properties) and `@removed` entries.
 */
import { z } from 'zod';

export const GraphTokenSchema = z.object({
  access_token: z.string().min(1),
  token_type: z.string().optional(),
  expires_in: z.coerce.number().optional(),
});

export const GraphRemovedSchema = z.object({ reason: z.string() });

export const GraphUserSchema = z.looseObject({
  id: z.string().min(1),
  displayName: z.string().nullish(),
  givenName: z.string().nullish(),
  surname: z.string().nullish(),
  mail: z.string().nullish(),
  userPrincipalName: z.string().nullish(),
  accountEnabled: z.boolean().nullish(),
  department: z.string().nullish(),
  jobTitle: z.string().nullish(),
  employeeId: z.string().nullish(),
  employeeType: z.string().nullish(),
  employeeHireDate: z.string().nullish(),
  officeLocation: z.string().nullish(),
  employeeOrgData: z
    .looseObject({ division: z.string().nullish(), costCenter: z.string().nullish() })
    .nullish(),
  onPremisesExtensionAttributes: z.record(z.string(), z.string().nullable()).nullish(),
  manager: z.looseObject({ id: z.string() }).nullish(),
  '@removed': GraphRemovedSchema.optional(),
});
export type GraphUser = z.output<typeof GraphUserSchema>;

export const GraphDirectoryObjectSchema = z.looseObject({
  id: z.string().min(1),
  '@odata.type': z.string().optional(),
  '@removed': GraphRemovedSchema.optional(),
});

export const GraphGroupDeltaSchema = z.looseObject({
  id: z.string().min(1),
  displayName: z.string().nullish(),
  'members@delta': z.array(GraphDirectoryObjectSchema).optional(),
  '@removed': GraphRemovedSchema.optional(),
});
export type GraphGroupDelta = z.output<typeof GraphGroupDeltaSchema>;

/** A collection page: `value` plus `@odata.nextLink` or (delta, last page) `@odata.deltaLink`. */
export function graphCollectionSchema<T extends z.ZodType>(item: T) {
  return z.object({
    value: z.array(item),
    '@odata.nextLink': z.string().optional(),
    '@odata.deltaLink': z.string().optional(),
  });
}

/** Graph's error body, or the identity platform's OAuth error. */
export const GraphErrorSchema = z.union([
  z.object({ error: z.looseObject({ code: z.string(), message: z.string().optional() }) }),
  z.object({ error: z.string(), error_description: z.string().optional() }),
]);
