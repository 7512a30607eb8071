/**
 * Personio's wrapped attributes → flat source fields. `{label, value, type, universal_id}` keeps
 * only `value`; relations become `<key>.id` / `<key>.name` (and `<key>` = the name, so a mapping
 * may name either); lists of relations (`cost_centers`) become arrays; tags stay arrays.
 */
import type { SourceRecord, SourceValue } from '../hris-contract.ts';
import type { PersonioEmployee } from './schemas.ts';

export function flattenPersonioEmployee(employee: PersonioEmployee): SourceRecord {
  const fields: Record<string, SourceValue> = {};
  for (const [key, attribute] of Object.entries(employee.attributes)) {
    flattenValue(fields, key, attribute.value);
  }
  return { sourceId: String(fields.id), fields };
}

function flattenValue(fields: Record<string, SourceValue>, key: string, value: unknown): void {
  if (value === null || value === undefined) {
    fields[key] = null;
    return;
  }
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
    fields[key] = value;
    return;
  }
  if (Array.isArray(value)) {
    if (value.every((item) => typeof item !== 'object' || item === null)) {
      fields[key] = value.filter((item) => item !== null) as Array<string | number | boolean>;
      return;
    }
    const names: Array<string | number> = [];
    const ids: Array<string | number> = [];
    for (const item of value) {
      const relation = relationOf(item);
      if (relation.name !== undefined) names.push(relation.name);
      if (relation.id !== undefined) ids.push(relation.id);
    }
    fields[key] = names;
    fields[`${key}.name`] = names;
    fields[`${key}.id`] = ids;
    return;
  }
  if (typeof value === 'object') {
    const relation = relationOf(value);
    fields[`${key}.id`] = relation.id ?? null;
    fields[`${key}.name`] = relation.name ?? null;
    fields[key] = relation.name ?? relation.id ?? null;
  }
}

/**
 * `{type, attributes: {id, name}}` where attributes are plain (Department, Office, Team) or wrapped
 * again (`supervisor.value.attributes.id = {label, value, ...}`).
 */
function relationOf(value: unknown): { id?: string | number; name?: string } {
  const attributes = (value as { attributes?: Record<string, unknown> }).attributes;
  if (!attributes || typeof attributes !== 'object') return {};
  const unwrap = (item: unknown): string | number | undefined => {
    const inner =
      item && typeof item === 'object' && 'value' in item ? (item as { value: unknown }).value : item;
    return typeof inner === 'string' || typeof inner === 'number' ? inner : undefined;
  };
  const id = unwrap(attributes.id);
  const firstName = unwrap(attributes.first_name);
  const lastName = unwrap(attributes.last_name);
  const name =
    unwrap(attributes.name) ??
    (firstName !== undefined || lastName !== undefined
      ? [firstName, lastName].filter((part) => part !== undefined).join(' ')
      : undefined);
  return {
    ...(id !== undefined ? { id } : {}),
    ...(name !== undefined ? { name: String(name) } : {}),
  };
}
