/** The connector core: RateLimit-Reset readings, 429 and failure handling, and the shared limiter. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ConnectorError,
  ConnectorHttpClient,
  readRateLimitReset,
  retryAfterMs,
} from '../../src/connectors/http.ts';
import { PostgresRateLimiter } from '../../src/connectors/rate-limiter.ts';
import { HttpClient } from '../../src/platform/http-client.ts';
import { createTestHub, type TestHub } from '../support/hub.ts';

let server: Server | undefined;
let t: TestHub | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
  await t?.close();
  t = undefined;
});

/** A server answering each request with the next scripted response. */
async function scripted(
  responses: Array<{ status: number; headers?: Record<string, string>; body?: unknown }>,
) {
  const seen: Array<{ method: string; url: string; headers: Record<string, unknown> }> = [];
  server = createServer((request, response) => {
    seen.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers });
    const next = responses.shift() ?? { status: 500 };
    response.writeHead(next.status, { 'content-type': 'application/json', ...next.headers });
    response.end(next.body === undefined ? '' : JSON.stringify(next.body));
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api`, seen };
}

describe('RateLimit-Reset', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  it('reads epoch seconds and epoch milliseconds whatever the setting', () => {
    for (const reading of ['auto', 'seconds', 'milliseconds'] as const) {
      expect(readRateLimitReset(String(now / 1000 + 30), { reading, now })?.waitMs).toBe(30_000);
      expect(readRateLimitReset(String(now + 1500), { reading, now })?.waitMs).toBe(1500);
      // An epoch already past means "now".
      expect(readRateLimitReset(String(now / 1000 - 5), { reading, now })?.waitMs).toBe(0);
    }
    expect(readRateLimitReset('soon', { now })).toBeUndefined();
  });

  it('Retry-After (seconds or HTTP date) is read as RFC 9110 says', () => {
    expect(retryAfterMs(new Headers({ 'retry-after': '3' }), now)).toBe(3000);
    expect(retryAfterMs(new Headers({ 'retry-after': new Date(now + 4000).toUTCString() }), now)).toBe(4000);
    expect(retryAfterMs(new Headers({ 'ratelimit-reset': '1' }), now)).toBeUndefined();
  });

  it('reads a countdown in the unit the destination is set to', () => {
    expect(readRateLimitReset('25', { reading: 'seconds', now })).toEqual({ waitMs: 25_000 });
    expect(readRateLimitReset('25', { reading: 'milliseconds', now })).toEqual({ waitMs: 25 });
    expect(readRateLimitReset('2500', { reading: 'seconds', now })).toEqual({ waitMs: 2_500_000 });
  });

  it('auto: learns the unit from values only one unit explains, then reads the ambiguous ones with it', () => {
    const windowSeconds = 60;
    // Above the longest window: milliseconds. A fraction: seconds.
    expect(readRateLimitReset('2500', { windowSeconds, now })).toEqual({
      waitMs: 2500,
      learned: 'milliseconds',
    });
    expect(readRateLimitReset('1.5', { windowSeconds, now })).toEqual({ waitMs: 1500, learned: 'seconds' });
    // Known: applied to a value that could be either (a 429 in the window's last 25 ms is 25 ms).
    expect(readRateLimitReset('25', { windowSeconds, known: 'milliseconds', now })).toEqual({ waitMs: 25 });
    expect(readRateLimitReset('25', { windowSeconds, known: 'seconds', now })).toEqual({ waitMs: 25_000 });
    // A value contradicting what was learned teaches again.
    expect(readRateLimitReset('3000', { windowSeconds, known: 'seconds', now })).toEqual({
      waitMs: 3000,
      learned: 'milliseconds',
    });
  });

  it('auto: an ambiguous countdown is a short guess, settled by the next 429 sent after the guess', () => {
    const windowSeconds = 60;
    const first = readRateLimitReset('25', { windowSeconds, now });
    expect(first).toEqual({ waitMs: 25, guessed: true });
    const guessedResetAt = now + 25;
    // A 429 of a request already on the wire when the guess was made settles nothing.
    expect(
      readRateLimitReset('24', { windowSeconds, guessedResetAt, sentAt: now + 1, now: now + 30 }),
    ).toEqual({ waitMs: 24, guessed: true });
    // Sent after the guessed reset and still ambiguous: the same window runs on, so seconds.
    expect(
      readRateLimitReset('25', { windowSeconds, guessedResetAt, sentAt: now + 26, now: now + 30 }),
    ).toEqual({ waitMs: 25_000, learned: 'seconds' });
  });
});

describe('ConnectorHttpClient', () => {
  it('sends auth headers, waits out a 429 and retries; reports each exchange without query values', async () => {
    const { url, seen } = await scripted([
      { status: 429, headers: { 'ratelimit-reset': '1' }, body: { error: 'Too Many Requests' } },
      { status: 200, body: { items: [] } },
    ]);
    const exchanges: unknown[] = [];
    const client = new ConnectorHttpClient({
      http: new HttpClient(),
      baseUrl: url,
      auth: () => ({ 'x-auth-api-key': 'secret-key' }),
      observe: (exchange) => exchanges.push(exchange),
    });
    const response = await client.request({ path: '/users', query: { 'query[email]': 'ada@example.com' } });
    expect(response.status).toBe(200);
    expect(seen).toHaveLength(2);
    expect(seen[0]?.headers['x-auth-api-key']).toBe('secret-key');
    expect(exchanges).toMatchObject([
      { method: 'GET', path: '/users?query[email]=…', status: 429, attempt: 1 },
      { method: 'GET', path: '/users?query[email]=…', status: 200, attempt: 2 },
    ]);
    expect(JSON.stringify(exchanges)).not.toContain('ada@example.com');
  });

  it('retries a 503 for idempotent calls only, and types the final error', async () => {
    const { url, seen } = await scripted([
      { status: 503 },
      { status: 503 },
      { status: 201, body: { id: 1 } },
    ]);
    const client = new ConnectorHttpClient({
      http: new HttpClient(),
      baseUrl: url,
      auth: () => ({}),
      backoffBaseMs: 1,
    });
    const post = await client.request({ method: 'POST', path: '/users', json: {} }).catch((error) => error);
    expect(post).toBeInstanceOf(ConnectorError);
    expect(post.kind).toBe('unavailable');
    expect(post.retryable).toBe(true);
    expect(seen).toHaveLength(1);
    const put = await client.request({ method: 'PUT', path: '/users/1', json: {} });
    expect(put.status).toBe(201);
    expect(seen).toHaveLength(3);
  });

  it('refuses to follow a next link to another host (credentials stay home)', async () => {
    const { url } = await scripted([]);
    const client = new ConnectorHttpClient({
      http: new HttpClient(),
      baseUrl: url,
      auth: () => ({ authorization: 'Bearer x' }),
    });
    const error = await client.request({ path: 'http://example.org/steal' }).catch((e) => e);
    expect(error).toBeInstanceOf(ConnectorError);
    expect(error.kind).toBe('unexpected');
  });
});

describe('PostgresRateLimiter', { timeout: 120_000 }, () => {
  it('one bucket per key shared by every limiter on the database, and a pause stops them all', async () => {
    t = await createTestHub();
    const limit = { requests: 1, perSeconds: 60, burst: 1 };
    // Two limiters stand for two hub processes: they share only the database.
    const first = new PostgresRateLimiter(t.hub.database, limit);
    const second = new PostgresRateLimiter(t.hub.database, limit);
    expect(await first.tryTake('destination:a')).toBe(0);
    const wait = await second.tryTake('destination:a');
    expect(wait).toBeGreaterThan(50_000);
    expect(wait).toBeLessThanOrEqual(60_000);
    // Another destination has its own budget.
    expect(await second.tryTake('destination:b')).toBe(0);
    // A 429 on b pauses b for everyone.
    await first.pause('destination:b', Date.now() + 30_000);
    const paused = await second.tryTake('destination:b');
    expect(paused).toBeGreaterThan(25_000);
  });
});
