/**
 * Guided fields from a connector's JSON Schema (GET /api/v1/hris/connectors gives each
 * connector's `config` and `credentials` schemas): which inputs to draw, and turning what was
 * typed back into the JSON the API expects. Pure functions, so they are tested without a browser.
 */

/** The subset of JSON Schema (2020-12) that zod's `toJSONSchema` produces for connector settings. */
export interface JsonSchema {
  type?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  oneOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  description?: string;
  title?: string;
  format?: string;
  pattern?: string;
  items?: JsonSchema;
  additionalProperties?: boolean | JsonSchema;
}

export type FieldInput = 'text' | 'url' | 'email' | 'select' | 'checkbox' | 'list' | 'json' | 'multiline';

export interface FieldSpec {
  key: string;
  label: string;
  input: FieldInput;
  required: boolean;
  /** A secret: drawn as a password (or masked multi-line) input and never filled from the server. */
  secret: boolean;
  options?: string[];
  /** The schema's default, shown as a placeholder: leaving the field empty keeps it. */
  placeholder?: string;
  hint?: string;
}

/** One way to authenticate (a `oneOf` branch, told apart by its constant `type`). */
export interface CredentialVariant {
  /** The branch's `type` constant (`basic`, `oauth`), or '' when the schema has a single shape. */
  type: string;
  label: string;
  fields: FieldSpec[];
}

/** A value as typed: text for most inputs, a boolean for checkboxes. */
export type FormValues = Record<string, string | boolean>;

const ACRONYMS: Record<string, string> = {
  url: 'URL',
  id: 'ID',
  api: 'API',
  uri: 'URI',
};

/** `clientSecret` → "Client secret", `reportUrl` → "Report URL", `private_key_id` → "Private key ID". */
export function humanize(key: string): string {
  const words = key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/[_-]+/g, ' ')
    .trim()
    .split(/\s+/)
    .map((word) => ACRONYMS[word.toLowerCase()] ?? word.toLowerCase());
  const [first = '', ...rest] = words;
  return [first.charAt(0).toUpperCase() + first.slice(1), ...rest].join(' ');
}

function inputOf(schema: JsonSchema, key: string, secret: boolean): FieldInput {
  if (schema.enum) return 'select';
  if (schema.type === 'boolean') return 'checkbox';
  if (schema.type === 'array') return 'list';
  if (schema.type === 'object') return 'json';
  // A PEM key spans lines, which a password input would strip.
  if (schema.pattern?.includes('PRIVATE KEY') || /privateKey|private_key/.test(key)) return 'multiline';
  if (secret) return 'text';
  if (schema.format === 'uri') return 'url';
  if (schema.format === 'email') return 'email';
  return 'text';
}

function placeholderOf(schema: JsonSchema): string | undefined {
  if (schema.default === undefined) return undefined;
  if (Array.isArray(schema.default)) return schema.default.length ? schema.default.join(', ') : undefined;
  if (typeof schema.default === 'object' && schema.default !== null) {
    return Object.keys(schema.default).length ? JSON.stringify(schema.default) : undefined;
  }
  return String(schema.default);
}

/** The inputs of an object schema, required ones first; `skip` leaves out keys drawn elsewhere. */
export function fieldsOf(
  schema: JsonSchema | undefined,
  options: { secret: boolean; skip?: string[] },
): FieldSpec[] {
  const properties = schema?.properties ?? {};
  const required = new Set(schema?.required ?? []);
  const specs = Object.entries(properties)
    .filter(([key, property]) => !options.skip?.includes(key) && property.const === undefined)
    .map(([key, property]): FieldSpec => {
      const input = inputOf(property, key, options.secret);
      const placeholder = placeholderOf(property);
      const hint = [
        property.description,
        input === 'list' ? 'Several values: separate them with commas.' : undefined,
        input === 'json' ? 'JSON.' : undefined,
      ]
        .filter(Boolean)
        .join(' ');
      return {
        key,
        label: property.title ?? humanize(key),
        input,
        required: required.has(key),
        secret: options.secret,
        ...(property.enum ? { options: property.enum.map(String) } : {}),
        ...(placeholder !== undefined ? { placeholder } : {}),
        ...(hint ? { hint } : {}),
      };
    });
  return [...specs.filter((spec) => spec.required), ...specs.filter((spec) => !spec.required)];
}

/** The ways to give a connector's secrets: one per `oneOf` branch, or the single object shape. */
export function credentialVariants(schema: JsonSchema | undefined): CredentialVariant[] {
  if (schema?.oneOf?.length) {
    return schema.oneOf.map((branch, index) => {
      const type = branch.properties?.type?.const;
      const name = typeof type === 'string' ? type : String(index);
      return {
        type: name,
        label: name === 'basic' ? 'User name and password' : name === 'oauth' ? 'OAuth client' : name,
        fields: fieldsOf(branch, { secret: true, skip: ['type'] }),
      };
    });
  }
  return [{ type: '', label: '', fields: fieldsOf(schema, { secret: true }) }];
}

export class FormValueError extends Error {
  readonly field: string;
  constructor(field: string, message: string) {
    super(message);
    this.field = field;
  }
}

/**
 * What was typed, as the API's JSON. Empty fields are left out (the server's default applies, or,
 * when editing, the stored value stays); `requireAll` insists on the required ones (creating).
 */
export function collectValues(
  specs: FieldSpec[],
  values: FormValues,
  options: { requireAll: boolean },
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const spec of specs) {
    const raw = values[spec.key];
    if (spec.input === 'checkbox') {
      if (typeof raw === 'boolean') out[spec.key] = raw;
      continue;
    }
    const text = typeof raw === 'string' ? (spec.input === 'multiline' ? raw : raw.trim()) : '';
    if (!text.trim()) {
      if (spec.required && options.requireAll) {
        throw new FormValueError(spec.key, `${spec.label} is required.`);
      }
      continue;
    }
    if (spec.input === 'list') {
      out[spec.key] = text
        .split(/[,\n]/)
        .map((item) => item.trim())
        .filter(Boolean);
    } else if (spec.input === 'json') {
      try {
        const parsed: unknown = JSON.parse(text);
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error();
        out[spec.key] = parsed;
      } catch {
        throw new FormValueError(spec.key, `${spec.label} must be a JSON object ({ … }).`);
      }
    } else {
      out[spec.key] = text;
    }
  }
  return out;
}

/** Stored (non-secret) settings as form values, for editing. */
export function valuesFromConfig(specs: FieldSpec[], config: Record<string, unknown>): FormValues {
  const values: FormValues = {};
  for (const spec of specs) {
    const value = config[spec.key];
    if (value === undefined || value === null) continue;
    if (spec.input === 'checkbox') values[spec.key] = value === true;
    else if (Array.isArray(value)) values[spec.key] = value.map(String).join(', ');
    else if (typeof value === 'object') values[spec.key] = JSON.stringify(value);
    else values[spec.key] = String(value);
  }
  return values;
}
