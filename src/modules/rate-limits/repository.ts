/**
 * Every query of the failed-authentication counters. Hand-written prepared statements: the block
 * check runs before every credential check on the protocol surfaces (SCIM, the token endpoint,
 * the admin API), and the time is always the database's (`now()`), so hub processes with drifting
 * clocks agree.
 */
import { lt, sql } from 'drizzle-orm';
import type { Database, Executor } from '../../platform/db/client.ts';
import { preparedSql, runPrepared } from '../../platform/db/prepared.ts';
import { authFailures } from './schema.ts';

export interface BlockedKey {
  key: string;
  /** How long the block still lasts, in milliseconds (by the database's clock). */
  remainingMs: number;
}

export interface FailurePolicy {
  /** A run of failures ends after this long without one. */
  windowSeconds: number;
  /** The first block, doubled with each further failure. */
  firstBlockSeconds: number;
  maxBlockSeconds: number;
}

const FIND_BLOCKS = preparedSql(
  'rate_limits_find_blocks',
  `select key, (extract(epoch from (blocked_until - now())) * 1000)::float8 as "remainingMs"
     from auth_failures
    where key = any($1::text[]) and blocked_until > now()`,
);

/** Failures in the run after this one: 1 when the last failure is older than the window. */
const NEXT_FAILURES = `(case when f.last_failure_at < now() - make_interval(secs => $3::float8)
                              then 1 else f.failures + 1 end)`;

/**
 * One upsert for all keys of a failed attempt. At `block_after` failures the key is blocked for
 * the first block; each failure after that doubles it (2^n, the exponent capped so it cannot
 * overflow), up to the maximum.
 */
const RECORD_FAILURES = preparedSql(
  'rate_limits_record_failures',
  `insert into auth_failures as f (key, failures, block_after, last_failure_at, blocked_until)
   select v.key, 1, v.block_after, now(),
          case when v.block_after <= 1 then now() + make_interval(secs => least($5::float8, $4::float8)) end
     from unnest($1::text[], $2::int[]) as v(key, block_after)
   on conflict (key) do update set
     failures = ${NEXT_FAILURES},
     block_after = excluded.block_after,
     last_failure_at = now(),
     blocked_until = case
       when ${NEXT_FAILURES} >= excluded.block_after
       then now() + make_interval(secs => least($5::float8,
              $4::float8 * power(2, least(30, ${NEXT_FAILURES} - excluded.block_after))))
       else f.blocked_until end
   returning key, failures`,
);

/** The keys among `keys` that are blocked now, with how long they stay blocked. */
export async function findBlockedKeys(database: Database, keys: readonly string[]): Promise<BlockedKey[]> {
  return runPrepared<BlockedKey>(database, FIND_BLOCKS, [keys]);
}

/** Counts one failure on each key (`blockAfter`: that key's threshold). */
export async function recordFailures(
  database: Database,
  keys: ReadonlyArray<{ key: string; blockAfter: number }>,
  policy: FailurePolicy,
): Promise<Array<{ key: string; failures: number }>> {
  return runPrepared(database, RECORD_FAILURES, [
    keys.map((entry) => entry.key),
    keys.map((entry) => entry.blockAfter),
    policy.windowSeconds,
    policy.firstBlockSeconds,
    policy.maxBlockSeconds,
  ]);
}

/** Deletes runs that ended before `before` and are no longer blocked. */
export async function deleteExpiredFailures(executor: Executor, before: Date): Promise<number> {
  const deleted = await executor
    .delete(authFailures)
    .where(
      sql`${lt(authFailures.lastFailureAt, before)} and (${authFailures.blockedUntil} is null or ${authFailures.blockedUntil} < now())`,
    )
    .returning({ key: authFailures.key });
  return deleted.length;
}
