/**
 * The oidc-provider instance and its configuration (https://github.com/panva/node-oidc-provider/tree/v9.x/docs).
 *
 * oidc-provider takes its signing keys at construction, so the host rebuilds the instance whenever
 * the key set changes: a rotation (NOTIFY from whichever process rotated, and a re-read every
 * minute as a safety net), a scheduled activation, or a retired key reaching the end of its
 * retention. Everything else it needs lives in the database, so any process can serve any request
 * of a flow. Requests in flight finish on the instance they started on.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { JWK } from 'jose';
import Provider, {
  type Client,
  type Configuration,
  errors,
  type Grant,
  interactionPolicy,
  type KoaContextWithOIDC,
} from 'oidc-provider';
import type { Config } from '../../config.ts';
import type { Database } from '../../platform/db/client.ts';
import type { Logger } from '../../platform/logging.ts';
import type { SecretBox } from '../../platform/secret-box.ts';
import { RateLimited, type RateLimits } from '../rate-limits/index.ts';
import type { AccountService, SwitchboardAccount } from './accounts.ts';
import { createAdapterFactory } from './adapter.ts';
import {
  type ApplicationPolicy,
  type ApplicationService,
  POLICY_METADATA,
  secretMatches,
} from './applications.ts';
import { DEFAULT_TOKEN_LIFETIMES, SCOPE_CLAIMS, SCOPES } from './contracts.ts';
import { logoutPage, PAGE_CSP, protocolErrorPage, signedOutPage } from './pages.ts';
import { readDomainHint, SelectionRefused, type SignInSelector } from './sign-in-selection.ts';
import { SIGNING_KEYS_CHANGED, type SigningKeyService } from './signing-keys.ts';

/** Where oidc-provider's endpoints live (discovery stays at /.well-known/openid-configuration). */
export const PROVIDER_ROUTES = {
  authorization: '/oidc/authorize',
  token: '/oidc/token',
  userinfo: '/oidc/userinfo',
  jwks: '/oidc/jwks',
  introspection: '/oidc/introspect',
  revocation: '/oidc/revoke',
  end_session: '/oidc/logout',
  pushed_authorization_request: '/oidc/par',
  backchannel_authentication: '/oidc/backchannel',
  code_verification: '/oidc/device',
  device_authorization: '/oidc/device/auth',
  registration: '/oidc/register',
  challenge: '/oidc/challenge',
  credential: '/oidc/credential',
} as const;

const KEYS_RECHECK_MS = 60_000;

/** The endpoints where an application authenticates (client_secret_basic/post), by route name. */
const CLIENT_AUTHENTICATED_ROUTES = new Set([
  'token',
  'introspection',
  'revocation',
  'pushed_authorization_request',
]);

/**
 * 429 from the provider's endpoints. `slow_down` is the token endpoint's registered error code for
 * "requests come too fast" (RFC 8628 §3.5, in the OAuth Extensions Error Registry); RFC 6749 §5.2
 * defines none for rate limits. Retry-After says how long (RFC 6585 §4).
 */
class SlowDown extends errors.OIDCProviderError {
  constructor(description: string) {
    super(429, 'slow_down');
    this.error_description = description;
  }
}

/** Cookie options (oidc-provider's `cookies.long` and `cookies.short`). */
const SESSION_COOKIE = { httpOnly: true, sameSite: 'lax', signed: true } as const;

export type BackchannelAddressPolicy = 'public' | 'loopback' | 'private';

export interface ProviderHostDeps {
  config: Config;
  database: Database;
  secrets: SecretBox;
  logger: Logger;
  keys: SigningKeyService;
  applications: ApplicationService;
  accounts: AccountService;
  /** Resolves and checks `organization` / `connection` of an authorization request. */
  selector: SignInSelector;
  rateLimits: RateLimits;
}

interface Built {
  provider: Provider;
  handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  fingerprint: string;
  checkAfter: number;
  nextTransitionAt: number;
}

export class ProviderHost {
  readonly issuer: string;
  readonly #deps: ProviderHostDeps;
  readonly #publicUrl: URL;
  #built: Built | undefined;
  #loading: Promise<Built> | undefined;
  #listening: Promise<void> | undefined;
  #unlisten: (() => Promise<void>) | undefined;

  constructor(deps: ProviderHostDeps) {
    this.#deps = deps;
    this.issuer = deps.config.PUBLIC_URL;
    this.#publicUrl = new URL(deps.config.PUBLIC_URL);
  }

  /** The provider instance for the current key set. */
  async current(): Promise<Provider> {
    return (await this.#ensure()).provider;
  }

  /** Hands a request to oidc-provider (a Koa app). The request must have been prepared. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    await (await this.#ensure()).handler(req, res);
  }

  /** Re-reads the key set on the next request (after a rotation in this process). */
  invalidate(): void {
    if (this.#built) this.#built.checkAfter = 0;
  }

  async close(): Promise<void> {
    await this.#unlisten?.();
  }

  /**
   * Makes the raw request look to oidc-provider as it looks from outside: PUBLIC_URL's scheme and
   * host (so every URL it builds is the issuer's, whatever Host header arrived), the client address
   * Fastify resolved, and PUBLIC_URL's path as the mount path.
   */
  prepare(request: FastifyRequest): IncomingMessage {
    const raw = request.raw;
    raw.headers.host = this.#publicUrl.host;
    raw.headers['x-forwarded-host'] = this.#publicUrl.host;
    raw.headers['x-forwarded-proto'] = this.#publicUrl.protocol.slice(0, -1);
    raw.headers['x-forwarded-for'] = request.ip;
    const basePath = this.#publicUrl.pathname.replace(/\/$/, '');
    if (basePath) (raw as IncomingMessage & { originalUrl?: string }).originalUrl = `${basePath}${raw.url}`;
    return raw;
  }

  /**
   * Opens (or takes over) the provider session in this browser for a person who signed in at
   * `/login` without an application asking, so the application routing sends them to signs them
   * in without another trip to their IdP. What oidc-provider does when an interaction resumes after
   * a login (Session.loginAccount, a fresh session id, the long-lived session cookie), done here
   * because no authorization request is in progress.
   */
  async openSession(request: FastifyRequest, reply: FastifyReply, accountId: string): Promise<void> {
    const provider = await this.current();
    const ctx = provider.createContext(this.prepare(request), reply.raw);
    let session = await provider.Session.get(ctx);
    if (session.accountId && session.accountId !== accountId) {
      // Someone else's session in this browser: end it rather than switch identities under it.
      await session.destroy();
      session = new provider.Session();
    }
    session.loginAccount({ accountId, loginTs: Math.floor(Date.now() / 1000) });
    // A fresh identifier for a session that now belongs to someone (session fixation).
    if (!(session as unknown as { new?: boolean }).new) session.resetIdentifier();
    const ttl = this.#deps.config.PROVIDER_SESSION_TTL_SECONDS;
    await session.save(ttl);
    ctx.cookies.set(provider.cookieName('session'), (session as unknown as { id: string }).id, {
      ...SESSION_COOKIE,
      maxAge: ttl * 1000,
      expires: new Date(Date.now() + ttl * 1000),
    });
  }

  async #ensure(): Promise<Built> {
    const built = this.#built;
    const now = Date.now();
    if (built && now < built.checkAfter && now < built.nextTransitionAt) return built;
    this.#loading ??= this.#reload().finally(() => {
      this.#loading = undefined;
    });
    return this.#loading;
  }

  async #reload(): Promise<Built> {
    this.#listening ??= this.#listen();
    const keySet = await this.#deps.keys.keySet();
    const times = {
      checkAfter: Date.now() + KEYS_RECHECK_MS,
      nextTransitionAt: keySet.nextTransitionAt?.getTime() ?? Number.POSITIVE_INFINITY,
    };
    if (this.#built && this.#built.fingerprint === keySet.fingerprint) {
      Object.assign(this.#built, times);
      return this.#built;
    }
    const provider = this.#build(keySet.keys);
    const callback = provider.callback() as unknown as (req: IncomingMessage, res: ServerResponse) => unknown;
    const built: Built = {
      provider,
      handler: async (req, res) => {
        await callback(req, res);
      },
      fingerprint: keySet.fingerprint,
      ...times,
    };
    if (this.#built)
      this.#deps.logger.info({ keys: keySet.fingerprint }, 'OpenID provider signing keys changed');
    this.#built = built;
    return built;
  }

  async #listen(): Promise<void> {
    try {
      this.#unlisten = await this.#deps.database.listen(SIGNING_KEYS_CHANGED, () => this.invalidate());
    } catch (error) {
      this.#deps.logger.warn(
        { err: error },
        'cannot LISTEN for signing key changes; re-reading every minute',
      );
    }
  }

  #build(keys: JWK[]): Provider {
    const { logger } = this.#deps;
    const provider = new Provider(this.issuer, this.#configuration(keys));
    provider.proxy = true;
    const limitAuthenticatedClient = this.#limitClientAuthentication(provider);
    // Client secrets are stored hashed (see applications.ts): compare hashes. A match then counts
    // toward the application's request rate.
    provider.Client.prototype.compareClientSecret = async function compareHashedSecret(
      this: Client,
      presented: string,
    ) {
      const matches = secretMatches(policyOf(this), presented);
      if (matches) await limitAuthenticatedClient(this.clientId);
      return matches;
    };
    provider.use(async (ctx, next) => {
      await next();
      if (ctx.oidc?.route === 'jwks') ctx.set('cache-control', 'public, max-age=300');
      if (ctx.type === 'text/html' && !ctx.response.get('content-security-policy')) {
        ctx.set('content-security-policy', PAGE_CSP);
      }
    });
    provider.on('server_error', (ctx: KoaContextWithOIDC, error: Error) => {
      logger.error(
        { err: error, route: ctx.oidc?.route, requestId: ctx.get('x-request-id') },
        'OpenID provider error',
      );
    });
    provider.on('backchannel.error', (_ctx: unknown, error: Error, client: Client) => {
      logger.warn({ err: error, clientId: client.clientId }, 'back-channel logout delivery failed');
    });
    return provider;
  }

  /**
   * Abuse limits of the client-authenticated endpoints, inside oidc-provider (which reads the
   * request body, so only it knows the client_id of client_secret_post and public clients):
   *
   * - when the endpoint looks up the client (before the secret is checked): the client IP's
   *   request rate, and the blocks after repeated failures of this client from this IP, or of
   *   any client from this IP (in the database, for every hub process);
   * - an `invalid_client` answer counts as a failure of that client id from that IP;
   * - once a confidential client's secret matched: that client's request rate (public clients,
   *   which anyone can name, are limited per IP only, so nobody can spend their allowance).
   *
   * Returns the check of an authenticated client's rate (used by compareClientSecret).
   */
  #limitClientAuthentication(provider: Provider): (clientId: string) => Promise<void> {
    const limits = this.#deps.rateLimits;
    const attempted = new WeakMap<object, string>();
    const refuse = (ctx: KoaContextWithOIDC, error: unknown): never => {
      if (!(error instanceof RateLimited)) throw error;
      ctx.set('retry-after', String(error.retryAfterSeconds));
      ctx.set('cache-control', 'no-store');
      throw new SlowDown(error.detail);
    };
    const find = provider.Client.find.bind(provider.Client);
    provider.Client.find = async (id: string) => {
      const ctx = Provider.ctx;
      if (ctx && CLIENT_AUTHENTICATED_ROUTES.has(ctx.oidc.route) && !attempted.has(ctx)) {
        attempted.set(ctx, id);
        try {
          await limits.limitIp('oauth', ctx.ip);
          await limits.assertNotBlocked('oauth', ctx.ip, id);
        } catch (error) {
          refuse(ctx, error);
        }
      }
      return find(id);
    };
    provider.use(async (ctx, next) => {
      await next();
      const clientId = attempted.get(ctx);
      const body = ctx.body as { error?: unknown } | undefined;
      if (clientId !== undefined && ctx.status === 401 && body?.error === 'invalid_client') {
        await limits.recordFailure('oauth', ctx.ip, clientId);
      }
    });
    return async (clientId) => {
      const ctx = Provider.ctx;
      if (!ctx || !CLIENT_AUTHENTICATED_ROUTES.has(ctx.oidc.route)) return;
      try {
        await limits.limitCredential('oauth', clientId);
      } catch (error) {
        refuse(ctx, error);
      }
    };
  }

  #configuration(keys: JWK[]): Configuration {
    const { config, secrets, applications, accounts, database } = this.#deps;
    const publicUrl = config.PUBLIC_URL;
    const lifetime = (client: Client | undefined, key: keyof ApplicationPolicy['tokenLifetimes']) =>
      policyOf(client)?.tokenLifetimes[key] ?? 3600;
    return {
      adapter: createAdapterFactory(database, applications),
      jwks: { keys } as Configuration['jwks'],
      cookies: {
        keys: secrets.derivedKeys('oidc-provider-cookies').map((key) => key.toString('base64url')),
        names: { session: 'sb_op_session', interaction: 'sb_op_interaction', resume: 'sb_op_resume' },
        long: { ...SESSION_COOKIE },
        short: { ...SESSION_COOKIE },
      },
      claims: Object.fromEntries(Object.entries(SCOPE_CLAIMS).map(([scope, claims]) => [scope, [...claims]])),
      scopes: [...SCOPES],
      // Claims of the granted scopes go in the ID token too, as every mainstream provider does.
      conformIdTokenClaims: false,
      routes: { ...PROVIDER_ROUTES },
      responseTypes: ['code'],
      clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'none'],
      enabledJWA: {
        idTokenSigningAlgValues: ['RS256', 'ES256'],
        userinfoSigningAlgValues: ['RS256', 'ES256'],
        introspectionSigningAlgValues: ['RS256', 'ES256'],
        authorizationSigningAlgValues: ['RS256', 'ES256'],
        requestObjectSigningAlgValues: ['RS256', 'ES256'],
        clientAuthSigningAlgValues: ['RS256', 'ES256'],
      },
      pkce: {
        required: (_ctx, client) => policyOf(client)?.requirePkce ?? true,
      },
      allowOmittingSingleRegisteredRedirectUri: false,
      // Browsers may call the token endpoint only for public applications (SPAs), and UserInfo for
      // any, from the origin of one of the application's redirect URIs.
      clientBasedCORS: (ctx, origin, client) => {
        if (origin === 'null') return false;
        if (ctx.oidc.route !== 'userinfo' && client.clientAuthMethod !== 'none') return false;
        return client.redirectUris?.some((uri) => URL.parse(uri)?.origin === origin) ?? false;
      },
      // Sign-in selection (sign-in-selection.ts): `organization` and `connection` are checked
      // together by one validator (oidc-provider calls each validator, present or not), after the
      // redirect URI, so a refusal goes back to the application as invalid_request.
      extraParams: {
        organization: (ctx, _value, client) => checkSignInSelection(this.#deps.selector, ctx, client),
        connection: null,
        domain_hint: (_ctx, value) => {
          try {
            readDomainHint(value);
          } catch (error) {
            throw new errors.InvalidRequest((error as Error).message);
          }
        },
      },
      extraClientMetadata: { properties: [POLICY_METADATA], validator: () => undefined },
      features: {
        devInteractions: { enabled: false },
        clientCredentials: { enabled: true },
        userinfo: { enabled: true },
        introspection: { enabled: true, allowedPolicy: introspectionAllowed },
        revocation: { enabled: true, allowedPolicy: revocationAllowed },
        rpInitiatedLogout: {
          enabled: true,
          logoutSource: (ctx, form) => renderLogout(ctx, form),
          postLogoutSuccessSource: (ctx) => {
            ctx.type = 'html';
            ctx.body = signedOutPage({ applicationName: ctx.oidc.client?.clientName ?? null });
          },
        },
        backchannelLogout: { enabled: true },
        resourceIndicators: { enabled: false },
      },
      ttl: {
        AccessToken: (_ctx, _token, client) => lifetime(client, 'accessTokenSeconds'),
        ClientCredentials: (_ctx, _token, client) => lifetime(client, 'accessTokenSeconds'),
        IdToken: (_ctx, _token, client) => lifetime(client, 'idTokenSeconds'),
        AuthorizationCode: 60,
        RefreshToken: (_ctx, token, client) => {
          const sliding = lifetime(client, 'refreshTokenSeconds');
          const max = lifetime(client, 'refreshTokenMaxSeconds');
          const started = (token as { iiat?: number }).iiat ?? Math.floor(Date.now() / 1000);
          const left = started + max - Math.floor(Date.now() / 1000);
          return Math.max(1, Math.min(sliding, left));
        },
        // The interaction spans the whole SSO login (discovery, the IdP's own pages).
        Interaction: config.SSO_FLOW_TTL_SECONDS + 300,
        Session: config.PROVIDER_SESSION_TTL_SECONDS,
        // Called outside a request too (a consent granted on our interaction page): then the
        // grant's own client decides, through the policies the client lookups have seen.
        Grant: (ctx, grant) => {
          const client = ctx?.oidc?.client;
          const policy = client ? policyOf(client) : applications.recentPolicy(grant.clientId ?? '');
          const refresh = client
            ? client.grantTypeAllowed('refresh_token')
            : (policy?.grantTypes.includes('refresh_token') ?? true);
          return Math.max(
            config.PROVIDER_SESSION_TTL_SECONDS,
            refresh
              ? (policy?.tokenLifetimes.refreshTokenMaxSeconds ??
                  DEFAULT_TOKEN_LIFETIMES.refreshTokenMaxSeconds)
              : 0,
          );
        },
      },
      rotateRefreshToken: true,
      // Every application allowed the refresh_token grant gets one. Without `offline_access` it is
      // an online refresh token: it dies with the sign-in session (logout, session expiry). With
      // `offline_access` (which OIDC Core §11 grants only with prompt=consent) it outlives it.
      issueRefreshToken: (_ctx, client) => client.grantTypeAllowed('refresh_token'),
      loadExistingGrant,
      interactions: {
        policy: buildInteractionPolicy(applications, this.#deps.selector),
        url: (_ctx, interaction) => `${publicUrl}/interaction/${interaction.uid}`,
      },
      findAccount: (ctx, sub, token) => accounts.findAccount(ctx, sub, token, policyOf),
      renderError: (ctx, out) => {
        ctx.type = 'html';
        ctx.body = protocolErrorPage({
          error: out.error,
          description: out.error_description,
          requestId: ctx.get('x-request-id') || ctx.response.get('x-request-id') || undefined,
        });
      },
      fetch: backchannelFetch(config.PROVIDER_BACKCHANNEL_ADDRESSES),
    };
  }
}

/** Our policy of a client (see applications.ts), whether oidc-provider kept its name or not. */
export function policyOf(client: unknown): ApplicationPolicy | undefined {
  if (!client || typeof client !== 'object') return undefined;
  const direct = (client as Record<string, unknown>)[POLICY_METADATA];
  if (direct && typeof direct === 'object') return direct as ApplicationPolicy;
  const metadata = (client as { metadata?: () => Record<string, unknown> }).metadata?.();
  return metadata?.[POLICY_METADATA] as ApplicationPolicy | undefined;
}

/**
 * The prompts: `login` (plus: a session whose user is no longer active signs in again),
 * `application_access` (the user's organization must be admitted by the application; answered
 * with a refusal page, or `access_denied` for `prompt=none`), then `consent` (skipped for
 * first-party applications by loadExistingGrant).
 */
function buildInteractionPolicy(applications: ApplicationService, selector: SignInSelector) {
  const { Check, Prompt, base } = interactionPolicy;
  const policy = base();
  const login = policy.get('login');
  login?.checks.add(
    new Check('account_inactive', 'the signed-in account is no longer active', (ctx) =>
      ctx.oidc.session?.accountId && !ctx.oidc.account ? Check.REQUEST_PROMPT : Check.NO_NEED_TO_PROMPT,
    ),
  );
  // A session of a person of another organization than the one the application selected
  // (`organization`, or the organization of `connection`) does not answer the request: the person
  // signs in with the selected IdP. Not right after that login (it went through the selection).
  login?.checks.add(
    new Check(
      'other_organization',
      'the signed-in person is not of the organization the application selected',
      async (ctx) => {
        const account = ctx.oidc.account as SwitchboardAccount | undefined;
        if (!account || ctx.oidc.result?.login) return Check.NO_NEED_TO_PROMPT;
        const selection = await selector
          .resolve(policyOf(ctx.oidc.client), ctx.oidc.params ?? {})
          .catch(() => undefined);
        return selection && selection.organization.id !== account.organization.id
          ? Check.REQUEST_PROMPT
          : Check.NO_NEED_TO_PROMPT;
      },
    ),
  );
  policy.add(
    new Prompt(
      { name: 'application_access', requestable: false },
      new Check(
        'organization_not_allowed',
        "the application is not available to the user's organization",
        'access_denied',
        (ctx) => {
          const account = ctx.oidc.account as SwitchboardAccount | undefined;
          const policy = policyOf(ctx.oidc.client);
          if (!account || !policy) return Check.NO_NEED_TO_PROMPT;
          return applications.allowsOrganization(policy, account.organization.id)
            ? Check.NO_NEED_TO_PROMPT
            : Check.REQUEST_PROMPT;
        },
      ),
    ),
    1,
  );
  return policy;
}

/** The `organization` / `connection` validator: a refusal is invalid_request with its reason. */
async function checkSignInSelection(selector: SignInSelector, ctx: KoaContextWithOIDC, client: Client) {
  try {
    await selector.resolve(policyOf(client), ctx.oidc.params ?? {});
  } catch (error) {
    if (error instanceof SelectionRefused) throw new errors.InvalidRequest(error.message);
    throw error;
  }
}

/**
 * First-party applications never see the consent screen: their grant covers whatever they ask for
 * (within the scopes they are allowed, which oidc-provider enforces before this).
 */
async function loadExistingGrant(ctx: KoaContextWithOIDC): Promise<Grant | undefined> {
  const { oidc } = ctx;
  const client = oidc.client;
  if (!client) return undefined;
  const session = oidc.session;
  if (!session) return undefined;
  const grantId = oidc.result?.consent?.grantId ?? session.grantIdFor(client.clientId);
  let grant = grantId ? await oidc.provider.Grant.find(grantId) : undefined;
  if (!policyOf(client)?.firstParty) return grant;
  grant ??= new oidc.provider.Grant({ clientId: client.clientId, accountId: session.accountId as string });
  const scopes = [...oidc.requestParamOIDCScopes].join(' ');
  if (scopes) grant.addOIDCScope(scopes);
  await grant.save();
  return grant;
}

/** A confidential application may introspect tokens of applications of its own tenancy; a public one only its own. */
async function introspectionAllowed(ctx: KoaContextWithOIDC, client: Client, token: { clientId?: string }) {
  if (token.clientId === client.clientId) return true;
  if (client.clientAuthMethod === 'none') return false;
  const caller = policyOf(client);
  const owner = token.clientId ? policyOf(await ctx.oidc.provider.Client.find(token.clientId)) : undefined;
  if (!caller || !owner) return false;
  return caller.organizationId === null || caller.organizationId === owner.organizationId;
}

/** An application revokes only its own tokens (RFC 7009 §2.1). */
async function revocationAllowed(_ctx: KoaContextWithOIDC, client: Client, token: { clientId?: string }) {
  return token.clientId === client.clientId;
}

/** Our logout page: submits itself when a valid id_token_hint proves the session, else asks. */
function renderLogout(ctx: KoaContextWithOIDC, form: string) {
  const action = /action="([^"]+)"/.exec(form)?.[1] ?? '';
  const xsrf = /name="xsrf" value="([^"]+)"/.exec(form)?.[1] ?? '';
  const hint = ctx.oidc.entities.IdTokenHint as unknown;
  ctx.type = 'html';
  ctx.body = logoutPage({
    action,
    xsrf,
    confirmed: Boolean(hint && ctx.oidc.session?.accountId),
    applicationName: ctx.oidc.client?.clientName ?? null,
  });
}

/**
 * Back-channel logout deliveries. oidc-provider refuses private and loopback addresses (SSRF); an
 * operator whose applications live on an internal network opens that up with
 * PROVIDER_BACKCHANNEL_ADDRESSES=private (`loopback` allows only this machine: development).
 */
function backchannelFetch(policy: BackchannelAddressPolicy): NonNullable<Configuration['fetch']> {
  return (input, init) => {
    const url = new URL(input instanceof Request ? input.url : input.toString());
    const loopback = ['localhost', '127.0.0.1', '[::1]', '::1'].includes(url.hostname);
    const options = { ...init } as RequestInit & { dispatcher?: unknown };
    if (policy === 'private' || (policy === 'loopback' && loopback)) delete options.dispatcher;
    return fetch(input, options);
  };
}
