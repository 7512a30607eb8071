/**
 * `GET /api/v1/users/{id}/context`: the coaching context of a person. Callers: an admin API key
 * (`read` or `admin`), or an application's client-credentials access token with the `profile:read`
 * scope, which sees only users of the organizations the application serves (its own organization,
 * or a shared application's explicit `allowedOrganizations`; a shared application open to every
 * organization is refused: HR data needs a list).
 */
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { Forbidden, Unauthenticated } from '../../../platform/errors.ts';
import { type AuthenticationLimits, bearerToken } from '../../../platform/http/auth.ts';
import { problemSchema } from '../../../platform/http/problem.ts';
import type { App, Principal } from '../../../platform/http/types.ts';
import type { ContextReader, HrisContextService } from '../context.ts';
import { userContextSchema } from '../contracts.ts';

export interface ContextAuth {
  apiKey(token: string): Promise<Principal | undefined>;
  application(token: string): Promise<
    | {
        clientId: string;
        name: string;
        scopes: string[];
        organizationId: string | null;
        allowedOrganizationIds: string[] | null;
      }
    | undefined
  >;
}

export function hrisContextRoutes(
  app: App,
  deps: { context: HrisContextService; auth: ContextAuth; limits?: AuthenticationLimits },
) {
  const { context, auth, limits } = deps;
  const readers = new WeakMap<FastifyRequest, ContextReader>();

  app.route({
    method: 'GET',
    url: '/api/v1/users/:id/context',
    schema: {
      tags: ['Users'],
      summary: "A person's coaching context (HR profile and derived facts)",
      description:
        "Canonical HR profile (each value with its source and times) plus tenure, time in role, people manager, team size, new in role and level band. Only fields the organization's allow-list names are returned (PATCH .../hris/settings `contextFields`). Admin API key, or a client-credentials token with scope `profile:read`.",
      params: z.object({ id: z.string().min(1).max(100) }),
      response: { 200: userContextSchema, 401: problemSchema, 403: problemSchema, 404: problemSchema },
    },
    onRequest: async function authenticateContextReader(request, reply) {
      // The admin API's abuse limits (the IP's rate and failure pause, then an API key's rate).
      await limits?.before(request, reply);
      const token = bearerToken(request);
      if (!token) {
        throw new Unauthenticated({
          code: 'missing_credentials',
          detail: 'This endpoint needs an admin API key or an application access token.',
          fix: 'Send "Authorization: Bearer <token>": a client-credentials token with scope profile:read.',
        });
      }
      const key = await auth.apiKey(token);
      if (key) {
        await limits?.authenticated(request, reply, key);
        if (!key.scopes.includes('read') && !key.scopes.includes('admin')) {
          throw new Forbidden({
            code: 'insufficient_scope',
            detail: 'This API key cannot read.',
            fix: 'Use a read or admin key.',
          });
        }
        request.principal = key;
        request.actor = {
          type: 'api_key',
          id: key.id,
          name: key.name,
          ip: request.ip,
          requestId: String(request.id),
        };
        readers.set(request, { kind: 'api_key' });
        return;
      }
      const application = await auth.application(token);
      if (!application) {
        await limits?.failed(request);
        throw new Unauthenticated({
          code: 'invalid_token',
          detail: 'The token is unknown, expired or revoked.',
          fix: 'Get a new client-credentials token from /oidc/token with scope profile:read.',
        });
      }
      if (!application.scopes.includes('profile:read')) {
        throw new Forbidden({
          code: 'insufficient_scope',
          detail: `The token of application ${application.clientId} was not granted profile:read.`,
          fix: 'Allow the application the profile:read scope and request it in the token request (scope=profile:read).',
        });
      }
      const organizationIds = application.organizationId
        ? [application.organizationId]
        : (application.allowedOrganizationIds ?? []);
      if (!organizationIds.length) {
        throw new Forbidden({
          code: 'application_organizations_unlimited',
          detail: `Application ${application.clientId} serves every organization; HR context is given only to applications limited to named organizations.`,
          fix: "Set the application's allowedOrganizations, or make it an organization's own application.",
        });
      }
      request.actor = {
        type: 'system',
        id: application.clientId,
        name: application.name,
        ip: request.ip,
        requestId: String(request.id),
      };
      readers.set(request, { kind: 'application', clientId: application.clientId, organizationIds });
    },
    handler: async (request) => context.forUser(request.params.id, readers.get(request) as ContextReader),
  });
}
