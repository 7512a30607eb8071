/** API shapes of directories (inbound user sources) and their SCIM bearer tokens. */
import { z } from 'zod';

/** `scim` (pushed to us); `hris` (an HR system pulled by the hris module); `directory` (Google, Graph pulls). */
export const DIRECTORY_KINDS = ['scim', 'hris', 'directory'] as const;
export type DirectoryKind = (typeof DIRECTORY_KINDS)[number];
/** Kinds the hris module pulls from (created and configured through `/hris/directories`). */
export const PULL_DIRECTORY_KINDS = ['hris', 'directory'] as const;
export type PullDirectoryKind = (typeof PULL_DIRECTORY_KINDS)[number];
export const DIRECTORY_PROVIDERS = ['entra', 'okta', 'generic'] as const;
export const DIRECTORY_STATUSES = ['active', 'disabled'] as const;
export type DirectoryProvider = (typeof DIRECTORY_PROVIDERS)[number];
export type DirectoryStatus = (typeof DIRECTORY_STATUSES)[number];

/** Default URN of the organization-defined SCIM extension for custom attributes. */
export const DEFAULT_CUSTOM_SCHEMA_URN = 'urn:ietf:params:scim:schemas:extension:switchboard:2.0:User';

export const CUSTOM_ATTRIBUTE_TYPES = [
  'string',
  'boolean',
  'integer',
  'decimal',
  'dateTime',
  'reference',
] as const;

const customAttributeSchema = z
  .object({
    name: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9_-]{0,63}$/, 'expected an attribute name such as costCenterCode')
      .describe('Attribute name (RFC 7643 ATTRNAME).'),
    type: z.enum(CUSTOM_ATTRIBUTE_TYPES).default('string'),
    multiValued: z.boolean().default(false),
    caseExact: z.boolean().default(false),
    required: z.boolean().default(false),
    description: z.string().max(500).default(''),
  })
  .strict();

export const customSchemaSchema = z
  .object({
    id: z
      .string()
      .regex(/^urn:[A-Za-z0-9][A-Za-z0-9-]{0,31}:[A-Za-z0-9()+,\-.:=@;$_!*'%/?#]+$/, 'expected a URN')
      .default(DEFAULT_CUSTOM_SCHEMA_URN)
      .describe(
        'URN of the extension, as the IdP sends it (Entra: the prefix of the custom attribute path).',
      ),
    name: z.string().max(100).default('Custom attributes'),
    attributes: z.array(customAttributeSchema).max(100).default([]),
  })
  .strict()
  .describe(
    'The organization-defined SCIM extension schema for custom User attributes. Values arrive under the extension URN and are copied into the user profile.',
  );

export const directorySettingsSchema = z
  .object({ customSchema: customSchemaSchema.optional() })
  .strict()
  .meta({ id: 'DirectorySettings' });

export type DirectorySettings = z.output<typeof directorySettingsSchema>;
export type CustomSchema = z.output<typeof customSchemaSchema>;

export const createDirectoryBody = z
  .object({
    name: z.string().trim().min(1).max(200),
    provider: z.enum(DIRECTORY_PROVIDERS).describe('The IdP on the other side: its quirks are handled.'),
    kind: z
      .enum(['scim'])
      .default('scim')
      .describe('Only `scim` here; HR and directory pulls are created under /hris/directories.'),
    settings: directorySettingsSchema.optional(),
  })
  .strict()
  .meta({ id: 'CreateDirectory' });

export const updateDirectoryBody = z
  .object({
    name: z.string().trim().min(1).max(200).optional(),
    status: z.enum(DIRECTORY_STATUSES).optional(),
    settings: directorySettingsSchema.optional(),
  })
  .strict()
  .meta({ id: 'UpdateDirectory' });

export type CreateDirectoryInput = z.input<typeof createDirectoryBody>;
export type UpdateDirectoryInput = z.input<typeof updateDirectoryBody>;

/** Default overlap of a token rotation: a day to update the IdP. */
export const DEFAULT_OVERLAP_SECONDS = 24 * 3600;

export const rotateTokenBody = z
  .object({
    overlapSeconds: z
      .number()
      .int()
      .min(0)
      .max(30 * 24 * 3600)
      .default(DEFAULT_OVERLAP_SECONDS)
      .describe(
        'How long the tokens issued before keep working, so the IdP can be switched to the new token without a failed sync (0: at once).',
      ),
  })
  .strict()
  .meta({ id: 'RotateDirectoryToken' });

export const directoryTokenSchema = z
  .object({
    id: z.string(),
    prefix: z.string().describe('First characters of the token, to tell tokens apart.'),
    status: z.enum(['active', 'expiring', 'expired', 'revoked']),
    expiresAt: z.string().nullable(),
    revokedAt: z.string().nullable(),
    lastUsedAt: z.string().nullable(),
    createdAt: z.string(),
  })
  .meta({ id: 'DirectoryToken' });

export const directorySchema = z
  .object({
    id: z.string(),
    organizationId: z.string(),
    kind: z.enum(DIRECTORY_KINDS),
    provider: z
      .string()
      .describe(
        'SCIM: `entra`, `okta` or `generic`. HR and directory pulls: the connector (`personio`, ...).',
      ),
    name: z.string(),
    status: z.enum(DIRECTORY_STATUSES),
    settings: directorySettingsSchema.describe(
      'SCIM settings (empty for HR and directory pulls: see /hris/directories).',
    ),
    scim: z
      .object({
        baseUrl: z.string().describe('The SCIM base URL (tenant URL) to enter in the IdP.'),
        entraTenantUrl: z
          .string()
          .optional()
          .describe(
            "Entra: the tenant URL with `?aadOptscim062020`, opting in to Entra's RFC-compliant PATCH.",
          ),
      })
      .optional()
      .describe('Where the IdP sends SCIM requests (SCIM directories only).'),
    tokens: z.array(directoryTokenSchema),
    lastActivityAt: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'Directory' });

export type DirectoryView = z.output<typeof directorySchema>;
export type DirectoryTokenView = z.output<typeof directoryTokenSchema>;

export const directoryWithTokenSchema = z
  .object({
    directory: directorySchema,
    token: z.string().describe('The bearer token, shown once: only its hash is stored.'),
    tokenId: z.string(),
  })
  .meta({ id: 'DirectoryWithToken' });
