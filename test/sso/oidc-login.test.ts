/**
 * OIDC logins against oidc-provider as the upstream IdP: code flow with PKCE, form_post, and each
 * preset's default mapping with the claims that IdP really sends.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, textById } from '../support/browser.ts';
import type { TestHub } from '../support/hub.ts';
import { type OidcIdp, startOidcIdp } from '../support/idps.ts';
import { createConnection, createOrganization, startHub, traceOf } from './helpers.ts';

describe('OIDC RP against oidc-provider', () => {
  let t: TestHub;
  const idps: OidcIdp[] = [];
  beforeAll(async () => {
    t = await startHub();
  });
  afterAll(async () => {
    await Promise.all(idps.map((idp) => idp.close()));
    await t?.close();
  });

  async function setup(
    options: {
      preset?: string;
      extraClaims?: string[];
      responseMode?: 'query' | 'form_post';
      scopes?: string[];
      policies?: Record<string, unknown>;
    } = {},
  ) {
    const org = await createOrganization(t, options.policies ? { policies: options.policies } : {});
    // The redirect URI is per connection: create the connection, then register it at the IdP.
    const redirectUris: string[] = [];
    const idp = await startOidcIdp({
      redirectUris,
      ...(options.extraClaims ? { extraClaims: options.extraClaims } : {}),
    });
    idps.push(idp);
    const connection = await createConnection(t, org.id, {
      name: `OIDC ${options.preset ?? 'generic'}`,
      protocol: 'oidc',
      preset: options.preset ?? 'generic',
      oidc: {
        discoveryUrl: idp.issuer,
        clientId: idp.clientId,
        clientSecret: idp.clientSecret,
        ...(options.responseMode ? { responseMode: options.responseMode } : {}),
        ...(options.scopes ? { scopes: options.scopes } : {}),
      },
    });
    idp.setRedirectUris([connection.oidc?.redirectUri as string]);
    return { org, idp, connection };
  }

  async function signIn(browser: Browser, start: string, login: string) {
    const loginForm = await browser.get(start);
    expect(loginForm.html, loginForm.html.slice(0, 400)).toContain('name="login"');
    return browser.submit(loginForm, { login, password: 'any' });
  }

  it('code flow with PKCE through /login; secret encrypted at rest and never returned', async () => {
    const { org, idp, connection } = await setup();
    idp.accounts.set('ada', {
      email: `ada@${org.domain}`,
      email_verified: true,
      given_name: 'Ada',
      family_name: 'Lovelace',
      groups: ['Analysts'],
    });
    const browser = new Browser();
    const page = await signIn(browser, `${t.url}/login?login_hint=ada@${org.domain}`, 'ada');
    expect(page.status, page.html).toBe(200);
    expect(page.html).toContain('Signed in');
    const trace = await traceOf(t, org.id, textById(page.html, 'trace-id') as string);
    expect(trace.steps.find((step) => step.step === 'redirect')?.data).toMatchObject({ pkce: true });
    expect(JSON.stringify(trace)).not.toContain(idp.clientSecret);
    const view = await t.api('GET', `/api/v1/organizations/${org.id}/connections/${connection.id}`);
    expect(view.body.oidc.clientSecretSet).toBe(true);
    expect(view.text).not.toContain(idp.clientSecret);
    const rows = await t.hub.database.db.execute(
      (await import('drizzle-orm'))
        .sql`select client_secret_sealed from sso_connections where id = ${connection.id}`,
    );
    const sealed = (rows as unknown as { rows: Array<{ client_secret_sealed: string }> }).rows[0]
      ?.client_secret_sealed;
    expect(sealed).toMatch(/^sb1\./);
    expect(sealed).not.toContain(idp.clientSecret);
  });

  it('response_mode=form_post', async () => {
    const { org, idp } = await setup({ responseMode: 'form_post' });
    idp.accounts.set('bob', { email: `bob@${org.domain}`, email_verified: true });
    const page = await signIn(new Browser(), `${t.url}/login?login_hint=bob@${org.domain}`, 'bob');
    expect(page.html).toContain('Signed in');
    expect(page.history.some((url) => url.endsWith('/callback'))).toBe(true);
  });

  const presets = [
    {
      preset: 'entra',
      extraClaims: ['oid', 'preferred_username', 'roles'],
      claims: (email: string) => ({
        oid: 'f00-oid',
        preferred_username: email,
        name: 'Erin Entra',
        given_name: 'Erin',
        family_name: 'Entra',
        groups: ['g-1'],
      }),
      expected: { displayName: 'Erin Entra', givenName: 'Erin' },
      groups: ['g-1'],
    },
    {
      preset: 'okta',
      claims: (email: string) => ({
        email,
        email_verified: true,
        given_name: 'Otto',
        family_name: 'Okta',
        groups: ['Everyone', 'Staff'],
      }),
      expected: { givenName: 'Otto' },
      groups: ['Everyone', 'Staff'],
    },
    {
      preset: 'google',
      claims: (email: string) => ({
        email,
        email_verified: true,
        given_name: 'Gia',
        family_name: 'Google',
        name: 'Gia Google',
      }),
      expected: { givenName: 'Gia', displayName: 'Gia Google' },
      groups: [],
    },
    {
      preset: 'ping',
      extraClaims: ['mail', 'givenName', 'sn', 'memberOf'],
      claims: (email: string) => ({ mail: email, givenName: 'Pia', sn: 'Ping', memberOf: ['Ops'] }),
      expected: { givenName: 'Pia', familyName: 'Ping' },
      groups: ['Ops'],
    },
    {
      preset: 'adfs',
      extraClaims: ['upn', 'unique_name', 'group'],
      claims: (email: string) => ({
        upn: email,
        unique_name: 'ACME\\adfs',
        given_name: 'Al',
        family_name: 'Dfs',
        group: ['Domain Users'],
      }),
      expected: { givenName: 'Al' },
      groups: ['Domain Users'],
    },
    {
      preset: 'generic',
      extraClaims: ['department', 'title', 'employee_id'],
      claims: (email: string) => ({
        email,
        given_name: 'Gen',
        family_name: 'Eric',
        department: 'R&D',
        title: 'Engineer',
        employee_id: 'E-42',
      }),
      expected: {
        givenName: 'Gen',
        profile: expect.objectContaining({ department: 'R&D', title: 'Engineer', employee_id: 'E-42' }),
        externalIds: { employee_id: 'E-42' },
      },
      groups: [],
    },
  ];

  for (const preset of presets) {
    it(`preset ${preset.preset}: default mapping of what that IdP sends`, async () => {
      const { org, idp, connection } = await setup({
        preset: preset.preset,
        ...(preset.extraClaims ? { extraClaims: preset.extraClaims } : {}),
        scopes: ['openid', 'email', 'profile', 'groups'],
      });
      const email = `${preset.preset}@${org.domain}`;
      idp.accounts.set('person', preset.claims(email));
      const page = await signIn(new Browser(), `${t.url}/login?connection=${connection.id}`, 'person');
      expect(page.status, page.html).toBe(200);
      const userId = textById(page.html, 'user-id') as string;
      const user = await t.api('GET', `/api/v1/users/${userId}`);
      expect(user.body).toMatchObject({ email, ...preset.expected });
      const groups = await t.api('GET', `/api/v1/users/${userId}/groups`);
      expect(groups.body.data.map((group: { name: string }) => group.name).sort()).toEqual(preset.groups);
    });
  }
});
