/**
 * Request-rate limits per process, on @fastify/rate-limit's store (a fixed one-minute window per
 * key, in an LRU map of the 5,000 most recent keys per limit). Registered with `global: false`: no route is limited by the plugin itself;
 * each surface asks through `RequestLimiter.hit`, so one request can count against two limits (its
 * IP and its credential) and each surface renders the refusal in its own error format.
 */
import fastifyRateLimit, { normalizeIP } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';

const WINDOW_MS = 60_000;
/** IPv6 clients are counted per /64: one host can use every address of its prefix. */
const IPV6_SUBNET = 64;

/** What @fastify/rate-limit's check reads of a request: the key and the route's own config. */
interface LimitSubject {
  key: string;
  routeOptions: { config: Record<string, never> };
}

type Check = ReturnType<FastifyInstance['createRateLimit']>;

export class RequestLimiter {
  readonly max: number;
  readonly #check: Check | undefined;

  /** `max` requests per minute per key; 0 never limits. */
  constructor(app: FastifyInstance, max: number) {
    this.max = max;
    this.#check =
      max > 0
        ? app.createRateLimit({
            max,
            timeWindow: WINDOW_MS,
            keyGenerator: (request) => (request as unknown as LimitSubject).key,
          })
        : undefined;
  }

  /** Counts one request on `key`; the seconds to wait when it is over the limit, else undefined. */
  async hit(key: string): Promise<number | undefined> {
    if (!this.#check) return undefined;
    const subject: LimitSubject = { key, routeOptions: { config: {} } };
    const result = await this.#check(subject as unknown as FastifyRequest);
    if (result.isAllowed || !result.isExceeded) return undefined;
    return Math.max(1, result.ttlInSeconds);
  }
}

/** Registers the plugin once on the root instance (its decorators are then visible everywhere). */
export async function registerRateLimitPlugin(app: FastifyInstance): Promise<void> {
  await app.register(fastifyRateLimit, { global: false });
}

/** The key of a client address: IPv4 as is, IPv6 by its /64, IPv4-mapped IPv6 as IPv4. */
export function ipKey(ip: string | undefined): string {
  if (!ip) return 'unknown';
  try {
    return normalizeIP(ip, IPV6_SUBNET);
  } catch {
    return ip;
  }
}
