/**
 * Inbound SSO. Other modules use `SsoModule.login.registerCompletion(type, handler)` to receive
 * finished logins (the OIDC provider resumes its interaction there), `registerFailure(type, handler)`
 * to answer the failed ones of that type (a setup page's test sign-in ends on its trace),
 * `SsoModule.login.createLoginRequest({ continuation })` to start one,
 * `registerCompletionStep(step)` to take part in every login before it is answered, and
 * `registerDefaultCompletion(name, handler)` to answer logins nothing asked for (routing).
 */
import type { Config } from '../../config.ts';
import type { BackgroundTask } from '../../hub.ts';
import type { Database } from '../../platform/db/client.ts';
import type { HttpClient } from '../../platform/http-client.ts';
import type { JobQueue } from '../../platform/jobs/index.ts';
import type { Logger } from '../../platform/logging.ts';
import type { SecretBox } from '../../platform/secret-box.ts';
import type { DirectoryService } from '../directory/index.ts';
import type { EventLog } from '../events/service.ts';
import type { OrganizationService } from '../orgs/index.ts';
import { ConnectionService } from './connections.ts';
import { LoginService } from './login.ts';
import { RelyingPartyCache } from './oidc/relying-party.ts';
import { deleteExpiredAssertionIds, deleteExpiredFlows, deleteTracesBefore } from './repository.ts';
import { TestIdentityProvider } from './test-idp.ts';
import { TraceQueries } from './trace-queries.ts';

const METADATA_REFRESH_QUEUE = 'sso.metadata-refresh';

export { type ConnectionService, connectionUrls } from './connections.ts';
export * from './contracts.ts';
export type {
  CompletionHandler,
  CompletionStep,
  Continuation,
  DefaultCompletion,
  FailureHandler,
  LoginCompletion,
  LoginFailureReport,
  LoginService,
} from './login.ts';
export { sendPage } from './login.ts';
export { errorPage, escapeHtml, hiddenInputs, page } from './pages.ts';
export { connectionRoutes } from './routes/connections.ts';
export { loginRoutes } from './routes/login.ts';
export type { TraceQueries } from './trace-queries.ts';

export class SsoModule {
  readonly connections: ConnectionService;
  readonly login: LoginService;
  readonly testIdp: TestIdentityProvider;
  readonly traces: TraceQueries;
  readonly #database: Database;
  readonly #config: Config;
  readonly #logger: Logger;

  constructor(deps: {
    config: Config;
    database: Database;
    secrets: SecretBox;
    events: EventLog;
    orgs: OrganizationService;
    directory: DirectoryService;
    http: HttpClient;
    logger: Logger;
  }) {
    this.#database = deps.database;
    this.#config = deps.config;
    this.#logger = deps.logger;
    this.connections = new ConnectionService(deps);
    this.login = new LoginService({
      ...deps,
      relyingParties: new RelyingPartyCache(deps.config.SSO_INSECURE_HTTP),
    });
    this.testIdp = new TestIdentityProvider({
      config: deps.config,
      secrets: deps.secrets,
      login: this.login,
    });
    this.traces = new TraceQueries(deps.database, deps.orgs);
  }

  /** Deletes expired login flows and assertion ids, and traces past retention. */
  async cleanUp(now = new Date()): Promise<{ flows: number; assertionIds: number; traces: number }> {
    const db = this.#database.db;
    return {
      flows: await deleteExpiredFlows(db, new Date(now.getTime() - 60 * 60 * 1000)),
      assertionIds: await deleteExpiredAssertionIds(db, now),
      traces: await deleteTracesBefore(
        db,
        new Date(now.getTime() - this.#config.SSO_TRACE_RETENTION_DAYS * 86_400_000),
      ),
    };
  }

  /**
   * Schedules the IdP metadata refresh (every 6 hours, once across all hub processes) and registers
   * its handler. IdPs publish a new signing certificate in their metadata before they switch to it.
   */
  registerJobs(jobs: JobQueue): BackgroundTask {
    jobs.defineQueue({ name: METADATA_REFRESH_QUEUE, retryLimit: 2, retryDelay: 300 });
    jobs.work(METADATA_REFRESH_QUEUE, {
      concurrency: 1,
      handler: async () => {
        const result = await this.connections.refreshAllSamlMetadata({
          type: 'system',
          name: 'metadata-refresh',
        });
        this.#logger.info(result, 'refreshed SAML IdP metadata');
      },
    });
    return {
      name: 'sso-metadata-schedule',
      start: async () => {
        await jobs.schedule(METADATA_REFRESH_QUEUE, '17 */6 * * *');
        return async () => {};
      },
    };
  }

  /** Worker loop running cleanUp every 10 minutes. */
  cleanupTask(): BackgroundTask {
    return {
      name: 'sso-cleanup',
      start: async () => {
        const run = () =>
          this.cleanUp()
            .then((counts) => this.#logger.debug(counts, 'sso cleanup'))
            .catch((error) => this.#logger.warn({ err: error }, 'sso cleanup failed'));
        const timer = setInterval(run, 10 * 60 * 1000);
        timer.unref();
        return async () => clearInterval(timer);
      },
    };
  }
}
