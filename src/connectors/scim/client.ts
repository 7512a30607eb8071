/** Any SCIM 2.0 app as a provisioning destination: users and groups (no enrollments). */
import type { HttpClient } from '../../platform/http-client.ts';
import type {
  AccountProfile,
  DestinationConnector,
  RemoteAccount,
  RemoteEnrollment,
} from '../destination.ts';
import { UnsupportedOperation } from '../destination.ts';
import { ConnectorError, ConnectorHttpClient, type ExchangeRecord, type RateLimiter } from '../http.ts';
import { readScimError, SCIM_MANIFEST, type ScimCredentials, type ScimSettings } from './manifest.ts';
import { createScimGroup, findScimGroup, patchScimGroupMembers } from './operations/groups.ts';
import {
  createScimUser,
  deleteScimUser,
  findScimUser,
  patchScimUser,
  type ScimUser,
  scimActive,
} from './operations/users.ts';

export interface ScimConnectorOptions {
  http: HttpClient;
  settings: ScimSettings;
  credentials: ScimCredentials;
  limiter?: RateLimiter;
  limiterKey?: string;
  observe?: (record: ExchangeRecord) => void;
  maxAttempts?: number;
}

export class ScimConnector implements DestinationConnector {
  readonly kind = 'scim';
  readonly capabilities = {
    readBack: true,
    enrollments: false,
    groups: true,
    listGroups: true,
    removeFromGroup: true,
    suspend: true,
    delete: true,
  };
  readonly client: ConnectorHttpClient;

  constructor(options: ScimConnectorOptions) {
    this.client = new ConnectorHttpClient({
      http: options.http,
      baseUrl: options.settings.baseUrl,
      auth: () => ({ authorization: `Bearer ${options.credentials.token}` }),
      headers: { accept: SCIM_MANIFEST.contentType, 'content-type': SCIM_MANIFEST.contentType },
      readError: readScimError,
      ...(options.limiter ? { limiter: options.limiter, limiterKey: options.limiterKey ?? 'scim' } : {}),
      ...(options.observe ? { observe: options.observe } : {}),
      ...(options.maxAttempts ? { maxAttempts: options.maxAttempts } : {}),
    });
  }

  async testConnection(): Promise<void> {
    await this.client.request({ path: '/Users', query: { startIndex: 1, count: 1 } });
  }

  async findAccount(profile: AccountProfile): Promise<RemoteAccount | null> {
    const user = await findScimUser(this.client, profile.email);
    return user ? toAccount(user) : null;
  }

  async createAccount(profile: AccountProfile): Promise<RemoteAccount> {
    return toAccount(await createScimUser(this.client, { ...input(profile), active: true }));
  }

  async updateAccount(account: RemoteAccount, profile: AccountProfile): Promise<void> {
    await patchScimUser(this.client, account.remoteId, [
      { op: 'replace', path: 'userName', value: profile.email },
      { op: 'replace', path: 'name.givenName', value: profile.givenName },
      { op: 'replace', path: 'name.familyName', value: profile.familyName },
      { op: 'replace', path: 'displayName', value: profile.displayName },
    ]);
  }

  async suspendAccount(account: RemoteAccount): Promise<void> {
    await patchScimUser(this.client, account.remoteId, [{ op: 'replace', path: 'active', value: false }]);
  }

  async activateAccount(account: RemoteAccount): Promise<void> {
    await patchScimUser(this.client, account.remoteId, [{ op: 'replace', path: 'active', value: true }]);
  }

  async deleteAccount(account: RemoteAccount): Promise<void> {
    await deleteScimUser(this.client, account.remoteId);
  }

  async listEnrollments(): Promise<RemoteEnrollment[]> {
    return [];
  }

  async enroll(): Promise<RemoteEnrollment> {
    throw new UnsupportedOperation('SCIM has no enrollments');
  }

  async updateEnrollment(): Promise<void> {
    throw new UnsupportedOperation('SCIM has no enrollments');
  }

  async listGroups(account: RemoteAccount, names: readonly string[]): Promise<string[]> {
    const present: string[] = [];
    for (const name of names) {
      const group = await findScimGroup(this.client, name);
      if (group?.members?.some((member) => member.value === account.remoteId))
        present.push(name.toLowerCase());
    }
    return present;
  }

  async ensureGroup(name: string): Promise<{ remoteId: string }> {
    const found = await findScimGroup(this.client, name);
    if (found) return { remoteId: found.id };
    try {
      return { remoteId: (await createScimGroup(this.client, name)).id };
    } catch (error) {
      // 409 uniqueness (RFC 7644 §3.3): created by someone else meanwhile.
      const again =
        error instanceof ConnectorError && error.status === 409 && (await findScimGroup(this.client, name));
      if (again) return { remoteId: again.id };
      throw error;
    }
  }

  async addToGroups(account: RemoteAccount, names: readonly string[]): Promise<void> {
    for (const name of names) {
      const group = (await findScimGroup(this.client, name)) ?? (await createScimGroup(this.client, name));
      await patchScimGroupMembers(this.client, group.id, 'add', account.remoteId);
    }
  }

  async removeFromGroup(account: RemoteAccount, name: string): Promise<void> {
    const group = await findScimGroup(this.client, name);
    if (group) await patchScimGroupMembers(this.client, group.id, 'remove', account.remoteId);
  }
}

function input(profile: AccountProfile) {
  return {
    userName: profile.email,
    externalId: profile.userId,
    givenName: profile.givenName,
    familyName: profile.familyName,
    displayName: profile.displayName,
  };
}

function toAccount(user: ScimUser): RemoteAccount {
  const active = scimActive(user);
  return { remoteId: user.id, email: user.userName, ...(active === undefined ? {} : { active }) };
}
