/**
 * OIDC callback refusals. A malicious IdP (its token endpoint returns the ID token each test
 * forges) stands in for a compromised or misconfigured IdP, or a network attacker.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Browser, textById } from '../support/browser.ts';
import type { TestHub } from '../support/hub.ts';
import { type ForgingOidcIdp, now, startForgingOidcIdp } from '../support/idps.ts';
import { createConnection, createOrganization, startHub, traceOf } from './helpers.ts';

describe('OIDC callback refuses forged or misdirected answers', () => {
  let t: TestHub;
  let idp: ForgingOidcIdp;
  let org: { id: string; domain: string };
  let connectionId: string;

  beforeAll(async () => {
    t = await startHub();
    org = await createOrganization(t);
    idp = await startForgingOidcIdp();
    const connection = await createConnection(t, org.id, {
      name: 'Forging IdP',
      protocol: 'oidc',
      oidc: { discoveryUrl: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret },
    });
    connectionId = connection.id;
  });
  afterAll(async () => {
    await idp?.close();
    await t?.close();
  });

  const defaultForge = idp_default();
  function idp_default() {
    return async ({ nonce, clientId, issuer, sign }: Parameters<ForgingOidcIdp['forge']>[0]) =>
      sign({
        iss: issuer,
        aud: clientId,
        sub: 'user-1',
        nonce,
        email: `forged@${org.domain}`,
        iat: now(),
        exp: now() + 300,
      });
  }

  async function login(browser = new Browser()) {
    return browser.get(`${t.url}/login?connection=${connectionId}`);
  }

  async function expectRefused(page: { status: number; html: string }, code: string | RegExp) {
    expect(page.status, page.html.slice(0, 300)).toBeGreaterThanOrEqual(400);
    expect(page.html).not.toContain('Signed in');
    const trace = await traceOf(t, org.id, textById(page.html, 'trace-id') as string);
    expect(trace.status).toBe('failed');
    if (typeof code === 'string') expect(trace.errorCode).toBe(code);
    else expect(trace.errorCode).toMatch(code);
    return trace;
  }

  it('baseline: a correct ID token signs in (and PKCE was sent)', async () => {
    idp.forge = defaultForge;
    const page = await login();
    expect(page.status, page.html).toBe(200);
    expect(page.html).toContain('Signed in');
    expect(idp.codeVerifiers.at(-1)).toMatch(/^[A-Za-z0-9_-]{43,128}$/);
  });

  it('alg: none', async () => {
    idp.forge = async ({ nonce, clientId, issuer, sign }) =>
      sign(
        {
          iss: issuer,
          aud: clientId,
          sub: 'user-1',
          nonce,
          email: `none@${org.domain}`,
          iat: now(),
          exp: now() + 300,
        },
        { alg: 'none' },
      );
    await expectRefused(await login(), /oidc_signature_invalid|oidc_token_exchange_failed/);
  });

  it('signed with a key the IdP does not publish', async () => {
    const { generateKeyPair, SignJWT } = await import('jose');
    const { privateKey } = await generateKeyPair('RS256');
    idp.forge = async ({ nonce, clientId, issuer }) =>
      new SignJWT({
        iss: issuer,
        aud: clientId,
        sub: 'user-1',
        nonce,
        email: `forged@${org.domain}`,
        iat: now(),
        exp: now() + 300,
      })
        .setProtectedHeader({ alg: 'RS256', kid: 'forge-1' })
        .sign(privateKey);
    await expectRefused(await login(), 'oidc_signature_invalid');
  });

  it('wrong iss', async () => {
    idp.forge = async ({ nonce, clientId, sign }) =>
      sign({
        iss: 'https://evil.example.com',
        aud: clientId,
        sub: 'user-1',
        nonce,
        email: `forged@${org.domain}`,
        iat: now(),
        exp: now() + 300,
      });
    await expectRefused(await login(), 'oidc_issuer_mismatch');
  });

  it('wrong aud', async () => {
    idp.forge = async ({ nonce, issuer, sign }) =>
      sign({
        iss: issuer,
        aud: 'another-client',
        sub: 'user-1',
        nonce,
        email: `forged@${org.domain}`,
        iat: now(),
        exp: now() + 300,
      });
    await expectRefused(await login(), 'oidc_audience_mismatch');
  });

  it('expired token', async () => {
    idp.forge = async ({ nonce, clientId, issuer, sign }) =>
      sign({
        iss: issuer,
        aud: clientId,
        sub: 'user-1',
        nonce,
        email: `forged@${org.domain}`,
        iat: now() - 3600,
        exp: now() - 1800,
      });
    await expectRefused(await login(), 'oidc_token_expired');
  });

  it('not yet valid (issued in the future)', async () => {
    idp.forge = async ({ nonce, clientId, issuer, sign }) =>
      sign({
        iss: issuer,
        aud: clientId,
        sub: 'user-1',
        nonce,
        email: `forged@${org.domain}`,
        iat: now() + 3600,
        exp: now() + 7200,
        nbf: now() + 3600,
      });
    await expectRefused(await login(), /oidc_token_not_yet_valid|oidc_token_expired/);
  });

  it('nonce mismatch (a token minted for another login)', async () => {
    idp.forge = async ({ clientId, issuer, sign }) =>
      sign({
        iss: issuer,
        aud: clientId,
        sub: 'user-1',
        nonce: 'someone-elses-nonce',
        email: `forged@${org.domain}`,
        iat: now(),
        exp: now() + 300,
      });
    await expectRefused(await login(), 'oidc_nonce_mismatch');
  });

  it('state that matches no login started here', async () => {
    idp.forge = defaultForge;
    idp.overrideState = 'attacker-chosen-state';
    try {
      await expectRefused(await login(), 'oidc_state_mismatch');
    } finally {
      delete idp.overrideState;
    }
  });

  it('PKCE: a code injected into another login fails at the token endpoint', async () => {
    idp.forge = defaultForge;
    // The victim's browser starts a login; the attacker starts their own and captures its code.
    const attacker = new Browser();
    attacker.stopAt = [`${t.url}/sso/oidc/`];
    const captured = await attacker.get(`${t.url}/login?connection=${connectionId}`);
    const stolenCode = new URL(captured.url).searchParams.get('code') as string;
    const victim = new Browser();
    victim.stopAt = [`${t.url}/sso/oidc/`];
    const victimCallback = new URL((await victim.get(`${t.url}/login?connection=${connectionId}`)).url);
    victimCallback.searchParams.set('code', stolenCode);
    victim.stopAt = [];
    await expectRefused(await victim.get(victimCallback.href), 'oidc_code_rejected');
  });

  it('the callback delivered to another browser (login CSRF)', async () => {
    idp.forge = defaultForge;
    const started = new Browser();
    started.stopAt = [`${t.url}/sso/oidc/`];
    const callback = await started.get(`${t.url}/login?connection=${connectionId}`);
    await expectRefused(await new Browser().get(callback.url), 'browser_mismatch');
  });

  it('the same callback used twice', async () => {
    idp.forge = defaultForge;
    const browser = new Browser();
    browser.stopAt = [`${t.url}/sso/oidc/`];
    const callback = await browser.get(`${t.url}/login?connection=${connectionId}`);
    browser.stopAt = [];
    const first = await browser.get(callback.url);
    expect(first.html).toContain('Signed in');
    const firstTraceId = textById(first.html, 'trace-id') as string;
    const replay = await expectRefused(await browser.get(callback.url), 'flow_already_used');
    // The replay gets a trace of its own; the first login's stays as it was.
    expect(replay.steps.map((step) => step.step)).toEqual(['response_received', 'flow_check', 'outcome']);
    const original = await traceOf(t, org.id, firstTraceId);
    expect(original.status).toBe('succeeded');
    expect(original.steps.filter((step) => !step.ok)).toEqual([]);
  });

  it('JWKS rotation: a new kid refetches the JWKS, at most once a minute', async () => {
    idp.forge = defaultForge;
    expect((await login()).html).toContain('Signed in');
    const fetchesBefore = idp.jwksFetches;
    await idp.rotateKey();
    // Within a minute of the last fetch, an unknown kid does not hammer the IdP: refused, no refetch.
    const early = await login();
    expect(early.html).not.toContain('Signed in');
    expect(idp.jwksFetches).toBe(fetchesBefore);
    // A minute later the unknown kid triggers one refetch and the rotated key is accepted.
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now() + 61_000);
      const later = await login();
      expect(later.status, later.html.slice(0, 300)).toBe(200);
      expect(later.html).toContain('Signed in');
      expect(idp.jwksFetches).toBe(fetchesBefore + 1);
    } finally {
      vi.useRealTimers();
    }
  });
});
