/**
 * The event types a webhook may subscribe to, so a typo (`user.creatd`) is refused when the
 * subscription is saved instead of silently never matching. A filter is an exact type from this
 * catalogue, a family (`user.*`, any type of a known family, including ones added later), or `*`.
 *
 * test/webhooks/event-catalog.test.ts checks that every event type a route declares as its audit
 * trail is listed here.
 */
import { InvalidInput } from '../../platform/errors.ts';
import { CORE_EVENT_TYPES, parseTypeFilter } from '../events/index.ts';

export const WEBHOOK_EVENT_TYPES = [
  'webhook.created',
  'webhook.updated',
  'webhook.deleted',
  'webhook.enabled',
  'webhook.disabled',
  'webhook.secret_rotated',
  'webhook.redelivered',
  'webhook.replayed',
] as const;

/** Every event type known to be written by the hub. */
export const KNOWN_EVENT_TYPES: ReadonlySet<string> = new Set<string>([
  ...CORE_EVENT_TYPES,
  'application.created',
  'application.updated',
  'application.deleted',
  'application.secret_rotated',
  'application.access_refused',
  'connection.created',
  'connection.updated',
  'connection.deleted',
  'connection.enabled',
  'connection.disabled',
  'connection.metadata_refreshed',
  'console.member_granted',
  'console.member_role_changed',
  'console.member_revoked',
  'destination.created',
  'destination.updated',
  'destination.deleted',
  'directory.created',
  'directory.updated',
  'directory.deleted',
  'directory.token_rotated',
  'directory.token_revoked',
  'hris.sync_requested',
  'hris.record_linked',
  'hris.settings_updated',
  'import.created',
  'import.mapping_saved',
  'import.apply_requested',
  'import.applied',
  'lms_site.created',
  'lms_site.updated',
  'lms_site.deleted',
  'login.succeeded',
  'login.failed',
  'rule.created',
  'rule.updated',
  'rule.deleted',
  'rule.enabled',
  'rule.disabled',
  'route.created',
  'route.updated',
  'route.deleted',
  'route.reordered',
  'setup_link.created',
  'setup_link.opened',
  'setup_link.revoked',
  'setup_link.test_login_started',
  'signing_key.created',
  'signing_key.rotated',
  'signing_key.revoked',
  'user.sessions_ended',
  'provisioning.succeeded',
  'provisioning.failed',
  ...WEBHOOK_EVENT_TYPES,
]);

/** Families (the part before the first dot), including those of modules still being built. */
export const KNOWN_EVENT_FAMILIES: ReadonlySet<string> = new Set<string>([
  ...[...KNOWN_EVENT_TYPES].map((type) => type.split('.')[0] as string),
  'destination',
  'rule',
  'import',
  'hris',
  'notification',
]);

const FILTER_SYNTAX = /^(\*|[a-z][a-z0-9_]*\.(\*|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*))$/;

/**
 * Validates and normalizes event type filters (trimmed, de-duplicated, sorted). Throws InvalidInput
 * naming `eventTypes[i]`.
 */
export function normalizeEventTypeFilters(filters: readonly string[], field = 'eventTypes'): string[] {
  if (filters.length === 0) {
    throw new InvalidInput({
      code: 'webhook_event_types_empty',
      detail: 'A webhook must subscribe to at least one event type.',
      field,
      fix: 'Give event types such as ["user.created", "group.*"], or ["*"] for every event.',
    });
  }
  const out = new Set<string>();
  for (const [index, raw] of filters.entries()) {
    const filter = raw.trim();
    const at = `${field}[${index}]`;
    if (!FILTER_SYNTAX.test(filter)) {
      throw new InvalidInput({
        code: 'webhook_event_type_invalid',
        detail: `${at}: "${raw}" is not an event type pattern.`,
        field: at,
        fix: 'Write an event type (`user.created`), a family (`user.*`) or `*`; lowercase, dot-separated.',
      });
    }
    const family = filter.split('.')[0] as string;
    if (filter !== '*' && !KNOWN_EVENT_FAMILIES.has(family)) {
      throw new InvalidInput({
        code: 'webhook_event_type_unknown',
        detail: `${at}: no event type starts with "${family}.".`,
        field: at,
        fix: `Use one of the families ${[...KNOWN_EVENT_FAMILIES].sort().join(', ')} (see docs/webhooks.md).`,
      });
    }
    if (!filter.endsWith('*') && !KNOWN_EVENT_TYPES.has(filter)) {
      throw new InvalidInput({
        code: 'webhook_event_type_unknown',
        detail: `${at}: "${filter}" is not an event type the hub writes.`,
        field: at,
        fix: `Check the spelling, or subscribe to the family "${family}.*" (see docs/webhooks.md for the list).`,
      });
    }
    out.add(filter);
  }
  return [...out].sort();
}

/** The filters as the event log's query takes them (`user.*` becomes the prefix `user.`; `*` the empty prefix). */
export function eventQueryOf(filters: readonly string[]): { types?: string[]; typePrefixes?: string[] } {
  return parseTypeFilter(filters.join(','));
}

/** Whether an event type matches the filters (in the form `eventQueryOf` returns). */
export function matchesEventType(
  type: string,
  query: { types?: readonly string[]; typePrefixes?: readonly string[] },
): boolean {
  return Boolean(
    query.types?.includes(type) || query.typePrefixes?.some((prefix) => type.startsWith(prefix)),
  );
}
