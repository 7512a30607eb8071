/**
 * Runs a hub process: HTTP server and/or background work, with graceful shutdown. On SIGTERM or
 * SIGINT: readiness turns 503, the server stops accepting and finishes in-flight requests, job
 * workers finish (or release for retry) their jobs within SHUTDOWN_TIMEOUT_MS, the database closes,
 * and the process exits 0.
 */

import { buildApp } from './app.ts';
import type { Config } from './config.ts';
import { closeHub, createHub, type Role, startBackgroundWork } from './hub.ts';
import type { App } from './platform/http/types.ts';
import { createLogger } from './platform/logging.ts';

export interface RunningHub {
  app: App;
  /** Resolves when the process has shut down. */
  shutdown(signal?: string): Promise<void>;
}

export async function runHub(config: Config, role: Role): Promise<RunningHub> {
  const logger = createLogger(config.LOG_LEVEL);
  const hub = await createHub(config, { logger });
  let draining = false;
  const app = await buildApp(hub, { role, isDraining: () => draining });
  try {
    await startBackgroundWork(hub, role);
    await app.listen({ port: config.PORT, host: config.HOST });
  } catch (error) {
    await app.close().catch(() => {});
    await closeHub(hub).catch(() => {});
    throw error;
  }
  logger.info(
    {
      role,
      database: hub.database.kind,
      publicUrl: config.PUBLIC_URL,
      port: config.PORT,
      node: process.version,
    },
    `Switchboard is up (${role}) on ${config.PUBLIC_URL} with the ${hub.database.kind} database`,
  );

  let shuttingDown: Promise<void> | undefined;
  const shutdown = (signal = 'shutdown') => {
    shuttingDown ??= (async () => {
      logger.info({ signal }, 'draining: finishing in-flight requests and jobs');
      draining = true;
      const watchdog = setTimeout(() => {
        logger.error('shutdown took too long; exiting');
        process.exit(1);
      }, config.SHUTDOWN_TIMEOUT_MS + 10_000);
      watchdog.unref();
      // Connections that were busy when close() began become idle later; close them as they do.
      const sweeper = setInterval(() => app.server.closeIdleConnections(), 100);
      await app.close();
      clearInterval(sweeper);
      await closeHub(hub, config.SHUTDOWN_TIMEOUT_MS);
      clearTimeout(watchdog);
      logger.info('stopped');
    })();
    return shuttingDown;
  };
  return { app, shutdown };
}

/** Wires SIGTERM/SIGINT to a graceful shutdown and exit code 0. */
export function exitOnSignals(running: RunningHub): void {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      running.shutdown(signal).then(
        () => process.exit(0),
        (error) => {
          console.error(error);
          process.exit(1);
        },
      );
    });
  }
}
