/**
 * The console signs people in as an OpenID Connect application of Switchboard's own provider
 * (authorization code + PKCE + nonce), as a backend-for-frontend: the hub holds the client secret,
 * the code verifier and the tokens; the browser only ever gets the console session cookie.
 *
 * The application is registered on first use (a shared, first-party, confidential application
 * named "Switchboard console") and its secret sealed in `console_client`. Requests to our own
 * provider (discovery, token endpoint) go through `fetchOwn`, in process, so a hub behind a proxy
 * does not need to reach its own public URL.
 */
import { eq } from 'drizzle-orm';
import * as client from 'openid-client';
import type { Database } from '../../platform/db/client.ts';
import { sqlState, UNIQUE_VIOLATION } from '../../platform/db/client.ts';
import { Unauthenticated, UpstreamError } from '../../platform/errors.ts';
import type { Logger } from '../../platform/logging.ts';
import type { SecretBox } from '../../platform/secret-box.ts';
import type { ProviderModule } from '../provider/index.ts';

type ApplicationService = ProviderModule['applications'];

import { consoleClient } from './schema.ts';

export const CONSOLE_APPLICATION_NAME = 'Switchboard console';
const CLIENT_ROW = 'console';
const SCOPES = 'openid email profile';

/** What the browser carries (sealed) between /admin/auth/login and the callback. */
export interface PendingSignIn {
  state: string;
  nonce: string;
  verifier: string;
  returnTo: string;
  expiresAt: number;
}

export interface SignedInPerson {
  userId: string;
  email: string | undefined;
  emailVerified: boolean;
  name: string | undefined;
}

/** A request to our own provider, as openid-client makes it. */
export interface OwnRequest {
  method?: string;
  headers?: Record<string, string> | Headers | [string, string][];
  body?: unknown;
}
export type FetchOwn = (url: string, init: OwnRequest) => Promise<Response>;

export class ConsoleSignIn {
  readonly redirectUri: string;
  readonly #database: Database;
  readonly #secrets: SecretBox;
  readonly #applications: ApplicationService;
  readonly #logger: Logger;
  readonly #issuer: string;
  #fetchOwn: FetchOwn = (url, init) => fetch(url, init as RequestInit);
  #configuration: Promise<client.Configuration> | undefined;

  constructor(deps: {
    database: Database;
    secrets: SecretBox;
    applications: ApplicationService;
    logger: Logger;
    publicUrl: string;
  }) {
    this.#database = deps.database;
    this.#secrets = deps.secrets;
    this.#applications = deps.applications;
    this.#logger = deps.logger;
    this.#issuer = deps.publicUrl;
    this.redirectUri = `${deps.publicUrl}/admin/auth/callback`;
  }

  /** Routes requests to our own provider in process (set by the app once it exists). */
  setFetchOwn(fetchOwn: FetchOwn): void {
    this.#fetchOwn = fetchOwn;
    this.#configuration = undefined;
  }

  /** Starts a sign-in: where to send the browser, and what to remember for the callback. */
  /** Starts a sign-in; `forceLogin` (OIDC `prompt=login`) goes through the IdP even with a provider session. */
  async start(
    returnTo: string,
    options: { forceLogin?: boolean } = {},
  ): Promise<{ url: string; pending: PendingSignIn }> {
    // Each sign-in checks the registration (two indexed reads): a deleted or re-registered
    // application must not leave this process sending people with a stale client id.
    const { clientId } = await this.ensureApplication();
    let configuration = await this.#config();
    if (configuration.clientMetadata().client_id !== clientId) {
      this.#configuration = undefined;
      configuration = await this.#config();
    }
    const pending: PendingSignIn = {
      state: client.randomState(),
      nonce: client.randomNonce(),
      verifier: client.randomPKCECodeVerifier(),
      returnTo,
      expiresAt: Date.now() + 10 * 60 * 1000,
    };
    const url = client.buildAuthorizationUrl(configuration, {
      redirect_uri: this.redirectUri,
      scope: SCOPES,
      state: pending.state,
      nonce: pending.nonce,
      code_challenge: await client.calculatePKCECodeChallenge(pending.verifier),
      code_challenge_method: 'S256',
      ...(options.forceLogin ? { prompt: 'login' } : {}),
    });
    return { url: url.href, pending };
  }

  /** Completes a sign-in from the callback's query string. */
  async complete(query: string, pending: PendingSignIn): Promise<SignedInPerson> {
    if (pending.expiresAt < Date.now()) {
      throw new Unauthenticated({
        code: 'console_sign_in_expired',
        detail: 'The sign-in took too long and expired.',
        fix: 'Sign in again.',
      });
    }
    const params = new URLSearchParams(query);
    const error = params.get('error');
    if (error) {
      throw new Unauthenticated({
        code: 'console_sign_in_refused',
        detail: `Sign-in did not complete: ${params.get('error_description') ?? error}.`,
        fix: 'Sign in again; if it keeps failing, open the login trace the sign-in page showed.',
      });
    }
    const configuration = await this.#config();
    try {
      const tokens = await client.authorizationCodeGrant(
        configuration,
        new URL(`${this.redirectUri}?${query}`),
        { pkceCodeVerifier: pending.verifier, expectedState: pending.state, expectedNonce: pending.nonce },
      );
      const claims = tokens.claims();
      if (!claims?.sub) throw new Error('no ID token claims');
      return {
        userId: claims.sub,
        email: typeof claims.email === 'string' ? claims.email : undefined,
        emailVerified: claims.email_verified === true,
        name: typeof claims.name === 'string' ? claims.name : undefined,
      };
    } catch (cause) {
      // Look the application up again next time (its secret or registration may have changed).
      this.#configuration = undefined;
      this.#logger.warn({ err: cause }, 'console sign-in: code exchange failed');
      throw new Unauthenticated({
        code: 'console_sign_in_failed',
        detail: `Sign-in could not be completed: ${(cause as Error).message}.`,
        fix: 'Sign in again (a sign-in link works once, within 10 minutes, in the browser that started it).',
        cause,
      });
    }
  }

  async #config(): Promise<client.Configuration> {
    this.#configuration ??= this.#discover().catch((error) => {
      this.#configuration = undefined;
      throw error;
    });
    return this.#configuration;
  }

  async #discover(): Promise<client.Configuration> {
    const { clientId, secret } = await this.ensureApplication();
    const fetchOwn = this.#fetchOwn;
    const insecure = this.#issuer.startsWith('http:');
    try {
      return await client.discovery(
        new URL(this.#issuer),
        clientId,
        secret,
        client.ClientSecretBasic(secret),
        {
          [client.customFetch]: (url: string, init: client.CustomFetchOptions) => fetchOwn(url, init),
          ...(insecure ? { execute: [client.allowInsecureRequests] } : {}),
        },
      );
    } catch (cause) {
      throw new UpstreamError({
        code: 'console_provider_unavailable',
        detail: `The console could not read Switchboard's own OpenID configuration: ${(cause as Error).message}.`,
        fix: 'Check that PUBLIC_URL is this hub’s external URL, then retry.',
        cause,
      });
    }
  }

  /**
   * The console's application at our provider, registered on first use. Several processes may
   * race here: the `console_client` row decides, and a loser deletes the application it made.
   */
  async ensureApplication(): Promise<{ clientId: string; secret: string }> {
    let existing = await this.#row();
    if (existing && !(await this.#applications.find(existing.applicationId, { includeDisabled: true }))) {
      // Someone deleted the console's application through the API: register it again.
      this.#logger.warn(
        { applicationId: existing.applicationId },
        'console application missing: registering it again',
      );
      await this.#database.db.delete(consoleClient).where(eq(consoleClient.id, CLIENT_ROW));
      existing = undefined;
    }
    if (existing) {
      if (existing.redirectUri !== this.redirectUri) await this.#moveRedirectUri(existing.applicationId);
      return {
        clientId: existing.applicationId,
        secret: this.#secrets.open(existing.secretSealed, sealContext(existing.applicationId)),
      };
    }
    const actor = { type: 'system' as const, name: 'console' };
    const { application, secret } = await this.#applications.create(
      {
        name: CONSOLE_APPLICATION_NAME,
        description: 'The Switchboard admin console (/admin).',
        type: 'confidential',
        redirectUris: [this.redirectUri],
        requirePkce: true,
        firstParty: true,
        scopes: ['openid', 'email', 'profile'],
        grantTypes: ['authorization_code'],
      },
      actor,
    );
    if (!secret) throw new Error('a confidential application has a secret');
    try {
      await this.#database.db.insert(consoleClient).values({
        id: CLIENT_ROW,
        applicationId: application.id,
        redirectUri: this.redirectUri,
        secretSealed: this.#secrets.seal(secret, sealContext(application.id)),
      });
      return { clientId: application.id, secret };
    } catch (error) {
      if (sqlState(error) !== UNIQUE_VIOLATION) throw error;
      await this.#applications.delete(application.id, actor).catch(() => {});
      return this.ensureApplication();
    }
  }

  async #row() {
    const [row] = await this.#database.db
      .select()
      .from(consoleClient)
      .where(eq(consoleClient.id, CLIENT_ROW));
    return row;
  }

  /** PUBLIC_URL changed: the console's redirect URI follows it. */
  async #moveRedirectUri(applicationId: string): Promise<void> {
    await this.#applications.update(
      applicationId,
      { redirectUris: [this.redirectUri] },
      { type: 'system', name: 'console' },
    );
    await this.#database.db
      .update(consoleClient)
      .set({ redirectUri: this.redirectUri })
      .where(eq(consoleClient.id, CLIENT_ROW));
  }
}

function sealContext(applicationId: string): string {
  return `console_client:${applicationId}:secret`;
}
