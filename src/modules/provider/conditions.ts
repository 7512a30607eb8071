/**
 * Route conditions: the same language as provisioning rules (all/any/not, group, role, source,
 * attribute, always), evaluated without I/O over a person's groups, roles and profile.
 */
import type { Condition } from './contracts.ts';

export interface RouteSubject {
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
export function matchesCondition(condition: Condition, subject: RouteSubject): boolean {
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
  subject: RouteSubject,
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

function attributeValue(subject: RouteSubject, attribute: string): unknown {
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
