/**
 * The hris module: HR systems and directory pulls (Personio, BambooHR, ... through
 * `src/connectors/`), their sync into canonical profiles and users, matching, and the coaching
 * context API.
 */
import type { Logger } from 'pino';
import type { HrClientEnvironment } from '../../connectors/hris-contract.ts';
import type { Database } from '../../platform/db/client.ts';
import { AppError, Conflict, NotFound } from '../../platform/errors.ts';
import type { JobQueue } from '../../platform/jobs/index.ts';
import type { SecretBox } from '../../platform/secret-box.ts';
import type { DirectoriesService, DirectoryService } from '../directory/index.ts';
import type { Actor } from '../events/contracts.ts';
import type { EventLog } from '../events/service.ts';
import type { OrganizationService } from '../orgs/service.ts';
import { HrisContextService } from './context.ts';
import { HrisDirectoryService, parseSettings } from './directories.ts';
import { findRun, latestRun, listRecords, listRuns, recordBySourceId, upsertRecords } from './repository.ts';
import { HrisSettingsService } from './settings.ts';
import { HrisSyncEngine, type SyncMode, toRunView } from './sync.ts';

export { type ContextReader, HrisContextService } from './context.ts';
export * from './contracts.ts';
export { hrisContextRoutes } from './routes/context.ts';
export { hrisRoutes } from './routes/hris.ts';

export const SYNC_QUEUE = 'hris.sync';
export const SCHEDULE_QUEUE = 'hris.schedule';

interface SyncJob {
  organizationId: string;
  directoryId: string;
  trigger: 'schedule' | 'manual';
  mode: SyncMode;
}

export class HrisModule {
  readonly directories: HrisDirectoryService;
  readonly settings: HrisSettingsService;
  readonly context: HrisContextService;
  readonly sync: HrisSyncEngine;
  readonly #database: Database;
  readonly #pullDirectories: DirectoriesService;
  readonly #directory: DirectoryService;
  readonly #events: EventLog;
  readonly #orgs: OrganizationService;
  readonly #logger: Logger;
  #jobs: JobQueue | undefined;

  constructor(deps: {
    database: Database;
    secrets: SecretBox;
    events: EventLog;
    orgs: OrganizationService;
    directory: DirectoryService;
    directories: DirectoriesService;
    logger: Logger;
    connectorEnv?: HrClientEnvironment;
  }) {
    this.#database = deps.database;
    this.#pullDirectories = deps.directories;
    this.#directory = deps.directory;
    this.#events = deps.events;
    this.#orgs = deps.orgs;
    this.#logger = deps.logger.child({ component: 'hris' });
    this.directories = new HrisDirectoryService({
      database: deps.database,
      directories: deps.directories,
      orgs: deps.orgs,
      events: deps.events,
      secrets: deps.secrets,
      ...(deps.connectorEnv ? { env: deps.connectorEnv } : {}),
    });
    let context: HrisContextService | undefined;
    this.settings = new HrisSettingsService({
      database: deps.database,
      orgs: deps.orgs,
      events: deps.events,
      onChange: (organizationId) => context?.invalidateOrganization(organizationId),
    });
    context = new HrisContextService({
      database: deps.database,
      directory: deps.directory,
      directories: deps.directories,
      settings: this.settings,
    });
    this.context = context;
    this.sync = new HrisSyncEngine({
      database: deps.database,
      directories: deps.directories,
      hrisDirectories: this.directories,
      directory: deps.directory,
      events: deps.events,
      settings: this.settings,
      logger: deps.logger,
      onUsersChanged: (organizationId, keys) => context?.invalidate(organizationId, keys),
    });
  }

  /** Queues a sync now (the admin API's "sync now"); the job and its event commit together. */
  async requestSync(organizationIdOrSlug: string, directoryId: string, mode: SyncMode, actor: Actor) {
    const row = await this.directories.row(organizationIdOrSlug, directoryId);
    if (row.status !== 'active') {
      throw new Conflict({
        code: 'directory_disabled',
        detail: `Directory ${directoryId} is disabled.`,
        fix: 'Enable it (PATCH status "active") to sync.',
      });
    }
    const jobs = this.#requireJobs();
    return this.#database.transaction(async (tx) => {
      const data: SyncJob = { organizationId: row.organizationId, directoryId, trigger: 'manual', mode };
      const jobId = await jobs.send(SYNC_QUEUE, data, { tx });
      await this.#events.append(tx, {
        organizationId: row.organizationId,
        type: 'hris.sync_requested',
        actor,
        subjectType: 'directory',
        subjectId: directoryId,
        data: { mode, jobId },
      });
      return { jobId, directoryId, mode };
    });
  }

  async listRuns(
    organizationIdOrSlug: string,
    directoryId: string,
    query: { before?: string; limit: number },
  ) {
    const row = await this.directories.row(organizationIdOrSlug, directoryId);
    const rows = await listRuns(this.#database.db, {
      organizationId: row.organizationId,
      directoryId,
      limit: query.limit + 1,
      ...(query.before ? { before: query.before } : {}),
    });
    const page = rows.slice(0, query.limit);
    return {
      data: page.map(toRunView),
      nextCursor: rows.length > query.limit ? (page.at(-1)?.id ?? null) : null,
    };
  }

  async getRun(organizationIdOrSlug: string, runId: string) {
    const org = await this.#orgs.require(organizationIdOrSlug);
    const row = await findRun(this.#database.db, org.id, runId);
    if (!row) {
      throw new NotFound({
        code: 'hris_run_not_found',
        detail: `No sync run "${runId}" in this organization.`,
        fix: "List the directory's runs to find it.",
      });
    }
    return toRunView(row);
  }

  async listRecords(
    organizationIdOrSlug: string,
    directoryId: string,
    query: { match?: string; after?: string; limit: number },
  ) {
    const row = await this.directories.row(organizationIdOrSlug, directoryId);
    const rows = await listRecords(this.#database.db, {
      organizationId: row.organizationId,
      directoryId,
      limit: query.limit + 1,
      ...(query.match ? { matchStatus: query.match } : {}),
      ...(query.after ? { after: query.after } : {}),
    });
    const page = rows.slice(0, query.limit);
    return {
      data: page.map((record) => ({
        sourceId: record.sourceId,
        userId: record.userId,
        matchStatus: record.matchStatus as 'matched' | 'created' | 'unmatched' | 'ambiguous',
        matchDetail: record.matchDetail ?? null,
        employee: { fields: record.employee.fields, custom: record.employee.custom },
        deleted: Boolean(record.deletedAt),
        changedAt: record.changedAt.toISOString(),
      })),
      nextCursor: rows.length > query.limit ? (page.at(-1)?.sourceId ?? null) : null,
    };
  }

  /**
   * An admin resolves an unmatched or ambiguous record: links it to a user of the organization.
   * The next sync writes the HR profile to that user (the record's hash is cleared).
   */
  async linkRecord(
    organizationIdOrSlug: string,
    directoryId: string,
    sourceId: string,
    userId: string,
    actor: Actor,
  ) {
    const row = await this.directories.row(organizationIdOrSlug, directoryId);
    return this.#database.transaction(async (tx) => {
      const record = await recordBySourceId(tx, row.organizationId, directoryId, sourceId);
      if (!record) {
        throw new NotFound({
          code: 'hris_record_not_found',
          detail: `Directory ${directoryId} has no record "${sourceId}".`,
          fix: "List the directory's records to find it.",
        });
      }
      const user = await this.#directory.getUserInOrganization(row.organizationId, userId, tx);
      if (!user) {
        throw new NotFound({
          code: 'user_not_found',
          detail: `No user "${userId}" in this directory's organization.`,
          field: 'userId',
          fix: 'Link the record to a user of the same organization.',
        });
      }
      await upsertRecords(tx, [
        { ...record, userId, matchStatus: 'matched', matchDetail: null, hash: `relinked:${record.hash}` },
      ]);
      await this.#events.append(tx, {
        organizationId: row.organizationId,
        type: 'hris.record_linked',
        actor,
        subjectType: 'user',
        subjectId: userId,
        data: { directoryId, sourceId, previous: { userId: record.userId, matchStatus: record.matchStatus } },
      });
      return { sourceId, userId, matchStatus: 'matched' as const };
    });
  }

  /** Declares the sync queue and the per-minute scheduler; returns the task that installs the schedule. */
  registerJobs(jobs: JobQueue) {
    this.#jobs = jobs;
    jobs.defineQueue({
      name: SYNC_QUEUE,
      retryLimit: 3,
      retryDelay: 60,
      retryBackoff: true,
      expireInSeconds: 3600,
    });
    jobs.defineQueue({ name: SCHEDULE_QUEUE, retryLimit: 0, deadLetter: false });
    jobs.work<SyncJob>(SYNC_QUEUE, {
      concurrency: 1,
      handler: async (job) => {
        const { organizationId, directoryId, trigger, mode } = job.data;
        try {
          const run = await this.sync.run(organizationId, directoryId, { trigger, mode });
          // Transient vendor trouble: let the queue retry with backoff (the retry resumes the run).
          if (run.status === 'failed' && /throttled|upstream|unreachable/.test(run.error?.code ?? '')) {
            throw new Error(`HR sync ${run.id} failed: ${run.error?.message}`);
          }
          return run;
        } catch (error) {
          if (
            error instanceof AppError &&
            (error.code === 'sync_running' || error.code === 'directory_disabled')
          ) {
            this.#logger.info({ directoryId, reason: error.code }, 'HR sync skipped');
            return null;
          }
          throw error;
        }
      },
    });
    jobs.work(SCHEDULE_QUEUE, { concurrency: 1, handler: () => this.enqueueDue() });
    return {
      name: 'hris-sync-schedule',
      start: async () => {
        await jobs.schedule(SCHEDULE_QUEUE, '* * * * *');
        return async () => {};
      },
    };
  }

  /** Queues a sync for each active pull directory whose interval has passed since its last run. */
  async enqueueDue(now = Date.now()): Promise<string[]> {
    const jobs = this.#requireJobs();
    const queued: string[] = [];
    for (const row of await this.#pullDirectories.directoryRows(['hris', 'directory'])) {
      if (row.status !== 'active') continue;
      const interval = parseSettings(row).schedule.intervalMinutes;
      if (!interval) continue;
      const last = await latestRun(this.#database.db, row.organizationId, row.id);
      if (last?.status === 'running') continue;
      if (last && now - last.startedAt.getTime() < interval * 60_000) continue;
      const data: SyncJob = {
        organizationId: row.organizationId,
        directoryId: row.id,
        trigger: 'schedule',
        mode: 'auto',
      };
      await jobs.send(SYNC_QUEUE, data);
      queued.push(row.id);
    }
    return queued;
  }

  #requireJobs(): JobQueue {
    if (!this.#jobs) throw new Error('hris jobs are not registered');
    return this.#jobs;
  }
}
