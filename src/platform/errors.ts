/**
 * Typed errors. Thrown anywhere inside the hub and mapped to a response once, at the edge:
 * RFC 9457 problem+json on the admin API (see platform/http/problem.ts), RFC 7644 bodies under
 * /scim/v2, OAuth `error` on protocol endpoints. Each carries a stable machine `code` and a sentence
 * a person can act on (`fix`).
 */

export interface AppErrorOptions {
  /** Stable machine-readable code, e.g. `organization_slug_taken`. */
  code: string;
  /** What went wrong, for a person. */
  detail: string;
  /** The offending input field, as a JSON pointer-ish path (`domains[1]`, `email`). */
  field?: string;
  /** What to do about it. */
  fix?: string;
  /** Extra members for the problem document. */
  extra?: Record<string, unknown>;
  /**
   * The caller's own mistake, met outside the hub (a wrong API key refused by the LMS): logged as a
   * warning without a stack trace, whatever the status. A stack says "our bug"; this is not one.
   */
  callerFault?: boolean;
  cause?: unknown;
}

export abstract class AppError extends Error {
  abstract readonly status: number;
  abstract readonly title: string;
  readonly code: string;
  readonly detail: string;
  readonly field: string | undefined;
  readonly fix: string | undefined;
  readonly extra: Record<string, unknown> | undefined;
  readonly callerFault: boolean;

  constructor(options: AppErrorOptions) {
    super(options.detail, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = options.code;
    this.detail = options.detail;
    this.field = options.field;
    this.fix = options.fix;
    this.extra = options.extra;
    this.callerFault = options.callerFault ?? false;
  }
}

export class InvalidInput extends AppError {
  readonly status = 400;
  readonly title = 'Invalid input';
}

export class Unauthenticated extends AppError {
  readonly status = 401;
  readonly title = 'Authentication required';
}

export class Forbidden extends AppError {
  readonly status = 403;
  readonly title = 'Forbidden';
}

export class NotFound extends AppError {
  readonly status = 404;
  readonly title = 'Not found';
}

export class Conflict extends AppError {
  readonly status = 409;
  readonly title = 'Conflict';
}

export class PreconditionFailed extends AppError {
  readonly status = 412;
  readonly title = 'Precondition failed';
}

export class PayloadTooLarge extends AppError {
  readonly status = 413;
  readonly title = 'Payload too large';
}

export class UnsupportedMediaType extends AppError {
  readonly status = 415;
  readonly title = 'Unsupported media type';
}

export class Unprocessable extends AppError {
  readonly status = 422;
  readonly title = 'Unprocessable';
}

export class TooManyRequests extends AppError {
  readonly status = 429;
  readonly title = 'Too many requests';
}

export class ServiceUnavailable extends AppError {
  readonly status = 503;
  readonly title = 'Service unavailable';
}

/** A failure talking to a system outside the hub (an IdP, an LMS, an HR API). */
export class UpstreamError extends AppError {
  readonly status = 502;
  readonly title = 'Upstream error';
}

export function notFound(resource: string, id: string): NotFound {
  return new NotFound({
    code: `${resource}_not_found`,
    detail: `No ${resource.replaceAll('_', ' ')} with id "${id}" exists here.`,
    fix: `Check the id; list ${resource.replaceAll('_', ' ')}s to find the right one.`,
  });
}
