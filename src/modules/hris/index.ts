/**
 * The hris module: HR systems and directory pulls (Personio, BambooHR, ... through
 * `src/connectors/`), their sync into canonical profiles and users, matching, and the coaching
 * context API.
 */
import type { Logger } from 'pino';
import type { HrClientEnvironment } from '../../connectors/hris-contract.ts';
import type { Database, Tx } from '../../platform/db/client.ts';
import { AppError, Conflict, NotFound } from '../../platform/errors.ts';
import type { JobQueue } from '../../platform/jobs/index.ts';
import type { SecretBox } from '../../platform/secret-box.ts';
import type { DirectoriesService, DirectoryService } from '../directory/index.ts';
import type { Actor } from '../events/contracts.ts';
import type { EventLog } from '../events/service.ts';
import type { OrganizationService } from '../orgs/service.ts';
import { HrisContextService } from './context.ts';
import { HrisDirectoryService, parseSettings } from './directories.ts';
import {
  directoryFootprint,
  findRun,
  latestRun,
  listRecords,
  listRuns,
  recordBySourceId,
  upsertRecords,
} from './repository.ts';
import { HrisSettingsService } from './settings.ts';
import { HrisSyncEngine, STALE_RUN_MS, type SyncMode, toRunView } from './sync.ts';

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

  /**
   * Deletes an HR or directory pull: its records and sync runs go with it; the users it matched or
   * created stay (with their status, groups and HR attributes, so rules and logins keep working),
   * but their HR profile no longer names it as source and its external id is removed. A running
   * sync must finish first. One `directory.deleted` event, and a `user.updated` per detached user.
   */
  async deleteDirectory(
    organizationIdOrSlug: string,
    directoryId: string,
    actor: Actor,
  ): Promise<{ recordsRemoved: number; usersDetached: number }> {
    const checked = await this.directories.row(organizationIdOrSlug, directoryId);
    const result = await this.#database.transaction(async (tx) => {
      const row = await this.#pullDirectories.directoryRow(tx, checked.organizationId, directoryId, true);
      const running = await latestRun(tx, row.organizationId, directoryId);
      if (running?.status === 'running' && Date.now() - running.heartbeatAt.getTime() < STALE_RUN_MS) {
        throw new Conflict({
          code: 'sync_running',
          detail: `A sync of directory ${directoryId} is running (run ${running.id}).`,
          fix: 'Wait for it to finish (see its progress under Sync history), then delete the directory.',
          extra: { runId: running.id },
        });
      }
      const footprint = await directoryFootprint(tx, row.organizationId, directoryId);
      const usersDetached = await this.#detachUsers(
        tx,
        row.organizationId,
        directoryId,
        footprint.userIds,
        actor,
      );
      await this.#pullDirectories.deletePullDirectory(tx, row.organizationId, directoryId);
      await this.#events.append(tx, {
        organizationId: row.organizationId,
        type: 'directory.deleted',
        actor,
        subjectType: 'directory',
        subjectId: directoryId,
        data: {
          directory: this.directories.toView(row),
          recordsRemoved: footprint.records,
          usersDetached,
        },
      });
      return { recordsRemoved: footprint.records, usersDetached };
    });
    this.context.invalidateOrganization(checked.organizationId);
    return result;
  }

  /** Users whose HR profile came from this directory keep it, without its `source`; its external id goes. */
  async #detachUsers(
    tx: Tx,
    organizationId: string,
    directoryId: string,
    userIds: readonly string[],
    actor: Actor,
  ): Promise<number> {
    let detached = 0;
    for (let start = 0; start < userIds.length; start += 200) {
      const updates = [];
      for (const userId of userIds.slice(start, start + 200)) {
        const user = await this.#directory.getUserInOrganization(organizationId, userId, tx);
        if (!user) continue;
        const hr = user.profile.hr;
        const fromHere =
          hr &&
          typeof hr === 'object' &&
          (hr as { source?: { directoryId?: unknown } }).source?.directoryId === directoryId;
        const externalKey = `hris:${directoryId}`;
        if (!fromHere && !(externalKey in user.externalIds)) continue;
        const { source: _detached, ...kept } = (fromHere ? hr : {}) as Record<string, unknown>;
        updates.push({
          id: userId,
          input: {
            externalIds: { [externalKey]: null },
            ...(fromHere ? { profile: { hr: kept } } : {}),
          },
        });
      }
      const changed = await this.#directory.updateUsers(organizationId, updates, {
        tx,
        actor,
        source: 'hris',
      });
      detached += changed.length;
    }
    return detached;
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
            (error.code === 'sync_running' ||
              error.code === 'directory_disabled' ||
              // Deleted since the job was queued.
              error.code === 'directory_not_found')
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
