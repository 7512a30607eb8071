/**
 * Reads BambooHR employees.
 *
 * `report` source, full read: the ids of every employee ever come from
 * `GET /employees/changed?since=1970-01-01T00:00:00Z` (deleted ones excluded), sorted; then each
 * page of ids is read with `POST /reports/custom?format=JSON` filtered by `employeeIds` (the report
 * returns every status, with the fields we name). The checkpoint is the last id of a page.
 * Incremental read: `GET /employees/changed?since=` lists inserted, updated and deleted ids; the
 * changed ones are read the same way, the deleted ones are reported as deletions.
 * (https://documentation.bamboohr.com/reference/get-changed-employee-ids,
 *  https://documentation.bamboohr.com/reference/request-custom-report)
 *
 * `directory` source: `GET /employees/directory`, active employees only, one page; 404 means empty.
 */
import { type EmployeePage, HrConnectorError, type ReadEmployeesRequest } from '../../hris-contract.ts';
import type { HrHttpClient } from '../../hris-http-client.ts';
import { flattenBambooEmployee } from '../flatten.ts';
import { BAMBOO_DEFAULT_FIELDS, type BamboohrConfig, bamboohrManifest } from '../manifest.ts';
import { BambooChangedSchema, BambooDirectorySchema, BambooReportSchema } from '../schemas.ts';

/** Increments ask from this long before the previous read started (clock skew, in-flight edits). */
const SINCE_OVERLAP_MS = 5 * 60_000;
const EPOCH = '1970-01-01T00:00:00Z';

export async function* readBambooEmployees(
  http: HrHttpClient,
  config: BamboohrConfig,
  request: ReadEmployeesRequest,
): AsyncGenerator<EmployeePage> {
  const nextSince = (request.startedAt ?? new Date()).toISOString();
  if (config.source === 'directory') {
    if (request.mode === 'incremental') {
      throw new HrConnectorError(
        'invalid_request',
        'The BambooHR directory source has no increments; use the report source.',
      );
    }
    const response = await http.request({
      url: 'employees/directory',
      acceptStatuses: [404],
      signal: request.signal,
    });
    // 404: the directory is empty.
    const employees =
      response.status === 404
        ? []
        : BambooDirectorySchema.parse(response.json).employees.map(flattenBambooEmployee);
    yield { records: employees, checkpoint: null, nextSince };
    return;
  }
  const since = request.mode === 'incremental' ? sinceFor(request.since) : EPOCH;
  const changed = await http.getJson(
    BambooChangedSchema,
    { url: 'employees/changed', query: { since }, signal: request.signal },
    'BambooHR GET /employees/changed',
  );
  const entries = Object.values(changed.employees);
  const deletedIds = entries.filter((entry) => entry.action === 'Deleted').map((entry) => entry.id);
  const after = request.resumeFrom ? Number(request.resumeFrom) : Number.NEGATIVE_INFINITY;
  const ids = entries
    .filter((entry) => entry.action !== 'Deleted')
    .map((entry) => entry.id)
    .filter((id) => Number(id) > after)
    .sort((a, b) => Number(a) - Number(b));
  const { maxPageSize, defaultPageSize } = bamboohrManifest.pagination;
  const size = Math.min(request.pageSize ?? defaultPageSize, maxPageSize);
  const fields = reportFields(config, request.fields);
  if (!ids.length) {
    yield {
      records: [],
      ...(request.mode === 'incremental' && !request.resumeFrom ? { deletedIds } : {}),
      checkpoint: null,
      nextSince,
    };
    return;
  }
  for (let index = 0; index < ids.length; index += size) {
    const chunk = ids.slice(index, index + size);
    const report = await http.getJson(
      BambooReportSchema,
      {
        method: 'POST',
        url: 'reports/custom',
        query: { format: 'JSON', onlyCurrent: 'true' },
        json: {
          title: 'Switchboard sync',
          fields,
          filters: { employeeIds: chunk.map(Number) },
          filterDuplicates: 'yes',
        },
        signal: request.signal,
      },
      'BambooHR POST /reports/custom',
    );
    const last = index + size >= ids.length;
    yield {
      records: report.employees.map(flattenBambooEmployee),
      // Deletions ride on the first page of an increment (resumed reads already applied them).
      ...(index === 0 && request.mode === 'incremental' && !request.resumeFrom ? { deletedIds } : {}),
      checkpoint: last ? null : (chunk.at(-1) as string),
      ...(last ? { nextSince } : {}),
    };
  }
}

/** The default fields, the configured extras and the mapping's fields (max 400 per report). */
export function reportFields(config: BamboohrConfig, mapped: readonly string[] | undefined): string[] {
  return [...new Set([...BAMBOO_DEFAULT_FIELDS, ...config.fields, ...(mapped ?? [])])]
    .filter((field) => field !== 'id')
    .slice(0, 400);
}

function sinceFor(since: string | undefined): string {
  const at = since ? Date.parse(since) : Number.NaN;
  if (Number.isNaN(at)) {
    throw new HrConnectorError(
      'invalid_request',
      'An incremental BambooHR read needs the previous read’s timestamp.',
    );
  }
  return new Date(at - SINCE_OVERLAP_MS).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
