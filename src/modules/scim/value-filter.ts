/**
 * In-memory matching of a PATCH value filter (`emails[type eq "work"]`, `members[value eq "id"]`)
 * against the elements of one resource's multi-valued attribute. Case-insensitive unless the
 * sub-attribute is caseExact (RFC 7643 section 2.2) — unlike the parser's own matcher.
 */
import type { Filter } from 'scim2-parse-filter';
import { invalidPath } from './errors.ts';
import type { AttributeDef } from './schemas.ts';

export function matchesValueFilter(filter: Filter, element: unknown, attribute: AttributeDef): boolean {
  const record = element && typeof element === 'object' ? (element as Record<string, unknown>) : {};
  switch (filter.op) {
    case 'and':
      return filter.filters.every((child) => matchesValueFilter(child, element, attribute));
    case 'or':
      return filter.filters.some((child) => matchesValueFilter(child, element, attribute));
    case 'not':
      return !matchesValueFilter(filter.filter, element, attribute);
    case '[]':
      throw invalidPath('Value filters cannot be nested.');
    default: {
      const sub = findSub(attribute, filter.attrPath);
      const actual = record[sub.name];
      const op = filter.op.toLowerCase();
      if (op === 'pr') return actual !== undefined && actual !== null && actual !== '';
      const expected = 'compValue' in filter ? filter.compValue : undefined;
      return compareValues(actual, expected, op, sub);
    }
  }
}

function findSub(attribute: AttributeDef, name: string): AttributeDef {
  const lower = name.toLowerCase();
  const sub = attribute.subAttributes?.find((candidate) => candidate.name.toLowerCase() === lower);
  if (!sub) throw invalidPath(`${attribute.name} has no sub-attribute "${name}".`);
  return sub;
}

function compareValues(actual: unknown, expected: unknown, op: string, sub: AttributeDef): boolean {
  if (actual === undefined || actual === null) return op === 'ne';
  if (sub.type === 'boolean') {
    const left = toBool(actual);
    const right = toBool(expected);
    if (op === 'eq') return left === right;
    if (op === 'ne') return left !== right;
    return false;
  }
  const fold = (value: unknown) => (sub.caseExact ? String(value) : String(value).toLowerCase());
  const left = fold(actual);
  const right = fold(expected);
  switch (op) {
    case 'eq':
      return left === right;
    case 'ne':
      return left !== right;
    case 'co':
      return left.includes(right);
    case 'sw':
      return left.startsWith(right);
    case 'ew':
      return left.endsWith(right);
    case 'gt':
      return left > right;
    case 'ge':
      return left >= right;
    case 'lt':
      return left < right;
    case 'le':
      return left <= right;
    default:
      return false;
  }
}

function toBool(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string' && /^(true|false)$/i.test(value)) return value.toLowerCase() === 'true';
  return undefined;
}

/**
 * The sub-attribute values a filter pins down when it is only `eq` comparisons joined by `and`
 * (`type eq "work"`): what a new element must carry when a PATCH targets a value that does not exist
 * yet. Undefined when the filter says more than that.
 */
export function equalityTemplate(
  filter: Filter,
  attribute: AttributeDef,
): Record<string, unknown> | undefined {
  if (filter.op === 'and') {
    const merged: Record<string, unknown> = {};
    for (const child of filter.filters) {
      const part = equalityTemplate(child, attribute);
      if (!part) return undefined;
      Object.assign(merged, part);
    }
    return merged;
  }
  if (filter.op.toLowerCase() !== 'eq' || !('attrPath' in filter) || !('compValue' in filter))
    return undefined;
  const sub = findSub(attribute, filter.attrPath);
  return { [sub.name]: sub.type === 'boolean' ? toBool(filter.compValue) : filter.compValue };
}
