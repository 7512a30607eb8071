/**
 * Personio (https://developer.personio.de/reference), read through either API version:
 * - v1 (default): a token from `POST /auth` (24 h, usable in parallel), `GET /company/employees`
 *   with offset paging (page size being cut to 100), `updated_since` increments (which ignore
 *   limit and offset), custom `dynamic_*` attributes. An invalid token is answered 403, a missing
 *   one 401.
 * - v2: an OAuth client-credentials token from `POST /v2/auth/token`, `GET /v2/persons` (1..50 per
 *   page, cursor paging through `_meta.links.next.href`, `updated_at.gt` increments) and one
 *   `GET /v2/persons/{id}/employments` per person for position, org units, supervisor, status and
 *   dates. An expired token is answered 401. Rate limits are not published.
 * Throttling: 429 without rate-limit headers ("retry after at least 1 s") (apis.md §2).
 *
 * Both versions flatten to the same source field keys (`position`, `department`, `supervisor.id`,
 * `hire_date`, ...), so one default mapping serves either; see flatten.ts.
 */
import { z } from 'zod';
import type { HrConnectorManifest } from '../hris-contract.ts';

export const PERSONIO_API_VERSIONS = ['v1', 'v2'] as const;
export type PersonioApiVersion = (typeof PERSONIO_API_VERSIONS)[number];

export const personioConfigSchema = z
  .object({
    apiVersion: z
      .enum(PERSONIO_API_VERSIONS)
      .default('v1')
      .describe(
        'Personio API version: v1 (company/employees; default) or v2 (persons and employments, ' +
          'OAuth client credentials; needs the personio:persons:read scope). In v2, department and ' +
          'team are org unit ids.',
      ),
    baseUrl: z
      .url({ protocol: /^https?$/ })
      .default('https://api.personio.de/v1')
      .describe(
        'API base URL (default https://api.personio.de/v1). With API v2, a URL ending in /v1 is ' +
          'read as the same host’s /v2.',
      ),
    partnerId: z.string().max(200).optional().describe('Sent as X-Personio-Partner-ID.'),
    appId: z.string().max(200).optional().describe('Sent as X-Personio-App-ID.'),
  })
  .strict();
export type PersonioConfig = z.output<typeof personioConfigSchema>;

/** v2 `GET /v2/persons` takes `limit` 1..50 (default 10). */
export const PERSONIO_V2_MAX_PAGE_SIZE = 50;

/** The API root for the configured version (v2 on the same host as a v1 base URL). */
export function personioApiRoot(config: PersonioConfig): string {
  const base = config.baseUrl.replace(/\/+$/, '');
  return config.apiVersion === 'v2' ? base.replace(/\/v1$/, '/v2') : base;
}

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
  // v1's offset paging; v2 pages by cursor with at most 50 (PERSONIO_V2_MAX_PAGE_SIZE).
  pagination: { style: 'offset', maxPageSize: 100, defaultPageSize: 100 },
  rateLimit: {
    throttleStatuses: [429],
    minRetryMs: 1000,
    maxRetries: 6,
    maxRetryAfterMs: 120_000,
    notes:
      'v1 GET /company/employees: 300/min, bursts of 15/s; /auth: 60/min then a 60 s cooldown. v2: limits not published (tight per-person throttling reported). 429 carries no headers.',
  },
  // v1 `updated_since`, v2 `updated_at.gt`; neither reports deletions.
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
      // `department`/`team` hold the unit's name in v1 (its id when unnamed) and the org unit id
      // in v2, whose employments carry no names (translate them with `values.department`).
      department: 'department',
      division: 'subcompany.name',
      team: 'team',
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
