/**
 * Background jobs: pg-boss on the hub's own database (its PGlite adapter in embedded mode), so
 * there is no extra server and a job can be queued in the same transaction as the change that
 * causes it.
 *
 * Modules declare their queues with `defineQueue` (retries, backoff, dead letter) and their handlers
 * with `work`. `start()` creates the queues; handlers run only in processes whose role includes
 * `worker`. `stop()` finishes in-flight jobs within the timeout and releases (fails, for retry) the
 * ones that did not finish, so another worker picks them up at once.
 */

import type { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import type {
  GroupConcurrencyConfig,
  Db as IDatabase,
  Job,
  JobInsert,
  QueuePolicy,
  SendOptions,
  WorkOptions,
} from 'pg-boss';
import { PgBoss } from 'pg-boss';
import type { Logger } from 'pino';
import { type Database, queryRows, sqlState, type Tx } from '../db/client.ts';

/** PostgreSQL's "relation does not exist". */
const UNDEFINED_TABLE = '42P01';

/**
 * How often pg-boss's monitor passes run (expired jobs, missed heartbeats): every 15 s rather than
 * its default minute, so a job whose worker was killed is retried within heartbeat + 15 s.
 */
const SUPERVISION = { superviseIntervalSeconds: 15, monitorIntervalSeconds: 15 } as const;

export interface QueueDefinition {
  name: string;
  /** Retries after the first attempt before the job is dead-lettered. */
  retryLimit?: number;
  /** Seconds before the first retry; doubled each time with jitter when `retryBackoff`. */
  retryDelay?: number;
  retryBackoff?: boolean;
  /** Upper bound of the backoff delay, in seconds. */
  retryDelayMax?: number;
  /** How long one attempt may run before it is considered lost and retried. */
  expireInSeconds?: number;
  /** Keep failed jobs in a `<name>.dead` queue for inspection and retry. Default true. */
  deadLetter?: boolean;
  /** Keep completed jobs this long (seconds). */
  deleteAfterSeconds?: number;
  /**
   * pg-boss queue policy (fixed at creation). `short`: at most one queued job per `singletonKey`,
   * so a burst of changes to one subject queues one job.
   */
  policy?: QueuePolicy;
  /**
   * Workers send a heartbeat this often (seconds, >= 10); a job whose worker died (SIGKILL) is
   * retried once it misses its heartbeat, instead of after `expireInSeconds`.
   */
  heartbeatSeconds?: number;
}

export interface WorkerDefinition<Data> {
  /** Workers one process runs for this queue (each fetches and runs `batchSize` jobs at a time). */
  concurrency?: number;
  /**
   * Jobs a worker fetches at once (default 1). Above 1 the jobs of a batch run concurrently, each
   * completes or fails on its own as soon as it finishes (one failing does not retry the others; a
   * slow one does not hold the others' group slots), and while batches come back full the worker
   * fetches again at once instead of waiting for the polling interval: the way to drain a backlog
   * faster than one job per worker per poll.
   */
  batchSize?: number;
  pollingIntervalSeconds?: number;
  /** Limit concurrent jobs per `group.id` across all processes (per `group.tier` with a config). */
  groupConcurrency?: number | GroupConcurrencyConfig;
  /**
   * Fetch continuously (no polling delay between jobs) while more than this many jobs are ready
   * (pg-boss's cached queue stats, refreshed by the monitor). Without it each worker slot takes at
   * most one job per polling interval.
   */
  burstWhenReadyExceeds?: number;
  handler: (job: Job<Data>) => Promise<unknown>;
}

export interface EnqueueOptions extends Omit<SendOptions, 'db'> {
  /** Queue inside this open transaction: the job exists only if the transaction commits. */
  tx?: Tx;
}

export class JobQueue {
  readonly boss: PgBoss;
  readonly #database: Database;
  readonly #logger: Logger;
  readonly #queues = new Map<string, QueueDefinition>();
  readonly #workers = new Map<string, WorkerDefinition<never>>();
  #started = false;
  #runWorkers = false;
  #stopping: Promise<void> | undefined;

  constructor(database: Database, logger: Logger) {
    this.#database = database;
    this.#logger = logger.child({ component: 'jobs' });
    this.boss =
      database.kind === 'embedded' && database.pglite
        ? new PgBoss({
            db: pgBossOverPglite(database.pglite, () => database.openTransaction?.()),
            backend: 'pglite',
            schema: 'pgboss',
            useListenNotify: true,
            ...SUPERVISION,
          })
        : new PgBoss({
            connectionString: database.connectionString,
            schema: 'pgboss',
            max: 4,
            application_name: 'switchboard-jobs',
            useListenNotify: true,
            ...SUPERVISION,
          });
    this.boss.on('error', (error) => this.#logger.error({ err: error }, 'job queue error'));
    this.boss.on('warning', (warning) => this.#logger.warn({ warning }, 'job queue warning'));
  }

  /** Declares a queue. Call before `start()`. */
  defineQueue(definition: QueueDefinition): void {
    this.#queues.set(definition.name, definition);
  }

  /** Declares the handler of a queue; it runs only when this process has the worker role. */
  work<Data>(queue: string, worker: WorkerDefinition<Data>): void {
    if (!this.#queues.has(queue)) this.defineQueue({ name: queue });
    this.#workers.set(queue, worker as WorkerDefinition<never>);
    if (this.#started && this.#runWorkers) void this.#startWorker(queue, worker as WorkerDefinition<never>);
  }

  async start(options: { runWorkers: boolean }): Promise<void> {
    this.#runWorkers = options.runWorkers;
    await this.boss.start();
    for (const definition of this.#queues.values()) await this.#createQueue(definition);
    this.#started = true;
    if (options.runWorkers) {
      for (const [queue, worker] of this.#workers) await this.#startWorker(queue, worker);
    }
  }

  /**
   * Runs `queue` on a cron schedule (UTC), once per tick across all hub processes (pg-boss keeps the
   * schedule in the database). Call after `start()`; the queue must be defined.
   */
  async schedule(queue: string, cron: string, data: object = {}): Promise<void> {
    await this.boss.schedule(queue, cron, data, { tz: 'UTC' });
  }

  async send<Data extends object>(
    queue: string,
    data: Data,
    options: EnqueueOptions = {},
  ): Promise<string | null> {
    const { tx, ...sendOptions } = options;
    if (tx) {
      const client = this.#database.clientOf(tx);
      return this.boss.send(queue, data, {
        ...sendOptions,
        db: { executeSql: (text, values) => client.query(text, values) },
      });
    }
    return this.boss.send(queue, data, sendOptions);
  }

  /**
   * Jobs waiting in dead-letter queues (`<queue>.dead`) whose data names this organization
   * (`organizationId`), by queue. Jobs that exhausted their retries land there until someone retries
   * or discards them. Empty before the queue's tables exist.
   */
  async deadLetterCounts(organizationId: string): Promise<Array<{ queue: string; count: number }>> {
    try {
      const rows = await queryRows<{ queue: string; count: number }>(
        this.#database.db,
        sql`select name as queue, count(*)::int as count
            from pgboss.job
            where name like '%.dead' and state in ('created', 'retry', 'active')
              and data ->> 'organizationId' = ${organizationId}
            group by name
            order by name`,
      );
      return rows.map((row) => ({ queue: row.queue.replace(/\.dead$/, ''), count: Number(row.count) }));
    } catch (error) {
      if (sqlState(error) === UNDEFINED_TABLE) return [];
      throw error;
    }
  }

  /**
   * Queues many jobs in one statement (optionally inside `tx`, like `send`): for fan-outs, where one
   * `send` per job would cost a round trip each.
   */
  async insert<Data extends object>(
    queue: string,
    jobs: Array<Omit<JobInsert<Data>, 'data'> & { data: Data }>,
    options: { tx?: Tx } = {},
  ): Promise<void> {
    if (!jobs.length) return;
    if (options.tx) {
      const client = this.#database.clientOf(options.tx);
      await this.boss.insert(queue, jobs, {
        db: { executeSql: (text, values) => client.query(text, values) },
      });
      return;
    }
    await this.boss.insert(queue, jobs);
  }

  /** Throws when the queue's tables cannot be read. */
  async ping(): Promise<void> {
    await this.boss.getQueues();
  }

  /**
   * Stops fetching jobs at once, on every queue, and resolves when the handlers running now have
   * finished. The queue still accepts jobs (`send`, `insert`): requests still being answered may
   * queue work for other processes. Shutdown calls it first thing on SIGTERM.
   */
  stopFetching(): Promise<void> {
    this.#stopping ??= (async () => {
      this.#runWorkers = false;
      if (!this.#started) return;
      await Promise.allSettled(
        [...this.#workers.keys()].map((queue) => this.boss.offWork(queue, { wait: true })),
      );
    })();
    return this.#stopping;
  }

  /**
   * Stops the queue: waits up to `timeoutMs` for running handlers, then releases (fails, for retry
   * by another worker at once) the jobs still running, and closes pg-boss's connections.
   */
  async stop(timeoutMs: number): Promise<void> {
    if (!this.#started) return;
    this.#started = false;
    if (timeoutMs <= 0) await this.boss.stop({ graceful: false, close: true });
    else await this.boss.stop({ graceful: true, timeout: Math.max(timeoutMs, 1000), close: true });
  }

  async #createQueue(definition: QueueDefinition): Promise<void> {
    const deadLetter = definition.deadLetter === false ? undefined : `${definition.name}.dead`;
    if (deadLetter && !(await this.boss.getQueue(deadLetter))) {
      await this.boss.createQueue(deadLetter, {
        retentionSeconds: 30 * 24 * 3600,
        deleteAfterSeconds: 30 * 24 * 3600,
      });
    }
    const options = {
      retryLimit: definition.retryLimit ?? 5,
      retryDelay: definition.retryDelay ?? 5,
      retryBackoff: definition.retryBackoff ?? true,
      ...(definition.retryDelayMax === undefined ? {} : { retryDelayMax: definition.retryDelayMax }),
      expireInSeconds: definition.expireInSeconds ?? 15 * 60,
      deleteAfterSeconds: definition.deleteAfterSeconds ?? 7 * 24 * 3600,
      ...(deadLetter ? { deadLetter } : {}),
      ...(definition.heartbeatSeconds ? { heartbeatSeconds: definition.heartbeatSeconds } : {}),
      notify: true,
    };
    if (await this.boss.getQueue(definition.name)) {
      const { deadLetter: _ignored, ...updatable } = options;
      await this.boss.updateQueue(definition.name, updatable);
    } else {
      await this.boss.createQueue(definition.name, {
        ...options,
        ...(definition.policy ? { policy: definition.policy } : {}),
      });
    }
  }

  async #startWorker(queue: string, worker: WorkerDefinition<never>): Promise<void> {
    const batchSize = worker.batchSize ?? 1;
    const options: WorkOptions = {
      localConcurrency: worker.concurrency ?? 2,
      batchSize,
      ...(batchSize > 1 ? { burstWhenBatchFull: true } : {}),
      pollingIntervalSeconds: worker.pollingIntervalSeconds ?? 2,
      // NOTIFY wakes workers for new jobs, but a retry or delayed job that falls due sends none:
      // poll at the same interval so retries are not held up by pg-boss's 30 s notify backstop.
      notifyPollingIntervalSeconds: worker.pollingIntervalSeconds ?? 2,
      ...(worker.groupConcurrency ? { groupConcurrency: worker.groupConcurrency } : {}),
      ...(worker.burstWhenReadyExceeds ? { burstWhenReadyExceeds: worker.burstWhenReadyExceeds } : {}),
    };
    const logger = this.#logger;
    const run = async (job: Job<never>) => {
      const started = performance.now();
      try {
        await worker.handler(job);
        logger.debug({ queue, jobId: job.id, ms: Math.round(performance.now() - started) }, 'job completed');
      } catch (error) {
        logger.warn({ queue, jobId: job.id, err: error }, 'job failed');
        throw error;
      }
    };
    if (batchSize > 1) {
      // Each job settles as soon as it finishes (pg-boss allows a handler to settle its own jobs;
      // its batch completion then skips them), so a slow job never holds its batch-mates' completion
      // nor their group's concurrency slot.
      await this.boss.work<never>(queue, options, async (jobs) => {
        await Promise.all(
          jobs.map(async (job) => {
            try {
              await run(job);
            } catch (error) {
              await this.boss.fail(queue, job.id, {
                message: error instanceof Error ? error.message : String(error),
              });
              return;
            }
            await this.boss.complete(queue, job.id);
          }),
        );
      });
      return;
    }
    await this.boss.work<never>(queue, options, async (jobs) => {
      for (const job of jobs) await run(job);
    });
  }
}

/**
 * pg-boss's database adapter for the embedded database (after pg-boss's own `fromPglite`), with one
 * difference: a statement issued while one of our transactions is open in the current async context
 * runs inside that transaction. PGlite has a single connection held exclusively by the open
 * transaction, so pg-boss's own lookups during a transactional `send` would otherwise wait forever.
 * Inside our transaction a failed statement is left for the transaction to roll back (no stray
 * ROLLBACK), and pg-boss's multi-statement BEGIN...COMMIT blocks are refused rather than allowed
 * to commit our transaction early.
 */
function pgBossOverPglite(
  pglite: PGlite,
  openTransaction: () => { query: PGlite['query']; exec: PGlite['exec'] } | undefined,
): IDatabase {
  return {
    async executeSql(text, values) {
      const tx = openTransaction();
      if (tx) {
        if (values?.length) return tx.query(text, values);
        if (/^\s*BEGIN\b/i.test(text)) {
          throw new Error('pg-boss tried to open its own transaction inside an open transaction');
        }
        const results = await tx.exec(text);
        return { rows: results.flatMap((result) => result.rows ?? []) };
      }
      try {
        if (values?.length) return await pglite.query(text, values);
        // Parameterless text may be several statements (migrations, locked blocks): exec runs them all.
        const results = await pglite.exec(text);
        return { rows: results.flatMap((result) => result.rows ?? []) };
      } catch (error) {
        // One connection: an aborted BEGIN...COMMIT block would poison every later statement.
        await pglite.query('ROLLBACK').catch(() => {});
        throw error;
      }
    },
    async listen(channel, onNotification, onReconnect) {
      const unsubscribe = await pglite.listen(channel, onNotification);
      onReconnect();
      return {
        close: async () => {
          await unsubscribe();
        },
      };
    },
  };
}

export type { Job };
