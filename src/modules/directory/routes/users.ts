import { z } from 'zod';
import type { ScopeGuard } from '../../../platform/http/auth.ts';
import { pageOf, paginationQuery } from '../../../platform/http/pagination.ts';
import { problemSchema } from '../../../platform/http/problem.ts';
import type { App } from '../../../platform/http/types.ts';
import {
  createUserBody,
  groupSchema,
  identitySchema,
  USER_STATUSES,
  updateUserBody,
  userSchema,
} from '../contracts.ts';
import type { DirectoryService } from '../service.ts';

const orgParams = z.object({ org: z.string().min(1).describe('Organization id (org_...) or slug.') });
const userParams = z.object({ id: z.string().min(1).describe('User id (usr_...).') });
const errors = {
  400: problemSchema,
  401: problemSchema,
  403: problemSchema,
  404: problemSchema,
  409: problemSchema,
};
const tags = ['Users'];

export function userRoutes(app: App, deps: { directory: DirectoryService; requireScope: ScopeGuard }) {
  const { directory, requireScope } = deps;

  app.route({
    method: 'POST',
    url: '/api/v1/organizations/:org/users',
    schema: {
      tags,
      summary: 'Create a user',
      params: orgParams,
      body: createUserBody,
      response: { 201: userSchema, ...errors },
    },
    onRequest: requireScope('admin'),
    config: { audit: ['user.created'] },
    handler: async (request, reply) =>
      reply
        .status(201)
        .send(await directory.createUser(request.params.org, request.body, { actor: request.actor })),
  });

  app.route({
    method: 'GET',
    url: '/api/v1/organizations/:org/users',
    schema: {
      tags,
      summary: 'List and search users',
      params: orgParams,
      querystring: z.object({
        ...paginationQuery,
        q: z
          .string()
          .min(1)
          .max(200)
          .optional()
          .describe('Search: email prefix, or part of a name (case-insensitive).'),
        email: z.string().max(320).optional().describe('Exact email (case-insensitive).'),
        status: z.enum(USER_STATUSES).optional(),
        group: z.string().optional().describe('Only members of this group id.'),
      }),
      response: { 200: pageOf(userSchema, 'UserPage'), ...errors },
    },
    onRequest: requireScope('read'),
    handler: async (request) => {
      const { group, ...query } = request.query;
      return directory.listUsers(request.params.org, { ...query, groupId: group });
    },
  });

  app.route({
    method: 'GET',
    url: '/api/v1/users/:id',
    schema: { tags, summary: 'Get a user', params: userParams, response: { 200: userSchema, ...errors } },
    onRequest: requireScope('read'),
    handler: async (request) => directory.getUser(request.params.id),
  });

  app.route({
    method: 'PATCH',
    url: '/api/v1/users/:id',
    schema: {
      tags,
      summary: 'Update a user',
      description: 'Changes the fields given; `profile` and `externalIds` merge (null removes a key).',
      params: userParams,
      body: updateUserBody,
      response: { 200: userSchema, ...errors },
    },
    onRequest: requireScope('admin'),
    config: { audit: ['user.updated'] },
    handler: async (request) =>
      directory.updateUser(request.params.id, request.body, { actor: request.actor }),
  });

  app.route({
    method: 'POST',
    url: '/api/v1/users/:id/suspend',
    schema: {
      tags,
      summary: 'Suspend a user',
      description: "A suspended user cannot sign in; provisioning applies each destination's policy.",
      params: userParams,
      response: { 200: userSchema, ...errors },
    },
    onRequest: requireScope('admin'),
    config: { audit: ['user.suspended'] },
    handler: async (request) =>
      directory.setUserStatus(request.params.id, 'suspended', { actor: request.actor }),
  });

  app.route({
    method: 'POST',
    url: '/api/v1/users/:id/reactivate',
    schema: {
      tags,
      summary: 'Reactivate a user',
      description: 'Returns a suspended or deprovisioned user to `active`.',
      params: userParams,
      response: { 200: userSchema, ...errors },
    },
    onRequest: requireScope('admin'),
    config: { audit: ['user.reactivated'] },
    handler: async (request) =>
      directory.setUserStatus(request.params.id, 'active', { actor: request.actor }),
  });

  app.route({
    method: 'POST',
    url: '/api/v1/users/:id/deprovision',
    schema: {
      tags,
      summary: 'Deprovision a user',
      description:
        'Marks the user as having left: SSO refuses them and provisioning removes their access. Reversible with reactivate.',
      params: userParams,
      response: { 200: userSchema, ...errors },
    },
    onRequest: requireScope('admin'),
    config: { audit: ['user.deactivated'] },
    handler: async (request) =>
      directory.setUserStatus(request.params.id, 'deprovisioned', { actor: request.actor }),
  });

  app.route({
    method: 'DELETE',
    url: '/api/v1/users/:id',
    schema: {
      tags,
      summary: 'Delete a user',
      description: 'Removes the user, their group memberships and identities.',
      params: userParams,
      response: { 204: z.null(), ...errors },
    },
    onRequest: requireScope('admin'),
    config: { audit: ['user.deleted', 'group.member_removed'] },
    handler: async (request, reply) => {
      await directory.deleteUser(request.params.id, { actor: request.actor });
      return reply.status(204).send(null);
    },
  });

  app.route({
    method: 'GET',
    url: '/api/v1/users/:id/groups',
    schema: {
      tags,
      summary: "List a user's groups",
      params: userParams,
      response: { 200: z.object({ data: z.array(groupSchema) }), ...errors },
    },
    onRequest: requireScope('read'),
    handler: async (request) => ({ data: await directory.listUserGroups(request.params.id) }),
  });

  app.route({
    method: 'GET',
    url: '/api/v1/users/:id/identities',
    schema: {
      tags,
      summary: "List a user's linked identities",
      params: userParams,
      response: { 200: z.object({ data: z.array(identitySchema) }), ...errors },
    },
    onRequest: requireScope('read'),
    handler: async (request) => ({ data: await directory.listIdentities(request.params.id) }),
  });

  app.route({
    method: 'DELETE',
    url: '/api/v1/users/:id/identities/:identityId',
    schema: {
      tags,
      summary: 'Unlink an identity',
      description:
        'The next login through that provider is treated as a first login (JIT or linking policy applies).',
      params: userParams.extend({ identityId: z.string().min(1) }),
      response: { 204: z.null(), ...errors },
    },
    onRequest: requireScope('admin'),
    config: { audit: ['identity.unlinked'] },
    handler: async (request, reply) => {
      await directory.unlinkIdentity(request.params.id, request.params.identityId, { actor: request.actor });
      return reply.status(204).send(null);
    },
  });
}
