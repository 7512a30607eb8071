/** Admin API shapes of setup links. */
import { z } from 'zod';
import { actorSchema } from '../events/index.ts';

export const SETUP_INTENTS = ['sso', 'scim', 'domain'] as const;
export type SetupIntent = (typeof SETUP_INTENTS)[number];

export const createSetupLinkBody = z
  .object({
    intent: z.enum(SETUP_INTENTS).describe('What the link sets up: `sso`, `scim` or `domain`.'),
    label: z
      .string()
      .trim()
      .min(1)
      .max(200)
      .optional()
      .describe('Who the link is for, e.g. "Jane Roe, Acme IT". Shown in the audit log.'),
    expiresInDays: z
      .number()
      .int()
      .min(1)
      .max(90)
      .optional()
      .describe('Days until the link stops working (default SETUP_LINK_TTL_DAYS, 7).'),
    connectionId: z
      .string()
      .max(100)
      .optional()
      .describe(
        'sso: an existing SAML connection of the organization to finish or repair (default: a new one).',
      ),
    directoryId: z
      .string()
      .max(100)
      .optional()
      .describe('scim: an existing SCIM directory of the organization (default: the admin creates one).'),
  })
  .strict()
  .meta({ id: 'CreateSetupLink' });

export type CreateSetupLinkInput = z.output<typeof createSetupLinkBody>;

export const setupLinkSchema = z
  .object({
    id: z.string(),
    organizationId: z.string(),
    intent: z.enum(SETUP_INTENTS),
    label: z.string().nullable(),
    status: z.enum(['active', 'expired', 'revoked']),
    tokenPrefix: z.string().describe('First characters of the token, to tell links apart.'),
    connectionId: z.string().nullable(),
    directoryId: z.string().nullable(),
    createdBy: actorSchema,
    expiresAt: z.string(),
    revokedAt: z.string().nullable(),
    lastUsedAt: z.string().nullable(),
    createdAt: z.string(),
  })
  .meta({ id: 'SetupLink' });

export type SetupLinkView = z.output<typeof setupLinkSchema>;

export const createdSetupLinkSchema = z
  .object({
    link: setupLinkSchema,
    url: z.string().describe('The link to send, shown once: only a hash of its token is stored.'),
  })
  .meta({ id: 'CreatedSetupLink' });
