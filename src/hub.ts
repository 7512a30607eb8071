/**
 * The hub: one object holding the configuration, platform services and module services of a
 * running Switchboard process. Built once by `createHub`, shared by the HTTP app, the job workers
 * and the CLI.
 */
import type { PGlite } from '@electric-sql/pglite';
import type { Config } from './config.ts';
import { ApiKeyService } from './modules/admin/index.ts';
import { ConsoleModule } from './modules/console/index.ts';
import { DirectoriesService, DirectoryService } from './modules/directory/index.ts';
import { EventLog } from './modules/events/index.ts';
import { HrisModule } from './modules/hris/index.ts';
import { ImportService } from './modules/imports/index.ts';
import { createTxtResolver, OrganizationService, type TxtResolver } from './modules/orgs/index.ts';
import { OverviewService } from './modules/overview/index.ts';
import { PortalModule } from './modules/portal/index.ts';
import { ProviderModule } from './modules/provider/index.ts';
import { ProvisioningModule } from './modules/provisioning/index.ts';
import { RateLimits } from './modules/rate-limits/index.ts';
import { ScimService } from './modules/scim/index.ts';
import { SsoModule } from './modules/sso/index.ts';
import { WebhooksModule } from './modules/webhooks/index.ts';
import { type Database, openDatabase } from './platform/db/client.ts';
import { migrateDatabase } from './platform/db/migrate.ts';
import { createMetrics, type Metrics } from './platform/http/metrics.ts';
import { HttpClient } from './platform/http-client.ts';
import { JobQueue } from './platform/jobs/index.ts';
import { createLogger, type Logger } from './platform/logging.ts';
import { SecretBox } from './platform/secret-box.ts';
import { resolveSecretKeys } from './platform/secret-key-file.ts';

export type Role = 'web' | 'worker' | 'all';

export interface Hub {
  readonly config: Config;
  readonly logger: Logger;
  readonly database: Database;
  readonly secrets: SecretBox;
  readonly jobs: JobQueue;
  readonly events: EventLog;
  readonly orgs: OrganizationService;
  readonly directory: DirectoryService;
  /** Inbound user sources (SCIM directories) and their tokens. */
  readonly directories: DirectoriesService;
  /** The SCIM 2.0 server. */
  readonly scim: ScimService;
  /** Spreadsheet imports (CSV, .xlsx): preview, apply as a job, report. */
  readonly imports: ImportService;
  readonly apiKeys: ApiKeyService;
  /** Inbound SSO: connections, login flows, traces, test IdP. */
  readonly sso: SsoModule;
  /** The OpenID provider for our applications, post-login routing, LMS handoffs. */
  readonly provider: ProviderModule;
  /** Event webhooks: subscriptions, signed deliveries, attempts, replay. */
  readonly webhooks: WebhooksModule;
  /** The admin console: sign-in, roles, sessions. */
  readonly console: ConsoleModule;
  /** Per-organization statistics (logins, directories, provisioning, what needs attention). */
  readonly overview: OverviewService;
  /** Client setup links and the pages they open. */
  readonly portal: PortalModule;
  /** Destinations, rules and the orchestrator that provisions accounts and enrollments. */
  readonly provisioning: ProvisioningModule;
  /** HR systems and directory pulls: connectors, sync, matching, the coaching context API. */
  readonly hris: HrisModule;
  readonly metrics: Metrics;
  /** Request-rate limits and failed-authentication blocks of the public surfaces. */
  readonly rateLimits: RateLimits;
  /** Outbound HTTP (timeouts, retries, redacted logging). */
  readonly http: HttpClient;
  /** Background loops modules run in worker processes (event consumers, schedulers). */
  readonly backgroundTasks: BackgroundTask[];
  /** Stops what was started; run in reverse order by closeHub. */
  readonly stopHooks: Array<() => Promise<void>>;
}

export interface BackgroundTask {
  name: string;
  /** Starts the loop; returns the function that stops it. */
  start(): Promise<() => Promise<void>>;
}

export interface CreateHubOptions {
  logger?: Logger;
  /** Tests: an in-memory PGlite instead of DATA_DIR. */
  pglite?: PGlite;
  /** Tests: DNS resolver for domain verification. */
  txtResolver?: TxtResolver;
  /** Apply migrations (default true). */
  migrate?: boolean;
}

export async function createHub(config: Config, options: CreateHubOptions = {}): Promise<Hub> {
  const logger = options.logger ?? createLogger(config.LOG_LEVEL);
  const keys = resolveSecretKeys(config, logger);
  const secrets = new SecretBox(keys.current, keys.previous);
  const database = await openDatabase(config, {
    logger,
    ...(options.pglite ? { pglite: options.pglite, skipLock: true } : {}),
  });
  try {
    if (options.migrate !== false) await migrateDatabase(database);
    const jobs = new JobQueue(database, logger);
    const events = new EventLog(database, logger);
    const orgs = new OrganizationService(
      database,
      events,
      options.txtResolver ?? createTxtResolver(config.DNS_SERVERS),
    );
    const directory = new DirectoryService(database, events, orgs);
    const apiKeys = new ApiKeyService(database, events);
    const http = new HttpClient({ logger });
    const metrics = createMetrics();
    const rateLimits = new RateLimits({ config, database, metrics, logger });
    const sso = new SsoModule({ config, database, secrets, events, orgs, directory, http, logger });
    const provisioning = new ProvisioningModule({
      config,
      database,
      secrets,
      events,
      orgs,
      directory,
      sso,
      jobs,
      http,
      logger,
    });
    const provider = new ProviderModule({
      config,
      database,
      secrets,
      events,
      orgs,
      directory,
      sso,
      jobs,
      logger,
      rateLimits,
      // One Thinkific API key for provisioning and the SSO handoff: LMS sites use the destination's.
      siteKeys: provisioning.destinations,
    });
    orgs.addUpdateGuard(async (tx, before, changes) => {
      if (changes.environment === 'production') await sso.connections.assertNoTestIdp(tx, before.id);
    });
    const directories = new DirectoriesService(database, events, orgs, config.PUBLIC_URL);
    const scim = new ScimService(database, directory, orgs);
    const webhooks = new WebhooksModule({
      config,
      database,
      secrets,
      events,
      orgs,
      jobs,
      http,
      logger,
      metrics,
    });
    const imports = new ImportService({ config, database, directory, orgs, scim, events, jobs, logger });
    const hris = new HrisModule({ database, secrets, events, orgs, directory, directories, logger });
    const consoleModule = new ConsoleModule({
      config,
      database,
      events,
      secrets,
      applications: provider.applications,
      logger,
    });
    const hub: Hub = {
      config,
      logger,
      database,
      secrets,
      jobs,
      events,
      orgs,
      directory,
      directories,
      scim,
      imports,
      apiKeys,
      sso,
      provider,
      webhooks,
      console: consoleModule,
      overview: new OverviewService({ orgs, events, directories, connections: sso.connections, jobs }),
      portal: new PortalModule({ config, database, secrets, events, orgs, sso, directories }),
      metrics,
      rateLimits,
      provisioning,
      hris,
      http,
      backgroundTasks: [
        sso.cleanupTask(),
        sso.registerJobs(jobs),
        provider.backgroundTask(),
        webhooks.backgroundTask(),
        provisioning.backgroundTask(),
        imports.registerJobs(),
        hris.registerJobs(jobs),
        consoleModule.backgroundTask(),
        rateLimits.cleanupTask(),
      ],
      stopHooks: [() => provider.close()],
    };
    if (config.SWITCHBOARD_BOOTSTRAP_ADMIN_KEY) {
      const outcome = await apiKeys.registerBootstrapKey(config.SWITCHBOARD_BOOTSTRAP_ADMIN_KEY);
      if (outcome === 'registered')
        logger.info('registered SWITCHBOARD_BOOTSTRAP_ADMIN_KEY as an admin API key');
      if (outcome === 'skipped')
        logger.info('SWITCHBOARD_BOOTSTRAP_ADMIN_KEY ignored: an admin API key already exists');
    }
    return hub;
  } catch (error) {
    await database.close();
    throw error;
  }
}

/** Stops of the background tasks a process started, by hub (see `stopBackgroundWork`). */
const runningTasks = new WeakMap<Hub, Promise<void> | Array<{ name: string; stop: () => Promise<void> }>>();

/**
 * Starts the job queue. Processes with a worker role (`worker`, `all`) also run job handlers and
 * the modules' background tasks; `web` processes only enqueue.
 */
export async function startBackgroundWork(hub: Hub, role: Role): Promise<void> {
  await hub.jobs.start({ runWorkers: role !== 'web' });
  if (role === 'web') return;
  const started: Array<{ name: string; stop: () => Promise<void> }> = [];
  runningTasks.set(hub, started);
  hub.stopHooks.push(() => stopBackgroundWork(hub));
  for (const task of hub.backgroundTasks) started.push({ name: task.name, stop: await task.start() });
}

/**
 * Takes no more work, at once: job workers stop fetching (`hub.jobs.stopFetching()` resolves when
 * the jobs running now have finished) and every background task (event consumers, schedulers)
 * stops, all together; resolves when the tasks have stopped. The database and the queue stay open
 * for what is still in flight. Idempotent.
 */
export function stopBackgroundWork(hub: Hub): Promise<void> {
  void hub.jobs.stopFetching();
  const running = runningTasks.get(hub);
  if (running instanceof Promise) return running;
  const stopping = (async () => {
    await Promise.all(
      (running ?? []).map(async (task) => {
        await task.stop().catch((error) => hub.logger.warn({ err: error, task: task.name }, 'stop failed'));
        hub.logger.debug({ task: task.name }, 'background task stopped');
      }),
    );
  })();
  runningTasks.set(hub, stopping);
  return stopping;
}

/** Stops background work and closes the database. */
export async function closeHub(hub: Hub, timeoutMs = hub.config.SHUTDOWN_TIMEOUT_MS): Promise<void> {
  for (const stop of hub.stopHooks.splice(0).reverse()) {
    await stop().catch((error) => hub.logger.warn({ err: error }, 'stop hook failed'));
  }
  await hub.jobs.stop(timeoutMs).catch((error) => hub.logger.warn({ err: error }, 'job queue stop failed'));
  await hub.database.close();
}
