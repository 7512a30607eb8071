/**
 * Thinkific's rate limit against the fake's fixed windows: how `RateLimit-Reset` is read per
 * destination (seconds or milliseconds until the reset, set or learned), and that after a 429 no
 * request of the destination leaves until the reset, with several jobs sending at once.
 */
import { sql } from 'drizzle-orm';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  ConnectorError,
  type ExchangeRecord,
  type RateLimiter,
  type ResetReading,
  type ResetUnit,
} from '../../src/connectors/http.ts';
import { PostgresRateLimiter } from '../../src/connectors/rate-limiter.ts';
import { ThinkificConnector } from '../../src/connectors/thinkific/client.ts';
import { queryRows } from '../../src/platform/db/client.ts';
import { HttpClient, type HttpRequest, type HttpResponse } from '../../src/platform/http-client.ts';
import { FakeThinkific, type FakeThinkificOptions } from '../fakes/thinkific/server.ts';
import { createTestHub, type TestHub } from '../support/hub.ts';

let fake: FakeThinkific | undefined;
let hub: TestHub | undefined;
afterEach(async () => {
  await fake?.stop();
  fake = undefined;
});
afterAll(async () => hub?.close());
/** One hub (its database) for the tests that need one. */
async function database() {
  hub ??= await createTestHub();
  return hub.hub.database;
}

/** An in-process limiter that records the pauses the connector core asks for. */
class RecordingLimiter implements RateLimiter {
  readonly pauses: number[] = [];
  #until = 0;
  #unit: ResetUnit | undefined;
  async acquire(): Promise<void> {
    while (this.#until > Date.now()) await new Promise((r) => setTimeout(r, this.#until - Date.now()));
  }
  async pause(_key: string, untilEpochMs: number): Promise<void> {
    this.pauses.push(untilEpochMs - Date.now());
    this.#until = Math.max(this.#until, untilEpochMs);
  }
  pausedUntil(): number {
    return this.#until;
  }
  /** The next call is another site: its window has nothing to do with this pause. */
  forgetPause(): void {
    this.#until = 0;
  }
  resetUnit(): ResetUnit | undefined {
    return this.#unit;
  }
  async learnResetUnit(_key: string, unit: ResetUnit): Promise<void> {
    this.#unit = unit;
  }
}

const WINDOW_MS = 60_000;
/** A fake whose clock stands still `left` ms before the end of a one-request window. */
async function siteAt(left: number, resetStyle: FakeThinkificOptions['resetStyle']) {
  const end = Math.ceil(Date.now() / WINDOW_MS + 1) * WINDOW_MS;
  fake = await new FakeThinkific({
    rateLimit: { requests: 1, perSeconds: WINDOW_MS / 1000 },
    resetStyle,
    clock: () => end - left,
  }).start();
  return fake;
}

/** Each limiter is one destination (its own key: what one learns stays with it). */
const keys = new WeakMap<RateLimiter, string>();
function connectorFor(site: FakeThinkific, reading: ResetReading | undefined, limiter: RateLimiter) {
  if (!keys.has(limiter)) keys.set(limiter, `destination:test-${Math.random().toString(36).slice(2)}`);
  return new ThinkificConnector({
    http: new HttpClient(),
    settings: {
      baseUrl: site.url,
      subdomain: site.subdomain,
      ...(reading ? { rateLimitReset: reading } : {}),
    },
    credentials: { apiKey: site.apiKey },
    limiter,
    limiterKey: keys.get(limiter) as string,
    maxAttempts: 1,
  });
}

/** The wait the connector core computed for the 429 (the request is not retried: maxAttempts 1). */
async function waitAfter429(connector: ThinkificConnector): Promise<number | undefined> {
  const error = await connector.testConnection().catch((e) => e);
  expect(error).toBeInstanceOf(ConnectorError);
  expect(error.kind).toBe('rate_limited');
  return error.retryAfterMs;
}

describe('RateLimit-Reset read per destination', () => {
  it('a site counting in milliseconds: a 429 in the window’s last 25 ms waits 25 ms, not 25 s', async () => {
    const site = await siteAt(25, 'milliseconds');
    for (const reading of ['milliseconds', 'auto'] as const) {
      const limiter = new RecordingLimiter();
      const thinkific = connectorFor(site, reading, limiter);
      if (reading === 'milliseconds') await thinkific.testConnection(); // the window's one request
      expect(await waitAfter429(thinkific)).toBe(25);
      expect(limiter.pauses).toHaveLength(1);
      expect(limiter.pauses[0]).toBeLessThanOrEqual(25);
    }
    expect(site.log.map((entry) => entry.status)).toEqual([200, 429, 429]);
  });

  it('auto: a milliseconds site is learned from a countdown only milliseconds explain', async () => {
    const limiter = new RecordingLimiter();
    let site = await siteAt(30_000, 'milliseconds');
    await connectorFor(site, undefined, limiter).testConnection();
    expect(await waitAfter429(connectorFor(site, undefined, limiter))).toBe(30_000);
    expect(limiter.resetUnit()).toBe('milliseconds');
    limiter.forgetPause();
    await site.stop();
    site = await siteAt(25, 'milliseconds');
    await connectorFor(site, undefined, limiter).testConnection();
    expect(await waitAfter429(connectorFor(site, undefined, limiter))).toBe(25);
  });

  it('a site counting in seconds: 25 is 25 s, set or learned after one short guess', async () => {
    const site = await siteAt(25_000, 'seconds');
    const set = new RecordingLimiter();
    await connectorFor(site, 'seconds', set).testConnection();
    expect(await waitAfter429(connectorFor(site, 'seconds', set))).toBe(25_000);

    // Auto: the first ambiguous 25 is read as 25 ms; the retry, sent after that guessed reset,
    // meets a 429 saying 25 again (the window did not reset): seconds, learned for the destination.
    const learned = new RecordingLimiter();
    const thinkific = new ThinkificConnector({
      http: new HttpClient(),
      settings: { baseUrl: site.url, subdomain: site.subdomain },
      credentials: { apiKey: site.apiKey },
      limiter: learned,
      limiterKey: 'destination:seconds-site',
      maxAttempts: 2,
    });
    const error = await thinkific.testConnection().catch((e) => e);
    expect(error.retryAfterMs).toBe(25_000);
    expect(learned.pauses).toHaveLength(2);
    expect(learned.pauses[0]).toBeLessThanOrEqual(25);
    expect(learned.resetUnit()).toBe('seconds');
    learned.forgetPause();
    // Once learned, the next ambiguous value is read as seconds straight away.
    expect(await waitAfter429(connectorFor(site, undefined, learned))).toBe(25_000);
  });

  it('the learned unit is kept in the database for every process', async () => {
    const db = await database();
    const limiter = new PostgresRateLimiter(db, { requests: 100, perSeconds: 1 });
    const key = 'destination:shared-unit';
    await limiter.acquire(key);
    await limiter.learnResetUnit(key, 'milliseconds');
    const stored = await queryRows<{ reset_unit: string }>(
      db.db,
      sql`select reset_unit from connector_rate_buckets where key = ${key}`,
    );
    expect(stored[0]?.reset_unit).toBe('milliseconds');
    // Another process learning otherwise: this one knows it from its next token.
    await db.db.execute(sql`update connector_rate_buckets set reset_unit = 'seconds' where key = ${key}`);
    await limiter.acquire(key);
    expect(limiter.resetUnit(key)).toBe('seconds');
  });
});

/**
 * One job's transport: records in a timeline shared by every job each request leaving, tagged with
 * an id the fake logs (`X-Request-Id`).
 */
class TimelineHttp extends HttpClient {
  static #next = 0;
  readonly #events: Array<{ kind: 'send' | '429'; id: string }>;
  lastId = '';
  constructor(events: Array<{ kind: 'send' | '429'; id: string }>) {
    super();
    this.#events = events;
  }
  override request(request: HttpRequest): Promise<HttpResponse> {
    this.lastId = `req-${++TimelineHttp.#next}`;
    this.#events.push({ kind: 'send', id: this.lastId });
    return super.request({ ...request, headers: { ...request.headers, 'x-request-id': this.lastId } });
  }
}

describe('after a 429, nothing leaves until the reset', { timeout: 120_000 }, () => {
  it('several jobs at once: no request leaves between a 429 coming back and the window’s end', async () => {
    const db = await database();
    // The site allows 8 requests per one-second window; the hub's budget is far above it.
    fake = await new FakeThinkific({
      rateLimit: { requests: 8, perSeconds: 1 },
      resetStyle: 'epoch',
    }).start();
    const site = fake;
    const events: Array<{ kind: 'send' | '429'; id: string }> = [];
    const limiter = new PostgresRateLimiter(db, { requests: 1000, perSeconds: 1, burst: 100 });
    const jobs = 6;
    const perJob = 8;
    await Promise.all(
      Array.from({ length: jobs }, async () => {
        // One connector per job, as the orchestrator builds them, sharing the destination's limiter.
        const http = new TimelineHttp(events);
        const thinkific = new ThinkificConnector({
          http,
          settings: { baseUrl: site.url, subdomain: site.subdomain },
          credentials: { apiKey: site.apiKey },
          limiter,
          limiterKey: 'destination:busy',
          maxAttempts: 20,
          // Called the moment the connector core reads an answer, before it acts on it.
          observe: (exchange: ExchangeRecord) => {
            if (exchange.status === 429) events.push({ kind: '429', id: http.lastId });
          },
        });
        for (let index = 0; index < perJob; index++) await thinkific.testConnection();
      }),
    );
    const logged = new Map(site.log.map((entry) => [entry.requestId, entry]));
    // Per window of the fake: when the client first learned of a 429 in it; then every request the
    // fake rejected in that window must have left before.
    const firstKnown = new Map<number, number>();
    const late: string[] = [];
    events.forEach((event, position) => {
      const entry = logged.get(event.id);
      if (entry?.window === null || entry?.window === undefined) return;
      if (event.kind === '429') {
        if (!firstKnown.has(entry.window)) firstKnown.set(entry.window, position);
      } else if (entry.status === 429 && position > (firstKnown.get(entry.window) ?? Infinity)) {
        late.push(`${event.id} in window ${entry.window}`);
      }
    });
    expect(site.rejected).toBeGreaterThan(0);
    expect(late).toEqual([]);
    // What a window still rejects was already on the wire when its first 429 came back.
    for (const rejected of site.rejectedPerWindow().values()) expect(rejected).toBeLessThanOrEqual(jobs);
    expect(site.log.filter((entry) => entry.status === 200)).toHaveLength(jobs * perJob);
  });
});
