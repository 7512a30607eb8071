/**
 * Raw Workday shapes (apis.md §4, [3p]). A RaaS custom report as JSON is `{"Report_Entry":[...]}`
 * whose keys are the report's column aliases, so entries are open records; multi-instance columns
 * are arrays of objects. Empty columns are omitted rather than null.
 */
import { z } from 'zod';

const ReportValueSchema: z.ZodType<unknown> = z.union([
  z.string(),
  z.number(),
  z.boolean(),
  z.null(),
  z.array(z.union([z.string(), z.number(), z.boolean(), z.record(z.string(), z.unknown())])),
  z.record(z.string(), z.unknown()),
]);

export const WorkdayReportEntrySchema = z.record(z.string(), ReportValueSchema);
export type WorkdayReportEntry = z.output<typeof WorkdayReportEntrySchema>;

export const WorkdayReportSchema = z.object({ Report_Entry: z.array(WorkdayReportEntrySchema) });

/** A job history row (the `Job_History` multi-instance column of the recommended report). */
export const WorkdayJobHistoryEntrySchema = z.looseObject({
  Effective_Date: z.string(),
  Business_Title: z.string().optional(),
  Management_Level: z.string().optional(),
  Department: z.string().optional(),
  Business_Process_Reason: z.string().optional(),
});

/** The OAuth token response of `/ccx/oauth2/{tenant}/token`. */
export const WorkdayTokenSchema = z.object({
  access_token: z.string().min(1),
  token_type: z.string().optional(),
  expires_in: z.coerce.number().optional(),
});

/** Workday's REST error shape `{"error","errors":[{"error"}]}`, or an OAuth error. */
export const WorkdayErrorSchema = z.object({
  error: z.string().optional(),
  error_description: z.string().optional(),
  errors: z.array(z.object({ error: z.string() }).partial()).optional(),
});
