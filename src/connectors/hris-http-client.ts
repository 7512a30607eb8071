/**
 * The HTTP core every HR/directory connector calls its vendor through. It owns:
 * - auth: {@link HrAuth} adds credentials to each attempt; token sources are cached, refreshed a
 *   minute before expiry and again (once per request) when the vendor answers a `refreshOn` status;
 * - retries: network errors and `throttleStatuses`/502/503/504 are retried with exponential
 *   backoff and full jitter, or after `Retry-After` (seconds or HTTP date, RFC 9110 §10.2.3) when
 *   the vendor sends one, never sooner than the manifest's `minRetryMs`;
 * - errors: a failed call becomes an {@link HrConnectorError} with a kind the sync engine can act
 *   on, and the vendor's message (never a header or credential);
 * - parsing: `getJson(schema)` parses with zod and throws {@link HrSchemaError} naming the path;
 * - pagination helpers over any style (offset, cursor, next link).
 *
 * Nothing here logs headers or bodies; URLs pass through `redactUrl` before the `onRequest` hook.
 */
import type { z } from 'zod';
import { redactUrl } from '../platform/logging.ts';
import {
  type ConnectionCheck,
  type HrClientEnvironment,
  HrConnectorError,
  type HrConnectorManifest,
  type HrErrorKind,
  HrSchemaError,
} from './hris-contract.ts';

// ---------------------------------------------------------------------------------------------
// Auth
// ---------------------------------------------------------------------------------------------

/** Adds credentials to a request; `invalidate` drops a cached token so the next `apply` fetches one. */
export interface HrAuth {
  apply(headers: Record<string, string>): Promise<void>;
  /**
   * `rejected`: the Authorization value the vendor refused. A token issued since then is kept, so
   * concurrent requests refused with the same expired token renew it once, not once each.
   */
  invalidate(rejected?: string): void;
}

/** HTTP Basic (BambooHR API key + `x`, Workday ISU). */
export function basicAuth(username: string, password: string): HrAuth {
  const value = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
  return {
    async apply(headers) {
      headers.authorization = value;
    },
    invalidate() {},
  };
}

/** A static bearer key (Merge API key). */
export function staticBearerAuth(token: string, extraHeaders: Record<string, string> = {}): HrAuth {
  return {
    async apply(headers) {
      headers.authorization = `Bearer ${token}`;
      Object.assign(headers, extraHeaders);
    },
    invalidate() {},
  };
}

export interface IssuedToken {
  token: string;
  /** Seconds the token is valid for (from `expires_in`); undefined: until the vendor refuses it. */
  expiresInSeconds?: number;
  /** Header scheme (default `Bearer`). */
  scheme?: string;
}

/**
 * A token from a token endpoint (Personio `POST /auth`, OAuth client credentials, JWT bearer),
 * cached and shared by concurrent requests; fetched again `skewSeconds` before it expires and
 * whenever the client calls `invalidate` (the vendor refused it mid-sync).
 */
export function tokenSourceAuth(
  issue: () => Promise<IssuedToken>,
  options: { now?: () => number; skewSeconds?: number } = {},
): HrAuth & { readonly issued: number } {
  const now = options.now ?? Date.now;
  const skewMs = (options.skewSeconds ?? 60) * 1000;
  let current: { value: string; expiresAt: number } | undefined;
  let pending: Promise<{ value: string; expiresAt: number }> | undefined;
  let issued = 0;
  const fetchToken = () => {
    pending ??= issue()
      .then((token) => {
        issued++;
        const expiresAt =
          token.expiresInSeconds === undefined
            ? Number.POSITIVE_INFINITY
            : now() + token.expiresInSeconds * 1000;
        current = { value: `${token.scheme ?? 'Bearer'} ${token.token}`, expiresAt };
        return current;
      })
      .finally(() => {
        pending = undefined;
      });
    return pending;
  };
  return {
    get issued() {
      return issued;
    },
    async apply(headers) {
      const token = current && current.expiresAt - skewMs > now() ? current : await fetchToken();
      headers.authorization = token.value;
    },
    invalidate(rejected) {
      if (rejected === undefined || current?.value === rejected) current = undefined;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Client
// ---------------------------------------------------------------------------------------------

export interface HrRequest {
  method?: string;
  /** Absolute URL, or a path joined to the base URL. */
  url: string;
  query?: Record<string, string | number | boolean | undefined | Array<string | number>>;
  headers?: Record<string, string>;
  json?: unknown;
  form?: Record<string, string>;
  /** Skip auth (the token endpoint itself). */
  anonymous?: boolean;
  /** Statuses returned to the caller instead of thrown (e.g. 404 meaning "empty"). */
  acceptStatuses?: readonly number[];
  signal?: AbortSignal;
}

export interface HrResponse {
  status: number;
  headers: Headers;
  text: string;
  json: unknown;
  url: string;
}

export interface HrHttpClientOptions {
  baseUrl: string;
  auth?: HrAuth;
  manifest: Pick<HrConnectorManifest, 'auth' | 'rateLimit' | 'displayName'>;
  env?: HrClientEnvironment;
  /** Headers on every request (`Accept: application/json` for BambooHR). */
  defaultHeaders?: Record<string, string>;
  /** Reads the vendor's error message from an error response (its error shape). */
  errorMessage?: (response: HrResponse) => string | undefined;
}

const RETRYABLE_UPSTREAM = new Set([502, 503, 504]);

export class HrHttpClient {
  readonly baseUrl: string;
  readonly #auth: HrAuth | undefined;
  readonly #manifest: HrHttpClientOptions['manifest'];
  readonly #env: Required<Pick<HrClientEnvironment, 'fetch' | 'sleep' | 'now'>> & HrClientEnvironment;
  readonly #defaultHeaders: Record<string, string>;
  readonly #errorMessage: HrHttpClientOptions['errorMessage'];
  /** Counters for tests and run statistics. */
  readonly stats = { requests: 0, retries: 0, throttled: 0, tokenRefreshes: 0 };

  constructor(options: HrHttpClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.#auth = options.auth;
    this.#manifest = options.manifest;
    this.#env = {
      ...options.env,
      fetch: options.env?.fetch ?? ((input, init) => fetch(input, init)),
      sleep: options.env?.sleep ?? defaultSleep,
      now: options.env?.now ?? Date.now,
    };
    this.#defaultHeaders = options.defaultHeaders ?? {};
    this.#errorMessage = options.errorMessage;
  }

  /** Absolute URL for a path (or the URL itself when absolute) with query parameters. */
  urlFor(url: string, query?: HrRequest['query']): string {
    const absolute = /^https?:\/\//i.test(url)
      ? new URL(url)
      : new URL(`${this.baseUrl}/${url.replace(/^\/+/, '')}`);
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value === undefined) continue;
      if (Array.isArray(value)) for (const item of value) absolute.searchParams.append(key, String(item));
      else absolute.searchParams.set(key, String(value));
    }
    return absolute.toString();
  }

  async request(request: HrRequest): Promise<HrResponse> {
    const method = (request.method ?? 'GET').toUpperCase();
    const url = this.urlFor(request.url, request.query);
    const { rateLimit, auth: authPolicy } = this.#manifest;
    let refreshed = false;
    for (let attempt = 1; ; attempt++) {
      const headers: Record<string, string> = {
        'user-agent': this.#env.userAgent ?? 'Switchboard/0.1',
        ...this.#defaultHeaders,
        ...request.headers,
      };
      let body: string | undefined;
      if (request.json !== undefined) {
        body = JSON.stringify(request.json);
        headers['content-type'] ??= 'application/json';
      } else if (request.form) {
        body = new URLSearchParams(request.form).toString();
        headers['content-type'] ??= 'application/x-www-form-urlencoded';
      }
      if (this.#auth && !request.anonymous) await this.#auth.apply(headers);
      this.stats.requests++;
      let response: Response;
      try {
        const timeout = AbortSignal.timeout(this.#env.timeoutMs ?? 30_000);
        response = await this.#env.fetch(url, {
          method,
          headers,
          ...(body === undefined ? {} : { body }),
          redirect: 'manual',
          signal: request.signal ? AbortSignal.any([timeout, request.signal]) : timeout,
        });
      } catch (error) {
        this.#env.onRequest?.({ method, url: safeUrl(url), status: null, attempt });
        if (attempt <= rateLimit.maxRetries && !request.signal?.aborted) {
          this.stats.retries++;
          await this.#env.sleep(backoffMs(attempt), request.signal);
          continue;
        }
        throw new HrConnectorError(
          'unreachable',
          `${this.#manifest.displayName} could not be reached (${method} ${safeUrl(url)}): ${describe(error)}`,
          { cause: error },
        );
      }
      const text = await response.text();
      this.#env.onRequest?.({ method, url: safeUrl(url), status: response.status, attempt });
      const result: HrResponse = {
        status: response.status,
        headers: response.headers,
        text,
        json: parseJson(text),
        url,
      };
      if (request.acceptStatuses?.includes(response.status)) return result;
      if (this.#auth && !request.anonymous && !refreshed && authPolicy.refreshOn.includes(response.status)) {
        // The token expired or was revoked mid-sync: fetch a new one and retry this request once.
        refreshed = true;
        this.stats.tokenRefreshes++;
        this.#auth.invalidate(headers.authorization);
        attempt--;
        continue;
      }
      const throttled = rateLimit.throttleStatuses.includes(response.status);
      if ((throttled || RETRYABLE_UPSTREAM.has(response.status)) && attempt <= rateLimit.maxRetries) {
        if (throttled) this.stats.throttled++;
        const advised = retryAfterMs(response.headers, this.#env.now());
        const wait = Math.max(advised ?? backoffMs(attempt), throttled ? rateLimit.minRetryMs : 0);
        if (wait <= rateLimit.maxRetryAfterMs) {
          this.stats.retries++;
          await this.#env.sleep(wait, request.signal);
          continue;
        }
      }
      if (response.status >= 200 && response.status < 300) return result;
      throw this.#errorFor(method, url, result, throttled);
    }
  }

  /** GET (or another method) and parse the JSON body with `schema`. */
  async getJson<S extends z.ZodType>(schema: S, request: HrRequest, what?: string): Promise<z.output<S>> {
    const response = await this.request(request);
    return parseWith(schema, response.json, what ?? `${this.#manifest.displayName} ${safeUrl(response.url)}`);
  }

  #errorFor(method: string, url: string, response: HrResponse, throttled: boolean): HrConnectorError {
    const vendorMessage = this.#errorMessage?.(response)?.slice(0, 300);
    const kind: HrErrorKind = throttled
      ? 'throttled'
      : response.status === 401
        ? 'invalid_credentials'
        : response.status === 403
          ? 'forbidden'
          : response.status === 404
            ? 'not_found'
            : response.status >= 500
              ? 'upstream'
              : response.status >= 400
                ? 'invalid_request'
                : 'upstream';
    return new HrConnectorError(
      kind,
      `${this.#manifest.displayName} answered ${response.status} to ${method} ${safeUrl(url)}${
        vendorMessage ? `: ${vendorMessage}` : ''
      }`,
      { status: response.status, ...(vendorMessage ? { vendorMessage } : {}) },
    );
  }
}

/** Parses a vendor payload; throws {@link HrSchemaError} naming each offending path. */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new HrSchemaError(
    what,
    result.error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message })),
  );
}

// ---------------------------------------------------------------------------------------------
// Pagination
// ---------------------------------------------------------------------------------------------

/**
 * Walks pages of any style: `fetchPage(position)` returns a page and the position of the next one
 * (undefined on the last page). Positions are strings so they double as resume checkpoints.
 */
export async function* paginate<Page>(
  start: string | undefined,
  fetchPage: (position: string | undefined) => Promise<{ page: Page; next: string | undefined }>,
): AsyncGenerator<{ page: Page; position: string | undefined; next: string | undefined }> {
  let position = start;
  for (;;) {
    const { page, next } = await fetchPage(position);
    yield { page, position, next };
    if (next === undefined || next === position) return;
    position = next;
  }
}

/** Offset paging: the next offset, or undefined when the page was short or the total is reached. */
export function nextOffset(
  offset: number,
  received: number,
  limit: number,
  total?: number,
): number | undefined {
  if (received === 0 || received < limit) return undefined;
  if (total !== undefined && offset + received >= total) return undefined;
  return offset + received;
}

/**
 * `fn` over `items` with at most `concurrency` calls in flight, results in input order: per-record
 * follow-up reads (Personio v2 employments) without a burst the vendor throttles. After a failure
 * no new call starts; the first error is thrown once the calls in flight have settled.
 */
export async function mapWithConcurrency<T, R>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (!failure && next < items.length) {
      const index = next++;
      try {
        results[index] = await fn(items[index] as T, index);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
  if (failure) throw failure.error;
  return results;
}

// ---------------------------------------------------------------------------------------------

/** Milliseconds to wait from `Retry-After` (delta-seconds or HTTP-date); undefined when absent. */
export function retryAfterMs(headers: Headers, now = Date.now()): number | undefined {
  const value = headers.get('retry-after')?.trim();
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Exponential backoff with full jitter: up to 500 ms, 1 s, 2 s, ... capped at 30 s. */
export function backoffMs(attempt: number, baseMs = 500, capMs = 30_000): number {
  return Math.round(Math.random() * Math.min(capMs, baseMs * 2 ** (attempt - 1)));
}

function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}

function parseJson(text: string): unknown {
  if (!text || !/^\s*[[{"]/.test(text)) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function describe(error: unknown): string {
  if (error instanceof DOMException && error.name === 'TimeoutError') return 'timed out';
  const cause = (error as { cause?: { code?: string } }).cause;
  if (cause?.code) return cause.code;
  return error instanceof Error ? error.message : String(error);
}

/** URL without credentials-bearing query values, for messages and logs. */
export function safeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${redactUrl(parsed.pathname + parsed.search)}`;
  } catch {
    return '[invalid url]';
  }
}

/** A failed connection test as a {@link ConnectionCheck}; anything not from the vendor rethrows. */
export function connectionFailure(error: unknown): ConnectionCheck {
  if (error instanceof HrConnectorError) return { ok: false, code: error.kind, detail: error.message };
  throw error;
}
