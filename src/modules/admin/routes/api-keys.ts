import { z } from 'zod';
import type { ScopeGuard } from '../../../platform/http/auth.ts';
import { problemSchema } from '../../../platform/http/problem.ts';
import type { App } from '../../../platform/http/types.ts';
import { API_SCOPES, type ApiKeyService, apiKeySchema } from '../service.ts';

const errors = { 400: problemSchema, 401: problemSchema, 403: problemSchema, 404: problemSchema };
const tags = ['API keys'];

export function apiKeyRoutes(app: App, deps: { apiKeys: ApiKeyService; requireScope: ScopeGuard }) {
  const { apiKeys, requireScope } = deps;

  app.route({
    method: 'GET',
    url: '/api/v1/api-keys',
    schema: {
      tags,
      summary: 'List API keys',
      response: { 200: z.object({ data: z.array(apiKeySchema) }), ...errors },
    },
    onRequest: requireScope('admin'),
    handler: async () => ({ data: await apiKeys.list() }),
  });

  app.route({
    method: 'POST',
    url: '/api/v1/api-keys',
    schema: {
      tags,
      summary: 'Create an API key',
      description: 'The key is in the response once; only its hash is stored.',
      body: z
        .object({
          name: z.string().trim().min(1).max(100),
          scopes: z.array(z.enum(API_SCOPES)).min(1).default(['read']),
        })
        .strict(),
      response: { 201: z.object({ key: z.string(), apiKey: apiKeySchema }), ...errors },
    },
    onRequest: requireScope('admin'),
    config: { audit: ['api_key.created'] },
    handler: async (request, reply) =>
      reply.status(201).send(await apiKeys.create({ ...request.body, via: 'api' }, request.actor)),
  });

  app.route({
    method: 'DELETE',
    url: '/api/v1/api-keys/:id',
    schema: {
      tags,
      summary: 'Revoke an API key',
      params: z.object({ id: z.string().min(1) }),
      response: { 200: apiKeySchema, ...errors },
    },
    onRequest: requireScope('admin'),
    config: { audit: ['api_key.revoked'] },
    handler: async (request) => apiKeys.revoke(request.params.id, request.actor),
  });
}
