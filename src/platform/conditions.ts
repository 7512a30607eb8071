/**
 * The condition language shared by provisioning rules and post-login routes: all/any/not, group,
 * role, source, attribute, always. One grammar (`conditionSchema`), one evaluator
 * (`matchesCondition`, no I/O, over a person's groups, roles and profile) and one describer.
 */
import { z } from 'zod';

export type Condition =
  | { all: Condition[] }
  | { any: Condition[] }
  | { not: Condition }
  | { group: string | string[] }
  | { role: string | string[] }
  | { source: string | string[] }
  | {
      attribute: string;
      equals?: string | number | boolean;
      in?: Array<string | number | boolean>;
      contains?: string;
      startsWith?: string;
      exists?: boolean;
    }
  | { always: true };

const oneOrMany = z.union([z.string().min(1).max(256), z.array(z.string().min(1).max(256)).min(1).max(100)]);
const scalar = z.union([z.string().max(1000), z.number(), z.boolean()]);

/** The same condition language as provisioning rules. */
export const conditionSchema: z.ZodType<Condition> = z.lazy(() =>
  z.union([
    z.object({ all: z.array(conditionSchema).max(50) }).strict(),
    z.object({ any: z.array(conditionSchema).min(1).max(50) }).strict(),
    z.object({ not: conditionSchema }).strict(),
    z
      .object({
        group: oneOrMany.describe('Member of any of these groups (name, case-insensitive, or grp_ id).'),
      })
      .strict(),
    z.object({ role: oneOrMany.describe('Has any of these roles (profile `roles`).') }).strict(),
    z
      .object({ source: oneOrMany.describe('Came from any of these sources: scim, sso, import, hris, api.') })
      .strict(),
    z
      .object({
        attribute: z
          .string()
          .min(1)
          .max(100)
          .describe(
            'A profile attribute (`department`, dotted for nested), or `email`, `givenName`, `familyName`.',
          ),
        equals: scalar.optional(),
        in: z.array(scalar).min(1).max(500).optional(),
        contains: z.string().max(1000).optional(),
        startsWith: z.string().max(1000).optional(),
        exists: z.boolean().optional(),
      })
      .strict()
      .refine(
        (value) =>
          [value.equals, value.in, value.contains, value.startsWith, value.exists].filter(
            (test) => test !== undefined,
          ).length === 1,
        { message: 'give exactly one of equals, in, contains, startsWith, exists' },
      ),
    z.object({ always: z.literal(true) }).strict(),
  ]),
);

export interface ConditionSubject {
  userId: string | null;
  email: string | null;
  givenName: string | null;
  familyName: string | null;
  source: string;
  profile: Record<string, unknown>;
  /** Lower-case group names and group ids. */
  groups: ReadonlySet<string>;
  /** Lower-case roles. */
  roles: ReadonlySet<string>;
}

/** True when the condition holds for the subject. An empty `all` holds for everyone. */
export function matchesCondition(condition: Condition, subject: ConditionSubject): boolean {
  if ('all' in condition) return condition.all.every((part) => matchesCondition(part, subject));
  if ('any' in condition) return condition.any.some((part) => matchesCondition(part, subject));
  if ('not' in condition) return !matchesCondition(condition.not, subject);
  if ('always' in condition) return true;
  if ('group' in condition)
    return list(condition.group).some((group) => subject.groups.has(group.toLowerCase()));
  if ('role' in condition) return list(condition.role).some((role) => subject.roles.has(role.toLowerCase()));
  if ('source' in condition) return list(condition.source).some((source) => source === subject.source);
  return matchesAttribute(condition, subject);
}

function matchesAttribute(
  condition: Extract<Condition, { attribute: string }>,
  subject: ConditionSubject,
): boolean {
  const value = attributeValue(subject, condition.attribute);
  if (condition.exists !== undefined) {
    return (value !== undefined && value !== null && value !== '') === condition.exists;
  }
  if (value === undefined || value === null) return false;
  const values = Array.isArray(value) ? value : [value];
  const text = (item: unknown) => String(item).toLowerCase();
  if (condition.equals !== undefined) return values.some((item) => text(item) === text(condition.equals));
  if (condition.in !== undefined) {
    const wanted = new Set(condition.in.map(text));
    return values.some((item) => wanted.has(text(item)));
  }
  if (condition.contains !== undefined) {
    const needle = condition.contains.toLowerCase();
    return values.some((item) => text(item).includes(needle));
  }
  if (condition.startsWith !== undefined) {
    const prefix = condition.startsWith.toLowerCase();
    return values.some((item) => text(item).startsWith(prefix));
  }
  return false;
}

function attributeValue(subject: ConditionSubject, attribute: string): unknown {
  switch (attribute) {
    case 'email':
      return subject.email;
    case 'givenName':
      return subject.givenName;
    case 'familyName':
      return subject.familyName;
    case 'source':
      return subject.source;
  }
  // Dotted paths reach into nested profile attributes (`manager.email`).
  let current: unknown = subject.profile;
  for (const part of attribute.split('.')) {
    if (!current || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

function list(value: string | string[]): string[] {
  return Array.isArray(value) ? value : [value];
}

/** A sentence describing a condition, for previews and traces. */
export function describeCondition(condition: Condition): string {
  if ('all' in condition) {
    return condition.all.length ? condition.all.map(describeCondition).join(' and ') : 'everyone';
  }
  if ('any' in condition) return `(${condition.any.map(describeCondition).join(' or ')})`;
  if ('not' in condition) return `not ${describeCondition(condition.not)}`;
  if ('always' in condition) return 'everyone';
  if ('group' in condition) return `in group ${list(condition.group).join(' or ')}`;
  if ('role' in condition) return `has role ${list(condition.role).join(' or ')}`;
  if ('source' in condition) return `came from ${list(condition.source).join(' or ')}`;
  const test =
    condition.equals !== undefined
      ? `= ${JSON.stringify(condition.equals)}`
      : condition.in !== undefined
        ? `in ${JSON.stringify(condition.in)}`
        : condition.contains !== undefined
          ? `contains ${JSON.stringify(condition.contains)}`
          : condition.startsWith !== undefined
            ? `starts with ${JSON.stringify(condition.startsWith)}`
            : condition.exists
              ? 'is set'
              : 'is not set';
  return `${condition.attribute} ${test}`;
}

/** Roles from the profile: `roles` (or `role`), strings or SCIM-style `{ value }` objects. */
export function rolesOf(profile: Record<string, unknown>): string[] {
  const raw = profile.roles ?? profile.role;
  const items = Array.isArray(raw) ? raw : raw === undefined || raw === null ? [] : [raw];
  const roles: string[] = [];
  for (const item of items) {
    const value =
      typeof item === 'string'
        ? item
        : item && typeof item === 'object' && 'value' in item
          ? String((item as { value: unknown }).value)
          : undefined;
    if (value && !roles.includes(value)) roles.push(value);
  }
  return roles;
}
