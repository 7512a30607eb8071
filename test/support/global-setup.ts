/**
 * Prepares one migrated database template per test run, so each test hub starts from a copy
 * instead of migrating from scratch:
 *
 * - embedded (default): a PGlite data directory dumped to a file, loaded by each hub;
 * - PostgreSQL (TEST_POSTGRES_URL=postgres://user@host:port/postgres): a template database
 *   `sb_test_<run>_tpl`; each hub gets `CREATE DATABASE ... TEMPLATE`. Every database the run
 *   created is dropped at the end.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { loadConfig } from '../../src/config.ts';
import { openDatabase } from '../../src/platform/db/client.ts';
import { migrateDatabase } from '../../src/platform/db/migrate.ts';
import { JobQueue } from '../../src/platform/jobs/index.ts';
import { createLogger } from '../../src/platform/logging.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseKind: 'embedded' | 'postgres';
    /** Embedded: path of the migrated PGlite dump. */
    pgliteTemplatePath: string;
    /** Postgres: admin URL, template database name and run prefix. */
    postgresAdminUrl: string;
    postgresTemplate: string;
    postgresRunPrefix: string;
  }
}

const SECRET_KEY = randomBytes(32).toString('base64');

/** The console's pages are served from web/dist: build them once when missing (a fresh clone). */
function buildConsoleIfMissing(): void {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  if (existsSync(join(root, 'web/dist/index.html'))) return;
  execFileSync(process.execPath, [join(root, 'scripts/build-console.ts'), '--required'], {
    cwd: root,
    stdio: 'inherit',
  });
}

export default async function setup(project: TestProject) {
  buildConsoleIfMissing();
  const logger = createLogger('silent');
  const adminUrl = process.env.TEST_POSTGRES_URL;
  if (adminUrl) {
    const runPrefix = `sb_test_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
    const template = `${runPrefix}_tpl`;
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`create database "${template}"`);
    await admin.end();
    const database = await openDatabase(
      loadConfig({ DATABASE_URL: withDatabase(adminUrl, template), SECRET_KEY }),
      { logger },
    );
    await migrateDatabase(database);
    await prepareJobSchema(database, logger);
    await database.close();
    project.provide('databaseKind', 'postgres');
    project.provide('postgresAdminUrl', adminUrl);
    project.provide('postgresTemplate', template);
    project.provide('postgresRunPrefix', runPrefix);
    project.provide('pgliteTemplatePath', '');
    return async () => {
      const cleanup = new pg.Client({ connectionString: adminUrl });
      await cleanup.connect();
      const { rows } = await cleanup.query<{ datname: string }>(
        'select datname from pg_database where starts_with(datname, $1)',
        [runPrefix],
      );
      for (const row of rows) {
        await cleanup.query(`drop database if exists "${row.datname}" with (force)`);
      }
      await cleanup.end();
    };
  }

  const pglite = await PGlite.create();
  const database = await openDatabase(loadConfig({ SECRET_KEY }), { pglite, skipLock: true, logger });
  await migrateDatabase(database);
  await prepareJobSchema(database, logger);
  const dump = await pglite.dumpDataDir('none');
  await pglite.close();
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-test-'));
  const path = join(dir, 'template.tar');
  writeFileSync(path, Buffer.from(await dump.arrayBuffer()));
  project.provide('databaseKind', 'embedded');
  project.provide('pgliteTemplatePath', path);
  project.provide('postgresAdminUrl', '');
  project.provide('postgresTemplate', '');
  project.provide('postgresRunPrefix', '');
  return () => rmSync(dir, { recursive: true, force: true });
}

/** Creates pg-boss's schema in the template, so hubs do not each create it. */
async function prepareJobSchema(
  database: Awaited<ReturnType<typeof openDatabase>>,
  logger: ReturnType<typeof createLogger>,
) {
  const jobs = new JobQueue(database, logger);
  await jobs.start({ runWorkers: false });
  await jobs.stop(1000);
}

export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}
