/**
 * Google Workspace directory (Admin SDK Directory API) as a people source (apis.md §6): a service
 * account with domain-wide delegation signs an RS256 JWT for an admin (`sub`) and trades it for a
 * token; users (with the `HR` custom schema when present) and groups with their members, nested
 * groups included. No increments exist, so every read is full and deletions are what it no longer
 * returns. Quota overruns come back as 403 `userRateLimitExceeded` and are backed off, not failed.
 */
import { z } from 'zod';
import type { FieldMapping, HrConnectorManifest } from '../hris-contract.ts';

export const GoogleConfigSchema = z.object({
  /** A Workspace admin the service account acts as (the JWT's `sub`). */
  adminEmail: z.email({
    message: 'must be the email of a Google Workspace admin for the service account to act as',
  }),
  /** `my_customer` (the admin's own account) or a customer id such as `C03az79cb`. */
  customer: z
    .string()
    .regex(/^(my_customer|C[0-9a-z]+)$/i)
    .default('my_customer'),
  directoryUrl: z.url({ protocol: /^https?$/ }).default('https://admin.googleapis.com'),
  includeGroups: z.boolean().default(true),
});
export type GoogleConfig = z.output<typeof GoogleConfigSchema>;

const ServiceAccountKeySchema = z.looseObject({
  type: z.literal('service_account', { message: 'must be a service account key (type "service_account")' }),
  client_email: z.email(),
  private_key: z
    .string()
    .includes('PRIVATE KEY', { message: 'must hold the PEM private key of the service account' }),
  private_key_id: z.string().min(1),
  client_id: z.string().optional(),
  token_uri: z.url().default('https://oauth2.googleapis.com/token'),
});

export const GoogleCredentialsSchema = z.object({
  /** The service account's JSON key, as downloaded from Google Cloud (object or JSON text). */
  serviceAccountKey: z.preprocess((value) => {
    if (typeof value !== 'string') return value;
    try {
      return JSON.parse(value);
    } catch {
      return value;
    }
  }, ServiceAccountKeySchema),
});
export type GoogleCredentials = z.output<typeof GoogleCredentialsSchema>;

export const GOOGLE_SCOPES = [
  'https://www.googleapis.com/auth/admin.directory.user.readonly',
  'https://www.googleapis.com/auth/admin.directory.group.readonly',
] as const;

export const googleDefaultMapping: FieldMapping = {
  fields: {
    employeeNumber: 'externalId.organization',
    workEmail: 'primaryEmail',
    firstName: 'name.givenName',
    lastName: 'name.familyName',
    displayName: 'name.fullName',
    jobTitle: 'organization.title',
    department: 'organization.department',
    costCenter: 'organization.costCenter',
    location: 'location.buildingId',
    manager: 'manager.id',
    employmentType: 'organization.description',
    employmentStatus: 'suspended',
    // Google has no HR dates or levels; many domains keep them in a custom schema named HR.
    level: 'customSchemas.HR.level',
    hireDate: 'customSchemas.HR.hire_date',
  },
  custom: {},
  values: {
    employmentStatus: { false: 'active', true: 'inactive' },
    employmentType: { employee: 'full_time', contractor: 'contractor', intern: 'intern' },
  },
};

export const googleManifest: HrConnectorManifest<GoogleConfig, GoogleCredentials> = {
  provider: 'google_workspace',
  displayName: 'Google Workspace',
  kinds: ['directory'],
  auth: { mode: 'oauth2_jwt_bearer', refreshOn: [401] },
  baseUrl: 'https://admin.googleapis.com/admin/directory/v1',
  pagination: { style: 'page_token', maxPageSize: 500, defaultPageSize: 500 },
  rateLimit: {
    throttleStatuses: [429],
    minRetryMs: 1000,
    maxRetries: 6,
    maxRetryAfterMs: 60_000,
    notes:
      '2,400 queries/min per user per project; over it Google answers 403 userRateLimitExceeded (or quotaExceeded) without Retry-After: exponential backoff from 1 s.',
  },
  incremental: { supported: false, signalsDeletions: false },
  capabilities: { groups: true, jobHistory: false, customFields: true },
  configSchema: GoogleConfigSchema,
  credentialsSchema: GoogleCredentialsSchema,
  defaultMapping: googleDefaultMapping,
};
