/** Admin API: SSO connections of an organization, their mapping preview, and login traces. */
import { z } from 'zod';
import type { ScopeGuard } from '../../../platform/http/auth.ts';
import type { App } from '../../../platform/http/types.ts';
import type { ConnectionService } from '../connections.ts';
import {
  type AttributeMapping,
  connectionSchema,
  createConnectionBody,
  mappingPreviewBody,
  mappingPreviewSchema,
  traceListQuery,
  traceSchema,
  updateConnectionBody,
} from '../contracts.ts';
import type { TraceQueries } from '../trace-queries.ts';

const orgParams = z.object({ org: z.string().describe('Organization id or slug.') });
const connectionParams = orgParams.extend({ id: z.string() });

export function connectionRoutes(
  app: App,
  deps: { connections: ConnectionService; traces: TraceQueries; requireScope: ScopeGuard },
) {
  const { connections, requireScope } = deps;
  const tags = ['SSO connections'];

  app.route({
    method: 'POST',
    url: '/api/v1/organizations/:org/connections',
    schema: {
      tags,
      summary: 'Create an SSO connection (OIDC or SAML, or the built-in test IdP)',
      params: orgParams,
      body: createConnectionBody,
      response: { 201: connectionSchema },
    },
    onRequest: requireScope('admin'),
    config: { audit: ['connection.created'] },
    handler: async (request, reply) =>
      reply.status(201).send(await connections.create(request.params.org, request.body, request.actor)),
  });

  app.route({
    method: 'GET',
    url: '/api/v1/organizations/:org/connections',
    schema: {
      tags,
      summary: 'List SSO connections',
      params: orgParams,
      response: { 200: z.object({ data: z.array(connectionSchema) }) },
    },
    onRequest: requireScope('read'),
    handler: async (request) => ({ data: await connections.list(request.params.org) }),
  });

  app.route({
    method: 'GET',
    url: '/api/v1/organizations/:org/connections/:id',
    schema: {
      tags,
      summary: 'Get an SSO connection',
      params: connectionParams,
      response: { 200: connectionSchema },
    },
    onRequest: requireScope('read'),
    handler: async (request) => connections.get(request.params.org, request.params.id),
  });

  app.route({
    method: 'PATCH',
    url: '/api/v1/organizations/:org/connections/:id',
    schema: {
      tags,
      summary: 'Update an SSO connection (settings are validated again; secrets replaced only when given)',
      params: connectionParams,
      body: updateConnectionBody,
      response: { 200: connectionSchema },
    },
    onRequest: requireScope('admin'),
    config: { audit: ['connection.updated'] },
    handler: async (request) =>
      connections.update(request.params.org, request.params.id, request.body, request.actor),
  });

  app.route({
    method: 'DELETE',
    url: '/api/v1/organizations/:org/connections/:id',
    schema: {
      tags,
      summary: 'Delete an SSO connection',
      params: connectionParams,
      response: { 204: z.null() },
    },
    onRequest: requireScope('admin'),
    config: { audit: ['connection.deleted'] },
    handler: async (request, reply) => {
      await connections.delete(request.params.org, request.params.id, request.actor);
      return reply.status(204).send(null);
    },
  });

  for (const action of ['enable', 'disable'] as const) {
    app.route({
      method: 'POST',
      url: `/api/v1/organizations/:org/connections/:id/${action}`,
      schema: {
        tags,
        summary: `${action === 'enable' ? 'Enable' : 'Disable'} an SSO connection`,
        params: connectionParams,
        response: { 200: connectionSchema },
      },
      onRequest: requireScope('admin'),
      config: { audit: [action === 'enable' ? 'connection.enabled' : 'connection.disabled'] },
      handler: async (request) =>
        connections.setEnabled(request.params.org, request.params.id, action === 'enable', request.actor),
    });
  }

  app.route({
    method: 'POST',
    url: '/api/v1/organizations/:org/connections/:id/metadata/refresh',
    schema: {
      tags,
      summary: 'Read a SAML connection’s IdP metadata again from its URL',
      description:
        'Also runs every 6 hours for every connection with a metadata URL. A new certificate, SSO URL or entity ID is saved (event `connection.metadata_refreshed`); a failure keeps the last good settings and leaves a `metadata_refresh_failed` warning on the connection.',
      params: connectionParams,
      response: {
        200: z.object({ changed: z.boolean(), error: z.string().optional(), connection: connectionSchema }),
      },
    },
    onRequest: requireScope('admin'),
    config: { audit: ['connection.metadata_refreshed'] },
    handler: async (request) =>
      connections.refreshSamlMetadata(request.params.org, request.params.id, request.actor),
  });

  app.route({
    method: 'POST',
    url: '/api/v1/organizations/:org/connections/:id/mapping/preview',
    schema: {
      tags,
      summary: 'Map a sample IdP payload with the connection’s mapping (or a proposed one), without a login',
      params: connectionParams,
      body: mappingPreviewBody,
      response: { 200: mappingPreviewSchema },
    },
    onRequest: requireScope('read'),
    config: { audit: { none: 'a preview changes nothing' } },
    handler: async (request) =>
      connections.previewMapping(request.params.org, request.params.id, {
        claims: request.body.claims,
        nameId: request.body.nameId,
        mapping: request.body.mapping as AttributeMapping | undefined,
      }),
  });

  app.route({
    method: 'GET',
    url: '/api/v1/organizations/:org/login-traces',
    schema: {
      tags: ['Login traces'],
      summary: 'List login traces, newest first',
      params: orgParams,
      querystring: traceListQuery,
      response: { 200: z.object({ data: z.array(traceSchema), nextCursor: z.string().nullable() }) },
    },
    onRequest: requireScope('read'),
    handler: async (request) => deps.traces.list(request.params.org, request.query),
  });

  app.route({
    method: 'GET',
    url: '/api/v1/organizations/:org/login-traces/:id',
    schema: {
      tags: ['Login traces'],
      summary: 'Get one login trace (the id shown on the sign-in error page)',
      params: z.object({ org: z.string(), id: z.string() }),
      response: { 200: traceSchema },
    },
    onRequest: requireScope('read'),
    handler: async (request) => deps.traces.get(request.params.org, request.params.id),
  });

  app.route({
    method: 'GET',
    url: '/api/v1/login-traces/:id',
    schema: {
      tags: ['Login traces'],
      summary: 'Find a login trace by id alone (the id on a sign-in error page), in any organization',
      params: z.object({ id: z.string().max(100) }),
      response: { 200: traceSchema },
    },
    onRequest: requireScope('read'),
    handler: async (request) => deps.traces.find(request.params.id),
  });
}
