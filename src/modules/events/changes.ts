/** The `changes` member of update events: each changed field with its value before and after. */

export type ChangeSet = Record<string, { from: unknown; to: unknown }>;

/**
 * Compares two views of a resource (never rows with secrets). Nested plain objects are compared
 * member by member with dotted names (`saml.idpSsoUrl`), up to `depth` levels; arrays and deeper
 * objects as a whole. Members named in `ignore` (e.g. `updatedAt`, `version`) are skipped.
 */
export function diffViews(
  before: Record<string, unknown>,
  after: Record<string, unknown>,
  options: { ignore?: readonly string[]; depth?: number } = {},
): ChangeSet {
  const changes: ChangeSet = {};
  const ignore = new Set(options.ignore ?? []);
  const walk = (left: unknown, right: unknown, path: string, depth: number) => {
    if (isPlainObject(left) && isPlainObject(right) && depth > 0) {
      for (const key of new Set([...Object.keys(left), ...Object.keys(right)])) {
        const name = path ? `${path}.${key}` : key;
        if (ignore.has(name)) continue;
        walk(left[key], right[key], name, depth - 1);
      }
      return;
    }
    if (!sameValue(left, right)) changes[path] = { from: left ?? null, to: right ?? null };
  };
  walk(before, after, '', (options.depth ?? 2) + 1);
  return changes;
}

/**
 * Whether two JSON-like values are equal: objects member by member whatever their key order,
 * arrays item by item in order. A value read back from a jsonb column comes with its keys in
 * jsonb's order (shorter keys first), not in the order they were written, so comparing
 * serialisations reports changes that are not there. `undefined` and `null` are the same
 * ("no value"), as in the change set.
 */
export function sameValue(left: unknown, right: unknown): boolean {
  if (left === right) return true;
  if ((left === null || left === undefined) && (right === null || right === undefined)) return true;
  if (left instanceof Date && right instanceof Date) return left.getTime() === right.getTime();
  if (Array.isArray(left) || Array.isArray(right)) {
    if (!Array.isArray(left) || !Array.isArray(right) || left.length !== right.length) return false;
    return left.every((item, index) => sameValue(item, right[index]));
  }
  if (isPlainObject(left) && isPlainObject(right)) {
    const keys = new Set([...Object.keys(left), ...Object.keys(right)]);
    for (const key of keys) if (!sameValue(left[key], right[key])) return false;
    return true;
  }
  return false;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
