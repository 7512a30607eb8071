/**
 * Runs a hub process: HTTP server and/or background work, with graceful shutdown. On SIGTERM or
 * SIGINT, at once: job workers stop fetching, event consumers and schedulers stop, `/readyz` answers
 * 503 (the server keeps listening, so a load balancer sees "draining", not a dead port), new requests
 * get 503 and idle keep-alive sockets are closed. Requests and jobs in flight get SHUTDOWN_TIMEOUT_MS
 * to finish; then open connections are cut, jobs still running are released for retry by another
 * worker, the database closes, and the process exits 0.
 */

import type { Socket } from 'node:net';
import { buildApp } from './app.ts';
import type { Config } from './config.ts';
import { closeHub, createHub, type Role, startBackgroundWork, stopBackgroundWork } from './hub.ts';
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

  const requests = trackRequests(app);
  let shuttingDown: Promise<void> | undefined;
  const shutdown = (signal = 'shutdown') => {
    shuttingDown ??= (async () => {
      const deadline = Date.now() + config.SHUTDOWN_TIMEOUT_MS;
      // A last resort only: every step below is bounded by the deadline.
      const watchdog = setTimeout(() => {
        logger.error('shutdown took too long; exiting');
        process.exit(1);
      }, config.SHUTDOWN_TIMEOUT_MS + 10_000);
      watchdog.unref();
      // No new work from now on: no job fetched, no event batch read.
      const tasksStopped = stopBackgroundWork(hub);
      const jobsFinished = hub.jobs.stopFetching();
      draining = true;
      logger.info({ signal }, 'draining: finishing in-flight requests and jobs');
      // Keep-alive sockets with no request go now; busy ones are told `Connection: close` (app.ts).
      requests.closeIdleKeepAlive();
      const drained = await untilDeadline(
        Promise.all([requests.finished(), jobsFinished, tasksStopped]),
        deadline,
      );
      if (!drained) {
        logger.warn(
          { requests: requests.count(), timeoutMs: config.SHUTDOWN_TIMEOUT_MS },
          'SHUTDOWN_TIMEOUT_MS reached: closing open connections and releasing running jobs for retry',
        );
      }
      // Stop listening; what is still open (a client that stalled mid-request) is cut.
      const closed = app.close();
      app.server.closeAllConnections();
      await closed;
      await closeHub(hub, deadline - Date.now());
      clearTimeout(watchdog);
      logger.info('stopped');
    })();
    return shuttingDown;
  };
  return { app, shutdown };
}

/**
 * Counts the HTTP requests in flight (received, response not yet finished or abandoned), and knows
 * which connections sit idle between keep-alive requests.
 */
function trackRequests(app: App): {
  count(): number;
  finished(): Promise<void>;
  closeIdleKeepAlive(): void;
} {
  let inFlight = 0;
  const waiters: Array<() => void> = [];
  /** Connections that served a request, with the number they have in flight. */
  const keptAlive = new Map<Socket, number>();
  app.server.on('request', (request, response) => {
    const socket = request.socket;
    inFlight++;
    if (!keptAlive.has(socket)) socket.once('close', () => keptAlive.delete(socket));
    keptAlive.set(socket, (keptAlive.get(socket) ?? 0) + 1);
    response.once('close', () => {
      inFlight--;
      if (keptAlive.has(socket)) keptAlive.set(socket, (keptAlive.get(socket) ?? 1) - 1);
      if (inFlight === 0) {
        for (const resolve of waiters.splice(0)) resolve();
      }
    });
  });
  return {
    count: () => inFlight,
    finished: () =>
      inFlight === 0 ? Promise.resolve() : new Promise<void>((resolve) => waiters.push(resolve)),
    // Not Node's closeIdleConnections(): it also closes a connection just accepted whose request
    // has not arrived yet, which a readiness probe would see as a reset instead of a 503.
    closeIdleKeepAlive() {
      for (const [socket, open] of keptAlive) if (open === 0) socket.end();
    },
  };
}

/** Whether `work` settled before `deadline` (epoch ms). */
async function untilDeadline(work: Promise<unknown>, deadline: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, deadline - Date.now()));
  });
  try {
    return await Promise.race([work.then(() => true as const), expired]);
  } finally {
    clearTimeout(timer);
  }
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
