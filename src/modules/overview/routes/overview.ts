/** Admin API: the overview of an organization (the console's charts). */
import { z } from 'zod';
import type { ScopeGuard } from '../../../platform/http/auth.ts';
import { problemSchema } from '../../../platform/http/problem.ts';
import type { App } from '../../../platform/http/types.ts';
import { overviewSchema } from '../contracts.ts';
import type { OverviewService } from '../service.ts';

export function overviewRoutes(app: App, deps: { overview: OverviewService; requireScope: ScopeGuard }) {
  app.route({
    method: 'GET',
    url: '/api/v1/organizations/:org/overview',
    schema: {
      tags: ['Overview'],
      summary: 'Logins, active users, directory freshness, provisioning and what needs attention',
      description:
        'Figures over the last `days` UTC days, today included: logins per day (succeeded, failed, active users), failed logins by reason, SCIM/sync freshness per directory, IdP certificates expiring within 30 days, dead-lettered jobs, provisioning success rate and latency, and a list of what needs attention, errors first.',
      params: z.object({ org: z.string().max(100).describe('Organization id or slug.') }),
      querystring: z.object({
        days: z.coerce.number().int().min(1).max(90).default(30).describe('Window length in days (1-90).'),
      }),
      response: { 200: overviewSchema, 400: problemSchema, 401: problemSchema, 404: problemSchema },
    },
    onRequest: deps.requireScope('read'),
    handler: async (request) => deps.overview.get(request.params.org, { days: request.query.days }),
  });
}
