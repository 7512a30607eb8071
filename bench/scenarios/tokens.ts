/**
 * The OpenID provider's token endpoint and code flow over real HTTP with keep-alive:
 *
 * - client-credentials grants/s (a confidential application, client_secret_basic);
 * - refresh grants/s (rotating refresh tokens: each grant consumes one and issues the next, and
 *   signs a new ID token), one chain per concurrent client;
 * - full code flows/s after an upstream login: authorization request → interaction → /login →
 *   oidc-provider as the upstream IdP (its login and consent pages) → callback → resume →
 *   code exchange with PKCE; and code flows/s for a person who already has a Switchboard session
 *   (the second application of the day: authorization request → code → exchange).
 *
 * "per core" divides by the CPU time the benchmark process used during the run (user + system,
 * from process.cpuUsage()). That process holds the hub, its load generator and, on the embedded
 * target, the database: a conservative figure for the hub alone. On PostgreSQL the database
 * server's CPU is not counted. Keycloak 26 sizes one vCPU per 120 client-credentials grants/s and
 * per 120 refreshes/s (keycloak.org, "Concepts for sizing CPU and memory resources").
 *
 * Sizes: BENCH_TOKENS_CC (default 3000), BENCH_TOKENS_REFRESH (default 2000),
 * BENCH_TOKENS_FLOWS (default 150), BENCH_TOKENS_CONCURRENCY (default 16; code flows use 4).
 */
import { createServer } from 'node:net';
import { sql } from 'drizzle-orm';
import * as client from 'openid-client';
import { Browser } from '../../test/support/browser.ts';
import { startOidcIdp } from '../../test/support/idps.ts';
import { type BenchHub, defineScenario, type Metric, round, runLoad, summarize } from '../harness.ts';

const CC = Number(process.env.BENCH_TOKENS_CC ?? 3000);
const REFRESH = Number(process.env.BENCH_TOKENS_REFRESH ?? 2000);
const FLOWS = Number(process.env.BENCH_TOKENS_FLOWS ?? 150);
const CONCURRENCY = Number(process.env.BENCH_TOKENS_CONCURRENCY ?? 16);
const FLOW_CONCURRENCY = 4;
const KEYCLOAK_PER_VCPU = 120;
const DOMAIN = 'bench-tokens.example.com';
const APP_ORIGIN = 'http://127.0.0.1:9';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Runs the load and adds CPU figures: operations per CPU-second and the Keycloak ratio. */
async function measureWithCpu(
  options: Parameters<typeof runLoad>[0],
  unit: string,
  keycloakBudget?: number,
): Promise<Metric> {
  const cpuBefore = process.cpuUsage();
  const run = await runLoad(options);
  const cpu = process.cpuUsage(cpuBefore);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const metric = summarize(run.latencies, run.durationMs, unit);
  const perCore = options.total / cpuSeconds;
  metric.extra = {
    cpuSeconds: round(cpuSeconds),
    perCore: round(perCore, 1),
    ...(keycloakBudget ? { vsKeycloak: `${round(perCore / keycloakBudget, 2)}x` } : {}),
  };
  return metric;
}

export default defineScenario({
  name: 'tokens',
  description: `${CC} client-credentials grants and ${REFRESH} refresh grants (concurrency ${CONCURRENCY}, keep-alive), ${FLOWS} code flows with an upstream OIDC login and ${FLOWS} with a Switchboard session (concurrency ${FLOW_CONCURRENCY})`,
  async run(context) {
    const port = await freePort();
    const bench: BenchHub = await context.startHub({
      workers: false,
      env: { PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}` },
    });
    const idp = await startOidcIdp({ redirectUris: [] });
    try {
      const org = await bench.request<{ id: string }>('POST', '/api/v1/organizations', {
        name: 'Bench tokens',
        environment: 'sandbox',
        domains: [DOMAIN],
      });
      await bench.hub.database.db.execute(
        sql`update organization_domains set verified = true where domain = ${DOMAIN}`,
      );
      const connection = await bench.request<{ oidc: { redirectUri: string } }>(
        'POST',
        `/api/v1/organizations/${org.body.id}/connections`,
        {
          name: 'Upstream',
          protocol: 'oidc',
          preset: 'generic',
          oidc: { discoveryUrl: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret },
        },
      );
      idp.setRedirectUris([connection.body.oidc.redirectUri]);
      const redirectUri = `${APP_ORIGIN}/bench/callback`;
      const app = await bench.request<{ id: string; secret: string }>('POST', '/api/v1/applications', {
        name: 'Bench app',
        type: 'confidential',
        organization: org.body.id,
        redirectUris: [redirectUri],
        grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'],
      });
      const basic = `Basic ${Buffer.from(`${app.body.id}:${app.body.secret}`).toString('base64')}`;
      const config = await client.discovery(
        new URL(bench.url),
        app.body.id,
        undefined,
        client.ClientSecretBasic(app.body.secret),
        { execute: [client.allowInsecureRequests] },
      );

      const token = async (form: Record<string, string>) => {
        const response = await bench.client.request({
          method: 'POST',
          path: '/oidc/token',
          headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams(form).toString(),
        });
        const body = (await response.body.json()) as Record<string, string>;
        if (response.statusCode !== 200)
          throw new Error(`token endpoint: ${response.statusCode} ${JSON.stringify(body)}`);
        return body;
      };

      /** One code flow in `browser`; signs in at the upstream IdP when it shows its login page. */
      let nextUser = 0;
      const codeFlow = async (browser: Browser, hubMs?: { value: number }) => {
        browser.stopAt = [APP_ORIGIN];
        if (hubMs) {
          browser.onExchange = (url, ms) => {
            if (url.startsWith(bench.url)) hubMs.value += ms;
          };
        }
        const verifier = client.randomPKCECodeVerifier();
        const url = client.buildAuthorizationUrl(config, {
          redirect_uri: redirectUri,
          scope: 'openid email profile offline_access',
          prompt: 'consent',
          code_challenge: await client.calculatePKCECodeChallenge(verifier),
          code_challenge_method: 'S256',
        });
        let page = await browser.get(url.href);
        if (page.html.includes('name="email"'))
          page = await browser.submit(page, { email: `user${nextUser}@${DOMAIN}` });
        if (page.html.includes('name="login"')) {
          const user = `user${nextUser++ % 50}`;
          idp.accounts.set(user, {
            email: `${user}@${DOMAIN}`,
            email_verified: true,
            given_name: 'Bench',
            family_name: user,
          });
          page = await browser.submit(page, { login: user, password: 'bench' });
        }
        if (!page.url.startsWith(redirectUri))
          throw new Error(`code flow ended at ${page.url}: ${page.html.slice(0, 300)}`);
        const started = performance.now();
        const tokens = await token({
          grant_type: 'authorization_code',
          code: new URL(page.url).searchParams.get('code') as string,
          redirect_uri: redirectUri,
          code_verifier: verifier,
        });
        if (hubMs) hubMs.value += performance.now() - started;
        return tokens;
      };

      // Warm-up: JIT users, JWKS caches, connection pools, the provider's first build.
      for (let i = 0; i < 10; i++) await codeFlow(new Browser());
      for (let i = 0; i < 50; i++) await token({ grant_type: 'client_credentials' });

      context.log(`client credentials x${CC}`);
      context.record(
        'client_credentials grant',
        await measureWithCpu(
          {
            total: CC,
            concurrency: CONCURRENCY,
            task: async () => void (await token({ grant_type: 'client_credentials' })),
          },
          'grant',
          KEYCLOAK_PER_VCPU,
        ),
      );

      context.log(`refresh x${REFRESH}`);
      // A pool of refresh-token chains: each task takes a free chain, refreshes it once, and
      // puts the rotated token back; no two tasks ever use one chain at the same time.
      const free: string[] = [];
      for (let i = 0; i < CONCURRENCY; i++)
        free.push((await codeFlow(new Browser())).refresh_token as string);
      context.record(
        'refresh grant (rotating)',
        await measureWithCpu(
          {
            total: REFRESH,
            concurrency: CONCURRENCY,
            task: async () => {
              const current = free.pop() as string;
              const answer = await token({ grant_type: 'refresh_token', refresh_token: current });
              free.push(answer.refresh_token as string);
            },
          },
          'grant',
          KEYCLOAK_PER_VCPU,
        ),
      );

      context.log(`code flows with upstream login x${FLOWS}`);
      const hubShares: number[] = [];
      const upstream = await measureWithCpu(
        {
          total: FLOWS,
          concurrency: FLOW_CONCURRENCY,
          task: async () => {
            const hubMs = { value: 0 };
            await codeFlow(new Browser(), hubMs);
            hubShares.push(hubMs.value);
          },
        },
        'flow',
      );
      context.record('code flow, upstream login (end-to-end)', upstream);
      context.record(
        'code flow, upstream login (hub share)',
        summarize(hubShares, (FLOWS / upstream.throughput) * 1000, 'flow'),
      );

      context.log(`code flows with a Switchboard session x${FLOWS}`);
      const signedIn: Browser[] = [];
      for (let i = 0; i < FLOW_CONCURRENCY; i++) {
        const browser = new Browser();
        await codeFlow(browser);
        signedIn.push(browser);
      }
      context.record(
        'code flow, existing session',
        await measureWithCpu(
          {
            total: FLOWS,
            concurrency: FLOW_CONCURRENCY,
            task: async (index) => void (await codeFlow(signedIn[index % FLOW_CONCURRENCY] as Browser)),
          },
          'flow',
        ),
      );
      context.note(
        'perCore = operations per CPU-second of the benchmark process (hub + load generator, + PGlite on embedded); vsKeycloak = perCore / 120 (Keycloak 26 budgets one vCPU per 120 client-credentials grants/s and per 120 refreshes/s)',
      );
    } finally {
      await idp.close();
      await bench.close();
    }
  },
});
