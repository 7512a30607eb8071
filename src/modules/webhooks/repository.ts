/** All SQL of event webhooks. */
import { and, asc, desc, eq, gt, isNull, lt, lte, or, sql } from 'drizzle-orm';
import type { Executor } from '../../platform/db/client.ts';
import { webhookAttempts, webhookDeliveries, webhookSubscriptions } from './schema.ts';

export type SubscriptionRow = typeof webhookSubscriptions.$inferSelect;
export type DeliveryRow = typeof webhookDeliveries.$inferSelect;
export type AttemptRow = typeof webhookAttempts.$inferSelect;
export type NewDeliveryRow = typeof webhookDeliveries.$inferInsert;

// Subscriptions

export async function insertSubscription(
  executor: Executor,
  row: typeof webhookSubscriptions.$inferInsert,
): Promise<SubscriptionRow> {
  const [inserted] = await executor.insert(webhookSubscriptions).values(row).returning();
  return inserted as SubscriptionRow;
}

export async function findSubscription(
  executor: Executor,
  id: string,
  options: { lock?: boolean } = {},
): Promise<SubscriptionRow | undefined> {
  const query = executor.select().from(webhookSubscriptions).where(eq(webhookSubscriptions.id, id)).limit(1);
  const [row] = options.lock ? await query.for('update') : await query;
  return row;
}

export async function listSubscriptions(
  executor: Executor,
  filter: { organizationId?: string | null; after?: string; limit: number },
): Promise<SubscriptionRow[]> {
  return executor
    .select()
    .from(webhookSubscriptions)
    .where(
      and(
        filter.organizationId === undefined
          ? undefined
          : filter.organizationId === null
            ? isNull(webhookSubscriptions.organizationId)
            : eq(webhookSubscriptions.organizationId, filter.organizationId),
        filter.after ? gt(webhookSubscriptions.id, filter.after) : undefined,
      ),
    )
    .orderBy(asc(webhookSubscriptions.id))
    .limit(filter.limit + 1);
}

/**
 * The subscriptions events fan out to, locked `for key share` until the fan-out commits: a
 * subscription deleted meanwhile waits for it (and then takes the new deliveries with it) instead of
 * failing the batch's inserts; ordinary updates of the rows are not blocked.
 */
export async function listEnabledSubscriptions(executor: Executor): Promise<SubscriptionRow[]> {
  return executor
    .select()
    .from(webhookSubscriptions)
    .where(eq(webhookSubscriptions.enabled, true))
    .orderBy(asc(webhookSubscriptions.id))
    .for('key share');
}

/** Locks a subscription row `for update` (conflicts with the fan-out's `for key share`). */
export async function lockSubscriptionForUpdate(executor: Executor, id: string): Promise<void> {
  await executor
    .select({ id: webhookSubscriptions.id })
    .from(webhookSubscriptions)
    .where(eq(webhookSubscriptions.id, id))
    .for('update');
}

export async function updateSubscriptionRow(
  executor: Executor,
  id: string,
  changes: Partial<SubscriptionRow>,
): Promise<SubscriptionRow> {
  const [row] = await executor
    .update(webhookSubscriptions)
    .set({ ...changes, version: sql`${webhookSubscriptions.version} + 1`, updatedAt: new Date() })
    .where(eq(webhookSubscriptions.id, id))
    .returning();
  return row as SubscriptionRow;
}

export async function deleteSubscriptionRow(executor: Executor, id: string): Promise<void> {
  await executor.delete(webhookSubscriptions).where(eq(webhookSubscriptions.id, id));
}

/**
 * Records the outcome of an attempt on the subscription: a success resets the failure count, a
 * failure increments it. Returns the row after the change.
 */
export async function recordSubscriptionOutcome(
  executor: Executor,
  id: string,
  succeeded: boolean,
  at: Date,
): Promise<SubscriptionRow | undefined> {
  const [row] = await executor
    .update(webhookSubscriptions)
    .set(
      succeeded
        ? { consecutiveFailures: 0, lastSuccessAt: at }
        : { consecutiveFailures: sql`${webhookSubscriptions.consecutiveFailures} + 1`, lastFailureAt: at },
    )
    .where(
      and(
        eq(webhookSubscriptions.id, id),
        // A success on a healthy subscription changes nothing that matters but the timestamp: write it
        // at most once a second, so concurrent deliveries do not queue on this row's lock.
        succeeded
          ? sql`(${webhookSubscriptions.consecutiveFailures} > 0 or ${webhookSubscriptions.probeDeliveryId} is not null or ${webhookSubscriptions.lastSuccessAt} is null or ${webhookSubscriptions.lastSuccessAt} < ${at.toISOString()}::timestamptz - interval '1 second')`
          : undefined,
      ),
    )
    .returning();
  return row ?? (succeeded ? await findSubscription(executor, id) : undefined);
}

// Deliveries

/** Inserts deliveries that do not exist yet (one per subscription and event); returns the new ones. */
export async function insertDeliveries(
  executor: Executor,
  rows: readonly NewDeliveryRow[],
): Promise<Array<{ id: string; subscriptionId: string; status: string }>> {
  if (rows.length === 0) return [];
  return executor
    .insert(webhookDeliveries)
    .values([...rows])
    .onConflictDoNothing({ target: [webhookDeliveries.subscriptionId, webhookDeliveries.eventId] })
    .returning({
      id: webhookDeliveries.id,
      subscriptionId: webhookDeliveries.subscriptionId,
      status: webhookDeliveries.status,
    });
}

/** Deliveries of each subscription that hold a slot of its window (a job queued, or in flight). */
export async function countInWindow(
  executor: Executor,
  subscriptionIds: readonly string[],
): Promise<Map<string, number>> {
  if (subscriptionIds.length === 0) return new Map();
  const rows = await executor
    .select({ subscriptionId: webhookDeliveries.subscriptionId, n: sql<number>`count(*)::int` })
    .from(webhookDeliveries)
    .where(
      and(
        sql`${webhookDeliveries.subscriptionId} in (${sql.join(
          subscriptionIds.map((id) => sql`${id}`),
          sql`, `,
        )})`,
        sql`${webhookDeliveries.status} in ('pending', 'sending')`,
      ),
    )
    .groupBy(webhookDeliveries.subscriptionId);
  return new Map(rows.map((row) => [row.subscriptionId, Number(row.n)]));
}

/** Gives the `count` oldest queued deliveries of a subscription a slot: `pending`, for a job. */
export async function promoteQueued(
  executor: Executor,
  subscriptionId: string,
  count: number,
): Promise<Array<{ id: string; subscriptionId: string }>> {
  if (count <= 0) return [];
  const oldest = executor
    .select({ id: webhookDeliveries.id })
    .from(webhookDeliveries)
    .where(and(eq(webhookDeliveries.subscriptionId, subscriptionId), eq(webhookDeliveries.status, 'queued')))
    .orderBy(asc(webhookDeliveries.id))
    .limit(count)
    .for('update', { skipLocked: true });
  return executor
    .update(webhookDeliveries)
    .set({ status: 'pending', nextAttemptAt: sql`now()`, updatedAt: sql`now()` })
    .where(sql`${webhookDeliveries.id} in (${oldest})`)
    .returning({ id: webhookDeliveries.id, subscriptionId: webhookDeliveries.subscriptionId });
}

/**
 * Queues deliveries again for a replay: new ones are inserted, existing ones start a new round
 * (unless an attempt is in flight right now). Returns the ids queued.
 */
export async function upsertReplayDeliveries(
  executor: Executor,
  rows: readonly NewDeliveryRow[],
): Promise<string[]> {
  if (rows.length === 0) return [];
  const queued = await executor
    .insert(webhookDeliveries)
    .values([...rows])
    .onConflictDoUpdate({
      target: [webhookDeliveries.subscriptionId, webhookDeliveries.eventId],
      set: {
        status: 'queued',
        trigger: 'replay',
        roundAttempts: 0,
        nextAttemptAt: sql`now()`,
        claimedUntil: null,
        updatedAt: sql`now()`,
      },
      setWhere: sql`${webhookDeliveries.status} <> 'sending' or ${webhookDeliveries.claimedUntil} < now()`,
    })
    .returning({ id: webhookDeliveries.id });
  return queued.map((row) => row.id);
}

/** Starts a new round for one delivery (redeliver); undefined when an attempt is in flight. */
export async function requeueDelivery(
  executor: Executor,
  id: string,
  trigger: 'redeliver' | 'replay',
): Promise<DeliveryRow | undefined> {
  const [row] = await executor
    .update(webhookDeliveries)
    .set({
      status: 'pending',
      trigger,
      roundAttempts: 0,
      nextAttemptAt: sql`now()`,
      claimedUntil: null,
      updatedAt: sql`now()`,
    })
    .where(
      and(
        eq(webhookDeliveries.id, id),
        or(sql`${webhookDeliveries.status} <> 'sending'`, lt(webhookDeliveries.claimedUntil, sql`now()`)),
      ),
    )
    .returning();
  return row;
}

/**
 * Claims a delivery for one attempt, holding one of its subscription's `limit` slots for `leaseMs`:
 * only when it is waiting (pending, retrying) or its previous claim lapsed (the worker died
 * mid-attempt), and only while fewer than `limit` other claims of the subscription are live. Two
 * workers never attempt the same delivery at once, and no transaction stays open during the HTTP
 * call.
 *
 * The count and the claim must be one atomic step across processes: two workers counting at once
 * would both see a free slot. Locking the subscription row (`for no key update`, which the fan-out's
 * `for key share` does not wait for) serializes the claims of one subscription; claims of different
 * subscriptions do not wait for each other. A slot is a lease, not a counter: a worker that dies
 * (SIGKILL) holds its slots only until their claims lapse.
 *
 * Run it in a transaction. Returns `busy` when every slot is taken (and the delivery is waiting).
 */
export async function claimDelivery(
  tx: Executor,
  id: string,
  options: { leaseMs: number; limit: number },
): Promise<DeliveryRow | { busy: true; subscriptionId: string } | undefined> {
  const [target] = await tx
    .select({ subscriptionId: webhookDeliveries.subscriptionId })
    .from(webhookDeliveries)
    .where(eq(webhookDeliveries.id, id))
    .limit(1);
  if (!target) return undefined;
  await tx
    .select({ id: webhookSubscriptions.id })
    .from(webhookSubscriptions)
    .where(eq(webhookSubscriptions.id, target.subscriptionId))
    .for('no key update');
  const [live] = await tx
    .select({ n: sql<number>`count(*)::int` })
    .from(webhookDeliveries)
    .where(
      and(
        eq(webhookDeliveries.subscriptionId, target.subscriptionId),
        eq(webhookDeliveries.status, 'sending'),
        sql`${webhookDeliveries.claimedUntil} >= now()`,
        sql`${webhookDeliveries.id} <> ${id}`,
      ),
    );
  const claimable = or(
    sql`${webhookDeliveries.status} in ('pending', 'retrying')`,
    and(eq(webhookDeliveries.status, 'sending'), lt(webhookDeliveries.claimedUntil, sql`now()`)),
  );
  if (Number(live?.n ?? 0) >= options.limit) {
    const [waiting] = await tx
      .select({ id: webhookDeliveries.id })
      .from(webhookDeliveries)
      .where(and(eq(webhookDeliveries.id, id), claimable));
    return waiting ? { busy: true, subscriptionId: target.subscriptionId } : undefined;
  }
  const [row] = await tx
    .update(webhookDeliveries)
    .set({
      status: 'sending',
      claimedUntil: sql`now() + make_interval(secs => ${options.leaseMs / 1000})`,
      updatedAt: sql`now()`,
    })
    .where(and(eq(webhookDeliveries.id, id), claimable))
    .returning();
  return row;
}

export async function finishDelivery(
  executor: Executor,
  id: string,
  changes: Partial<DeliveryRow>,
): Promise<void> {
  await executor
    .update(webhookDeliveries)
    .set({ ...changes, claimedUntil: null, updatedAt: new Date() })
    .where(eq(webhookDeliveries.id, id));
}

export async function findDelivery(
  executor: Executor,
  subscriptionId: string,
  id: string,
): Promise<DeliveryRow | undefined> {
  const [row] = await executor
    .select()
    .from(webhookDeliveries)
    .where(and(eq(webhookDeliveries.subscriptionId, subscriptionId), eq(webhookDeliveries.id, id)))
    .limit(1);
  return row;
}

/** A subscription's deliveries, newest first. */
export async function listDeliveries(
  executor: Executor,
  filter: { subscriptionId: string; status?: string; eventType?: string; after?: string; limit: number },
): Promise<DeliveryRow[]> {
  return executor
    .select()
    .from(webhookDeliveries)
    .where(
      and(
        eq(webhookDeliveries.subscriptionId, filter.subscriptionId),
        filter.status ? eq(webhookDeliveries.status, filter.status) : undefined,
        filter.eventType ? eq(webhookDeliveries.eventType, filter.eventType) : undefined,
        filter.after ? lt(webhookDeliveries.id, filter.after) : undefined,
      ),
    )
    .orderBy(desc(webhookDeliveries.id))
    .limit(filter.limit + 1);
}

/** Deletes deliveries (and, by cascade, their attempts) created before `before`. */
export async function deleteDeliveriesBefore(executor: Executor, before: Date): Promise<number> {
  const rows = await executor
    .delete(webhookDeliveries)
    .where(lte(webhookDeliveries.createdAt, before))
    .returning({ id: webhookDeliveries.id });
  return rows.length;
}

// Attempts

export async function insertAttempt(
  executor: Executor,
  row: typeof webhookAttempts.$inferInsert,
): Promise<void> {
  await executor.insert(webhookAttempts).values(row);
}

export async function listAttempts(executor: Executor, deliveryId: string): Promise<AttemptRow[]> {
  return executor
    .select()
    .from(webhookAttempts)
    .where(eq(webhookAttempts.deliveryId, deliveryId))
    .orderBy(asc(webhookAttempts.id));
}

/**
 * Puts deliveries whose attempt's claim lapsed (the worker died mid-attempt) back to `retrying`;
 * returns them so the caller queues a job for each in the same transaction.
 */
export async function resumeLapsedClaims(
  executor: Executor,
  limit: number,
): Promise<Array<{ id: string; subscriptionId: string }>> {
  const lapsed = executor
    .select({ id: webhookDeliveries.id })
    .from(webhookDeliveries)
    .where(and(eq(webhookDeliveries.status, 'sending'), lt(webhookDeliveries.claimedUntil, sql`now()`)))
    .limit(limit)
    .for('update', { skipLocked: true });
  return executor
    .update(webhookDeliveries)
    .set({ status: 'retrying', claimedUntil: null, nextAttemptAt: sql`now()`, updatedAt: sql`now()` })
    .where(sql`${webhookDeliveries.id} in (${lapsed})`)
    .returning({ id: webhookDeliveries.id, subscriptionId: webhookDeliveries.subscriptionId });
}

// Holding deliveries while a receiver is down

/**
 * Makes `deliveryId` the subscription's probe, unless another delivery already is. Returns whether
 * it is the probe now.
 */
export async function claimProbeSlot(
  executor: Executor,
  subscriptionId: string,
  deliveryId: string,
): Promise<boolean> {
  const rows = await executor
    .update(webhookSubscriptions)
    .set({ probeDeliveryId: deliveryId })
    .where(
      and(
        eq(webhookSubscriptions.id, subscriptionId),
        or(
          isNull(webhookSubscriptions.probeDeliveryId),
          eq(webhookSubscriptions.probeDeliveryId, deliveryId),
        ),
      ),
    )
    .returning({ id: webhookSubscriptions.id });
  return rows.length > 0;
}

/** Frees the probe slot (if `deliveryId` holds it, or whoever does when omitted). */
export async function releaseProbeSlot(
  executor: Executor,
  subscriptionId: string,
  deliveryId?: string,
): Promise<void> {
  await executor
    .update(webhookSubscriptions)
    .set({ probeDeliveryId: null })
    .where(
      and(
        eq(webhookSubscriptions.id, subscriptionId),
        deliveryId ? eq(webhookSubscriptions.probeDeliveryId, deliveryId) : undefined,
      ),
    );
}

/** The oldest waiting (held or queued) delivery of a subscription, made the next probe: `retrying` at `at`. */
export async function promoteOldestHeld(
  executor: Executor,
  subscriptionId: string,
  at: Date,
): Promise<{ id: string } | undefined> {
  const oldest = executor
    .select({ id: webhookDeliveries.id })
    .from(webhookDeliveries)
    .where(
      and(
        eq(webhookDeliveries.subscriptionId, subscriptionId),
        sql`${webhookDeliveries.status} in ('held', 'queued')`,
      ),
    )
    .orderBy(asc(webhookDeliveries.id))
    .limit(1)
    .for('update', { skipLocked: true });
  const [row] = await executor
    .update(webhookDeliveries)
    .set({ status: 'retrying', nextAttemptAt: at, roundAttempts: 0, updatedAt: sql`now()` })
    .where(sql`${webhookDeliveries.id} in (${oldest})`)
    .returning({ id: webhookDeliveries.id });
  return row;
}

/**
 * Moves the waiting deliveries of a subscription: held ones to `queued` when the receiver is back;
 * held and queued ones (which have no job) to `skipped` when the subscription is disabled.
 */
export async function settleHeld(
  executor: Executor,
  subscriptionId: string,
  status: 'queued' | 'skipped',
): Promise<number> {
  const rows = await executor
    .update(webhookDeliveries)
    .set({
      status,
      nextAttemptAt: null,
      ...(status === 'skipped' ? { lastError: 'the webhook is disabled' } : {}),
      updatedAt: sql`now()`,
    })
    .where(
      and(
        eq(webhookDeliveries.subscriptionId, subscriptionId),
        status === 'queued'
          ? eq(webhookDeliveries.status, 'held')
          : sql`${webhookDeliveries.status} in ('held', 'queued')`,
      ),
    )
    .returning({ id: webhookDeliveries.id });
  return rows.length;
}

/** Subscriptions that have deliveries in this status (held or queued: partial indexes). */
export async function listSubscriptionsWith(
  executor: Executor,
  status: 'held' | 'queued',
): Promise<string[]> {
  const rows = await executor
    .selectDistinct({ subscriptionId: webhookDeliveries.subscriptionId })
    .from(webhookDeliveries)
    .where(eq(webhookDeliveries.status, status));
  return rows.map((row) => row.subscriptionId);
}

/** Whether a delivery still has an attempt coming (pending, retrying or in flight). */
export async function isWaiting(executor: Executor, deliveryId: string): Promise<boolean> {
  const [row] = await executor
    .select({ status: webhookDeliveries.status })
    .from(webhookDeliveries)
    .where(eq(webhookDeliveries.id, deliveryId))
    .limit(1);
  return row ? ['pending', 'retrying', 'sending'].includes(row.status) : false;
}
