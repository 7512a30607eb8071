/**
 * Personio records → flat source fields.
 *
 * v1: wrapped attributes `{label, value, type, universal_id}` keep only `value`; relations become
 * `<key>.id` / `<key>.name` (and `<key>` = the name, so a mapping may name either); lists of
 * relations (`cost_centers`) become arrays; tags stay arrays.
 *
 * v2: a person and their current employment are flattened to the *v1 keys* where the meaning is
 * the same (`position` ← `position.title`, `hire_date` ← `employment_start_date`,
 * `termination_date` ← `termination.termination_date`, `supervisor.id`, `status`), so one default
 * mapping serves both versions. Org units become `<type>` and `<type>.id` (`department`, `team`),
 * holding the unit's id: v2 employments carry no names. Custom attributes are keyed by both their
 * `id` and their `global_id`.
 */
import type { SourceRecord, SourceValue } from '../hris-contract.ts';
import type { PersonioEmployee, PersonioV2Employment, PersonioV2Person } from './schemas.ts';

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

export function flattenPersonioPerson(
  person: PersonioV2Person,
  employment: PersonioV2Employment | undefined,
): SourceRecord {
  const fields: Record<string, SourceValue> = {
    id: person.id,
    email: person.email ?? null,
    first_name: person.first_name ?? null,
    last_name: person.last_name ?? null,
    preferred_name: person.preferred_name ?? null,
    created_at: person.created_at ?? null,
    updated_at: person.updated_at ?? null,
    'employment.id': employment?.id ?? null,
    status: employment?.status ?? null,
    position: employment?.position?.title ?? null,
    'supervisor.id': employment?.supervisor?.id ?? null,
    hire_date: employment?.employment_start_date ?? null,
    termination_date: employment?.termination?.termination_date ?? null,
  };
  for (const unit of employment?.org_units ?? []) {
    const type = unit.type.toLowerCase();
    // One unit per type is the norm; a second of the same type does not replace the first.
    if (fields[`${type}.id`] !== undefined) continue;
    fields[type] = unit.id;
    fields[`${type}.id`] = unit.id;
  }
  // A custom attribute never replaces a field read from the person or the employment.
  const standard = new Set(Object.keys(fields));
  for (const attribute of person.custom_attributes ?? []) {
    const value = customValue(attribute.value);
    for (const key of [attribute.id, attribute.global_id]) {
      if (key && !standard.has(key)) fields[key] = value;
    }
  }
  return { sourceId: person.id, fields };
}

/**
 * The employment a person's profile is read from: the current one (active, onboarding or on
 * leave; the latest started when several), else the latest started. A person without
 * employments yields undefined.
 */
export function currentPersonioEmployment(
  employments: readonly PersonioV2Employment[],
): PersonioV2Employment | undefined {
  const byStart = [...employments].sort((a, b) =>
    (b.employment_start_date ?? '').localeCompare(a.employment_start_date ?? ''),
  );
  const current = byStart.find((employment) =>
    ['active', 'onboarding', 'leave'].includes((employment.status ?? '').toLowerCase()),
  );
  return current ?? byStart[0];
}

function customValue(value: unknown): SourceValue {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  if (Array.isArray(value) && value.every((item) => ['string', 'number', 'boolean'].includes(typeof item))) {
    return value as Array<string | number | boolean>;
  }
  // Structured values (e.g. a list option as an object) are kept whole, as JSON text.
  return JSON.stringify(value);
}
