/**
 * Logout: RP-initiated logout in the browser (front channel: end_session with id_token_hint and
 * post_logout_redirect_uri) and back-channel logout to every application of the session, received
 * by a server that verifies the logout token the way OIDC Back-Channel Logout 1.0 §2.6 says.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser } from '../support/browser.ts';
import type { TestHub } from '../support/hub.ts';
import {
  APP_ORIGIN,
  authorize,
  organizationWithTestIdp,
  registerApplication,
  relyingParty,
  signIn,
  startHub,
} from './helpers.ts';

interface Received {
  path: string;
  claims?: Record<string, unknown>;
  header?: Record<string, unknown>;
  error?: string;
}

/** An application's back-channel logout endpoint: verifies each logout token and records it. */
async function startLogoutReceiver(issuer: string) {
  const received: Received[] = [];
  const jwks = createRemoteJWKSet(new URL(`${issuer}/oidc/jwks`));
  const audiences = new Map<string, string>();
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', async () => {
      const path = req.url ?? '';
      try {
        expect(req.method).toBe('POST');
        expect(req.headers['content-type']).toContain('application/x-www-form-urlencoded');
        const token = new URLSearchParams(body).get('logout_token') ?? '';
        const { payload, protectedHeader } = await jwtVerify(token, jwks, {
          issuer,
          audience: audiences.get(path) ?? 'unknown',
          typ: 'logout+jwt',
        });
        // §2.6: sub or sid, the back-channel event, no nonce, iat, jti.
        expect(payload.events).toEqual({ 'http://schemas.openid.net/event/backchannel-logout': {} });
        expect(payload.nonce).toBeUndefined();
        expect(typeof payload.iat).toBe('number');
        expect(typeof payload.jti).toBe('string');
        received.push({ path, claims: payload as Record<string, unknown>, header: protectedHeader });
        res.writeHead(200).end();
      } catch (error) {
        received.push({ path, error: (error as Error).message });
        res.writeHead(400).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    received,
    /** The logout endpoint of one application (its client_id is the expected audience). */
    endpoint(clientId: string) {
      const path = `/backchannel/${clientId}`;
      audiences.set(path, clientId);
      return `${url}${path}`;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('logout', () => {
  let t: TestHub;
  let receiver: Awaited<ReturnType<typeof startLogoutReceiver>>;
  beforeAll(async () => {
    t = await startHub();
    receiver = await startLogoutReceiver(t.url);
  });
  afterAll(async () => {
    await receiver?.close();
    await t?.close();
  });

  async function appWithBackchannel(orgId: string, name: string) {
    const app = await registerApplication(t, { organization: orgId, name });
    const patched = await t.api('PATCH', `/api/v1/applications/${app.id}`, {
      body: {
        backchannelLogoutUri: receiver.endpoint(app.id),
        postLogoutRedirectUris: [`${APP_ORIGIN}/signed-out/${app.id}`],
      },
    });
    expect(patched.status, patched.text).toBe(200);
    return app;
  }

  it('RP-initiated logout ends the session everywhere: back-channel logout tokens to each application, then back to the app', async () => {
    const org = await organizationWithTestIdp(t);
    const coaching = await appWithBackchannel(org.id, 'Coaching');
    const teams = await appWithBackchannel(org.id, 'Teams tab');
    const coachingConfig = await relyingParty(t, coaching);
    const teamsConfig = await relyingParty(t, teams);
    const browser = new Browser();
    const first = await signIn(t, {
      config: coachingConfig,
      app: coaching,
      browser,
      person: { email: `lou@${org.domain}` },
    });
    // Single sign-on: the second application needs no trip to the IdP.
    const second = await authorize(t, { config: teamsConfig, app: teams, browser });
    expect(second.page.history.some((url) => url.includes('/sso/'))).toBe(false);
    const secondTokens = await client.authorizationCodeGrant(teamsConfig, new URL(second.page.url), {
      pkceCodeVerifier: second.verifier,
      expectedState: second.state,
      expectedNonce: second.nonce,
    });
    const sub = first.tokens.claims()?.sub;
    // oidc-provider gives each application its own `sid` for the one session.
    const sids = { [coaching.id]: first.tokens.claims()?.sid, [teams.id]: secondTokens.claims()?.sid };
    expect(sids[coaching.id]).toBeTruthy();
    expect(sids[teams.id]).toBeTruthy();
    expect(secondTokens.claims()?.sub).toBe(sub);

    const before = receiver.received.length;
    const logoutUrl = client.buildEndSessionUrl(coachingConfig, {
      id_token_hint: first.tokens.id_token as string,
      post_logout_redirect_uri: `${APP_ORIGIN}/signed-out/${coaching.id}`,
      state: 'bye',
    });
    const done = await browser.get(logoutUrl.href);
    expect(done.url).toBe(`${APP_ORIGIN}/signed-out/${coaching.id}?state=bye`);

    const deliveries = receiver.received.slice(before);
    expect(deliveries.filter((delivery) => delivery.error)).toEqual([]);
    expect(deliveries.map((delivery) => delivery.claims?.aud).sort()).toEqual([coaching.id, teams.id].sort());
    for (const delivery of deliveries) {
      expect(delivery.claims).toMatchObject({ iss: t.url, sub, sid: sids[delivery.claims?.aud as string] });
      expect(delivery.header).toMatchObject({ typ: 'logout+jwt' });
    }

    // The session is gone: the next authorization goes back through the login, and the tokens
    // that lived only as long as the session are dead.
    const again = await authorize(t, { config: coachingConfig, app: coaching, browser });
    expect(again.page.url).toContain('/sso/test-idp/');
    await expect(
      client.refreshTokenGrant(coachingConfig, first.tokens.refresh_token as string),
    ).rejects.toMatchObject({
      error: 'invalid_grant',
    });
  });

  it('without an id_token_hint the person confirms; without a registered post-logout URI they see our page', async () => {
    const org = await organizationWithTestIdp(t);
    const app = await appWithBackchannel(org.id, 'Coaching');
    const config = await relyingParty(t, app);
    const browser = new Browser();
    await signIn(t, { config, app, browser, person: { email: `mo@${org.domain}` } });
    const confirm = await browser.get(`${t.url}/oidc/logout?client_id=${app.id}`);
    expect(confirm.status).toBe(200);
    expect(confirm.html).toContain('Sign out of Coaching?');
    const signedOut = await browser.submit(confirm, {}, '/oidc/logout');
    expect(signedOut.html).toContain('You are signed out');

    const refused = await browser.get(
      `${t.url}/oidc/logout?client_id=${app.id}&post_logout_redirect_uri=${encodeURIComponent('https://evil.example/')}`,
    );
    expect(refused.status).toBe(400);
    expect(refused.html).toContain('post_logout_redirect_uri');
  });
});

describe('leavers lose access', () => {
  let t: TestHub;
  let receiver: Awaited<ReturnType<typeof startLogoutReceiver>>;
  beforeAll(async () => {
    t = await startHub({ workers: true });
    receiver = await startLogoutReceiver(t.url);
  });
  afterAll(async () => {
    await receiver?.close();
    await t?.close();
  });

  /** Waits (polling, no fixed delay) until the worker has done something observable. */
  async function eventually<T>(probe: () => Promise<T | undefined>, what: string): Promise<T> {
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const value = await probe();
      if (value !== undefined) return value;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`gave up waiting for ${what}`);
  }

  it('suspending a user ends their sessions everywhere: back-channel logout and every token revoked', async () => {
    const org = await organizationWithTestIdp(t);
    const app = await registerApplication(t, { organization: org.id });
    await t.api('PATCH', `/api/v1/applications/${app.id}`, {
      body: { backchannelLogoutUri: receiver.endpoint(app.id) },
    });
    const config = await relyingParty(t, app);
    const { tokens } = await signIn(t, {
      config,
      app,
      person: { email: `leo@${org.domain}` },
      extra: { prompt: 'consent' },
    });
    const sub = tokens.claims()?.sub as string;
    expect((await client.tokenIntrospection(config, tokens.access_token)).active).toBe(true);

    const suspended = await t.api('POST', `/api/v1/users/${sub}/suspend`);
    expect(suspended.status, suspended.text).toBe(200);
    const delivery = await eventually(
      async () => receiver.received.find((item) => item.claims?.sub === sub),
      'the logout token',
    );
    expect(delivery.error).toBeUndefined();
    expect(delivery.claims).toMatchObject({ aud: app.id, sid: tokens.claims()?.sid });
    const ended = await eventually(async () => {
      const events = await t.api('GET', `/api/v1/events?types=user.sessions_ended&subject=${sub}`);
      return events.body.data[0];
    }, 'user.sessions_ended');
    expect(ended.data).toMatchObject({ reason: 'user.suspended', sessions: 1, backchannelNotified: 1 });
    expect((await client.tokenIntrospection(config, tokens.access_token)).active).toBe(false);
    await expect(client.refreshTokenGrant(config, tokens.refresh_token as string)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
  });
});
