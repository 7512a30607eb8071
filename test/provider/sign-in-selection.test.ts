/**
 * What an application may say about the sign-in on /oidc/authorize (as WorkOS offers it):
 * `connection` and `organization` select the IdP, `login_hint` and `domain_hint` pre-fill
 * discovery; a selection the application may not make is refused with invalid_request.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser } from '../support/browser.ts';
import type { TestHub } from '../support/hub.ts';
import {
  authorize,
  createConnection,
  organizationWithTestIdp,
  type RegisteredApp,
  registerApplication,
  relyingParty,
  signIn,
  signInAtIdp,
  startHub,
} from './helpers.ts';

describe('sign-in selection on /oidc/authorize', () => {
  let t: TestHub;
  let acme: Awaited<ReturnType<typeof organizationWithTestIdp>> & { contractors: string };
  let globex: Awaited<ReturnType<typeof organizationWithTestIdp>>;
  let shared: RegisteredApp;
  let sharedConfig: Awaited<ReturnType<typeof relyingParty>>;

  beforeAll(async () => {
    t = await startHub();
    const first = await organizationWithTestIdp(t);
    const contractors = await createConnection(t, first.id, {
      name: 'Contractors',
      protocol: 'saml',
      testIdp: true,
    });
    acme = { ...first, contractors: contractors.id };
    globex = await organizationWithTestIdp(t);
    shared = await registerApplication(t, { name: 'Shared coaching' });
    sharedConfig = await relyingParty(t, shared);
  });
  afterAll(async () => t?.close());

  /** The OAuth error the application receives at its redirect URI. */
  function oauthError(page: { url: string }) {
    const url = new URL(page.url);
    return {
      error: url.searchParams.get('error'),
      description: url.searchParams.get('error_description') ?? '',
      code: url.searchParams.get('code'),
    };
  }

  it('connection= goes straight to that connection’s IdP: no discovery, no picker', async () => {
    const { page, browser } = await authorize(t, {
      config: sharedConfig,
      app: shared,
      extra: { connection: acme.contractors },
    });
    expect(page.html).toContain('Test identity provider');
    expect(page.url).toContain(`/sso/test-idp/${acme.contractors}/`);
    const done = await signInAtIdp(browser, page, { email: `cora@${acme.domain}` });
    expect(oauthError(done).code).toBeTruthy();
  });

  it('organization= (slug or id) offers that organization’s connections', async () => {
    for (const organization of [acme.slug, acme.id]) {
      const { page } = await authorize(t, { config: sharedConfig, app: shared, extra: { organization } });
      expect(page.html).toContain('Choose how to sign in');
      expect(page.html).toContain('Contractors');
    }
    const { page } = await authorize(t, {
      config: sharedConfig,
      app: shared,
      extra: { organization: globex.slug, connection: globex.connectionId },
    });
    expect(page.url).toContain(`/sso/test-idp/${globex.connectionId}/`);
  });

  it('refuses, with invalid_request to the application, a selection it may not make', async () => {
    const owned = await registerApplication(t, { name: 'Acme only', organization: acme.id });
    const ownedConfig = await relyingParty(t, owned);
    const cases: Array<
      [RegisteredApp, Awaited<ReturnType<typeof relyingParty>>, Record<string, string>, RegExp]
    > = [
      [
        shared,
        sharedConfig,
        { organization: acme.slug, connection: globex.connectionId },
        /does not belong to organization/,
      ],
      [
        owned,
        ownedConfig,
        { connection: globex.connectionId },
        /organization this application does not serve/,
      ],
      [owned, ownedConfig, { organization: globex.slug }, /not an organization this application serves/],
      [
        shared,
        sharedConfig,
        { organization: 'no-such-organization' },
        /not an organization this application serves/,
      ],
      [shared, sharedConfig, { connection: 'conn_doesnotexist' }, /does not exist/],
      [shared, sharedConfig, { domain_hint: 'not a domain' }, /domain_hint must be a domain name/],
    ];
    for (const [app, config, extra, description] of cases) {
      const { page } = await authorize(t, { config, app, extra });
      expect(page.url.startsWith(app.redirectUri), JSON.stringify(extra)).toBe(true);
      const answer = oauthError(page);
      expect(answer.error, JSON.stringify(extra)).toBe('invalid_request');
      expect(answer.description).toMatch(description);
      expect(answer.code).toBeNull();
    }
    // The organization's own connection, on its own application, is fine.
    const { page } = await authorize(t, {
      config: ownedConfig,
      app: owned,
      extra: { connection: acme.contractors },
    });
    expect(page.url).toContain(`/sso/test-idp/${acme.contractors}/`);
  });

  it('domain_hint and login_hint pre-fill discovery', async () => {
    const byDomain = await authorize(t, {
      config: sharedConfig,
      app: shared,
      extra: { domain_hint: globex.domain },
    });
    expect(byDomain.page.url).toContain(`/sso/test-idp/${globex.connectionId}/`);
    const byEmail = await authorize(t, {
      config: sharedConfig,
      app: shared,
      extra: { login_hint: `gil@${globex.domain}` },
    });
    expect(byEmail.page.url).toContain(`/sso/test-idp/${globex.connectionId}/`);
    const unknown = await authorize(t, {
      config: sharedConfig,
      app: shared,
      extra: { domain_hint: 'no-such-company.example' },
    });
    expect(unknown.page.html).toContain('Work email');
  });

  it('a session of someone of another organization does not answer a request that selects one', async () => {
    const browser = new Browser();
    await signIn(t, {
      config: sharedConfig,
      app: shared,
      browser,
      extra: { connection: acme.connectionId },
      person: { email: `ann@${acme.domain}` },
    });
    // Without a selection the session answers at once.
    const again = await authorize(t, { config: sharedConfig, app: shared, browser });
    expect(oauthError(again.page).code).toBeTruthy();
    // Selecting Globex: the person signs in with Globex's IdP, and the code is for that person.
    const selected = await authorize(t, {
      config: sharedConfig,
      app: shared,
      browser,
      extra: { organization: globex.slug },
    });
    expect(selected.page.url).toContain(`/sso/test-idp/${globex.connectionId}/`);
    const { tokens } = await signIn(t, {
      config: sharedConfig,
      app: shared,
      browser,
      extra: { organization: globex.slug },
      person: { email: `gus@${globex.domain}` },
    });
    expect(tokens.claims()?.email).toBe(`gus@${globex.domain}`);
    expect(tokens.claims()?.org_id).toBe(globex.id);
    // Selecting the session's own organization (by its connection) reuses the session.
    const same = await authorize(t, {
      config: sharedConfig,
      app: shared,
      browser,
      extra: { connection: globex.connectionId },
    });
    expect(oauthError(same.page).code).toBeTruthy();
  });
});
