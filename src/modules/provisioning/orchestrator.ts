/**
 * The orchestrator: turns directory changes into provisioning jobs and runs them.
 *
 * - An event consumer (`provisioning.rules`) reads user and membership events from the event log
 *   and queues one sync job per person and destination concerned, in the consumer's transaction
 *   (so a crash never loses or doubles a change). Imports, HR sync, SCIM and SSO all reach it the
 *   same way: by writing the usual `user.*` / `group.*` events.
 * - A rule or destination change queues a backfill of the organization.
 * - Sync jobs (queue `provisioning.sync`, policy `short`: one queued job per person and
 *   destination) take a lease on the person's state row, compute the desired state from the rules,
 *   run a `SyncRun` against the destination and save what they saw and did.
 * - Per-destination concurrency is pg-boss group concurrency (group = destination, tier = its
 *   `concurrency`); the request rate is the connector core's shared Postgres limiter.
 * - A failed job retries with exponential backoff up to the destination's `maxAttempts`, then goes
 *   to the dead letter queue and its state is `failed` (retry by API re-queues it).
 * - Reconcile (scheduled and on demand) runs sync jobs in `verify` mode: the destination is read
 *   back and drift is restored or reported per destination policy.
 */
import type { Job } from 'pg-boss';
import { ConnectorError } from '../../connectors/http.ts';
import type { Database, Tx } from '../../platform/db/client.ts';
import { newId } from '../../platform/ids.ts';
import type { JobQueue } from '../../platform/jobs/index.ts';
import type { Logger } from '../../platform/logging.ts';
import type { DirectoryService, GroupView, UserView } from '../directory/index.ts';
import type { EventLog, EventRecord } from '../events/index.ts';
import { computeDesired, type DesiredState } from './desired-state.ts';
import type { DestinationService, LoadedDestination } from './destinations.ts';
import { PostgresGroupRegistry } from './group-registry.ts';
import {
  acquireStateLease,
  deleteState,
  destinationIdsWithState,
  dueRemovals,
  extendStateLease,
  insertAttempt,
  listAllEnabledDestinations,
  listDestinations,
  listRules,
  orphanStateUserIds,
  type RuleRow,
  saveState,
  selectState,
  statesByStatus,
  stateUserIdsOfDestination,
} from './repository.ts';
import { type AttemptRecord, parseActual, SyncFailed, SyncRun } from './sync.ts';

export const SYNC_QUEUE = 'provisioning.sync';
export const BACKFILL_QUEUE = 'provisioning.backfill';
export const RECONCILE_QUEUE = 'provisioning.reconcile';
const RECONCILE_ALL_QUEUE = 'provisioning.reconcile-all';
const CONSUMER = 'provisioning.rules';
const LEASE_SECONDS = 300;
/** Largest per-destination concurrency; tiers c1..c16 map a destination's setting onto pg-boss groups. */
const MAX_CONCURRENCY = 16;

export interface SyncJobData {
  organizationId: string;
  destinationId: string;
  userId: string;
  /** Read the destination back and repair drift (reconcile). */
  verify?: boolean;
  attemptLimit: number;
  reason: string;
}

/** Event types that can change what a person should have. */
export const TRIGGER_EVENTS = [
  'user.*',
  'group.member_added',
  'group.member_removed',
  'group.updated',
  'group.deleted',
] as const;

export class Orchestrator {
  readonly #database: Database;
  readonly #jobs: JobQueue;
  readonly #events: EventLog;
  readonly #directory: DirectoryService;
  readonly #destinations: DestinationService;
  readonly #logger: Logger;
  readonly #options: { retryDelaySeconds: number; workerConcurrency: number; reconcileCron: string };

  constructor(deps: {
    database: Database;
    jobs: JobQueue;
    events: EventLog;
    directory: DirectoryService;
    destinations: DestinationService;
    logger: Logger;
    retryDelaySeconds: number;
    workerConcurrency: number;
    reconcileCron: string;
  }) {
    this.#database = deps.database;
    this.#jobs = deps.jobs;
    this.#events = deps.events;
    this.#directory = deps.directory;
    this.#destinations = deps.destinations;
    this.#logger = deps.logger.child({ component: 'provisioning' });
    this.#options = {
      retryDelaySeconds: deps.retryDelaySeconds,
      workerConcurrency: deps.workerConcurrency,
      reconcileCron: deps.reconcileCron,
    };
  }

  /** Declares the queues and their handlers (handlers run only in worker processes). */
  registerJobs(): void {
    const jobs = this.#jobs;
    jobs.defineQueue({
      name: SYNC_QUEUE,
      policy: 'short',
      retryLimit: 5,
      retryDelay: this.#options.retryDelaySeconds,
      retryBackoff: true,
      retryDelayMax: 600,
      expireInSeconds: 15 * 60,
      heartbeatSeconds: 10,
    });
    jobs.work<SyncJobData>(SYNC_QUEUE, {
      concurrency: this.#options.workerConcurrency,
      pollingIntervalSeconds: 0.5,
      // A backfill queues thousands of jobs: while they wait, take the next one without a pause.
      burstWhenReadyExceeds: 1,
      groupConcurrency: {
        default: 4,
        tiers: Object.fromEntries(
          Array.from({ length: MAX_CONCURRENCY }, (_, index) => [`c${index + 1}`, index + 1]),
        ),
      },
      handler: (job) => this.runSyncJob(job),
    });
    jobs.defineQueue({ name: BACKFILL_QUEUE, retryLimit: 5, retryDelay: 5, expireInSeconds: 30 * 60 });
    jobs.work<{ organizationId: string; destinationId?: string; verify?: boolean; reason: string }>(
      BACKFILL_QUEUE,
      { concurrency: 1, handler: (job) => this.backfill(job.data) },
    );
    jobs.defineQueue({ name: RECONCILE_ALL_QUEUE, retryLimit: 2, deadLetter: false });
    jobs.work(RECONCILE_ALL_QUEUE, { concurrency: 1, handler: () => this.reconcileAll() });
  }

  /** Worker loop: the event consumer and the reconcile schedule. */
  async start(): Promise<() => Promise<void>> {
    if (this.#options.reconcileCron) {
      await this.#jobs.schedule(RECONCILE_ALL_QUEUE, this.#options.reconcileCron);
    } else {
      // Reconcile only on demand: drop a schedule an earlier configuration left in the database.
      await this.#jobs.boss.unschedule(RECONCILE_ALL_QUEUE);
    }
    return this.#events.startConsumer(CONSUMER, (tx, events) => this.#onEvents(tx, events), {
      types: TRIGGER_EVENTS,
      pollIntervalMs: 1000,
    });
  }

  /** Queues a backfill of the organization (optionally one destination) in the caller's transaction. */
  async queueBackfill(
    tx: Tx | undefined,
    organizationId: string,
    reason: string,
    options: { destinationId?: string; verify?: boolean } = {},
  ): Promise<void> {
    await this.#jobs.send(BACKFILL_QUEUE, { organizationId, reason, ...options }, tx ? { tx } : {});
  }

  /** Queues sync jobs for one person in the given destinations. */
  async queueSync(
    tx: Tx | undefined,
    items: Array<{ destination: LoadedDestination; userId: string }>,
    options: { verify?: boolean; reason: string; startAfter?: Date },
  ): Promise<void> {
    const jobs = items.map(({ destination, userId }) => {
      const concurrency = Math.min(MAX_CONCURRENCY, Math.max(1, destination.row.concurrency));
      const data: SyncJobData = {
        organizationId: destination.row.organizationId,
        destinationId: destination.row.id,
        userId,
        attemptLimit: destination.row.maxAttempts,
        reason: options.reason,
        ...(options.verify ? { verify: true } : {}),
      };
      return {
        data,
        // One queued job per person and destination: a burst of changes queues one sync.
        // Deferred jobs (a grace period's end, a busy row) are keyed by their time: a later, shorter
        // grace period must not be swallowed by an earlier, longer one still waiting.
        singletonKey: `${destination.row.id}:${userId}${options.verify ? ':verify' : ''}${options.startAfter ? `:at:${options.startAfter.getTime()}` : ''}`,
        retryLimit: Math.max(0, destination.row.maxAttempts - 1),
        group: { id: destination.row.id, tier: `c${concurrency}` },
        ...(options.startAfter ? { startAfter: options.startAfter } : {}),
      };
    });
    for (let index = 0; index < jobs.length; index += 500) {
      await this.#jobs.insert(SYNC_QUEUE, jobs.slice(index, index + 500), tx ? { tx } : {});
    }
  }

  /** Destinations a person may concern: named by an enabled rule, or already holding their state. */
  async destinationsFor(
    organizationId: string,
    userIds: readonly string[],
    executor: Tx | undefined,
  ): Promise<Array<{ destination: LoadedDestination; userId: string }>> {
    const db = executor ?? this.#database.db;
    const rules = await listRules(db, organizationId);
    const destinations = (await listDestinations(db, organizationId)).filter((row) => row.enabled);
    const named = new Set(
      rules
        .filter((rule) => rule.enabled)
        .flatMap((rule) => rule.effects.map((effect) => String(effect.destinationId))),
    );
    const items: Array<{ destination: LoadedDestination; userId: string }> = [];
    for (const userId of userIds) {
      const withState = new Set(await destinationIdsWithState(db, organizationId, userId));
      for (const row of destinations) {
        if (!named.has(row.id) && !withState.has(row.id)) continue;
        const destination = await this.#destinations.loadById(organizationId, row.id);
        if (destination) items.push({ destination, userId });
      }
    }
    return items;
  }

  async #onEvents(tx: Tx, events: readonly EventRecord[]): Promise<void> {
    const users = new Map<string, Set<string>>();
    const backfills = new Set<string>();
    for (const event of events) {
      if (!event.organizationId) continue;
      if (event.type === 'group.updated' || event.type === 'group.deleted') {
        backfills.add(event.organizationId);
        continue;
      }
      const userId = event.type.startsWith('user.')
        ? event.subject.id
        : (event.data.userId as string | undefined);
      if (!userId) continue;
      const set = users.get(event.organizationId) ?? new Set<string>();
      set.add(userId);
      users.set(event.organizationId, set);
    }
    for (const organizationId of backfills) await this.queueBackfill(tx, organizationId, 'group changed');
    for (const [organizationId, ids] of users) {
      const items = await this.destinationsFor(organizationId, [...ids], tx);
      await this.queueSync(tx, items, { reason: 'directory change' });
    }
  }

  /** Queues a sync of every person of the organization (a rule changed, reconcile). */
  async backfill(data: { organizationId: string; destinationId?: string; verify?: boolean; reason: string }) {
    const { organizationId } = data;
    const destinations = (await listDestinations(this.#database.db, organizationId)).filter(
      (row) => row.enabled && (!data.destinationId || row.id === data.destinationId),
    );
    if (!destinations.length) return { queued: 0 };
    const rules = await listRules(this.#database.db, organizationId);
    const named = new Set(
      rules
        .filter((rule) => rule.enabled)
        .flatMap((rule) => rule.effects.map((effect) => String(effect.destinationId))),
    );
    let queued = 0;
    for (const row of destinations) {
      const destination = await this.#destinations.loadById(organizationId, row.id);
      if (!destination) continue;
      const userIds = new Set<string>();
      // Everyone with state there (they may have to lose it), and, when a rule names it, everyone.
      for (let after: string | undefined; ; ) {
        const ids = await stateUserIdsOfDestination(this.#database.db, organizationId, row.id, after, 1000);
        for (const id of ids) userIds.add(id);
        if (ids.length < 1000) break;
        after = ids.at(-1);
      }
      if (named.has(row.id)) {
        for (let after: string | undefined; ; ) {
          const page = await this.#directory.listUsers(organizationId, {
            limit: 200,
            ...(after ? { after } : {}),
          });
          for (const user of page.data) userIds.add(user.id);
          if (!page.nextCursor) break;
          after = page.nextCursor;
        }
      }
      for (const id of await orphanStateUserIds(this.#database.db, organizationId, row.id)) userIds.add(id);
      const items = [...userIds].map((userId) => ({ destination, userId }));
      await this.queueSync(undefined, items, {
        reason: data.reason,
        ...(data.verify ? { verify: true } : {}),
      });
      queued += items.length;
    }
    this.#logger.info({ organizationId, queued, reason: data.reason }, 'provisioning backfill queued');
    return { queued };
  }

  /** Periodic: reconcile every enabled destination, and catch removals whose grace has ended. */
  async reconcileAll(): Promise<void> {
    for (const row of await listAllEnabledDestinations(this.#database.db)) {
      await this.queueBackfill(undefined, row.organizationId, 'scheduled reconcile', {
        destinationId: row.id,
        verify: true,
      });
    }
    const due = await dueRemovals(this.#database.db, 5000);
    for (const item of due) {
      const destination = await this.#destinations.loadById(item.organizationId, item.destinationId);
      if (destination)
        await this.queueSync(undefined, [{ destination, userId: item.userId }], { reason: 'grace ended' });
    }
  }

  /** Re-queues failed (and dead-lettered) work of a destination or a person. */
  async retryFailed(
    organizationId: string,
    filter: { destinationId?: string; userId?: string },
  ): Promise<number> {
    const rows = await statesByStatus(this.#database.db, organizationId, ['failed', 'retrying'], filter);
    const items = [];
    for (const row of rows) {
      const destination = await this.#destinations.loadById(organizationId, row.destinationId);
      if (destination) items.push({ destination, userId: row.userId });
    }
    await this.queueSync(undefined, items, { reason: 'retry requested' });
    return items.length;
  }

  /** The handler of `provisioning.sync`. */
  async runSyncJob(job: Job<SyncJobData>): Promise<void> {
    const data = job.data;
    const key = {
      organizationId: data.organizationId,
      destinationId: data.destinationId,
      userId: data.userId,
    };
    const destination = await this.#destinations.loadById(data.organizationId, data.destinationId);
    if (!destination?.row.enabled) return;
    const person = await this.#person(data.organizationId, data.userId);
    const rules = await listRules(this.#database.db, data.organizationId);
    const desired = computeDesired(person?.user ?? null, person?.groups ?? [], rules, data.destinationId);
    const existing = await selectState(
      this.#database.db,
      data.organizationId,
      data.destinationId,
      data.userId,
    );
    // Nothing wanted and nothing ever made: no row, no call.
    if (!existing && !desired.account) return;
    const lease = await acquireStateLease(this.#database.db, key, job.id, LEASE_SECONDS);
    if (!lease) {
      // Another job is working on this person here right now: come back when it is done.
      await this.queueSync(undefined, [{ destination, userId: data.userId }], {
        reason: data.reason,
        ...(data.verify ? { verify: true } : {}),
        startAfter: new Date(Date.now() + 2000),
      });
      return;
    }
    const actual = parseActual(lease.actual);
    let leaseRenewedAt = Date.now();
    if (!desired.account && actual.account === 'absent' && !lease.removalAfter) {
      await deleteState(this.#database.db, key);
      return;
    }
    // Reported as `durationMs` on provisioning events (the overview's provisioning latency).
    const startedAt = Date.now();
    const run = new SyncRun({
      actual,
      policy: destination.policy,
      connector: (observe) => this.#destinations.connectorFor(destination, { observe }),
      groups: new PostgresGroupRegistry(
        this.#database,
        { organizationId: data.organizationId, destinationId: data.destinationId },
        job.id,
      ),
      record: async (attempt) => {
        await this.#recordAttempt(job.id, key, attempt);
        // A long run (a destination pausing us after a 429) keeps its lease; one statement a minute.
        if (Date.now() - leaseRenewedAt > 60_000) {
          await extendStateLease(this.#database.db, key, job.id, LEASE_SECONDS);
          leaseRenewedAt = Date.now();
        }
      },
    });
    try {
      const outcome = await run.execute(desired, {
        verify: Boolean(data.verify),
        removalAfter: lease.removalAfter,
      });
      const reported = outcome.drift.filter((item) => item.action === 'reported');
      await this.#database.transaction(async (tx) => {
        await saveState(
          tx,
          key,
          job.id,
          {
            desired: desiredRecord(desired),
            actual: run.actual as unknown as Record<string, unknown>,
            remoteId: run.actual.remoteId,
            status: outcome.removalAfter ? 'grace' : reported.length ? 'drift' : 'synced',
            removalAfter: outcome.removalAfter,
            drift: outcome.drift.length ? (outcome.drift as unknown as Array<Record<string, unknown>>) : null,
            lastError: outcome.unsupported.length ? outcome.unsupported.join('; ') : null,
            syncedAt: new Date(),
          },
          { release: true },
        );
        if (outcome.operations.length || outcome.drift.length) {
          await this.#events.append(tx, {
            organizationId: data.organizationId,
            type: 'provisioning.succeeded',
            actor: { type: 'system', name: 'provisioning' },
            subjectType: 'user',
            subjectId: data.userId,
            data: {
              destinationId: data.destinationId,
              durationMs: Date.now() - startedAt,
              operations: outcome.operations,
              ...(outcome.drift.length ? { drift: outcome.drift } : {}),
              ...(outcome.unsupported.length ? { unsupported: outcome.unsupported } : {}),
            },
          });
        }
        if (outcome.removalAfter) {
          await this.queueSync(tx, [{ destination, userId: data.userId }], {
            reason: 'grace ended',
            startAfter: outcome.removalAfter,
          });
        }
      });
    } catch (error) {
      const retryable =
        error instanceof SyncFailed ? error.retryable : !(error instanceof ConnectorError) || error.retryable;
      const final = !retryable || job.retryCount + 1 >= data.attemptLimit;
      const failed = error instanceof SyncFailed ? error : undefined;
      await this.#database.transaction(async (tx) => {
        await saveState(
          tx,
          key,
          job.id,
          {
            desired: desiredRecord(desired),
            actual: run.actual as unknown as Record<string, unknown>,
            remoteId: run.actual.remoteId,
            status: final ? 'failed' : 'retrying',
            lastError: (error as Error).message,
          },
          { release: true },
        );
        if (final) {
          await this.#events.append(tx, {
            organizationId: data.organizationId,
            type: 'provisioning.failed',
            actor: { type: 'system', name: 'provisioning' },
            subjectType: 'user',
            subjectId: data.userId,
            data: {
              destinationId: data.destinationId,
              durationMs: Date.now() - startedAt,
              error: (error as Error).message,
              ...(failed
                ? {
                    // Every step that failed, and what was done all the same.
                    failures: failed.failures.map(({ retryable: _, ...failure }) => failure),
                    operations: failed.operations,
                  }
                : {}),
              attempts: job.retryCount + 1,
              retryable,
            },
          });
        }
      });
      // A refusal (bad input, bad credentials) will not get better by itself: recorded, not retried.
      if (retryable) throw error;
    }
  }

  async #person(
    organizationId: string,
    userId: string,
  ): Promise<{ user: UserView; groups: GroupView[] } | null> {
    const user = await this.#directory.getUser(userId).catch(() => null);
    if (!user || user.organizationId !== organizationId) return null;
    return { user, groups: await this.#directory.listUserGroups(user.id) };
  }

  async #recordAttempt(
    jobId: string,
    key: { organizationId: string; destinationId: string; userId: string },
    attempt: AttemptRecord,
  ): Promise<void> {
    await insertAttempt(this.#database.db, {
      ...key,
      id: newId('provisioningAttempt'),
      jobId,
      operation: attempt.operation,
      request: {
        ...(attempt.target ? { target: attempt.target } : {}),
        exchanges: attempt.exchanges,
      },
      outcome: attempt.outcome,
      httpStatus: attempt.httpStatus,
      latencyMs: attempt.latencyMs,
      error: attempt.error,
    });
  }
}

function desiredRecord(desired: DesiredState): Record<string, unknown> {
  return {
    account: desired.account,
    enrollments: desired.enrollments,
    groups: desired.groups,
    rules: desired.rules,
    ...(desired.profile ? { email: desired.profile.email } : {}),
  };
}

export type { RuleRow };
