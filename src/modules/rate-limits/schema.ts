/**
 * Failed authentications, counted across every hub process (the in-memory request-rate counters
 * of @fastify/rate-limit are per process; these must not be, or N processes would give an attacker
 * N times the attempts). One row per key: a client IP on one surface, or one credential from one
 * IP. Credentials appear only as SHA-256 prefixes. Not tenant data: no organization_id.
 */
import { integer, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

export const authFailures = pgTable('auth_failures', {
  /** `<surface>:ip:<ip>` or `<surface>:credential:<sha256 prefix>:<ip>`. */
  key: text('key').primaryKey(),
  /** Failures in the current run (a run ends when none happened for the failure window). */
  failures: integer('failures').notNull(),
  /** Failures at which this key starts being slowed down (the per-IP or per-credential threshold). */
  blockAfter: integer('block_after').notNull(),
  lastFailureAt: timestamp('last_failure_at', { withTimezone: true }).notNull(),
  /** Attempts on this key are refused (429) until then; doubles with each failure past the threshold. */
  blockedUntil: timestamp('blocked_until', { withTimezone: true }),
});
