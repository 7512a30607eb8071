/**
 * Reads employees through Personio API v2: `GET /v2/persons`
 * (https://developer.personio.de/reference/get_v2-persons), then each person's
 * `GET /v2/persons/{id}/employments` for position, org units, supervisor, status and dates.
 *
 * Pages are 1..50 persons, chained by `_meta.links.next.href` (its `cursor` is the checkpoint a
 * failed read resumes from). Increments filter with `updated_at.gt` (the reference's
 * "persons updated after the provided date", a date-time), paged the same way. Like v1, v2
 * increments do not report deletions: a deleted person simply stops appearing in full reads.
 *
 * Employments are read one call per person, at most {@link EMPLOYMENT_CONCURRENCY} at a time:
 * Personio's v2 limits are not published and per-person throttling is reported, so the shared
 * HTTP client's 429 backoff does the rest.
 */
import type { EmployeePage, ReadEmployeesRequest, SourceRecord } from '../../hris-contract.ts';
import { HrConnectorError } from '../../hris-contract.ts';
import { type HrHttpClient, mapWithConcurrency } from '../../hris-http-client.ts';
import { currentPersonioEmployment, flattenPersonioPerson } from '../flatten.ts';
import { PERSONIO_V2_MAX_PAGE_SIZE } from '../manifest.ts';
import {
  type PersonioV2Employment,
  PersonioV2EmploymentsResponseSchema,
  type PersonioV2Person,
  PersonioV2PersonsResponseSchema,
} from '../schemas.ts';

/** Employment reads in flight per page. */
export const EMPLOYMENT_CONCURRENCY = 4;

/** Increments ask from this long before the previous read started (clock skew, in-flight edits). */
const SINCE_OVERLAP_MS = 5 * 60_000;

/**
 * The increment filter: persons updated strictly after a date-time. The v2 reference lists
 * "Filter persons updated after the provided date" (date-time) beside `updated_at` and "before";
 * v2 names such operator filters with a dotted suffix (`start.date_time.gte` on attendance periods).
 */
export const PERSONIO_V2_UPDATED_AFTER = 'updated_at.gt';

export async function* readPersonioPersons(
  http: HrHttpClient,
  request: ReadEmployeesRequest,
): AsyncGenerator<EmployeePage> {
  const startedAt = request.startedAt ?? new Date();
  const nextSince = startedAt.toISOString();
  const limit = Math.max(
    1,
    Math.min(request.pageSize ?? PERSONIO_V2_MAX_PAGE_SIZE, PERSONIO_V2_MAX_PAGE_SIZE),
  );
  const filters: Record<string, string> = {};
  if (request.mode === 'incremental') {
    if (!request.since) {
      throw new HrConnectorError(
        'invalid_request',
        'An incremental Personio read needs the previous read’s token.',
      );
    }
    filters[PERSONIO_V2_UPDATED_AFTER] = updatedAfter(request.since);
  }
  let url = http.urlFor('persons', {
    limit,
    ...filters,
    ...(request.resumeFrom ? { cursor: request.resumeFrom } : {}),
  });
  for (;;) {
    const body = await http.getJson(
      PersonioV2PersonsResponseSchema,
      { url, signal: request.signal },
      'Personio GET /v2/persons',
    );
    const records = await mapWithConcurrency(body._data, EMPLOYMENT_CONCURRENCY, (person) =>
      readPerson(http, person, request.signal),
    );
    const nextHref = body._meta?.links?.next?.href;
    const next = nextHref ? nextPage(http, nextHref, url) : undefined;
    yield {
      records,
      checkpoint: next?.cursor ?? null,
      ...(next ? {} : { nextSince }),
    };
    if (!next) return;
    url = next.url;
  }
}

async function readPerson(
  http: HrHttpClient,
  person: PersonioV2Person,
  signal: AbortSignal | undefined,
): Promise<SourceRecord> {
  // A person listed without employments has none to read.
  const employments = person.employments?.length === 0 ? [] : await readEmployments(http, person.id, signal);
  return flattenPersonioPerson(person, currentPersonioEmployment(employments));
}

async function readEmployments(
  http: HrHttpClient,
  personId: string,
  signal: AbortSignal | undefined,
): Promise<PersonioV2Employment[]> {
  const employments: PersonioV2Employment[] = [];
  let url = http.urlFor(`persons/${encodeURIComponent(personId)}/employments`);
  for (;;) {
    const body = await http.getJson(
      PersonioV2EmploymentsResponseSchema,
      { url, signal },
      'Personio GET /v2/persons/{id}/employments',
    );
    employments.push(...body._data);
    const nextHref = body._meta?.links?.next?.href;
    if (!nextHref) return employments;
    url = nextPage(http, nextHref, url).url;
  }
}

/**
 * The next page from `_meta.links.next.href`. The link must stay on the API's own origin (the
 * bearer token goes with it) and carry a new `cursor`, which is also the resume checkpoint.
 */
function nextPage(http: HrHttpClient, href: string, current: string): { url: string; cursor: string } {
  const base = new URL(http.baseUrl);
  let next: URL;
  try {
    next = new URL(href, `${http.baseUrl}/`);
  } catch {
    throw new HrConnectorError('invalid_response', `Personio sent a next-page link that is not a URL.`);
  }
  if (next.origin !== base.origin) {
    throw new HrConnectorError(
      'invalid_response',
      `Personio sent a next-page link to another host (${next.origin}); it was not followed.`,
    );
  }
  const cursor = next.searchParams.get('cursor');
  if (!cursor || next.toString() === current) {
    throw new HrConnectorError(
      'invalid_response',
      'Personio sent a next-page link without a new cursor; the read stopped rather than loop.',
    );
  }
  return { url: next.toString(), cursor };
}

/** The `updated_at.gt` value: an ISO 8601 date-time (UTC), minus the overlap. */
function updatedAfter(since: string): string {
  const at = Date.parse(since);
  if (Number.isNaN(at)) {
    throw new HrConnectorError('invalid_request', `Personio increment token "${since}" is not a timestamp.`);
  }
  return new Date(at - SINCE_OVERLAP_MS).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
