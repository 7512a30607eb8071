/**
 * Console sign-in and access: the login-link bootstrap, SSO through our own provider (the test
 * IdP behind it), console roles mapped to admin API scopes, CSRF on mutating requests, and the
 * person recorded as the actor of what they change.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { organizationWithTestIdp, signInAtIdp } from '../provider/helpers.ts';
import { startHub } from '../sso/helpers.ts';
import { Browser } from '../support/browser.ts';
import type { TestHub } from '../support/hub.ts';

let t: TestHub;

beforeAll(async () => {
  t = await startHub();
});
afterAll(async () => {
  await t?.close();
});

async function loginLink(): Promise<string> {
  const { url } = await t.hub.console.service.createLoginLink({ type: 'cli', name: 'test' });
  const token = new URL(url).hash.slice(1);
  expect(url).toContain('/admin/sign-in/link#');
  return token;
}

/** Signs in with a fresh login link; returns the cookie header and CSRF token. */
async function bootstrapSession() {
  const response = await fetch(`${t.url}/admin/auth/link`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token: await loginLink() }),
  });
  expect(response.status, await response.clone().text()).toBe(200);
  const setCookie = response.headers.get('set-cookie') ?? '';
  expect(setCookie).toMatch(/^sb_console=sbc_[^;]+; Path=\/; Max-Age=28800; HttpOnly; SameSite=Lax$/);
  const session = (await response.json()) as { csrfToken: string; role: string; method: string };
  return { cookie: setCookie.split(';')[0] as string, csrf: session.csrfToken, session };
}

async function call(
  method: string,
  path: string,
  auth: { cookie: string; csrf?: string },
  body?: unknown,
): Promise<{ status: number; body: any }> {
  const response = await fetch(`${t.url}${path}`, {
    method,
    headers: {
      cookie: auth.cookie,
      ...(auth.csrf ? { 'x-csrf-token': auth.csrf } : {}),
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

describe('login-link bootstrap', () => {
  it('signs in once as owner, and the person acts on the admin API with the session', async () => {
    const token = await loginLink();
    const first = await fetch(`${t.url}/admin/auth/link`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token }),
    });
    expect(first.status).toBe(200);
    const again = await fetch(`${t.url}/admin/auth/link`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token }),
    });
    expect(again.status).toBe(403);
    expect(((await again.json()) as { code: string }).code).toBe('login_link_invalid');

    const { cookie, csrf, session } = await bootstrapSession();
    expect(session).toMatchObject({ role: 'owner', method: 'login_link' });
    const me = await call('GET', '/admin/auth/session', { cookie });
    expect(me.status).toBe(200);
    expect(me.body.csrfToken).toBe(csrf);

    const list = await call('GET', '/api/v1/organizations', { cookie });
    expect(list.status).toBe(200);

    const noCsrf = await call('POST', '/api/v1/organizations', { cookie }, { name: 'No CSRF' });
    expect(noCsrf.status).toBe(403);
    expect(noCsrf.body.code).toBe('csrf_token_mismatch');
    const wrongCsrf = await call(
      'POST',
      '/api/v1/organizations',
      { cookie, csrf: `${csrf}x` },
      { name: 'X' },
    );
    expect(wrongCsrf.status).toBe(403);

    const created = await call('POST', '/api/v1/organizations', { cookie, csrf }, { name: 'Console Corp' });
    expect(created.status).toBe(201);
    const events = await t.api(
      'GET',
      `/api/v1/events?type=organization.created&organization=${created.body.id}`,
    );
    expect(events.status, events.text).toBe(200);
    const event = (events.body.data as Array<{ actor: { type: string; name: string; ip: string } }>)[0];
    expect(event?.actor).toMatchObject({ type: 'console' });
    expect(event?.actor.name).toContain('login link');
    expect(event?.actor.ip).toBeTruthy();
  });

  it('refuses an expired link and an unknown session', async () => {
    const token = await loginLink();
    await t.hub.database.db.execute(
      sql`update console_login_links set expires_at = now() - interval '1 second'`,
    );
    const expired = await fetch(`${t.url}/admin/auth/link`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token }),
    });
    expect(expired.status).toBe(403);
    const unknown = await call('GET', '/api/v1/organizations', {
      cookie: 'sb_console=sbc_not-a-session-at-all-000',
    });
    expect(unknown.status).toBe(401);
    expect(unknown.body.code).toBe('console_session_expired');
    const none = await call('GET', '/admin/auth/session', { cookie: '' });
    expect(none.status).toBe(401);
  });

  it('signs out: the cookie stops working', async () => {
    const { cookie, csrf } = await bootstrapSession();
    expect((await call('POST', '/admin/auth/logout', { cookie })).status).toBe(403);
    expect((await call('POST', '/admin/auth/logout', { cookie, csrf })).status).toBe(204);
    expect((await call('GET', '/api/v1/organizations', { cookie })).status).toBe(401);
  });
});

describe('SSO sign-in and roles', () => {
  it('a granted person signs in through the provider; support is read-only; revoking ends the session', async () => {
    const owner = await bootstrapSession();
    const org = await organizationWithTestIdp(t);
    const email = `staff@${org.domain}`;

    // Not a member yet: refused with a page that says what to do.
    const stranger = new Browser();
    let page = await stranger.get(`${t.url}/admin/auth/login?returnTo=/admin/users`);
    page = await signInAtIdp(stranger, page, { email: `someone@${org.domain}` });
    expect(page.url).toContain('/admin/sign-in?error=not_a_console_member');

    const granted = await call('POST', '/api/v1/console/members', owner, { email, role: 'support' });
    expect(granted.status, JSON.stringify(granted.body)).toBe(201);
    expect(granted.body).toMatchObject({ email, role: 'support', userId: null });

    const browser = new Browser();
    page = await browser.get(`${t.url}/admin/auth/login?returnTo=/admin/users`);
    page = await signInAtIdp(browser, page, { email });
    expect(page.url).toBe(`${t.url}/admin/users`);
    const cookie = `sb_console=${browser.cookie('sb_console')}`;
    const me = await call('GET', '/admin/auth/session', { cookie });
    expect(me.body).toMatchObject({ role: 'support', method: 'sso', person: { email } });
    expect(me.body.person.userId).toMatch(/^usr_/);

    const read = await call('GET', `/api/v1/organizations/${org.id}/users`, { cookie });
    expect(read.status).toBe(200);
    const write = await call(
      'POST',
      '/api/v1/organizations',
      { cookie, csrf: me.body.csrfToken },
      { name: 'Support cannot' },
    );
    expect(write.status).toBe(403);
    expect(write.body.code).toBe('insufficient_scope');
    const grant = await call(
      'POST',
      '/api/v1/console/members',
      { cookie, csrf: me.body.csrfToken },
      {
        email: 'x@example.org',
        role: 'owner',
      },
    );
    expect(grant.status).toBe(403);

    // Promotion takes effect on the live session.
    const promoted = await call('POST', '/api/v1/console/members', owner, { email, role: 'admin' });
    expect(promoted.status).toBe(200);
    expect(promoted.body.userId).toBe(me.body.person.userId);
    const now = await call(
      'POST',
      '/api/v1/organizations',
      { cookie, csrf: me.body.csrfToken },
      { name: 'Staff org' },
    );
    expect(now.status).toBe(201);
    const events = await t.api('GET', `/api/v1/events?type=organization.created&organization=${now.body.id}`);
    expect(events.body.data[0].actor).toMatchObject({
      type: 'console',
      id: me.body.person.userId,
      name: email,
    });

    const revoked = await call('DELETE', `/api/v1/console/members/${granted.body.id}`, owner);
    expect(revoked.status).toBe(204);
    expect((await call('GET', '/api/v1/organizations', { cookie })).status).toBe(401);
  });

  it('keeps the last owner, and refuses a redirect off the console', async () => {
    const owner = await bootstrapSession();
    const member = await call('POST', '/api/v1/console/members', owner, {
      email: 'boss@example.org',
      role: 'owner',
    });
    expect([200, 201]).toContain(member.status);
    const members = await call('GET', '/api/v1/console/members', owner);
    const owners = (members.body.data as Array<{ id: string; role: string }>).filter(
      (m) => m.role === 'owner',
    );
    if (owners.length === 1) {
      const demote = await call('POST', '/api/v1/console/members', owner, {
        email: 'boss@example.org',
        role: 'admin',
      });
      expect(demote.status).toBe(409);
      expect(demote.body.code).toBe('last_console_owner');
    }
    const start = await fetch(`${t.url}/admin/auth/login?returnTo=//evil.example/`, { redirect: 'manual' });
    expect(start.status).toBe(302);
    expect(start.headers.get('location')).toContain('/oidc/authorize');
    expect(new URL(start.headers.get('location') ?? '').searchParams.get('prompt')).toBeNull();
    const again = await fetch(`${t.url}/admin/auth/login?prompt=login`, { redirect: 'manual' });
    expect(new URL(again.headers.get('location') ?? '').searchParams.get('prompt')).toBe('login');
    const sealed = start.headers.get('set-cookie') ?? '';
    expect(sealed).toContain('Path=/admin/auth');
    expect(sealed).toContain('HttpOnly');
  });
});

describe('the console application', () => {
  it('is registered again when someone deletes it', async () => {
    const first = await t.hub.console.signIn.ensureApplication();
    const deleted = await t.api('DELETE', `/api/v1/applications/${first.clientId}`);
    expect(deleted.status, deleted.text).toBe(204);
    const again = await t.hub.console.signIn.ensureApplication();
    expect(again.clientId).not.toBe(first.clientId);
    const application = await t.api('GET', `/api/v1/applications/${again.clientId}`);
    expect(application.body).toMatchObject({
      name: 'Switchboard console',
      redirectUris: [`${t.url}/admin/auth/callback`],
      requirePkce: true,
    });
    const start = await fetch(`${t.url}/admin/auth/login`, { redirect: 'manual' });
    expect(new URL(start.headers.get('location') ?? '').searchParams.get('client_id')).toBe(again.clientId);
  });
});

describe('console pages', () => {
  it('carry security headers and fall back to the app shell', async () => {
    const response = await fetch(`${t.url}/admin/organizations/org_x`);
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(response.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('<div id="root">');
    expect(response.headers.get('content-type')).toContain('text/html');
    const asset = await fetch(`${t.url}/admin/assets/missing.js`);
    expect(asset.status).toBe(404);
  });
});
