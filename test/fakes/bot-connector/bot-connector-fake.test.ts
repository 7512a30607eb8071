/**
 * The Bot Connector fake answers as flow-of-work.md §1.5/§1.6 says Teams does: regional service
 * URLs with a trailing slash, every documented error code and both 401 shapes, the per-conversation
 * sliding windows and the per-tenant RPS with 429 + Retry-After, and a record a test can measure.
 * The clock is frozen: every request lands in one instant unless a test moves it, so the windows
 * are tested exactly and without sleeping.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  BOT_FRAMEWORK_RESOURCE,
  FakeEntra,
  type FakeEntraApp,
  type FakeEntraTenant,
  GRAPH_RESOURCE,
} from '../entra/index.ts';
import { FakeClock } from '../fake-clock.ts';
import { SlidingWindowLimiter } from '../sliding-window.ts';
import {
  type ConnectorUser,
  DEFAULT_CONVERSATION_WINDOWS,
  FakeBotConnector,
  personalChatId,
} from './index.ts';

const clock = new FakeClock({ frozenAt: Date.UTC(2026, 0, 5, 9) });
let entra: FakeEntra;
let connector: FakeBotConnector;
let home: FakeEntraTenant;
let customer: FakeEntraTenant;
let bot: FakeEntraApp;
let token: string;

beforeAll(async () => {
  entra = await FakeEntra.start({ clock });
  home = await entra.addTenant({ displayName: 'Switchboard Inc' });
  customer = await entra.addTenant({ displayName: 'Contoso' });
  bot = entra.registerApp({ homeTenantId: home.id });
  connector = await FakeBotConnector.start({ entra });
  connector.registerBot({ appId: bot.clientId, tenantId: home.id });
});

afterAll(async () => {
  await Promise.all([connector.close(), entra.close()]);
});

beforeEach(async () => {
  // A new hour: every window is empty again; tokens are re-issued for the new "now".
  clock.advance(2 * 3_600_000);
  token = await entra.issueAppToken(home.id, bot.clientId, BOT_FRAMEWORK_RESOURCE);
});

async function call(method: string, url: string, body?: unknown, bearer: string = token) {
  const response = await fetch(url, {
    method,
    headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json; charset=utf-8' },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await response.text();
  const json = (response.headers.get('content-type') ?? '').includes('json');
  return {
    status: response.status,
    headers: response.headers,
    text,
    body: text && json ? (JSON.parse(text) as Record<string, unknown>) : undefined,
  };
}

function installedUser(region = 'amer'): { user: ConnectorUser; conversationId: string } {
  const user = connector.addUser({ tenantId: customer.id, region });
  const conversation = connector.installApp(bot.clientId, user);
  return { user, conversationId: conversation.id };
}

const createBody = (user: ConnectorUser, memberId = user.id) => ({
  isGroup: false,
  bot: { id: `28:${bot.clientId}` },
  members: [{ id: memberId }],
  tenantId: customer.id,
  channelData: { tenant: { id: customer.id } },
});

const sendUrl = (conversationId: string, region = 'amer') =>
  `${connector.serviceUrl(region)}v3/conversations/${encodeURIComponent(conversationId)}/activities`;

const message = (text = 'Your course starts tomorrow') => ({
  type: 'message',
  text,
  attachments: [
    {
      contentType: 'application/vnd.microsoft.card.adaptive',
      content: { type: 'AdaptiveCard', version: '1.5', body: [{ type: 'TextBlock', text }] },
    },
  ],
  channelData: { notification: { alert: true } },
});

describe('conversations and activities (§1.5)', () => {
  it('serves regional service URLs that end in a slash; //v3 is not a route', async () => {
    expect(connector.serviceUrl('emea')).toMatch(/\/emea\/$/);
    const { user, conversationId } = installedUser('emea');
    const created = await call('POST', `${connector.serviceUrl('emea')}v3/conversations`, createBody(user));
    expect(created.status).toBe(201);
    expect(created.body).toEqual({ id: conversationId });
    expect(created.headers.get('x-correlating-operationid')).toMatch(/^[0-9a-f]{32}$/);
    expect(conversationId).toMatch(/^a:/);
    const again = await call(
      'POST',
      `${connector.serviceUrl('emea')}v3/conversations`,
      createBody(user, user.aadObjectId),
    );
    expect(again).toMatchObject({ status: 200, body: { id: conversationId } });
    const doubled = await call('POST', `${connector.serviceUrl('emea')}/v3/conversations`, createBody(user));
    expect(doubled.status).toBe(404);
  });

  it('refuses to create a conversation with a user who has not installed the app (403 BotNotInConversationRoster)', async () => {
    const user = connector.addUser({ tenantId: customer.id });
    const refused = await call('POST', `${connector.serviceUrl()}v3/conversations`, createBody(user));
    expect(refused.status).toBe(403);
    expect(refused.body).toEqual({
      error: {
        code: 'BotNotInConversationRoster',
        message: 'The bot is not part of the conversation roster.',
      },
    });
  });

  it('sends, updates and deletes activities, and records them', async () => {
    const { conversationId } = installedUser();
    const sent = await call('POST', sendUrl(conversationId), message());
    expect(sent.status).toBe(201);
    const activityId = String(sent.body?.id);
    expect(activityId).toMatch(/^\d{13,}$/);
    const updated = await call('PUT', `${sendUrl(conversationId)}/${activityId}`, message('Updated'));
    expect(updated).toMatchObject({ status: 200, body: { id: activityId } });
    const deleted = await call('DELETE', `${sendUrl(conversationId)}/${activityId}`);
    expect(deleted.status).toBe(200);
    const gone = await call('PUT', `${sendUrl(conversationId)}/${activityId}`, message('Again'));
    expect(gone.status).toBe(404);
    expect(
      connector.records
        .filter((record) => record.conversationId === conversationId)
        .map((record) => record.op),
    ).toEqual(['send', 'update', 'delete']);
    expect(connector.sentTo(conversationId)[0]?.activity).toMatchObject({
      channelData: { notification: { alert: true } },
    });
  });

  it('answers to the Graph chat id of the same personal conversation', async () => {
    const { user, conversationId } = installedUser();
    const sent = await call('POST', sendUrl(personalChatId(user.aadObjectId, bot.clientId)), message());
    expect(sent.status).toBe(201);
    expect(connector.sentTo(conversationId)).toHaveLength(1);
  });

  it('keeps thread ids only when ;messageid= is URL-encoded', async () => {
    const channel = connector.addChannel({ appId: bot.clientId, tenantId: customer.id });
    const thread = await call('POST', `${connector.serviceUrl()}v3/conversations`, {
      isGroup: true,
      bot: { id: `28:${bot.clientId}` },
      channelData: { channel: { id: channel.id }, tenant: { id: customer.id } },
      activity: message('New thread'),
    });
    expect(thread.status).toBe(201);
    const threadId = String(thread.body?.id);
    expect(threadId).toMatch(/;messageid=\d+$/);
    expect((await call('POST', sendUrl(threadId), message('Reply'))).status).toBe(201);
    const raw = `${connector.serviceUrl()}v3/conversations/${threadId}/activities`;
    expect((await call('POST', raw, message('Lost reply'))).status).toBe(201);
    const [encoded, unencoded] = connector.sentTo(channel.id);
    expect(encoded?.thread).toBe(threadId.split('=')[1]);
    expect(unencoded?.thread).toBeUndefined();
  });

  it('flags Adaptive Cards newer than Teams renders (1.5)', async () => {
    const { conversationId } = installedUser();
    const card = {
      ...message(),
      attachments: [
        {
          contentType: 'application/vnd.microsoft.card.adaptive',
          content: { type: 'AdaptiveCard', version: '1.6', body: [] },
        },
      ],
    };
    expect((await call('POST', sendUrl(conversationId), card)).status).toBe(201);
    expect(connector.sentTo(conversationId)[0]?.warnings).toEqual([
      'Adaptive Card version 1.6: Teams renders up to 1.5',
    ]);
  });
});

describe('errors (§1.5)', () => {
  it('has both 401 shapes: denied for a bad token, BotNotRegistered for an unknown bot', async () => {
    const { conversationId } = installedUser();
    const denied = { message: 'Authorization has been denied for this request.' };
    expect(await call('POST', sendUrl(conversationId), message(), 'not-a-jwt')).toMatchObject({
      status: 401,
      body: denied,
    });
    const graphToken = await entra.issueAppToken(home.id, bot.clientId, GRAPH_RESOURCE);
    expect(await call('POST', sendUrl(conversationId), message(), graphToken)).toMatchObject({
      status: 401,
      body: denied,
    });
    const legacyApp = entra.registerApp({ homeTenantId: home.id, signInAudience: 'AzureADMultipleOrgs' });
    connector.registerBot({ appId: legacyApp.clientId, tenantId: home.id });
    const legacyToken = await entra.issueAppToken(
      'd6d49420-f39b-4df7-a1dc-d59a935871db',
      legacyApp.clientId,
      BOT_FRAMEWORK_RESOURCE,
    );
    expect(await call('POST', sendUrl(conversationId), message(), legacyToken)).toMatchObject({
      status: 401,
      body: denied,
    });
    const stranger = entra.registerApp({ homeTenantId: home.id });
    const strangerToken = await entra.issueAppToken(home.id, stranger.clientId, BOT_FRAMEWORK_RESOURCE);
    expect(await call('POST', sendUrl(conversationId), message(), strangerToken)).toMatchObject({
      status: 401,
      body: { error: { code: 'BotNotRegistered', message: 'No registration found for this bot.' } },
    });
    clock.advance(3600_000 + 301_000);
    expect(await call('POST', sendUrl(conversationId), message())).toMatchObject({
      status: 401,
      body: denied,
    });
  });

  it('answers each user and tenant state with its 403', async () => {
    const blocked = installedUser();
    connector.setDeliveryState(bot.clientId, blocked.user, 'blocked-by-user');
    expect(await call('POST', sendUrl(blocked.conversationId), message())).toMatchObject({
      status: 403,
      body: {
        error: { code: 'ConversationBlockedByUser', message: 'User blocked the conversation with the bot.' },
      },
    });

    const muted = installedUser();
    connector.setDeliveryState(bot.clientId, muted.user, 'writes-blocked');
    const writesBlocked = await call('POST', sendUrl(muted.conversationId), message());
    expect(writesBlocked.status).toBe(403);
    expect(writesBlocked.body?.errorCode).toBe(209);
    expect(JSON.parse(String(writesBlocked.body?.message))).toMatchObject({
      subCode: 'MessageWritesBlocked',
    });

    const disabled = installedUser();
    connector.setDisabledByAdmin(bot.clientId, customer.id, true);
    try {
      expect(await call('POST', sendUrl(disabled.conversationId), message())).toMatchObject({
        status: 403,
        body: { error: { code: 'BotDisabledByAdmin', message: 'The tenant admin disabled this bot.' } },
      });
    } finally {
      connector.setDisabledByAdmin(bot.clientId, customer.id, false);
    }

    expect(await call('POST', sendUrl('a:1unknown'), message())).toMatchObject({
      status: 404,
      body: { error: { code: 'ConversationNotFound', message: 'Conversation not found.' } },
    });
  });

  it('uninstall blocks writes (or answers 201 for a notification-only bot), reinstall gives a new conversation', async () => {
    const { user, conversationId } = installedUser();
    connector.uninstallApp(bot.clientId, user);
    expect((await call('POST', sendUrl(conversationId), message())).body?.errorCode).toBe(209);
    connector.acceptSendsAfterUninstall = true;
    try {
      expect((await call('POST', sendUrl(conversationId), message())).status).toBe(201);
      expect(connector.sentTo(conversationId).at(-1)?.delivered).toBe(false);
    } finally {
      connector.acceptSendsAfterUninstall = false;
    }
    const reinstalled = connector.installApp(bot.clientId, user);
    expect(reinstalled.id).not.toBe(conversationId);
    expect((await call('POST', sendUrl(conversationId), message())).status).toBe(404);
    expect((await call('POST', sendUrl(reinstalled.id), message())).status).toBe(201);
  });

  it('answers 413 MessageSizeTooBig over 28 KB, and injected 412, 502, 504', async () => {
    const { conversationId } = installedUser();
    expect(await call('POST', sendUrl(conversationId), message('x'.repeat(29 * 1024)))).toMatchObject({
      status: 413,
      body: { error: { code: 'MessageSizeTooBig', message: 'Message size too large.' } },
    });
    connector.failNext({ status: 412, times: 1 });
    connector.failNext({ status: 502, times: 1 });
    connector.failNext({ status: 504, times: 1, op: 'send' });
    expect(await call('POST', sendUrl(conversationId), message())).toMatchObject({
      status: 412,
      body: { error: { code: 'PreconditionFailed', message: 'Precondition failed, please try again.' } },
    });
    expect(await call('POST', sendUrl(conversationId), message())).toMatchObject({
      status: 502,
      text: 'Bad Gateway',
    });
    expect(await call('POST', sendUrl(conversationId), message())).toMatchObject({
      status: 504,
      text: 'Gateway Timeout',
    });
    expect((await call('POST', sendUrl(conversationId), message())).status).toBe(201);
  });
});

describe('rate limits (§1.6)', () => {
  it('allows 7 sends per conversation per second, then 429 Throttled with Retry-After', async () => {
    const { conversationId } = installedUser();
    const statuses: number[] = [];
    for (let i = 0; i < 8; i += 1)
      statuses.push((await call('POST', sendUrl(conversationId), message())).status);
    expect(statuses).toEqual([201, 201, 201, 201, 201, 201, 201, 429]);
    const throttled = await call('POST', sendUrl(conversationId), message());
    expect(throttled.body).toEqual({ error: { code: 'Throttled', message: 'Too many requests.' } });
    expect(throttled.headers.get('retry-after')).toBe('1');
    expect(connector.throttles.at(-1)?.rule).toBe('conversation 7/1s');

    clock.advance(1_000);
    expect((await call('POST', sendUrl(conversationId), message())).status).toBe(201);
    const eightInTwo = await call('POST', sendUrl(conversationId), message());
    expect(eightInTwo.status).toBe(429);
    expect(connector.throttles.at(-1)?.rule).toBe('conversation 8/2s');
    expect(eightInTwo.headers.get('retry-after')).toBe('1');
    expect(connector.peakRate(1_000, (record) => record.conversationId === conversationId)).toBe(7);
  });

  it('allows 60 sends per conversation per 30 s', async () => {
    const { conversationId } = installedUser();
    for (let i = 0; i < 60; i += 1) {
      expect((await call('POST', sendUrl(conversationId), message())).status).toBe(201);
      clock.advance(300);
    }
    const refused = await call('POST', sendUrl(conversationId), message());
    expect(refused.status).toBe(429);
    expect(connector.throttles.at(-1)?.rule).toBe('conversation 60/30s');
    expect(Number(refused.headers.get('retry-after'))).toBe(12);
  });

  it('applies 1800 per conversation per hour (the limiter the fake uses)', () => {
    const limiter = new SlidingWindowLimiter(DEFAULT_CONVERSATION_WINDOWS);
    const start = 0;
    for (let i = 0; i < 1800; i += 1) expect(limiter.take('c', start + i * 1_000)).toBeUndefined();
    const refusal = limiter.take('c', start + 1800 * 1_000);
    expect(refusal?.rule.name).toBe('conversation 1800/1h');
    expect(refusal?.retryAfterMs).toBe(1800 * 1_000);
  });

  it('limits an app to 30 requests per second per tenant across conversations', async () => {
    const users = Array.from({ length: 31 }, () => installedUser());
    const statuses: number[] = [];
    for (const { conversationId } of users)
      statuses.push((await call('POST', sendUrl(conversationId), message())).status);
    expect(statuses.filter((status) => status === 201)).toHaveLength(30);
    expect(statuses.at(-1)).toBe(429);
    expect(connector.throttles.at(-1)?.rule).toBe('tenant 30/s');
  });

  it('lets a test check a well-behaved sender: at most 7 per second, one 429 per window', async () => {
    const { conversationId } = installedUser();
    const before = connector.throttles.length;
    let sent = 0;
    while (sent < 20) {
      const response = await call('POST', sendUrl(conversationId), message());
      if (response.status === 429) clock.advance(Number(response.headers.get('retry-after')) * 1_000);
      else sent += 1;
    }
    const ours = connector.throttles.slice(before);
    expect(ours.length).toBeGreaterThan(0);
    expect(
      connector.peakRate(1_000, (record) => record.conversationId === conversationId),
    ).toBeLessThanOrEqual(7);
    expect(connector.peakThrottles(1_000)).toBeGreaterThanOrEqual(1);
    const perWindow = new Map<number, number>();
    for (const throttle of ours)
      perWindow.set(
        Math.floor(throttle.at / 1_000),
        (perWindow.get(Math.floor(throttle.at / 1_000)) ?? 0) + 1,
      );
    expect(Math.max(...perWindow.values())).toBe(1);
  });

  it('can leave Retry-After out, as Teams does not promise it', async () => {
    connector.retryAfterHeader = false;
    try {
      const { conversationId } = installedUser();
      let last: Awaited<ReturnType<typeof call>> | undefined;
      for (let i = 0; i < 8; i += 1) last = await call('POST', sendUrl(conversationId), message());
      expect(last?.status).toBe(429);
      expect(last?.headers.get('retry-after')).toBeNull();
    } finally {
      connector.retryAfterHeader = true;
    }
  });
});
