/** The shared HR HTTP client's token cache and bounded concurrency (used by Personio v2). */
import { describe, expect, it } from 'vitest';
import { mapWithConcurrency, tokenSourceAuth } from '../../src/connectors/hris-http-client.ts';

describe('tokenSourceAuth', () => {
  it('renews a refused token once, however many requests it was refused on', async () => {
    let n = 0;
    const auth = tokenSourceAuth(async () => ({ token: `t${++n}`, expiresInSeconds: 3600 }));
    const first: Record<string, string> = {};
    await auth.apply(first);
    expect(first.authorization).toBe('Bearer t1');
    // Two requests sent with t1 are both answered 401.
    auth.invalidate(first.authorization);
    const retry: Record<string, string> = {};
    await auth.apply(retry);
    auth.invalidate(first.authorization);
    const other: Record<string, string> = {};
    await auth.apply(other);
    expect([retry.authorization, other.authorization]).toEqual(['Bearer t2', 'Bearer t2']);
    expect(auth.issued).toBe(2);
    // Refusing the current token (or invalidating without one) renews it.
    auth.invalidate(other.authorization);
    await auth.apply(other);
    expect(other.authorization).toBe('Bearer t3');
    auth.invalidate();
    await auth.apply(other);
    expect(auth.issued).toBe(4);
  });
});

describe('mapWithConcurrency', () => {
  it('keeps input order and never runs more than the limit at once', async () => {
    let running = 0;
    let peak = 0;
    const results = await mapWithConcurrency([5, 1, 4, 2, 3, 0], 2, async (value) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((resolve) => setImmediate(resolve));
      running--;
      return value * 10;
    });
    expect(results).toEqual([50, 10, 40, 20, 30, 0]);
    expect(peak).toBe(2);
  });

  it('starts nothing new after a failure and throws the first error', async () => {
    const started: number[] = [];
    const error = await mapWithConcurrency([1, 2, 3, 4, 5], 1, async (value) => {
      started.push(value);
      if (value === 2) throw new Error('boom 2');
      return value;
    }).catch((caught: unknown) => caught);
    expect((error as Error).message).toBe('boom 2');
    expect(started).toEqual([1, 2]);
  });
});
