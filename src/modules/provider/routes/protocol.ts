/**
 * The provider's browser and protocol endpoints:
 *
 * - `/.well-known/openid-configuration` and `/oidc/*`: oidc-provider itself (a Koa app), handed the
 *   raw request with `reply.hijack()`. It parses its own bodies and renders its own responses and
 *   errors (RFC 6749 / OIDC error responses); our security headers and request id are copied onto
 *   the raw response first.
 * - `/interaction/:uid`: the login (SSO), refusal and consent steps (interactions.ts);
 *   `/interaction/:uid/login` takes the finished SSO login back into the interaction.
 * - `/login/handoff-error/{traceId}`: where an LMS sends a person whose SSO handoff it refused.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { App } from '../../../platform/http/types.ts';
import { errorPage, sendPage } from '../../sso/index.ts';
import type { InteractionService } from '../interactions.ts';
import { handoffErrorPage } from '../pages.ts';
import { PROVIDER_ROUTES, type ProviderHost } from '../provider-host.ts';

export function protocolRoutes(app: App, deps: { host: ProviderHost; interactions: InteractionService }) {
  const { host, interactions } = deps;

  app.register(async (scope) => {
    // Our own pages here answer failures with a page for the person, not problem+json.
    scope.setErrorHandler((error, request, reply) => {
      request.log.error({ err: error }, 'provider page failed');
      return sendPage(
        reply,
        500,
        errorPage({
          title: 'Something went wrong',
          message: `Please go back to the application and try again. Reference: ${request.id}.`,
        }),
      );
    });
    // oidc-provider reads request bodies itself: leave every body unread.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));

    const toProvider = async (request: FastifyRequest, reply: FastifyReply) => {
      const raw = host.prepare(request);
      reply.hijack();
      for (const [name, value] of Object.entries(reply.getHeaders())) {
        if (value !== undefined) reply.raw.setHeader(name, value as string | string[] | number);
      }
      try {
        await host.handle(raw, reply.raw);
      } catch (error) {
        request.log.error({ err: error }, 'OpenID provider request failed');
        if (!reply.raw.headersSent) {
          reply.raw.statusCode = 500;
          reply.raw.setHeader('content-type', 'application/json; charset=utf-8');
          reply.raw.end(JSON.stringify({ error: 'server_error', error_description: 'unexpected error' }));
        } else if (!reply.raw.writableEnded) {
          reply.raw.end();
        }
      }
    };

    // One route per oidc-provider endpoint (not a wildcard), so metrics and logs name each.
    const endpoints: Array<[string, Array<'GET' | 'POST' | 'OPTIONS'>]> = [
      ['/.well-known/openid-configuration', ['GET', 'OPTIONS']],
      ['/.well-known/oauth-authorization-server', ['GET', 'OPTIONS']],
      [PROVIDER_ROUTES.authorization, ['GET', 'POST']],
      [`${PROVIDER_ROUTES.authorization}/:uid`, ['GET']],
      [PROVIDER_ROUTES.token, ['POST', 'OPTIONS']],
      [PROVIDER_ROUTES.userinfo, ['GET', 'POST', 'OPTIONS']],
      [PROVIDER_ROUTES.jwks, ['GET', 'OPTIONS']],
      [PROVIDER_ROUTES.introspection, ['POST', 'OPTIONS']],
      [PROVIDER_ROUTES.revocation, ['POST', 'OPTIONS']],
      [PROVIDER_ROUTES.end_session, ['GET', 'POST']],
      [`${PROVIDER_ROUTES.end_session}/confirm`, ['POST']],
      [`${PROVIDER_ROUTES.end_session}/success`, ['GET']],
      [PROVIDER_ROUTES.pushed_authorization_request, ['POST', 'OPTIONS']],
    ];
    for (const [url, method] of endpoints) {
      scope.route({ method, url, schema: { hide: true }, handler: toProvider });
    }

    const uidParams = { params: z.object({ uid: z.string().min(1).max(100) }) };
    scope.get('/interaction/:uid', { schema: { hide: true, ...uidParams } }, async (request, reply) =>
      interactions.show(request, reply, (request.params as { uid: string }).uid),
    );
    scope.get(
      '/interaction/:uid/login',
      {
        schema: {
          hide: true,
          ...uidParams,
          querystring: z.object({ token: z.string().max(200).optional() }).passthrough(),
        },
      },
      async (request, reply) =>
        interactions.finishLogin(
          request,
          reply,
          (request.params as { uid: string }).uid,
          (request.query as { token?: string }).token,
        ),
    );
    scope.post(
      '/interaction/:uid/consent',
      { schema: { hide: true, ...uidParams } },
      async (request, reply) => interactions.consent(request, reply, (request.params as { uid: string }).uid),
    );
    scope.post('/interaction/:uid/abort', { schema: { hide: true, ...uidParams } }, async (request, reply) =>
      interactions.abort(request, reply, (request.params as { uid: string }).uid),
    );

    scope.get(
      '/login/handoff-error/:trace',
      {
        schema: {
          hide: true,
          params: z.object({ trace: z.string().max(100) }),
          querystring: z
            .object({ error: z.string().max(500).optional(), message: z.string().max(500).optional() })
            .passthrough(),
        },
      },
      async (request, reply) => {
        const { trace } = request.params as { trace: string };
        const query = request.query as { error?: string; message?: string };
        return sendPage(
          reply,
          200,
          handoffErrorPage({
            siteName: null,
            message: query.message ?? query.error ?? null,
            traceId: /^trc_[0-9a-z]{26}$/.test(trace) ? trace : null,
          }),
        );
      },
    );
  });
}
