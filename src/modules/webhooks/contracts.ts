/** API shapes of event webhooks: subscriptions, deliveries and attempts. */
import { z } from 'zod';
import { WEBHOOK_DELIVERY_STATUSES } from './schema.ts';

export const createWebhookBody = z
  .object({
    url: z
      .string()
      .max(2000)
      .describe(
        'Where deliveries are POSTed. https; plain http only to localhost when WEBHOOKS_ADDRESSES allows it.',
      ),
    eventTypes: z
      .array(z.string().max(200))
      .max(100)
      .describe('Event types (`user.created`), families (`user.*`), or `*` for all.'),
    organization: z
      .string()
      .max(100)
      .optional()
      .describe(
        'Organization id or slug: only that organization’s events. Omit for a staff subscription that receives every event.',
      ),
    description: z.string().max(500).optional(),
    enabled: z.boolean().optional(),
  })
  .strict()
  .meta({ id: 'CreateWebhook' });
export type CreateWebhookInput = z.infer<typeof createWebhookBody>;

export const updateWebhookBody = z
  .object({
    url: z.string().max(2000).optional(),
    eventTypes: z.array(z.string().max(200)).max(100).optional(),
    description: z.string().max(500).nullable().optional(),
  })
  .strict()
  .meta({ id: 'UpdateWebhook' });
export type UpdateWebhookInput = z.infer<typeof updateWebhookBody>;

export const rotateWebhookSecretBody = z
  .object({
    keepPreviousForSeconds: z
      .number()
      .int()
      .min(0)
      .max(30 * 86_400)
      .optional()
      .describe(
        'How long deliveries also carry a signature with the old secret (default WEBHOOKS_SECRET_OVERLAP_SECONDS).',
      ),
  })
  .strict()
  .meta({ id: 'RotateWebhookSecret' });

export const replayWebhookBody = z
  .object({
    from: z
      .string()
      .max(60)
      .describe('An event cursor: events after it are delivered again (or for the first time).'),
    limit: z
      .number()
      .int()
      .min(1)
      .max(5000)
      .optional()
      .describe('Most events queued by this call (default 1000).'),
  })
  .strict()
  .meta({ id: 'ReplayWebhook' });

export const webhookSchema = z
  .object({
    id: z.string(),
    organizationId: z.string().nullable().describe('Null: a staff subscription receiving every event.'),
    url: z.string(),
    description: z.string().nullable(),
    eventTypes: z.array(z.string()),
    enabled: z.boolean(),
    disabledReason: z.enum(['manual', 'failures']).nullable(),
    disabledAt: z.string().nullable(),
    secret: z.object({
      prefix: z.string().describe('The first characters of the current secret.'),
      rotatedAt: z.string().nullable(),
      previousValidUntil: z
        .string()
        .nullable()
        .describe('Until then deliveries are signed with the previous secret too.'),
    }),
    consecutiveFailures: z.number().int(),
    lastSuccessAt: z.string().nullable(),
    lastFailureAt: z.string().nullable(),
    version: z.number().int(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'Webhook' });
export type WebhookView = z.infer<typeof webhookSchema>;

export const webhookWithSecretSchema = webhookSchema
  .extend({
    signingSecret: z
      .string()
      .describe('`whsec_...`: shown in this response only. Verify deliveries with it.'),
  })
  .meta({ id: 'WebhookWithSecret' });

export const attemptSchema = z
  .object({
    attempt: z.number().int(),
    trigger: z.enum(['automatic', 'redeliver', 'replay']),
    url: z.string(),
    startedAt: z.string(),
    latencyMs: z.number().int(),
    statusCode: z.number().int().nullable(),
    succeeded: z.boolean(),
    error: z.string().nullable(),
    responseSnippet: z.string().nullable().describe('The start of the response body (1 KiB at most).'),
  })
  .meta({ id: 'WebhookAttempt' });
export type AttemptView = z.infer<typeof attemptSchema>;

export const deliverySchema = z
  .object({
    id: z.string(),
    webhookId: z.string(),
    messageId: z
      .string()
      .describe('The `webhook-id` header: the same for every attempt, redelivery and replay.'),
    eventId: z.string(),
    eventCursor: z.string(),
    eventType: z.string(),
    organizationId: z.string().nullable(),
    status: z.enum(WEBHOOK_DELIVERY_STATUSES),
    trigger: z.enum(['automatic', 'redeliver', 'replay']),
    attempts: z.number().int(),
    nextAttemptAt: z.string().nullable(),
    lastStatusCode: z.number().int().nullable(),
    lastError: z.string().nullable(),
    deliveredAt: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'WebhookDelivery' });
export type DeliveryView = z.infer<typeof deliverySchema>;

export const deliveryWithAttemptsSchema = deliverySchema
  .extend({
    payload: z.record(z.string(), z.unknown()).describe('The signed body.'),
    attemptLog: z.array(attemptSchema),
  })
  .meta({ id: 'WebhookDeliveryDetail' });

export const replayResultSchema = z
  .object({
    queued: z.number().int().describe('Deliveries queued by this call.'),
    nextCursor: z.string().describe('The last event considered: replay again from here when `more` is true.'),
    more: z.boolean().describe('True when the limit stopped the replay before the end of the log.'),
  })
  .meta({ id: 'WebhookReplayResult' });
