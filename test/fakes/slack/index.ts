/**
 * Fake Slack: the Web API methods the flow-of-work channel calls, OAuth v2 for workspaces and
 * Enterprise Grid, and the interactivity side (signed `block_actions` callbacks, `response_url`).
 * References: flow-of-work.md §3 and the Slack pages it cites: method pages (docs.slack.dev
 * /reference/methods/…) for oauth.v2.access, auth.test, users.lookupByEmail, conversations.open,
 * chat.postMessage, chat.update (error lists as in slack-ruby/slack-api-ref); "Rate limits"
 * (docs.slack.dev/apis/web-api/rate-limits); "Verifying requests from Slack"; "Handling user
 * interaction" (block_actions payload, response_url: at most 5 uses within 30 minutes).
 *
 *   POST|GET /api/<method>     Bearer token (or a `token` form field); JSON needs the header
 *   GET  /oauth/v2/authorize   consent screen stand-in: redirects to redirect_uri?code&state
 *   POST /actions/…            response_url endpoint; records follow-ups
 *
 * Faithful where it hurts:
 * - **Errors are HTTP 200** `{"ok":false,"error":"…"}`: `invalid_auth`, `not_authed`,
 *   `token_revoked`, `account_inactive`, `token_expired`, `missing_scope` (+ `needed`, `provided`),
 *   `channel_not_found`, `not_in_channel`, `is_archived`, `invalid_blocks`, `msg_too_long`,
 *   `no_text`, `users_not_found` (**plural**), `message_not_found`, `cant_update_message`.
 * - **429 + `Retry-After`** (seconds) and `{"ok":false,"error":"ratelimited"}`: per method per
 *   workspace by tier (Tier 2/3/4 = 20/50/100 per minute: Slack's floors, so the fake is as strict
 *   as the published numbers allow), and chat.postMessage per channel (about 1/s with short bursts:
 *   here 5 per 5 s and 60 per minute) plus a workspace cap (300 per minute). Slack publishes no exact
 *   burst or workspace numbers: these are the fake's, configurable.
 * - OAuth v2: client credentials by HTTP Basic (or form), `code` single-use and bound to its
 *   `redirect_uri` (`bad_redirect_uri`), a workspace install (`team`, `enterprise` null or the
 *   Grid org, `is_enterprise_install:false`) or a Grid **org install** (`team:null`,
 *   `is_enterprise_install:true`); with token rotation on, `xoxe.xoxb-…` tokens with
 *   `expires_in: 43200` and a `refresh_token` (refresh grant on the same method).
 * - chat.postMessage to a user id (`U…`) posts in the app's DM and answers with the `D…` channel;
 *   chat.update needs that `D…` id (a `U…` id is `channel_not_found`); a JSON body without
 *   `charset=utf-8` still works but answers `warning: "missing_charset"`; a JSON body cannot carry
 *   the token (`not_authed`); users.lookupByEmail returns deactivated users with `deleted: true`.
 * - Signing: `X-Slack-Signature: v0=hex(HMAC-SHA256(signing secret, "v0:" + ts + ":" + body))`
 *   and `X-Slack-Request-Timestamp`; forged variants: wrong secret, timestamp older than 5 minutes,
 *   body altered after signing, no signature, and a replay of a genuine request.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { FakeClock } from '../fake-clock.ts';
import {
  type FakeRequest,
  type FakeResponse,
  type LoggedRequest,
  parseBasicAuth,
  parseBearer,
  startFakeHttpServer,
} from '../hr-fake-server.ts';
import { retryAfterSeconds, SlidingWindowLimiter, type WindowRule } from '../sliding-window.ts';

export interface SlackWorkspace {
  id: string;
  name: string;
  domain: string;
  enterpriseId?: string;
  /** Deleted workspace: its tokens answer `account_inactive`. */
  inactive: boolean;
}

export interface SlackEnterprise {
  id: string;
  name: string;
}

export interface SlackUser {
  id: string;
  teamId: string;
  email: string;
  name: string;
  realName: string;
  deleted: boolean;
  isBot: boolean;
}

export interface SlackChannel {
  id: string;
  name: string;
  teamId: string;
  /** Whether the app's bot user is a member (else `not_in_channel`). */
  botIsMember: boolean;
  archived: boolean;
  /** For DMs: the user on the other side. */
  dmUserId?: string;
}

export interface SlackToken {
  token: string;
  appId: string;
  botUserId: string;
  botId: string;
  teamId?: string;
  enterpriseId?: string;
  isEnterpriseInstall: boolean;
  scopes: Set<string>;
  /** Why the token stopped working, if it did. */
  revoked?: 'token_revoked' | 'account_inactive' | 'invalid_auth';
  expiresAt?: number;
}

export interface SlackMessage {
  channel: string;
  ts: string;
  text: string | undefined;
  blocks: unknown[] | undefined;
  threadTs?: string;
  botUserId: string;
  at: number;
  /** Previous versions after chat.update, oldest first. */
  history: Array<{ text: string | undefined; blocks: unknown[] | undefined; at: number }>;
}

export interface SlackFollowUp {
  at: number;
  responseUrl: string;
  body: Record<string, unknown>;
}

export type SlackSignatureForgery = 'wrong-secret' | 'stale-timestamp' | 'body-altered' | 'missing-signature';

export interface SignedRequest {
  url: string;
  body: string;
  headers: Record<string, string>;
}

export interface FakeSlackOptions {
  clock?: FakeClock;
  clientId?: string;
  clientSecret?: string;
  signingSecret?: string;
  appId?: string;
  /** Issue rotating tokens (`expires_in`, `refresh_token`) from oauth.v2.access. */
  tokenRotation?: boolean;
  /** Requests per minute for each tier, per method per workspace. */
  tiers?: Partial<Record<1 | 2 | 3 | 4, number>>;
  postMessagePerChannel?: WindowRule[];
  postMessagePerWorkspacePerMinute?: number;
}

const METHOD_TIERS: Record<string, 1 | 2 | 3 | 4 | 'post'> = {
  'oauth.v2.access': 4,
  'auth.test': 4,
  'users.lookupByEmail': 3,
  'conversations.open': 3,
  'chat.postMessage': 'post',
  'chat.update': 3,
};

const METHOD_SCOPES: Record<string, string[]> = {
  'users.lookupByEmail': ['users:read.email'],
  'conversations.open': ['im:write'],
  'chat.postMessage': ['chat:write'],
  'chat.update': ['chat:write'],
};

const KNOWN_BLOCK_TYPES = new Set([
  'actions',
  'context',
  'divider',
  'file',
  'header',
  'image',
  'input',
  'markdown',
  'rich_text',
  'section',
  'video',
]);

type Json = Record<string, unknown>;
const ok = (body: Json = {}, headers: Record<string, string> = {}): FakeResponse => ({
  status: 200,
  headers,
  body: { ok: true, ...body },
});
const fail = (error: string, extra: Json = {}): FakeResponse => ({
  status: 200,
  body: { ok: false, error, ...extra },
});

export class FakeSlack {
  readonly clock: FakeClock;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly signingSecret: string;
  readonly appId: string;
  readonly workspaces = new Map<string, SlackWorkspace>();
  readonly enterprises = new Map<string, SlackEnterprise>();
  readonly users = new Map<string, SlackUser>();
  readonly channels = new Map<string, SlackChannel>();
  readonly tokens = new Map<string, SlackToken>();
  readonly messages: SlackMessage[] = [];
  readonly followUps: SlackFollowUp[] = [];
  /** Every 429 answered, with the limit that refused it. */
  readonly throttles: Array<{
    at: number;
    method: string;
    key: string;
    rule: string;
    retryAfterSeconds: number;
  }> = [];
  tokenRotation: boolean;
  url = '';
  requests: LoggedRequest[] = [];
  readonly #codes = new Map<
    string,
    {
      redirectUri: string;
      teamId?: string;
      enterpriseId?: string;
      scopes: string[];
      installerUserId: string;
      expiresAt: number;
    }
  >();
  readonly #refreshTokens = new Map<string, SlackToken>();
  readonly #responseUrls = new Map<string, { createdAt: number; uses: number }>();
  readonly #nextAuthorization: Array<{ teamId?: string; enterpriseId?: string; installerUserId: string }> =
    [];
  readonly #tierLimiters = new Map<number, SlidingWindowLimiter>();
  readonly #channelLimiter: SlidingWindowLimiter;
  readonly #workspacePostLimiter: SlidingWindowLimiter;
  readonly #faults: Array<{ method: string; error?: string; status?: number; times: number }> = [];
  #lastTs = 0;
  #close: (() => Promise<void>) | undefined;

  constructor(options: FakeSlackOptions = {}) {
    this.clock = options.clock ?? new FakeClock();
    this.clientId = options.clientId ?? `${Date.now()}.${Math.floor(Math.random() * 1e12)}`;
    this.clientSecret = options.clientSecret ?? randomBytes(16).toString('hex');
    this.signingSecret = options.signingSecret ?? randomBytes(16).toString('hex');
    this.appId = options.appId ?? `A${randomId(10)}`;
    this.tokenRotation = options.tokenRotation ?? false;
    const tiers: Record<1 | 2 | 3 | 4, number> = {
      1: options.tiers?.[1] ?? 1,
      2: options.tiers?.[2] ?? 20,
      3: options.tiers?.[3] ?? 50,
      4: options.tiers?.[4] ?? 100,
    };
    for (const tier of [1, 2, 3, 4] as const) {
      this.#tierLimiters.set(
        tier,
        new SlidingWindowLimiter([
          { name: `tier ${tier} ${tiers[tier]}/min`, limit: tiers[tier], windowMs: 60_000 },
        ]),
      );
    }
    this.#channelLimiter = new SlidingWindowLimiter(
      options.postMessagePerChannel ?? [
        { name: 'channel 5/5s', limit: 5, windowMs: 5_000 },
        { name: 'channel 60/min', limit: 60, windowMs: 60_000 },
      ],
    );
    const workspaceCap = options.postMessagePerWorkspacePerMinute ?? 300;
    this.#workspacePostLimiter = new SlidingWindowLimiter([
      { name: `workspace ${workspaceCap}/min`, limit: workspaceCap, windowMs: 60_000 },
    ]);
  }

  static async start(options: FakeSlackOptions = {}): Promise<FakeSlack> {
    const slack = new FakeSlack(options);
    const server = await startFakeHttpServer((request) => slack.#handle(request));
    slack.url = server.url;
    slack.requests = server.requests;
    slack.#close = server.close;
    return slack;
  }

  async close(): Promise<void> {
    await this.#close?.();
  }

  /** The Web API base (`https://slack.com/api` in production). */
  get apiUrl(): string {
    return `${this.url}/api`;
  }

  // ── Set-up ────────────────────────────────────────────────────────────────────────────────

  createEnterprise(name = 'Acme Grid'): SlackEnterprise {
    const enterprise = { id: `E${randomId(10)}`, name };
    this.enterprises.set(enterprise.id, enterprise);
    return enterprise;
  }

  createWorkspace(spec: { name?: string; enterpriseId?: string } = {}): SlackWorkspace {
    const name = spec.name ?? 'Acme';
    const workspace: SlackWorkspace = {
      id: `T${randomId(10)}`,
      name,
      domain: name.toLowerCase().replace(/[^a-z0-9]+/g, '-'),
      ...(spec.enterpriseId ? { enterpriseId: spec.enterpriseId } : {}),
      inactive: false,
    };
    this.workspaces.set(workspace.id, workspace);
    return workspace;
  }

  addUser(spec: {
    teamId: string;
    email: string;
    name?: string;
    deleted?: boolean;
    isBot?: boolean;
  }): SlackUser {
    const workspace = this.workspaces.get(spec.teamId);
    const user: SlackUser = {
      id: `${workspace?.enterpriseId ? 'W' : 'U'}${randomId(10)}`,
      teamId: spec.teamId,
      email: spec.email,
      name: spec.name ?? spec.email.split('@')[0] ?? 'user',
      realName: spec.name ?? spec.email,
      deleted: spec.deleted ?? false,
      isBot: spec.isBot ?? false,
    };
    this.users.set(user.id, user);
    return user;
  }

  addChannel(spec: {
    teamId: string;
    name: string;
    botIsMember?: boolean;
    archived?: boolean;
  }): SlackChannel {
    const channel: SlackChannel = {
      id: `C${randomId(10)}`,
      name: spec.name,
      teamId: spec.teamId,
      botIsMember: spec.botIsMember ?? true,
      archived: spec.archived ?? false,
    };
    this.channels.set(channel.id, channel);
    return channel;
  }

  /** A bot token without the OAuth dance (for tests that do not test installation). */
  issueBotToken(spec: { teamId?: string; enterpriseId?: string; scopes?: string[] }): SlackToken {
    const enterpriseInstall = !spec.teamId && !!spec.enterpriseId;
    const enterpriseId =
      spec.enterpriseId ?? (spec.teamId ? this.workspaces.get(spec.teamId)?.enterpriseId : undefined);
    const token: SlackToken = {
      token: this.tokenRotation
        ? `xoxe.xoxb-1-${randomId(40)}`
        : `xoxb-${randomDigits(12)}-${randomDigits(13)}-${randomId(24)}`,
      appId: this.appId,
      botUserId: `U${randomId(10)}`,
      botId: `B${randomId(10)}`,
      ...(spec.teamId ? { teamId: spec.teamId } : {}),
      ...(enterpriseId ? { enterpriseId } : {}),
      isEnterpriseInstall: enterpriseInstall,
      scopes: new Set(spec.scopes ?? ['chat:write', 'users:read', 'users:read.email', 'im:write']),
      ...(this.tokenRotation ? { expiresAt: this.clock.now() + 43_200_000 } : {}),
    };
    this.tokens.set(token.token, token);
    return token;
  }

  /** The next visit to /oauth/v2/authorize is approved by this user for this workspace or org. */
  approveNextAuthorization(spec: { teamId?: string; enterpriseId?: string; installerUserId: string }): void {
    this.#nextAuthorization.push(spec);
  }

  /** A code as if a user had approved the install (for tests that skip the browser). */
  authorize(spec: {
    redirectUri: string;
    teamId?: string;
    enterpriseId?: string;
    scopes?: string[];
    installerUserId: string;
  }): string {
    const code = `${randomDigits(10)}.${randomDigits(13)}.${randomBytes(32).toString('hex')}`;
    this.#codes.set(code, {
      redirectUri: spec.redirectUri,
      ...(spec.teamId ? { teamId: spec.teamId } : {}),
      ...(spec.enterpriseId ? { enterpriseId: spec.enterpriseId } : {}),
      scopes: spec.scopes ?? ['chat:write', 'users:read', 'users:read.email', 'im:write'],
      installerUserId: spec.installerUserId,
      expiresAt: this.clock.now() + 600_000,
    });
    return code;
  }

  /** The app was uninstalled, the token revoked, or the workspace deleted (mid-run failures). */
  revokeToken(token: string, reason: SlackToken['revoked'] = 'token_revoked'): void {
    const entry = this.tokens.get(token);
    if (entry) entry.revoked = reason;
  }

  /** The next `times` calls of `method` fail with `error` (HTTP 200 ok:false) or an HTTP `status`. */
  failNext(fault: { method: string; error?: string; status?: number; times?: number }): void {
    this.#faults.push({ ...fault, times: fault.times ?? 1 });
  }

  messagesIn(channel: string): SlackMessage[] {
    return this.messages.filter((message) => message.channel === channel);
  }

  /** The DM channel id of the app with a user, if it was opened. */
  dmChannelOf(userId: string): string | undefined {
    return [...this.channels.values()].find((channel) => channel.dmUserId === userId)?.id;
  }

  // ── Interactivity ─────────────────────────────────────────────────────────────────────────

  /** A `block_actions` payload as Slack sends it when a user presses a button in our message. */
  blockActionsPayload(spec: {
    user: SlackUser;
    channel: string;
    messageTs: string;
    actions: Array<{ actionId: string; blockId?: string; value?: string; text?: string }>;
  }): Json {
    const workspace = this.workspaces.get(spec.user.teamId);
    const responseUrl = `${this.url}/actions/${spec.user.teamId}/${randomDigits(13)}/${randomId(24)}`;
    this.#responseUrls.set(new URL(responseUrl).pathname, { createdAt: this.clock.now(), uses: 0 });
    const actionTs = `${this.clock.nowSeconds()}.${String(this.clock.now() % 1000).padStart(3, '0')}000`;
    return {
      type: 'block_actions',
      user: { id: spec.user.id, username: spec.user.name, name: spec.user.name, team_id: spec.user.teamId },
      api_app_id: this.appId,
      token: randomId(24),
      container: {
        type: 'message',
        message_ts: spec.messageTs,
        channel_id: spec.channel,
        is_ephemeral: false,
      },
      trigger_id: `${randomDigits(13)}.${randomDigits(12)}.${randomBytes(16).toString('hex')}`,
      team: { id: spec.user.teamId, domain: workspace?.domain ?? 'acme' },
      enterprise: workspace?.enterpriseId
        ? { id: workspace.enterpriseId, name: this.enterprises.get(workspace.enterpriseId)?.name }
        : null,
      is_enterprise_install: false,
      channel: { id: spec.channel, name: this.channels.get(spec.channel)?.name ?? 'directmessage' },
      message: this.messages.find(
        (message) => message.channel === spec.channel && message.ts === spec.messageTs,
      ) ?? { ts: spec.messageTs },
      state: { values: {} },
      response_url: responseUrl,
      actions: spec.actions.map((action) => ({
        action_id: action.actionId,
        block_id: action.blockId ?? randomId(5),
        text: { type: 'plain_text', text: action.text ?? action.value ?? action.actionId, emoji: true },
        ...(action.value === undefined ? {} : { value: action.value }),
        type: 'button',
        action_ts: actionTs,
      })),
    };
  }

  /** Signs an interactivity request the way Slack does (or forges it). */
  signInteraction(url: string, payload: Json, forgery?: SlackSignatureForgery): SignedRequest {
    const body = `payload=${encodeURIComponent(JSON.stringify(payload))}`;
    const timestamp = forgery === 'stale-timestamp' ? this.clock.nowSeconds() - 301 : this.clock.nowSeconds();
    const secret = forgery === 'wrong-secret' ? randomBytes(16).toString('hex') : this.signingSecret;
    const signature = `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
    const sent =
      forgery === 'body-altered'
        ? `payload=${encodeURIComponent(JSON.stringify({ ...payload, user: { ...(payload.user as Json), id: 'U0TAMPERED' } }))}`
        : body;
    return {
      url,
      body: sent,
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-slack-request-timestamp': String(timestamp),
        ...(forgery === 'missing-signature' ? {} : { 'x-slack-signature': signature }),
        'user-agent': 'Slackbot 1.0 (+https://api.slack.com/robots)',
      },
    };
  }

  /** POSTs a signed request (from `signInteraction`; send it again to replay it). */
  async send(request: SignedRequest): Promise<{ status: number; text: string }> {
    const response = await fetch(request.url, {
      method: 'POST',
      headers: request.headers,
      body: request.body,
    });
    return { status: response.status, text: await response.text() };
  }

  /** Builds, signs and delivers a `block_actions` callback to the app's interactivity URL. */
  async deliverBlockActions(
    url: string,
    payload: Json,
    forgery?: SlackSignatureForgery,
  ): Promise<{ status: number; text: string; request: SignedRequest }> {
    const request = this.signInteraction(url, payload, forgery);
    return { ...(await this.send(request)), request };
  }

  // ── HTTP ──────────────────────────────────────────────────────────────────────────────────

  async #handle(request: FakeRequest): Promise<FakeResponse> {
    if (request.path === '/oauth/v2/authorize' && request.method === 'GET')
      return this.#authorizePage(request);
    if (request.path.startsWith('/actions/') && request.method === 'POST') return this.#responseUrl(request);
    const match = /^\/api\/([a-zA-Z0-9.]+)$/.exec(request.path);
    if (!match) return { status: 404, headers: { 'content-type': 'text/plain' }, body: 'Not Found' };
    const method = match[1] as string;
    const tier = METHOD_TIERS[method];
    if (!tier) return fail('unknown_method');
    const args = readArguments(request);
    if ('error' in args) return fail(args.error);
    const fault = this.#takeFault(method);
    if (fault) return fault;
    if (method === 'oauth.v2.access')
      return this.#throttled(method, tier, 'oauth', undefined) ?? this.#oauthAccess(request, args.values);

    const token = this.#authenticate(request, args);
    if ('status' in token) return token;
    const workspaceKey = token.teamId ?? token.enterpriseId ?? 'none';
    const channelKey = method === 'chat.postMessage' ? String(args.values.channel ?? '') : undefined;
    const throttled = this.#throttled(method, tier, workspaceKey, channelKey);
    if (throttled) return throttled;
    const needed = METHOD_SCOPES[method] ?? [];
    const missing = needed.filter((scope) => !token.scopes.has(scope));
    if (missing.length)
      return fail('missing_scope', { needed: missing.join(','), provided: [...token.scopes].join(',') });
    const warning = args.missingCharset
      ? { warning: 'missing_charset', response_metadata: { warnings: ['missing_charset'] } }
      : {};
    const response = this.#method(method, token, args.values);
    if (response.status === 200 && (response.body as Json).ok === true) {
      return { ...response, body: { ...(response.body as Json), ...warning } };
    }
    return response;
  }

  #method(method: string, token: SlackToken, args: Json): FakeResponse {
    switch (method) {
      case 'auth.test':
        return this.#authTest(token);
      case 'users.lookupByEmail':
        return this.#lookupByEmail(token, args);
      case 'conversations.open':
        return this.#conversationsOpen(token, args);
      case 'chat.postMessage':
        return this.#postMessage(token, args);
      case 'chat.update':
        return this.#update(token, args);
      default:
        return fail('unknown_method');
    }
  }

  #authenticate(request: FakeRequest, args: { values: Json; json: boolean }): SlackToken | FakeResponse {
    const bearer = parseBearer(request.headers.authorization);
    const fromBody = args.json ? undefined : (args.values.token as string | undefined);
    const value = bearer ?? fromBody;
    if (!value) return fail('not_authed');
    const token = this.tokens.get(value);
    if (!token) return fail('invalid_auth');
    if (token.revoked) return fail(token.revoked);
    const workspace = token.teamId ? this.workspaces.get(token.teamId) : undefined;
    if (workspace?.inactive) return fail('account_inactive');
    if (token.expiresAt !== undefined && token.expiresAt <= this.clock.now()) return fail('token_expired');
    return token;
  }

  #throttled(
    method: string,
    tier: 1 | 2 | 3 | 4 | 'post',
    workspaceKey: string,
    channel: string | undefined,
  ): FakeResponse | undefined {
    const now = this.clock.now();
    let refusal: ReturnType<SlidingWindowLimiter['take']>;
    let key = `${method}|${workspaceKey}`;
    if (tier === 'post') {
      refusal = this.#workspacePostLimiter.take(workspaceKey, now);
      if (!refusal && channel) {
        key = `${workspaceKey}|${channel}`;
        refusal = this.#channelLimiter.take(key, now);
      }
    } else {
      refusal = this.#tierLimiters.get(tier)?.take(key, now);
    }
    if (!refusal) return undefined;
    const seconds = retryAfterSeconds(refusal.retryAfterMs);
    this.throttles.push({ at: now, method, key, rule: refusal.rule.name, retryAfterSeconds: seconds });
    return {
      status: 429,
      headers: { 'retry-after': String(seconds) },
      body: { ok: false, error: 'ratelimited' },
    };
  }

  #takeFault(method: string): FakeResponse | undefined {
    const fault = this.#faults.find((candidate) => candidate.method === method);
    if (!fault) return undefined;
    fault.times -= 1;
    if (fault.times <= 0) this.#faults.splice(this.#faults.indexOf(fault), 1);
    if (fault.status)
      return {
        status: fault.status,
        headers: { 'content-type': 'text/html' },
        body: '<html><body>Service unavailable</body></html>',
      };
    return fail(fault.error ?? 'internal_error');
  }

  // ── OAuth v2 ──────────────────────────────────────────────────────────────────────────────

  #authorizePage(request: FakeRequest): FakeResponse {
    if (request.query.get('client_id') !== this.clientId) {
      return {
        status: 400,
        headers: { 'content-type': 'text/html' },
        body: '<html><body>invalid_client_id</body></html>',
      };
    }
    const redirectUri = request.query.get('redirect_uri') ?? '';
    const approval = this.#nextAuthorization.shift();
    if (!approval)
      return {
        status: 200,
        headers: { 'content-type': 'text/html' },
        body: '<html><body>Choose a workspace</body></html>',
      };
    const code = this.authorize({
      redirectUri,
      ...approval,
      scopes: (request.query.get('scope') ?? '').split(',').filter(Boolean),
    });
    const target = new URL(redirectUri);
    target.searchParams.set('code', code);
    const state = request.query.get('state');
    if (state !== null) target.searchParams.set('state', state);
    return { status: 302, headers: { location: target.toString() } };
  }

  #oauthAccess(request: FakeRequest, args: Json): FakeResponse {
    const basic = parseBasicAuth(request.headers.authorization);
    const clientId = basic?.[0] ?? (args.client_id as string | undefined);
    const clientSecret = basic?.[1] ?? (args.client_secret as string | undefined);
    if (clientId !== this.clientId) return fail('invalid_client_id');
    if (clientSecret !== this.clientSecret) return fail('bad_client_secret');
    const grantType = (args.grant_type as string | undefined) ?? 'authorization_code';
    if (grantType === 'refresh_token') return this.#refresh(String(args.refresh_token ?? ''));
    if (grantType !== 'authorization_code') return fail('invalid_grant_type');
    const code = this.#codes.get(String(args.code ?? ''));
    if (!code || code.expiresAt <= this.clock.now()) return fail('invalid_code');
    if ((args.redirect_uri ?? '') !== code.redirectUri) return fail('bad_redirect_uri');
    this.#codes.delete(String(args.code));
    const enterpriseInstall = !code.teamId && !!code.enterpriseId;
    const token = this.issueBotToken({
      ...(code.teamId ? { teamId: code.teamId } : {}),
      ...(code.enterpriseId ? { enterpriseId: code.enterpriseId } : {}),
      scopes: code.scopes,
    });
    const workspace = code.teamId ? this.workspaces.get(code.teamId) : undefined;
    const enterpriseId = code.enterpriseId ?? workspace?.enterpriseId;
    const enterprise = enterpriseId ? this.enterprises.get(enterpriseId) : undefined;
    return ok({
      app_id: this.appId,
      authed_user: { id: code.installerUserId },
      scope: code.scopes.join(','),
      token_type: 'bot',
      access_token: token.token,
      bot_user_id: token.botUserId,
      team: enterpriseInstall || !workspace ? null : { id: workspace.id, name: workspace.name },
      enterprise: enterprise ? { id: enterprise.id, name: enterprise.name } : null,
      is_enterprise_install: enterpriseInstall,
      ...this.#rotationFields(token),
    });
  }

  #refresh(refreshToken: string): FakeResponse {
    const previous = this.#refreshTokens.get(refreshToken);
    if (!previous) return fail('invalid_refresh_token');
    this.#refreshTokens.delete(refreshToken);
    const token = this.issueBotToken({
      ...(previous.teamId ? { teamId: previous.teamId } : {}),
      ...(previous.enterpriseId ? { enterpriseId: previous.enterpriseId } : {}),
      scopes: [...previous.scopes],
    });
    token.botUserId = previous.botUserId;
    token.botId = previous.botId;
    return ok({
      app_id: this.appId,
      scope: [...token.scopes].join(','),
      token_type: 'bot',
      access_token: token.token,
      bot_user_id: token.botUserId,
      team:
        previous.teamId && !previous.isEnterpriseInstall
          ? { id: previous.teamId, name: this.workspaces.get(previous.teamId)?.name }
          : null,
      enterprise: previous.enterpriseId
        ? { id: previous.enterpriseId, name: this.enterprises.get(previous.enterpriseId)?.name }
        : null,
      is_enterprise_install: previous.isEnterpriseInstall,
      ...this.#rotationFields(token),
    });
  }

  #rotationFields(token: SlackToken): Json {
    if (!this.tokenRotation) return {};
    const refreshToken = `xoxe-1-${randomId(60)}`;
    this.#refreshTokens.set(refreshToken, token);
    return { expires_in: 43_200, refresh_token: refreshToken };
  }

  // ── Methods ───────────────────────────────────────────────────────────────────────────────

  #authTest(token: SlackToken): FakeResponse {
    const workspace = token.teamId ? this.workspaces.get(token.teamId) : undefined;
    return ok({
      url: `https://${workspace?.domain ?? 'enterprise'}.slack.com/`,
      team: workspace?.name ?? this.enterprises.get(token.enterpriseId ?? '')?.name,
      user: 'switchboard',
      ...(workspace ? { team_id: workspace.id } : {}),
      user_id: token.botUserId,
      bot_id: token.botId,
      ...(token.enterpriseId ? { enterprise_id: token.enterpriseId } : {}),
      is_enterprise_install: token.isEnterpriseInstall,
    });
  }

  #lookupByEmail(token: SlackToken, args: Json): FakeResponse {
    const email = String(args.email ?? '').toLowerCase();
    if (!email)
      return fail('invalid_arguments', {
        response_metadata: { messages: ['[ERROR] missing required field: email'] },
      });
    const user = [...this.users.values()].find(
      (candidate) => candidate.email.toLowerCase() === email && this.#visible(token, candidate.teamId),
    );
    if (!user) return fail('users_not_found');
    return ok({ user: userView(user) });
  }

  #conversationsOpen(token: SlackToken, args: Json): FakeResponse {
    const users = String(args.users ?? '')
      .split(',')
      .map((id) => id.trim())
      .filter(Boolean);
    if (users.length === 0) return fail('users_list_not_supplied');
    if (users.length > 1) return fail('method_not_supported_for_channel_type');
    const user = this.users.get(users[0] as string);
    if (!user || !this.#visible(token, user.teamId)) return fail('user_not_found');
    if (user.deleted) return fail('user_disabled');
    const existing = this.dmChannelOf(user.id);
    if (existing) return ok({ no_op: true, already_open: true, channel: { id: existing } });
    return ok({ channel: { id: this.#openDm(user).id } });
  }

  #postMessage(token: SlackToken, args: Json): FakeResponse {
    const target = String(args.channel ?? '');
    let channel = this.channels.get(target);
    if (!channel && /^[UW]/.test(target)) {
      const user = this.users.get(target);
      if (user && this.#visible(token, user.teamId) && !user.deleted)
        channel = this.channels.get(this.dmChannelOf(user.id) ?? '') ?? this.#openDm(user);
    }
    if (!channel || !this.#visible(token, channel.teamId)) return fail('channel_not_found');
    if (channel.archived) return fail('is_archived');
    if (!channel.botIsMember) return fail('not_in_channel');
    const content = checkContent(args);
    if ('error' in content) return content.error;
    const ts = this.#newTs();
    const message: SlackMessage = {
      channel: channel.id,
      ts,
      text: content.text,
      blocks: content.blocks,
      ...(typeof args.thread_ts === 'string' ? { threadTs: args.thread_ts } : {}),
      botUserId: token.botUserId,
      at: this.clock.now(),
      history: [],
    };
    this.messages.push(message);
    return ok({ channel: channel.id, ts, message: messageView(message, token) });
  }

  #update(token: SlackToken, args: Json): FakeResponse {
    const channel = this.channels.get(String(args.channel ?? ''));
    if (!channel || !this.#visible(token, channel.teamId)) return fail('channel_not_found');
    const message = this.messages.find(
      (candidate) => candidate.channel === channel.id && candidate.ts === String(args.ts ?? ''),
    );
    if (!message) return fail('message_not_found');
    if (message.botUserId !== token.botUserId) return fail('cant_update_message');
    const content = checkContent(args);
    if ('error' in content) return content.error;
    message.history.push({ text: message.text, blocks: message.blocks, at: message.at });
    message.text = content.text;
    message.blocks = content.blocks;
    message.at = this.clock.now();
    return ok({
      channel: channel.id,
      ts: message.ts,
      text: message.text,
      message: messageView(message, token),
    });
  }

  #responseUrl(request: FakeRequest): FakeResponse {
    const entry = this.#responseUrls.get(request.path);
    if (!entry) return { status: 404, body: { ok: false, error: 'invalid_url' } };
    if (this.clock.now() - entry.createdAt > 30 * 60_000)
      return { status: 404, body: { ok: false, error: 'expired_url' } };
    if (entry.uses >= 5) return { status: 404, body: { ok: false, error: 'used_url' } };
    const body = request.json;
    if (!body || typeof body !== 'object')
      return { status: 400, body: { ok: false, error: 'invalid_payload' } };
    entry.uses += 1;
    this.followUps.push({
      at: this.clock.now(),
      responseUrl: `${this.url}${request.path}`,
      body: body as Json,
    });
    return { status: 200, body: { ok: true } };
  }

  // ── Helpers ───────────────────────────────────────────────────────────────────────────────

  /** A workspace token sees its workspace; an org-wide token sees every workspace of the org. */
  #visible(token: SlackToken, teamId: string): boolean {
    if (token.teamId) return token.teamId === teamId;
    return !!token.enterpriseId && this.workspaces.get(teamId)?.enterpriseId === token.enterpriseId;
  }

  #openDm(user: SlackUser): SlackChannel {
    const channel: SlackChannel = {
      id: `D${randomId(10)}`,
      name: user.name,
      teamId: user.teamId,
      botIsMember: true,
      archived: false,
      dmUserId: user.id,
    };
    this.channels.set(channel.id, channel);
    return channel;
  }

  #newTs(): string {
    const micros = Math.max(this.clock.now() * 1000, this.#lastTs + 1);
    this.#lastTs = micros;
    return `${Math.floor(micros / 1e6)}.${String(micros % 1e6).padStart(6, '0')}`;
  }
}

/** Method arguments from the query string, a form body, or JSON (which cannot carry the token). */
function readArguments(
  request: FakeRequest,
): { values: Json; json: boolean; missingCharset: boolean } | { error: string } {
  const values: Json = Object.fromEntries(request.query);
  const type = String(request.headers['content-type'] ?? '');
  if (request.method === 'POST' && request.bodyText) {
    if (!type) return { error: 'missing_post_type' };
    if (/^application\/json/i.test(type)) {
      if (request.json === undefined || typeof request.json !== 'object') return { error: 'invalid_json' };
      return {
        values: { ...values, ...(request.json as Json) },
        json: true,
        missingCharset: !/charset=utf-8/i.test(type),
      };
    }
    if (request.form)
      return {
        values: { ...values, ...Object.fromEntries(request.form) },
        json: false,
        missingCharset: false,
      };
    return { error: 'invalid_post_type' };
  }
  return { values, json: false, missingCharset: false };
}

/** `text` and `blocks` checks of chat.postMessage / chat.update. */
function checkContent(
  args: Json,
): { text: string | undefined; blocks: unknown[] | undefined } | { error: FakeResponse } {
  const text = typeof args.text === 'string' && args.text !== '' ? args.text : undefined;
  let blocks: unknown = args.blocks;
  if (typeof blocks === 'string') {
    try {
      blocks = JSON.parse(blocks);
    } catch {
      return { error: fail('invalid_blocks_format') };
    }
  }
  if (blocks !== undefined) {
    const problem = blockProblem(blocks);
    if (problem)
      return { error: fail('invalid_blocks', { response_metadata: { messages: [`[ERROR] ${problem}`] } }) };
  }
  if (text === undefined && blocks === undefined) return { error: fail('no_text') };
  if (text !== undefined && text.length > 40_000) return { error: fail('msg_too_long') };
  return { text, blocks: blocks as unknown[] | undefined };
}

function blockProblem(blocks: unknown): string | undefined {
  if (!Array.isArray(blocks)) return 'blocks must be an array';
  if (blocks.length > 50) return 'no more than 50 items allowed [json-pointer:/blocks]';
  for (const [index, block] of blocks.entries()) {
    const type = (block as Json | null)?.type;
    if (typeof type !== 'string' || !KNOWN_BLOCK_TYPES.has(type))
      return `invalid block type [json-pointer:/blocks/${index}/type]`;
    const text = (block as Json).text as Json | undefined;
    if (type === 'section' && text && typeof text.text === 'string' && text.text.length > 3000) {
      return `must be less than 3001 characters [json-pointer:/blocks/${index}/text/text]`;
    }
    if (type === 'section' && !text && !(block as Json).fields)
      return `must provide text or fields [json-pointer:/blocks/${index}]`;
  }
  return undefined;
}

function userView(user: SlackUser): Json {
  return {
    id: user.id,
    team_id: user.teamId,
    name: user.name,
    deleted: user.deleted,
    real_name: user.realName,
    tz: 'Europe/London',
    is_bot: user.isBot,
    is_app_user: false,
    profile: { email: user.email, real_name: user.realName, display_name: user.name },
  };
}

function messageView(message: SlackMessage, token: SlackToken): Json {
  return {
    type: 'message',
    subtype: 'bot_message',
    text: message.text ?? '',
    ...(message.blocks ? { blocks: message.blocks } : {}),
    bot_id: token.botId,
    user: token.botUserId,
    app_id: token.appId,
    ts: message.ts,
    ...(message.threadTs ? { thread_ts: message.threadTs } : {}),
  };
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
function randomId(length: number): string {
  return Array.from(randomBytes(length), (byte) => ALPHABET[byte % ALPHABET.length]).join('');
}

function randomDigits(length: number): string {
  return Array.from(randomBytes(length), (byte) => String(byte % 10)).join('');
}
