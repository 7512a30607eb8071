import { z } from 'zod';
import type { ScopeGuard } from '../../../platform/http/auth.ts';
import { pageOf, paginationQuery } from '../../../platform/http/pagination.ts';
import { problemSchema } from '../../../platform/http/problem.ts';
import type { App } from '../../../platform/http/types.ts';
import {
  createOrganizationBody,
  domainSchema,
  ORGANIZATION_STATUSES,
  organizationCreatedSchema,
  organizationSchema,
  updateOrganizationBody,
} from '../contracts.ts';
import type { OrganizationService } from '../service.ts';

const orgParams = z.object({ org: z.string().min(1).describe('Organization id (org_...) or slug.') });
const domainParams = orgParams.extend({ domain: z.string().min(1) });
const errors = {
  400: problemSchema,
  401: problemSchema,
  403: problemSchema,
  404: problemSchema,
  409: problemSchema,
};
const tags = ['Organizations'];

export function organizationRoutes(app: App, deps: { orgs: OrganizationService; requireScope: ScopeGuard }) {
  const { orgs, requireScope } = deps;

  app.route({
    method: 'POST',
    url: '/api/v1/organizations',
    schema: {
      tags,
      summary: 'Create an organization',
      description:
        'The answer is the organization with `warnings`: when the slug derived from the name was taken (a suffix was added), and when another organization has the same name. Nothing is refused for a similar name.',
      body: createOrganizationBody,
      response: { 201: organizationCreatedSchema, ...errors },
    },
    onRequest: requireScope('admin'),
    config: { audit: ['organization.created', 'organization.domain_added'] },
    handler: async (request, reply) => reply.status(201).send(await orgs.create(request.body, request.actor)),
  });

  app.route({
    method: 'GET',
    url: '/api/v1/organizations',
    schema: {
      tags,
      summary: 'List organizations',
      querystring: z.object({
        ...paginationQuery,
        q: z.string().max(200).optional().describe('Matches name or slug (contains, case-insensitive).'),
        status: z.enum(ORGANIZATION_STATUSES).optional(),
      }),
      response: { 200: pageOf(organizationSchema, 'OrganizationPage'), ...errors },
    },
    onRequest: requireScope('read'),
    handler: async (request) => orgs.list(request.query),
  });

  app.route({
    method: 'GET',
    url: '/api/v1/organizations/:org',
    schema: {
      tags,
      summary: 'Get an organization',
      description:
        'Each domain carries `otherClaims`: the other organizations holding the same domain (pending claims, or the one that verified it).',
      params: orgParams,
      response: { 200: organizationSchema, ...errors },
    },
    onRequest: requireScope('read'),
    handler: async (request) => orgs.get(request.params.org, { otherClaims: true }),
  });

  app.route({
    method: 'PATCH',
    url: '/api/v1/organizations/:org',
    schema: {
      tags,
      summary: 'Update an organization',
      description: 'Changes the fields given. `policies` merges with the current policies.',
      params: orgParams,
      body: updateOrganizationBody,
      response: { 200: organizationSchema, ...errors },
    },
    onRequest: requireScope('admin'),
    config: { audit: ['organization.updated'] },
    handler: async (request) => orgs.update(request.params.org, request.body, request.actor),
  });

  app.route({
    method: 'DELETE',
    url: '/api/v1/organizations/:org',
    schema: {
      tags,
      summary: 'Delete an organization',
      description:
        'Refused with 409 while the organization has users, unless `force=true` (deletes all its data).',
      params: orgParams,
      querystring: z.object({ force: z.stringbool().default(false) }),
      response: { 204: z.null().describe('Deleted'), ...errors },
    },
    onRequest: requireScope('admin'),
    config: { audit: ['organization.deleted'] },
    handler: async (request, reply) => {
      await orgs.delete(request.params.org, { force: request.query.force }, request.actor);
      return reply.status(204).send(null);
    },
  });

  app.route({
    method: 'POST',
    url: '/api/v1/organizations/:org/domains',
    schema: {
      tags,
      summary: 'Add a domain',
      description:
        'Adds an unverified email domain and returns the DNS TXT record that verifies it. A domain another organization has verified is refused (409 `domain_owned_elsewhere`, naming the owner).',
      params: orgParams,
      body: z.object({ domain: z.string().min(1).max(253) }).strict(),
      response: { 201: domainSchema, ...errors },
    },
    onRequest: requireScope('admin'),
    config: { audit: ['organization.domain_added'] },
    handler: async (request, reply) =>
      reply.status(201).send(await orgs.addDomain(request.params.org, request.body.domain, request.actor)),
  });

  app.route({
    method: 'DELETE',
    url: '/api/v1/organizations/:org/domains/:domain',
    schema: {
      tags,
      summary: 'Remove a domain',
      params: domainParams,
      response: { 204: z.null(), ...errors },
    },
    onRequest: requireScope('admin'),
    config: { audit: ['organization.domain_removed'] },
    handler: async (request, reply) => {
      await orgs.removeDomain(request.params.org, request.params.domain, request.actor);
      return reply.status(204).send(null);
    },
  });

  app.route({
    method: 'POST',
    url: '/api/v1/organizations/:org/domains/:domain/verify',
    schema: {
      tags,
      summary: 'Verify a domain',
      description:
        "`dns` (default) looks for the TXT record `_switchboard-verification.<domain>`; on failure answers 422 with the record to publish. `manual` marks the domain verified on an admin's word.",
      params: domainParams,
      body: z
        .object({ method: z.enum(['dns', 'manual']).default('dns') })
        .strict()
        .nullish(),
      response: { 200: domainSchema, 422: problemSchema, ...errors },
    },
    onRequest: requireScope('admin'),
    config: { audit: ['organization.domain_verified'] },
    handler: async (request) =>
      orgs.verifyDomain(
        request.params.org,
        request.params.domain,
        request.body?.method ?? 'dns',
        request.actor,
      ),
  });
}
