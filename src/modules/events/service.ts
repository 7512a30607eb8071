/**
 * The event log: append (inside the caller's transaction), read by cursor, and consume.
 *
 * Reads first sequence the events committed since the last read (see events/schema.ts), then read
 * by position, so a cursor never passes an event that commits late.
 *
 * A consumer (the provisioning orchestrator, webhooks, ...) keeps its own cursor in
 * `event_consumers`. Each batch runs in one transaction that locks the consumer's row, hands the
 * events to the handler with that transaction, and advances the cursor: what the handler writes
 * commits together with the new position, so nothing is lost and nothing is handled twice, even
 * with several worker processes (the others skip the locked row).
 */
import type { Logger } from 'pino';
import type { Database, Executor, Tx } from '../../platform/db/client.ts';
import { VacuumKeeper } from '../../platform/db/statistics.ts';
import { type AuditEntry, toAuditEntry } from './audit.ts';
import { type Actor, type EventRecord, encodeCursor, type NewEvent, START_POSITION } from './contracts.ts';
import {
  type AuditQuery,
  countDistinctSubjects,
  type DailyCount,
  EVENTS_CHANNEL,
  type EventQuery,
  type EventRow,
  insertEvents,
  lockConsumerCursor,
  readConsumerCursor,
  saveConsumerCursor,
  selectAuditPage,
  selectCountsByDataField,
  selectDailyCounts,
  selectEventsAfter,
  selectLatencyPercentiles,
  sequenceEvents,
} from './repository.ts';

/** Without autovacuum, the event log is vacuumed after this many events were sequenced. */
const VACUUM_AFTER_SEQUENCED = 20_000;

export type EventHandler = (tx: Tx, events: readonly EventRecord[]) => Promise<void>;

export interface ConsumerOptions {
  batchSize?: number;
  /** Polling backstop when no notification arrives. */
  pollIntervalMs?: number;
  /** Only these event types (exact or `prefix.*`); others advance the cursor unseen. */
  types?: readonly string[];
}

export class EventLog {
  readonly #database: Database;
  readonly #logger: Logger;

  /** Sequencing updates every event once; see VacuumKeeper for why the log is vacuumed here. */
  readonly #vacuum: VacuumKeeper;

  constructor(database: Database, logger: Logger) {
    this.#database = database;
    this.#logger = logger.child({ component: 'events' });
    this.#vacuum = new VacuumKeeper(database, 'events', {
      threshold: VACUUM_AFTER_SEQUENCED,
      onError: (error) => this.#logger.warn({ err: error }, 'vacuum of the event log failed'),
    });
  }

  /** Sequences committed events (see repository.sequenceEvents), then keeps the log vacuumed. */
  async #sequence(): Promise<void> {
    const sequenced = await sequenceEvents(this.#database);
    await this.#vacuum.changed(sequenced);
  }

  /** Appends events inside the caller's transaction: they exist only if the change commits. */
  async append(tx: Executor, ...newEvents: NewEvent[]): Promise<void> {
    await insertEvents(tx, newEvents);
  }

  async list(
    query: Omit<EventQuery, 'after'> & { after?: bigint },
  ): Promise<{ events: EventRecord[]; nextCursor: string }> {
    const after = query.after ?? START_POSITION;
    await this.#sequence();
    const rows = await selectEventsAfter(this.#database.db, { ...query, after });
    const records = rows.map(toEventRecord);
    const last = records.at(-1);
    return { events: records, nextCursor: last ? last.cursor : encodeCursor(after) };
  }

  /** A page of the audit log, newest first; `nextCursor` is null on the last page. */
  async audit(query: AuditQuery): Promise<{ entries: AuditEntry[]; nextCursor: string | null }> {
    await this.#sequence();
    const rows = await selectAuditPage(this.#database.db, { ...query, limit: query.limit + 1 });
    const page = rows.slice(0, query.limit).map((row) => toAuditEntry(toEventRecord(row)));
    return { entries: page, nextCursor: rows.length > query.limit ? (page.at(-1)?.cursor ?? null) : null };
  }

  /**
   * Every audit entry matching the query, newest first, read in pages of `pageSize` (for the CSV
   * export: constant memory however long the log). Stops after `max` entries.
   */
  async *auditAll(
    query: Omit<AuditQuery, 'limit' | 'before'>,
    options: { pageSize?: number; max: number },
  ): AsyncGenerator<AuditEntry> {
    await this.#sequence();
    const pageSize = options.pageSize ?? 1000;
    let before: bigint | undefined;
    let emitted = 0;
    while (emitted < options.max) {
      const rows = await selectAuditPage(this.#database.db, {
        ...query,
        ...(before !== undefined ? { before } : {}),
        limit: Math.min(pageSize, options.max - emitted),
      });
      for (const row of rows) yield toAuditEntry(toEventRecord(row));
      emitted += rows.length;
      const last = rows.at(-1);
      if (!last || rows.length < pageSize) return;
      before = BigInt(last.position);
    }
  }

  /** Per-day counts (UTC) of events of these types in an organization since a time. */
  dailyCounts(organizationId: string, types: readonly string[], since: Date): Promise<DailyCount[]> {
    return selectDailyCounts(this.#database.db, { organizationId, types, since });
  }

  /** Distinct subjects of events of these types since a time (e.g. active users). */
  distinctSubjects(organizationId: string, types: readonly string[], since: Date): Promise<number> {
    return countDistinctSubjects(this.#database.db, { organizationId, types, since });
  }

  /** Events of a type since a time, counted by a reason code in their data (first of `fields` present). */
  countsByReason(
    organizationId: string,
    type: string,
    fields: readonly string[],
    since: Date,
    limit = 20,
  ): Promise<Array<{ value: string; count: number }>> {
    return selectCountsByDataField(this.#database.db, { organizationId, type, fields, since, limit });
  }

  /** Latency percentiles (ms) of events of a type since a time (see selectLatencyPercentiles). */
  latency(organizationId: string, type: string, since: Date) {
    return selectLatencyPercentiles(this.#database.db, { organizationId, type, since });
  }

  /** Handles the next batch for a consumer. Returns how many events were read (0 when caught up or busy). */
  async consumeBatch(name: string, handler: EventHandler, options: ConsumerOptions = {}): Promise<number> {
    const { types, typePrefixes } = splitTypeFilters(options.types);
    await this.#sequence();
    return this.#database.transaction(async (tx) => {
      const cursor = await lockConsumerCursor(tx, name);
      if (cursor === undefined) return 0; // another process holds this consumer right now
      // Read unfiltered so the cursor moves past events this consumer ignores.
      const rows = await selectEventsAfter(tx, { after: cursor, limit: options.batchSize ?? 200 });
      if (rows.length === 0) return 0;
      const records = rows.map(toEventRecord);
      const wanted =
        types || typePrefixes
          ? records.filter((event) => matchesType(event.type, types, typePrefixes))
          : records;
      if (wanted.length) await handler(tx, wanted);
      const last = rows.at(-1) as EventRow;
      await saveConsumerCursor(tx, name, BigInt(last.position));
      return rows.length;
    });
  }

  async consumerPosition(name: string): Promise<string | undefined> {
    const cursor = await readConsumerCursor(this.#database.db, name);
    return cursor ? encodeCursor(cursor) : undefined;
  }

  /**
   * Runs a consumer until the returned stop function is called: woken by NOTIFY on commit of new
   * events, with polling as a backstop.
   */
  async startConsumer(
    name: string,
    handler: EventHandler,
    options: ConsumerOptions = {},
  ): Promise<() => Promise<void>> {
    let stopped = false;
    let wake: (() => void) | undefined;
    let running: Promise<void> = Promise.resolve();
    const pollIntervalMs = options.pollIntervalMs ?? 2000;
    const unlisten = await this.#database.listen(EVENTS_CHANNEL, () => wake?.());
    const loop = async () => {
      while (!stopped) {
        try {
          let read: number;
          do {
            read = await this.consumeBatch(name, handler, options);
          } while (read > 0 && !stopped);
        } catch (error) {
          this.#logger.error({ err: error, consumer: name }, 'event consumer batch failed; will retry');
        }
        if (stopped) break;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, pollIntervalMs);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = undefined;
      }
    };
    running = loop();
    return async () => {
      stopped = true;
      wake?.();
      await unlisten();
      await running;
    };
  }
}

function splitTypeFilters(filters: readonly string[] | undefined) {
  if (!filters?.length) return { types: undefined, typePrefixes: undefined };
  const types = filters.filter((filter) => !filter.endsWith('*'));
  const typePrefixes = filters.filter((filter) => filter.endsWith('*')).map((filter) => filter.slice(0, -1));
  return { types, typePrefixes };
}

/** Parses `types=user.created,group.*` into exact types and prefixes for queries. */
export function parseTypeFilter(value: string | undefined): { types?: string[]; typePrefixes?: string[] } {
  if (!value) return {};
  const parts = value
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);
  const { types, typePrefixes } = splitTypeFilters(parts);
  return {
    ...(types?.length ? { types } : {}),
    ...(typePrefixes?.length ? { typePrefixes } : {}),
  };
}

function matchesType(type: string, types?: readonly string[], prefixes?: readonly string[]): boolean {
  return Boolean(types?.includes(type) || prefixes?.some((prefix) => type.startsWith(prefix)));
}

export function toEventRecord(row: EventRow): EventRecord {
  return {
    id: row.id,
    cursor: encodeCursor(BigInt(row.position)),
    type: row.type,
    organizationId: row.organization_id,
    actor: row.actor as unknown as Actor,
    subject: { type: row.subject_type, id: row.subject_id },
    data: row.data,
    occurredAt: new Date(row.occurred_at).toISOString(),
  };
}
