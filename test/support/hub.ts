/**
 * A real hub for tests: the real app on a fresh copy of the migrated database (embedded or
 * PostgreSQL, per the run), with an admin and a read-only API key, and helpers to call it.
 *
 *   const t = await createTestHub();
 *   const res = await t.api('POST', '/api/v1/organizations', { body: { name: 'Acme' } });
 *   await t.close();
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import type { DestinationStream } from 'pino';
import { inject } from 'vitest';
import { buildApp } from '../../src/app.ts';
import { type Config, loadConfig } from '../../src/config.ts';
import {
  type CreateHubOptions,
  closeHub,
  createHub,
  type Hub,
  type Role,
  startBackgroundWork,
} from '../../src/hub.ts';
import type { App } from '../../src/platform/http/types.ts';
import { createLogger } from '../../src/platform/logging.ts';
import { withDatabase } from './global-setup.ts';

export interface TestHubOptions extends Omit<CreateHubOptions, 'pglite' | 'logger'> {
  /** Extra environment for loadConfig (PUBLIC_URL, ...). */
  env?: Record<string, string>;
  /** Run job workers and event consumers (default false: tests drive them explicitly). */
  workers?: boolean;
  role?: Role;
  /**
   * Listen on a real port (needed when an outside client must reach the hub). PORT and PUBLIC_URL
   * are set to http://127.0.0.1:<free port> unless `env` gives them.
   */
  listen?: boolean;
  /** Reuse this database instead of a fresh copy (a second process on the same Postgres). */
  databaseUrl?: string;
  /**
   * A second hub on the same database as this one (another process behind the load balancer):
   * the same Postgres database, or the same PGlite instance in embedded runs.
   */
  sameDatabaseAs?: TestHub;
  /** Where log lines go (at LOG_LEVEL, or `info` when it is silent), to assert what is logged. */
  logTo?: DestinationStream;
}

export interface ApiResponse<T = unknown> {
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: T;
  text: string;
}

export interface TestHub {
  hub: Hub;
  app: App;
  config: Config;
  /** An admin-scope key and a read-scope key. */
  adminKey: string;
  readKey: string;
  /** Base URL when `listen` was set. */
  url: string;
  databaseUrl: string | undefined;
  /** Calls the app in-process. `key: null` sends no Authorization header. */
  api<T = any>(
    method: string,
    url: string,
    options?: {
      body?: unknown;
      key?: string | null;
      headers?: Record<string, string>;
      payload?: string | Buffer;
    },
  ): Promise<ApiResponse<T>>;
  close(): Promise<void>;
}

let counter = 0;

export function databaseKind(): 'embedded' | 'postgres' {
  return inject('databaseKind');
}

/** A fresh, migrated database for one hub: returns the hub options and a way to drop it. */
export async function freshDatabase(): Promise<{
  env: Record<string, string>;
  pglite?: PGlite;
  drop(): Promise<void>;
}> {
  if (databaseKind() === 'postgres') {
    const adminUrl = inject('postgresAdminUrl');
    const name = `${inject('postgresRunPrefix')}_${process.pid}_${++counter}`;
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          await admin.query(`create database "${name}" template "${inject('postgresTemplate')}"`);
          break;
        } catch (error) {
          // Two workers copying the template at the same moment: "source database is being accessed".
          if (attempt > 20 || (error as { code?: string }).code !== '55006') throw error;
          await new Promise((resolve) => setTimeout(resolve, 100 + Math.random() * 200));
        }
      }
    } finally {
      await admin.end();
    }
    return {
      env: { DATABASE_URL: withDatabase(adminUrl, name) },
      async drop() {
        const client = new pg.Client({ connectionString: adminUrl });
        await client.connect();
        await client.query(`drop database if exists "${name}" with (force)`).catch(() => {});
        await client.end();
      },
    };
  }
  const dump = readFileSync(inject('pgliteTemplatePath'));
  const pglite = await PGlite.create({ loadDataDir: new Blob([dump]) });
  return {
    env: {},
    pglite,
    async drop() {
      if (!pglite.closed) await pglite.close();
    },
  };
}

/** A TCP port that was free a moment ago. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function createTestHub(options: TestHubOptions = {}): Promise<TestHub> {
  const shared = options.sameDatabaseAs;
  const fresh: { env: Record<string, string>; pglite?: PGlite; drop(): Promise<void> } = shared
    ? shared.hub.database.pglite
      ? { env: {}, pglite: shared.hub.database.pglite, drop: async () => {} }
      : { env: { DATABASE_URL: shared.databaseUrl as string }, drop: async () => {} }
    : options.databaseUrl
      ? { env: { DATABASE_URL: options.databaseUrl }, drop: async () => {} }
      : await freshDatabase();
  // A listening hub knows its port before start, so PUBLIC_URL (issuer, ACS and redirect URIs) is right.
  const port = options.listen ? (options.env?.PORT ? Number(options.env.PORT) : await freePort()) : 0;
  const listenEnv: Record<string, string> = options.listen
    ? { PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}` }
    : {};
  const config = loadConfig({
    ...listenEnv,
    SECRET_KEY: shared?.config.SECRET_KEY ?? randomBytes(32).toString('base64'),
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
    SHUTDOWN_TIMEOUT_MS: '2000',
    ...fresh.env,
    ...options.env,
  });
  const logger = options.logTo
    ? createLogger(config.LOG_LEVEL === 'silent' ? 'info' : config.LOG_LEVEL, options.logTo)
    : createLogger(config.LOG_LEVEL);
  const hub = await createHub(config, {
    logger,
    ...('pglite' in fresh && fresh.pglite ? { pglite: fresh.pglite } : {}),
    ...(options.txtResolver ? { txtResolver: options.txtResolver } : {}),
    migrate: options.migrate ?? true,
  });
  const role = options.role ?? 'all';
  const app = await buildApp(hub, { role });
  await startBackgroundWork(hub, options.workers ? role : 'web');
  let url = '';
  if (options.listen) {
    await app.listen({ port, host: '127.0.0.1' });
    url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  } else {
    await app.ready();
  }
  const system = { type: 'system' as const, name: 'test' };
  const adminKey = (await hub.apiKeys.create({ name: 'test-admin', scopes: ['admin'], via: 'test' }, system))
    .key;
  const readKey = (await hub.apiKeys.create({ name: 'test-read', scopes: ['read'], via: 'test' }, system))
    .key;

  return {
    hub,
    app,
    config,
    adminKey,
    readKey,
    url,
    databaseUrl: config.DATABASE_URL,
    async api(method, path, requestOptions = {}) {
      const key = requestOptions.key === undefined ? adminKey : requestOptions.key;
      const headers: Record<string, string> = { ...requestOptions.headers };
      if (key) headers.authorization = `Bearer ${key}`;
      const response = await app.inject({
        method: method as 'GET',
        url: path,
        headers,
        ...(requestOptions.payload !== undefined
          ? { payload: requestOptions.payload }
          : requestOptions.body !== undefined
            ? {
                payload: JSON.stringify(requestOptions.body),
                headers: { 'content-type': 'application/json', ...headers },
              }
            : {}),
      });
      let body: unknown = response.body;
      const type = String(response.headers['content-type'] ?? '');
      if (type.includes('json') && response.body) body = JSON.parse(response.body);
      return {
        status: response.statusCode,
        headers: response.headers,
        body: body as never,
        text: response.body,
      };
    },
    async close() {
      await app.close();
      if (shared?.hub.database.pglite) await hub.jobs.stop(1000).catch(() => {});
      else await closeHub(hub, 1000);
      await fresh.drop();
    },
  };
}
