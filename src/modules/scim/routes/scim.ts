/**
 * The SCIM 2.0 endpoints (RFC 7644) under `/scim/v2/{directoryId}`, as an encapsulated Fastify
 * plugin with its own JSON parser (`application/scim+json` and `application/json`), bearer-token
 * authentication per directory, and one error handler rendering RFC 7644 error bodies.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sqlState, UNIQUE_VIOLATION } from '../../../platform/db/client.ts';
import { AppError } from '../../../platform/errors.ts';
import { bearerToken } from '../../../platform/http/auth.ts';
import type { DirectoriesService } from '../../directory/index.ts';
import type { RateLimits } from '../../rate-limits/index.ts';
import { resourceTypes, schemaDocuments, serviceProviderConfig } from '../discovery.ts';
import { invalidSyntax, ScimError } from '../errors.ts';
import { etagOf, type Projection, parseAttributeList } from '../resource.ts';
import { GROUP_MODEL, SCHEMA } from '../schemas.ts';
import {
  type ListParams,
  listResponse,
  type ResourceResult,
  type ScimRequest,
  type ScimService,
} from '../service.ts';

export const SCIM_CONTENT_TYPE = 'application/scim+json; charset=utf-8';

export interface ScimRoutesOptions {
  scim: ScimService;
  directories: DirectoriesService;
  /** Request rates per IP and per directory token; blocks after repeated wrong tokens. */
  limits: RateLimits;
  bodyLimit: number;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the SCIM bearer-token hook: the directory this request acts for. */
    scim?: ScimRequest;
  }
}

type Params = { directoryId: string; id?: string };

export async function scimRoutes(app: FastifyInstance, options: ScimRoutesOptions): Promise<void> {
  const { scim, directories, limits } = options;

  // Only JSON bodies, parsed here so a malformed one becomes a SCIM invalidSyntax error.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    ['application/scim+json', 'application/json'],
    { parseAs: 'string', bodyLimit: options.bodyLimit },
    (_request, body, done) => {
      const text = String(body);
      if (text.trim() === '') {
        done(invalidSyntax('The body is empty; send a JSON document.'), undefined);
        return;
      }
      try {
        done(null, JSON.parse(text));
      } catch (error) {
        done(invalidSyntax(`The body is not valid JSON: ${(error as Error).message}`), undefined);
      }
    },
  );
  app.decorateRequest('scim', undefined);
  app.setErrorHandler(scimErrorHandler);
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, new ScimError(404, `No SCIM endpoint ${request.method} ${request.url.split('?')[0]}.`)),
  );

  app.addHook('onRequest', async function authenticateDirectory(request: FastifyRequest, reply) {
    const { directoryId } = request.params as Params;
    // Refusals are 429 SCIM errors (no scimType) with Retry-After; wrong tokens count per
    // directory from this IP and per IP, in every hub process.
    await limits.limitIp('scim', request.ip, reply);
    await limits.assertNotBlocked('scim', request.ip, directoryId, reply);
    const token = bearerToken(request);
    const principal = token ? await directories.authenticateScimToken(token) : undefined;
    // One answer for a missing token, an unknown one and another directory's: nothing to probe.
    if (!principal || principal.directoryId !== directoryId) {
      if (token) await limits.recordFailure('scim', request.ip, directoryId);
      throw new ScimError(401, 'A valid bearer token of this directory is required.');
    }
    await limits.limitCredential('scim', principal.directoryId, reply);
    if (principal.status !== 'active') throw new ScimError(403, 'This directory is disabled.');
    if (principal.organizationStatus !== 'active')
      throw new ScimError(403, 'This organization is suspended.');
    request.scim = {
      principal,
      actor: {
        type: 'scim',
        id: principal.directoryId,
        name: principal.name,
        ip: request.ip,
        requestId: String(request.id),
      },
      baseUrl: directories.scimBaseUrl(principal.directoryId),
      userModel: scim.userModelOf(principal),
    };
  });

  const hide = { schema: { hide: true } };
  const context = (request: FastifyRequest): ScimRequest => request.scim as ScimRequest;
  const idOf = (request: FastifyRequest) => (request.params as Params).id as string;
  const ifMatch = (request: FastifyRequest) => header(request, 'if-match');

  // Discovery

  app.get('/ServiceProviderConfig', hide, async (request, reply) =>
    send(reply, 200, serviceProviderConfig(context(request).baseUrl, options.bodyLimit)),
  );
  app.get('/ResourceTypes', hide, async (request, reply) => {
    const types = resourceTypes(context(request).baseUrl, context(request).userModel);
    return send(reply, 200, listResponse(types, types.length, 1));
  });
  app.get('/ResourceTypes/:id', hide, async (request, reply) => {
    const type = resourceTypes(context(request).baseUrl, context(request).userModel).find(
      (item) => item.id === idOf(request),
    );
    if (!type) throw new ScimError(404, `No resource type ${idOf(request)}.`);
    return send(reply, 200, type);
  });
  app.get('/Schemas', hide, async (request, reply) => {
    const schemas = schemaDocuments(context(request).baseUrl, context(request).userModel);
    return send(reply, 200, listResponse(schemas, schemas.length, 1));
  });
  app.get('/Schemas/:id', hide, async (request, reply) => {
    const schema = schemaDocuments(context(request).baseUrl, context(request).userModel).find(
      (item) => item.id.toLowerCase() === idOf(request).toLowerCase(),
    );
    if (!schema) throw new ScimError(404, `No schema ${idOf(request)}.`);
    return send(reply, 200, schema);
  });

  // Users

  app.get('/Users', hide, async (request, reply) =>
    send(reply, 200, await scim.listUsers(context(request), listParams(request.query))),
  );
  app.post('/Users/.search', hide, async (request, reply) =>
    send(reply, 200, await scim.listUsers(context(request), searchParams(request.body))),
  );
  app.post('/Users', hide, async (request, reply) =>
    sendResource(reply, 201, await scim.createUser(context(request), request.body), true),
  );
  app.get('/Users/:id', hide, async (request, reply) =>
    sendResource(
      reply,
      200,
      await scim.getUser(context(request), idOf(request), projectionOf(request, context(request))),
    ),
  );
  app.put('/Users/:id', hide, async (request, reply) =>
    sendResource(
      reply,
      200,
      await scim.replaceUser(context(request), idOf(request), request.body, ifMatch(request)),
    ),
  );
  app.patch('/Users/:id', hide, async (request, reply) =>
    sendResource(
      reply,
      200,
      await scim.patchUser(context(request), idOf(request), request.body, ifMatch(request)),
    ),
  );
  app.delete('/Users/:id', hide, async (request, reply) => {
    await scim.deleteUser(context(request), idOf(request), ifMatch(request));
    return reply.status(204).send();
  });

  // Groups

  app.get('/Groups', hide, async (request, reply) =>
    send(reply, 200, await scim.listGroups(context(request), listParams(request.query))),
  );
  app.post('/Groups/.search', hide, async (request, reply) =>
    send(reply, 200, await scim.listGroups(context(request), searchParams(request.body))),
  );
  app.post('/Groups', hide, async (request, reply) =>
    sendResource(reply, 201, await scim.createGroup(context(request), request.body), true),
  );
  app.get('/Groups/:id', hide, async (request, reply) =>
    sendResource(reply, 200, await scim.getGroup(context(request), idOf(request), groupProjection(request))),
  );
  app.put('/Groups/:id', hide, async (request, reply) =>
    sendResource(
      reply,
      200,
      await scim.replaceGroup(context(request), idOf(request), request.body, ifMatch(request)),
    ),
  );
  app.patch('/Groups/:id', hide, async (request, reply) => {
    const result = await scim.patchGroup(context(request), idOf(request), request.body, ifMatch(request));
    // Entra expects 204 for group PATCH; Okta accepts 200 or 204. The ETag still says the new version.
    return reply.status(204).header('etag', etagOf(result.version)).send();
  });
  app.delete('/Groups/:id', hide, async (request, reply) => {
    await scim.deleteGroup(context(request), idOf(request), ifMatch(request));
    return reply.status(204).send();
  });

  // Not offered: say so in SCIM terms rather than a bare 404.
  for (const path of ['/Bulk', '/Me']) {
    app.all(path, hide, async () => {
      throw new ScimError(501, `${path} is not supported by this server; see /ServiceProviderConfig.`);
    });
  }
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

function projectionOf(request: FastifyRequest, scimRequest: ScimRequest): Projection {
  const query = request.query as Record<string, string | undefined>;
  return {
    attributes: parseAttributeList(scimRequest.userModel, query.attributes),
    excluded: parseAttributeList(scimRequest.userModel, query.excludedAttributes),
  };
}

function groupProjection(request: FastifyRequest): Projection {
  const query = request.query as Record<string, string | undefined>;
  return {
    attributes: parseAttributeList(GROUP_MODEL, query.attributes),
    excluded: parseAttributeList(GROUP_MODEL, query.excludedAttributes),
  };
}

function listParams(query: unknown): ListParams {
  const values = (query ?? {}) as Record<string, unknown>;
  const text = (name: string) => {
    const value = values[name];
    if (Array.isArray(value)) throw new ScimError(400, `Give "${name}" once.`, 'invalidValue');
    return typeof value === 'string' ? value : undefined;
  };
  const integer = (name: string) => {
    const value = text(name);
    if (value === undefined || value === '') return undefined;
    if (!/^-?\d+$/.test(value.trim()))
      throw new ScimError(400, `"${name}" must be an integer.`, 'invalidValue');
    return Number(value);
  };
  return {
    filter: text('filter'),
    startIndex: integer('startIndex'),
    count: integer('count'),
    sortBy: text('sortBy'),
    sortOrder: text('sortOrder'),
    attributes: text('attributes'),
    excludedAttributes: text('excludedAttributes'),
  };
}

/** `POST /.search` (RFC 7644 section 3.4.3): the same parameters in a SearchRequest body. */
function searchParams(body: unknown): ListParams {
  if (!body || typeof body !== 'object' || Array.isArray(body))
    throw invalidSyntax('Send a SearchRequest object.');
  const request = body as Record<string, unknown>;
  const schemas = request.schemas;
  if (!Array.isArray(schemas) || !schemas.includes(SCHEMA.searchRequest)) {
    throw invalidSyntax(`"schemas" must be ["${SCHEMA.searchRequest}"].`);
  }
  const list = (value: unknown) =>
    Array.isArray(value) ? value.join(',') : typeof value === 'string' ? value : undefined;
  const number = (value: unknown) => (typeof value === 'number' ? value : undefined);
  return {
    filter: typeof request.filter === 'string' ? request.filter : undefined,
    startIndex: number(request.startIndex),
    count: number(request.count),
    sortBy: typeof request.sortBy === 'string' ? request.sortBy : undefined,
    sortOrder: typeof request.sortOrder === 'string' ? request.sortOrder : undefined,
    attributes: list(request.attributes),
    excludedAttributes: list(request.excludedAttributes),
  };
}

function send(reply: FastifyReply, status: number, body: unknown) {
  return reply.status(status).type(SCIM_CONTENT_TYPE).send(body);
}

function sendResource(reply: FastifyReply, status: number, result: ResourceResult, created = false) {
  const meta = result.resource.meta as { location?: string } | undefined;
  reply.header('etag', etagOf(result.version));
  if (created && meta?.location) reply.header('location', meta.location);
  return send(reply, status, result.resource);
}

export function sendError(reply: FastifyReply, error: ScimError) {
  if (error.status === 401) reply.header('www-authenticate', 'Bearer realm="scim"');
  return reply
    .status(error.status)
    .type(SCIM_CONTENT_TYPE)
    .send({
      schemas: [SCHEMA.error],
      status: String(error.status),
      ...(error.scimType ? { scimType: error.scimType } : {}),
      detail: error.detail,
    });
}

/** Every error under /scim/v2, rendered as an RFC 7644 error body. */
function scimErrorHandler(this: unknown, error: unknown, request: FastifyRequest, reply: FastifyReply) {
  const scimError = toScimError(error);
  if (scimError.status >= 500 && scimError.status !== 501)
    request.log.error({ err: error }, 'SCIM request failed');
  else request.log.info({ status: scimError.status, scimType: scimError.scimType }, 'SCIM request rejected');
  return sendError(reply, scimError);
}

export function toScimError(error: unknown): ScimError {
  if (error instanceof ScimError) return error;
  if (error instanceof AppError) {
    // Errors of the user store, in SCIM terms.
    if (error.status === 409) return new ScimError(409, error.detail, 'uniqueness');
    if (error.status === 400) return new ScimError(400, error.detail, 'invalidValue');
    return new ScimError(error.status, error.detail);
  }
  const fastifyError = error as FastifyError;
  switch (fastifyError.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ScimError(
        413,
        'The request body is larger than this server accepts (see bulk.maxPayloadSize).',
      );
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ScimError(415, 'Send the body as application/scim+json (or application/json).');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new ScimError(400, 'The body is empty; send a JSON document.', 'invalidSyntax');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new ScimError(400, 'Content-Length does not match the body.', 'invalidSyntax');
  }
  if (sqlState(error) === UNIQUE_VIOLATION) {
    return new ScimError(409, 'A resource with the same unique value already exists.', 'uniqueness');
  }
  if (fastifyError.statusCode && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    return new ScimError(fastifyError.statusCode, fastifyError.message);
  }
  return new ScimError(500, 'Something went wrong on our side; the request was not applied. Retry later.');
}
