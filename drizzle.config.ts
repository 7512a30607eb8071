import { defineConfig } from 'drizzle-kit';

/** One migration set for PostgreSQL and embedded PGlite; `npm run db:generate` after a schema change. */
export default defineConfig({
  dialect: 'postgresql',
  schema: ['./src/modules/*/schema.ts'],
  out: './migrations',
  migrations: { schema: 'switchboard_meta' },
});
