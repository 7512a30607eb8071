import { z } from 'zod';

/** Who made a change. Recorded on every event; never carries a secret. */
export interface Actor {
  type: 'api_key' | 'cli' | 'system' | 'scim' | 'sso' | 'user' | 'import' | 'hris' | 'setup_link' | 'console';
  id?: string;
  name?: string;
  ip?: string;
  requestId?: string;
}

export const SYSTEM_ACTOR: Actor = { type: 'system' };

/** Event types written by the foundation modules. Later modules add their own (`login.succeeded`, ...). */
export const CORE_EVENT_TYPES = [
  'organization.created',
  'organization.updated',
  'organization.deleted',
  'organization.domain_added',
  'organization.domain_verified',
  'organization.domain_removed',
  'user.created',
  'user.updated',
  'user.suspended',
  'user.reactivated',
  'user.deactivated',
  'user.deleted',
  'group.created',
  'group.updated',
  'group.deleted',
  'group.member_added',
  'group.member_removed',
  'identity.linked',
  'identity.unlinked',
  'api_key.created',
  'api_key.revoked',
] as const;

export interface NewEvent {
  organizationId: string | null;
  type: string;
  actor: Actor;
  subjectType?: string;
  subjectId?: string;
  data?: Record<string, unknown>;
}

export interface EventRecord {
  id: string;
  cursor: string;
  type: string;
  organizationId: string | null;
  actor: Actor;
  subject: { type: string | null; id: string | null };
  data: Record<string, unknown>;
  occurredAt: string;
}

export const actorSchema = z
  .object({
    type: z.string(),
    id: z.string().optional(),
    name: z.string().optional(),
    ip: z.string().optional(),
    requestId: z.string().optional(),
  })
  .meta({ id: 'Actor' });

export const eventSchema = z
  .object({
    id: z.string().describe('Position of the event in the log (numeric string).'),
    cursor: z.string().describe('Pass as `after` to read the events that follow this one.'),
    type: z.string().meta({ example: 'user.created' }),
    organizationId: z.string().nullable(),
    actor: actorSchema,
    subject: z.object({ type: z.string().nullable(), id: z.string().nullable() }),
    data: z.record(z.string(), z.unknown()),
    occurredAt: z.string().describe('ISO-8601 time of the change.'),
  })
  .meta({ id: 'Event' });

/** The start of the log: every event comes after it. */
export const START_POSITION = 0n;

export function encodeCursor(position: bigint): string {
  return position.toString();
}

/** Parses a cursor (a log position); undefined when it is not one. */
export function decodeCursor(value: string): bigint | undefined {
  return /^\d{1,18}$/.test(value) ? BigInt(value) : undefined;
}
