/**
 * Thinkific Admin API (REST v1), declared: base URL, auth modes, pagination and rate limit.
 * Sources: shared/reference/openapi/thinkific-admin-v1.yaml and shared/reference/apis.md §1.
 */
import { pageNumberStrategy, type ResetReading } from '../http.ts';

export const THINKIFIC_MANIFEST = {
  kind: 'thinkific',
  /** https://developers.thinkific.com/api/api-documentation/ ("servers" of the OpenAPI file). */
  defaultBaseUrl: 'https://api.thinkific.com/api/public/v1',
  auth: {
    /** Private app: `X-Auth-API-Key` + `X-Auth-Subdomain`. OAuth app: `Authorization: Bearer`. */
    modes: ['api_key', 'oauth'] as const,
  },
  /** 120 requests/minute per site (higher on Plus); 429 with `RateLimit-Reset`. */
  rateLimit: { requests: 120, perSeconds: 60 },
  /**
   * Limits are per minute, so a `RateLimit-Reset` countdown above 60 is milliseconds (the pages
   * disagree on the header: see `readRateLimitReset`).
   */
  rateLimitWindowSeconds: 60,
  /** `limit` max is 250. */
  pageSize: 250,
} as const;

export interface ThinkificSettings {
  /** The site's subdomain (`acme` of acme.thinkific.com); required with an API key. */
  subdomain?: string | undefined;
  /** Override of the API base URL (a fake, a proxy). */
  baseUrl?: string | undefined;
  /**
   * How the site's `RateLimit-Reset` counts down to the reset: `seconds`, `milliseconds`, or
   * `auto` (default: learned from the values it sends). Epoch values are recognised either way.
   */
  rateLimitReset?: ResetReading | undefined;
}

export type ThinkificCredentials = { apiKey: string } | { accessToken: string };

export function thinkificAuthHeaders(
  settings: ThinkificSettings,
  credentials: ThinkificCredentials,
): Record<string, string> {
  if ('accessToken' in credentials) return { authorization: `Bearer ${credentials.accessToken}` };
  return { 'x-auth-api-key': credentials.apiKey, 'x-auth-subdomain': settings.subdomain ?? '' };
}

/** `{ items, meta: { pagination: { next_page } } }` lists. */
export function thinkificPages<Item>(map: (raw: unknown) => Item) {
  return pageNumberStrategy<Item>({
    limit: THINKIFIC_MANIFEST.pageSize,
    items: (body) => (((body as { items?: unknown[] })?.items ?? []) as unknown[]).map(map),
    nextPage: (body) =>
      (body as { meta?: { pagination?: { next_page?: number | null } } })?.meta?.pagination?.next_page,
  });
}

/**
 * Reads both 422 shapes (`{"errors":{"first_name":["can't be blank"]}}` and
 * `{"errors":["Course could not be found."]}`) and the `{"error": "..."}` of 401/403/404.
 */
export function readThinkificError(body: unknown): {
  message?: string;
  fieldErrors?: Record<string, string[]>;
} {
  if (!body || typeof body !== 'object') return {};
  const record = body as { error?: unknown; errors?: unknown };
  if (typeof record.error === 'string') return { message: record.error };
  if (Array.isArray(record.errors)) return { message: record.errors.map(String).join('; ') };
  if (record.errors && typeof record.errors === 'object') {
    const fieldErrors: Record<string, string[]> = {};
    for (const [field, messages] of Object.entries(record.errors as Record<string, unknown>)) {
      fieldErrors[field] = Array.isArray(messages) ? messages.map(String) : [String(messages)];
    }
    return {
      message: Object.entries(fieldErrors)
        .map(([field, messages]) => `${field} ${messages.join(', ')}`)
        .join('; '),
      fieldErrors,
    };
  }
  return {};
}
