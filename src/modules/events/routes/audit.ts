/** Admin API: the audit log, as JSON pages and as a CSV export. */
import { Readable } from 'node:stream';
import { z } from 'zod';
import { InvalidInput } from '../../../platform/errors.ts';
import type { ScopeGuard } from '../../../platform/http/auth.ts';
import { problemSchema } from '../../../platform/http/problem.ts';
import type { App } from '../../../platform/http/types.ts';
import type { OrganizationService } from '../../orgs/service.ts';
import { AUDIT_CSV_COLUMNS, auditCsvRow, auditEntrySchema, csvRow } from '../audit.ts';
import { decodeCursor } from '../contracts.ts';
import type { AuditQuery } from '../repository.ts';
import { type EventLog, parseTypeFilter } from '../service.ts';

/** Largest CSV export; a longer log is exported in several time ranges. */
export const AUDIT_CSV_MAX_ROWS = 100_000;

const filterQuery = z.object({
  organization: z.string().max(100).optional().describe('Organization id or slug.'),
  actorType: z
    .string()
    .max(40)
    .optional()
    .describe('`api_key`, `console`, `cli`, `setup_link`, `scim`, `sso`, `system`, ...'),
  actor: z
    .string()
    .max(200)
    .optional()
    .describe('Actor id: an API key id, a console user, an OS user (cli).'),
  types: z
    .string()
    .max(1000)
    .optional()
    .describe('Comma-separated event types; `connection.*` matches a prefix.'),
  resourceType: z.string().max(60).optional().describe('`user`, `connection`, `directory`, `domain`, ...'),
  resource: z.string().max(200).optional().describe('Only entries about this resource id.'),
  since: z.string().max(40).optional().describe('ISO-8601 time or date: entries at or after it.'),
  until: z.string().max(40).optional().describe('ISO-8601 time or date: entries before it.'),
});

export function auditRoutes(
  app: App,
  deps: { events: EventLog; orgs: OrganizationService; requireScope: ScopeGuard },
) {
  const { events, orgs, requireScope } = deps;
  const tags = ['Audit log'];

  const toQuery = async (query: z.output<typeof filterQuery>): Promise<Omit<AuditQuery, 'limit'>> => {
    const since = parseTime(query.since, 'since');
    const until = parseTime(query.until, 'until');
    if (since && until && since >= until) {
      throw new InvalidInput({
        code: 'invalid_time_range',
        detail: `since (${query.since}) is not before until (${query.until}).`,
        field: 'since',
        fix: 'Give a since earlier than until, or leave one of them out.',
      });
    }
    // An org_ id is used as given, so the trail of a deleted organization stays readable.
    const organizationId = query.organization?.startsWith('org_')
      ? query.organization
      : query.organization
        ? (await orgs.require(query.organization)).id
        : undefined;
    return {
      ...(organizationId ? { organizationId } : {}),
      ...(query.actorType ? { actorType: query.actorType } : {}),
      ...(query.actor ? { actorId: query.actor } : {}),
      ...parseTypeFilter(query.types),
      ...(query.resourceType ? { subjectType: query.resourceType } : {}),
      ...(query.resource ? { subjectId: query.resource } : {}),
      ...(since ? { since } : {}),
      ...(until ? { until } : {}),
    };
  };

  app.route({
    method: 'GET',
    url: '/api/v1/audit',
    schema: {
      tags,
      summary: 'Read the audit log, newest first',
      description:
        'Every change made through the API, the console, the CLI or a setup link, and by SCIM clients and logins: who (actor), from where (IP, request id), when, and for updates each changed field before and after. Secrets never appear. Page with `after=<nextCursor>`.',
      querystring: filterQuery.extend({
        limit: z.coerce.number().int().min(1).max(500).default(50),
        after: z.string().max(60).optional().describe('The `nextCursor` of the previous page.'),
      }),
      response: {
        200: z
          .object({ data: z.array(auditEntrySchema), nextCursor: z.string().nullable() })
          .meta({ id: 'AuditPage' }),
        400: problemSchema,
        401: problemSchema,
        403: problemSchema,
        404: problemSchema,
      },
    },
    onRequest: requireScope('read'),
    handler: async (request) => {
      let before: bigint | undefined;
      if (request.query.after !== undefined) {
        before = decodeCursor(request.query.after);
        if (before === undefined) {
          throw new InvalidInput({
            code: 'invalid_cursor',
            detail: `"${request.query.after}" is not an audit cursor.`,
            field: 'after',
            fix: 'Pass the `nextCursor` of an earlier response, or omit it to start with the newest entries.',
          });
        }
      }
      const result = await events.audit({
        ...(await toQuery(request.query)),
        ...(before !== undefined ? { before } : {}),
        limit: request.query.limit,
      });
      // Names for ids: the organizations' names now, read once for the page.
      const names = await orgs.namesOf(
        result.entries.flatMap((entry) => (entry.organizationId ? [entry.organizationId] : [])),
      );
      const data = result.entries.map((entry) => {
        const organization = entry.organizationId ? names.get(entry.organizationId) : undefined;
        const named = organization?.name ?? null;
        return {
          ...entry,
          organizationName: named,
          resource:
            entry.resource.type === 'organization' && !entry.resource.name && named
              ? { ...entry.resource, name: named }
              : entry.resource,
        };
      });
      return { data, nextCursor: result.nextCursor };
    },
  });

  app.route({
    method: 'GET',
    url: '/api/v1/audit.csv',
    schema: {
      tags,
      summary: 'Export the audit log as CSV',
      description: `The same filters as GET /api/v1/audit; newest first, at most ${AUDIT_CSV_MAX_ROWS} rows (export longer logs in several time ranges). Cells a spreadsheet would run as a formula (starting with =, +, -, @) are prefixed with a single quote. \`changes\` and \`data\` are JSON.`,
      querystring: filterQuery,
    },
    onRequest: requireScope('read'),
    handler: async (request, reply) => {
      const query = await toQuery(request.query);
      const entries = events.auditAll(query, { max: AUDIT_CSV_MAX_ROWS });
      async function* lines() {
        // The byte-order mark makes spreadsheet programs read the file as UTF-8.
        yield `\ufeff${csvRow(AUDIT_CSV_COLUMNS)}`;
        for await (const entry of entries) yield auditCsvRow(entry);
      }
      const stamp = new Date().toISOString().slice(0, 10);
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="audit-${stamp}.csv"`)
        .header('cache-control', 'no-store')
        .send(Readable.from(lines()));
    },
  });
}

function parseTime(value: string | undefined, field: 'since' | 'until'): Date | undefined {
  if (value === undefined || value === '') return undefined;
  const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(value);
  const valid =
    dateOnly || /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/.test(value);
  const time = valid ? new Date(dateOnly ? `${value}T00:00:00Z` : value) : undefined;
  if (!time || Number.isNaN(time.getTime())) {
    throw new InvalidInput({
      code: 'invalid_time',
      detail: `${field} "${value}" is not an ISO-8601 time.`,
      field,
      fix: 'Use a date (2026-01-31, midnight UTC) or a time with its offset (2026-01-31T09:00:00Z).',
    });
  }
  return time;
}
