/** BambooHR connector. See manifest.ts for the API's rules. */
import { type ConnectionCheck, defineHrConnector, type SourceFieldInfo } from '../hris-contract.ts';
import { connectionFailure } from '../hris-http-client.ts';
import { mapSourceRecord } from '../hris-mapping.ts';
import { createBamboohrHttp } from './client.ts';
import { bamboohrManifest } from './manifest.ts';
import { readBambooEmployees } from './operations/read-employees.ts';
import { BambooChangedSchema, BambooMetaFieldsSchema } from './schemas.ts';

export const bamboohrConnector = defineHrConnector({
  manifest: bamboohrManifest,
  createClient({ config, credentials, env }) {
    const http = createBamboohrHttp(config, credentials, env);
    return {
      async testConnection(): Promise<ConnectionCheck> {
        try {
          // A cheap authenticated read the report source needs anyway.
          const changed = await http.getJson(BambooChangedSchema, {
            url: 'employees/changed',
            query: { since: new Date(Date.now() - 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z') },
          });
          const count = Object.keys(changed.employees).length;
          return {
            ok: true,
            detail: `Signed in to BambooHR (${config.companyDomain}); ${count} employee change${count === 1 ? '' : 's'} in the last day.`,
          };
        } catch (error) {
          return connectionFailure(error);
        }
      },
      async listSourceFields(): Promise<SourceFieldInfo[]> {
        // https://documentation.bamboohr.com/reference/list-fields
        const fields = await http.getJson(
          BambooMetaFieldsSchema,
          { url: 'meta/fields' },
          'BambooHR GET /meta/fields',
        );
        return fields
          .filter((field) => !field.deprecated)
          .map((field) => ({
            key: field.alias ?? String(field.id),
            label: field.name,
            type: field.type,
            ...(field.alias?.startsWith('custom') || !field.alias ? { custom: true } : {}),
          }));
      },
      readEmployees: (request) => readBambooEmployees(http, config, request),
    };
  },
  mapToCanonical: mapSourceRecord,
});
