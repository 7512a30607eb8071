/**
 * Reads Merge employees (https://docs.merge.dev/hris/employees/#employees_list).
 *
 * - Full: every employee (deleted ones are hidden by default), expanded with employments,
 *   location, team and groups; refused while Merge's own Employee sync is not DONE.
 * - Incremental: employees with `modified_after` (and `include_deleted_data=true`: deleted ones
 *   become `deletedIds`), then employments with `modified_after`, whose employees are read whole:
 *   a new title or employment type changes only the Employment's `modified_at`.
 *
 * Checkpoints are the phase and the cursor of the next page; `nextSince` is the read's start time,
 * and increments ask from {@link SINCE_OVERLAP_MS} earlier (Merge's clock and in-flight syncs).
 */
import { z } from 'zod';
import {
  type EmployeePage,
  HrConnectorError,
  type ReadEmployeesRequest,
  type SourceRecord,
} from '../../hris-contract.ts';
import { EMPLOYEE_EXPAND, type MergeClient } from '../client.ts';
import { flattenMergeEmployee } from '../flatten.ts';
import { type MergeConfig, mergeManifest } from '../manifest.ts';
import { MergeEmployeeSchema, MergeEmploymentSchema } from '../schemas.ts';

export const SINCE_OVERLAP_MS = 5 * 60_000;

const CheckpointSchema = z.object({
  phase: z.enum(['employees', 'employments']),
  cursor: z.string().nullable(),
});
type Checkpoint = z.output<typeof CheckpointSchema>;

export async function* readMergeEmployees(
  client: MergeClient,
  config: MergeConfig,
  request: ReadEmployeesRequest,
): AsyncGenerator<EmployeePage> {
  const pageSize = Math.max(1, Math.min(request.pageSize ?? mergeManifest.pagination.defaultPageSize, 100));
  const signal = request.signal;
  const startedAt = request.startedAt ?? new Date();
  const nextSince = startedAt.toISOString();
  let checkpoint: Checkpoint = { phase: 'employees', cursor: null };
  if (request.resumeFrom) {
    try {
      checkpoint = CheckpointSchema.parse(JSON.parse(request.resumeFrom));
    } catch {
      throw new HrConnectorError('invalid_request', 'The Merge checkpoint is not one this connector issued');
    }
  }

  if (request.mode === 'full') {
    if (config.requireCompleteSync && !request.resumeFrom) await ensureEmployeeSyncDone(client, signal);
    for (;;) {
      const page = await client.page(
        MergeEmployeeSchema,
        'employees',
        { page_size: pageSize, expand: EMPLOYEE_EXPAND },
        checkpoint.cursor ?? undefined,
        signal,
      );
      const records = page.results
        .filter((e) => !e.remote_was_deleted)
        .map((e) => flattenMergeEmployee(e, startedAt));
      if (!page.next) {
        yield { records, checkpoint: null, nextSince };
        return;
      }
      checkpoint = { phase: 'employees', cursor: page.next };
      yield { records, checkpoint: JSON.stringify(checkpoint) };
    }
  }

  if (!request.since || Number.isNaN(Date.parse(request.since))) {
    throw new HrConnectorError(
      'invalid_request',
      'An incremental Merge read needs the time of a previous read',
    );
  }
  const modifiedAfter = new Date(Date.parse(request.since) - SINCE_OVERLAP_MS).toISOString();
  const yielded = new Set<string>();
  while (checkpoint.phase === 'employees') {
    const page = await client.page(
      MergeEmployeeSchema,
      'employees',
      {
        page_size: pageSize,
        expand: EMPLOYEE_EXPAND,
        modified_after: modifiedAfter,
        include_deleted_data: 'true',
      },
      checkpoint.cursor ?? undefined,
      signal,
    );
    const records: SourceRecord[] = [];
    const deletedIds: string[] = [];
    for (const employee of page.results) {
      yielded.add(employee.id);
      if (employee.remote_was_deleted) deletedIds.push(employee.id);
      else records.push(flattenMergeEmployee(employee, startedAt));
    }
    checkpoint = page.next
      ? { phase: 'employees', cursor: page.next }
      : { phase: 'employments', cursor: null };
    yield { records, ...(deletedIds.length ? { deletedIds } : {}), checkpoint: JSON.stringify(checkpoint) };
  }
  for (;;) {
    const page = await client.page(
      MergeEmploymentSchema,
      'employments',
      { page_size: pageSize, modified_after: modifiedAfter },
      checkpoint.cursor ?? undefined,
      signal,
    );
    const records: SourceRecord[] = [];
    const deletedIds: string[] = [];
    const employeeIds = [...new Set(page.results.map((e) => e.employee).filter((id): id is string => !!id))];
    for (const id of employeeIds) {
      if (yielded.has(id)) continue;
      yielded.add(id);
      const response = await client.http.request({
        url: `employees/${encodeURIComponent(id)}`,
        query: { expand: EMPLOYEE_EXPAND, include_deleted_data: 'true' },
        acceptStatuses: [404],
        ...(signal ? { signal } : {}),
      });
      if (response.status === 404) continue; // gone entirely: the employees phase reported it if Merge knew
      const employee = MergeEmployeeSchema.safeParse(response.json);
      if (!employee.success) {
        throw new HrConnectorError(
          'invalid_response',
          `Merge employee ${id} did not match the expected shape`,
        );
      }
      if (employee.data.remote_was_deleted) deletedIds.push(id);
      else records.push(flattenMergeEmployee(employee.data, startedAt));
    }
    if (!page.next) {
      yield { records, ...(deletedIds.length ? { deletedIds } : {}), checkpoint: null, nextSince };
      return;
    }
    checkpoint = { phase: 'employments', cursor: page.next };
    yield { records, ...(deletedIds.length ? { deletedIds } : {}), checkpoint: JSON.stringify(checkpoint) };
  }
}

/** Merge's data is complete only once the Employee model's last sync is DONE (apis.md §10). */
async function ensureEmployeeSyncDone(client: MergeClient, signal?: AbortSignal): Promise<void> {
  const status = await client.syncStatus(signal);
  const employee = status.results.find((model) => model.model_name === 'Employee');
  if (!employee) return;
  if (employee.last_sync_result !== 'DONE' || (employee.is_initial_sync && employee.status === 'SYNCING')) {
    throw new HrConnectorError(
      'upstream',
      `Merge has not finished syncing employees from the HR system (status ${employee.status}, last result ${employee.last_sync_result ?? 'none'}): a full read now would be incomplete, so it waits for the next run`,
    );
  }
}
