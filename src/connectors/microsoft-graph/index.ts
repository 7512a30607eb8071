/**
 * Microsoft Graph connector (Entra ID users and groups, delta queries). See manifest.ts and
 * docs/hris.md (Microsoft Graph) for the app registration it needs.
 */
import {
  defineHrConnector,
  type HrClient,
  HrConnectorError,
  type SourceFieldInfo,
} from '../hris-contract.ts';
import { mapSourceRecord } from '../hris-mapping.ts';
import { GraphClient } from './client.ts';
import { GRAPH_USER_PROPERTIES, type GraphConfig, type GraphCredentials, graphManifest } from './manifest.ts';
import { readGraphDirectory } from './operations/read-directory.ts';

export const graphConnector = defineHrConnector<GraphConfig, GraphCredentials>({
  manifest: graphManifest,
  createClient({ config, credentials, env }): HrClient {
    const client = new GraphClient({ config, credentials, ...(env ? { env } : {}) });
    return {
      async testConnection() {
        try {
          await client.http.request({ url: 'users', query: { $top: 1, $select: 'id' } });
          if (config.includeGroups) {
            try {
              await client.http.request({ url: 'groups', query: { $top: 1, $select: 'id' } });
            } catch (error) {
              if (error instanceof HrConnectorError && error.kind === 'forbidden') {
                return {
                  ok: false,
                  code: 'forbidden',
                  detail:
                    'Microsoft Graph lets the app read users but not groups: grant the application permission GroupMember.Read.All (admin consent), or turn groups off',
                };
              }
              throw error;
            }
          }
          return {
            ok: true,
            detail: `Read users${config.includeGroups ? ' and groups' : ''} from Microsoft Graph tenant ${config.tenantId}`,
          };
        } catch (error) {
          if (!(error instanceof HrConnectorError)) throw error;
          const detail =
            error.kind === 'forbidden'
              ? `${error.message}. Grant the application permission User.Read.All (admin consent)`
              : error.message;
          return { ok: false, detail, code: error.kind };
        }
      },
      async listSourceFields() {
        const fields: SourceFieldInfo[] = GRAPH_USER_PROPERTIES.filter((p) => p !== 'employeeOrgData').map(
          (key) => ({
            key,
            label: key,
          }),
        );
        fields.push(
          { key: 'employeeOrgData.division', label: 'employeeOrgData › division' },
          { key: 'employeeOrgData.costCenter', label: 'employeeOrgData › costCenter' },
          { key: 'manager.id', label: 'manager › id' },
        );
        for (const property of config.extraUserProperties) {
          if (property === 'onPremisesExtensionAttributes') {
            for (let i = 1; i <= 15; i++) {
              fields.push({
                key: `onPremisesExtensionAttributes.extensionAttribute${i}`,
                label: `Extension attribute ${i}`,
                custom: true,
              });
            }
          } else fields.push({ key: property, label: property, custom: true });
        }
        return fields;
      },
      readEmployees: (request) => readGraphDirectory(client, request),
    };
  },
  mapToCanonical: mapSourceRecord,
});
