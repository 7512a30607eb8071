/**
 * Flattening vendor JSON into {@link SourceRecord} fields, shared by the connectors whose records
 * nest (Workday RaaS groups, Merge expansions, Graph and Google objects): nested objects join their
 * keys with dots (`manager.id`), arrays of scalars stay arrays, arrays of objects become one array
 * per sub-key (`Skills.Skill` → `['sql', 'typescript']`), so a field mapping can name any of them.
 */
import type { SourceValue } from './hris-contract.ts';

type Scalar = string | number | boolean;

function isScalar(value: unknown): value is Scalar {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
}

export function flattenFields(
  value: Record<string, unknown>,
  options: { skip?: ReadonlySet<string>; maxDepth?: number } = {},
): Record<string, SourceValue> {
  const out: Record<string, SourceValue> = {};
  const maxDepth = options.maxDepth ?? 4;
  const visit = (prefix: string, node: unknown, depth: number): void => {
    if (node === undefined) return;
    if (node === null || isScalar(node)) {
      out[prefix] = node;
      return;
    }
    if (depth >= maxDepth) return;
    if (Array.isArray(node)) {
      if (node.every((item) => item === null || isScalar(item))) {
        out[prefix] = node.filter((item): item is Scalar => item !== null);
        return;
      }
      const collected = new Map<string, Scalar[]>();
      for (const item of node) {
        if (item === null || typeof item !== 'object' || Array.isArray(item)) continue;
        const inner: Record<string, SourceValue> = {};
        for (const [key, child] of Object.entries(item as Record<string, unknown>)) {
          if (isScalar(child)) inner[key] = child;
          else if (child && typeof child === 'object' && !Array.isArray(child)) {
            for (const [subKey, sub] of Object.entries(child as Record<string, unknown>)) {
              if (isScalar(sub)) inner[`${key}.${subKey}`] = sub;
            }
          }
        }
        for (const [key, scalar] of Object.entries(inner)) {
          if (scalar === null || Array.isArray(scalar)) continue;
          const list = collected.get(key) ?? [];
          list.push(scalar);
          collected.set(key, list);
        }
      }
      for (const [key, list] of collected) out[`${prefix}.${key}`] = list;
      return;
    }
    for (const [key, child] of Object.entries(node as Record<string, unknown>)) {
      if (prefix === '' && options.skip?.has(key)) continue;
      visit(prefix ? `${prefix}.${key}` : key, child, depth + 1);
    }
  };
  visit('', value, 0);
  return out;
}

/** The first present, non-empty string of a flattened record's fields. */
export function firstString(fields: Record<string, SourceValue>, ...keys: string[]): string | undefined {
  for (const key of keys) {
    const value = fields[key];
    if (typeof value === 'string' && value !== '') return value;
    if (typeof value === 'number') return String(value);
  }
  return undefined;
}
