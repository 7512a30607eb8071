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
    if (JSON.stringify(left) !== JSON.stringify(right))
      changes[path] = { from: left ?? null, to: right ?? null };
  };
  walk(before, after, '', (options.depth ?? 2) + 1);
  return changes;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
