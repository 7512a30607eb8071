/**
 * Fake Microsoft Graph for Teams app installs (the hub path of flow-of-work.md §1.8), beside the
 * directory fake in `../microsoft-graph/` (which keeps its opaque tokens and people store). Graph
 * pages: "List teamsApp" (appcatalogs-list-teamsapps), "Install app for user"
 * (userteamwork-post-installedapps: 201, empty body), "Get 1:1 chat between the specified user
 * and Teams app" (userscopeteamsappinstallation-get-chat); 409 on a second install and the Self
 * permission's refusal come from Graph issues (microsoft-graph-docs #12199, -contrib #478).
 *
 *   GET    /v1.0/appCatalogs/teamsApps?$filter=externalId eq '{manifest id}'   (also id eq, distributionMethod eq)
 *   POST   /v1.0/users/{id}/teamwork/installedApps   {"teamsApp@odata.bind": ".../appCatalogs/teamsApps/{id}"}
 *          → 201 empty; 409 Conflict when installed; 403 without a TeamsAppInstallation permission
 *   GET    /v1.0/users/{id}/teamwork/installedApps[?$expand=teamsApp&$filter=teamsApp/externalId eq '…']
 *   GET    /v1.0/users/{id}/teamwork/installedApps/{installId}/chat → {"id":"19:…@unq.gbl.spaces"}
 *   DELETE /v1.0/users/{id}/teamwork/installedApps/{installId} → 204
 *
 * Tokens are the Entra fake's app tokens for `https://graph.microsoft.com` in the customer tenant;
 * permissions are their `roles`. `TeamsAppInstallation.ReadWriteSelfForUser.All` only lets an app
 * install the Teams app whose `webApplicationInfo.id` is itself (else 403 "…is not allowed to manage
 * the Teams App…"); `…ReadWriteForUser.All` may install any. The installation id is
 * base64(`{userId}##{teamsAppId}`), as in Graph's examples.
 *
 * With `connector` set, an install makes the app installed for the user in the Bot Connector fake;
 * with `botFramework` and `messagingEndpoint` too, Teams' `installationUpdate` (`add` / `remove`)
 * is then POSTed, signed, to the bot — asynchronously, as in Teams (`settled()` awaits it).
 */
import { randomUUID } from 'node:crypto';
import type { FakeBotConnector } from '../bot-connector/index.ts';
import { personalChatId } from '../bot-connector/index.ts';
import { installationUpdate } from '../bot-framework/activities.ts';
import type { FakeBotFramework } from '../bot-framework/index.ts';
import { type FakeEntra, GRAPH_APP_ID, GRAPH_RESOURCE } from '../entra/index.ts';
import {
  type FakeRequest,
  type FakeResponse,
  type LoggedRequest,
  parseBearer,
  startFakeHttpServer,
} from '../hr-fake-server.ts';

export interface CatalogApp {
  /** Graph's id of the catalog entry (not the manifest id, unless distributed through the Store). */
  id: string;
  /** The manifest `id`. */
  externalId: string;
  displayName: string;
  distributionMethod: 'organization' | 'store' | 'sideloaded';
  /** The bot's app id (`bots[0].botId`). */
  botId: string;
  /** `webApplicationInfo.id`: the Entra app allowed to manage it with the Self permission. */
  webApplicationInfoId: string;
}

export interface UserInstallation {
  id: string;
  userId: string;
  teamsAppId: string;
  at: number;
}

export interface FakeGraphTeamsOptions {
  entra: FakeEntra;
  /** The customer's tenant whose users and catalog this Graph serves. */
  tenantId: string;
  connector?: FakeBotConnector;
  botFramework?: FakeBotFramework;
  /** The bot's messaging endpoint that receives installationUpdate activities. */
  messagingEndpoint?: string;
}

const INSTALL_PERMISSIONS = [
  'TeamsAppInstallation.ReadWriteSelfForUser.All',
  'TeamsAppInstallation.ReadWriteForUser.All',
];
const READ_INSTALL_PERMISSIONS = ['TeamsAppInstallation.ReadForUser.All', ...INSTALL_PERMISSIONS];
const CATALOG_PERMISSIONS = ['AppCatalog.Read.All', 'AppCatalog.ReadWrite.All'];

export class FakeGraphTeams {
  readonly entra: FakeEntra;
  readonly tenantId: string;
  readonly catalog: CatalogApp[] = [];
  /** Users of the tenant, by Entra object id. */
  readonly users = new Set<string>();
  readonly installations: UserInstallation[] = [];
  /** installationUpdate deliveries to the bot, with what it answered. */
  readonly deliveries: Array<{ action: 'add' | 'remove'; userId: string; status: number }> = [];
  connector: FakeBotConnector | undefined;
  botFramework: FakeBotFramework | undefined;
  messagingEndpoint: string | undefined;
  url = '';
  requests: LoggedRequest[] = [];
  readonly #pending = new Set<Promise<void>>();
  #close: (() => Promise<void>) | undefined;

  constructor(options: FakeGraphTeamsOptions) {
    this.entra = options.entra;
    this.tenantId = options.tenantId;
    this.connector = options.connector;
    this.botFramework = options.botFramework;
    this.messagingEndpoint = options.messagingEndpoint;
  }

  static async start(options: FakeGraphTeamsOptions): Promise<FakeGraphTeams> {
    const graph = new FakeGraphTeams(options);
    const server = await startFakeHttpServer((request) => graph.#handle(request));
    graph.url = server.url;
    graph.requests = server.requests;
    graph.#close = server.close;
    return graph;
  }

  async close(): Promise<void> {
    await this.settled();
    await this.#close?.();
  }

  /** Publishes an app to the tenant's org catalog. */
  publishApp(
    spec: Omit<CatalogApp, 'id' | 'distributionMethod' | 'displayName'> & Partial<CatalogApp>,
  ): CatalogApp {
    const app: CatalogApp = {
      id: spec.id ?? randomUUID(),
      distributionMethod: spec.distributionMethod ?? 'organization',
      displayName: spec.displayName ?? 'Switchboard',
      externalId: spec.externalId,
      botId: spec.botId,
      webApplicationInfoId: spec.webApplicationInfoId,
    };
    this.catalog.push(app);
    return app;
  }

  addUser(aadObjectId: string): void {
    this.users.add(aadObjectId);
  }

  /** Waits for the installationUpdate deliveries started so far. */
  async settled(): Promise<void> {
    while (this.#pending.size) await Promise.all([...this.#pending]);
  }

  installationId(userId: string, teamsAppId: string): string {
    return Buffer.from(`${userId}##${teamsAppId}`).toString('base64');
  }

  // ── HTTP ──────────────────────────────────────────────────────────────────────────────────

  async #handle(request: FakeRequest): Promise<FakeResponse> {
    const bearer = parseBearer(request.headers.authorization);
    if (!bearer) return graphError(401, 'InvalidAuthenticationToken', 'Access token is empty.');
    let roles: string[];
    let callerAppId: string;
    try {
      const claims = await this.entra.verifyAccessToken(bearer, [GRAPH_RESOURCE, GRAPH_APP_ID]);
      if (claims.tid !== this.tenantId) throw new Error('another tenant');
      roles = Array.isArray(claims.roles) ? (claims.roles as string[]) : [];
      callerAppId = String(claims.appid ?? claims.azp ?? '');
    } catch {
      return graphError(
        401,
        'InvalidAuthenticationToken',
        'Access token validation failure. Invalid audience.',
      );
    }
    const path = request.path;
    if (path === '/v1.0/appCatalogs/teamsApps' && request.method === 'GET') {
      if (!roles.some((role) => CATALOG_PERMISSIONS.includes(role))) return denied();
      return this.#listCatalog(request);
    }
    const installed = /^\/v1\.0\/users\/([^/]+)\/teamwork\/installedApps(?:\/([^/]+)(\/chat)?)?$/.exec(path);
    if (!installed)
      return graphError(400, 'BadRequest', `Resource not found for the segment '${path.split('/').at(-1)}'.`);
    const userId = decodeURIComponent(installed[1] as string);
    if (!this.users.has(userId)) return graphError(404, 'NotFound', `User '${userId}' was not found.`);
    const installId = installed[2] === undefined ? undefined : decodeURIComponent(installed[2]);
    if (installId === undefined && request.method === 'POST') {
      if (!roles.some((role) => INSTALL_PERMISSIONS.includes(role))) return denied();
      return this.#install(request, userId, roles, callerAppId);
    }
    if (installId === undefined && request.method === 'GET') {
      if (!roles.some((role) => READ_INSTALL_PERMISSIONS.includes(role))) return denied();
      return this.#listInstalled(request, userId);
    }
    if (installId === undefined) return graphError(405, 'BadRequest', 'Method not allowed.');
    const installation = this.installations.find(
      (candidate) => candidate.id === installId && candidate.userId === userId,
    );
    if (installed[3] && request.method === 'GET') {
      if (!roles.some((role) => READ_INSTALL_PERMISSIONS.includes(role))) return denied();
      if (!installation) return graphError(404, 'NotFound', 'The app installation was not found.');
      const app = this.catalog.find((candidate) => candidate.id === installation.teamsAppId) as CatalogApp;
      return {
        status: 200,
        body: {
          '@odata.context': `${this.url}/v1.0/$metadata#chats/$entity`,
          id: personalChatId(userId, app.botId),
        },
      };
    }
    if (!installed[3] && request.method === 'DELETE') {
      if (!roles.some((role) => INSTALL_PERMISSIONS.includes(role))) return denied();
      if (!installation) return graphError(404, 'NotFound', 'The app installation was not found.');
      this.installations.splice(this.installations.indexOf(installation), 1);
      this.#afterChange('remove', userId, installation.teamsAppId);
      return { status: 204 };
    }
    return graphError(405, 'BadRequest', 'Method not allowed.');
  }

  #listCatalog(request: FakeRequest): FakeResponse {
    const filter = request.query.get('$filter');
    let apps = this.catalog;
    if (filter !== null) {
      const match = /^\s*(externalId|id|distributionMethod) eq '([^']*)'\s*$/.exec(filter);
      if (!match) return graphError(400, 'BadRequest', `Invalid filter clause: ${filter}`);
      const [, field, value] = match as unknown as [string, keyof CatalogApp, string];
      apps = apps.filter((app) => app[field] === value);
    }
    return {
      status: 200,
      body: {
        '@odata.context': `${this.url}/v1.0/$metadata#appCatalogs/teamsApps`,
        value: apps.map(catalogView),
      },
    };
  }

  #install(request: FakeRequest, userId: string, roles: string[], callerAppId: string): FakeResponse {
    const body = request.json as Record<string, unknown> | undefined;
    const bind = body?.['teamsApp@odata.bind'];
    if (typeof bind !== 'string')
      return graphError(400, 'BadRequest', "The 'teamsApp@odata.bind' property is required.");
    const appId = /\/appCatalogs\/teamsApps\/([^/]+)$/.exec(bind)?.[1];
    const app = this.catalog.find((candidate) => candidate.id === appId);
    if (!app)
      return graphError(404, 'NotFound', `The Teams app '${appId ?? bind}' was not found in the catalog.`);
    const anyApp = roles.includes('TeamsAppInstallation.ReadWriteForUser.All');
    if (!anyApp && app.webApplicationInfoId !== callerAppId) {
      return graphError(
        403,
        'Forbidden',
        `AAD App Id '${callerAppId}' is not allowed to manage the Teams App '${app.id}'.`,
      );
    }
    if (
      this.installations.some((candidate) => candidate.userId === userId && candidate.teamsAppId === app.id)
    ) {
      return graphError(409, 'Conflict', 'The app is already installed for this user.');
    }
    this.installations.push({
      id: this.installationId(userId, app.id),
      userId,
      teamsAppId: app.id,
      at: this.entra.clock.now(),
    });
    this.#afterChange('add', userId, app.id);
    return { status: 201 };
  }

  #listInstalled(request: FakeRequest, userId: string): FakeResponse {
    const filter = request.query.get('$filter');
    let installations = this.installations.filter((installation) => installation.userId === userId);
    if (filter !== null) {
      const match = /^\s*teamsApp\/(externalId|id) eq '([^']*)'\s*$/.exec(filter);
      if (!match) return graphError(400, 'BadRequest', `Invalid filter clause: ${filter}`);
      const [, field, value] = match as unknown as [string, 'externalId' | 'id', string];
      installations = installations.filter(
        (installation) => this.catalog.find((app) => app.id === installation.teamsAppId)?.[field] === value,
      );
    }
    const expand = (request.query.get('$expand') ?? '').split(',').map((part) => part.trim());
    return {
      status: 200,
      body: {
        '@odata.context': `${this.url}/v1.0/$metadata#users('${userId}')/teamwork/installedApps`,
        value: installations.map((installation) => {
          const app = this.catalog.find(
            (candidate) => candidate.id === installation.teamsAppId,
          ) as CatalogApp;
          return {
            id: installation.id,
            ...(expand.includes('teamsApp') ? { teamsApp: catalogView(app) } : {}),
          };
        }),
      },
    };
  }

  /** Mirrors an install or uninstall into the Bot Connector and tells the bot, as Teams does. */
  #afterChange(action: 'add' | 'remove', userId: string, teamsAppId: string): void {
    const app = this.catalog.find((candidate) => candidate.id === teamsAppId);
    const connector = this.connector;
    if (!app || !connector) return;
    const user = connector.users.find(
      (candidate) => candidate.aadObjectId === userId && candidate.tenantId === this.tenantId,
    );
    if (!user) return;
    const conversation =
      action === 'add'
        ? connector.installApp(app.botId, user)
        : connector.personalConversation(app.botId, user);
    if (action === 'remove') connector.uninstallApp(app.botId, user);
    const botFramework = this.botFramework;
    const endpoint = this.messagingEndpoint;
    if (!botFramework || !endpoint || !conversation) return;
    const activity = installationUpdate({
      action,
      appId: app.botId,
      tenantId: this.tenantId,
      serviceUrl: connector.serviceUrl(user.region),
      user: { id: user.id, aadObjectId: user.aadObjectId, name: user.name },
      conversationId: conversation.id,
    });
    const delivery = botFramework
      .deliver(endpoint, activity, { appId: app.botId })
      .then((result) => {
        this.deliveries.push({ action, userId, status: result.status });
      })
      .catch(() => {
        this.deliveries.push({ action, userId, status: 0 });
      })
      .finally(() => {
        this.#pending.delete(delivery);
      });
    this.#pending.add(delivery);
  }
}

function catalogView(app: CatalogApp) {
  return {
    id: app.id,
    externalId: app.externalId,
    displayName: app.displayName,
    distributionMethod: app.distributionMethod,
  };
}

function denied(): FakeResponse {
  return graphError(
    403,
    'Forbidden',
    'Missing role permissions on the request. API requires one of the application permissions listed on its page.',
  );
}

function graphError(status: number, code: string, message: string): FakeResponse {
  return {
    status,
    body: {
      error: {
        code,
        message,
        innerError: {
          date: new Date().toISOString().slice(0, 19),
          'request-id': randomUUID(),
          'client-request-id': randomUUID(),
        },
      },
    },
  };
}
