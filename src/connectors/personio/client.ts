/**
 * Personio clients, one per API version:
 * - v1: the token from `POST /auth` (cached for its `expires_in`, fetched again when Personio
 *   answers 401 or 403), optional partner/app headers, Personio's `{success:false, error}` shape;
 * - v2: an OAuth 2.0 client-credentials token from `POST /v2/auth/token` (form-encoded), refreshed
 *   before it expires and when Personio answers 401, errors as `{timestamp, trace_id, errors[]}`.
 */
import type { HrClientEnvironment } from '../hris-contract.ts';
import { HrHttpClient, parseWith, tokenSourceAuth } from '../hris-http-client.ts';
import {
  type PersonioConfig,
  type PersonioCredentials,
  personioApiRoot,
  personioManifest,
} from './manifest.ts';
import {
  PersonioAuthResponseSchema,
  PersonioErrorSchema,
  PersonioV2ErrorSchema,
  PersonioV2TokenResponseSchema,
} from './schemas.ts';

/** The scope reading persons and their employments needs (least privilege). */
export const PERSONIO_V2_SCOPE = 'personio:persons:read';

export function createPersonioHttp(
  config: PersonioConfig,
  credentials: PersonioCredentials,
  env?: HrClientEnvironment,
): HrHttpClient {
  return config.apiVersion === 'v2'
    ? createPersonioV2Http(config, credentials, env)
    : createPersonioV1Http(config, credentials, env);
}

function personioHeaders(config: PersonioConfig): Record<string, string> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (config.partnerId) headers['x-personio-partner-id'] = config.partnerId;
  if (config.appId) headers['x-personio-app-id'] = config.appId;
  return headers;
}

function createPersonioV1Http(
  config: PersonioConfig,
  credentials: PersonioCredentials,
  env?: HrClientEnvironment,
): HrHttpClient {
  const defaultHeaders = personioHeaders(config);
  const errorMessage = (response: { json: unknown }) => {
    const parsed = PersonioErrorSchema.safeParse(response.json);
    return parsed.success ? parsed.data.error.message : undefined;
  };
  // The token endpoint is called through its own auth-less client (same base URL and policy).
  const tokenHttp = new HrHttpClient({
    baseUrl: config.baseUrl,
    manifest: personioManifest,
    defaultHeaders,
    errorMessage,
    ...(env ? { env } : {}),
  });
  const auth = tokenSourceAuth(
    async () => {
      // https://developer.personio.de/reference/post_auth: {client_id, client_secret} → data.token
      const response = await tokenHttp.request({
        method: 'POST',
        url: 'auth',
        json: { client_id: credentials.clientId, client_secret: credentials.clientSecret },
        anonymous: true,
      });
      const body = parseWith(PersonioAuthResponseSchema, response.json, 'Personio POST /auth');
      return {
        token: body.data.token,
        ...(body.data.expires_in ? { expiresInSeconds: body.data.expires_in } : {}),
      };
    },
    env?.now ? { now: env.now } : {},
  );
  return new HrHttpClient({
    baseUrl: config.baseUrl,
    auth,
    manifest: personioManifest,
    defaultHeaders,
    errorMessage,
    ...(env ? { env } : {}),
  });
}

/**
 * v2 errors name each problem (`title`, `details`) and a `trace_id` Personio support asks for;
 * the message keeps all three so a person can act on it.
 */
export function personioV2ErrorMessage(response: { json: unknown }): string | undefined {
  const parsed = PersonioV2ErrorSchema.safeParse(response.json);
  if (!parsed.success) return undefined;
  const problems = parsed.data.errors
    .map((error) => [error.title, error.details].filter(Boolean).join(': '))
    .filter(Boolean)
    .join('; ');
  const trace = parsed.data.trace_id ? ` (trace id ${parsed.data.trace_id})` : '';
  return problems ? `${problems}${trace}` : undefined;
}

function createPersonioV2Http(
  config: PersonioConfig,
  credentials: PersonioCredentials,
  env?: HrClientEnvironment,
): HrHttpClient {
  const baseUrl = personioApiRoot(config);
  const defaultHeaders = personioHeaders(config);
  const tokenHttp = new HrHttpClient({
    baseUrl,
    manifest: personioManifest,
    defaultHeaders,
    errorMessage: personioV2ErrorMessage,
    ...(env ? { env } : {}),
  });
  const auth = tokenSourceAuth(
    async () => {
      // https://developer.personio.de/reference/post_v2-auth-token: RFC 6749 §4.4 client
      // credentials, form-encoded → {access_token, token_type: "Bearer", expires_in}.
      const response = await tokenHttp.request({
        method: 'POST',
        url: 'auth/token',
        form: {
          grant_type: 'client_credentials',
          client_id: credentials.clientId,
          client_secret: credentials.clientSecret,
          scope: PERSONIO_V2_SCOPE,
        },
        anonymous: true,
      });
      const body = parseWith(PersonioV2TokenResponseSchema, response.json, 'Personio POST /v2/auth/token');
      return {
        token: body.access_token,
        ...(body.expires_in ? { expiresInSeconds: body.expires_in } : {}),
      };
    },
    env?.now ? { now: env.now } : {},
  );
  return new HrHttpClient({
    baseUrl,
    auth,
    manifest: personioManifest,
    defaultHeaders,
    errorMessage: personioV2ErrorMessage,
    ...(env ? { env } : {}),
  });
}
