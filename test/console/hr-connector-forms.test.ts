/**
 * The console's HR connector forms without a browser: guided fields drawn from each real
 * connector's schema (as GET /api/v1/hris/connectors serves it), typed values turned back into
 * the API's JSON, the field mapping's overrides, and level bands as typed.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { CANONICAL_FIELDS as SERVER_CANONICAL_FIELDS } from '../../src/connectors/hris-contract.ts';
import { hrConnectors } from '../../src/connectors/hris-registry.ts';
import { CONTEXT_FACTS as SERVER_CONTEXT_FACTS } from '../../src/modules/hris/contracts.ts';
import {
  attributeNameFor,
  CANONICAL_FIELDS,
  CONTEXT_FACTS,
  connectionFix,
  mappingOverrides,
  parseBands,
  readableReason,
} from '../../web/src/hr-forms.ts';
import {
  collectValues,
  credentialVariants,
  FormValueError,
  fieldsOf,
  humanize,
  type JsonSchema,
  valuesFromConfig,
} from '../../web/src/schema-form.ts';

const schemaOf = (provider: string, part: 'config' | 'credentials'): JsonSchema => {
  const connector = hrConnectors().find(({ manifest }) => manifest.provider === provider);
  if (!connector) throw new Error(`no connector ${provider}`);
  const schema = part === 'config' ? connector.manifest.configSchema : connector.manifest.credentialsSchema;
  return z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
};

describe('guided connector fields', () => {
  it('the console knows every canonical field and context fact the hub does', () => {
    expect([...CANONICAL_FIELDS]).toEqual([...SERVER_CANONICAL_FIELDS]);
    expect([...CONTEXT_FACTS]).toEqual([...SERVER_CONTEXT_FACTS]);
  });

  it('labels keys for people', () => {
    expect(humanize('clientSecret')).toBe('Client secret');
    expect(humanize('reportUrl')).toBe('Report URL');
    expect(humanize('private_key_id')).toBe('Private key ID');
    expect(humanize('apiKey')).toBe('API key');
  });

  it('Personio: a URL with its default, the API version as a choice, and two required password secrets', () => {
    const config = fieldsOf(schemaOf('personio', 'config'), { secret: false });
    expect(config.find((field) => field.key === 'baseUrl')).toMatchObject({
      label: 'Base URL',
      input: 'url',
      required: false,
      placeholder: 'https://api.personio.de/v1',
    });
    expect(config.find((field) => field.key === 'apiVersion')).toMatchObject({
      input: 'select',
      required: false,
      options: ['v1', 'v2'],
      placeholder: 'v1',
    });
    const [variant, ...others] = credentialVariants(schemaOf('personio', 'credentials'));
    expect(others).toHaveLength(0);
    expect(variant?.type).toBe('');
    expect(variant?.fields.map((field) => [field.key, field.input, field.secret, field.required])).toEqual([
      ['clientId', 'text', true, true],
      ['clientSecret', 'text', true, true],
    ]);
  });

  it('BambooHR: the required company domain first, an enum as a choice, a list as comma-separated text', () => {
    const config = fieldsOf(schemaOf('bamboohr', 'config'), { secret: false });
    expect(config[0]).toMatchObject({ key: 'companyDomain', required: true });
    expect(config.find((field) => field.key === 'source')).toMatchObject({
      input: 'select',
      options: ['report', 'directory'],
      placeholder: 'report',
    });
    expect(config.find((field) => field.key === 'fields')?.input).toBe('list');
  });

  it('Workday and SuccessFactors: one sign-in method per oneOf branch; a private key is multi-line', () => {
    const workday = credentialVariants(schemaOf('workday', 'credentials'));
    expect(workday.map((variant) => variant.type)).toEqual(['basic', 'oauth']);
    expect(workday[0]?.fields.map((field) => field.key)).toEqual(['username', 'password']);
    const successFactors = credentialVariants(schemaOf('successfactors', 'credentials'));
    const oauth = successFactors.find((variant) => variant.type === 'oauth');
    expect(oauth?.fields.find((field) => field.key === 'privateKey')).toMatchObject({
      input: 'multiline',
      secret: true,
    });
    expect(
      fieldsOf(schemaOf('workday', 'config'), { secret: false }).find((f) => f.key === 'prompts')?.input,
    ).toBe('json');
  });

  it('Google Workspace: the service account key is a JSON object, checked before sending', () => {
    const [variant] = credentialVariants(schemaOf('google_workspace', 'credentials'));
    const fields = variant?.fields ?? [];
    expect(fields).toEqual([
      expect.objectContaining({ key: 'serviceAccountKey', input: 'json', required: true }),
    ]);
    expect(() => collectValues(fields, { serviceAccountKey: '{ not json' }, { requireAll: true })).toThrow(
      'Service account key must be a JSON object',
    );
    expect(
      collectValues(fields, { serviceAccountKey: '{"type":"service_account"}' }, { requireAll: true }),
    ).toEqual({
      serviceAccountKey: { type: 'service_account' },
    });
  });

  it('collects typed values: empty ones left out, lists split, booleans kept, required ones insisted on', () => {
    const specs = fieldsOf(schemaOf('microsoft_graph', 'config'), { secret: false });
    expect(
      collectValues(
        specs,
        {
          tenantId: ' contoso.onmicrosoft.com ',
          extraUserProperties: 'a, b\nc',
          includeGroups: false,
          graphUrl: '',
        },
        { requireAll: true },
      ),
    ).toEqual({
      tenantId: 'contoso.onmicrosoft.com',
      extraUserProperties: ['a', 'b', 'c'],
      includeGroups: false,
    });
    let thrown: unknown;
    try {
      collectValues(specs, {}, { requireAll: true });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(FormValueError);
    expect(thrown).toMatchObject({ field: 'tenantId', message: 'Tenant ID is required.' });
    // Editing: an empty field keeps what is stored.
    expect(collectValues(specs, {}, { requireAll: false })).toEqual({});
  });

  it('fills the edit form from stored settings, and collecting them gives the same settings back', () => {
    const specs = fieldsOf(schemaOf('bamboohr', 'config'), { secret: false });
    const stored = { companyDomain: 'acme', source: 'directory', fields: ['customLevel', '4021'] };
    const values = valuesFromConfig(specs, stored);
    expect(values).toEqual({ companyDomain: 'acme', source: 'directory', fields: 'customLevel, 4021' });
    expect(collectValues(specs, values, { requireAll: true })).toEqual(stored);
  });
});

describe('field mapping overrides', () => {
  const defaults = {
    fields: { workEmail: 'email', department: 'department.name', employeeNumber: 'id' },
    custom: {},
    values: {},
  };

  it('saves only what differs from the connector defaults; a cleared default is null', () => {
    const fields = { workEmail: 'email', department: '', employeeNumber: ' id ', level: 'dynamic_1' };
    const custom = [
      { row: 0, name: 'shirtSize', source: 'dynamic_24407' },
      { row: 1, name: '', source: 'half-typed' },
    ];
    const values = { employmentType: { internal: 'full_time' } };
    expect(mappingOverrides(defaults, fields, custom, values)).toEqual({
      fields: { department: null, level: 'dynamic_1' },
      custom: { shirtSize: 'dynamic_24407' },
      values,
    });
  });

  it('names a custom attribute after its source field', () => {
    expect(attributeNameFor('dynamic_24407')).toBe('dynamic24407');
    expect(attributeNameFor('office.name')).toBe('officeName');
    expect(attributeNameFor('4021')).toBe('');
  });
});

describe('HR settings and messages', () => {
  it('reads level bands a line each, and names a line that does not read so', () => {
    expect(parseBands('senior: L5, L6\n\n junior : L1 ')).toEqual([
      { band: 'senior', levels: ['L5', 'L6'] },
      { band: 'junior', levels: ['L1'] },
    ]);
    expect(() => parseBands('senior: L5\nstaff L7')).toThrow('Line 2 should read "band: level, level"');
  });

  it('says what to do about each kind of failed connection test', () => {
    expect(connectionFix('invalid_credentials', 'Personio')).toContain('Personio refused the credentials');
    expect(connectionFix('forbidden', 'BambooHR')).toContain('read access to employees');
    expect(connectionFix('unreachable', 'Workday')).toContain('could not reach Workday');
    expect(connectionFix(undefined, 'Merge')).toContain('base URL');
  });

  it('explains why a record matched no user', () => {
    expect(readableReason('no_match')).toBe('no user has this employee id or work email');
    expect(readableReason('workEmail_matches_several_users')).toBe('the work email matches several users');
    expect(readableReason('employeeId_shared_in_source')).toBe('another record has the same employee id');
  });
});
