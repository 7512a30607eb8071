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
 * - **429 handling**: the wait the vendor asks for (`Retry-After`, or `RateLimit-Reset` read per
 *   destination, see `readRateLimitReset`) is pushed into the shared limiter so every process
 *   backs off, then the request is retried. From the moment a 429 is received, no request of that
 *   destination leaves this process until the reset, even one that already holds a token;
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
  /**
   * Stops every request of `key` until the given time. Implementations record the pause for this
   * process synchronously, before their first `await`, so `pausedUntil` sees it at once.
   */
  pause(key: string, untilEpochMs: number): Promise<void>;
  /**
   * The end of a pause this process knows of (epoch ms), read synchronously just before a request
   * is sent: a 429 received while a request waited for its token holds that request back too.
   */
  pausedUntil?(key: string): number;
  /**
   * The `RateLimit-Reset` unit learned for `key` and shared by every process, as known here (as of
   * the last token taken). Synchronous: it is read the moment a 429 arrives.
   */
  resetUnit?(key: string): ResetUnit | undefined;
  /** Records the unit for every process. */
  learnResetUnit?(key: string, unit: ResetUnit): Promise<void>;
}

/** How a vendor writes a `RateLimit-Reset` that counts down to the reset. */
export type ResetUnit = 'seconds' | 'milliseconds';

/**
 * How a destination's `RateLimit-Reset` is read: fixed by its setting, or `auto` (learned from the
 * values it sends, see `readRateLimitReset`).
 */
export type ResetReading = 'auto' | ResetUnit;
export const RESET_READINGS = ['auto', 'seconds', 'milliseconds'] as const;

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
  /** How this destination's `RateLimit-Reset` counts down (default `auto`). */
  rateLimitReset?: ResetReading;
  /**
   * The vendor's longest rate-limit window, in seconds (default 120): a countdown above it can only
   * be milliseconds. Thinkific counts per minute, so 60.
   */
  rateLimitWindowSeconds?: number;
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
  /** The reset unit learned by this client, when its limiter cannot keep it for everyone. */
  #learnedResetUnit: ResetUnit | undefined;

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
      const headers = { accept: 'application/json', ...options.headers, ...request.headers };
      for (;;) {
        if (options.limiter) await options.limiter.acquire(options.limiterKey as string, options.signal);
        Object.assign(headers, await options.auth());
        // A 429 may have arrived while this request waited for its token: then the token is
        // dropped and the request waits for the reset. Checked synchronously with the send below,
        // so nothing can slip between the check and the request leaving.
        const pausedUntil = options.limiter?.pausedUntil?.(options.limiterKey as string) ?? 0;
        if (pausedUntil <= Date.now() || options.signal?.aborted) break;
        await sleep(pausedUntil - Date.now(), options.signal);
      }
      let response: HttpResponse;
      const started = performance.now();
      const sentAt = Date.now();
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
        // Synchronous up to the pause: from here on no request of this destination leaves this
        // process until the reset (the limiter records the pause locally before writing it).
        const reset = this.#readReset(response.headers, sentAt);
        const waitMs = reset?.waitMs ?? backoffWithJitter(attempt, 1000, 60_000);
        const maxWait = options.maxRateLimitWaitMs ?? 120_000;
        const pausing = options.limiter?.pause(options.limiterKey as string, Date.now() + waitMs);
        if (reset?.learned) this.#learnedResetUnit = reset.learned;
        await Promise.all([
          pausing,
          reset?.learned && options.limiter?.learnResetUnit?.(options.limiterKey as string, reset.learned),
        ]);
        if (attempt < maxAttempts && waitMs <= maxWait) {
          // With a shared limiter the next acquire() waits out the pause; without one, wait here.
          if (!options.limiter) await sleep(waitMs);
          continue;
        }
        throw this.#error(response, method, path, waitMs);
      }
      if (RETRYABLE_STATUS.has(status) && retryOnFailure && attempt < maxAttempts) {
        const retryAfter = retryAfterMs(response.headers);
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

  /**
   * The wait a 429 asks for: `Retry-After`, else `RateLimit-Reset` read the way this destination
   * writes it (its setting, or the unit learned, see `readRateLimitReset`). Synchronous, so the
   * pause is in place before any other request of the process runs.
   */
  #readReset(headers: Headers, sentAt: number): ResetDecision | undefined {
    const retryAfter = retryAfterMs(headers);
    if (retryAfter !== undefined) return { waitMs: retryAfter };
    const value = headers.get('ratelimit-reset') ?? headers.get('x-ratelimit-reset');
    if (!value) return undefined;
    const { limiter, limiterKey } = this.#options;
    const reading = this.#options.rateLimitReset ?? 'auto';
    const key = limiterKey ?? this.#origin;
    const known =
      reading !== 'auto'
        ? undefined
        : ((limiter?.resetUnit ? limiter.resetUnit(key) : undefined) ?? this.#learnedResetUnit);
    const decision = readRateLimitReset(value, {
      reading,
      known,
      windowSeconds: this.#options.rateLimitWindowSeconds ?? 120,
      guessedResetAt: guessedResets.get(key),
      sentAt,
    });
    if (decision?.guessed) {
      guessedResets.set(key, Math.max(guessedResets.get(key) ?? 0, Date.now() + decision.waitMs));
    } else if (decision && reading === 'auto') {
      guessedResets.delete(key);
    }
    return decision;
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

/** Milliseconds from `Retry-After` (delta-seconds or HTTP date, RFC 9110 §10.2.3), if sent. */
export function retryAfterMs(headers: Headers, now = Date.now()): number | undefined {
  const retryAfter = headers.get('retry-after')?.trim();
  if (!retryAfter) return undefined;
  if (/^\d+(\.\d+)?$/.test(retryAfter)) return Math.ceil(Number(retryAfter) * 1000);
  const date = Date.parse(retryAfter);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * Per destination, when the reset read from an ambiguous `RateLimit-Reset` (a guess, see below)
 * falls. Process memory is enough: it only decides whether a later 429 settles the guess.
 */
const guessedResets = new Map<string, number>();

/** How long a guess stays open: no per-minute window's countdown spans more. */
const GUESS_OPEN_MS = 120_000;

export interface ResetDecision {
  waitMs: number;
  /** The countdown unit this value taught, to remember for the destination. */
  learned?: ResetUnit;
  /** The value was ambiguous and read as milliseconds, a guess a later 429 may settle. */
  guessed?: boolean;
}

/**
 * Reads a `RateLimit-Reset` value. Thinkific's own pages disagree on it (developers.thinkific.com:
 * "epoch time"; support.thinkific.dev: "time in milliseconds until reset"; the IETF RateLimit draft:
 * delta-seconds), so:
 *
 * - at least 10^12 is epoch milliseconds and at least 10^9 epoch seconds, whatever the setting (no
 *   countdown is 31 years long);
 * - a countdown is read in the destination's `reading` when it is `seconds` or `milliseconds`;
 * - with `auto`, the destination's unit is learned from the values it sends: one above
 *   `windowSeconds` (the vendor's longest window) can only be milliseconds, a fraction only
 *   seconds, and a learned unit (`known`) reads the values that could be either. Until one is
 *   learned, an ambiguous value is read as milliseconds, since a 429 in a window's last moments
 *   must not stall the destination for that many seconds. The guess is settled by the next 429 of
 *   a request sent after the guessed reset (`guessedResetAt`, `sentAt`): under milliseconds the
 *   window has reset, so that 429 names most of a new window (above `windowSeconds`: learned);
 *   an ambiguous value again means the same window is still running: the unit is seconds.
 *
 * Returns undefined when the value is not a number.
 */
export function readRateLimitReset(
  value: string,
  options: {
    reading?: ResetReading;
    known?: ResetUnit | undefined;
    windowSeconds?: number;
    guessedResetAt?: number | undefined;
    sentAt?: number;
    now?: number;
  } = {},
): ResetDecision | undefined {
  const trimmed = value.trim();
  if (!/^\d+(\.\d+)?$/.test(trimmed)) return undefined;
  const number = Number(trimmed);
  const now = options.now ?? Date.now();
  if (number >= 1e12) return { waitMs: Math.max(0, Math.ceil(number - now)) };
  if (number >= 1e9) return { waitMs: Math.max(0, Math.ceil(number * 1000 - now)) };
  const seconds = { waitMs: Math.ceil(number * 1000) };
  const milliseconds = { waitMs: Math.ceil(number) };
  const reading = options.reading ?? 'auto';
  if (reading === 'seconds') return seconds;
  if (reading === 'milliseconds') return milliseconds;
  const learn = (unit: ResetUnit) => ({
    ...(unit === 'seconds' ? seconds : milliseconds),
    ...(options.known === unit ? {} : { learned: unit }),
  });
  if (!Number.isInteger(number)) return learn('seconds');
  if (number > (options.windowSeconds ?? 120)) return learn('milliseconds');
  if (options.known) return options.known === 'seconds' ? seconds : milliseconds;
  const guess = options.guessedResetAt;
  const sentAt = options.sentAt ?? now;
  if (guess !== undefined && sentAt >= guess && sentAt - guess <= GUESS_OPEN_MS) return learn('seconds');
  return { ...milliseconds, guessed: true };
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
