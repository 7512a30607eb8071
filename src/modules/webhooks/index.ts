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
        concurrency: config.WEBHOOKS_SUBSCRIPTION_CONCURRENCY,
        // As many jobs as slots: the next queued delivery gets its job when an attempt ends.
        window: config.WEBHOOKS_SUBSCRIPTION_CONCURRENCY,
        holdAfterFailures: config.WEBHOOKS_HOLD_AFTER_FAILURES,
        disableAfterFailures: config.WEBHOOKS_DISABLE_AFTER_FAILURES,
        retentionDays: config.WEBHOOKS_RETENTION_DAYS,
      },
    });
    // Retries of a delivery are our own jobs (scheduled with backoff by `attempt`); pg-boss's retry
    // only covers a handler that crashed. A worker that dies mid-attempt leaves a claim that lapses
    // after `leaseMs`; the sweep below then queues the delivery again. pg-boss's own expiry (and its
    // supervision every 15 s) would take far longer, so it is only a backstop here.
    jobs.defineQueue({
      name: DELIVERY_QUEUE,
      retryLimit: 3,
      retryDelay: 5,
      retryBackoff: true,
      expireInSeconds: Math.ceil(this.deliveries.leaseMs / 1000) + 30,
      deleteAfterSeconds: 24 * 3600,
    });
    jobs.work<{ deliveryId: string }>(DELIVERY_QUEUE, {
      concurrency: config.WEBHOOKS_CONCURRENCY,
      // Batches of two, run concurrently, fetched back to back while the queue has a backlog. The
      // per-subscription limit is not pg-boss's groupConcurrency: its count of active jobs races
      // between concurrent fetches (3-4 in flight with a limit of 2), and a killed worker's jobs stay
      // active, holding the group, until pg-boss expires them. An attempt claims a slot atomically
      // instead (`claimDelivery`), so a hanging receiver holds at most its slots' workers.
      batchSize: 2,
      pollingIntervalSeconds: 1,
      handler: async (job) => this.deliveries.attempt(job.data.deliveryId),
    });
  }

  /**
   * Worker loop: the fan-out consumer; lapsed claims resumed every `sweepIntervalMs`; the rest of
   * the housekeeping every minute.
   */
  backgroundTask(): BackgroundTask {
    return {
      name: 'webhooks',
      start: async () => {
        const stopConsumer = await this.#events.startConsumer(FANOUT_CONSUMER, this.deliveries.fanOut, {
          batchSize: 500,
        });
        const sweepMs = this.deliveries.sweepIntervalMs;
        let sinceMaintenance = 0;
        let running: Promise<void> | undefined;
        const sweep = async () => {
          sinceMaintenance += sweepMs;
          try {
            if (sinceMaintenance >= 60_000) {
              sinceMaintenance = 0;
              this.#logger.debug(await this.deliveries.maintain(), 'webhook maintenance');
            } else {
              const resumed = await this.deliveries.resumeLapsed();
              if (resumed)
                this.#logger.info({ resumed }, 'webhook attempts resumed after their worker stopped');
            }
          } catch (error) {
            this.#logger.warn({ err: error }, 'webhook maintenance failed');
          }
        };
        const timer = setInterval(() => {
          running ??= sweep().finally(() => {
            running = undefined;
          });
        }, sweepMs);
        timer.unref();
        return async () => {
          clearInterval(timer);
          await Promise.all([stopConsumer(), running]);
        };
      },
    };
  }
}
