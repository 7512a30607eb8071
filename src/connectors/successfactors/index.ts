/**
 * SAP SuccessFactors connector (OData v2 User, EmpJob, PerPersonal). See manifest.ts and
 * docs/hris.md (SAP SuccessFactors) for the OAuth client it needs.
 */
import {
  defineHrConnector,
  type HrClient,
  HrConnectorError,
  type SourceFieldInfo,
} from '../hris-contract.ts';
import { mapWithJobHistory } from '../job-history.ts';
import { SuccessFactorsClient } from './client.ts';
import {
  type SuccessFactorsConfig,
  type SuccessFactorsCredentials,
  successFactorsDefaultMapping,
  successFactorsManifest,
} from './manifest.ts';
import { readSuccessFactorsEmployees } from './operations/read-employees.ts';
import { SfUserSchema } from './schemas.ts';

export const successFactorsConnector = defineHrConnector<SuccessFactorsConfig, SuccessFactorsCredentials>({
  manifest: successFactorsManifest,
  createClient({ config, credentials, env }): HrClient {
    const client = new SuccessFactorsClient({ config, credentials, ...(env ? { env } : {}) });
    return {
      async testConnection() {
        try {
          await client.list(SfUserSchema, 'User', { $select: 'userId', customPageSize: 1 });
          return { ok: true, detail: `Read users from SuccessFactors company ${config.companyId}` };
        } catch (error) {
          if (error instanceof HrConnectorError)
            return { ok: false, detail: error.message, code: error.kind };
          throw error;
        }
      },
      async listSourceFields() {
        const fields = new Map<string, SourceFieldInfo>();
        for (const key of Object.values(successFactorsDefaultMapping.fields))
          if (key) fields.set(key, { key, label: key });
        for (const key of [
          'username',
          'title',
          'empJob.department',
          'empJob.managerId',
          'empJob.eventReason',
          'empJob.startDate',
        ]) {
          fields.set(key, { key, label: key });
        }
        // User's custom01..custom15 hold instance-specific data.
        for (let i = 1; i <= 15; i++) {
          const key = `custom${String(i).padStart(2, '0')}`;
          fields.set(key, { key, label: `User ${key}`, custom: true });
        }
        return [...fields.values()];
      },
      readEmployees: (request) => readSuccessFactorsEmployees(client, request),
    };
  },
  mapToCanonical: mapWithJobHistory,
});
