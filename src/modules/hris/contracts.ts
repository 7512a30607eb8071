/** API shapes of the hris module: pull directories, field mappings, sync runs, records, settings, context. */
import { z } from 'zod';
import { CANONICAL_FIELDS, EMPLOYMENT_STATUSES } from '../../connectors/hris-contract.ts';
import { PULL_DIRECTORY_KINDS } from '../directory/index.ts';

const canonicalFieldEnum = z.enum(CANONICAL_FIELDS);
const sourceKey = z.string().trim().min(1).max(200);
const customName = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_-]{0,63}$/, 'expected an attribute name such as shirtSize');

export const fieldMappingInput = z
  .object({
    fields: z
      .partialRecord(canonicalFieldEnum, sourceKey.nullable())
      .default({})
      .describe('Canonical field → source field key; null removes the connector default.'),
    custom: z
      .record(customName, sourceKey)
      .default({})
      .refine((value) => Object.keys(value).length <= 100, 'at most 100 custom attributes')
      .describe('Custom profile attribute → source field key (e.g. `shirtSize` → `dynamic_24407`).'),
    values: z
      .partialRecord(canonicalFieldEnum, z.record(z.string().max(200), z.string().max(200)))
      .default({})
      .describe('Per canonical field, source value (lower case) → canonical value.'),
  })
  .strict()
  .meta({ id: 'HrisFieldMapping' });
export type FieldMappingInput = z.output<typeof fieldMappingInput>;

export const scheduleSchema = z
  .object({
    intervalMinutes: z
      .number()
      .int()
      .min(5)
      .max(7 * 24 * 60)
      .nullable()
      .default(60)
      .describe('Minutes between scheduled syncs; null: only on demand.'),
    fullSyncEveryHours: z
      .number()
      .int()
      .min(1)
      .max(24 * 30)
      .default(24)
      .describe(
        'Incremental sources: hours between full syncs (the only ones that detect deletions when the source does not report them).',
      ),
  })
  .strict();

export const JOINER_POLICIES = ['list', 'create'] as const;
export const LEAVER_POLICIES = ['deactivate', 'ignore'] as const;

const policyFields = {
  schedule: scheduleSchema.optional(),
  joiners: z
    .enum(JOINER_POLICIES)
    .describe(
      '`list` (default): HR records matching no user are listed for review. `create`: a user is created from each (with a work email).',
    )
    .optional(),
  leavers: z
    .enum(LEAVER_POLICIES)
    .describe(
      '`deactivate` (default): a person whose HR status is inactive, whose termination date has passed, or who disappears from the source is deprovisioned (provisioning removes their access). `ignore`: profiles only.',
    )
    .optional(),
  maxDeletionRatio: z
    .number()
    .min(0)
    .max(1)
    .optional()
    .describe(
      'A full sync that would delete more than this share of the known records (and more than 10) is stopped instead (default 0.5): an emptied report or a permission change is not a mass leave.',
    ),
};

export const createHrisDirectoryBody = z
  .object({
    name: z.string().trim().min(1).max(200),
    kind: z.enum(PULL_DIRECTORY_KINDS).default('hris'),
    provider: z
      .string()
      .min(1)
      .max(50)
      .describe('The connector: `personio`, `bamboohr`, ... (GET /api/v1/hris/connectors).'),
    config: z.record(z.string(), z.unknown()).default({}).describe("The connector's settings (no secrets)."),
    credentials: z
      .record(z.string(), z.unknown())
      .describe("The connector's secrets; encrypted at rest and never returned."),
    mapping: fieldMappingInput.optional(),
    ...policyFields,
  })
  .strict()
  .meta({ id: 'CreateHrisDirectory' });
export type CreateHrisDirectoryInput = z.input<typeof createHrisDirectoryBody>;

export const updateHrisDirectoryBody = z
  .object({
    name: z.string().trim().min(1).max(200).optional(),
    status: z.enum(['active', 'disabled']).optional(),
    config: z.record(z.string(), z.unknown()).optional(),
    credentials: z.record(z.string(), z.unknown()).optional().describe('Replaces the stored secrets.'),
    mapping: fieldMappingInput.optional().describe('Replaces the mapping overrides.'),
    ...policyFields,
  })
  .strict()
  .meta({ id: 'UpdateHrisDirectory' });
export type UpdateHrisDirectoryInput = z.input<typeof updateHrisDirectoryBody>;

/** What a pull directory stores in `directories.settings` (validated on every read). */
export const hrisDirectorySettingsSchema = z.object({
  config: z.record(z.string(), z.unknown()).default({}),
  mapping: fieldMappingInput.default({ fields: {}, custom: {}, values: {} }),
  schedule: scheduleSchema.default({ intervalMinutes: 60, fullSyncEveryHours: 24 }),
  joiners: z.enum(JOINER_POLICIES).default('list'),
  leavers: z.enum(LEAVER_POLICIES).default('deactivate'),
  maxDeletionRatio: z.number().min(0).max(1).default(0.5),
});
export type HrisDirectorySettings = z.output<typeof hrisDirectorySettingsSchema>;

/** What a pull directory stores in `directories.sync_state`. */
export interface HrisSyncState {
  since?: string;
  lastRunId?: string;
  lastRunAt?: string;
  lastSuccessAt?: string;
  lastFullSyncAt?: string;
  lastError?: { code: string; message: string; at: string } | null;
}

const statsSchema = z.object({
  pages: z.number(),
  read: z.number(),
  created: z.number(),
  updated: z.number(),
  unchanged: z.number(),
  deleted: z.number(),
  unmatched: z.number(),
  ambiguous: z.number(),
  usersCreated: z.number(),
  usersUpdated: z.number(),
  usersDeactivated: z.number(),
  usersReactivated: z.number(),
});

export const syncRunSchema = z
  .object({
    id: z.string(),
    directoryId: z.string(),
    mode: z.enum(['full', 'incremental']),
    trigger: z.enum(['schedule', 'manual']),
    status: z.enum(['running', 'succeeded', 'failed', 'abandoned']),
    attempts: z.number().describe('1, plus one per resumption after a failure.'),
    resumable: z.boolean().describe('A failed run the next sync continues from its checkpoint.'),
    stats: statsSchema,
    error: z
      .object({ code: z.string(), message: z.string(), at: z.string(), page: z.number().optional() })
      .nullable(),
    startedAt: z.string(),
    finishedAt: z.string().nullable(),
  })
  .meta({ id: 'HrisSyncRun' });
export type SyncRunView = z.output<typeof syncRunSchema>;

export const hrisDirectorySchema = z
  .object({
    id: z.string(),
    organizationId: z.string(),
    kind: z.enum(PULL_DIRECTORY_KINDS),
    provider: z.string(),
    name: z.string(),
    status: z.enum(['active', 'disabled']),
    config: z.record(z.string(), z.unknown()),
    credentials: z
      .object({ set: z.boolean(), keys: z.array(z.string()) })
      .describe('Which secrets are stored (never their values).'),
    mapping: fieldMappingInput.describe("This directory's overrides of the connector defaults."),
    effectiveMapping: fieldMappingInput.describe(
      'The mapping in force: connector defaults with the overrides.',
    ),
    schedule: scheduleSchema,
    joiners: z.enum(JOINER_POLICIES),
    leavers: z.enum(LEAVER_POLICIES),
    maxDeletionRatio: z.number(),
    sync: z.object({
      lastRunAt: z.string().nullable(),
      lastSuccessAt: z.string().nullable(),
      lastFullSyncAt: z.string().nullable(),
      incremental: z.boolean().describe('The next scheduled sync reads only changes.'),
      lastError: z.object({ code: z.string(), message: z.string(), at: z.string() }).nullable(),
    }),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'HrisDirectory' });
export type HrisDirectoryView = z.output<typeof hrisDirectorySchema>;

export const connectionCheckSchema = z
  .object({ ok: z.boolean(), detail: z.string(), code: z.string().optional() })
  .meta({ id: 'HrisConnectionCheck' });

const canonicalValue = z.union([z.string(), z.array(z.string()), z.null()]);

export const previewBody = z
  .object({
    mapping: fieldMappingInput.optional().describe('A mapping to try (default: the saved one).'),
    limit: z.number().int().min(1).max(10).default(3),
  })
  .strict()
  .meta({ id: 'HrisMappingPreview' });

export const previewSchema = z
  .object({
    records: z.array(
      z.object({
        sourceId: z.string(),
        source: z.record(z.string(), z.unknown()).describe('The flattened source fields.'),
        mapped: z.object({
          fields: z.record(z.string(), canonicalValue),
          custom: z.record(z.string(), canonicalValue),
        }),
      }),
    ),
    unmappedSourceFields: z.array(z.string()).describe('Source fields of these records no mapping uses.'),
  })
  .meta({ id: 'HrisMappingPreviewResult' });

export const sourceFieldSchema = z.object({
  key: z.string(),
  label: z.string(),
  type: z.string().optional(),
  custom: z.boolean().optional(),
});

export const syncRequestBody = z
  .object({
    mode: z
      .enum(['auto', 'full', 'incremental'])
      .default('auto')
      .describe('`auto`: incremental when the source supports it and a full sync is not due.'),
  })
  .strict()
  .meta({ id: 'HrisSyncRequest' });

export const recordSchema = z
  .object({
    sourceId: z.string(),
    userId: z.string().nullable(),
    matchStatus: z.enum(['matched', 'created', 'unmatched', 'ambiguous']),
    matchDetail: z.object({ reason: z.string(), candidates: z.array(z.string()).optional() }).nullable(),
    employee: z.object({
      fields: z.record(z.string(), canonicalValue),
      custom: z.record(z.string(), canonicalValue),
    }),
    deleted: z.boolean(),
    changedAt: z.string(),
  })
  .meta({ id: 'HrisRecord' });

export const linkRecordBody = z
  .object({ userId: z.string().min(1).describe('The user this HR record is (an admin decision).') })
  .strict()
  .meta({ id: 'HrisLinkRecord' });

/** Context API fields an organization can allow (canonical fields, custom attributes as `custom.<name>`, derived facts). */
export const CONTEXT_FACTS = [
  'tenureDays',
  'timeInRoleDays',
  'isPeopleManager',
  'teamSize',
  'newInRole',
  'levelBand',
] as const;
export const MATCH_KEYS = ['employeeId', 'workEmail'] as const;

export const DEFAULT_CONTEXT_FIELDS = [
  'jobTitle',
  'level',
  'department',
  'team',
  'hireDate',
  'startDate',
  'lastPromotionDate',
  'employmentStatus',
  ...CONTEXT_FACTS,
];

const contextFieldName = z
  .string()
  .refine(
    (value) =>
      (CANONICAL_FIELDS as readonly string[]).includes(value) ||
      (CONTEXT_FACTS as readonly string[]).includes(value) ||
      /^custom\.[A-Za-z][A-Za-z0-9_-]{0,63}$/.test(value),
    'expected a canonical field (jobTitle, ...), a derived fact (tenureDays, ...) or custom.<attribute>',
  );

export const hrisSettingsBody = z
  .object({
    matchBy: z
      .array(z.enum(MATCH_KEYS))
      .min(1)
      .max(2)
      .refine((value) => new Set(value).size === value.length, 'each key once')
      .optional()
      .describe('Keys tried in order to match HR records to users (default employeeId, then workEmail).'),
    contextFields: z
      .array(contextFieldName)
      .max(200)
      .optional()
      .describe(
        'What the context API may return for this organization: canonical fields, `custom.<attribute>`, derived facts. Nothing else is ever returned.',
      ),
    newInRoleDays: z
      .number()
      .int()
      .min(1)
      .max(3650)
      .optional()
      .describe('"New in role": promoted within this many days (default 90).'),
    levelBands: z
      .array(
        z.object({ band: z.string().min(1).max(100), levels: z.array(z.string().min(1).max(100)).min(1) }),
      )
      .max(100)
      .optional()
      .describe('Level → band, e.g. `{band: "senior", levels: ["L5", "L6"]}`.'),
  })
  .strict()
  .meta({ id: 'HrisSettingsUpdate' });

export const hrisSettingsSchema = z
  .object({
    matchBy: z.array(z.enum(MATCH_KEYS)),
    contextFields: z.array(z.string()),
    newInRoleDays: z.number(),
    levelBands: z.array(z.object({ band: z.string(), levels: z.array(z.string()) })),
  })
  .meta({ id: 'HrisSettings' });
export type HrisSettingsView = z.output<typeof hrisSettingsSchema>;

const provenance = z.object({
  value: canonicalValue,
  source: z.object({ directoryId: z.string(), provider: z.string(), field: z.string().nullable() }),
  lastSeenAt: z.string().nullable().describe('The last successful sync that read this person.'),
  changedAt: z.string().nullable().describe('When this value was first read.'),
});

export const userContextSchema = z
  .object({
    userId: z.string(),
    organizationId: z.string(),
    profile: z
      .record(z.string(), provenance)
      .describe('Allowed canonical fields and custom attributes, with provenance.'),
    manager: z
      .object({ userId: z.string().nullable(), sourceId: z.string() })
      .nullable()
      .optional()
      .describe('Present when `manager` is allowed.'),
    facts: z
      .object({
        tenureDays: z.number().nullable().optional(),
        timeInRoleDays: z.number().nullable().optional(),
        isPeopleManager: z.boolean().optional(),
        teamSize: z.number().optional(),
        newInRole: z.boolean().nullable().optional(),
        levelBand: z.string().nullable().optional(),
      })
      .describe('Derived facts the organization allows.'),
    generatedAt: z.string(),
  })
  .meta({ id: 'UserContext' });
export type UserContextView = z.output<typeof userContextSchema>;

export { EMPLOYMENT_STATUSES };
