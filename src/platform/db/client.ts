/**
 * The database: PostgreSQL through a node-postgres pool in production, or embedded PGlite (real
 * PostgreSQL compiled to WASM) in DATA_DIR. One Drizzle API and one migration set serve both.
 *
 * Transactions always go through the driver's transaction API (`Database.transaction`). PGlite has
 * a single connection; its `transaction()` holds an exclusive lock so no other caller's query can
 * slip into an open transaction, which a raw `BEGIN` across awaits would allow.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { PGlite, type Transaction as PGliteTransaction } from '@electric-sql/pglite';
import type { ExtractTablesWithRelations, sql } from 'drizzle-orm';
import { drizzle as drizzleNodePg } from 'drizzle-orm/node-postgres';
import type { PgDatabase, PgQueryResultHKT, PgTransaction } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import pg from 'pg';
import type { Logger } from 'pino';
import type { Config } from '../../config.ts';
import { type DataDirLock, lockDataDir } from './lock.ts';

/** The Drizzle database, whichever driver is underneath. */
export type Db = PgDatabase<PgQueryResultHKT>;
/** An open transaction. */
export type Tx = PgTransaction<
  PgQueryResultHKT,
  Record<string, never>,
  ExtractTablesWithRelations<Record<string, never>>
>;
/** Anything queries can run on: the database or a transaction. */
export type Executor = Db | Tx;

/** A minimal SQL client (`$1` placeholders), for pg-boss and raw statements. */
export interface SqlClient {
  query<Row = Record<string, unknown>>(text: string, values?: unknown[]): Promise<{ rows: Row[] }>;
}

export interface Database {
  readonly kind: 'embedded' | 'postgres';
  readonly db: Db;
  /** Runs `work` in one transaction through the driver's transaction API. */
  transaction<T>(work: (tx: Tx) => Promise<T>): Promise<T>;
  /** The raw client behind an open transaction (for pg-boss's transactional `send`). */
  clientOf(tx: Tx): SqlClient;
  /** Listens for NOTIFY on a channel; returns an unsubscribe function. */
  listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>>;
  /** Throws when the database does not answer. */
  ping(): Promise<void>;
  close(): Promise<void>;
  /** Embedded only: the PGlite instance. */
  readonly pglite?: PGlite;
  /**
   * Embedded only: the transaction open in the current async context, if any. PGlite has one
   * connection and `transaction()` holds it exclusively, so a query issued on the main client from
   * inside a transaction (by pg-boss's `send`, or a forgotten `tx`) would wait for itself forever.
   * Such queries are routed into the open transaction instead.
   */
  readonly openTransaction?: () => PGliteTransaction | undefined;
  /** Postgres only: the pool. */
  readonly pool?: pg.Pool;
  /** Postgres only: connection string, for pg-boss's own pool. */
  readonly connectionString?: string;
}

export interface OpenDatabaseOptions {
  logger?: Logger;
  /** Use this PGlite instance instead of opening DATA_DIR (tests use in-memory clones). */
  pglite?: PGlite;
  /** Skip the DATA_DIR lock (tests with in-memory databases). */
  skipLock?: boolean;
}

export async function openDatabase(config: Config, options: OpenDatabaseOptions = {}): Promise<Database> {
  if (config.databaseKind === 'postgres' && config.DATABASE_URL) {
    return openPostgres(config.DATABASE_URL, config.DATABASE_POOL_SIZE, options.logger);
  }
  return openEmbedded(config, options);
}

function openPostgres(connectionString: string, max: number, logger?: Logger): Database {
  const pool = new pg.Pool({
    connectionString,
    max,
    application_name: 'switchboard',
    // A statement that runs this long is a bug or a lock pile-up; fail it rather than hang a request.
    statement_timeout: 60_000,
    idle_in_transaction_session_timeout: 60_000,
  });
  let closing = false;
  pool.on('error', (error) => {
    if (!closing) logger?.error({ err: error }, 'idle PostgreSQL connection failed');
  });
  const db = drizzleNodePg(pool) as unknown as Db;
  let listener: pg.Client | undefined;
  const handlers = new Map<string, Set<(payload: string) => void>>();

  return {
    kind: 'postgres',
    db,
    pool,
    connectionString,
    transaction: (work) => db.transaction(work),
    clientOf: (tx) => sessionClientOf(tx),
    async listen(channel, onNotify) {
      if (!listener) {
        listener = new pg.Client({ connectionString, application_name: 'switchboard-listen' });
        listener.on('error', (error) => logger?.warn({ err: error }, 'LISTEN connection failed'));
        listener.on('notification', (message) => {
          for (const handler of handlers.get(message.channel) ?? []) handler(message.payload ?? '');
        });
        await listener.connect();
      }
      let set = handlers.get(channel);
      if (!set) {
        set = new Set();
        handlers.set(channel, set);
        await listener.query(`LISTEN ${quoteIdentifier(channel)}`);
      }
      set.add(onNotify);
      return async () => {
        set.delete(onNotify);
      };
    },
    async ping() {
      await pool.query('select 1');
    },
    async close() {
      closing = true;
      await listener?.end().catch(() => {});
      await pool.end();
    },
  };
}

async function openEmbedded(config: Config, options: OpenDatabaseOptions): Promise<Database> {
  let lock: DataDirLock | undefined;
  let pglite = options.pglite;
  if (!pglite) {
    const dataDir = resolve(config.DATA_DIR);
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    if (!options.skipLock) lock = await lockDataDir(dataDir, options.logger);
    try {
      pglite = await PGlite.create(resolve(dataDir, 'pgdata'));
    } catch (error) {
      await lock?.release();
      throw error;
    }
  }
  const client = pglite;
  const context = new AsyncLocalStorage<OpenTransaction>();
  const current = () => {
    const open = context.getStore();
    return open?.open ? open.tx : undefined;
  };
  const db = drizzlePglite(routeIntoOpenTransaction(client, current)) as unknown as Db;
  return {
    kind: 'embedded',
    db,
    pglite: client,
    openTransaction: current,
    transaction: (work) =>
      db.transaction(async (tx) => {
        const open: OpenTransaction = { tx: sessionClientOf(tx) as unknown as PGliteTransaction, open: true };
        try {
          return await context.run(open, () => work(tx));
        } finally {
          // Timers or promises created inside keep the context; they must not reach a closed transaction.
          open.open = false;
        }
      }),
    clientOf: (tx) => sessionClientOf(tx),
    async listen(channel, onNotify) {
      return client.listen(channel, onNotify);
    },
    async ping() {
      await client.query('select 1');
    },
    async close() {
      if (!client.closed) await client.close();
      await lock?.release();
    },
  };
}

interface OpenTransaction {
  tx: PGliteTransaction;
  open: boolean;
}

/**
 * A view of the PGlite client whose `query`/`exec` run inside the transaction open in the current
 * async context, when there is one. A transaction started inside another would deadlock on the
 * single connection; it fails with an explanation instead.
 */
function routeIntoOpenTransaction(client: PGlite, current: () => PGliteTransaction | undefined): PGlite {
  return new Proxy(client, {
    get(target, property, receiver) {
      if (property === 'query' || property === 'exec') {
        return (...args: unknown[]) => {
          const tx = current();
          const method = (tx ?? target)[property] as (...params: unknown[]) => unknown;
          return method.apply(tx ?? target, args);
        };
      }
      if (property === 'transaction') {
        return (...args: unknown[]) => {
          if (current()) {
            throw new Error(
              'a transaction was opened inside another on the embedded database; pass the open transaction (ctx.tx) instead',
            );
          }
          return target.transaction(...(args as Parameters<PGlite['transaction']>));
        };
      }
      const value = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/**
 * The driver client inside a Drizzle transaction: a pg PoolClient or a PGlite Transaction. Both
 * answer `query(text, values)` with `{ rows }`. Drizzle keeps it on the transaction's session.
 */
function sessionClientOf(tx: Tx): SqlClient {
  const session = (tx as unknown as { session?: { client?: SqlClient } }).session;
  if (!session?.client || typeof session.client.query !== 'function') {
    throw new Error('transaction has no driver client (Drizzle internals changed?)');
  }
  return session.client;
}

function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Runs a statement and returns its rows, on either driver. */
export async function queryRows<Row>(executor: Executor, statement: ReturnType<typeof sql>): Promise<Row[]> {
  const result = (await executor.execute(statement)) as unknown as { rows: Row[] };
  return result.rows;
}

/** SQLSTATE of a database error, looking through Drizzle's wrapper. */
export function sqlState(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; current && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * A failure's message fit for a status shown to people: a database error's own message (with its
 * SQLSTATE), never the query builder's wrapper, whose message holds the whole statement and its
 * parameters (a page of names and emails). Other errors: their message, at most 500 characters.
 */
export function failureMessage(error: unknown): string {
  let current: unknown = error;
  for (let depth = 0; current && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    const message = (current as { message?: unknown }).message;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && typeof message === 'string') {
      return `Database error ${code}: ${message.slice(0, 500)}`;
    }
    current = (current as { cause?: unknown }).cause;
  }
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\nparams:')[0]?.slice(0, 500) ?? '';
}

/** The constraint a database error names, looking through Drizzle's wrapper. */
export function violatedConstraint(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; current && depth < 5; depth++) {
    const constraint = (current as { constraint?: unknown }).constraint;
    if (typeof constraint === 'string') return constraint;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

export const UNIQUE_VIOLATION = '23505';
export const FOREIGN_KEY_VIOLATION = '23503';
export const SERIALIZATION_FAILURE = '40001';
