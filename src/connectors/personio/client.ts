/**
 * The Personio v1 client: the token from `POST /auth` (cached for its `expires_in`, fetched again
 * when Personio answers 401 or 403), optional partner/app headers, Personio's error shape.
 */
import type { HrClientEnvironment } from '../hris-contract.ts';
import { HrHttpClient, parseWith, tokenSourceAuth } from '../hris-http-client.ts';
import { type PersonioConfig, type PersonioCredentials, personioManifest } from './manifest.ts';
import { PersonioAuthResponseSchema, PersonioErrorSchema } from './schemas.ts';

export function createPersonioHttp(
  config: PersonioConfig,
  credentials: PersonioCredentials,
  env?: HrClientEnvironment,
): HrHttpClient {
  const defaultHeaders: Record<string, string> = { accept: 'application/json' };
  if (config.partnerId) defaultHeaders['x-personio-partner-id'] = config.partnerId;
  if (config.appId) defaultHeaders['x-personio-app-id'] = config.appId;
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
