/**
 * Reads SuccessFactors employees: pages of `User` (all statuses, manager expanded, server-side
 * snapshot paging), and for each page the users' `EmpJob` history (`fromDate=1900-01-01`) and
 * current `PerPersonal` record, asked for with `userId in (...)` filters in chunks.
 * The current job (the one in effect today) fills `empJob.*` fields; a current job whose
 * employment status is T (terminated) gives `empJob.terminationDate`. Job history is every job
 * record but terminations, oldest first, promotions marked by their event reason.
 * The checkpoint is the `__next` link of the next User page.
 */
import {
  type EmployeePage,
  HrConnectorError,
  type JobHistoryEntry,
  type ReadEmployeesRequest,
  type SourceRecord,
  type SourceValue,
} from '../../hris-contract.ts';
import { flattenFields } from '../../source-fields.ts';
import type { SuccessFactorsClient } from '../client.ts';
import { successFactorsManifest } from '../manifest.ts';
import {
  odataDay,
  odataMillis,
  type SfEmpJob,
  SfEmpJobSchema,
  type SfPerPersonal,
  SfPerPersonalSchema,
  type SfUser,
  SfUserSchema,
} from '../schemas.ts';

const USER_SELECT = [
  'userId',
  'username',
  'firstName',
  'lastName',
  'email',
  'status',
  'empId',
  'department',
  'division',
  'location',
  'title',
  'hireDate',
  'lastModifiedDateTime',
  ...Array.from({ length: 15 }, (_, i) => `custom${String(i + 1).padStart(2, '0')}`),
  'manager/userId',
].join(',');

/** Ids per `in` filter: keeps URLs well under gateway limits. */
const FILTER_CHUNK = 100;

const quote = (id: string) => `'${id.replace(/'/g, "''")}'`;

export async function* readSuccessFactorsEmployees(
  client: SuccessFactorsClient,
  request: ReadEmployeesRequest,
): AsyncGenerator<EmployeePage> {
  const pageSize = Math.max(
    1,
    Math.min(request.pageSize ?? successFactorsManifest.pagination.defaultPageSize, 1000),
  );
  const signal = request.signal;
  const today = (request.startedAt ?? new Date()).getTime();
  if (request.resumeFrom && !/\/User\?/.test(request.resumeFrom)) {
    throw new HrConnectorError('invalid_request', 'The SuccessFactors checkpoint is not a User page link');
  }
  let page = request.resumeFrom
    ? await client.list(SfUserSchema, request.resumeFrom, undefined, signal)
    : await client.list(
        SfUserSchema,
        'User',
        {
          // All users, not only active ones: leavers must be seen to be deactivated.
          $filter: "status in 't','f','T','F','e','d'",
          $select: USER_SELECT,
          $expand: 'manager',
          customPageSize: pageSize,
          paging: 'snapshot',
        },
        signal,
      );
  for (;;) {
    const users = page.d.results;
    const ids = users.map((user) => user.userId);
    const jobs = new Map<string, SfEmpJob[]>();
    const personal = new Map<string, SfPerPersonal>();
    for (let i = 0; i < ids.length; i += FILTER_CHUNK) {
      const chunk = ids
        .slice(i, i + FILTER_CHUNK)
        .map(quote)
        .join(',');
      for (const job of await client.all(
        SfEmpJobSchema,
        'EmpJob',
        { $filter: `userId in ${chunk}`, fromDate: '1900-01-01', customPageSize: 1000 },
        signal,
      )) {
        jobs.set(job.userId, [...(jobs.get(job.userId) ?? []), job]);
      }
      for (const person of await client.all(
        SfPerPersonalSchema,
        'PerPersonal',
        { $filter: `personIdExternal in ${chunk}`, customPageSize: 1000 },
        signal,
      )) {
        personal.set(person.personIdExternal, person);
      }
    }
    const records = users.map((user) =>
      successFactorsRecord(
        user,
        jobs.get(user.userId) ?? [],
        personal.get(user.userId),
        today,
        client.config.promotionEventReasons,
      ),
    );
    const next = page.d.__next;
    if (!next) {
      yield { records, checkpoint: null };
      return;
    }
    yield { records, checkpoint: next };
    page = await client.list(SfUserSchema, next, undefined, signal);
  }
}

export function successFactorsRecord(
  user: SfUser,
  jobs: SfEmpJob[],
  personal: SfPerPersonal | undefined,
  today: number,
  promotionReasons: readonly string[],
): SourceRecord {
  const { manager, __metadata, ...rest } = user as SfUser & { __metadata?: unknown };
  void __metadata;
  const fields: Record<string, SourceValue> = flattenFields(rest);
  fields['manager.userId'] = manager && typeof manager === 'object' ? (manager.userId ?? null) : null;
  const sorted = [...jobs].sort((a, b) => (odataMillis(a.startDate) ?? 0) - (odataMillis(b.startDate) ?? 0));
  const current = sorted.filter((job) => (odataMillis(job.startDate) ?? 0) <= today).at(-1) ?? sorted.at(-1);
  if (current) {
    for (const key of [
      'jobTitle',
      'payGrade',
      'department',
      'costCenter',
      'managerId',
      'emplStatus',
      'eventReason',
      'employeeClass',
    ] as const) {
      fields[`empJob.${key}`] = current[key] ?? null;
    }
    fields['empJob.startDate'] = odataDay(current.startDate) ?? null;
    fields['empJob.terminationDate'] =
      current.emplStatus === 'T' ? (odataDay(current.startDate) ?? null) : null;
  }
  if (personal) {
    fields['perPersonal.preferredName'] = personal.preferredName ?? null;
    fields['perPersonal.displayName'] = personal.displayName ?? null;
  }
  const reasons = new Set(promotionReasons.map((reason) => reason.toUpperCase()));
  const jobHistory: JobHistoryEntry[] = sorted
    .filter((job) => job.emplStatus !== 'T')
    .map((job) => ({
      effectiveDate: odataDay(job.startDate) as string,
      jobTitle: job.jobTitle ?? null,
      level: job.payGrade ?? null,
      department: job.department ?? null,
      promotion: reasons.has((job.eventReason ?? '').toUpperCase()),
    }));
  return { sourceId: user.userId, fields, ...(jobHistory.length ? { jobHistory } : {}) };
}
