/**
 * Switchboard as the OpenID provider of our applications, with post-login routing and LMS SSO
 * handoffs. Other modules use `ProviderModule.applications` and `.keys`; the HTTP side is
 * `applicationRoutes`, `signingKeyRoutes`, `postLoginRouteRoutes` and `protocolRoutes`.
 *
 * It takes part in every SSO login through the sso module's completion pipeline: the
 * `oidc_interaction` continuation (an application asked for the login) and the default completion
 * (post-login routing, when nothing asked).
 */
import type { Config } from '../../config.ts';
import type { BackgroundTask } from '../../hub.ts';
import type { Database } from '../../platform/db/client.ts';
import { InvalidInput } from '../../platform/errors.ts';
import type { JobQueue } from '../../platform/jobs/index.ts';
import type { Logger } from '../../platform/logging.ts';
import type { SecretBox } from '../../platform/secret-box.ts';
import type { DirectoryService } from '../directory/index.ts';
import type { EventLog } from '../events/service.ts';
import type { OrganizationService } from '../orgs/index.ts';
import type { RateLimits } from '../rate-limits/index.ts';
import type { SsoModule } from '../sso/index.ts';
import { AccountService } from './accounts.ts';
import { ApplicationService } from './applications.ts';
import { InteractionService, OIDC_INTERACTION } from './interactions.ts';
import { LmsSiteService, type SiteKeySource } from './lms-sites.ts';
import { RouteService } from './post-login-routing.ts';
import { ProviderHost } from './provider-host.ts';
import { deleteExpiredPayloads, deletePayloadsOfAccount, listPayloadsOfAccount } from './repository.ts';
import { SignInSelector } from './sign-in-selection.ts';
import { SigningKeyService } from './signing-keys.ts';

export * from './contracts.ts';
export { applicationRoutes } from './routes/applications.ts';
export { postLoginRouteRoutes } from './routes/post-login-routes.ts';
export { protocolRoutes } from './routes/protocol.ts';
export { signingKeyRoutes } from './routes/signing-keys.ts';
export type { SigningKeyView } from './signing-keys.ts';
export { SIGNING_ALGORITHMS } from './signing-keys.ts';

/** Queue of "end this person's sessions everywhere" (suspension, deprovisioning, deletion). */
export const END_SESSIONS_QUEUE = 'provider.end-sessions';
/** Changes after which a person must lose every session and token at once. */
const ENDING_EVENTS = ['user.suspended', 'user.deactivated', 'user.deleted'] as const;

export class ProviderModule {
  readonly keys: SigningKeyService;
  readonly applications: ApplicationService;
  readonly accounts: AccountService;
  readonly host: ProviderHost;
  readonly interactions: InteractionService;
  readonly sites: LmsSiteService;
  readonly routes: RouteService;
  readonly #database: Database;
  readonly #logger: Logger;
  readonly #events: EventLog;
  readonly #jobs: JobQueue;

  constructor(deps: {
    config: Config;
    database: Database;
    secrets: SecretBox;
    events: EventLog;
    orgs: OrganizationService;
    directory: DirectoryService;
    sso: SsoModule;
    jobs: JobQueue;
    logger: Logger;
    rateLimits: RateLimits;
    /** Where an LMS site linked to a Thinkific destination gets its API key (provisioning's destinations). */
    siteKeys: SiteKeySource;
  }) {
    const { config, database, secrets, events, orgs, directory, sso, jobs, logger } = deps;
    this.#database = database;
    this.#logger = logger;
    this.#events = events;
    this.#jobs = jobs;
    this.keys = new SigningKeyService({
      database,
      secrets,
      events,
      logger,
      defaultIdTokenTtlSeconds: 3600,
      activationDelaySeconds: config.PROVIDER_KEY_ACTIVATION_DELAY_SECONDS,
    });
    this.applications = new ApplicationService({ database, events, orgs, issuer: config.PUBLIC_URL });
    this.accounts = new AccountService({
      directory,
      orgs,
      allows: (policy, organizationId) => this.applications.allowsOrganization(policy, organizationId),
    });
    const selector = new SignInSelector({ orgs, login: sso.login, applications: this.applications });
    this.host = new ProviderHost({
      config,
      database,
      secrets,
      logger,
      keys: this.keys,
      applications: this.applications,
      accounts: this.accounts,
      selector,
      rateLimits: deps.rateLimits,
    });
    this.applications.setMetadataCheck(async (metadata) => {
      const provider = await this.host.current();
      try {
        await provider.Client.validate(metadata as Parameters<typeof provider.Client.validate>[0]);
      } catch (error) {
        const description =
          (error as { error_description?: string }).error_description ?? (error as Error).message;
        throw new InvalidInput({
          code: 'invalid_client_metadata',
          detail: `The application would not be a valid OpenID Connect client: ${description}.`,
          fix: 'Correct the field the message names.',
        });
      }
    });
    this.interactions = new InteractionService({
      host: this.host,
      login: sso.login,
      applications: this.applications,
      selector,
      events,
      database,
      logger,
      lookupAccount: async (accountId) => {
        const user = await directory.getUser(accountId).catch(() => undefined);
        if (!user) return undefined;
        const organization = await orgs.require(user.organizationId).catch(() => undefined);
        return organization ? { user, organization } : undefined;
      },
    });
    this.sites = new LmsSiteService({ database, secrets, events, orgs, keys: deps.siteKeys });
    this.routes = new RouteService({
      database,
      events,
      orgs,
      directory,
      applications: this.applications,
      sites: this.sites,
      config,
      logger,
      openSession: (request, reply, accountId) => this.host.openSession(request, reply, accountId),
      issuer: config.PUBLIC_URL,
    });
    sso.login.registerCompletion(OIDC_INTERACTION, this.interactions.complete);
    sso.login.registerDefaultCompletion('provider.post_login_routing', this.routes.completion);
    jobs.defineQueue({
      name: END_SESSIONS_QUEUE,
      retryLimit: 8,
      retryDelay: 5,
      retryBackoff: true,
      retryDelayMax: 600,
      expireInSeconds: 300,
    });
    jobs.work<{ userId: string; organizationId: string | null; reason: string }>(END_SESSIONS_QUEUE, {
      concurrency: 2,
      handler: async (job) => this.endSessionsOf(job.data.userId, job.data.reason, job.data.organizationId),
    });
  }

  /**
   * The application behind a client-credentials access token (an API calling us as itself, e.g.
   * the coaching context API), with the scopes granted to that token and the organizations the
   * application serves; undefined for an unknown, expired or revoked token or a disabled
   * application. Tokens of people (authorization code) are not accepted here.
   */
  async clientCredentialsPrincipal(token: string): Promise<
    | {
        clientId: string;
        name: string;
        scopes: string[];
        organizationId: string | null;
        allowedOrganizationIds: string[] | null;
      }
    | undefined
  > {
    if (token.length < 16 || token.length > 512) return undefined;
    const provider = await this.host.current();
    const found = await provider.ClientCredentials.find(token).catch(() => undefined);
    if (!found || found.isExpired || !found.clientId) return undefined;
    const application = await this.applications.find(found.clientId);
    if (!application) return undefined;
    return {
      clientId: application.id,
      name: application.name,
      scopes: String(found.scope ?? '')
        .split(' ')
        .filter(Boolean),
      organizationId: application.organizationId,
      allowedOrganizationIds: application.allowedOrganizationIds,
    };
  }

  /**
   * Ends every session of a person and revokes every grant and token they hold, after telling
   * each application of those sessions through back-channel logout. Runs when the person is
   * suspended, deprovisioned or deleted (their next refresh or userinfo call already fails at
   * once; this also kills access tokens an API would still introspect as active, and tells the
   * applications to drop their own sessions).
   */
  async endSessionsOf(
    userId: string,
    reason: string,
    organizationId: string | null = null,
  ): Promise<{ sessions: number; notified: number; revoked: number }> {
    const rows = await listPayloadsOfAccount(this.#database.db, userId, ['Session']);
    const provider = await this.host.current();
    let notified = 0;
    for (const row of rows) {
      const authorizations = (row.payload.authorizations ?? {}) as Record<string, { sid?: string }>;
      for (const [clientId, { sid }] of Object.entries(authorizations)) {
        const client = (await provider.Client.find(clientId).catch(() => undefined)) as
          | { backchannelLogoutUri?: string; backchannelLogout(sub: string, sid: string): Promise<void> }
          | undefined;
        if (!client?.backchannelLogoutUri || !sid) continue;
        try {
          await client.backchannelLogout(userId, sid);
          notified++;
        } catch (error) {
          // Best effort, as for an interactive logout: the tokens are revoked below regardless.
          this.#logger.warn({ err: error, clientId, userId }, 'back-channel logout delivery failed');
        }
      }
    }
    return this.#database.transaction(async (tx) => {
      const revoked = await deletePayloadsOfAccount(tx, userId);
      if (revoked > 0) {
        await this.#events.append(tx, {
          organizationId: organizationId ?? (await this.accounts.organizationIdOf(userId)) ?? null,
          type: 'user.sessions_ended',
          actor: { type: 'system', name: 'provider' },
          subjectType: 'user',
          subjectId: userId,
          data: { reason, sessions: rows.length, backchannelNotified: notified, revoked },
        });
      }
      return { sessions: rows.length, notified, revoked };
    });
  }

  /** Deletes expired protocol state and unpublished keys. */
  async cleanUp(now = new Date()): Promise<{ payloads: number; keys: number }> {
    // A minute of grace: oidc-provider itself still checks expiry with its clock tolerance.
    const payloads = await deleteExpiredPayloads(this.#database.db, new Date(now.getTime() - 60_000));
    const keys = await this.keys.prune(now);
    return { payloads, keys };
  }

  /** Worker loop: makes sure signing keys exist (first start), then cleans up every 10 minutes. */
  backgroundTask(): BackgroundTask {
    return {
      name: 'provider-maintenance',
      start: async () => {
        await this.keys
          .ensure()
          .catch((error) => this.#logger.error({ err: error }, 'signing key generation failed'));
        const stopConsumer = await this.#events.startConsumer(
          'provider.end-sessions',
          async (tx, events) => {
            for (const event of events) {
              if (!event.subject.id) continue;
              await this.#jobs.send(
                END_SESSIONS_QUEUE,
                { userId: event.subject.id, organizationId: event.organizationId, reason: event.type },
                { tx },
              );
            }
          },
          { types: ENDING_EVENTS },
        );
        const run = () =>
          this.cleanUp()
            .then((counts) => this.#logger.debug(counts, 'provider cleanup'))
            .catch((error) => this.#logger.warn({ err: error }, 'provider cleanup failed'));
        const timer = setInterval(run, 10 * 60 * 1000);
        timer.unref();
        return async () => {
          clearInterval(timer);
          await stopConsumer();
        };
      },
    };
  }

  async close(): Promise<void> {
    await this.host.close();
  }
}
