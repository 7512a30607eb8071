/** Admin API: webhook subscriptions, their deliveries and attempts, redelivery and replay. */
import { z } from 'zod';
import type { ScopeGuard } from '../../../platform/http/auth.ts';
import { pageOf, paginationQuery } from '../../../platform/http/pagination.ts';
import type { App } from '../../../platform/http/types.ts';
import {
  createWebhookBody,
  deliverySchema,
  deliveryWithAttemptsSchema,
  replayResultSchema,
  replayWebhookBody,
  rotateWebhookSecretBody,
  updateWebhookBody,
  webhookSchema,
  webhookWithSecretSchema,
} from '../contracts.ts';
import type { WebhookDeliveryService } from '../deliveries.ts';
import { WEBHOOK_DELIVERY_STATUSES } from '../schema.ts';
import type { WebhookSubscriptionService } from '../subscriptions.ts';

const idParams = z.object({ id: z.string().max(100) });
const deliveryParams = z.object({ id: z.string().max(100), deliveryId: z.string().max(100) });

export function webhookRoutes(
  app: App,
  deps: {
    subscriptions: WebhookSubscriptionService;
    deliveries: WebhookDeliveryService;
    requireScope: ScopeGuard;
  },
) {
  const { subscriptions, deliveries, requireScope } = deps;
  const tags = ['Webhooks'];

  app.route({
    method: 'POST',
    url: '/api/v1/webhooks',
    schema: {
      tags,
      summary: 'Subscribe a URL to event types; the signing secret is in this response only',
      body: createWebhookBody,
      response: { 201: webhookWithSecretSchema },
    },
    onRequest: requireScope('admin'),
    config: { audit: ['webhook.created'] },
    handler: async (request, reply) => {
      const { webhook, secret } = await subscriptions.create(request.body, request.actor);
      return reply
        .status(201)
        .header('cache-control', 'no-store')
        .send({ ...webhook, signingSecret: secret });
    },
  });

  app.route({
    method: 'GET',
    url: '/api/v1/webhooks',
    schema: {
      tags,
      summary: 'List webhook subscriptions',
      querystring: z.object({
        ...paginationQuery,
        organization: z.string().max(100).optional().describe('Only this organization’s subscriptions.'),
        staff: z
          .enum(['true', 'false'])
          .transform((value) => value === 'true')
          .optional()
          .describe('true: only staff subscriptions (no organization scope).'),
      }),
      response: { 200: pageOf(webhookSchema, 'WebhookPage') },
    },
    onRequest: requireScope('read'),
    handler: async (request) => subscriptions.list(request.query),
  });

  app.route({
    method: 'GET',
    url: '/api/v1/webhooks/:id',
    schema: {
      tags,
      summary: 'Get a webhook subscription',
      params: idParams,
      response: { 200: webhookSchema },
    },
    onRequest: requireScope('read'),
    handler: async (request) => subscriptions.get(request.params.id),
  });

  app.route({
    method: 'PATCH',
    url: '/api/v1/webhooks/:id',
    schema: {
      tags,
      summary: 'Change the URL, event types or description of a webhook',
      params: idParams,
      body: updateWebhookBody,
      response: { 200: webhookSchema },
    },
    onRequest: requireScope('admin'),
    config: { audit: ['webhook.updated'] },
    handler: async (request) => subscriptions.update(request.params.id, request.body, request.actor),
  });

  app.route({
    method: 'DELETE',
    url: '/api/v1/webhooks/:id',
    schema: {
      tags,
      summary: 'Delete a webhook subscription with its deliveries',
      params: idParams,
      response: { 204: z.null() },
    },
    onRequest: requireScope('admin'),
    config: { audit: ['webhook.deleted'] },
    handler: async (request, reply) => {
      await subscriptions.delete(request.params.id, request.actor);
      return reply.status(204).send(null);
    },
  });

  app.route({
    method: 'POST',
    url: '/api/v1/webhooks/:id/enable',
    schema: {
      tags,
      summary: 'Enable a webhook (its failure count starts over)',
      params: idParams,
      response: { 200: webhookSchema },
    },
    onRequest: requireScope('admin'),
    config: { audit: ['webhook.enabled'] },
    handler: async (request) => subscriptions.enable(request.params.id, request.actor),
  });

  app.route({
    method: 'POST',
    url: '/api/v1/webhooks/:id/disable',
    schema: {
      tags,
      summary: 'Disable a webhook: no new deliveries; queued ones are skipped',
      params: idParams,
      response: { 200: webhookSchema },
    },
    onRequest: requireScope('admin'),
    config: { audit: ['webhook.disabled'] },
    handler: async (request) => subscriptions.disable(request.params.id, request.actor),
  });

  app.route({
    method: 'POST',
    url: '/api/v1/webhooks/:id/secret',
    schema: {
      tags,
      summary: 'Rotate the signing secret; the new secret is in this response only',
      description:
        'Deliveries are signed with the new secret at once and, for `keepPreviousForSeconds`, with the previous one too (several signatures in `webhook-signature`), so the receiver can switch at its own pace.',
      params: idParams,
      body: rotateWebhookSecretBody.optional(),
      response: { 200: webhookWithSecretSchema },
    },
    onRequest: requireScope('admin'),
    config: { audit: ['webhook.secret_rotated'] },
    handler: async (request, reply) => {
      const { webhook, secret } = await subscriptions.rotateSecret(
        request.params.id,
        { keepPreviousForSeconds: request.body?.keepPreviousForSeconds },
        request.actor,
      );
      return reply.header('cache-control', 'no-store').send({ ...webhook, signingSecret: secret });
    },
  });

  app.route({
    method: 'GET',
    url: '/api/v1/webhooks/:id/deliveries',
    schema: {
      tags,
      summary: 'List deliveries of a webhook, newest first',
      params: idParams,
      querystring: z.object({
        ...paginationQuery,
        status: z.enum(WEBHOOK_DELIVERY_STATUSES).optional(),
        eventType: z.string().max(200).optional(),
      }),
      response: { 200: pageOf(deliverySchema, 'WebhookDeliveryPage') },
    },
    onRequest: requireScope('read'),
    handler: async (request) => {
      const { limit, after, status, eventType } = request.query;
      return deliveries.listDeliveries(request.params.id, {
        limit,
        ...(after ? { after } : {}),
        ...(status ? { status } : {}),
        ...(eventType ? { eventType } : {}),
      });
    },
  });

  app.route({
    method: 'GET',
    url: '/api/v1/webhooks/:id/deliveries/:deliveryId',
    schema: {
      tags,
      summary: 'Get a delivery with its payload and every attempt',
      params: deliveryParams,
      response: { 200: deliveryWithAttemptsSchema },
    },
    onRequest: requireScope('read'),
    handler: async (request) => deliveries.getDelivery(request.params.id, request.params.deliveryId),
  });

  app.route({
    method: 'POST',
    url: '/api/v1/webhooks/:id/deliveries/:deliveryId/redeliver',
    schema: {
      tags,
      summary: 'Send a delivery again (same webhook-id), with a new round of retries',
      params: deliveryParams,
      response: { 202: deliverySchema },
    },
    onRequest: requireScope('admin'),
    config: { audit: ['webhook.redelivered'] },
    handler: async (request, reply) =>
      reply
        .status(202)
        .send(await deliveries.redeliver(request.params.id, request.params.deliveryId, request.actor)),
  });

  app.route({
    method: 'POST',
    url: '/api/v1/webhooks/:id/replay',
    schema: {
      tags,
      summary: 'Deliver again every matching event after an event cursor',
      description:
        'Queues the events after `from` that this webhook subscribes to (of its organization, for an organization’s webhook), up to `limit`: events already delivered are sent again with the same `webhook-id`, others for the first time. When `more` is true, call again with `from: nextCursor`.',
      params: idParams,
      body: replayWebhookBody,
      response: { 202: replayResultSchema },
    },
    onRequest: requireScope('admin'),
    config: { audit: ['webhook.replayed'] },
    handler: async (request, reply) =>
      reply.status(202).send(await deliveries.replay(request.params.id, request.body, request.actor)),
  });
}
