/**
 * Applications: the OIDC clients of Switchboard (our web app, the Teams tab, an LMS), each with its
 * event in one transaction. oidc-provider reads them through `clientMetadata` (the `Client` model).
 *
 * Client secrets are stored as SHA-256 hashes, never encrypted: a secret is 256 random bits, so a
 * fast hash is as strong as a slow one (RFC 6819 §5.1.4.1.3), and neither a database dump nor the
 * database plus SECRET_KEY reveals one. oidc-provider compares secrets through
 * `Client.prototype.compareClientSecret`, which the provider replaces with a hash comparison
 * (the hook its author recommends for hashed secrets, panva/node-oidc-provider#631). The price: no
 * `client_secret_jwt` and no HS256-signed ID tokens, which need the plain secret; both are off.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { AdapterPayload } from 'oidc-provider';
import type { Database, Tx } from '../../platform/db/client.ts';
import { Conflict, InvalidInput, notFound } from '../../platform/errors.ts';
import { newId } from '../../platform/ids.ts';
import type { Actor } from '../events/contracts.ts';
import type { EventLog } from '../events/service.ts';
import type { OrganizationService } from '../orgs/index.ts';
import type { ClientSource } from './adapter.ts';
import {
  type ApplicationView,
  type CreateApplicationInput,
  DEFAULT_SCOPES,
  DEFAULT_TOKEN_LIFETIMES,
  type GrantType,
  type TokenLifetimes,
  type UpdateApplicationInput,
} from './contracts.ts';
import {
  type ApplicationRow,
  deleteApplicationRow,
  findApplication,
  insertApplication,
  listApplications,
  listRoutesTargeting,
  updateApplicationRow,
} from './repository.ts';

const SECRET_PREFIX = 'sbs_';
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** What the provider needs of an application beyond standard client metadata. */
export interface ApplicationPolicy {
  applicationId: string;
  organizationId: string | null;
  allowedOrganizationIds: string[] | null;
  firstParty: boolean;
  requirePkce: boolean;
  grantTypes: string[];
  tokenLifetimes: TokenLifetimes;
  secretHashes: Array<{ hash: string; validUntil: number | null }>;
}

/** The client metadata member carrying ApplicationPolicy (one word: oidc-provider keeps it as is). */
export const POLICY_METADATA = 'switchboard';

/** Resolves and checks the metadata oidc-provider would accept (set by the provider host). */
export type ClientMetadataCheck = (metadata: AdapterPayload) => Promise<void>;

export class ApplicationService implements ClientSource {
  readonly #database: Database;
  readonly #events: EventLog;
  readonly #orgs: OrganizationService;
  readonly #issuer: string;
  #checkMetadata: ClientMetadataCheck | undefined;
  readonly #recent = new Map<string, ApplicationPolicy>();

  constructor(deps: { database: Database; events: EventLog; orgs: OrganizationService; issuer: string }) {
    this.#database = deps.database;
    this.#events = deps.events;
    this.#orgs = deps.orgs;
    this.#issuer = deps.issuer;
  }

  /** Lets oidc-provider's own client schema check an application before it is saved. */
  setMetadataCheck(check: ClientMetadataCheck): void {
    this.#checkMetadata = check;
  }

  async create(
    input: CreateApplicationInput,
    actor: Actor,
  ): Promise<{ application: ApplicationView; secret: string | null }> {
    const organizationId = input.organization ? (await this.#orgs.require(input.organization)).id : null;
    const id = newId('application');
    const secret = input.type === 'confidential' ? newSecret() : null;
    const draft: ApplicationRow = {
      id,
      organizationId,
      name: input.name,
      description: input.description ?? null,
      type: input.type,
      enabled: input.enabled ?? true,
      firstParty: input.firstParty ?? true,
      redirectUris: input.redirectUris,
      postLogoutRedirectUris: input.postLogoutRedirectUris ?? [],
      backchannelLogoutUri: input.backchannelLogoutUri ?? null,
      backchannelLogoutSessionRequired: input.backchannelLogoutSessionRequired ?? true,
      grantTypes: input.grantTypes ?? ['authorization_code', 'refresh_token'],
      scopes: input.scopes ?? [...DEFAULT_SCOPES],
      tokenEndpointAuthMethod:
        input.type === 'public' ? 'none' : (input.tokenEndpointAuthMethod ?? 'client_secret_basic'),
      requirePkce: input.type === 'public' ? true : (input.requirePkce ?? false),
      idTokenSigningAlg: input.idTokenSigningAlg ?? 'RS256',
      tokenLifetimes: { ...DEFAULT_TOKEN_LIFETIMES, ...input.tokenLifetimes },
      allowedOrganizationIds: await this.#resolveAllowed(input.allowedOrganizations ?? null),
      startUrl: input.startUrl ?? null,
      instanceKey: input.instanceKey ?? null,
      clientSecretHash: secret ? hashSecret(secret) : null,
      clientSecretPrefix: secret ? secretPrefix(secret) : null,
      clientSecretRotatedAt: null,
      previousSecretHash: null,
      previousSecretExpiresAt: null,
      version: 1,
      createdAt: new Date(),
      updatedAt: new Date(),
    };
    if (input.type === 'public' && input.tokenEndpointAuthMethod) {
      throw new InvalidInput({
        code: 'public_client_auth_method',
        detail:
          'A public application has no secret, so it cannot have a token endpoint authentication method.',
        field: 'tokenEndpointAuthMethod',
        fix: 'Remove tokenEndpointAuthMethod, or make the application confidential.',
      });
    }
    if (input.type === 'public' && input.requirePkce === false) {
      throw new InvalidInput({
        code: 'public_client_pkce',
        detail: 'Public applications must use PKCE; it cannot be turned off.',
        field: 'requirePkce',
        fix: 'Remove requirePkce (it is always on for public applications).',
      });
    }
    await this.#validate(draft);
    return this.#database.transaction(async (tx) => {
      const row = await insertApplication(tx, draft);
      const application = this.toView(row);
      await this.#append(tx, row, 'application.created', actor, { application });
      return { application, secret };
    });
  }

  async list(query: { organization?: string; shared?: boolean; after?: string; limit: number }) {
    const organizationId = query.organization
      ? (await this.#orgs.require(query.organization)).id
      : query.shared
        ? null
        : undefined;
    const rows = await listApplications(this.#database.db, {
      ...(organizationId !== undefined ? { organizationId } : {}),
      ...(query.after ? { after: query.after } : {}),
      limit: query.limit,
    });
    const page = rows.slice(0, query.limit);
    return {
      data: page.map((row) => this.toView(row)),
      nextCursor: rows.length > query.limit ? (page.at(-1)?.id ?? null) : null,
    };
  }

  async get(id: string): Promise<ApplicationView> {
    return this.toView(await this.require(id));
  }

  async require(id: string, tx?: Tx): Promise<ApplicationRow> {
    const row = await findApplication(tx ?? this.#database.db, id, { lock: Boolean(tx) });
    if (!row) throw notFound('application', id);
    return row;
  }

  /** The application, if it exists (and, unless `includeDisabled`, is enabled). */
  async find(id: string, options: { includeDisabled?: boolean } = {}): Promise<ApplicationRow | undefined> {
    if (!/^app_[0-9a-z]{26}$/.test(id)) return undefined;
    const row = await findApplication(this.#database.db, id);
    if (!row || (!row.enabled && !options.includeDisabled)) return undefined;
    return row;
  }

  async update(id: string, input: UpdateApplicationInput, actor: Actor): Promise<ApplicationView> {
    return this.#database.transaction(async (tx) => {
      const before = await this.require(id, tx);
      if (before.type === 'public' && input.tokenEndpointAuthMethod) {
        throw new InvalidInput({
          code: 'public_client_auth_method',
          detail:
            'A public application has no secret, so it cannot have a token endpoint authentication method.',
          field: 'tokenEndpointAuthMethod',
          fix: 'Remove tokenEndpointAuthMethod.',
        });
      }
      if (before.type === 'public' && input.requirePkce === false) {
        throw new InvalidInput({
          code: 'public_client_pkce',
          detail: 'Public applications must use PKCE; it cannot be turned off.',
          field: 'requirePkce',
          fix: 'Remove requirePkce.',
        });
      }
      const changes: Partial<ApplicationRow> = {};
      const assign = <K extends keyof ApplicationRow>(key: K, value: ApplicationRow[K] | undefined) => {
        if (value !== undefined) changes[key] = value;
      };
      assign('name', input.name);
      assign('description', input.description);
      assign('enabled', input.enabled);
      assign('firstParty', input.firstParty);
      assign('redirectUris', input.redirectUris);
      assign('postLogoutRedirectUris', input.postLogoutRedirectUris);
      assign('backchannelLogoutUri', input.backchannelLogoutUri);
      assign('backchannelLogoutSessionRequired', input.backchannelLogoutSessionRequired);
      assign('grantTypes', input.grantTypes);
      assign('scopes', input.scopes);
      assign('tokenEndpointAuthMethod', input.tokenEndpointAuthMethod);
      assign('requirePkce', input.requirePkce);
      assign('idTokenSigningAlg', input.idTokenSigningAlg);
      assign('startUrl', input.startUrl);
      assign('instanceKey', input.instanceKey);
      if (input.tokenLifetimes) {
        changes.tokenLifetimes = {
          ...DEFAULT_TOKEN_LIFETIMES,
          ...before.tokenLifetimes,
          ...input.tokenLifetimes,
        };
      }
      if (input.allowedOrganizations !== undefined) {
        changes.allowedOrganizationIds = await this.#resolveAllowed(input.allowedOrganizations, tx);
      }
      const draft = { ...before, ...changes };
      await this.#validate(draft);
      const row = await updateApplicationRow(tx, id, changes);
      const application = this.toView(row);
      await this.#append(tx, row, 'application.updated', actor, {
        application,
        changes: changedFields(before, row),
      });
      return application;
    });
  }

  async delete(id: string, actor: Actor): Promise<void> {
    await this.#database.transaction(async (tx) => {
      const row = await this.require(id, tx);
      const routes = await listRoutesTargeting(tx, 'application', id);
      if (routes.length) {
        throw new Conflict({
          code: 'application_in_use',
          detail: `Post-login routes send people to this application: ${routes
            .slice(0, 5)
            .map((route) => `"${route.name}" (${route.id})`)
            .join(', ')}${routes.length > 5 ? ` and ${routes.length - 5} more` : ''}.`,
          field: 'id',
          fix: 'Point those routes elsewhere or delete them, then delete the application.',
        });
      }
      await deleteApplicationRow(tx, id);
      await this.#append(tx, row, 'application.deleted', actor, { application: this.toView(row) });
    });
  }

  /** Issues a new secret (shown once); the old one stays valid for `keepPreviousForSeconds`. */
  async rotateSecret(
    id: string,
    input: { keepPreviousForSeconds: number },
    actor: Actor,
  ): Promise<{ application: ApplicationView; secret: string }> {
    return this.#database.transaction(async (tx) => {
      const before = await this.require(id, tx);
      if (before.type !== 'confidential' || !before.clientSecretHash) {
        throw new Conflict({
          code: 'public_client_has_no_secret',
          detail: 'This application is public: it has no client secret to rotate.',
          fix: 'Public applications authenticate with PKCE only.',
        });
      }
      const secret = newSecret();
      const now = new Date();
      const keep = input.keepPreviousForSeconds > 0;
      const row = await updateApplicationRow(tx, id, {
        clientSecretHash: hashSecret(secret),
        clientSecretPrefix: secretPrefix(secret),
        clientSecretRotatedAt: now,
        previousSecretHash: keep ? before.clientSecretHash : null,
        previousSecretExpiresAt: keep ? new Date(now.getTime() + input.keepPreviousForSeconds * 1000) : null,
      });
      const application = this.toView(row);
      await this.#append(tx, row, 'application.secret_rotated', actor, {
        applicationId: id,
        secretPrefix: row.clientSecretPrefix,
        previousValidUntil: row.previousSecretExpiresAt?.toISOString() ?? null,
      });
      return { application, secret };
    });
  }

  /** oidc-provider's view of an application (standard client metadata plus our policy). */
  async clientMetadata(clientId: string): Promise<AdapterPayload | undefined> {
    const row = await this.find(clientId);
    if (!row) return undefined;
    const metadata = toClientMetadata(row);
    this.#recent.set(clientId, metadata[POLICY_METADATA] as ApplicationPolicy);
    if (this.#recent.size > 1000) this.#recent.delete(this.#recent.keys().next().value as string);
    return metadata;
  }

  /**
   * The policy of an application this process looked up lately, for oidc-provider's synchronous
   * hooks that run without a request (a grant's lifetime). Never used for access decisions.
   */
  recentPolicy(clientId: string): ApplicationPolicy | undefined {
    return this.#recent.get(clientId);
  }

  /** Whether users of this organization may sign in to the application. */
  allowsOrganization(
    policy: Pick<ApplicationPolicy, 'organizationId' | 'allowedOrganizationIds'>,
    organizationId: string,
  ) {
    if (policy.organizationId) return policy.organizationId === organizationId;
    return !policy.allowedOrganizationIds || policy.allowedOrganizationIds.includes(organizationId);
  }

  toView(row: ApplicationRow): ApplicationView {
    return {
      id: row.id,
      clientId: row.id,
      organizationId: row.organizationId,
      name: row.name,
      description: row.description,
      type: row.type as ApplicationView['type'],
      enabled: row.enabled,
      firstParty: row.firstParty,
      redirectUris: row.redirectUris,
      postLogoutRedirectUris: row.postLogoutRedirectUris,
      backchannelLogoutUri: row.backchannelLogoutUri,
      backchannelLogoutSessionRequired: row.backchannelLogoutSessionRequired,
      grantTypes: row.grantTypes,
      scopes: row.scopes,
      tokenEndpointAuthMethod: row.tokenEndpointAuthMethod,
      requirePkce: row.type === 'public' || row.requirePkce,
      idTokenSigningAlg: row.idTokenSigningAlg,
      tokenLifetimes: lifetimesOf(row),
      allowedOrganizations: row.organizationId ? [row.organizationId] : row.allowedOrganizationIds,
      startUrl: row.startUrl,
      instanceKey: row.instanceKey,
      clientSecret: row.clientSecretPrefix
        ? {
            prefix: row.clientSecretPrefix,
            rotatedAt: row.clientSecretRotatedAt?.toISOString() ?? null,
            previousValidUntil:
              row.previousSecretExpiresAt && row.previousSecretExpiresAt > new Date()
                ? row.previousSecretExpiresAt.toISOString()
                : null,
          }
        : null,
      issuer: this.#issuer,
      version: row.version,
      createdAt: row.createdAt.toISOString(),
      updatedAt: row.updatedAt.toISOString(),
    };
  }

  async #resolveAllowed(values: string[] | null, tx?: Tx): Promise<string[] | null> {
    if (values === null) return null;
    const ids: string[] = [];
    for (const [index, value] of values.entries()) {
      const organization = await this.#orgs.require(value, tx).catch(() => undefined);
      if (!organization) {
        throw new InvalidInput({
          code: 'organization_not_found',
          detail: `allowedOrganizations[${index}]: no organization "${value}" exists.`,
          field: `allowedOrganizations[${index}]`,
          fix: 'Give organization ids or slugs; list them with GET /api/v1/organizations.',
        });
      }
      if (!ids.includes(organization.id)) ids.push(organization.id);
    }
    return ids;
  }

  /** Our own checks with field-level errors first, then oidc-provider's client schema. */
  async #validate(row: ApplicationRow): Promise<void> {
    const grantTypes = row.grantTypes as GrantType[];
    const interactive = grantTypes.includes('authorization_code');
    if (row.type === 'public' && grantTypes.includes('client_credentials')) {
      throw new InvalidInput({
        code: 'public_client_credentials',
        detail: 'The client_credentials grant needs a secret; a public application has none.',
        field: 'grantTypes',
        fix: 'Make the application confidential, or remove client_credentials.',
      });
    }
    if (grantTypes.includes('refresh_token') && !interactive) {
      throw new InvalidInput({
        code: 'refresh_without_code',
        detail:
          'refresh_token only makes sense with authorization_code (client credentials get no refresh token).',
        field: 'grantTypes',
        fix: 'Add authorization_code, or remove refresh_token.',
      });
    }
    if (interactive && row.redirectUris.length === 0) {
      throw new InvalidInput({
        code: 'redirect_uris_required',
        detail: 'An application that signs people in (authorization_code) needs at least one redirect URI.',
        field: 'redirectUris',
        fix: 'Add the exact URL of your callback, e.g. https://app.example.com/auth/callback.',
      });
    }
    row.redirectUris.forEach((uri, index) => {
      checkRedirectUri(uri, `redirectUris[${index}]`, row.type === 'public');
    });
    row.postLogoutRedirectUris.forEach((uri, index) => {
      checkRedirectUri(uri, `postLogoutRedirectUris[${index}]`, row.type === 'public');
    });
    if (row.backchannelLogoutUri) checkWebUrl(row.backchannelLogoutUri, 'backchannelLogoutUri');
    if (row.startUrl) {
      checkWebUrl(row.startUrl.replaceAll('{instance}', 'https://instance.invalid'), 'startUrl');
      if (row.startUrl.includes('{instance}') && !row.instanceKey) {
        throw new InvalidInput({
          code: 'instance_key_required',
          detail: 'startUrl contains {instance} but the application has no instanceKey.',
          field: 'instanceKey',
          fix: 'Set instanceKey to the key of the organizations\' instance URL, e.g. "coaching".',
        });
      }
      if (row.startUrl.includes('{instance}') && !row.startUrl.startsWith('{instance}')) {
        throw new InvalidInput({
          code: 'invalid_start_url',
          detail: 'startUrl may only use {instance} at its start, e.g. {instance}/auth/start.',
          field: 'startUrl',
          fix: 'Write it as {instance}/path.',
        });
      }
    }
    const lifetimes = lifetimesOf(row);
    if (lifetimes.refreshTokenMaxSeconds < lifetimes.refreshTokenSeconds) {
      throw new InvalidInput({
        code: 'refresh_lifetimes_inverted',
        detail: `tokenLifetimes.refreshTokenMaxSeconds (${lifetimes.refreshTokenMaxSeconds}) is shorter than refreshTokenSeconds (${lifetimes.refreshTokenSeconds}).`,
        field: 'tokenLifetimes.refreshTokenMaxSeconds',
        fix: 'Make the absolute limit at least as long as one refresh token lives.',
      });
    }
    if (row.organizationId && row.allowedOrganizationIds) {
      const others = row.allowedOrganizationIds.filter((id) => id !== row.organizationId);
      if (others.length) {
        throw new InvalidInput({
          code: 'owned_application_shared',
          detail: `This application belongs to organization ${row.organizationId}; it cannot admit users of ${others.join(', ')}.`,
          field: 'allowedOrganizations',
          fix: 'Create a shared application (no organization) and list the allowed organizations there.',
        });
      }
    }
    await this.#checkMetadata?.(toClientMetadata(row));
  }

  async #append(tx: Tx, row: ApplicationRow, type: string, actor: Actor, data: Record<string, unknown>) {
    await this.#events.append(tx, {
      organizationId: row.organizationId,
      type,
      actor,
      subjectType: 'application',
      subjectId: row.id,
      data,
    });
  }
}

export function lifetimesOf(row: Pick<ApplicationRow, 'tokenLifetimes'>): TokenLifetimes {
  return { ...DEFAULT_TOKEN_LIFETIMES, ...(row.tokenLifetimes as Partial<TokenLifetimes>) };
}

function toClientMetadata(row: ApplicationRow): AdapterPayload {
  const grantTypes = row.grantTypes;
  const native = row.type === 'public' && row.redirectUris.some((uri) => !/^https?:/i.test(uri));
  const policy: ApplicationPolicy = {
    applicationId: row.id,
    organizationId: row.organizationId,
    allowedOrganizationIds: row.allowedOrganizationIds,
    firstParty: row.firstParty,
    requirePkce: row.type === 'public' || row.requirePkce,
    grantTypes: row.grantTypes,
    tokenLifetimes: lifetimesOf(row),
    secretHashes: [
      ...(row.clientSecretHash ? [{ hash: row.clientSecretHash, validUntil: null }] : []),
      ...(row.previousSecretHash && row.previousSecretExpiresAt
        ? [{ hash: row.previousSecretHash, validUntil: row.previousSecretExpiresAt.getTime() }]
        : []),
    ],
  };
  return {
    client_id: row.id,
    client_name: row.name,
    ...(row.clientSecretHash ? { client_secret: row.clientSecretHash } : {}),
    token_endpoint_auth_method: row.tokenEndpointAuthMethod,
    application_type: native ? 'native' : 'web',
    grant_types: grantTypes,
    response_types: grantTypes.includes('authorization_code') ? ['code'] : [],
    redirect_uris: row.redirectUris,
    post_logout_redirect_uris: row.postLogoutRedirectUris,
    ...(row.backchannelLogoutUri
      ? {
          backchannel_logout_uri: row.backchannelLogoutUri,
          backchannel_logout_session_required: row.backchannelLogoutSessionRequired,
        }
      : {}),
    scope: row.scopes.join(' '),
    id_token_signed_response_alg: row.idTokenSigningAlg,
    [POLICY_METADATA]: policy,
  } as AdapterPayload;
}

/** Exact redirect URIs: https; http only for loopback; private-use schemes for public (native) apps. */
function checkRedirectUri(value: string, field: string, isPublic: boolean): boolean {
  const fail = (detail: string, fix: string): never => {
    throw new InvalidInput({ code: 'invalid_redirect_uri', detail: `${field}: ${detail}`, field, fix });
  };
  if (/[*]/.test(value)) {
    fail('wildcards are not allowed; redirect URIs are matched exactly.', 'List every exact callback URL.');
  }
  const parsed = URL.parse(value);
  if (!parsed)
    return fail(
      `"${value}" is not an absolute URI.`,
      'Give the full URL, e.g. https://app.example.com/callback.',
    );
  if (parsed.hash || value.includes('#'))
    fail('a redirect URI must not contain a fragment (#).', 'Remove the #... part.');
  if (parsed.protocol === 'https:') return false;
  if (parsed.protocol === 'http:') {
    if (LOOPBACK_HOSTS.has(parsed.hostname) || parsed.hostname === '::1') return false;
    fail(
      `plain http is only allowed for localhost, 127.0.0.1 or [::1] (got ${parsed.hostname}).`,
      "Use https for anything that is not on the developer's own machine.",
    );
  }
  if (!isPublic) {
    fail(
      `the ${parsed.protocol} scheme is only for public (native) applications.`,
      'Use an https URL, or register a public application for a native app.',
    );
  }
  if (
    ['javascript:', 'data:', 'file:', 'vbscript:'].includes(parsed.protocol) ||
    !parsed.protocol.slice(0, -1).includes('.')
  ) {
    fail(
      `a native app's private-use scheme must be a reversed domain name you control (RFC 8252 §7.1), e.g. com.example.app:/callback.`,
      'Use com.yourcompany.app:/callback, or a claimed https URL.',
    );
  }
  return true;
}

function checkWebUrl(value: string, field: string): void {
  const parsed = URL.parse(value);
  const ok =
    parsed &&
    !parsed.hash &&
    (parsed.protocol === 'https:' || (parsed.protocol === 'http:' && LOOPBACK_HOSTS.has(parsed.hostname)));
  if (!ok) {
    throw new InvalidInput({
      code: 'invalid_url',
      detail: `${field}: "${value}" is not an https URL (http is only allowed for localhost).`,
      field,
      fix: 'Give a full https URL without a fragment.',
    });
  }
}

function changedFields(
  before: ApplicationRow,
  after: ApplicationRow,
): Record<string, { from: unknown; to: unknown }> {
  const changes: Record<string, { from: unknown; to: unknown }> = {};
  for (const key of Object.keys(after) as Array<keyof ApplicationRow>) {
    if (['version', 'updatedAt', 'clientSecretHash', 'previousSecretHash'].includes(key)) continue;
    if (JSON.stringify(before[key]) !== JSON.stringify(after[key]))
      changes[key] = { from: before[key], to: after[key] };
  }
  return changes;
}

function newSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(32).toString('base64url')}`;
}

function secretPrefix(secret: string): string {
  return `${secret.slice(0, SECRET_PREFIX.length + 6)}…`;
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** Constant-time check of a presented secret against the current (and a rotated-out, unexpired) hash. */
export function secretMatches(
  policy: ApplicationPolicy | undefined,
  presented: string,
  now = Date.now(),
): boolean {
  if (!policy) return false;
  const digest = Buffer.from(hashSecret(presented), 'hex');
  let matched = false;
  for (const { hash, validUntil } of policy.secretHashes) {
    const stored = Buffer.from(hash, 'hex');
    const equal = stored.length === digest.length && timingSafeEqual(stored, digest);
    if (equal && (validUntil === null || validUntil > now)) matched = true;
  }
  return matched;
}
