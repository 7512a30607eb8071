/**
 * The Graph install fake follows the hub path of flow-of-work.md §1.8: catalog lookup by manifest
 * id, 201-with-empty-body installs, 409 on a second install, 403 without the permission (or with the
 * Self permission for another app), the 1:1 chat id usable as a Bot Connector conversation id, and
 * the installationUpdate Teams sends to the bot afterwards.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeBotConnector } from '../bot-connector/index.ts';
import type { Activity } from '../bot-framework/activities.ts';
import { FakeBotFramework } from '../bot-framework/index.ts';
import {
  BOT_FRAMEWORK_RESOURCE,
  FakeEntra,
  type FakeEntraApp,
  type FakeEntraTenant,
  GRAPH_RESOURCE,
} from '../entra/index.ts';
import { type CatalogApp, FakeGraphTeams } from './index.ts';

let entra: FakeEntra;
let connector: FakeBotConnector;
let botFramework: FakeBotFramework;
let graph: FakeGraphTeams;
let home: FakeEntraTenant;
let customer: FakeEntraTenant;
let hubApp: FakeEntraApp;
let bot: FakeEntraApp;
let catalogApp: CatalogApp;
let endpoint: Server;
const received: Activity[] = [];
const manifestId = 'cf1ba4c7-f94e-4d80-ba90-5594b641a8ee';

beforeAll(async () => {
  entra = await FakeEntra.start();
  home = await entra.addTenant({ displayName: 'Switchboard Inc' });
  customer = await entra.addTenant({ displayName: 'Contoso' });
  hubApp = entra.registerApp({ homeTenantId: home.id, signInAudience: 'AzureADMultipleOrgs' });
  bot = entra.registerApp({ homeTenantId: home.id });
  entra.grantAdminConsent(customer.id, hubApp.clientId, [
    'AppCatalog.Read.All',
    'TeamsAppInstallation.ReadWriteSelfForUser.All',
  ]);
  connector = await FakeBotConnector.start({ entra });
  connector.registerBot({ appId: bot.clientId, tenantId: home.id });
  botFramework = await FakeBotFramework.start({ clock: entra.clock });
  endpoint = createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    if (String(request.headers.authorization).startsWith('Bearer ')) {
      received.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Activity);
    }
    response.writeHead(200).end();
  });
  await new Promise<void>((resolve) => endpoint.listen(0, '127.0.0.1', resolve));
  graph = await FakeGraphTeams.start({
    entra,
    tenantId: customer.id,
    connector,
    botFramework,
    messagingEndpoint: `http://127.0.0.1:${(endpoint.address() as AddressInfo).port}/api/messages`,
  });
  catalogApp = graph.publishApp({
    externalId: manifestId,
    botId: bot.clientId,
    webApplicationInfoId: hubApp.clientId,
  });
});

afterAll(async () => {
  await graph.close();
  endpoint.closeAllConnections();
  await new Promise<void>((resolve) => endpoint.close(() => resolve()));
  await Promise.all([connector.close(), botFramework.close(), entra.close()]);
});

async function graphCall(method: string, path: string, token: string, body?: unknown) {
  const response = await fetch(`${graph.url}/v1.0${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  return {
    status: response.status,
    text,
    body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined,
  };
}

const hubToken = () => entra.issueAppToken(customer.id, hubApp.clientId, GRAPH_RESOURCE);

function newUser() {
  const user = connector.addUser({ tenantId: customer.id, region: 'emea' });
  graph.addUser(user.aadObjectId);
  return user;
}

const installBody = (id: string) => ({
  'teamsApp@odata.bind': `https://graph.microsoft.com/v1.0/appCatalogs/teamsApps/${id}`,
});

describe('Graph app installs (§1.8)', () => {
  it('finds the catalog app by manifest id', async () => {
    const found = await graphCall(
      'GET',
      `/appCatalogs/teamsApps?$filter=${encodeURIComponent(`externalId eq '${manifestId}'`)}`,
      await hubToken(),
    );
    expect(found.status).toBe(200);
    expect(found.body?.value).toEqual([
      {
        id: catalogApp.id,
        externalId: manifestId,
        displayName: 'Switchboard',
        distributionMethod: 'organization',
      },
    ]);
    expect(catalogApp.id).not.toBe(manifestId);
  });

  it('installs for a user: 201 with an empty body, then 409; the bot hears installationUpdate add', async () => {
    const user = newUser();
    const token = await hubToken();
    const first = await graphCall(
      'POST',
      `/users/${user.aadObjectId}/teamwork/installedApps`,
      token,
      installBody(catalogApp.id),
    );
    expect(first).toMatchObject({ status: 201, text: '' });
    const second = await graphCall(
      'POST',
      `/users/${user.aadObjectId}/teamwork/installedApps`,
      token,
      installBody(catalogApp.id),
    );
    expect(second.status).toBe(409);
    expect(second.body).toMatchObject({ error: { code: 'Conflict' } });

    await graph.settled();
    const conversation = connector.personalConversation(bot.clientId, user);
    expect(conversation).toBeDefined();
    const update = received.find(
      (activity) => (activity.from as { aadObjectId?: string }).aadObjectId === user.aadObjectId,
    );
    expect(update).toMatchObject({
      type: 'installationUpdate',
      action: 'add',
      serviceUrl: connector.serviceUrl('emea'),
      conversation: { id: conversation?.id },
    });
  });

  it('gives the 1:1 chat id, which the Bot Connector takes as a conversation id', async () => {
    const user = newUser();
    const token = await hubToken();
    await graphCall(
      'POST',
      `/users/${user.aadObjectId}/teamwork/installedApps`,
      token,
      installBody(catalogApp.id),
    );
    const filter = encodeURIComponent(`teamsApp/externalId eq '${manifestId}'`);
    const list = await graphCall(
      'GET',
      `/users/${user.aadObjectId}/teamwork/installedApps?$expand=teamsApp&$filter=${filter}`,
      token,
    );
    const installation = (
      list.body?.value as Array<{ id: string; teamsApp: { id: string } }> | undefined
    )?.[0];
    expect(installation?.teamsApp.id).toBe(catalogApp.id);
    expect(Buffer.from(installation?.id ?? '', 'base64').toString()).toBe(
      `${user.aadObjectId}##${catalogApp.id}`,
    );
    const chat = await graphCall(
      'GET',
      `/users/${user.aadObjectId}/teamwork/installedApps/${encodeURIComponent(installation?.id ?? '')}/chat`,
      token,
    );
    expect(chat.status).toBe(200);
    const chatId = String(chat.body?.id);
    expect(chatId).toMatch(/^19:.+@unq\.gbl\.spaces$/);
    expect(chatId).toContain(user.aadObjectId);

    const botToken = await entra.issueAppToken(home.id, bot.clientId, BOT_FRAMEWORK_RESOURCE);
    const sent = await fetch(
      `${connector.serviceUrl('emea')}v3/conversations/${encodeURIComponent(chatId)}/activities`,
      {
        method: 'POST',
        headers: { authorization: `Bearer ${botToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'message', text: 'Hello' }),
      },
    );
    expect(sent.status).toBe(201);
  });

  it('uninstalls (204), the bot hears installationUpdate remove, and writes are blocked', async () => {
    const user = newUser();
    const token = await hubToken();
    await graphCall(
      'POST',
      `/users/${user.aadObjectId}/teamwork/installedApps`,
      token,
      installBody(catalogApp.id),
    );
    const installId = graph.installationId(user.aadObjectId, catalogApp.id);
    const removed = await graphCall(
      'DELETE',
      `/users/${user.aadObjectId}/teamwork/installedApps/${encodeURIComponent(installId)}`,
      token,
    );
    expect(removed.status).toBe(204);
    await graph.settled();
    expect(
      graph.deliveries
        .filter((delivery) => delivery.userId === user.aadObjectId)
        .map((delivery) => delivery.action),
    ).toEqual(['add', 'remove']);
    expect(connector.isInstalled(bot.clientId, user)).toBe(false);
  });

  it('refuses without the permission, and the Self permission for another app', async () => {
    const user = newUser();
    const bare = entra.registerApp({ homeTenantId: home.id, signInAudience: 'AzureADMultipleOrgs' });
    entra.grantAdminConsent(customer.id, bare.clientId, ['User.Read.All']);
    const bareToken = await entra.issueAppToken(customer.id, bare.clientId, GRAPH_RESOURCE);
    const denied = await graphCall(
      'POST',
      `/users/${user.aadObjectId}/teamwork/installedApps`,
      bareToken,
      installBody(catalogApp.id),
    );
    expect(denied.status).toBe(403);
    expect((await graphCall('GET', '/appCatalogs/teamsApps', bareToken)).status).toBe(403);

    entra.grantAdminConsent(customer.id, bare.clientId, ['TeamsAppInstallation.ReadWriteSelfForUser.All']);
    const selfToken = await entra.issueAppToken(customer.id, bare.clientId, GRAPH_RESOURCE);
    const notSelf = await graphCall(
      'POST',
      `/users/${user.aadObjectId}/teamwork/installedApps`,
      selfToken,
      installBody(catalogApp.id),
    );
    expect(notSelf.status).toBe(403);
    expect(String((notSelf.body?.error as { message?: string } | undefined)?.message)).toContain(
      'is not allowed to manage the Teams App',
    );

    const foreign = await entra.issueAppToken(home.id, hubApp.clientId, GRAPH_RESOURCE);
    expect((await graphCall('GET', '/appCatalogs/teamsApps', foreign)).status).toBe(401);
  });
});
