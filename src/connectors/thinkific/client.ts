/**
 * Thinkific as a provisioning destination: the canonical `DestinationConnector` over the
 * operations in `operations/`, each one Thinkific call (or a short, documented sequence).
 */
import type { HttpClient } from '../../platform/http-client.ts';
import type {
  AccountProfile,
  DestinationConnector,
  EnrollmentSpec,
  ProductRef,
  RemoteAccount,
  RemoteEnrollment,
} from '../destination.ts';
import { UnsupportedOperation } from '../destination.ts';
import { ConnectorHttpClient, type ExchangeRecord, type RateLimiter } from '../http.ts';
import {
  readThinkificError,
  THINKIFIC_MANIFEST,
  type ThinkificCredentials,
  type ThinkificSettings,
  thinkificAuthHeaders,
} from './manifest.ts';
import { toRemoteAccount, toRemoteCourseEnrollment } from './mapping.ts';
import { addToGroups, findOrCreateGroup, isInGroup, listGroups } from './operations/add-to-group.ts';
import { createUser } from './operations/create-user.ts';
import { deleteUser } from './operations/delete-user.ts';
import { enrollInBundle, enrollInCourse } from './operations/enroll.ts';
import { findProduct } from './operations/find-product.ts';
import { findUser } from './operations/find-user.ts';
import { listEnrollments } from './operations/list-enrollments.ts';
import { testConnection } from './operations/test-connection.ts';
import { updateBundleEnrollment, updateEnrollment } from './operations/update-enrollment.ts';
import { updateUser } from './operations/update-user.ts';

export interface ThinkificConnectorOptions {
  http: HttpClient;
  settings: ThinkificSettings;
  credentials: ThinkificCredentials;
  limiter?: RateLimiter;
  limiterKey?: string;
  observe?: (record: ExchangeRecord) => void;
  maxAttempts?: number;
  /** Ends waits and requests early (a caller that cannot wait long, e.g. an API request). */
  signal?: AbortSignal;
}

export function createThinkificHttpClient(options: ThinkificConnectorOptions): ConnectorHttpClient {
  return new ConnectorHttpClient({
    http: options.http,
    baseUrl: options.settings.baseUrl ?? THINKIFIC_MANIFEST.defaultBaseUrl,
    auth: () => thinkificAuthHeaders(options.settings, options.credentials),
    headers: { 'content-type': 'application/json' },
    readError: readThinkificError,
    rateLimitReset: options.settings.rateLimitReset ?? 'auto',
    rateLimitWindowSeconds: THINKIFIC_MANIFEST.rateLimitWindowSeconds,
    ...(options.limiter ? { limiter: options.limiter, limiterKey: options.limiterKey ?? 'thinkific' } : {}),
    ...(options.observe ? { observe: options.observe } : {}),
    ...(options.maxAttempts ? { maxAttempts: options.maxAttempts } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
}

export class ThinkificConnector implements DestinationConnector {
  readonly kind = 'thinkific';
  // v1 has no endpoint that removes a user from a group, and no suspended state for users.
  readonly capabilities = {
    readBack: true,
    enrollments: true,
    groups: true,
    listGroups: true,
    removeFromGroup: false,
    suspend: false,
    delete: true,
  };
  readonly client: ConnectorHttpClient;
  #groupIds: Map<string, number> | undefined;

  constructor(options: ThinkificConnectorOptions) {
    this.client = createThinkificHttpClient(options);
  }

  testConnection(): Promise<void> {
    return testConnection(this.client);
  }

  async findProducts(products: readonly ProductRef[]): Promise<Array<ProductRef & { name: string | null }>> {
    const found = [];
    for (const product of products) {
      const match = await findProduct(this.client, { kind: product.kind, id: product.productId });
      found.push({ ...product, name: match?.name ?? null });
    }
    return found;
  }

  async existingGroups(names: readonly string[]): Promise<string[]> {
    const existing = new Set((await listGroups(this.client)).map((group) => group.name));
    return names.filter((name) => existing.has(name));
  }

  async findAccount(profile: AccountProfile): Promise<RemoteAccount | null> {
    const user = await findUser(this.client, { email: profile.email, externalId: profile.userId });
    return user ? toRemoteAccount(user) : null;
  }

  async createAccount(profile: AccountProfile): Promise<RemoteAccount> {
    return toRemoteAccount(
      await createUser(this.client, {
        email: profile.email,
        firstName: profile.givenName,
        lastName: profile.familyName,
        externalId: profile.userId,
      }),
    );
  }

  async updateAccount(account: RemoteAccount, profile: AccountProfile): Promise<void> {
    await updateUser(this.client, {
      id: account.remoteId,
      email: profile.email,
      firstName: profile.givenName,
      lastName: profile.familyName,
      externalId: profile.userId,
    });
  }

  async suspendAccount(): Promise<void> {
    throw new UnsupportedOperation('Thinkific has no suspended state for users: expire enrollments instead');
  }

  async activateAccount(): Promise<void> {
    // Nothing to do: a Thinkific user is never suspended, access comes from enrollments.
  }

  async deleteAccount(account: RemoteAccount): Promise<void> {
    await deleteUser(this.client, { id: account.remoteId });
  }

  async listEnrollments(
    account: RemoteAccount,
    products: readonly EnrollmentSpec[],
  ): Promise<RemoteEnrollment[]> {
    const found: RemoteEnrollment[] = [];
    const courseIds = new Set(products.filter((p) => p.kind === 'course').map((p) => p.productId));
    if (courseIds.size) {
      const all = (await listEnrollments(this.client, { userId: account.remoteId })).map(
        toRemoteCourseEnrollment,
      );
      for (const courseId of courseIds) {
        // Several enrollments in one course (made by hand): the live one wins, then the newest.
        const candidates = all.filter((e) => e.productId === courseId);
        const chosen = candidates.find((e) => !e.expired) ?? candidates.at(-1);
        if (chosen) found.push(chosen);
      }
    }
    for (const product of products.filter((p) => p.kind === 'bundle')) {
      const rows = await listEnrollments(this.client, {
        userId: account.remoteId,
        bundleId: product.productId,
      });
      if (!rows.length) continue;
      const mapped = rows.map(toRemoteCourseEnrollment);
      found.push({
        remoteId: product.productId,
        kind: 'bundle',
        productId: product.productId,
        activatedAt: mapped[0]?.activatedAt ?? null,
        expiresAt: mapped[0]?.expiresAt ?? null,
        expired: mapped.every((e) => e.expired),
      });
    }
    return found;
  }

  async enroll(account: RemoteAccount, spec: EnrollmentSpec): Promise<RemoteEnrollment> {
    if (spec.kind === 'bundle') {
      await enrollInBundle(this.client, {
        userId: account.remoteId,
        bundleId: spec.productId,
        activatedAt: spec.activatedAt,
        expiresAt: spec.expiresAt,
      });
      return {
        remoteId: spec.productId,
        kind: 'bundle',
        productId: spec.productId,
        activatedAt: spec.activatedAt,
        expiresAt: spec.expiresAt,
        expired: false,
      };
    }
    return toRemoteCourseEnrollment(
      await enrollInCourse(this.client, {
        userId: account.remoteId,
        courseId: spec.productId,
        activatedAt: spec.activatedAt,
        expiresAt: spec.expiresAt,
      }),
    );
  }

  async updateEnrollment(
    account: RemoteAccount,
    enrollment: RemoteEnrollment,
    times: { activatedAt: string | null; expiresAt: string | null },
  ): Promise<void> {
    if (enrollment.kind === 'bundle') {
      await updateBundleEnrollment(this.client, {
        bundleId: enrollment.productId,
        userId: account.remoteId,
        ...times,
      });
      return;
    }
    await updateEnrollment(this.client, { enrollmentId: enrollment.remoteId, ...times });
  }

  async listGroups(account: RemoteAccount, names: readonly string[]): Promise<string[]> {
    if (!names.length) return [];
    const ids = await this.#groupIdsByName();
    const present: string[] = [];
    for (const name of names) {
      const id = ids.get(name.toLowerCase());
      if (id !== undefined && (await isInGroup(this.client, { groupId: id, email: account.email }))) {
        present.push(name.toLowerCase());
      }
    }
    return present;
  }

  async ensureGroup(name: string): Promise<{ remoteId: string }> {
    const group = await findOrCreateGroup(this.client, name);
    return { remoteId: String(group.id) };
  }

  async addToGroups(account: RemoteAccount, names: readonly string[]): Promise<void> {
    if (!names.length) return;
    await addToGroups(this.client, { userId: account.remoteId, groupNames: names });
  }

  async removeFromGroup(): Promise<void> {
    throw new UnsupportedOperation('Thinkific Admin API v1 cannot remove a user from a group');
  }

  async #groupIdsByName(): Promise<Map<string, number>> {
    this.#groupIds ??= new Map(
      (await listGroups(this.client)).map((group) => [group.name.toLowerCase(), group.id]),
    );
    return this.#groupIds;
  }
}
