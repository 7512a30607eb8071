/**
 * Google Workspace directory connector (service account with domain-wide delegation). See
 * manifest.ts and docs/hris.md (Google Workspace) for the delegation it needs.
 */
import {
  defineHrConnector,
  type HrClient,
  HrConnectorError,
  type SourceFieldInfo,
} from '../hris-contract.ts';
import { mapSourceRecord } from '../hris-mapping.ts';
import { GoogleDirectoryClient } from './client.ts';
import {
  type GoogleConfig,
  type GoogleCredentials,
  googleDefaultMapping,
  googleManifest,
} from './manifest.ts';
import { readGoogleDirectory } from './operations/read-directory.ts';
import { GoogleSchemasSchema, GoogleUsersPageSchema } from './schemas.ts';

export const googleWorkspaceConnector = defineHrConnector<GoogleConfig, GoogleCredentials>({
  manifest: googleManifest,
  createClient({ config, credentials, env }): HrClient {
    const client = new GoogleDirectoryClient({ config, credentials, ...(env ? { env } : {}) });
    return {
      async testConnection() {
        try {
          await client.get(
            GoogleUsersPageSchema,
            { url: 'users', query: { customer: config.customer, maxResults: 1 } },
            'the user list',
          );
          return { ok: true, detail: `Read users from Google Workspace as ${config.adminEmail}` };
        } catch (error) {
          if (error instanceof HrConnectorError)
            return { ok: false, detail: error.message, code: error.kind };
          throw error;
        }
      },
      async listSourceFields() {
        const fields: SourceFieldInfo[] = Object.values(googleDefaultMapping.fields)
          .filter((key): key is string => !!key && !key.startsWith('customSchemas.'))
          .map((key) => ({ key, label: key }));
        fields.push(
          { key: 'orgUnitPath', label: 'Organizational unit' },
          { key: 'manager.email', label: 'Manager email' },
        );
        // Custom schemas are the domain's own fields: list them from the schema definitions.
        const schemas = await client.get(
          GoogleSchemasSchema,
          { url: `customer/${encodeURIComponent(config.customer)}/schemas` },
          'the custom schemas',
        );
        for (const schema of schemas.schemas ?? []) {
          for (const field of schema.fields) {
            fields.push({
              key: `customSchemas.${schema.schemaName}.${field.fieldName}`,
              label: `${schema.schemaName} › ${field.displayName ?? field.fieldName}`,
              ...(field.fieldType ? { type: field.fieldType.toLowerCase() } : {}),
              custom: true,
            });
          }
        }
        return fields;
      },
      readEmployees: (request) => readGoogleDirectory(client, request),
    };
  },
  mapToCanonical: mapSourceRecord,
});
