/** API shapes of imports. */
import { z } from 'zod';
import { IMPORT_FIELDS } from './columns.ts';

export const IMPORT_STATUSES = [
  'uploading',
  'queued',
  'previewing',
  'previewed',
  'applying',
  'applied',
  'failed',
] as const;
export type ImportStatus = (typeof IMPORT_STATUSES)[number];

export const ROW_OUTCOMES = ['created', 'updated', 'unchanged', 'deactivated', 'rejected'] as const;
export type RowOutcome = (typeof ROW_OUTCOMES)[number];

const booleanField = z
  .union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'])])
  .transform(
    (value) => value === true || value === 'true' || value === '1' || value === 'yes' || value === 'on',
  );

const columnTarget = z
  .string()
  .regex(
    new RegExp(`^(?:${IMPORT_FIELDS.join('|')}|custom:[a-z0-9_]{1,100}|ignore)$`),
    `expected one of ${IMPORT_FIELDS.join(', ')}, custom:<attribute> (lower case, digits, _), or ignore`,
  );

export const mappingRecord = z
  .record(z.string().min(1).max(200), columnTarget)
  .refine((value) => Object.keys(value).length <= 200, { message: 'at most 200 columns' })
  .describe('Header (as in the file) -> `email`, `given_name`, ..., `custom:<attribute>` or `ignore`.');

/**
 * Options of an upload: multipart form fields next to `file` (text values; JSON for `mapping`).
 */
export const importOptionsSchema = z
  .object({
    dryRun: booleanField
      .default(true)
      .describe('Only preview (default). `false` applies right after validating, without a preview step.'),
    fullRoster: booleanField
      .default(false)
      .describe(
        'The file lists everyone: active users of the organization missing from it are deactivated (except users a SCIM directory manages).',
      ),
    sheet: z
      .string()
      .trim()
      .min(1)
      .max(100)
      .optional()
      .describe('Workbook sheet: name or position from 1 (default the first).'),
    mapping: z
      .string()
      .max(20_000)
      .optional()
      .describe(
        'JSON object overriding the detected mapping: {"Correo": "email", "Talla": "custom:shirt_size"}.',
      ),
    saveMapping: booleanField
      .default(false)
      .describe("Save this file's resolved mapping for the organization's next files."),
    keepUnmapped: booleanField
      .optional()
      .describe(
        'Keep columns no field matches as custom profile attributes (default: the saved setting, else false).',
      ),
    group: z
      .string()
      .trim()
      .min(1)
      .max(256)
      .optional()
      .describe('A group (cohort) every person of the file joins, besides any group column.'),
    createGroups: booleanField
      .default(false)
      .describe(
        'Create groups the file names that do not exist. Otherwise such rows are rejected (unknown_group).',
      ),
    required: z
      .string()
      .max(200)
      .optional()
      .describe(
        `Comma-separated fields every row must fill (email is always required): ${IMPORT_FIELDS.join(', ')}.`,
      ),
  })
  .strict();

export type ImportOptionsInput = z.input<typeof importOptionsSchema>;

/** The options kept with an import. */
export interface ImportOptions {
  fullRoster: boolean;
  sheet?: string;
  group?: string;
  createGroups: boolean;
  keepUnmapped: boolean;
  required: string[];
  mappingOverride?: Record<string, string>;
}

const reasonSchema = z.object({ code: z.string(), message: z.string(), field: z.string().optional() });

export const importSchema = z
  .object({
    id: z.string(),
    organizationId: z.string(),
    status: z.enum(IMPORT_STATUSES),
    mode: z.enum(['preview', 'apply']).describe('What the import does next (or did last).'),
    filename: z.string(),
    format: z.enum(['csv', 'xlsx']),
    byteSize: z.number().int(),
    sha256: z.string().nullable(),
    encoding: z.string().nullable(),
    delimiter: z.string().nullable(),
    sheet: z.string().nullable(),
    sheets: z.array(z.string()),
    options: z.record(z.string(), z.unknown()),
    headers: z.array(z.string()),
    mapping: z.array(
      z.object({
        column: z.number().int(),
        header: z.string(),
        target: z.string(),
        origin: z.string(),
      }),
    ),
    progress: z.object({
      phase: z.string().nullable().describe('`counting`, `rows`, `roster`, `done`.'),
      rowsDone: z.number().int(),
      totalRows: z.number().int().nullable(),
    }),
    counts: z
      .record(z.string(), z.number().int())
      .describe('Rows per outcome (of the preview, then of the apply).'),
    previewCounts: z.record(z.string(), z.number().int()).nullable(),
    error: z
      .object({
        code: z.string(),
        detail: z.string(),
        field: z.string().optional(),
        fix: z.string().optional(),
      })
      .nullable(),
    createdAt: z.string(),
    startedAt: z.string().nullable(),
    finishedAt: z.string().nullable(),
  })
  .meta({ id: 'Import' });

export type ImportView = z.output<typeof importSchema>;

export const importRowSchema = z
  .object({
    seq: z.number().int(),
    rowNumber: z
      .number()
      .int()
      .nullable()
      .describe('Row in the file (the header is row 1); null for a roster deactivation.'),
    outcome: z.enum(ROW_OUTCOMES),
    email: z.string().nullable(),
    userId: z.string().nullable(),
    reasons: z.array(reasonSchema),
    warnings: z.array(reasonSchema),
    changes: z.array(z.string()),
  })
  .meta({ id: 'ImportRow' });

export type ImportRowView = z.output<typeof importRowSchema>;

export const savedMappingSchema = z
  .object({
    columns: z.record(z.string(), z.string()),
    keepUnmapped: z.boolean(),
    updatedAt: z.string().nullable(),
  })
  .meta({ id: 'ImportMapping' });

export const saveMappingBody = z
  .object({ columns: mappingRecord, keepUnmapped: z.boolean().default(false) })
  .strict()
  .meta({ id: 'SaveImportMapping' });
