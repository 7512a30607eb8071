/**
 * The connector core: the one HTTP client every connector (Thinkific, SCIM apps, signed webhooks,
 * and the HR connectors) calls its vendor through. Operations never call `fetch` themselves; they
 * get a `ConnectorHttpClient` that owns, in one place:
 *
 * - **auth**: the headers a connector's manifest derives from its credentials (`auth()`), added to
 *   every request and never logged or recorded;
 * - **rate limiting**: before each request a token from a `RateLimiter` keyed per destination
 *   (`limiterKey`); the Postgres limiter (`rate-limiter.ts`) shares that budget across every hub
 *   process;
 * - **429 handling**: the wait the vendor asks for (`Retry-After`, or `RateLimit-Reset` in any of
 *   its readings, see `parseRateLimitReset`) is pushed into the shared limiter so every process
 *   backs off, then the request is retried;
 * - **retries**: network failures and 502/503/504 are retried with exponential backoff and full
 *   jitter, only for idempotent requests (GET, PUT, DELETE, or a call marked `idempotent`); a 429
 *   is always retried, since the vendor did not process the request;
 * - **pagination**: `paginate()` walks a list with a `PageStrategy` (page numbers, offsets,
 *   cursors, SCIM `startIndex`) and yields items;
 * - **observation**: every HTTP exchange is reported to `observe` (method, path without query
 *   values, status, latency, attempt) for attempt records and metrics.
 *
 * Errors come back typed (`ConnectorError` with a `kind`), so callers decide on retry or report
 * without parsing vendor bodies.
 */
import type { HttpClient, HttpResponse } from '../platform/http-client.ts';
import { HttpTransportError } from '../platform/http-client.ts';

/** Why a vendor call failed, in terms a caller can act on. */
export type ConnectorErrorKind =
  /** 401: wrong or revoked credentials. Not retryable. */
  | 'unauthorized'
  /** 403: the plan or the token's scopes do not allow this call. Not retryable. */
  | 'forbidden'
  | 'not_found'
  /** 400/409/422: the vendor rejected the input. Not retryable. */
  | 'invalid'
  /** 429 after the attempts allowed. Retryable later. */
  | 'rate_limited'
  /** 5xx. Retryable later. */
  | 'unavailable'
  /** Network failure or timeout. Retryable later. */
  | 'transport'
  /** Anything else unexpected (a 3xx, an unreadable body). */
  | 'unexpected';

export class ConnectorError extends Error {
  override name = 'ConnectorError';
  readonly kind: ConnectorErrorKind;
  readonly status: number | undefined;
  /** The vendor's own error text (never a secret: vendors do not echo credentials). */
  readonly vendorMessage: string | undefined;
  /** Field-level messages when the vendor gave them (`{ first_name: ["can't be blank"] }`). */
  readonly fieldErrors: Record<string, string[]> | undefined;
  /** Milliseconds the vendor asked to wait, when it did. */
  readonly retryAfterMs: number | undefined;

  constructor(options: {
    kind: ConnectorErrorKind;
    message: string;
    status?: number;
    vendorMessage?: string;
    fieldErrors?: Record<string, string[]>;
    retryAfterMs?: number;
    cause?: unknown;
  }) {
    super(options.message, options.cause === undefined ? undefined : { cause: options.cause });
    this.kind = options.kind;
    this.status = options.status;
    this.vendorMessage = options.vendorMessage;
    this.fieldErrors = options.fieldErrors;
    this.retryAfterMs = options.retryAfterMs;
  }

  /** True when the same call may succeed later without any change (transport, 5xx, 429). */
  get retryable(): boolean {
    return this.kind === 'rate_limited' || this.kind === 'unavailable' || this.kind === 'transport';
  }
}

/**
 * A request budget shared by every process that calls the same destination. `acquire` resolves
 * when one request may be sent; `pause` stops everyone until the given time (after a 429).
 */
export interface RateLimiter {
  acquire(key: string, signal?: AbortSignal): Promise<void>;
  pause(key: string, untilEpochMs: number): Promise<void>;
}

/** Requests-per-window budget of one destination. */
export interface RateLimit {
  /** Requests allowed per `perSeconds`. */
  requests: number;
  perSeconds: number;
  /** Largest burst (default: a tenth of the window's budget, at least 1). */
  burst?: number;
}

/** One HTTP exchange, as reported to `observe`: no headers, no bodies, no query values. */
export interface ExchangeRecord {
  method: string;
  /** Path relative to the base URL, query values removed (`/users?query[email]=…`). */
  path: string;
  status: number | null;
  latencyMs: number;
  attempt: number;
  error?: string;
}

export interface ConnectorRequest {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path under the base URL (`/users`), or an absolute URL on the same origin (a `next` link). */
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  json?: unknown;
  headers?: Record<string, string>;
  /** Mark a POST safe to repeat (the vendor de-duplicates, or the call is a lookup). */
  idempotent?: boolean;
  /** Statuses returned to the caller instead of thrown (e.g. 404 for a lookup). */
  accept?: number[];
}

export interface ConnectorResponse<T = unknown> {
  status: number;
  body: T;
  headers: Headers;
}

export interface ConnectorHttpClientOptions {
  http: HttpClient;
  baseUrl: string;
  /** Auth headers from the connector's credentials; called per request (tokens may refresh). */
  auth: () => Record<string, string> | Promise<Record<string, string>>;
  /** Default headers for the vendor (Accept, Content-Type quirks). */
  headers?: Record<string, string>;
  limiter?: RateLimiter;
  /** The shared budget's key, usually `destination:<id>`. Required with `limiter`. */
  limiterKey?: string;
  /** Attempts per request, the first included (default 4). */
  maxAttempts?: number;
  backoffBaseMs?: number;
  backoffCapMs?: number;
  /** Longest wait a 429 may ask for before the call gives up as `rate_limited` (default 120 s). */
  maxRateLimitWaitMs?: number;
  timeoutMs?: number;
  /** Reads a vendor's error body into a message and field errors. */
  readError?: (body: unknown) => { message?: string; fieldErrors?: Record<string, string[]> };
  observe?: (record: ExchangeRecord) => void;
  signal?: AbortSignal;
}

const IDEMPOTENT_METHODS = new Set(['GET', 'PUT', 'DELETE']);
const RETRYABLE_STATUS = new Set([502, 503, 504]);

export class ConnectorHttpClient {
  readonly #options: ConnectorHttpClientOptions;
  readonly #origin: string;

  constructor(options: ConnectorHttpClientOptions) {
    if (options.limiter && !options.limiterKey) throw new Error('limiterKey is required with a limiter');
    this.#options = { ...options, baseUrl: options.baseUrl.replace(/\/+$/, '') };
    this.#origin = new URL(this.#options.baseUrl).origin;
  }

  /** Sends a request with auth, rate limiting, retries and 429 handling; throws `ConnectorError`. */
  async request<T = unknown>(request: ConnectorRequest): Promise<ConnectorResponse<T>> {
    const options = this.#options;
    const method = request.method ?? 'GET';
    const url = this.#url(request);
    const path = describePath(url, options.baseUrl);
    const maxAttempts = options.maxAttempts ?? 4;
    const retryOnFailure = request.idempotent ?? IDEMPOTENT_METHODS.has(method);
    for (let attempt = 1; ; attempt++) {
      if (options.limiter) await options.limiter.acquire(options.limiterKey as string, options.signal);
      const headers = { accept: 'application/json', ...options.headers, ...request.headers };
      Object.assign(headers, await options.auth());
      let response: HttpResponse;
      const started = performance.now();
      try {
        response = await options.http.request({
          method,
          url,
          headers,
          ...(request.json === undefined ? {} : { json: request.json }),
          retries: 0,
          ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
          ...(options.signal ? { signal: options.signal } : {}),
        });
      } catch (error) {
        const latencyMs = Math.round(performance.now() - started);
        // The transport error names the full URL; keep query values (emails) out of records.
        const message =
          error instanceof HttpTransportError ? error.message.replace(/^.*? failed: /, '') : String(error);
        options.observe?.({ method, path, status: null, latencyMs, attempt, error: message });
        if (retryOnFailure && attempt < maxAttempts && !options.signal?.aborted) {
          await sleep(backoffWithJitter(attempt, options.backoffBaseMs, options.backoffCapMs));
          continue;
        }
        throw new ConnectorError({
          kind: 'transport',
          message: `${method} ${path}: ${message}`,
          cause: error,
        });
      }
      options.observe?.({ method, path, status: response.status, latencyMs: response.latencyMs, attempt });
      const { status } = response;
      if (status === 429) {
        const waitMs = rateLimitWaitMs(response.headers) ?? backoffWithJitter(attempt, 1000, 60_000);
        const maxWait = options.maxRateLimitWaitMs ?? 120_000;
        if (options.limiter) await options.limiter.pause(options.limiterKey as string, Date.now() + waitMs);
        if (attempt < maxAttempts && waitMs <= maxWait) {
          // With a shared limiter the next acquire() waits out the pause; without one, wait here.
          if (!options.limiter) await sleep(waitMs);
          continue;
        }
        throw this.#error(response, method, path, waitMs);
      }
      if (RETRYABLE_STATUS.has(status) && retryOnFailure && attempt < maxAttempts) {
        const retryAfter = rateLimitWaitMs(response.headers);
        await sleep(
          Math.min(
            retryAfter ?? backoffWithJitter(attempt, options.backoffBaseMs, options.backoffCapMs),
            30_000,
          ),
        );
        continue;
      }
      if ((status >= 200 && status < 300) || request.accept?.includes(status)) {
        return { status, body: response.json as T, headers: response.headers };
      }
      throw this.#error(response, method, path);
    }
  }

  /**
   * Walks every page of a list. The strategy says how to read a page's items and what to ask for
   * next; the walk stops when it returns undefined (or after `maxPages`, a guard against a vendor
   * that never stops).
   */
  async *paginate<Item>(
    request: ConnectorRequest,
    strategy: PageStrategy<Item>,
    maxPages = 10_000,
  ): AsyncGenerator<Item> {
    let next: ConnectorRequest | undefined = strategy.first(request);
    for (let page = 0; next && page < maxPages; page++) {
      const response = await this.request<unknown>(next);
      const { items, next: following } = strategy.read(response.body, next);
      for (const item of items) yield item;
      next = following;
    }
  }

  /** Collects `paginate` into an array. */
  async all<Item>(
    request: ConnectorRequest,
    strategy: PageStrategy<Item>,
    maxPages?: number,
  ): Promise<Item[]> {
    const items: Item[] = [];
    for await (const item of this.paginate(request, strategy, maxPages)) items.push(item);
    return items;
  }

  #url(request: ConnectorRequest): string {
    const base = /^https?:\/\//.test(request.path)
      ? new URL(request.path)
      : new URL(this.#options.baseUrl + (request.path.startsWith('/') ? '' : '/') + request.path);
    if (base.origin !== this.#origin) {
      // A `next` link pointing elsewhere would carry our credentials to another host.
      throw new ConnectorError({ kind: 'unexpected', message: `refused to follow ${base.origin}` });
    }
    for (const [name, value] of Object.entries(request.query ?? {})) {
      if (value !== undefined) base.searchParams.set(name, String(value));
    }
    return base.toString();
  }

  #error(response: HttpResponse, method: string, path: string, retryAfterMs?: number): ConnectorError {
    const read = this.#options.readError?.(response.json) ?? readGenericError(response.json);
    const kind = kindOfStatus(response.status);
    return new ConnectorError({
      kind,
      status: response.status,
      message: `${method} ${path} answered ${response.status}${read.message ? `: ${read.message}` : ''}`,
      ...(read.message ? { vendorMessage: read.message } : {}),
      ...(read.fieldErrors ? { fieldErrors: read.fieldErrors } : {}),
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    });
  }
}

/** How to walk one vendor's lists. */
export interface PageStrategy<Item> {
  /** The first page's request (adds `page=1`, `limit=`, ...). */
  first(request: ConnectorRequest): ConnectorRequest;
  /** Items of a page, and the next page's request (undefined on the last page). */
  read(body: unknown, current: ConnectorRequest): { items: Item[]; next: ConnectorRequest | undefined };
}

/**
 * Page-number pagination with the next page number in the body, as Thinkific lists do:
 * `{ items: [...], meta: { pagination: { next_page } } }`.
 */
export function pageNumberStrategy<Item>(options: {
  pageParam?: string;
  limitParam?: string;
  limit: number;
  items: (body: unknown) => Item[];
  nextPage: (body: unknown) => number | null | undefined;
}): PageStrategy<Item> {
  const pageParam = options.pageParam ?? 'page';
  const limitParam = options.limitParam ?? 'limit';
  return {
    first: (request) => ({
      ...request,
      query: { ...request.query, [pageParam]: 1, [limitParam]: options.limit },
    }),
    read: (body, current) => {
      const next = options.nextPage(body);
      return {
        items: options.items(body),
        next: next ? { ...current, query: { ...current.query, [pageParam]: next } } : undefined,
      };
    },
  };
}

/** SCIM 2.0 ListResponse pagination (RFC 7644 §3.4.2.4): 1-based `startIndex` and `count`. */
export function scimListStrategy<Item>(count = 100): PageStrategy<Item> {
  return {
    first: (request) => ({ ...request, query: { ...request.query, startIndex: 1, count } }),
    read: (body, current) => {
      const list = (body ?? {}) as { Resources?: Item[]; totalResults?: number; startIndex?: number };
      const items = list.Resources ?? [];
      const start = Number(current.query?.startIndex ?? 1);
      const total = Number(list.totalResults ?? items.length);
      const nextStart = start + items.length;
      return {
        items,
        next:
          items.length > 0 && nextStart <= total
            ? { ...current, query: { ...current.query, startIndex: nextStart } }
            : undefined,
      };
    },
  };
}

/**
 * Milliseconds to wait after a 429 or 503: `Retry-After` (delta-seconds or HTTP date, RFC 9110
 * §10.2.3) first, then `RateLimit-Reset`.
 */
export function rateLimitWaitMs(headers: Headers, now = Date.now()): number | undefined {
  const retryAfter = headers.get('retry-after')?.trim();
  if (retryAfter) {
    if (/^\d+(\.\d+)?$/.test(retryAfter)) return Math.ceil(Number(retryAfter) * 1000);
    const date = Date.parse(retryAfter);
    if (!Number.isNaN(date)) return Math.max(0, date - now);
  }
  const reset = headers.get('ratelimit-reset') ?? headers.get('x-ratelimit-reset');
  return reset ? parseRateLimitReset(reset, now) : undefined;
}

/**
 * Reads a `RateLimit-Reset` value whatever convention the vendor follows. Thinkific's own pages
 * disagree (developers.thinkific.com: "epoch time"; support.thinkific.dev: "time until reset",
 * and the IETF RateLimit draft: delta-seconds), so the magnitude decides:
 *
 * - at least 10^12: epoch milliseconds;
 * - at least 10^9: epoch seconds (any date after 2001);
 * - above 120: milliseconds until reset (no per-minute window resets more than 120 s away);
 * - otherwise: seconds until reset.
 *
 * Returns undefined when the value is not a number.
 */
export function parseRateLimitReset(value: string, now = Date.now()): number | undefined {
  const trimmed = value.trim();
  if (!/^\d+(\.\d+)?$/.test(trimmed)) return undefined;
  const number = Number(trimmed);
  if (number >= 1e12) return Math.max(0, Math.ceil(number - now));
  if (number >= 1e9) return Math.max(0, Math.ceil(number * 1000 - now));
  if (number > 120) return Math.ceil(number);
  return Math.ceil(number * 1000);
}

/** Exponential backoff with full jitter (AWS architecture blog, "Exponential Backoff And Jitter"). */
export function backoffWithJitter(attempt: number, baseMs = 200, capMs = 10_000): number {
  return Math.round(Math.random() * Math.min(capMs, baseMs * 2 ** (attempt - 1)));
}

function kindOfStatus(status: number): ConnectorErrorKind {
  if (status === 401) return 'unauthorized';
  if (status === 403) return 'forbidden';
  if (status === 404 || status === 410) return 'not_found';
  if (status === 400 || status === 409 || status === 422) return 'invalid';
  if (status === 429) return 'rate_limited';
  if (status >= 500) return 'unavailable';
  return 'unexpected';
}

function readGenericError(body: unknown): { message?: string; fieldErrors?: Record<string, string[]> } {
  if (!body || typeof body !== 'object') return {};
  const record = body as Record<string, unknown>;
  for (const key of ['detail', 'error_description', 'message', 'error']) {
    if (typeof record[key] === 'string') return { message: record[key] as string };
  }
  return {};
}

/** The path and the query names, never the values (emails, tokens). */
function describePath(url: string, baseUrl: string): string {
  const parsed = new URL(url);
  const basePath = new URL(baseUrl).pathname.replace(/\/+$/, '');
  const path = parsed.pathname.startsWith(basePath)
    ? parsed.pathname.slice(basePath.length)
    : parsed.pathname;
  const names = [...new Set(parsed.searchParams.keys())];
  return names.length ? `${path || '/'}?${names.map((name) => `${name}=…`).join('&')}` : path || '/';
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (ms <= 0) return resolve();
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}
