/**
 * From rules to desired state: which account, enrollments and groups one person should have in one
 * destination. Pure (no I/O), deterministic (same person and rules → same state, so a retry
 * computes what the first attempt did), and shared by sync jobs and dry runs.
 */
import type { AccountProfile, EnrollmentSpec } from '../../connectors/destination.ts';
import {
  type Condition,
  type ConditionSubject,
  matchesCondition,
  rolesOf,
} from '../../platform/conditions.ts';
import type { GroupView, UserView } from '../directory/index.ts';
import { type RuleEffect, ruleEffectSchema, type Timing } from './contracts.ts';
import type { RuleRow } from './repository.ts';

export interface DesiredState {
  account: boolean;
  profile: AccountProfile | null;
  enrollments: EnrollmentSpec[];
  /** Group names (the first rule's spelling), sorted. */
  groups: string[];
  /** Ids of the rules that produced this state. */
  rules: string[];
}

export const NOTHING: DesiredState = {
  account: false,
  profile: null,
  enrollments: [],
  groups: [],
  rules: [],
};

export function subjectOf(user: UserView, groups: readonly GroupView[]): ConditionSubject {
  return {
    userId: user.id,
    email: user.email,
    givenName: user.givenName,
    familyName: user.familyName,
    source: user.source,
    profile: user.profile,
    groups: new Set(groups.flatMap((group) => [group.name.toLowerCase(), group.id])),
    roles: new Set(rolesOf(user.profile).map((role) => role.toLowerCase())),
  };
}

export function profileOf(user: UserView): AccountProfile | null {
  if (!user.email) return null;
  const local = user.email.split('@')[0] ?? user.email;
  // Thinkific requires both names: fall back to the email's local part rather than fail the person.
  const givenName = user.givenName?.trim() || local;
  const familyName = user.familyName?.trim() || '-';
  return {
    userId: user.id,
    email: user.email.toLowerCase(),
    givenName,
    familyName,
    displayName: user.displayName?.trim() || `${givenName} ${familyName}`,
  };
}

/** The person's start date: profile `startDate` (or `start_date`, `hireDate`, `hire_date`), else creation. */
export function startDateOf(user: UserView): Date {
  for (const key of ['startDate', 'start_date', 'hireDate', 'hire_date']) {
    const value = user.profile[key];
    if (typeof value === 'string' || typeof value === 'number') {
      const date = new Date(value);
      if (!Number.isNaN(date.getTime())) return date;
    }
  }
  return new Date(user.createdAt);
}

function resolveTiming(timing: Timing | undefined, start: Date): string | null {
  if (!timing) return null;
  if ('at' in timing) return new Date(timing.at).toISOString();
  return new Date(start.getTime() + timing.daysAfterStart * 86_400_000).toISOString();
}

/** Effects of a stored rule (validated when saved; parsed again to apply defaults). */
export function effectsOf(rule: Pick<RuleRow, 'effects'>): RuleEffect[] {
  return rule.effects.map((effect) => ruleEffectSchema.parse(effect));
}

/**
 * The desired state of `user` in `destinationId` under `rules` (in order; disabled rules skipped).
 * A person who is not active, or has no email, gets nothing. Several rules naming the same product
 * merge: the earliest activation and the latest expiry (never expiring wins).
 */
export function computeDesired(
  user: UserView | null,
  groups: readonly GroupView[],
  rules: readonly Pick<RuleRow, 'id' | 'enabled' | 'condition' | 'effects'>[],
  destinationId: string,
): DesiredState {
  if (user?.status !== 'active') return NOTHING;
  const profile = profileOf(user);
  if (!profile) return NOTHING;
  const subject = subjectOf(user, groups);
  const start = startDateOf(user);
  const enrollments = new Map<string, EnrollmentSpec>();
  // Group names keep the rule's spelling (Thinkific shows it); duplicates differ only in case.
  const groupNames = new Map<string, string>();
  const matched: string[] = [];
  let account = false;
  for (const rule of rules) {
    if (!rule.enabled) continue;
    const effects = effectsOf(rule).filter((effect) => effect.destinationId === destinationId);
    if (!effects.length) continue;
    if (!matchesCondition(rule.condition as unknown as Condition, subject)) continue;
    matched.push(rule.id);
    for (const effect of effects) {
      if (effect.account || effect.enrollments.length || effect.groups.length) account = true;
      for (const group of effect.groups)
        if (!groupNames.has(group.toLowerCase())) groupNames.set(group.toLowerCase(), group);
      for (const enrollment of effect.enrollments) {
        const spec: EnrollmentSpec = {
          kind: enrollment.kind,
          productId: enrollment.id,
          activatedAt: resolveTiming(enrollment.activation, start) ?? start.toISOString(),
          expiresAt: resolveTiming(enrollment.expiry, start),
        };
        const key = enrollmentKey(spec);
        const existing = enrollments.get(key);
        enrollments.set(key, existing ? mergeSpecs(existing, spec) : spec);
      }
    }
  }
  if (!account) return { ...NOTHING, rules: matched };
  return {
    account,
    profile,
    enrollments: [...enrollments.values()].sort((a, b) => enrollmentKey(a).localeCompare(enrollmentKey(b))),
    groups: [...groupNames.values()].sort(),
    rules: matched,
  };
}

export function enrollmentKey(spec: { kind: string; productId: string }): string {
  return `${spec.kind}:${spec.productId}`;
}

function mergeSpecs(a: EnrollmentSpec, b: EnrollmentSpec): EnrollmentSpec {
  // ISO-8601 UTC strings of one format sort as the times they name.
  const activatedAt =
    a.activatedAt && b.activatedAt ? ([a.activatedAt, b.activatedAt].sort()[0] ?? null) : null;
  const expiresAt = a.expiresAt && b.expiresAt ? ([a.expiresAt, b.expiresAt].sort()[1] ?? null) : null;
  return { ...a, activatedAt: activatedAt ?? a.activatedAt ?? b.activatedAt, expiresAt };
}
