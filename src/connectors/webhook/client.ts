/** A signed-webhook destination: every change is a command the receiving app applies idempotently. */
import { createHash } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import type { HttpClient } from '../../platform/http-client.ts';
import type {
  AccountProfile,
  DestinationConnector,
  EnrollmentSpec,
  RemoteAccount,
  RemoteEnrollment,
} from '../destination.ts';
import { ConnectorHttpClient, type ExchangeRecord, type RateLimiter } from '../http.ts';
import type { WebhookCommand, WebhookCredentials, WebhookSettings } from './manifest.ts';

export interface WebhookConnectorOptions {
  http: HttpClient;
  settings: WebhookSettings;
  credentials: WebhookCredentials;
  limiter?: RateLimiter;
  limiterKey?: string;
  observe?: (record: ExchangeRecord) => void;
  maxAttempts?: number;
}

export class WebhookConnector implements DestinationConnector {
  readonly kind = 'webhook';
  // The receiver cannot be read back: the orchestrator trusts what it last sent.
  readonly capabilities = {
    readBack: false,
    enrollments: true,
    groups: true,
    listGroups: false,
    removeFromGroup: true,
    suspend: true,
    delete: true,
  };
  readonly client: ConnectorHttpClient;
  readonly #signer: Webhook;
  readonly #url: string;

  constructor(options: WebhookConnectorOptions) {
    this.#signer = new Webhook(options.credentials.secret);
    this.#url = options.settings.url;
    const url = new URL(options.settings.url);
    this.client = new ConnectorHttpClient({
      http: options.http,
      baseUrl: url.origin,
      // The signature is the credential; it is computed per body in `send`.
      auth: () => ({}),
      headers: { 'content-type': 'application/json' },
      ...(options.limiter ? { limiter: options.limiter, limiterKey: options.limiterKey ?? 'webhook' } : {}),
      ...(options.observe ? { observe: options.observe } : {}),
      ...(options.maxAttempts ? { maxAttempts: options.maxAttempts } : {}),
    });
  }

  /** Sends one signed command; returns the receiver's JSON answer. */
  async send(type: WebhookCommand, data: Record<string, unknown>): Promise<unknown> {
    const payload = { type, data };
    // The same command gets the same id, so a receiver drops a retry it already applied.
    const id = `msg_${createHash('sha256').update(JSON.stringify(payload)).digest('hex').slice(0, 32)}`;
    const timestamp = new Date();
    const body = JSON.stringify({ ...payload, timestamp: timestamp.toISOString() });
    const response = await this.client.request<unknown>({
      method: 'POST',
      path: this.#url,
      // Receivers de-duplicate by webhook-id (Standard Webhooks), so a repeat is harmless.
      idempotent: true,
      headers: {
        'webhook-id': id,
        'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
        'webhook-signature': this.#signer.sign(id, timestamp, body),
      },
      json: JSON.parse(body),
    });
    return response.body;
  }

  async testConnection(): Promise<void> {
    await this.send('connection.test', {});
  }

  async findAccount(): Promise<RemoteAccount | null> {
    return null;
  }

  async createAccount(profile: AccountProfile): Promise<RemoteAccount> {
    const answer = (await this.send('account.ensure', { user: user(profile) })) as
      | { id?: unknown }
      | undefined;
    const remoteId =
      typeof answer?.id === 'string' || typeof answer?.id === 'number' ? String(answer.id) : profile.userId;
    return { remoteId, email: profile.email, active: true };
  }

  async updateAccount(account: RemoteAccount, profile: AccountProfile): Promise<void> {
    await this.send('account.ensure', { user: user(profile), remoteId: account.remoteId });
  }

  async suspendAccount(account: RemoteAccount, profile: AccountProfile): Promise<void> {
    await this.send('account.disable', { user: user(profile), remoteId: account.remoteId });
  }

  async activateAccount(account: RemoteAccount, profile: AccountProfile): Promise<void> {
    await this.send('account.enable', { user: user(profile), remoteId: account.remoteId });
  }

  async deleteAccount(account: RemoteAccount, profile: AccountProfile): Promise<void> {
    await this.send('account.delete', { user: user(profile), remoteId: account.remoteId });
  }

  async listEnrollments(): Promise<RemoteEnrollment[]> {
    return [];
  }

  async enroll(account: RemoteAccount, spec: EnrollmentSpec): Promise<RemoteEnrollment> {
    await this.send('enrollment.ensure', { remoteId: account.remoteId, enrollment: spec });
    return { remoteId: `${spec.kind}:${spec.productId}`, ...spec, expired: false };
  }

  async updateEnrollment(
    account: RemoteAccount,
    enrollment: RemoteEnrollment,
    times: { activatedAt: string | null; expiresAt: string | null },
  ): Promise<void> {
    await this.send('enrollment.update', {
      remoteId: account.remoteId,
      enrollment: { kind: enrollment.kind, productId: enrollment.productId, ...times },
    });
  }

  async listGroups(): Promise<string[]> {
    return [];
  }

  async addToGroups(account: RemoteAccount, names: readonly string[]): Promise<void> {
    if (names.length) await this.send('group.add', { remoteId: account.remoteId, groups: names });
  }

  async removeFromGroup(account: RemoteAccount, name: string): Promise<void> {
    await this.send('group.remove', { remoteId: account.remoteId, groups: [name] });
  }
}

function user(profile: AccountProfile) {
  return {
    id: profile.userId,
    email: profile.email,
    givenName: profile.givenName,
    familyName: profile.familyName,
    displayName: profile.displayName,
  };
}
