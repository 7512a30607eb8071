/**
 * The login flow: home-realm discovery, the redirect to the IdP, the IdP's answer (OIDC callback or
 * SAML ACS), mapping, the user decision (JIT, linking, refusal), and completion.
 *
 * Each protocol answer is a pipeline of small named steps; every step writes a line to the login
 * trace. State between the redirect and the answer lives in `sso_login_flows` (hashed handle,
 * expiry, one-time use), so any hub process can finish a login any other one started.
 *
 * Completion is pluggable and ordered: every successful login first passes through the registered
 * completion steps (lowest `order` first; e.g. waiting for a JIT user's provisioning). Then a flow
 * that carries a continuation (`{ type: 'oidc_interaction', uid }`) goes to the handler registered
 * for that type; a flow without one goes to the default completions (post-login routing), and when
 * none answers, the person sees a signed-in page. Each receives the request, reply, user,
 * organization, connection and trace id.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../../config.ts';
import type { Database, Tx } from '../../platform/db/client.ts';
import type { Logger } from '../../platform/logging.ts';
import type { SecretBox } from '../../platform/secret-box.ts';
import type { DirectoryService, UserView } from '../directory/index.ts';
import type { Actor } from '../events/contracts.ts';
import type { EventLog } from '../events/service.ts';
import type { Organization, OrganizationService } from '../orgs/index.ts';
import {
  type Connection,
  clientSecretContext,
  connectionUrls,
  inactiveReason,
  mappingProblems,
  privateKeyContext,
  toConnection,
} from './connections.ts';
import { applyMapping, type MappedProfile, NAMEID_SOURCE, summarizeClaims } from './mapping.ts';
import { client, type RelyingPartyCache } from './oidc/relying-party.ts';
import { autoPostPage, errorPage, loginPage, NOT_ROUTABLE, pickerPage, signedInPage } from './pages.ts';
import {
  consumeFlow,
  type FlowRow,
  findConnection,
  findFlow,
  findFlowBySamlRequest,
  insertFlow,
  listConnections,
  recordAssertionId,
} from './repository.ts';
import {
  authnRequestRedirectUrl,
  authnRequestXml,
  checkConditions,
  checkDestination,
  checkIssuer,
  checkStatus,
  checkSubjectConfirmation,
  describeVerifiedSignature,
  readAssertionClaims,
  readSamlResponse,
  refuseComments,
  refuseWeakAlgorithms,
  type ServiceProviderOptions,
  verifySignature,
} from './saml/service-provider.ts';
import { LoginFailure, LoginTrace } from './traces.ts';

/** What to do after a successful login. `type` selects the registered completion handler. */
export interface Continuation {
  type: string;
  [key: string]: unknown;
}

export interface LoginCompletion {
  request: FastifyRequest;
  reply: FastifyReply;
  user: UserView;
  organization: Organization;
  connection: { id: string; name: string; protocol: string; preset: string };
  traceId: string;
  /** What the login was started for; null when nothing asked (a bookmark, IdP-initiated login, an email link). */
  continuation: Continuation | null;
  /** True when this login created the user (JIT). */
  created: boolean;
  /** Appends a `completion` step to this login's trace (written at once; never throws). */
  recordTrace(ok: boolean, message: string, data?: Record<string, unknown>): Promise<void>;
}

/** Finishes a login for a continuation type (e.g. resumes an OIDC provider interaction). Sends the reply. */
export type CompletionHandler = (
  completion: LoginCompletion & { continuation: Continuation },
) => Promise<unknown>;

/** A failed login whose flow carries a continuation: recorded (trace, `login.failed`), not yet answered. */
export interface LoginFailureReport {
  request: FastifyRequest;
  reply: FastifyReply;
  organization: Organization;
  connection: { id: string; name: string; protocol: string; preset: string };
  traceId: string;
  continuation: Continuation;
  /** The failure's machine code (`mapping_no_email`, ...) and the HTTP status it is answered with. */
  code: string;
  status: number;
}

/**
 * Answers a failed login for a continuation type (e.g. a setup page's test sign-in ends on its
 * trace). Sends the reply; a handler that throws is logged and the end-user error page answers.
 */
export type FailureHandler = (failure: LoginFailureReport) => Promise<unknown>;

/**
 * A step every successful login passes through, in `order`, after the user decision and before
 * the reply (the continuation's handler, a default completion, or the signed-in page). For work
 * the person should wait for, such as provisioning a JIT user's first enrollments. A step may
 * answer the login itself (send the reply); the later steps and handlers are then skipped. A step
 * that throws is logged and traced, and the login goes on: it never strands a signed-in person.
 */
export interface CompletionStep {
  /** For logs and the trace, e.g. `provisioning.wait`. */
  name: string;
  /** Lower runs first; equal orders run in registration order. Default 100. */
  order?: number;
  run(completion: LoginCompletion): Promise<void>;
}

/**
 * Answers a login that carries no continuation (e.g. post-login routing). Returns true when it sent
 * the reply; false lets the next default completion (then the signed-in page) answer.
 */
export type DefaultCompletion = (completion: LoginCompletion) => Promise<boolean>;

export const BROWSER_COOKIE = 'sb_sso_browser';
const SSO_ACTOR_BASE: Actor = { type: 'sso' };

export function hashHandle(handle: string): string {
  return createHash('sha256').update(handle).digest('hex');
}

function newHandle(): string {
  return randomBytes(32).toString('base64url');
}

export interface LoginServiceDeps {
  config: Config;
  database: Database;
  secrets: SecretBox;
  events: EventLog;
  orgs: OrganizationService;
  directory: DirectoryService;
  relyingParties: RelyingPartyCache;
  logger: Logger;
}

export class LoginService {
  readonly #deps: LoginServiceDeps;
  readonly #completions = new Map<string, CompletionHandler>();
  readonly #failures = new Map<string, FailureHandler>();
  readonly #steps: Array<Required<Pick<CompletionStep, 'order'>> & CompletionStep> = [];
  readonly #defaultCompletions: Array<{ name: string; handler: DefaultCompletion }> = [];

  constructor(deps: LoginServiceDeps) {
    this.#deps = deps;
  }

  /** Registers what happens after a login whose flow carries a continuation of this type. */
  registerCompletion(type: string, handler: CompletionHandler): void {
    if (this.#completions.has(type))
      throw new Error(`a completion handler for "${type}" is already registered`);
    this.#completions.set(type, handler);
  }

  /**
   * Registers how a failed login whose flow carries a continuation of this type is answered (see
   * FailureHandler). Without one, the person sees the end-user error page.
   */
  registerFailure(type: string, handler: FailureHandler): void {
    if (this.#failures.has(type)) throw new Error(`a failure handler for "${type}" is already registered`);
    this.#failures.set(type, handler);
  }

  /** Adds a step every successful login passes through before it is answered (see CompletionStep). */
  registerCompletionStep(step: CompletionStep): void {
    if (this.#steps.some((existing) => existing.name === step.name))
      throw new Error(`a completion step named "${step.name}" is already registered`);
    this.#steps.push({ ...step, order: step.order ?? 100 });
    // Stable sort: equal orders keep registration order.
    this.#steps.sort((a, b) => a.order - b.order);
  }

  /** Adds a handler for logins without continuation, tried in registration order (see DefaultCompletion). */
  registerDefaultCompletion(name: string, handler: DefaultCompletion): void {
    if (this.#defaultCompletions.some((existing) => existing.name === name))
      throw new Error(`a default completion named "${name}" is already registered`);
    this.#defaultCompletions.push({ name, handler });
  }

  /**
   * Starts a login on behalf of another module (e.g. the OIDC provider's interaction): returns the
   * `/login` URL that carries the continuation through discovery and the IdP round trip.
   */
  async createLoginRequest(input: {
    continuation: Continuation;
    loginHint?: string;
    /** A domain to run home-realm discovery on when there is no login hint (`domain_hint`). */
    domainHint?: string;
    organizationId?: string;
    connectionId?: string;
  }): Promise<{ url: string; expiresAt: Date }> {
    const handle = newHandle();
    const expiresAt = new Date(Date.now() + this.#deps.config.SSO_FLOW_TTL_SECONDS * 1000);
    await insertFlow(this.#deps.database.db, {
      id: hashHandle(handle),
      stage: 'pending',
      organizationId: input.organizationId ?? null,
      connectionId: input.connectionId ?? null,
      continuation: input.continuation,
      loginHint: input.loginHint ?? null,
      expiresAt,
    });
    const params = new URLSearchParams({ request: handle });
    if (input.loginHint) params.set('login_hint', input.loginHint);
    if (input.connectionId) params.set('connection', input.connectionId);
    else if (input.organizationId) params.set('organization', input.organizationId);
    else if (input.domainHint && !input.loginHint) params.set('domain_hint', input.domainHint);
    return { url: `${this.#deps.config.PUBLIC_URL}/login?${params}`, expiresAt };
  }

  /** A pending login request (from createLoginRequest), if still valid. */
  async findLoginRequest(handle: string | undefined): Promise<FlowRow | undefined> {
    if (!handle) return undefined;
    const flow = await findFlow(this.#deps.database.db, hashHandle(handle));
    if (flow?.stage !== 'pending' || flow.expiresAt.getTime() < Date.now()) return undefined;
    return flow;
  }

  /** Home-realm discovery: the organization owning the email's verified domain, and its usable connections. */
  async discover(
    email: string,
  ): Promise<{ organization: Organization; connections: Connection[] } | undefined> {
    const domain = email.trim().toLowerCase().split('@')[1];
    if (!domain) return undefined;
    return this.discoverDomain(domain);
  }

  /** Home-realm discovery on a domain alone (`domain_hint`). */
  async discoverDomain(
    domain: string,
  ): Promise<{ organization: Organization; connections: Connection[] } | undefined> {
    const organization = await this.#deps.orgs.findByVerifiedDomain(domain.trim().toLowerCase());
    if (!organization) return undefined;
    return { organization, connections: await this.usableConnections(organization) };
  }

  async usableConnections(organization: Organization): Promise<Connection[]> {
    const rows = await listConnections(this.#deps.database.db, organization.id, { enabledOnly: true });
    return rows.map(toConnection).filter((connection) => inactiveReason(connection, organization) === null);
  }

  async findConnection(
    id: string,
  ): Promise<{ connection: Connection; organization: Organization } | undefined> {
    const row = await findConnection(this.#deps.database.db, id);
    if (!row) return undefined;
    return { connection: toConnection(row), organization: await this.#deps.orgs.require(row.organizationId) };
  }

  /** Renders the choice of connections (or goes straight to the only one). */
  async sendToOrganization(
    request: FastifyRequest,
    reply: FastifyReply,
    organization: Organization,
    options: { requestHandle?: string | undefined; loginHint?: string | undefined },
  ) {
    const connections = await this.usableConnections(organization);
    if (connections.length === 0) {
      // Same page as for an unknown domain or organization: nothing tells which organizations exist.
      return sendPage(
        reply,
        200,
        loginPage({ email: options.loginHint, request: options.requestHandle, message: NOT_ROUTABLE }),
      );
    }
    if (connections.length === 1) {
      return this.start(request, reply, {
        connection: connections[0] as Connection,
        organization,
        ...options,
      });
    }
    const query = (id: string) => {
      const params = new URLSearchParams({ connection: id });
      if (options.requestHandle) params.set('request', options.requestHandle);
      if (options.loginHint) params.set('login_hint', options.loginHint);
      return `/login/start?${params}`;
    };
    return sendPage(
      reply,
      200,
      pickerPage({
        organizationName: organization.name,
        connections: connections.map((connection) => ({ name: connection.name, href: query(connection.id) })),
      }),
    );
  }

  /** Sends the browser to the IdP: records the flow and the first trace steps. */
  async start(
    request: FastifyRequest,
    reply: FastifyReply,
    input: {
      connection: Connection;
      organization: Organization;
      requestHandle?: string | undefined;
      loginHint?: string | undefined;
    },
  ) {
    const { connection, organization } = input;
    const trace = LoginTrace.start({
      organizationId: organization.id,
      connectionId: connection.id,
      protocol: connection.protocol,
      ip: request.ip,
      userAgent: request.headers['user-agent'],
    });
    let pending: FlowRow | undefined;
    try {
      pending = await this.findLoginRequest(input.requestHandle);
      trace.step(
        'request',
        true,
        `Login started on ${connection.name} (${connection.protocol.toUpperCase()}, ${connection.preset})`,
        {
          organization: organization.slug,
          connection: connection.id,
          loginHint: input.loginHint ?? pending?.loginHint ?? undefined,
          continuation: pending?.continuation?.type,
        },
      );
      const reason = inactiveReason(connection, organization);
      if (reason) {
        throw new LoginFailure({
          code: 'connection_inactive',
          step: 'request',
          reason,
          userMessage: 'This sign-in method is not available. Contact your IT administrator.',
          status: 403,
        });
      }
      const browser = browserBinding(request, reply, this.#deps.config.PUBLIC_URL);
      const handle = newHandle();
      const expiresAt = new Date(Date.now() + this.#deps.config.SSO_FLOW_TTL_SECONDS * 1000);
      const flow = {
        id: hashHandle(handle),
        organizationId: organization.id,
        connectionId: connection.id,
        stage: 'redirected',
        browserBindingHash: hashHandle(browser),
        continuation: pending?.continuation ?? null,
        loginHint: input.loginHint ?? pending?.loginHint ?? null,
        traceId: trace.id,
        expiresAt,
      };
      const loginHint = flow.loginHint ?? undefined;
      if (connection.protocol === 'oidc') {
        const oidc = connection.settings.oidc;
        if (!oidc) throw new Error('OIDC connection without settings');
        const configuration = this.#relyingParty(connection);
        const nonce = client.randomNonce();
        const codeVerifier = oidc.pkce ? client.randomPKCECodeVerifier() : undefined;
        const parameters: Record<string, string> = {
          redirect_uri: connectionUrls(this.#deps.config.PUBLIC_URL, connection.id).redirectUri,
          scope: oidc.scopes.join(' '),
          state: handle,
          nonce,
          response_type: 'code',
        };
        if (oidc.responseMode === 'form_post') parameters.response_mode = 'form_post';
        if (codeVerifier) {
          parameters.code_challenge = await client.calculatePKCECodeChallenge(codeVerifier);
          parameters.code_challenge_method = 'S256';
        }
        if (loginHint) parameters.login_hint = loginHint;
        const url = client.buildAuthorizationUrl(configuration, parameters);
        await insertFlow(this.#deps.database.db, {
          ...flow,
          oidcSecretsSealed: this.#deps.secrets.seal(
            JSON.stringify({ nonce, codeVerifier }),
            `sso_flow:${flow.id}`,
          ),
        });
        trace.step('redirect', true, `Redirected to the IdP's authorization endpoint`, {
          authorizationEndpoint: oidc.authorizationEndpoint,
          scope: parameters.scope,
          pkce: Boolean(codeVerifier),
          responseMode: oidc.responseMode,
          expiresAt: expiresAt.toISOString(),
        });
        await trace.flush(this.#deps.database);
        return reply.redirect(url.href, 302);
      }
      const sp = this.#serviceProvider(connection);
      const requestId = `_${randomBytes(20).toString('hex')}`;
      await insertFlow(this.#deps.database.db, { ...flow, samlRequestId: requestId });
      trace.step(
        'redirect',
        true,
        `Sent a SAML AuthnRequest to the IdP (${connection.settings.saml?.idpSsoBinding === 'post' ? 'HTTP-POST' : 'HTTP-Redirect'})`,
        {
          idpSsoUrl: sp.idpSsoUrl,
          requestId,
          signed: sp.signAuthnRequests,
          expiresAt: expiresAt.toISOString(),
        },
      );
      await trace.flush(this.#deps.database);
      if (connection.settings.saml?.idpSsoBinding === 'post') {
        const xml = await authnRequestXml(sp, requestId);
        return sendPage(
          reply,
          200,
          autoPostPage({
            action: sp.idpSsoUrl,
            title: 'Signing you in…',
            fields: { SAMLRequest: Buffer.from(xml).toString('base64'), RelayState: handle },
          }),
        );
      }
      let url = await authnRequestRedirectUrl(sp, requestId, handle);
      if (loginHint && connection.settings.testIdp) url += `&login_hint=${encodeURIComponent(loginHint)}`;
      return reply.redirect(url, 302);
    } catch (error) {
      return this.#fail(
        request,
        reply,
        {
          trace,
          organization,
          connection,
          continuation: (pending?.continuation as Continuation | null | undefined) ?? null,
        },
        error,
      );
    }
  }

  /** OIDC redirect URI: GET (query) or POST (form_post). */
  async oidcCallback(request: FastifyRequest, reply: FastifyReply, connectionId: string) {
    const params = callbackParams(request);
    const state = params.get('state') ?? undefined;
    const found = await this.findConnection(connectionId);
    if (!found)
      return sendPage(
        reply,
        404,
        errorPage({ title: 'Sign-in failed', message: 'This sign-in link is not valid.' }),
      );
    const { connection, organization } = found;
    // The trace begun at the redirect, when the state matches a flow; a new one otherwise.
    const flowId = state ? hashHandle(state) : undefined;
    const stored = flowId ? await findFlow(this.#deps.database.db, flowId) : undefined;
    const trace =
      stored?.traceId && stored.connectionId === connection.id
        ? LoginTrace.resume(stored.traceId, organization.id)
        : LoginTrace.start({
            organizationId: organization.id,
            connectionId,
            protocol: 'oidc',
            ip: request.ip,
            userAgent: request.headers['user-agent'],
          });
    try {
      trace.step(
        'response_received',
        true,
        `The IdP redirected back (${request.method === 'POST' ? 'form_post' : 'query'})`,
        {
          parameters: [...params.keys()],
          error: params.get('error') ?? undefined,
          errorDescription: params.get('error_description') ?? undefined,
        },
      );
      const flow = await this.#consumeFlow(request, trace, stored, connection, 'state');
      const oidc = connection.settings.oidc;
      if (!oidc) throw new Error('OIDC connection without settings');
      if (params.get('error')) {
        throw new LoginFailure({
          code: 'oidc_idp_error',
          step: 'response_received',
          reason: `The IdP returned error "${params.get('error')}"${params.get('error_description') ? `: ${params.get('error_description')}` : ''}.`,
          userMessage:
            'Your identity provider did not sign you in. It may not have granted you access to this application.',
        });
      }
      const secrets = JSON.parse(
        this.#deps.secrets.open(flow.oidcSecretsSealed ?? '', `sso_flow:${flow.id}`),
      ) as {
        nonce: string;
        codeVerifier?: string;
      };
      const configuration = this.#relyingParty(connection);
      const redirectUri = connectionUrls(this.#deps.config.PUBLIC_URL, connection.id).redirectUri;
      const currentUrl: URL | Request =
        request.method === 'POST'
          ? new Request(redirectUri, {
              method: 'POST',
              headers: { 'content-type': 'application/x-www-form-urlencoded' },
              body: params.toString(),
            })
          : new URL(`${redirectUri}?${params}`);
      let claims: Record<string, unknown>;
      let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
      try {
        tokens = await client.authorizationCodeGrant(configuration, currentUrl, {
          expectedState: state as string,
          expectedNonce: secrets.nonce,
          idTokenExpected: true,
          ...(secrets.codeVerifier ? { pkceCodeVerifier: secrets.codeVerifier } : {}),
        });
        claims = { ...(tokens.claims() ?? {}) };
      } catch (error) {
        throw classifyOidcError(error);
      }
      trace.step('token_exchange', true, 'Exchanged the code at the token endpoint', {
        tokenEndpoint: oidc.tokenEndpoint,
        tokenType: tokens.token_type,
        scope: tokens.scope,
      });
      trace.step('signature_check', true, 'ID token signature, iss, aud, exp, iat and nonce verified', {
        iss: claims.iss,
        aud: claims.aud,
        exp: claims.exp,
      });
      if (oidc.fetchUserInfo && oidc.userinfoEndpoint) {
        try {
          const userinfo = await client.fetchUserInfo(
            configuration,
            tokens.access_token,
            claims.sub as string,
          );
          claims = { ...userinfo, ...claims };
        } catch (error) {
          throw new LoginFailure({
            code: 'oidc_userinfo_failed',
            step: 'claims_received',
            reason: `Reading the userinfo endpoint failed: ${(error as Error).message}.`,
            cause: error,
          });
        }
      }
      trace.step('claims_received', true, `Received ${Object.keys(claims).length} claims`, {
        claims: summarizeClaims(claims),
      });
      const emailVerified = claims.email_verified === false ? false : undefined;
      return await this.#finish(request, reply, {
        trace,
        flow,
        connection,
        organization,
        claims,
        emailVerified,
      });
    } catch (error) {
      const continuation = flowContinuation(stored, connection);
      return this.#fail(request, reply, { trace, organization, connection, continuation }, error);
    }
  }

  /** SAML Assertion Consumer Service (HTTP-POST binding). */
  async samlAcs(request: FastifyRequest, reply: FastifyReply, connectionId: string) {
    const body = (request.body ?? {}) as Record<string, unknown>;
    const found = await this.findConnection(connectionId);
    if (!found)
      return sendPage(
        reply,
        404,
        errorPage({ title: 'Sign-in failed', message: 'This sign-in address is not valid.' }),
      );
    const { connection, organization } = found;
    let trace: LoginTrace | undefined;
    let stored: FlowRow | undefined;
    const fallbackTrace = () =>
      LoginTrace.start({
        organizationId: organization.id,
        connectionId,
        protocol: 'saml',
        ip: request.ip,
        userAgent: request.headers['user-agent'],
      });
    try {
      let envelope: ReturnType<typeof readSamlResponse>;
      try {
        envelope = readSamlResponse(body.SAMLResponse);
      } catch (error) {
        trace = fallbackTrace();
        throw error;
      }
      // Find the flow our AuthnRequest started (InResponseTo); none means IdP-initiated.
      stored = envelope.inResponseTo
        ? await findFlowBySamlRequest(this.#deps.database.db, connection.id, envelope.inResponseTo)
        : undefined;
      trace = stored?.traceId ? LoginTrace.resume(stored.traceId, organization.id) : fallbackTrace();
      trace.step('response_received', true, 'Received a SAML response at the ACS', {
        responseId: envelope.responseId,
        inResponseTo: envelope.inResponseTo,
        destination: envelope.destination,
        issuer: envelope.issuer,
        status: envelope.statusCode,
        encryptedAssertion: envelope.encrypted,
        relayStatePresent: typeof body.RelayState === 'string' && body.RelayState !== '',
      });
      const saml = connection.settings.saml;
      if (!saml) throw new Error('SAML connection without settings');
      let flow: FlowRow | undefined;
      if (envelope.inResponseTo) {
        flow = await this.#consumeFlow(request, trace, stored, connection, 'InResponseTo');
        if (
          typeof body.RelayState === 'string' &&
          body.RelayState &&
          hashHandle(body.RelayState) !== flow.id
        ) {
          throw new LoginFailure({
            code: 'saml_relay_state_mismatch',
            step: 'flow_check',
            reason: 'RelayState does not belong to the login our AuthnRequest started.',
          });
        }
      } else {
        if (!saml.allowIdpInitiated) {
          throw new LoginFailure({
            code: 'saml_idp_initiated_disabled',
            step: 'flow_check',
            reason:
              'The response answers no request of ours (IdP-initiated login), and IdP-initiated login is off for this connection.',
            userMessage:
              'Start signing in from this application’s sign-in page, not from your identity provider’s portal.',
          });
        }
        trace.step('flow_check', true, 'IdP-initiated login (allowed on this connection)');
      }
      checkStatus(envelope);
      const sp = this.#serviceProvider(connection);
      const verified = await verifySignature(sp, envelope, body.SAMLResponse as string);
      refuseWeakAlgorithms(envelope, verified);
      if (saml.requireEncryptedAssertions && !envelope.encrypted) {
        throw new LoginFailure({
          code: 'saml_assertion_not_encrypted',
          step: 'signature_check',
          reason: 'This connection requires encrypted assertions; the IdP sent a plain one.',
        });
      }
      trace.step('signature_check', true, describeVerifiedSignature(envelope, verified), {
        // Which signature was relied on, and which elements carried one (keys avoid the redacted
        // words "assertion" and "signature").
        verified: verified.signedBy,
        signed: [
          ...(envelope.responseSigned ? ['response'] : []),
          ...(verified.assertionSigned ? ['assertion'] : []),
        ],
        encrypted: envelope.encrypted,
      });
      const now = new Date();
      checkIssuer(sp, envelope, verified);
      checkDestination(sp, envelope, verified);
      checkSubjectConfirmation(sp, verified, flow?.samlRequestId ?? undefined, now);
      const { expiresAt } = checkConditions(sp, verified, now);
      refuseComments(envelope, verified);
      trace.step(
        'message_checks',
        true,
        'Issuer, Destination, Recipient, InResponseTo, validity window and audience checked',
        {
          issuer: saml.idpEntityId,
          audience: sp.spEntityId,
          clockSkewSeconds: saml.clockSkewSeconds,
        },
      );
      const claims = readAssertionClaims(verified);
      const fresh = await recordAssertionId(this.#deps.database.db, {
        organizationId: organization.id,
        connectionId: connection.id,
        issuer: saml.idpEntityId,
        assertionId: claims.assertionId,
        expiresAt,
      });
      if (!fresh) {
        throw new LoginFailure({
          code: 'saml_assertion_replayed',
          step: 'replay_check',
          reason: `Assertion ${claims.assertionId} was already used; a SAML assertion is accepted once.`,
        });
      }
      trace.step('replay_check', true, 'Assertion id not seen before; recorded until it expires', {
        assertionId: claims.assertionId,
        keptUntil: expiresAt.toISOString(),
      });
      const attributes: Record<string, unknown> = { ...claims.attributes, [NAMEID_SOURCE]: claims.nameId };
      trace.step(
        'claims_received',
        true,
        `Received NameID and ${Object.keys(claims.attributes).length} attributes`,
        {
          nameId: claims.nameId,
          nameIdFormat: claims.nameIdFormat,
          attributes: summarizeClaims(claims.attributes),
        },
      );
      return await this.#finish(request, reply, {
        trace,
        flow,
        connection,
        organization,
        claims: attributes,
      });
    } catch (error) {
      const continuation = flowContinuation(stored, connection);
      return this.#fail(
        request,
        reply,
        { trace: trace ?? fallbackTrace(), organization, connection, continuation },
        error,
      );
    }
  }

  /** Checks and consumes the flow an IdP answer refers to (one-time, unexpired, same browser). */
  async #consumeFlow(
    request: FastifyRequest,
    trace: LoginTrace,
    stored: FlowRow | undefined,
    connection: Connection,
    handleName: string,
  ): Promise<FlowRow> {
    if (!stored || stored.connectionId !== connection.id || stored.stage === 'pending') {
      throw new LoginFailure({
        code: connection.protocol === 'oidc' ? 'oidc_state_mismatch' : 'saml_in_response_to_unknown',
        step: 'flow_check',
        reason: `The ${handleName} does not match any login started on this connection.`,
        userMessage: 'This sign-in attempt is not valid any more. Please start again.',
      });
    }
    const flow = await consumeFlow(this.#deps.database.db, stored.id, new Date());
    if (!flow) {
      // Consumed before (a replay or double submit), or just now by another request (a lost race):
      // either way this answer is not the login's outcome, so it is traced as an attempt of its
      // own and the login's trace (perhaps succeeded) stays as it is. A flow that merely ran out
      // of time was never answered: that login failed, on its own trace.
      const used =
        stored.consumedAt !== null ||
        stored.stage !== 'redirected' ||
        stored.expiresAt.getTime() >= Date.now();
      const expired = !used;
      if (used) {
        trace.detach({
          connectionId: connection.id,
          protocol: connection.protocol,
          ip: request.ip,
          userAgent: request.headers['user-agent'],
        });
      }
      throw new LoginFailure({
        code: expired ? 'flow_expired' : 'flow_already_used',
        step: 'flow_check',
        reason: expired
          ? `The login started at ${stored.createdAt.toISOString()} expired at ${stored.expiresAt.toISOString()}.`
          : `This answer was already used${stored.traceId ? ` by login trace ${stored.traceId}` : ''} (a replayed or double-submitted response).`,
        ...(!expired && stored.traceId ? { data: { answeredLogin: stored.traceId } } : {}),
        userMessage: expired
          ? 'The sign-in took too long. Please start again.'
          : 'This sign-in attempt was already used. Please start again.',
      });
    }
    const cookie = readCookie(request, BROWSER_COOKIE);
    if (!cookie || hashHandle(cookie) !== flow.browserBindingHash) {
      throw new LoginFailure({
        code: 'browser_mismatch',
        step: 'flow_check',
        reason: cookie
          ? 'The answer came back to a different browser than the one that started the login (login CSRF protection).'
          : 'The browser sent no login cookie: it did not start this login, blocks cookies, or the hub is served over http to a cross-site IdP (SameSite).',
        userMessage:
          'This sign-in was started in another browser or your browser blocked cookies. Please start again here.',
      });
    }
    trace.step('flow_check', true, `${handleName} matches the login started here; consumed (one-time)`, {
      startedAt: flow.createdAt.toISOString(),
    });
    return flow;
  }

  /** Mapping, user decision, events, completion. */
  async #finish(
    request: FastifyRequest,
    reply: FastifyReply,
    input: {
      trace: LoginTrace;
      flow: FlowRow | undefined;
      connection: Connection;
      organization: Organization;
      claims: Record<string, unknown>;
      emailVerified?: false | undefined;
    },
  ) {
    const { trace, connection, organization } = input;
    const mapped = applyMapping(connection.mapping, input.claims);
    const problems = mappingProblems(mapped);
    const profile = mapped.profile;
    trace.set({ email: profile.email ?? null, subject: profile.subject ?? null });
    if (!profile.email || !profile.subject) {
      const sent = Object.keys(input.claims).filter((key) => key !== NAMEID_SOURCE);
      throw new LoginFailure({
        code: !profile.email ? 'mapping_no_email' : 'mapping_no_subject',
        step: 'mapping',
        reason: !profile.email
          ? `The mapping found no usable email: ${problems.join('; ')}. The IdP sent: ${sent.join(', ') || '(no attributes)'}.`
          : `The mapping found no subject: none of ${JSON.stringify(connection.mapping.subject)} was sent.`,
        data: { missing: mapped.missing, invalid: mapped.invalid, sent },
        userMessage:
          'Your identity provider did not send your email address. Your IT administrator needs to adjust the single sign-on settings.',
      });
    }
    trace.step('mapping', true, `Mapped to ${profile.email}`, {
      profile: { ...profile },
      sources: mapped.sources,
      missing: mapped.missing.map((item) => item.field),
    });
    const actor: Actor = {
      ...SSO_ACTOR_BASE,
      id: connection.id,
      name: connection.name,
      ip: request.ip,
      requestId: String(request.id),
    };
    const decision = await this.#deps.database.transaction((tx) =>
      this.#decideUser(tx, {
        connection,
        organization,
        profile,
        actor,
        emailVerified: input.emailVerified,
        traceId: trace.id,
      }),
    );
    trace.step('user_decision', true, decision.summary, {
      userId: decision.user.id,
      decision: decision.kind,
      groups: decision.groups,
    });
    trace.set({ userId: decision.user.id });
    trace.step('outcome', true, 'Signed in');
    trace.succeed();
    await trace.flush(this.#deps.database);
    const connectionInfo = {
      id: connection.id,
      name: connection.name,
      protocol: connection.protocol,
      preset: connection.preset,
    };
    const continuation = (input.flow?.continuation as Continuation | null | undefined) ?? null;
    const completion: LoginCompletion = {
      request,
      reply,
      user: decision.user,
      organization,
      connection: connectionInfo,
      traceId: trace.id,
      continuation,
      created: decision.kind === 'created',
      recordTrace: (ok, message, data) =>
        this.#recordCompletionTrace(organization.id, trace.id, ok, message, data),
    };
    return this.#complete(completion);
  }

  /** Completion steps, then the continuation's handler, a default completion, or the signed-in page. */
  async #complete(completion: LoginCompletion) {
    const { reply } = completion;
    for (const step of this.#steps) {
      try {
        await step.run(completion);
      } catch (error) {
        this.#deps.logger.error(
          { err: error, step: step.name, traceId: completion.traceId },
          'login completion step failed; continuing',
        );
        await completion.recordTrace(
          false,
          `Completion step ${step.name} failed: ${(error as Error).message}`,
        );
      }
      if (reply.sent) return reply;
    }
    const { continuation } = completion;
    if (continuation) {
      const handler = this.#completions.get(continuation.type);
      if (!handler) {
        this.#deps.logger.error(
          { type: continuation.type },
          'no completion handler registered for continuation',
        );
        return sendPage(
          reply,
          500,
          errorPage({
            title: 'Sign-in failed',
            message: 'You were signed in, but the application that asked for it is not available.',
            traceId: completion.traceId,
          }),
        );
      }
      return handler({ ...completion, continuation });
    }
    for (const { name, handler } of this.#defaultCompletions) {
      try {
        if ((await handler(completion)) || reply.sent) return reply;
      } catch (error) {
        this.#deps.logger.error(
          { err: error, completion: name, traceId: completion.traceId },
          'default login completion failed; showing the signed-in page',
        );
        await completion.recordTrace(false, `Default completion ${name} failed: ${(error as Error).message}`);
        if (reply.sent) return reply;
      }
    }
    const groups = (await this.#deps.directory.listUserGroups(completion.user.id)).map((group) => group.name);
    return sendPage(
      reply,
      200,
      signedInPage({
        user: completion.user,
        organization: completion.organization,
        connection: completion.connection,
        traceId: completion.traceId,
        created: completion.created,
        groups,
      }),
    );
  }

  async #recordCompletionTrace(
    organizationId: string,
    traceId: string,
    ok: boolean,
    message: string,
    data?: Record<string, unknown>,
  ): Promise<void> {
    try {
      const trace = LoginTrace.resume(traceId, organizationId);
      trace.step('completion', ok, message, data);
      await trace.flush(this.#deps.database);
    } catch (error) {
      this.#deps.logger.warn({ err: error, traceId }, 'could not append to a login trace');
    }
  }

  /** JIT creation, account linking or refusal; attribute and group updates; login events. */
  async #decideUser(
    tx: Tx,
    input: {
      connection: Connection;
      organization: Organization;
      profile: MappedProfile;
      actor: Actor;
      emailVerified: false | undefined;
      traceId: string;
    },
  ): Promise<{ user: UserView; kind: 'existing' | 'linked' | 'created'; summary: string; groups?: unknown }> {
    const { connection, organization, profile, actor } = input;
    const directory = this.#deps.directory;
    const ctx = { actor, tx, source: 'sso' };
    const subject = profile.subject as string;
    const email = profile.email as string;
    let kind: 'existing' | 'linked' | 'created';
    let user: UserView;
    const identity = await directory.findIdentity(organization.id, connection.id, subject, tx);
    if (identity) {
      user = await directory.getUser(identity.userId, tx);
      kind = 'existing';
    } else {
      const existing = await directory.findUserByEmail(organization.id, email, tx);
      if (existing) {
        await this.#checkLinkingAllowed(tx, organization, email, input.emailVerified);
        user = existing;
        kind = 'linked';
      } else {
        if (!organization.policies.jitProvisioning) {
          throw new LoginFailure({
            code: 'jit_disabled',
            step: 'user_decision',
            reason: `No user ${email} exists in ${organization.slug}, and just-in-time provisioning is off for this organization.`,
            userMessage: 'You do not have an account here yet. Ask your IT administrator for access.',
            status: 403,
          });
        }
        await this.#checkJitEmailDomain(tx, organization, email);
        user = await directory.createUser(organization.id, userInput(profile), ctx);
        kind = 'created';
      }
    }
    if (user.status !== 'active') {
      throw new LoginFailure({
        code: user.status === 'suspended' ? 'user_suspended' : 'user_deprovisioned',
        step: 'user_decision',
        reason: `User ${user.id} (${user.email}) is ${user.status}; sign-in refused.`,
        userMessage:
          user.status === 'suspended'
            ? 'Your account is suspended. Contact your IT administrator.'
            : 'Your account has been deactivated. Contact your IT administrator if you think this is a mistake.',
        status: 403,
      });
    }
    const identityProfile = { ...profile } as Record<string, unknown>;
    await directory.linkIdentity(
      {
        organizationId: organization.id,
        userId: user.id,
        providerType: 'connection',
        providerId: connection.id,
        subject,
        profile: identityProfile,
      },
      ctx,
    );
    if (kind !== 'created') {
      const update = userInput(profile);
      const { email: _email, ...rest } = update;
      // The email follows the IdP only when no other user has it.
      const emailChange =
        user.email?.toLowerCase() !== email && !(await directory.findUserByEmail(organization.id, email, tx))
          ? { email }
          : {};
      user = await directory.updateUser(user.id, { ...rest, ...emailChange }, ctx);
    }
    let groups: unknown;
    if (connection.settings.groups.sync && connection.mapping.groups) {
      groups = await directory.syncUserGroups(
        user.id,
        profile.groups,
        { source: `sso:${connection.id}`, createMissing: connection.settings.groups.createMissing },
        ctx,
      );
    }
    await directory.recordLogin(organization.id, user.id, tx);
    await this.#deps.events.append(tx, {
      organizationId: organization.id,
      type: 'login.succeeded',
      actor,
      subjectType: 'user',
      subjectId: user.id,
      data: {
        connectionId: connection.id,
        protocol: connection.protocol,
        traceId: input.traceId,
        decision: kind,
        email,
      },
    });
    const summary =
      kind === 'created'
        ? `Created user ${user.id} (JIT provisioning on)`
        : kind === 'linked'
          ? `Linked to existing user ${user.id} by email (policy ${organization.policies.accountLinking})`
          : `Known identity of user ${user.id}; attributes updated`;
    return { user, kind, summary, groups };
  }

  /**
   * The `jitEmailDomains` policy: with `verified_domains`, JIT creates users only for emails on
   * one of the organization's verified domains (an IdP can assert any address; a guest account or
   * a misconfigured claim would otherwise become a user of this organization).
   */
  async #checkJitEmailDomain(tx: Tx, organization: Organization, email: string) {
    if (organization.policies.jitEmailDomains !== 'verified_domains') return;
    const domain = email.split('@')[1] ?? '';
    const domains = await this.#deps.orgs.verifiedDomains(organization.id, tx);
    if (domains.includes(domain)) return;
    throw new LoginFailure({
      code: 'jit_domain_not_verified',
      step: 'user_decision',
      reason: `No user ${email} exists in ${organization.slug}, and just-in-time provisioning only creates users on the organization's verified domains (policy jitEmailDomains "verified_domains"): ${domain} is not one of them (${domains.length ? `verified: ${domains.join(', ')}` : 'none is verified'}). To let this IdP create users on ${domain}, add and verify ${domain} for ${organization.slug}, or set the policy to "any"; or create the user another way (SCIM, import, API).`,
      data: { domain, verifiedDomains: domains },
      userMessage:
        'You do not have an account here yet, and your email address is not on one of your organization’s domains. Ask your IT administrator for access.',
      status: 403,
    });
  }

  async #checkLinkingAllowed(
    tx: Tx,
    organization: Organization,
    email: string,
    emailVerified: false | undefined,
  ) {
    const policy = organization.policies.accountLinking;
    const domain = email.split('@')[1] ?? '';
    const refuse = (reason: string) =>
      new LoginFailure({
        code: 'account_linking_refused',
        step: 'user_decision',
        reason,
        userMessage:
          'An account with your email already exists and cannot be linked to this sign-in method. Contact your IT administrator.',
        status: 403,
      });
    if (policy === 'never')
      throw refuse(`A user with email ${email} exists and the organization's linking policy is "never".`);
    if (emailVerified === false)
      throw refuse(
        `The IdP says ${email} is not verified (email_verified: false); not linking to the existing user.`,
      );
    if (policy === 'verified_domain') {
      const domains = await this.#deps.orgs.verifiedDomains(organization.id, tx);
      if (!domains.includes(domain)) {
        throw refuse(
          `A user with email ${email} exists, but ${domain} is not a verified domain of the organization (policy "verified_domain").`,
        );
      }
    }
  }

  /**
   * Records a failed login (trace, `login.failed`) and answers it: the continuation's failure
   * handler when the flow has one (see registerFailure), the end-user error page otherwise.
   */
  async #fail(
    request: FastifyRequest,
    reply: FastifyReply,
    context: {
      trace: LoginTrace;
      organization: Organization;
      connection: Connection;
      /** The continuation of the flow this answer belongs to, when it was found on this connection. */
      continuation: Continuation | null | undefined;
    },
    error: unknown,
  ) {
    const { trace, organization, connection, continuation } = context;
    const failure =
      error instanceof LoginFailure
        ? error
        : new LoginFailure({
            code: 'internal_error',
            step: 'outcome',
            reason: `Unexpected error: ${error instanceof Error ? error.message : String(error)}`,
            status: 500,
            cause: error,
          });
    if (failure.code === 'internal_error')
      this.#deps.logger.error({ err: error, traceId: trace.id }, 'SSO login failed unexpectedly');
    else
      request.log.info(
        { code: failure.code, traceId: trace.id, connectionId: connection.id },
        'SSO login refused',
      );
    trace.step(failure.step, false, failure.message, failure.data);
    trace.step('outcome', false, `Failed: ${failure.code}`);
    trace.fail(failure.code, failure.message);
    try {
      await trace.flush(this.#deps.database);
      await this.#deps.database.transaction((tx) =>
        this.#deps.events.append(tx, {
          organizationId: organization.id,
          type: 'login.failed',
          actor: {
            type: 'sso',
            id: connection.id,
            name: connection.name,
            ip: request.ip,
            requestId: String(request.id),
          },
          subjectType: 'connection',
          subjectId: connection.id,
          data: {
            connectionId: connection.id,
            protocol: connection.protocol,
            traceId: trace.id,
            code: failure.code,
          },
        }),
      );
    } catch (writeError) {
      this.#deps.logger.error({ err: writeError, traceId: trace.id }, 'could not record a failed login');
    }
    const handler = continuation ? this.#failures.get(continuation.type) : undefined;
    if (continuation && handler) {
      try {
        return await handler({
          request,
          reply,
          organization,
          connection: {
            id: connection.id,
            name: connection.name,
            protocol: connection.protocol,
            preset: connection.preset,
          },
          traceId: trace.id,
          continuation,
          code: failure.code,
          status: failure.status,
        });
      } catch (handlerError) {
        this.#deps.logger.error(
          { err: handlerError, type: continuation.type, traceId: trace.id },
          'login failure handler failed; showing the error page',
        );
        if (reply.sent) return reply;
      }
    }
    return sendPage(
      reply,
      failure.status,
      errorPage({ title: 'Sign-in failed', message: failure.userMessage, traceId: trace.id }),
    );
  }

  #relyingParty(connection: Connection) {
    const oidc = connection.settings.oidc;
    if (!oidc) throw new Error('not an OIDC connection');
    const secret = connection.row.clientSecretSealed
      ? this.#deps.secrets.open(connection.row.clientSecretSealed, clientSecretContext(connection.id))
      : undefined;
    return this.#deps.relyingParties.configuration(connection.id, connection.row.version, oidc, secret);
  }

  #serviceProvider(connection: Connection): ServiceProviderOptions {
    const saml = connection.settings.saml;
    if (!saml) throw new Error('not a SAML connection');
    const urls = connectionUrls(this.#deps.config.PUBLIC_URL, connection.id);
    const privateKey = connection.settings.testIdp
      ? undefined
      : this.#deps.secrets.open(connection.row.privateKeySealed ?? '', privateKeyContext(connection.id));
    return {
      spEntityId: urls.spEntityId,
      acsUrl: urls.acsUrl,
      idpEntityId: saml.idpEntityId,
      idpSsoUrl: saml.idpSsoUrl,
      idpCertificates: saml.idpCertificates,
      spPrivateKey: privateKey ?? '',
      signAuthnRequests: saml.signAuthnRequests && Boolean(privateKey),
      nameIdFormat: saml.nameIdFormat,
      clockSkewSeconds: saml.clockSkewSeconds,
    };
  }
}

function userInput(profile: MappedProfile) {
  const attributes: Record<string, unknown> = { ...profile.attributes };
  for (const key of ['employee_id', 'department', 'title'] as const)
    if (profile[key]) attributes[key] = profile[key];
  return {
    email: profile.email as string,
    ...(profile.given_name ? { givenName: profile.given_name } : {}),
    ...(profile.family_name ? { familyName: profile.family_name } : {}),
    ...(profile.name ? { displayName: profile.name } : {}),
    ...(profile.employee_id ? { externalIds: { employee_id: profile.employee_id } } : {}),
    ...(Object.keys(attributes).length ? { profile: attributes } : {}),
  };
}

/**
 * Maps openid-client / oauth4webapi errors to stable codes. openid-client wraps oauth4webapi's
 * errors (`cause`), whose message and `cause.claim` say which check failed.
 */
function classifyOidcError(error: unknown): LoginFailure {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current && depth < 4; depth++) {
    const item = current as {
      message?: unknown;
      code?: unknown;
      error?: unknown;
      error_description?: unknown;
      claim?: unknown;
    };
    for (const value of [item.message, item.code, item.error, item.error_description, item.claim]) {
      if (typeof value === 'string') parts.push(value);
    }
    current = (current as { cause?: unknown }).cause;
  }
  const text = parts.join(' | ');
  const rules: Array<[RegExp, string]> = [
    [/invalid_grant|code_verifier|pkce/i, 'oidc_code_rejected'],
    [/"state"|\bstate\b/i, 'oidc_state_mismatch'],
    [/nonce/i, 'oidc_nonce_mismatch'],
    [/"iss"|issuer/i, 'oidc_issuer_mismatch'],
    [/"aud"|audience|"azp"/i, 'oidc_audience_mismatch'],
    [/"nbf"|"iat"|future/i, 'oidc_token_not_yet_valid'],
    [/"exp"|expir/i, 'oidc_token_expired'],
    [/alg|signature|JWS|verification key|applicable keys|runtime operation/i, 'oidc_signature_invalid'],
  ];
  const detail = parts.slice(0, 3).join(': ');
  for (const [pattern, code] of rules) {
    if (pattern.test(text)) {
      return new LoginFailure({
        code,
        step: 'token_exchange',
        reason: `The IdP's answer was refused: ${detail}.`,
        cause: error,
      });
    }
  }
  return new LoginFailure({
    code: 'oidc_token_exchange_failed',
    step: 'token_exchange',
    reason: `The code exchange failed: ${detail}.`,
    cause: error,
  });
}

function callbackParams(request: FastifyRequest): URLSearchParams {
  if (request.method === 'POST') {
    const body = (request.body ?? {}) as Record<string, unknown>;
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(body)) if (typeof value === 'string') params.set(key, value);
    return params;
  }
  const query = (request.query ?? {}) as Record<string, unknown>;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (typeof value === 'string') params.set(key, value);
  return params;
}

export function readCookie(request: FastifyRequest, name: string): string | undefined {
  const header = request.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return decodeURIComponent(rest.join('='));
  }
  return undefined;
}

/**
 * The browser's login cookie: a random value whose hash each flow records, so an IdP answer is
 * only accepted in the browser that started the login. Over https it is SameSite=None; Secure
 * (a SAML response arrives as a cross-site POST); over http, SameSite=Lax.
 */
/**
 * The continuation of the flow an IdP's answer was matched to (by state or InResponseTo), when that
 * flow was started on this connection: what a failure of this answer is handed to. An answer that
 * matches no flow of ours has none, so it can only ever get the end-user error page.
 */
function flowContinuation(stored: FlowRow | undefined, connection: Connection): Continuation | null {
  if (!stored || stored.connectionId !== connection.id || stored.stage === 'pending') return null;
  return (stored.continuation as Continuation | null | undefined) ?? null;
}

function browserBinding(request: FastifyRequest, reply: FastifyReply, publicUrl: string): string {
  const existing = readCookie(request, BROWSER_COOKIE);
  if (existing && /^[A-Za-z0-9_-]{43}$/.test(existing)) return existing;
  const value = newHandle();
  const secure = publicUrl.startsWith('https://');
  const path = new URL(publicUrl).pathname.replace(/\/$/, '') || '/';
  reply.header(
    'set-cookie',
    `${BROWSER_COOKIE}=${value}; Path=${path}; HttpOnly; Max-Age=86400; ${secure ? 'SameSite=None; Secure' : 'SameSite=Lax'}`,
  );
  return value;
}

export function sendPage(reply: FastifyReply, status: number, html: string) {
  return reply
    .status(status)
    .header('cache-control', 'no-store')
    .header(
      'content-security-policy',
      "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; form-action *; frame-ancestors 'none'; base-uri 'none'",
    )
    .type('text/html; charset=utf-8')
    .send(html);
}
