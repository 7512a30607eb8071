/**
 * Applies the drizzle-kit migrations in `migrations/` (one set for both targets).
 *
 * Embedded: Drizzle's PGlite migrator (its node-postgres migrator hangs over a one-connection PGlite
 * pool). Postgres: one dedicated connection holding an advisory lock, so hub processes starting
 * together apply each migration exactly once.
 */
import { fileURLToPath } from 'node:url';
import { drizzle as drizzleNodePg } from 'drizzle-orm/node-postgres';
import { migrate as migrateNodePg } from 'drizzle-orm/node-postgres/migrator';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import type { Database } from './client.ts';

export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../../migrations', import.meta.url));

/** Arbitrary constant naming Switchboard's migration lock among advisory locks. */
const MIGRATION_LOCK_KEY = 7_114_552_031;

export async function migrateDatabase(database: Database): Promise<void> {
  const config = { migrationsFolder: MIGRATIONS_FOLDER, migrationsSchema: 'switchboard_meta' };
  if (database.kind === 'embedded') {
    if (!database.pglite) throw new Error('embedded database without PGlite instance');
    await migratePglite(drizzlePglite(database.pglite), config);
    return;
  }
  if (!database.pool) throw new Error('postgres database without pool');
  const client = await database.pool.connect();
  try {
    await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      await migrateNodePg(drizzleNodePg(client), config);
    } finally {
      await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    }
  } finally {
    client.release();
  }
}
