/**
 * Matching HR records to existing users (from SSO, SCIM, imports): by employee id, then by work
 * email, in the order the organization configures. Nothing is guessed: a key that finds several
 * users makes the record `ambiguous` (listed with its candidates), a user already claimed by
 * another record of the same source is not taken twice, and a record no key finds is `unmatched`.
 */
import type { CanonicalEmployee } from '../../connectors/hris-contract.ts';
import type { Tx } from '../../platform/db/client.ts';
import type { DirectoryService, UserView } from '../directory/index.ts';
import { recordsLinkedTo } from './repository.ts';

export type MatchResult =
  | { status: 'matched'; userId: string; detail?: undefined }
  | { status: 'unmatched'; detail: { reason: string } }
  | { status: 'ambiguous'; detail: { reason: string; candidates: string[] } };

export async function matchEmployees(
  tx: Tx,
  input: {
    directory: DirectoryService;
    organizationId: string;
    directoryId: string;
    matchBy: readonly string[];
    employees: readonly CanonicalEmployee[];
  },
): Promise<Map<string, MatchResult>> {
  const results = new Map<string, MatchResult>();
  if (!input.employees.length) return results;
  const { organizationId } = input;
  const numbers = input.employees.map(employeeNumberOf).filter((value): value is string => Boolean(value));
  const emails = input.employees.map(emailOf).filter((value): value is string => Boolean(value));
  const [byNumber, byEmail] = await Promise.all([
    input.matchBy.includes('employeeId')
      ? input.directory.findUsersByEmployeeIds(organizationId, numbers, tx)
      : [],
    input.matchBy.includes('workEmail') ? input.directory.findUsersByEmails(organizationId, emails, tx) : [],
  ]);
  const candidatesByNumber = new Map<string, UserView[]>();
  for (const user of byNumber) {
    for (const key of new Set([user.externalIds.employee_id, stringOf(user.profile.employeeNumber)])) {
      if (key) candidatesByNumber.set(key, [...(candidatesByNumber.get(key) ?? []), user]);
    }
  }
  const candidatesByEmail = new Map<string, UserView[]>();
  for (const user of byEmail) {
    const key = (user.email ?? '').toLowerCase();
    candidatesByEmail.set(key, [...(candidatesByEmail.get(key) ?? []), user]);
  }
  const allCandidates = [...new Set([...byNumber, ...byEmail].map((user) => user.id))];
  const claimedBy = new Map(
    (await recordsLinkedTo(tx, organizationId, input.directoryId, allCandidates)).map((row) => [
      row.userId,
      row.sourceId,
    ]),
  );
  const assigned = new Set<string>();
  for (const employee of input.employees) {
    results.set(
      employee.sourceId,
      decide(employee, input.matchBy, candidatesByNumber, candidatesByEmail, claimedBy, assigned),
    );
  }
  return results;
}

function decide(
  employee: CanonicalEmployee,
  matchBy: readonly string[],
  byNumber: Map<string, UserView[]>,
  byEmail: Map<string, UserView[]>,
  claimedBy: Map<string, string>,
  assigned: Set<string>,
): MatchResult {
  const number = employeeNumberOf(employee);
  const email = emailOf(employee);
  if (!number && !email) return { status: 'unmatched', detail: { reason: 'no_match_keys' } };
  for (const key of matchBy) {
    const value = key === 'employeeId' ? number : email;
    if (!value) continue;
    const found = (key === 'employeeId' ? byNumber.get(value) : byEmail.get(value.toLowerCase())) ?? [];
    // Users already linked to another person of this source are not candidates.
    const free = found.filter((user) => {
      const owner = claimedBy.get(user.id);
      return !owner || owner === employee.sourceId;
    });
    if (free.length === 1) {
      const userId = (free[0] as UserView).id;
      if (assigned.has(userId)) {
        return { status: 'ambiguous', detail: { reason: `${key}_shared_in_source`, candidates: [userId] } };
      }
      assigned.add(userId);
      return { status: 'matched', userId };
    }
    if (free.length > 1) {
      return {
        status: 'ambiguous',
        detail: { reason: `${key}_matches_several_users`, candidates: free.map((user) => user.id) },
      };
    }
    if (found.length > 0) {
      return {
        status: 'ambiguous',
        detail: { reason: `${key}_user_claimed_by_other_record`, candidates: found.map((user) => user.id) },
      };
    }
  }
  return { status: 'unmatched', detail: { reason: 'no_match' } };
}

function employeeNumberOf(employee: CanonicalEmployee): string | undefined {
  return stringOf(employee.fields.employeeNumber);
}

function emailOf(employee: CanonicalEmployee): string | undefined {
  return stringOf(employee.fields.workEmail)?.toLowerCase();
}

function stringOf(value: unknown): string | undefined {
  return typeof value === 'string' && value ? value : typeof value === 'number' ? String(value) : undefined;
}
