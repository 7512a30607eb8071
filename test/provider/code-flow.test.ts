/**
 * Switchboard as the OpenID provider, with openid-client as the real relying party: discovery,
 * authorization code + PKCE through the inbound SSO login, ID token and userinfo claims, refresh
 * rotation, client credentials, introspection, revocation.
 */
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestHub } from '../support/hub.ts';
import {
  authorize,
  organizationWithTestIdp,
  registerApplication,
  relyingParty,
  signIn,
  startHub,
} from './helpers.ts';

describe('OpenID provider: code flow with openid-client', () => {
  let t: TestHub;
  beforeAll(async () => {
    t = await startHub();
  });
  afterAll(async () => t?.close());

  it('publishes discovery and JWKS for the issuer PUBLIC_URL', async () => {
    const discovery = await fetch(`${t.url}/.well-known/openid-configuration`).then((r) => r.json());
    expect(discovery).toMatchObject({
      issuer: t.url,
      authorization_endpoint: `${t.url}/oidc/authorize`,
      token_endpoint: `${t.url}/oidc/token`,
      userinfo_endpoint: `${t.url}/oidc/userinfo`,
      jwks_uri: `${t.url}/oidc/jwks`,
      introspection_endpoint: `${t.url}/oidc/introspect`,
      revocation_endpoint: `${t.url}/oidc/revoke`,
      end_session_endpoint: `${t.url}/oidc/logout`,
      backchannel_logout_supported: true,
      code_challenge_methods_supported: ['S256'],
      response_types_supported: ['code'],
    });
    expect(discovery.scopes_supported).toEqual(
      expect.arrayContaining(['openid', 'email', 'profile', 'groups', 'roles', 'offline_access']),
    );
    expect(discovery.grant_types_supported).toEqual(
      expect.arrayContaining(['authorization_code', 'refresh_token', 'client_credentials']),
    );
    const jwks = await fetch(`${t.url}/oidc/jwks`).then((r) => r.json());
    expect(jwks.keys.map((key: { alg: string }) => key.alg).sort()).toEqual(['ES256', 'RS256']);
    for (const key of jwks.keys) expect(key).not.toHaveProperty('d');
  });

  it('signs a person in with code + PKCE; ID token and userinfo carry the claims', async () => {
    const org = await organizationWithTestIdp(t);
    const app = await registerApplication(t, { organization: org.id });
    const config = await relyingParty(t, app);
    const { tokens } = await signIn(t, {
      config,
      app,
      person: { email: `ada@${org.domain}`, givenName: 'Ada', familyName: 'Lovelace', groups: ['Coaches'] },
      // OIDC Core §11: offline access is asked for with prompt=consent (first-party: no screen).
      extra: { prompt: 'consent' },
    });
    const claims = tokens.claims();
    const user = await t.api('GET', `/api/v1/organizations/${org.id}/users?email=ada@${org.domain}`);
    const userId = user.body.data[0].id;
    expect(claims).toMatchObject({
      iss: t.url,
      aud: app.id,
      sub: userId,
      email: `ada@${org.domain}`,
      email_verified: true,
      name: 'Ada Lovelace',
      given_name: 'Ada',
      family_name: 'Lovelace',
      org_id: org.id,
      org_slug: org.slug,
      groups: ['Coaches'],
      roles: [],
    });
    expect(tokens.refresh_token).toBeTruthy();
    const userinfo = await client.fetchUserInfo(config, tokens.access_token, userId);
    expect(userinfo).toMatchObject({
      sub: userId,
      email: `ada@${org.domain}`,
      org_slug: org.slug,
      groups: ['Coaches'],
    });
  });
});

describe('OpenID provider: tokens', () => {
  let t: TestHub;
  beforeAll(async () => {
    t = await startHub();
  });
  afterAll(async () => t?.close());

  async function introspect(app: { id: string; secret: string | null }, token: string) {
    const config = await relyingParty(t, app);
    return client.tokenIntrospection(config, token);
  }

  it('rotates refresh tokens; a reused one revokes the whole grant', async () => {
    const org = await organizationWithTestIdp(t);
    const app = await registerApplication(t, { organization: org.id });
    const config = await relyingParty(t, app);
    const { tokens } = await signIn(t, {
      config,
      app,
      person: { email: `rob@${org.domain}` },
      extra: { prompt: 'consent' },
    });
    const first = tokens.refresh_token as string;
    const refreshed = await client.refreshTokenGrant(config, first);
    expect(refreshed.refresh_token).toBeTruthy();
    expect(refreshed.refresh_token).not.toBe(first);
    expect(refreshed.claims()?.sub).toBe(tokens.claims()?.sub);
    expect((await introspect(app, refreshed.access_token)).active).toBe(true);

    // The first refresh token again: a replay. Refused, and everything of the grant is revoked.
    await expect(client.refreshTokenGrant(config, first)).rejects.toMatchObject({ error: 'invalid_grant' });
    await expect(client.refreshTokenGrant(config, refreshed.refresh_token as string)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    expect((await introspect(app, refreshed.access_token)).active).toBe(false);
    expect((await introspect(app, tokens.access_token)).active).toBe(false);
  });

  it('issues client-credentials tokens only to applications allowed that grant', async () => {
    const machine = await registerApplication(t, {
      name: 'Reporting job',
      redirectUris: [],
      grantTypes: ['client_credentials'],
    });
    const config = await relyingParty(t, machine);
    const token = await client.clientCredentialsGrant(config);
    expect(token.token_type.toLowerCase()).toBe('bearer');
    expect(token.expires_in).toBeGreaterThan(0);
    const info = await introspect(machine, token.access_token);
    expect(info).toMatchObject({ active: true, client_id: machine.id, token_type: 'Bearer' });
    expect(info.sub).toBeUndefined();

    const web = await registerApplication(t, {});
    await expect(client.clientCredentialsGrant(await relyingParty(t, web))).rejects.toMatchObject({
      error: 'invalid_request',
      error_description: 'requested grant type is not allowed for this client',
    });
  });

  it('introspects for resource servers of the same tenancy, and revokes', async () => {
    const org = await organizationWithTestIdp(t);
    const app = await registerApplication(t, { organization: org.id });
    const api = await registerApplication(t, {
      name: 'Coaching API',
      organization: org.id,
      redirectUris: [],
      grantTypes: ['client_credentials'],
    });
    const stranger = await registerApplication(t, {
      name: 'Other tenant API',
      organization: (await organizationWithTestIdp(t)).id,
      redirectUris: [],
      grantTypes: ['client_credentials'],
    });
    const config = await relyingParty(t, app);
    const { tokens } = await signIn(t, { config, app, person: { email: `ivy@${org.domain}` } });
    const byApi = await introspect(api, tokens.access_token);
    expect(byApi).toMatchObject({ active: true, client_id: app.id, sub: tokens.claims()?.sub });
    expect(byApi.scope?.split(' ')).toEqual(expect.arrayContaining(['openid', 'email']));
    expect((await introspect(stranger, tokens.access_token)).active).toBe(false);

    // Another application cannot revoke this one's tokens (RFC 7009 §2.1): nothing happens.
    await client.tokenRevocation(await relyingParty(t, stranger), tokens.access_token);
    expect((await introspect(api, tokens.access_token)).active).toBe(true);

    // Revoking the access token revokes its grant's refresh token too (RFC 7009 §2.1 allows it).
    await client.tokenRevocation(config, tokens.access_token, { token_type_hint: 'access_token' });
    expect((await introspect(api, tokens.access_token)).active).toBe(false);
    await expect(
      client.fetchUserInfo(config, tokens.access_token, client.skipSubjectCheck),
    ).rejects.toBeTruthy();
    await expect(client.refreshTokenGrant(config, tokens.refresh_token as string)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
  });

  it('a suspended user loses refresh and userinfo at once', async () => {
    const org = await organizationWithTestIdp(t);
    const app = await registerApplication(t, { organization: org.id });
    const config = await relyingParty(t, app);
    const { tokens } = await signIn(t, {
      config,
      app,
      person: { email: `sue@${org.domain}` },
      extra: { prompt: 'consent' },
    });
    const sub = tokens.claims()?.sub as string;
    const suspended = await t.api('POST', `/api/v1/users/${sub}/suspend`);
    expect(suspended.status, suspended.text).toBe(200);
    await expect(client.refreshTokenGrant(config, tokens.refresh_token as string)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    await expect(client.fetchUserInfo(config, tokens.access_token, sub)).rejects.toBeTruthy();
  });
});

describe('OpenID provider: consent and re-authentication', () => {
  let t: TestHub;
  beforeAll(async () => {
    t = await startHub();
  });
  afterAll(async () => t?.close());

  it('a third-party application shows a consent screen; Allow gives a code, Cancel access_denied', async () => {
    const org = await organizationWithTestIdp(t);
    const vendor = await registerApplication(t, {
      organization: org.id,
      name: 'Vendor survey tool',
      firstParty: false,
    });
    const config = await relyingParty(t, vendor);
    const first = await authorize(t, {
      config,
      app: vendor,
      person: { email: `val@${org.domain}` },
      scope: 'openid email groups',
    });
    expect(first.page.html).toContain('Continue to Vendor survey tool?');
    expect(first.page.html).toContain('See your email address');
    expect(first.page.html).toContain('See the groups you belong to');
    expect(first.page.html).toContain(`Signed in as val@${org.domain}`);
    const cancelled = await first.browser.submit(first.page, {}, '/abort');
    expect(new URL(cancelled.url).searchParams.get('error')).toBe('access_denied');

    const second = await authorize(t, {
      config,
      app: vendor,
      browser: first.browser,
      scope: 'openid email groups',
    });
    expect(second.page.html).toContain('Continue to Vendor survey tool?');
    const allowed = await second.browser.submit(second.page, {}, '/consent');
    const tokens = await client.authorizationCodeGrant(config, new URL(allowed.url), {
      pkceCodeVerifier: second.verifier,
      expectedState: second.state,
      expectedNonce: second.nonce,
    });
    expect(tokens.claims()?.email).toBe(`val@${org.domain}`);
    // Consent is remembered for what was granted.
    const third = await authorize(t, { config, app: vendor, browser: first.browser, scope: 'openid email' });
    expect(third.page.url.startsWith(vendor.redirectUri)).toBe(true);
    expect(new URL(third.page.url).searchParams.get('code')).toBeTruthy();
  });

  it('prompt=login sends the person through their IdP again; prompt=none without a session is login_required', async () => {
    const org = await organizationWithTestIdp(t);
    const app = await registerApplication(t, { organization: org.id });
    const config = await relyingParty(t, app);
    const { browser } = await authorize(t, { config, app, person: { email: `ray@${org.domain}` } });
    const again = await authorize(t, { config, app, browser, extra: { prompt: 'login' } });
    expect(again.page.html).toContain('Test identity provider');
    const silent = await authorize(t, { config, app, extra: { prompt: 'none' } });
    expect(new URL(silent.page.url).searchParams.get('error')).toBe('login_required');
  });
});
