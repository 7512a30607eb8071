/**
 * Planner statistics for jobs that grow tables fast (an HR directory's first full sync, a large import).
 *
 * PostgreSQL plans from the statistics of the last ANALYZE. A table that grows from a few rows to a
 * hundred thousand inside one job is planned, until then, as if it were still small: lookups by key
 * then read every row of the organization through a shorter index, and each page of the job costs
 * more than the one before (seen: 100,000 HR records, 0.8 ms per lookup at 10,000 rows, 50 ms at
 * 100,000). Autovacuum would re-analyze eventually, but it runs once a minute at best and may be off.
 *
 * A `StatisticsKeeper` counts the rows a job adds and re-analyzes its tables each time they have
 * doubled since the last analysis (by the catalog's estimate at the start): a handful of ANALYZE
 * runs per job, each a sample of at most 30,000 rows.
 */
import { sql } from 'drizzle-orm';
import type { Executor } from './client.ts';
import { queryRows } from './client.ts';

/** Below this many added rows a plan cannot go far wrong: no ANALYZE. */
const MINIMUM_GROWTH = 1000;

interface TableGrowth {
  /** Estimated rows at the job's start (the catalog's), read when the job first adds enough. */
  baseline: number | undefined;
  added: number;
  addedAtLastAnalysis: number;
}

export class StatisticsKeeper {
  readonly #executor: Executor;
  readonly #tables = new Map<string, TableGrowth>();
  /** How many times this keeper analyzed a table (jobs may report it). */
  analyses = 0;

  /**
   * `scope`: for a table, the rows at the job's start that the job's queries select among (its
   * organization's users, say). The planner misjudges a new organization in a large table as badly
   * as a new table: its statistics say the organization has no rows. Without it, the whole table.
   */
  constructor(executor: Executor, tables: readonly string[], scope: Readonly<Record<string, number>> = {}) {
    for (const table of tables) {
      if (!/^[a-z_][a-z0-9_]*$/.test(table)) throw new Error(`Not a table name: ${table}`);
      this.#tables.set(table, { baseline: scope[table], added: 0, addedAtLastAnalysis: 0 });
    }
    this.#executor = executor;
  }

  /** A keeper whose scope is one organization's rows of each table (all have `organization_id`). */
  static async forOrganization(
    executor: Executor,
    tables: readonly string[],
    organizationId: string,
  ): Promise<StatisticsKeeper> {
    const scope: Record<string, number> = {};
    for (const table of tables) {
      if (!/^[a-z_][a-z0-9_]*$/.test(table)) throw new Error(`Not a table name: ${table}`);
      const [row] = await queryRows<{ n: number }>(
        executor,
        sql`select count(*)::int as n from ${sql.identifier(table)} where organization_id = ${organizationId}`,
      );
      scope[table] = Number(row?.n ?? 0);
    }
    return new StatisticsKeeper(executor, tables, scope);
  }

  /**
   * Notes rows the job added to tables (after they committed); analyzes each table that has
   * doubled since its last analysis.
   */
  async grew(added: Readonly<Record<string, number>>): Promise<void> {
    for (const [table, rows] of Object.entries(added)) {
      const growth = this.#tables.get(table);
      if (!growth || rows <= 0) continue;
      growth.added += rows;
      const since = growth.added - growth.addedAtLastAnalysis;
      if (since < MINIMUM_GROWTH) continue;
      growth.baseline ??= await this.#estimatedRows(table);
      if (since < Math.max(MINIMUM_GROWTH, growth.baseline + growth.addedAtLastAnalysis)) continue;
      await this.#executor.execute(sql.raw(`analyze ${table}`));
      growth.addedAtLastAnalysis = growth.added;
      this.analyses++;
    }
  }

  /** The catalog's row estimate (0 for a table never analyzed or vacuumed). */
  async #estimatedRows(table: string): Promise<number> {
    const rows = await queryRows<{ estimate: number | null }>(
      this.#executor,
      sql`select greatest(reltuples, 0)::float8 as estimate from pg_class where oid = ${table}::regclass`,
    );
    return Number(rows[0]?.estimate ?? 0);
  }
}

/**
 * Vacuums a table that a hot path keeps updating when no autovacuum will: the embedded database
 * has none, and a server may run with `autovacuum = off` (these machines do). Without it every
 * update leaves a dead row version and a dead index entry behind; the event sequencer, which
 * updates each event once and finds the next ones through `position is null`, then reads every
 * dead entry ever left on each pass (seen: 100,000 imported people, the sequencer's pass grew to
 * 0.3 s and held its lock the whole time). Where autovacuum runs, this does nothing.
 */
export class VacuumKeeper {
  readonly #database: { db: Executor };
  readonly #table: string;
  readonly #threshold: number;
  readonly #onError: (error: unknown) => void;
  #autovacuumOff: Promise<boolean> | undefined;
  #changed = 0;
  #running = false;
  /** How many times this keeper vacuumed (tests and benches may report it). */
  vacuums = 0;

  constructor(
    database: { db: Executor },
    table: string,
    options: { threshold: number; onError: (error: unknown) => void },
  ) {
    if (!/^[a-z_][a-z0-9_]*$/.test(table)) throw new Error(`Not a table name: ${table}`);
    this.#database = database;
    this.#table = table;
    this.#threshold = options.threshold;
    this.#onError = options.onError;
  }

  /** Notes rows updated or deleted (committed); vacuums once `threshold` have piled up. Never throws. */
  async changed(rows: number): Promise<void> {
    if (rows <= 0) return;
    this.#changed += rows;
    if (this.#changed < this.#threshold || this.#running) return;
    this.#running = true;
    try {
      this.#autovacuumOff ??= queryRows<{ setting: string }>(
        this.#database.db,
        sql`select current_setting('autovacuum') as setting`,
      ).then((rows) => rows[0]?.setting !== 'on');
      if (!(await this.#autovacuumOff)) {
        this.#changed = 0;
        return;
      }
      this.#changed = 0;
      // VACUUM cannot run in a transaction block: the pool's own connection, outside any.
      await this.#database.db.execute(sql.raw(`vacuum (analyze) ${this.#table}`));
      this.vacuums++;
    } catch (error) {
      this.#onError(error);
    } finally {
      this.#running = false;
    }
  }
}
