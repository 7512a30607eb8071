/**
 * Helpers for provider tests: an organization signing in through the built-in test IdP (a real
 * SAML IdP inside the hub), applications registered through the admin API, and openid-client as
 * the application (relying party) over real HTTP.
 */
import * as client from 'openid-client';
import { expect } from 'vitest';
import { createConnection, createOrganization } from '../sso/helpers.ts';
import { Browser, type Page } from '../support/browser.ts';
import type { TestHub } from '../support/hub.ts';

export { createConnection, createOrganization, startHub, traceOf } from '../sso/helpers.ts';

/** Where our pretend applications receive codes: never fetched, the browser stops there. */
export const APP_ORIGIN = 'http://127.0.0.1:9';

export async function organizationWithTestIdp(
  t: TestHub,
  options: { policies?: Record<string, unknown> } = {},
) {
  const org = await createOrganization(t, options);
  const connection = await createConnection(t, org.id, { name: 'Test IdP', protocol: 'saml', testIdp: true });
  return { ...org, connectionId: connection.id };
}

export interface RegisteredApp {
  id: string;
  secret: string | null;
  redirectUri: string;
  body: Record<string, any>;
}

export async function registerApplication(
  t: TestHub,
  body: Record<string, unknown> = {},
): Promise<RegisteredApp> {
  const redirectUri = `${APP_ORIGIN}/callback/${Math.random().toString(36).slice(2)}`;
  const response = await t.api('POST', '/api/v1/applications', {
    body: { name: 'Coaching app', type: 'confidential', redirectUris: [redirectUri], ...body },
  });
  expect(response.status, response.text).toBe(201);
  return {
    id: response.body.id,
    secret: response.body.secret,
    redirectUri: (response.body.redirectUris as string[])[0] as string,
    body: response.body,
  };
}

/** openid-client configured for the application, from our discovery document. */
export async function relyingParty(
  t: TestHub,
  app: Pick<RegisteredApp, 'id' | 'secret'>,
  secret = app.secret,
) {
  return client.discovery(
    new URL(t.url),
    app.id,
    undefined,
    secret ? client.ClientSecretBasic(secret) : client.None(),
    { execute: [client.allowInsecureRequests] },
  );
}

export interface Person {
  email: string;
  givenName?: string;
  familyName?: string;
  groups?: string[];
}

/**
 * Runs an authorization request in `browser` until the application's redirect URI: through the
 * interaction, /login (home-realm discovery when needed), the test IdP's form, the ACS, and the
 * resume step. Returns the page at the redirect URI (not fetched).
 */
export async function authorize(
  _t: TestHub,
  options: {
    config: client.Configuration;
    app: Pick<RegisteredApp, 'redirectUri'>;
    person?: Person;
    browser?: Browser;
    scope?: string;
    extra?: Record<string, string>;
    pkce?: boolean;
  },
) {
  const browser = options.browser ?? new Browser();
  browser.stopAt = [APP_ORIGIN];
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const parameters: Record<string, string> = {
    redirect_uri: options.app.redirectUri,
    scope: options.scope ?? 'openid email profile offline_access groups roles',
    state,
    nonce,
    ...options.extra,
  };
  if (options.pkce !== false) {
    parameters.code_challenge = await client.calculatePKCECodeChallenge(verifier);
    parameters.code_challenge_method = 'S256';
  }
  const url = client.buildAuthorizationUrl(options.config, parameters);
  let page = await browser.get(url.href);
  page = await signInAtIdp(browser, page, options.person);
  return { page, verifier, state, nonce, browser };
}

/** Fills /login's email form and the test IdP's form when they show up. */
export async function signInAtIdp(browser: Browser, page: Page, person: Person | undefined): Promise<Page> {
  let current = page;
  for (let step = 0; step < 3 && person; step++) {
    if (current.html.includes('name="email"') && current.html.includes('Work email')) {
      current = await browser.submit(current, { email: person.email });
      continue;
    }
    if (current.html.includes('Test identity provider')) {
      current = await browser.submit(current, {
        email: person.email,
        given_name: person.givenName ?? 'Ada',
        family_name: person.familyName ?? 'Lovelace',
        groups: (person.groups ?? []).join(', '),
      });
      continue;
    }
    break;
  }
  return current;
}

/** The whole code flow: authorize in the browser, then redeem the code with PKCE. */
export async function signIn(
  t: TestHub,
  options: Parameters<typeof authorize>[1],
): Promise<{
  tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
  browser: Browser;
  page: Page;
}> {
  const { page, verifier, state, nonce, browser } = await authorize(t, options);
  expect(page.url, page.html.slice(0, 800)).toContain(options.app.redirectUri);
  const tokens = await client.authorizationCodeGrant(options.config, new URL(page.url), {
    pkceCodeVerifier: verifier,
    expectedState: state,
    expectedNonce: nonce,
  });
  return { tokens, browser, page };
}
