/**
 * The client setup portal: setup links (admin API) and the pages they open (`/setup/<token>`).
 * Other modules are used through their public services only.
 */
import { randomBytes } from 'node:crypto';
import type { Config } from '../../config.ts';
import type { Database } from '../../platform/db/client.ts';
import type { SecretBox } from '../../platform/secret-box.ts';
import type { DirectoriesService } from '../directory/index.ts';
import type { EventLog } from '../events/index.ts';
import type { OrganizationService } from '../orgs/index.ts';
import { type SsoModule, sendPage } from '../sso/index.ts';
import { SetupCsrf } from './csrf.ts';
import { statusPage, tracePage } from './pages.ts';
import { SETUP_TEST_CONTINUATION, SetupLinkService } from './service.ts';

export * from './contracts.ts';
export { setupLinkRoutes } from './routes/setup-links.ts';
export { setupPageRoutes } from './routes/setup-pages.ts';
export { SETUP_TEST_CONTINUATION, SetupLinkService } from './service.ts';

export class PortalModule {
  readonly links: SetupLinkService;
  readonly csrf: SetupCsrf;

  constructor(deps: {
    config: Config;
    database: Database;
    secrets: SecretBox;
    events: EventLog;
    orgs: OrganizationService;
    sso: SsoModule;
    directories: DirectoriesService;
  }) {
    this.links = new SetupLinkService(deps);
    this.csrf = new SetupCsrf(deps.secrets, deps.config.PUBLIC_URL);
    // A test sign-in started from a setup page ends on the trace of that sign-in (in the new tab).
    deps.sso.login.registerCompletion(SETUP_TEST_CONTINUATION, async (completion) => {
      const nonce = randomBytes(16).toString('base64');
      const organizationId = completion.continuation.organizationId;
      if (organizationId !== completion.organization.id) {
        return sendPage(
          completion.reply,
          400,
          statusPage(nonce, {
            title: 'Test sign-in',
            message: 'This test sign-in does not belong to this setup.',
          }),
        );
      }
      const trace = await deps.sso.traces.get(completion.organization.id, completion.traceId);
      return sendPage(
        completion.reply,
        200,
        tracePage(
          { nonce, base: '', organizationName: completion.organization.name, expiresAt: null, csrf: '' },
          trace,
          { standalone: true },
        ),
      );
    });
  }
}
