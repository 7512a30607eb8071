/** Personio connector (API v1). See manifest.ts for the API's rules. */
import { type ConnectionCheck, defineHrConnector, type SourceFieldInfo } from '../hris-contract.ts';
import { connectionFailure } from '../hris-http-client.ts';
import { mapSourceRecord } from '../hris-mapping.ts';
import { createPersonioHttp } from './client.ts';
import { personioManifest } from './manifest.ts';
import { readPersonioEmployees } from './operations/read-employees.ts';
import { PersonioAttributesResponseSchema, PersonioEmployeesResponseSchema } from './schemas.ts';

export const personioConnector = defineHrConnector({
  manifest: personioManifest,
  createClient({ config, credentials, env }) {
    const http = createPersonioHttp(config, credentials, env);
    return {
      async testConnection(): Promise<ConnectionCheck> {
        try {
          const body = await http.getJson(PersonioEmployeesResponseSchema, {
            url: 'company/employees',
            query: { limit: 1, offset: 0 },
          });
          const total = body.metadata?.total_elements ?? body.data.length;
          return {
            ok: true,
            detail: `Signed in to Personio; ${total} employee${total === 1 ? '' : 's'} readable.`,
          };
        } catch (error) {
          return connectionFailure(error);
        }
      },
      async listSourceFields(): Promise<SourceFieldInfo[]> {
        // https://developer.personio.de/reference/get_company-employees-attributes
        const body = await http.getJson(PersonioAttributesResponseSchema, {
          url: 'company/employees/attributes',
        });
        const fields: SourceFieldInfo[] = [{ key: 'id', label: 'ID', type: 'integer' }];
        for (const attribute of body.data) {
          fields.push({
            key: attribute.key,
            label: attribute.label,
            type: attribute.type,
            ...(attribute.key.startsWith('dynamic_') ? { custom: true } : {}),
          });
          if (
            ['department', 'office', 'team', 'subcompany', 'supervisor', 'cost_centers'].includes(
              attribute.key,
            )
          ) {
            fields.push({ key: `${attribute.key}.id`, label: `${attribute.label} (id)`, type: 'standard' });
            fields.push({
              key: `${attribute.key}.name`,
              label: `${attribute.label} (name)`,
              type: 'standard',
            });
          }
        }
        return fields;
      },
      readEmployees: (request) => readPersonioEmployees(http, request),
    };
  },
  mapToCanonical: mapSourceRecord,
});
