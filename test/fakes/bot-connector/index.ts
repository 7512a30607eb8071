/**
 * Fake Bot Connector (the Teams side of `{serviceUrl}/v3/…`), per flow-of-work.md §1.5, §1.6, §1.9
 * and the vendor pages they cite: Bot Connector API reference, Teams "Send and receive messages"
 * (status-code table), "Proactive messages" (the documented 403 `MessageWritesBlocked` body),
 * "Optimize your bot with rate limiting" (msteams-docs rate-limit.md).
 *
 * Regional service URLs are path prefixes of this server: `serviceUrl('amer')` is
 * `http://127.0.0.1:<port>/amer/` **with the trailing slash**, as Teams sends it; a client that
 * appends `/v3/…` without care produces `/amer//v3/…`, which answers 404 here.
 *
 *   POST   {serviceUrl}v3/conversations                            create a personal conversation
 *          (or a channel thread: isGroup + channelData.channel.id + activity)
 *   POST   {serviceUrl}v3/conversations/{id}/activities             send → 201 {"id"}
 *   PUT    {serviceUrl}v3/conversations/{id}/activities/{aid}       update → 200 {"id"}
 *   DELETE {serviceUrl}v3/conversations/{id}/activities/{aid}       delete → 200
 *
 * Auth: the bearer token must verify against the Entra fake's keys of the token's tenant (RS256,
 * `aud=https://api.botframework.com`, sts.windows.net or v2 issuer). A bad, expired or foreign-
 * tenant token gets 401 `{"message":"Authorization has been denied for this request."}`; a valid
 * token of an app that is no registered bot gets 401 `{"error":{"code":"BotNotRegistered",…}}`.
 *
 * Errors `{"error":{"code","message"}}` per conversation/user state: 403 `ConversationBlockedByUser`,
 * `BotNotInConversationRoster` (app not installed for the user), `BotDisabledByAdmin` (tenant admin),
 * and the documented `MessageWritesBlocked` body (`{"errorCode":209,"message":"{…subCode…}"}`) when
 * the user blocked, muted or uninstalled the bot; 404 `ConversationNotFound`; 413 `MessageSizeTooBig`
 * (body over 28 KB); injectable 412 `PreconditionFailed`, 502, 504. Every response carries
 * `X-Correlating-OperationId`.
 *
 * Rate limits as sliding windows (rate-limit.md): per bot per conversation 7/1 s, 8/2 s, 60/30 s,
 * 1800/h for sends (updates and deletes count as sends here) and, separately, for creates; per app
 * per tenant `tenantRps` (default 30) → 429 `Throttled` with `Retry-After` (seconds; the header can
 * be switched off, as Teams does not promise it). `records` and `throttles` keep every accepted
 * operation and every 429 with its timestamp and rule, so a test can compare messages/s with the
 * limit (`peakRate`) and count 429s per window.
 *
 * Quirks: an uninstall→reinstall gives the user a **new** conversation id (the old one answers 404),
 * so the hub must take the reference from the newest installationUpdate; with
 * `acceptSendsAfterUninstall` (a notification-only bot, BotBuilder-MicrosoftTeams #286) sends to an
 * uninstalled user still answer 201 and are recorded as not delivered. A personal conversation also
 * answers to its Graph chat id `19:{id}_{id}@unq.gbl.spaces` (§1.8). Thread ids `…;messageid=…` must
 * be URL-encoded in the path; an unencoded `;` is cut off as a path parameter here (the fake's way of
 * making the encoding bug visible: the message lands in the channel root, `thread: undefined`).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { decodeJwt, type JWTPayload, jwtVerify } from 'jose';
import {
  newChannelConversationId,
  newPersonalConversationId,
  newTeamsUserId,
} from '../bot-framework/activities.ts';
import { BOT_FRAMEWORK_RESOURCE, type FakeEntra } from '../entra/index.ts';
import type { FakeClock } from '../fake-clock.ts';
import {
  type FakeRequest,
  type FakeResponse,
  type LoggedRequest,
  parseBearer,
  startFakeHttpServer,
} from '../hr-fake-server.ts';
import { peakCount, retryAfterSeconds, SlidingWindowLimiter, type WindowRule } from '../sliding-window.ts';

export const DEFAULT_CONVERSATION_WINDOWS: WindowRule[] = [
  { name: 'conversation 7/1s', limit: 7, windowMs: 1_000 },
  { name: 'conversation 8/2s', limit: 8, windowMs: 2_000 },
  { name: 'conversation 60/30s', limit: 60, windowMs: 30_000 },
  { name: 'conversation 1800/1h', limit: 1800, windowMs: 3_600_000 },
];

export type DeliveryState = 'ok' | 'blocked-by-user' | 'writes-blocked';
export type ConnectorOperation = 'createConversation' | 'send' | 'update' | 'delete';

export interface ConnectorBot {
  appId: string;
  /** The bot's home tenant: the only tenant whose tokens it may use (single-tenant bots, §1.2). */
  tenantId: string;
}

export interface ConnectorUser {
  tenantId: string;
  aadObjectId: string;
  /** `29:…` */
  id: string;
  name: string;
  region: string;
}

export interface ConnectorConversation {
  id: string;
  /** Other ids the same conversation answers to (the Graph chat id). */
  aliases: string[];
  tenantId: string;
  appId: string;
  kind: 'personal' | 'channel';
  userAadObjectId?: string;
  region: string;
  activities: Map<string, { id: string; body: Record<string, unknown>; thread?: string; deleted: boolean }>;
  /** Superseded by a reinstall: answers 404. */
  retired: boolean;
}

export interface ConnectorRecord {
  at: number;
  op: ConnectorOperation;
  appId: string;
  tenantId: string;
  conversationId: string;
  activityId?: string;
  thread?: string;
  activity?: Record<string, unknown>;
  /** False for sends accepted after an uninstall (`acceptSendsAfterUninstall`). */
  delivered: boolean;
  /** Problems Teams would show the user (e.g. an Adaptive Card newer than 1.5). */
  warnings: string[];
}

export interface ThrottleRecord {
  at: number;
  op: ConnectorOperation;
  tenantId: string;
  conversationId: string;
  rule: string;
  retryAfterSeconds: number;
}

export interface InjectedFault {
  status: 412 | 500 | 502 | 503 | 504;
  times: number;
  op?: ConnectorOperation;
}

export interface FakeBotConnectorOptions {
  entra: FakeEntra;
  clock?: FakeClock;
  regions?: string[];
  /** Per app per tenant requests per second (rate-limit.md says 30; a later answer says 50). */
  tenantRps?: number;
  conversationWindows?: WindowRule[];
  /** Send `Retry-After` with 429s (default true). */
  retryAfterHeader?: boolean;
  maxMessageBytes?: number;
}

interface Installation {
  appId: string;
  tenantId: string;
  aadObjectId: string;
  installed: boolean;
  state: DeliveryState;
  conversationId?: string;
  createdOnce: boolean;
}

type Authenticated = { bot: ConnectorBot; claims: JWTPayload };

const DENIED: FakeResponse = {
  status: 401,
  body: { message: 'Authorization has been denied for this request.' },
};

const error = (
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): FakeResponse => ({
  status,
  headers,
  body: { error: { code, message } },
});

/** The Graph chat id of a user's 1:1 chat with a bot: both ids, sorted, as in Graph's examples. */
export function personalChatId(aadObjectId: string, appId: string): string {
  return `19:${[aadObjectId, appId].sort().join('_')}@unq.gbl.spaces`;
}

export class FakeBotConnector {
  readonly clock: FakeClock;
  readonly entra: FakeEntra;
  readonly regions: string[];
  readonly bots = new Map<string, ConnectorBot>();
  readonly users: ConnectorUser[] = [];
  readonly conversations = new Map<string, ConnectorConversation>();
  readonly records: ConnectorRecord[] = [];
  readonly throttles: ThrottleRecord[] = [];
  /** Tenants (per app) whose admin disabled the bot: `${appId}|${tenantId}`. */
  readonly disabled = new Set<string>();
  /** Sends to an uninstalled user answer 201 anyway (notification-only bot quirk). */
  acceptSendsAfterUninstall = false;
  retryAfterHeader: boolean;
  maxMessageBytes: number;
  url = '';
  requests: LoggedRequest[] = [];
  readonly #installations = new Map<string, Installation>();
  readonly #faults: InjectedFault[] = [];
  readonly #tenantLimiter: SlidingWindowLimiter;
  readonly #conversationLimiter: SlidingWindowLimiter;
  #lastActivityId = 0;
  #close: (() => Promise<void>) | undefined;

  constructor(options: FakeBotConnectorOptions) {
    this.entra = options.entra;
    this.clock = options.clock ?? options.entra.clock;
    this.regions = options.regions ?? ['amer', 'emea', 'apac', 'teams'];
    this.retryAfterHeader = options.retryAfterHeader ?? true;
    this.maxMessageBytes = options.maxMessageBytes ?? 28 * 1024;
    const rps = options.tenantRps ?? 30;
    this.#tenantLimiter = new SlidingWindowLimiter([
      { name: `tenant ${rps}/s`, limit: rps, windowMs: 1_000 },
    ]);
    this.#conversationLimiter = new SlidingWindowLimiter(
      options.conversationWindows ?? DEFAULT_CONVERSATION_WINDOWS,
    );
  }

  static async start(options: FakeBotConnectorOptions): Promise<FakeBotConnector> {
    const connector = new FakeBotConnector(options);
    const server = await startFakeHttpServer((request) => connector.#handle(request));
    connector.url = server.url;
    connector.requests = server.requests;
    connector.#close = server.close;
    return connector;
  }

  async close(): Promise<void> {
    await this.#close?.();
  }

  /** A regional service URL as Teams sends it: with the trailing slash. */
  serviceUrl(region = 'amer'): string {
    return `${this.url}/${region}/`;
  }

  // ── State a test sets up ──────────────────────────────────────────────────────────────────

  registerBot(bot: ConnectorBot): ConnectorBot {
    this.bots.set(bot.appId, bot);
    return bot;
  }

  addUser(spec: { tenantId: string; aadObjectId?: string; name?: string; region?: string }): ConnectorUser {
    const user: ConnectorUser = {
      tenantId: spec.tenantId,
      aadObjectId: spec.aadObjectId ?? randomUUID(),
      id: newTeamsUserId(),
      name: spec.name ?? 'Teams User',
      region: spec.region ?? 'amer',
    };
    this.users.push(user);
    return user;
  }

  /**
   * The app is installed in the user's personal scope (by the user, an admin policy, or Graph): the
   * 1:1 conversation exists. A reinstall after an uninstall gets a new conversation id.
   */
  installApp(appId: string, user: ConnectorUser): ConnectorConversation {
    const installation = this.#installation(appId, user);
    const existing = installation.conversationId
      ? this.conversations.get(installation.conversationId)
      : undefined;
    if (installation.installed && existing) return existing;
    if (existing) existing.retired = true;
    const conversation: ConnectorConversation = {
      id: newPersonalConversationId(),
      aliases: [personalChatId(user.aadObjectId, appId)],
      tenantId: user.tenantId,
      appId,
      kind: 'personal',
      userAadObjectId: user.aadObjectId,
      region: user.region,
      activities: new Map(),
      retired: false,
    };
    this.conversations.set(conversation.id, conversation);
    Object.assign(installation, {
      installed: true,
      state: 'ok',
      conversationId: conversation.id,
      createdOnce: false,
    });
    return conversation;
  }

  uninstallApp(appId: string, user: ConnectorUser): void {
    const installation = this.#installation(appId, user);
    installation.installed = false;
    installation.state = 'writes-blocked';
  }

  isInstalled(appId: string, user: ConnectorUser): boolean {
    return this.#installation(appId, user).installed;
  }

  /** The user's personal conversation with the bot, if the app is installed. */
  personalConversation(appId: string, user: ConnectorUser): ConnectorConversation | undefined {
    const installation = this.#installation(appId, user);
    return installation.installed && installation.conversationId
      ? this.conversations.get(installation.conversationId)
      : undefined;
  }

  /** The user blocked the bot (`blocked-by-user` → ConversationBlockedByUser) or muted it (`writes-blocked`). */
  setDeliveryState(appId: string, user: ConnectorUser, state: DeliveryState): void {
    this.#installation(appId, user).state = state;
  }

  /** A tenant admin disables (or re-enables) the bot: 403 BotDisabledByAdmin. */
  setDisabledByAdmin(appId: string, tenantId: string, disabled: boolean): void {
    if (disabled) this.disabled.add(`${appId}|${tenantId}`);
    else this.disabled.delete(`${appId}|${tenantId}`);
  }

  /** A team channel the bot was added to. */
  addChannel(spec: { appId: string; tenantId: string; region?: string }): ConnectorConversation {
    const conversation: ConnectorConversation = {
      id: newChannelConversationId(),
      aliases: [],
      tenantId: spec.tenantId,
      appId: spec.appId,
      kind: 'channel',
      region: spec.region ?? 'amer',
      activities: new Map(),
      retired: false,
    };
    this.conversations.set(conversation.id, conversation);
    return conversation;
  }

  /** The next `times` operations (of `op`, or any) fail with `status`. */
  failNext(fault: InjectedFault): void {
    this.#faults.push({ ...fault });
  }

  // ── What a test asserts on ────────────────────────────────────────────────────────────────

  /** Accepted sends (delivered or not) to a conversation, oldest first. */
  sentTo(conversationId: string): ConnectorRecord[] {
    return this.records.filter((record) => record.op === 'send' && record.conversationId === conversationId);
  }

  /** The most operations accepted within any window of `windowMs` (sliding), optionally filtered. */
  peakRate(windowMs: number, filter: (record: ConnectorRecord) => boolean = () => true): number {
    return peakCount(
      this.records.filter(filter).map((record) => record.at),
      windowMs,
    );
  }

  /** The most 429s within any window of `windowMs`, optionally for one rule. */
  peakThrottles(windowMs: number, rule?: string): number {
    return peakCount(
      this.throttles.filter((throttle) => !rule || throttle.rule === rule).map((throttle) => throttle.at),
      windowMs,
    );
  }

  /** 429s counted per rule. */
  throttleCounts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const throttle of this.throttles) counts[throttle.rule] = (counts[throttle.rule] ?? 0) + 1;
    return counts;
  }

  // ── HTTP ──────────────────────────────────────────────────────────────────────────────────

  async #handle(request: FakeRequest): Promise<FakeResponse> {
    const response = await this.#route(request);
    return {
      ...response,
      headers: { ...response.headers, 'x-correlating-operationid': randomBytes(16).toString('hex') },
    };
  }

  async #route(request: FakeRequest): Promise<FakeResponse> {
    const match = /^\/([a-z]+)\/v3\/conversations(?:\/([^/]+)\/activities(?:\/([^/]+))?)?$/.exec(
      request.path,
    );
    if (!match || !this.regions.includes(match[1] as string)) {
      return error(404, 'NotFound', `No route for ${request.method} ${request.path}.`);
    }
    const auth = await this.#authenticate(request);
    if ('status' in auth) return auth;
    const [, , rawConversation, rawActivity] = match;
    if (rawConversation === undefined) {
      if (request.method !== 'POST') return error(405, 'MethodNotAllowed', 'Method not allowed.');
      return this.#createConversation(request, auth);
    }
    const op: ConnectorOperation | undefined =
      request.method === 'POST' && rawActivity === undefined
        ? 'send'
        : request.method === 'PUT' && rawActivity !== undefined
          ? 'update'
          : request.method === 'DELETE' && rawActivity !== undefined
            ? 'delete'
            : undefined;
    if (!op) return error(405, 'MethodNotAllowed', 'Method not allowed.');
    return this.#activityOperation(request, auth, op, rawConversation, rawActivity);
  }

  async #authenticate(request: FakeRequest): Promise<Authenticated | FakeResponse> {
    const token = parseBearer(request.headers.authorization);
    if (!token) return DENIED;
    let claims: JWTPayload;
    try {
      const tid = decodeJwt(token).tid;
      if (typeof tid !== 'string' || !this.entra.tenants.has(tid)) return DENIED;
      ({ payload: claims } = await jwtVerify(token, this.entra.localKeySet(tid), {
        algorithms: ['RS256'],
        issuer: [this.entra.v1Issuer(tid), this.entra.v2Issuer(tid)],
        audience: BOT_FRAMEWORK_RESOURCE,
        currentDate: new Date(this.clock.now()),
        clockTolerance: 300,
      }));
    } catch {
      return DENIED;
    }
    const appId = String(claims.appid ?? claims.azp ?? '');
    const bot = this.bots.get(appId);
    if (!bot) return error(401, 'BotNotRegistered', 'No registration found for this bot.');
    if (bot.tenantId !== claims.tid) return DENIED;
    return { bot, claims };
  }

  #takeFault(op: ConnectorOperation): FakeResponse | undefined {
    const fault = this.#faults.find((candidate) => !candidate.op || candidate.op === op);
    if (!fault) return undefined;
    fault.times -= 1;
    if (fault.times <= 0) this.#faults.splice(this.#faults.indexOf(fault), 1);
    if (fault.status === 412)
      return error(412, 'PreconditionFailed', 'Precondition failed, please try again.');
    const text = {
      500: 'Internal Server Error',
      502: 'Bad Gateway',
      503: 'Service Unavailable',
      504: 'Gateway Timeout',
    }[fault.status];
    return { status: fault.status, headers: { 'content-type': 'text/plain' }, body: text };
  }

  /** Tenant RPS first, then the conversation windows; a refused request is recorded. */
  #admit(
    op: ConnectorOperation,
    appId: string,
    tenantId: string,
    conversationKey: string,
  ): FakeResponse | undefined {
    const now = this.clock.now();
    const bucket = op === 'createConversation' ? 'create' : 'send';
    const refusal =
      this.#tenantLimiter.take(`${appId}|${tenantId}`, now) ??
      this.#conversationLimiter.take(`${appId}|${conversationKey}|${bucket}`, now);
    if (!refusal) return undefined;
    const seconds = retryAfterSeconds(refusal.retryAfterMs);
    this.throttles.push({
      at: now,
      op,
      tenantId,
      conversationId: conversationKey,
      rule: refusal.rule.name,
      retryAfterSeconds: seconds,
    });
    return error(
      429,
      'Throttled',
      'Too many requests.',
      this.retryAfterHeader ? { 'retry-after': String(seconds) } : {},
    );
  }

  #createConversation(request: FakeRequest, auth: Authenticated): FakeResponse {
    const body = parseJsonObject(request.bodyText);
    if (!body) return error(400, 'BadSyntax', 'The request body is not valid JSON.');
    const fault = this.#takeFault('createConversation');
    if (fault) return fault;
    const { appId } = auth.bot;
    const botId = (body.bot as Record<string, unknown> | undefined)?.id;
    if (botId !== `28:${appId}`) return error(400, 'BadArgument', `bot.id must be 28:${appId}.`);
    const channelData = (body.channelData ?? {}) as Record<string, Record<string, unknown> | undefined>;
    const tenantId = String(body.tenantId ?? channelData.tenant?.id ?? '');
    if (!tenantId)
      return error(400, 'BadArgument', 'A tenant id is required (tenantId or channelData.tenant.id).');
    if (this.disabled.has(`${appId}|${tenantId}`))
      return error(403, 'BotDisabledByAdmin', 'The tenant admin disabled this bot.');

    const channelId = channelData.channel?.id;
    if (body.isGroup === true && typeof channelId === 'string')
      return this.#createThread(auth, tenantId, channelId, body);
    const members = Array.isArray(body.members) ? (body.members as Array<Record<string, unknown>>) : [];
    if (body.isGroup === true || members.length !== 1) {
      return error(
        400,
        'BadArgument',
        'Bots can only create one-on-one conversations (isGroup false, one member).',
      );
    }
    const memberId = String(members[0]?.id ?? '');
    const user = this.users.find(
      (candidate) =>
        candidate.tenantId === tenantId && (candidate.id === memberId || candidate.aadObjectId === memberId),
    );
    if (!user) return error(400, 'BadArgument', `Member ${memberId} is not a user of tenant ${tenantId}.`);
    const installation = this.#installation(appId, user);
    const throttled = this.#admit('createConversation', appId, tenantId, user.aadObjectId);
    if (throttled) return throttled;
    if (!installation.installed || !installation.conversationId) {
      return error(403, 'BotNotInConversationRoster', 'The bot is not part of the conversation roster.');
    }
    const status = installation.createdOnce ? 200 : 201;
    installation.createdOnce = true;
    this.records.push({
      at: this.clock.now(),
      op: 'createConversation',
      appId,
      tenantId,
      conversationId: installation.conversationId,
      delivered: true,
      warnings: [],
    });
    return { status, body: { id: installation.conversationId } };
  }

  #createThread(
    auth: Authenticated,
    tenantId: string,
    channelId: string,
    body: Record<string, unknown>,
  ): FakeResponse {
    const channel = this.conversations.get(channelId);
    if (channel?.kind !== 'channel' || channel.tenantId !== tenantId) {
      return error(404, 'ConversationNotFound', 'Conversation not found.');
    }
    if (channel.appId !== auth.bot.appId)
      return error(403, 'BotNotInConversationRoster', 'The bot is not part of the conversation roster.');
    const throttled = this.#admit('createConversation', auth.bot.appId, tenantId, channel.id);
    if (throttled) return throttled;
    const activity = (body.activity ?? {}) as Record<string, unknown>;
    const activityId = this.#newActivityId();
    channel.activities.set(activityId, { id: activityId, body: activity, deleted: false });
    const id = `${channel.id};messageid=${activityId}`;
    this.records.push({
      at: this.clock.now(),
      op: 'createConversation',
      appId: auth.bot.appId,
      tenantId,
      conversationId: id,
      activityId,
      activity,
      delivered: true,
      warnings: cardWarnings(activity),
    });
    return { status: 201, body: { id, activityId } };
  }

  #activityOperation(
    request: FakeRequest,
    auth: Authenticated,
    op: ConnectorOperation,
    rawConversation: string,
    rawActivity: string | undefined,
  ): FakeResponse {
    const { id: conversationId, thread } = parseConversationSegment(rawConversation);
    const conversation = this.#findConversation(conversationId);
    if (!conversation || conversation.retired)
      return error(404, 'ConversationNotFound', 'Conversation not found.');
    const { appId } = auth.bot;
    if (conversation.appId !== appId)
      return error(403, 'BotNotInConversationRoster', 'The bot is not part of the conversation roster.');
    let body: Record<string, unknown> = {};
    if (op !== 'delete') {
      const parsed = parseJsonObject(request.bodyText);
      if (!parsed) return error(400, 'BadSyntax', 'The request body is not valid JSON.');
      body = parsed;
    }
    const fault = this.#takeFault(op);
    if (fault) return fault;
    const throttled = this.#admit(op, appId, conversation.tenantId, conversation.id);
    if (throttled) return throttled;
    if (this.disabled.has(`${appId}|${conversation.tenantId}`)) {
      return error(403, 'BotDisabledByAdmin', 'The tenant admin disabled this bot.');
    }
    let delivered = true;
    if (conversation.kind === 'personal') {
      const installation = this.#installationOf(appId, conversation);
      if (installation?.state === 'blocked-by-user') {
        return error(403, 'ConversationBlockedByUser', 'User blocked the conversation with the bot.');
      }
      const uninstalled = !installation?.installed;
      if (uninstalled && this.acceptSendsAfterUninstall) delivered = false;
      else if (uninstalled || installation?.state === 'writes-blocked') return messageWritesBlocked();
    }
    if (op !== 'delete') {
      if (typeof body.type !== 'string') return error(400, 'BadArgument', 'The activity type is required.');
      if (Buffer.byteLength(request.bodyText) > this.maxMessageBytes) {
        return error(413, 'MessageSizeTooBig', 'Message size too large.');
      }
    }
    const threadId = thread ?? (typeof body.replyToId === 'string' ? body.replyToId : undefined);
    let activityId: string;
    if (op === 'send') {
      activityId = this.#newActivityId();
      conversation.activities.set(activityId, {
        id: activityId,
        body,
        ...(threadId ? { thread: threadId } : {}),
        deleted: false,
      });
    } else {
      activityId = decodeURIComponent(rawActivity as string);
      const existing = conversation.activities.get(activityId);
      if (!existing || existing.deleted) {
        return error(
          404,
          'ActivityNotFoundInConversation',
          'The activity was not found in the conversation.',
        );
      }
      if (op === 'update') existing.body = body;
      else existing.deleted = true;
    }
    this.records.push({
      at: this.clock.now(),
      op,
      appId,
      tenantId: conversation.tenantId,
      conversationId: conversation.id,
      activityId,
      ...(threadId ? { thread: threadId } : {}),
      ...(op === 'delete' ? {} : { activity: body }),
      delivered,
      warnings: op === 'delete' ? [] : cardWarnings(body),
    });
    if (op === 'delete') return { status: 200 };
    return { status: op === 'send' ? 201 : 200, body: { id: activityId } };
  }

  // ── Helpers ───────────────────────────────────────────────────────────────────────────────

  #installation(appId: string, user: ConnectorUser): Installation {
    const key = `${appId}|${user.tenantId}|${user.aadObjectId}`;
    let installation = this.#installations.get(key);
    if (!installation) {
      installation = {
        appId,
        tenantId: user.tenantId,
        aadObjectId: user.aadObjectId,
        installed: false,
        state: 'ok',
        createdOnce: false,
      };
      this.#installations.set(key, installation);
    }
    return installation;
  }

  #installationOf(appId: string, conversation: ConnectorConversation): Installation | undefined {
    return this.#installations.get(`${appId}|${conversation.tenantId}|${conversation.userAadObjectId}`);
  }

  #findConversation(id: string): ConnectorConversation | undefined {
    return (
      this.conversations.get(id) ??
      [...this.conversations.values()].find((conversation) => conversation.aliases.includes(id))
    );
  }

  #newActivityId(): string {
    this.#lastActivityId = Math.max(this.clock.now(), this.#lastActivityId + 1);
    return String(this.#lastActivityId);
  }
}

/** The 403 the proactive-messaging doc shows for a user who blocked, muted or uninstalled the bot. */
function messageWritesBlocked(): FakeResponse {
  return {
    status: 403,
    body: {
      errorCode: 209,
      message:
        '{\r\n  "subCode": "MessageWritesBlocked",\r\n  "details": "Thread is blocked from message writes.",\r\n  "errorCode": null,\r\n  "errorSubCode": null\r\n}',
    },
  };
}

/**
 * `19%3A…%40thread.tacv2%3Bmessageid%3D123` → id + thread. An unencoded `;` starts a path parameter
 * that is dropped (the fake's stand-in for what a web stack does with `;params`).
 */
function parseConversationSegment(raw: string): { id: string; thread?: string } {
  const unencoded = raw.split(';')[0] as string;
  const decoded = decodeURIComponent(unencoded);
  const match = /^(.*);messageid=(\d+)$/.exec(decoded);
  return match ? { id: match[1] as string, thread: match[2] as string } : { id: decoded };
}

function parseJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(text) as unknown;
    return value && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Teams renders Adaptive Cards up to 1.5 (§1.7); newer ones show a fallback to the user. */
function cardWarnings(activity: Record<string, unknown>): string[] {
  const attachments = Array.isArray(activity.attachments)
    ? (activity.attachments as Array<Record<string, unknown>>)
    : [];
  const warnings: string[] = [];
  for (const attachment of attachments) {
    if (attachment.contentType !== 'application/vnd.microsoft.card.adaptive') continue;
    const version = Number.parseFloat(
      String((attachment.content as Record<string, unknown> | undefined)?.version ?? ''),
    );
    if (!(version <= 1.5)) warnings.push(`Adaptive Card version ${version}: Teams renders up to 1.5`);
  }
  return warnings;
}
