/** All SQL of the event log. */
import { sql } from 'drizzle-orm';
import { type Executor, queryRows } from '../../platform/db/client.ts';
import { textArray } from '../../platform/db/sql-fragments.ts';
import type { EventCursor, NewEvent } from './contracts.ts';
import { events } from './schema.ts';

export interface EventRow {
  id: string;
  tx_id: string;
  organization_id: string | null;
  type: string;
  actor: Record<string, unknown>;
  subject_type: string | null;
  subject_id: string | null;
  data: Record<string, unknown>;
  occurred_at: Date | string;
}

/** Channel notified (on commit) whenever events are written, to wake consumers. */
export const EVENTS_CHANNEL = 'switchboard_events';

export async function insertEvents(executor: Executor, rows: readonly NewEvent[]): Promise<void> {
  if (rows.length === 0) return;
  await executor.insert(events).values(
    rows.map((row) => ({
      organizationId: row.organizationId,
      type: row.type,
      actor: { ...row.actor },
      subjectType: row.subjectType ?? null,
      subjectId: row.subjectId ?? null,
      data: row.data ?? {},
    })),
  );
  await executor.execute(sql`select pg_notify(${EVENTS_CHANNEL}, '')`);
}

export interface EventQuery {
  after: EventCursor;
  limit: number;
  types?: readonly string[];
  /** Type prefixes such as `user.` (from `user.*`). */
  typePrefixes?: readonly string[];
  organizationId?: string;
  subjectId?: string;
}

/**
 * Events after the cursor whose transactions are finished, in log order. Only transactions older
 * than the oldest one still running are read, so a later call never finds an event "behind" a
 * cursor already handed out.
 */
export async function selectEventsAfter(executor: Executor, query: EventQuery): Promise<EventRow[]> {
  const filters = [
    sql`(e.tx_id, e.id) > (${query.after.txId.toString()}::bigint, ${query.after.id.toString()}::bigint)`,
  ];
  filters.push(sql`e.tx_id < pg_snapshot_xmin(pg_current_snapshot())::text::bigint`);
  if (query.organizationId) filters.push(sql`e.organization_id = ${query.organizationId}`);
  if (query.subjectId) filters.push(sql`e.subject_id = ${query.subjectId}`);
  const typeFilters = [];
  if (query.types?.length) typeFilters.push(sql`e.type = any(${textArray(query.types)})`);
  for (const prefix of query.typePrefixes ?? []) typeFilters.push(sql`starts_with(e.type, ${prefix})`);
  if (typeFilters.length) filters.push(sql`(${sql.join(typeFilters, sql` or `)})`);
  return queryRows<EventRow>(
    executor,
    sql`select e.id::text as id, e.tx_id::text as tx_id, e.organization_id, e.type, e.actor, e.subject_type,
          e.subject_id, e.data, e.occurred_at
        from events e
        where ${sql.join(filters, sql` and `)}
        order by e.tx_id, e.id
        limit ${query.limit}`,
  );
}

/** Locks a consumer's cursor row for this transaction, creating it at the start of the log. */
export async function lockConsumerCursor(
  executor: Executor,
  name: string,
): Promise<{ txId: bigint; id: bigint } | undefined> {
  await executor.execute(
    sql`insert into event_consumers (name) values (${name}) on conflict (name) do nothing`,
  );
  const rows = await queryRows<{ cursor_tx_id: string; cursor_id: string }>(
    executor,
    sql`select cursor_tx_id::text, cursor_id::text from event_consumers where name = ${name} for update skip locked`,
  );
  const row = rows[0];
  return row ? { txId: BigInt(row.cursor_tx_id), id: BigInt(row.cursor_id) } : undefined;
}

export async function saveConsumerCursor(
  executor: Executor,
  name: string,
  cursor: EventCursor,
): Promise<void> {
  await executor.execute(
    sql`update event_consumers set cursor_tx_id = ${cursor.txId.toString()}::bigint,
          cursor_id = ${cursor.id.toString()}::bigint, updated_at = now()
        where name = ${name}`,
  );
}

export async function readConsumerCursor(executor: Executor, name: string): Promise<EventCursor | undefined> {
  const rows = await queryRows<{ cursor_tx_id: string; cursor_id: string }>(
    executor,
    sql`select cursor_tx_id::text, cursor_id::text from event_consumers where name = ${name}`,
  );
  const row = rows[0];
  return row ? { txId: BigInt(row.cursor_tx_id), id: BigInt(row.cursor_id) } : undefined;
}
