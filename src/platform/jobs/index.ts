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
import type { Db as IDatabase, Job, SendOptions, WorkOptions } from 'pg-boss';
import { PgBoss } from 'pg-boss';
import type { Logger } from 'pino';
import { type Database, queryRows, sqlState, type Tx } from '../db/client.ts';

/** PostgreSQL's "relation does not exist". */
const UNDEFINED_TABLE = '42P01';

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
}

export interface WorkerDefinition<Data> {
  /** Jobs one process runs at once from this queue. */
  concurrency?: number;
  batchSize?: number;
  pollingIntervalSeconds?: number;
  /** Limit concurrent jobs per `group.id` across all processes. */
  groupConcurrency?: number;
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
          })
        : new PgBoss({
            connectionString: database.connectionString,
            schema: 'pgboss',
            max: 4,
            application_name: 'switchboard-jobs',
            useListenNotify: true,
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

  /** Throws when the queue's tables cannot be read. */
  async ping(): Promise<void> {
    await this.boss.getQueues();
  }

  async stop(timeoutMs: number): Promise<void> {
    if (!this.#started) return;
    this.#started = false;
    await this.boss.stop({ graceful: true, timeout: Math.max(timeoutMs, 1000), close: true });
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
      notify: true,
    };
    if (await this.boss.getQueue(definition.name)) {
      const { deadLetter: _ignored, ...updatable } = options;
      await this.boss.updateQueue(definition.name, updatable);
    } else {
      await this.boss.createQueue(definition.name, options);
    }
  }

  async #startWorker(queue: string, worker: WorkerDefinition<never>): Promise<void> {
    const options: WorkOptions = {
      localConcurrency: worker.concurrency ?? 2,
      batchSize: 1,
      pollingIntervalSeconds: worker.pollingIntervalSeconds ?? 2,
      // NOTIFY wakes workers for new jobs, but a retry or delayed job that falls due sends none:
      // poll at the same interval so retries are not held up by pg-boss's 30 s notify backstop.
      notifyPollingIntervalSeconds: worker.pollingIntervalSeconds ?? 2,
      ...(worker.groupConcurrency ? { groupConcurrency: worker.groupConcurrency } : {}),
    };
    const logger = this.#logger;
    await this.boss.work<never>(queue, options, async (jobs) => {
      for (const job of jobs) {
        const started = performance.now();
        try {
          await worker.handler(job);
          logger.debug(
            { queue, jobId: job.id, ms: Math.round(performance.now() - started) },
            'job completed',
          );
        } catch (error) {
          logger.warn({ queue, jobId: job.id, err: error }, 'job failed');
          throw error;
        }
      }
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
