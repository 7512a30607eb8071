/**
 * Refusals of the OpenID provider: an unregistered redirect URI, a reused or stolen code, a public
 * client without PKCE, an application not allowed for the user's organization, bad client
 * authentication, and racing redemptions of one code across requests.
 */
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, textById } from '../support/browser.ts';
import type { TestHub } from '../support/hub.ts';
import {
  APP_ORIGIN,
  authorize,
  organizationWithTestIdp,
  registerApplication,
  relyingParty,
  signIn,
  startHub,
  traceOf,
} from './helpers.ts';

describe('OpenID provider refusals', () => {
  let t: TestHub;
  beforeAll(async () => {
    t = await startHub();
  });
  afterAll(async () => t?.close());

  async function introspect(app: { id: string; secret: string | null }, token: string) {
    return client.tokenIntrospection(await relyingParty(t, app), token);
  }

  /** The OAuth error code of a refused call (in the body, or in WWW-Authenticate for a 401). */
  async function oauthError(call: Promise<unknown>): Promise<string | undefined> {
    try {
      await call;
      return undefined;
    } catch (error) {
      const failure = error as { error?: string; cause?: Array<{ parameters?: { error?: string } }> };
      return failure.error ?? failure.cause?.[0]?.parameters?.error;
    }
  }

  it('refuses an unregistered redirect URI with a page, never a redirect', async () => {
    const app = await registerApplication(t);
    const config = await relyingParty(t, app);
    const evil = 'https://evil.example/steal';
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: evil,
      scope: 'openid',
      code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
    });
    const response = await fetch(url, { redirect: 'manual' });
    expect(response.status).toBe(400);
    expect(response.headers.get('location')).toBeNull();
    const html = await response.text();
    expect(textById(html, 'error-code')).toBe('invalid_redirect_uri');
    expect(html).not.toContain(evil);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");

    // A near miss is still a miss: exact matching, no prefix or case games.
    for (const near of [`${app.redirectUri}/x`, app.redirectUri.toUpperCase(), `${app.redirectUri}?a=1`]) {
      const again = await fetch(
        client.buildAuthorizationUrl(config, {
          redirect_uri: near,
          scope: 'openid',
          code_challenge: 'x'.repeat(43),
          code_challenge_method: 'S256',
        }),
        { redirect: 'manual' },
      );
      expect(again.status, near).toBe(400);
    }
  });

  it('refuses a reused code and revokes what the first redemption issued', async () => {
    const org = await organizationWithTestIdp(t);
    const app = await registerApplication(t, { organization: org.id });
    const config = await relyingParty(t, app);
    const { page, verifier, state, nonce } = await authorize(t, {
      config,
      app,
      person: { email: `eve@${org.domain}` },
    });
    const tokens = await client.authorizationCodeGrant(config, new URL(page.url), {
      pkceCodeVerifier: verifier,
      expectedState: state,
      expectedNonce: nonce,
    });
    expect((await introspect(app, tokens.access_token)).active).toBe(true);
    await expect(
      client.authorizationCodeGrant(config, new URL(page.url), {
        pkceCodeVerifier: verifier,
        expectedState: state,
        expectedNonce: nonce,
      }),
    ).rejects.toMatchObject({ error: 'invalid_grant' });
    expect((await introspect(app, tokens.access_token)).active).toBe(false);
  });

  it('two redemptions of one code racing each other: at most one succeeds, and its tokens end up revoked', async () => {
    const org = await organizationWithTestIdp(t);
    const app = await registerApplication(t, { organization: org.id });
    const config = await relyingParty(t, app);
    const { page, verifier } = await authorize(t, { config, app, person: { email: `rae@${org.domain}` } });
    const code = new URL(page.url).searchParams.get('code') as string;
    const redeem = () =>
      fetch(`${t.url}/oidc/token`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${app.id}:${app.secret}`).toString('base64')}`,
        },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          code,
          redirect_uri: app.redirectUri,
          code_verifier: verifier,
        }),
      }).then(async (response) => ({ status: response.status, body: await response.json() }));
    const results = await Promise.all([redeem(), redeem(), redeem()]);
    const succeeded = results.filter((result) => result.status === 200);
    expect(succeeded.length).toBeLessThanOrEqual(1);
    for (const failed of results.filter((result) => result.status !== 200)) {
      expect(failed.body.error).toBe('invalid_grant');
    }
    for (const result of succeeded) {
      expect((await introspect(app, result.body.access_token)).active).toBe(false);
    }
  });

  it('refuses a code redeemed by another application, or with the wrong PKCE verifier', async () => {
    const org = await organizationWithTestIdp(t);
    const app = await registerApplication(t, { organization: org.id });
    const thief = await registerApplication(t, {
      organization: org.id,
      redirectUris: [`${APP_ORIGIN}/thief`],
    });
    const config = await relyingParty(t, app);
    const first = await authorize(t, { config, app, person: { email: `pat@${org.domain}` } });
    await expect(
      client.authorizationCodeGrant(await relyingParty(t, thief), new URL(first.page.url), {
        pkceCodeVerifier: first.verifier,
        expectedState: first.state,
      }),
    ).rejects.toMatchObject({ error: 'invalid_grant' });

    const second = await authorize(t, { config, app, browser: first.browser });
    await expect(
      client.authorizationCodeGrant(config, new URL(second.page.url), {
        pkceCodeVerifier: client.randomPKCECodeVerifier(),
        expectedState: second.state,
      }),
    ).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('requires PKCE from public clients (and from confidential ones that opt in)', async () => {
    const spa = await registerApplication(t, { type: 'public', name: 'SPA' });
    expect(spa.secret).toBeNull();
    expect(spa.body.requirePkce).toBe(true);
    const config = await relyingParty(t, spa);
    const { page } = await authorize(t, { config, app: spa, pkce: false });
    const answer = new URL(page.url);
    expect(answer.href.startsWith(spa.redirectUri)).toBe(true);
    expect(answer.searchParams.get('error')).toBe('invalid_request');
    expect(answer.searchParams.get('error_description')).toMatch(/PKCE/);
    expect(answer.searchParams.get('code')).toBeNull();

    const strict = await registerApplication(t, { requirePkce: true });
    const strictConfig = await relyingParty(t, strict);
    const refused = await authorize(t, { config: strictConfig, app: strict, pkce: false });
    expect(new URL(refused.page.url).searchParams.get('error')).toBe('invalid_request');

    // A public client with PKCE signs in; it has no secret to present.
    const org = await organizationWithTestIdp(t);
    const spa2 = await registerApplication(t, { type: 'public', name: 'SPA', organization: org.id });
    const { tokens } = await signIn(t, {
      config: await relyingParty(t, spa2),
      app: spa2,
      person: { email: `kim@${org.domain}` },
    });
    expect(tokens.claims()?.org_id).toBe(org.id);
  });

  it('refuses a user whose organization may not use the application: a page with the trace id, then access_denied to the app', async () => {
    const allowed = await organizationWithTestIdp(t);
    const alsoAllowed = await organizationWithTestIdp(t);
    const other = await organizationWithTestIdp(t);
    const app = await registerApplication(t, { allowedOrganizations: [allowed.slug, alsoAllowed.id] });
    expect(app.body.allowedOrganizations).toEqual([allowed.id, alsoAllowed.id]);
    const config = await relyingParty(t, app);

    const { page, browser } = await authorize(t, { config, app, person: { email: `zed@${other.domain}` } });
    expect(page.status).toBe(403);
    expect(page.html).toContain('You don’t have access to Coaching app');
    expect(page.html).toContain(`people at Acme`);
    expect(page.url).not.toContain('code=');
    const traceId = textById(page.html, 'trace-id') as string;
    expect(traceId).toMatch(/^trc_/);
    expect((await traceOf(t, other.id, traceId)).status).toBe('succeeded');
    const events = await t.api(
      'GET',
      `/api/v1/events?types=application.access_refused&organization=${other.id}`,
    );
    expect(events.body.data).toHaveLength(1);

    // "Back to the application" tells it access_denied; still no code.
    const back = await browser.submit(page);
    const answer = new URL(back.url);
    expect(answer.href.startsWith(app.redirectUri)).toBe(true);
    expect(answer.searchParams.get('error')).toBe('access_denied');
    expect(answer.searchParams.get('code')).toBeNull();

    // The same browser, now signed in: prompt=none gets access_denied straight away.
    const silent = await authorize(t, { config, app, browser, extra: { prompt: 'none' } });
    expect(new URL(silent.page.url).searchParams.get('error')).toBe('access_denied');

    // A user of the allowed organization signs in.
    const { tokens } = await signIn(t, { config, app, person: { email: `amy@${allowed.domain}` } });
    expect(tokens.claims()?.org_id).toBe(allowed.id);
  });

  it('an organization-owned application serves only its own organization', async () => {
    const owner = await organizationWithTestIdp(t);
    const other = await organizationWithTestIdp(t);
    const app = await registerApplication(t, { organization: owner.id });
    const config = await relyingParty(t, app);
    // The application names the organization, so the login goes straight to the owner's IdP:
    // someone from elsewhere cannot even reach their own IdP through it.
    const browser = new Browser();
    const { page } = await authorize(t, { config, app, browser });
    expect(page.html).toContain('Test identity provider');
    expect(page.url).toContain(owner.connectionId);
    // Signed in to Switchboard as someone of another organization (through a shared application),
    // the same browser is still refused by the owned application.
    const shared = await registerApplication(t, { name: 'Shared' });
    const elsewhere = new Browser();
    await signIn(t, {
      config: await relyingParty(t, shared),
      app: shared,
      browser: elsewhere,
      person: { email: `out@${other.domain}` },
    });
    const refused = await authorize(t, { config, app, browser: elsewhere });
    expect(refused.page.status).toBe(403);
    expect(refused.page.html).toContain('not available to people at');
  });

  it('refuses bad client authentication; a rotated secret stops working unless a grace period was asked for', async () => {
    const machine = await registerApplication(t, { redirectUris: [], grantTypes: ['client_credentials'] });
    expect(
      await oauthError(client.clientCredentialsGrant(await relyingParty(t, machine, `${machine.secret}x`))),
    ).toBe('invalid_client');

    const rotated = await t.api('POST', `/api/v1/applications/${machine.id}/secret`, {
      body: { keepPreviousForSeconds: 3600 },
    });
    expect(rotated.status, rotated.text).toBe(200);
    const fresh = rotated.body.secret as string;
    expect(fresh).not.toBe(machine.secret);
    expect(rotated.body.clientSecret.previousValidUntil).toBeTruthy();
    await client.clientCredentialsGrant(await relyingParty(t, machine, fresh));
    await client.clientCredentialsGrant(await relyingParty(t, machine, machine.secret));

    const again = await t.api('POST', `/api/v1/applications/${machine.id}/secret`, { body: {} });
    await client.clientCredentialsGrant(await relyingParty(t, machine, again.body.secret));
    expect(await oauthError(client.clientCredentialsGrant(await relyingParty(t, machine, fresh)))).toBe(
      'invalid_client',
    );

    const disabled = await t.api('PATCH', `/api/v1/applications/${machine.id}`, { body: { enabled: false } });
    expect(disabled.status).toBe(200);
    expect(
      await oauthError(client.clientCredentialsGrant(await relyingParty(t, machine, again.body.secret))),
    ).toBe('invalid_client');
  });
});

describe('login forwarding', () => {
  let t: TestHub;
  beforeAll(async () => {
    t = await startHub();
  });
  afterAll(async () => t?.close());

  it('a /login link from someone else’s authorization request cannot sign them in as the victim', async () => {
    const org = await organizationWithTestIdp(t);
    const app = await registerApplication(t, { organization: org.id });
    const config = await relyingParty(t, app);
    // The attacker starts an authorization and stops at the /login link it leads to.
    const attacker = new Browser();
    const started = await authorize(t, { config, app, browser: attacker });
    expect(started.page.html).toContain('Test identity provider');
    const loginLink = started.page.history.find((url) => url.includes('/login?request=')) as string;
    expect(loginLink).toBeTruthy();

    // The victim follows the link and signs in at their IdP.
    const victim = new Browser();
    victim.stopAt = [APP_ORIGIN];
    const idp = await victim.get(loginLink);
    const landed = await victim.submit(idp, { email: `victim@${org.domain}` });
    expect(landed.status).toBe(400);
    expect(landed.html).toContain('started in another browser');
    expect(landed.url).not.toContain('code=');

    // The attacker resumes their authorization (their browser holds its resume cookie): it has no
    // login to resume, so it asks for one again; no code for the victim.
    const interaction = started.page.history.find((url) => url.includes('/interaction/')) as string;
    const uid = new URL(interaction).pathname.split('/')[2];
    attacker.stopAt = [APP_ORIGIN];
    const resumed = await attacker.get(`${t.url}/oidc/authorize/${uid}`);
    expect(resumed.url).not.toContain('code=');
    expect(resumed.html).toContain('Test identity provider');
  });
});

describe('browser access to the token endpoint (CORS)', () => {
  let t: TestHub;
  beforeAll(async () => {
    t = await startHub();
  });
  afterAll(async () => t?.close());

  it('only public applications, only from the origin of one of their redirect URIs', async () => {
    const spa = await registerApplication(t, {
      type: 'public',
      redirectUris: ['https://spa.example.com/cb'],
    });
    const web = await registerApplication(t, { redirectUris: ['https://web.example.com/cb'] });
    const call = (app: { id: string; secret: string | null }, origin: string) =>
      fetch(`${t.url}/oidc/token`, {
        method: 'POST',
        headers: {
          origin,
          'content-type': 'application/x-www-form-urlencoded',
          ...(app.secret
            ? { authorization: `Basic ${Buffer.from(`${app.id}:${app.secret}`).toString('base64')}` }
            : {}),
        },
        body: new URLSearchParams({
          grant_type: 'refresh_token',
          refresh_token: 'not-a-token',
          ...(app.secret ? {} : { client_id: app.id }),
        }),
      }).then(async (response) => ({
        allowed: response.headers.get('access-control-allow-origin'),
        body: await response.json(),
      }));
    const own = await call(spa, 'https://spa.example.com');
    expect(own.allowed).toBe('https://spa.example.com');
    expect(own.body.error).toBe('invalid_grant');
    const foreign = await call(spa, 'https://evil.example.com');
    expect(foreign.allowed).toBeNull();
    expect(foreign.body.error_description).toContain('origin https://evil.example.com not allowed');
    const server = await call(web, 'https://web.example.com');
    expect(server.allowed).toBeNull();
  });
});
