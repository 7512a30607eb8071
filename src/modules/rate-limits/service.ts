/**
 * Abuse limits for the surfaces anyone can reach: the admin API, SCIM, the provider's
 * client-authenticated endpoints (token, introspection, revocation, PAR), the sign-in pages and the
 * setup portal.
 *
 * Two kinds:
 *
 * - Request rates, per client IP and per credential (an API key or console session, a SCIM
 *   directory's token, an OAuth client, a setup link), counted per process in memory
 *   (request-limits.ts). N processes behind a load balancer admit up to N times the rate; that is
 *   acceptable for a flood guard and costs no database round trip.
 * - Failed authentications, counted in the database (repository.ts) so every process sees them:
 *   per credential from one IP (AUTH_FAILURES_PER_CREDENTIAL) and per IP whatever the credential
 *   (AUTH_FAILURES_PER_IP). Past a threshold, attempts are refused before the credential is even
 *   checked, for a block that doubles with each further failure. An attacker elsewhere cannot lock
 *   a legitimate client out: the credential is only blocked from the attacker's address.
 *
 * A refusal is a `RateLimited` error (429, code `rate_limited`, the seconds to wait); each surface
 * renders it in its own format with a Retry-After header. Credentials are keyed by ids that are not
 * secrets (a key id, a directory id, a client id) or by a SHA-256 of the secret (setup links), and
 * by a SHA-256 prefix in the database: no raw secret is ever a key or logged.
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Counter } from 'prom-client';
import type { Config } from '../../config.ts';
import type { Database } from '../../platform/db/client.ts';
import { TooManyRequests } from '../../platform/errors.ts';
import type { AuthenticationLimits } from '../../platform/http/auth.ts';
import { createCounter, type Metrics } from '../../platform/http/metrics.ts';
import type { Logger } from '../../platform/logging.ts';
import { deleteExpiredFailures, type FailurePolicy, findBlockedKeys, recordFailures } from './repository.ts';
import { ipKey, RequestLimiter, registerRateLimitPlugin } from './request-limits.ts';

export const SURFACES = ['admin_api', 'scim', 'oauth', 'login', 'setup'] as const;
/** A group of endpoints with its own limits and its own error format. */
export type Surface = (typeof SURFACES)[number];

/**
 * Why a request was refused: its IP or its credential went over the request rate, or failed to
 * authenticate too often (from that IP, or with that credential from that IP).
 */
export type LimitReason = 'ip' | 'credential' | 'failed_auth_ip' | 'failed_auth_credential';

const DETAILS: Record<LimitReason, string> = {
  ip: 'Too many requests from your address.',
  credential: 'Too many requests with this credential.',
  failed_auth_ip: 'Too many failed authentications from your address; further attempts are paused.',
  failed_auth_credential:
    'Too many failed authentications of this credential from your address; further attempts are paused.',
};

/** A request refused by an abuse limit. */
export class RateLimited extends TooManyRequests {
  readonly surface: Surface;
  readonly reason: LimitReason;
  /** Whole seconds to wait (the Retry-After header). */
  readonly retryAfterSeconds: number;

  constructor(surface: Surface, reason: LimitReason, retryAfterSeconds: number) {
    super({
      code: 'rate_limited',
      detail: `${DETAILS[reason]} Try again in ${retryAfterSeconds} second${retryAfterSeconds === 1 ? '' : 's'}.`,
      fix: reason.startsWith('failed_auth')
        ? 'Check the credential before trying again, and wait as long as the Retry-After header says.'
        : 'Slow down: wait as long as the Retry-After header says, then spread requests out.',
      extra: { retryAfter: retryAfterSeconds },
    });
    this.surface = surface;
    this.reason = reason;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** Sets Retry-After (RFC 9110 §10.2.3, delay-seconds) for a refusal. */
export function setRetryAfter(reply: FastifyReply, error: RateLimited): void {
  reply.header('retry-after', String(error.retryAfterSeconds));
}

/**
 * How long this process reuses the database's "not blocked" answer for a key. A pause started by
 * another process takes effect here within this time; one started here, at once (the process's
 * own failures clear its answers), so a single process is exact. It spares the protocol surfaces a
 * database round trip per request: a busy IdP or application checks its keys once a second.
 */
const NOT_BLOCKED_REUSE_MS = 1000;
/** Keys whose answer is remembered; past it the oldest are forgotten. */
const REMEMBERED_KEYS = 10_000;

interface KnownState {
  /** Until when this answer holds (ms since the epoch, this process's clock). */
  until: number;
  blocked: boolean;
}

interface SurfaceLimits {
  ip: RequestLimiter;
  credential: RequestLimiter;
}

export class RateLimits {
  readonly #config: Config;
  readonly #database: Database;
  readonly #logger: Logger;
  readonly #refused: Counter<string>;
  readonly #failures: Counter<string>;
  readonly #policy: FailurePolicy;
  readonly #known = new Map<string, KnownState>();
  #limits: Record<Surface, SurfaceLimits> | undefined;

  constructor(deps: { config: Config; database: Database; metrics: Metrics; logger: Logger }) {
    this.#config = deps.config;
    this.#database = deps.database;
    this.#logger = deps.logger;
    this.#refused = createCounter(
      deps.metrics,
      'switchboard_rate_limited_total',
      'Requests refused with 429 by an abuse limit, by surface and reason (ip, credential, failed_auth_ip, failed_auth_credential).',
      ['surface', 'reason'],
    );
    this.#failures = createCounter(
      deps.metrics,
      'switchboard_auth_failures_total',
      'Failed authentications counted toward the abuse limits, by surface.',
      ['surface'],
    );
    this.#policy = {
      windowSeconds: deps.config.AUTH_FAILURES_WINDOW_SECONDS,
      firstBlockSeconds: deps.config.AUTH_FAILURES_BLOCK_SECONDS,
      maxBlockSeconds: Math.max(
        deps.config.AUTH_FAILURES_MAX_BLOCK_SECONDS,
        deps.config.AUTH_FAILURES_BLOCK_SECONDS,
      ),
    };
  }

  /** Registers @fastify/rate-limit on the app and builds each surface's request limits. */
  async register(app: FastifyInstance): Promise<void> {
    await registerRateLimitPlugin(app);
    const config = this.#config;
    const limits = (ip: number, credential: number): SurfaceLimits => ({
      ip: new RequestLimiter(app, ip),
      credential: new RequestLimiter(app, credential),
    });
    this.#limits = {
      admin_api: limits(config.RATE_LIMIT_ADMIN_API_PER_IP, config.RATE_LIMIT_ADMIN_API_PER_KEY),
      scim: limits(config.RATE_LIMIT_SCIM_PER_IP, config.RATE_LIMIT_SCIM_PER_TOKEN),
      oauth: limits(config.RATE_LIMIT_OAUTH_PER_IP, config.RATE_LIMIT_OAUTH_PER_CLIENT),
      login: limits(config.RATE_LIMIT_LOGIN_PER_IP, 0),
      setup: limits(config.RATE_LIMIT_SETUP_PER_IP, config.RATE_LIMIT_SETUP_PER_LINK),
    };
  }

  /** Counts a request from `ip`; throws RateLimited past the surface's per-IP rate. */
  async limitIp(surface: Surface, ip: string | undefined, reply?: FastifyReply): Promise<void> {
    const wait = await this.#surface(surface).ip.hit(ipKey(ip));
    if (wait !== undefined) this.#refuse(surface, 'ip', wait, reply);
  }

  /**
   * Counts a request made with `credential` (an id that is not a secret, or a hash of the secret);
   * throws RateLimited past the surface's per-credential rate.
   */
  async limitCredential(surface: Surface, credential: string, reply?: FastifyReply): Promise<void> {
    const wait = await this.#surface(surface).credential.hit(credential);
    if (wait !== undefined) this.#refuse(surface, 'credential', wait, reply);
  }

  /**
   * Before a credential is checked: throws RateLimited while `ip` (on this surface), or
   * `credential` from `ip`, is blocked after repeated failures in any hub process.
   */
  async assertNotBlocked(
    surface: Surface,
    ip: string | undefined,
    credential?: string,
    reply?: FastifyReply,
  ): Promise<void> {
    const keys = this.#failureKeys(surface, ip, credential).map((entry) => entry.key);
    const now = Date.now();
    const blocked = new Map<string, number>();
    const unknown: string[] = [];
    for (const key of keys) {
      const known = this.#known.get(key);
      if (!known || known.until <= now) unknown.push(key);
      else if (known.blocked) blocked.set(key, known.until);
    }
    if (unknown.length > 0) {
      const found = await findBlockedKeys(this.#database, unknown);
      const answered = Date.now();
      for (const key of unknown) {
        const row = found.find((candidate) => candidate.key === key);
        const state = row
          ? { until: answered + row.remainingMs, blocked: true }
          : { until: answered + NOT_BLOCKED_REUSE_MS, blocked: false };
        this.#remember(key, state);
        if (state.blocked) blocked.set(key, state.until);
      }
    }
    if (blocked.size === 0) return;
    const [key, until] = [...blocked].reduce((a, b) => (b[1] > a[1] ? b : a));
    const reason = key === keys[0] ? 'failed_auth_ip' : 'failed_auth_credential';
    this.#refuse(surface, reason, Math.max(1, Math.ceil((until - Date.now()) / 1000)), reply);
  }

  /** Counts a failed authentication from `ip` (and of `credential` from `ip`), for every process. */
  async recordFailure(surface: Surface, ip: string | undefined, credential?: string): Promise<void> {
    this.#failures.inc({ surface });
    const keys = this.#failureKeys(surface, ip, credential);
    const counted = await recordFailures(this.#database, keys, this.#policy);
    for (const entry of keys) this.#known.delete(entry.key);
    for (const row of counted) {
      const entry = keys.find((candidate) => candidate.key === row.key);
      if (entry && row.failures === entry.blockAfter) {
        this.#logger.warn(
          { surface, ip: ipKey(ip), scope: entry === keys[0] ? 'ip' : 'credential' },
          'repeated failed authentications: slowing down further attempts',
        );
      }
    }
  }

  /**
   * The admin API's limits around its guard: the IP's rate and failure block before any
   * credential is looked at, a failure per unknown or revoked API key, then the rate of the API key
   * or console session.
   */
  adminApiLimits(): AuthenticationLimits {
    return {
      before: async (request, reply) => {
        await this.limitIp('admin_api', request.ip, reply);
        await this.assertNotBlocked('admin_api', request.ip, undefined, reply);
      },
      failed: (request) => this.recordFailure('admin_api', request.ip),
      authenticated: (_request, reply, principal) =>
        this.limitCredential('admin_api', `${principal.kind}:${principal.id}`, reply),
    };
  }

  /** Deletes failure counts whose run is over and that block nothing. */
  async cleanUp(): Promise<number> {
    const before = new Date(Date.now() - this.#policy.windowSeconds * 1000);
    return deleteExpiredFailures(this.#database.db, before);
  }

  /** Worker loop running cleanUp every 10 minutes. */
  cleanupTask(): { name: string; start(): Promise<() => Promise<void>> } {
    return {
      name: 'rate-limits-cleanup',
      start: async () => {
        const run = () =>
          this.cleanUp()
            .then((deleted) => this.#logger.debug({ deleted }, 'rate limits cleanup'))
            .catch((error) => this.#logger.warn({ err: error }, 'rate limits cleanup failed'));
        const timer = setInterval(run, 10 * 60 * 1000);
        timer.unref();
        return async () => clearInterval(timer);
      },
    };
  }

  #surface(surface: Surface): SurfaceLimits {
    if (!this.#limits) throw new Error('rate limits are used before RateLimits.register(app)');
    return this.#limits[surface];
  }

  #remember(key: string, state: KnownState): void {
    this.#known.delete(key);
    this.#known.set(key, state);
    if (this.#known.size > REMEMBERED_KEYS) {
      const oldest = this.#known.keys().next();
      if (!oldest.done) this.#known.delete(oldest.value);
    }
  }

  /** The IP's key first, then the credential-from-IP key. */
  #failureKeys(
    surface: Surface,
    ip: string | undefined,
    credential: string | undefined,
  ): Array<{ key: string; blockAfter: number }> {
    const address = ipKey(ip);
    const keys = [{ key: `${surface}:ip:${address}`, blockAfter: this.#config.AUTH_FAILURES_PER_IP }];
    if (credential !== undefined) {
      const digest = createHash('sha256').update(credential, 'utf8').digest('hex').slice(0, 32);
      keys.push({
        key: `${surface}:credential:${digest}:${address}`,
        blockAfter: this.#config.AUTH_FAILURES_PER_CREDENTIAL,
      });
    }
    return keys;
  }

  #refuse(surface: Surface, reason: LimitReason, seconds: number, reply: FastifyReply | undefined): never {
    this.#refused.inc({ surface, reason });
    const error = new RateLimited(surface, reason, seconds);
    if (reply) setRetryAfter(reply, error);
    throw error;
  }
}
