/**
 * The admin console: sign-in through our own OpenID provider (BFF), console roles, sessions,
 * the first-run login link, and the single-page app served at /admin. Other modules do not call
 * it; the app wires its routes and the admin API guard's session check.
 */
import type { Config } from '../../config.ts';
import type { BackgroundTask } from '../../hub.ts';
import type { Database } from '../../platform/db/client.ts';
import type { Logger } from '../../platform/logging.ts';
import type { SecretBox } from '../../platform/secret-box.ts';
import type { EventLog } from '../events/service.ts';
import type { ProviderModule } from '../provider/index.ts';
import { type ConsoleCookies, consoleCookies } from './routes/auth.ts';
import { ConsoleService } from './service.ts';
import { ConsoleSignIn } from './sign-in.ts';

export { type ConsoleCookies, consoleAuthRoutes } from './routes/auth.ts';
export { consoleMemberRoutes } from './routes/members.ts';
export { CONSOLE_DIST, consolePages } from './routes/pages.ts';
export {
  CONSOLE_ROLES,
  type ConsoleRole,
  ConsoleService,
  csrfTokenMatches,
  ROLE_SCOPES,
} from './service.ts';
export { CONSOLE_APPLICATION_NAME, ConsoleSignIn, type OwnRequest } from './sign-in.ts';

export class ConsoleModule {
  readonly service: ConsoleService;
  readonly signIn: ConsoleSignIn;
  readonly cookies: ConsoleCookies;
  readonly #logger: Logger;

  constructor(deps: {
    config: Config;
    database: Database;
    events: EventLog;
    secrets: SecretBox;
    applications: ProviderModule['applications'];
    logger: Logger;
  }) {
    const { config } = deps;
    this.#logger = deps.logger;
    this.service = new ConsoleService({
      database: deps.database,
      events: deps.events,
      sessionTtlSeconds: config.CONSOLE_SESSION_TTL_SECONDS,
      loginLinkTtlSeconds: config.CONSOLE_LOGIN_LINK_TTL_SECONDS,
      publicUrl: config.PUBLIC_URL,
    });
    this.signIn = new ConsoleSignIn({
      database: deps.database,
      secrets: deps.secrets,
      applications: deps.applications,
      logger: deps.logger,
      publicUrl: config.PUBLIC_URL,
    });
    this.cookies = consoleCookies(config.PUBLIC_URL, config.CONSOLE_SESSION_TTL_SECONDS);
  }

  /** Worker loop: deletes expired console sessions and login links every 10 minutes. */
  backgroundTask(): BackgroundTask {
    return {
      name: 'console-cleanup',
      start: async () => {
        const run = () =>
          this.service
            .cleanUp()
            .then((sessions) => this.#logger.debug({ sessions }, 'console cleanup'))
            .catch((error) => this.#logger.warn({ err: error }, 'console cleanup failed'));
        const timer = setInterval(run, 10 * 60 * 1000);
        timer.unref();
        return async () => clearInterval(timer);
      },
    };
  }
}
