/**
 * A minimal LTI 1.3 tool on `jose`, used by the platform fake's self-test to prove that every
 * forged launch is detectable, and a reference for the checks the hub's tool must make. The
 * launch checks are ltijs 5.9's (`src/Utils/Auth.js` validateToken/oidcValidation/
 * claimValidation, `src/Provider/Provider.js` state cookie), with their error codes, plus the two
 * the hub adds (a known deployment_id, registrations keyed by (iss, client_id)):
 *
 *   STATE_MISMATCH           the posted state is not one this browser started (cookie or platform storage)
 *   INVALID_JWT_RECEIVED     not a JWT
 *   ALG_NOT_RS256            header alg other than RS256 (none, HS256 …)
 *   KID_NOT_FOUND            no kid in the header
 *   ISS_CLAIM_DOES_NOT_MATCH iss is not the issuer the login started with
 *   UNREGISTERED_PLATFORM    no registration for (iss, aud)
 *   KEY_NOT_FOUND            kid absent from the platform's JWKS, even after a refetch
 *   INVALID_SIGNATURE        signature does not verify
 *   TOKEN_EXPIRED            exp passed
 *   AUD_DOES_NOT_MATCH       aud does not contain the client id
 *   AZP_DOES_NOT_MATCH_CLIENTID  aud is an array and azp is another client
 *   NONCE_ALREADY_RECEIVED   nonce used by an earlier launch
 *   NONCE_MISMATCH           nonce is not the one sent with this state
 *   NO_MESSAGE_TYPE_CLAIM    message type neither LtiResourceLinkRequest nor LtiDeepLinkingRequest
 *   NO_TARGET_LINK_URI_CLAIM, NO_RESOURCE_LINK_ID_CLAIM (resource link launches)
 *   NO_LTI_VERSION_CLAIM, WRONG_LTI_VERSION_CLAIM
 *   NO_DEPLOYMENT_ID_CLAIM, UNKNOWN_DEPLOYMENT_ID
 *   NO_SUB_CLAIM, NO_ROLES_CLAIM
 *
 * State is bound to the browser by a cookie, or, when the login initiation carries
 * `lti_storage_target`, by LTI platform storage: the login page puts `state-<state>` into the
 * platform's storage frame by postMessage before going to the auth endpoint, and the launch page
 * reads it back and confirms to the server (the cookie-less flow of the LTI OIDC Login with
 * Client Side postMessages guide).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  errors,
  type JWTPayload,
  jwtVerify,
  SignJWT,
} from 'jose';
import { createRsaSigningKey, type RsaSigningKey } from '../rsa-signing-keys.ts';
import { CLAIM, CLIENT_ASSERTION_TYPE, LTI_VERSION, MESSAGE_TYPE } from './claims.ts';
import type { LtiPlatformConfig } from './index.ts';
import { autoSubmitFormPage } from './pages.ts';

export interface ToolLaunchOutcome {
  at: number;
  ok: boolean;
  error?: string;
  claims?: JWTPayload;
  /** How the state was bound to the browser. */
  via: 'cookie' | 'platform-storage';
  /** The tool's cookie came back with the launch (false when third-party cookies are blocked). */
  probeCookieReturned: boolean;
  /** Form fields posted to the redirect URI besides id_token and state. */
  extraFields: Record<string, string>;
}

interface PendingLogin {
  registration: LtiPlatformConfig;
  nonce: string;
  mode: 'cookie' | 'platform-storage';
  storageTarget?: string;
}

export class MinimalLtiTool {
  /** The tool's origin as the platform and browser see it (e.g. http://localhost:port). */
  url = '';
  readonly registrations: LtiPlatformConfig[] = [];
  readonly outcomes: ToolLaunchOutcome[] = [];
  readonly loginRequests: Array<{ method: string; params: Record<string, string> }> = [];
  /** Keys published at /jwks, newest last; the newest signs. */
  keys: RsaSigningKey[] = [];
  /** Content items the next deep-linking launch returns to the platform. */
  nextDeepLinkItems: Record<string, unknown>[] = [{ type: 'ltiResourceLink', title: 'Course player' }];
  readonly #pending = new Map<string, PendingLogin>();
  readonly #usedNonces = new Set<string>();
  readonly #awaitingConfirmation = new Map<string, { state: string; outcome: ToolLaunchOutcome }>();
  readonly #keySets = new Map<string, ReturnType<typeof createRemoteJWKSet>>();
  #server: ReturnType<typeof createServer> | undefined;

  /** Binds state by platform storage when the login offers `lti_storage_target` (needs a real browser). */
  usePlatformStorage = false;

  /**
   * `host`: the name the platform and browser use for the tool (default 127.0.0.1);
   * `platformStorage`: bind state through the platform's storage frame when offered, not a cookie.
   */
  static async start(options: { host?: string; platformStorage?: boolean } = {}): Promise<MinimalLtiTool> {
    const tool = new MinimalLtiTool();
    tool.usePlatformStorage = options.platformStorage ?? false;
    tool.keys.push(await createRsaSigningKey());
    const server = createServer((req, res) => {
      void tool.#serve(req, res).catch((error: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`tool failed: ${error instanceof Error ? error.message : String(error)}`);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    tool.#server = server;
    tool.url = `http://${options.host ?? '127.0.0.1'}:${(server.address() as AddressInfo).port}`;
    return tool;
  }

  async close(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  get loginUrl(): string {
    return `${this.url}/login`;
  }
  get launchUrl(): string {
    return `${this.url}/launch`;
  }
  get deepLinkUrl(): string {
    return `${this.url}/deep-link`;
  }
  get jwksUrl(): string {
    return `${this.url}/jwks`;
  }

  register(config: LtiPlatformConfig): void {
    this.registrations.push(config);
  }

  async rotateKey(): Promise<void> {
    this.keys.push(await createRsaSigningKey());
  }

  get signingKey(): RsaSigningKey {
    return this.keys.at(-1) as RsaSigningKey;
  }

  /** An RS256 client assertion (Security Framework §4.1.1), with overrides for the refusal tests. */
  clientAssertion(
    registration: LtiPlatformConfig,
    overrides: {
      aud?: string | string[];
      jti?: string;
      iss?: string;
      sub?: string;
      exp?: number;
      iat?: number;
      key?: RsaSigningKey;
    } = {},
  ): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const key = overrides.key ?? this.signingKey;
    return new SignJWT({
      iss: overrides.iss ?? registration.clientId,
      sub: overrides.sub ?? registration.clientId,
      aud: overrides.aud ?? registration.tokenAudience,
      iat: overrides.iat ?? now,
      exp: overrides.exp ?? now + 60,
      jti: overrides.jti ?? randomUUID(),
    })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: key.kid })
      .sign(key.privateKey);
  }

  /** POSTs a client_credentials request as ltijs's getAccessToken does. */
  async requestToken(
    registration: LtiPlatformConfig,
    scopes: string[],
    assertion?: string,
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    const response = await fetch(registration.tokenEndpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_assertion_type: CLIENT_ASSERTION_TYPE,
        client_assertion: assertion ?? (await this.clientAssertion(registration)),
        scope: scopes.join(' '),
      }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  /** A deep-linking response JWT (Deep Linking 2.0 §4.2) answering a verified request's claims. */
  deepLinkResponse(
    request: JWTPayload,
    items: Record<string, unknown>[],
    overrides: Record<string, unknown> = {},
  ): Promise<string> {
    const settings = (request[CLAIM.deepLinkingSettings] ?? {}) as Record<string, unknown>;
    const now = Math.floor(Date.now() / 1000);
    const claims: JWTPayload = {
      iss: String(Array.isArray(request.aud) ? request.azp : request.aud),
      aud: request.iss,
      iat: now,
      exp: now + 300,
      nonce: randomBytes(12).toString('hex'),
      [CLAIM.messageType]: MESSAGE_TYPE.deepLinkingResponse,
      [CLAIM.version]: LTI_VERSION,
      [CLAIM.deploymentId]: request[CLAIM.deploymentId],
      [CLAIM.contentItems]: items,
      ...(settings.data !== undefined ? { [CLAIM.data]: settings.data } : {}),
      ...overrides,
    };
    for (const [name, value] of Object.entries(claims)) if (value === undefined) delete claims[name];
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: this.signingKey.kid })
      .sign(this.signingKey.privateKey);
  }

  // ── HTTP ──────────────────────────────────────────────────────────────────────────────────

  async #serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const params: Record<string, string> = Object.fromEntries(url.searchParams);
    if (String(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
      Object.assign(params, Object.fromEntries(new URLSearchParams(body)));
    }
    const cookies = parseCookies(req.headers.cookie);
    const send = (
      status: number,
      type: string,
      text: string,
      headers: Record<string, string | string[]> = {},
    ) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', ...headers });
      res.end(text);
    };
    if (url.pathname === '/jwks' && req.method === 'GET') {
      send(
        200,
        'application/json',
        JSON.stringify({ keys: this.keys.map((key) => ({ ...key.publicJwk, alg: 'RS256' })) }),
      );
      return;
    }
    if (url.pathname === '/login' && (req.method === 'GET' || req.method === 'POST')) {
      const answer = this.#login(req.method, params);
      send(answer.status, answer.type, answer.body, answer.headers);
      return;
    }
    if ((url.pathname === '/launch' || url.pathname === '/deep-link') && req.method === 'POST') {
      const answer = await this.#launch(params, cookies);
      send(answer.status, answer.type, answer.body, answer.headers ?? {});
      return;
    }
    if (url.pathname === '/launch/confirm' && req.method === 'POST') {
      const { key, stored } = JSON.parse(body || '{}') as { key?: string; stored?: unknown };
      const waiting = key ? this.#awaitingConfirmation.get(key) : undefined;
      if (!waiting) {
        send(400, 'application/json', JSON.stringify({ error: 'UNKNOWN_LAUNCH' }));
        return;
      }
      this.#awaitingConfirmation.delete(key as string);
      const ok = stored === waiting.state;
      this.outcomes.push({ ...waiting.outcome, ok, ...(ok ? {} : { error: 'STATE_MISMATCH' }) });
      send(ok ? 200 : 400, 'application/json', JSON.stringify({ ok }));
      return;
    }
    send(404, 'text/plain', 'not found');
  }

  #login(
    method: string,
    params: Record<string, string>,
  ): { status: number; type: string; body: string; headers: Record<string, string | string[]> } {
    this.loginRequests.push({ method, params });
    const json = (status: number, error: string) => ({
      status,
      type: 'application/json',
      body: JSON.stringify({ error }),
      headers: {},
    });
    if (!params.iss || !params.login_hint || !params.target_link_uri)
      return json(400, 'MISSING_LOGIN_PARAMETERS');
    const candidates = this.registrations.filter((registration) => registration.issuer === params.iss);
    const registration = params.client_id
      ? candidates.find((candidate) => candidate.clientId === params.client_id)
      : candidates.length === 1
        ? candidates[0]
        : undefined;
    if (!registration) return json(400, 'UNREGISTERED_PLATFORM');
    const state = randomBytes(16).toString('hex');
    const nonce = randomBytes(16).toString('hex');
    const storageTarget = this.usePlatformStorage ? params.lti_storage_target : undefined;
    const mode = storageTarget ? 'platform-storage' : 'cookie';
    this.#pending.set(state, { registration, nonce, mode, ...(storageTarget ? { storageTarget } : {}) });
    const auth = new URL(registration.authorizationEndpoint);
    const query: Record<string, string> = {
      scope: 'openid',
      response_type: 'id_token',
      response_mode: 'form_post',
      prompt: 'none',
      client_id: registration.clientId,
      redirect_uri: params.target_link_uri === this.deepLinkUrl ? this.deepLinkUrl : this.launchUrl,
      login_hint: params.login_hint,
      state,
      nonce,
      ...(params.lti_message_hint ? { lti_message_hint: params.lti_message_hint } : {}),
    };
    for (const [key, value] of Object.entries(query)) auth.searchParams.set(key, value);
    const probe = `lti_probe=${state}; Path=/; SameSite=None; Secure; HttpOnly`;
    if (mode === 'cookie') {
      return {
        status: 302,
        type: 'text/plain',
        body: '',
        headers: {
          location: auth.href,
          'set-cookie': [`lti_state_${state}=1; Path=/; SameSite=None; Secure; HttpOnly`, probe],
        },
      };
    }
    return {
      status: 200,
      type: 'text/html; charset=utf-8',
      body: storageLoginPage({
        target: storageTarget as string,
        authOrigin: auth.origin,
        authUrl: auth.href,
        state,
        nonce,
      }),
      headers: { 'set-cookie': probe },
    };
  }

  async #launch(
    params: Record<string, string>,
    cookies: Record<string, string>,
  ): Promise<{ status: number; type: string; body: string; headers?: Record<string, string> }> {
    const extraFields = Object.fromEntries(
      Object.entries(params).filter(([key]) => key !== 'id_token' && key !== 'state'),
    );
    const state = params.state ?? '';
    const pending = this.#pending.get(state);
    const base = {
      at: Date.now(),
      via: pending?.mode ?? 'cookie',
      probeCookieReturned: cookies.lti_probe !== undefined,
      extraFields,
    } as const;
    const fail = (error: string) => {
      this.outcomes.push({ ...base, ok: false, error });
      return { status: 400, type: 'application/json', body: JSON.stringify({ error }) };
    };
    if (params.error) return fail(`PLATFORM_ERROR:${params.error}`);
    if (!pending) return fail('STATE_MISMATCH');
    if (pending.mode === 'cookie' && cookies[`lti_state_${state}`] !== '1') return fail('STATE_MISMATCH');
    this.#pending.delete(state);
    const checked = await this.validateIdToken(params.id_token ?? '', pending);
    if (!checked.ok) return fail(checked.error);
    const claims = checked.claims;
    if (pending.mode === 'platform-storage') {
      const key = randomUUID();
      this.#awaitingConfirmation.set(key, { state, outcome: { ...base, ok: true, claims } });
      return {
        status: 200,
        type: 'text/html; charset=utf-8',
        body: storageLaunchPage({
          target: pending.storageTarget as string,
          authOrigin: new URL(pending.registration.authorizationEndpoint).origin,
          state,
          confirmUrl: `${this.url}/launch/confirm`,
          key,
        }),
      };
    }
    this.outcomes.push({ ...base, ok: true, claims });
    if (claims[CLAIM.messageType] === MESSAGE_TYPE.deepLinkingRequest) {
      const settings = claims[CLAIM.deepLinkingSettings] as { deep_link_return_url: string };
      const jwt = await this.deepLinkResponse(claims, this.nextDeepLinkItems);
      return {
        status: 200,
        type: 'text/html; charset=utf-8',
        body: autoSubmitFormPage({
          action: settings.deep_link_return_url,
          method: 'POST',
          fields: { JWT: jwt },
          name: 'ltijs_submit',
        }),
      };
    }
    return { status: 200, type: 'application/json', body: JSON.stringify({ ok: true, sub: claims.sub }) };
  }

  /** ltijs's checks, in its order, on jose. */
  async validateIdToken(
    idToken: string,
    pending: { registration: LtiPlatformConfig; nonce: string },
  ): Promise<{ ok: true; claims: JWTPayload } | { ok: false; error: string }> {
    let header: ReturnType<typeof decodeProtectedHeader>;
    let unverified: JWTPayload;
    try {
      header = decodeProtectedHeader(idToken);
      unverified = decodeJwt(idToken);
    } catch {
      return { ok: false, error: 'INVALID_JWT_RECEIVED' };
    }
    if (header.alg !== 'RS256') return { ok: false, error: 'ALG_NOT_RS256' };
    if (!header.kid) return { ok: false, error: 'KID_NOT_FOUND' };
    if (unverified.iss !== pending.registration.issuer)
      return { ok: false, error: 'ISS_CLAIM_DOES_NOT_MATCH' };
    const audiences = Array.isArray(unverified.aud) ? unverified.aud : [unverified.aud];
    const registration = this.registrations.find(
      (candidate) => candidate.issuer === unverified.iss && audiences.includes(candidate.clientId),
    );
    if (!registration) return { ok: false, error: 'UNREGISTERED_PLATFORM' };
    let claims: JWTPayload;
    try {
      ({ payload: claims } = await jwtVerify(idToken, this.#keySet(registration.jwksUri), {
        algorithms: ['RS256'],
        issuer: registration.issuer,
        audience: registration.clientId,
        clockTolerance: 5,
      }));
    } catch (error) {
      if (error instanceof errors.JWKSNoMatchingKey) return { ok: false, error: 'KEY_NOT_FOUND' };
      if (error instanceof errors.JWSSignatureVerificationFailed)
        return { ok: false, error: 'INVALID_SIGNATURE' };
      if (error instanceof errors.JWTExpired) return { ok: false, error: 'TOKEN_EXPIRED' };
      if (error instanceof errors.JWTClaimValidationFailed && error.claim === 'aud') {
        return { ok: false, error: 'AUD_DOES_NOT_MATCH' };
      }
      return { ok: false, error: `INVALID_TOKEN:${error instanceof Error ? error.message : String(error)}` };
    }
    if (Array.isArray(claims.aud) && claims.azp !== registration.clientId) {
      return { ok: false, error: 'AZP_DOES_NOT_MATCH_CLIENTID' };
    }
    if (typeof claims.nonce !== 'string' || this.#usedNonces.has(claims.nonce)) {
      return { ok: false, error: 'NONCE_ALREADY_RECEIVED' };
    }
    this.#usedNonces.add(claims.nonce);
    if (claims.nonce !== pending.nonce) return { ok: false, error: 'NONCE_MISMATCH' };
    const messageType = claims[CLAIM.messageType];
    if (messageType !== MESSAGE_TYPE.resourceLink && messageType !== MESSAGE_TYPE.deepLinkingRequest) {
      return { ok: false, error: 'NO_MESSAGE_TYPE_CLAIM' };
    }
    if (messageType === MESSAGE_TYPE.resourceLink) {
      if (!claims[CLAIM.targetLinkUri]) return { ok: false, error: 'NO_TARGET_LINK_URI_CLAIM' };
      const link = claims[CLAIM.resourceLink] as { id?: string } | undefined;
      if (!link?.id) return { ok: false, error: 'NO_RESOURCE_LINK_ID_CLAIM' };
    }
    if (!claims[CLAIM.version]) return { ok: false, error: 'NO_LTI_VERSION_CLAIM' };
    if (claims[CLAIM.version] !== LTI_VERSION) return { ok: false, error: 'WRONG_LTI_VERSION_CLAIM' };
    const deploymentId = claims[CLAIM.deploymentId];
    if (!deploymentId) return { ok: false, error: 'NO_DEPLOYMENT_ID_CLAIM' };
    if (!registration.deploymentIds.includes(String(deploymentId)))
      return { ok: false, error: 'UNKNOWN_DEPLOYMENT_ID' };
    if (!claims.sub) return { ok: false, error: 'NO_SUB_CLAIM' };
    if (!claims[CLAIM.roles]) return { ok: false, error: 'NO_ROLES_CLAIM' };
    return { ok: true, claims };
  }

  /** The platform's key set; an unknown kid triggers a refetch at once (no cooldown). */
  #keySet(jwksUri: string): ReturnType<typeof createRemoteJWKSet> {
    let keySet = this.#keySets.get(jwksUri);
    if (!keySet) {
      keySet = createRemoteJWKSet(new URL(jwksUri), { cooldownDuration: 0 });
      this.#keySets.set(jwksUri, keySet);
    }
    return keySet;
  }
}

function parseCookies(header: string | undefined): Record<string, string> {
  const cookies: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const index = part.indexOf('=');
    if (index > 0) cookies[part.slice(0, index).trim()] = part.slice(index + 1).trim();
  }
  return cookies;
}

/** postMessage with a reply: resolves with the response of the same message_id from `origin`. */
const BROWSER_REQUEST = `
  function ltiRequest(target, origin, message) {
    return new Promise(function (resolve, reject) {
      message.message_id = message.message_id || (Date.now() + '-' + Math.random().toString(36).slice(2));
      function onMessage(event) {
        if (event.origin !== origin || !event.data || event.data.message_id !== message.message_id) return;
        window.removeEventListener('message', onMessage);
        resolve(event.data);
      }
      window.addEventListener('message', onMessage);
      target.postMessage(message, origin);
      setTimeout(function () { reject(new Error(message.subject + ' timed out')); }, 10000);
    });
  }
  function storageFrame(target) {
    return target === '_parent' ? window.parent : window.parent.frames[target];
  }
  function show(text) { document.getElementById('status').textContent = text; }
`;

function storageLoginPage(options: {
  target: string;
  authOrigin: string;
  authUrl: string;
  state: string;
  nonce: string;
}): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Tool login</title></head>
<body><p id="status">Storing state…</p>
<script>
${BROWSER_REQUEST}
  (async function () {
    var options = ${JSON.stringify(options)};
    try {
      var capabilities = await ltiRequest(window.parent, options.authOrigin, { subject: 'lti.capabilities' });
      var put = (capabilities.supported_messages || []).filter(function (m) { return m.subject === 'lti.put_data'; })[0];
      if (!put) throw new Error('the platform offers no lti.put_data');
      var frame = storageFrame(put.frame || options.target);
      var stored = await ltiRequest(frame, options.authOrigin, { subject: 'lti.put_data', key: 'state-' + options.state, value: options.state });
      if (stored.error) throw new Error(stored.error.code + ': ' + stored.error.message);
      var storedNonce = await ltiRequest(frame, options.authOrigin, { subject: 'lti.put_data', key: 'nonce-' + options.nonce, value: options.nonce });
      if (storedNonce.error) throw new Error(storedNonce.error.code + ': ' + storedNonce.error.message);
      window.location.href = options.authUrl;
    } catch (error) {
      show('Platform storage failed: ' + error.message);
    }
  })();
</script></body></html>`;
}

function storageLaunchPage(options: {
  target: string;
  authOrigin: string;
  state: string;
  confirmUrl: string;
  key: string;
}): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Tool</title></head>
<body><p id="status">Checking state…</p>
<script>
${BROWSER_REQUEST}
  (async function () {
    var options = ${JSON.stringify(options)};
    try {
      var answer = await ltiRequest(storageFrame(options.target), options.authOrigin, { subject: 'lti.get_data', key: 'state-' + options.state });
      var response = await fetch(options.confirmUrl, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ key: options.key, stored: answer.value })
      });
      show(response.ok ? 'Launched' : 'State mismatch');
    } catch (error) {
      show('Platform storage failed: ' + error.message);
    }
  })();
</script></body></html>`;
}
