/**
 * Post-login routing: a person who signs in at /login with no application asking is sent where
 * their organization's routes say: an application on the organization's own instance, a URL, or a
 * Thinkific SSO handoff (the JWT verified with jose against the site's API key).
 */
import { jwtVerify } from 'jose';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, textById } from '../support/browser.ts';
import type { TestHub } from '../support/hub.ts';
import {
  authorize,
  organizationWithTestIdp,
  registerApplication,
  relyingParty,
  signInAtIdp,
  startHub,
  traceOf,
} from './helpers.ts';

const API_KEY = 'tk_live_8f1c2e9a7b6d5c4e3f2a1b0c9d8e7f6a';

describe('post-login routing', () => {
  let t: TestHub;
  beforeAll(async () => {
    t = await startHub();
  });
  afterAll(async () => t?.close());

  async function route(org: string, body: Record<string, unknown>) {
    const response = await t.api('POST', `/api/v1/organizations/${org}/routes`, { body });
    expect(response.status, response.text).toBe(201);
    return response.body as { id: string; position: number };
  }

  async function lmsSite(org: string, body: Record<string, unknown> = {}) {
    const response = await t.api('POST', `/api/v1/organizations/${org}/lms-sites`, {
      body: { name: 'Acme Academy', subdomain: 'acme-academy', apiKey: API_KEY, ...body },
    });
    expect(response.status, response.text).toBe(201);
    return response.body as { id: string; ssoUrl: string; apiKeySet: boolean };
  }

  /** /login with no application: discovery, the test IdP, then wherever routing sends the person. */
  async function loginWithoutApplication(
    browser: Browser,
    person: { email: string; groups?: string[] },
    stopAt: string[],
  ) {
    browser.stopAt = stopAt;
    const start = await browser.get(`${t.url}/login?login_hint=${encodeURIComponent(person.email)}`);
    return signInAtIdp(browser, start, person);
  }

  it('sends each person to their organization’s own instance of the coaching app, or the LMS, by group', async () => {
    const pg = await organizationWithTestIdp(t);
    await t.api('PATCH', `/api/v1/organizations/${pg.id}`, {
      body: { instances: { coaching: 'https://pg.example.com' }, region: 'eu' },
    });
    const axialent = await organizationWithTestIdp(t);
    await t.api('PATCH', `/api/v1/organizations/${axialent.id}`, {
      body: { instances: { coaching: 'https://axialent.example.com/' } },
    });
    const coaching = await registerApplication(t, {
      name: 'Coaching',
      startUrl: '{instance}/auth/start',
      instanceKey: 'coaching',
      redirectUris: ['https://pg.example.com/auth/callback', 'https://axialent.example.com/auth/callback'],
    });
    const site = await lmsSite(pg.id, { defaultReturnTo: 'https://acme-academy.thinkific.com/enrollments' });
    expect(site).toMatchObject({
      apiKeySet: true,
      ssoUrl: 'https://acme-academy.thinkific.com/api/sso/v2/sso/jwt',
    });
    expect(JSON.stringify(site)).not.toContain(API_KEY);
    await route(pg.id, {
      name: 'Learners go to the LMS',
      condition: { group: 'Learners' },
      target: { type: 'thinkific', site: site.id },
    });
    for (const org of [pg, axialent]) {
      await route(org.id, {
        name: 'Everyone else: coaching',
        target: { type: 'application', application: coaching.id },
      });
    }

    // A PG coachee goes to PG's instance, with the OIDC third-party-initiated login parameters.
    const coachee = await loginWithoutApplication(new Browser(), { email: `cat@${pg.domain}` }, [
      'https://pg.example.com',
      'https://acme-academy.thinkific.com',
    ]);
    const start = new URL(coachee.url);
    expect(start.origin + start.pathname).toBe('https://pg.example.com/auth/start');
    expect(start.searchParams.get('iss')).toBe(t.url);
    expect(start.searchParams.get('login_hint')).toBe(`cat@${pg.domain}`);

    // An Axialent person goes to Axialent's instance.
    const other = await loginWithoutApplication(new Browser(), { email: `dan@${axialent.domain}` }, [
      'https://axialent.example.com',
    ]);
    expect(other.url.startsWith('https://axialent.example.com/auth/start?')).toBe(true);

    // A PG learner is handed to Thinkific with a JWT signed with the site's API key.
    const learner = await loginWithoutApplication(
      new Browser(),
      { email: `lea@${pg.domain}`, groups: ['Learners'] },
      ['https://acme-academy.thinkific.com'],
    );
    const handoff = new URL(learner.url);
    expect(handoff.origin + handoff.pathname).toBe('https://acme-academy.thinkific.com/api/sso/v2/sso/jwt');
    expect(handoff.searchParams.get('return_to')).toBe('https://acme-academy.thinkific.com/enrollments');
    const errorUrl = new URL(handoff.searchParams.get('error_url') as string);
    expect(errorUrl.href).toMatch(new RegExp(`^${t.url}/login/handoff-error/trc_[0-9a-z]{26}$`));
    const traceId = errorUrl.pathname.split('/').at(-1) as string;
    const { payload, protectedHeader } = await jwtVerify(
      handoff.searchParams.get('jwt') as string,
      new TextEncoder().encode(API_KEY),
      { algorithms: ['HS256'] },
    );
    const users = await t.api('GET', `/api/v1/organizations/${pg.id}/users?email=lea@${pg.domain}`);
    expect(protectedHeader).toEqual({ alg: 'HS256', typ: 'JWT' });
    expect(payload).toMatchObject({
      email: `lea@${pg.domain}`,
      first_name: 'Ada',
      last_name: 'Lovelace',
      external_id: users.body.data[0].id,
    });
    expect(typeof payload.iat).toBe('number');
    expect(payload.jti).toMatch(/^[0-9a-f-]{36}$/);
    await expect(
      jwtVerify(handoff.searchParams.get('jwt') as string, new TextEncoder().encode(`${API_KEY}x`)),
    ).rejects.toThrow();
    const trace = await traceOf(t, pg.id, traceId);
    expect(trace.steps.at(-1)).toMatchObject({
      step: 'completion',
      ok: true,
      message: 'Routed by "Learners go to the LMS" to thinkific',
    });
    expect(JSON.stringify(trace)).not.toContain(handoff.searchParams.get('jwt'));

    // Thinkific sends a refused handoff back to error_url: a readable page with the trace id.
    const errorPage = await new Browser().get(
      `${errorUrl.href}?message=${encodeURIComponent('Invalid token')}`,
    );
    expect(errorPage.html).toContain('Invalid token');
    expect(textById(errorPage.html, 'trace-id')).toBe(traceId);
  });

  it('routing to an application opens a Switchboard session: the application signs the person in without the IdP', async () => {
    const org = await organizationWithTestIdp(t);
    const app = await registerApplication(t, {
      organization: org.id,
      startUrl: 'https://coach.example.com/login',
    });
    await route(org.id, { name: 'Coaching', target: { type: 'application', application: app.id } });
    const browser = new Browser();
    const landed = await loginWithoutApplication(browser, { email: `eli@${org.domain}` }, [
      'https://coach.example.com',
    ]);
    expect(landed.url.startsWith('https://coach.example.com/login?')).toBe(true);
    // The application starts its own authorization request; Switchboard already knows the person.
    const config = await relyingParty(t, app);
    const { page, verifier, state, nonce } = await authorize(t, {
      config,
      app,
      browser,
      extra: { login_hint: `eli@${org.domain}` },
    });
    expect(page.history.some((url) => url.includes('/sso/') || url.includes('/login'))).toBe(false);
    const tokens = await client.authorizationCodeGrant(config, new URL(page.url), {
      pkceCodeVerifier: verifier,
      expectedState: state,
      expectedNonce: nonce,
    });
    expect(tokens.claims()?.email).toBe(`eli@${org.domain}`);
  });

  it('falls back to the signed-in page when no route applies, and says why in the trace', async () => {
    const org = await organizationWithTestIdp(t);
    await route(org.id, {
      name: 'Managers',
      condition: { role: 'manager' },
      target: { type: 'url', url: 'https://managers.example.com/' },
    });
    const page = await loginWithoutApplication(new Browser(), { email: `ned@${org.domain}` }, []);
    expect(page.html).toContain('Signed in');
    const trace = await traceOf(t, org.id, textById(page.html, 'trace-id') as string);
    expect(trace.steps.at(-1)).toMatchObject({
      step: 'completion',
      message: 'No post-login route applies; showing the signed-in page',
    });
  });

  it('previews where a user or a hypothetical person would go, route by route', async () => {
    const org = await organizationWithTestIdp(t);
    await t.api('PATCH', `/api/v1/organizations/${org.id}`, {
      body: { instances: { coaching: 'https://c.example.com' } },
    });
    const site = await lmsSite(org.id);
    const disabled = await route(org.id, {
      name: 'Old portal',
      enabled: false,
      target: { type: 'url', url: 'https://old.example.com' },
    });
    await route(org.id, {
      name: 'Sales learners',
      condition: { all: [{ group: 'Learners' }, { attribute: 'department', equals: 'Sales' }] },
      target: {
        type: 'thinkific',
        site: site.id,
        returnTo: 'https://acme-academy.thinkific.com/courses/sales-101',
      },
    });
    await route(org.id, {
      name: 'Managers',
      condition: { role: 'Manager' },
      target: { type: 'url', url: '{instance:coaching}/team' },
    });
    await route(org.id, {
      name: 'Analytics',
      condition: { always: true },
      target: { type: 'url', url: '{instance:analytics}/' },
    });

    const learner = await t.api('POST', `/api/v1/organizations/${org.id}/routes/preview`, {
      body: { subject: { email: 'x@example.com', groups: ['learners'], profile: { department: 'sales' } } },
    });
    expect(learner.status, learner.text).toBe(200);
    expect(learner.body.destination).toMatchObject({
      routeName: 'Sales learners',
      type: 'thinkific',
      site: site.id,
      url: `https://acme-academy.thinkific.com/api/sso/v2/sso/jwt?jwt=[signed at login]&return_to=${encodeURIComponent('https://acme-academy.thinkific.com/courses/sales-101')}`,
    });
    expect(learner.body.evaluated.map((step: { outcome: string }) => step.outcome)).toEqual([
      'disabled',
      'chosen',
      'not_reached',
      'not_reached',
    ]);
    expect(learner.body.evaluated[0].routeId).toBe(disabled.id);

    // A real user: roles come from the profile; the instance URL from the organization.
    const created = await t.api('POST', `/api/v1/organizations/${org.id}/users`, {
      body: { email: `mia@${org.domain}`, profile: { roles: [{ value: 'manager' }] } },
    });
    const manager = await t.api('POST', `/api/v1/organizations/${org.id}/routes/preview`, {
      body: { user: created.body.id },
    });
    expect(manager.body.destination).toMatchObject({
      routeName: 'Managers',
      url: 'https://c.example.com/team',
    });
    expect(manager.body.subject).toMatchObject({ userId: created.body.id, roles: ['manager'] });
    expect(manager.body.evaluated[1]).toMatchObject({
      outcome: 'condition_false',
      detail: 'Condition not met: in group Learners and department = "Sales".',
    });

    // Nobody else matches; the catch-all needs an instance the organization never recorded.
    const nobody = await t.api('POST', `/api/v1/organizations/${org.id}/routes/preview`, {
      body: {
        user: `mia@${org.domain}`,
        routes: [{ name: 'Try', target: { type: 'url', url: '{instance:analytics}' } }],
      },
    });
    expect(nobody.body.destination).toBeNull();
    expect(nobody.body.evaluated[0]).toMatchObject({ outcome: 'target_unavailable' });
    expect(nobody.body.evaluated[0].detail).toContain('"analytics"');
  });

  it('keeps routes ordered and validates targets with clear problems', async () => {
    const org = await organizationWithTestIdp(t);
    const other = await organizationWithTestIdp(t);
    const a = await route(org.id, { name: 'A', target: { type: 'url', url: 'https://a.example.com' } });
    const b = await route(org.id, { name: 'B', target: { type: 'url', url: 'https://b.example.com' } });
    const c = await route(org.id, {
      name: 'C',
      position: 1,
      target: { type: 'url', url: 'https://c.example.com' },
    });
    const list = async () =>
      (await t.api('GET', `/api/v1/organizations/${org.id}/routes`)).body.data.map(
        (r: { name: string; position: number }) => `${r.position}${r.name}`,
      );
    expect(await list()).toEqual(['1C', '2A', '3B']);
    await t.api('PATCH', `/api/v1/organizations/${org.id}/routes/${c.id}`, { body: { position: 3 } });
    expect(await list()).toEqual(['1A', '2B', '3C']);
    const reordered = await t.api('PUT', `/api/v1/organizations/${org.id}/routes/order`, {
      body: { ids: [b.id, c.id, a.id] },
    });
    expect(reordered.status, reordered.text).toBe(200);
    expect(await list()).toEqual(['1B', '2C', '3A']);
    const incomplete = await t.api('PUT', `/api/v1/organizations/${org.id}/routes/order`, {
      body: { ids: [b.id, c.id] },
    });
    expect(incomplete.status).toBe(400);
    expect(incomplete.body).toMatchObject({ code: 'route_order_incomplete', field: 'ids' });
    await t.api('DELETE', `/api/v1/organizations/${org.id}/routes/${c.id}`);
    expect(await list()).toEqual(['1B', '2A']);

    const foreignSite = await lmsSite(other.id);
    const wrongSite = await t.api('POST', `/api/v1/organizations/${org.id}/routes`, {
      body: { name: 'X', target: { type: 'thinkific', site: foreignSite.id } },
    });
    expect(wrongSite.status).toBe(400);
    expect(wrongSite.body).toMatchObject({ code: 'lms_site_not_found', field: 'target.site' });
    const badUrl = await t.api('POST', `/api/v1/organizations/${org.id}/routes`, {
      body: { name: 'X', target: { type: 'url', url: 'http://intranet.example.com/{user}' } },
    });
    expect(badUrl.status).toBe(400);
    expect(badUrl.body).toMatchObject({ code: 'invalid_url_template', field: 'target.url' });
    const badCondition = await t.api('POST', `/api/v1/organizations/${org.id}/routes`, {
      body: {
        name: 'X',
        condition: { attribute: 'department' },
        target: { type: 'url', url: 'https://x.example.com' },
      },
    });
    expect(badCondition.status).toBe(400);
    expect(badCondition.body.code).toBe('invalid_request');
    const owned = await registerApplication(t, { organization: other.id, startUrl: 'https://o.example.com' });
    const notAllowed = await t.api('POST', `/api/v1/organizations/${org.id}/routes`, {
      body: { name: 'X', target: { type: 'application', application: owned.id } },
    });
    expect(notAllowed.status).toBe(409);
    expect(notAllowed.body).toMatchObject({ code: 'application_not_allowed', field: 'target.application' });
    const noStart = await registerApplication(t, {});
    const withoutStart = await t.api('POST', `/api/v1/organizations/${org.id}/routes`, {
      body: { name: 'X', target: { type: 'application', application: noStart.id } },
    });
    expect(withoutStart.body).toMatchObject({ code: 'application_without_start_url' });

    // A site or application a route uses cannot be deleted from under it.
    const site = await lmsSite(org.id);
    await route(org.id, { name: 'LMS', target: { type: 'thinkific', site: site.id } });
    const inUse = await t.api('DELETE', `/api/v1/organizations/${org.id}/lms-sites/${site.id}`);
    expect(inUse.status).toBe(409);
    expect(inUse.body.code).toBe('lms_site_in_use');
    const events = await t.api('GET', `/api/v1/events?organization=${org.id}&types=route.*,lms_site.*`);
    expect(events.body.data.map((event: { type: string }) => event.type)).toEqual(
      expect.arrayContaining([
        'route.created',
        'route.updated',
        'route.reordered',
        'route.deleted',
        'lms_site.created',
      ]),
    );
    expect(JSON.stringify(events.body)).not.toContain(API_KEY);
  });
});
