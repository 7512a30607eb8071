/**
 * Directories: the inbound user sources of an organization (SCIM today). Owns their bearer tokens:
 * a token is shown once, stored as a SHA-256, rotated with an overlap period and revoked at once.
 */
import { and, asc, eq, inArray, isNull, sql } from 'drizzle-orm';
import type { Database, Executor, Tx } from '../../platform/db/client.ts';
import { preparedSql, runPrepared } from '../../platform/db/prepared.ts';
import { InvalidInput, NotFound } from '../../platform/errors.ts';
import { newId } from '../../platform/ids.ts';
import { hashToken, newToken } from '../../platform/secret-box.ts';
import type { Actor } from '../events/contracts.ts';
import { sameValue } from '../events/index.ts';
import type { EventLog } from '../events/service.ts';
import type { OrganizationService } from '../orgs/service.ts';
import {
  type CreateDirectoryInput,
  createDirectoryBody,
  type DirectoryProvider,
  type DirectorySettings,
  type DirectoryStatus,
  type DirectoryTokenView,
  type DirectoryView,
  directorySettingsSchema,
  type PullDirectoryKind,
  type UpdateDirectoryInput,
  updateDirectoryBody,
} from './directories-contracts.ts';
import { directories, directoryTokens } from './schema.ts';

type DirectoryRow = typeof directories.$inferSelect;
type TokenRow = typeof directoryTokens.$inferSelect;

/** The directory a SCIM bearer token belongs to. */
export interface DirectoryPrincipal {
  directoryId: string;
  organizationId: string;
  tokenId: string;
  name: string;
  provider: DirectoryProvider;
  status: DirectoryStatus;
  organizationStatus: string;
  settings: DirectorySettings;
}

/**
 * How long a checked token is remembered by this process. SCIM clients send thousands of requests
 * a minute and each check was a round trip on the hot path (see bench/scenarios/scim.ts). Changes
 * made through this process (revoke, rotate, disable, delete) clear it at once; another hub process
 * sees them within this time.
 */
const AUTH_CACHE_MS = 1000;

/** How often `last_used_at` is written for a busy token. */
const LAST_USED_RESOLUTION_MS = 60_000;

const AUTHENTICATE = preparedSql(
  'directory_token_authenticate',
  `select t.id as token_id, t.organization_id, t.directory_id, d.name, d.provider, d.status, d.settings,
          o.status as organization_status
     from directory_tokens t
     join directories d on d.organization_id = t.organization_id and d.id = t.directory_id
     join organizations o on o.id = t.organization_id
    where t.token_hash = $1 and t.revoked_at is null and (t.expires_at is null or t.expires_at > now())
      and d.kind = 'scim'`,
);

export type { DirectoryRow };

export class DirectoriesService {
  readonly #database: Database;
  readonly #events: EventLog;
  readonly #orgs: OrganizationService;
  readonly #publicUrl: string;
  readonly #lastUsedWrites = new Map<string, number>();
  readonly #settingsCache = new Map<string, { raw: unknown; parsed: DirectorySettings }>();
  readonly #authCache = new Map<string, { principal: DirectoryPrincipal; expiresAt: number }>();

  constructor(database: Database, events: EventLog, orgs: OrganizationService, publicUrl: string) {
    this.#database = database;
    this.#events = events;
    this.#orgs = orgs;
    this.#publicUrl = publicUrl;
  }

  /** The SCIM base URL (Entra's "tenant URL", Okta's "SCIM connector base URL") of a directory. */
  scimBaseUrl(directoryId: string): string {
    return `${this.#publicUrl}/scim/v2/${directoryId}`;
  }

  async create(
    organizationIdOrSlug: string,
    input: CreateDirectoryInput,
    actor: Actor,
  ): Promise<{ directory: DirectoryView; token: string; tokenId: string }> {
    const parsed = createDirectoryBody.parse(input);
    return this.#database.transaction(async (tx) => {
      const org = await this.#orgs.require(organizationIdOrSlug, tx);
      const [row] = await tx
        .insert(directories)
        .values({
          organizationId: org.id,
          id: newId('directory'),
          kind: parsed.kind,
          provider: parsed.provider,
          name: parsed.name,
          settings: parsed.settings ?? {},
        })
        .returning();
      const directory = row as DirectoryRow;
      const { token, row: tokenRow } = await this.#issueToken(tx, directory);
      const view = this.#toView(directory, [tokenRow]);
      await this.#events.append(tx, {
        organizationId: org.id,
        type: 'directory.created',
        actor,
        subjectType: 'directory',
        subjectId: directory.id,
        data: { directory: redactForEvent(view) },
      });
      return { directory: view, token, tokenId: tokenRow.id };
    });
  }

  async list(organizationIdOrSlug: string): Promise<DirectoryView[]> {
    const org = await this.#orgs.require(organizationIdOrSlug);
    const rows = await this.#database.db
      .select()
      .from(directories)
      .where(eq(directories.organizationId, org.id))
      .orderBy(asc(directories.id));
    const tokens = rows.length
      ? await this.#database.db
          .select()
          .from(directoryTokens)
          .where(
            and(
              eq(directoryTokens.organizationId, org.id),
              inArray(
                directoryTokens.directoryId,
                rows.map((row) => row.id),
              ),
            ),
          )
          .orderBy(asc(directoryTokens.id))
      : [];
    return rows.map((row) =>
      this.#toView(
        row,
        tokens.filter((token) => token.directoryId === row.id),
      ),
    );
  }

  async get(organizationIdOrSlug: string, id: string): Promise<DirectoryView> {
    const org = await this.#orgs.require(organizationIdOrSlug);
    const row = await this.#find(this.#database.db as unknown as Tx, org.id, id);
    return this.#toView(row, await this.#tokensOf(this.#database.db as unknown as Tx, row));
  }

  async update(
    organizationIdOrSlug: string,
    id: string,
    input: UpdateDirectoryInput,
    actor: Actor,
  ): Promise<DirectoryView> {
    const parsed = updateDirectoryBody.parse(input);
    try {
      return await this.#database.transaction(async (tx) => {
        const org = await this.#orgs.require(organizationIdOrSlug, tx);
        const before = await this.#find(tx, org.id, id, true);
        if (before.kind !== 'scim' && parsed.settings !== undefined) {
          throw new InvalidInput({
            code: 'pull_directory_settings',
            detail: `Directory ${id} is a ${before.kind} directory; its settings are not SCIM settings.`,
            field: 'settings',
            fix: `Change it with PATCH /api/v1/organizations/{org}/hris/directories/${id}.`,
          });
        }
        const changes: Partial<DirectoryRow> = {};
        if (parsed.name !== undefined && parsed.name !== before.name) changes.name = parsed.name;
        if (parsed.status !== undefined && parsed.status !== before.status) changes.status = parsed.status;
        // Values, not serialisations: the stored settings come back from jsonb in another key order.
        if (parsed.settings !== undefined && !sameValue(parsed.settings, before.settings))
          changes.settings = parsed.settings;
        const tokens = await this.#tokensOf(tx, before);
        if (Object.keys(changes).length === 0) return this.#toView(before, tokens);
        const [after] = await tx
          .update(directories)
          .set({ ...changes, updatedAt: sql`now()` })
          .where(and(eq(directories.organizationId, org.id), eq(directories.id, id)))
          .returning();
        const view = this.#toView(after as DirectoryRow, tokens);
        const diff: Record<string, { from: unknown; to: unknown }> = {};
        for (const key of Object.keys(changes) as Array<keyof DirectoryRow>) {
          diff[key] = { from: before[key], to: changes[key] };
        }
        await this.#events.append(tx, {
          organizationId: org.id,
          type: 'directory.updated',
          actor,
          subjectType: 'directory',
          subjectId: id,
          data: { directory: redactForEvent(view), changes: diff },
        });
        return view;
      });
    } finally {
      // Also after commit: a check made meanwhile may have cached the state before the change.
      this.#forget(id);
    }
  }

  /**
   * Deletes a directory, its tokens and its SCIM links. The users and groups it provisioned stay
   * (with their memberships); they are no longer managed by any directory.
   */
  async delete(organizationIdOrSlug: string, id: string, actor: Actor): Promise<void> {
    try {
      await this.#database.transaction(async (tx) => {
        const org = await this.#orgs.require(organizationIdOrSlug, tx);
        const before = await this.#find(tx, org.id, id, true);
        if (before.kind !== 'scim') {
          // Its records and the users' HR source are the hris module's to clean up.
          throw new InvalidInput({
            code: 'pull_directory_delete',
            detail: `Directory ${id} is a ${before.kind} directory; deleting it also removes its HR records.`,
            field: 'id',
            fix: `Delete it with DELETE /api/v1/organizations/{org}/hris/directories/${id}.`,
          });
        }
        const view = this.#toView(before, []);
        await tx
          .delete(directories)
          .where(and(eq(directories.organizationId, org.id), eq(directories.id, id)));
        await this.#events.append(tx, {
          organizationId: org.id,
          type: 'directory.deleted',
          actor,
          subjectType: 'directory',
          subjectId: id,
          data: { directory: redactForEvent(view) },
        });
      });
    } finally {
      // Also after commit: a check made meanwhile may have cached the state before the change.
      this.#forget(id);
    }
  }

  /**
   * Issues a new token. Tokens issued before keep working for `overlapSeconds` (their `expiresAt`
   * is set, or shortened), then stop; 0 ends them at once.
   */
  async rotateToken(
    organizationIdOrSlug: string,
    id: string,
    overlapSeconds: number,
    actor: Actor,
  ): Promise<{ directory: DirectoryView; token: string; tokenId: string }> {
    try {
      return await this.#database.transaction(async (tx) => {
        const org = await this.#orgs.require(organizationIdOrSlug, tx);
        const directory = await this.#find(tx, org.id, id, true);
        const until = new Date(Date.now() + overlapSeconds * 1000);
        await tx
          .update(directoryTokens)
          .set({ expiresAt: sql`least(coalesce(${directoryTokens.expiresAt}, ${until}), ${until})` })
          .where(
            and(
              eq(directoryTokens.organizationId, org.id),
              eq(directoryTokens.directoryId, id),
              isNull(directoryTokens.revokedAt),
            ),
          );
        const { token, row } = await this.#issueToken(tx, directory);
        const view = this.#toView(directory, await this.#tokensOf(tx, directory));
        await this.#events.append(tx, {
          organizationId: org.id,
          type: 'directory.token_rotated',
          actor,
          subjectType: 'directory',
          subjectId: id,
          data: { tokenId: row.id, prefix: row.tokenPrefix, previousTokensExpireAt: until.toISOString() },
        });
        return { directory: view, token, tokenId: row.id };
      });
    } finally {
      // Also after commit: a check made meanwhile may have cached the state before the change.
      this.#forget(id);
    }
  }

  /** Revokes one token at once. */
  async revokeToken(
    organizationIdOrSlug: string,
    id: string,
    tokenId: string,
    actor: Actor,
  ): Promise<DirectoryView> {
    try {
      return await this.#database.transaction(async (tx) => {
        const org = await this.#orgs.require(organizationIdOrSlug, tx);
        const directory = await this.#find(tx, org.id, id, true);
        const [revoked] = await tx
          .update(directoryTokens)
          .set({ revokedAt: sql`coalesce(${directoryTokens.revokedAt}, now())` })
          .where(
            and(
              eq(directoryTokens.organizationId, org.id),
              eq(directoryTokens.directoryId, id),
              eq(directoryTokens.id, tokenId),
            ),
          )
          .returning();
        if (!revoked) {
          throw new NotFound({
            code: 'directory_token_not_found',
            detail: `Directory ${id} has no token ${tokenId}.`,
            fix: "Get the directory to see its tokens' ids.",
          });
        }
        await this.#events.append(tx, {
          organizationId: org.id,
          type: 'directory.token_revoked',
          actor,
          subjectType: 'directory',
          subjectId: id,
          data: { tokenId, prefix: revoked.tokenPrefix },
        });
        return this.#toView(directory, await this.#tokensOf(tx, directory));
      });
    } finally {
      // Also after commit: a check made meanwhile may have cached the state before the change.
      this.#forget(id);
    }
  }

  /**
   * The directory a SCIM bearer token belongs to; undefined for an unknown, expired or revoked
   * token. One indexed lookup (a prepared statement: this runs on every SCIM request).
   */
  async authenticateScimToken(token: string): Promise<DirectoryPrincipal | undefined> {
    if (token.length < 16 || token.length > 512) return undefined;
    const hash = hashToken(token);
    const now = Date.now();
    const cached = this.#authCache.get(hash);
    if (cached && cached.expiresAt > now) {
      this.#noteUse(cached.principal.organizationId, cached.principal.directoryId, cached.principal.tokenId);
      return cached.principal;
    }
    const [row] = await runPrepared<{
      token_id: string;
      organization_id: string;
      directory_id: string;
      name: string;
      provider: DirectoryProvider;
      status: DirectoryStatus;
      settings: unknown;
      organization_status: string;
    }>(this.#database, AUTHENTICATE, [hash]);
    if (!row) {
      this.#authCache.delete(hash);
      return undefined;
    }
    this.#noteUse(row.organization_id, row.directory_id, row.token_id);
    const principal: DirectoryPrincipal = {
      directoryId: row.directory_id,
      organizationId: row.organization_id,
      tokenId: row.token_id,
      name: row.name,
      provider: row.provider,
      status: row.status,
      organizationStatus: row.organization_status,
      settings: this.#parseSettings(row.directory_id, row.settings),
    };
    if (this.#authCache.size >= 10_000) this.#authCache.clear();
    this.#authCache.set(hash, { principal, expiresAt: now + AUTH_CACHE_MS });
    return principal;
  }

  // Pull directories (kind `hris` or `directory`): rows the hris module creates and configures.
  // It records their events itself, in the same transaction.

  /** Inserts a pull directory row (settings, sealed credentials) inside the caller's transaction. */
  async insertPullDirectory(
    tx: Tx,
    row: {
      organizationId: string;
      id: string;
      kind: PullDirectoryKind;
      provider: string;
      name: string;
      settings: Record<string, unknown>;
      credentials: string | null;
    },
  ): Promise<DirectoryRow> {
    const [inserted] = await tx.insert(directories).values(row).returning();
    return inserted as DirectoryRow;
  }

  /** A directory row of the organization (any kind); throws directory_not_found. */
  async directoryRow(
    executor: Executor,
    organizationId: string,
    id: string,
    lock = false,
  ): Promise<DirectoryRow> {
    return this.#find(executor as Tx, organizationId, id, lock);
  }

  /** Directory rows of these kinds in one organization, or in all organizations when none is given. */
  async directoryRows(kinds: readonly string[], organizationId?: string): Promise<DirectoryRow[]> {
    return this.#database.db
      .select()
      .from(directories)
      .where(
        and(
          inArray(directories.kind, [...kinds]),
          organizationId ? eq(directories.organizationId, organizationId) : undefined,
        ),
      )
      .orderBy(asc(directories.id));
  }

  /** Updates columns of a pull directory (settings, credentials, sync state, name, status). */
  async updatePullDirectory(
    executor: Executor,
    organizationId: string,
    id: string,
    changes: Partial<
      Pick<DirectoryRow, 'name' | 'status' | 'settings' | 'credentials' | 'syncState' | 'lastActivityAt'>
    >,
  ): Promise<DirectoryRow> {
    const [row] = await executor
      .update(directories)
      .set({
        ...changes,
        ...('syncState' in changes && Object.keys(changes).length === 1 ? {} : { updatedAt: sql`now()` }),
      })
      .where(and(eq(directories.organizationId, organizationId), eq(directories.id, id)))
      .returning();
    if (!row) return this.#find(executor as Tx, organizationId, id);
    return row;
  }

  /**
   * Deletes a pull directory row inside the caller's transaction; its HR records and sync runs go
   * with it (foreign keys cascade). The hris module detaches the users first and records the event.
   */
  async deletePullDirectory(tx: Tx, organizationId: string, id: string): Promise<void> {
    await tx
      .delete(directories)
      .where(and(eq(directories.organizationId, organizationId), eq(directories.id, id)));
  }

  /** Forgets cached token checks of a directory (after a change to it or its tokens). */
  #forget(directoryId: string): void {
    for (const [hash, entry] of this.#authCache) {
      if (entry.principal.directoryId === directoryId) this.#authCache.delete(hash);
    }
  }

  #parseSettings(directoryId: string, raw: unknown): DirectorySettings {
    const cached = this.#settingsCache.get(directoryId);
    const key = JSON.stringify(raw);
    if (cached && cached.raw === key) return cached.parsed;
    const parsed = directorySettingsSchema.parse(raw ?? {});
    if (this.#settingsCache.size > 10_000) this.#settingsCache.clear();
    this.#settingsCache.set(directoryId, { raw: key, parsed });
    return parsed;
  }

  /** Writes last_used_at (and the directory's last activity) at most once a minute, off the request path. */
  #noteUse(organizationId: string, directoryId: string, tokenId: string): void {
    const now = Date.now();
    if (now - (this.#lastUsedWrites.get(tokenId) ?? 0) < LAST_USED_RESOLUTION_MS) return;
    if (this.#lastUsedWrites.size > 10_000) this.#lastUsedWrites.clear();
    this.#lastUsedWrites.set(tokenId, now);
    const at = new Date(now);
    Promise.all([
      this.#database.db
        .update(directoryTokens)
        .set({ lastUsedAt: at })
        .where(and(eq(directoryTokens.organizationId, organizationId), eq(directoryTokens.id, tokenId))),
      this.#database.db
        .update(directories)
        .set({ lastActivityAt: at })
        .where(and(eq(directories.organizationId, organizationId), eq(directories.id, directoryId))),
    ]).then(
      () => {},
      () => {},
    );
  }

  async #issueToken(tx: Tx, directory: DirectoryRow): Promise<{ token: string; row: TokenRow }> {
    const token = newToken('sbscim');
    const [row] = await tx
      .insert(directoryTokens)
      .values({
        organizationId: directory.organizationId,
        id: newId('directoryToken'),
        directoryId: directory.id,
        tokenHash: hashToken(token),
        tokenPrefix: token.slice(0, 14),
      })
      .returning();
    return { token, row: row as TokenRow };
  }

  async #find(tx: Tx, organizationId: string, id: string, lock = false): Promise<DirectoryRow> {
    const query = tx
      .select()
      .from(directories)
      .where(and(eq(directories.organizationId, organizationId), eq(directories.id, id)))
      .limit(1);
    const [row] = lock ? await query.for('update') : await query;
    if (!row) {
      throw new NotFound({
        code: 'directory_not_found',
        detail: `No directory with id "${id}" in this organization.`,
        fix: "Check the id; list the organization's directories to find it.",
      });
    }
    return row;
  }

  async #tokensOf(tx: Tx, directory: DirectoryRow): Promise<TokenRow[]> {
    return tx
      .select()
      .from(directoryTokens)
      .where(
        and(
          eq(directoryTokens.organizationId, directory.organizationId),
          eq(directoryTokens.directoryId, directory.id),
        ),
      )
      .orderBy(asc(directoryTokens.id));
  }

  #toView(row: DirectoryRow, tokens: readonly TokenRow[]): DirectoryView {
    const baseUrl = this.scimBaseUrl(row.id);
    if (row.kind !== 'scim') {
      // HR and directory pulls: their settings, credentials and sync state are the hris module's.
      return {
        id: row.id,
        organizationId: row.organizationId,
        kind: row.kind as DirectoryView['kind'],
        provider: row.provider,
        name: row.name,
        status: row.status as DirectoryStatus,
        settings: {},
        tokens: [],
        lastActivityAt: row.lastActivityAt?.toISOString() ?? null,
        createdAt: row.createdAt.toISOString(),
        updatedAt: row.updatedAt.toISOString(),
      };
    }
    return {
      id: row.id,
      organizationId: row.organizationId,
      kind: row.kind as DirectoryView['kind'],
      provider: row.provider as DirectoryProvider,
      name: row.name,
      status: row.status as DirectoryStatus,
      settings: directorySettingsSchema.parse(row.settings ?? {}),
      scim: {
        baseUrl,
        ...(row.provider === 'entra' ? { entraTenantUrl: `${baseUrl}?aadOptscim062020` } : {}),
      },
      tokens: tokens.map(toTokenView),
      lastActivityAt: row.lastActivityAt?.toISOString() ?? null,
      createdAt: row.createdAt.toISOString(),
      updatedAt: row.updatedAt.toISOString(),
    };
  }
}

function toTokenView(row: TokenRow): DirectoryTokenView {
  const now = Date.now();
  const status = row.revokedAt
    ? 'revoked'
    : row.expiresAt && row.expiresAt.getTime() <= now
      ? 'expired'
      : row.expiresAt
        ? 'expiring'
        : 'active';
  return {
    id: row.id,
    prefix: row.tokenPrefix,
    status,
    expiresAt: row.expiresAt?.toISOString() ?? null,
    revokedAt: row.revokedAt?.toISOString() ?? null,
    lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
    createdAt: row.createdAt.toISOString(),
  };
}

/** Events carry the directory without its token list (prefixes only live on the token events). */
function redactForEvent(view: DirectoryView): Omit<DirectoryView, 'tokens'> {
  const { tokens: _tokens, ...rest } = view;
  return rest;
}
