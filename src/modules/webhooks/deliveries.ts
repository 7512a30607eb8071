/**
 * Delivering events to webhook subscriptions.
 *
 * 1. `fanOut` is an event-log consumer: in the transaction that advances its cursor it writes one
 *    delivery per matching subscription and queues one pg-boss job per delivery. Logins and SCIM
 *    requests only append events; they never wait on a receiver.
 * 2. `attempt` runs one HTTP attempt of a delivery (a job): claim the delivery (no transaction stays
 *    open during the call), check the address, sign, POST with a timeout, then record the attempt
 *    and either finish or queue the retry with exponential backoff and jitter. Jobs carry the
 *    subscription as their pg-boss group, and a group runs at most WEBHOOKS_SUBSCRIPTION_CONCURRENCY
 *    attempts at once across all workers, so a dead or slow receiver only holds up its own deliveries.
 * 3. Failed attempts in a row disable the subscription (`webhook.disabled`) at the threshold.
 * 4. `redeliver` and `replay` start a new round for one delivery, or for every matching event after
 *    a cursor. The `webhook-id` stays the same, so a receiver that already has the event drops it.
 */
import type { Histogram } from 'prom-client';
import { type Database, FOREIGN_KEY_VIOLATION, sqlState, type Tx } from '../../platform/db/client.ts';
import { Conflict, InvalidInput, notFound } from '../../platform/errors.ts';
import { type HttpClient, HttpTransportError } from '../../platform/http-client.ts';
import { newId } from '../../platform/ids.ts';
import type { JobQueue } from '../../platform/jobs/index.ts';
import type { Logger } from '../../platform/logging.ts';
import { type Actor, decodeCursor, type EventRecord, encodeCursor } from '../events/contracts.ts';
import type { EventLog } from '../events/service.ts';
import {
  AddressNotAllowed,
  checkResolvedAddresses,
  checkWebhookUrl,
  type WebhookAddressPolicy,
} from './address-policy.ts';
import type { AttemptView, DeliveryView } from './contracts.ts';
import { eventQueryOf, matchesEventType } from './event-catalog.ts';
import {
  type AttemptRow,
  claimDelivery,
  claimProbeSlot,
  countInWindow,
  type DeliveryRow,
  deleteDeliveriesBefore,
  findDelivery,
  findSubscription,
  finishDelivery,
  insertAttempt,
  insertDeliveries,
  isWaiting,
  listAttempts,
  listDeliveries,
  listEnabledSubscriptions,
  listSubscriptionsWith,
  type NewDeliveryRow,
  promoteOldestHeld,
  promoteQueued,
  recordSubscriptionOutcome,
  releaseProbeSlot,
  requeueDelivery,
  resumeLapsedClaims,
  type SubscriptionRow,
  settleHeld,
  upsertReplayDeliveries,
} from './repository.ts';
import { signMessage } from './signing.ts';
import type { WebhookSubscriptionService } from './subscriptions.ts';

/** Queue of delivery attempts: one job per attempt, grouped by subscription. */
export const DELIVERY_QUEUE = 'webhooks.deliver';
/** Name of the event-log consumer that fans events out to subscriptions. */
export const FANOUT_CONSUMER = 'webhooks.fanout';

const SNIPPET_BYTES = 1024;
/**
 * A claim lasts the attempt's timeout plus this margin: for the address check before the request
 * and for recording the outcome after it. The request itself always ends before the claim lapses.
 */
const CLAIM_MARGIN_MS = 5000;
/** Of the margin, what recording the outcome may take after the request ends. */
const RECORD_MARGIN_MS = 2000;
const WEBHOOKS_ACTOR: Actor = { type: 'system', name: 'webhooks' };

export interface DeliverySettings {
  addressPolicy: WebhookAddressPolicy;
  timeoutMs: number;
  maxAttempts: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /**
   * Attempts to one subscription in flight at once, across all worker processes: an attempt claims
   * a slot atomically (see `claimDelivery`) or waits.
   */
  concurrency: number;
  /**
   * Deliveries of one subscription that may hold a job at once (queued or in flight); the rest wait
   * as `queued` rows and get a job as slots free up. A slow receiver's backlog is rows, not jobs.
   */
  window: number;
  /** Consecutive failed attempts after which a receiver is down: deliveries held behind one probe; 0 never. */
  holdAfterFailures: number;
  /** Consecutive failed attempts that disable a subscription; 0 never. */
  disableAfterFailures: number;
  retentionDays: number;
}

export interface AttemptOutcome {
  statusCode: number | null;
  succeeded: boolean;
  error: string | null;
  responseSnippet: string | null;
  latencyMs: number;
}

export class WebhookDeliveryService {
  readonly #database: Database;
  readonly #events: EventLog;
  readonly #jobs: JobQueue;
  readonly #http: HttpClient;
  readonly #subscriptions: WebhookSubscriptionService;
  readonly #settings: DeliverySettings;
  readonly #logger: Logger;
  readonly #attemptDuration: Histogram<'outcome'> | undefined;

  constructor(deps: {
    database: Database;
    events: EventLog;
    jobs: JobQueue;
    http: HttpClient;
    subscriptions: WebhookSubscriptionService;
    settings: DeliverySettings;
    logger: Logger;
    /** Observes each attempt's duration by outcome (Prometheus). */
    attemptDuration?: Histogram<'outcome'>;
  }) {
    this.#database = deps.database;
    this.#events = deps.events;
    this.#jobs = deps.jobs;
    this.#http = deps.http;
    this.#subscriptions = deps.subscriptions;
    this.#settings = deps.settings;
    this.#logger = deps.logger.child({ component: 'webhooks' });
    this.#attemptDuration = deps.attemptDuration;
  }

  /**
   * How long one attempt holds its delivery and its subscription slot (the claim): the attempt
   * timeout plus a margin. A worker that dies mid-attempt (SIGKILL) holds them no longer; then
   * `resumeLapsed` queues the delivery again.
   */
  get leaseMs(): number {
    return this.#settings.timeoutMs + CLAIM_MARGIN_MS;
  }

  /**
   * How often workers look for lapsed claims: every attempt timeout (1 s to 1 min). A delivery whose
   * worker died is attempted again at most lease + this interval (plus the job's pick-up) after its
   * claim: within 2 × WEBHOOKS_TIMEOUT_MS + 6 s.
   */
  get sweepIntervalMs(): number {
    return Math.min(60_000, Math.max(1000, this.#settings.timeoutMs));
  }

  /**
   * Event-log consumer: a delivery and a job for each matching (event, subscription), written with
   * the cursor move. A subscription receives events that happened after it was created; earlier
   * ones only through a replay.
   */
  readonly fanOut = async (tx: Tx, events: readonly EventRecord[]): Promise<void> => {
    const subscriptions = await listEnabledSubscriptions(tx);
    if (subscriptions.length === 0) return;
    const compiled = subscriptions.map((row) => ({
      row,
      query: eventQueryOf(row.eventTypes),
      down: this.isDown(row),
    }));
    const rows: NewDeliveryRow[] = [];
    for (const event of events) {
      const occurredAt = new Date(event.occurredAt);
      for (const { row, query, down } of compiled) {
        if (!receives(row, event)) continue;
        if (occurredAt < row.createdAt) continue;
        if (!matchesEventType(event.type, query)) continue;
        // A receiver that is down gets its deliveries held until a probe gets through.
        rows.push({
          ...deliveryRowOf(row, event, 'automatic'),
          status: down ? 'held' : 'queued',
          nextAttemptAt: null,
        });
      }
    }
    // Jobs only while the subscription's window has room; the rest wait as queued rows.
    const open = [...new Set(rows.filter((row) => row.status === 'queued').map((row) => row.subscriptionId))];
    const inWindow = await countInWindow(tx, open);
    const room = new Map(
      open.map((id) => [id, Math.max(0, this.#settings.window - (inWindow.get(id) ?? 0))]),
    );
    for (const row of rows) {
      const free = room.get(row.subscriptionId) ?? 0;
      if (row.status === 'queued' && free > 0) {
        row.status = 'pending';
        row.nextAttemptAt = new Date();
        room.set(row.subscriptionId, free - 1);
      }
    }
    for (let start = 0; start < rows.length; start += 500) {
      const inserted = await insertDeliveries(tx, rows.slice(start, start + 500));
      await this.#enqueueMany(
        tx,
        inserted.filter((delivery) => delivery.status === 'pending'),
      );
    }
    // A receiver that is down and has no probe (its last one went dead) gets one from what waits.
    for (const { row, down } of compiled) {
      if (down && !row.probeDeliveryId) await this.#promoteProbe(tx, row);
    }
  };

  /** Whether a subscription's receiver counts as down: its deliveries are held behind one probe. */
  isDown(subscription: Pick<SubscriptionRow, 'consecutiveFailures'>): boolean {
    const threshold = this.#settings.holdAfterFailures;
    return threshold > 0 && subscription.consecutiveFailures >= threshold;
  }

  /** One attempt of a delivery (the job handler). */
  async attempt(deliveryId: string): Promise<DeliveryRow['status'] | 'not_claimed' | 'busy'> {
    const claimed = await this.#database.transaction(async (tx) => {
      const claim = await claimDelivery(tx, deliveryId, {
        leaseMs: this.leaseMs,
        limit: this.#settings.concurrency,
      });
      if (claim && 'busy' in claim) {
        // Every slot is taken (a retry fell due, or another worker won the race): try again shortly.
        await this.#enqueue(tx, deliveryId, claim.subscriptionId, new Date(Date.now() + this.#busyDelayMs()));
        return 'busy' as const;
      }
      return claim;
    });
    if (claimed === 'busy') return 'busy';
    if (!claimed) return 'not_claimed';
    const claimedAt = performance.now();
    const subscription = await findSubscription(this.#database.db, claimed.subscriptionId);
    if (!subscription) return 'not_claimed'; // deleted meanwhile: its deliveries went with it
    if (!subscription.enabled) {
      await finishDelivery(this.#database.db, deliveryId, {
        status: 'skipped',
        nextAttemptAt: null,
        lastError: 'the webhook is disabled',
      });
      return 'skipped';
    }
    // While the receiver is down only its probe goes (and what a person redelivers by hand).
    if (this.isDown(subscription) && claimed.trigger !== 'redeliver') {
      const probe = await claimProbeSlot(this.#database.db, subscription.id, deliveryId);
      if (!probe) {
        await finishDelivery(this.#database.db, deliveryId, { status: 'held', nextAttemptAt: null });
        return 'held';
      }
    }
    const startedAt = new Date();
    const outcome = await this.#send(subscription, claimed, startedAt, claimedAt);
    this.#attemptDuration?.observe({ outcome: outcomeLabel(outcome) }, outcome.latencyMs / 1000);
    try {
      return await this.#recordAttempt(subscription, claimed, startedAt, outcome);
    } catch (error) {
      // The subscription (and with it this delivery) was deleted during the attempt: nothing to record.
      if (sqlState(error) === FOREIGN_KEY_VIOLATION) return 'not_claimed';
      throw error;
    }
  }

  /** Records an attempt and decides what comes next: done, retry, hold, dead; disables at the threshold. */
  async #recordAttempt(
    subscription: SubscriptionRow,
    claimed: DeliveryRow,
    startedAt: Date,
    outcome: AttemptOutcome,
  ): Promise<DeliveryRow['status']> {
    const deliveryId = claimed.id;
    const attempts = claimed.attempts + 1;
    const roundAttempts = claimed.roundAttempts + 1;
    return this.#database.transaction(async (tx) => {
      await insertAttempt(tx, {
        deliveryId,
        subscriptionId: subscription.id,
        attempt: attempts,
        trigger: claimed.trigger,
        url: subscription.url,
        startedAt,
        latencyMs: outcome.latencyMs,
        statusCode: outcome.statusCode,
        succeeded: outcome.succeeded,
        error: outcome.error,
        responseSnippet: outcome.responseSnippet,
      });
      const after = await recordSubscriptionOutcome(tx, subscription.id, outcome.succeeded, startedAt);
      const common = {
        attempts,
        roundAttempts,
        lastStatusCode: outcome.statusCode,
        lastError: outcome.error,
      };
      let status: DeliveryRow['status'];
      if (outcome.succeeded) {
        status = 'succeeded';
        await finishDelivery(tx, deliveryId, {
          ...common,
          status,
          nextAttemptAt: null,
          deliveredAt: new Date(),
        });
        // Held deliveries exist only once failures began; a race with them is swept by `maintain`.
        if (subscription.probeDeliveryId || subscription.consecutiveFailures > 0) {
          await this.#receiverIsBack(tx, subscription.id);
        } else {
          await this.#passSlot(tx, subscription.id);
        }
        return status;
      }
      const down = after ? this.isDown(after) : false;
      if (roundAttempts >= this.#settings.maxAttempts) {
        status = 'dead';
        await finishDelivery(tx, deliveryId, { ...common, status, nextAttemptAt: null });
        if (after && down) {
          // The probe is spent: the oldest waiting delivery probes next.
          await releaseProbeSlot(tx, after.id, deliveryId);
          await this.#promoteProbe(tx, { ...after, probeDeliveryId: null });
        } else {
          await this.#passSlot(tx, subscription.id);
        }
      } else if (!down || (await claimProbeSlot(tx, subscription.id, deliveryId))) {
        // A retry; while the receiver is down this delivery is its probe, spaced by the failures in a row.
        status = 'retrying';
        const delay =
          down && after
            ? Math.max(this.retryDelayMs(roundAttempts), this.#probeDelayMs(after))
            : this.retryDelayMs(roundAttempts);
        const next = new Date(Date.now() + delay);
        await finishDelivery(tx, deliveryId, { ...common, status, nextAttemptAt: next });
        await this.#enqueue(tx, deliveryId, subscription.id, next);
        // Waiting for its retry it holds no slot: the next queued delivery goes meanwhile.
        if (!down) await this.#passSlot(tx, subscription.id);
      } else {
        status = 'held';
        await finishDelivery(tx, deliveryId, { ...common, status, nextAttemptAt: null });
      }
      const threshold = this.#settings.disableAfterFailures;
      if (after?.enabled && threshold > 0 && after.consecutiveFailures >= threshold) {
        await this.#subscriptions.disableIn(tx, after, 'failures', WEBHOOKS_ACTOR);
        this.#logger.warn(
          { webhookId: after.id, consecutiveFailures: after.consecutiveFailures },
          'webhook disabled after consecutive failures',
        );
      }
      return status;
    });
  }

  /** The receiver answered again: no more probe; held deliveries queue up and the window fills. */
  async #receiverIsBack(tx: Tx, subscriptionId: string): Promise<void> {
    await releaseProbeSlot(tx, subscriptionId);
    await settleHeld(tx, subscriptionId, 'queued');
    await this.#fillWindow(tx, subscriptionId);
  }

  /** A delivery left the window (done, or waiting for a retry): the oldest queued one takes its slot. */
  async #passSlot(tx: Tx, subscriptionId: string): Promise<void> {
    await this.#enqueueMany(tx, await promoteQueued(tx, subscriptionId, 1));
  }

  /** Gives queued deliveries every free slot of the subscription's window. */
  async #fillWindow(tx: Tx, subscriptionId: string): Promise<void> {
    const inWindow = (await countInWindow(tx, [subscriptionId])).get(subscriptionId) ?? 0;
    await this.#enqueueMany(tx, await promoteQueued(tx, subscriptionId, this.#settings.window - inWindow));
  }

  /** Makes the oldest held delivery the probe of a receiver that is down, if there is one and no probe. */
  async #promoteProbe(tx: Tx, subscription: SubscriptionRow): Promise<void> {
    if (subscription.probeDeliveryId) return;
    const at = new Date(Date.now() + this.#probeDelayMs(subscription));
    const next = await promoteOldestHeld(tx, subscription.id, at);
    if (!next) return;
    if (!(await claimProbeSlot(tx, subscription.id, next.id))) {
      // Another delivery became the probe meanwhile: this one waits with the rest.
      await finishDelivery(tx, next.id, { status: 'held', nextAttemptAt: null });
      return;
    }
    await this.#enqueue(tx, next.id, subscription.id, at);
  }

  /** How long an attempt that found every slot taken waits before trying again: up to 1 s, jittered. */
  #busyDelayMs(): number {
    const base = Math.min(1000, this.#settings.timeoutMs);
    return Math.round(base / 2 + Math.random() * (base / 2));
  }

  /** How long a down receiver rests before the next probe: the retry schedule, by failures past the threshold. */
  #probeDelayMs(subscription: Pick<SubscriptionRow, 'consecutiveFailures'>): number {
    return this.retryDelayMs(
      Math.max(1, subscription.consecutiveFailures - this.#settings.holdAfterFailures + 1),
    );
  }

  /**
   * Delay before the retry that follows attempt `round` of a round: the base doubled each time,
   * capped, half of it fixed and half random ("equal jitter"), so retries of many deliveries spread
   * out but never come back sooner than half the schedule.
   */
  retryDelayMs(round: number): number {
    const delay = Math.min(this.#settings.retryMaxMs, this.#settings.retryBaseMs * 2 ** (round - 1));
    return Math.round(delay / 2 + Math.random() * (delay / 2));
  }

  async listDeliveries(
    subscriptionId: string,
    query: { status?: string; eventType?: string; after?: string; limit: number },
  ) {
    await this.#subscriptions.require(subscriptionId);
    const rows = await listDeliveries(this.#database.db, { subscriptionId, ...query });
    const page = rows.slice(0, query.limit);
    return {
      data: page.map(toDeliveryView),
      nextCursor: rows.length > query.limit ? (page.at(-1)?.id ?? null) : null,
    };
  }

  async getDelivery(subscriptionId: string, deliveryId: string) {
    await this.#subscriptions.require(subscriptionId);
    const row = await findDelivery(this.#database.db, subscriptionId, deliveryId);
    if (!row) throw notFound('webhook_delivery', deliveryId);
    const attempts = await listAttempts(this.#database.db, deliveryId);
    return { ...toDeliveryView(row), payload: row.payload, attemptLog: attempts.map(toAttemptView) };
  }

  /** Sends one delivery again, with a new round of retries. */
  async redeliver(subscriptionId: string, deliveryId: string, actor: Actor): Promise<DeliveryView> {
    return this.#database.transaction(async (tx) => {
      const subscription = await this.#subscriptions.require(subscriptionId, tx);
      assertEnabled(subscription);
      const existing = await findDelivery(tx, subscriptionId, deliveryId);
      if (!existing) throw notFound('webhook_delivery', deliveryId);
      const row = await requeueDelivery(tx, deliveryId, 'redeliver');
      if (!row) {
        throw new Conflict({
          code: 'webhook_delivery_in_flight',
          detail: 'An attempt of this delivery is in progress right now.',
          fix: 'Wait for it to finish (see its attempts), then redeliver if it failed.',
        });
      }
      await this.#enqueue(tx, row.id, subscriptionId);
      await this.#events.append(tx, {
        organizationId: subscription.organizationId,
        type: 'webhook.redelivered',
        actor,
        subjectType: 'webhook',
        subjectId: subscriptionId,
        data: {
          webhookId: subscriptionId,
          deliveryId,
          messageId: row.messageId,
          eventId: String(row.eventId),
        },
      });
      return toDeliveryView(row);
    });
  }

  /**
   * Queues the subscription's matching events after `from` (the subscription's organization's only),
   * up to `limit`: events never delivered get a delivery, delivered ones a new round.
   */
  async replay(
    subscriptionId: string,
    input: { from: string; limit?: number | undefined },
    actor: Actor,
  ): Promise<{ queued: number; nextCursor: string; more: boolean }> {
    const after = decodeCursor(input.from);
    if (after === undefined) {
      throw new InvalidInput({
        code: 'invalid_cursor',
        detail: `"${input.from}" is not an event cursor.`,
        field: 'from',
        fix: "Pass an event's `cursor` (GET /api/v1/events, or a delivery's `eventCursor`); 0 replays from the beginning.",
      });
    }
    const subscription = await this.#subscriptions.require(subscriptionId);
    assertEnabled(subscription);
    const limit = input.limit ?? 1000;
    const query = eventQueryOf(subscription.eventTypes);
    const events: EventRecord[] = [];
    let cursor = after;
    while (events.length < limit) {
      const page = await this.#events.list({
        after: cursor,
        limit: Math.min(500, limit - events.length),
        ...query,
        ...(subscription.organizationId ? { organizationId: subscription.organizationId } : {}),
      });
      events.push(...page.events);
      cursor = decodeCursor(page.nextCursor) ?? cursor;
      if (page.events.length === 0) break;
    }
    const more =
      events.length >= limit &&
      (
        await this.#events.list({
          after: cursor,
          limit: 1,
          ...query,
          ...(subscription.organizationId ? { organizationId: subscription.organizationId } : {}),
        })
      ).events.length > 0;
    return this.#database.transaction(async (tx) => {
      const current = await this.#subscriptions.require(subscriptionId, tx, true);
      let queued = 0;
      const rows = events.map((event) => ({
        ...deliveryRowOf(current, event, 'replay'),
        status: 'queued',
        nextAttemptAt: null,
      }));
      for (let start = 0; start < rows.length; start += 500) {
        queued += (await upsertReplayDeliveries(tx, rows.slice(start, start + 500))).length;
      }
      // While the receiver is down they wait for the probe like the rest.
      if (!this.isDown(current)) await this.#fillWindow(tx, subscriptionId);
      const nextCursor = encodeCursor(cursor);
      await this.#events.append(tx, {
        organizationId: current.organizationId,
        type: 'webhook.replayed',
        actor,
        subjectType: 'webhook',
        subjectId: subscriptionId,
        data: { webhookId: subscriptionId, from: input.from, to: nextCursor, queued },
      });
      return { queued, nextCursor, more };
    });
  }

  /** Queues again the deliveries whose worker died mid-attempt (their claim lapsed). */
  async resumeLapsed(): Promise<number> {
    return this.#database.transaction(async (tx) => {
      const lapsed = await resumeLapsedClaims(tx, 500);
      await this.#enqueueMany(tx, lapsed);
      return lapsed.length;
    });
  }

  /**
   * Housekeeping: queues again the deliveries whose worker died mid-attempt (claim lapsed), and
   * deletes deliveries past retention.
   */
  async maintain(now = new Date()): Promise<{ resumed: number; deleted: number }> {
    const resumed = await this.resumeLapsed();
    // Waiting deliveries (held, or queued without a slot) whose receiver is no longer down, or that
    // lost their probe or their window's jobs (a worker died): release them, or give them a probe.
    const waiting = new Set([
      ...(await listSubscriptionsWith(this.#database.db, 'held')),
      ...(await listSubscriptionsWith(this.#database.db, 'queued')),
    ]);
    for (const subscriptionId of waiting) {
      await this.#database.transaction(async (tx) => {
        const subscription = await findSubscription(tx, subscriptionId, { lock: true });
        if (!subscription?.enabled) return;
        if (!this.isDown(subscription)) await this.#receiverIsBack(tx, subscriptionId);
        else if (!subscription.probeDeliveryId || !(await isWaiting(tx, subscription.probeDeliveryId))) {
          await releaseProbeSlot(tx, subscriptionId);
          await this.#promoteProbe(tx, { ...subscription, probeDeliveryId: null });
        }
      });
    }
    const deleted = await deleteDeliveriesBefore(
      this.#database.db,
      new Date(now.getTime() - this.#settings.retentionDays * 86_400_000),
    );
    return { resumed, deleted };
  }

  /** One job per delivery, in one statement, grouped by subscription. */
  async #enqueueMany(tx: Tx, deliveries: ReadonlyArray<{ id: string; subscriptionId: string }>) {
    await this.#jobs.insert(
      DELIVERY_QUEUE,
      deliveries.map((delivery) => ({
        data: { deliveryId: delivery.id },
        group: { id: delivery.subscriptionId },
      })),
      { tx },
    );
  }

  async #enqueue(tx: Tx | undefined, deliveryId: string, subscriptionId: string, startAfter?: Date) {
    await this.#jobs.send(
      DELIVERY_QUEUE,
      { deliveryId },
      {
        ...(tx ? { tx } : {}),
        group: { id: subscriptionId },
        ...(startAfter ? { startAfter } : {}),
      },
    );
  }

  /** The HTTP attempt: address check, signature, POST. Never throws for the receiver's failures. */
  async #send(
    subscription: SubscriptionRow,
    delivery: DeliveryRow,
    at: Date,
    claimedAt: number,
  ): Promise<AttemptOutcome> {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    try {
      const url = checkWebhookUrl(subscription.url, this.#settings.addressPolicy);
      await checkResolvedAddresses(url, this.#settings.addressPolicy);
    } catch (error) {
      if (!(error instanceof AddressNotAllowed)) throw error;
      return failure(`address not allowed: ${error.message}`, elapsed());
    }
    const body = JSON.stringify(delivery.payload);
    const headers = signMessage(
      delivery.messageId,
      body,
      this.#subscriptions.signingSecrets(subscription, at),
      at,
    );
    try {
      const response = await this.#http.request({
        method: 'POST',
        url: subscription.url,
        headers: { ...headers, 'content-type': 'application/json' },
        body,
        // Ends before the claim lapses, even after a slow address check: a request never outlives
        // its slot (the subscription's concurrency limit counts live claims).
        timeoutMs: Math.max(
          1,
          Math.min(
            this.#settings.timeoutMs,
            this.leaseMs - RECORD_MARGIN_MS - (performance.now() - claimedAt),
          ),
        ),
        retries: 0,
      });
      const succeeded = response.status >= 200 && response.status < 300;
      return {
        statusCode: response.status,
        succeeded,
        error: succeeded
          ? null
          : response.status >= 300 && response.status < 400
            ? `HTTP ${response.status}: redirects are not followed`
            : `HTTP ${response.status}`,
        responseSnippet: truncate(response.text),
        latencyMs: elapsed(),
      };
    } catch (error) {
      if (!(error instanceof HttpTransportError)) throw error;
      return failure(error.message, elapsed());
    }
  }
}

/** Whether a subscription receives an event: staff subscriptions all, organization ones their own. */
function receives(subscription: SubscriptionRow, event: EventRecord): boolean {
  return subscription.organizationId === null || subscription.organizationId === event.organizationId;
}

function assertEnabled(subscription: SubscriptionRow) {
  if (!subscription.enabled) {
    throw new Conflict({
      code: 'webhook_disabled',
      detail: `This webhook is disabled (${subscription.disabledReason ?? 'manual'}).`,
      fix: 'Enable it first: POST /api/v1/webhooks/{id}/enable.',
    });
  }
}

function deliveryRowOf(
  subscription: SubscriptionRow,
  event: EventRecord,
  trigger: 'automatic' | 'replay',
): NewDeliveryRow {
  return {
    id: newId('webhookDelivery'),
    subscriptionId: subscription.id,
    organizationId: event.organizationId,
    eventId: BigInt(event.id),
    eventPosition: decodeCursor(event.cursor) ?? 0n,
    eventType: event.type,
    messageId: messageIdOf(event, subscription),
    payload: payloadOf(event),
    status: 'pending',
    trigger,
    nextAttemptAt: new Date(),
  };
}

/** The `webhook-id`: one per event and subscription, the same on every attempt and replay. */
export function messageIdOf(
  event: Pick<EventRecord, 'id'>,
  subscription: Pick<SubscriptionRow, 'id'>,
): string {
  return `msg_${event.id}_${subscription.id}`;
}

/**
 * The Standard Webhooks body: `{ type, timestamp, data }`. `data` carries the event without what a
 * receiver has no business with (the actor's IP address and request id) and without any member
 * named like a credential, should one ever reach an event.
 */
export function payloadOf(event: EventRecord): Record<string, unknown> {
  return {
    type: event.type,
    timestamp: event.occurredAt,
    data: {
      eventId: event.id,
      cursor: event.cursor,
      organizationId: event.organizationId,
      subject: event.subject,
      actor: { type: event.actor.type, ...(event.actor.name ? { name: event.actor.name } : {}) },
      change: withoutSecrets(event.data),
    },
  };
}

const SECRET_KEYS =
  /^(secret|signingSecret|clientSecret|client_secret|password|token|accessToken|refreshToken|apiKey|privateKey|bearerToken)$/i;

function withoutSecrets(value: unknown): never {
  if (Array.isArray(value)) return value.map(withoutSecrets) as never;
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, member] of Object.entries(value)) {
      if (!SECRET_KEYS.test(key)) out[key] = withoutSecrets(member);
    }
    return out as never;
  }
  return value as never;
}

function outcomeLabel(outcome: AttemptOutcome): string {
  if (outcome.succeeded) return 'success';
  if (outcome.statusCode !== null) return 'http_error';
  return outcome.error?.startsWith('address not allowed') ? 'refused_address' : 'transport_error';
}

function failure(error: string, latencyMs: number): AttemptOutcome {
  return { statusCode: null, succeeded: false, error, responseSnippet: null, latencyMs };
}

function truncate(text: string): string | null {
  if (!text) return null;
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= SNIPPET_BYTES) return text;
  return `${bytes
    .subarray(0, SNIPPET_BYTES)
    .toString('utf8')
    .replace(/\uFFFD$/, '')}…`;
}

export function toDeliveryView(row: DeliveryRow): DeliveryView {
  return {
    id: row.id,
    webhookId: row.subscriptionId,
    messageId: row.messageId,
    eventId: String(row.eventId),
    eventCursor: encodeCursor(row.eventPosition),
    eventType: row.eventType,
    organizationId: row.organizationId,
    status: row.status as DeliveryView['status'],
    trigger: row.trigger as DeliveryView['trigger'],
    attempts: row.attempts,
    nextAttemptAt:
      row.status === 'retrying' || row.status === 'pending'
        ? (row.nextAttemptAt?.toISOString() ?? null)
        : null,
    lastStatusCode: row.lastStatusCode,
    lastError: row.lastError,
    deliveredAt: row.deliveredAt?.toISOString() ?? null,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

function toAttemptView(row: AttemptRow): AttemptView {
  return {
    attempt: row.attempt,
    trigger: row.trigger as AttemptView['trigger'],
    url: row.url,
    startedAt: row.startedAt.toISOString(),
    latencyMs: row.latencyMs,
    statusCode: row.statusCode,
    succeeded: row.succeeded,
    error: row.error,
    responseSnippet: row.responseSnippet,
  };
}
