/**
 * BambooHR (https://documentation.bamboohr.com/reference): HTTP Basic with the API key as user
 * name and `x` as password; `Accept: application/json` (without it every answer is XML).
 * People are read with the custom report (`POST /reports/custom`, all statuses, the fields we
 * name) in pages of employee ids, or from the directory (active people only). Increments come from
 * `GET /employees/changed?since=`, which also reports deletions. Throttling: 503 + Retry-After
 * until 16 Sep 2026, 429 + Retry-After after; both are retried. Errors carry an
 * `X-BambooHR-Error-Message` header and often an empty body.
 */
import { z } from 'zod';
import type { HrConnectorManifest } from '../hris-contract.ts';

export const bamboohrConfigSchema = z
  .object({
    companyDomain: z
      .string()
      .regex(
        /^[a-z0-9][a-z0-9-]{0,62}$/i,
        'expected the company subdomain, as in https://<companyDomain>.bamboohr.com',
      )
      .describe('The company subdomain (https://<companyDomain>.bamboohr.com).'),
    baseUrl: z
      .url({ protocol: /^https?$/ })
      .optional()
      .describe('Override of https://{companyDomain}.bamboohr.com/api/v1 (e.g. the legacy gateway URL).'),
    source: z
      .enum(['report', 'directory'])
      .default('report')
      .describe(
        '`report` (default): every employee, active or not, with the fields the mapping names. `directory`: the employee directory (active employees only, fields as shared).',
      ),
    fields: z
      .array(z.string().min(1).max(100))
      .max(300)
      .default([])
      .describe('Extra report fields to read (aliases such as customLevel, or numeric field ids).'),
  })
  .strict();
export type BamboohrConfig = z.output<typeof bamboohrConfigSchema>;

export const bamboohrCredentialsSchema = z.object({ apiKey: z.string().min(10).max(500) }).strict();
export type BamboohrCredentials = z.output<typeof bamboohrCredentialsSchema>;

/** Report fields read by default (BambooHR field aliases). */
export const BAMBOO_DEFAULT_FIELDS = [
  'employeeNumber',
  'firstName',
  'lastName',
  'preferredName',
  'displayName',
  'workEmail',
  'jobTitle',
  'department',
  'division',
  'location',
  'supervisorEId',
  'status',
  'employmentHistoryStatus',
  'hireDate',
  'originalHireDate',
  'terminationDate',
] as const;

export const bamboohrManifest: HrConnectorManifest<BamboohrConfig, BamboohrCredentials> = {
  provider: 'bamboohr',
  displayName: 'BambooHR',
  kinds: ['hris'],
  auth: { mode: 'basic', refreshOn: [] },
  baseUrl: 'https://{companyDomain}.bamboohr.com/api/v1',
  pagination: { style: 'cursor', maxPageSize: 400, defaultPageSize: 200 },
  rateLimit: {
    throttleStatuses: [429, 503],
    minRetryMs: 500,
    maxRetries: 6,
    maxRetryAfterMs: 300_000,
    notes: 'No published number. Throttled: 503 + Retry-After until 16 Sep 2026, then 429 + Retry-After.',
  },
  incremental: { supported: true, style: 'changed_since', signalsDeletions: true },
  capabilities: { groups: false, jobHistory: false, customFields: true },
  configSchema: bamboohrConfigSchema,
  credentialsSchema: bamboohrCredentialsSchema,
  defaultMapping: {
    fields: {
      employeeNumber: 'employeeNumber',
      workEmail: 'workEmail',
      firstName: 'firstName',
      lastName: 'lastName',
      preferredName: 'preferredName',
      displayName: 'displayName',
      jobTitle: 'jobTitle',
      department: 'department',
      division: 'division',
      location: 'location',
      manager: 'supervisorEId',
      employmentType: 'employmentHistoryStatus',
      employmentStatus: 'status',
      hireDate: 'hireDate',
      terminationDate: 'terminationDate',
    },
    custom: {},
    values: {
      employmentStatus: { active: 'active', inactive: 'inactive' },
      employmentType: {
        'full-time': 'full_time',
        'part-time': 'part_time',
        contractor: 'contractor',
        intern: 'intern',
        freelance: 'freelance',
      },
    },
  },
};
