/**
 * Serves the console's single-page app (web/dist, built by `npm run build`) at /admin, with its
 * sign-in routes, under strict security headers: a CSP that allows only our own scripts, styles
 * and API (no inline code), no framing, no referrer; HSTS when PUBLIC_URL is https. Any other
 * /admin path answers index.html, so deep links work (the app routes in the browser).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyHelmet from '@fastify/helmet';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { App } from '../../../platform/http/types.ts';

/** Where `npm run build` puts the console. */
export const CONSOLE_DIST = fileURLToPath(new URL('../../../../web/dist', import.meta.url));

export interface ConsolePagesOptions {
  distDir?: string;
  secure: boolean;
  /** Registers the console's own routes (sign-in) inside the same scope: paths relative to /admin. */
  routes: (scope: App) => void;
}

export async function consolePages(app: App, options: ConsolePagesOptions): Promise<void> {
  const distDir = options.distDir ?? CONSOLE_DIST;
  await app.register(
    async (instance: FastifyInstance) => {
      const scope = instance.withTypeProvider<ZodTypeProvider>() as unknown as App;
      await scope.register(fastifyHelmet, {
        contentSecurityPolicy: {
          useDefaults: false,
          directives: {
            defaultSrc: ["'self'"],
            scriptSrc: ["'self'"],
            styleSrc: ["'self'"],
            imgSrc: ["'self'", 'data:'],
            fontSrc: ["'self'"],
            connectSrc: ["'self'"],
            objectSrc: ["'none'"],
            baseUri: ["'self'"],
            formAction: ["'self'"],
            frameAncestors: ["'none'"],
            ...(options.secure ? { upgradeInsecureRequests: [] } : {}),
          },
        },
        hsts: options.secure ? { maxAge: 31_536_000, includeSubDomains: false } : false,
        referrerPolicy: { policy: 'no-referrer' },
        crossOriginEmbedderPolicy: false,
      });
      options.routes(scope);

      const built = existsSync(join(distDir, 'index.html'));
      if (!built) {
        scope.get('/*', { schema: { hide: true } }, async (request, reply) =>
          reply
            .status(request.url.startsWith('/admin/assets/') ? 404 : 503)
            .type('text/html; charset=utf-8')
            .send(
              '<!doctype html><title>Console not built</title><h1>The admin console has not been built</h1><p>Run <code>npm run build</code> (it runs on <code>npm install</code>), then restart the hub.</p>',
            ),
        );
        return;
      }
      await scope.register(fastifyStatic, {
        root: distDir,
        prefix: '/',
        index: false,
        wildcard: true,
        setHeaders: (response, path) => {
          // Hashed asset names change with their content: cache them for good; never cache the shell.
          response.header(
            'cache-control',
            path.includes(`${join(distDir, 'assets')}`) ? 'public, max-age=31536000, immutable' : 'no-cache',
          );
        },
      });
      scope.get('/', { schema: { hide: true } }, async (_request, reply) =>
        reply.header('cache-control', 'no-cache').type('text/html; charset=utf-8').sendFile('index.html'),
      );
      scope.setNotFoundHandler(async (request, reply) => {
        const path = request.url.split('?')[0] ?? '';
        const isPage =
          (request.method === 'GET' || request.method === 'HEAD') &&
          path.startsWith('/admin/') &&
          !path.startsWith('/admin/assets/') &&
          !path.startsWith('/admin/auth/');
        if (!isPage) {
          return reply
            .status(404)
            .type('application/problem+json')
            .send({
              type: 'about:blank',
              title: 'Not found',
              status: 404,
              code: 'route_not_found',
              detail: `No console file or endpoint ${request.method} ${path}.`,
              instance: path,
            });
        }
        reply.header('cache-control', 'no-cache');
        return reply.type('text/html; charset=utf-8').sendFile('index.html');
      });
    },
    { prefix: '/admin' },
  );
}
