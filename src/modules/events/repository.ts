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

export interface AuditQuery {
  /** Entries older than this position (the cursor of the last entry of the previous page). */
  before?: bigint;
  limit: number;
  organizationId?: string;
  actorType?: string;
  actorId?: string;
  types?: readonly string[];
  typePrefixes?: readonly string[];
  subjectType?: string;
  subjectId?: string;
  since?: Date;
  until?: Date;
}

/**
 * Sequenced events, newest first (the audit log). With an organization or an actor the order is
 * `position desc nulls last`: only events_org_position_desc_idx and events_actor_position_idx give
 * it, so the planner walks them. With plain `desc` it may walk events_position_key backwards and
 * filter, which for an organization whose events are old reads the whole log (measured: 600 ms at
 * a million events, against 0.1 ms). The other filters apply to the rows on the way.
 */
export async function selectAuditPage(executor: Executor, query: AuditQuery): Promise<EventRow[]> {
  const filters = [sql`e.position is not null`];
  if (query.before !== undefined) filters.push(sql`e.position < ${query.before.toString()}::bigint`);
  if (query.organizationId) filters.push(sql`e.organization_id = ${query.organizationId}`);
  if (query.actorType) filters.push(sql`(e.actor ->> 'type') = ${query.actorType}`);
  if (query.actorId) filters.push(sql`(e.actor ->> 'id') = ${query.actorId}`);
  if (query.subjectType) filters.push(sql`e.subject_type = ${query.subjectType}`);
  if (query.subjectId) filters.push(sql`e.subject_id = ${query.subjectId}`);
  if (query.since) filters.push(sql`e.occurred_at >= ${query.since.toISOString()}::timestamptz`);
  if (query.until) filters.push(sql`e.occurred_at < ${query.until.toISOString()}::timestamptz`);
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
        order by e.position desc ${query.organizationId || query.actorId ? sql`nulls last` : sql``}
        limit ${query.limit}`,
  );
}

// Statistics per organization over a time window. Each query reads the
// (organization_id, type, occurred_at) index: one range per event type.

export interface DailyCount {
  day: string;
  type: string;
  count: number;
  /** Distinct subjects (users, for logins) that day. */
  subjects: number;
}

export async function selectDailyCounts(
  executor: Executor,
  query: { organizationId: string; types: readonly string[]; since: Date },
): Promise<DailyCount[]> {
  return queryRows<DailyCount>(
    executor,
    // Grouped by (day, type, subject) first, then by (day, type): two hash aggregates instead of a
    // sort for count(distinct); index-only on events_org_type_time_idx.
    sql`select to_char(s.day, 'YYYY-MM-DD') as day, s.type, sum(s.n)::int as count,
          count(s.subject_id)::int as subjects
        from (
          select date_trunc('day', e.occurred_at at time zone 'UTC') as day, e.type, e.subject_id,
                 count(*) as n
          from events e
          where e.organization_id = ${query.organizationId}
            and e.type = any(${textArray(query.types)})
            and e.occurred_at >= ${query.since.toISOString()}::timestamptz
          group by 1, 2, 3
        ) s
        group by s.day, s.type
        order by 1, 2`,
  );
}

/** Distinct subjects of events of these types in the window (e.g. users who signed in). */
export async function countDistinctSubjects(
  executor: Executor,
  query: { organizationId: string; types: readonly string[]; since: Date },
): Promise<number> {
  const rows = await queryRows<{ n: number }>(
    executor,
    sql`select count(distinct e.subject_id)::int as n
        from events e
        where e.organization_id = ${query.organizationId}
          and e.type = any(${textArray(query.types)})
          and e.occurred_at >= ${query.since.toISOString()}::timestamptz`,
  );
  return Number(rows[0]?.n ?? 0);
}

/** Events of one type in the window counted by the first present of some `data` members (a reason code). */
export async function selectCountsByDataField(
  executor: Executor,
  query: { organizationId: string; type: string; fields: readonly string[]; since: Date; limit: number },
): Promise<Array<{ value: string; count: number }>> {
  const value = sql.join([...query.fields.map((field) => sql`e.data ->> ${field}`), sql`'unknown'`], sql`, `);
  return queryRows<{ value: string; count: number }>(
    executor,
    sql`select coalesce(${value}) as value, count(*)::int as count
        from events e
        where e.organization_id = ${query.organizationId}
          and e.type = ${query.type}
          and e.occurred_at >= ${query.since.toISOString()}::timestamptz
        group by 1
        order by 2 desc, 1
        limit ${query.limit}`,
  );
}

/**
 * Latency percentiles (milliseconds) of events of one type in the window: `data.latencyMs`, else
 * `data.durationMs`, else the time from `data.requestedAt` to the event. Events carrying none are
 * left out.
 */
export async function selectLatencyPercentiles(
  executor: Executor,
  query: { organizationId: string; type: string; since: Date },
): Promise<{ samples: number; p50: number | null; p95: number | null; max: number | null }> {
  const rows = await queryRows<{
    samples: number;
    p50: number | null;
    p95: number | null;
    max: number | null;
  }>(
    executor,
    sql`select count(l)::int as samples,
          percentile_cont(0.5) within group (order by l) as p50,
          percentile_cont(0.95) within group (order by l) as p95,
          max(l) as max
        from (
          select case
              when jsonb_typeof(e.data -> 'latencyMs') = 'number' then (e.data ->> 'latencyMs')::float8
              when jsonb_typeof(e.data -> 'durationMs') = 'number' then (e.data ->> 'durationMs')::float8
              when e.data ->> 'requestedAt' ~ '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?(Z|[+-]\\d{2}:?\\d{2})$'
                then extract(epoch from e.occurred_at - (e.data ->> 'requestedAt')::timestamptz) * 1000
            end as l
          from events e
          where e.organization_id = ${query.organizationId}
            and e.type = ${query.type}
            and e.occurred_at >= ${query.since.toISOString()}::timestamptz
        ) s`,
  );
  const row = rows[0];
  const number = (value: number | string | null | undefined) =>
    value === null || value === undefined ? null : Math.round(Number(value));
  return {
    samples: Number(row?.samples ?? 0),
    p50: number(row?.p50),
    p95: number(row?.p95),
    max: number(row?.max),
  };
}
