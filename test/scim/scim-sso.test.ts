/**
 * SCIM and SSO together: a user provisioned by the directory signs in through SSO as the same
 * Switchboard user; once the directory sends `active: false`, SSO refuses them.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createConnection, createOrganization, startHub, traceOf } from '../sso/helpers.ts';
import { Browser } from '../support/browser.ts';
import type { TestHub } from '../support/hub.ts';
import { CORE_USER, createScimDirectory, PATCH_OP } from './support.ts';

let t: TestHub;
beforeAll(async () => {
  t = await startHub();
});
afterAll(async () => t?.close());

it('a SCIM-provisioned user signs in as themselves, and is refused once deactivated', async () => {
  const org = await createOrganization(t);
  const connection = await createConnection(t, org.id, { name: 'Test IdP', protocol: 'saml', testIdp: true });
  const d = await createScimDirectory(t, { provider: 'entra', organizationId: org.id });
  const email = `grace@${org.domain}`;
  const created = await d.scim('POST', '/Users', {
    body: {
      schemas: [CORE_USER],
      userName: email,
      emails: [{ type: 'work', primary: true, value: email }],
      active: true,
    },
  });
  expect(created.status).toBe(201);

  const signIn = async () => {
    const browser = new Browser();
    const form = await browser.get(`${t.url}/login?connection=${connection.id}`);
    return browser.submit(form, { email, given_name: 'Grace', family_name: 'Hopper', groups: '' });
  };
  const first = await signIn();
  expect(first.html).toContain('Signed in');
  const users = await t.api('GET', `/api/v1/organizations/${org.id}/users`);
  expect(users.body.data.map((user: { id: string }) => user.id)).toEqual([created.body.id]);

  const off = await d.scim('PATCH', `/Users/${created.body.id}`, {
    body: { schemas: [PATCH_OP], Operations: [{ op: 'Replace', path: 'active', value: 'False' }] },
  });
  expect(off.body.active).toBe(false);
  const refused = await signIn();
  expect(refused.html).not.toContain('Signed in');
  const traces = await t.api('GET', `/api/v1/organizations/${org.id}/login-traces`);
  const last = traces.body.data[0];
  const trace = await traceOf(t, org.id, last.id);
  expect(trace).toMatchObject({ status: 'failed', errorCode: 'user_deprovisioned', email });
  expect(trace.reason).toContain(created.body.id);
});
