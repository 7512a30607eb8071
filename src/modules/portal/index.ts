/**
 * The client setup portal: setup links (admin API) and the pages they open (`/setup/<token>`).
 * Other modules are used through their public services only.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyReply } from 'fastify';
import type { Config } from '../../config.ts';
import type { Database } from '../../platform/db/client.ts';
import type { SecretBox } from '../../platform/secret-box.ts';
import type { DirectoriesService } from '../directory/index.ts';
import type { EventLog } from '../events/index.ts';
import type { Organization, OrganizationService } from '../orgs/index.ts';
import { type Continuation, type SsoModule, sendPage } from '../sso/index.ts';
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
    // A test sign-in started from a setup page ends on the trace of that sign-in (in the new tab),
    // whether it worked or not: the IT admin needs the steps most when it failed.
    const showTestResult = async (result: {
      reply: FastifyReply;
      organization: Organization;
      traceId: string;
      continuation: Continuation;
      status: number;
    }) => {
      const nonce = randomBytes(16).toString('base64');
      if (result.continuation.organizationId !== result.organization.id) {
        return sendPage(
          result.reply,
          400,
          statusPage(nonce, {
            title: 'Test sign-in',
            message: 'This test sign-in does not belong to this setup.',
          }),
        );
      }
      const trace = await deps.sso.traces.get(result.organization.id, result.traceId);
      return sendPage(
        result.reply,
        result.status,
        tracePage(
          { nonce, base: '', organizationName: result.organization.name, expiresAt: null, csrf: '' },
          trace,
          { standalone: true },
        ),
      );
    };
    deps.sso.login.registerCompletion(SETUP_TEST_CONTINUATION, (completion) =>
      showTestResult({ ...completion, status: 200 }),
    );
    deps.sso.login.registerFailure(SETUP_TEST_CONTINUATION, showTestResult);
  }
}
