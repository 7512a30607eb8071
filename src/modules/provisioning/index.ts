/**
 * Provisioning: destinations, rules, desired state, sync jobs and reconcile. The public surface:
 *
 * - `ProvisioningModule` (on the hub as `hub.provisioning`): `destinations` (with the Thinkific API
 *   key an LMS site signs its SSO handoffs with, `thinkificSsoKey`, and `addGuard`), `rules`,
 *   `orchestrator` (queueBackfill, queueSync, retryFailed), `states`, `attempts`, `ofUser`,
 *   `syncUser`, and `backgroundTask()` (the event consumer and the reconcile schedule).
 * - Routes: `destinationRoutes` (destinations, test, reconcile, retry, states, attempts, a
 *   person's provisioning) and `ruleRoutes` (rules and dry run).
 *
 * Other modules trigger nothing directly: creating, updating, suspending or deleting users and
 * changing group memberships through the directory writes the usual `user.*` / `group.*` events,
 * and the orchestrator's consumer turns them into provisioning. Imports and HR sync need no call.
 */
import type { Config } from '../../config.ts';
import type { BackgroundTask } from '../../hub.ts';
import type { Database } from '../../platform/db/client.ts';
import { notFound } from '../../platform/errors.ts';
import type { HttpClient } from '../../platform/http-client.ts';
import type { JobQueue } from '../../platform/jobs/index.ts';
import type { Logger } from '../../platform/logging.ts';
import type { SecretBox } from '../../platform/secret-box.ts';
import type { DirectoryService } from '../directory/index.ts';
import type { EventLog } from '../events/index.ts';
import type { OrganizationService } from '../orgs/index.ts';
import type { SsoModule } from '../sso/index.ts';
import type { AttemptView } from './contracts.ts';
import { DestinationService } from './destinations.ts';
import { provisioningWaitStep } from './login-wait.ts';
import { Orchestrator } from './orchestrator.ts';
import { type AttemptRow, listAttempts, listStates, type StateRow } from './repository.ts';
import { RuleService } from './rules.ts';

export * from './contracts.ts';
export type { DesiredState } from './desired-state.ts';
export type { DestinationChange, DestinationGuard, ThinkificSsoKey } from './destinations.ts';
export { BACKFILL_QUEUE, Orchestrator, SYNC_QUEUE, type SyncJobData } from './orchestrator.ts';
export { destinationRoutes } from './routes/destinations.ts';
export { ruleRoutes } from './routes/rules.ts';
export type { ActualState } from './sync.ts';

export class ProvisioningModule {
  readonly destinations: DestinationService;
  readonly rules: RuleService;
  readonly orchestrator: Orchestrator;
  readonly #database: Database;
  readonly #orgs: OrganizationService;
  readonly #directory: DirectoryService;

  constructor(deps: {
    config: Config;
    database: Database;
    secrets: SecretBox;
    events: EventLog;
    orgs: OrganizationService;
    directory: DirectoryService;
    sso: SsoModule;
    jobs: JobQueue;
    http: HttpClient;
    logger: Logger;
  }) {
    const { config, database, secrets, events, orgs, directory, sso, jobs, http, logger } = deps;
    this.#database = database;
    this.#orgs = orgs;
    this.#directory = directory;
    this.destinations = new DestinationService({ database, secrets, events, orgs, http });
    this.rules = new RuleService({ database, events, orgs, directory, destinations: this.destinations });
    this.orchestrator = new Orchestrator({
      database,
      jobs,
      events,
      directory,
      destinations: this.destinations,
      logger,
      retryDelaySeconds: config.PROVISIONING_RETRY_DELAY_SECONDS,
      workerConcurrency: config.PROVISIONING_WORKER_CONCURRENCY,
      reconcileCron: config.PROVISIONING_RECONCILE_CRON,
    });
    this.rules.onChange = (tx, organizationId) =>
      this.orchestrator.queueBackfill(tx, organizationId, 'rules changed');
    this.destinations.onChange = (tx, organizationId, destinationId) =>
      this.orchestrator.queueBackfill(tx, organizationId, 'destination changed', { destinationId });
    this.orchestrator.registerJobs();
    sso.login.registerCompletionStep(
      provisioningWaitStep({
        database,
        directory,
        orchestrator: this.orchestrator,
        waitMs: config.PROVISIONING_LOGIN_WAIT_MS,
      }),
    );
  }

  /** Worker loop: the event consumer and the reconcile schedule. */
  backgroundTask(): BackgroundTask {
    return { name: 'provisioning', start: () => this.orchestrator.start() };
  }

  async states(
    org: string,
    query: {
      destinationId?: string;
      userId?: string;
      status?: string;
      limit: number;
      after?: string | undefined;
    },
  ) {
    const organization = await this.#orgs.require(org);
    if (query.destinationId) await this.destinations.load(organization.id, query.destinationId);
    const rows = await listStates(this.#database.db, {
      organizationId: organization.id,
      ...(query.destinationId ? { destinationId: query.destinationId } : {}),
      ...(query.userId ? { userId: query.userId } : {}),
      ...(query.status ? { status: query.status } : {}),
      ...(query.after ? { after: query.after } : {}),
      limit: query.limit + 1,
    });
    const page = rows.slice(0, query.limit);
    return {
      data: page.map(stateView),
      nextCursor: rows.length > query.limit ? (page.at(-1)?.userId ?? null) : null,
    };
  }

  async attempts(
    org: string,
    query: { destinationId?: string; userId?: string; limit: number; after?: string | undefined },
  ): Promise<{ data: AttemptView[]; nextCursor: string | null }> {
    const organization = await this.#orgs.require(org);
    if (query.destinationId) await this.destinations.load(organization.id, query.destinationId);
    const rows = await listAttempts(this.#database.db, {
      organizationId: organization.id,
      ...(query.destinationId ? { destinationId: query.destinationId } : {}),
      ...(query.userId ? { userId: query.userId } : {}),
      ...(query.after ? { before: query.after } : {}),
      limit: query.limit + 1,
    });
    const page = rows.slice(0, query.limit);
    return {
      data: page.map(attemptView),
      nextCursor: rows.length > query.limit ? (page.at(-1)?.id ?? null) : null,
    };
  }

  async ofUser(org: string, userId: string) {
    const organization = await this.#orgs.require(org);
    const user = await this.#directory.getUser(userId).catch(() => undefined);
    if (!user || user.organizationId !== organization.id) throw notFound('user', userId);
    const states = await this.states(organization.id, { userId, limit: 100 });
    const attempts = await this.attempts(organization.id, { userId, limit: 100 });
    return { states: states.data, attempts: attempts.data };
  }

  async syncUser(org: string, userId: string): Promise<number> {
    const organization = await this.#orgs.require(org);
    const user = await this.#directory.getUser(userId).catch(() => undefined);
    if (!user || user.organizationId !== organization.id) throw notFound('user', userId);
    const items = await this.orchestrator.destinationsFor(organization.id, [userId], undefined);
    await this.orchestrator.queueSync(undefined, items, { reason: 'sync requested' });
    return items.length;
  }
}

function stateView(row: StateRow) {
  return {
    destinationId: row.destinationId,
    userId: row.userId,
    status: row.status,
    remoteId: row.remoteId,
    desired: row.desired,
    actual: row.actual,
    removalAfter: row.removalAfter?.toISOString() ?? null,
    drift: row.drift,
    lastError: row.lastError,
    syncedAt: row.syncedAt?.toISOString() ?? null,
    updatedAt: row.updatedAt.toISOString(),
  };
}

function attemptView(row: AttemptRow): AttemptView {
  return {
    id: row.id,
    destinationId: row.destinationId,
    userId: row.userId,
    jobId: row.jobId,
    operation: row.operation,
    request: row.request,
    outcome: row.outcome as 'succeeded' | 'failed',
    httpStatus: row.httpStatus,
    latencyMs: row.latencyMs,
    error: row.error,
    createdAt: row.createdAt.toISOString(),
  };
}
