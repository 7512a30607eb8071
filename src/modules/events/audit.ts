/**
 * The audit log: the event log read as "who changed what, when, from where". Every change made
 * through the admin API, the console, the CLI, a setup link, SCIM or a login is an event with its
 * actor (who, from which IP, in which request); updates carry `changes` (`{ field: { from, to } }`).
 *
 * Events never hold secrets by construction (services write views, not rows). The audit view
 * redacts secret-named members once more on the way out, so a mistake in one service does not end
 * up in a CSV on someone's laptop.
 */
import { z } from 'zod';
import { actorSchema, type EventRecord } from './contracts.ts';

export const auditEntrySchema = z
  .object({
    id: z.string(),
    cursor: z.string().describe('Pass as `after` to read older entries.'),
    occurredAt: z.string(),
    organizationId: z.string().nullable(),
    organizationName: z
      .string()
      .nullable()
      .describe('The organization’s name now; null without an organization or once it is deleted.'),
    type: z.string().meta({ example: 'connection.updated' }),
    actor: actorSchema,
    resource: z.object({
      type: z.string().nullable(),
      id: z.string().nullable(),
      name: z
        .string()
        .nullable()
        .describe(
          'Its name as the event recorded it (a connection’s or directory’s name, a domain, a user’s name or email), to show instead of the id; null when the event carries none.',
        ),
    }),
    changes: z
      .record(z.string(), z.object({ from: z.unknown(), to: z.unknown() }))
      .nullable()
      .describe('For updates: each changed field with its value before and after (secrets redacted).'),
    data: z.record(z.string(), z.unknown()).describe('The event as recorded (secrets redacted).'),
  })
  .meta({ id: 'AuditEntry' });

export type AuditEntry = z.output<typeof auditEntrySchema>;

export const REDACTED = '[redacted]';

/** Member names whose values are secrets, compared without case, `_` or `-`. */
const SECRET_NAMES = new Set([
  'secret',
  'password',
  'passwd',
  'token',
  'accesstoken',
  'refreshtoken',
  'idtoken',
  'bearer',
  'authorization',
  'cookie',
  'apikey',
  'privatekey',
  'clientsecret',
  'assertion',
  'samlresponse',
  'codeverifier',
]);
const SECRET_SUFFIXES = ['secret', 'password', 'sealed', 'hash', 'privatekey', 'apikey'];

/** True when a member with this name holds a secret (`clientSecret`, `tokenHash`, `api_key`). */
export function isSecretName(name: string): boolean {
  const normalized = name.toLowerCase().replace(/[-_]/g, '');
  return SECRET_NAMES.has(normalized) || SECRET_SUFFIXES.some((suffix) => normalized.endsWith(suffix));
}

/** Deep copy with secret-named members replaced by `[redacted]` (null stays null: "no secret set"). */
export function redactSecrets(value: unknown, depth = 0): unknown {
  if (depth > 12) return '[truncated]';
  if (Array.isArray(value)) return value.map((item) => redactSecrets(item, depth + 1));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      if (!isSecretName(key) || item === null || typeof item === 'boolean') {
        out[key] = redactSecrets(item, depth + 1);
      } else if (isChange(item)) {
        // A changed secret: that it changed is worth auditing, its values are not.
        out[key] = { from: REDACTED, to: REDACTED };
      } else {
        out[key] = REDACTED;
      }
    }
    return out;
  }
  return value;
}

export function toAuditEntry(event: EventRecord): AuditEntry {
  const data = redactSecrets(event.data) as Record<string, unknown>;
  const changes = data.changes;
  return {
    id: event.id,
    cursor: event.cursor,
    occurredAt: event.occurredAt,
    organizationId: event.organizationId,
    // Filled in by the API, which reads organization names (the event log does not own them).
    organizationName: null,
    type: event.type,
    // Every writer sets the actor's type; an event from elsewhere (a migration, a hand-written row)
    // still reads as an entry rather than failing the page.
    actor: { ...event.actor, type: typeof event.actor?.type === 'string' ? event.actor.type : 'unknown' },
    resource: { type: event.subject.type, id: event.subject.id, name: resourceName(event.subject.id, data) },
    changes: isChangeSet(changes) ? changes : null,
    data,
  };
}

/** Members of a resource's view that name it, most telling first. */
const NAME_MEMBERS = ['name', 'displayName', 'domain', 'email', 'label', 'filename'] as const;

/**
 * The name of an event's subject as the event recorded it: services write the resource's view
 * (`{ connection: { id, name, ... } }`, `{ domain: { id, domain } }`), so the member whose `id` is
 * the subject's names it. Null when the event carries no view of it (a token rotation).
 */
export function resourceName(subjectId: string | null, data: Record<string, unknown>): string | null {
  if (!subjectId) return null;
  for (const value of Object.values(data)) {
    if (!value || typeof value !== 'object' || Array.isArray(value)) continue;
    const view = value as Record<string, unknown>;
    if (view.id !== subjectId) continue;
    for (const member of NAME_MEMBERS) {
      const name = view[member];
      if (typeof name === 'string' && name.trim()) return name;
    }
  }
  return null;
}

function isChange(value: unknown): value is { from: unknown; to: unknown } {
  return value !== null && typeof value === 'object' && 'from' in value && 'to' in value;
}

function isChangeSet(value: unknown): value is Record<string, { from: unknown; to: unknown }> {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return false;
  return Object.values(value).every(isChange);
}

// CSV export

export const AUDIT_CSV_COLUMNS = [
  'occurred_at',
  'id',
  'organization_id',
  'type',
  'actor_type',
  'actor_id',
  'actor_name',
  'actor_ip',
  'request_id',
  'resource_type',
  'resource_id',
  'changes',
  'data',
] as const;

/**
 * One CSV cell. A value a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, or a
 * tab or carriage return that some programs strip first) gets a leading `'`, as OWASP's "CSV
 * injection" guidance says; then RFC 4180 quoting (double quotes doubled).
 */
export function csvCell(value: unknown): string {
  let text =
    value === null || value === undefined ? '' : typeof value === 'string' ? value : JSON.stringify(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) || text !== text.trim() ? `"${text.replaceAll('"', '""')}"` : text;
}

export function csvRow(values: readonly unknown[]): string {
  return `${values.map(csvCell).join(',')}\r\n`;
}

export function auditCsvRow(entry: AuditEntry): string {
  return csvRow([
    entry.occurredAt,
    entry.id,
    entry.organizationId,
    entry.type,
    entry.actor.type,
    entry.actor.id,
    entry.actor.name,
    entry.actor.ip,
    entry.actor.requestId,
    entry.resource.type,
    entry.resource.id,
    entry.changes,
    entry.data,
  ]);
}
