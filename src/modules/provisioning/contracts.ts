/** API shapes of destinations, rules, provisioning state and attempts. */
import { z } from 'zod';
import { RESET_READINGS } from '../../connectors/http.ts';
import { conditionSchema } from '../../platform/conditions.ts';

export const DESTINATION_KINDS = ['thinkific', 'scim', 'webhook'] as const;
export type DestinationKind = (typeof DESTINATION_KINDS)[number];

export const REMOVAL_ACTIONS = ['expire_enrollments', 'remove_from_groups', 'suspend', 'delete'] as const;
export type RemovalAction = (typeof REMOVAL_ACTIONS)[number];

const httpsOrLocalUrl = z
  .url({ protocol: /^https?$/ })
  .max(2000)
  .refine((value) => {
    const url = new URL(value);
    return url.protocol === 'https:' || ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  }, 'must be an https URL (http only for localhost)');

export const thinkificSettingsSchema = z
  .object({
    subdomain: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{0,62}$/i, 'expected the site subdomain, e.g. "acme" for acme.thinkific.com')
      .optional(),
    baseUrl: httpsOrLocalUrl.optional().describe('Default https://api.thinkific.com/api/public/v1.'),
    rateLimitReset: z
      .enum(RESET_READINGS)
      .optional()
      .describe(
        'How the site’s RateLimit-Reset header counts down to the reset: `seconds`, `milliseconds`, or `auto` (default: learned from the values the site sends). Epoch times are recognised either way.',
      ),
  })
  .strict();

export const thinkificCredentialsSchema = z.union([
  z.object({ apiKey: z.string().min(8).max(500).describe('Private app API key.') }).strict(),
  z.object({ accessToken: z.string().min(8).max(4000).describe('OAuth app bearer token.') }).strict(),
]);

export const scimSettingsSchema = z
  .object({ baseUrl: httpsOrLocalUrl.describe('SCIM base URL (…/scim/v2).') })
  .strict();
export const scimCredentialsSchema = z.object({ token: z.string().min(8).max(4000) }).strict();

export const webhookSettingsSchema = z
  .object({ url: httpsOrLocalUrl.describe('Where commands are POSTed.') })
  .strict();
export const webhookCredentialsSchema = z
  .object({
    secret: z
      .string()
      .regex(
        /^whsec_[A-Za-z0-9+/=]{32,}$/,
        'expected a Standard Webhooks secret: whsec_ + base64 of 24+ bytes',
      )
      .optional()
      .describe('Omit to have one generated; it is returned once, on creation.'),
  })
  .strict();

export const destinationPolicySchema = z
  .object({
    onRemoval: z
      .array(z.enum(REMOVAL_ACTIONS))
      .max(4)
      .default(['expire_enrollments'])
      .describe(
        'What happens when a person no longer qualifies (deactivated, or left the groups the rules need): expire enrollments, remove from LMS groups, suspend the account, delete it.',
      ),
    graceSeconds: z
      .number()
      .int()
      .min(0)
      .max(90 * 86_400)
      .default(0)
      .describe('Removals wait this long; coming back within it cancels them.'),
    drift: z
      .enum(['restore', 'report'])
      .default('restore')
      .describe('When reconcile finds something changed by hand: restore it, or only report it.'),
  })
  .strict();
export type DestinationPolicy = z.output<typeof destinationPolicySchema>;

const rateLimitSchema = z
  .object({
    requests: z.number().int().min(1).max(100_000),
    perSeconds: z.number().int().min(1).max(3600),
  })
  .strict()
  .describe('The destination allows `requests` per `perSeconds`; shared by every worker.');

const destinationCommon = {
  name: z.string().trim().min(1).max(200),
  enabled: z.boolean().optional(),
  policy: destinationPolicySchema.optional(),
  rateLimit: rateLimitSchema.nullable().optional(),
  concurrency: z
    .number()
    .int()
    .min(1)
    .max(16)
    .optional()
    .describe('Jobs at once across all workers (default 4).'),
  maxAttempts: z
    .number()
    .int()
    .min(1)
    .max(25)
    .optional()
    .describe('Attempts before dead letter (default 6).'),
};

export const createDestinationBody = z
  .discriminatedUnion('kind', [
    z
      .object({
        kind: z.literal('thinkific'),
        settings: thinkificSettingsSchema,
        credentials: thinkificCredentialsSchema,
        ...destinationCommon,
      })
      .strict(),
    z
      .object({
        kind: z.literal('scim'),
        settings: scimSettingsSchema,
        credentials: scimCredentialsSchema,
        ...destinationCommon,
      })
      .strict(),
    z
      .object({
        kind: z.literal('webhook'),
        settings: webhookSettingsSchema,
        credentials: webhookCredentialsSchema.default({}),
        ...destinationCommon,
      })
      .strict(),
  ])
  .meta({ id: 'CreateDestination' });
export type CreateDestinationInput = z.output<typeof createDestinationBody>;

export const updateDestinationBody = z
  .object({
    ...destinationCommon,
    name: destinationCommon.name.optional(),
    settings: z
      .record(z.string(), z.unknown())
      .optional()
      .describe('Replaces the settings; validated for the kind.'),
    credentials: z
      .record(z.string(), z.unknown())
      .optional()
      .describe('Replaces the credentials when given.'),
  })
  .strict()
  .meta({ id: 'UpdateDestination' });
export type UpdateDestinationInput = z.output<typeof updateDestinationBody>;

export const destinationSchema = z
  .object({
    id: z.string(),
    organizationId: z.string(),
    name: z.string(),
    kind: z.enum(DESTINATION_KINDS),
    enabled: z.boolean(),
    settings: z.record(z.string(), z.unknown()),
    /** Which credential fields are set, never their values. */
    credentials: z.record(z.string(), z.literal('[set]')),
    policy: destinationPolicySchema,
    rateLimit: rateLimitSchema,
    concurrency: z.number().int(),
    maxAttempts: z.number().int(),
    /** Only on creation of a webhook destination with a generated secret. */
    generatedSecret: z.string().optional(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'Destination' });
export type DestinationView = z.output<typeof destinationSchema>;

/** A time relative to the person's start date, or absolute. */
const timingSchema = z.union([
  z.object({ at: z.iso.datetime({ offset: true }) }).strict(),
  z
    .object({ daysAfterStart: z.number().int().min(-3650).max(3650) })
    .strict()
    .describe("Days after the person's start date (profile `startDate`), or after they were created."),
]);
export type Timing = z.output<typeof timingSchema>;

export const enrollmentEffectSchema = z
  .object({
    kind: z.enum(['course', 'bundle']).default('course'),
    id: z.union([z.string().min(1).max(100), z.number().int().positive()]).transform(String),
    activation: timingSchema.optional().describe('Default: the start date.'),
    expiry: timingSchema.optional().describe('Default: never expires.'),
  })
  .strict();

export const ruleEffectSchema = z
  .object({
    destinationId: z.string().min(1).max(100),
    account: z.boolean().default(true).describe('Ensure an account (implied by enrollments and groups).'),
    enrollments: z.array(enrollmentEffectSchema).max(100).default([]),
    groups: z.array(z.string().trim().min(1).max(256)).max(100).default([]).describe('LMS group names.'),
  })
  .strict();
export type RuleEffect = z.output<typeof ruleEffectSchema>;

export const createRuleBody = z
  .object({
    name: z.string().trim().min(1).max(200),
    enabled: z.boolean().default(true),
    condition: conditionSchema,
    effects: z.array(ruleEffectSchema).min(1).max(20),
    position: z.number().int().min(1).optional().describe('Default: last.'),
  })
  .strict()
  .meta({ id: 'CreateProvisioningRule' });
export type CreateRuleInput = z.output<typeof createRuleBody>;

export const updateRuleBody = z
  .object({
    name: z.string().trim().min(1).max(200).optional(),
    enabled: z.boolean().optional(),
    condition: conditionSchema.optional(),
    effects: z.array(ruleEffectSchema).min(1).max(20).optional(),
    position: z.number().int().min(1).optional(),
  })
  .strict()
  .meta({ id: 'UpdateProvisioningRule' });
export type UpdateRuleInput = z.output<typeof updateRuleBody>;

export const catalogWarningSchema = z
  .object({
    code: z.enum(['catalog_unavailable', 'catalog_product_not_found', 'catalog_group_created_on_first_sync']),
    ruleId: z.string().optional().describe('The saved rule concerned.'),
    field: z.string().describe('The effect, enrollment or group concerned (`effects[0].enrollments[1]`).'),
    detail: z.string(),
    fix: z.string(),
  })
  .meta({ id: 'ProvisioningCatalogWarning' });

export const ruleSchema = z
  .object({
    id: z.string(),
    organizationId: z.string(),
    name: z.string(),
    position: z.number().int(),
    enabled: z.boolean(),
    condition: z.record(z.string(), z.unknown()),
    effects: z.array(z.record(z.string(), z.unknown())),
    description: z.string().describe('The condition in words.'),
    createdAt: z.string(),
    updatedAt: z.string(),
    warnings: z
      .array(catalogWarningSchema)
      .optional()
      .describe('On save: what could not be checked (a destination whose catalog could not be read).'),
  })
  .meta({ id: 'ProvisioningRule' });
export type RuleView = z.output<typeof ruleSchema>;

export const dryRunBody = z
  .object({
    rule: createRuleBody.optional().describe('A rule not yet saved; default: the saved rules as they are.'),
    ruleId: z.string().optional().describe('Only this saved rule.'),
    limit: z.number().int().min(1).max(1000).default(200),
  })
  .strict()
  .meta({ id: 'ProvisioningDryRun' });

export const dryRunSchema = z
  .object({
    usersEvaluated: z.number().int(),
    affected: z.array(
      z.object({
        userId: z.string(),
        email: z.string().nullable(),
        destinationId: z.string(),
        rules: z.array(z.string()),
        account: z.boolean(),
        enrollments: z.array(
          z.object({
            kind: z.string(),
            productId: z.string(),
            activatedAt: z.string().nullable(),
            expiresAt: z.string().nullable(),
          }),
        ),
        groups: z.array(z.string()),
        /** What a sync would change compared with the last-seen state. */
        changes: z.array(z.string()),
      }),
    ),
    truncated: z.boolean(),
    /**
     * Courses or bundles the destination does not have, groups the first sync would create, and
     * destinations whose catalog could not be read (nothing of theirs was checked).
     */
    warnings: z.array(catalogWarningSchema),
  })
  .meta({ id: 'ProvisioningDryRunResult' });

export const stateSchema = z
  .object({
    destinationId: z.string(),
    userId: z.string(),
    status: z.string(),
    remoteId: z.string().nullable(),
    desired: z.record(z.string(), z.unknown()).nullable(),
    actual: z.record(z.string(), z.unknown()),
    removalAfter: z.string().nullable(),
    drift: z.array(z.record(z.string(), z.unknown())).nullable(),
    lastError: z.string().nullable(),
    syncedAt: z.string().nullable(),
    updatedAt: z.string(),
  })
  .meta({ id: 'ProvisioningState' });

export const attemptSchema = z
  .object({
    id: z.string(),
    destinationId: z.string(),
    userId: z.string(),
    jobId: z.string().nullable(),
    operation: z.string(),
    request: z.record(z.string(), z.unknown()),
    outcome: z.enum(['succeeded', 'failed']),
    httpStatus: z.number().int().nullable(),
    latencyMs: z.number().int(),
    error: z.string().nullable(),
    createdAt: z.string(),
  })
  .meta({ id: 'ProvisioningAttempt' });
export type AttemptView = z.output<typeof attemptSchema>;
