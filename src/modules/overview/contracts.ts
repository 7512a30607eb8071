/** The overview of one organization: what its console page draws. */
import { z } from 'zod';

const countByDay = z.object({
  date: z.string().describe('UTC day, YYYY-MM-DD.'),
  succeeded: z.number().int(),
  failed: z.number().int(),
});

export const attentionItemSchema = z.object({
  severity: z.enum(['error', 'warning']),
  code: z.string().meta({ example: 'certificate_expiring' }),
  message: z.string().describe('What is wrong and what to do, for a person.'),
  resource: z
    .object({
      type: z.string().describe('`connection`, `directory`, ...'),
      id: z.string(),
      name: z.string().optional().describe('Its name, to show instead of the id.'),
    })
    .nullable(),
  loginTraces: z
    .object({
      status: z.literal('failed'),
      errorCode: z.string(),
      since: z.string(),
    })
    .optional()
    .describe(
      'For login failures: the filter of the login traces that show why, as query parameters of GET /api/v1/organizations/{org}/login-traces.',
    ),
});

export const overviewSchema = z
  .object({
    organization: z.object({ id: z.string(), slug: z.string(), name: z.string() }),
    window: z.object({ days: z.number().int(), since: z.string(), until: z.string() }),
    logins: z.object({
      days: z
        .array(countByDay.extend({ activeUsers: z.number().int() }))
        .describe('Every day of the window.'),
      succeeded: z.number().int(),
      failed: z.number().int(),
      successRate: z.number().nullable().describe('Succeeded / all, 0..1; null without logins.'),
      failedByReason: z.array(z.object({ code: z.string(), count: z.number().int() })),
    }),
    activeUsers: z.number().int().describe('People who signed in at least once in the window.'),
    directories: z.array(
      z.object({
        id: z.string(),
        name: z.string(),
        kind: z.string(),
        provider: z.string(),
        status: z.string(),
        lastActivityAt: z.string().nullable(),
        freshness: z
          .enum(['fresh', 'stale', 'never', 'disabled'])
          .describe('`stale`: no request from the directory for 24 hours.'),
      }),
    ),
    certificates: z.array(
      z.object({
        connectionId: z.string(),
        connectionName: z.string(),
        subject: z.string(),
        notAfter: z.string(),
        status: z.enum(['expiring_soon', 'expired']),
      }),
    ),
    deadLetters: z.object({
      total: z.number().int(),
      queues: z.array(z.object({ queue: z.string(), count: z.number().int() })),
    }),
    provisioning: z.object({
      days: z.array(countByDay),
      succeeded: z.number().int(),
      failed: z.number().int(),
      successRate: z.number().nullable().describe('Succeeded / all, 0..1; null without provisioning.'),
      latencyMs: z.object({
        samples: z.number().int(),
        p50: z.number().nullable(),
        p95: z.number().nullable(),
        max: z.number().nullable(),
      }),
      failedByReason: z.array(z.object({ code: z.string(), count: z.number().int() })),
    }),
    attention: z.array(attentionItemSchema).describe('Failures needing attention, errors first.'),
  })
  .meta({ id: 'OrganizationOverview' });

export type Overview = z.output<typeof overviewSchema>;
export type AttentionItem = z.output<typeof attentionItemSchema>;
