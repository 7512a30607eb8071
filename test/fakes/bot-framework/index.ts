/**
 * Fake Bot Framework channel side: what signs the activities Teams posts to a bot's messaging
 * endpoint, and the keys a bot verifies them with. References: flow-of-work.md §1.3, §1.4, §1.9;
 * Bot Connector authentication ("Authenticate requests from the Bot Connector service to your
 * bot", learn.microsoft.com/azure/bot-service/rest-api/bot-framework-rest-connector-authentication);
 * teams.ts `jwt-validator.ts` / `service-token-validator.ts`; botframework-connector
 * `authenticationConstants.ts` (issuer `https://api.botframework.com`).
 *
 *   GET /v1/.well-known/openidconfiguration   issuer https://api.botframework.com, jwks_uri, RS256
 *   GET /v1/.well-known/keys                  JWKS whose keys carry `endorsements` (channel ids)
 *
 * `deliver(target, activity)` POSTs an activity with `Authorization: Bearer <jwt>`, the token as
 * the channel signs it: RS256, `iss=https://api.botframework.com`, `aud=<bot app id>`, `nbf`/`exp`,
 * and the **lower-case `serviceurl` claim** equal to `activity.serviceUrl`. The forged variants
 * (`forgery`) are the ones a bot must refuse: wrong key, wrong issuer/audience, serviceurl
 * mismatch or missing, a key not endorsed for `msteams` (→ 403 per the auth doc), expired beyond
 * the 5-minute skew, not yet valid, `alg: none`, HS256 keyed with the public key, an unknown kid,
 * and an Entra token without `serviceurl` (teams.ts's "agentic user" path, refused unless opted in).
 *
 * Key rotation: `rotateKey()` publishes a new kid that signs from then on; `retireKey(kid)` stops
 * publishing one. A bot must refetch the key set when it meets an unknown kid (§1.3); the
 * `jwksFetches` counter shows whether it did.
 */
import { type JWTPayload, SignJWT } from 'jose';
import type { FakeEntra } from '../entra/index.ts';
import { FakeClock } from '../fake-clock.ts';
import {
  type FakeRequest,
  type FakeResponse,
  type LoggedRequest,
  startFakeHttpServer,
} from '../hr-fake-server.ts';
import { createRsaSigningKey, type RsaSigningKey, signRs256, unsignedJwt } from '../rsa-signing-keys.ts';
import type { Activity } from './activities.ts';

export const BOT_FRAMEWORK_ISSUER = 'https://api.botframework.com';
/** Channels a production Bot Framework key is endorsed for (a subset is enough here). */
export const DEFAULT_ENDORSEMENTS = ['msteams', 'skype', 'webchat', 'directline', 'emulator'];

export type InboundForgery =
  /** Signed with an unpublished key, under a published kid: the signature does not verify. */
  | 'wrong-key'
  | 'wrong-issuer'
  /** `aud` is another bot. */
  | 'wrong-audience'
  /** `serviceurl` names another service URL than the activity's `serviceUrl`. */
  | 'serviceurl-mismatch'
  | 'missing-serviceurl'
  /** Signed with a published key whose `endorsements` lack `msteams`. */
  | 'not-endorsed'
  /** `exp` more than the 300 s skew in the past. */
  | 'expired'
  /** `nbf` more than the 300 s skew in the future. */
  | 'not-yet-valid'
  | 'alg-none'
  /** HS256 with the published RSA key's modulus as the HMAC secret (algorithm confusion). */
  | 'alg-hs256'
  /** Signed with a key whose kid no key set publishes, even after a refetch. */
  | 'unknown-kid'
  /** An Entra token (the "agentic user" shape): no `serviceurl`, issuer sts.windows.net. */
  | 'entra-agentic';

export interface PublishedKey extends RsaSigningKey {
  endorsements: string[];
}

export interface DeliveryResult {
  status: number;
  headers: Headers;
  text: string;
  /** The body parsed as JSON, when it is JSON. */
  json: unknown;
  token: string;
}

export interface DeliverOptions {
  appId: string;
  forgery?: InboundForgery;
  /** Needed for `entra-agentic`: the Entra fake and the tenant that issues the token. */
  entra?: FakeEntra;
  tenantId?: string;
}

export class FakeBotFramework {
  readonly clock: FakeClock;
  /** Keys in the published set, oldest first; the newest signs. */
  keys: PublishedKey[] = [];
  url = '';
  requests: LoggedRequest[] = [];
  /** Deliveries made, with what the target answered. */
  readonly deliveries: Array<{
    at: number;
    target: string;
    activityId: string;
    forgery?: InboundForgery;
    status: number;
  }> = [];
  #close: (() => Promise<void>) | undefined;

  constructor(options: { clock?: FakeClock } = {}) {
    this.clock = options.clock ?? new FakeClock();
  }

  static async start(options: { clock?: FakeClock } = {}): Promise<FakeBotFramework> {
    const bf = new FakeBotFramework(options);
    await bf.rotateKey();
    const server = await startFakeHttpServer((request) => bf.#handle(request));
    bf.url = server.url;
    bf.requests = server.requests;
    bf.#close = server.close;
    return bf;
  }

  async close(): Promise<void> {
    await this.#close?.();
  }

  /** The OpenID metadata URL a bot is configured with (login.botframework.com's equivalent). */
  get openIdMetadataUrl(): string {
    return `${this.url}/v1/.well-known/openidconfiguration`;
  }

  get jwksUri(): string {
    return `${this.url}/v1/.well-known/keys`;
  }

  /** How many times the key set was fetched. */
  get jwksFetches(): number {
    return this.requests.filter((request) => request.path === '/v1/.well-known/keys').length;
  }

  /** Publishes a new key that signs from now on. Returns its kid. */
  async rotateKey(endorsements: string[] = DEFAULT_ENDORSEMENTS): Promise<string> {
    const key = await this.#newKey(endorsements);
    this.keys.push(key);
    return key.kid;
  }

  retireKey(kid: string): void {
    this.keys = this.keys.filter((key) => key.kid !== kid);
  }

  /** A genuine channel token for `appId` and `serviceUrl`. */
  async signToken(appId: string, serviceUrl: string): Promise<string> {
    return signRs256(this.#activeKey(), this.#claims(appId, serviceUrl));
  }

  /** A token a bot must refuse. */
  async forgeToken(kind: InboundForgery, options: DeliverOptions & { serviceUrl: string }): Promise<string> {
    const claims = this.#claims(options.appId, options.serviceUrl);
    const active = this.#activeKey();
    const now = this.clock.nowSeconds();
    switch (kind) {
      case 'wrong-key':
        return signRs256(await createRsaSigningKey(), claims, { kid: active.kid });
      case 'wrong-issuer':
        return signRs256(active, { ...claims, iss: 'https://api.botframework.com.evil.example' });
      case 'wrong-audience':
        return signRs256(active, { ...claims, aud: '00000000-0000-0000-0000-0000000000aa' });
      case 'serviceurl-mismatch':
        return signRs256(active, { ...claims, serviceurl: 'https://smba.trafficmanager.net/emea/' });
      case 'missing-serviceurl': {
        const { serviceurl: _dropped, ...rest } = claims;
        return signRs256(active, rest);
      }
      case 'not-endorsed': {
        let key = this.keys.find((candidate) => !candidate.endorsements.includes('msteams'));
        if (!key) {
          key = await this.#newKey(['webchat']);
          this.keys.unshift(key);
        }
        return signRs256(key, claims);
      }
      case 'expired':
        return signRs256(active, { ...claims, nbf: now - 3600, exp: now - 301 - 60 });
      case 'not-yet-valid':
        return signRs256(active, { ...claims, nbf: now + 900, exp: now + 4500 });
      case 'alg-none':
        return unsignedJwt(claims, { kid: active.kid });
      case 'alg-hs256':
        return new SignJWT(claims)
          .setProtectedHeader({ typ: 'JWT', alg: 'HS256', kid: active.kid })
          .sign(Buffer.from(String(active.publicJwk.n)));
      case 'unknown-kid':
        return signRs256(await createRsaSigningKey(), claims);
      case 'entra-agentic': {
        if (!options.entra || !options.tenantId) throw new Error('entra-agentic needs entra and tenantId');
        return options.entra.issueAppToken(
          options.tenantId,
          '11111111-2222-3333-4444-555555555555',
          options.appId,
        );
      }
    }
  }

  /** POSTs `activity` to the bot's messaging endpoint as the channel does. */
  async deliver(target: string, activity: Activity, options: DeliverOptions): Promise<DeliveryResult> {
    const token = options.forgery
      ? await this.forgeToken(options.forgery, { ...options, serviceUrl: activity.serviceUrl })
      : await this.signToken(options.appId, activity.serviceUrl);
    return this.post(target, activity, token, options.forgery);
  }

  /** POSTs `activity` with a token the test made itself. */
  async post(
    target: string,
    activity: unknown,
    token: string,
    forgery?: InboundForgery,
  ): Promise<DeliveryResult> {
    const response = await fetch(target, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json; charset=utf-8',
        'user-agent': 'Microsoft-SkypeBotApi (Microsoft-BotFramework 3.0)',
        'x-ms-conversation-id': String((activity as Activity).conversation?.id ?? ''),
      },
      body: JSON.stringify(activity),
    });
    const text = await response.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    this.deliveries.push({
      at: this.clock.now(),
      target,
      activityId: String((activity as Activity).id ?? ''),
      ...(forgery ? { forgery } : {}),
      status: response.status,
    });
    return { status: response.status, headers: response.headers, text, json, token };
  }

  #handle(request: FakeRequest): FakeResponse {
    if (request.method !== 'GET') return { status: 405, body: { error: 'method not allowed' } };
    if (request.path === '/v1/.well-known/openidconfiguration') {
      return {
        status: 200,
        body: {
          issuer: BOT_FRAMEWORK_ISSUER,
          authorization_endpoint: 'https://invalid.botframework.com',
          jwks_uri: this.jwksUri,
          id_token_signing_alg_values_supported: ['RS256'],
          token_endpoint_auth_methods_supported: ['private_key_jwt'],
        },
      };
    }
    if (request.path === '/v1/.well-known/keys') {
      return { status: 200, body: { keys: this.keys.map((key) => key.publicJwk) } };
    }
    return { status: 404, body: { error: 'not found' } };
  }

  #claims(appId: string, serviceUrl: string): JWTPayload {
    const now = this.clock.nowSeconds();
    return { serviceurl: serviceUrl, nbf: now - 5, exp: now + 3600, iss: BOT_FRAMEWORK_ISSUER, aud: appId };
  }

  #activeKey(): PublishedKey {
    const key = this.keys.at(-1);
    if (!key) throw new Error('the Bot Framework fake publishes no key');
    return key;
  }

  async #newKey(endorsements: string[]): Promise<PublishedKey> {
    // Real Bot Framework keys also carry an x5c chain; the fake publishes n/e only (verify with those).
    const key = await createRsaSigningKey({ endorsements });
    return { ...key, endorsements };
  }
}
