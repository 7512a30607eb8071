/**
 * Reads Workday workers from the RaaS report. The report arrives whole, so the read sorts it by
 * the id column and yields it in pages of `pageSize` rows; a page's checkpoint is the last id it
 * holds, so a sync that failed after committing some pages fetches the report again and continues
 * after that id (rows added or removed meanwhile neither shift nor repeat the rest).
 */
import {
  type EmployeePage,
  HrSchemaError,
  type JobHistoryEntry,
  type ReadEmployeesRequest,
  type SourceRecord,
} from '../../hris-contract.ts';
import { flattenFields } from '../../source-fields.ts';
import type { WorkdayClient } from '../client.ts';
import { workdayManifest } from '../manifest.ts';
import { WorkdayJobHistoryEntrySchema, type WorkdayReportEntry } from '../schemas.ts';

const CHECKPOINT_PREFIX = 'after:';

export async function* readWorkdayEmployees(
  client: WorkdayClient,
  request: ReadEmployeesRequest,
): AsyncGenerator<EmployeePage> {
  const { maxPageSize, defaultPageSize } = workdayManifest.pagination;
  const pageSize = Math.max(1, Math.min(request.pageSize ?? defaultPageSize, maxPageSize));
  const entries = await client.fetchReport(request.signal);
  let records = entries.map((entry, index) => toSourceRecord(entry, index, client.config));
  records.sort((a, b) => (a.sourceId < b.sourceId ? -1 : a.sourceId > b.sourceId ? 1 : 0));
  if (request.resumeFrom?.startsWith(CHECKPOINT_PREFIX)) {
    const after = request.resumeFrom.slice(CHECKPOINT_PREFIX.length);
    records = records.filter((record) => record.sourceId > after);
  }
  if (records.length === 0) {
    yield { records: [], checkpoint: null };
    return;
  }
  for (let offset = 0; offset < records.length; offset += pageSize) {
    const page = records.slice(offset, offset + pageSize);
    const last = offset + pageSize >= records.length;
    yield { records: page, checkpoint: last ? null : `${CHECKPOINT_PREFIX}${page.at(-1)?.sourceId}` };
  }
}

export function toSourceRecord(
  entry: WorkdayReportEntry,
  index: number,
  config: { idColumn: string; jobHistoryColumn: string },
): SourceRecord {
  const id = entry[config.idColumn];
  if (typeof id !== 'string' && typeof id !== 'number') {
    throw new HrSchemaError(`Workday report row ${index + 1}`, [
      {
        path: `Report_Entry.${index}.${config.idColumn}`,
        message: 'missing: the id column must be in every row',
      },
    ]);
  }
  const history = entry[config.jobHistoryColumn];
  const record: SourceRecord = {
    sourceId: String(id),
    fields: flattenFields(entry, { skip: new Set([config.jobHistoryColumn]) }),
  };
  if (Array.isArray(history)) record.jobHistory = jobHistory(history, index);
  return record;
}

/** Job history rows, oldest first; a business process reason naming a promotion marks one. */
function jobHistory(rows: unknown[], index: number): JobHistoryEntry[] {
  return rows
    .map((row, position) => {
      const parsed = WorkdayJobHistoryEntrySchema.safeParse(row);
      if (!parsed.success) {
        throw new HrSchemaError(
          `Workday report row ${index + 1}`,
          parsed.error.issues.map((issue) => ({
            path: `Report_Entry.${index}.Job_History.${position}.${issue.path.join('.')}`,
            message: issue.message,
          })),
        );
      }
      const entry: JobHistoryEntry = {
        effectiveDate: parsed.data.Effective_Date.slice(0, 10),
        jobTitle: parsed.data.Business_Title ?? null,
        level: parsed.data.Management_Level ?? null,
        promotion: /promot/i.test(parsed.data.Business_Process_Reason ?? ''),
      };
      if (parsed.data.Department) entry.department = parsed.data.Department;
      return entry;
    })
    .sort((a, b) => a.effectiveDate.localeCompare(b.effectiveDate));
}
