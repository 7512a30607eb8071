/**
 * Brokered SSO logins over real HTTP, against in-process upstream IdPs: SP-initiated SAML (samlify
 * signing each response) and OIDC authorization code + PKCE (oidc-provider, with its login and
 * consent pages). Each login is a fresh browser: /login with a login hint, redirect to the IdP,
 * the IdP's answer to the ACS or callback, mapping, JIT or update, result page.
 *
 * "hub" figures time only the HTTP exchanges with the hub (discovery + redirect, ACS or callback
 * with token exchange and provisioning); "end-to-end" adds the IdP's own pages. Logins cycle
 * through BENCH_SSO_USERS people, so most are returning users (attribute and group sync), the
 * first of each is JIT.
 *
 * Sizes: BENCH_SSO_LOGINS (default 300 per protocol), BENCH_SSO_CONCURRENCY (default 4),
 * BENCH_SSO_USERS (default 50).
 */
import { createServer } from 'node:net';
import { sql } from 'drizzle-orm';
import { Browser } from '../../test/support/browser.ts';
import { startOidcIdp, startSamlIdp } from '../../test/support/idps.ts';
import { type BenchHub, defineScenario, round, runLoad, summarize } from '../harness.ts';

const LOGINS = Number(process.env.BENCH_SSO_LOGINS ?? 300);
const CONCURRENCY = Number(process.env.BENCH_SSO_CONCURRENCY ?? 4);
const USERS = Number(process.env.BENCH_SSO_USERS ?? 50);
const DOMAIN = 'bench-saml.example.com';
const OIDC_DOMAIN = 'bench-oidc.example.com';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function organization(bench: BenchHub, domain: string): Promise<string> {
  const org = await bench.request<{ id: string }>('POST', '/api/v1/organizations', {
    name: `Bench ${domain}`,
    environment: 'sandbox',
    domains: [domain],
  });
  await bench.hub.database.db.execute(
    sql`update organization_domains set verified = true where domain = ${domain}`,
  );
  return org.body.id;
}

async function measure(
  bench: BenchHub,
  label: string,
  login: (browser: Browser, index: number) => Promise<string>,
) {
  const hubLatencies: number[] = [];
  const run = await runLoad({
    total: LOGINS,
    concurrency: CONCURRENCY,
    task: async (index) => {
      const browser = new Browser();
      let hubMs = 0;
      browser.onExchange = (url, ms) => {
        if (url.startsWith(bench.url)) hubMs += ms;
      };
      const html = await login(browser, index);
      if (!html.includes('Signed in'))
        throw new Error(`${label} login ${index} failed:\n${html.slice(0, 600)}`);
      hubLatencies.push(hubMs);
    },
  });
  const endToEnd = summarize(run.latencies, run.durationMs, 'login');
  const hub = summarize(hubLatencies, run.durationMs, 'login');
  return { endToEnd, hub };
}

export default defineScenario({
  name: 'sso-login',
  description: `${LOGINS} SP-initiated SAML and ${LOGINS} OIDC (code + PKCE) logins through /login against in-process samlify and oidc-provider IdPs, concurrency ${CONCURRENCY}, ${USERS} distinct users`,
  async run(context) {
    // The hub's redirect URI and ACS URL derive from PUBLIC_URL: it must name the real port.
    const port = await freePort();
    const bench = await context.startHub({
      workers: false,
      env: { PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}` },
    });
    const saml = await startSamlIdp();
    const redirectUris: string[] = [];
    const oidc = await startOidcIdp({ redirectUris });
    try {
      const orgId = await organization(bench, DOMAIN);
      const oidcOrgId = await organization(bench, OIDC_DOMAIN);
      const samlConnection = await bench.request<{ id: string; saml: { spMetadataUrl: string } }>(
        'POST',
        `/api/v1/organizations/${orgId}/connections`,
        { name: 'SAML', protocol: 'saml', preset: 'okta', saml: { metadataXml: saml.metadataXml } },
      );
      saml.trustServiceProvider(await (await fetch(samlConnection.body.saml.spMetadataUrl)).text());
      const oidcConnection = await bench.request<{ id: string; oidc: { redirectUri: string } }>(
        'POST',
        `/api/v1/organizations/${oidcOrgId}/connections`,
        {
          name: 'OIDC',
          protocol: 'oidc',
          preset: 'okta',
          oidc: { discoveryUrl: oidc.issuer, clientId: oidc.clientId, clientSecret: oidc.clientSecret },
        },
      );
      oidc.setRedirectUris([oidcConnection.body.oidc.redirectUri]);
      for (let i = 0; i < USERS; i++) {
        oidc.accounts.set(`user${i}`, {
          email: `user${i}@${OIDC_DOMAIN}`,
          email_verified: true,
          given_name: 'Bench',
          family_name: `User ${i}`,
          groups: ['Everyone', `Team ${i % 5}`],
        });
      }

      // SAML: the samlify IdP signs in the next user of the pool for each AuthnRequest.
      let next = 0;
      saml.nextUser = () => {
        const i = next++ % USERS;
        const email = `saml.user${i}@${DOMAIN}`;
        return {
          nameId: email,
          attributes: {
            email,
            firstName: 'Bench',
            lastName: `User ${i}`,
            groups: ['Everyone', `Team ${i % 5}`],
          },
        };
      };
      const samlLogin = async (browser: Browser, index: number) => {
        const email = `saml.user${index % USERS}@${DOMAIN}`;
        const page = await browser.get(`${bench.url}/login?login_hint=${email}`);
        return page.html;
      };
      const oidcLogin = async (browser: Browser, index: number) => {
        const user = `user${index % USERS}`;
        const form = await browser.get(`${bench.url}/login?login_hint=${user}@${OIDC_DOMAIN}`);
        const page = await browser.submit(form, { login: user, password: 'bench' });
        return page.html;
      };

      // Warm-up: connection pools, JIT-created users, openid-client's JWKS cache.
      for (let i = 0; i < Math.min(USERS, 20); i++) {
        await samlLogin(new Browser(), i);
        await oidcLogin(new Browser(), i);
      }

      const samlRun = await measure(bench, 'SAML', samlLogin);
      context.record('SAML login (hub handling)', samlRun.hub);
      context.record('SAML login (end-to-end)', samlRun.endToEnd);
      const oidcRun = await measure(bench, 'OIDC', oidcLogin);
      context.record('OIDC login (hub handling)', oidcRun.hub);
      context.record('OIDC login (end-to-end)', oidcRun.endToEnd);
      for (const id of [orgId, oidcOrgId]) {
        const traces = await bench.request<{ data: unknown[] }>(
          'GET',
          `/api/v1/organizations/${id}/login-traces?status=failed&limit=10`,
        );
        if (traces.body.data.length)
          throw new Error(`${traces.body.data.length} logins failed during the run`);
      }
      context.note(
        `hub handling = the hub's HTTP exchanges per login; SAML hub p50 ${round(samlRun.hub.p50 ?? 0)} ms, OIDC hub p50 ${round(oidcRun.hub.p50 ?? 0)} ms (OIDC includes the back-channel token exchange with the IdP)`,
      );
    } finally {
      await saml.close();
      await oidc.close();
      await bench.close();
    }
  },
});
