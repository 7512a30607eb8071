/**
 * The Bot Framework fake signs inbound activities the way Teams does and forges the ones a bot must
 * refuse (flow-of-work.md §1.3). The bot below verifies them as the hub must: keys from the OpenID
 * metadata, refetch on an unknown kid, RS256 only, issuer, audience, 300 s skew, the lower-case
 * `serviceurl` claim against `activity.serviceUrl`, and the key's `endorsements` (403 otherwise).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeProtectedHeader, importJWK, type JWK, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeEntra } from '../entra/index.ts';
import { FakeClock } from '../fake-clock.ts';
import {
  type Activity,
  adaptiveCardAction,
  checkAdaptiveCardInvokeResponse,
  conversationUpdateBotAdded,
  duplicate,
  installationUpdate,
  messageWithValue,
  newChannelConversationId,
  newTeamsUserId,
} from './activities.ts';
import { BOT_FRAMEWORK_ISSUER, FakeBotFramework, type InboundForgery } from './index.ts';

const appId = '8a5d0c1e-3b2f-4e6a-9c7d-1f2e3d4c5b6a';
const tenantId = '4b1d2c3e-5f60-4a7b-8c9d-0e1f2a3b4c5d';
const clock = new FakeClock();
let bf: FakeBotFramework;
let entra: FakeEntra;
let bot: ReferenceBot;
const serviceUrl = 'https://smba.trafficmanager.net/amer/';
const user = { id: newTeamsUserId(), aadObjectId: 'a6de2a64-9501-4e16-9e50-74df223570a3', name: 'Ada' };

/** A messaging endpoint that checks inbound tokens as the hub must, and de-duplicates by activity id. */
class ReferenceBot {
  server: Server;
  url = '';
  keys: JWK[] = [];
  received: Activity[] = [];
  seen = new Set<string>();

  constructor() {
    this.server = createServer(async (request, response) => {
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      const activity = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Activity;
      const status = await this.check(String(request.headers.authorization ?? ''), activity);
      if (status === 200 && !this.seen.has(activity.id)) {
        this.seen.add(activity.id);
        this.received.push(activity);
      }
      response.writeHead(status).end();
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/api/messages`;
    return this;
  }

  async refreshKeys(): Promise<void> {
    const metadata = (await (await fetch(bf.openIdMetadataUrl)).json()) as {
      issuer: string;
      jwks_uri: string;
    };
    expect(metadata.issuer).toBe(BOT_FRAMEWORK_ISSUER);
    this.keys = ((await (await fetch(metadata.jwks_uri)).json()) as { keys: JWK[] }).keys;
  }

  async check(authorization: string, activity: Activity): Promise<number> {
    const token = /^Bearer (.+)$/.exec(authorization)?.[1];
    if (!token) return 401;
    try {
      const { kid, alg } = decodeProtectedHeader(token);
      if (alg !== 'RS256') return 401;
      let jwk = this.keys.find((key) => key.kid === kid);
      if (!jwk) {
        await this.refreshKeys();
        jwk = this.keys.find((key) => key.kid === kid);
      }
      if (!jwk) return 401;
      const { payload } = await jwtVerify(token, await importJWK(jwk, 'RS256'), {
        algorithms: ['RS256'],
        issuer: BOT_FRAMEWORK_ISSUER,
        audience: [appId, `api://botid-${appId}`, `api://${appId}`],
        clockTolerance: 300,
        currentDate: new Date(clock.now()),
      });
      const normalise = (url: unknown) =>
        String(url ?? '')
          .replace(/\/$/, '')
          .toLowerCase();
      if (!payload.serviceurl || normalise(payload.serviceurl) !== normalise(activity.serviceUrl)) return 401;
      const endorsements = (jwk as JWK & { endorsements?: string[] }).endorsements ?? [];
      if (!endorsements.includes(activity.channelId)) return 403;
      return 200;
    } catch {
      return 401;
    }
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

beforeAll(async () => {
  bf = await FakeBotFramework.start({ clock });
  entra = await FakeEntra.start({ clock });
  bot = await new ReferenceBot().start();
});

afterAll(async () => {
  await Promise.all([bf.close(), entra.close(), bot.close()]);
});

describe('OpenID metadata and keys (§1.3)', () => {
  it('publishes the Bot Framework issuer and keys endorsed for channels', async () => {
    const metadata = (await (await fetch(bf.openIdMetadataUrl)).json()) as Record<string, unknown>;
    expect(metadata).toMatchObject({
      issuer: 'https://api.botframework.com',
      jwks_uri: `${bf.url}/v1/.well-known/keys`,
      id_token_signing_alg_values_supported: ['RS256'],
    });
    const { keys } = (await (await fetch(bf.jwksUri)).json()) as { keys: Array<Record<string, unknown>> };
    expect(keys[0]).toMatchObject({
      kty: 'RSA',
      use: 'sig',
      endorsements: expect.arrayContaining(['msteams']),
    });
    expect(keys[0]?.kid).toBe(keys[0]?.x5t);
  });
});

describe('signed inbound activities', () => {
  it('delivers a genuine installationUpdate with the real quirks', async () => {
    const activity = installationUpdate({
      action: 'add',
      appId,
      tenantId,
      serviceUrl,
      user,
      team: { teamId: newChannelConversationId(), aadGroupId: 'e8c1f3a2-0000-4000-8000-00000000a001' },
      tenantOnlyInChannelData: true,
    });
    const result = await bf.deliver(bot.url, activity, { appId });
    expect(result.status).toBe(200);
    const received = bot.received.at(-1) as Activity;
    expect(received.serviceUrl).toBe('https://smba.trafficmanager.net/amer/');
    expect(received.conversation).toMatchObject({ isGroup: 'True', conversationType: 'channel' });
    expect(received.conversation.tenantId).toBeUndefined();
    expect(received.channelData).toMatchObject({ tenant: { id: tenantId } });
    expect(received.recipient).toEqual({ id: `28:${appId}`, name: 'Switchboard' });
    const claims = JSON.parse(
      Buffer.from(result.token.split('.')[1] as string, 'base64url').toString(),
    ) as Record<string, unknown>;
    expect(Object.keys(claims)).toContain('serviceurl');
    expect(claims).toMatchObject({ iss: 'https://api.botframework.com', aud: appId, serviceurl: serviceUrl });
  });

  it('builds conversationUpdate, Action.Submit and Action.Execute activities', async () => {
    const team = { teamId: newChannelConversationId(), aadGroupId: 'e8c1f3a2-0000-4000-8000-00000000a002' };
    const added = conversationUpdateBotAdded({ appId, tenantId, serviceUrl, user, team });
    expect(added.membersAdded).toEqual([{ id: `28:${appId}` }]);
    const submit = messageWithValue({ appId, tenantId, serviceUrl, user, value: { choice: 'done' } });
    expect(submit).toMatchObject({ type: 'message', value: { choice: 'done' } });
    const execute = adaptiveCardAction({
      appId,
      tenantId,
      serviceUrl,
      user,
      verb: 'complete',
      data: { id: 7 },
    });
    expect(execute).toMatchObject({
      type: 'invoke',
      name: 'adaptiveCard/action',
      value: { action: { type: 'Action.Execute', verb: 'complete', data: { id: 7 } } },
    });
    for (const activity of [added, submit, execute]) {
      expect((await bf.deliver(bot.url, activity, { appId })).status).toBe(200);
    }
  });

  it('redelivers a duplicate with the same activity id', async () => {
    const activity = installationUpdate({ action: 'remove', appId, tenantId, serviceUrl, user });
    const again = duplicate(activity);
    expect(again).toEqual(activity);
    expect((await bf.deliver(bot.url, activity, { appId })).status).toBe(200);
    expect((await bf.deliver(bot.url, again, { appId })).status).toBe(200);
    expect(bot.received.filter((received) => received.id === activity.id)).toHaveLength(1);
  });

  const refused: Array<[InboundForgery, number]> = [
    ['wrong-key', 401],
    ['wrong-issuer', 401],
    ['wrong-audience', 401],
    ['serviceurl-mismatch', 401],
    ['missing-serviceurl', 401],
    ['not-endorsed', 403],
    ['expired', 401],
    ['not-yet-valid', 401],
    ['alg-none', 401],
    ['alg-hs256', 401],
    ['unknown-kid', 401],
    ['entra-agentic', 401],
  ];
  for (const [forgery, status] of refused) {
    it(`refuses a ${forgery} token with ${status}`, async () => {
      const activity = installationUpdate({ action: 'add', appId, tenantId, serviceUrl, user });
      const result = await bf.deliver(bot.url, activity, {
        appId,
        forgery,
        entra,
        tenantId: [...entra.tenants.keys()][0],
      });
      expect(result.status).toBe(status);
      expect(bot.seen.has(activity.id)).toBe(false);
    });
  }

  it('rotates keys: a bot meeting a new kid refetches the key set and accepts it', async () => {
    await bot.refreshKeys();
    const fetches = bf.jwksFetches;
    const oldKid = bf.keys.at(-1)?.kid as string;
    const newKid = await bf.rotateKey();
    const activity = installationUpdate({ action: 'add', appId, tenantId, serviceUrl, user });
    const result = await bf.deliver(bot.url, activity, { appId });
    expect(decodeProtectedHeader(result.token).kid).toBe(newKid);
    expect(result.status).toBe(200);
    expect(bf.jwksFetches).toBe(fetches + 1);

    const signedWithOld = await (async () => {
      bf.retireKey(newKid);
      const token = await bf.signToken(appId, serviceUrl);
      return token;
    })();
    expect(decodeProtectedHeader(signedWithOld).kid).toBe(oldKid);
    bf.retireKey(oldKid);
    await bf.rotateKey();
    const fresh = await new ReferenceBot().start();
    try {
      const late = installationUpdate({ action: 'add', appId, tenantId, serviceUrl, user });
      expect((await bf.post(fresh.url, late, signedWithOld)).status).toBe(401);
    } finally {
      await fresh.close();
    }
  });
});

describe('invoke answers (§1.7)', () => {
  it('accepts the documented adaptiveCard/action response shapes and refuses others', () => {
    const card = { type: 'AdaptiveCard', version: '1.5', body: [] };
    expect(
      checkAdaptiveCardInvokeResponse(200, {
        statusCode: 200,
        type: 'application/vnd.microsoft.card.adaptive',
        value: card,
      }),
    ).toBeUndefined();
    expect(
      checkAdaptiveCardInvokeResponse(200, {
        statusCode: 200,
        type: 'application/vnd.microsoft.activity.message',
        value: 'Saved',
      }),
    ).toBeUndefined();
    expect(
      checkAdaptiveCardInvokeResponse(200, {
        statusCode: 401,
        type: 'application/vnd.microsoft.activity.loginRequest',
        value: {},
      }),
    ).toBeUndefined();
    expect(
      checkAdaptiveCardInvokeResponse(200, {
        statusCode: 412,
        type: 'application/vnd.microsoft.error.preconditionFailed',
        value: {},
      }),
    ).toBeUndefined();
    expect(
      checkAdaptiveCardInvokeResponse(200, {
        statusCode: 200,
        type: 'application/vnd.microsoft.card.adaptive',
        value: { ...card, version: '1.6' },
      }),
    ).toMatch(/up to 1\.5/);
    expect(
      checkAdaptiveCardInvokeResponse(200, { statusCode: 200, type: 'application/json', value: card }),
    ).toMatch(/type/);
    expect(checkAdaptiveCardInvokeResponse(202, {})).toMatch(/200/);
  });
});
