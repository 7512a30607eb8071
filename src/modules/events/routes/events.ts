import { z } from 'zod';
import { InvalidInput } from '../../../platform/errors.ts';
import type { ScopeGuard } from '../../../platform/http/auth.ts';
import { problemSchema } from '../../../platform/http/problem.ts';
import type { App } from '../../../platform/http/types.ts';
import type { OrganizationService } from '../../orgs/service.ts';
import { decodeCursor, eventSchema } from '../contracts.ts';
import { type EventLog, parseTypeFilter } from '../service.ts';

export function eventRoutes(
  app: App,
  deps: { events: EventLog; orgs: OrganizationService; requireScope: ScopeGuard },
) {
  const { events, orgs, requireScope } = deps;

  app.route({
    method: 'GET',
    url: '/api/v1/events',
    schema: {
      tags: ['Events'],
      summary: 'Read the event log',
      description:
        'Events in log order after `after` (a cursor from a previous response; omit to start at the beginning). Poll with `after=<nextCursor>` to follow the log: an event never appears behind a cursor already returned.',
      querystring: z.object({
        after: z.string().max(60).optional(),
        types: z.string().max(1000).optional().describe('Comma-separated types; `user.*` matches a prefix.'),
        organization: z.string().optional().describe('Organization id or slug.'),
        subject: z.string().optional().describe('Only events about this resource id.'),
        limit: z.coerce.number().int().min(1).max(1000).default(100),
      }),
      response: {
        200: z.object({ data: z.array(eventSchema), nextCursor: z.string() }).meta({ id: 'EventPage' }),
        400: problemSchema,
        401: problemSchema,
        403: problemSchema,
        404: problemSchema,
      },
    },
    onRequest: requireScope('read'),
    handler: async (request) => {
      const query = request.query;
      let after: ReturnType<typeof decodeCursor>;
      if (query.after !== undefined) {
        after = decodeCursor(query.after);
        if (!after) {
          throw new InvalidInput({
            code: 'invalid_cursor',
            detail: `"${query.after}" is not an event cursor.`,
            field: 'after',
            fix: "Pass the `nextCursor` or an event's `cursor` from an earlier response, or omit it to start at the beginning.",
          });
        }
      }
      // An org_ id is used as given, so the events of a deleted organization stay readable.
      const organizationId = query.organization?.startsWith('org_')
        ? query.organization
        : query.organization
          ? (await orgs.require(query.organization)).id
          : undefined;
      const result = await events.list({
        ...(after ? { after } : {}),
        limit: query.limit,
        ...parseTypeFilter(query.types),
        ...(organizationId ? { organizationId } : {}),
        ...(query.subject ? { subjectId: query.subject } : {}),
      });
      return { data: result.events, nextCursor: result.nextCursor };
    },
  });
}
