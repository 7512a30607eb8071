/**
 * Builds the Fastify app from the modules. Routes are declared by each module; this file wires
 * the cross-cutting parts once: validation and serialization from zod, OpenAPI 3.1, problem+json
 * errors, request ids, security headers, metrics, and health endpoints.
 */
import { randomUUID } from 'node:crypto';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyRequest } from 'fastify';
import {
  jsonSchemaTransform,
  jsonSchemaTransformObject,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import type { Hub, Role } from './hub.ts';
import { apiKeyRoutes } from './modules/admin/index.ts';
import {
  consoleAuthRoutes,
  consoleMemberRoutes,
  consolePages,
  csrfTokenMatches,
  type OwnRequest,
} from './modules/console/index.ts';
import { directoryRoutes, groupRoutes, userRoutes } from './modules/directory/index.ts';
import { auditRoutes, eventRoutes } from './modules/events/index.ts';
import { hrisContextRoutes, hrisRoutes } from './modules/hris/index.ts';
import { importRoutes } from './modules/imports/index.ts';
import { organizationRoutes } from './modules/orgs/index.ts';
import { overviewRoutes } from './modules/overview/index.ts';
import { setupLinkRoutes, setupPageRoutes } from './modules/portal/index.ts';
import {
  applicationRoutes,
  postLoginRouteRoutes,
  protocolRoutes,
  signingKeyRoutes,
} from './modules/provider/index.ts';
import { destinationRoutes, ruleRoutes } from './modules/provisioning/index.ts';
import { scimRoutes } from './modules/scim/index.ts';
import { connectionRoutes, loginRoutes } from './modules/sso/index.ts';
import { webhookRoutes } from './modules/webhooks/index.ts';
import { createScopeGuard } from './platform/http/auth.ts';
import { instrumentRequests } from './platform/http/metrics.ts';
import { PROBLEM_CONTENT_TYPE, problemErrorHandler, problemType } from './platform/http/problem.ts';
import type { App } from './platform/http/types.ts';
import './platform/http/types.ts';

export interface BuildAppOptions {
  role?: Role;
  /** Reports whether the process is draining (readyz answers 503 then). */
  isDraining?: () => boolean;
}

const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;
const MUTATING_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/** Answered while the process drains (the rest get 503). */
const HEALTH_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

export async function buildApp(hub: Hub, options: BuildAppOptions = {}): Promise<App> {
  const role = options.role ?? 'all';
  const app = Fastify({
    loggerInstance: hub.logger as FastifyBaseLogger,
    bodyLimit: hub.config.BODY_LIMIT_BYTES,
    // A hop count is valid for Fastify (proxy-addr) though its types only list the other forms.
    trustProxy: hub.config.TRUST_PROXY as boolean | string[],
    requestIdHeader: false,
    genReqId: (request) => {
      const incoming = request.headers['x-request-id'];
      return typeof incoming === 'string' && REQUEST_ID_PATTERN.test(incoming) ? incoming : randomUUID();
    },
    routerOptions: { ignoreTrailingSlash: true },
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  }).withTypeProvider<ZodTypeProvider>();

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler(problemErrorHandler);
  app.decorateRequest('actor', null as unknown as FastifyRequest['actor']);

  app.addHook('onRequest', async (request, reply) => {
    request.actor = { type: 'system', ip: request.ip, requestId: String(request.id) };
    reply.header('x-request-id', request.id);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
  });
  // While draining the process still listens, so probes see 503 on /readyz rather than a dead port;
  // requests other than the health endpoints are turned away (another process answers them), and
  // every response tells a keep-alive client to go, so the server can finish closing.
  app.addHook('onRequest', async (request, reply) => {
    if (!options.isDraining?.() || HEALTH_PATHS.has(request.url.split('?')[0] ?? '')) return;
    return reply
      .status(503)
      .header('retry-after', '1')
      .type(PROBLEM_CONTENT_TYPE)
      .send({
        type: problemType('shutting_down'),
        title: 'Service unavailable',
        status: 503,
        detail: 'This hub process is shutting down.',
        code: 'shutting_down',
        fix: 'Send the request again: another hub process answers it.',
        requestId: String(request.id),
      });
  });
  app.addHook('onSend', async (_request, reply) => {
    if (options.isDraining?.()) reply.header('connection', 'close');
  });
  instrumentRequests(app, hub.metrics);

  // Every mutating admin route must say which events (the audit trail) it records, or why none.
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (!route.url.startsWith('/api/v1/') || !methods.some((method) => MUTATING_METHODS.has(method))) return;
    if (!route.config?.audit) {
      throw new Error(
        `route ${methods.join(',')} ${route.url} must declare config.audit (event types, or { none: reason })`,
      );
    }
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    return reply
      .status(404)
      .type(PROBLEM_CONTENT_TYPE)
      .send({
        type: problemType('route_not_found'),
        title: 'Not found',
        status: 404,
        detail: `No endpoint ${request.method} ${path}.`,
        code: 'route_not_found',
        fix: 'See /docs for the available endpoints.',
        instance: path,
        requestId: String(request.id),
      });
  });

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Switchboard admin API',
        version: '1',
        description:
          'Organizations, users, groups, SSO connections, directories and provisioning. Authenticate with `Authorization: Bearer <admin API key>`. Errors are RFC 9457 problem documents with a stable `code`, the offending `field` and a `fix`.',
      },
      servers: [{ url: hub.config.PUBLIC_URL }],
      components: {
        securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'Admin API key' } },
      },
      security: [{ apiKey: [] }],
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs', staticCSP: true });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  // A person who opens the hub's address lands in the console (its sign-in page links to the API
  // reference and to the end-user sign-in); a worker process serves no pages, so it says so.
  app.get('/', { schema: { hide: true } }, async (_request, reply) =>
    role === 'worker'
      ? reply.type('text/plain; charset=utf-8').send('Switchboard worker process: it serves no pages.\n')
      : reply.redirect('/admin/', 302),
  );
  app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
    if (options.isDraining?.()) return reply.status(503).send({ status: 'draining' });
    const checks = {
      database: await probe(() => hub.database.ping()),
      jobs: await probe(() => hub.jobs.ping()),
    };
    const ok = Object.values(checks).every((check) => check === 'ok');
    return reply.status(ok ? 200 : 503).send({ status: ok ? 'ready' : 'unavailable', checks });
  });
  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) =>
    reply.type(hub.metrics.registry.contentType).send(await hub.metrics.registry.metrics()),
  );

  if (role !== 'worker') {
    const consoleModule = hub.console;
    const limits = hub.rateLimits;
    await limits.register(app);
    const requireScope = createScopeGuard(
      (token) => hub.apiKeys.authenticate(token),
      {
        cookie: consoleModule.cookies.session,
        authenticate: async (token) => (await consoleModule.service.authenticate(token))?.principal,
        csrfMatches: (principal, given) =>
          principal.csrfToken !== undefined && csrfTokenMatches(principal.csrfToken, given),
      },
      limits.adminApiLimits(),
    );
    consoleMemberRoutes(app, { console: consoleModule.service, requireScope });
    // The console exchanges its authorization codes with our own provider in process.
    consoleModule.signIn.setFetchOwn((url, init) => injectFetch(app, hub.config.PUBLIC_URL, url, init));
    await consolePages(app, {
      secure: consoleModule.cookies.secure,
      routes: (scope) =>
        consoleAuthRoutes(scope, {
          console: consoleModule.service,
          signIn: consoleModule.signIn,
          secrets: hub.secrets,
          cookies: consoleModule.cookies,
        }),
    });
    organizationRoutes(app, { orgs: hub.orgs, requireScope });
    userRoutes(app, { directory: hub.directory, requireScope });
    groupRoutes(app, { directory: hub.directory, requireScope });
    eventRoutes(app, { events: hub.events, orgs: hub.orgs, requireScope });
    auditRoutes(app, { events: hub.events, orgs: hub.orgs, requireScope });
    overviewRoutes(app, { overview: hub.overview, requireScope });
    setupLinkRoutes(app, { links: hub.portal.links, requireScope });
    setupPageRoutes(app, {
      links: hub.portal.links,
      csrf: hub.portal.csrf,
      publicUrl: hub.config.PUBLIC_URL,
      bodyLimit: hub.config.BODY_LIMIT_BYTES,
      limits,
    });
    apiKeyRoutes(app, { apiKeys: hub.apiKeys, requireScope });
    connectionRoutes(app, { connections: hub.sso.connections, traces: hub.sso.traces, requireScope });
    loginRoutes(app, {
      login: hub.sso.login,
      connections: hub.sso.connections,
      orgs: hub.orgs,
      testIdp: hub.sso.testIdp,
      publicUrl: hub.config.PUBLIC_URL,
      limits,
    });
    directoryRoutes(app, { directories: hub.directories, requireScope });
    await app.register(importRoutes, {
      imports: hub.imports,
      requireScope,
      maxBytes: hub.config.IMPORT_MAX_BYTES,
    });
    await app.register(scimRoutes, {
      prefix: '/scim/v2/:directoryId',
      scim: hub.scim,
      directories: hub.directories,
      limits,
      bodyLimit: hub.config.BODY_LIMIT_BYTES,
    });
    const { provider } = hub;
    applicationRoutes(app, { applications: provider.applications, requireScope });
    signingKeyRoutes(app, { keys: provider.keys, host: provider.host, requireScope });
    postLoginRouteRoutes(app, { routes: provider.routes, sites: provider.sites, requireScope });
    protocolRoutes(app, { host: provider.host, interactions: provider.interactions });
    webhookRoutes(app, {
      subscriptions: hub.webhooks.subscriptions,
      deliveries: hub.webhooks.deliveries,
      requireScope,
    });
    destinationRoutes(app, { provisioning: hub.provisioning, requireScope });
    ruleRoutes(app, { rules: hub.provisioning.rules, requireScope });
    hrisRoutes(app, { hris: hub.hris, requireScope });
    hrisContextRoutes(app, {
      context: hub.hris.context,
      auth: {
        apiKey: (token) => hub.apiKeys.authenticate(token),
        application: (token) => provider.clientCredentialsPrincipal(token),
      },
      limits: limits.adminApiLimits(),
    });
  }

  return app;
}

/**
 * `fetch` for requests to this hub's own PUBLIC_URL, answered by `app.inject` (no network hop, no
 * dependence on the hub reaching its public address); other URLs go to the network.
 */
async function injectFetch(app: App, publicUrl: string, url: string, init: OwnRequest): Promise<Response> {
  if (!url.startsWith(`${publicUrl}/`)) return fetch(url, init as RequestInit);
  const target = new URL(url);
  const basePath = new URL(publicUrl).pathname.replace(/\/$/, '');
  const headers: Record<string, string> = {};
  new Headers(init.headers).forEach((value, key) => {
    headers[key] = value;
  });
  headers.host = target.host;
  headers['x-forwarded-proto'] = target.protocol.replace(':', '');
  const body = init.body;
  const response = await app.inject({
    method: (init.method ?? 'GET') as 'GET' | 'POST',
    url: `${target.pathname.slice(basePath.length) || '/'}${target.search}`,
    headers,
    ...(body === undefined || body === null
      ? {}
      : { payload: body instanceof Uint8Array ? Buffer.from(body) : String(body) }),
  });
  const responseHeaders = new Headers();
  for (const [key, value] of Object.entries(response.headers)) {
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) responseHeaders.append(key, String(item));
  }
  return new Response(
    response.statusCode === 204 || response.statusCode === 304 ? null : new Uint8Array(response.rawPayload),
    {
      status: response.statusCode,
      headers: responseHeaders,
    },
  );
}

async function probe(check: () => Promise<void>): Promise<string> {
  try {
    await Promise.race([
      check(),
      new Promise((_resolve, reject) =>
        setTimeout(() => reject(new Error('timeout after 2s')), 2000).unref(),
      ),
    ]);
    return 'ok';
  } catch (error) {
    return error instanceof Error ? error.message : 'failed';
  }
}
