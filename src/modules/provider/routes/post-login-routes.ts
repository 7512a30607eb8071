/** Admin API: an organization's post-login routes, their preview, and its LMS sites. */
import { z } from 'zod';
import type { ScopeGuard } from '../../../platform/http/auth.ts';
import type { App } from '../../../platform/http/types.ts';
import {
  createLmsSiteBody,
  createRouteBody,
  lmsSiteSchema,
  reorderRoutesBody,
  routePreviewBody,
  routePreviewSchema,
  routeSchema,
  updateLmsSiteBody,
  updateRouteBody,
} from '../contracts.ts';
import type { LmsSiteService } from '../lms-sites.ts';
import type { RouteService } from '../post-login-routing.ts';

const orgParams = z.object({ org: z.string().max(100).describe('Organization id or slug.') });
const itemParams = orgParams.extend({ id: z.string().max(100) });

export function postLoginRouteRoutes(
  app: App,
  deps: { routes: RouteService; sites: LmsSiteService; requireScope: ScopeGuard },
) {
  const { routes, sites, requireScope } = deps;
  const tags = ['Post-login routing'];

  app.route({
    method: 'GET',
    url: '/api/v1/organizations/:org/routes',
    schema: {
      tags,
      summary: 'List the post-login routes, in order',
      params: orgParams,
      response: { 200: z.object({ data: z.array(routeSchema) }) },
    },
    onRequest: requireScope('read'),
    handler: async (request) => ({ data: await routes.list(request.params.org) }),
  });

  app.route({
    method: 'POST',
    url: '/api/v1/organizations/:org/routes',
    schema: {
      tags,
      summary: 'Add a post-login route (a condition and a target)',
      params: orgParams,
      body: createRouteBody,
      response: { 201: routeSchema },
    },
    onRequest: requireScope('admin'),
    config: { audit: ['route.created'] },
    handler: async (request, reply) =>
      reply.status(201).send(await routes.create(request.params.org, request.body, request.actor)),
  });

  app.route({
    method: 'PUT',
    url: '/api/v1/organizations/:org/routes/order',
    schema: {
      tags,
      summary: 'Reorder the routes (every id, in the new order)',
      params: orgParams,
      body: reorderRoutesBody,
      response: { 200: z.object({ data: z.array(routeSchema) }) },
    },
    onRequest: requireScope('admin'),
    config: { audit: ['route.reordered'] },
    handler: async (request) => ({
      data: await routes.reorder(request.params.org, request.body.ids, request.actor),
    }),
  });

  app.route({
    method: 'POST',
    url: '/api/v1/organizations/:org/routes/preview',
    schema: {
      tags,
      summary: 'Show where a user (or a hypothetical person) would go after signing in, route by route',
      params: orgParams,
      body: routePreviewBody,
      response: { 200: routePreviewSchema },
    },
    onRequest: requireScope('read'),
    config: { audit: { none: 'a preview reads; it changes nothing' } },
    handler: async (request) => routes.preview(request.params.org, request.body),
  });

  app.route({
    method: 'GET',
    url: '/api/v1/organizations/:org/routes/:id',
    schema: { tags, summary: 'Get a route', params: itemParams, response: { 200: routeSchema } },
    onRequest: requireScope('read'),
    handler: async (request) => routes.get(request.params.org, request.params.id),
  });

  app.route({
    method: 'PATCH',
    url: '/api/v1/organizations/:org/routes/:id',
    schema: {
      tags,
      summary: 'Update a route (position moves it)',
      params: itemParams,
      body: updateRouteBody,
      response: { 200: routeSchema },
    },
    onRequest: requireScope('admin'),
    config: { audit: ['route.updated'] },
    handler: async (request) =>
      routes.update(request.params.org, request.params.id, request.body, request.actor),
  });

  app.route({
    method: 'DELETE',
    url: '/api/v1/organizations/:org/routes/:id',
    schema: { tags, summary: 'Delete a route', params: itemParams, response: { 204: z.null() } },
    onRequest: requireScope('admin'),
    config: { audit: ['route.deleted'] },
    handler: async (request, reply) => {
      await routes.delete(request.params.org, request.params.id, request.actor);
      return reply.status(204).send(null);
    },
  });

  const siteTags = ['LMS sites'];

  app.route({
    method: 'GET',
    url: '/api/v1/organizations/:org/lms-sites',
    schema: {
      tags: siteTags,
      summary: 'List LMS sites (Thinkific schools) routes can hand people to',
      params: orgParams,
      response: { 200: z.object({ data: z.array(lmsSiteSchema) }) },
    },
    onRequest: requireScope('read'),
    handler: async (request) => ({ data: await sites.list(request.params.org) }),
  });

  app.route({
    method: 'POST',
    url: '/api/v1/organizations/:org/lms-sites',
    schema: {
      tags: siteTags,
      summary: 'Add an LMS site (its API key is stored encrypted and never returned)',
      params: orgParams,
      body: createLmsSiteBody,
      response: { 201: lmsSiteSchema },
    },
    onRequest: requireScope('admin'),
    config: { audit: ['lms_site.created'] },
    handler: async (request, reply) =>
      reply.status(201).send(await sites.create(request.params.org, request.body, request.actor)),
  });

  app.route({
    method: 'GET',
    url: '/api/v1/organizations/:org/lms-sites/:id',
    schema: {
      tags: siteTags,
      summary: 'Get an LMS site',
      params: itemParams,
      response: { 200: lmsSiteSchema },
    },
    onRequest: requireScope('read'),
    handler: async (request) => sites.get(request.params.org, request.params.id),
  });

  app.route({
    method: 'PATCH',
    url: '/api/v1/organizations/:org/lms-sites/:id',
    schema: {
      tags: siteTags,
      summary: 'Update an LMS site (apiKey replaces the stored key)',
      params: itemParams,
      body: updateLmsSiteBody,
      response: { 200: lmsSiteSchema },
    },
    onRequest: requireScope('admin'),
    config: { audit: ['lms_site.updated'] },
    handler: async (request) =>
      sites.update(request.params.org, request.params.id, request.body, request.actor),
  });

  app.route({
    method: 'DELETE',
    url: '/api/v1/organizations/:org/lms-sites/:id',
    schema: {
      tags: siteTags,
      summary: 'Delete an LMS site',
      params: itemParams,
      response: { 204: z.null() },
    },
    onRequest: requireScope('admin'),
    config: { audit: ['lms_site.deleted'] },
    handler: async (request, reply) => {
      await sites.delete(request.params.org, request.params.id, request.actor);
      return reply.status(204).send(null);
    },
  });
}
