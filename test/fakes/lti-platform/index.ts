/**
 * Fake LTI 1.3 platform (an LMS as an LTI tool sees it), strict where an LTI tool can go wrong.
 * One instance is one platform of one profile (`canvas`, `moodle` or `blackboard`, see
 * profiles.ts for each one's facts and sources) on `127.0.0.1:0`. References: 1EdTech LTI Core
 * 1.3, Security Framework 1.0 (§5.1.1 OIDC third-party initiated login, §4.1 client credentials
 * with a JWT client assertion, RFC 7523), Deep Linking 2.0, Assignment and Grade Services 2.0,
 * Names and Role Provisioning Services 2.0, LTI Client Side postMessages / postMessage Storage
 * (drafts v0p1); shared/reference/flow-of-work.md §4; ltijs 5.9 `Utils/Auth.js` (the checks a tool
 * makes, and so the forged launches this fake can produce).
 *
 *   (profile path)          OIDC authorization endpoint: GET or POST, answers with an
 *                           auto-submitting form_post of id_token + state to the redirect URI
 *   (profile path)          token endpoint: client_credentials + RS256 client assertion
 *   (profile path)          JWKS with rotation (`rotateKey`, `retireKey`, `jwksFetches`)
 *   (profile paths)         AGS line items / line item / scores / results, NRPS memberships
 *   (profile path)          deep-linking return (form field `JWT`)
 *   (profile path)          platform storage frame (Canvas, Blackboard)
 *   /_fake/launches/{id}/start   starts a launch in a browser: 302 to the tool's login URL (GET
 *                                profiles) or an auto-submitting form (POST profiles)
 *   /_fake/launches/{id}/course  the LMS page that embeds the launch in an iframe beside the
 *                                storage frame (for Chromium tests with third-party cookies off)
 *
 * Set the stage with `registerTool`, `addCourse`, `addUser`, `enrol`; start a launch with
 * `startLaunch` (optionally `forgery: …`, see `LaunchForgery`); assert on `launches`, `authErrors`,
 * `tokensIssued`, `tokenRefusals`, `scores`, `lineItems`, `deepLinkResults`, `deepLinkRefusals`,
 * `storageEvents`, `jwksFetches`, `requests`.
 *
 * Stricter than the vendors, on purpose (each says where a real LMS is more lenient):
 * - The auth request must carry `state` (Canvas treats it as optional; the spec RECOMMENDS it)
 *   and `prompt=none` (Moodle accepts it empty), `response_mode=form_post` (Blackboard's own
 *   sample omits it). redirect_uri must match a registered one exactly.
 * - The token endpoint refuses a replayed `jti` (Canvas skips the check, Moodle has none) and an
 *   `aud` other than its token URL (Moodle does not check `aud`), and requires `iat`, `exp` and
 *   `jti` (Security Framework §4.1.1).
 * - AGS/NRPS reads must send an `Accept` naming the media type (406 otherwise) and writes the
 *   exact `Content-Type` (415); `requireAcceptMediaType: false` relaxes the first.
 * - A score whose timestamp equals the last one recorded for that user is refused like an older
 *   one (Canvas accepts an equal one; AGS §3.4.9 says a tool MUST NOT send it), and timestamps
 *   must have sub-second precision and a time zone (AGS §3.4.9 MUST).
 *
 * Deliberately NOT refused, although the issue's brief asked for it: `scoreGiven > scoreMaximum`.
 * AGS 2.0 §3.4.4 says "The platform MUST support scoreGiven higher than scoreMaximum" (extra
 * credit; Canvas and Brightspace accept it). The fake accepts it and marks the score
 * `aboveMaximum: true`, so a test can assert the hub never sends one by accident.
 *
 * CHOSEN where no spec or vendor says: services answer 401 (`WWW-Authenticate: Bearer
 * error="invalid_token"`) for a missing/unknown/expired token and 403 `insufficient_scope` for a
 * token without the scope (RFC 6750 §3.1); token endpoint errors are RFC 6749 §5.2 JSON, 401 for
 * `invalid_client`, 400 otherwise; a tool may use a course's services only where it is installed
 * (a launch installs it) and sees only its own line items (404 otherwise); there is no platform
 * session (the launch is found by `lti_message_hint`, the user by `login_hint`).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import {
  type CryptoKey,
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  type JWK,
  type JWTPayload,
  jwtVerify,
  SignJWT,
} from 'jose';
import { FakeClock } from '../fake-clock.ts';
import {
  type FakeRequest,
  type FakeResponse,
  type LoggedRequest,
  parseBearer,
  startFakeHttpServer,
} from '../hr-fake-server.ts';
import { createRsaSigningKey, unsignedJwt } from '../rsa-signing-keys.ts';
import {
  ACTIVITY_PROGRESS,
  AGS_SCOPES,
  ALL_SERVICE_SCOPES,
  CLAIM,
  CLIENT_ASSERTION_TYPE,
  COURSE_OFFERING,
  expandRole,
  GRADING_PROGRESS,
  LTI_VERSION,
  MEDIA_TYPE,
  MESSAGE_TYPE,
  SCOPE,
} from './claims.ts';
import { autoSubmitFormPage, coursePage, errorPage, messagePage, storageFramePage } from './pages.ts';
import { LTI_PROFILES, type LtiProfile, type LtiProfileName, type ServiceRoute } from './profiles.ts';

export * from './claims.ts';
export { LTI_PROFILES, type LtiProfile, type LtiProfileName } from './profiles.ts';

// ── Public types ────────────────────────────────────────────────────────────────────────────

export type LaunchForgery =
  /** Signed with an unpublished key under the kid of the published signing key. */
  | 'wrong-key'
  /** Signed with a key whose kid the JWKS never publishes, even after a refetch. */
  | 'unknown-kid'
  /** `alg: none`, no signature. */
  | 'alg-none'
  /** HS256 keyed with the platform's public modulus (algorithm confusion). */
  | 'alg-hs256'
  /** `iss` of another platform. */
  | 'wrong-iss'
  /** `aud` another client id. */
  | 'wrong-aud'
  /** `aud` an array with the tool's client id and another, `azp` the other one. */
  | 'azp-mismatch'
  /** The nonce of the tool's previous genuine launch on this platform (one it already accepted). */
  | 'reused-nonce'
  /** A nonce the tool never sent. */
  | 'wrong-nonce'
  /** `exp` an hour ago. */
  | 'expired'
  | 'missing-deployment-id'
  /** A deployment id the tool was never given. */
  | 'unknown-deployment-id'
  /** `version: "1.1.0"`. */
  | 'wrong-version'
  | 'missing-version'
  /** A message type no tool handles (`LtiUnknownMessageRequest`). */
  | 'unknown-message-type'
  | 'missing-sub'
  | 'missing-roles'
  | 'missing-resource-link-id'
  | 'missing-target-link-uri'
  /** A valid id_token posted with another `state` than the tool sent. */
  | 'state-mismatch';

export const LAUNCH_FORGERIES: LaunchForgery[] = [
  'wrong-key',
  'unknown-kid',
  'alg-none',
  'alg-hs256',
  'wrong-iss',
  'wrong-aud',
  'azp-mismatch',
  'reused-nonce',
  'wrong-nonce',
  'expired',
  'missing-deployment-id',
  'unknown-deployment-id',
  'wrong-version',
  'missing-version',
  'unknown-message-type',
  'missing-sub',
  'missing-roles',
  'missing-resource-link-id',
  'missing-target-link-uri',
  'state-mismatch',
];

/** Canvas's privacy levels: what identity claims a launch and NRPS carry. */
export type LtiPrivacy = 'public' | 'name_only' | 'email_only' | 'anonymous';

export interface LtiToolRegistration {
  clientId: string;
  name: string;
  /** The tool's OIDC login initiation URL. */
  loginInitiationUrl: string;
  /** Registered redirect URIs; the auth request's redirect_uri must be one of them exactly. */
  redirectUris: string[];
  /** The tool's key set: client assertions and deep-linking responses are verified against it. */
  jwksUrl: string;
  /** Default target_link_uri of resource link launches. */
  targetLinkUri: string;
  /** target_link_uri of deep-linking requests. */
  deepLinkingUrl: string | undefined;
  deploymentIds: string[];
  /** Service scopes the tool may request (default: all AGS and NRPS scopes). */
  scopes: string[];
  privacy: LtiPrivacy;
  custom: Record<string, string>;
}

export interface LtiUser {
  id: string;
  name: string;
  givenName: string;
  familyName: string;
  email: string;
}

export interface LtiMembership {
  roles: string[];
  status: 'Active' | 'Inactive' | 'Deleted';
}

export interface LtiCourse {
  id: string;
  label: string;
  title: string;
  members: Map<string, LtiMembership>;
  /** clientId → deploymentId of the tools installed in the course. */
  installations: Map<string, string>;
}

export interface LtiLineItem {
  /** The line item's URL (its `id` in AGS). */
  id: string;
  itemId: string;
  courseId: string;
  clientId: string;
  deploymentId: string;
  label: string;
  scoreMaximum: number;
  resourceId?: string;
  tag?: string;
  resourceLinkId?: string;
  startDateTime?: string;
  endDateTime?: string;
}

export interface LtiScoreRecord {
  at: number;
  clientId: string;
  lineItemId: string;
  userId: string;
  score: Record<string, unknown>;
  /** Milliseconds since the epoch of the score's timestamp. */
  timestampMs: number;
  /** scoreGiven > scoreMaximum: allowed by AGS §3.4.4, flagged so tests can assert on it. */
  aboveMaximum: boolean;
}

export interface ScoreRefusal {
  at: number;
  clientId: string;
  lineItemId: string;
  status: number;
  reason: string;
  body: unknown;
}

export interface DeepLinkingOptions {
  acceptTypes?: string[];
  acceptPresentationDocumentTargets?: string[];
  acceptMultiple?: boolean;
  autoCreate?: boolean;
  title?: string;
  text?: string;
}

export interface StartLaunchOptions {
  clientId: string;
  userId: string;
  courseId: string;
  /** Default: the deployment installed in the course, else the tool's first. */
  deploymentId?: string;
  messageType?: typeof MESSAGE_TYPE.resourceLink | typeof MESSAGE_TYPE.deepLinkingRequest;
  resourceLink?: { id?: string; title?: string; description?: string };
  /** Creates a line item bound to the resource link; the AGS claim then carries `lineitem`. */
  lineItem?: { label?: string; scoreMaximum: number; resourceId?: string; tag?: string };
  /** Default: the user's roles in the course (enrolled as Learner when not a member). */
  roles?: string[];
  custom?: Record<string, string>;
  targetLinkUri?: string;
  /** `array`: `aud` is [clientId, another] with `azp` = clientId (OIDC Core §2). */
  audience?: 'string' | 'array';
  deepLinking?: DeepLinkingOptions;
  forgery?: LaunchForgery;
  presentation?: { documentTarget?: 'iframe' | 'window'; returnUrl?: string };
}

export type LaunchInitiation =
  | { method: 'GET'; url: string; fields: Record<string, string> }
  | { method: 'POST'; action: string; fields: Record<string, string> };

export interface LaunchRecord {
  id: string;
  at: number;
  clientId: string;
  deploymentId: string;
  userId: string;
  courseId: string;
  messageType: string;
  resourceLinkId: string | undefined;
  resourceLinkTitle: string;
  resourceLinkDescription: string | undefined;
  presentation: { documentTarget?: 'iframe' | 'window'; returnUrl?: string };
  lineItemId: string | undefined;
  targetLinkUri: string;
  roles: string[];
  custom: Record<string, string>;
  audience: 'string' | 'array';
  forgery: LaunchForgery | undefined;
  loginHint: string;
  messageHint: string;
  /** Login initiation as the LMS sends it: GET with a query, or a POST form. */
  initiation: LaunchInitiation;
  /** Opens the launch in a browser (302 or auto-submitting form). */
  startUrl: string;
  /** The LMS page embedding the launch in an iframe beside the storage frame. */
  coursePageUrl: string;
  deepLinking: (Required<DeepLinkingOptions> & { returnUrl: string; data: string }) | undefined;
  status: 'initiated' | 'answered';
  /** The tool's auth request, as received. */
  authRequest?: Record<string, string>;
  /** What the platform form-posted to the redirect URI. */
  answer?: { redirectUri: string; fields: Record<string, string>; idToken: string; claims: JWTPayload };
}

export interface AuthErrorRecord {
  at: number;
  launchId: string | undefined;
  error: string;
  description: string;
  /** Posted back to the redirect URI (true) or shown as an error page (false). */
  posted: boolean;
}

export interface TokenIssuedRecord {
  at: number;
  clientId: string;
  scopes: string[];
  accessToken: string;
  expiresAt: number;
  jti: string;
  aud: string | string[] | undefined;
}

export interface TokenRefusalRecord {
  at: number;
  clientId: string | undefined;
  error: string;
  description: string;
}

export interface DeepLinkResult {
  at: number;
  launchId: string;
  clientId: string;
  deploymentId: string;
  courseId: string;
  items: Record<string, unknown>[];
  /** Line items created for `lineItem` of ltiResourceLink items. */
  lineItemIds: string[];
  msg?: unknown;
  log?: unknown;
  errorMsg?: unknown;
  errorLog?: unknown;
}

export interface StorageEvent {
  at: number;
  subject: string;
  origin: string;
  key?: string;
  value?: unknown;
  messageId?: unknown;
  error?: { code: string; message?: string };
}

export interface FakeLtiPlatformOptions {
  profile: LtiProfileName;
  clock?: FakeClock;
  /** NRPS page size when the tool sends no `limit` (default 10). */
  membershipPageSize?: number;
  /** Refuse AGS/NRPS reads whose `Accept` does not name the media type (default true). */
  requireAcceptMediaType?: boolean;
  /** Access token lifetime (default 3600 s, Moodle's LTI_ACCESS_TOKEN_LIFE and Canvas's). */
  accessTokenLifetimeSeconds?: number;
}

/** What a tool (the hub) is configured with for this platform and client id. */
export interface LtiPlatformConfig {
  issuer: string;
  clientId: string;
  deploymentIds: string[];
  authorizationEndpoint: string;
  tokenEndpoint: string;
  /** The `aud` the client assertion must carry. */
  tokenAudience: string;
  jwksUri: string;
}

interface PlatformKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK & { kid: string };
}

interface AccessTokenRecord {
  clientId: string;
  scopes: string[];
  expiresAt: number;
}

type Outcome<T> = { ok: true; value: T } | { ok: false; response: FakeResponse };

const AUTH_ERROR_STATUS = 400;

// ── The fake ────────────────────────────────────────────────────────────────────────────────

export class FakeLtiPlatform {
  readonly profile: LtiProfile;
  readonly clock: FakeClock;
  url = '';
  issuer = '';
  readonly tools = new Map<string, LtiToolRegistration>();
  readonly users = new Map<string, LtiUser>();
  readonly courses = new Map<string, LtiCourse>();
  readonly lineItems = new Map<string, LtiLineItem>();
  readonly launches: LaunchRecord[] = [];
  readonly authErrors: AuthErrorRecord[] = [];
  readonly tokensIssued: TokenIssuedRecord[] = [];
  readonly tokenRefusals: TokenRefusalRecord[] = [];
  readonly scores: LtiScoreRecord[] = [];
  readonly scoreRefusals: ScoreRefusal[] = [];
  readonly deepLinkResults: DeepLinkResult[] = [];
  readonly deepLinkRefusals: Array<{ at: number; reason: string }> = [];
  readonly storageEvents: StorageEvent[] = [];
  /** Published signing keys, newest last; the newest signs. */
  keys: PlatformKey[] = [];
  jwksFetches = 0;
  membershipPageSize: number;
  requireAcceptMediaType: boolean;
  requests: LoggedRequest[] = [];
  readonly #accessTokens = new Map<string, AccessTokenRecord>();
  /** `clientId jti` of every accepted client assertion, with its exp (ms). */
  readonly #usedJtis = new Map<string, number>();
  readonly #usedDeepLinkNonces = new Set<string>();
  /** Each tool's nonces of its earlier genuine (unforged) launches, for the `reused-nonce` forgery. */
  readonly #toolNonces = new Map<string, string[]>();
  readonly #toolKeySets = new Map<string, ReturnType<typeof createRemoteJWKSet>>();
  readonly #deepLinkReturnPaths = new Set<string>();
  readonly #guid = randomUUID();
  readonly #accessTokenLifetime: number;
  #close: (() => Promise<void>) | undefined;

  constructor(options: FakeLtiPlatformOptions) {
    this.profile = LTI_PROFILES[options.profile];
    this.clock = options.clock ?? new FakeClock();
    this.membershipPageSize = options.membershipPageSize ?? 10;
    this.requireAcceptMediaType = options.requireAcceptMediaType ?? true;
    this.#accessTokenLifetime = options.accessTokenLifetimeSeconds ?? 3600;
  }

  static async start(options: FakeLtiPlatformOptions): Promise<FakeLtiPlatform> {
    const platform = new FakeLtiPlatform(options);
    platform.keys.push(await platform.#newKey());
    const server = await startFakeHttpServer((request) => platform.#handle(request));
    platform.url = server.url;
    platform.issuer = platform.profile.issuer(server.url);
    platform.requests = server.requests;
    platform.#close = server.close;
    return platform;
  }

  async close(): Promise<void> {
    await this.#close?.();
  }

  // ── Set-up ────────────────────────────────────────────────────────────────────────────────

  /** Registers a tool (a Canvas developer key, a Moodle tool type, a Blackboard application). */
  registerTool(spec: {
    loginInitiationUrl: string;
    redirectUris: string[];
    jwksUrl: string;
    clientId?: string;
    name?: string;
    targetLinkUri?: string;
    deepLinkingUrl?: string;
    deploymentIds?: string[];
    scopes?: string[];
    privacy?: LtiPrivacy;
    custom?: Record<string, string>;
  }): LtiToolRegistration {
    if (spec.redirectUris.length === 0)
      throw new Error('registerTool: redirectUris must list at least one URI');
    const clientId = spec.clientId ?? this.profile.ids.clientId();
    const tool: LtiToolRegistration = {
      clientId,
      name: spec.name ?? 'Switchboard',
      loginInitiationUrl: spec.loginInitiationUrl,
      redirectUris: [...spec.redirectUris],
      jwksUrl: spec.jwksUrl,
      targetLinkUri: spec.targetLinkUri ?? (spec.redirectUris[0] as string),
      deepLinkingUrl: spec.deepLinkingUrl,
      deploymentIds: spec.deploymentIds ?? [this.profile.ids.deploymentId()],
      scopes: spec.scopes ?? [...ALL_SERVICE_SCOPES],
      privacy: spec.privacy ?? 'public',
      custom: spec.custom ?? {},
    };
    this.tools.set(clientId, tool);
    return tool;
  }

  /** A new deployment of a registered tool (Blackboard: another institution deploys the same app). */
  addDeployment(clientId: string, deploymentId = this.profile.ids.deploymentId()): string {
    this.#tool(clientId).deploymentIds.push(deploymentId);
    return deploymentId;
  }

  addUser(spec: Partial<LtiUser> = {}): LtiUser {
    const id = spec.id ?? this.profile.ids.userId();
    const givenName = spec.givenName ?? 'Ada';
    const familyName = spec.familyName ?? `Learner ${id.slice(0, 6)}`;
    const user: LtiUser = {
      id,
      givenName,
      familyName,
      name: spec.name ?? `${givenName} ${familyName}`,
      email: spec.email ?? `${givenName}.${id.slice(0, 6)}@school.example`.toLowerCase(),
    };
    this.users.set(id, user);
    return user;
  }

  addCourse(spec: { id?: string; label?: string; title?: string } = {}): LtiCourse {
    const id = spec.id ?? this.profile.ids.courseId();
    const course: LtiCourse = {
      id,
      label: spec.label ?? `COURSE-${id}`,
      title: spec.title ?? `Course ${id}`,
      members: new Map(),
      installations: new Map(),
    };
    this.courses.set(id, course);
    return course;
  }

  /** Enrols a user; short roles (`Learner`, `Instructor`) become LIS membership URIs. */
  enrol(
    courseId: string,
    userId: string,
    roles: string[] = ['Learner'],
    status: LtiMembership['status'] = 'Active',
  ): void {
    this.#user(userId);
    this.#course(courseId).members.set(userId, { roles: roles.map(expandRole), status });
  }

  /** Installs a tool's deployment in a course (a launch does it too). */
  installTool(courseId: string, clientId: string, deploymentId?: string): void {
    const tool = this.#tool(clientId);
    const deployment = deploymentId ?? (tool.deploymentIds[0] as string);
    if (!tool.deploymentIds.includes(deployment)) throw new Error(`unknown deployment ${deployment}`);
    this.#course(courseId).installations.set(clientId, deployment);
  }

  /** Creates a line item as the LMS would (a gradebook column bound to a tool). */
  createLineItem(spec: {
    courseId: string;
    clientId: string;
    scoreMaximum: number;
    label?: string;
    resourceId?: string;
    tag?: string;
    resourceLinkId?: string;
  }): LtiLineItem {
    const course = this.#course(spec.courseId);
    const deploymentId =
      course.installations.get(spec.clientId) ?? (this.#tool(spec.clientId).deploymentIds[0] as string);
    const itemId = this.profile.ids.lineItemId();
    const item: LtiLineItem = {
      id: `${this.url}${this.profile.paths.lineItem(course.id, itemId, deploymentId)}`,
      itemId,
      courseId: course.id,
      clientId: spec.clientId,
      deploymentId,
      label: spec.label ?? 'Grade',
      scoreMaximum: spec.scoreMaximum,
      ...(spec.resourceId ? { resourceId: spec.resourceId } : {}),
      ...(spec.tag ? { tag: spec.tag } : {}),
      ...(spec.resourceLinkId ? { resourceLinkId: spec.resourceLinkId } : {}),
    };
    this.lineItems.set(itemId, item);
    return item;
  }

  // ── Rotation ──────────────────────────────────────────────────────────────────────────────

  /** Publishes a new key that signs from now on; returns its kid. */
  async rotateKey(): Promise<string> {
    const key = await this.#newKey();
    this.keys.push(key);
    return key.kid;
  }

  /** Stops publishing a key: tokens it signed no longer verify. */
  retireKey(kid: string): void {
    this.keys = this.keys.filter((key) => key.kid !== kid);
  }

  get signingKid(): string {
    return this.#signingKey().kid;
  }

  // ── Views ─────────────────────────────────────────────────────────────────────────────────

  /** What the hub is configured with to trust this platform for one tool registration. */
  configFor(clientId: string): LtiPlatformConfig {
    const tool = this.#tool(clientId);
    const authorize = this.profile.paths.authorize;
    return {
      issuer: this.issuer,
      clientId,
      deploymentIds: [...tool.deploymentIds],
      authorizationEndpoint: `${this.url}${authorize}`,
      tokenEndpoint: this.tokenEndpoint,
      tokenAudience: this.tokenEndpoint,
      jwksUri: `${this.url}${this.profile.paths.jwks(clientId)}`,
    };
  }

  get tokenEndpoint(): string {
    return `${this.url}${this.profile.paths.token}`;
  }

  /** The origin of the OIDC auth endpoint: the storage frame's origin, postMessage's targetOrigin. */
  get authOrigin(): string {
    return this.url;
  }

  jwks(): { keys: JWK[] } {
    return { keys: this.keys.map((key) => ({ ...key.publicJwk })) };
  }

  launch(id: string): LaunchRecord {
    const launch = this.launches.find((candidate) => candidate.id === id);
    if (!launch) throw new Error(`unknown launch ${id}`);
    return launch;
  }

  /** The latest accepted score per user on a line item (what the gradebook shows). */
  results(lineItemId: string): LtiScoreRecord[] {
    const latest = new Map<string, LtiScoreRecord>();
    for (const score of this.scores) if (score.lineItemId === lineItemId) latest.set(score.userId, score);
    return [...latest.values()];
  }

  /** An access token as the token endpoint issues it (tests that skip the client assertion). */
  issueAccessToken(clientId: string, scopes: string[]): string {
    this.#tool(clientId);
    const accessToken = randomBytes(16).toString('hex');
    this.#accessTokens.set(accessToken, {
      clientId,
      scopes,
      expiresAt: this.clock.now() + this.#accessTokenLifetime * 1000,
    });
    return accessToken;
  }

  /** Every access token issued so far is now expired. */
  expireAccessTokens(): void {
    for (const record of this.#accessTokens.values()) record.expiresAt = 0;
  }

  // ── Launches ──────────────────────────────────────────────────────────────────────────────

  /**
   * Starts a launch: the login initiation the LMS would send the browser to the tool with.
   * Open `launch.startUrl` in a browser (or `launch.coursePageUrl` to embed it in an iframe), or
   * send `launch.initiation` yourself.
   */
  startLaunch(options: StartLaunchOptions): LaunchRecord {
    const tool = this.#tool(options.clientId);
    const course = this.#course(options.courseId);
    const user = this.#user(options.userId);
    if (!course.members.has(user.id)) this.enrol(course.id, user.id, options.roles ?? ['Learner']);
    const deploymentId =
      options.deploymentId ?? course.installations.get(tool.clientId) ?? (tool.deploymentIds[0] as string);
    if (!tool.deploymentIds.includes(deploymentId)) throw new Error(`unknown deployment ${deploymentId}`);
    course.installations.set(tool.clientId, deploymentId);
    const messageType = options.messageType ?? MESSAGE_TYPE.resourceLink;
    const deepLinking = messageType === MESSAGE_TYPE.deepLinkingRequest;
    if (deepLinking && !tool.deepLinkingUrl && !options.targetLinkUri) {
      throw new Error('a deep-linking launch needs the tool to have a deepLinkingUrl');
    }
    const id = randomUUID();
    const resourceLinkId = deepLinking
      ? undefined
      : (options.resourceLink?.id ?? this.profile.ids.resourceLinkId());
    const lineItem =
      options.lineItem && resourceLinkId
        ? this.createLineItem({
            courseId: course.id,
            clientId: tool.clientId,
            scoreMaximum: options.lineItem.scoreMaximum,
            label: options.lineItem.label ?? options.resourceLink?.title ?? 'Grade',
            resourceLinkId,
            ...(options.lineItem.resourceId ? { resourceId: options.lineItem.resourceId } : {}),
            ...(options.lineItem.tag ? { tag: options.lineItem.tag } : {}),
          })
        : undefined;
    const targetLinkUri =
      options.targetLinkUri ?? (deepLinking ? (tool.deepLinkingUrl as string) : tool.targetLinkUri);
    const loginHint = this.profile.ids.loginHint(user.id);
    const messageHint = this.profile.ids.messageHint(id, course.id);
    const fields: Record<string, string> = {
      iss: this.issuer,
      login_hint: loginHint,
      client_id: tool.clientId,
      lti_deployment_id: deploymentId,
      target_link_uri: targetLinkUri,
      lti_message_hint: messageHint,
      ...this.profile.extraLoginParameters,
      ...(this.profile.storage ? { lti_storage_target: this.profile.storage.target } : {}),
    };
    let initiation: LaunchInitiation;
    if (this.profile.loginInitiationMethod === 'GET') {
      const url = new URL(tool.loginInitiationUrl);
      for (const [key, value] of Object.entries(fields)) url.searchParams.set(key, value);
      initiation = { method: 'GET', url: url.href, fields };
    } else {
      initiation = { method: 'POST', action: tool.loginInitiationUrl, fields };
    }
    const returnPath = this.profile.paths.deepLinkReturn(course.id);
    if (deepLinking) this.#deepLinkReturnPaths.add(new URL(returnPath, this.url).pathname);
    const launch: LaunchRecord = {
      id,
      at: this.clock.now(),
      clientId: tool.clientId,
      deploymentId,
      userId: user.id,
      courseId: course.id,
      messageType,
      resourceLinkId,
      resourceLinkTitle: options.resourceLink?.title ?? 'Activity',
      resourceLinkDescription: options.resourceLink?.description,
      presentation: options.presentation ?? {},
      lineItemId: lineItem?.itemId,
      targetLinkUri,
      roles: (options.roles ?? course.members.get(user.id)?.roles ?? ['Learner']).map(expandRole),
      custom: { ...tool.custom, ...options.custom },
      audience: options.audience ?? 'string',
      forgery: options.forgery,
      loginHint,
      messageHint,
      initiation,
      startUrl: `${this.url}/_fake/launches/${id}/start`,
      coursePageUrl: `${this.url}/_fake/launches/${id}/course`,
      deepLinking: deepLinking
        ? {
            acceptTypes: options.deepLinking?.acceptTypes ?? ['ltiResourceLink'],
            acceptPresentationDocumentTargets: options.deepLinking?.acceptPresentationDocumentTargets ?? [
              'iframe',
              'window',
            ],
            acceptMultiple: options.deepLinking?.acceptMultiple ?? true,
            autoCreate: options.deepLinking?.autoCreate ?? true,
            title: options.deepLinking?.title ?? '',
            text: options.deepLinking?.text ?? '',
            returnUrl: `${this.url}${returnPath}`,
            data: randomBytes(18).toString('base64url'),
          }
        : undefined,
      status: 'initiated',
    };
    this.launches.push(launch);
    return launch;
  }

  /**
   * The id_token of a launch for a given nonce, as the authorization endpoint would answer it,
   * forged when asked (tests of a tool's launch validation that skip the browser round trip).
   */
  async idTokenFor(launchId: string, nonce: string, forgery?: LaunchForgery): Promise<string> {
    const launch = this.launch(launchId);
    return this.#forge(forgery, this.#claimsFor(launch, nonce), launch);
  }

  /** The unforged claims of a launch for a nonce (to compare with what a tool accepted). */
  claimsFor(launchId: string, nonce: string): JWTPayload {
    return this.#claimsFor(this.launch(launchId), nonce);
  }

  // ── HTTP ──────────────────────────────────────────────────────────────────────────────────

  async #handle(request: FakeRequest): Promise<FakeResponse> {
    const { path, method } = request;
    const paths = this.profile.paths;
    const fake = /^\/_fake\/launches\/([^/]+)\/(start|course)$/.exec(path);
    if (fake && method === 'GET') {
      return fake[2] === 'start' ? this.#startPage(fake[1] as string) : this.#coursePage(fake[1] as string);
    }
    if (path === '/_fake/platform-storage/events' && method === 'POST')
      return this.#recordStorageEvent(request);
    if (path === paths.authorize && paths.authorizeFinal && (method === 'GET' || method === 'POST')) {
      return this.#authorizeRedirect(request);
    }
    if (
      (path === paths.authorizeFinal || path === paths.authorize) &&
      (method === 'GET' || method === 'POST')
    ) {
      return this.#authorize(request);
    }
    if (path === paths.token) {
      return method === 'POST'
        ? this.#token(request)
        : { status: 405, headers: { allow: 'POST' }, body: { error: 'invalid_request' } };
    }
    if (method === 'GET' && this.#isJwksPath(path)) return this.#jwksResponse(path);
    if (this.profile.storage && path === this.profile.storage.framePath && method === 'GET') {
      return this.#html(
        200,
        storageFramePage({
          toolOrigins: this.#toolOrigins(),
          eventsUrl: `${this.url}/_fake/platform-storage/events`,
        }),
      );
    }
    if (method === 'POST' && this.#deepLinkReturnPaths.has(path)) return this.#deepLinkReturn(request);
    const route = this.profile.matchService(path);
    if (route) return this.#service(request, route);
    return {
      status: 404,
      body: { errors: { type: 'not_found', message: `no route for ${method} ${path}` } },
    };
  }

  #html(status: number, html: string, headers: Record<string, string> = {}): FakeResponse {
    return {
      status,
      headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', ...headers },
      body: html,
    };
  }

  #startPage(launchId: string): FakeResponse {
    const launch = this.launches.find((candidate) => candidate.id === launchId);
    if (!launch) return this.#html(404, errorPage(404, 'unknown_launch', `no launch ${launchId}`));
    if (launch.initiation.method === 'GET') {
      return { status: 302, headers: { location: launch.initiation.url, 'cache-control': 'no-store' } };
    }
    return this.#html(
      200,
      autoSubmitFormPage({
        action: launch.initiation.action,
        method: 'POST',
        fields: launch.initiation.fields,
        name: 'ltiInitiateLoginForm',
      }),
    );
  }

  #coursePage(launchId: string): FakeResponse {
    const launch = this.launches.find((candidate) => candidate.id === launchId);
    if (!launch) return this.#html(404, errorPage(404, 'unknown_launch', `no launch ${launchId}`));
    const course = this.#course(launch.courseId);
    const storage = this.profile.storage;
    return this.#html(
      200,
      coursePage({
        title: `${course.title} (${this.profile.name})`,
        initiation:
          launch.initiation.method === 'GET'
            ? { method: 'GET', url: launch.initiation.url }
            : { method: 'POST', action: launch.initiation.action, fields: launch.initiation.fields },
        ...(storage
          ? { storage: { target: storage.target, frameUrl: `${this.url}${storage.framePath}` } }
          : {}),
      }),
    );
  }

  #recordStorageEvent(request: FakeRequest): FakeResponse {
    const event = (request.json ?? {}) as Partial<StorageEvent>;
    this.storageEvents.push({
      at: this.clock.now(),
      subject: String(event.subject ?? ''),
      origin: String(event.origin ?? ''),
      ...(event.key !== undefined ? { key: String(event.key) } : {}),
      ...(event.value !== undefined ? { value: event.value } : {}),
      ...(event.messageId !== undefined ? { messageId: event.messageId } : {}),
      ...(event.error ? { error: event.error } : {}),
    });
    return { status: 204 };
  }

  #toolOrigins(): string[] {
    const origins = new Set<string>();
    for (const tool of this.tools.values()) {
      for (const url of [tool.loginInitiationUrl, ...tool.redirectUris, tool.targetLinkUri]) {
        origins.add(new URL(url).origin);
      }
    }
    return [...origins];
  }

  // ── OIDC authorization endpoint (Security Framework §5.1.1.2, §5.1.1.3) ──────────────────

  /** Canvas: `sso.canvaslms.com/api/lti/authorize_redirect` sends the browser to the customer domain. */
  #authorizeRedirect(request: FakeRequest): FakeResponse {
    const params = readParams(request);
    const target = new URL(this.profile.paths.authorizeFinal as string, this.url);
    for (const [key, value] of Object.entries(params)) target.searchParams.set(key, value);
    return { status: 302, headers: { location: target.href, 'cache-control': 'no-store' } };
  }

  async #authorize(request: FakeRequest): Promise<FakeResponse> {
    const params = readParams(request);
    const launch = this.#findLaunchByMessageHint(params.lti_message_hint);
    if (!launch) return this.#refuseAuth(undefined, 'invalid_request', 'Invalid lti_message_hint');
    const tool = this.tools.get(params.client_id ?? '');
    if (!tool || tool.clientId !== launch.clientId) {
      return this.#refuseAuth(launch, 'unauthorized_client', 'client_id is not the tool this launch is for');
    }
    const redirectUri = params.redirect_uri ?? '';
    if (!tool.redirectUris.includes(redirectUri)) {
      return this.#refuseAuth(launch, 'invalid_request', `redirect_uri ${redirectUri} is not registered`);
    }
    launch.authRequest = params;
    const problem = this.#checkAuthRequest(params, launch);
    if (problem)
      return this.#postAuthError(launch, redirectUri, params.state, problem.error, problem.description);
    return this.#answerLaunch(launch, redirectUri, params);
  }

  #findLaunchByMessageHint(hint: string | undefined): LaunchRecord | undefined {
    if (!hint) return undefined;
    return this.launches.find((launch) => launch.messageHint === hint);
  }

  /** The checks of §5.1.1.2 whose failure is posted back to the (registered) redirect URI. */
  #checkAuthRequest(
    params: Record<string, string>,
    launch: LaunchRecord,
  ): { error: string; description: string } | undefined {
    const required = [
      'scope',
      'response_type',
      'client_id',
      'redirect_uri',
      'login_hint',
      'lti_message_hint',
      'nonce',
      'state',
      'prompt',
      'response_mode',
    ];
    const missing = required.filter((name) => !params[name]);
    if (missing.length) {
      return {
        error: 'invalid_request',
        description: `The following parameters are missing: ${missing.join(',')}`,
      };
    }
    if (params.scope !== 'openid')
      return { error: 'invalid_scope', description: "The 'scope' must be 'openid'" };
    if (params.response_type !== 'id_token') {
      return { error: 'unsupported_response_type', description: "The 'response_type' must be 'id_token'" };
    }
    if (params.response_mode !== 'form_post') {
      return { error: 'invalid_request', description: "The 'response_mode' must be 'form_post'" };
    }
    if (params.prompt !== 'none')
      return { error: 'invalid_request', description: "The 'prompt' must be 'none'" };
    if (params.login_hint !== launch.loginHint) {
      return {
        error: 'login_required',
        description: 'login_hint is not the one sent in the login initiation',
      };
    }
    if (launch.status !== 'initiated') {
      return {
        error: 'launch_no_longer_valid',
        description: 'The launch has either expired or already been consumed',
      };
    }
    return undefined;
  }

  #refuseAuth(launch: LaunchRecord | undefined, error: string, description: string): FakeResponse {
    this.authErrors.push({ at: this.clock.now(), launchId: launch?.id, error, description, posted: false });
    return this.#html(AUTH_ERROR_STATUS, errorPage(AUTH_ERROR_STATUS, error, description));
  }

  #postAuthError(
    launch: LaunchRecord,
    redirectUri: string,
    state: string | undefined,
    error: string,
    description: string,
  ): FakeResponse {
    this.authErrors.push({ at: this.clock.now(), launchId: launch.id, error, description, posted: true });
    const fields: Record<string, string> = { error, error_description: description };
    if (state) fields.state = state;
    return this.#html(
      200,
      autoSubmitFormPage({ action: redirectUri, method: 'POST', fields, name: 'ltiAuthForm' }),
    );
  }

  async #answerLaunch(
    launch: LaunchRecord,
    redirectUri: string,
    params: Record<string, string>,
  ): Promise<FakeResponse> {
    const nonce = params.nonce as string;
    const claims = this.#claimsFor(launch, nonce);
    const idToken = await this.#forge(launch.forgery, claims, launch);
    if (!launch.forgery) {
      const previous = this.#toolNonces.get(launch.clientId) ?? [];
      previous.push(nonce);
      this.#toolNonces.set(launch.clientId, previous);
    }
    const state =
      launch.forgery === 'state-mismatch' ? randomBytes(16).toString('hex') : (params.state as string);
    const fields: Record<string, string> = { id_token: idToken, state };
    if (this.profile.storage?.inLaunch) fields.lti_storage_target = this.profile.storage.target;
    launch.status = 'answered';
    launch.answer = { redirectUri, fields, idToken, claims };
    return this.#html(
      200,
      autoSubmitFormPage({ action: redirectUri, method: 'POST', fields, name: 'ltiAuthForm' }),
    );
  }

  #claimsFor(launch: LaunchRecord, nonce: string): JWTPayload {
    const tool = this.#tool(launch.clientId);
    const user = this.#user(launch.userId);
    const course = this.#course(launch.courseId);
    const now = this.clock.nowSeconds();
    const presentation = launch.presentation;
    const claims: JWTPayload = {
      iss: this.issuer,
      aud: launch.audience === 'array' ? [tool.clientId, `${this.issuer}/other-audience`] : tool.clientId,
      sub: user.id,
      nonce,
      iat: now,
      exp: now + this.profile.idTokenLifetimeSeconds,
      [CLAIM.messageType]: launch.messageType,
      [CLAIM.version]: LTI_VERSION,
      [CLAIM.deploymentId]: launch.deploymentId,
      [CLAIM.targetLinkUri]: launch.targetLinkUri,
      [CLAIM.roles]: launch.roles,
      [CLAIM.context]: { id: course.id, label: course.label, title: course.title, type: [COURSE_OFFERING] },
      [CLAIM.toolPlatform]: {
        guid: this.#guid,
        name: this.profile.platformName,
        version: 'fake',
        product_family_code: this.profile.productFamilyCode,
      },
      [CLAIM.launchPresentation]: {
        document_target: presentation.documentTarget ?? 'iframe',
        return_url: presentation.returnUrl ?? `${this.url}/courses/${course.id}/external_content/success`,
        locale: 'en',
      },
      [CLAIM.custom]: launch.custom,
    };
    if (this.profile.sendsAzp || launch.audience === 'array') claims.azp = tool.clientId;
    if (tool.privacy === 'public' || tool.privacy === 'name_only') {
      claims.name = user.name;
      claims.given_name = user.givenName;
      claims.family_name = user.familyName;
    }
    if (tool.privacy === 'public' || tool.privacy === 'email_only') claims.email = user.email;
    if (launch.resourceLinkId) {
      claims[CLAIM.resourceLink] = {
        id: launch.resourceLinkId,
        title: launch.resourceLinkTitle,
        ...(launch.resourceLinkDescription ? { description: launch.resourceLinkDescription } : {}),
      };
    }
    const agsScopes = tool.scopes.filter((scope) => AGS_SCOPES.includes(scope));
    if (agsScopes.length) {
      const item = launch.lineItemId ? this.lineItems.get(launch.lineItemId) : undefined;
      claims[CLAIM.ags] = {
        scope: agsScopes,
        lineitems: `${this.url}${this.profile.paths.lineItems(course.id, launch.deploymentId)}`,
        ...(item ? { lineitem: item.id } : {}),
      };
    }
    if (tool.scopes.includes(SCOPE.contextMembershipReadOnly)) {
      claims[CLAIM.nrps] = {
        context_memberships_url: `${this.url}${this.profile.paths.memberships(course.id, launch.deploymentId)}`,
        service_versions: ['2.0'],
      };
    }
    if (launch.deepLinking) {
      const dl = launch.deepLinking;
      claims[CLAIM.deepLinkingSettings] = {
        deep_link_return_url: dl.returnUrl,
        accept_types: dl.acceptTypes,
        accept_presentation_document_targets: dl.acceptPresentationDocumentTargets,
        accept_multiple: dl.acceptMultiple,
        auto_create: dl.autoCreate,
        ...(dl.title ? { title: dl.title } : {}),
        ...(dl.text ? { text: dl.text } : {}),
        data: dl.data,
      };
    }
    return claims;
  }

  async #forge(
    forgery: LaunchForgery | undefined,
    claims: JWTPayload,
    launch: LaunchRecord,
  ): Promise<string> {
    const key = this.#signingKey();
    const now = this.clock.nowSeconds();
    const without = (name: string) => {
      const copy = { ...claims };
      delete copy[name];
      return copy;
    };
    switch (forgery) {
      case undefined:
      case 'state-mismatch':
        return signLti(key, claims);
      case 'wrong-key': {
        const impostor = await this.#newKey();
        return signLti({ ...impostor, kid: key.kid }, claims);
      }
      case 'unknown-kid':
        return signLti(await this.#newKey(), claims);
      case 'alg-none':
        return unsignedJwt(claims, { kid: key.kid });
      case 'alg-hs256': {
        const secret = Buffer.from(String(key.publicJwk.n), 'base64url');
        return new SignJWT(claims)
          .setProtectedHeader({ typ: 'JWT', alg: 'HS256', kid: key.kid })
          .sign(secret);
      }
      case 'wrong-iss':
        return signLti(key, { ...claims, iss: 'https://lms.attacker.example' });
      case 'wrong-aud':
        return signLti(key, { ...claims, aud: `not-${launch.clientId}` });
      case 'azp-mismatch':
        return signLti(key, { ...claims, aud: [launch.clientId, 'another-tool'], azp: 'another-tool' });
      case 'reused-nonce': {
        const previous = this.#toolNonces.get(launch.clientId)?.at(-1);
        if (!previous) throw new Error('reused-nonce needs an earlier launch of this tool on this platform');
        return signLti(key, { ...claims, nonce: previous });
      }
      case 'wrong-nonce':
        return signLti(key, { ...claims, nonce: randomBytes(12).toString('hex') });
      case 'expired':
        return signLti(key, { ...claims, iat: now - 7200, exp: now - 3600 });
      case 'missing-deployment-id':
        return signLti(key, without(CLAIM.deploymentId));
      case 'unknown-deployment-id':
        return signLti(key, { ...claims, [CLAIM.deploymentId]: this.profile.ids.deploymentId() });
      case 'wrong-version':
        return signLti(key, { ...claims, [CLAIM.version]: '1.1.0' });
      case 'missing-version':
        return signLti(key, without(CLAIM.version));
      case 'unknown-message-type':
        return signLti(key, { ...claims, [CLAIM.messageType]: 'LtiUnknownMessageRequest' });
      case 'missing-sub':
        return signLti(key, without('sub'));
      case 'missing-roles':
        return signLti(key, without(CLAIM.roles));
      case 'missing-resource-link-id':
        return signLti(key, { ...claims, [CLAIM.resourceLink]: { title: 'Activity' } });
      case 'missing-target-link-uri':
        return signLti(key, without(CLAIM.targetLinkUri));
    }
  }

  // ── JWKS ──────────────────────────────────────────────────────────────────────────────────

  #isJwksPath(path: string): boolean {
    if (this.profile.name === 'blackboard')
      return /^\/api\/v1\/management\/applications\/[^/]+\/jwks\.json$/.test(path);
    return path === this.profile.paths.jwks('');
  }

  #jwksResponse(path: string): FakeResponse {
    if (this.profile.name === 'blackboard') {
      const clientId = decodeURIComponent(path.split('/')[5] ?? '');
      if (!this.tools.has(clientId))
        return { status: 404, body: { status: 404, message: 'Application not found' } };
    }
    this.jwksFetches += 1;
    return { status: 200, headers: { 'cache-control': 'no-cache' }, body: this.jwks() };
  }

  // ── Token endpoint (Security Framework §4.1, RFC 7523 §2.2 and §3) ─────────────────────────

  async #token(request: FakeRequest): Promise<FakeResponse> {
    const form = request.form;
    if (!form)
      return this.#refuseToken(
        undefined,
        'invalid_request',
        'the body must be application/x-www-form-urlencoded',
      );
    const grantType = form.get('grant_type');
    const assertionType = form.get('client_assertion_type');
    const assertion = form.get('client_assertion');
    const scope = form.get('scope');
    if (!grantType || !assertionType || !assertion || !scope) {
      const missing = ['grant_type', 'client_assertion_type', 'client_assertion', 'scope'].filter(
        (name) => !form.get(name),
      );
      return this.#refuseToken(undefined, 'invalid_request', `missing ${missing.join(', ')}`);
    }
    if (grantType !== 'client_credentials') {
      return this.#refuseToken(undefined, 'unsupported_grant_type', `grant_type must be client_credentials`);
    }
    if (assertionType !== CLIENT_ASSERTION_TYPE) {
      return this.#refuseToken(
        undefined,
        'invalid_request',
        `client_assertion_type must be ${CLIENT_ASSERTION_TYPE}`,
      );
    }
    const verified = await this.#verifyClientAssertion(assertion);
    if (!verified.ok) return verified.response;
    const { tool, payload } = verified.value;
    const granted = this.#grantScopes(tool, scope.split(' ').filter(Boolean));
    if (!granted.ok) return granted.response;
    const jti = String(payload.jti);
    this.#usedJtis.set(`${tool.clientId} ${jti}`, Number(payload.exp) * 1000);
    const accessToken = randomBytes(16).toString('hex');
    const expiresAt = this.clock.now() + this.#accessTokenLifetime * 1000;
    this.#accessTokens.set(accessToken, { clientId: tool.clientId, scopes: granted.value, expiresAt });
    this.tokensIssued.push({
      at: this.clock.now(),
      clientId: tool.clientId,
      scopes: granted.value,
      accessToken,
      expiresAt,
      jti,
      aud: payload.aud,
    });
    return {
      status: 200,
      headers: { 'cache-control': 'no-store', pragma: 'no-cache' },
      body: {
        access_token: accessToken,
        token_type: 'Bearer',
        expires_in: this.#accessTokenLifetime,
        scope: granted.value.join(' '),
      },
    };
  }

  async #verifyClientAssertion(
    assertion: string,
  ): Promise<Outcome<{ tool: LtiToolRegistration; payload: JWTPayload }>> {
    let unverified: JWTPayload;
    try {
      unverified = decodeJwt(assertion);
      decodeProtectedHeader(assertion);
    } catch {
      return {
        ok: false,
        response: this.#refuseToken(undefined, 'invalid_request', 'client_assertion is not a JWT'),
      };
    }
    const clientId = typeof unverified.sub === 'string' ? unverified.sub : '';
    const tool = this.tools.get(clientId);
    if (!tool) {
      return {
        ok: false,
        response: this.#refuseToken(clientId, 'invalid_client', `unknown client ${clientId}`),
      };
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(assertion, this.#toolKeySet(tool), {
        algorithms: ['RS256'],
        issuer: tool.clientId,
        subject: tool.clientId,
        audience: this.tokenEndpoint,
        currentDate: new Date(this.clock.now()),
        clockTolerance: 5,
        requiredClaims: ['iat', 'exp', 'jti'],
      }));
    } catch (error) {
      return {
        ok: false,
        response: this.#refuseToken(
          clientId,
          'invalid_client',
          `client_assertion refused: ${describe(error)}`,
        ),
      };
    }
    if (Number(payload.iat) > this.clock.nowSeconds() + 60) {
      return {
        ok: false,
        response: this.#refuseToken(clientId, 'invalid_client', 'client_assertion iat is in the future'),
      };
    }
    if (this.#usedJtis.has(`${tool.clientId} ${payload.jti}`)) {
      return {
        ok: false,
        response: this.#refuseToken(
          clientId,
          'invalid_client',
          `client_assertion jti ${payload.jti} was already used`,
        ),
      };
    }
    return { ok: true, value: { tool, payload } };
  }

  #grantScopes(tool: LtiToolRegistration, requested: string[]): Outcome<string[]> {
    const permitted = requested.filter((scope) => tool.scopes.includes(scope));
    const refused = requested.filter((scope) => !tool.scopes.includes(scope));
    if (this.profile.tokenScopes === 'refuse' && refused.length) {
      return {
        ok: false,
        response: this.#refuseToken(
          tool.clientId,
          'invalid_scope',
          `scopes not permitted: ${refused.join(' ')}`,
        ),
      };
    }
    if (!permitted.length) {
      return {
        ok: false,
        response: this.#refuseToken(tool.clientId, 'invalid_scope', 'no permitted scope requested'),
      };
    }
    return { ok: true, value: [...new Set(permitted)] };
  }

  #refuseToken(clientId: string | undefined, error: string, description: string): FakeResponse {
    this.tokenRefusals.push({ at: this.clock.now(), clientId, error, description });
    return {
      status: error === 'invalid_client' ? 401 : 400,
      headers: { 'cache-control': 'no-store' },
      body: { error, error_description: description },
    };
  }

  #toolKeySet(tool: LtiToolRegistration): ReturnType<typeof createRemoteJWKSet> {
    let keySet = this.#toolKeySets.get(tool.jwksUrl);
    if (!keySet) {
      keySet = createRemoteJWKSet(new URL(tool.jwksUrl), { cooldownDuration: 0, cacheMaxAge: 60_000 });
      this.#toolKeySets.set(tool.jwksUrl, keySet);
    }
    return keySet;
  }

  // ── Services: access-token check ──────────────────────────────────────────────────────────

  #authorizeService(request: FakeRequest, anyOf: string[]): Outcome<AccessTokenRecord> {
    const token = parseBearer(request.headers.authorization);
    const record = token ? this.#accessTokens.get(token) : undefined;
    if (!record || record.expiresAt <= this.clock.now()) {
      const description = !token
        ? 'no bearer token'
        : !record
          ? 'unknown access token'
          : 'access token expired';
      return {
        ok: false,
        response: {
          status: 401,
          headers: { 'www-authenticate': `Bearer error="invalid_token", error_description="${description}"` },
          body: { errors: { type: 'unauthorized', message: description } },
        },
      };
    }
    if (!anyOf.some((scope) => record.scopes.includes(scope))) {
      return {
        ok: false,
        response: {
          status: 403,
          headers: { 'www-authenticate': `Bearer error="insufficient_scope", scope="${anyOf.join(' ')}"` },
          body: { errors: { type: 'insufficient_scope', message: `needs one of: ${anyOf.join(' ')}` } },
        },
      };
    }
    return { ok: true, value: record };
  }

  #serviceError(status: number, type: string, message: string): FakeResponse {
    return { status, body: { errors: { type, message } } };
  }

  #acceptsMediaType(request: FakeRequest, mediaType: string): boolean {
    if (!this.requireAcceptMediaType) return true;
    const accept = String(request.headers.accept ?? '');
    return accept
      .split(',')
      .map((part) => part.split(';')[0]?.trim().toLowerCase())
      .includes(mediaType);
  }

  #contentTypeIs(request: FakeRequest, mediaType: string): boolean {
    return (
      String(request.headers['content-type'] ?? '')
        .split(';')[0]
        ?.trim()
        .toLowerCase() === mediaType
    );
  }

  async #service(request: FakeRequest, route: ServiceRoute): Promise<FakeResponse> {
    const course = this.courses.get(route.courseId);
    if (!course) return this.#serviceError(404, 'not_found', `no course ${route.courseId}`);
    switch (route.kind) {
      case 'lineitems':
        return request.method === 'GET'
          ? this.#listLineItems(request, course)
          : request.method === 'POST'
            ? this.#createLineItem(request, course)
            : this.#serviceError(405, 'method_not_allowed', `${request.method} not allowed`);
      case 'lineitem':
        return this.#lineItem(request, course, route.itemId);
      case 'scores':
        return request.method === 'POST'
          ? this.#postScore(request, course, route.itemId)
          : this.#serviceError(405, 'method_not_allowed', 'scores accept POST only');
      case 'results':
        return request.method === 'GET'
          ? this.#listResults(request, course, route.itemId)
          : this.#serviceError(405, 'method_not_allowed', 'results accept GET only');
      case 'memberships':
        return request.method === 'GET'
          ? this.#memberships(request, course, route.deploymentId)
          : this.#serviceError(405, 'method_not_allowed', 'memberships accept GET only');
    }
  }

  /** The tool behind a token must be installed in the course (Moodle: with that type_id). */
  #checkInstalled(
    course: LtiCourse,
    clientId: string,
    request: FakeRequest,
    deploymentId?: string,
  ): FakeResponse | undefined {
    const installed = course.installations.get(clientId);
    if (!installed)
      return this.#serviceError(403, 'forbidden', `the tool is not installed in course ${course.id}`);
    const typeId =
      deploymentId ?? (this.profile.name === 'moodle' ? request.query.get('type_id') : undefined);
    if (this.profile.name === 'moodle' && typeId !== installed) {
      return this.#serviceError(
        403,
        'forbidden',
        `type_id ${typeId ?? '(missing)'} is not this tool's deployment`,
      );
    }
    return undefined;
  }

  #ownLineItem(course: LtiCourse, clientId: string, itemId: string): LtiLineItem | undefined {
    const item = this.lineItems.get(itemId);
    return item && item.courseId === course.id && item.clientId === clientId ? item : undefined;
  }

  // ── AGS line items (AGS §3.2) ─────────────────────────────────────────────────────────────

  #lineItemJson(item: LtiLineItem): Record<string, unknown> {
    return {
      id: item.id,
      scoreMaximum: item.scoreMaximum,
      label: item.label,
      ...(item.resourceId !== undefined ? { resourceId: item.resourceId } : {}),
      ...(item.tag !== undefined ? { tag: item.tag } : {}),
      ...(item.resourceLinkId !== undefined ? { resourceLinkId: item.resourceLinkId } : {}),
      ...(item.startDateTime !== undefined ? { startDateTime: item.startDateTime } : {}),
      ...(item.endDateTime !== undefined ? { endDateTime: item.endDateTime } : {}),
    };
  }

  #listLineItems(request: FakeRequest, course: LtiCourse): FakeResponse {
    const auth = this.#authorizeService(request, [SCOPE.lineItem, SCOPE.lineItemReadOnly]);
    if (!auth.ok) return auth.response;
    const notInstalled = this.#checkInstalled(course, auth.value.clientId, request);
    if (notInstalled) return notInstalled;
    if (!this.#acceptsMediaType(request, MEDIA_TYPE.lineItemContainer)) {
      return this.#serviceError(406, 'not_acceptable', `Accept must name ${MEDIA_TYPE.lineItemContainer}`);
    }
    const query = request.query;
    const items = [...this.lineItems.values()].filter(
      (item) =>
        item.courseId === course.id &&
        item.clientId === auth.value.clientId &&
        (!query.get('resource_link_id') || item.resourceLinkId === query.get('resource_link_id')) &&
        (!query.get('resource_id') || item.resourceId === query.get('resource_id')) &&
        (!query.get('tag') || item.tag === query.get('tag')),
    );
    const page = paginate(request, items, Number(query.get('limit')) || items.length || 1);
    return {
      status: 200,
      headers: { 'content-type': MEDIA_TYPE.lineItemContainer, ...page.linkHeader },
      body: page.items.map((item) => this.#lineItemJson(item)),
    };
  }

  #createLineItem(request: FakeRequest, course: LtiCourse): FakeResponse {
    const auth = this.#authorizeService(request, [SCOPE.lineItem]);
    if (!auth.ok) return auth.response;
    const notInstalled = this.#checkInstalled(course, auth.value.clientId, request);
    if (notInstalled) return notInstalled;
    if (!this.#contentTypeIs(request, MEDIA_TYPE.lineItem)) {
      return this.#serviceError(415, 'unsupported_media_type', `Content-Type must be ${MEDIA_TYPE.lineItem}`);
    }
    const body = asObject(request.json);
    const problem = checkLineItemBody(body);
    if (problem) return this.#serviceError(400, 'bad_request', problem);
    const item = this.createLineItem({
      courseId: course.id,
      clientId: auth.value.clientId,
      scoreMaximum: Number(body.scoreMaximum),
      label: String(body.label),
      ...(typeof body.resourceId === 'string' ? { resourceId: body.resourceId } : {}),
      ...(typeof body.tag === 'string' ? { tag: body.tag } : {}),
      ...(typeof body.resourceLinkId === 'string' ? { resourceLinkId: body.resourceLinkId } : {}),
    });
    if (typeof body.startDateTime === 'string') item.startDateTime = body.startDateTime;
    if (typeof body.endDateTime === 'string') item.endDateTime = body.endDateTime;
    return { status: 201, headers: { 'content-type': MEDIA_TYPE.lineItem }, body: this.#lineItemJson(item) };
  }

  #lineItem(request: FakeRequest, course: LtiCourse, itemId: string): FakeResponse {
    const write = request.method === 'PUT' || request.method === 'DELETE';
    if (!write && request.method !== 'GET')
      return this.#serviceError(405, 'method_not_allowed', `${request.method} not allowed`);
    const auth = this.#authorizeService(
      request,
      write ? [SCOPE.lineItem] : [SCOPE.lineItem, SCOPE.lineItemReadOnly],
    );
    if (!auth.ok) return auth.response;
    const notInstalled = this.#checkInstalled(course, auth.value.clientId, request);
    if (notInstalled) return notInstalled;
    const item = this.#ownLineItem(course, auth.value.clientId, itemId);
    if (!item)
      return this.#serviceError(
        404,
        'not_found',
        `no line item ${itemId} of this tool in course ${course.id}`,
      );
    if (request.method === 'DELETE') {
      this.lineItems.delete(itemId);
      return { status: 204 };
    }
    if (request.method === 'GET') {
      if (!this.#acceptsMediaType(request, MEDIA_TYPE.lineItem)) {
        return this.#serviceError(406, 'not_acceptable', `Accept must name ${MEDIA_TYPE.lineItem}`);
      }
      return {
        status: 200,
        headers: { 'content-type': MEDIA_TYPE.lineItem },
        body: this.#lineItemJson(item),
      };
    }
    if (!this.#contentTypeIs(request, MEDIA_TYPE.lineItem)) {
      return this.#serviceError(415, 'unsupported_media_type', `Content-Type must be ${MEDIA_TYPE.lineItem}`);
    }
    const body = asObject(request.json);
    const problem = checkLineItemBody(body);
    if (problem) return this.#serviceError(400, 'bad_request', problem);
    if (body.id !== undefined && body.id !== item.id)
      return this.#serviceError(400, 'bad_request', 'id cannot change');
    item.label = String(body.label);
    item.scoreMaximum = Number(body.scoreMaximum);
    for (const field of ['resourceId', 'tag', 'startDateTime', 'endDateTime'] as const) {
      if (typeof body[field] === 'string') item[field] = body[field] as string;
      else delete item[field];
    }
    return { status: 200, headers: { 'content-type': MEDIA_TYPE.lineItem }, body: this.#lineItemJson(item) };
  }

  // ── AGS scores (AGS §3.4) and results (§3.3) ──────────────────────────────────────────────

  #postScore(request: FakeRequest, course: LtiCourse, itemId: string): FakeResponse {
    const auth = this.#authorizeService(request, [SCOPE.score]);
    if (!auth.ok) return auth.response;
    const notInstalled = this.#checkInstalled(course, auth.value.clientId, request);
    if (notInstalled) return notInstalled;
    const item = this.#ownLineItem(course, auth.value.clientId, itemId);
    if (!item)
      return this.#serviceError(
        404,
        'not_found',
        `no line item ${itemId} of this tool in course ${course.id}`,
      );
    const refuse = (status: number, reason: string) => {
      this.scoreRefusals.push({
        at: this.clock.now(),
        clientId: auth.value.clientId,
        lineItemId: itemId,
        status,
        reason,
        body: request.json ?? request.bodyText,
      });
      return this.#serviceError(status, status === 415 ? 'unsupported_media_type' : 'bad_request', reason);
    };
    if (!this.#contentTypeIs(request, MEDIA_TYPE.score))
      return refuse(415, `Content-Type must be ${MEDIA_TYPE.score}`);
    const score = asObject(request.json);
    if (request.json === undefined) return refuse(400, 'the body is not a JSON object');
    const policy = this.profile.score;
    const userId = score.userId;
    if (typeof userId !== 'string' || !userId) return refuse(400, 'userId is required');
    if (typeof score.activityProgress !== 'string' || !ACTIVITY_PROGRESS.includes(score.activityProgress)) {
      return refuse(400, `activityProgress must be one of ${ACTIVITY_PROGRESS.join(', ')}`);
    }
    if (typeof score.gradingProgress !== 'string' || !GRADING_PROGRESS.includes(score.gradingProgress)) {
      return refuse(400, `gradingProgress must be one of ${GRADING_PROGRESS.join(', ')}`);
    }
    const timestampMs = parseScoreTimestamp(score.timestamp);
    if (timestampMs === undefined) {
      return refuse(400, 'timestamp must be ISO 8601 with sub-second precision and a time zone (AGS §3.4.9)');
    }
    if (score.scoreGiven !== undefined && score.scoreGiven !== null) {
      if (typeof score.scoreGiven !== 'number' || !(score.scoreGiven >= 0)) {
        return refuse(400, 'scoreGiven must be a number, 0 or more');
      }
      if (typeof score.scoreMaximum !== 'number') {
        return refuse(policy.scoreMaximumStatus, 'ScoreMaximum not supplied when ScoreGiven present.');
      }
    }
    if (
      score.scoreMaximum !== undefined &&
      !(typeof score.scoreMaximum === 'number' && score.scoreMaximum > 0)
    ) {
      return refuse(policy.scoreMaximumStatus, 'scoreMaximum must be a number greater than 0');
    }
    const member = course.members.get(userId);
    if (!member || member.status === 'Deleted') {
      return refuse(policy.unknownUserStatus, `user ${userId} is not a member of course ${course.id}`);
    }
    const last = this.results(itemId).find((record) => record.userId === userId);
    if (last) {
      const unit = policy.wholeSeconds ? 1000 : 1;
      if (Math.floor(timestampMs / unit) <= Math.floor(last.timestampMs / unit)) {
        return refuse(
          policy.staleStatus,
          `Provided timestamp of ${String(score.timestamp)} is not after the last one for this user (${new Date(last.timestampMs).toISOString()})`,
        );
      }
    }
    this.scores.push({
      at: this.clock.now(),
      clientId: auth.value.clientId,
      lineItemId: itemId,
      userId,
      score,
      timestampMs,
      aboveMaximum:
        typeof score.scoreGiven === 'number' &&
        typeof score.scoreMaximum === 'number' &&
        score.scoreGiven > score.scoreMaximum,
    });
    if (policy.success === 'no-content') return { status: 204 };
    return {
      status: 200,
      headers: { 'content-type': 'application/json' },
      body: { resultUrl: this.#resultUrl(item, userId) },
    };
  }

  #resultUrl(item: LtiLineItem, userId: string): string {
    const url = new URL(item.id);
    url.pathname += '/results';
    url.searchParams.set('user_id', userId);
    return url.href;
  }

  #listResults(request: FakeRequest, course: LtiCourse, itemId: string): FakeResponse {
    const auth = this.#authorizeService(request, [SCOPE.resultReadOnly]);
    if (!auth.ok) return auth.response;
    const notInstalled = this.#checkInstalled(course, auth.value.clientId, request);
    if (notInstalled) return notInstalled;
    const item = this.#ownLineItem(course, auth.value.clientId, itemId);
    if (!item)
      return this.#serviceError(
        404,
        'not_found',
        `no line item ${itemId} of this tool in course ${course.id}`,
      );
    if (!this.#acceptsMediaType(request, MEDIA_TYPE.resultContainer)) {
      return this.#serviceError(406, 'not_acceptable', `Accept must name ${MEDIA_TYPE.resultContainer}`);
    }
    const userId = request.query.get('user_id');
    const results = this.results(itemId).filter((record) => !userId || record.userId === userId);
    const page = paginate(request, results, Number(request.query.get('limit')) || results.length || 1);
    return {
      status: 200,
      headers: { 'content-type': MEDIA_TYPE.resultContainer, ...page.linkHeader },
      body: page.items.map((record) => ({
        id: this.#resultUrl(item, record.userId),
        scoreOf: item.id,
        userId: record.userId,
        ...(typeof record.score.scoreGiven === 'number' ? { resultScore: record.score.scoreGiven } : {}),
        ...(typeof record.score.scoreMaximum === 'number'
          ? { resultMaximum: record.score.scoreMaximum }
          : {}),
        ...(typeof record.score.comment === 'string' ? { comment: record.score.comment } : {}),
      })),
    };
  }

  // ── NRPS (NRPS 2.0 §2, paging §2.4) ───────────────────────────────────────────────────────

  #memberships(request: FakeRequest, course: LtiCourse, deploymentId: string | undefined): FakeResponse {
    const auth = this.#authorizeService(request, [SCOPE.contextMembershipReadOnly]);
    if (!auth.ok) return auth.response;
    const notInstalled = this.#checkInstalled(course, auth.value.clientId, request, deploymentId);
    if (notInstalled) return notInstalled;
    if (!this.#acceptsMediaType(request, MEDIA_TYPE.membershipContainer)) {
      return this.#serviceError(406, 'not_acceptable', `Accept must name ${MEDIA_TYPE.membershipContainer}`);
    }
    const tool = this.#tool(auth.value.clientId);
    const role = request.query.get('role');
    const members = [...course.members.entries()]
      .filter(([, membership]) => !role || membership.roles.includes(expandRole(role)))
      .sort(([a], [b]) => a.localeCompare(b));
    const limit = Number(request.query.get('limit')) || this.membershipPageSize;
    const page = paginate(request, members, limit);
    const url = new URL(request.url.pathname + request.url.search, this.url);
    return {
      status: 200,
      headers: { 'content-type': MEDIA_TYPE.membershipContainer, ...page.linkHeader },
      body: {
        id: url.href,
        context: { id: course.id, label: course.label, title: course.title },
        members: page.items.map(([userId, membership]) => {
          const user = this.#user(userId);
          return {
            status: membership.status,
            user_id: userId,
            roles: membership.roles,
            ...(tool.privacy === 'public' || tool.privacy === 'name_only'
              ? { name: user.name, given_name: user.givenName, family_name: user.familyName }
              : {}),
            ...(tool.privacy === 'public' || tool.privacy === 'email_only' ? { email: user.email } : {}),
          };
        }),
      },
    };
  }

  // ── Deep linking response (Deep Linking 2.0 §4) ───────────────────────────────────────────

  async #deepLinkReturn(request: FakeRequest): Promise<FakeResponse> {
    const refuse = (reason: string) => {
      this.deepLinkRefusals.push({ at: this.clock.now(), reason });
      return this.#html(400, errorPage(400, 'invalid_deep_linking_response', reason));
    };
    const jwt = request.form?.get('JWT');
    if (!jwt) return refuse('the form has no JWT field');
    let unverified: JWTPayload;
    try {
      unverified = decodeJwt(jwt);
    } catch {
      return refuse('JWT is not a JWT');
    }
    const tool = this.tools.get(typeof unverified.iss === 'string' ? unverified.iss : '');
    if (!tool) return refuse(`iss ${String(unverified.iss)} is not a registered client id`);
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(jwt, this.#toolKeySet(tool), {
        algorithms: ['RS256'],
        issuer: tool.clientId,
        audience: this.issuer,
        currentDate: new Date(this.clock.now()),
        clockTolerance: 5,
        requiredClaims: ['iat', 'exp', 'nonce'],
      }));
    } catch (error) {
      return refuse(`JWT refused: ${describe(error)}`);
    }
    if (payload[CLAIM.data] === undefined) return refuse('the data claim of the request was not echoed');
    const launch = this.launches.find(
      (candidate) =>
        candidate.clientId === tool.clientId && candidate.deepLinking?.data === payload[CLAIM.data],
    );
    if (!launch?.deepLinking) return refuse('the data claim matches no deep-linking request of this tool');
    if (this.deepLinkResults.some((result) => result.launchId === launch.id)) {
      return refuse('this deep-linking request was already answered');
    }
    const nonceKey = `${tool.clientId} ${String(payload.nonce)}`;
    if (this.#usedDeepLinkNonces.has(nonceKey))
      return refuse(`nonce ${String(payload.nonce)} was already used`);
    if (payload[CLAIM.messageType] !== MESSAGE_TYPE.deepLinkingResponse) {
      return refuse(`message_type must be ${MESSAGE_TYPE.deepLinkingResponse}`);
    }
    if (payload[CLAIM.version] !== LTI_VERSION) return refuse(`version must be ${LTI_VERSION}`);
    if (payload[CLAIM.deploymentId] !== launch.deploymentId) {
      return refuse(`deployment_id must be ${launch.deploymentId}, the request's`);
    }
    const items = payload[CLAIM.contentItems] ?? [];
    const itemsProblem = checkContentItems(items, launch.deepLinking);
    if (itemsProblem) return refuse(itemsProblem);
    this.#usedDeepLinkNonces.add(nonceKey);
    const contentItems = items as Record<string, unknown>[];
    const lineItemIds: string[] = [];
    for (const item of contentItems) {
      const lineItem = asObject(item.lineItem);
      if (item.type === 'ltiResourceLink' && item.lineItem !== undefined) {
        lineItemIds.push(
          this.createLineItem({
            courseId: launch.courseId,
            clientId: tool.clientId,
            scoreMaximum: Number(lineItem.scoreMaximum),
            label: typeof lineItem.label === 'string' ? lineItem.label : String(item.title ?? 'Grade'),
            resourceLinkId: this.profile.ids.resourceLinkId(),
            ...(typeof lineItem.resourceId === 'string' ? { resourceId: lineItem.resourceId } : {}),
            ...(typeof lineItem.tag === 'string' ? { tag: lineItem.tag } : {}),
          }).itemId,
        );
      }
    }
    this.deepLinkResults.push({
      at: this.clock.now(),
      launchId: launch.id,
      clientId: tool.clientId,
      deploymentId: launch.deploymentId,
      courseId: launch.courseId,
      items: contentItems,
      lineItemIds,
      ...(payload[CLAIM.msg] !== undefined ? { msg: payload[CLAIM.msg] } : {}),
      ...(payload[CLAIM.log] !== undefined ? { log: payload[CLAIM.log] } : {}),
      ...(payload[CLAIM.errorMsg] !== undefined ? { errorMsg: payload[CLAIM.errorMsg] } : {}),
      ...(payload[CLAIM.errorLog] !== undefined ? { errorLog: payload[CLAIM.errorLog] } : {}),
    });
    return this.#html(
      200,
      messagePage('Content added', [`${contentItems.length} item(s) added to course ${launch.courseId}.`]),
    );
  }

  // ── Helpers ───────────────────────────────────────────────────────────────────────────────

  async #newKey(): Promise<PlatformKey> {
    const { privateKey, publicJwk } = await createRsaSigningKey();
    const kid = this.profile.ids.kid();
    return {
      kid,
      privateKey,
      publicJwk: { kty: 'RSA', e: publicJwk.e, n: publicJwk.n, kid, alg: 'RS256', use: 'sig' },
    };
  }

  #signingKey(): PlatformKey {
    const key = this.keys.at(-1);
    if (!key) throw new Error('the platform publishes no key');
    return key;
  }

  #tool(clientId: string): LtiToolRegistration {
    const tool = this.tools.get(clientId);
    if (!tool) throw new Error(`unknown tool ${clientId}`);
    return tool;
  }

  #user(userId: string): LtiUser {
    const user = this.users.get(userId);
    if (!user) throw new Error(`unknown user ${userId}`);
    return user;
  }

  #course(courseId: string): LtiCourse {
    const course = this.courses.get(courseId);
    if (!course) throw new Error(`unknown course ${courseId}`);
    return course;
  }
}

// ── Module helpers ──────────────────────────────────────────────────────────────────────────

function signLti(key: { kid: string; privateKey: CryptoKey }, claims: JWTPayload): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ typ: 'JWT', alg: 'RS256', kid: key.kid })
    .sign(key.privateKey);
}

/** Query parameters and form fields of a GET or POST request. */
function readParams(request: FakeRequest): Record<string, string> {
  const params: Record<string, string> = Object.fromEntries(request.query);
  if (request.form) for (const [key, value] of request.form) params[key] = value;
  return params;
}

function asObject(value: unknown): Record<string, unknown> {
  return value && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as Error & { code?: unknown }).code;
  return code ? `${String(code)}: ${error.message}` : error.message;
}

/** AGS §3.4.9: ISO 8601 with sub-second precision and a time zone designator. */
function parseScoreTimestamp(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const match = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)(Z|[+-]\d\d(?::?\d\d)?)$/.exec(value);
  if (!match) return undefined;
  let zone = match[2] as string;
  if (/^[+-]\d\d$/.test(zone)) zone += ':00';
  if (/^[+-]\d{4}$/.test(zone)) zone = `${zone.slice(0, 3)}:${zone.slice(3)}`;
  const ms = Date.parse(`${match[1]}${zone}`);
  return Number.isNaN(ms) ? undefined : ms;
}

function checkLineItemBody(body: Record<string, unknown>): string | undefined {
  if (typeof body.label !== 'string' || !body.label.trim()) return 'label is required';
  if (typeof body.scoreMaximum !== 'number' || !(body.scoreMaximum > 0)) {
    return 'scoreMaximum must be a number greater than 0';
  }
  return undefined;
}

function checkContentItems(items: unknown, settings: Required<DeepLinkingOptions>): string | undefined {
  if (!Array.isArray(items)) return 'content_items must be an array';
  if (items.length > 1 && !settings.acceptMultiple) return 'the request accepted one content item only';
  for (const [index, raw] of items.entries()) {
    const item = asObject(raw);
    if (typeof item.type !== 'string') return `content_items[${index}] has no type`;
    if (!settings.acceptTypes.includes(item.type)) {
      return `content_items[${index}] type ${item.type} is not in accept_types (${settings.acceptTypes.join(', ')})`;
    }
    if (item.url !== undefined) {
      try {
        const url = new URL(String(item.url));
        if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('scheme');
      } catch {
        return `content_items[${index}].url is not an absolute http(s) URL`;
      }
    }
    if (item.custom !== undefined) {
      const custom = asObject(item.custom);
      if (Object.values(custom).some((value) => typeof value !== 'string')) {
        return `content_items[${index}].custom values must be strings`;
      }
    }
    if (item.lineItem !== undefined) {
      const lineItem = asObject(item.lineItem);
      if (typeof lineItem.scoreMaximum !== 'number' || !(lineItem.scoreMaximum > 0)) {
        return `content_items[${index}].lineItem.scoreMaximum must be a number greater than 0`;
      }
    }
  }
  return undefined;
}

/**
 * One page of a collection with `limit` and the fake's own `page` query parameter, and the RFC
 * 8288 `Link: <…>; rel="next"` header when more remain (NRPS §2.4.2; AGS line items paging).
 */
function paginate<T>(
  request: FakeRequest,
  items: T[],
  limit: number,
): { items: T[]; linkHeader: Record<string, string> } {
  const size = Math.max(1, Math.floor(limit));
  const page = Math.max(1, Number(request.query.get('page')) || 1);
  const slice = items.slice((page - 1) * size, page * size);
  if (page * size >= items.length) return { items: slice, linkHeader: {} };
  const next = new URL(request.url.pathname + request.url.search, 'http://placeholder');
  next.searchParams.set('page', String(page + 1));
  next.searchParams.set('limit', String(size));
  const host = String(request.headers.host ?? '');
  return { items: slice, linkHeader: { link: `<http://${host}${next.pathname}${next.search}>; rel="next"` } };
}
