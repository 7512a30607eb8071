/**
 * Event webhooks: organizations and our staff subscribe URLs to event types; deliveries are signed
 * per Standard Webhooks, retried with backoff, recorded attempt by attempt, and replayable from an
 * event cursor. Other modules use `WebhooksModule`; the HTTP side is `webhookRoutes`.
 */

import { Histogram } from 'prom-client';
import type { Config } from '../../config.ts';
import type { BackgroundTask } from '../../hub.ts';
import type { Database } from '../../platform/db/client.ts';
import type { Metrics } from '../../platform/http/metrics.ts';
import type { HttpClient } from '../../platform/http-client.ts';
import type { JobQueue } from '../../platform/jobs/index.ts';
import type { Logger } from '../../platform/logging.ts';
import type { SecretBox } from '../../platform/secret-box.ts';
import type { EventLog } from '../events/service.ts';
import type { OrganizationService } from '../orgs/index.ts';
import { DELIVERY_QUEUE, FANOUT_CONSUMER, WebhookDeliveryService } from './deliveries.ts';
import { WebhookSubscriptionService } from './subscriptions.ts';

export * from './contracts.ts';
export { DELIVERY_QUEUE, FANOUT_CONSUMER, messageIdOf, payloadOf } from './deliveries.ts';
export { KNOWN_EVENT_FAMILIES, KNOWN_EVENT_TYPES } from './event-catalog.ts';
export { webhookRoutes } from './routes/webhooks.ts';

export class WebhooksModule {
  readonly subscriptions: WebhookSubscriptionService;
  readonly deliveries: WebhookDeliveryService;
  readonly #events: EventLog;
  readonly #logger: Logger;

  constructor(deps: {
    config: Config;
    database: Database;
    secrets: SecretBox;
    events: EventLog;
    orgs: OrganizationService;
    jobs: JobQueue;
    http: HttpClient;
    logger: Logger;
    metrics?: Metrics;
  }) {
    const { config, database, secrets, events, orgs, jobs, http, logger, metrics } = deps;
    this.#events = events;
    this.#logger = logger;
    this.subscriptions = new WebhookSubscriptionService({
      database,
      secrets,
      events,
      orgs,
      settings: {
        addressPolicy: config.WEBHOOKS_ADDRESSES,
        secretOverlapSeconds: config.WEBHOOKS_SECRET_OVERLAP_SECONDS,
      },
    });
    this.deliveries = new WebhookDeliveryService({
      database,
      events,
      jobs,
      http,
      subscriptions: this.subscriptions,
      logger,
      ...(metrics
        ? {
            attemptDuration: new Histogram({
              name: 'switchboard_webhook_attempt_duration_seconds',
              help: 'Webhook delivery attempts by outcome (success, http_error, transport_error, refused_address), with their duration.',
              labelNames: ['outcome'] as const,
              buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
              registers: [metrics.registry],
            }),
          }
        : {}),
      settings: {
        addressPolicy: config.WEBHOOKS_ADDRESSES,
        timeoutMs: config.WEBHOOKS_TIMEOUT_MS,
        maxAttempts: config.WEBHOOKS_MAX_ATTEMPTS,
        retryBaseMs: config.WEBHOOKS_RETRY_BASE_MS,
        retryMaxMs: config.WEBHOOKS_RETRY_MAX_MS,
        window: 2 * config.WEBHOOKS_SUBSCRIPTION_CONCURRENCY,
        holdAfterFailures: config.WEBHOOKS_HOLD_AFTER_FAILURES,
        disableAfterFailures: config.WEBHOOKS_DISABLE_AFTER_FAILURES,
        retentionDays: config.WEBHOOKS_RETENTION_DAYS,
      },
    });
    // Retries of a delivery are our own jobs (scheduled with backoff by `attempt`); pg-boss's retry
    // only covers a handler that crashed or a worker that died (the claim then lapses and resumes).
    jobs.defineQueue({
      name: DELIVERY_QUEUE,
      retryLimit: 3,
      retryDelay: 5,
      retryBackoff: true,
      expireInSeconds: this.deliveries.claimSeconds,
      deleteAfterSeconds: 24 * 3600,
    });
    jobs.work<{ deliveryId: string }>(DELIVERY_QUEUE, {
      concurrency: config.WEBHOOKS_CONCURRENCY,
      // Batches of two, run concurrently, fetched back to back while the queue has a backlog; a
      // hanging receiver holds at most its group's share of workers.
      batchSize: 2,
      groupConcurrency: config.WEBHOOKS_SUBSCRIPTION_CONCURRENCY,
      pollingIntervalSeconds: 1,
      handler: async (job) => this.deliveries.attempt(job.data.deliveryId),
    });
  }

  /** Worker loop: the fan-out consumer, and housekeeping every minute. */
  backgroundTask(): BackgroundTask {
    return {
      name: 'webhooks',
      start: async () => {
        const stopConsumer = await this.#events.startConsumer(FANOUT_CONSUMER, this.deliveries.fanOut, {
          batchSize: 500,
        });
        const run = () =>
          this.deliveries
            .maintain()
            .then((counts) => this.#logger.debug(counts, 'webhook maintenance'))
            .catch((error) => this.#logger.warn({ err: error }, 'webhook maintenance failed'));
        const timer = setInterval(run, 60 * 1000);
        timer.unref();
        return async () => {
          clearInterval(timer);
          await stopConsumer();
        };
      },
    };
  }
}
