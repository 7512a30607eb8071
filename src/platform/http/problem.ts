/**
 * RFC 9457 problem details for the admin API. Every error, wherever thrown, is rendered here once:
 * typed AppErrors keep their status, code, field and fix; schema validation failures name the
 * field; framework errors (bad JSON, body too large, wrong content type) get their proper 4xx; only
 * a real fault is a 500, logged with its request id and shown without internals.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { FOREIGN_KEY_VIOLATION, sqlState, UNIQUE_VIOLATION } from '../db/client.ts';
import { AppError } from '../errors.ts';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  field?: string;
  fix?: string;
  instance?: string;
  requestId?: string;
  errors?: Array<{ field: string; message: string }>;
  [extra: string]: unknown;
}

export const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.string().describe('Stable machine-readable error code.'),
    field: z.string().optional().describe('The offending input field.'),
    fix: z.string().optional().describe('What to do about it.'),
    instance: z.string().optional(),
    requestId: z.string().optional(),
    errors: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
  })
  .catchall(z.unknown())
  .meta({ id: 'Problem', description: 'RFC 9457 problem details.' });

export function problemType(code: string): string {
  return `urn:switchboard:problem:${code}`;
}

/** Turns any thrown value into a problem document. */
export function toProblem(error: unknown, request: FastifyRequest): Problem {
  const base = { instance: request.url.split('?')[0], requestId: String(request.id) };
  if (error instanceof AppError) {
    return {
      type: problemType(error.code),
      title: error.title,
      status: error.status,
      detail: error.detail,
      code: error.code,
      ...(error.field ? { field: error.field } : {}),
      ...(error.fix ? { fix: error.fix } : {}),
      ...error.extra,
      ...base,
    };
  }
  const fastifyError = error as FastifyError;
  if (hasZodFastifySchemaValidationErrors(error)) {
    const location = { body: 'body', querystring: 'query', params: 'path', headers: 'header' }[
      fastifyError.validationContext ?? 'body'
    ];
    const errors = error.validation.map((issue) => ({
      field: formatField(issue.instancePath),
      message: issue.message ?? 'is invalid',
    }));
    const first = errors[0] ?? { field: '', message: 'is invalid' };
    const field = first.field || location || 'body';
    return {
      type: problemType('invalid_request'),
      title: 'Invalid input',
      status: 400,
      detail: `${location === 'body' ? '' : `${location} `}${field}: ${first.message}`.trim(),
      code: 'invalid_request',
      field,
      fix: `Correct ${field} and send the request again; see /docs for the expected shape.`,
      errors,
      ...base,
    };
  }
  switch (fastifyError.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return simple(
        413,
        'Payload too large',
        'body_too_large',
        'The request body is larger than this endpoint accepts.',
        'Send a smaller body, or split the change into several requests.',
        base,
      );
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return simple(
        415,
        'Unsupported media type',
        'unsupported_media_type',
        `Content-Type ${request.headers['content-type'] ?? '(none)'} is not accepted here.`,
        'Send the body as application/json.',
        base,
      );
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return simple(
        400,
        'Invalid input',
        'empty_body',
        'The body is empty but Content-Type says JSON.',
        'Send a JSON body, or no Content-Type header.',
        base,
        'body',
      );
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return simple(
        400,
        'Invalid input',
        'malformed_json',
        `The body is not valid JSON: ${fastifyError.message}`,
        'Send a well-formed JSON document.',
        base,
        'body',
      );
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return simple(
        400,
        'Invalid input',
        'invalid_content_length',
        'Content-Length does not match the body.',
        'Send a correct Content-Length header.',
        base,
      );
  }
  if (fastifyError.statusCode === 400 && error instanceof SyntaxError) {
    return simple(
      400,
      'Invalid input',
      'malformed_json',
      `The body is not valid JSON: ${fastifyError.message}`,
      'Send a well-formed JSON document.',
      base,
      'body',
    );
  }
  const state = sqlState(error);
  if (state === UNIQUE_VIOLATION) {
    return simple(
      409,
      'Conflict',
      'conflict',
      'A resource with the same unique value already exists.',
      'Use a different value, or update the existing resource.',
      base,
    );
  }
  if (state === FOREIGN_KEY_VIOLATION) {
    return simple(
      409,
      'Conflict',
      'reference_conflict',
      'The change refers to a resource that does not exist, or removes one that is still referenced.',
      'Check the ids in the request.',
      base,
    );
  }
  if (
    fastifyError.statusCode &&
    fastifyError.statusCode >= 400 &&
    fastifyError.statusCode < 500 &&
    !isResponseSerializationError(error)
  ) {
    return simple(
      fastifyError.statusCode,
      'Bad request',
      'bad_request',
      fastifyError.message,
      'Check the request against /docs.',
      base,
    );
  }
  return simple(
    500,
    'Internal error',
    'internal_error',
    'Something went wrong on our side. The request was not applied.',
    `Retry later; if it keeps failing, report request id ${base.requestId}.`,
    base,
  );
}

function simple(
  status: number,
  title: string,
  code: string,
  detail: string,
  fix: string,
  base: { instance: string | undefined; requestId: string },
  field?: string,
): Problem {
  return { type: problemType(code), title, status, detail, code, ...(field ? { field } : {}), fix, ...base };
}

/** `/domains/1` -> `domains[1]`, `/name/given` -> `name.given`. */
function formatField(instancePath: string): string {
  return instancePath
    .split('/')
    .filter(Boolean)
    .map((segment, index) => (/^\d+$/.test(segment) ? `[${segment}]` : index === 0 ? segment : `.${segment}`))
    .join('');
}

export function sendProblem(reply: FastifyReply, problem: Problem): FastifyReply {
  return reply.status(problem.status).type(PROBLEM_CONTENT_TYPE).send(problem);
}

/** Fastify error handler for problem+json scopes. */
export function problemErrorHandler(
  this: unknown,
  error: unknown,
  request: FastifyRequest,
  reply: FastifyReply,
) {
  const problem = toProblem(error, request);
  if (error instanceof AppError && error.callerFault) {
    request.log.warn(
      { code: problem.code, status: problem.status, detail: problem.detail },
      'request failed: the caller’s configuration was refused',
    );
  } else if (problem.status >= 500) request.log.error({ err: error }, 'request failed');
  else request.log.info({ code: problem.code, status: problem.status }, 'request rejected');
  return sendProblem(reply, problem);
}
