/** Personio connector (API v1, or v2 with `apiVersion: 'v2'`). See manifest.ts for the API's rules. */
import {
  type ConnectionCheck,
  defineHrConnector,
  type HrClient,
  type SourceFieldInfo,
} from '../hris-contract.ts';
import { connectionFailure, type HrHttpClient } from '../hris-http-client.ts';
import { mapSourceRecord } from '../hris-mapping.ts';
import { createPersonioHttp } from './client.ts';
import { personioManifest } from './manifest.ts';
import { readPersonioEmployees } from './operations/read-employees.ts';
import { readPersonioPersons } from './operations/read-persons.ts';
import {
  PersonioAttributesResponseSchema,
  PersonioEmployeesResponseSchema,
  PersonioV2PersonsResponseSchema,
} from './schemas.ts';

export const personioConnector = defineHrConnector({
  manifest: personioManifest,
  createClient({ config, credentials, env }) {
    const http = createPersonioHttp(config, credentials, env);
    return config.apiVersion === 'v2' ? personioV2Client(http) : personioV1Client(http);
  },
  mapToCanonical: mapSourceRecord,
});

function personioV1Client(http: HrHttpClient): HrClient {
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
          ['department', 'office', 'team', 'subcompany', 'supervisor', 'cost_centers'].includes(attribute.key)
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
}

/** The source fields every v2 record carries (flatten.ts), before the tenant's custom attributes. */
const PERSONIO_V2_FIELDS: SourceFieldInfo[] = [
  { key: 'id', label: 'Person ID', type: 'standard' },
  { key: 'email', label: 'Email', type: 'standard' },
  { key: 'first_name', label: 'First name', type: 'standard' },
  { key: 'last_name', label: 'Last name', type: 'standard' },
  { key: 'preferred_name', label: 'Preferred name', type: 'standard' },
  { key: 'status', label: 'Employment status', type: 'standard' },
  { key: 'position', label: 'Position (title)', type: 'standard' },
  { key: 'supervisor.id', label: 'Supervisor (person id)', type: 'standard' },
  { key: 'department', label: 'Department (org unit id)', type: 'standard' },
  { key: 'team', label: 'Team (org unit id)', type: 'standard' },
  { key: 'hire_date', label: 'Employment start date', type: 'date' },
  { key: 'termination_date', label: 'Termination date', type: 'date' },
  { key: 'employment.id', label: 'Employment ID', type: 'standard' },
  { key: 'created_at', label: 'Created at', type: 'date' },
  { key: 'updated_at', label: 'Updated at', type: 'date' },
];

function personioV2Client(http: HrHttpClient): HrClient {
  return {
    async testConnection(): Promise<ConnectionCheck> {
      try {
        const body = await http.getJson(
          PersonioV2PersonsResponseSchema,
          { url: 'persons', query: { limit: 1 } },
          'Personio GET /v2/persons',
        );
        return {
          ok: true,
          detail:
            body._data.length > 0
              ? 'Signed in to Personio (API v2); persons are readable.'
              : 'Signed in to Personio (API v2); no persons are readable with this client’s access.',
        };
      } catch (error) {
        return connectionFailure(error);
      }
    },
    async listSourceFields(): Promise<SourceFieldInfo[]> {
      // v2 has no attribute catalogue for persons: custom attributes are taken from one page of
      // persons (each person lists the company's custom attributes, set or not).
      const body = await http.getJson(
        PersonioV2PersonsResponseSchema,
        { url: 'persons', query: { limit: 50 } },
        'Personio GET /v2/persons',
      );
      const fields = [...PERSONIO_V2_FIELDS];
      const seen = new Set(fields.map((field) => field.key));
      for (const person of body._data) {
        for (const attribute of person.custom_attributes ?? []) {
          for (const key of [attribute.id, attribute.global_id]) {
            if (!key || seen.has(key)) continue;
            seen.add(key);
            fields.push({
              key,
              label: key === attribute.id ? `Custom attribute ${key}` : `Custom attribute ${key} (global id)`,
              type: 'standard',
              custom: true,
            });
          }
        }
      }
      return fields;
    },
    readEmployees: (request) => readPersonioPersons(http, request),
  };
}
