/** Admin API: applications (OIDC clients of Switchboard) and their secrets. */
import { z } from 'zod';
import type { ScopeGuard } from '../../../platform/http/auth.ts';
import { pageOf, paginationQuery } from '../../../platform/http/pagination.ts';
import type { App } from '../../../platform/http/types.ts';
import type { ApplicationService } from '../applications.ts';
import {
  applicationSchema,
  applicationWithSecretSchema,
  createApplicationBody,
  rotateSecretBody,
  updateApplicationBody,
} from '../contracts.ts';

const idParams = z.object({ id: z.string().max(100) });

export function applicationRoutes(
  app: App,
  deps: { applications: ApplicationService; requireScope: ScopeGuard },
) {
  const { applications, requireScope } = deps;
  const tags = ['Applications'];

  app.route({
    method: 'POST',
    url: '/api/v1/applications',
    schema: {
      tags,
      summary: 'Register an application (OIDC client); the client secret is in this response only',
      body: createApplicationBody,
      response: { 201: applicationWithSecretSchema },
    },
    onRequest: requireScope('admin'),
    config: { audit: ['application.created'] },
    handler: async (request, reply) => {
      const { application, secret } = await applications.create(request.body, request.actor);
      return reply
        .status(201)
        .header('cache-control', 'no-store')
        .send({ ...application, secret });
    },
  });

  app.route({
    method: 'GET',
    url: '/api/v1/applications',
    schema: {
      tags,
      summary: 'List applications',
      querystring: z.object({
        ...paginationQuery,
        organization: z
          .string()
          .max(100)
          .optional()
          .describe('Only applications owned by this organization.'),
        shared: z
          .enum(['true', 'false'])
          .transform((value) => value === 'true')
          .optional()
          .describe('true: only shared applications.'),
      }),
      response: { 200: pageOf(applicationSchema, 'ApplicationPage') },
    },
    onRequest: requireScope('read'),
    handler: async (request) => applications.list(request.query),
  });

  app.route({
    method: 'GET',
    url: '/api/v1/applications/:id',
    schema: { tags, summary: 'Get an application', params: idParams, response: { 200: applicationSchema } },
    onRequest: requireScope('read'),
    handler: async (request) => applications.get(request.params.id),
  });

  app.route({
    method: 'PATCH',
    url: '/api/v1/applications/:id',
    schema: {
      tags,
      summary: 'Update an application',
      params: idParams,
      body: updateApplicationBody,
      response: { 200: applicationSchema },
    },
    onRequest: requireScope('admin'),
    config: { audit: ['application.updated'] },
    handler: async (request) => applications.update(request.params.id, request.body, request.actor),
  });

  app.route({
    method: 'DELETE',
    url: '/api/v1/applications/:id',
    schema: { tags, summary: 'Delete an application', params: idParams, response: { 204: z.null() } },
    onRequest: requireScope('admin'),
    config: { audit: ['application.deleted'] },
    handler: async (request, reply) => {
      await applications.delete(request.params.id, request.actor);
      return reply.status(204).send(null);
    },
  });

  app.route({
    method: 'POST',
    url: '/api/v1/applications/:id/secret',
    schema: {
      tags,
      summary: 'Rotate the client secret; the new secret is in this response only',
      params: idParams,
      body: rotateSecretBody.optional(),
      response: { 200: applicationWithSecretSchema },
    },
    onRequest: requireScope('admin'),
    config: { audit: ['application.secret_rotated'] },
    handler: async (request, reply) => {
      const { application, secret } = await applications.rotateSecret(
        request.params.id,
        { keepPreviousForSeconds: request.body?.keepPreviousForSeconds ?? 0 },
        request.actor,
      );
      return reply.header('cache-control', 'no-store').send({ ...application, secret });
    },
  });
}
