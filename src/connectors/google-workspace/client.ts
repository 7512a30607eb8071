/**
 * The Google Workspace client: a service-account JWT (RS256, signed with jose) traded for an
 * access token with domain-wide delegation (https://developers.google.com/identity/protocols/oauth2/service-account#jwt-auth),
 * refreshed before expiry and on 401; Directory calls through {@link HrHttpClient}, plus the
 * 403 quota answers (`userRateLimitExceeded`, `rateLimitExceeded`, `quotaExceeded`) backed off
 * exponentially here, because Google throttles with the same status as a permission refusal.
 */
import { importPKCS8, SignJWT } from 'jose';
import type { z } from 'zod';
import { type HrClientEnvironment, HrConnectorError } from '../hris-contract.ts';
import { backoffMs, HrHttpClient, type HrRequest, parseWith, tokenSourceAuth } from '../hris-http-client.ts';
import { GOOGLE_SCOPES, type GoogleConfig, type GoogleCredentials, googleManifest } from './manifest.ts';
import { GoogleApiErrorSchema, GoogleOAuthErrorSchema, GoogleTokenSchema } from './schemas.ts';

const QUOTA_REASONS = new Set(['userRateLimitExceeded', 'rateLimitExceeded', 'quotaExceeded']);

function googleErrorMessage(response: { json: unknown }): string | undefined {
  const api = GoogleApiErrorSchema.safeParse(response.json);
  if (api.success) {
    const reason = api.data.error.errors?.[0]?.reason;
    return reason ? `${api.data.error.message} (${reason})` : api.data.error.message;
  }
  const oauth = GoogleOAuthErrorSchema.safeParse(response.json);
  if (oauth.success)
    return oauth.data.error_description
      ? `${oauth.data.error}: ${oauth.data.error_description}`
      : oauth.data.error;
  return undefined;
}

export class GoogleDirectoryClient {
  readonly http: HrHttpClient;
  readonly config: GoogleConfig;
  readonly #sleep: (ms: number, signal?: AbortSignal) => Promise<void>;

  constructor(options: { config: GoogleConfig; credentials: GoogleCredentials; env?: HrClientEnvironment }) {
    this.config = options.config;
    const env = options.env ? { env: options.env } : {};
    this.#sleep = options.env?.sleep ?? ((ms) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
    const key = options.credentials.serviceAccountKey;
    const now = options.env?.now ?? Date.now;
    const tokenHttp = new HrHttpClient({
      baseUrl: key.token_uri,
      manifest: googleManifest,
      ...env,
      errorMessage: googleErrorMessage,
    });
    let signingKey: Promise<CryptoKey> | undefined;
    const auth = tokenSourceAuth(
      async () => {
        signingKey ??= importPKCS8(key.private_key, 'RS256').catch((error: unknown) => {
          signingKey = undefined;
          throw new HrConnectorError(
            'invalid_credentials',
            'The service account key is not a readable RS256 private key',
            { cause: error },
          );
        });
        const issuedAt = Math.floor(now() / 1000);
        const assertion = await new SignJWT({ scope: GOOGLE_SCOPES.join(' ') })
          .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: key.private_key_id })
          .setIssuer(key.client_email)
          .setSubject(options.config.adminEmail)
          .setAudience(key.token_uri)
          .setIssuedAt(issuedAt)
          .setExpirationTime(issuedAt + 3600)
          .sign(await signingKey);
        try {
          const token = await tokenHttp.getJson(
            GoogleTokenSchema,
            {
              method: 'POST',
              url: key.token_uri,
              anonymous: true,
              form: { grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion },
            },
            'Google token response',
          );
          return {
            token: token.access_token,
            ...(token.expires_in === undefined ? {} : { expiresInSeconds: token.expires_in }),
          };
        } catch (error) {
          if (!(error instanceof HrConnectorError) || error.status === null || error.status >= 500)
            throw error;
          const delegation = /unauthorized_client/.test(error.vendorMessage ?? '')
            ? ` Grant domain-wide delegation to client id ${key.client_id ?? key.client_email} with the scopes ${GOOGLE_SCOPES.join(', ')} (Admin console → Security → API controls).`
            : '';
          throw new HrConnectorError(
            'invalid_credentials',
            `Google refused the service account token: ${error.vendorMessage ?? error.message}.${delegation}`,
            { status: error.status, ...(error.vendorMessage ? { vendorMessage: error.vendorMessage } : {}) },
          );
        }
      },
      { now },
    );
    this.http = new HrHttpClient({
      baseUrl: `${options.config.directoryUrl.replace(/\/+$/, '')}/admin/directory/v1`,
      auth,
      manifest: googleManifest,
      ...env,
      errorMessage: googleErrorMessage,
    });
  }

  /** GET and parse, backing off Google's 403 quota answers; other 403s are permission problems. */
  async get<S extends z.ZodType>(schema: S, request: HrRequest, what: string): Promise<z.output<S>> {
    const { maxRetries, minRetryMs } = googleManifest.rateLimit;
    for (let attempt = 1; ; attempt++) {
      const response = await this.http.request({ ...request, acceptStatuses: [403] });
      if (response.status !== 403) return parseWith(schema, response.json, what);
      const parsed = GoogleApiErrorSchema.safeParse(response.json);
      const reason = parsed.success ? parsed.data.error.errors?.[0]?.reason : undefined;
      const message = googleErrorMessage(response) ?? 'Forbidden';
      if (reason && QUOTA_REASONS.has(reason)) {
        if (attempt > maxRetries) {
          throw new HrConnectorError('throttled', `Google Workspace kept refusing for quota: ${message}`, {
            status: 403,
            vendorMessage: message,
          });
        }
        await this.#sleep(
          Math.max(minRetryMs * 2 ** (attempt - 1), minRetryMs + backoffMs(attempt, 250, 2000)),
          request.signal,
        );
        continue;
      }
      const hint =
        reason === 'insufficientPermissions'
          ? ' Delegation must grant the read-only directory user and group scopes.'
          : ` The delegated admin ${this.config.adminEmail} must be a Workspace admin allowed to read users and groups.`;
      throw new HrConnectorError('forbidden', `Google Workspace refused ${what}: ${message}.${hint}`, {
        status: 403,
        vendorMessage: message,
      });
    }
  }
}
