import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, textById } from '../support/browser.ts';
import type { TestHub } from '../support/hub.ts';
import { createConnection, createOrganization, startHub, traceOf } from './helpers.ts';

describe('built-in test IdP', () => {
  let t: TestHub;
  beforeAll(async () => {
    t = await startHub();
  });
  afterAll(async () => t?.close());

  it('runs the whole flow through /login: discovery, signed SAML response, mapping, JIT, groups, trace', async () => {
    const org = await createOrganization(t);
    const connection = await createConnection(t, org.id, {
      name: 'Test IdP',
      protocol: 'saml',
      testIdp: true,
    });
    const browser = new Browser();
    const form = await browser.get(`${t.url}/login?login_hint=ada@${org.domain}`);
    expect(form.status).toBe(200);
    expect(form.html).toContain('Test identity provider');
    const done = await browser.submit(form, {
      email: `ada@${org.domain}`,
      given_name: 'Ada',
      family_name: 'Lovelace',
      groups: 'Engineering, Admins',
    });
    expect(done.status, done.html).toBe(200);
    expect(done.html).toContain('Signed in');
    expect(done.html).toContain(`ada@${org.domain}`);
    const traceId = textById(done.html, 'trace-id') as string;
    const trace = await traceOf(t, org.id, traceId);
    expect(trace.status).toBe('succeeded');
    expect(trace.steps.map((step) => step.step)).toEqual(
      expect.arrayContaining([
        'request',
        'redirect',
        'response_received',
        'flow_check',
        'signature_check',
        'message_checks',
        'replay_check',
        'claims_received',
        'mapping',
        'user_decision',
        'outcome',
      ]),
    );
    const users = await t.api('GET', `/api/v1/organizations/${org.id}/users?q=ada`);
    expect(users.body.data[0]).toMatchObject({
      email: `ada@${org.domain}`,
      givenName: 'Ada',
      familyName: 'Lovelace',
      source: 'sso',
    });
    const groups = await t.api('GET', `/api/v1/users/${users.body.data[0].id}/groups`);
    expect(groups.status, groups.text).toBe(200);
    expect(groups.body.data.map((group: { name: string }) => group.name).sort()).toEqual([
      'Admins',
      'Engineering',
    ]);

    // Second login: groups the IdP no longer sends are removed; attributes update.
    const again = await browser.get(`${t.url}/login?connection=${connection.id}`);
    const second = await browser.submit(again, {
      email: `ada@${org.domain}`,
      given_name: 'Augusta',
      family_name: 'Lovelace',
      groups: 'Engineering',
    });
    expect(second.html).toContain('Signed in');
    const after = await t.api('GET', `/api/v1/users/${users.body.data[0].id}/groups`);
    expect(after.body.data.map((group: { name: string }) => group.name)).toEqual(['Engineering']);
    const user = await t.api('GET', `/api/v1/users/${users.body.data[0].id}`);
    expect(user.body.givenName).toBe('Augusta');
  });

  it('is refused on production organizations, and blocks switching an organization to production', async () => {
    const production = await createOrganization(t, { environment: 'production' });
    const refused = await t.api('POST', `/api/v1/organizations/${production.id}/connections`, {
      body: { name: 'Test', protocol: 'saml', testIdp: true },
    });
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe('test_idp_on_production');
    const sandbox = await createOrganization(t);
    await createConnection(t, sandbox.id, { name: 'Test', protocol: 'saml', testIdp: true });
    const switched = await t.api('PATCH', `/api/v1/organizations/${sandbox.id}`, {
      body: { environment: 'production' },
    });
    expect(switched.status).toBe(409);
    expect(switched.body.code).toBe('test_idp_attached');
  });

  it('carries a continuation to a registered completion handler (how the OIDC provider will resume)', async () => {
    const org = await createOrganization(t);
    await createConnection(t, org.id, { name: 'Test IdP', protocol: 'saml', testIdp: true });
    const received: Array<Record<string, unknown>> = [];
    t.hub.sso.login.registerCompletion('test_continuation', async (completion) => {
      received.push({
        uid: completion.continuation.uid,
        email: completion.user.email,
        org: completion.organization.id,
        connection: completion.connection.name,
        traceId: completion.traceId,
        created: completion.created,
      });
      return completion.reply.redirect(`/after-login?uid=${completion.continuation.uid}`, 303);
    });
    const request = await t.hub.sso.login.createLoginRequest({
      continuation: { type: 'test_continuation', uid: 'int-123' },
    });
    const browser = new Browser();
    browser.stopAt = [`${t.url}/after-login`];
    const form = await browser.get(request.url);
    expect(form.html).toContain('Work email');
    const idpForm = await browser.submit(form, { email: `cora@${org.domain}` });
    const done = await browser.submit(idpForm, { email: `cora@${org.domain}` });
    expect(done.url).toBe(`${t.url}/after-login?uid=int-123`);
    expect(received).toEqual([
      expect.objectContaining({
        uid: 'int-123',
        email: `cora@${org.domain}`,
        org: org.id,
        connection: 'Test IdP',
        created: true,
      }),
    ]);
  });
});
