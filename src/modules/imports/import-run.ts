/**
 * The import job: reads the stored file row by row, in chunks of CHUNK_ROWS, and previews or
 * applies each chunk; then, for a full roster, the people missing from the file. Steps:
 *
 *   countRows -> for each chunk: checkDomains -> loadExisting -> planRow -> (preview) recordOutcomes
 *                                                                       -> (apply) applyChunk
 *             -> rosterDeactivations -> finish
 *
 * An apply chunk is one transaction: its users, memberships and events, its row outcomes and the
 * progress commit together, so a retried job resumes after the last committed row.
 */
import { setImmediate as nextTurnOfEventLoop } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Database, Tx } from '../../platform/db/client.ts';
import { StatisticsKeeper } from '../../platform/db/statistics.ts';
import { AppError, InvalidInput } from '../../platform/errors.ts';
import type { DirectoryService, WriteContext } from '../directory/index.ts';
import type { Actor } from '../events/contracts.ts';
import type { EventLog } from '../events/service.ts';
import type { OrganizationService } from '../orgs/index.ts';
import type { ScimService } from '../scim/index.ts';
import type { ImportField, ResolvedColumn } from './columns.ts';
import type { ImportOptions } from './contracts.ts';
import type { TextEncoding } from './file-format.ts';
import { readStoredFile, storedFileAt } from './file-store.ts';
import {
  countOutcomes,
  deleteFileChunks,
  deleteRowOutcomes,
  type ImportRow,
  insertRowOutcomes,
  maxOutcomeSeq,
  type NewImportRowOutcome,
  updateImport,
} from './repository.ts';
import { type MappedRow, mapRow } from './row-mapping.ts';
import { type GroupRef, planRow, type RowPlan, rejectedPlan } from './row-plan.ts';
import {
  type RawRow,
  readCsvRows,
  sampleText,
  sniffDelimiter,
  type WorkbookInfo,
} from './spreadsheet-reader.ts';
import { readXlsxRows } from './xlsx-reader.ts';

export const CHUNK_ROWS = 1000;

export interface ImportRunDeps {
  database: Database;
  directory: DirectoryService;
  orgs: OrganizationService;
  scim: ScimService;
  events: EventLog;
  logger: Logger;
  maxRows: number;
  /** IMPORT_MAX_UNCOMPRESSED_BYTES: the most one part of a workbook may inflate to. */
  maxPartBytes: number;
}

/** Rows of a stored import file (header first), whichever its format. */
export async function* storedRows(
  database: Database,
  row: Pick<ImportRow, 'organizationId' | 'id' | 'format' | 'encoding' | 'delimiter' | 'sheet' | 'byteSize'>,
  options: { maxPartBytes: number; info?: WorkbookInfo },
): AsyncGenerator<RawRow> {
  const key = { organizationId: row.organizationId, importId: row.id };
  if (row.format === 'xlsx') {
    yield* readXlsxRows(storedFileAt(database, key, row.byteSize), {
      ...(row.sheet ? { sheet: row.sheet } : {}),
      info: options.info ?? { sheets: [] },
      maxPartBytes: options.maxPartBytes,
    });
    return;
  }
  const encoding = (row.encoding ?? 'utf-8') as TextEncoding;
  let delimiter = row.delimiter;
  let sepLine = false;
  const sniffed = sniffDelimiter(await sampleText(readStoredFile(database, key), encoding));
  delimiter ??= sniffed.delimiter;
  sepLine = sniffed.sepLine;
  yield* readCsvRows(readStoredFile(database, key), { encoding, delimiter, sepLine });
}

export class ImportRun {
  readonly #deps: ImportRunDeps;
  #row: ImportRow;
  readonly #options: ImportOptions;
  readonly #columns: ResolvedColumn[];
  readonly #actor: Actor;
  readonly #mode: 'preview' | 'apply';
  /** Lower-cased email -> first row that named it. */
  readonly #seen = new Map<string, number>();
  readonly #domainOwners = new Map<string, string | null>();
  #groups = new Map<string, GroupRef>();
  #lastRowNumber = 1;
  /** A large first import grows these tables from nothing: keep their plans on the keys. */
  #statistics: StatisticsKeeper | undefined;

  constructor(deps: ImportRunDeps, row: ImportRow) {
    this.#deps = deps;
    this.#row = row;
    this.#options = row.options as unknown as ImportOptions;
    this.#columns = row.mapping as unknown as ResolvedColumn[];
    this.#mode = row.mode === 'apply' ? 'apply' : 'preview';
    const by = row.createdBy as { name?: string; id?: string };
    this.#actor = { type: 'import', id: row.id, ...(by.name ? { name: by.name } : {}) };
  }

  async #update(changes: Parameters<typeof updateImport>[3], tx?: Tx): Promise<void> {
    this.#row = await updateImport(
      tx ?? this.#deps.database.db,
      this.#row.organizationId,
      this.#row.id,
      changes,
    );
  }

  async run(): Promise<ImportRow> {
    const { database } = this.#deps;
    const resuming = this.#mode === 'apply' && this.#row.appliedThroughRow > 0;
    await this.#update({
      status: this.#mode === 'apply' ? 'applying' : 'previewing',
      startedAt: new Date(),
      error: null,
      rowsDone: 0,
      ...(resuming ? {} : { counts: {} }),
    });
    if (!resuming) await deleteRowOutcomes(database.db, this.#row.organizationId, this.#row.id);
    if (this.#row.totalRows === null) await this.#countRows();
    this.#groups = new Map(
      (await this.#deps.directory.listAllGroups(this.#row.organizationId)).map((group) => [
        group.name.toLowerCase(),
        group,
      ]),
    );
    this.#statistics = await StatisticsKeeper.forOrganization(
      database.db,
      ['users', 'group_memberships', 'import_rows'],
      this.#row.organizationId,
    );
    await this.#update({ phase: 'rows' });
    await this.#readRows();
    if (this.#options.fullRoster) {
      await this.#update({ phase: 'roster' });
      await this.#rosterDeactivations();
    }
    return this.#finish();
  }

  /** First pass: the number of data rows (the progress total), refused past IMPORT_MAX_ROWS. */
  async #countRows(): Promise<void> {
    await this.#update({ phase: 'counting' });
    let count = -1; // the header row is not a data row
    for await (const _raw of storedRows(this.#deps.database, this.#row, this.#deps)) {
      count++;
      if (count % CHUNK_ROWS === 0) await nextTurnOfEventLoop();
      if (count > this.#deps.maxRows) {
        throw new InvalidInput({
          code: 'import_too_many_rows',
          detail: `The file has more than ${this.#deps.maxRows} rows, the most an import accepts (IMPORT_MAX_ROWS).`,
          field: 'file',
          fix: 'Split the roster into several files, or ask the operator to raise IMPORT_MAX_ROWS.',
        });
      }
    }
    await this.#update({ totalRows: Math.max(count, 0) });
  }

  async #readRows(): Promise<void> {
    const required = (this.#options.required ?? ['email']) as ImportField[];
    let chunk: MappedRow[] = [];
    let pending: Promise<void> = Promise.resolve();
    let header = true;
    let skipped = 0;
    for await (const raw of storedRows(this.#deps.database, this.#row, this.#deps)) {
      if (header) {
        header = false;
        continue;
      }
      this.#lastRowNumber = raw.rowNumber;
      const row = mapRow(raw, this.#columns, required);
      this.#noteEmail(row);
      if (this.#mode === 'apply' && raw.rowNumber <= this.#row.appliedThroughRow) {
        skipped++;
        continue;
      }
      if (skipped && chunk.length === 0 && this.#row.rowsDone === 0)
        await this.#update({ rowsDone: skipped });
      chunk.push(row);
      if (chunk.length >= CHUNK_ROWS) {
        // Parse the next chunk while this one is written: one chunk in flight at a time, in order.
        await pending;
        pending = this.#processChunk(chunk);
        pending.catch(() => {}); // awaited (and rethrown) before the next chunk or at the end
        chunk = [];
      }
    }
    await pending;
    if (chunk.length) await this.#processChunk(chunk);
    if (skipped)
      this.#deps.logger.info({ importId: this.#row.id, skipped }, 'import resumed after committed rows');
  }

  /** Duplicates: the first row with an email is imported, later ones are rejected. */
  #noteEmail(row: MappedRow): void {
    if (!row.email) return;
    const key = row.email.toLowerCase();
    const first = this.#seen.get(key);
    if (first === undefined) {
      this.#seen.set(key, row.rowNumber);
      return;
    }
    row.reasons.push({
      code: 'duplicate_row',
      message: `The email ${row.email} is already on row ${first}; only the first row with it is imported.`,
      field: 'email',
    });
  }

  async #processChunk(rows: MappedRow[]): Promise<void> {
    // The embedded database answers in the same thread, through promises that never leave the
    // microtask queue: without a turn of the event loop between chunks (and between the steps of
    // a chunk), a 20,000-row import held every HTTP request (`/healthz` too) until it finished.
    // Requests that need the database still wait for an open chunk transaction; the others do not.
    await nextTurnOfEventLoop();
    await this.#checkDomains(rows);
    const plans = await this.#planChunk(rows);
    await nextTurnOfEventLoop();
    const last = rows.at(-1)?.rowNumber ?? this.#row.appliedThroughRow;
    if (this.#mode === 'preview') {
      await insertRowOutcomes(
        this.#deps.database.db,
        plans.map((plan) => this.#outcomeOf(plan)),
      );
      await this.#update({ rowsDone: this.#row.rowsDone + rows.length });
      await this.#statistics?.grew({ import_rows: plans.length });
      return;
    }
    await this.#deps.database.transaction(async (tx) => {
      await this.#applyChunk(tx, plans);
      await nextTurnOfEventLoop();
      await insertRowOutcomes(
        tx,
        plans.map((plan) => this.#outcomeOf(plan)),
      );
      await this.#update({ rowsDone: this.#row.rowsDone + rows.length, appliedThroughRow: last }, tx);
    });
    await this.#statistics?.grew({
      import_rows: plans.length,
      users: plans.filter((plan) => plan.outcome === 'created').length,
      group_memberships: plans.reduce((sum, plan) => sum + (plan.userId ? plan.joins.length : 0), 0),
    });
  }

  /** An email whose domain another organization has verified belongs to that organization. */
  async #checkDomains(rows: MappedRow[]): Promise<void> {
    for (const row of rows) {
      if (row.reasons.length || !row.email) continue;
      const domain = row.email.slice(row.email.lastIndexOf('@') + 1).toLowerCase();
      let owner = this.#domainOwners.get(domain);
      if (owner === undefined) {
        owner = (await this.#deps.orgs.findByVerifiedDomain(domain))?.id ?? null;
        this.#domainOwners.set(domain, owner);
      }
      if (owner && owner !== this.#row.organizationId) {
        row.reasons.push({
          code: 'email_domain_of_another_organization',
          message: `${domain} is a verified domain of another organization; its people cannot be imported here.`,
          field: 'email',
        });
      }
    }
  }

  async #planChunk(rows: MappedRow[]): Promise<RowPlan[]> {
    const { directory, scim } = this.#deps;
    const organizationId = this.#row.organizationId;
    const valid = rows.filter((row) => row.reasons.length === 0 && row.email);
    const existing = await directory.findUsersByEmails(
      organizationId,
      valid.map((row) => row.email as string),
    );
    const ids = [...existing.values()].map((user) => user.id);
    const memberships = await directory.membershipsOf(organizationId, ids);
    const deprovisioned = [...existing.values()].filter((user) => user.status === 'deprovisioned');
    const managed = await scim.managedUserIds(
      organizationId,
      deprovisioned.map((user) => user.id),
    );
    const context = {
      groups: this.#groups,
      createGroups: this.#options.createGroups,
      ...(this.#options.group ? { fileGroup: this.#options.group } : {}),
    };
    return rows.map((row) => {
      if (row.reasons.length || !row.email) return rejectedPlan(row);
      const user = existing.get(row.email.toLowerCase());
      return planRow(
        row,
        user
          ? {
              user,
              groupIds: memberships.get(user.id) ?? new Set(),
              managedByDirectory: managed.has(user.id),
            }
          : undefined,
        context,
      );
    });
  }

  /** Writes one chunk through the directory's bulk operations (one event per change). */
  async #applyChunk(tx: Tx, plans: RowPlan[]): Promise<void> {
    const { directory } = this.#deps;
    const organizationId = this.#row.organizationId;
    const ctx: WriteContext = { actor: this.#actor, source: 'import', tx };
    for (const plan of plans) {
      for (const name of plan.newGroups) {
        if (this.#groups.has(name.toLowerCase())) continue;
        const group = await directory.createGroup(organizationId, { name }, ctx);
        this.#groups.set(name.toLowerCase(), { id: group.id, name: group.name });
      }
    }
    const creating = plans.filter((plan) => plan.outcome === 'created' && plan.create);
    await nextTurnOfEventLoop();
    const { created, taken } = await directory.createUsers(
      organizationId,
      creating.map((plan) => plan.create as NonNullable<RowPlan['create']>),
      ctx,
    );
    const createdIds = new Map(created.map((user) => [String(user.email).toLowerCase(), user.id]));
    const takenSet = new Set(taken.map((email) => email.toLowerCase()));
    for (const plan of creating) {
      const email = (plan.email as string).toLowerCase();
      if (takenSet.has(email)) {
        Object.assign(
          plan,
          rejectedPlan(
            { rowNumber: plan.rowNumber, email: plan.email, warnings: plan.warnings } as MappedRow,
            [
              {
                code: 'email_taken',
                message: `Another source created a user with ${plan.email} while the import ran; import the file again to update them.`,
                field: 'email',
              },
            ],
          ),
        );
      } else plan.userId = createdIds.get(email) ?? null;
    }
    await nextTurnOfEventLoop();
    await directory.updateUsers(
      organizationId,
      plans
        .filter((plan) => plan.update && plan.userId)
        .map((plan) => ({ id: plan.userId as string, input: plan.update as NonNullable<RowPlan['update']> })),
      ctx,
    );
    await nextTurnOfEventLoop();
    await directory.setUsersStatus(
      organizationId,
      plans.filter((plan) => plan.reactivate && plan.userId).map((plan) => plan.userId as string),
      'active',
      ctx,
    );
    const joins: Array<{ groupId: string; userId: string }> = [];
    for (const plan of plans) {
      if (plan.outcome === 'rejected' || !plan.userId) continue;
      for (const name of plan.joins) {
        const group = this.#groups.get(name.toLowerCase());
        if (group) joins.push({ groupId: group.id, userId: plan.userId });
      }
    }
    await nextTurnOfEventLoop();
    await directory.addMemberships(organizationId, joins, ctx);
  }

  #outcomeOf(plan: RowPlan): NewImportRowOutcome {
    return {
      organizationId: this.#row.organizationId,
      importId: this.#row.id,
      seq: plan.rowNumber,
      rowNumber: plan.rowNumber,
      outcome: plan.outcome,
      email: plan.email,
      userId: plan.userId,
      reasons: plan.reasons as unknown as Array<Record<string, unknown>>,
      warnings: plan.warnings as unknown as Array<Record<string, unknown>>,
      changes: plan.changes,
    };
  }

  /**
   * Full roster: every active user of the organization whose email is not in the file (on any
   * row, even a rejected one) is deactivated, except users a SCIM directory manages and users
   * without an email. Refused when no row of the file could be imported: a file read with the
   * wrong column would otherwise deactivate everyone.
   */
  async #rosterDeactivations(): Promise<void> {
    const { database, directory, scim } = this.#deps;
    const organizationId = this.#row.organizationId;
    const counts = await countOutcomes(database.db, organizationId, this.#row.id);
    const accepted = (counts.created ?? 0) + (counts.updated ?? 0) + (counts.unchanged ?? 0);
    if (accepted === 0) {
      throw new InvalidInput({
        code: 'import_roster_without_valid_rows',
        detail:
          'The file is declared a full roster but none of its rows can be imported; nobody is deactivated.',
        field: 'fullRoster',
        fix: 'Fix the rejected rows (see the preview), or import without fullRoster.',
      });
    }
    let seq =
      Math.max(this.#lastRowNumber, await maxOutcomeSeq(database.db, organizationId, this.#row.id)) + 1;
    let after: string | undefined;
    const ctx = { actor: this.#actor, source: 'import' };
    while (true) {
      const page = await directory.listUserEmails(organizationId, {
        status: 'active',
        limit: CHUNK_ROWS,
        ...(after ? { after } : {}),
      });
      if (page.length === 0) break;
      after = page.at(-1)?.id;
      const missing = page.filter((user) => user.email && !this.#seen.has(user.email.toLowerCase()));
      const managed = await scim.managedUserIds(
        organizationId,
        missing.map((user) => user.id),
      );
      const leaving = missing.filter((user) => !managed.has(user.id));
      if (leaving.length === 0) continue;
      const outcomes: NewImportRowOutcome[] = leaving.map((user) => ({
        organizationId,
        importId: this.#row.id,
        seq: seq++,
        rowNumber: null,
        outcome: 'deactivated',
        email: user.email,
        userId: user.id,
        reasons: [],
        warnings: [],
        changes: ['status'],
      }));
      if (this.#mode === 'preview') {
        await insertRowOutcomes(database.db, outcomes);
        continue;
      }
      await database.transaction(async (tx) => {
        await directory.setUsersStatus(
          organizationId,
          leaving.map((user) => user.id),
          'deprovisioned',
          { ...ctx, tx },
        );
        await insertRowOutcomes(tx, outcomes);
      });
    }
  }

  async #finish(): Promise<ImportRow> {
    const { database, events } = this.#deps;
    const organizationId = this.#row.organizationId;
    const counts = await countOutcomes(database.db, organizationId, this.#row.id);
    if (this.#mode === 'preview') {
      await this.#update({
        status: 'previewed',
        phase: 'done',
        rowsDone: this.#row.totalRows ?? this.#row.rowsDone,
        counts,
        previewCounts: counts,
        finishedAt: new Date(),
      });
      return this.#row;
    }
    await database.transaction(async (tx) => {
      await this.#update(
        {
          status: 'applied',
          phase: 'done',
          rowsDone: this.#row.totalRows ?? this.#row.rowsDone,
          counts,
          finishedAt: new Date(),
          fileDeletedAt: new Date(),
        },
        tx,
      );
      await deleteFileChunks(tx, organizationId, this.#row.id);
      await events.append(tx, {
        organizationId,
        type: 'import.applied',
        actor: this.#actor,
        subjectType: 'import',
        subjectId: this.#row.id,
        data: { import: { id: this.#row.id, filename: this.#row.filename, counts } },
      });
    });
    return this.#row;
  }
}

/** The error an import records when it fails: its own message for a bad file, a generic one otherwise. */
export function failureOf(error: unknown): Record<string, unknown> {
  if (error instanceof AppError) {
    return {
      code: error.code,
      detail: error.detail,
      ...(error.field ? { field: error.field } : {}),
      ...(error.fix ? { fix: error.fix } : {}),
    };
  }
  return {
    code: 'import_failed',
    detail: 'The import stopped on an internal error; the changes of the rows already applied are kept.',
    fix: 'Retry the apply; it resumes after the last applied row. If it fails again, check the hub logs.',
  };
}
