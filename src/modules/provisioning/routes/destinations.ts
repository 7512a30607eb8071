/** Admin API: provisioning destinations, their test, reconcile, retry, state and attempts. */
import { z } from 'zod';
import type { ScopeGuard } from '../../../platform/http/auth.ts';
import type { App } from '../../../platform/http/types.ts';
import {
  attemptSchema,
  createDestinationBody,
  destinationSchema,
  stateSchema,
  updateDestinationBody,
} from '../contracts.ts';
import type { ProvisioningModule } from '../index.ts';

const orgParams = z.object({ org: z.string().describe('Organization id or slug.') });
const destinationParams = orgParams.extend({ id: z.string() });
const attemptPage = z
  .object({ data: z.array(attemptSchema), nextCursor: z.string().nullable() })
  .meta({ id: 'ProvisioningAttemptPage' });
const statePage = z
  .object({ data: z.array(stateSchema), nextCursor: z.string().nullable() })
  .meta({ id: 'ProvisioningStatePage' });

export function destinationRoutes(
  app: App,
  deps: { provisioning: ProvisioningModule; requireScope: ScopeGuard },
) {
  const { provisioning, requireScope } = deps;
  const { destinations } = provisioning;
  const tags = ['Provisioning'];
  const base = '/api/v1/organizations/:org/destinations';

  app.route({
    method: 'POST',
    url: base,
    schema: {
      tags,
      summary:
        'Create a destination (Thinkific, SCIM app or signed webhook); credentials are encrypted at rest',
      params: orgParams,
      body: createDestinationBody,
      response: { 201: destinationSchema },
    },
    onRequest: requireScope('admin'),
    config: { audit: ['destination.created'] },
    handler: async (request, reply) =>
      reply.status(201).send(await destinations.create(request.params.org, request.body, request.actor)),
  });

  app.route({
    method: 'GET',
    url: base,
    schema: {
      tags,
      summary: 'List destinations',
      params: orgParams,
      response: { 200: z.object({ data: z.array(destinationSchema) }) },
    },
    onRequest: requireScope('read'),
    handler: async (request) => ({ data: await destinations.list(request.params.org) }),
  });

  app.route({
    method: 'GET',
    url: `${base}/:id`,
    schema: {
      tags,
      summary: 'Get a destination (credentials shown as [set])',
      params: destinationParams,
      response: { 200: destinationSchema },
    },
    onRequest: requireScope('read'),
    handler: async (request) => destinations.get(request.params.org, request.params.id),
  });

  app.route({
    method: 'PATCH',
    url: `${base}/:id`,
    schema: {
      tags,
      summary: 'Update a destination (credentials replaced only when given); re-evaluates its people',
      params: destinationParams,
      body: updateDestinationBody,
      response: { 200: destinationSchema },
    },
    onRequest: requireScope('admin'),
    config: { audit: ['destination.updated'] },
    handler: async (request) =>
      destinations.update(request.params.org, request.params.id, request.body, request.actor),
  });

  app.route({
    method: 'DELETE',
    url: `${base}/:id`,
    schema: {
      tags,
      summary:
        'Delete a destination and its provisioning state (nothing is removed in the destination itself)',
      params: destinationParams,
      response: { 204: z.null() },
    },
    onRequest: requireScope('admin'),
    config: { audit: ['destination.deleted'] },
    handler: async (request, reply) => {
      await destinations.delete(request.params.org, request.params.id, request.actor);
      return reply.status(204).send(null);
    },
  });

  app.route({
    method: 'POST',
    url: `${base}/:id/test`,
    schema: {
      tags,
      summary: 'Test the connection: checks the stored credentials against the real API',
      params: destinationParams,
      response: { 200: z.object({ ok: z.literal(true), latencyMs: z.number().int() }) },
    },
    onRequest: requireScope('admin'),
    config: { audit: { none: 'a read-only call to the destination; changes nothing' } },
    handler: async (request) => destinations.test(request.params.org, request.params.id),
  });

  app.route({
    method: 'POST',
    url: `${base}/:id/reconcile`,
    schema: {
      tags,
      summary: 'Reconcile now: read the destination back for everyone and repair or report drift',
      params: destinationParams,
      response: { 202: z.object({ queued: z.literal(true) }) },
    },
    onRequest: requireScope('admin'),
    config: { audit: { none: 'queues work; its outcomes are recorded as provisioning.* events' } },
    handler: async (request, reply) => {
      const loaded = await destinations.load(request.params.org, request.params.id);
      await provisioning.orchestrator.queueBackfill(
        undefined,
        loaded.row.organizationId,
        'reconcile requested',
        {
          destinationId: loaded.row.id,
          verify: true,
        },
      );
      return reply.status(202).send({ queued: true });
    },
  });

  app.route({
    method: 'POST',
    url: `${base}/:id/retry`,
    schema: {
      tags,
      summary: 'Retry the failed (and dead-lettered) work of this destination',
      params: destinationParams,
      response: { 202: z.object({ queued: z.number().int() }) },
    },
    onRequest: requireScope('admin'),
    config: { audit: { none: 'queues work; its outcomes are recorded as provisioning.* events' } },
    handler: async (request, reply) => {
      const loaded = await destinations.load(request.params.org, request.params.id);
      const queued = await provisioning.orchestrator.retryFailed(loaded.row.organizationId, {
        destinationId: loaded.row.id,
      });
      return reply.status(202).send({ queued });
    },
  });

  app.route({
    method: 'GET',
    url: `${base}/:id/states`,
    schema: {
      tags,
      summary: 'Desired and last-seen state of each person in this destination',
      params: destinationParams,
      querystring: z.object({
        status: z.enum(['pending', 'synced', 'retrying', 'failed', 'grace', 'drift']).optional(),
        limit: z.coerce.number().int().min(1).max(200).default(50),
        after: z.string().max(200).optional(),
      }),
      response: { 200: statePage },
    },
    onRequest: requireScope('read'),
    handler: async (request) =>
      provisioning.states(request.params.org, { destinationId: request.params.id, ...request.query }),
  });

  app.route({
    method: 'GET',
    url: `${base}/:id/attempts`,
    schema: {
      tags,
      summary: 'Every attempt against this destination, newest first',
      params: destinationParams,
      querystring: z.object({
        limit: z.coerce.number().int().min(1).max(200).default(50),
        after: z.string().max(200).optional().describe('The `nextCursor` of the previous page.'),
      }),
      response: { 200: attemptPage },
    },
    onRequest: requireScope('read'),
    handler: async (request) =>
      provisioning.attempts(request.params.org, { destinationId: request.params.id, ...request.query }),
  });

  app.route({
    method: 'GET',
    url: '/api/v1/organizations/:org/users/:userId/provisioning',
    schema: {
      tags,
      summary: "A person's provisioning: state in each destination and the latest attempts",
      params: orgParams.extend({ userId: z.string() }),
      response: { 200: z.object({ states: z.array(stateSchema), attempts: z.array(attemptSchema) }) },
    },
    onRequest: requireScope('read'),
    handler: async (request) => provisioning.ofUser(request.params.org, request.params.userId),
  });

  app.route({
    method: 'POST',
    url: '/api/v1/organizations/:org/users/:userId/provisioning/sync',
    schema: {
      tags,
      summary: "Run a person's provisioning now in every destination (retries failed work)",
      params: orgParams.extend({ userId: z.string() }),
      response: { 202: z.object({ queued: z.number().int() }) },
    },
    onRequest: requireScope('admin'),
    config: { audit: { none: 'queues work; its outcomes are recorded as provisioning.* events' } },
    handler: async (request, reply) =>
      reply
        .status(202)
        .send({ queued: await provisioning.syncUser(request.params.org, request.params.userId) }),
  });
}
