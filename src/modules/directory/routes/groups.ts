import { z } from 'zod';
import type { ScopeGuard } from '../../../platform/http/auth.ts';
import { pageOf, paginationQuery } from '../../../platform/http/pagination.ts';
import { problemSchema } from '../../../platform/http/problem.ts';
import type { App } from '../../../platform/http/types.ts';
import { createGroupBody, groupSchema, updateGroupBody, userSchema } from '../contracts.ts';
import type { DirectoryService } from '../service.ts';

const orgParams = z.object({ org: z.string().min(1).describe('Organization id (org_...) or slug.') });
const groupParams = z.object({ id: z.string().min(1).describe('Group id (grp_...).') });
const errors = {
  400: problemSchema,
  401: problemSchema,
  403: problemSchema,
  404: problemSchema,
  409: problemSchema,
};
const tags = ['Groups'];
const memberIdsBody = z
  .object({
    userIds: z
      .array(z.string().min(1))
      .min(1)
      .max(1000)
      .describe('User ids (usr_...), at most 1000 per call.'),
  })
  .strict();

export function groupRoutes(app: App, deps: { directory: DirectoryService; requireScope: ScopeGuard }) {
  const { directory, requireScope } = deps;

  app.route({
    method: 'POST',
    url: '/api/v1/organizations/:org/groups',
    schema: {
      tags,
      summary: 'Create a group',
      params: orgParams,
      body: createGroupBody,
      response: { 201: groupSchema, ...errors },
    },
    onRequest: requireScope('admin'),
    config: { audit: ['group.created'] },
    handler: async (request, reply) =>
      reply
        .status(201)
        .send(await directory.createGroup(request.params.org, request.body, { actor: request.actor })),
  });

  app.route({
    method: 'GET',
    url: '/api/v1/organizations/:org/groups',
    schema: {
      tags,
      summary: 'List groups',
      params: orgParams,
      querystring: z.object({
        ...paginationQuery,
        q: z.string().min(1).max(200).optional().describe('Part of the name.'),
      }),
      response: { 200: pageOf(groupSchema, 'GroupPage'), ...errors },
    },
    onRequest: requireScope('read'),
    handler: async (request) => directory.listGroups(request.params.org, request.query),
  });

  app.route({
    method: 'GET',
    url: '/api/v1/groups/:id',
    schema: { tags, summary: 'Get a group', params: groupParams, response: { 200: groupSchema, ...errors } },
    onRequest: requireScope('read'),
    handler: async (request) => directory.getGroup(request.params.id),
  });

  app.route({
    method: 'PATCH',
    url: '/api/v1/groups/:id',
    schema: {
      tags,
      summary: 'Update a group',
      params: groupParams,
      body: updateGroupBody,
      response: { 200: groupSchema, ...errors },
    },
    onRequest: requireScope('admin'),
    config: { audit: ['group.updated'] },
    handler: async (request) =>
      directory.updateGroup(request.params.id, request.body, { actor: request.actor }),
  });

  app.route({
    method: 'DELETE',
    url: '/api/v1/groups/:id',
    schema: { tags, summary: 'Delete a group', params: groupParams, response: { 204: z.null(), ...errors } },
    onRequest: requireScope('admin'),
    config: { audit: ['group.deleted', 'group.member_removed'] },
    handler: async (request, reply) => {
      await directory.deleteGroup(request.params.id, { actor: request.actor });
      return reply.status(204).send(null);
    },
  });

  app.route({
    method: 'GET',
    url: '/api/v1/groups/:id/members',
    schema: {
      tags,
      summary: 'List members',
      params: groupParams,
      querystring: z.object(paginationQuery),
      response: { 200: pageOf(userSchema, 'MemberPage'), ...errors },
    },
    onRequest: requireScope('read'),
    handler: async (request) => directory.listMembers(request.params.id, request.query),
  });

  app.route({
    method: 'POST',
    url: '/api/v1/groups/:id/members',
    schema: {
      tags,
      summary: 'Add members',
      description:
        'Adds users to the group; users already in it are left alone. All ids must exist or nothing is added.',
      params: groupParams,
      body: memberIdsBody,
      response: { 200: z.object({ added: z.array(z.string()) }), ...errors },
    },
    onRequest: requireScope('admin'),
    config: { audit: ['group.member_added'] },
    handler: async (request) =>
      directory.addMembers(request.params.id, request.body.userIds, { actor: request.actor }),
  });

  app.route({
    method: 'DELETE',
    url: '/api/v1/groups/:id/members/:userId',
    schema: {
      tags,
      summary: 'Remove a member',
      params: groupParams.extend({ userId: z.string().min(1) }),
      response: { 204: z.null(), ...errors },
    },
    onRequest: requireScope('admin'),
    config: { audit: ['group.member_removed'] },
    handler: async (request, reply) => {
      await directory.removeMembers(request.params.id, [request.params.userId], { actor: request.actor });
      return reply.status(204).send(null);
    },
  });
}
