/**
 * Abuse limits (issue 14, item 8): every public surface answers 429 with Retry-After in its own
 * error format past its request rate; repeated failed authentications on one credential, or from
 * one IP, pause further attempts in every hub process (two hubs on one database here); a client on
 * another IP or with another credential is unaffected; the refusals are counted on /metrics; no
 * secret becomes a key or a log field.
 *
 * Three hubs share one database: `setup` (default limits) creates what the tests need; `limited`
 * and `peer` have small limits (as operators would configure them), and are two processes behind
 * one load balancer. Each test uses its own client addresses (app.inject's remoteAddress).
 */
import { Writable } from 'node:stream';
import { sql } from 'drizzle-orm';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RateLimits } from '../../src/modules/rate-limits/index.ts';
import { queryRows } from '../../src/platform/db/client.ts';
import { createMetrics } from '../../src/platform/http/metrics.ts';
import { createLink } from '../portal/helpers.ts';
import { registerApplication } from '../provider/helpers.ts';
import { createScimDirectory, ERROR, type ScimDirectory } from '../scim/support.ts';
import { createTestHub, type TestHub } from '../support/hub.ts';

const FAILURES = {
  AUTH_FAILURES_PER_CREDENTIAL: '3',
  AUTH_FAILURES_PER_IP: '6',
  AUTH_FAILURES_BLOCK_SECONDS: '120',
  AUTH_FAILURES_MAX_BLOCK_SECONDS: '3600',
};

const SMALL_LIMITS = {
  ...FAILURES,
  RATE_LIMIT_ADMIN_API_PER_KEY: '5',
  RATE_LIMIT_ADMIN_API_PER_IP: '8',
  RATE_LIMIT_SCIM_PER_TOKEN: '5',
  RATE_LIMIT_SCIM_PER_IP: '8',
  RATE_LIMIT_OAUTH_PER_CLIENT: '4',
  RATE_LIMIT_OAUTH_PER_IP: '8',
  RATE_LIMIT_LOGIN_PER_IP: '5',
  RATE_LIMIT_SETUP_PER_LINK: '4',
  RATE_LIMIT_SETUP_PER_IP: '8',
};

interface Call {
  method?: 'GET' | 'POST';
  url: string;
  ip: string;
  headers?: Record<string, string>;
  payload?: string;
}

async function call(t: TestHub, request: Call) {
  const response = await t.app.inject({
    method: request.method ?? 'GET',
    url: request.url,
    remoteAddress: request.ip,
    headers: request.headers ?? {},
    ...(request.payload === undefined ? {} : { payload: request.payload }),
  });
  const type = String(response.headers['content-type'] ?? '');
  return {
    status: response.statusCode,
    headers: response.headers,
    type,
    text: response.body,
    json: () => JSON.parse(response.body) as Record<string, unknown>,
  };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** A Retry-After header in delay-seconds (RFC 9110 §10.2.3). */
function retryAfter(headers: Record<string, unknown>): number {
  const value = String(headers['retry-after']);
  expect(value).toMatch(/^\d+$/);
  return Number(value);
}

describe('abuse limits', () => {
  let setup: TestHub;
  let limited: TestHub;
  let peer: TestHub;
  let first: ScimDirectory;
  let second: ScimDirectory;

  beforeAll(async () => {
    setup = await createTestHub({ env: FAILURES });
    limited = await createTestHub({ sameDatabaseAs: setup, env: SMALL_LIMITS });
    peer = await createTestHub({ sameDatabaseAs: setup, env: SMALL_LIMITS });
    first = await createScimDirectory(setup);
    second = await createScimDirectory(setup);
  });

  afterAll(async () => {
    await peer?.close();
    await limited?.close();
    await setup?.close();
  });

  it('admin API: 429 problem+json past a key’s rate; another key is unaffected; then past the IP’s rate', async () => {
    const ip = '127.0.0.11';
    const list = (key: string) => call(limited, { url: '/api/v1/organizations', ip, headers: bearer(key) });
    for (let i = 0; i < 5; i++) expect((await list(limited.readKey)).status).toBe(200);
    const refused = await list(limited.readKey);
    expect(refused.status).toBe(429);
    expect(refused.type).toContain('application/problem+json');
    const seconds = retryAfter(refused.headers);
    expect(seconds).toBeGreaterThanOrEqual(1);
    expect(seconds).toBeLessThanOrEqual(60);
    expect(refused.json()).toMatchObject({
      status: 429,
      code: 'rate_limited',
      retryAfter: seconds,
      detail: expect.stringContaining('this credential'),
      fix: expect.any(String),
    });

    // The admin key from the same address still works, until the address's own rate (8) is spent.
    for (let i = 0; i < 2; i++) expect((await list(limited.adminKey)).status).toBe(200);
    const byAddress = await list(limited.adminKey);
    expect(byAddress.status).toBe(429);
    expect(byAddress.json()).toMatchObject({
      code: 'rate_limited',
      detail: expect.stringContaining('your address'),
    });
    expect(
      (
        await call(limited, {
          url: '/api/v1/organizations',
          ip: '127.0.0.12',
          headers: bearer(limited.adminKey),
        })
      ).status,
    ).toBe(200);
  });

  it('admin API: unknown keys (the guard, the context API) pause the address in every process', async () => {
    const ip = '127.0.0.13';
    for (let i = 0; i < 3; i++) {
      const wrong = await call(limited, {
        url: '/api/v1/organizations',
        ip,
        headers: bearer(`sbk_wrong${i}`),
      });
      expect(wrong.json()).toMatchObject({ status: 401, code: 'invalid_credentials' });
      const context = await call(peer, {
        url: '/api/v1/users/usr_x/context',
        ip,
        headers: bearer(`tok${i}`),
      });
      expect(context.json()).toMatchObject({ status: 401, code: 'invalid_token' });
    }
    const paused = await call(peer, { url: '/api/v1/organizations', ip, headers: bearer(peer.adminKey) });
    expect(paused.status).toBe(429);
    expect(paused.type).toContain('application/problem+json');
    expect(paused.json()).toMatchObject({
      code: 'rate_limited',
      detail: expect.stringContaining('failed authentications from your address'),
    });
    expect(retryAfter(paused.headers)).toBeGreaterThan(60);
    expect(
      (await call(peer, { url: '/api/v1/organizations', ip: '127.0.0.14', headers: bearer(peer.adminKey) }))
        .status,
    ).toBe(200);
  });

  it('SCIM: 429 SCIM error (no scimType) past a directory token’s rate; another directory is unaffected', async () => {
    const ip = '127.0.0.21';
    const users = (directory: ScimDirectory) =>
      call(limited, { url: `${directory.base}/Users`, ip, headers: bearer(directory.token) });
    for (let i = 0; i < 5; i++) expect((await users(first)).status).toBe(200);
    const refused = await users(first);
    expect(refused.status).toBe(429);
    expect(refused.type).toContain('application/scim+json');
    retryAfter(refused.headers);
    const body = refused.json();
    expect(body).toMatchObject({
      schemas: [ERROR],
      status: '429',
      detail: expect.stringContaining('Try again in'),
    });
    expect(body).not.toHaveProperty('scimType');
    expect((await users(second)).status).toBe(200);
  });

  it('SCIM: wrong tokens for one directory pause it from that IP in every process, growing; elsewhere it works', async () => {
    const ip = '127.0.0.31';
    const users = (t: TestHub, token: string, from = ip, directory = first) =>
      call(t, { url: `${directory.base}/Users`, ip: from, headers: bearer(token) });
    // Three wrong tokens through one process...
    for (let i = 0; i < 3; i++) expect((await users(limited, `wrong-token-${i}`)).status).toBe(401);
    // ...and the other process refuses even the right token from that address.
    const paused = await users(peer, first.token);
    expect(paused.status).toBe(429);
    expect(paused.type).toContain('application/scim+json');
    const firstBlock = retryAfter(paused.headers);
    expect(firstBlock).toBeGreaterThan(60);
    expect(firstBlock).toBeLessThanOrEqual(120);
    expect(paused.json().detail).toContain('failed authentications of this credential');

    // The directory works from elsewhere, and another directory from this address.
    expect((await users(peer, first.token, '127.0.0.32')).status).toBe(200);
    expect((await users(peer, second.token, ip, second)).status).toBe(200);

    // When the pause ends, the next failure pauses it twice as long. (Ended here by hand, through
    // the process that has not seen it: `peer` remembers the pause until its end.)
    await setup.hub.database.db.execute(
      sql`update auth_failures set blocked_until = now() - interval '1 second' where key like ${`scim:credential:%:${ip}`}`,
    );
    expect((await users(limited, 'wrong-again')).status).toBe(401);
    const longer = await users(limited, first.token);
    expect(longer.status).toBe(429);
    expect(retryAfter(longer.headers)).toBeGreaterThan(firstBlock + 60);
  });

  it('SCIM: wrong tokens across directories pause the IP, not other addresses', async () => {
    const ip = '127.0.0.33';
    for (let i = 0; i < 6; i++) {
      const guess = await call(i % 2 ? limited : peer, {
        url: `/scim/v2/dir_guess${i}/Users`,
        ip,
        headers: bearer(`guess-${i}`),
      });
      expect(guess.status).toBe(401);
    }
    const paused = await call(peer, { url: `${second.base}/Users`, ip, headers: bearer(second.token) });
    expect(paused.status).toBe(429);
    expect(paused.json().detail).toContain('from your address');
    expect(
      (await call(peer, { url: `${second.base}/Users`, ip: '127.0.0.34', headers: bearer(second.token) }))
        .status,
    ).toBe(200);
  });

  describe('token endpoint', () => {
    const grant = (t: TestHub, app: { id: string; secret: string | null }, ip: string, secret = app.secret) =>
      call(t, {
        method: 'POST',
        url: '/oidc/token',
        ip,
        headers: {
          authorization: `Basic ${Buffer.from(`${app.id}:${secret}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        payload: 'grant_type=client_credentials',
      });

    it('429 slow_down past a client’s rate; another client is unaffected', async () => {
      const machine = await registerApplication(setup, {
        redirectUris: [],
        grantTypes: ['client_credentials'],
      });
      const other = await registerApplication(setup, {
        redirectUris: [],
        grantTypes: ['client_credentials'],
      });
      const ip = '127.0.0.41';
      for (let i = 0; i < 4; i++) {
        const ok = await grant(limited, machine, ip);
        expect(ok.status, ok.text).toBe(200);
      }
      const refused = await grant(limited, machine, ip);
      expect(refused.status).toBe(429);
      expect(refused.type).toContain('application/json');
      retryAfter(refused.headers);
      expect(refused.json()).toEqual({
        error: 'slow_down',
        error_description: expect.stringContaining('this credential'),
      });
      expect((await grant(limited, other, ip)).status).toBe(200);
    });

    it('wrong secrets pause the client from that IP in every process; from elsewhere it works', async () => {
      const machine = await registerApplication(setup, {
        redirectUris: [],
        grantTypes: ['client_credentials'],
      });
      const ip = '127.0.0.42';
      // `peer` has just seen this client from this address unpaused (an answer it reuses for a
      // second), then the failures happen in the other process.
      expect((await grant(peer, machine, ip)).status).toBe(200);
      for (let i = 0; i < 3; i++) {
        const wrong = await grant(limited, machine, ip, `not-the-secret-${i}`);
        expect(wrong.status).toBe(401);
        expect(wrong.json().error).toBe('invalid_client');
      }
      // The pause reaches `peer` within that second (polled, with a generous bound; spaced so the
      // grants that still pass stay under the client's rate of 4).
      let paused = await grant(peer, machine, ip);
      for (const started = Date.now(); paused.status === 200 && Date.now() - started < 20_000; ) {
        await new Promise((resolve) => setTimeout(resolve, 600));
        paused = await grant(peer, machine, ip);
      }
      expect(paused.status).toBe(429);
      expect(paused.json().error_description).toContain('failed authentications of this credential');
      expect(paused.json()).toMatchObject({ error: 'slow_down' });
      expect(retryAfter(paused.headers)).toBeGreaterThan(60);
      expect((await grant(peer, machine, '127.0.0.43')).status).toBe(200);
    });
  });

  it('sign-in pages: a 429 page past the IP’s rate; another address is unaffected', async () => {
    const ip = '127.0.0.51';
    for (let i = 0; i < 5; i++) expect((await call(limited, { url: '/login', ip })).status).toBe(200);
    const refused = await call(limited, { url: '/login', ip });
    expect(refused.status).toBe(429);
    expect(refused.type).toContain('text/html');
    expect(refused.text).toContain('Too many attempts');
    expect(refused.text).toMatch(/Wait \d+ seconds?/);
    retryAfter(refused.headers);
    expect((await call(limited, { url: '/login', ip: '127.0.0.52' })).status).toBe(200);
  });

  it('setup portal: a 429 page past a link’s rate; unknown links pause the IP in every process', async () => {
    const org = await setup.api('POST', '/api/v1/organizations', { body: { name: 'Limits Org' } });
    const link = await createLink(setup, org.body.id, { intent: 'domain' });
    const another = await createLink(setup, org.body.id, { intent: 'domain' });
    const ip = '127.0.0.61';
    for (let i = 0; i < 4; i++)
      expect((await call(limited, { url: `/setup/${link.token}`, ip })).status).toBe(200);
    const refused = await call(limited, { url: `/setup/${link.token}`, ip });
    expect(refused.status).toBe(429);
    expect(refused.type).toContain('text/html');
    expect(refused.text).toContain('Too many requests');
    retryAfter(refused.headers);
    expect((await call(limited, { url: `/setup/${another.token}`, ip })).status).toBe(200);

    const guesser = '127.0.0.62';
    for (let i = 0; i < 6; i++) {
      const guess = `${link.token.slice(0, -4)}${String(1000 + i)}`;
      expect((await call(i % 2 ? peer : limited, { url: `/setup/${guess}`, ip: guesser })).status).toBe(404);
    }
    const paused = await call(peer, { url: `/setup/${another.token}`, ip: guesser });
    expect(paused.status).toBe(429);
    expect(paused.text).toContain('setup links that do not exist');
    expect(retryAfter(paused.headers)).toBeGreaterThan(60);
    expect((await call(peer, { url: `/setup/${another.token}`, ip: '127.0.0.63' })).status).toBe(200);
  });

  it('counts refusals and failures on /metrics, by surface and reason', async () => {
    const metrics = (await call(limited, { url: '/metrics', ip: '127.0.0.1' })).text;
    const count = (surface: string, reason: string) =>
      Number(
        new RegExp(
          `switchboard_rate_limited_total\\{[^}]*surface="${surface}"[^}]*reason="${reason}"[^}]*\\} (\\d+)`,
        ).exec(metrics)?.[1] ?? 0,
      );
    expect(count('admin_api', 'credential')).toBeGreaterThanOrEqual(1);
    expect(count('admin_api', 'ip')).toBeGreaterThanOrEqual(1);
    expect(count('scim', 'credential')).toBeGreaterThanOrEqual(1);
    expect(count('scim', 'failed_auth_credential')).toBeGreaterThanOrEqual(1);
    expect(count('oauth', 'credential')).toBeGreaterThanOrEqual(1);
    expect(count('login', 'ip')).toBeGreaterThanOrEqual(1);
    expect(count('setup', 'credential')).toBeGreaterThanOrEqual(1);
    const peerMetrics = (await call(peer, { url: '/metrics', ip: '127.0.0.1' })).text;
    expect(peerMetrics).toMatch(
      /switchboard_rate_limited_total\{[^}]*surface="oauth"[^}]*reason="failed_auth_credential"[^}]*\} [1-9]/,
    );
    expect(peerMetrics).toMatch(
      /switchboard_rate_limited_total\{[^}]*surface="setup"[^}]*reason="failed_auth_ip"[^}]*\} [1-9]/,
    );
    expect(metrics).toMatch(/switchboard_auth_failures_total\{[^}]*surface="scim"[^}]*\} [1-9]/);
  });

  it('keeps secrets and credential ids out of the counters’ keys and the log', async () => {
    const rows = await queryRows<{ key: string }>(setup.hub.database.db, sql`select key from auth_failures`);
    expect(rows.length).toBeGreaterThan(0);
    const keys = rows.map((row) => row.key).join('\n');
    for (const secret of [
      first.token,
      second.token,
      first.directoryId,
      'wrong-token-0',
      'guess-1',
      'not-the-secret',
    ]) {
      expect(keys).not.toContain(secret);
    }
    expect(keys).toMatch(/^scim:credential:[0-9a-f]{32}:127\.0\.0\.31$/m);

    // What the limits log when a credential starts being paused.
    const lines: string[] = [];
    const logger = pino(
      { level: 'debug' },
      new Writable({
        write(chunk, _encoding, done) {
          lines.push(String(chunk));
          done();
        },
      }),
    );
    const limits = new RateLimits({
      config: limited.config,
      database: setup.hub.database,
      metrics: createMetrics(),
      logger,
    });
    const secret = 'sb_scim_this-must-never-be-logged';
    for (let i = 0; i < 3; i++) await limits.recordFailure('scim', '127.0.0.71', secret);
    const log = lines.join('');
    expect(log).toContain('slowing down further attempts');
    expect(log).not.toContain(secret);
  });
});
