/**
 * Hand-written SQL for measured hot paths (SCIM lookups and creates, token checks): statements run
 * on the driver directly, as named prepared statements on PostgreSQL (parsed and planned once per
 * connection), skipping the query builder. Everything else uses Drizzle.
 */
import type { Database, Executor, Tx } from './client.ts';

/** A statement with a stable name (the prepared-statement name on PostgreSQL) and `$n` placeholders. */
export interface PreparedSql {
  readonly name: string;
  readonly text: string;
}

export function preparedSql(name: string, text: string): PreparedSql {
  return { name, text: text.replace(/\s+/g, ' ').trim() };
}

interface DriverClient {
  query(config: unknown, values?: unknown[]): Promise<{ rows: unknown[] }>;
}

/**
 * Runs a prepared statement on the pool (or PGlite), or inside an open transaction when `tx` is
 * given. Values are always bound parameters.
 */
export async function runPrepared<Row>(
  database: Database,
  statement: PreparedSql,
  values: readonly unknown[],
  tx?: Tx | Executor,
): Promise<Row[]> {
  const client = (tx ? database.clientOf(tx as Tx) : (database.pool ?? database.pglite)) as
    | DriverClient
    | undefined;
  if (!client) throw new Error('database has neither pool nor PGlite');
  if (database.kind === 'postgres') {
    const result = await client.query({ name: statement.name, text: statement.text, values });
    return result.rows as Row[];
  }
  const result = await client.query(statement.text, values as unknown[]);
  return result.rows as Row[];
}

/** Runs ad-hoc parameterized SQL (compiled filters) on the pool, PGlite or an open transaction. */
export async function runSql<Row>(
  database: Database,
  text: string,
  values: readonly unknown[],
  tx?: Tx,
): Promise<Row[]> {
  const client = (tx ? database.clientOf(tx) : (database.pool ?? database.pglite)) as
    | DriverClient
    | undefined;
  if (!client) throw new Error('database has neither pool nor PGlite');
  const result = await client.query(text, values as unknown[]);
  return result.rows as Row[];
}

/** Statement texts seen so far and their prepared-statement names (bounded: see runShaped). */
const shapes = new Map<string, string>();
const MAX_SHAPES = 500;

/**
 * Runs generated SQL (a compiled filter) as a named prepared statement when its text has been
 * seen before: the same filter shape with other values (`userName eq "..."`) is then parsed and
 * planned once per connection. Only the first MAX_SHAPES texts get names, so a client inventing
 * endless shapes cannot grow every connection's statement cache.
 */
export async function runShaped<Row>(
  database: Database,
  text: string,
  values: readonly unknown[],
): Promise<Row[]> {
  if (database.kind !== 'postgres') return runSql<Row>(database, text, values);
  let name = shapes.get(text);
  if (!name && shapes.size < MAX_SHAPES) {
    name = `shaped_${shapes.size + 1}`;
    shapes.set(text, name);
  }
  if (!name) return runSql<Row>(database, text, values);
  return runPrepared<Row>(database, { name, text }, values);
}
