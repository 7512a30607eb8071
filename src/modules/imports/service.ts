/**
 * Imports: upload a roster (CSV or .xlsx), preview what it would change (the default), apply it as
 * a job with progress, download the report. The file is stored in the database so any hub process
 * can run the job; changes go through the directory's bulk operations, which write the same events
 * SCIM writes, so provisioning rules react to an imported cohort as to any other.
 */
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { Config } from '../../config.ts';
import type { BackgroundTask } from '../../hub.ts';
import type { Database } from '../../platform/db/client.ts';
import { AppError, Conflict, InvalidInput, NotFound } from '../../platform/errors.ts';
import { newId } from '../../platform/ids.ts';
import type { Job, JobQueue } from '../../platform/jobs/index.ts';
import type { DirectoryService } from '../directory/index.ts';
import type { Actor } from '../events/contracts.ts';
import type { EventLog } from '../events/service.ts';
import type { OrganizationService } from '../orgs/index.ts';
import type { ScimService } from '../scim/index.ts';
import { foldHeader, IMPORT_FIELDS, type ImportField, MappingError, resolveColumns } from './columns.ts';
import {
  type ImportOptions,
  type ImportRowView,
  type ImportView,
  importOptionsSchema,
  mappingRecord,
} from './contracts.ts';
import type { TextEncoding } from './file-format.ts';
import { emptyFile } from './file-format.ts';
import { readStoredFile, storeUpload } from './file-store.ts';
import { failureOf, ImportRun, storedRows } from './import-run.ts';
import { csvLine } from './report-csv.ts';
import {
  deleteFileChunks,
  deleteImport,
  findApplyInProgress,
  findImport,
  findMapping,
  findStaleFiles,
  type ImportRow,
  type ImportRowOutcome,
  insertImport,
  listImports,
  listRowOutcomes,
  saveMapping,
  updateImport,
} from './repository.ts';
import { sampleText, sniffDelimiter } from './spreadsheet-reader.ts';

export const IMPORT_QUEUE = 'imports.run';

/** A part of a multipart upload: the file, or a form field. */
export type UploadPart =
  | { type: 'file'; fieldname: string; filename: string; file: Readable }
  | { type: 'field'; fieldname: string; value: unknown };

export interface ImportServiceDeps {
  config: Config;
  database: Database;
  directory: DirectoryService;
  orgs: OrganizationService;
  scim: ScimService;
  events: EventLog;
  jobs: JobQueue;
  logger: Logger;
}

export class ImportService {
  readonly #deps: ImportServiceDeps;
  readonly #logger: Logger;

  constructor(deps: ImportServiceDeps) {
    this.#deps = deps;
    this.#logger = deps.logger.child({ component: 'imports' });
  }

  /** Declares the job queue and its handler; the returned task deletes expired files. */
  registerJobs(): BackgroundTask {
    const { jobs } = this.#deps;
    jobs.defineQueue({
      name: IMPORT_QUEUE,
      retryLimit: 3,
      retryDelay: 10,
      retryBackoff: true,
      expireInSeconds: 3600,
    });
    // Several imports at once: a tenant's big file holds one slot, never the queue. On PostgreSQL
    // at most one per organization (the jobs' group), so a tenant's own imports run one after
    // another. Not on the embedded database: there pg-boss's group-aware fetch, polled every 2 s,
    // took 0.3-0.9 s of the single connection each time (measured: a 3,000-row apply 25% slower),
    // and an embedded hub is one small deployment.
    jobs.work<{ organizationId: string; importId: string }>(IMPORT_QUEUE, {
      concurrency: this.#deps.config.IMPORT_WORKER_CONCURRENCY,
      ...(this.#deps.database.kind === 'embedded' ? {} : { groupConcurrency: 1 }),
      handler: (job) => this.runJob(job),
    });
    return {
      name: 'imports-file-retention',
      start: async () => {
        const run = () =>
          this.deleteExpiredFiles().catch((error) =>
            this.#logger.warn({ err: error }, 'deleting expired import files failed'),
          );
        const timer = setInterval(run, 60 * 60 * 1000);
        timer.unref();
        return async () => clearInterval(timer);
      },
    };
  }

  // Upload

  /**
   * Stores the uploaded file, reads its header row, resolves the column mapping, validates the
   * options, and queues the preview (or, with `dryRun=false`, the apply). Any error removes what
   * was stored: a refused upload leaves nothing behind.
   */
  async upload(
    organizationIdOrSlug: string,
    parts: AsyncIterable<UploadPart>,
    actor: Actor,
  ): Promise<ImportView> {
    const org = await this.#deps.orgs.require(organizationIdOrSlug);
    const fields: Record<string, string> = {};
    let stored: ImportRow | undefined;
    try {
      for await (const part of parts) {
        if (part.type === 'field') {
          fields[part.fieldname] = String(part.value ?? '');
          continue;
        }
        if (part.fieldname !== 'file' || stored) {
          part.file.resume();
          throw new InvalidInput({
            code: 'import_one_file',
            detail: stored
              ? 'The upload holds more than one file.'
              : `Unexpected file field "${part.fieldname}".`,
            field: part.fieldname,
            fix: 'Send exactly one file, in the multipart field named "file".',
          });
        }
        const filename = (part.filename || 'upload').slice(0, 255);
        stored = await insertImport(this.#deps.database.db, {
          organizationId: org.id,
          id: newId('importJob'),
          status: 'uploading',
          filename,
          format: 'csv',
          createdBy: { ...actor },
        });
        const file = await storeUpload(
          this.#deps.database,
          { organizationId: org.id, importId: stored.id },
          filename,
          part.file,
          this.#deps.config.IMPORT_MAX_BYTES,
        );
        stored = await updateImport(this.#deps.database.db, org.id, stored.id, {
          format: file.format,
          byteSize: file.byteSize,
          sha256: file.sha256,
          encoding: file.encoding,
        });
      }
      if (!stored) {
        throw new InvalidInput({
          code: 'import_file_missing',
          detail: 'The upload has no file.',
          field: 'file',
          fix: 'Send the roster as multipart/form-data in a field named "file".',
        });
      }
      return await this.#prepare(stored, fields, actor);
    } catch (error) {
      if (stored) await deleteImport(this.#deps.database.db, org.id, stored.id).catch(() => {});
      if (error instanceof AppError && error.cause !== undefined)
        this.#logRefusal(error, { importId: stored?.id, organizationId: org.id, stage: 'upload' });
      throw error;
    }
  }

  /** A file refused as bad input, logged with the reader's cause (the person sees only the problem). */
  #logRefusal(
    error: AppError,
    context: { importId: string | undefined; organizationId: string; stage: 'upload' | 'job' },
  ): void {
    this.#logger.warn(
      { ...context, code: error.code, detail: error.detail, cause: causeChain(error.cause) },
      'import file refused',
    );
  }

  async #prepare(row: ImportRow, fields: Record<string, string>, actor: Actor): Promise<ImportView> {
    const parsed = importOptionsSchema.safeParse(fields);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = String(issue?.path[0] ?? 'options');
      throw new InvalidInput({
        code: 'import_invalid_option',
        detail: `${field}: ${issue?.message ?? 'invalid value'}`,
        field,
        fix: 'See the upload fields in the API reference (dryRun, fullRoster, sheet, mapping, group, ...).',
      });
    }
    const input = parsed.data;
    const override = input.mapping === undefined ? undefined : parseMapping(input.mapping);
    const required = parseRequired(input.required);
    const saved = await findMapping(this.#deps.database.db, row.organizationId);
    const keepUnmapped = input.keepUnmapped ?? saved?.keepUnmapped ?? false;

    const info = { sheets: [] as string[], sheet: undefined as string | undefined };
    let delimiter: string | null = null;
    if (row.format === 'csv') {
      const sample = await sampleText(
        readStoredFile(this.#deps.database, { organizationId: row.organizationId, importId: row.id }),
        (row.encoding ?? 'utf-8') as TextEncoding,
      );
      delimiter = sniffDelimiter(sample).delimiter;
    }
    const { headers, hasData } = await this.#readHeader({
      ...row,
      delimiter,
      sheet: input.sheet ?? null,
      info,
    });
    if (!headers) throw emptyFile();
    if (!hasData) {
      throw new InvalidInput({
        code: 'import_file_no_rows',
        detail: 'The file has a header row but no people under it.',
        field: 'file',
        fix: 'Add one row per person below the header row.',
      });
    }
    let columns: ReturnType<typeof resolveColumns>;
    try {
      columns = resolveColumns(headers, {
        ...(override ? { override } : {}),
        ...(saved ? { saved: saved.columns } : {}),
        keepUnmapped,
      });
    } catch (error) {
      if (error instanceof MappingError) {
        throw new InvalidInput({
          code: error.code,
          detail: error.message,
          field: error.field,
          fix: error.fix,
        });
      }
      throw error;
    }
    if (!columns.some((column) => column.target === 'email')) {
      throw new InvalidInput({
        code: 'import_no_email_column',
        detail: `No column of the file holds email addresses (its columns: ${headers.filter(Boolean).join(', ') || 'none'}).`,
        field: 'mapping',
        fix: 'Name the column Email or Correo electrónico, or map it: mapping={"<header>": "email"}.',
      });
    }
    for (const field of required) {
      if (!columns.some((column) => column.target === field)) {
        throw new InvalidInput({
          code: 'import_required_column_missing',
          detail: `${field} is required but no column of the file is mapped to it.`,
          field: 'required',
          fix: `Map a column to ${field}, or drop it from required.`,
        });
      }
    }
    if (input.group && !input.createGroups) {
      const group = await this.#deps.directory.findGroupByName(row.organizationId, input.group);
      if (!group) {
        throw new InvalidInput({
          code: 'unknown_group',
          detail: `No group named "${input.group}" in this organization.`,
          field: 'group',
          fix: 'Create the group first, or upload with createGroups=true.',
        });
      }
    }
    const options: ImportOptions = {
      fullRoster: input.fullRoster,
      createGroups: input.createGroups,
      keepUnmapped,
      required,
      ...(input.sheet ? { sheet: input.sheet } : {}),
      ...(input.group ? { group: input.group } : {}),
      ...(override ? { mappingOverride: override } : {}),
    };
    const mode = input.dryRun ? 'preview' : 'apply';
    return this.#deps.database.transaction(async (tx) => {
      if (mode === 'apply') await this.#refuseConcurrentApply(row.organizationId, row.id, tx);
      const updated = await updateImport(tx, row.organizationId, row.id, {
        status: 'queued',
        mode,
        delimiter,
        sheet: info.sheet ?? null,
        sheets: info.sheets,
        headers,
        mapping: columns as unknown as Array<Record<string, unknown>>,
        options: options as unknown as Record<string, unknown>,
      });
      if (input.saveMapping) {
        const savedColumns: Record<string, string> = { ...(saved?.columns ?? {}) };
        for (const column of columns) {
          if (column.origin === 'override' || column.origin === 'detected' || column.origin === 'saved')
            savedColumns[foldHeader(column.header)] = column.target;
        }
        await saveMapping(tx, row.organizationId, savedColumns, keepUnmapped);
        await this.#deps.events.append(tx, {
          organizationId: row.organizationId,
          type: 'import.mapping_saved',
          actor,
          subjectType: 'organization',
          subjectId: row.organizationId,
          data: { columns: savedColumns, keepUnmapped },
        });
      }
      await this.#deps.events.append(tx, {
        organizationId: row.organizationId,
        type: 'import.created',
        actor,
        subjectType: 'import',
        subjectId: row.id,
        data: {
          import: {
            id: row.id,
            filename: row.filename,
            format: row.format,
            byteSize: row.byteSize,
            sha256: row.sha256,
          },
          mode,
          options,
        },
      });
      await this.#deps.jobs.send(
        IMPORT_QUEUE,
        { organizationId: row.organizationId, importId: row.id },
        { tx, group: { id: row.organizationId } },
      );
      return toImportView(updated);
    });
  }

  /** The header row (the first non-empty row) and whether any row follows it. */
  async #readHeader(
    row: ImportRow & { info: { sheets: string[]; sheet?: string | undefined } },
  ): Promise<{ headers: string[] | undefined; hasData: boolean }> {
    let headers: string[] | undefined;
    const info = row.info as { sheets: string[]; sheet?: string };
    for await (const raw of storedRows(this.#deps.database, row, {
      info,
      maxPartBytes: this.#deps.config.IMPORT_MAX_UNCOMPRESSED_BYTES,
    })) {
      if (headers) return { headers, hasData: true };
      headers = raw.cells.map((cell) => cell.trim());
    }
    return { headers, hasData: false };
  }

  async #refuseConcurrentApply(
    organizationId: string,
    importId: string,
    tx?: Parameters<typeof findApplyInProgress>[0],
  ) {
    const running = await findApplyInProgress(tx ?? this.#deps.database.db, organizationId, importId);
    if (running) {
      throw new Conflict({
        code: 'import_apply_in_progress',
        detail: `Import ${running.id} of this organization is being applied.`,
        fix: 'Wait until it finishes (GET its status), then apply this one.',
      });
    }
  }

  // Reading

  async get(organizationIdOrSlug: string, id: string): Promise<ImportView> {
    return toImportView(await this.#require(organizationIdOrSlug, id));
  }

  async list(organizationIdOrSlug: string, query: { after?: string; limit: number }) {
    const org = await this.#deps.orgs.require(organizationIdOrSlug);
    const rows = await listImports(this.#deps.database.db, {
      organizationId: org.id,
      ...query,
      limit: query.limit + 1,
    });
    const page = rows.slice(0, query.limit);
    return {
      data: page.map(toImportView),
      nextCursor: rows.length > query.limit ? (page.at(-1)?.id ?? null) : null,
    };
  }

  async rows(
    organizationIdOrSlug: string,
    id: string,
    query: { outcome?: string; after?: string; limit: number },
  ): Promise<{ data: ImportRowView[]; nextCursor: string | null }> {
    const row = await this.#require(organizationIdOrSlug, id);
    const afterSeq = query.after === undefined ? undefined : Number(query.after);
    if (afterSeq !== undefined && !Number.isInteger(afterSeq)) {
      throw new InvalidInput({
        code: 'invalid_cursor',
        detail: `"${query.after}" is not a cursor of this list.`,
        field: 'after',
        fix: 'Pass the nextCursor of the previous page.',
      });
    }
    const rows = await listRowOutcomes(this.#deps.database.db, {
      organizationId: row.organizationId,
      importId: row.id,
      ...(query.outcome ? { outcome: query.outcome } : {}),
      ...(afterSeq !== undefined ? { afterSeq } : {}),
      limit: query.limit + 1,
    });
    const page = rows.slice(0, query.limit);
    return {
      data: page.map(toRowView),
      nextCursor: rows.length > query.limit ? String(page.at(-1)?.seq) : null,
    };
  }

  /** The report as CSV lines: a summary (counts), a blank line, then one line per row outcome. */
  async *report(organizationIdOrSlug: string, id: string): AsyncGenerator<string> {
    const row = await this.#require(organizationIdOrSlug, id);
    yield csvLine(['import', row.id]);
    yield csvLine(['file', row.filename]);
    yield csvLine(['status', row.status]);
    for (const outcome of ['created', 'updated', 'unchanged', 'deactivated', 'rejected'])
      yield csvLine([outcome, row.counts[outcome] ?? 0]);
    yield '\r\n';
    yield csvLine(['row', 'email', 'outcome', 'user_id', 'changes', 'reason_codes', 'reasons', 'warnings']);
    let afterSeq: number | undefined;
    while (true) {
      const page = await listRowOutcomes(this.#deps.database.db, {
        organizationId: row.organizationId,
        importId: row.id,
        ...(afterSeq !== undefined ? { afterSeq } : {}),
        limit: 1000,
      });
      if (page.length === 0) return;
      for (const outcome of page) {
        const reasons = outcome.reasons as Array<{ code: string; message: string }>;
        const warnings = outcome.warnings as Array<{ code: string; message: string }>;
        yield csvLine([
          outcome.rowNumber ?? '',
          outcome.email ?? '',
          outcome.outcome,
          outcome.userId ?? '',
          outcome.changes.join(' '),
          reasons.map((reason) => reason.code).join(' '),
          reasons.map((reason) => reason.message).join(' | '),
          warnings.map((warning) => warning.message).join(' | '),
        ]);
      }
      afterSeq = page.at(-1)?.seq;
    }
  }

  // Apply

  /** Queues the apply of a previewed import. */
  async apply(organizationIdOrSlug: string, id: string, actor: Actor): Promise<ImportView> {
    const org = await this.#deps.orgs.require(organizationIdOrSlug);
    return this.#deps.database.transaction(async (tx) => {
      const row = await findImport(tx, org.id, id, { lock: true });
      if (!row) throw importNotFound(id);
      if (
        row.status !== 'previewed' &&
        !(row.status === 'failed' && row.mode === 'apply' && !row.fileDeletedAt)
      ) {
        throw new Conflict({
          code: 'import_not_applicable',
          detail: `Import ${id} is ${row.status}; only a previewed import (or a failed apply) can be applied.`,
          fix:
            row.status === 'applied'
              ? 'It is applied already. Upload the file again to import it once more.'
              : 'Wait for the preview to finish (status previewed), then apply.',
        });
      }
      if (row.fileDeletedAt) {
        throw new Conflict({
          code: 'import_file_expired',
          detail: `The file of import ${id} was deleted after IMPORT_FILE_RETENTION_DAYS.`,
          fix: 'Upload the file again.',
        });
      }
      await this.#refuseConcurrentApply(org.id, id, tx);
      const updated = await updateImport(tx, org.id, id, { status: 'queued', mode: 'apply', error: null });
      await this.#deps.events.append(tx, {
        organizationId: org.id,
        type: 'import.apply_requested',
        actor,
        subjectType: 'import',
        subjectId: id,
        data: { import: { id, filename: row.filename }, previewCounts: row.previewCounts },
      });
      await this.#deps.jobs.send(
        IMPORT_QUEUE,
        { organizationId: org.id, importId: id },
        { tx, group: { id: org.id } },
      );
      return toImportView(updated);
    });
  }

  /** The job: previews or applies. A bad file fails the import at once; other errors are retried. */
  async runJob(
    job: Pick<Job<{ organizationId: string; importId: string }>, 'data' | 'retryCount'>,
  ): Promise<void> {
    const { organizationId, importId } = job.data;
    const row = await findImport(this.#deps.database.db, organizationId, importId);
    if (!row || !['queued', 'previewing', 'applying'].includes(row.status)) return;
    const run = new ImportRun(
      {
        database: this.#deps.database,
        directory: this.#deps.directory,
        orgs: this.#deps.orgs,
        scim: this.#deps.scim,
        events: this.#deps.events,
        logger: this.#logger,
        maxRows: this.#deps.config.IMPORT_MAX_ROWS,
        maxPartBytes: this.#deps.config.IMPORT_MAX_UNCOMPRESSED_BYTES,
      },
      row,
    );
    try {
      const done = await run.run();
      this.#logger.info({ importId, mode: row.mode, counts: done.counts }, 'import finished');
    } catch (error) {
      // A bad file fails at once and is not retried; say so in the log, with what the reader
      // found (the cause), so that a reader fault is told from a bad file.
      if (error instanceof AppError) this.#logRefusal(error, { importId, organizationId, stage: 'job' });
      const final = error instanceof AppError || job.retryCount >= 3;
      if (!final) {
        this.#logger.warn({ err: briefError(error), importId }, 'import job failed; it will be retried');
        throw error;
      }
      if (!(error instanceof AppError))
        this.#logger.error({ err: briefError(error), importId }, 'import failed');
      await updateImport(this.#deps.database.db, organizationId, importId, {
        status: 'failed',
        error: failureOf(error),
        finishedAt: new Date(),
      });
    }
  }

  // Saved mapping

  async getMapping(organizationIdOrSlug: string) {
    const org = await this.#deps.orgs.require(organizationIdOrSlug);
    const saved = await findMapping(this.#deps.database.db, org.id);
    return {
      columns: saved?.columns ?? {},
      keepUnmapped: saved?.keepUnmapped ?? false,
      updatedAt: saved?.updatedAt.toISOString() ?? null,
    };
  }

  async saveMapping(
    organizationIdOrSlug: string,
    input: { columns: Record<string, string>; keepUnmapped: boolean },
    actor: Actor,
  ) {
    const org = await this.#deps.orgs.require(organizationIdOrSlug);
    const columns = Object.fromEntries(
      Object.entries(input.columns).map(([header, target]) => [foldHeader(header), target]),
    );
    return this.#deps.database.transaction(async (tx) => {
      const saved = await saveMapping(tx, org.id, columns, input.keepUnmapped);
      await this.#deps.events.append(tx, {
        organizationId: org.id,
        type: 'import.mapping_saved',
        actor,
        subjectType: 'organization',
        subjectId: org.id,
        data: { columns, keepUnmapped: input.keepUnmapped },
      });
      return {
        columns: saved.columns,
        keepUnmapped: saved.keepUnmapped,
        updatedAt: saved.updatedAt.toISOString(),
      };
    });
  }

  /** Deletes stored files of imports never applied within IMPORT_FILE_RETENTION_DAYS. */
  async deleteExpiredFiles(now = new Date()): Promise<number> {
    const before = new Date(now.getTime() - this.#deps.config.IMPORT_FILE_RETENTION_DAYS * 86_400_000);
    const stale = await findStaleFiles(this.#deps.database.db, before);
    for (const row of stale) {
      await this.#deps.database.transaction(async (tx) => {
        await deleteFileChunks(tx, row.organizationId, row.id);
        await updateImport(tx, row.organizationId, row.id, { fileDeletedAt: new Date() });
      });
    }
    return stale.length;
  }

  async #require(organizationIdOrSlug: string, id: string): Promise<ImportRow> {
    const org = await this.#deps.orgs.require(organizationIdOrSlug);
    const row = await findImport(this.#deps.database.db, org.id, id);
    if (!row) throw importNotFound(id);
    return row;
  }
}

/**
 * An error for the log without the bulk statement's parameters (a thousand rows of names and
 * emails) that the query builder puts in its message.
 */
function briefError(error: unknown): Record<string, unknown> {
  const message = error instanceof Error ? error.message : String(error);
  const cause = (error as { cause?: { message?: string; code?: string } }).cause;
  return {
    type: error instanceof Error ? error.name : typeof error,
    message: message.split('\nparams:')[0]?.slice(0, 500),
    ...(cause?.code ? { code: cause.code } : {}),
    ...(cause?.message ? { cause: cause.message.slice(0, 500) } : {}),
    stack:
      error instanceof Error
        ? error.stack
            ?.split('\n')
            .filter((line) => line.trimStart().startsWith('at '))
            .slice(0, 8)
            .join('\n')
        : undefined,
  };
}

/** The messages of an error and its causes, outermost first (`a <- b`), without stacks or values. */
function causeChain(error: unknown): string | undefined {
  const messages: string[] = [];
  for (let current = error; current !== undefined && messages.length < 5; ) {
    messages.push(current instanceof Error ? `${current.name}: ${current.message}` : String(current));
    current = current instanceof Error ? current.cause : undefined;
  }
  return messages.length ? messages.join(' <- ').slice(0, 1000) : undefined;
}

function parseMapping(text: string): Record<string, string> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new InvalidInput({
      code: 'import_invalid_option',
      detail: 'mapping is not valid JSON.',
      field: 'mapping',
      fix: 'Send a JSON object such as {"Correo": "email", "Talla": "custom:shirt_size"}.',
    });
  }
  const parsed = mappingRecord.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InvalidInput({
      code: 'mapping_invalid_target',
      detail: `mapping${issue?.path.length ? `["${issue.path.join('.')}"]` : ''}: ${issue?.message ?? 'invalid'}`,
      field: `mapping${issue?.path.length ? `.${issue.path.join('.')}` : ''}`,
      fix: `Map each header to one of ${IMPORT_FIELDS.join(', ')}, custom:<attribute> or ignore.`,
    });
  }
  return parsed.data;
}

function parseRequired(text: string | undefined): ImportField[] {
  const fields = new Set<ImportField>(['email']);
  for (const part of (text ?? '').split(',')) {
    const name = part.trim();
    if (!name) continue;
    if (!(IMPORT_FIELDS as readonly string[]).includes(name)) {
      throw new InvalidInput({
        code: 'import_invalid_option',
        detail: `required: "${name}" is not a field.`,
        field: 'required',
        fix: `Use fields among ${IMPORT_FIELDS.join(', ')}.`,
      });
    }
    fields.add(name as ImportField);
  }
  return [...fields];
}

function importNotFound(id: string): NotFound {
  return new NotFound({
    code: 'import_not_found',
    detail: `No import with id "${id}" in this organization.`,
    fix: "List the organization's imports to find it.",
  });
}

export function toImportView(row: ImportRow): ImportView {
  const error = row.error as ImportView['error'];
  return {
    id: row.id,
    organizationId: row.organizationId,
    status: row.status as ImportView['status'],
    mode: row.mode === 'apply' ? 'apply' : 'preview',
    filename: row.filename,
    format: row.format === 'xlsx' ? 'xlsx' : 'csv',
    byteSize: row.byteSize,
    sha256: row.sha256,
    encoding: row.encoding,
    delimiter: row.delimiter,
    sheet: row.sheet,
    sheets: row.sheets,
    options: row.options,
    headers: row.headers,
    mapping: (row.mapping as Array<{ index: number; header: string; target: string; origin: string }>).map(
      (column) => ({
        column: column.index,
        header: column.header,
        target: column.target,
        origin: column.origin,
      }),
    ),
    progress: { phase: row.phase, rowsDone: row.rowsDone, totalRows: row.totalRows },
    counts: row.counts,
    previewCounts: row.previewCounts ?? null,
    error: error ?? null,
    createdAt: row.createdAt.toISOString(),
    startedAt: row.startedAt?.toISOString() ?? null,
    finishedAt: row.finishedAt?.toISOString() ?? null,
  };
}

function toRowView(row: ImportRowOutcome): ImportRowView {
  return {
    seq: row.seq,
    rowNumber: row.rowNumber,
    outcome: row.outcome as ImportRowView['outcome'],
    email: row.email,
    userId: row.userId,
    reasons: row.reasons as ImportRowView['reasons'],
    warnings: row.warnings as ImportRowView['warnings'],
    changes: row.changes,
  };
}
