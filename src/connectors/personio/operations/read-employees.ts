/**
 * Reads employees from `GET /company/employees` (https://developer.personio.de/reference/get_company-employees).
 *
 * Full reads page by `limit`/`offset` (the checkpoint is the next offset) and stop at a short page
 * or `metadata.total_elements`. Incremental reads send `updated_since`, which makes Personio
 * ignore `limit` and `offset` and return every changed employee at once: one page, no checkpoint.
 * Personio's increments do not report deletions (a leaver's `status` becomes `inactive`; a
 * deleted employee simply stops appearing), so deletions are found by full reads.
 */
import type { EmployeePage, ReadEmployeesRequest } from '../../hris-contract.ts';
import { HrConnectorError } from '../../hris-contract.ts';
import { type HrHttpClient, nextOffset } from '../../hris-http-client.ts';
import { flattenPersonioEmployee } from '../flatten.ts';
import { personioManifest } from '../manifest.ts';
import { PersonioEmployeesResponseSchema } from '../schemas.ts';

/** Increments ask from this long before the previous read started (clock skew, in-flight edits). */
const SINCE_OVERLAP_MS = 5 * 60_000;

export async function* readPersonioEmployees(
  http: HrHttpClient,
  request: ReadEmployeesRequest,
): AsyncGenerator<EmployeePage> {
  const startedAt = request.startedAt ?? new Date();
  const nextSince = startedAt.toISOString();
  if (request.mode === 'incremental') {
    if (!request.since) {
      throw new HrConnectorError(
        'invalid_request',
        'An incremental Personio read needs the previous read’s token.',
      );
    }
    const body = await http.getJson(
      PersonioEmployeesResponseSchema,
      {
        url: 'company/employees',
        query: { updated_since: personioTimestamp(request.since) },
        signal: request.signal,
      },
      'Personio GET /company/employees?updated_since',
    );
    yield { records: body.data.map(flattenPersonioEmployee), checkpoint: null, nextSince };
    return;
  }
  const { maxPageSize } = personioManifest.pagination;
  const limit = Math.min(request.pageSize ?? maxPageSize, maxPageSize);
  let offset = request.resumeFrom ? Number(request.resumeFrom) : 0;
  if (!Number.isInteger(offset) || offset < 0) {
    throw new HrConnectorError(
      'invalid_request',
      `Personio resume checkpoint "${request.resumeFrom}" is not an offset.`,
    );
  }
  for (;;) {
    const body = await http.getJson(
      PersonioEmployeesResponseSchema,
      { url: 'company/employees', query: { limit, offset }, signal: request.signal },
      'Personio GET /company/employees',
    );
    const next = nextOffset(offset, body.data.length, limit, body.metadata?.total_elements);
    yield {
      records: body.data.map(flattenPersonioEmployee),
      checkpoint: next === undefined ? null : String(next),
      ...(next === undefined ? { nextSince } : {}),
    };
    if (next === undefined) return;
    offset = next;
  }
}

/** Personio's `updated_since` format: `2022-12-24T08:15:30` (UTC here), minus the overlap. */
function personioTimestamp(since: string): string {
  const at = Date.parse(since);
  if (Number.isNaN(at)) {
    throw new HrConnectorError('invalid_request', `Personio increment token "${since}" is not a timestamp.`);
  }
  return new Date(at - SINCE_OVERLAP_MS).toISOString().slice(0, 19);
}
