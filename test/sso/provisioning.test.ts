/**
 * The user decision after a successful login: JIT on/off, account linking per policy, refusal of
 * suspended and deprovisioned users, a mapping without email, and the events written.
 * Uses the built-in test IdP (a real SAML IdP inside the hub) to drive logins.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, textById } from '../support/browser.ts';
import type { TestHub } from '../support/hub.ts';
import { createConnection, createOrganization, startHub, traceOf } from './helpers.ts';

describe('JIT provisioning and account linking', () => {
  let t: TestHub;
  beforeAll(async () => {
    t = await startHub();
  });
  afterAll(async () => t?.close());

  async function setup(policies?: Record<string, unknown>, mapping?: Record<string, unknown>) {
    const org = await createOrganization(t, policies ? { policies } : {});
    const connection = await createConnection(t, org.id, {
      name: 'Test IdP',
      protocol: 'saml',
      testIdp: true,
      ...(mapping ? { mapping } : {}),
    });
    return { org, connection };
  }

  async function loginAs(connectionId: string, fields: Record<string, string>) {
    const browser = new Browser();
    const form = await browser.get(`${t.url}/login?connection=${connectionId}`);
    return browser.submit(form, fields);
  }

  it('JIT off: an unknown person is refused with a clear page and trace', async () => {
    const { org, connection } = await setup({ jitProvisioning: false });
    const page = await loginAs(connection.id, { email: `new@${org.domain}` });
    expect(page.status).toBe(403);
    expect(page.html).toContain('You do not have an account here yet');
    const trace = await traceOf(t, org.id, textById(page.html, 'trace-id') as string);
    expect(trace.errorCode).toBe('jit_disabled');
  });

  it('JIT "verified_domains": creates users on a verified domain only; the trace names the refused domain and the fix', async () => {
    const { org, connection } = await setup({ jitEmailDomains: 'verified_domains' });
    const page = await loginAs(connection.id, { email: 'guest@partner.example' });
    expect(page.status).toBe(403);
    expect(page.html).toContain('not on one of your organization’s domains');
    const trace = await traceOf(t, org.id, textById(page.html, 'trace-id') as string);
    expect(trace.errorCode).toBe('jit_domain_not_verified');
    expect(trace.reason).toContain('partner.example is not one of them');
    expect(trace.reason).toContain(`verified: ${org.domain}`);
    expect(trace.reason).toMatch(/add and verify partner\.example .* or set the policy to "any"/);
    const users = await t.api('GET', `/api/v1/organizations/${org.id}/users?q=guest`);
    expect(users.body.data).toEqual([]);
    // On the verified domain, JIT works as before.
    const member = await loginAs(connection.id, { email: `vera@${org.domain}` });
    expect(member.html).toContain('Signed in');
    // An existing user of another domain is not created, so the policy does not stop them.
    await t.api('POST', `/api/v1/organizations/${org.id}/users`, {
      body: { email: 'known@partner.example' },
    });
    await t.api('PATCH', `/api/v1/organizations/${org.id}`, {
      body: { policies: { accountLinking: 'any_email' } },
    });
    const known = await loginAs(connection.id, { email: 'known@partner.example' });
    expect(known.html).toContain('Signed in');
    // Turned back to "any" (the default), the guest is created.
    const off = await t.api('PATCH', `/api/v1/organizations/${org.id}`, {
      body: { policies: { jitEmailDomains: 'any' } },
    });
    expect(off.body.policies).toMatchObject({ jitEmailDomains: 'any', accountLinking: 'any_email' });
    expect((await loginAs(connection.id, { email: 'guest@partner.example' })).html).toContain('Signed in');
  });

  it('linking "verified_domain": links an existing user on a verified domain, refuses another domain', async () => {
    const { org, connection } = await setup({ accountLinking: 'verified_domain' });
    const existing = await t.api('POST', `/api/v1/organizations/${org.id}/users`, {
      body: { email: `linda@${org.domain}` },
    });
    const page = await loginAs(connection.id, { email: `linda@${org.domain}` });
    expect(page.html).toContain('Signed in');
    expect(textById(page.html, 'user-id')).toBe(existing.body.id);
    const identities = await t.api('GET', `/api/v1/users/${existing.body.id}/identities`);
    expect(identities.body.data[0]).toMatchObject({
      providerType: 'connection',
      providerId: connection.id,
      subject: `linda@${org.domain}`,
    });

    await t.api('POST', `/api/v1/organizations/${org.id}/users`, {
      body: { email: 'outsider@unverified.example' },
    });
    const refused = await loginAs(connection.id, { email: 'outsider@unverified.example' });
    expect(refused.status).toBe(403);
    expect((await traceOf(t, org.id, textById(refused.html, 'trace-id') as string)).errorCode).toBe(
      'account_linking_refused',
    );
  });

  it('linking "never" refuses; "any_email" links any domain', async () => {
    const never = await setup({ accountLinking: 'never' });
    await t.api('POST', `/api/v1/organizations/${never.org.id}/users`, {
      body: { email: `nell@${never.org.domain}` },
    });
    const refused = await loginAs(never.connection.id, { email: `nell@${never.org.domain}` });
    expect(refused.status).toBe(403);
    const any = await setup({ accountLinking: 'any_email' });
    await t.api('POST', `/api/v1/organizations/${any.org.id}/users`, {
      body: { email: 'anya@elsewhere.example' },
    });
    const linked = await loginAs(any.connection.id, { email: 'anya@elsewhere.example' });
    expect(linked.html).toContain('Signed in');
  });

  it('suspended and deprovisioned users are refused', async () => {
    const { org, connection } = await setup();
    const first = await loginAs(connection.id, { email: `sam@${org.domain}` });
    const userId = textById(first.html, 'user-id') as string;
    for (const status of ['suspended', 'deprovisioned'] as const) {
      const changed = await t.api(
        'POST',
        `/api/v1/users/${userId}/${status === 'suspended' ? 'suspend' : 'deprovision'}`,
      );
      expect(changed.status, changed.text).toBe(200);
      const page = await loginAs(connection.id, { email: `sam@${org.domain}` });
      expect(page.status).toBe(403);
      expect(page.html).toMatch(status === 'suspended' ? /suspended/ : /deactivated/);
      expect((await traceOf(t, org.id, textById(page.html, 'trace-id') as string)).errorCode).toBe(
        status === 'suspended' ? 'user_suspended' : 'user_deprovisioned',
      );
    }
  });

  it('a mapping that yields no email fails with a trace naming the attribute and what was sent', async () => {
    const { org, connection } = await setup(undefined, { email: 'mail' });
    const page = await loginAs(connection.id, { email: `x@${org.domain}`, given_name: 'X' });
    expect(page.status).toBe(400);
    const trace = await traceOf(t, org.id, textById(page.html, 'trace-id') as string);
    expect(trace.errorCode).toBe('mapping_no_email');
    expect(trace.reason).toContain('mail');
    expect(trace.reason).toContain('given_name');
  });

  it('writes user.created, identity.linked, login.succeeded and login.failed events', async () => {
    const { org, connection } = await setup({ jitProvisioning: true });
    await loginAs(connection.id, { email: `eve@${org.domain}` });
    await t.api('POST', `/api/v1/organizations/${org.id}/connections/${connection.id}/disable`);
    await t.api('POST', `/api/v1/organizations/${org.id}/connections/${connection.id}/enable`);
    await t.hub.sso.connections.update(
      org.id,
      connection.id,
      { mapping: { email: 'nothing' } },
      { type: 'system' },
    );
    await loginAs(connection.id, { email: `eve@${org.domain}` });
    const events = await t.api('GET', `/api/v1/events?organization=${org.id}&limit=100`);
    expect(events.status, events.text).toBe(200);
    const types = events.body.data.map((event: { type: string }) => event.type);
    expect(types).toEqual(
      expect.arrayContaining([
        'user.created',
        'identity.linked',
        'login.succeeded',
        'login.failed',
        'connection.created',
        'connection.disabled',
        'connection.enabled',
      ]),
    );
  });
});
