/**
 * Merge unified HRIS (apis.md §10): one linked account (the customer's HR system as Merge syncs
 * it) read through Merge's common model. Increments use `modified_after` on both Employees and
 * Employments (a new job title changes only the Employment), with `include_deleted_data=true` so
 * deletions arrive as `remote_was_deleted`. A full read waits for Merge's own sync of the
 * Employee model to be DONE: before that the data is incomplete and deletion detection would
 * remove people who simply have not been synced yet.
 */
import { z } from 'zod';
import type { FieldMapping, HrConnectorManifest } from '../hris-contract.ts';

export const MergeConfigSchema = z.object({
  /** `https://api.merge.dev/api/hris/v1`, or the EU (`api-eu`) / APAC (`api-ap`) host. */
  baseUrl: z.url({ protocol: /^https?$/ }).default('https://api.merge.dev/api/hris/v1'),
  /** Refuse full reads until Merge reports the Employee model's last sync as DONE. */
  requireCompleteSync: z.boolean().default(true),
});
export type MergeConfig = z.output<typeof MergeConfigSchema>;

export const MergeCredentialsSchema = z.object({
  /** The organisation's Merge API key (production access key). */
  apiKey: z.string().min(1),
  /** The linked account's token (`X-Account-Token`). */
  accountToken: z.string().min(1),
});
export type MergeCredentials = z.output<typeof MergeCredentialsSchema>;

export const mergeDefaultMapping: FieldMapping = {
  fields: {
    employeeNumber: 'employee_number',
    workEmail: 'work_email',
    firstName: 'first_name',
    lastName: 'last_name',
    preferredName: 'preferred_name',
    displayName: 'display_full_name',
    jobTitle: 'job_title',
    department: 'groups.DEPARTMENT',
    division: 'groups.BUSINESS_UNIT',
    team: 'team.name',
    location: 'work_location.name',
    costCenter: 'groups.COST_CENTER',
    manager: 'manager',
    employmentType: 'employment_type',
    employmentStatus: 'employment_status',
    hireDate: 'hire_date',
    startDate: 'start_date',
    terminationDate: 'termination_date',
  },
  custom: {},
  values: {
    employmentStatus: { active: 'active', pending: 'pending', inactive: 'inactive' },
    employmentType: {
      full_time: 'full_time',
      part_time: 'part_time',
      intern: 'intern',
      contractor: 'contractor',
      freelance: 'freelance',
    },
  },
};

export const mergeManifest: HrConnectorManifest<MergeConfig, MergeCredentials> = {
  provider: 'merge',
  displayName: 'Merge',
  kinds: ['hris'],
  auth: { mode: 'api_key_bearer', refreshOn: [] },
  baseUrl: 'https://api.merge.dev/api/hris/v1',
  pagination: { style: 'cursor', maxPageSize: 100, defaultPageSize: 100 },
  rateLimit: {
    throttleStatuses: [429],
    minRetryMs: 1000,
    maxRetries: 5,
    maxRetryAfterMs: 120_000,
    notes:
      'Per linked account: 100/min (Launch), 400/min (Professional), 600/min (Enterprise) → 429 with Retry-After. More than 20 failed requests from one IP in 10 s blocks it, so errors are not retried blindly.',
  },
  incremental: { supported: true, style: 'modified_after', signalsDeletions: true },
  capabilities: { groups: false, jobHistory: true, customFields: true },
  configSchema: MergeConfigSchema,
  credentialsSchema: MergeCredentialsSchema,
  defaultMapping: mergeDefaultMapping,
};
