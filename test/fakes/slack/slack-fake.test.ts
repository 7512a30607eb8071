/**
 * The Slack fake is strict where flow-of-work.md §3 says Slack is: errors as HTTP 200 ok:false,
 * 429 + Retry-After by tier and per channel, OAuth v2 for workspaces and Grid orgs (with token
 * rotation), and signed interactivity. The receiver below checks signatures as the hub must: over
 * the exact raw body, timestamp within 5 minutes, constant-time compare, replays refused.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../fake-clock.ts';
import { FakeSlack, type SlackSignatureForgery, type SlackUser, type SlackWorkspace } from './index.ts';

const clock = new FakeClock({ frozenAt: Date.UTC(2026, 0, 5, 9) });
let slack: FakeSlack;
let acme: SlackWorkspace;
let ada: SlackUser;
let receiver: Server;
let receiverUrl = '';
const seenSignatures = new Set<string>();
const redirectUri = 'https://hub.example.com/slack/oauth/callback';

beforeAll(async () => {
  slack = await FakeSlack.start({ clock });
  acme = slack.createWorkspace({ name: 'Acme' });
  ada = slack.addUser({ teamId: acme.id, email: 'ada@acme.example' });
  receiver = createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const timestamp = String(request.headers['x-slack-request-timestamp'] ?? '');
    const signature = String(request.headers['x-slack-signature'] ?? '');
    const expected = `v0=${createHmac('sha256', slack.signingSecret).update(`v0:${timestamp}:${raw}`).digest('hex')}`;
    const fresh = Math.abs(clock.nowSeconds() - Number(timestamp)) <= 300;
    const valid =
      signature.length === expected.length && timingSafeEqual(Buffer.from(signature), Buffer.from(expected));
    if (!fresh || !valid || seenSignatures.has(signature)) {
      response.writeHead(401).end();
      return;
    }
    seenSignatures.add(signature);
    const payload = JSON.parse(new URLSearchParams(raw).get('payload') ?? '{}') as { response_url: string };
    response.writeHead(200).end();
    await fetch(payload.response_url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ replace_original: true, text: 'Marked as done' }),
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/slack/interactivity`;
});

afterAll(async () => {
  receiver.closeAllConnections();
  await new Promise<void>((resolve) => receiver.close(() => resolve()));
  await slack.close();
});

beforeEach(() => {
  clock.advance(3_600_000);
});

async function api(
  method: string,
  token: string | undefined,
  args: Record<string, unknown>,
  as: 'json' | 'form' = 'json',
) {
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  let body: string;
  if (as === 'json') {
    headers['content-type'] = 'application/json; charset=utf-8';
    body = JSON.stringify(args);
  } else {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(Object.entries(args).map(([key, value]) => [key, String(value)])).toString();
  }
  const response = await fetch(`${slack.apiUrl}/${method}`, { method: 'POST', headers, body });
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as Record<string, unknown>,
  };
}

const basic = () => `Basic ${Buffer.from(`${slack.clientId}:${slack.clientSecret}`).toString('base64')}`;

async function exchange(code: string, uri = redirectUri, authorization = basic()) {
  const response = await fetch(`${slack.apiUrl}/oauth.v2.access`, {
    method: 'POST',
    headers: { authorization, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ code, redirect_uri: uri }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('OAuth v2', () => {
  it('installs into a workspace through the authorize redirect, and the code is single-use', async () => {
    slack.approveNextAuthorization({ teamId: acme.id, installerUserId: ada.id });
    const authorize = new URL(`${slack.url}/oauth/v2/authorize`);
    authorize.search = new URLSearchParams({
      client_id: slack.clientId,
      scope: 'chat:write,users:read,users:read.email,im:write',
      redirect_uri: redirectUri,
      state: 'st4te',
    }).toString();
    const redirect = await fetch(authorize, { redirect: 'manual' });
    expect(redirect.status).toBe(302);
    const location = new URL(String(redirect.headers.get('location')));
    expect(`${location.origin}${location.pathname}`).toBe(redirectUri);
    expect(location.searchParams.get('state')).toBe('st4te');
    const code = String(location.searchParams.get('code'));

    const { status, body } = await exchange(code);
    expect(status).toBe(200);
    expect(body).toMatchObject({
      ok: true,
      app_id: slack.appId,
      authed_user: { id: ada.id },
      scope: 'chat:write,users:read,users:read.email,im:write',
      token_type: 'bot',
      team: { id: acme.id, name: 'Acme' },
      enterprise: null,
      is_enterprise_install: false,
    });
    expect(String(body.access_token)).toMatch(/^xoxb-/);
    expect(body.refresh_token).toBeUndefined();
    expect(await exchange(code)).toEqual({ status: 200, body: { ok: false, error: 'invalid_code' } });
  });

  it('answers client and redirect mistakes with HTTP 200 ok:false', async () => {
    const code = slack.authorize({ redirectUri, teamId: acme.id, installerUserId: ada.id });
    expect((await exchange(code, 'https://elsewhere.example/cb')).body).toEqual({
      ok: false,
      error: 'bad_redirect_uri',
    });
    const wrongSecret = `Basic ${Buffer.from(`${slack.clientId}:nope`).toString('base64')}`;
    expect((await exchange(code, redirectUri, wrongSecret)).body).toEqual({
      ok: false,
      error: 'bad_client_secret',
    });
    const wrongClient = `Basic ${Buffer.from(`1.2:${slack.clientSecret}`).toString('base64')}`;
    expect((await exchange(code, redirectUri, wrongClient)).body).toEqual({
      ok: false,
      error: 'invalid_client_id',
    });
  });

  it('installs org-wide on Enterprise Grid: team null, keyed by enterprise id', async () => {
    const grid = slack.createEnterprise('Globex Grid');
    const east = slack.createWorkspace({ name: 'Globex East', enterpriseId: grid.id });
    const west = slack.createWorkspace({ name: 'Globex West', enterpriseId: grid.id });
    const admin = slack.addUser({ teamId: east.id, email: 'admin@globex.example' });
    const grace = slack.addUser({ teamId: west.id, email: 'grace@globex.example' });
    const { body } = await exchange(
      slack.authorize({ redirectUri, enterpriseId: grid.id, installerUserId: admin.id }),
    );
    expect(body).toMatchObject({
      ok: true,
      team: null,
      enterprise: { id: grid.id, name: 'Globex Grid' },
      is_enterprise_install: true,
    });
    expect(grace.id).toMatch(/^W/);
    const lookup = await api(
      'users.lookupByEmail',
      String(body.access_token),
      { email: 'grace@globex.example' },
      'form',
    );
    expect(lookup.body).toMatchObject({ ok: true, user: { id: grace.id, team_id: west.id } });

    const workspaceInGrid = await exchange(
      slack.authorize({ redirectUri, teamId: east.id, installerUserId: admin.id }),
    );
    expect(workspaceInGrid.body).toMatchObject({
      team: { id: east.id },
      enterprise: { id: grid.id },
      is_enterprise_install: false,
    });
  });

  it('rotates tokens when rotation is on: xoxe tokens expire, the refresh token is single-use', async () => {
    slack.tokenRotation = true;
    try {
      const { body } = await exchange(
        slack.authorize({ redirectUri, teamId: acme.id, installerUserId: ada.id }),
      );
      expect(String(body.access_token)).toMatch(/^xoxe\.xoxb-1-/);
      expect(body.expires_in).toBe(43_200);
      expect(String(body.refresh_token)).toMatch(/^xoxe-1-/);
      clock.advance(43_200_000);
      expect((await api('auth.test', String(body.access_token), {})).body).toEqual({
        ok: false,
        error: 'token_expired',
      });
      const refresh = async () =>
        (
          await fetch(`${slack.apiUrl}/oauth.v2.access`, {
            method: 'POST',
            headers: { authorization: basic(), 'content-type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams({
              grant_type: 'refresh_token',
              refresh_token: String(body.refresh_token),
            }),
          })
        ).json() as Promise<Record<string, unknown>>;
      const renewed = await refresh();
      expect(renewed).toMatchObject({
        ok: true,
        token_type: 'bot',
        expires_in: 43_200,
        team: { id: acme.id },
      });
      expect((await api('auth.test', String(renewed.access_token), {})).body.ok).toBe(true);
      expect(await refresh()).toEqual({ ok: false, error: 'invalid_refresh_token' });
    } finally {
      slack.tokenRotation = false;
    }
  });
});

describe('Web API methods', () => {
  it('auth.test and users.lookupByEmail (users_not_found is plural; deleted users come back)', async () => {
    const { token, botUserId } = slack.issueBotToken({ teamId: acme.id });
    expect((await api('auth.test', token, {})).body).toMatchObject({
      ok: true,
      team_id: acme.id,
      user_id: botUserId,
      is_enterprise_install: false,
    });
    const found = await api('users.lookupByEmail', token, { email: 'ADA@acme.example' }, 'form');
    expect(found.body).toMatchObject({
      ok: true,
      user: {
        id: ada.id,
        team_id: acme.id,
        deleted: false,
        is_bot: false,
        profile: { email: 'ada@acme.example' },
      },
    });
    expect((await api('users.lookupByEmail', token, { email: 'nobody@acme.example' }, 'form')).body).toEqual({
      ok: false,
      error: 'users_not_found',
    });
    slack.addUser({ teamId: acme.id, email: 'left@acme.example', deleted: true });
    expect(
      (await api('users.lookupByEmail', token, { email: 'left@acme.example' }, 'form')).body,
    ).toMatchObject({ ok: true, user: { deleted: true } });
    const viaGet = await fetch(
      `${slack.apiUrl}/users.lookupByEmail?email=${encodeURIComponent('ada@acme.example')}`,
      {
        headers: { authorization: `Bearer ${token}` },
      },
    );
    expect(((await viaGet.json()) as { user: { id: string } }).user.id).toBe(ada.id);
  });

  it('answers missing_scope with needed and provided', async () => {
    const { token } = slack.issueBotToken({ teamId: acme.id, scopes: ['chat:write', 'users:read'] });
    const { status, body } = await api('users.lookupByEmail', token, { email: 'ada@acme.example' }, 'form');
    expect(status).toBe(200);
    expect(body).toEqual({
      ok: false,
      error: 'missing_scope',
      needed: 'users:read.email',
      provided: 'chat:write,users:read',
    });
  });

  it('posts to a user id through the app DM (answering D…), which chat.update needs', async () => {
    const { token } = slack.issueBotToken({ teamId: acme.id });
    const blocks = [{ type: 'section', text: { type: 'mrkdwn', text: '*Course due* tomorrow' } }];
    const posted = await api('chat.postMessage', token, {
      channel: ada.id,
      text: 'Course due tomorrow',
      blocks,
    });
    expect(posted.body).toMatchObject({
      ok: true,
      message: { type: 'message', text: 'Course due tomorrow', blocks },
    });
    const dm = String(posted.body.channel);
    expect(dm).toMatch(/^D/);
    expect(String(posted.body.ts)).toMatch(/^\d{10}\.\d{6}$/);
    const opened = await api('conversations.open', token, { users: ada.id });
    expect(opened.body).toMatchObject({ ok: true, no_op: true, already_open: true, channel: { id: dm } });

    expect(
      (await api('chat.update', token, { channel: ada.id, ts: posted.body.ts, text: 'Done' })).body,
    ).toEqual({ ok: false, error: 'channel_not_found' });
    const updated = await api('chat.update', token, { channel: dm, ts: posted.body.ts, text: 'Done' });
    expect(updated.body).toMatchObject({ ok: true, channel: dm, ts: posted.body.ts, text: 'Done' });
    expect(slack.messagesIn(dm)[0]?.history).toHaveLength(1);
    expect((await api('chat.update', token, { channel: dm, ts: '1.000001', text: 'x' })).body).toEqual({
      ok: false,
      error: 'message_not_found',
    });
    const other = slack.issueBotToken({ teamId: acme.id });
    expect(
      (await api('chat.update', other.token, { channel: dm, ts: posted.body.ts, text: 'x' })).body,
    ).toEqual({ ok: false, error: 'cant_update_message' });
  });

  it('answers channel and content errors with HTTP 200 ok:false', async () => {
    const { token } = slack.issueBotToken({ teamId: acme.id });
    const outside = slack.addChannel({ teamId: acme.id, name: 'random', botIsMember: false });
    const archived = slack.addChannel({ teamId: acme.id, name: 'old', archived: true });
    const general = slack.addChannel({ teamId: acme.id, name: 'general' });
    const expectError = async (args: Record<string, unknown>, error: string) => {
      const { status, body } = await api('chat.postMessage', token, args);
      expect(status).toBe(200);
      expect(body).toMatchObject({ ok: false, error });
    };
    await expectError({ channel: 'C0NOTHERE', text: 'x' }, 'channel_not_found');
    await expectError({ channel: outside.id, text: 'x' }, 'not_in_channel');
    await expectError({ channel: archived.id, text: 'x' }, 'is_archived');
    await expectError({ channel: general.id }, 'no_text');
    await expectError({ channel: general.id, text: 'x'.repeat(40_001) }, 'msg_too_long');
    await expectError({ channel: general.id, text: 'x', blocks: [{ type: 'banner' }] }, 'invalid_blocks');
    await expectError({ channel: general.id, text: 'x', blocks: { type: 'section' } }, 'invalid_blocks');
    const other = slack.createWorkspace({ name: 'Other' });
    const elsewhere = slack.addChannel({ teamId: other.id, name: 'general' });
    await expectError({ channel: elsewhere.id, text: 'x' }, 'channel_not_found');
  });

  it('authentication failures: not_authed, invalid_auth, token_revoked mid-run, account_inactive', async () => {
    const general = slack.addChannel({ teamId: acme.id, name: 'general-2' });
    const { token } = slack.issueBotToken({ teamId: acme.id });
    expect(
      (await api('chat.postMessage', undefined, { token, channel: general.id, text: 'x' })).body,
    ).toEqual({ ok: false, error: 'not_authed' });
    expect(
      (await api('chat.postMessage', undefined, { token, channel: general.id, text: 'x' }, 'form')).body.ok,
    ).toBe(true);
    expect((await api('chat.postMessage', 'xoxb-1-2-nope', { channel: general.id, text: 'x' })).body).toEqual(
      { ok: false, error: 'invalid_auth' },
    );
    slack.revokeToken(token);
    expect((await api('chat.postMessage', token, { channel: general.id, text: 'x' })).body).toEqual({
      ok: false,
      error: 'token_revoked',
    });
    const gone = slack.createWorkspace({ name: 'Gone' });
    const goneToken = slack.issueBotToken({ teamId: gone.id }).token;
    gone.inactive = true;
    expect((await api('auth.test', goneToken, {})).body).toEqual({ ok: false, error: 'account_inactive' });
  });

  it('warns about JSON without charset=utf-8 but still answers', async () => {
    const { token } = slack.issueBotToken({ teamId: acme.id });
    const response = await fetch(`${slack.apiUrl}/auth.test`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(await response.json()).toMatchObject({
      ok: true,
      warning: 'missing_charset',
      response_metadata: { warnings: ['missing_charset'] },
    });
  });
});

describe('rate limits', () => {
  it('chat.postMessage: bursts per channel then 429 with Retry-After; another channel still posts', async () => {
    const { token } = slack.issueBotToken({ teamId: acme.id });
    const busy = slack.addChannel({ teamId: acme.id, name: 'busy' });
    const quiet = slack.addChannel({ teamId: acme.id, name: 'quiet' });
    for (let i = 0; i < 5; i += 1)
      expect((await api('chat.postMessage', token, { channel: busy.id, text: `n${i}` })).body.ok).toBe(true);
    const limited = await api('chat.postMessage', token, { channel: busy.id, text: 'n5' });
    expect(limited.status).toBe(429);
    expect(limited.body).toEqual({ ok: false, error: 'ratelimited' });
    expect(limited.headers.get('retry-after')).toBe('5');
    expect((await api('chat.postMessage', token, { channel: quiet.id, text: 'hello' })).body.ok).toBe(true);
    clock.advance(5_000);
    expect((await api('chat.postMessage', token, { channel: busy.id, text: 'n6' })).body.ok).toBe(true);
  });

  it('Tier 3 methods: 50 per minute per workspace, then 429', async () => {
    const { token } = slack.issueBotToken({ teamId: acme.id });
    for (let i = 0; i < 50; i += 1) {
      expect((await api('users.lookupByEmail', token, { email: 'ada@acme.example' }, 'form')).status).toBe(
        200,
      );
    }
    const limited = await api('users.lookupByEmail', token, { email: 'ada@acme.example' }, 'form');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('60');
    expect(slack.throttles.at(-1)).toMatchObject({ method: 'users.lookupByEmail', rule: 'tier 3 50/min' });
    const other = slack.createWorkspace({ name: 'Elsewhere' });
    slack.addUser({ teamId: other.id, email: 'ada@elsewhere.example' });
    const otherToken = slack.issueBotToken({ teamId: other.id }).token;
    expect(
      (await api('users.lookupByEmail', otherToken, { email: 'ada@elsewhere.example' }, 'form')).status,
    ).toBe(200);
  });
});

describe('interactivity', () => {
  async function postedMessage() {
    const { token } = slack.issueBotToken({ teamId: acme.id });
    const posted = await api('chat.postMessage', token, {
      channel: ada.id,
      text: 'Mark the course done?',
      blocks: [
        {
          type: 'actions',
          elements: [
            {
              type: 'button',
              action_id: 'done',
              value: 'course-7',
              text: { type: 'plain_text', text: 'Done' },
            },
          ],
        },
      ],
    });
    return { channel: String(posted.body.channel), ts: String(posted.body.ts) };
  }

  it('delivers a signed block_actions payload as form payload=<json>; follow-ups land on response_url', async () => {
    const { channel, ts } = await postedMessage();
    const payload = slack.blockActionsPayload({
      user: ada,
      channel,
      messageTs: ts,
      actions: [{ actionId: 'done', value: 'course-7' }],
    });
    expect(payload).toMatchObject({
      type: 'block_actions',
      user: { id: ada.id, team_id: acme.id },
      container: { type: 'message', message_ts: ts, channel_id: channel },
      actions: [{ action_id: 'done', value: 'course-7', type: 'button' }],
    });
    const before = slack.followUps.length;
    const result = await slack.deliverBlockActions(receiverUrl, payload);
    expect(result.status).toBe(200);
    expect(result.request.body.startsWith('payload=')).toBe(true);
    expect(result.request.headers['x-slack-signature']).toMatch(/^v0=[0-9a-f]{64}$/);
    await expect.poll(() => slack.followUps.length, { timeout: 10_000 }).toBe(before + 1);
    expect(slack.followUps.at(-1)?.body).toEqual({ replace_original: true, text: 'Marked as done' });

    const replay = await slack.send(result.request);
    expect(replay.status).toBe(401);
  });

  const forgeries: SlackSignatureForgery[] = [
    'wrong-secret',
    'stale-timestamp',
    'body-altered',
    'missing-signature',
  ];
  for (const forgery of forgeries) {
    it(`a ${forgery} callback is refused`, async () => {
      const { channel, ts } = await postedMessage();
      const payload = slack.blockActionsPayload({
        user: ada,
        channel,
        messageTs: ts,
        actions: [{ actionId: 'done', value: 'course-7' }],
      });
      expect((await slack.deliverBlockActions(receiverUrl, payload, forgery)).status).toBe(401);
    });
  }

  it('response_url takes five follow-ups within thirty minutes', async () => {
    const { channel, ts } = await postedMessage();
    const payload = slack.blockActionsPayload({
      user: ada,
      channel,
      messageTs: ts,
      actions: [{ actionId: 'done' }],
    });
    const url = String(payload.response_url);
    const follow = async () =>
      fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ text: 'ok' }),
      });
    for (let i = 0; i < 5; i += 1) expect((await follow()).status).toBe(200);
    const sixth = await follow();
    expect(sixth.status).toBe(404);
    expect(await sixth.json()).toEqual({ ok: false, error: 'used_url' });
    const late = slack.blockActionsPayload({
      user: ada,
      channel,
      messageTs: ts,
      actions: [{ actionId: 'done' }],
    });
    clock.advance(31 * 60_000);
    const expired = await fetch(String(late.response_url), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"text":"late"}',
    });
    expect(await expired.json()).toEqual({ ok: false, error: 'expired_url' });
  });
});
