/**
 * Merge Employee (expanded) → {@link SourceRecord}. The employee's current job title and
 * employment type come from its latest effective Employment; expanded groups are keyed by their
 * Merge type (`groups.DEPARTMENT`, `groups.COST_CENTER`, `groups.BUSINESS_UNIT`), so mappings can
 * name them; job history is the employments in date order, a changed title counting as a
 * promotion (Merge has no reason field).
 */
import type { JobHistoryEntry, SourceRecord, SourceValue } from '../hris-contract.ts';
import { flattenFields } from '../source-fields.ts';
import type { MergeEmployee, MergeEmployment } from './schemas.ts';

export function flattenMergeEmployee(employee: MergeEmployee, today = new Date()): SourceRecord {
  const { groups, employments, manager, team, work_location, remote_data, field_mappings, ...rest } =
    employee;
  const fields: Record<string, SourceValue> = flattenFields(rest);
  fields.manager = typeof manager === 'string' ? manager : (manager?.id ?? null);
  if (team && typeof team === 'object') fields['team.name'] = team.name ?? null;
  if (work_location && typeof work_location === 'object')
    fields['work_location.name'] = work_location.name ?? null;
  const byType = new Map<string, string[]>();
  for (const group of groups ?? []) {
    if (typeof group === 'string' || !group.type || !group.name) continue;
    byType.set(group.type, [...(byType.get(group.type) ?? []), group.name]);
  }
  for (const [type, names] of byType)
    fields[`groups.${type}`] = names.length === 1 ? (names[0] as string) : names;

  const history = (employments ?? [])
    .filter((e): e is MergeEmployment => typeof e !== 'string' && !e.remote_was_deleted)
    .sort((a, b) => (a.effective_date ?? '').localeCompare(b.effective_date ?? ''));
  const todayIso = today.toISOString();
  const current =
    history.filter((e) => !e.effective_date || e.effective_date <= todayIso).at(-1) ?? history.at(-1);
  if (current) {
    fields.job_title = current.job_title ?? null;
    fields.employment_type = current.employment_type ?? null;
  }
  const record: SourceRecord = { sourceId: employee.id, fields };
  if (history.length) {
    record.jobHistory = history
      .filter((e) => e.effective_date)
      .map((e, index, all) => ({
        effectiveDate: (e.effective_date as string).slice(0, 10),
        jobTitle: e.job_title ?? null,
        promotion: index > 0 && !!e.job_title && e.job_title !== all[index - 1]?.job_title,
      })) satisfies JobHistoryEntry[];
  }
  return record;
}
