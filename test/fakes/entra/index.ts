/**
 * Fake Microsoft Entra ID (the identity platform at login.microsoftonline.com), strict where the
 * Teams and tab-SSO work can go wrong. References: shared/reference/flow-of-work.md §1.2 (bot
 * token), §2 (tab SSO, OBO), and the vendor pages it cites: Bot Connector authentication
 * (learn.microsoft.com/azure/bot-service/rest-api/bot-framework-rest-connector-authentication),
 * Microsoft identity platform access-token claims reference, OAuth 2.0 on-behalf-of flow,
 * Entra error codes (AADSTS), and teams.ts `packages/apps/src/middleware/auth/jwt-validator.ts`.
 *
 *   POST /{tenant}/oauth2/v2.0/token                     client_credentials (client_secret_post or
 *                                                         Basic), and the OBO grant
 *                                                         (urn:ietf:params:oauth:grant-type:jwt-bearer)
 *   GET  /{tenant}/v2.0/.well-known/openid-configuration  per-tenant v2 metadata
 *   GET  /{tenant}/.well-known/openid-configuration       per-tenant v1 metadata (issuer sts.windows.net)
 *   GET  /{tenant}/discovery/v2.0/keys, /{tenant}/discovery/keys
 *
 * `{tenant}` is a tenant id, one of its domains, `botframework.com` (the legacy Bot Framework
 * tenant), or `common`/`organizations` (metadata only, whose issuer is the literal template
 * `…/{tenantid}/v2.0`, as Entra publishes it: a validator that takes it verbatim fails).
 *
 * Faithful where it hurts:
 * - **Single-tenant bots** (`signInAudience: AzureADMyOrg`) asking the legacy `botframework.com`
 *   tenant get 400 `unauthorized_client` AADSTS700016 (§1.2); the token must come from the bot's
 *   home tenant: RS256, `aud=https://api.botframework.com`, `iss=https://sts.windows.net/{tid}/`,
 *   `appid`, `expires_in: 3599`.
 * - Both error shapes of the token endpoint: 401 `invalid_client` AADSTS7000215 (wrong secret)
 *   and 400 `unauthorized_client` AADSTS700016, each with `error_codes`, `timestamp`, `trace_id`,
 *   `correlation_id`, `error_uri`, and the trace lines inside `error_description`.
 * - Tab SSO tokens in **both versions** (§2): v2 (`aud=<clientId>`, `iss=…/{tid}/v2.0`, `azp`,
 *   `preferred_username`) and v1 (`aud=api://<fqdn>/<clientId>`, `iss=https://sts.windows.net/{tid}/`).
 *   Per the access-token claims reference, v1 tokens carry `appid`, `upn` and `unique_name`
 *   instead of the v2-only `azp` and `preferred_username` (the reference page lists the union; the
 *   vendor page wins).
 * - OBO answers 400 `invalid_grant` AADSTS65001 with `suberror: "consent_required"` until the
 *   tenant consented to the scopes; an expired assertion is AADSTS500133.
 *
 * Stricter than Entra, on purpose: each tenant signs with **its own keys** (real Entra shares one
 * key set across tenants), so a hub that fetches keys from the wrong tenant, or trusts `tid` before
 * it checked the signature against the org's tenant, fails here instead of in production. The
 * `common` key set is the union of every tenant's keys, as the real one validates any tenant's
 * token: a hub that validates against it must still check `iss`/`tid`.
 *
 * The base URL is the fake's own origin; `issuerBase` (default the same) is what v2 issuers are
 * built on, so the hub can be configured with this origin as its `login.microsoftonline.com`.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import {
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  type JSONWebKeySet,
  type JWTPayload,
  jwtVerify,
} from 'jose';
import { FakeClock } from '../fake-clock.ts';
import {
  type FakeRequest,
  type FakeResponse,
  type LoggedRequest,
  parseBasicAuth,
  startFakeHttpServer,
} from '../hr-fake-server.ts';
import { createRsaSigningKey, type RsaSigningKey, signRs256, unsignedJwt } from '../rsa-signing-keys.ts';

/** The tenant Bot Framework's legacy multi-tenant tokens came from (its emulator issuer). */
export const BOT_FRAMEWORK_TENANT_ID = 'd6d49420-f39b-4df7-a1dc-d59a935871db';
export const BOT_FRAMEWORK_RESOURCE = 'https://api.botframework.com';
export const GRAPH_RESOURCE = 'https://graph.microsoft.com';
/** Microsoft Graph's application id: tokens may carry it as `aud` instead of the URL. */
export const GRAPH_APP_ID = '00000003-0000-0000-c000-000000000000';
/** Teams clients pre-authorised for tab SSO (§2): desktop/mobile and web. */
export const TEAMS_DESKTOP_CLIENT_ID = '1fec8e78-bce4-4aaf-ab1b-5451cc387264';
export const TEAMS_WEB_CLIENT_ID = '5e3ce6c0-2b1f-4285-8d4b-75ee78787346';

export interface FakeEntraTenant {
  id: string;
  displayName: string;
  domains: string[];
  /** Published signing keys, newest last; the newest signs. */
  keys: RsaSigningKey[];
}

export interface FakeEntraApp {
  clientId: string;
  displayName: string;
  homeTenantId: string;
  signInAudience: 'AzureADMyOrg' | 'AzureADMultipleOrgs';
  secrets: Array<{ value: string; expiresAt: number }>;
  /** Application ID URIs, e.g. `api://hub.example.com/<clientId>` for tab SSO (§2). */
  identifierUris: string[];
  /** `accessTokenAcceptedVersion` of the app's manifest: v1 tokens unless set to 2 (§2 quirk). */
  accessTokenAcceptedVersion: 1 | 2;
}

export interface IssuedTokenRecord {
  at: number;
  tenantId: string;
  clientId: string;
  grant: 'client_credentials' | 'on_behalf_of' | 'teams_sso';
  audience: string;
}

export interface TeamsSsoUser {
  oid: string;
  name: string;
  /** The user's UPN; `preferred_username` in v2 tokens, `upn`/`unique_name` in v1. */
  upn: string;
}

export interface TeamsSsoTokenOptions {
  tenantId: string;
  /** Our Entra app (the tab's `webApplicationInfo.id`). */
  clientId: string;
  user: TeamsSsoUser;
  /** Token version; defaults to the app's `accessTokenAcceptedVersion`. */
  version?: 1 | 2;
  teamsClient?: 'desktop' | 'web';
  scopes?: string[];
  lifetimeSeconds?: number;
}

export type TeamsSsoForgery =
  /** Claims for the org's tenant, signed with another tenant's key (its kid). */
  | 'other-tenant-key'
  /** A genuine token from a tenant that is not the org's (`foreignTenantId`). */
  | 'foreign-tid'
  /** `scp` without `access_as_user`. */
  | 'wrong-scp'
  /** Issued for another app (`aud`). */
  | 'other-app-aud'
  /** Expired an hour ago (far beyond any clock skew). */
  | 'expired'
  /** `alg: none`, no signature. */
  | 'alg-none'
  /** Signed with a key no tenant publishes. */
  | 'unknown-kid'
  /** `iss` of another tenant while `tid` says the org's. */
  | 'issuer-tid-mismatch';

export interface FakeEntraOptions {
  clock?: FakeClock;
  /** Base of v2 issuers (`{issuerBase}/{tid}/v2.0`); defaults to the fake's origin. */
  issuerBase?: string;
  tokenLifetimeSeconds?: number;
}

const DEFAULT_LIFETIME = 3599;

export class FakeEntra {
  readonly clock: FakeClock;
  readonly tenants = new Map<string, FakeEntraTenant>();
  readonly apps = new Map<string, FakeEntraApp>();
  /** Application permissions (Graph `roles`) admin-consented per tenant: tenant → client → roles. */
  readonly appConsents = new Map<string, Map<string, Set<string>>>();
  /** Delegated scopes consented per tenant: tenant → client → scopes (e.g. `https://graph.microsoft.com/User.Read`). */
  readonly delegatedConsents = new Map<string, Map<string, Set<string>>>();
  readonly tokensIssued: IssuedTokenRecord[] = [];
  url = '';
  issuerBase = '';
  requests: LoggedRequest[] = [];
  #options: FakeEntraOptions;
  #close: (() => Promise<void>) | undefined;
  readonly #keySets = new Map<
    string,
    { fingerprint: string; keySet: ReturnType<typeof createLocalJWKSet> }
  >();

  constructor(options: FakeEntraOptions = {}) {
    this.#options = options;
    this.clock = options.clock ?? new FakeClock();
  }

  static async start(options: FakeEntraOptions = {}): Promise<FakeEntra> {
    const entra = new FakeEntra(options);
    const server = await startFakeHttpServer((request) => entra.#handle(request));
    entra.url = server.url;
    entra.issuerBase = options.issuerBase ?? server.url;
    entra.requests = server.requests;
    entra.#close = server.close;
    await entra.addTenant({
      id: BOT_FRAMEWORK_TENANT_ID,
      displayName: 'Bot Framework',
      domains: ['botframework.com'],
    });
    return entra;
  }

  async close(): Promise<void> {
    await this.#close?.();
  }

  // ── Set-up ────────────────────────────────────────────────────────────────────────────────

  async addTenant(
    spec: { id?: string; displayName?: string; domains?: string[] } = {},
  ): Promise<FakeEntraTenant> {
    const id = spec.id ?? randomUUID();
    const tenant: FakeEntraTenant = {
      id,
      displayName: spec.displayName ?? `Tenant ${id.slice(0, 8)}`,
      domains: spec.domains ?? [`tenant-${id.slice(0, 8)}.onmicrosoft.com`],
      keys: [await this.#newKey()],
    };
    this.tenants.set(id, tenant);
    return tenant;
  }

  /** Registers an app in its home tenant with one client secret (returned in `secrets[0]`). */
  registerApp(spec: {
    homeTenantId: string;
    clientId?: string;
    displayName?: string;
    signInAudience?: FakeEntraApp['signInAudience'];
    secret?: string;
    secretExpiresAt?: number;
    identifierUris?: string[];
    accessTokenAcceptedVersion?: 1 | 2;
  }): FakeEntraApp {
    if (!this.tenants.has(spec.homeTenantId)) throw new Error(`unknown tenant ${spec.homeTenantId}`);
    const clientId = spec.clientId ?? randomUUID();
    const app: FakeEntraApp = {
      clientId,
      displayName: spec.displayName ?? 'Switchboard',
      homeTenantId: spec.homeTenantId,
      signInAudience: spec.signInAudience ?? 'AzureADMyOrg',
      secrets: [
        {
          value: spec.secret ?? `${randomBytes(3).toString('hex')}~${randomBytes(24).toString('base64url')}`,
          expiresAt: spec.secretExpiresAt ?? Number.POSITIVE_INFINITY,
        },
      ],
      identifierUris: spec.identifierUris ?? [],
      accessTokenAcceptedVersion: spec.accessTokenAcceptedVersion ?? 1,
    };
    this.apps.set(clientId, app);
    return app;
  }

  /** An admin of `tenantId` grants application permissions (Graph app roles) to the app. */
  grantAdminConsent(tenantId: string, clientId: string, roles: string[]): void {
    const byClient = this.appConsents.get(tenantId) ?? new Map<string, Set<string>>();
    const set = byClient.get(clientId) ?? new Set<string>();
    for (const role of roles) set.add(role);
    byClient.set(clientId, set);
    this.appConsents.set(tenantId, byClient);
  }

  revokeAdminConsent(tenantId: string, clientId: string): void {
    this.appConsents.get(tenantId)?.delete(clientId);
  }

  /** Delegated consent for OBO, scopes as full URIs (`https://graph.microsoft.com/User.Read`). */
  grantDelegatedConsent(tenantId: string, clientId: string, scopes: string[]): void {
    const byClient = this.delegatedConsents.get(tenantId) ?? new Map<string, Set<string>>();
    const set = byClient.get(clientId) ?? new Set<string>();
    for (const scope of scopes) set.add(scope);
    byClient.set(clientId, set);
    this.delegatedConsents.set(tenantId, byClient);
  }

  revokeDelegatedConsent(tenantId: string, clientId: string): void {
    this.delegatedConsents.get(tenantId)?.delete(clientId);
  }

  /** Publishes a new key for the tenant; new tokens are signed with it. Returns its kid. */
  async rotateSigningKey(tenantId: string): Promise<string> {
    const tenant = this.#tenant(tenantId);
    const key = await this.#newKey();
    tenant.keys.push(key);
    return key.kid;
  }

  /** Stops publishing a key: tokens it signed no longer verify. */
  retireSigningKey(tenantId: string, kid: string): void {
    const tenant = this.#tenant(tenantId);
    tenant.keys = tenant.keys.filter((key) => key.kid !== kid);
  }

  // ── Views other fakes and tests use ───────────────────────────────────────────────────────

  /**
   * A key resolver over the tenant's published keys, for jose's `jwtVerify` (cached until the
   * tenant's keys change, so verifying every request stays cheap).
   */
  localKeySet(tenantId: string): ReturnType<typeof createLocalJWKSet> {
    const tenant = this.#tenant(tenantId);
    const fingerprint = tenant.keys.map((key) => key.kid).join(',');
    const cached = this.#keySets.get(tenantId);
    if (cached?.fingerprint === fingerprint) return cached.keySet;
    const keySet = createLocalJWKSet(this.jwks(tenantId));
    this.#keySets.set(tenantId, { fingerprint, keySet });
    return keySet;
  }

  /** The JWKS a tenant publishes (for in-process verification by the Connector and Graph fakes). */
  jwks(tenantId: string): JSONWebKeySet {
    const tenant = this.#tenant(tenantId);
    return { keys: tenant.keys.map((key) => ({ ...key.publicJwk, issuer: this.v2Issuer('{tenantid}') })) };
  }

  v1Issuer(tenantId: string): string {
    return `https://sts.windows.net/${tenantId}/`;
  }

  v2Issuer(tenantId: string): string {
    return `${this.issuerBase}/${tenantId}/v2.0`;
  }

  tokenEndpoint(tenant: string): string {
    return `${this.url}/${tenant}/oauth2/v2.0/token`;
  }

  /**
   * Verifies an access token this fake issued, as a resource server would: RS256 against the
   * tenant named by the token's `tid` (its own keys only), issuer v1 or v2 of that tenant, the
   * expected audience, lifetime by the fake's clock. Returns the claims or throws.
   */
  async verifyAccessToken(token: string, audience: string | string[]): Promise<JWTPayload> {
    const unverified = decodeJwt(token);
    const tid = typeof unverified.tid === 'string' ? unverified.tid : '';
    if (!this.tenants.has(tid)) throw new Error('token names no known tenant');
    const { payload } = await jwtVerify(token, this.localKeySet(tid), {
      algorithms: ['RS256'],
      issuer: [this.v1Issuer(tid), this.v2Issuer(tid)],
      audience,
      currentDate: new Date(this.clock.now()),
      clockTolerance: 300,
    });
    return payload;
  }

  // ── Token minting ─────────────────────────────────────────────────────────────────────────

  /** A client-credentials token as the endpoint issues it (tests that skip the HTTP round trip). */
  async issueAppToken(tenantId: string, clientId: string, resource: string): Promise<string> {
    const roles =
      resource === GRAPH_RESOURCE ? [...(this.appConsents.get(tenantId)?.get(clientId) ?? [])] : [];
    return this.#mintAppToken(tenantId, clientId, resource, roles);
  }

  /** The token `authentication.getAuthToken()` hands a Teams tab (§2). */
  async issueTeamsSsoToken(options: TeamsSsoTokenOptions): Promise<string> {
    const claims = this.#ssoClaims(options);
    this.tokensIssued.push({
      at: this.clock.now(),
      tenantId: options.tenantId,
      clientId: options.clientId,
      grant: 'teams_sso',
      audience: String(claims.aud),
    });
    return signRs256(this.#signingKey(options.tenantId), claims);
  }

  /** A forged or unacceptable tab SSO token for the refusal tests (§2). */
  async forgeTeamsSsoToken(
    kind: TeamsSsoForgery,
    options: TeamsSsoTokenOptions & { foreignTenantId?: string },
  ): Promise<string> {
    const claims = this.#ssoClaims(options);
    const now = this.clock.nowSeconds();
    switch (kind) {
      case 'other-tenant-key': {
        const other = [...this.tenants.values()].find(
          (tenant) => tenant.id !== options.tenantId && tenant.id !== BOT_FRAMEWORK_TENANT_ID,
        );
        if (!other) throw new Error('other-tenant-key needs a second tenant');
        return signRs256(this.#signingKey(other.id), claims);
      }
      case 'foreign-tid': {
        const foreign = options.foreignTenantId;
        if (!foreign) throw new Error('foreign-tid needs foreignTenantId');
        return this.issueTeamsSsoToken({ ...options, tenantId: foreign });
      }
      case 'wrong-scp':
        return signRs256(this.#signingKey(options.tenantId), { ...claims, scp: 'User.Read' });
      case 'other-app-aud': {
        const other = randomUUID();
        const aud = claims.ver === '2.0' ? other : `api://other.example.com/${other}`;
        return signRs256(this.#signingKey(options.tenantId), { ...claims, aud });
      }
      case 'expired':
        return signRs256(this.#signingKey(options.tenantId), {
          ...claims,
          iat: now - 7200,
          nbf: now - 7200,
          exp: now - 3600,
        });
      case 'alg-none':
        return unsignedJwt(claims);
      case 'unknown-kid':
        return signRs256(await this.#newKey(), claims);
      case 'issuer-tid-mismatch': {
        const other = randomUUID();
        const iss = claims.ver === '2.0' ? this.v2Issuer(other) : this.v1Issuer(other);
        return signRs256(this.#signingKey(options.tenantId), { ...claims, iss });
      }
    }
  }

  // ── HTTP ──────────────────────────────────────────────────────────────────────────────────

  async #handle(request: FakeRequest): Promise<FakeResponse> {
    const segments = request.path.split('/').filter(Boolean);
    const tenantName = decodeURIComponent(segments[0] ?? '');
    const rest = segments.slice(1).join('/');
    if (request.method === 'POST' && rest === 'oauth2/v2.0/token')
      return this.#tokenEndpoint(request, tenantName);
    if (request.method !== 'GET') return { status: 405, body: { error: 'method_not_allowed' } };
    if (rest === 'v2.0/.well-known/openid-configuration') return this.#metadata(tenantName, 2);
    if (rest === '.well-known/openid-configuration') return this.#metadata(tenantName, 1);
    if (rest === 'discovery/v2.0/keys' || rest === 'discovery/keys') return this.#keys(tenantName);
    return { status: 404, body: { error: 'not_found' } };
  }

  #metadata(tenantName: string, version: 1 | 2): FakeResponse {
    const multi = tenantName === 'common' || tenantName === 'organizations';
    const tenant = multi ? undefined : this.#resolveTenant(tenantName);
    if (!multi && !tenant) return this.#tenantNotFound(tenantName);
    const tid = tenant?.id ?? '{tenantid}';
    const path = tenant ? tenant.id : tenantName;
    return {
      status: 200,
      body: {
        token_endpoint: `${this.url}/${path}/oauth2/${version === 2 ? 'v2.0/' : ''}token`,
        token_endpoint_auth_methods_supported: [
          'client_secret_post',
          'private_key_jwt',
          'client_secret_basic',
        ],
        jwks_uri: `${this.url}/${path}/discovery/${version === 2 ? 'v2.0/' : ''}keys`,
        response_modes_supported: ['query', 'fragment', 'form_post'],
        subject_types_supported: ['pairwise'],
        id_token_signing_alg_values_supported: ['RS256'],
        response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
        scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
        issuer: version === 2 ? this.v2Issuer(tid) : this.v1Issuer(tid),
        request_uri_parameter_supported: false,
        authorization_endpoint: `${this.url}/${path}/oauth2/${version === 2 ? 'v2.0/' : ''}authorize`,
        tenant_region_scope: multi ? null : 'NA',
        cloud_instance_name: 'microsoftonline.com',
        cloud_graph_host_name: 'graph.windows.net',
        msgraph_host: 'graph.microsoft.com',
      },
    };
  }

  #keys(tenantName: string): FakeResponse {
    if (tenantName === 'common' || tenantName === 'organizations') {
      const keys = [...this.tenants.values()].flatMap((tenant) => this.jwks(tenant.id).keys);
      return { status: 200, body: { keys } };
    }
    const tenant = this.#resolveTenant(tenantName);
    if (!tenant) return this.#tenantNotFound(tenantName);
    return { status: 200, body: this.jwks(tenant.id) };
  }

  async #tokenEndpoint(request: FakeRequest, tenantName: string): Promise<FakeResponse> {
    const form = request.form;
    if (!form) {
      return this.#aadError(
        400,
        'invalid_request',
        900144,
        "The request body must contain the following parameter: 'grant_type'.",
      );
    }
    const tenant = this.#resolveTenant(tenantName);
    if (!tenant) return this.#tenantNotFound(tenantName);
    const credentials = readClientCredentials(request);
    if (!credentials.clientId) {
      return this.#aadError(
        400,
        'invalid_request',
        900144,
        "The request body must contain the following parameter: 'client_id'.",
      );
    }
    const app = this.#findAppInTenant(credentials.clientId, tenant);
    if (!app) {
      return this.#aadError(
        400,
        'unauthorized_client',
        700016,
        `Application with identifier '${credentials.clientId}' was not found in the directory '${tenant.displayName}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
      );
    }
    const secretProblem = this.#checkSecret(app, credentials.clientSecret);
    if (secretProblem) return secretProblem;
    const grantType = form.get('grant_type');
    if (grantType === 'client_credentials') return this.#clientCredentials(form, tenant, app);
    if (grantType === 'urn:ietf:params:oauth:grant-type:jwt-bearer')
      return this.#onBehalfOf(form, tenant, app);
    if (!grantType) {
      return this.#aadError(
        400,
        'invalid_request',
        900144,
        "The request body must contain the following parameter: 'grant_type'.",
      );
    }
    return this.#aadError(
      400,
      'unsupported_grant_type',
      70003,
      `The app requested an unsupported grant type '${grantType}'.`,
    );
  }

  #checkSecret(app: FakeEntraApp, secret: string | undefined): FakeResponse | undefined {
    if (!secret) {
      return this.#aadError(
        401,
        'invalid_client',
        7000218,
        "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
      );
    }
    const match = app.secrets.find((candidate) => candidate.value === secret);
    if (!match) {
      return this.#aadError(
        401,
        'invalid_client',
        7000215,
        `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${app.clientId}'.`,
      );
    }
    if (match.expiresAt <= this.clock.now()) {
      return this.#aadError(
        401,
        'invalid_client',
        7000222,
        `The provided client secret keys for app '${app.clientId}' are expired. Visit the Azure portal to create new keys for your app.`,
      );
    }
    return undefined;
  }

  async #clientCredentials(
    form: URLSearchParams,
    tenant: FakeEntraTenant,
    app: FakeEntraApp,
  ): Promise<FakeResponse> {
    const scope = form.get('scope') ?? '';
    if (!scope.endsWith('/.default') || scope.includes(' ')) {
      return this.#aadError(
        400,
        'invalid_scope',
        1002012,
        `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
      );
    }
    const resource = scope.slice(0, -'/.default'.length);
    if (!this.#resourceExists(resource)) {
      return this.#aadError(
        400,
        'invalid_resource',
        500011,
        `The resource principal named ${resource} was not found in the tenant named ${tenant.displayName}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.`,
      );
    }
    const roles =
      resource === GRAPH_RESOURCE ? [...(this.appConsents.get(tenant.id)?.get(app.clientId) ?? [])] : [];
    const lifetime = this.#options.tokenLifetimeSeconds ?? DEFAULT_LIFETIME;
    return {
      status: 200,
      body: {
        token_type: 'Bearer',
        expires_in: lifetime,
        ext_expires_in: lifetime,
        access_token: await this.#mintAppToken(tenant.id, app.clientId, resource, roles),
      },
    };
  }

  async #onBehalfOf(
    form: URLSearchParams,
    tenant: FakeEntraTenant,
    app: FakeEntraApp,
  ): Promise<FakeResponse> {
    if (form.get('requested_token_use') !== 'on_behalf_of') {
      return this.#aadError(
        400,
        'invalid_request',
        900144,
        "The request body must contain the following parameter: 'requested_token_use'.",
      );
    }
    const assertion = form.get('assertion') ?? '';
    let user: JWTPayload;
    try {
      user = await this.#verifyAssertion(assertion, tenant, app);
    } catch (error) {
      const expired = error instanceof Error && /"exp" claim timestamp check failed/.test(error.message);
      return expired
        ? this.#aadError(400, 'invalid_grant', 500133, 'Assertion is not within its valid time range.')
        : this.#aadError(
            400,
            'invalid_grant',
            50013,
            `Assertion failed signature validation. [Reason - ${error instanceof Error ? error.message : String(error)}]`,
          );
    }
    const scopes = (form.get('scope') ?? '').split(' ').filter(Boolean);
    const resourceScopes = scopes.filter(
      (scope) => !['openid', 'profile', 'email', 'offline_access'].includes(scope),
    );
    const consented = this.delegatedConsents.get(tenant.id)?.get(app.clientId) ?? new Set<string>();
    const missing = resourceScopes.filter((scope) =>
      scope.endsWith('/.default') ? consented.size === 0 : !consented.has(scope),
    );
    if (resourceScopes.length === 0 || missing.length > 0) {
      return this.#aadError(
        400,
        'invalid_grant',
        65001,
        `The user or administrator has not consented to use the application with ID '${app.clientId}' named '${app.displayName}'. Send an interactive authorization request for this user and resource.`,
        { suberror: 'consent_required' },
      );
    }
    const resource = (resourceScopes[0] as string).replace(/\/[^/]*$/, '');
    const granted = resourceScopes.some((scope) => scope.endsWith('/.default'))
      ? [...consented].filter((scope) => scope.startsWith(`${resource}/`))
      : resourceScopes;
    const now = this.clock.nowSeconds();
    const lifetime = this.#options.tokenLifetimeSeconds ?? DEFAULT_LIFETIME;
    const claims: JWTPayload = {
      aud: resource,
      iss: this.v1Issuer(tenant.id),
      iat: now,
      nbf: now,
      exp: now + lifetime,
      acr: '1',
      aio: randomBytes(24).toString('base64url'),
      amr: ['pwd'],
      app_displayname: app.displayName,
      appid: app.clientId,
      appidacr: '1',
      idtyp: 'user',
      name: user.name,
      oid: user.oid,
      rh: randomBytes(12).toString('base64url'),
      scp: granted.map((scope) => scope.slice(resource.length + 1)).join(' '),
      sub: randomBytes(32).toString('base64url'),
      tid: tenant.id,
      unique_name: user.preferred_username ?? user.upn,
      upn: user.preferred_username ?? user.upn,
      uti: randomBytes(16).toString('base64url'),
      ver: '1.0',
    };
    this.tokensIssued.push({
      at: this.clock.now(),
      tenantId: tenant.id,
      clientId: app.clientId,
      grant: 'on_behalf_of',
      audience: resource,
    });
    return {
      status: 200,
      body: {
        token_type: 'Bearer',
        scope: granted.join(' '),
        expires_in: lifetime,
        ext_expires_in: lifetime,
        access_token: await signRs256(this.#signingKey(tenant.id), claims),
      },
    };
  }

  async #verifyAssertion(assertion: string, tenant: FakeEntraTenant, app: FakeEntraApp): Promise<JWTPayload> {
    decodeProtectedHeader(assertion);
    const { payload } = await jwtVerify(assertion, this.localKeySet(tenant.id), {
      algorithms: ['RS256'],
      issuer: [this.v1Issuer(tenant.id), this.v2Issuer(tenant.id)],
      audience: [app.clientId, ...app.identifierUris],
      currentDate: new Date(this.clock.now()),
      clockTolerance: 300,
    });
    if (payload.tid !== tenant.id) throw new Error('assertion was issued in another tenant');
    return payload;
  }

  // ── Helpers ───────────────────────────────────────────────────────────────────────────────

  async #mintAppToken(
    tenantId: string,
    clientId: string,
    resource: string,
    roles: string[],
  ): Promise<string> {
    const now = this.clock.nowSeconds();
    const lifetime = this.#options.tokenLifetimeSeconds ?? DEFAULT_LIFETIME;
    const servicePrincipal = randomUUID();
    const claims: JWTPayload = {
      aud: resource,
      iss: this.v1Issuer(tenantId),
      iat: now,
      nbf: now,
      exp: now + lifetime,
      aio: randomBytes(24).toString('base64url'),
      appid: clientId,
      appidacr: '1',
      idp: this.v1Issuer(tenantId),
      idtyp: 'app',
      oid: servicePrincipal,
      rh: randomBytes(12).toString('base64url'),
      ...(roles.length ? { roles } : {}),
      sub: servicePrincipal,
      tid: tenantId,
      uti: randomBytes(16).toString('base64url'),
      ver: '1.0',
    };
    this.tokensIssued.push({
      at: this.clock.now(),
      tenantId,
      clientId,
      grant: 'client_credentials',
      audience: resource,
    });
    return signRs256(this.#signingKey(tenantId), claims);
  }

  #ssoClaims(options: TeamsSsoTokenOptions): JWTPayload {
    const app = this.apps.get(options.clientId);
    if (!app) throw new Error(`unknown app ${options.clientId}`);
    const version = options.version ?? app.accessTokenAcceptedVersion;
    const now = this.clock.nowSeconds();
    const teamsClient = options.teamsClient === 'web' ? TEAMS_WEB_CLIENT_ID : TEAMS_DESKTOP_CLIENT_ID;
    const common = {
      iat: now,
      nbf: now,
      exp: now + (options.lifetimeSeconds ?? 3600),
      aio: randomBytes(24).toString('base64url'),
      name: options.user.name,
      oid: options.user.oid,
      rh: randomBytes(12).toString('base64url'),
      scp: (options.scopes ?? ['access_as_user']).join(' '),
      sub: randomBytes(32).toString('base64url'),
      tid: options.tenantId,
      uti: randomBytes(16).toString('base64url'),
    };
    if (version === 2) {
      return {
        aud: app.clientId,
        iss: this.v2Issuer(options.tenantId),
        ...common,
        azp: teamsClient,
        azpacr: '0',
        preferred_username: options.user.upn,
        ver: '2.0',
      };
    }
    const aud = app.identifierUris[0];
    if (!aud)
      throw new Error('a v1 tab SSO token needs the app to have an identifier URI (api://<fqdn>/<clientId>)');
    return {
      aud,
      iss: this.v1Issuer(options.tenantId),
      ...common,
      acr: '1',
      amr: ['pwd'],
      appid: teamsClient,
      appidacr: '0',
      idp: this.v1Issuer(options.tenantId),
      unique_name: options.user.upn,
      upn: options.user.upn,
      ver: '1.0',
    };
  }

  #resourceExists(resource: string): boolean {
    if (resource === BOT_FRAMEWORK_RESOURCE || resource === GRAPH_RESOURCE) return true;
    return [...this.apps.values()].some(
      (app) => app.identifierUris.includes(resource) || app.clientId === resource,
    );
  }

  /**
   * An app exists in its home tenant; a multi-tenant app also wherever it has a service principal
   * (admin or delegated consent), and in the legacy Bot Framework tenant. A single-tenant app
   * exists nowhere else: that is the AADSTS700016 of §1.2.
   */
  #findAppInTenant(clientId: string, tenant: FakeEntraTenant): FakeEntraApp | undefined {
    const app = this.apps.get(clientId);
    if (!app) return undefined;
    if (app.homeTenantId === tenant.id) return app;
    if (app.signInAudience !== 'AzureADMultipleOrgs') return undefined;
    if (tenant.id === BOT_FRAMEWORK_TENANT_ID) return app;
    const consented =
      this.appConsents.get(tenant.id)?.has(clientId) || this.delegatedConsents.get(tenant.id)?.has(clientId);
    return consented ? app : undefined;
  }

  #resolveTenant(name: string): FakeEntraTenant | undefined {
    const lower = name.toLowerCase();
    return (
      this.tenants.get(lower) ??
      [...this.tenants.values()].find((tenant) =>
        tenant.domains.some((domain) => domain.toLowerCase() === lower),
      )
    );
  }

  #tenant(tenantId: string): FakeEntraTenant {
    const tenant = this.tenants.get(tenantId);
    if (!tenant) throw new Error(`unknown tenant ${tenantId}`);
    return tenant;
  }

  #signingKey(tenantId: string): RsaSigningKey {
    const key = this.#tenant(tenantId).keys.at(-1);
    if (!key) throw new Error(`tenant ${tenantId} publishes no key`);
    return key;
  }

  #newKey(): Promise<RsaSigningKey> {
    return createRsaSigningKey();
  }

  #tenantNotFound(name: string): FakeResponse {
    return this.#aadError(
      400,
      'invalid_tenant',
      90002,
      `Tenant '${name}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`,
    );
  }

  /** Entra's error body: the AADSTS code leads the description, trace lines follow it. */
  #aadError(
    status: number,
    error: string,
    code: number,
    description: string,
    extra: Record<string, unknown> = {},
  ): FakeResponse {
    const traceId = randomUUID();
    const correlationId = randomUUID();
    const timestamp = `${new Date(this.clock.now()).toISOString().slice(0, 19).replace('T', ' ')}Z`;
    return {
      status,
      headers: { 'cache-control': 'no-store, no-cache', pragma: 'no-cache' },
      body: {
        error,
        error_description: `AADSTS${code}: ${description}\r\nTrace ID: ${traceId}\r\nCorrelation ID: ${correlationId}\r\nTimestamp: ${timestamp}`,
        error_codes: [code],
        timestamp,
        trace_id: traceId,
        correlation_id: correlationId,
        error_uri: `${this.url}/error?code=${code}`,
        ...extra,
      },
    };
  }
}

function readClientCredentials(request: FakeRequest): {
  clientId: string | undefined;
  clientSecret: string | undefined;
} {
  const basic = parseBasicAuth(request.headers.authorization);
  if (basic) return { clientId: decodeURIComponent(basic[0]), clientSecret: decodeURIComponent(basic[1]) };
  return {
    clientId: request.form?.get('client_id') ?? undefined,
    clientSecret: request.form?.get('client_secret') ?? undefined,
  };
}
