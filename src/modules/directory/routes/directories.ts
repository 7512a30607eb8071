import { z } from 'zod';
import type { ScopeGuard } from '../../../platform/http/auth.ts';
import { problemSchema } from '../../../platform/http/problem.ts';
import type { App } from '../../../platform/http/types.ts';
import {
  createDirectoryBody,
  DEFAULT_OVERLAP_SECONDS,
  directorySchema,
  directoryWithTokenSchema,
  rotateTokenBody,
  updateDirectoryBody,
} from '../directories-contracts.ts';
import type { DirectoriesService } from '../directories-service.ts';

const orgParams = z.object({ org: z.string().min(1).describe('Organization id (org_...) or slug.') });
const directoryParams = orgParams.extend({ id: z.string().min(1).describe('Directory id (dir_...).') });
const errors = {
  400: problemSchema,
  401: problemSchema,
  403: problemSchema,
  404: problemSchema,
  409: problemSchema,
};
const tags = ['Directories'];

export function directoryRoutes(
  app: App,
  deps: { directories: DirectoriesService; requireScope: ScopeGuard },
) {
  const { directories, requireScope } = deps;

  app.route({
    method: 'POST',
    url: '/api/v1/organizations/:org/directories',
    schema: {
      tags,
      summary: 'Create a directory (SCIM endpoint)',
      description:
        'Answers with the SCIM base URL to enter in the IdP and the bearer token, shown once (only its hash is stored). For Entra, use `scim.entraTenantUrl` as the Tenant URL.',
      params: orgParams,
      body: createDirectoryBody,
      response: { 201: directoryWithTokenSchema, ...errors },
    },
    onRequest: requireScope('admin'),
    config: { audit: ['directory.created'] },
    handler: async (request, reply) =>
      reply.status(201).send(await directories.create(request.params.org, request.body, request.actor)),
  });

  app.route({
    method: 'GET',
    url: '/api/v1/organizations/:org/directories',
    schema: {
      tags,
      summary: "List an organization's directories",
      params: orgParams,
      response: { 200: z.object({ data: z.array(directorySchema) }), ...errors },
    },
    onRequest: requireScope('read'),
    handler: async (request) => ({ data: await directories.list(request.params.org) }),
  });

  app.route({
    method: 'GET',
    url: '/api/v1/organizations/:org/directories/:id',
    schema: {
      tags,
      summary: 'Get a directory',
      params: directoryParams,
      response: { 200: directorySchema, ...errors },
    },
    onRequest: requireScope('read'),
    handler: async (request) => directories.get(request.params.org, request.params.id),
  });

  app.route({
    method: 'PATCH',
    url: '/api/v1/organizations/:org/directories/:id',
    schema: {
      tags,
      summary: 'Update a directory',
      description: 'Rename it, disable it (every SCIM request is then refused) or change its settings.',
      params: directoryParams,
      body: updateDirectoryBody,
      response: { 200: directorySchema, ...errors },
    },
    onRequest: requireScope('admin'),
    config: { audit: ['directory.updated'] },
    handler: async (request) =>
      directories.update(request.params.org, request.params.id, request.body, request.actor),
  });

  app.route({
    method: 'DELETE',
    url: '/api/v1/organizations/:org/directories/:id',
    schema: {
      tags,
      summary: 'Delete a directory',
      description:
        'Deletes the directory and its tokens. The users and groups it provisioned stay, no longer managed by it.',
      params: directoryParams,
      response: { 204: z.null(), ...errors },
    },
    onRequest: requireScope('admin'),
    config: { audit: ['directory.deleted'] },
    handler: async (request, reply) => {
      await directories.delete(request.params.org, request.params.id, request.actor);
      return reply.status(204).send(null);
    },
  });

  app.route({
    method: 'POST',
    url: '/api/v1/organizations/:org/directories/:id/tokens',
    schema: {
      tags,
      summary: 'Rotate the SCIM bearer token',
      description:
        'Issues a new token (shown once). The tokens issued before keep working for `overlapSeconds` (default 24 hours), so the IdP can be switched over without a failed sync.',
      params: directoryParams,
      body: rotateTokenBody.optional(),
      response: { 201: directoryWithTokenSchema, ...errors },
    },
    onRequest: requireScope('admin'),
    config: { audit: ['directory.token_rotated'] },
    handler: async (request, reply) =>
      reply
        .status(201)
        .send(
          await directories.rotateToken(
            request.params.org,
            request.params.id,
            request.body?.overlapSeconds ?? DEFAULT_OVERLAP_SECONDS,
            request.actor,
          ),
        ),
  });

  app.route({
    method: 'DELETE',
    url: '/api/v1/organizations/:org/directories/:id/tokens/:tokenId',
    schema: {
      tags,
      summary: 'Revoke a SCIM bearer token',
      description: 'The token stops working at once.',
      params: directoryParams.extend({ tokenId: z.string().min(1) }),
      response: { 200: directorySchema, ...errors },
    },
    onRequest: requireScope('admin'),
    config: { audit: ['directory.token_revoked'] },
    handler: async (request) =>
      directories.revokeToken(request.params.org, request.params.id, request.params.tokenId, request.actor),
  });
}
