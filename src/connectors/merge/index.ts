/**
 * Merge unified HRIS connector. See manifest.ts and docs/hris.md (Merge).
 */
import {
  defineHrConnector,
  type HrClient,
  HrConnectorError,
  type SourceFieldInfo,
} from '../hris-contract.ts';
import { mapWithJobHistory } from '../job-history.ts';
import { MergeClient } from './client.ts';
import { flattenMergeEmployee } from './flatten.ts';
import { type MergeConfig, type MergeCredentials, mergeDefaultMapping, mergeManifest } from './manifest.ts';
import { readMergeEmployees } from './operations/read-employees.ts';
import { MergeEmployeeSchema } from './schemas.ts';

export const mergeConnector = defineHrConnector<MergeConfig, MergeCredentials>({
  manifest: mergeManifest,
  createClient({ config, credentials, env }): HrClient {
    const client = new MergeClient({ config, credentials, ...(env ? { env } : {}) });
    return {
      async testConnection() {
        try {
          const account = await client.accountDetails();
          return {
            ok: true,
            detail: `Merge linked account ${account.end_user_organization_name ?? ''} (${account.integration ?? 'HR system'}) is reachable, status ${account.status ?? 'unknown'}`,
          };
        } catch (error) {
          if (error instanceof HrConnectorError)
            return { ok: false, detail: error.message, code: error.kind };
          throw error;
        }
      },
      async listSourceFields() {
        const fields = new Map<string, SourceFieldInfo>();
        for (const key of Object.values(mergeDefaultMapping.fields)) {
          if (key) fields.set(key, { key, label: key });
        }
        // Custom fields differ per linked account: sample a page and name what it carries.
        const page = await client.page(
          MergeEmployeeSchema,
          'employees',
          { page_size: 100, expand: 'employments,work_location,team,groups' },
          undefined,
        );
        for (const employee of page.results) {
          for (const key of Object.keys(flattenMergeEmployee(employee).fields)) {
            if (!fields.has(key))
              fields.set(key, { key, label: key, custom: key.startsWith('custom_fields.') });
          }
        }
        return [...fields.values()];
      },
      readEmployees: (request) => readMergeEmployees(client, config, request),
    };
  },
  mapToCanonical: mapWithJobHistory,
});
