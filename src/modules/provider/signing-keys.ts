/**
 * The provider's signing keys: one ES256 and one RS256 key signing at any time, generated on first
 * start, private halves sealed at rest, rotated by `switchboard keys rotate` (or the admin API).
 *
 * Lifecycle of a key, per algorithm (all derived from timestamps, so every hub process agrees):
 *
 *   created ──(published in JWKS, verify only)──► activates_at ──(signs)──► next key activates
 *     ──(published, verify only, until the tokens it signed have expired)──► unpublished
 *
 * - A rotated-in key is published `activateInSeconds` (default PROVIDER_KEY_ACTIVATION_DELAY_SECONDS)
 *   before it signs, so relying parties and every hub process have it before the first token it
 *   signs reaches them.
 * - The key it replaces stays published for the longest ID token lifetime (the largest of
 *   PROVIDER_ID_TOKEN_TTL_SECONDS and every application's `idTokenSeconds`) plus the clock tolerance
 *   after the new key activates: every token it signed can still be verified until it expires.
 * - `revoke` withdraws a key at once (a compromise): it neither signs nor verifies from then on.
 */
import { sql } from 'drizzle-orm';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import type { Database } from '../../platform/db/client.ts';
import { Conflict, InvalidInput, NotFound } from '../../platform/errors.ts';
import type { Logger } from '../../platform/logging.ts';
import type { SecretBox } from '../../platform/secret-box.ts';
import type { Actor } from '../events/contracts.ts';
import type { EventLog } from '../events/service.ts';
import {
  deleteSigningKeys,
  insertSigningKey,
  listSigningKeys,
  maxIdTokenLifetime,
  revokeSigningKey,
  type SigningKeyRow,
} from './repository.ts';

export const SIGNING_ALGORITHMS = ['RS256', 'ES256'] as const;
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number];

/** Clock tolerance added to every retention window (seconds). */
export const KEY_CLOCK_TOLERANCE_SECONDS = 60;

/** Advisory lock key serializing key generation across hub processes. */
const KEY_GENERATION_LOCK = 7_114_552_047;

export const SIGNING_KEYS_CHANGED = 'switchboard_signing_keys';

export type SigningKeyStatus = 'next' | 'active' | 'retired' | 'expired' | 'revoked';

export interface SigningKeyView {
  kid: string;
  alg: SigningAlgorithm;
  status: SigningKeyStatus;
  /** Whether the key is in the JWKS now. */
  published: boolean;
  createdAt: string;
  activatesAt: string;
  /** When the next key of its algorithm took (or takes) over; null while none is scheduled. */
  retiresAt: string | null;
  /** When it leaves the JWKS; null while it is the signing key. */
  unpublishAt: string | null;
  revokedAt: string | null;
}

/** The keys oidc-provider gets: private JWKs, the signing key of each algorithm first. */
export interface ProviderKeySet {
  keys: JWK[];
  /** Changes whenever the published or signing keys change. */
  fingerprint: string;
  /** The next moment the set changes on its own (a key activates or is unpublished). */
  nextTransitionAt: Date | undefined;
}

export class SigningKeyService {
  readonly #database: Database;
  readonly #secrets: SecretBox;
  readonly #events: EventLog;
  readonly #logger: Logger;
  readonly #defaultIdTokenTtl: number;
  readonly #activationDelay: number;
  #ensured: Promise<void> | undefined;

  constructor(deps: {
    database: Database;
    secrets: SecretBox;
    events: EventLog;
    logger: Logger;
    defaultIdTokenTtlSeconds: number;
    activationDelaySeconds: number;
  }) {
    this.#database = deps.database;
    this.#secrets = deps.secrets;
    this.#events = deps.events;
    this.#logger = deps.logger;
    this.#defaultIdTokenTtl = deps.defaultIdTokenTtlSeconds;
    this.#activationDelay = deps.activationDelaySeconds;
  }

  /** Generates an active key for each algorithm that has none (first start). Safe across processes. */
  ensure(): Promise<void> {
    this.#ensured ??= this.#ensure().catch((error) => {
      this.#ensured = undefined;
      throw error;
    });
    return this.#ensured;
  }

  async #ensure(): Promise<void> {
    const existing = await listSigningKeys(this.#database.db);
    const missing = SIGNING_ALGORITHMS.filter(
      (alg) => !existing.some((row) => row.alg === alg && !row.revokedAt),
    );
    if (missing.length === 0) return;
    // Generate outside the transaction (RSA takes a moment), insert under the lock if still missing.
    const generated = await Promise.all(missing.map((alg) => this.#generate(alg, new Date())));
    await this.#database.transaction(async (tx) => {
      await tx.execute(sql`select pg_advisory_xact_lock(${KEY_GENERATION_LOCK})`);
      const now = await listSigningKeys(tx);
      for (const row of generated) {
        if (now.some((key) => key.alg === row.alg && !key.revokedAt)) continue;
        await insertSigningKey(tx, row);
        await this.#events.append(tx, {
          organizationId: null,
          type: 'signing_key.created',
          actor: { type: 'system', name: 'first start' },
          subjectType: 'signing_key',
          subjectId: row.kid,
          data: { kid: row.kid, alg: row.alg, activatesAt: row.activatesAt.toISOString() },
        });
        this.#logger.info({ kid: row.kid, alg: row.alg }, 'generated the OpenID provider signing key');
      }
    });
  }

  /**
   * Adds a new key for each algorithm, published now and signing after `activateInSeconds`.
   * Returns the new keys.
   */
  async rotate(
    input: { algorithms?: readonly SigningAlgorithm[]; activateInSeconds?: number },
    actor: Actor,
  ): Promise<SigningKeyView[]> {
    await this.ensure();
    const delay = input.activateInSeconds ?? this.#activationDelay;
    if (!Number.isInteger(delay) || delay < 0 || delay > 30 * 86_400) {
      throw new InvalidInput({
        code: 'invalid_activation_delay',
        detail: `activateInSeconds must be a whole number of seconds between 0 and ${30 * 86_400}.`,
        field: 'activateInSeconds',
        fix: 'Give how long the new key is published before it signs, e.g. 3600.',
      });
    }
    const algorithms = input.algorithms?.length ? [...new Set(input.algorithms)] : [...SIGNING_ALGORITHMS];
    const activatesAt = new Date(Date.now() + delay * 1000);
    const rows = await Promise.all(algorithms.map((alg) => this.#generate(alg, activatesAt)));
    await this.#database.transaction(async (tx) => {
      for (const row of rows) {
        await insertSigningKey(tx, row);
        await this.#events.append(tx, {
          organizationId: null,
          type: 'signing_key.rotated',
          actor,
          subjectType: 'signing_key',
          subjectId: row.kid,
          data: { kid: row.kid, alg: row.alg, activatesAt: activatesAt.toISOString() },
        });
      }
      await tx.execute(sql`select pg_notify(${SIGNING_KEYS_CHANGED}, '')`);
    });
    const views = await this.list();
    return views.filter((view) => rows.some((row) => row.kid === view.kid));
  }

  /** Withdraws a key at once. Refused for the only signing key of its algorithm. */
  async revoke(kid: string, actor: Actor): Promise<SigningKeyView> {
    const views = await this.list();
    const view = views.find((candidate) => candidate.kid === kid);
    if (!view) {
      throw new NotFound({
        code: 'signing_key_not_found',
        detail: `No signing key with kid "${kid}" exists.`,
        fix: 'List the keys with `switchboard keys list` or GET /api/v1/signing-keys.',
      });
    }
    if (view.status === 'active') {
      throw new Conflict({
        code: 'signing_key_active',
        detail: `Key ${kid} is the ${view.alg} signing key; revoking it would leave nothing to sign with.`,
        fix: 'Rotate first with an immediate activation (`switchboard keys rotate --activate-in 0`), then revoke this key.',
      });
    }
    await this.#database.transaction(async (tx) => {
      await revokeSigningKey(tx, kid, new Date());
      await this.#events.append(tx, {
        organizationId: null,
        type: 'signing_key.revoked',
        actor,
        subjectType: 'signing_key',
        subjectId: kid,
        data: { kid, alg: view.alg },
      });
      await tx.execute(sql`select pg_notify(${SIGNING_KEYS_CHANGED}, '')`);
    });
    return (await this.list()).find((candidate) => candidate.kid === kid) as SigningKeyView;
  }

  async list(now = new Date()): Promise<SigningKeyView[]> {
    const rows = await listSigningKeys(this.#database.db);
    const retention = await this.retentionSeconds();
    return rows.map((row) => describe(row, rows, now, retention));
  }

  /** How long a replaced key stays published: the longest ID token lifetime plus clock tolerance. */
  async retentionSeconds(): Promise<number> {
    const longest = Math.max(this.#defaultIdTokenTtl, (await maxIdTokenLifetime(this.#database.db)) ?? 0);
    return longest + KEY_CLOCK_TOLERANCE_SECONDS;
  }

  /** The keys oidc-provider should hold now. */
  async keySet(now = new Date()): Promise<ProviderKeySet> {
    await this.ensure();
    const rows = await listSigningKeys(this.#database.db);
    const retention = await this.retentionSeconds();
    const described = rows.map((row) => ({ row, view: describe(row, rows, now, retention) }));
    const active = described.filter(({ view }) => view.status === 'active');
    const verifyOnly = described.filter(({ view }) => view.published && view.status !== 'active');
    const keys: JWK[] = [
      ...active.map(({ row }) => this.#privateJwk(row)),
      // key_ops ["verify"]: published and accepted, never chosen to sign (oidc-provider's keystore
      // only signs with keys whose key_ops, when present, include "sign").
      ...verifyOnly.map(({ row }) => ({ ...this.#privateJwk(row), key_ops: ['verify'] })),
    ];
    const transitions = described
      .flatMap(({ view }) => [
        view.status === 'next' ? Date.parse(view.activatesAt) : Number.NaN,
        view.unpublishAt && view.published ? Date.parse(view.unpublishAt) : Number.NaN,
      ])
      .filter((time) => Number.isFinite(time) && time > now.getTime());
    return {
      keys,
      fingerprint: [
        ...active.map(({ row }) => `${row.kid}:sign`),
        ...verifyOnly.map(({ row }) => `${row.kid}:verify`),
      ].join(','),
      nextTransitionAt: transitions.length ? new Date(Math.min(...transitions)) : undefined,
    };
  }

  /** Deletes keys that are no longer published (expired or revoked). */
  async prune(now = new Date()): Promise<number> {
    const views = await this.list(now);
    const gone = views.filter((view) => view.status === 'expired' || view.status === 'revoked');
    await deleteSigningKeys(
      this.#database.db,
      gone.map((view) => view.kid),
    );
    return gone.length;
  }

  async #generate(alg: SigningAlgorithm, activatesAt: Date) {
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true, modulusLength: 2048 });
    const publicJwk = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(publicJwk);
    const privateJwk = { ...(await exportJWK(privateKey)), kid, alg, use: 'sig' };
    return {
      kid,
      alg,
      publicJwk: { ...publicJwk, kid, alg, use: 'sig' } as Record<string, unknown>,
      privateJwkSealed: this.#secrets.seal(JSON.stringify(privateJwk), signingKeyContext(kid)),
      activatesAt,
    };
  }

  #privateJwk(row: SigningKeyRow): JWK {
    return JSON.parse(this.#secrets.open(row.privateJwkSealed, signingKeyContext(row.kid))) as JWK;
  }
}

export function signingKeyContext(kid: string): string {
  return `signing_key:${kid}`;
}

function describe(
  row: SigningKeyRow,
  all: SigningKeyRow[],
  now: Date,
  retentionSeconds: number,
): SigningKeyView {
  const alg = row.alg as SigningAlgorithm;
  const base = {
    kid: row.kid,
    alg,
    createdAt: row.createdAt.toISOString(),
    activatesAt: row.activatesAt.toISOString(),
    revokedAt: row.revokedAt?.toISOString() ?? null,
  };
  if (row.revokedAt) {
    return { ...base, status: 'revoked', published: false, retiresAt: null, unpublishAt: null };
  }
  const siblings = all
    .filter((other) => other.alg === row.alg && !other.revokedAt)
    .sort((a, b) => a.activatesAt.getTime() - b.activatesAt.getTime() || a.kid.localeCompare(b.kid));
  const successor = siblings.find(
    (other) =>
      other.activatesAt.getTime() > row.activatesAt.getTime() ||
      (other.activatesAt.getTime() === row.activatesAt.getTime() && other.kid > row.kid),
  );
  const retiresAt = successor?.activatesAt ?? null;
  const unpublishAt = retiresAt ? new Date(retiresAt.getTime() + retentionSeconds * 1000) : null;
  const timing = {
    retiresAt: retiresAt?.toISOString() ?? null,
    unpublishAt: unpublishAt?.toISOString() ?? null,
  };
  if (row.activatesAt > now) return { ...base, ...timing, status: 'next', published: true };
  if (!retiresAt || retiresAt > now) return { ...base, ...timing, status: 'active', published: true };
  if (unpublishAt && unpublishAt > now) return { ...base, ...timing, status: 'retired', published: true };
  return { ...base, ...timing, status: 'expired', published: false };
}

export function isSigningAlgorithm(value: string): value is SigningAlgorithm {
  return (SIGNING_ALGORITHMS as readonly string[]).includes(value);
}
