/**
 * The sync engine: reads a pull directory through its connector and applies what changed.
 *
 * A run is a short pipeline of named steps:
 *   `beginRun` (one run per directory at a time; resume a failed run from its checkpoint, else
 *   choose full or incremental) → `applyPage` per page (in one transaction with the run's
 *   checkpoint: map, hash, skip unchanged, match, create joiners, update profiles, leavers) →
 *   `detectDeletions` (full runs: what the source no longer returns) → `applyDueTerminations`
 *   (termination dates that have come) → `finishRun` (or `failRun`, which keeps the checkpoint).
 *
 * An unchanged record is recognised by the SHA-256 of its canonical form and costs no write and no
 * event, so an unchanged resync writes nothing but its run's bookkeeping. Every user change goes
 * through the directory service, which writes the usual `user.*` events in the same transaction:
 * provisioning rules see HR joiners, movers and leavers like any other change.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import {
  type CanonicalEmployee,
  type EmployeePage,
  type HrClientEnvironment,
  HrConnectorError,
  type SourceGroup,
} from '../../connectors/hris-contract.ts';
import { hrConnector } from '../../connectors/hris-registry.ts';
import { type Database, failureMessage, type Tx } from '../../platform/db/client.ts';
import { StatisticsKeeper } from '../../platform/db/statistics.ts';
import { Conflict, InvalidInput } from '../../platform/errors.ts';
import { newId } from '../../platform/ids.ts';
import type { DirectoriesService, DirectoryRow, DirectoryService } from '../directory/index.ts';
import type { Actor } from '../events/contracts.ts';
import type { EventLog } from '../events/service.ts';
import type { HrisDirectorySettings, HrisSyncState, SyncRunView } from './contracts.ts';
import { type HrisDirectoryService, type OpenedDirectory, parseSettings } from './directories.ts';
import { type MatchResult, matchEmployees } from './matching.ts';
import {
  dueTerminations,
  EMPTY_STATS,
  insertRun,
  latestRun,
  liveSourceIds,
  type NewRecordRow,
  type RecordRow,
  type RunRow,
  recordHashes,
  recordsBySourceIds,
  updateRun,
  upsertRecords,
} from './repository.ts';
import type { StoredEmployee, SyncRunStats } from './schema.ts';
import type { HrisSettingsService } from './settings.ts';

/** A running run whose heartbeat is older than this is considered dead (its process stopped). */
export const STALE_RUN_MS = 3 * 60_000;
/** Heartbeat (and checkpoint of pages that wrote nothing) at most this often. */
const HEARTBEAT_MS = 20_000;
/** A failed run is resumed at most this many times; then the next sync starts over. */
const MAX_ATTEMPTS = 5;
/** Deletions are applied in transactions of this many records. */
const DELETION_CHUNK = 500;
/** The deletion guard applies only above this many deletions. */
const DELETION_GUARD_MINIMUM = 10;

export type SyncMode = 'auto' | 'full' | 'incremental';

export interface RunOptions {
  trigger: 'schedule' | 'manual';
  mode?: SyncMode;
  /** Connector environment for this run (tests: instant waits). */
  env?: HrClientEnvironment;
  /** Page size hint passed to the connector. */
  pageSize?: number;
}

interface RunContext {
  run: RunRow;
  directory: DirectoryRow;
  opened: OpenedDirectory;
  settings: HrisDirectorySettings;
  matchBy: string[];
  actor: Actor;
  stats: SyncRunStats;
  /** Source ids read by this run (full runs: the base of deletion detection). */
  seen: Set<string>;
  /** Users whose context changed (cache invalidation after commit). */
  touchedUsers: Set<string>;
  today: string;
  now: Date;
  wroteSomething: boolean;
}

export class HrisSyncEngine {
  readonly #database: Database;
  readonly #directories: DirectoriesService;
  readonly #hrisDirectories: HrisDirectoryService;
  readonly #directory: DirectoryService;
  readonly #events: EventLog;
  readonly #settings: HrisSettingsService;
  readonly #logger: Logger;
  readonly #onUsersChanged: (organizationId: string, userIds: readonly string[]) => void;

  constructor(deps: {
    database: Database;
    directories: DirectoriesService;
    hrisDirectories: HrisDirectoryService;
    directory: DirectoryService;
    events: EventLog;
    settings: HrisSettingsService;
    logger: Logger;
    onUsersChanged: (organizationId: string, userIds: readonly string[]) => void;
  }) {
    this.#database = deps.database;
    this.#directories = deps.directories;
    this.#hrisDirectories = deps.hrisDirectories;
    this.#directory = deps.directory;
    this.#events = deps.events;
    this.#settings = deps.settings;
    this.#logger = deps.logger.child({ component: 'hris-sync' });
    this.#onUsersChanged = deps.onUsersChanged;
  }

  /** Runs (or resumes) a sync of one directory to its end; returns the run. Failures are recorded on it. */
  async run(organizationId: string, directoryId: string, options: RunOptions): Promise<SyncRunView> {
    const { run, directory } = await this.beginRun(organizationId, directoryId, options);
    let opened: OpenedDirectory;
    let orgSettings: Awaited<ReturnType<HrisSettingsService['get']>>;
    try {
      opened = this.#hrisDirectories.open(directory, options.env);
      orgSettings = await this.#settings.get(organizationId);
    } catch (error) {
      // Unusable settings or credentials: the run fails at once instead of looking alive until stale.
      const failure = {
        code: 'hris_configuration',
        message: error instanceof Error ? error.message : String(error),
        at: new Date().toISOString(),
      };
      await updateRun(this.#database.db, organizationId, run.id, {
        status: 'failed',
        error: failure,
        attempts: MAX_ATTEMPTS,
      });
      return toRunView({ ...run, status: 'failed', error: failure, attempts: MAX_ATTEMPTS });
    }
    const now = new Date();
    const ctx: RunContext = {
      run,
      directory,
      opened,
      settings: opened.settings,
      matchBy: orgSettings.matchBy,
      actor: { type: 'hris', id: directory.id, name: directory.name },
      stats: { ...EMPTY_STATS, ...run.stats },
      seen: new Set(run.seenIds ?? []),
      touchedUsers: new Set(),
      today: now.toISOString().slice(0, 10),
      now,
      wroteSomething: false,
    };
    let checkpoint = run.checkpoint;
    let nextSince: string | undefined;
    let lastPersist = Date.now();
    try {
      // A first sync grows these tables from nothing: keep their plans on the keys (see StatisticsKeeper).
      const statistics = await StatisticsKeeper.forOrganization(
        this.#database.db,
        ['hris_records', 'users'],
        organizationId,
      );
      const pages = readAhead(
        opened.client.readEmployees({
          mode: run.mode as 'full' | 'incremental',
          ...(run.since ? { since: run.since } : {}),
          ...(checkpoint ? { resumeFrom: checkpoint } : {}),
          ...(options.pageSize ? { pageSize: options.pageSize } : {}),
          fields: mappedSourceFields(opened.mapping),
          startedAt: run.startedAt,
        }),
      );
      for await (const page of pages) {
        const before = { records: ctx.stats.created, users: ctx.stats.usersCreated };
        const wrote = await this.#database.transaction(async (tx) => {
          const changed = await this.applyPage(tx, ctx, page);
          ctx.stats.pages++;
          if (changed || Date.now() - lastPersist > HEARTBEAT_MS) {
            // The checkpoint commits with the page's writes: a crash never applies a page twice or skips one.
            await updateRun(tx, organizationId, run.id, {
              checkpoint: page.checkpoint,
              stats: ctx.stats,
              heartbeatAt: new Date(),
            });
            lastPersist = Date.now();
          }
          return changed;
        });
        if (wrote) ctx.wroteSomething = true;
        await statistics.grew({
          hris_records: ctx.stats.created - before.records,
          users: ctx.stats.usersCreated - before.users,
        });
        checkpoint = page.checkpoint;
        if (page.nextSince) nextSince = page.nextSince;
        this.#flushTouched(ctx);
      }
      if (run.mode === 'full') await this.detectDeletions(ctx);
      await this.applyDueTerminations(ctx);
      return await this.finishRun(ctx, nextSince);
    } catch (error) {
      return this.failRun(ctx, checkpoint, error);
    } finally {
      this.#flushTouched(ctx);
    }
  }

  /**
   * One run per directory at a time: under the directory's row lock, refuse when a live run
   * exists, resume a failed (or dead) run from its checkpoint, or start a new one.
   */
  async beginRun(
    organizationId: string,
    directoryId: string,
    options: RunOptions,
  ): Promise<{ run: RunRow; directory: DirectoryRow }> {
    return this.#database.transaction(async (tx) => {
      const directory = await this.#directories.directoryRow(tx, organizationId, directoryId, true);
      if (directory.kind !== 'hris' && directory.kind !== 'directory') {
        throw new InvalidInput({
          code: 'not_a_pull_directory',
          detail: `Directory ${directoryId} is a ${directory.kind} directory; only HR and directory pulls sync.`,
          field: 'id',
        });
      }
      if (directory.status !== 'active') {
        throw new Conflict({
          code: 'directory_disabled',
          detail: `Directory ${directoryId} is disabled.`,
          fix: 'Enable it (PATCH status "active") to sync.',
        });
      }
      const previous = await latestRun(tx, organizationId, directoryId);
      const requested = options.mode ?? 'auto';
      if (previous?.status === 'running' && Date.now() - previous.heartbeatAt.getTime() < STALE_RUN_MS) {
        throw new Conflict({
          code: 'sync_running',
          detail: `A sync of directory ${directoryId} is running (run ${previous.id}).`,
          fix: 'Wait for it to finish; see its progress under .../runs.',
          extra: { runId: previous.id },
        });
      }
      const resumable =
        previous &&
        (previous.status === 'failed' || previous.status === 'running') &&
        previous.attempts < MAX_ATTEMPTS &&
        (requested === 'auto' || requested === previous.mode);
      if (previous && resumable) {
        await updateRun(tx, organizationId, previous.id, {
          status: 'running',
          attempts: previous.attempts + 1,
          heartbeatAt: new Date(),
          error: null,
        });
        return {
          run: { ...previous, status: 'running', attempts: previous.attempts + 1 },
          directory,
        };
      }
      if (previous && (previous.status === 'failed' || previous.status === 'running')) {
        await updateRun(tx, organizationId, previous.id, { status: 'abandoned', finishedAt: new Date() });
      }
      const mode = this.#chooseMode(directory, requested);
      const state = (directory.syncState ?? {}) as HrisSyncState;
      const run = await insertRun(tx, {
        organizationId,
        id: newId('hrisRun'),
        directoryId,
        mode,
        trigger: options.trigger,
        status: 'running',
        since: mode === 'incremental' ? (state.since ?? null) : null,
        stats: { ...EMPTY_STATS },
      });
      return { run, directory };
    });
  }

  #chooseMode(directory: DirectoryRow, requested: SyncMode): 'full' | 'incremental' {
    const state = (directory.syncState ?? {}) as HrisSyncState;
    const connector = hrConnector(directory.provider);
    if (!connector) {
      throw new InvalidInput({
        code: 'unknown_connector',
        detail: `Directory ${directory.id} names connector "${directory.provider}", which this hub does not have.`,
        field: 'provider',
      });
    }
    const incrementalPossible = connector.manifest.incremental.supported && Boolean(state.since);
    if (requested === 'incremental') {
      if (!incrementalPossible) {
        throw new InvalidInput({
          code: 'incremental_unavailable',
          detail: connector.manifest.incremental.supported
            ? 'This directory has not completed a sync yet, so there is nothing to increment from.'
            : `${connector.manifest.displayName} has no incremental reads.`,
          field: 'mode',
          fix: 'Run a full sync (mode "full" or "auto").',
        });
      }
      return 'incremental';
    }
    if (requested === 'full' || !incrementalPossible) return 'full';
    const settings = parseSettings(directory);
    const lastFull = state.lastFullSyncAt ? Date.parse(state.lastFullSyncAt) : 0;
    return Date.now() - lastFull >= settings.schedule.fullSyncEveryHours * 3600_000 ? 'full' : 'incremental';
  }

  /** Applies one page; returns whether it wrote anything. */
  async applyPage(tx: Tx, ctx: RunContext, page: EmployeePage): Promise<boolean> {
    const { organizationId, id: directoryId } = ctx.directory;
    const employees = new Map<string, CanonicalEmployee>();
    for (const record of page.records) {
      employees.set(record.sourceId, ctx.opened.connector.mapToCanonical(record, ctx.opened.mapping));
    }
    ctx.stats.read += employees.size;
    const known = new Map(
      (await recordHashes(tx, organizationId, directoryId, [...employees.keys()])).map((row) => [
        row.sourceId,
        row,
      ]),
    );
    const changed: Array<{ employee: CanonicalEmployee; hash: string }> = [];
    const waiting: Array<{ employee: CanonicalEmployee; hash: string }> = [];
    for (const [sourceId, employee] of employees) {
      ctx.seen.add(sourceId);
      const hash = hashEmployee(employee);
      const before = known.get(sourceId);
      if (before && before.hash === hash && !before.deleted) {
        // Unchanged. A record still waiting for its user is matched again (a user may have appeared).
        if (!before.userId) waiting.push({ employee, hash });
        else ctx.stats.unchanged++;
        continue;
      }
      changed.push({ employee, hash });
    }
    // Full rows only for the records that may be written.
    const needed = [...changed, ...waiting]
      .map((item) => item.employee.sourceId)
      .filter((id) => known.has(id));
    const existing = new Map(
      (await recordsBySourceIds(tx, organizationId, directoryId, needed)).map((row) => [row.sourceId, row]),
    );
    const pending: Array<{ employee: CanonicalEmployee; hash: string; before: RecordRow | undefined }> =
      changed.map((item) => ({ ...item, before: existing.get(item.employee.sourceId) }));
    const rematch = waiting.map((item) => ({
      ...item,
      before: existing.get(item.employee.sourceId) as RecordRow,
    }));

    const toMatch = [...pending.filter((item) => !item.before?.userId), ...rematch];
    const matches = await matchEmployees(tx, {
      directory: this.#directory,
      organizationId,
      directoryId,
      matchBy: ctx.matchBy,
      employees: toMatch.map((item) => item.employee),
    });
    const created = await this.#createJoiners(tx, ctx, toMatch, matches);

    const rows: NewRecordRow[] = [];
    for (const item of rematch) {
      const match = matches.get(item.employee.sourceId) as MatchResult;
      const user = created.get(item.employee.sourceId);
      const unchangedOutcome =
        !user &&
        match.status === item.before.matchStatus &&
        JSON.stringify(match.detail ?? null) === JSON.stringify(item.before.matchDetail ?? null);
      if (unchangedOutcome) {
        ctx.stats.unchanged++;
        this.#countMatch(ctx, item.before.matchStatus);
        continue;
      }
      pending.push({ employee: item.employee, hash: item.hash, before: item.before });
    }
    for (const item of pending) {
      const { employee, before } = item;
      const match = matches.get(employee.sourceId);
      const createdUser = created.get(employee.sourceId);
      const userId = before?.userId ?? createdUser?.id ?? (match?.status === 'matched' ? match.userId : null);
      const matchStatus = before?.userId
        ? before.matchStatus
        : createdUser
          ? 'created'
          : (match?.status ?? 'unmatched');
      const stored = toStored(employee);
      const fieldChangedAt = changedFields(before, stored, ctx.now);
      let deactivatedUser = before?.deactivatedUser ?? false;
      // A user created from this record already has its profile and is active (leavers are not created).
      if (userId && !createdUser) {
        deactivatedUser = await this.#applyToUser(tx, ctx, userId, employee, stored, before);
      }
      if (userId) ctx.touchedUsers.add(userId);
      this.#noteManagerChange(ctx, before, stored);
      if (!before) ctx.stats.created++;
      else ctx.stats.updated++;
      if (!userId) this.#countMatch(ctx, matchStatus);
      rows.push({
        organizationId,
        directoryId,
        sourceId: employee.sourceId,
        userId,
        matchStatus,
        matchDetail: userId ? null : (match?.detail ?? null),
        employee: stored,
        fieldChangedAt,
        hash: item.hash,
        deactivatedUser,
        changedAt: ctx.now,
        deletedAt: null,
        // New records: first seen at the same instant as their fields' change times (see context facts).
        firstSeenAt: before?.firstSeenAt ?? ctx.now,
      });
    }
    await upsertRecords(tx, rows);
    const deleted = page.deletedIds?.length ? await this.#applyDeletions(tx, ctx, page.deletedIds) : 0;
    const groupsChanged = page.groups?.length ? await this.#applyGroups(tx, ctx, page.groups) : false;
    return rows.length > 0 || deleted > 0 || groupsChanged;
  }

  /**
   * Groups a directory source reports (Google Workspace, Graph): each becomes (or links to, by
   * name) a Switchboard group, and its members *from this source* follow the source's list or
   * delta. Members are the users matched to the member records (records read in this or earlier
   * pages; connectors send groups after the people in them). Members added by anyone else stay.
   * A group the source deleted loses this source's members, and is deleted if this source created it.
   */
  async #applyGroups(tx: Tx, ctx: RunContext, groups: readonly SourceGroup[]): Promise<boolean> {
    const { organizationId, id: directoryId } = ctx.directory;
    const key = `dir:${directoryId}`;
    const writeCtx = { tx, actor: ctx.actor, source: `hris:${directoryId}` };
    const memberSourceIds = new Set<string>();
    for (const group of groups) {
      for (const id of [
        ...(group.memberIds ?? []),
        ...(group.membersDelta?.added ?? []),
        ...(group.membersDelta?.removed ?? []),
      ])
        memberSourceIds.add(id);
    }
    const userOf = new Map<string, string>();
    for (const row of await recordHashes(tx, organizationId, directoryId, [...memberSourceIds])) {
      if (row.userId && !row.deleted) userOf.set(row.sourceId, row.userId);
    }
    const users = (ids: readonly string[] | undefined) =>
      (ids ?? []).map((id) => userOf.get(id)).filter((id): id is string => Boolean(id));
    let wrote = false;
    for (const group of groups) {
      let target =
        (await this.#directory.findGroupByExternalId(organizationId, key, group.sourceId, tx)) ??
        (group.removed ? undefined : await this.#directory.findGroupByName(organizationId, group.name, tx));
      if (group.removed) {
        if (!target) continue;
        if (target.source === 'hris' && target.externalIds[key] === group.sourceId) {
          await this.#directory.deleteGroup(target.id, writeCtx);
          wrote = true;
        } else {
          const { removed } = await this.#directory.setMembersFromSource(target.id, [], writeCtx);
          if (removed.length) wrote = true;
        }
        continue;
      }
      if (!target) {
        target = await this.#directory.createGroup(
          organizationId,
          { name: group.name, externalIds: { [key]: group.sourceId } },
          { ...writeCtx, source: 'hris' },
        );
        wrote = true;
      } else if (target.externalIds[key] === group.sourceId && target.name !== group.name) {
        const taken = await this.#directory.findGroupByName(organizationId, group.name, tx);
        if (!taken) {
          await this.#directory.updateGroup(target.id, { name: group.name }, writeCtx);
          wrote = true;
        }
      }
      let wanted: string[];
      if (group.memberIds) {
        wanted = users(group.memberIds);
      } else if (group.membersDelta) {
        const current = new Set(await this.#directory.memberIdsFromSource(target.id, writeCtx.source, tx));
        for (const id of users(group.membersDelta.added)) current.add(id);
        for (const id of users(group.membersDelta.removed)) current.delete(id);
        wanted = [...current];
      } else {
        continue;
      }
      const { added, removed } = await this.#directory.setMembersFromSource(target.id, wanted, writeCtx);
      if (added.length || removed.length) {
        wrote = true;
        for (const id of [...added, ...removed]) ctx.touchedUsers.add(id);
      }
    }
    return wrote;
  }

  /**
   * Joiners: users made from unmatched records when the directory says so (one batch per page).
   * Leavers get none, and neither do pre-hires until their start date (see isPreHire): their
   * record stays unmatched (`pre_hire`) and is matched again on each sync that reads it.
   */
  async #createJoiners(
    tx: Tx,
    ctx: RunContext,
    candidates: ReadonlyArray<{ employee: CanonicalEmployee }>,
    matches: Map<string, MatchResult>,
  ) {
    const created = new Map<string, { id: string }>();
    if (ctx.settings.joiners !== 'create') return created;
    const inputs = [];
    for (const { employee } of candidates) {
      const match = matches.get(employee.sourceId);
      const email = employee.fields.workEmail;
      if (match?.status !== 'unmatched' || typeof email !== 'string' || isLeaver(employee, ctx.today))
        continue;
      if (isPreHire(employee, ctx.today)) {
        matches.set(employee.sourceId, { status: 'unmatched', detail: { reason: 'pre_hire' } });
        continue;
      }
      const names = nameFields(employee);
      inputs.push({
        key: employee.sourceId,
        email,
        ...names,
        externalIds: externalIdsFor(ctx.directory.id, employee),
        profile: { hr: hrProfile(ctx.directory, toStored(employee), employee.sourceId) },
      });
    }
    if (!inputs.length) return created;
    const result = await this.#directory.createUsersKeyed(ctx.directory.organizationId, inputs, {
      tx,
      actor: ctx.actor,
      source: 'hris',
    });
    for (const [key, user] of result.created) {
      created.set(key, user);
      ctx.stats.usersCreated++;
    }
    for (const [key, reason] of result.refused) {
      matches.set(key, { status: 'unmatched', detail: { reason } });
    }
    return created;
  }

  /**
   * Writes the HR profile to the user and moves their status: a leaver is deprovisioned, a
   * rehire whom HR deactivated is reactivated. Returns whether HR now holds the user deactivated.
   */
  async #applyToUser(
    tx: Tx,
    ctx: RunContext,
    userId: string,
    employee: CanonicalEmployee,
    stored: StoredEmployee,
    before: RecordRow | undefined,
  ): Promise<boolean> {
    const writeCtx = { tx, actor: ctx.actor, source: 'hris' };
    let deactivated = before?.deactivatedUser ?? false;
    const user = await this.#directory.getUserInOrganization(ctx.directory.organizationId, userId, tx);
    if (!user) return false;
    const ownsNames = before?.matchStatus === 'created' || user.source === 'hris';
    const updated = await this.#directory.updateUser(
      userId,
      {
        profile: { hr: hrProfile(ctx.directory, stored, employee.sourceId) },
        externalIds: externalIdsFor(ctx.directory.id, employee),
        ...(ownsNames ? nameFields(employee) : {}),
      },
      writeCtx,
    );
    if (updated.version !== user.version) ctx.stats.usersUpdated++;
    if (ctx.settings.leavers !== 'deactivate') return deactivated;
    const leaver = isLeaver(employee, ctx.today);
    if (leaver && user.status === 'active') {
      await this.#directory.setUserStatus(userId, 'deprovisioned', writeCtx);
      ctx.stats.usersDeactivated++;
      deactivated = true;
    } else if (!leaver && deactivated && user.status === 'deprovisioned') {
      await this.#directory.setUserStatus(userId, 'active', writeCtx);
      ctx.stats.usersReactivated++;
      deactivated = false;
    } else if (!leaver) {
      deactivated = false;
    }
    return deactivated;
  }

  /** Records the source removed: marked deleted; their users deprovisioned (leavers policy). */
  async #applyDeletions(tx: Tx, ctx: RunContext, sourceIds: readonly string[]): Promise<number> {
    const { organizationId, id: directoryId } = ctx.directory;
    const rows = await recordsBySourceIds(tx, organizationId, directoryId, sourceIds);
    const updates: NewRecordRow[] = [];
    for (const row of rows) {
      if (row.deletedAt) continue;
      let deactivatedUser = row.deactivatedUser;
      if (row.userId && ctx.settings.leavers === 'deactivate') {
        const user = await this.#directory.getUserInOrganization(organizationId, row.userId, tx);
        if (user?.status === 'active') {
          await this.#directory.setUserStatus(row.userId, 'deprovisioned', {
            tx,
            actor: ctx.actor,
            source: 'hris',
          });
          ctx.stats.usersDeactivated++;
          deactivatedUser = true;
        }
      }
      if (row.userId) ctx.touchedUsers.add(row.userId);
      this.#noteManagerChange(ctx, row, undefined);
      updates.push({ ...row, deactivatedUser, deletedAt: ctx.now, changedAt: ctx.now });
      ctx.stats.deleted++;
    }
    await upsertRecords(tx, updates);
    return updates.length;
  }

  /**
   * Full runs: records the source did not return are deleted there. A run that would delete more
   * than `maxDeletionRatio` of the known records fails instead (an emptied report, a revoked
   * permission or a filtered view is not a mass leave).
   */
  async detectDeletions(ctx: RunContext): Promise<void> {
    const { organizationId, id: directoryId } = ctx.directory;
    const live = await liveSourceIds(this.#database.db, organizationId, directoryId);
    const missing = live.filter((sourceId) => !ctx.seen.has(sourceId));
    if (!missing.length) return;
    if (
      missing.length > DELETION_GUARD_MINIMUM &&
      missing.length > live.length * ctx.settings.maxDeletionRatio
    ) {
      throw new HrConnectorError(
        'invalid_response',
        `The full read returned ${ctx.seen.size} people but ${missing.length} of the ${live.length} known ones are missing, more than the directory's maxDeletionRatio (${ctx.settings.maxDeletionRatio}). Nothing was deleted.`,
      );
    }
    for (let index = 0; index < missing.length; index += DELETION_CHUNK) {
      const chunk = missing.slice(index, index + DELETION_CHUNK);
      await this.#database.transaction(async (tx) => {
        if ((await this.#applyDeletions(tx, ctx, chunk)) > 0) ctx.wroteSomething = true;
      });
    }
  }

  /** Termination dates that have come since the record last changed: deprovision those users. */
  async applyDueTerminations(ctx: RunContext): Promise<void> {
    if (ctx.settings.leavers !== 'deactivate') return;
    const { organizationId, id: directoryId } = ctx.directory;
    const due = await dueTerminations(this.#database.db, organizationId, directoryId, ctx.today);
    for (const row of due) {
      await this.#database.transaction(async (tx) => {
        const user = await this.#directory.getUserInOrganization(organizationId, row.userId as string, tx);
        if (user?.status === 'active') {
          await this.#directory.setUserStatus(user.id, 'deprovisioned', {
            tx,
            actor: ctx.actor,
            source: 'hris',
          });
          ctx.stats.usersDeactivated++;
          ctx.touchedUsers.add(user.id);
        }
        await upsertRecords(tx, [{ ...row, deactivatedUser: true }]);
        ctx.wroteSomething = true;
      });
    }
  }

  async finishRun(ctx: RunContext, nextSince: string | undefined): Promise<SyncRunView> {
    const { organizationId, id: directoryId } = ctx.directory;
    const finishedAt = new Date();
    return this.#database.transaction(async (tx) => {
      const row = await this.#directories.directoryRow(tx, organizationId, directoryId, true);
      const state = (row.syncState ?? {}) as HrisSyncState;
      const next: HrisSyncState = {
        ...state,
        since: nextSince ?? state.since,
        lastRunId: ctx.run.id,
        lastRunAt: ctx.run.startedAt.toISOString(),
        lastSuccessAt: finishedAt.toISOString(),
        ...(ctx.run.mode === 'full' ? { lastFullSyncAt: ctx.run.startedAt.toISOString() } : {}),
        lastError: null,
      };
      if (!next.since) delete next.since;
      await this.#directories.updatePullDirectory(tx, organizationId, directoryId, {
        syncState: next as Record<string, unknown>,
      });
      await updateRun(tx, organizationId, ctx.run.id, {
        status: 'succeeded',
        checkpoint: null,
        seenIds: null,
        stats: ctx.stats,
        finishedAt,
        heartbeatAt: finishedAt,
      });
      // Only a run that changed something is an event: an unchanged resync emits none.
      if (ctx.wroteSomething) {
        await this.#events.append(tx, {
          organizationId,
          type: 'hris.sync_completed',
          actor: ctx.actor,
          subjectType: 'directory',
          subjectId: directoryId,
          data: { runId: ctx.run.id, mode: ctx.run.mode, stats: ctx.stats },
        });
      }
      return toRunView({ ...ctx.run, status: 'succeeded', stats: ctx.stats, finishedAt, checkpoint: null });
    });
  }

  async failRun(ctx: RunContext, checkpoint: string | null, error: unknown): Promise<SyncRunView> {
    const { organizationId, id: directoryId } = ctx.directory;
    const at = new Date();
    const failure = {
      code: error instanceof HrConnectorError ? `hris_${error.kind}` : 'hris_sync_error',
      message: failureMessage(error),
      at: at.toISOString(),
      page: ctx.stats.pages + 1,
    };
    this.#logger.warn({ organizationId, directoryId, runId: ctx.run.id, error: failure }, 'HR sync failed');
    await this.#database.transaction(async (tx) => {
      const row = await this.#directories.directoryRow(tx, organizationId, directoryId, true);
      const state = (row.syncState ?? {}) as HrisSyncState;
      await this.#directories.updatePullDirectory(tx, organizationId, directoryId, {
        syncState: {
          ...state,
          lastRunId: ctx.run.id,
          lastRunAt: ctx.run.startedAt.toISOString(),
          lastError: failure,
        },
      });
      await updateRun(tx, organizationId, ctx.run.id, {
        status: 'failed',
        checkpoint,
        // A resumed full run still needs to know whom the failed attempt had read, to detect deletions.
        seenIds: ctx.run.mode === 'full' ? [...ctx.seen] : null,
        stats: ctx.stats,
        error: failure,
        heartbeatAt: at,
      });
      await this.#events.append(tx, {
        organizationId,
        type: 'hris.sync_failed',
        actor: ctx.actor,
        subjectType: 'directory',
        subjectId: directoryId,
        data: { runId: ctx.run.id, error: failure, resumable: true },
      });
    });
    return toRunView({ ...ctx.run, status: 'failed', stats: ctx.stats, error: failure, checkpoint });
  }

  #countMatch(ctx: RunContext, status: string): void {
    if (status === 'unmatched') ctx.stats.unmatched++;
    if (status === 'ambiguous') ctx.stats.ambiguous++;
  }

  /** A person's manager changed: both managers' team facts change (cache invalidation by source id). */
  #noteManagerChange(
    ctx: RunContext,
    before: RecordRow | undefined,
    after: StoredEmployee | undefined,
  ): void {
    const old = before?.employee.fields.manager;
    const now = after?.fields.manager;
    if (old === now) return;
    for (const sourceId of [old, now]) {
      if (typeof sourceId === 'string') ctx.touchedUsers.add(`source:${ctx.directory.id}:${sourceId}`);
    }
  }

  #flushTouched(ctx: RunContext): void {
    if (!ctx.touchedUsers.size) return;
    this.#onUsersChanged(ctx.directory.organizationId, [...ctx.touchedUsers]);
    ctx.touchedUsers.clear();
  }
}

export function toRunView(
  row: Pick<
    RunRow,
    | 'id'
    | 'directoryId'
    | 'mode'
    | 'trigger'
    | 'status'
    | 'attempts'
    | 'stats'
    | 'error'
    | 'startedAt'
    | 'finishedAt'
    | 'checkpoint'
  >,
): SyncRunView {
  return {
    id: row.id,
    directoryId: row.directoryId,
    mode: row.mode as SyncRunView['mode'],
    trigger: row.trigger as SyncRunView['trigger'],
    status: row.status as SyncRunView['status'],
    attempts: row.attempts,
    resumable: row.status === 'failed' && row.attempts < MAX_ATTEMPTS,
    stats: { ...EMPTY_STATS, ...row.stats },
    error: row.error ?? null,
    startedAt: row.startedAt.toISOString(),
    finishedAt: row.finishedAt?.toISOString() ?? null,
  };
}

/**
 * Reads the next page while the current one is applied (the vendor's latency and the database's
 * overlap). A failed read surfaces after the current page has committed, so the checkpoint stays
 * exact.
 */
async function* readAhead<T>(source: AsyncIterable<T>): AsyncGenerator<T> {
  const iterator = source[Symbol.asyncIterator]();
  let next = iterator.next();
  try {
    for (;;) {
      const result = await next;
      if (result.done) return;
      next = iterator.next();
      // Observed when awaited on the next turn; this only keeps an early failure from being "unhandled".
      next.catch(() => {});
      yield result.value;
    }
  } finally {
    await iterator.return?.();
  }
}

/** Source field keys a mapping reads (connectors that must name fields request them). */
function mappedSourceFields(mapping: OpenedDirectory['mapping']): string[] {
  const keys = [...Object.values(mapping.fields), ...Object.values(mapping.custom)];
  return [...new Set(keys.filter((key): key is string => Boolean(key)))];
}

/** SHA-256 of the canonical record with sorted keys: equal content, equal hash. */
export function hashEmployee(employee: CanonicalEmployee): string {
  return createHash('sha256')
    .update(stableJson(toStored(employee)))
    .digest('base64url');
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${stableJson(item)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

function toStored(employee: CanonicalEmployee): StoredEmployee {
  const fields: StoredEmployee['fields'] = {};
  for (const [key, value] of Object.entries(employee.fields))
    if (value !== null && value !== undefined) fields[key] = value;
  const custom: StoredEmployee['custom'] = {};
  for (const [key, value] of Object.entries(employee.custom))
    if (value !== null && value !== undefined) custom[key] = value;
  return { fields, custom, ...(employee.jobHistory?.length ? { jobHistory: employee.jobHistory } : {}) };
}

/** When each field last changed after the record was first seen (unchanged fields keep their time). */
function changedFields(
  before: RecordRow | undefined,
  after: StoredEmployee,
  now: Date,
): Record<string, string> {
  const at = now.toISOString();
  const previous = before?.fieldChangedAt ?? {};
  const result: Record<string, string> = {};
  const beforeFields = before?.employee.fields ?? {};
  const beforeCustom = before?.employee.custom ?? {};
  // Only changes after the record was first seen are kept: a field without an entry dates from then.
  if (!before) return result;
  for (const [key, value] of Object.entries(after.fields)) {
    const same = JSON.stringify(beforeFields[key] ?? null) === JSON.stringify(value);
    if (!same) result[key] = at;
    else if (previous[key]) result[key] = previous[key];
  }
  for (const [key, value] of Object.entries(after.custom)) {
    const name = `custom.${key}`;
    const same = JSON.stringify(beforeCustom[key] ?? null) === JSON.stringify(value);
    if (!same) result[name] = at;
    else if (previous[name]) result[name] = previous[name];
  }
  return result;
}

/**
 * A pre-hire: HR has them as `pending` (Personio `onboarding`, Merge `PENDING`) and their start date
 * (else hire date) has not come, or is unknown. Joiners get a user on their start date, not before:
 * a user is access (SSO, provisioning into the LMS) and a pre-hire has none yet.
 */
export function isPreHire(employee: Pick<CanonicalEmployee, 'fields'>, today: string): boolean {
  if (employee.fields.employmentStatus !== 'pending') return false;
  const start = employee.fields.startDate ?? employee.fields.hireDate;
  return typeof start !== 'string' || start > today;
}

/** Inactive in HR, or the termination date has come. */
export function isLeaver(employee: Pick<CanonicalEmployee, 'fields'>, today: string): boolean {
  if (employee.fields.employmentStatus === 'inactive') return true;
  const termination = employee.fields.terminationDate;
  return typeof termination === 'string' && termination <= today;
}

function nameFields(employee: CanonicalEmployee): {
  givenName?: string;
  familyName?: string;
  displayName?: string;
} {
  const text = (value: unknown) => (typeof value === 'string' && value ? value : undefined);
  const givenName = text(employee.fields.firstName);
  const familyName = text(employee.fields.lastName);
  const displayName = text(employee.fields.displayName) ?? text(employee.fields.preferredName);
  return {
    ...(givenName ? { givenName } : {}),
    ...(familyName ? { familyName } : {}),
    ...(displayName ? { displayName } : {}),
  };
}

function externalIdsFor(directoryId: string, employee: CanonicalEmployee): Record<string, string> {
  const ids: Record<string, string> = { [`hris:${directoryId}`]: employee.sourceId };
  const number = employee.fields.employeeNumber;
  if (typeof number === 'string' && number) ids.employee_id = number;
  return ids;
}

/** The HR profile on the user (`profile.hr`): canonical fields, custom attributes, where they came from. */
function hrProfile(
  directory: DirectoryRow,
  stored: StoredEmployee,
  sourceId: string,
): Record<string, unknown> {
  return {
    ...stored.fields,
    custom: stored.custom,
    source: { directoryId: directory.id, provider: directory.provider, sourceId },
  };
}
