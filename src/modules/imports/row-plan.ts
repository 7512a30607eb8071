/**
 * What importing one row does to the user store: create the person, update the fields that differ,
 * leave them unchanged, or reject the row. Pure: computed from the row and what the store holds,
 * the same way for the preview and for the apply.
 *
 * Rules (docs/imports.md): people are matched by email, case-insensitively. An empty cell never
 * clears a stored value. A listed person who was deprovisioned is reactivated unless a SCIM
 * directory manages them; a suspended person stays suspended. Groups are joined, never left.
 */
import type { CreateUserInput, UpdateUserInput, UserView } from '../directory/index.ts';
import type { MappedRow, RowReason } from './row-mapping.ts';

export interface GroupRef {
  id: string;
  name: string;
}

export interface PlanContext {
  /** The organization's groups by lower-cased name. */
  groups: Map<string, GroupRef>;
  /** A group every row joins. */
  fileGroup?: string;
  createGroups: boolean;
}

export interface RowPlan {
  rowNumber: number;
  email: string | null;
  outcome: 'created' | 'updated' | 'unchanged' | 'rejected';
  reasons: RowReason[];
  warnings: RowReason[];
  changes: string[];
  userId: string | null;
  create?: CreateUserInput;
  update?: UpdateUserInput;
  reactivate: boolean;
  /** Group names (as resolved or to be created) the user joins. */
  joins: string[];
  /** Names of groups that do not exist and will be created. */
  newGroups: string[];
}

export function rejectedPlan(row: MappedRow, reasons: RowReason[] = row.reasons): RowPlan {
  return {
    rowNumber: row.rowNumber,
    email: row.email,
    outcome: 'rejected',
    reasons,
    warnings: row.warnings,
    changes: [],
    userId: null,
    reactivate: false,
    joins: [],
    newGroups: [],
  };
}

export function planRow(
  row: MappedRow,
  existing: { user: UserView; groupIds: Set<string>; managedByDirectory: boolean } | undefined,
  context: PlanContext,
): RowPlan {
  if (row.reasons.length) return rejectedPlan(row);
  const warnings = [...row.warnings];
  const joins: string[] = [];
  const newGroups: string[] = [];
  const unknown: string[] = [];
  const names = [...row.groups];
  if (context.fileGroup && !names.some((name) => name.toLowerCase() === context.fileGroup?.toLowerCase()))
    names.push(context.fileGroup);
  for (const name of names) {
    const group = context.groups.get(name.toLowerCase());
    if (group) {
      if (!existing?.groupIds.has(group.id)) joins.push(group.name);
    } else if (context.createGroups) {
      joins.push(name);
      newGroups.push(name);
    } else unknown.push(name);
  }
  if (unknown.length) {
    return rejectedPlan(row, [
      {
        code: 'unknown_group',
        message: `No group named ${unknown.map((name) => `"${name}"`).join(', ')} in this organization.`,
        field: 'group',
      },
    ]);
  }
  const base = {
    rowNumber: row.rowNumber,
    email: row.email,
    reasons: [],
    warnings,
    joins,
    newGroups,
  };
  if (!existing) {
    return {
      ...base,
      outcome: 'created',
      changes: joins.length ? ['groups'] : [],
      userId: null,
      reactivate: false,
      create: {
        email: row.email as string,
        ...(row.givenName ? { givenName: row.givenName } : {}),
        ...(row.familyName ? { familyName: row.familyName } : {}),
        ...(row.displayName ? { displayName: row.displayName } : {}),
        ...(row.employeeId ? { externalIds: { employee_id: row.employeeId } } : {}),
        ...(Object.keys(row.profile).length ? { profile: { ...row.profile } } : {}),
      },
    };
  }
  const user = existing.user;
  const update: UpdateUserInput = {};
  const changes: string[] = [];
  if (row.givenName && row.givenName !== user.givenName) {
    update.givenName = row.givenName;
    changes.push('givenName');
  }
  if (row.familyName && row.familyName !== user.familyName) {
    update.familyName = row.familyName;
    changes.push('familyName');
  }
  if (row.displayName && row.displayName !== user.displayName) {
    update.displayName = row.displayName;
    changes.push('displayName');
  }
  if (row.employeeId && user.externalIds.employee_id !== row.employeeId) {
    update.externalIds = { employee_id: row.employeeId };
    changes.push('externalIds.employee_id');
  }
  const profile: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(row.profile)) {
    if (user.profile[key] !== value) {
      profile[key] = value;
      changes.push(`profile.${key}`);
    }
  }
  if (Object.keys(profile).length) update.profile = profile;
  let reactivate = false;
  if (user.status === 'deprovisioned') {
    if (existing.managedByDirectory) {
      warnings.push({
        code: 'user_managed_by_directory',
        message: 'This person is deprovisioned by their SCIM directory; the import does not reactivate them.',
      });
    } else {
      reactivate = true;
      changes.push('status');
    }
  } else if (user.status === 'suspended') {
    warnings.push({
      code: 'user_suspended',
      message: 'This person is suspended; the import leaves them suspended.',
    });
  }
  if (joins.length) changes.push('groups');
  return {
    ...base,
    outcome: changes.length ? 'updated' : 'unchanged',
    changes,
    userId: user.id,
    reactivate,
    ...(Object.keys(update).length ? { update } : {}),
  };
}
