/** Admin API: setup links of an organization (create, list, get, revoke). */
import { z } from 'zod';
import type { ScopeGuard } from '../../../platform/http/auth.ts';
import { problemSchema } from '../../../platform/http/problem.ts';
import type { App } from '../../../platform/http/types.ts';
import { createdSetupLinkSchema, createSetupLinkBody, setupLinkSchema } from '../contracts.ts';
import type { SetupLinkService } from '../service.ts';

const orgParams = z.object({ org: z.string().max(100).describe('Organization id or slug.') });
const linkParams = orgParams.extend({ id: z.string().max(100) });

export function setupLinkRoutes(app: App, deps: { links: SetupLinkService; requireScope: ScopeGuard }) {
  const { links, requireScope } = deps;
  const tags = ['Setup links'];

  app.route({
    method: 'POST',
    url: '/api/v1/organizations/:org/setup-links',
    schema: {
      tags,
      summary: 'Create a setup link for a client’s IT admin (SSO, SCIM or domain); the URL is shown once',
      description:
        'The link opens pages that need no account, for this organization and this intent only: IdP guides and metadata upload with a test sign-in (`sso`), a SCIM endpoint and its token (`scim`), or domains and their DNS records (`domain`). It expires after `expiresInDays` (default SETUP_LINK_TTL_DAYS) and can be revoked. Everything done through it is in the audit log with actor type `setup_link`.',
      params: orgParams,
      body: createSetupLinkBody,
      response: { 201: createdSetupLinkSchema, 400: problemSchema, 404: problemSchema },
    },
    onRequest: requireScope('admin'),
    config: { audit: ['setup_link.created'] },
    handler: async (request, reply) =>
      reply.status(201).send(await links.create(request.params.org, request.body, request.actor)),
  });

  app.route({
    method: 'GET',
    url: '/api/v1/organizations/:org/setup-links',
    schema: {
      tags,
      summary: 'List setup links, newest first (active only unless includeInactive)',
      params: orgParams,
      querystring: z.object({
        includeInactive: z
          .enum(['true', 'false'])
          .default('false')
          .transform((value) => value === 'true')
          .describe('Also expired and revoked links.'),
      }),
      response: { 200: z.object({ data: z.array(setupLinkSchema) }), 404: problemSchema },
    },
    onRequest: requireScope('read'),
    handler: async (request) => ({
      data: await links.list(request.params.org, { includeInactive: request.query.includeInactive }),
    }),
  });

  app.route({
    method: 'GET',
    url: '/api/v1/organizations/:org/setup-links/:id',
    schema: {
      tags,
      summary: 'Get a setup link (never its token)',
      params: linkParams,
      response: { 200: setupLinkSchema, 404: problemSchema },
    },
    onRequest: requireScope('read'),
    handler: async (request) => links.get(request.params.org, request.params.id),
  });

  app.route({
    method: 'POST',
    url: '/api/v1/organizations/:org/setup-links/:id/revoke',
    schema: {
      tags,
      summary: 'Revoke a setup link at once',
      params: linkParams,
      response: { 200: setupLinkSchema, 404: problemSchema },
    },
    onRequest: requireScope('admin'),
    config: { audit: ['setup_link.revoked'] },
    handler: async (request) => links.revoke(request.params.org, request.params.id, request.actor),
  });
}
