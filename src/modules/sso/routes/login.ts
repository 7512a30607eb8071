/**
 * Public, browser-facing SSO endpoints: `/login` (home-realm discovery), `/login/start`, the OIDC
 * redirect URI, the SAML ACS and SP metadata, and the built-in test IdP. HTML in, HTML out; errors
 * are pages with the trace id, never JSON. Registered in their own encapsulated scope with a
 * form-urlencoded body parser.
 */
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import type { App } from '../../../platform/http/types.ts';
import { EMAIL_PATTERN } from '../../directory/index.ts';
import type { OrganizationService } from '../../orgs/index.ts';
import { RateLimited, type RateLimits } from '../../rate-limits/index.ts';
import { type ConnectionService, connectionUrls } from '../connections.ts';
import { type LoginService, sendPage } from '../login.ts';
import { errorPage, loginPage, NOT_ROUTABLE } from '../pages.ts';
import { renderSpMetadata } from '../saml/metadata.ts';
import type { TestIdentityProvider } from '../test-idp.ts';

const loginQuery = z
  .object({
    login_hint: z.string().max(320).optional(),
    email: z.string().max(320).optional(),
    organization: z.string().max(100).optional(),
    connection: z.string().max(100).optional(),
    domain_hint: z.string().max(253).optional(),
    request: z.string().max(100).optional(),
  })
  .passthrough();

/** The person-facing answer to a link whose organization and connection do not go together. */
const MISMATCHED_LINK =
  'This sign-in link is not valid: the sign-in method it names does not belong to the organization it names. Go back to the application and try again, or ask your IT administrator for the right link.';

export function loginRoutes(
  app: App,
  deps: {
    login: LoginService;
    connections: ConnectionService;
    orgs: OrganizationService;
    testIdp: TestIdentityProvider;
    publicUrl: string;
    /** Request rate per client IP on every page here. */
    limits: RateLimits;
  },
) {
  const { login } = deps;

  app.register(async (scope) => {
    scope.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string', bodyLimit: 2 * 1024 * 1024 },
      (_request, body, done) => {
        try {
          done(null, Object.fromEntries(new URLSearchParams(body as string)));
        } catch (error) {
          done(error as Error, undefined);
        }
      },
    );
    scope.addHook('onRequest', async function limitSignInRate(request, reply) {
      await deps.limits.limitIp('login', request.ip, reply);
    });
    scope.setErrorHandler((error, request, reply) => {
      if (error instanceof RateLimited) {
        return sendPage(
          reply,
          429,
          errorPage({
            title: 'Too many attempts',
            message: `Too many sign-in requests came from your network. Wait ${error.retryAfterSeconds} second${error.retryAfterSeconds === 1 ? '' : 's'}, then try again.`,
          }),
        );
      }
      request.log.error({ err: error }, 'SSO page failed');
      return sendPage(
        reply,
        500,
        errorPage({ title: 'Something went wrong', message: 'Please try again in a moment.' }),
      );
    });

    const route = async (
      reply: FastifyReply,
      input: {
        email?: string | undefined;
        organization?: string | undefined;
        connection?: string | undefined;
        domainHint?: string | undefined;
        request?: string | undefined;
      },
      request: Parameters<LoginService['start']>[0],
    ) => {
      const pending = await login.findLoginRequest(input.request);
      if (input.request && !pending) {
        return sendPage(
          reply,
          400,
          errorPage({
            title: 'Sign-in expired',
            message: 'This sign-in request has expired. Go back to the application and try again.',
          }),
        );
      }
      const hint = input.email ?? pending?.loginHint ?? undefined;
      // The link and the application's request (pending) may each name a connection and an
      // organization: whatever is named must agree, or someone of one organization could be
      // signed in through another organization's IdP by a crafted link.
      const connectionIds = [...new Set([input.connection, pending?.connectionId].filter(isSet))];
      const organizationKeys = [input.organization, pending?.organizationId].filter(isSet);
      const mismatch = (details: Record<string, unknown>) => {
        request.log.info({ ...details, connectionIds, organizationKeys }, 'sign-in link refused');
        return sendPage(reply, 400, errorPage({ title: 'Sign-in link not valid', message: MISMATCHED_LINK }));
      };
      if (connectionIds.length > 1) return mismatch({ reason: 'two connections named' });
      const organizations = await Promise.all(
        organizationKeys.map((key) => deps.orgs.require(key).catch(() => undefined)),
      );
      const [connectionId] = connectionIds;
      if (connectionId) {
        const found = await login.findConnection(connectionId);
        if (!found)
          return sendPage(
            reply,
            404,
            errorPage({ title: 'Sign-in', message: 'This sign-in link is not valid.' }),
          );
        if (organizations.some((organization) => organization?.id !== found.organization.id)) {
          return mismatch({ reason: 'connection of another organization', connection: found.connection.id });
        }
        return login.start(request, reply, { ...found, requestHandle: input.request, loginHint: hint });
      }
      if (organizationKeys.length) {
        const [organization] = organizations;
        // An unknown organization gets the same page as one without SSO: no enumeration by slug.
        if (!organization || !organizations.every(isSet)) {
          return sendPage(
            reply,
            200,
            loginPage({ email: hint, request: input.request, message: NOT_ROUTABLE }),
          );
        }
        if (organizations.some((other) => other?.id !== organization.id)) {
          return mismatch({ reason: 'two organizations named' });
        }
        return login.sendToOrganization(request, reply, organization, {
          requestHandle: input.request,
          loginHint: hint,
        });
      }
      if (!hint && input.domainHint) {
        // `domain_hint`: discovery on the domain; when it leads nowhere, the person types their email.
        const found = await login.discoverDomain(input.domainHint);
        if (found && found.connections.length > 0) {
          return login.sendToOrganization(request, reply, found.organization, {
            requestHandle: input.request,
          });
        }
      }
      if (!hint) return sendPage(reply, 200, loginPage({ request: input.request }));
      if (!EMAIL_PATTERN.test(hint.trim())) {
        return sendPage(
          reply,
          400,
          loginPage({
            email: hint,
            request: input.request,
            message: 'Enter a full email address, such as jane@company.com.',
          }),
        );
      }
      const found = await login.discover(hint);
      if (!found || (await login.usableConnections(found.organization)).length === 0) {
        return sendPage(
          reply,
          200,
          loginPage({ email: hint, request: input.request, message: NOT_ROUTABLE }),
        );
      }
      return login.sendToOrganization(request, reply, found.organization, {
        requestHandle: input.request,
        loginHint: hint.trim(),
      });
    };

    scope.get('/login', { schema: { hide: true, querystring: loginQuery } }, async (request, reply) => {
      const query = request.query as z.output<typeof loginQuery>;
      return route(
        reply,
        {
          email: query.login_hint ?? query.email,
          organization: query.organization,
          connection: query.connection,
          domainHint: query.domain_hint,
          request: query.request,
        },
        request,
      );
    });

    scope.post('/login', { schema: { hide: true } }, async (request, reply) => {
      const body = (request.body ?? {}) as Record<string, unknown>;
      const text = (key: string) =>
        typeof body[key] === 'string' ? (body[key] as string).slice(0, 320) : undefined;
      return route(reply, { email: text('email'), request: text('request') }, request);
    });

    scope.get('/login/start', { schema: { hide: true, querystring: loginQuery } }, async (request, reply) => {
      const query = request.query as z.output<typeof loginQuery>;
      if (!query.connection) return reply.redirect('/login', 302);
      return route(
        reply,
        { connection: query.connection, request: query.request, email: query.login_hint },
        request,
      );
    });

    const connectionParam = { params: z.object({ id: z.string().max(100) }) };

    for (const method of ['GET', 'POST'] as const) {
      scope.route({
        method,
        url: '/sso/oidc/:id/callback',
        schema: { hide: true, ...connectionParam },
        handler: async (request, reply) =>
          login.oidcCallback(request, reply, (request.params as { id: string }).id),
      });
    }

    scope.post('/sso/saml/:id/acs', { schema: { hide: true, ...connectionParam } }, async (request, reply) =>
      login.samlAcs(request, reply, (request.params as { id: string }).id),
    );

    scope.get(
      '/sso/saml/:id/metadata',
      { schema: { hide: true, ...connectionParam } },
      async (request, reply) => {
        const found = await login.findConnection((request.params as { id: string }).id);
        if (found?.connection.protocol !== 'saml' || !found.connection.row.certificate) {
          return reply.status(404).type('text/plain').send('No SAML connection here.');
        }
        const { connection } = found;
        const urls = connectionUrls(deps.publicUrl, connection.id);
        return reply
          .header('content-disposition', `inline; filename="switchboard-${connection.id}-metadata.xml"`)
          .type('application/samlmetadata+xml; charset=utf-8')
          .send(
            renderSpMetadata({
              entityId: urls.spEntityId,
              acsUrl: urls.acsUrl,
              certificatePem: connection.row.certificate ?? '',
              nameIdFormat:
                connection.settings.saml?.nameIdFormat ??
                'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified',
              authnRequestsSigned: connection.settings.saml?.signAuthnRequests ?? false,
              wantAssertionsSigned: true,
            }),
          );
      },
    );

    scope.get(
      '/sso/test-idp/:id/sso',
      { schema: { hide: true, ...connectionParam } },
      async (request, reply) => deps.testIdp.showForm(request, reply, (request.params as { id: string }).id),
    );
    scope.post(
      '/sso/test-idp/:id/sso',
      { schema: { hide: true, ...connectionParam } },
      async (request, reply) => deps.testIdp.answer(request, reply, (request.params as { id: string }).id),
    );
    scope.get(
      '/sso/test-idp/:id/metadata',
      { schema: { hide: true, ...connectionParam } },
      async (request, reply) => deps.testIdp.metadata(reply, (request.params as { id: string }).id),
    );
  });
}

function isSet<T>(value: T | null | undefined): value is T {
  return value !== undefined && value !== null && value !== '';
}
