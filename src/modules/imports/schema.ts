/**
 * Spreadsheet imports: the uploaded file (kept in the database in chunks, so the worker that
 * applies it may be another process on another machine), the import's state and progress, the
 * outcome of every row (the preview of a dry run, then the result of the apply), and the column
 * mapping each organization saved for its next file.
 */
import {
  boolean,
  customType,
  foreignKey,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
} from 'drizzle-orm/pg-core';
import { organizations } from '../orgs/schema.ts';

const bytea = customType<{ data: Buffer; driverData: Buffer | Uint8Array }>({
  dataType: () => 'bytea',
  fromDriver: (value) => (Buffer.isBuffer(value) ? value : Buffer.from(value)),
});

export const imports = pgTable(
  'imports',
  {
    organizationId: text('organization_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    id: text('id').notNull(),
    /**
     * `uploading`, `queued`, `previewing`, `previewed`, `applying`, `applied`, `failed`. A dry run
     * ends at `previewed`; apply moves it on from there.
     */
    status: text('status').notNull(),
    /** What the queued job does next: `preview` or `apply`. */
    mode: text('mode').notNull().default('preview'),
    filename: text('filename').notNull(),
    /** `csv` or `xlsx` (from the file's bytes, not its name). */
    format: text('format').notNull(),
    byteSize: integer('byte_size').notNull().default(0),
    sha256: text('sha256'),
    /** CSV only: `utf-8`, `utf-8-bom`, `utf-16le`, `windows-1252` (Latin-1). */
    encoding: text('encoding'),
    /** CSV only: the sniffed delimiter. */
    delimiter: text('delimiter'),
    /** XLSX only: the sheet read, and every sheet of the workbook. */
    sheet: text('sheet'),
    sheets: jsonb('sheets').$type<string[]>().notNull().default([]),
    /** Options given at upload (full roster, groups, required fields, ...). */
    options: jsonb('options').$type<Record<string, unknown>>().notNull().default({}),
    /** Header cells of the file, in order. */
    headers: jsonb('headers').$type<string[]>().notNull().default([]),
    /** Column index -> target (`email`, `given_name`, `custom:<key>`, `ignore`), as resolved. */
    mapping: jsonb('mapping').$type<Array<Record<string, unknown>>>().notNull().default([]),
    /** `counting`, `rows`, `roster`, `done`. */
    phase: text('phase'),
    totalRows: integer('total_rows'),
    rowsDone: integer('rows_done').notNull().default(0),
    /** Apply: the last file row whose changes committed (a retried job resumes after it). */
    appliedThroughRow: integer('applied_through_row').notNull().default(0),
    counts: jsonb('counts').$type<Record<string, number>>().notNull().default({}),
    previewCounts: jsonb('preview_counts').$type<Record<string, number>>(),
    error: jsonb('error').$type<Record<string, unknown>>(),
    /** Who uploaded it (the API key or CLI user), as an event actor. */
    createdBy: jsonb('created_by').$type<Record<string, unknown>>().notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    startedAt: timestamp('started_at', { withTimezone: true }),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
    /** When the stored file was deleted (after apply, or when it expired unapplied). */
    fileDeletedAt: timestamp('file_deleted_at', { withTimezone: true }),
  },
  (table) => [
    primaryKey({ name: 'imports_pkey', columns: [table.organizationId, table.id] }),
    index('imports_org_created_idx').on(table.organizationId, table.createdAt),
  ],
);

/** The uploaded file, in chunks of at most 1 MiB (`seq` from 0). */
export const importFileChunks = pgTable(
  'import_file_chunks',
  {
    organizationId: text('organization_id').notNull(),
    importId: text('import_id').notNull(),
    seq: integer('seq').notNull(),
    data: bytea('data').notNull(),
  },
  (table) => [
    primaryKey({
      name: 'import_file_chunks_pkey',
      columns: [table.organizationId, table.importId, table.seq],
    }),
    foreignKey({
      name: 'import_file_chunks_import_fkey',
      columns: [table.organizationId, table.importId],
      foreignColumns: [imports.organizationId, imports.id],
    }).onDelete('cascade'),
  ],
);

/**
 * One outcome per file row (and one per user a full roster deactivates, with `row_number` null):
 * `created`, `updated`, `unchanged`, `deactivated` or `rejected`, with the reasons.
 */
export const importRows = pgTable(
  'import_rows',
  {
    organizationId: text('organization_id').notNull(),
    importId: text('import_id').notNull(),
    /** Ordering key: the file row number, or total rows + n for roster deactivations. */
    seq: integer('seq').notNull(),
    /** Row number as a spreadsheet shows it (the header is row 1); null for deactivations. */
    rowNumber: integer('row_number'),
    outcome: text('outcome').notNull(),
    email: text('email'),
    userId: text('user_id'),
    /** Rejections: `[{ code, message, field? }]`. */
    reasons: jsonb('reasons').$type<Array<Record<string, unknown>>>().notNull().default([]),
    /** Non-blocking notes (a value stored as text that looks like a formula). */
    warnings: jsonb('warnings').$type<Array<Record<string, unknown>>>().notNull().default([]),
    /** Updated: the fields that change (`givenName`, `profile.department`, `groups`, `status`). */
    changes: jsonb('changes').$type<string[]>().notNull().default([]),
  },
  (table) => [
    primaryKey({ name: 'import_rows_pkey', columns: [table.organizationId, table.importId, table.seq] }),
    index('import_rows_outcome_idx').on(table.organizationId, table.importId, table.outcome, table.seq),
    foreignKey({
      name: 'import_rows_import_fkey',
      columns: [table.organizationId, table.importId],
      foreignColumns: [imports.organizationId, imports.id],
    }).onDelete('cascade'),
  ],
);

/** The column mapping an organization saved: normalized header -> target. */
export const importMappings = pgTable('import_mappings', {
  organizationId: text('organization_id')
    .primaryKey()
    .references(() => organizations.id, { onDelete: 'cascade' }),
  columns: jsonb('columns').$type<Record<string, string>>().notNull().default({}),
  /** Keep unmapped columns as custom profile attributes by default. */
  keepUnmapped: boolean('keep_unmapped').notNull().default(false),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});
