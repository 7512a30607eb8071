/**
 * Resource documents: reading what a client sent (POST, PUT and PATCH values) into the stored
 * form, and rendering stored resources back (with `attributes` / `excludedAttributes`).
 *
 * Stored form: the resource as sent, with attribute names in the schema's spelling, string
 * booleans (`"True"`, Entra) turned into booleans, `manager` as `{"value": ...}` even when sent as a
 * bare id, empty values dropped, and without `id`, `meta`, `password` and read-only attributes.
 * String values are kept exactly as sent.
 */
import { invalidSyntax, invalidValue } from './errors.ts';
import {
  type AttributeDef,
  coreAttributes,
  findAttribute,
  findExtension,
  type ResourceModel,
  TOLERATED_SCHEMAS,
} from './schemas.ts';

export type ResourceDocument = Record<string, unknown>;

export interface ReadResult {
  resource: ResourceDocument;
  /** `groups` (User) or `members` (Group) as sent: applied as memberships, not stored. */
  references: Array<{ value: string }> | undefined;
  /** The `id` the body carried, if any (must match on PUT when given). */
  id: string | undefined;
}

/** Reads a POST or PUT body. */
export function readResourceBody(model: ResourceModel, body: unknown): ReadResult {
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    throw invalidSyntax(`The body must be a JSON object: a SCIM ${model.kind}.`);
  }
  const input = body as Record<string, unknown>;
  const schemas = readSchemas(model, input.schemas);
  const resource: ResourceDocument = { schemas };
  let references: ReadResult['references'];
  let id: string | undefined;
  for (const [key, value] of Object.entries(input)) {
    if (key === 'schemas') continue;
    if (key.includes(':')) {
      const extension = findExtension(model, key);
      if (!extension) {
        if (key.toLowerCase().startsWith(`${model.core.id.toLowerCase()}:`)) {
          // A core attribute qualified with its schema URN.
          setCoreAttribute(model, resource, key.slice(model.core.id.length + 1), value);
          continue;
        }
        throw invalidValue(`Unknown schema extension "${key}"; see /Schemas for the supported ones.`);
      }
      if (value === null || value === undefined) continue;
      if (typeof value !== 'object' || Array.isArray(value)) {
        throw invalidValue(`"${key}" must be an object of ${extension.name} attributes.`);
      }
      const extensionValue: ResourceDocument = {};
      for (const [name, attributeValue] of Object.entries(value as Record<string, unknown>)) {
        const definition = findAttribute(extension.attributes, name);
        if (!definition) continue; // unknown extension attributes are ignored (RFC 7644 section 3.3)
        const coerced = coerceValue(definition, attributeValue, `${key}:${name}`);
        if (coerced !== undefined && definition.mutability !== 'readOnly')
          extensionValue[definition.name] = coerced;
      }
      if (Object.keys(extensionValue).length) {
        resource[extension.id] = extensionValue;
        if (!schemas.includes(extension.id)) schemas.push(extension.id);
      }
      continue;
    }
    const definition = findAttribute(coreAttributes(model), key);
    if (!definition) continue;
    if (definition.name === 'id') {
      if (typeof value === 'string') id = value;
      continue;
    }
    if (
      (model.kind === 'User' && definition.name === 'groups') ||
      (model.kind === 'Group' && definition.name === 'members')
    ) {
      references = readReferences(definition, value);
      continue;
    }
    setCoreAttribute(model, resource, key, value);
  }
  for (const extension of model.extensions) {
    if (!resource[extension.id] && schemas.includes(extension.id) && !input[extension.id]) {
      // Declared but empty: keep the declaration only if it carries attributes.
      schemas.splice(schemas.indexOf(extension.id), 1);
    }
  }
  return { resource, references, id };
}

function setCoreAttribute(
  model: ResourceModel,
  resource: ResourceDocument,
  key: string,
  value: unknown,
): void {
  const definition = findAttribute(coreAttributes(model), key);
  if (!definition) return;
  if (definition.mutability === 'readOnly' || definition.mutability === 'writeOnly') return;
  const coerced = coerceValue(definition, value, definition.name);
  if (coerced === undefined) delete resource[definition.name];
  else resource[definition.name] = coerced;
}

function readSchemas(model: ResourceModel, value: unknown): string[] {
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
    throw invalidSyntax(`"schemas" must be an array of schema URNs including "${model.core.id}".`);
  }
  const schemas: string[] = [];
  let hasCore = false;
  for (const urn of value as string[]) {
    if (urn.toLowerCase() === model.core.id.toLowerCase()) {
      hasCore = true;
      continue;
    }
    if (TOLERATED_SCHEMAS.has(urn)) continue;
    const extension = findExtension(model, urn);
    if (!extension) {
      throw invalidValue(
        `Unknown schema "${urn}" in "schemas"; this endpoint supports ${[model.core.id, ...model.extensions.map((schema) => schema.id)].join(', ')}.`,
      );
    }
    if (!schemas.includes(extension.id)) schemas.push(extension.id);
  }
  if (!hasCore) throw invalidSyntax(`"schemas" must include "${model.core.id}".`);
  return [model.core.id, ...schemas];
}

function readReferences(definition: AttributeDef, value: unknown): Array<{ value: string }> {
  if (value === null || value === undefined) return [];
  const items = Array.isArray(value) ? value : [value];
  return items.map((item, index) => {
    const id = item && typeof item === 'object' ? (item as Record<string, unknown>).value : item;
    if (typeof id !== 'string' || id === '') {
      throw invalidValue(`${definition.name}[${index}].value must be the id of a resource.`);
    }
    return { value: id };
  });
}

/**
 * Coerces a value to an attribute's type; undefined means "unassigned" (null, empty array, empty
 * object). Tolerates what IdPs send: string booleans, a single object for a multi-valued
 * attribute, numbers for strings, a bare id for `manager`.
 */
export function coerceValue(definition: AttributeDef, value: unknown, where: string): unknown {
  if (value === null || value === undefined) return undefined;
  if (definition.multiValued) {
    const items = Array.isArray(value) ? value : [value];
    const coerced = items
      .map((item, index) => coerceSingle(definition, item, `${where}[${index}]`))
      .filter((item) => item !== undefined);
    if (coerced.length === 0) return undefined;
    if (definition.type === 'complex') {
      const primaries = coerced.filter((item) => (item as Record<string, unknown>).primary === true);
      if (primaries.length > 1) throw invalidValue(`${where}: at most one value may be primary.`);
    }
    return coerced;
  }
  if (Array.isArray(value)) {
    // A one-element array for a single-valued attribute (seen from some IdPs' PATCH values).
    if (value.length === 1) return coerceSingle(definition, value[0], where);
    throw invalidValue(`${where} is single-valued; got an array.`);
  }
  return coerceSingle(definition, value, where);
}

function coerceSingle(definition: AttributeDef, value: unknown, where: string): unknown {
  if (value === null || value === undefined) return undefined;
  switch (definition.type) {
    case 'complex': {
      if (typeof value === 'string' && definition.name === 'manager')
        return value === '' ? undefined : { value };
      if (typeof value !== 'object' || Array.isArray(value))
        throw invalidValue(`${where} must be an object.`);
      const out: Record<string, unknown> = {};
      for (const [key, subValue] of Object.entries(value as Record<string, unknown>)) {
        const sub = definition.subAttributes ? findAttribute(definition.subAttributes, key) : undefined;
        if (!sub) continue;
        const coerced = coerceSingle(sub, subValue, `${where}.${sub.name}`);
        if (coerced !== undefined) out[sub.name] = coerced;
      }
      return Object.keys(out).length ? out : undefined;
    }
    case 'boolean': {
      if (typeof value === 'boolean') return value;
      if (typeof value === 'string' && /^(true|false)$/i.test(value.trim()))
        return value.trim().toLowerCase() === 'true';
      throw invalidValue(`${where} must be a boolean (true or false).`);
    }
    case 'integer': {
      const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
      if (typeof number !== 'number' || !Number.isInteger(number))
        throw invalidValue(`${where} must be an integer.`);
      return number;
    }
    case 'decimal': {
      const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
      if (typeof number !== 'number' || !Number.isFinite(number))
        throw invalidValue(`${where} must be a number.`);
      return number;
    }
    case 'dateTime': {
      if (typeof value !== 'string' || Number.isNaN(Date.parse(value))) {
        throw invalidValue(`${where} must be an xsd:dateTime such as 2026-01-31T09:00:00Z.`);
      }
      return value;
    }
    default: {
      if (typeof value === 'string') return value;
      if (typeof value === 'number' || typeof value === 'boolean') return String(value);
      throw invalidValue(`${where} must be a string.`);
    }
  }
}

/** Checks what must hold after any change: required attributes are there. */
export function checkRequired(model: ResourceModel, resource: ResourceDocument): void {
  for (const definition of model.core.attributes) {
    if (!definition.required) continue;
    const value = resource[definition.name];
    if (typeof value !== 'string' || value.trim() === '') {
      throw invalidValue(`${definition.name} is required and must be a non-empty string.`);
    }
  }
  for (const extension of model.extensions) {
    const values = resource[extension.id] as Record<string, unknown> | undefined;
    for (const definition of extension.attributes) {
      if (
        definition.required &&
        (values?.[definition.name] === undefined || values?.[definition.name] === '')
      ) {
        throw invalidValue(`${extension.id}:${definition.name} is required.`);
      }
    }
  }
}

export interface Meta {
  resourceType: 'User' | 'Group';
  created: string;
  lastModified: string;
  location: string;
  version: string;
}

/** The ETag of a resource version (RFC 7644 section 3.14): weak, quoted. */
export function etagOf(version: number): string {
  return `W/"${version}"`;
}

/** Parses `attributes` / `excludedAttributes` into lower-cased attribute references. */
export function parseAttributeList(model: ResourceModel, value: string | undefined): string[] | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  return value
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => canonicalReference(model, part));
}

/** `urn:...:User:name.givenName` / `NAME.givenname` -> `name.givenname` (lower-case, core URN dropped). */
function canonicalReference(model: ResourceModel, reference: string): string {
  const lower = reference.toLowerCase();
  const core = `${model.core.id.toLowerCase()}:`;
  if (lower.startsWith(core)) return lower.slice(core.length);
  return lower;
}

/** What the projection needs to know about one reference list. */
export interface Projection {
  attributes: string[] | undefined;
  excluded: string[] | undefined;
}

/** Whether a top-level attribute (or extension URN) is part of the response. */
export function isReturned(projection: Projection, name: string): boolean {
  const lower = name.toLowerCase();
  if (lower === 'id' || lower === 'schemas') return true;
  if (projection.attributes) {
    return projection.attributes.some(
      (reference) =>
        reference === lower || reference.startsWith(`${lower}.`) || reference.startsWith(`${lower}:`),
    );
  }
  if (projection.excluded) return !projection.excluded.includes(lower);
  return true;
}

/** Applies `attributes` / `excludedAttributes` to a rendered resource. */
export function project(document: ResourceDocument, projection: Projection): ResourceDocument {
  if (!projection.attributes && !projection.excluded) return document;
  const out: ResourceDocument = {};
  for (const [key, value] of Object.entries(document)) {
    const lower = key.toLowerCase();
    if (lower === 'id' || lower === 'schemas') {
      out[key] = value;
      continue;
    }
    if (projection.attributes) {
      const wanted = projection.attributes.filter(
        (reference) =>
          reference === lower || reference.startsWith(`${lower}.`) || reference.startsWith(`${lower}:`),
      );
      if (wanted.length === 0) continue;
      if (wanted.includes(lower)) {
        out[key] = value;
        continue;
      }
      // Only some sub-attributes (name.givenName) or extension attributes (urn:...:department).
      if (value && typeof value === 'object' && !Array.isArray(value)) {
        const picked: Record<string, unknown> = {};
        for (const [subKey, subValue] of Object.entries(value as Record<string, unknown>)) {
          const subLower = subKey.toLowerCase();
          if (
            wanted.some(
              (reference) => reference === `${lower}.${subLower}` || reference === `${lower}:${subLower}`,
            )
          ) {
            picked[subKey] = subValue;
          }
        }
        if (Object.keys(picked).length) out[key] = picked;
      } else if (Array.isArray(value)) {
        out[key] = value.map((item) => {
          const picked: Record<string, unknown> = {};
          for (const [subKey, subValue] of Object.entries((item ?? {}) as Record<string, unknown>)) {
            if (wanted.includes(`${lower}.${subKey.toLowerCase()}`)) picked[subKey] = subValue;
          }
          return picked;
        });
      }
      continue;
    }
    if (projection.excluded?.includes(lower)) continue;
    if (value && typeof value === 'object' && !Array.isArray(value) && projection.excluded) {
      const kept: Record<string, unknown> = {};
      for (const [subKey, subValue] of Object.entries(value as Record<string, unknown>)) {
        const subLower = subKey.toLowerCase();
        if (
          !projection.excluded.some(
            (reference) => reference === `${lower}.${subLower}` || reference === `${lower}:${subLower}`,
          )
        ) {
          kept[subKey] = subValue;
        }
      }
      out[key] = kept;
      continue;
    }
    out[key] = value;
  }
  return out;
}
