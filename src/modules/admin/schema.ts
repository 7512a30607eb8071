/** Admin API keys (our staff and automation). Only a SHA-256 of each key is stored. */
import { sql } from 'drizzle-orm';
import { pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';

export const apiKeys = pgTable(
  'api_keys',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    /** `admin` (read and write) or `read`. */
    scopes: text('scopes').array().notNull().default(sql`'{}'::text[]`),
    keyHash: text('key_hash').notNull(),
    /** First characters of the key, shown in lists so a person can tell keys apart. */
    keyPrefix: text('key_prefix').notNull(),
    /** How it was made: `cli`, `bootstrap`, `api`. */
    createdVia: text('created_via').notNull(),
    createdBy: text('created_by'),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [uniqueIndex('api_keys_key_hash_key').on(table.keyHash)],
);
