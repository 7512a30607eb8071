/**
 * Two hub processes on one PostgreSQL behind a round-robin load balancer: one login, whose
 * requests alternate between the processes at every step (authorization request, interaction,
 * /login, the test IdP, the ACS, the resume, the token exchange, userinfo, refresh), succeeds.
 * Nothing a flow needs lives in one process's memory.
 *
 * On the embedded database this cannot apply: one process owns the data directory (see the
 * data-dir lock in test/foundation), so there is no second process to alternate with.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { join } from 'node:path';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser } from '../support/browser.ts';
import { databaseKind, freePort, freshDatabase } from '../support/hub.ts';
import { APP_ORIGIN, signInAtIdp } from './helpers.ts';

const MAIN = join(import.meta.dirname, '../../src/main.ts');
const postgres = databaseKind() === 'postgres';

interface Hop {
  backend: number;
  method: string;
  path: string;
  status: number;
}

/** A load balancer that sends each request to the next backend in turn, and logs it. */
async function roundRobin(port: number, backends: number[]) {
  const hops: Hop[] = [];
  let next = 0;
  const server: Server = createServer((req, res) => {
    const backend = next++ % backends.length;
    const proxied = httpRequest(
      { host: '127.0.0.1', port: backends[backend], method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        hops.push({
          backend,
          method: req.method ?? '',
          path: (req.url ?? '').split('?')[0] ?? '',
          status: answer.statusCode ?? 0,
        });
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    proxied.on('error', () => res.writeHead(502).end());
    req.pipe(proxied);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { hops, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

async function startProcess(
  env: Record<string, string>,
  port: number,
): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(process.execPath, [MAIN, 'start'], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      LOG_LEVEL: 'warn',
      ...env,
      PORT: String(port),
      HOST: '127.0.0.1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`hub process exited early: ${output}`);
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ready) return { child, output: () => output };
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  child.kill('SIGKILL');
  throw new Error(`hub process did not become ready: ${output}`);
}

describe('two hub processes on one PostgreSQL', () => {
  const children: ChildProcess[] = [];
  let balancer: Awaited<ReturnType<typeof roundRobin>> | undefined;
  let drop = async () => {};
  let publicUrl = '';
  const adminKey = `sb_test_${randomBytes(24).toString('base64url')}`;

  beforeAll(async () => {
    if (!postgres) return;
    const database = await freshDatabase();
    drop = database.drop;
    const [front, a, b] = [await freePort(), await freePort(), await freePort()];
    publicUrl = `http://127.0.0.1:${front}`;
    const env = {
      ...database.env,
      SECRET_KEY: randomBytes(32).toString('base64'),
      PUBLIC_URL: publicUrl,
      SWITCHBOARD_BOOTSTRAP_ADMIN_KEY: adminKey,
    };
    // One after the other: both would migrate and bootstrap at once otherwise (they cope, but the
    // test is about the login, not about start-up races).
    children.push((await startProcess(env, a)).child);
    children.push((await startProcess(env, b)).child);
    balancer = await roundRobin(front, [a, b]);
  }, 300_000);

  afterAll(async () => {
    await balancer?.close();
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGTERM');
          }),
      ),
    );
    await drop();
  }, 120_000);

  it.skipIf(!postgres)(
    'completes a login whose requests alternate between the processes (embedded: not applicable, one process per data directory)',
    { timeout: 180_000 },
    async () => {
      const api = async (method: string, path: string, body?: unknown) => {
        const response = await fetch(`${publicUrl}${path}`, {
          method,
          headers: {
            authorization: `Bearer ${adminKey}`,
            ...(body ? { 'content-type': 'application/json' } : {}),
          },
          ...(body ? { body: JSON.stringify(body) } : {}),
        });
        const json = await response.json();
        expect(response.status, JSON.stringify(json)).toBeLessThan(300);
        return json;
      };
      const domain = `two-${randomBytes(3).toString('hex')}.test`;
      const org = await api('POST', '/api/v1/organizations', {
        name: 'Two Processes',
        environment: 'sandbox',
        domains: [domain],
      });
      await api('POST', `/api/v1/organizations/${org.id}/domains/${domain}/verify`, { method: 'manual' });
      await api('POST', `/api/v1/organizations/${org.id}/connections`, {
        name: 'Test IdP',
        protocol: 'saml',
        testIdp: true,
      });
      const redirectUri = `${APP_ORIGIN}/two/callback`;
      const app = await api('POST', '/api/v1/applications', {
        name: 'Coaching',
        type: 'confidential',
        organization: org.id,
        redirectUris: [redirectUri],
      });

      const config = await client.discovery(
        new URL(publicUrl),
        app.id,
        undefined,
        client.ClientSecretBasic(app.secret),
        {
          execute: [client.allowInsecureRequests],
        },
      );
      const before = balancer?.hops.length ?? 0;
      const browser = new Browser();
      browser.stopAt = [APP_ORIGIN];
      const verifier = client.randomPKCECodeVerifier();
      const state = client.randomState();
      const nonce = client.randomNonce();
      const url = client.buildAuthorizationUrl(config, {
        redirect_uri: redirectUri,
        scope: 'openid email profile offline_access',
        prompt: 'consent',
        code_challenge: await client.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state,
        nonce,
      });
      const first = await browser.get(url.href);
      const page = await signInAtIdp(browser, first, { email: `two@${domain}` });
      expect(page.url.startsWith(redirectUri), page.html.slice(0, 500)).toBe(true);
      const tokens = await client.authorizationCodeGrant(config, new URL(page.url), {
        pkceCodeVerifier: verifier,
        expectedState: state,
        expectedNonce: nonce,
      });
      expect(tokens.claims()?.email).toBe(`two@${domain}`);
      const sub = tokens.claims()?.sub as string;
      expect((await client.fetchUserInfo(config, tokens.access_token, sub)).email).toBe(`two@${domain}`);
      const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token as string);
      expect(refreshed.claims()?.sub).toBe(sub);
      await expect(client.refreshTokenGrant(config, tokens.refresh_token as string)).rejects.toMatchObject({
        error: 'invalid_grant',
      });

      // Every hop of the login alternated between the two processes.
      const hops = (balancer?.hops ?? []).slice(before).filter((hop) => !hop.path.startsWith('/.well-known'));
      const flow = hops.map(
        (hop) => `${hop.backend}:${hop.method} ${hop.path.replace(/\/[A-Za-z0-9_-]{20,}$/, '/…')}`,
      );
      for (const path of [
        '/oidc/authorize',
        '/interaction/',
        '/login',
        '/sso/test-idp/',
        '/acs',
        '/oidc/authorize/…',
        '/oidc/token',
      ]) {
        expect(
          flow.some((step) => step.includes(path)),
          `${path} in ${flow.join(' → ')}`,
        ).toBe(true);
      }
      const backends = new Set(hops.map((hop) => hop.backend));
      expect(backends).toEqual(new Set([0, 1]));
      const statefulSteps = hops.filter((hop) =>
        /\/(interaction|acs|sso|authorize|token|login)/.test(hop.path),
      );
      expect(new Set(statefulSteps.map((hop) => hop.backend))).toEqual(new Set([0, 1]));
    },
  );
});
