/**
 * Microsoft Graph (Entra ID directory) as a people source (apis.md §6): an app registration with
 * application permissions `User.Read.All` and `GroupMember.Read.All` (or `Directory.Read.All`),
 * client-credentials tokens, users and groups through delta queries: the first read enumerates
 * everything and ends with a delta link; later reads return only what changed, deletions as
 * `@removed`. Group members are resolved transitively (nested groups flattened to people).
 */
import { z } from 'zod';
import type { FieldMapping, HrConnectorManifest } from '../hris-contract.ts';

export const GraphConfigSchema = z.object({
  /** Directory (tenant) id, a GUID, or a verified domain (`contoso.onmicrosoft.com`). */
  tenantId: z
    .string()
    .regex(/^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[a-z0-9.-]+\.[a-z]{2,})$/i, {
      message: 'must be the directory (tenant) id GUID or a verified domain such as contoso.onmicrosoft.com',
    }),
  /** Identity platform host (national clouds differ). */
  authorityUrl: z.url({ protocol: /^https?$/ }).default('https://login.microsoftonline.com'),
  /** Graph host (national clouds differ). */
  graphUrl: z.url({ protocol: /^https?$/ }).default('https://graph.microsoft.com'),
  /** User properties to read beyond the standard set (for custom mappings), e.g. `extension_<appId>_level`. */
  extraUserProperties: z
    .array(z.string().regex(/^[A-Za-z0-9_]+$/))
    .default(['onPremisesExtensionAttributes']),
  /** Read groups and their transitive members too. */
  includeGroups: z.boolean().default(true),
});
export type GraphConfig = z.output<typeof GraphConfigSchema>;

export const GraphCredentialsSchema = z.object({
  /** Application (client) id of the app registration. */
  clientId: z.string().min(1),
  /** A client secret *value* (not its id). */
  clientSecret: z.string().min(1),
});
export type GraphCredentials = z.output<typeof GraphCredentialsSchema>;

/** Properties read for every user (several are not in Graph's default set and must be selected). */
export const GRAPH_USER_PROPERTIES = [
  'id',
  'displayName',
  'givenName',
  'surname',
  'mail',
  'userPrincipalName',
  'accountEnabled',
  'department',
  'jobTitle',
  'employeeId',
  'employeeType',
  'employeeHireDate',
  'officeLocation',
  'employeeOrgData',
] as const;

export const graphDefaultMapping: FieldMapping = {
  fields: {
    employeeNumber: 'employeeId',
    workEmail: 'mail',
    firstName: 'givenName',
    lastName: 'surname',
    displayName: 'displayName',
    jobTitle: 'jobTitle',
    department: 'department',
    division: 'employeeOrgData.division',
    costCenter: 'employeeOrgData.costCenter',
    location: 'officeLocation',
    manager: 'manager.id',
    employmentType: 'employeeType',
    employmentStatus: 'accountEnabled',
    hireDate: 'employeeHireDate',
    startDate: 'employeeHireDate',
  },
  custom: {},
  values: {
    employmentStatus: { true: 'active', false: 'inactive' },
    employmentType: {
      employee: 'full_time',
      member: 'full_time',
      contractor: 'contractor',
      intern: 'intern',
    },
  },
};

export const graphManifest: HrConnectorManifest<GraphConfig, GraphCredentials> = {
  provider: 'microsoft_graph',
  displayName: 'Microsoft Graph',
  kinds: ['directory'],
  auth: { mode: 'oauth2_client_credentials', refreshOn: [401] },
  baseUrl: 'https://graph.microsoft.com/v1.0',
  pagination: { style: 'delta_link', maxPageSize: 999, defaultPageSize: 999 },
  rateLimit: {
    throttleStatuses: [429],
    minRetryMs: 1000,
    maxRetries: 6,
    maxRetryAfterMs: 300_000,
    notes: 'Graph throttles with 429 and Retry-After in seconds; 503/504 are retried with backoff.',
  },
  incremental: { supported: true, style: 'delta_link', signalsDeletions: true },
  capabilities: { groups: true, jobHistory: false, customFields: true },
  configSchema: GraphConfigSchema,
  credentialsSchema: GraphCredentialsSchema,
  defaultMapping: graphDefaultMapping,
};
