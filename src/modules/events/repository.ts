/** All SQL of the event log. */
import { sql } from 'drizzle-orm';
import { type Database, type Executor, queryRows } from '../../platform/db/client.ts';
import { textArray } from '../../platform/db/sql-fragments.ts';
import type { NewEvent } from './contracts.ts';
import { events } from './schema.ts';

export interface EventRow {
  id: string;
  position: string;
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

/** Arbitrary constant naming the sequencer's advisory lock. */
const SEQUENCER_LOCK_KEY = 7_114_552_032;

export async function insertEvents(executor: Executor, rows: readonly NewEvent[]): Promise<void> {
  if (rows.length === 0) return;
  if (rows.length >= BULK_EVENTS) {
    await insertEventsAsJson(executor, rows);
  } else {
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
  }
  await executor.execute(sql`select pg_notify(${EVENTS_CHANNEL}, '')`);
}

/** From this many events on, one insert with a single JSON parameter (bulk imports, large groups). */
const BULK_EVENTS = 20;

/**
 * Inserts many events with one JSON parameter: a multi-row VALUES list binds six parameters per
 * event, which the driver and the query builder handle far more slowly than one document. Rows
 * are inserted in array order, so ids (and positions) follow the order of `rows`.
 */
async function insertEventsAsJson(executor: Executor, rows: readonly NewEvent[]): Promise<void> {
  const payload = JSON.stringify(
    rows.map((row) => ({
      organization_id: row.organizationId,
      type: row.type,
      actor: row.actor,
      subject_type: row.subjectType ?? null,
      subject_id: row.subjectId ?? null,
      data: row.data ?? {},
    })),
  );
  await executor.execute(
    sql`insert into events (organization_id, type, actor, subject_type, subject_id, data)
        select v.organization_id, v.type, v.actor, v.subject_type, v.subject_id, coalesce(v.data, '{}'::jsonb)
        from rows from (jsonb_to_recordset(${payload}::jsonb)
          as (organization_id text, type text, actor jsonb, subject_type text, subject_id text, data jsonb))
          with ordinality as v(organization_id, type, actor, subject_type, subject_id, data, ord)
        order by v.ord`,
  );
}

/**
 * Gives every committed event that has no position yet the next positions, in id order. Runs in its
 * own transaction, one process at a time: the lock is taken in a first statement, so the update's
 * snapshot (READ COMMITTED: one per statement) sees the positions the previous holder committed.
 * Returns how many events were sequenced.
 */
export async function sequenceEvents(database: Database): Promise<number> {
  return database.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${SEQUENCER_LOCK_KEY})`);
    const rows = await queryRows<{ n: number }>(
      tx,
      sql`with pending as (
            select id, row_number() over (order by id) as rn from events where position is null
          ), base as (
            select coalesce(max(position), 0) as last from events
          ), assigned as (
            update events e set position = base.last + pending.rn
            from pending, base where e.id = pending.id
            returning 1
          )
          select count(*)::int as n from assigned`,
    );
    return Number(rows[0]?.n ?? 0);
  });
}

export interface EventQuery {
  after: bigint;
  limit: number;
  types?: readonly string[];
  /** Type prefixes such as `user.` (from `user.*`). */
  typePrefixes?: readonly string[];
  organizationId?: string;
  subjectId?: string;
}

/** Sequenced events after a position, in log order. Call `sequenceEvents` first to include the latest. */
export async function selectEventsAfter(executor: Executor, query: EventQuery): Promise<EventRow[]> {
  const filters = [sql`e.position > ${query.after.toString()}::bigint`];
  if (query.organizationId) filters.push(sql`e.organization_id = ${query.organizationId}`);
  if (query.subjectId) filters.push(sql`e.subject_id = ${query.subjectId}`);
  const typeFilters = [];
  if (query.types?.length) typeFilters.push(sql`e.type = any(${textArray(query.types)})`);
  for (const prefix of query.typePrefixes ?? []) typeFilters.push(sql`starts_with(e.type, ${prefix})`);
  if (typeFilters.length) filters.push(sql`(${sql.join(typeFilters, sql` or `)})`);
  return queryRows<EventRow>(
    executor,
    sql`select e.id::text as id, e.position::text as position, e.organization_id, e.type, e.actor,
          e.subject_type, e.subject_id, e.data, e.occurred_at
        from events e
        where ${sql.join(filters, sql` and `)}
        order by e.position
        limit ${query.limit}`,
  );
}

/** Locks a consumer's cursor row for this transaction, creating it at the start of the log. */
export async function lockConsumerCursor(executor: Executor, name: string): Promise<bigint | undefined> {
  await executor.execute(
    sql`insert into event_consumers (name) values (${name}) on conflict (name) do nothing`,
  );
  const rows = await queryRows<{ position: string }>(
    executor,
    sql`select position::text from event_consumers where name = ${name} for update skip locked`,
  );
  const row = rows[0];
  return row ? BigInt(row.position) : undefined;
}

export async function saveConsumerCursor(executor: Executor, name: string, position: bigint): Promise<void> {
  await executor.execute(
    sql`update event_consumers set position = ${position.toString()}::bigint, updated_at = now() where name = ${name}`,
  );
}

export async function readConsumerCursor(executor: Executor, name: string): Promise<bigint | undefined> {
  const rows = await queryRows<{ position: string }>(
    executor,
    sql`select position::text from event_consumers where name = ${name}`,
  );
  const row = rows[0];
  return row ? BigInt(row.position) : undefined;
}
