/**
 * Webhook subscriptions: a URL, the event types it wants, an optional organization scope and a
 * signing secret (sealed at rest, shown once). Every change is written with its event in one
 * transaction.
 */
import type { Database, Executor, Tx } from '../../platform/db/client.ts';
import { InvalidInput, notFound } from '../../platform/errors.ts';
import { newId } from '../../platform/ids.ts';
import type { SecretBox } from '../../platform/secret-box.ts';
import type { Actor } from '../events/contracts.ts';
import type { EventLog } from '../events/service.ts';
import type { OrganizationService } from '../orgs/index.ts';
import { AddressNotAllowed, checkWebhookUrl, type WebhookAddressPolicy } from './address-policy.ts';
import type { CreateWebhookInput, UpdateWebhookInput, WebhookView } from './contracts.ts';
import { normalizeEventTypeFilters } from './event-catalog.ts';
import {
  deleteSubscriptionRow,
  findSubscription,
  insertSubscription,
  listSubscriptions,
  lockSubscriptionForUpdate,
  type SubscriptionRow,
  settleHeld,
  updateSubscriptionRow,
} from './repository.ts';
import { newSigningSecret, secretPrefixOf } from './signing.ts';

export interface SubscriptionSettings {
  addressPolicy: WebhookAddressPolicy;
  secretOverlapSeconds: number;
}

export class WebhookSubscriptionService {
  readonly #database: Database;
  readonly #secrets: SecretBox;
  readonly #events: EventLog;
  readonly #orgs: OrganizationService;
  readonly #settings: SubscriptionSettings;

  constructor(deps: {
    database: Database;
    secrets: SecretBox;
    events: EventLog;
    orgs: OrganizationService;
    settings: SubscriptionSettings;
  }) {
    this.#database = deps.database;
    this.#secrets = deps.secrets;
    this.#events = deps.events;
    this.#orgs = deps.orgs;
    this.#settings = deps.settings;
  }

  async create(input: CreateWebhookInput, actor: Actor): Promise<{ webhook: WebhookView; secret: string }> {
    const url = this.#checkUrl(input.url);
    const eventTypes = normalizeEventTypeFilters(input.eventTypes);
    const organizationId = input.organization
      ? (await this.#requireOrganization(input.organization)).id
      : null;
    const id = newId('webhook');
    const secret = newSigningSecret();
    const enabled = input.enabled ?? true;
    return this.#database.transaction(async (tx) => {
      const row = await insertSubscription(tx, {
        id,
        organizationId,
        url,
        description: input.description ?? null,
        eventTypes,
        enabled,
        disabledReason: enabled ? null : 'manual',
        disabledAt: enabled ? null : new Date(),
        secretSealed: this.#secrets.seal(secret, secretContext(id)),
        secretPrefix: secretPrefixOf(secret),
      });
      const webhook = toWebhookView(row);
      await this.#append(tx, row, 'webhook.created', actor, { webhook });
      return { webhook, secret };
    });
  }

  async list(query: { organization?: string; staff?: boolean; after?: string; limit: number }) {
    const organizationId = query.organization
      ? (await this.#requireOrganization(query.organization, 'organization')).id
      : query.staff
        ? null
        : undefined;
    const rows = await listSubscriptions(this.#database.db, {
      ...(organizationId !== undefined ? { organizationId } : {}),
      ...(query.after ? { after: query.after } : {}),
      limit: query.limit,
    });
    const page = rows.slice(0, query.limit);
    return {
      data: page.map(toWebhookView),
      nextCursor: rows.length > query.limit ? (page.at(-1)?.id ?? null) : null,
    };
  }

  async get(id: string): Promise<WebhookView> {
    return toWebhookView(await this.require(id));
  }

  async require(id: string, executor: Executor = this.#database.db, lock = false): Promise<SubscriptionRow> {
    const row = await findSubscription(executor, id, { lock });
    if (!row) throw notFound('webhook', id);
    return row;
  }

  async update(id: string, input: UpdateWebhookInput, actor: Actor): Promise<WebhookView> {
    const changes: Partial<SubscriptionRow> = {};
    if (input.url !== undefined) changes.url = this.#checkUrl(input.url);
    if (input.eventTypes !== undefined) changes.eventTypes = normalizeEventTypeFilters(input.eventTypes);
    if (input.description !== undefined) changes.description = input.description;
    return this.#database.transaction(async (tx) => {
      const before = await this.require(id, tx, true);
      const row = await updateSubscriptionRow(tx, id, changes);
      const webhook = toWebhookView(row);
      const changed = (['url', 'eventTypes', 'description'] as const).filter(
        (key) => JSON.stringify(before[key]) !== JSON.stringify(row[key]),
      );
      await this.#append(tx, row, 'webhook.updated', actor, { webhook, changes: changed });
      return webhook;
    });
  }

  async delete(id: string, actor: Actor): Promise<void> {
    await this.#database.transaction(async (tx) => {
      const row = await this.require(id, tx, true);
      await deleteSubscriptionRow(tx, id);
      await this.#append(tx, row, 'webhook.deleted', actor, { webhook: toWebhookView(row) });
    });
  }

  /** Enables a subscription (again): the failure count starts over. */
  async enable(id: string, actor: Actor): Promise<WebhookView> {
    return this.#database.transaction(async (tx) => {
      const before = await this.require(id, tx, true);
      if (before.enabled) return toWebhookView(before);
      const row = await updateSubscriptionRow(tx, id, {
        enabled: true,
        disabledReason: null,
        disabledAt: null,
        consecutiveFailures: 0,
        probeDeliveryId: null,
      });
      const webhook = toWebhookView(row);
      await this.#append(tx, row, 'webhook.enabled', actor, { webhook });
      return webhook;
    });
  }

  async disable(id: string, actor: Actor): Promise<WebhookView> {
    return this.#database.transaction(async (tx) => {
      const before = await this.require(id, tx, true);
      if (!before.enabled) return toWebhookView(before);
      return this.disableIn(tx, before, 'manual', actor);
    });
  }

  /** Disables inside an open transaction (manually, or after too many failures) with `webhook.disabled`. */
  async disableIn(
    tx: Tx,
    before: SubscriptionRow,
    reason: 'manual' | 'failures',
    actor: Actor,
  ): Promise<WebhookView> {
    // FOR UPDATE waits for fan-outs holding the row `for key share` to commit, so the deliveries
    // they queued are skipped below; later fan-outs then see the subscription disabled.
    await lockSubscriptionForUpdate(tx, before.id);
    const row = await updateSubscriptionRow(tx, before.id, {
      enabled: false,
      disabledReason: reason,
      disabledAt: new Date(),
      probeDeliveryId: null,
    });
    // Deliveries waiting behind a probe have no job to skip them: skip them here.
    await settleHeld(tx, before.id, 'skipped');
    const webhook = toWebhookView(row);
    await this.#append(tx, row, 'webhook.disabled', actor, {
      webhook,
      reason,
      ...(reason === 'failures' ? { consecutiveFailures: row.consecutiveFailures } : {}),
    });
    return webhook;
  }

  /** Issues a new secret (shown once); the old one keeps signing too for the overlap. */
  async rotateSecret(
    id: string,
    input: { keepPreviousForSeconds?: number | undefined },
    actor: Actor,
  ): Promise<{ webhook: WebhookView; secret: string }> {
    const keepSeconds = input.keepPreviousForSeconds ?? this.#settings.secretOverlapSeconds;
    return this.#database.transaction(async (tx) => {
      const before = await this.require(id, tx, true);
      const secret = newSigningSecret();
      const now = new Date();
      const keep = keepSeconds > 0;
      const row = await updateSubscriptionRow(tx, id, {
        secretSealed: this.#secrets.seal(secret, secretContext(id)),
        secretPrefix: secretPrefixOf(secret),
        secretRotatedAt: now,
        // The previous secret is re-sealed under its own column's context.
        previousSecretSealed: keep
          ? this.#secrets.seal(
              this.#secrets.open(before.secretSealed, secretContext(id)),
              previousContext(id),
            )
          : null,
        previousSecretExpiresAt: keep ? new Date(now.getTime() + keepSeconds * 1000) : null,
      });
      const webhook = toWebhookView(row);
      await this.#append(tx, row, 'webhook.secret_rotated', actor, {
        webhookId: id,
        secretPrefix: row.secretPrefix,
        previousValidUntil: row.previousSecretExpiresAt?.toISOString() ?? null,
      });
      return { webhook, secret };
    });
  }

  /** The secrets that sign a delivery now: the current one, and the previous one during the overlap. */
  signingSecrets(row: SubscriptionRow, now = new Date()): string[] {
    const secrets = [this.#secrets.open(row.secretSealed, secretContext(row.id))];
    if (row.previousSecretSealed && row.previousSecretExpiresAt && row.previousSecretExpiresAt > now) {
      secrets.push(this.#secrets.open(row.previousSecretSealed, previousContext(row.id)));
    }
    return secrets;
  }

  /** Appends an event about a subscription (its organization's, for an organization's subscription). */
  async #append(tx: Tx, row: SubscriptionRow, type: string, actor: Actor, data: Record<string, unknown>) {
    await this.#events.append(tx, {
      organizationId: row.organizationId,
      type,
      actor,
      subjectType: 'webhook',
      subjectId: row.id,
      data,
    });
  }

  async #requireOrganization(value: string, field = 'organization') {
    const organization = await this.#orgs.require(value).catch(() => undefined);
    if (!organization) {
      throw new InvalidInput({
        code: 'organization_not_found',
        detail: `No organization "${value}" exists.`,
        field,
        fix: 'Give an organization id or slug (GET /api/v1/organizations), or omit it for a staff subscription.',
      });
    }
    return organization;
  }

  #checkUrl(value: string): string {
    try {
      return checkWebhookUrl(value, this.#settings.addressPolicy).toString();
    } catch (error) {
      if (!(error instanceof AddressNotAllowed)) throw error;
      throw new InvalidInput({
        code: 'webhook_url_not_allowed',
        detail: `url: "${value}" ${error.message}.`,
        field: 'url',
        fix:
          this.#settings.addressPolicy === 'public'
            ? 'Give an https URL on a public host.'
            : 'Give an https URL (plain http only to localhost), on an address WEBHOOKS_ADDRESSES allows.',
      });
    }
  }
}

function secretContext(id: string): string {
  return `webhook:${id}:secret`;
}

function previousContext(id: string): string {
  return `webhook:${id}:previous_secret`;
}

export function toWebhookView(row: SubscriptionRow): WebhookView {
  return {
    id: row.id,
    organizationId: row.organizationId,
    url: row.url,
    description: row.description,
    eventTypes: row.eventTypes,
    enabled: row.enabled,
    disabledReason: (row.disabledReason as WebhookView['disabledReason']) ?? null,
    disabledAt: row.disabledAt?.toISOString() ?? null,
    secret: {
      prefix: row.secretPrefix,
      rotatedAt: row.secretRotatedAt?.toISOString() ?? null,
      previousValidUntil:
        row.previousSecretExpiresAt && row.previousSecretExpiresAt > new Date()
          ? row.previousSecretExpiresAt.toISOString()
          : null,
    },
    consecutiveFailures: row.consecutiveFailures,
    lastSuccessAt: row.lastSuccessAt?.toISOString() ?? null,
    lastFailureAt: row.lastFailureAt?.toISOString() ?? null,
    version: row.version,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}
