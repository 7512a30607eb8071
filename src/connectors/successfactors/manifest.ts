/**
 * SAP SuccessFactors Employee Central through OData v2 (apis.md §5): `User` for the roster,
 * `EmpJob` (effective-dated job history: titles, pay grades, cost centres, event reasons) and
 * `PerPersonal` (names) for each page of users. Auth is the OAuth SAML bearer grant (the
 * connector signs the assertion with the key whose certificate is registered on the OAuth client;
 * no secret) or deprecated Basic `user@companyId`. Reads are full (deletion detection compares);
 * paging is server-side (`paging=snapshot`, `$skiptoken`), never `$top`/`$skip`.
 */
import { z } from 'zod';
import type { FieldMapping, HrConnectorManifest } from '../hris-contract.ts';

export const SuccessFactorsConfigSchema = z.object({
  /** API server of the customer's data centre, e.g. `https://api4.successfactors.com`. */
  apiUrl: z.url({
    protocol: /^https?$/,
    message: 'must be the API server URL of your data centre, e.g. https://api4.successfactors.com',
  }),
  companyId: z.string().min(1),
  /** EmpJob event reasons that mark a promotion (they are configurable per instance). */
  promotionEventReasons: z.array(z.string().min(1)).default(['PRMPRM', 'PROMOTION', 'PROMO']),
});
export type SuccessFactorsConfig = z.output<typeof SuccessFactorsConfigSchema>;

export const SuccessFactorsCredentialsSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('oauth'),
    /** The OAuth client's API key. */
    clientId: z.string().min(1),
    /** The technical user the assertion is issued for. */
    userId: z.string().min(1),
    /** PEM private key whose X.509 certificate is registered on the OAuth client. */
    privateKey: z
      .string()
      .includes('PRIVATE KEY', { message: 'must be the PEM private key registered with the OAuth client' }),
  }),
  /** Deprecated by SAP, still seen: the user name is `user@companyId`. */
  z.object({ type: z.literal('basic'), username: z.string().min(1), password: z.string().min(1) }),
]);
export type SuccessFactorsCredentials = z.output<typeof SuccessFactorsCredentialsSchema>;

export const successFactorsDefaultMapping: FieldMapping = {
  fields: {
    employeeNumber: 'empId',
    workEmail: 'email',
    firstName: 'firstName',
    lastName: 'lastName',
    preferredName: 'perPersonal.preferredName',
    displayName: 'perPersonal.displayName',
    jobTitle: 'empJob.jobTitle',
    level: 'empJob.payGrade',
    department: 'department',
    division: 'division',
    location: 'location',
    costCenter: 'empJob.costCenter',
    manager: 'manager.userId',
    employmentType: 'empJob.employeeClass',
    employmentStatus: 'status',
    hireDate: 'hireDate',
    startDate: 'hireDate',
    terminationDate: 'empJob.terminationDate',
  },
  custom: {},
  values: {
    // User.status: t/T active, f/F inactive, e active external, d inactive external.
    employmentStatus: { t: 'active', f: 'inactive', e: 'active', d: 'inactive' },
    employmentType: { r: 'full_time', p: 'part_time', c: 'contractor', i: 'intern' },
  },
};

export const successFactorsManifest: HrConnectorManifest<SuccessFactorsConfig, SuccessFactorsCredentials> = {
  provider: 'successfactors',
  displayName: 'SAP SuccessFactors',
  kinds: ['hris'],
  auth: { mode: 'oauth2_saml_bearer', refreshOn: [401] },
  baseUrl: 'https://{apiServer}/odata/v2',
  pagination: { style: 'skiptoken', maxPageSize: 1000, defaultPageSize: 500 },
  rateLimit: {
    throttleStatuses: [429],
    minRetryMs: 1000,
    maxRetries: 4,
    // SAP suggests waiting 300 s after a 429; honour it rather than hammer.
    maxRetryAfterMs: 330_000,
    notes:
      'General OData limits are postponed (KBA 3159263); a 429 carries Retry-After (SAP suggests 300 s).',
  },
  incremental: { supported: false, signalsDeletions: false },
  capabilities: { groups: false, jobHistory: true, customFields: true },
  configSchema: SuccessFactorsConfigSchema,
  credentialsSchema: SuccessFactorsCredentialsSchema,
  defaultMapping: successFactorsDefaultMapping,
};
