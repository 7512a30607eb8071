/** The connector core: RateLimit-Reset readings, 429 and failure handling, and the shared limiter. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ConnectorError,
  ConnectorHttpClient,
  parseRateLimitReset,
  rateLimitWaitMs,
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
  it('reads epoch seconds, epoch milliseconds, seconds and milliseconds until reset', () => {
    expect(parseRateLimitReset(String(now / 1000 + 30), now)).toBe(30_000);
    expect(parseRateLimitReset(String(now + 1500), now)).toBe(1500);
    expect(parseRateLimitReset('12', now)).toBe(12_000);
    expect(parseRateLimitReset('2500', now)).toBe(2500);
    expect(parseRateLimitReset('soon', now)).toBeUndefined();
    // An epoch already past means "now".
    expect(parseRateLimitReset(String(now / 1000 - 5), now)).toBe(0);
  });

  it('prefers Retry-After (seconds or HTTP date)', () => {
    expect(rateLimitWaitMs(new Headers({ 'retry-after': '3', 'ratelimit-reset': '50' }), now)).toBe(3000);
    expect(rateLimitWaitMs(new Headers({ 'retry-after': new Date(now + 4000).toUTCString() }), now)).toBe(
      4000,
    );
    expect(rateLimitWaitMs(new Headers({ 'ratelimit-reset': '1' }), now)).toBe(1000);
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
