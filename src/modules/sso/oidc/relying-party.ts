/**
 * The OIDC relying party, on openid-client v6 (certified). We resolve and store the IdP's metadata
 * when the connection is saved (so a login never waits on discovery), and build one openid-client
 * Configuration per connection version per process: its JWKS cache lives there (5 minutes; an
 * unknown `kid` refetches at most once a minute: oauth4webapi's rotation handling).
 *
 * ID token signatures are verified (`enableNonRepudiationChecks`): openid-client skips that by
 * default for code-flow tokens fetched over TLS, but we want `alg: none` and forged tokens refused
 * whatever the transport.
 */
import * as client from 'openid-client';
import type { HttpClient } from '../../../platform/http-client.ts';
import type { OidcSettings } from '../contracts.ts';

/** Which IdP URLs may be plain http. See SSO_INSECURE_HTTP in config.ts. */
export type InsecureHttpPolicy = 'never' | 'loopback' | 'any';

export class OidcSetupError extends Error {
  override name = 'OidcSetupError';
  readonly code: string;
  readonly field: string;
  constructor(code: string, field: string, message: string) {
    super(message);
    this.code = code;
    this.field = field;
  }
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

export function isLoopback(url: URL): boolean {
  return LOOPBACK_HOSTS.has(url.hostname) || url.hostname.endsWith('.localhost');
}

/** Throws when `value` is http and the policy does not allow it for that host. */
export function checkTransport(value: string, field: string, policy: InsecureHttpPolicy): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new OidcSetupError('invalid_url', field, `${field} is not a URL`);
  }
  if (url.protocol === 'https:') return url;
  if (url.protocol === 'http:' && (policy === 'any' || (policy === 'loopback' && isLoopback(url))))
    return url;
  throw new OidcSetupError(
    'insecure_url',
    field,
    `${field} must use https (${url.origin} is plain http${policy === 'loopback' ? '; http is only accepted for localhost' : ''})`,
  );
}

export interface DiscoveredMetadata {
  issuer: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  jwksUri: string;
  userinfoEndpoint?: string;
  tokenEndpointAuthMethods?: string[];
  idTokenSigningAlgs?: string[];
}

/**
 * Fetches `/.well-known/openid-configuration` (OpenID Connect Discovery 1.0 §4). Accepts either the
 * issuer URL or the full well-known URL.
 */
export async function fetchDiscovery(
  http: HttpClient,
  discoveryUrl: string,
  policy: InsecureHttpPolicy,
): Promise<DiscoveredMetadata> {
  const url = checkTransport(discoveryUrl, 'oidc.discoveryUrl', policy);
  const wellKnown = url.pathname.includes('/.well-known/')
    ? url.href
    : `${url.href.replace(/\/+$/, '')}/.well-known/openid-configuration`;
  let response: Awaited<ReturnType<HttpClient['request']>>;
  try {
    response = await http.request({ url: wellKnown, timeoutMs: 8000, retries: 1 });
  } catch (error) {
    throw new OidcSetupError(
      'discovery_unreachable',
      'oidc.discoveryUrl',
      `Could not reach the discovery document at ${wellKnown}: ${(error as Error).message}`,
    );
  }
  if (response.status !== 200) {
    throw new OidcSetupError(
      'discovery_failed',
      'oidc.discoveryUrl',
      `The discovery document at ${wellKnown} answered HTTP ${response.status}`,
    );
  }
  const document = response.json as Record<string, unknown> | undefined;
  if (!document || typeof document !== 'object') {
    throw new OidcSetupError(
      'discovery_invalid',
      'oidc.discoveryUrl',
      `${wellKnown} did not return a JSON document`,
    );
  }
  const required = ['issuer', 'authorization_endpoint', 'token_endpoint', 'jwks_uri'] as const;
  const missing = required.filter((key) => typeof document[key] !== 'string');
  if (missing.length) {
    throw new OidcSetupError(
      'discovery_invalid',
      'oidc.discoveryUrl',
      `The discovery document at ${wellKnown} lacks ${missing.join(', ')}`,
    );
  }
  const strings = (value: unknown) =>
    Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : undefined;
  const tokenEndpointAuthMethods = strings(document.token_endpoint_auth_methods_supported);
  const idTokenSigningAlgs = strings(document.id_token_signing_alg_values_supported);
  return {
    issuer: document.issuer as string,
    authorizationEndpoint: document.authorization_endpoint as string,
    tokenEndpoint: document.token_endpoint as string,
    jwksUri: document.jwks_uri as string,
    ...(typeof document.userinfo_endpoint === 'string'
      ? { userinfoEndpoint: document.userinfo_endpoint }
      : {}),
    ...(tokenEndpointAuthMethods ? { tokenEndpointAuthMethods } : {}),
    ...(idTokenSigningAlgs ? { idTokenSigningAlgs } : {}),
  };
}

/**
 * The issuer to expect. Entra's multi-tenant endpoints (`/common`, `/organizations`) publish
 * `https://login.microsoftonline.com/{tenantid}/v2.0`: a template, not an issuer. Tokens carry the
 * user's tenant there, so we need to know which tenant this connection trusts.
 */
export function resolveIssuer(
  discovered: string,
  explicit: string | undefined,
  tenantId: string | undefined,
): string {
  if (explicit) return explicit;
  if (/\{tenantid\}/i.test(discovered)) {
    if (!tenantId) {
      throw new OidcSetupError(
        'templated_issuer',
        'oidc.tenantId',
        `The discovery document publishes a templated issuer (${discovered}), as Entra's /common and /organizations endpoints do. Use the tenant-specific discovery URL https://login.microsoftonline.com/<tenant-id>/v2.0, or set oidc.tenantId (or oidc.issuer) so tokens from other tenants are refused.`,
      );
    }
    return discovered.replace(/\{tenantid\}/gi, tenantId);
  }
  return discovered;
}

interface CachedConfiguration {
  key: string;
  configuration: client.Configuration;
}

/** One openid-client Configuration per connection version, kept for its JWKS cache. */
export class RelyingPartyCache {
  readonly #entries = new Map<string, CachedConfiguration>();
  readonly #policy: InsecureHttpPolicy;

  constructor(policy: InsecureHttpPolicy) {
    this.#policy = policy;
  }

  get policy(): InsecureHttpPolicy {
    return this.#policy;
  }

  configuration(
    connectionId: string,
    version: number,
    settings: OidcSettings,
    clientSecret: string | undefined,
  ) {
    const key = `${version}`;
    const cached = this.#entries.get(connectionId);
    if (cached && cached.key === key) return cached.configuration;
    const configuration = buildConfiguration(settings, clientSecret, this.#policy);
    this.#entries.set(connectionId, { key, configuration });
    if (this.#entries.size > 5000) this.#entries.delete(this.#entries.keys().next().value as string);
    return configuration;
  }
}

function buildConfiguration(
  settings: OidcSettings,
  clientSecret: string | undefined,
  policy: InsecureHttpPolicy,
): client.Configuration {
  const endpoints = [settings.authorizationEndpoint, settings.tokenEndpoint, settings.jwksUri];
  if (settings.userinfoEndpoint) endpoints.push(settings.userinfoEndpoint);
  let insecure = false;
  for (const endpoint of endpoints) {
    const url = checkTransport(endpoint, 'oidc', policy);
    if (url.protocol === 'http:') insecure = true;
  }
  const server: client.ServerMetadata = {
    issuer: settings.issuer,
    authorization_endpoint: settings.authorizationEndpoint,
    token_endpoint: settings.tokenEndpoint,
    jwks_uri: settings.jwksUri,
    ...(settings.userinfoEndpoint ? { userinfo_endpoint: settings.userinfoEndpoint } : {}),
  };
  const auth =
    settings.clientAuthMethod === 'none'
      ? client.None()
      : settings.clientAuthMethod === 'client_secret_post'
        ? client.ClientSecretPost(clientSecret)
        : client.ClientSecretBasic(clientSecret);
  const configuration = new client.Configuration(
    server,
    settings.clientId,
    { id_token_signed_response_alg: settings.idTokenSigningAlg },
    auth,
  );
  configuration[client.customFetch] = (url, options) =>
    fetch(url, { ...options, signal: AbortSignal.timeout(10_000) } as RequestInit);
  if (insecure) client.allowInsecureRequests(configuration);
  client.enableNonRepudiationChecks(configuration);
  return configuration;
}

export { client };
