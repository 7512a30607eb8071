/**
 * Workday connector (RaaS custom report as JSON). See manifest.ts for what it supports and
 * docs/hris.md (Workday) for the report customers build.
 */
import { defineHrConnector, type HrClient, HrConnectorError } from '../hris-contract.ts';
import { mapWithJobHistory } from '../job-history.ts';
import { WorkdayClient } from './client.ts';
import { type WorkdayConfig, type WorkdayCredentials, workdayManifest } from './manifest.ts';
import { readWorkdayEmployees } from './operations/read-employees.ts';

export const workdayConnector = defineHrConnector<WorkdayConfig, WorkdayCredentials>({
  manifest: workdayManifest,
  createClient({ config, credentials, env }): HrClient {
    const client = new WorkdayClient({ config, credentials, ...(env ? { env } : {}) });
    return {
      async testConnection() {
        try {
          const columns = await client.fetchColumns();
          return {
            ok: true,
            detail: `Workday report ${client.reportName()} is reachable (${columns.length} columns)`,
          };
        } catch (error) {
          if (error instanceof HrConnectorError)
            return { ok: false, detail: error.message, code: error.kind };
          throw error;
        }
      },
      listSourceFields: () => client.fetchColumns(),
      readEmployees: (request) => readWorkdayEmployees(client, request),
    };
  },
  mapToCanonical: mapWithJobHistory,
});
