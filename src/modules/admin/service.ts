/**
 * Admin API keys. A key is shown once when created; only its SHA-256 is stored, so a database
 * leak does not leak usable keys. Keys have scopes (`admin`, `read`) and are revoked, not deleted,
 * so the audit trail keeps their names.
 */
import { and, asc, eq, isNull, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Database } from '../../platform/db/client.ts';
import { sqlState, UNIQUE_VIOLATION } from '../../platform/db/client.ts';
import { NotFound } from '../../platform/errors.ts';
import type { ApiScope, Principal } from '../../platform/http/types.ts';
import { newId } from '../../platform/ids.ts';
import { hashToken, newToken } from '../../platform/secret-box.ts';
import type { Actor } from '../events/contracts.ts';
import type { EventLog } from '../events/service.ts';
import { apiKeys } from './schema.ts';

export const API_SCOPES = ['admin', 'read'] as const;

export const apiKeySchema = z
  .object({
    id: z.string(),
    name: z.string(),
    scopes: z.array(z.enum(API_SCOPES)),
    prefix: z.string().describe('First characters of the key, to tell keys apart.'),
    createdVia: z.string(),
    createdBy: z.string().nullable(),
    lastUsedAt: z.string().nullable(),
    revokedAt: z.string().nullable(),
    createdAt: z.string(),
  })
  .meta({ id: 'ApiKey' });

export type ApiKeyView = z.output<typeof apiKeySchema>;

/** How often `last_used_at` is written for a busy key. */
const LAST_USED_RESOLUTION_MS = 60_000;

export class ApiKeyService {
  readonly #database: Database;
  readonly #events: EventLog;
  readonly #lastUsedWrites = new Map<string, number>();

  constructor(database: Database, events: EventLog) {
    this.#database = database;
    this.#events = events;
  }

  /** Creates a key; the plaintext is returned once and never stored. */
  async create(
    input: { name: string; scopes: readonly ApiScope[]; via: string },
    actor: Actor,
  ): Promise<{ key: string; apiKey: ApiKeyView }> {
    const key = newToken('sbk');
    const apiKey = await this.#insert(key, input, actor);
    return { key, apiKey };
  }

  /**
   * Registers SWITCHBOARD_BOOTSTRAP_ADMIN_KEY as an admin key if no active admin key exists yet.
   * Safe when several processes start at once: the unique hash makes all but one insert a no-op.
   */
  async registerBootstrapKey(key: string): Promise<'registered' | 'exists' | 'skipped'> {
    const [existing] = await this.#database.db
      .select({ id: apiKeys.id })
      .from(apiKeys)
      .where(and(isNull(apiKeys.revokedAt), sql`'admin' = any(${apiKeys.scopes})`))
      .limit(1);
    if (existing) {
      const [same] = await this.#database.db
        .select({ id: apiKeys.id })
        .from(apiKeys)
        .where(eq(apiKeys.keyHash, hashToken(key)));
      return same ? 'exists' : 'skipped';
    }
    try {
      await this.#insert(
        key,
        { name: 'bootstrap', scopes: ['admin'], via: 'bootstrap' },
        { type: 'system', name: 'bootstrap' },
      );
      return 'registered';
    } catch (error) {
      if (sqlState(error) === UNIQUE_VIOLATION) return 'exists';
      throw error;
    }
  }

  async #insert(
    key: string,
    input: { name: string; scopes: readonly ApiScope[]; via: string },
    actor: Actor,
  ): Promise<ApiKeyView> {
    return this.#database.transaction(async (tx) => {
      const [row] = await tx
        .insert(apiKeys)
        .values({
          id: newId('apiKey'),
          name: input.name,
          scopes: [...input.scopes],
          keyHash: hashToken(key),
          keyPrefix: key.slice(0, 12),
          createdVia: input.via,
          createdBy: actor.name ?? actor.id ?? actor.type,
        })
        .returning();
      const view = toView(row as typeof apiKeys.$inferSelect);
      await this.#events.append(tx, {
        organizationId: null,
        type: 'api_key.created',
        actor,
        subjectType: 'api_key',
        subjectId: view.id,
        data: { apiKey: view },
      });
      return view;
    });
  }

  /** The principal of a valid, unrevoked key; undefined otherwise. */
  async authenticate(token: string): Promise<Principal | undefined> {
    if (token.length < 16 || token.length > 512) return undefined;
    const [row] = await this.#database.db
      .select()
      .from(apiKeys)
      .where(eq(apiKeys.keyHash, hashToken(token)))
      .limit(1);
    if (!row || row.revokedAt) return undefined;
    this.#noteUse(row.id);
    return { kind: 'api_key', id: row.id, name: row.name, scopes: row.scopes as ApiScope[] };
  }

  async list(): Promise<ApiKeyView[]> {
    const rows = await this.#database.db.select().from(apiKeys).orderBy(asc(apiKeys.createdAt));
    return rows.map(toView);
  }

  async revoke(id: string, actor: Actor): Promise<ApiKeyView> {
    return this.#database.transaction(async (tx) => {
      const [row] = await tx.select().from(apiKeys).where(eq(apiKeys.id, id)).for('update');
      if (!row) {
        throw new NotFound({
          code: 'api_key_not_found',
          detail: `No API key with id "${id}".`,
          fix: 'List keys to find the right id.',
        });
      }
      if (row.revokedAt) return toView(row);
      const [updated] = await tx
        .update(apiKeys)
        .set({ revokedAt: new Date() })
        .where(eq(apiKeys.id, id))
        .returning();
      const view = toView(updated as typeof apiKeys.$inferSelect);
      await this.#events.append(tx, {
        organizationId: null,
        type: 'api_key.revoked',
        actor,
        subjectType: 'api_key',
        subjectId: id,
        data: { apiKey: view },
      });
      return view;
    });
  }

  /** Writes last_used_at at most once a minute per key, off the request path. */
  #noteUse(id: string): void {
    const now = Date.now();
    if (now - (this.#lastUsedWrites.get(id) ?? 0) < LAST_USED_RESOLUTION_MS) return;
    this.#lastUsedWrites.set(id, now);
    this.#database.db
      .update(apiKeys)
      .set({ lastUsedAt: new Date(now) })
      .where(eq(apiKeys.id, id))
      .then(
        () => {},
        () => {},
      );
  }
}

function toView(row: typeof apiKeys.$inferSelect): ApiKeyView {
  return {
    id: row.id,
    name: row.name,
    scopes: row.scopes as (typeof API_SCOPES)[number][],
    prefix: row.keyPrefix,
    createdVia: row.createdVia,
    createdBy: row.createdBy,
    lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
    revokedAt: row.revokedAt?.toISOString() ?? null,
    createdAt: row.createdAt.toISOString(),
  };
}
