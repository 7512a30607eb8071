/**
 * Workday through a RaaS custom report as JSON (apis.md §4): one GET returns the whole report,
 * so reads are always full (deletion detection compares with the previous run) and the connector
 * hands the engine the report in pages of `pageSize` rows, each with a resume checkpoint.
 * Auth is Basic as an Integration System User, or OAuth with a refresh token issued to an
 * "API Client for Integrations".
 */
import { z } from 'zod';
import type { FieldMapping, HrConnectorManifest } from '../hris-contract.ts';

export const WorkdayConfigSchema = z.object({
  /**
   * The report's RaaS URL without `format`: `https://{host}/ccx/service/customreport2/{tenant}/{owner}/{Report_Name}`
   * (Workday: the report's Actions → Web Service → View URLs).
   */
  reportUrl: z
    .url({ protocol: /^https?$/ })
    .refine((url) => /\/ccx\/service\/customreport2\/[^/]+\/[^/]+\/[^/?#]+/.test(url), {
      message:
        'must be a RaaS report URL like https://{host}/ccx/service/customreport2/{tenant}/{owner}/{Report_Name}',
    }),
  /** Report prompts sent as query parameters (`Include_Terminated_Workers=1`). */
  prompts: z.record(z.string().regex(/^[A-Za-z0-9_!.-]+$/), z.string()).default({}),
  /** OAuth token endpoint; defaults to `https://{host}/ccx/oauth2/{tenant}/token`. */
  tokenUrl: z.url({ protocol: /^https?$/ }).optional(),
  /** The column whose value identifies a worker across runs (the WID column of the recommended report). */
  idColumn: z.string().min(1).default('Workday_ID'),
  /** Column holding job history rows (multi-instance), when the report has one. */
  jobHistoryColumn: z.string().min(1).default('Job_History'),
});
export type WorkdayConfig = z.output<typeof WorkdayConfigSchema>;

export const WorkdayCredentialsSchema = z.discriminatedUnion('type', [
  /** Integration System User; the username may carry `@tenant`. */
  z.object({ type: z.literal('basic'), username: z.string().min(1), password: z.string().min(1) }),
  z.object({
    type: z.literal('oauth'),
    clientId: z.string().min(1),
    clientSecret: z.string().min(1),
    refreshToken: z.string().min(1),
  }),
]);
export type WorkdayCredentials = z.output<typeof WorkdayCredentialsSchema>;

/** Columns of the report Switchboard's guide asks customers to build (docs/hris.md, Workday). */
export const workdayDefaultMapping: FieldMapping = {
  fields: {
    employeeNumber: 'Employee_ID',
    workEmail: 'Email_Primary_Work',
    firstName: 'Legal_Name_First_Name',
    lastName: 'Legal_Name_Last_Name',
    preferredName: 'Preferred_Name_First_Name',
    displayName: 'Worker',
    jobTitle: 'Business_Title',
    level: 'Management_Level',
    department: 'Department',
    division: 'Division',
    team: 'Team',
    location: 'Location',
    costCenter: 'Cost_Center_ID',
    manager: 'Manager_Workday_ID',
    employmentType: 'Employee_Type',
    employmentStatus: 'Active_Status',
    hireDate: 'Hire_Date',
    startDate: 'Hire_Date',
    terminationDate: 'Termination_Date',
    competencies: 'Skills.Skill',
  },
  custom: {},
  values: {
    employmentStatus: { '1': 'active', '0': 'inactive', true: 'active', false: 'inactive' },
    employmentType: {
      regular: 'full_time',
      'fixed term': 'full_time',
      temporary: 'contractor',
      contractor: 'contractor',
      consultant: 'contractor',
      intern: 'intern',
    },
  },
};

export const workdayManifest: HrConnectorManifest<WorkdayConfig, WorkdayCredentials> = {
  provider: 'workday',
  displayName: 'Workday',
  kinds: ['hris'],
  // Basic (ISU) is the common setup; OAuth refresh-token credentials are accepted too and their
  // access token is refreshed on 401.
  auth: { mode: 'basic', refreshOn: [401] },
  baseUrl: 'https://{host}/ccx/service/customreport2/{tenant}/{owner}/{report}',
  pagination: { style: 'none', maxPageSize: 5000, defaultPageSize: 500 },
  rateLimit: {
    throttleStatuses: [429],
    minRetryMs: 1000,
    maxRetries: 4,
    maxRetryAfterMs: 120_000,
    notes:
      'Workday publishes no limits; 429 and 503 (maintenance windows) are retried after Retry-After or with backoff.',
  },
  incremental: { supported: false, signalsDeletions: false },
  capabilities: { groups: false, jobHistory: true, customFields: true },
  configSchema: WorkdayConfigSchema,
  credentialsSchema: WorkdayCredentialsSchema,
  defaultMapping: workdayDefaultMapping,
};
