/**
 * Outbound HTTP for connectors and protocol fetches (OIDC discovery, JWKS, SAML metadata, LMS and
 * HR APIs). One place owns timeouts, retries with backoff and jitter, `Retry-After`, and what gets
 * logged: method, URL with sensitive query values redacted, status and latency; never headers or
 * bodies, which carry credentials.
 */
import type { Logger } from 'pino';
import { redactUrl } from './logging.ts';

export interface HttpRequest {
  method?: string;
  url: string;
  headers?: Record<string, string>;
  /** JSON-serialized with `Content-Type: application/json`. */
  json?: unknown;
  /** Form-encoded with `Content-Type: application/x-www-form-urlencoded`. */
  form?: Record<string, string>;
  body?: string | Uint8Array;
  /** Per-attempt timeout (default 10 s). */
  timeoutMs?: number;
  /** Attempts after the first on network errors, 429, 502, 503, 504 (default 2; 0 for non-idempotent calls). */
  retries?: number;
  /** Largest wait honoured from Retry-After before giving up instead (default 30 s). */
  maxRetryAfterMs?: number;
  signal?: AbortSignal;
}

export interface HttpResponse {
  status: number;
  headers: Headers;
  text: string;
  /** Parsed JSON body, or undefined when the body is not JSON. */
  json: unknown;
  url: string;
  /** Milliseconds for the final attempt. */
  latencyMs: number;
  attempts: number;
}

/** The request could not be completed (network failure, timeout). */
export class HttpTransportError extends Error {
  override name = 'HttpTransportError';
  readonly url: string;
  constructor(url: string, message: string, cause?: unknown) {
    super(message, { cause });
    this.url = url;
  }
}

const RETRYABLE_STATUS = new Set([429, 502, 503, 504]);
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);

export class HttpClient {
  readonly #logger: Logger | undefined;
  readonly #userAgent: string;

  constructor(options: { logger?: Logger; userAgent?: string } = {}) {
    this.#logger = options.logger?.child({ component: 'http-client' });
    this.#userAgent = options.userAgent ?? 'Switchboard/0.1 (+https://github.com/switchboard)';
  }

  async request(request: HttpRequest): Promise<HttpResponse> {
    const method = (request.method ?? 'GET').toUpperCase();
    const retries = request.retries ?? (IDEMPOTENT.has(method) ? 2 : 0);
    const headers: Record<string, string> = { 'user-agent': this.#userAgent, ...request.headers };
    let body: string | Uint8Array | undefined = request.body;
    if (request.json !== undefined) {
      body = JSON.stringify(request.json);
      headers['content-type'] ??= 'application/json';
    } else if (request.form) {
      body = new URLSearchParams(request.form).toString();
      headers['content-type'] ??= 'application/x-www-form-urlencoded';
    }
    for (let attempt = 1; ; attempt++) {
      const started = performance.now();
      let response: Response;
      try {
        const timeout = AbortSignal.timeout(request.timeoutMs ?? 10_000);
        response = await fetch(request.url, {
          method,
          headers,
          // Cast: with the DOM lib in the program (@xmldom/xmldom's types pull it in), BodyInit is the DOM one.
          ...(body === undefined ? {} : { body: body as string }),
          redirect: 'manual',
          signal: request.signal ? AbortSignal.any([timeout, request.signal]) : timeout,
        });
      } catch (error) {
        const latencyMs = Math.round(performance.now() - started);
        const reason = describeTransportError(error);
        this.#logger?.info(
          { method, url: safeUrl(request.url), latencyMs, attempt, error: reason },
          'outbound request failed',
        );
        if (attempt <= retries && !request.signal?.aborted) {
          await sleep(backoffMs(attempt));
          continue;
        }
        throw new HttpTransportError(
          request.url,
          `${method} ${safeUrl(request.url)} failed: ${reason}`,
          error,
        );
      }
      const text = await response.text();
      const latencyMs = Math.round(performance.now() - started);
      this.#logger?.debug(
        { method, url: safeUrl(request.url), status: response.status, latencyMs, attempt },
        'outbound request',
      );
      if (RETRYABLE_STATUS.has(response.status) && attempt <= retries) {
        const wait = retryAfterMs(response.headers) ?? backoffMs(attempt);
        if (wait <= (request.maxRetryAfterMs ?? 30_000)) {
          await sleep(wait);
          continue;
        }
      }
      return {
        status: response.status,
        headers: response.headers,
        text,
        json: parseJson(text, response.headers.get('content-type')),
        url: request.url,
        latencyMs,
        attempts: attempt,
      };
    }
  }
}

/**
 * Milliseconds to wait from a `Retry-After` header (delta-seconds or HTTP-date, RFC 9110 §10.2.3);
 * undefined when absent or unreadable.
 */
export function retryAfterMs(headers: Headers, now = Date.now()): number | undefined {
  const value = headers.get('retry-after');
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Exponential backoff with full jitter: up to 250 ms, 500 ms, 1 s, ... capped at 10 s. */
export function backoffMs(attempt: number, baseMs = 250, capMs = 10_000): number {
  return Math.round(Math.random() * Math.min(capMs, baseMs * 2 ** (attempt - 1)));
}

function parseJson(text: string, contentType: string | null): unknown {
  if (!text) return undefined;
  if (contentType && !/json/i.test(contentType) && !/^\s*[[{]/.test(text)) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function describeTransportError(error: unknown): string {
  if (error instanceof DOMException && error.name === 'TimeoutError') return 'timed out';
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code) return `${cause.code}${cause.message ? ` (${cause.message})` : ''}`;
  return error instanceof Error ? error.message : String(error);
}

function safeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${redactUrl(parsed.pathname + parsed.search)}`;
  } catch {
    return '[invalid url]';
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
