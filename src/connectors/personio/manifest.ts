/**
 * Personio (API v1, https://developer.personio.de/reference): a token from `POST /auth` (24 h,
 * usable in parallel), `GET /company/employees` with offset paging (page size being cut to 100),
 * `updated_since` increments (which ignore limit and offset), custom `dynamic_*` attributes.
 * Throttling: 429 without rate-limit headers ("retry after at least 1 s"); an invalid token is
 * answered 403, a missing one 401 (apis.md §2).
 */
import { z } from 'zod';
import type { HrConnectorManifest } from '../hris-contract.ts';

export const personioConfigSchema = z
  .object({
    baseUrl: z
      .url({ protocol: /^https?$/ })
      .default('https://api.personio.de/v1')
      .describe('API base URL (default https://api.personio.de/v1).'),
    partnerId: z.string().max(200).optional().describe('Sent as X-Personio-Partner-ID.'),
    appId: z.string().max(200).optional().describe('Sent as X-Personio-App-ID.'),
  })
  .strict();
export type PersonioConfig = z.output<typeof personioConfigSchema>;

export const personioCredentialsSchema = z
  .object({
    clientId: z.string().min(1).max(500),
    clientSecret: z.string().min(1).max(500),
  })
  .strict();
export type PersonioCredentials = z.output<typeof personioCredentialsSchema>;

export const personioManifest: HrConnectorManifest<PersonioConfig, PersonioCredentials> = {
  provider: 'personio',
  displayName: 'Personio',
  kinds: ['hris'],
  auth: { mode: 'oauth2_client_credentials', refreshOn: [401, 403] },
  baseUrl: 'https://api.personio.de/v1',
  pagination: { style: 'offset', maxPageSize: 100, defaultPageSize: 100 },
  rateLimit: {
    throttleStatuses: [429],
    minRetryMs: 1000,
    maxRetries: 6,
    maxRetryAfterMs: 120_000,
    notes:
      'GET /company/employees: 300/min, bursts of 15/s; /auth: 60/min then a 60 s cooldown. 429 carries no headers.',
  },
  incremental: { supported: true, style: 'updated_since', signalsDeletions: false },
  capabilities: { groups: false, jobHistory: false, customFields: true },
  configSchema: personioConfigSchema,
  credentialsSchema: personioCredentialsSchema,
  defaultMapping: {
    fields: {
      employeeNumber: 'id',
      workEmail: 'email',
      firstName: 'first_name',
      lastName: 'last_name',
      preferredName: 'preferred_name',
      jobTitle: 'position',
      department: 'department.name',
      division: 'subcompany.name',
      team: 'team.name',
      location: 'office.name',
      costCenter: 'cost_centers.name',
      manager: 'supervisor.id',
      employmentType: 'employment_type',
      employmentStatus: 'status',
      hireDate: 'hire_date',
      terminationDate: 'termination_date',
    },
    custom: {},
    values: {
      employmentStatus: { active: 'active', onboarding: 'pending', leave: 'active', inactive: 'inactive' },
      employmentType: { internal: 'full_time', external: 'contractor' },
    },
  },
};
