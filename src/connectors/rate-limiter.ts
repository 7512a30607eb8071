/**
 * A token bucket per destination whose state lives in the database, so every hub process (and
 * every worker of each) draws from one budget: N workers on one Thinkific site still send at most
 * its limit. One atomic statement per request takes a token (PostgreSQL and embedded PGlite alike;
 * the bucket's row lock serializes concurrent takers), using the database clock so processes with
 * skewed clocks agree.
 *
 * A 429 `pause`s the bucket until the time the vendor named: every process waits, and the bucket
 * refills from empty afterwards rather than bursting into the same wall again. The pause is also
 * recorded in this process at once, before the database hears of it, and the connector core checks
 * it right before each send (`pausedUntil`): a request of this process that took its token before
 * the 429 arrived does not leave until the reset. (A request another process already had on the
 * wire when the 429 came back cannot be recalled; the database pause stops the next ones.)
 *
 * The row also keeps the destination's `RateLimit-Reset` unit once learned (`reset_unit`), so every
 * process reads a countdown the same way; each token taken brings it along.
 *
 * The table `connector_rate_buckets` is declared in the provisioning module's schema (it migrates
 * with the rest of the hub); any connector may use it with its own key.
 */
import { sql } from 'drizzle-orm';
import { type Database, queryRows } from '../platform/db/client.ts';
import type { RateLimit, RateLimiter, ResetUnit } from './http.ts';
import { sleep } from './http.ts';

interface TakeRow {
  granted: boolean;
  available: number;
  blocked_ms: number | null;
  reset_unit: string | null;
}

/**
 * What this process knows per key, ahead of or beside the database: the end of the latest pause,
 * and the reset unit. Shared by every limiter on the same database in the process (a connector and
 * its limiter are built per job).
 */
interface LocalState {
  pauses: Map<string, number>;
  units: Map<string, ResetUnit>;
}
const localStates = new WeakMap<Database, LocalState>();

export class PostgresRateLimiter implements RateLimiter {
  readonly #database: Database;
  readonly #ratePerSecond: number;
  readonly #burst: number;
  readonly #local: LocalState;

  constructor(database: Database, limit: RateLimit) {
    if (limit.requests <= 0 || limit.perSeconds <= 0) throw new Error('a rate limit must be positive');
    this.#database = database;
    let local = localStates.get(database);
    if (!local) {
      local = { pauses: new Map(), units: new Map() };
      localStates.set(database, local);
    }
    this.#local = local;
    this.#ratePerSecond = limit.requests / limit.perSeconds;
    this.#burst = Math.max(1, Math.floor(limit.burst ?? limit.requests / 10));
  }

  /** Waits for a token of `key`'s bucket. */
  async acquire(key: string, signal?: AbortSignal): Promise<void> {
    for (;;) {
      if (signal?.aborted) throw signal.reason ?? new Error('aborted');
      const paused = this.pausedUntil(key) - Date.now();
      const waitMs = paused > 0 ? paused : await this.tryTake(key);
      if (waitMs === 0) return;
      // A little jitter so waiting processes do not all retry on the same millisecond.
      await sleep(waitMs + Math.random() * 10, signal);
    }
  }

  /** Takes a token if one is there: 0, or the milliseconds until one may be. */
  async tryTake(key: string): Promise<number> {
    let row = await this.#take(key);
    if (!row) {
      await this.#database.db.execute(
        sql`insert into connector_rate_buckets (key, tokens, refilled_at)
            values (${key}, ${this.#burst}, clock_timestamp()) on conflict (key) do nothing`,
      );
      row = await this.#take(key);
      if (!row) throw new Error(`rate limit bucket ${key} vanished`);
    }
    if (row.reset_unit === 'seconds' || row.reset_unit === 'milliseconds')
      this.#local.units.set(key, row.reset_unit);
    if (row.granted) return 0;
    const blocked = Number(row.blocked_ms ?? 0);
    if (blocked > 0) return Math.ceil(blocked);
    return Math.max(1, Math.ceil(((1 - Number(row.available)) / this.#ratePerSecond) * 1000));
  }

  /** The end of the latest pause of `key` this process knows of (0: none). */
  pausedUntil(key: string): number {
    const until = this.#local.pauses.get(key) ?? 0;
    if (until && until <= Date.now()) this.#local.pauses.delete(key);
    return until;
  }

  async pause(key: string, untilEpochMs: number): Promise<void> {
    // Before the first await: from now on this process sends nothing for `key` until then.
    this.#local.pauses.set(key, Math.max(this.#local.pauses.get(key) ?? 0, untilEpochMs));
    await this.#database.db.execute(
      sql`insert into connector_rate_buckets (key, tokens, refilled_at, blocked_until)
          values (${key}, 0, clock_timestamp(), to_timestamp(${untilEpochMs / 1000}))
          on conflict (key) do update set
            tokens = 0,
            refilled_at = greatest(connector_rate_buckets.refilled_at, excluded.blocked_until),
            blocked_until = greatest(coalesce(connector_rate_buckets.blocked_until, excluded.blocked_until),
                                     excluded.blocked_until)`,
    );
  }

  resetUnit(key: string): ResetUnit | undefined {
    return this.#local.units.get(key);
  }

  async learnResetUnit(key: string, unit: ResetUnit): Promise<void> {
    this.#local.units.set(key, unit);
    await this.#database.db.execute(
      sql`update connector_rate_buckets set reset_unit = ${unit} where key = ${key}`,
    );
  }

  async #take(key: string): Promise<TakeRow | undefined> {
    // Tokens accrue from `refilled_at`, which never runs ahead of a pause's end: after a 429 the
    // bucket starts empty when the pause lifts.
    const rows = await queryRows<TakeRow>(
      this.#database.db,
      sql`with current as (
            select key, clock_timestamp() as now, blocked_until,
                   least(${this.#burst}::float8,
                         tokens + greatest(0, extract(epoch from clock_timestamp() - refilled_at)) * ${this.#ratePerSecond}::float8)
                     as available
              from connector_rate_buckets where key = ${key} for update
          ), decided as (
            select key, now, available, blocked_until,
                   available >= 1 and (blocked_until is null or blocked_until <= now) as granted
              from current
          )
          update connector_rate_buckets b
             set tokens = case when d.granted then d.available - 1 else d.available end,
                 refilled_at = greatest(d.now, coalesce(d.blocked_until, d.now))
            from decided d
           where b.key = d.key
       returning d.granted as granted, d.available::float8 as available,
                 (extract(epoch from (d.blocked_until - d.now)) * 1000)::float8 as blocked_ms,
                 b.reset_unit as reset_unit`,
    );
    return rows[0];
  }
}
