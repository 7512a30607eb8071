/** Console members: who may use the console, with which role. Granting and revoking: owners only. */
import { z } from 'zod';
import type { ScopeGuard } from '../../../platform/http/auth.ts';
import { problemSchema } from '../../../platform/http/problem.ts';
import type { App } from '../../../platform/http/types.ts';
import { type ConsoleService, consoleMemberSchema, grantConsoleRoleBody } from '../service.ts';

const tags = ['Console'];
const errors = {
  400: problemSchema,
  401: problemSchema,
  403: problemSchema,
  404: problemSchema,
  409: problemSchema,
};

export function consoleMemberRoutes(app: App, deps: { console: ConsoleService; requireScope: ScopeGuard }) {
  const { console: consoleService, requireScope } = deps;

  app.route({
    method: 'GET',
    url: '/api/v1/console/members',
    schema: {
      tags,
      summary: 'List the people who may use the admin console',
      response: { 200: z.object({ data: z.array(consoleMemberSchema) }), ...errors },
    },
    onRequest: requireScope('read'),
    handler: async () => ({ data: await consoleService.listMembers() }),
  });

  app.route({
    method: 'POST',
    url: '/api/v1/console/members',
    schema: {
      tags,
      summary: 'Grant a console role to a person (or change their role)',
      description:
        'Owners only. The person signs in through SSO with this email (on a verified domain of their organization); the grant binds to their user then.',
      body: grantConsoleRoleBody,
      response: { 200: consoleMemberSchema, 201: consoleMemberSchema, ...errors },
    },
    config: { audit: ['console.member_granted', 'console.member_role_changed'] },
    onRequest: requireScope('owner'),
    handler: async (request, reply) => {
      const { member, created } = await consoleService.grant(request.body, request.actor);
      return reply.status(created ? 201 : 200).send(member);
    },
  });

  app.route({
    method: 'DELETE',
    url: '/api/v1/console/members/:id',
    schema: {
      tags,
      summary: 'Revoke a person’s console role (ends their console sessions)',
      params: z.object({ id: z.string().min(1) }),
      response: { 204: z.null(), ...errors },
    },
    config: { audit: ['console.member_revoked'] },
    onRequest: requireScope('owner'),
    handler: async (request, reply) => {
      await consoleService.revoke(request.params.id, request.actor);
      return reply.status(204).send(null);
    },
  });
}
