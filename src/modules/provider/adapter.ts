/**
 * oidc-provider's storage adapter on our database (PostgreSQL or embedded PGlite): every model it
 * stores (Session, Interaction, Grant, AuthorizationCode, AccessToken, RefreshToken,
 * ClientCredentials, ReplayDetection, PushedAuthorizationRequest, DeviceCode, ...) is one row of
 * `oidc_payloads`, so any hub process can continue a flow another one began.
 *
 * Contract (https://github.com/panva/node-oidc-provider/blob/main/example/my_adapter.js):
 * `upsert(id, payload, expiresIn)`, `find(id)`, `findByUid(uid)` (Session), `findByUserCode`
 * (DeviceCode), `consume(id)`, `destroy(id)`, `revokeByGrantId(grantId)`. A row past its expiry is
 * not found; the worker deletes it later.
 *
 * One deliberate addition: `consume` is atomic. oidc-provider reads a code or refresh token, checks
 * `consumed`, then consumes it; two concurrent redemptions (two hub processes) could both pass the
 * check. Here the second `consume` finds the row already consumed, revokes the whole grant (RFC 6749
 * §4.1.2 and RFC 9700 §4.14.2: a replayed code or refresh token ends every token of its grant) and
 * answers `invalid_grant`.
 *
 * Clients are not stored here: `Client` reads the `applications` table (see applications.ts).
 */
import { type Adapter, type AdapterPayload, errors } from 'oidc-provider';
import type { Database } from '../../platform/db/client.ts';
import {
  consumePayload,
  deletePayload,
  deletePayloadsOfGrant,
  findPayload,
  findPayloadGrantId,
  upsertPayload,
} from './repository.ts';

/** Reads client metadata for oidc-provider (the `Client` model is read-only here). */
export interface ClientSource {
  clientMetadata(clientId: string): Promise<AdapterPayload | undefined>;
}

export function createAdapterFactory(database: Database, clients: ClientSource): (model: string) => Adapter {
  return (model) => (model === 'Client' ? new ClientAdapter(clients) : new PayloadAdapter(database, model));
}

export class PayloadAdapter implements Adapter {
  readonly #database: Database;
  readonly #model: string;

  constructor(database: Database, model: string) {
    this.#database = database;
    this.#model = model;
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    const session = payload.session as { accountId?: unknown } | undefined;
    const accountId = payload.accountId ?? session?.accountId;
    await upsertPayload(this.#database.db, {
      model: this.#model,
      id,
      payload: payload as Record<string, unknown>,
      grantId: typeof payload.grantId === 'string' ? payload.grantId : null,
      uid: this.#model === 'Session' && typeof payload.uid === 'string' ? payload.uid : null,
      userCode: typeof payload.userCode === 'string' ? payload.userCode : null,
      accountId: typeof accountId === 'string' ? accountId : null,
      expiresAt: typeof expiresIn === 'number' ? new Date(Date.now() + expiresIn * 1000) : null,
    });
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    return withConsumed(await findPayload(this.#database.db, this.#model, { id }));
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    return withConsumed(await findPayload(this.#database.db, this.#model, { uid }));
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    return withConsumed(await findPayload(this.#database.db, this.#model, { userCode }));
  }

  async consume(id: string): Promise<void> {
    const db = this.#database.db;
    if (await consumePayload(db, this.#model, id)) return;
    // Someone consumed it between oidc-provider's read and this write: a replay. End the grant.
    const grantId = await findPayloadGrantId(db, this.#model, id);
    if (grantId) {
      await deletePayloadsOfGrant(db, grantId);
      await deletePayload(db, 'Grant', grantId);
    }
    throw new errors.InvalidGrant(
      `${this.#model === 'RefreshToken' ? 'refresh token' : 'grant'} already used; every token of its grant was revoked`,
    );
  }

  async destroy(id: string): Promise<void> {
    await deletePayload(this.#database.db, this.#model, id);
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    await deletePayloadsOfGrant(this.#database.db, grantId, this.#model);
  }
}

function withConsumed(
  row: { payload: Record<string, unknown>; consumedAt: Date | null } | undefined,
): AdapterPayload | undefined {
  if (!row) return undefined;
  const payload = row.payload as AdapterPayload;
  if (row.consumedAt) payload.consumed = Math.floor(row.consumedAt.getTime() / 1000);
  return payload;
}

/** Applications are managed through the admin API; oidc-provider only reads them. */
class ClientAdapter implements Adapter {
  readonly #clients: ClientSource;

  constructor(clients: ClientSource) {
    this.#clients = clients;
  }

  find(id: string) {
    return this.#clients.clientMetadata(id);
  }

  async upsert(): Promise<void> {
    throw new Error('applications are managed through /api/v1/applications, not by oidc-provider');
  }

  async destroy(): Promise<void> {
    throw new Error('applications are managed through /api/v1/applications, not by oidc-provider');
  }

  async findByUid(): Promise<undefined> {
    return undefined;
  }

  async findByUserCode(): Promise<undefined> {
    return undefined;
  }

  async consume(): Promise<void> {}

  async revokeByGrantId(): Promise<void> {}
}
