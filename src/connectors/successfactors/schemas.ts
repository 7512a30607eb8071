/**
 * Raw SuccessFactors OData v2 shapes (apis.md §5;
 * https://help.sap.com/docs/SAP_SUCCESSFACTORS_PLATFORM/d599f15995d348a1b45ba5603e2aba9b).
 * Every list is `{"d":{"results":[…],"__next"?}}`; dates are `/Date(ms)/` or `/Date(ms+0000)/`.
 */
import { z } from 'zod';

export const ODATA_DATE = /^\/Date\((-?\d+)(?:[+-]\d{4})?\)\/$/;
const ODataDateSchema = z.string().regex(ODATA_DATE, { message: 'expected an OData date /Date(ms)/' });

export const SfUserSchema = z.looseObject({
  userId: z.string().min(1),
  username: z.string().nullish(),
  firstName: z.string().nullish(),
  lastName: z.string().nullish(),
  email: z.string().nullish(),
  status: z.string().nullish(),
  empId: z.string().nullish(),
  department: z.string().nullish(),
  division: z.string().nullish(),
  location: z.string().nullish(),
  title: z.string().nullish(),
  hireDate: ODataDateSchema.nullish(),
  lastModifiedDateTime: ODataDateSchema.nullish(),
  manager: z.union([z.looseObject({ userId: z.string().nullish() }), z.null()]).optional(),
});
export type SfUser = z.output<typeof SfUserSchema>;

export const SfEmpJobSchema = z.looseObject({
  userId: z.string(),
  startDate: ODataDateSchema,
  endDate: ODataDateSchema.nullish(),
  jobTitle: z.string().nullish(),
  payGrade: z.string().nullish(),
  department: z.string().nullish(),
  costCenter: z.string().nullish(),
  managerId: z.string().nullish(),
  emplStatus: z.string().nullish(),
  eventReason: z.string().nullish(),
  employeeClass: z.string().nullish(),
});
export type SfEmpJob = z.output<typeof SfEmpJobSchema>;

export const SfPerPersonalSchema = z.looseObject({
  personIdExternal: z.string(),
  startDate: ODataDateSchema.nullish(),
  firstName: z.string().nullish(),
  lastName: z.string().nullish(),
  preferredName: z.string().nullish(),
  displayName: z.string().nullish(),
});
export type SfPerPersonal = z.output<typeof SfPerPersonalSchema>;

export function sfListSchema<T extends z.ZodType>(item: T) {
  return z.object({ d: z.object({ results: z.array(item), __next: z.string().optional() }) });
}

export const SfTokenSchema = z.object({
  access_token: z.string().min(1),
  token_type: z.string().optional(),
  expires_in: z.coerce.number().optional(),
});

/** OData errors `{"error":{"code","message":{"lang","value"}}}`. */
export const SfODataErrorSchema = z.object({
  error: z.object({ code: z.string(), message: z.looseObject({ value: z.string() }) }),
});

/** The token endpoint's errors `{"errorCode","errorMessage"}`. */
export const SfOAuthErrorSchema = z.looseObject({ errorMessage: z.string() });

/** Milliseconds since the epoch from an OData v2 date, or undefined. */
export function odataMillis(value: string | null | undefined): number | undefined {
  const match = value ? ODATA_DATE.exec(value) : null;
  return match ? Number(match[1]) : undefined;
}

/** `YYYY-MM-DD` from an OData v2 date (UTC: SuccessFactors dates are UTC midnights). */
export function odataDay(value: string | null | undefined): string | undefined {
  const ms = odataMillis(value);
  return ms === undefined ? undefined : new Date(ms).toISOString().slice(0, 10);
}
