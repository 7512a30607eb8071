/**
 * Destinations: the systems an organization provisions into, with their credentials sealed at rest
 * (`destination:<id>:credentials`), and the connector each one is reached through.
 */
import { randomBytes } from 'node:crypto';
import type { z } from 'zod';
import type { DestinationConnector } from '../../connectors/destination.ts';
import {
  ConnectorError,
  type ConnectorErrorKind,
  type ExchangeRecord,
  type RateLimit,
} from '../../connectors/http.ts';
import { PostgresRateLimiter } from '../../connectors/rate-limiter.ts';
import { ScimConnector } from '../../connectors/scim/client.ts';
import { SCIM_MANIFEST } from '../../connectors/scim/manifest.ts';
import { ThinkificConnector } from '../../connectors/thinkific/client.ts';
import { THINKIFIC_MANIFEST } from '../../connectors/thinkific/manifest.ts';
import { WebhookConnector } from '../../connectors/webhook/client.ts';
import { WEBHOOK_MANIFEST } from '../../connectors/webhook/manifest.ts';
import type { Database, Tx } from '../../platform/db/client.ts';
import { Conflict, InvalidInput, notFound, UpstreamError } from '../../platform/errors.ts';
import type { HttpClient } from '../../platform/http-client.ts';
import { newId } from '../../platform/ids.ts';
import type { SecretBox } from '../../platform/secret-box.ts';
import type { Actor, EventLog } from '../events/index.ts';
import type { OrganizationService } from '../orgs/index.ts';
import {
  type CreateDestinationInput,
  type DestinationKind,
  type DestinationPolicy,
  type DestinationView,
  destinationPolicySchema,
  scimCredentialsSchema,
  scimSettingsSchema,
  thinkificCredentialsSchema,
  thinkificSettingsSchema,
  type UpdateDestinationInput,
  webhookCredentialsSchema,
  webhookSettingsSchema,
} from './contracts.ts';
import {
  type DestinationRow,
  deleteDestinationRow,
  insertDestination,
  listDestinations,
  selectDestination,
  selectDestinationByName,
  updateDestinationRow,
} from './repository.ts';

const SCHEMAS: Record<DestinationKind, { settings: z.ZodType; credentials: z.ZodType }> = {
  thinkific: { settings: thinkificSettingsSchema, credentials: thinkificCredentialsSchema },
  scim: { settings: scimSettingsSchema, credentials: scimCredentialsSchema },
  webhook: { settings: webhookSettingsSchema, credentials: webhookCredentialsSchema },
};

/** Test-connection failures that come from what the admin entered (key, URL), not from the hub. */
const CALLER_FAULTS = new Set<ConnectorErrorKind>(['unauthorized', 'forbidden', 'not_found', 'invalid']);

const DEFAULT_LIMITS: Record<DestinationKind, RateLimit> = {
  thinkific: THINKIFIC_MANIFEST.rateLimit,
  scim: SCIM_MANIFEST.rateLimit,
  webhook: WEBHOOK_MANIFEST.rateLimit,
};

/**
 * A change about to be made to a destination, shown to the guards other modules register (an LMS
 * site signing its SSO handoffs with the destination's API key refuses its deletion, or credentials
 * without an API key). Throw a typed error to refuse.
 */
export type DestinationChange =
  | { type: 'delete'; row: DestinationRow }
  | { type: 'credentials'; row: DestinationRow; credentials: Record<string, unknown> };
export type DestinationGuard = (tx: Tx, change: DestinationChange) => Promise<void>;

/** The Thinkific API key a destination holds, for an LMS site's SSO handoff (one credential for both). */
export type ThinkificSsoKey =
  | { ok: true; apiKey: string; subdomain: string | null; name: string }
  | { ok: false; reason: 'not_found' | 'not_thinkific' | 'no_api_key'; name?: string };

/** A destination with its credentials opened, for building its connector inside the hub. */
export interface LoadedDestination {
  row: DestinationRow;
  kind: DestinationKind;
  policy: DestinationPolicy;
  rateLimit: RateLimit;
}

export class DestinationService {
  readonly #database: Database;
  readonly #secrets: SecretBox;
  readonly #events: EventLog;
  readonly #orgs: OrganizationService;
  readonly #http: HttpClient;
  /** Called in the change's transaction (backfill after a destination comes back, cleanup). */
  onChange: ((tx: Tx, organizationId: string, destinationId: string) => Promise<void>) | undefined;
  readonly #guards: DestinationGuard[] = [];

  constructor(deps: {
    database: Database;
    secrets: SecretBox;
    events: EventLog;
    orgs: OrganizationService;
    http: HttpClient;
  }) {
    this.#database = deps.database;
    this.#secrets = deps.secrets;
    this.#events = deps.events;
    this.#orgs = deps.orgs;
    this.#http = deps.http;
  }

  async create(org: string, input: CreateDestinationInput, actor: Actor): Promise<DestinationView> {
    const organization = await this.#orgs.require(org);
    const id = newId('destination');
    let generatedSecret: string | undefined;
    const credentials: Record<string, unknown> = { ...input.credentials };
    if (input.kind === 'webhook' && !credentials.secret) {
      generatedSecret = `whsec_${randomBytes(32).toString('base64')}`;
      credentials.secret = generatedSecret;
    }
    return this.#database.transaction(async (tx) => {
      await this.#assertNameFree(tx, organization.id, input.name);
      const row = await insertDestination(tx, {
        organizationId: organization.id,
        id,
        name: input.name,
        kind: input.kind,
        enabled: input.enabled ?? true,
        settings: input.settings as Record<string, unknown>,
        credentialsSealed: this.#seal(id, credentials),
        policy: destinationPolicySchema.parse(input.policy ?? {}),
        rateLimit: input.rateLimit ?? null,
        concurrency: input.concurrency ?? 4,
        maxAttempts: input.maxAttempts ?? 6,
      });
      await this.#append(tx, row, 'destination.created', actor, { kind: row.kind, name: row.name });
      return { ...toView(row, credentials), ...(generatedSecret ? { generatedSecret } : {}) };
    });
  }

  async list(org: string): Promise<DestinationView[]> {
    const organization = await this.#orgs.require(org);
    const rows = await listDestinations(this.#database.db, organization.id);
    return rows.map((row) => toView(row, this.#open(row)));
  }

  async get(org: string, id: string): Promise<DestinationView> {
    const row = await this.#require(org, id);
    return toView(row, this.#open(row));
  }

  async update(
    org: string,
    id: string,
    input: UpdateDestinationInput,
    actor: Actor,
  ): Promise<DestinationView> {
    const organization = await this.#orgs.require(org);
    return this.#database.transaction(async (tx) => {
      const row = await selectDestination(tx, organization.id, id, { forUpdate: true });
      if (!row) throw notFound('destination', id);
      const kind = row.kind as DestinationKind;
      const changes: Partial<DestinationRow> = {};
      if (input.name !== undefined && input.name !== row.name) {
        await this.#assertNameFree(tx, organization.id, input.name);
        changes.name = input.name;
      }
      if (input.settings !== undefined) changes.settings = parseFor(kind, 'settings', input.settings);
      let credentials = this.#open(row);
      if (input.credentials !== undefined) {
        credentials = parseFor(kind, 'credentials', input.credentials) as Record<string, unknown>;
        for (const guard of this.#guards) await guard(tx, { type: 'credentials', row, credentials });
        if (kind === 'webhook' && !credentials.secret) {
          throw new InvalidInput({
            code: 'destination_secret_required',
            field: 'credentials.secret',
            detail: 'Replacing a webhook destination’s credentials needs the new secret.',
            fix: 'Send credentials.secret (whsec_ + base64), or leave credentials out to keep the current one.',
          });
        }
        changes.credentialsSealed = this.#seal(id, credentials);
      }
      if (input.enabled !== undefined) changes.enabled = input.enabled;
      if (input.policy !== undefined) changes.policy = destinationPolicySchema.parse(input.policy);
      if (input.rateLimit !== undefined) changes.rateLimit = input.rateLimit;
      if (input.concurrency !== undefined) changes.concurrency = input.concurrency;
      if (input.maxAttempts !== undefined) changes.maxAttempts = input.maxAttempts;
      const updated = await updateDestinationRow(tx, organization.id, id, changes);
      await this.#append(tx, updated, 'destination.updated', actor, {
        changed: Object.keys(changes).map((key) => (key === 'credentialsSealed' ? 'credentials' : key)),
      });
      await this.onChange?.(tx, organization.id, id);
      return toView(updated, credentials);
    });
  }

  async delete(org: string, id: string, actor: Actor): Promise<void> {
    const organization = await this.#orgs.require(org);
    await this.#database.transaction(async (tx) => {
      const row = await selectDestination(tx, organization.id, id, { forUpdate: true });
      if (!row) throw notFound('destination', id);
      for (const guard of this.#guards) await guard(tx, { type: 'delete', row });
      await deleteDestinationRow(tx, organization.id, id);
      await this.#append(tx, row, 'destination.deleted', actor, { kind: row.kind, name: row.name });
    });
  }

  /** Checks the stored credentials against the real API with one cheap authenticated call. */
  async test(org: string, id: string): Promise<{ ok: true; latencyMs: number }> {
    const loaded = await this.load(org, id);
    const started = performance.now();
    try {
      await this.connectorFor(loaded, { maxAttempts: 2 }).testConnection();
    } catch (error) {
      if (!(error instanceof ConnectorError)) throw error;
      const hint: Record<string, string> = {
        unauthorized: 'The destination refused the credentials: check the API key (and subdomain) or token.',
        forbidden: 'The credentials are valid but not allowed to use this API (plan or scopes).',
        transport: 'The destination could not be reached: check the URL and the network.',
      };
      throw new UpstreamError({
        code: `destination_test_${error.kind}`,
        detail: `Testing the destination failed: ${error.message}.`,
        fix: hint[error.kind] ?? 'Check the destination’s settings and try again.',
        extra: { upstreamStatus: error.status ?? null },
        // Refused credentials or a wrong URL are the admin's to fix, not a fault of the hub.
        callerFault: CALLER_FAULTS.has(error.kind),
      });
    }
    return { ok: true, latencyMs: Math.round(performance.now() - started) };
  }

  /** Lets another module refuse a deletion or a change of credentials (in the change's transaction). */
  addGuard(guard: DestinationGuard): void {
    this.#guards.push(guard);
  }

  /**
   * The API key of a Thinkific destination, for signing an LMS site's SSO handoffs with the same
   * credential the destination provisions with (rotated once, used by both).
   */
  async thinkificSsoKey(
    organizationId: string,
    destinationId: string,
    executor: Tx | Database['db'] = this.#database.db,
  ): Promise<ThinkificSsoKey> {
    const row = await selectDestination(executor, organizationId, destinationId);
    if (!row) return { ok: false, reason: 'not_found' };
    if (row.kind !== 'thinkific') return { ok: false, reason: 'not_thinkific', name: row.name };
    const credentials = this.#open(row);
    if (typeof credentials.apiKey !== 'string') return { ok: false, reason: 'no_api_key', name: row.name };
    const subdomain = (row.settings as { subdomain?: unknown }).subdomain;
    return {
      ok: true,
      apiKey: credentials.apiKey,
      subdomain: typeof subdomain === 'string' ? subdomain.toLowerCase() : null,
      name: row.name,
    };
  }

  /** Thinkific destinations of the organization holding an API key for this school (subdomain). */
  async thinkificDestinationsOf(
    organizationId: string,
    subdomain: string,
    executor: Tx | Database['db'] = this.#database.db,
  ): Promise<Array<{ id: string; name: string }>> {
    const found = [];
    for (const row of await listDestinations(executor, organizationId)) {
      const key = await this.thinkificSsoKey(organizationId, row.id, executor);
      if (key.ok && key.subdomain === subdomain.toLowerCase()) found.push({ id: row.id, name: row.name });
    }
    return found;
  }

  async load(org: string, id: string): Promise<LoadedDestination> {
    return loaded(await this.#require(org, id));
  }

  async loadById(organizationId: string, id: string): Promise<LoadedDestination | undefined> {
    const row = await selectDestination(this.#database.db, organizationId, id);
    return row ? loaded(row) : undefined;
  }

  /** The connector of a destination, with the shared rate limiter and an exchange observer. */
  connectorFor(
    destination: LoadedDestination,
    options: {
      observe?: (record: ExchangeRecord) => void;
      maxAttempts?: number;
      signal?: AbortSignal;
    } = {},
  ): DestinationConnector {
    const common = {
      http: this.#http,
      limiter: new PostgresRateLimiter(this.#database, destination.rateLimit),
      limiterKey: `destination:${destination.row.id}`,
      ...(options.observe ? { observe: options.observe } : {}),
      maxAttempts: options.maxAttempts ?? 4,
      ...(options.signal ? { signal: options.signal } : {}),
    };
    const credentials = this.#open(destination.row) as never;
    const settings = destination.row.settings as never;
    switch (destination.kind) {
      case 'thinkific':
        return new ThinkificConnector({ ...common, settings, credentials });
      case 'scim':
        return new ScimConnector({ ...common, settings, credentials });
      case 'webhook':
        return new WebhookConnector({ ...common, settings, credentials });
    }
  }

  async #require(org: string, id: string): Promise<DestinationRow> {
    const organization = await this.#orgs.require(org);
    const row = await selectDestination(this.#database.db, organization.id, id);
    if (!row) throw notFound('destination', id);
    return row;
  }

  async #assertNameFree(tx: Tx, organizationId: string, name: string) {
    if (await selectDestinationByName(tx, organizationId, name)) {
      throw new Conflict({
        code: 'destination_name_taken',
        field: 'name',
        detail: `A destination named "${name}" already exists in this organization.`,
        fix: 'Choose another name, or update the existing destination.',
      });
    }
  }

  #seal(id: string, credentials: Record<string, unknown>): string {
    return this.#secrets.seal(JSON.stringify(credentials), `destination:${id}:credentials`);
  }

  #open(row: DestinationRow): Record<string, unknown> {
    return JSON.parse(this.#secrets.open(row.credentialsSealed, `destination:${row.id}:credentials`));
  }

  async #append(tx: Tx, row: DestinationRow, type: string, actor: Actor, data: Record<string, unknown>) {
    await this.#events.append(tx, {
      organizationId: row.organizationId,
      type,
      actor,
      subjectType: 'destination',
      subjectId: row.id,
      data,
    });
  }
}

function loaded(row: DestinationRow): LoadedDestination {
  const kind = row.kind as DestinationKind;
  return {
    row,
    kind,
    policy: destinationPolicySchema.parse(row.policy ?? {}),
    rateLimit: row.rateLimit ?? DEFAULT_LIMITS[kind],
  };
}

function parseFor(
  kind: DestinationKind,
  part: 'settings' | 'credentials',
  value: unknown,
): Record<string, unknown> {
  const result = SCHEMAS[kind][part].safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    const field = [part, ...(issue?.path ?? []).map(String)].join('.');
    throw new InvalidInput({
      code: `invalid_destination_${part}`,
      field,
      detail: `${field}: ${issue?.message ?? 'invalid'} (for a ${kind} destination).`,
      fix: `Send ${part} in the shape of a ${kind} destination (see the CreateDestination schema).`,
    });
  }
  return result.data as Record<string, unknown>;
}

function toView(row: DestinationRow, credentials: Record<string, unknown>): DestinationView {
  const kind = row.kind as DestinationKind;
  return {
    id: row.id,
    organizationId: row.organizationId,
    name: row.name,
    kind,
    enabled: row.enabled,
    settings: row.settings,
    credentials: Object.fromEntries(Object.keys(credentials).map((key) => [key, '[set]' as const])),
    policy: destinationPolicySchema.parse(row.policy ?? {}),
    rateLimit: row.rateLimit ?? { ...DEFAULT_LIMITS[kind] },
    concurrency: row.concurrency,
    maxAttempts: row.maxAttempts,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}
