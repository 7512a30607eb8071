import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestHub, type TestHub } from '../support/hub.ts';
import { CORE_USER, createScimDirectory, ENTERPRISE_USER, filterQuery } from './support.ts';

let t: TestHub;
beforeAll(async () => {
  t = await createTestHub();
});
afterAll(async () => t?.close());

it('smoke', async () => {
  const d = await createScimDirectory(t, { provider: 'entra' });
  const created = await d.scim('POST', '/Users', {
    body: {
      schemas: [CORE_USER, ENTERPRISE_USER],
      externalId: 'ext1',
      userName: 'Test_User_1@contoso.com',
      active: true,
      emails: [{ primary: true, type: 'work', value: 'Test_User_1@contoso.com' }],
      name: { formatted: 'A B', familyName: 'B', givenName: 'A' },
      roles: [],
      [ENTERPRISE_USER]: { department: 'Eng', manager: 'xyz' },
    },
  });
  console.log(created.status, JSON.stringify(created.body, null, 1));
  const found = await d.scim('GET', `/Users?${filterQuery('userName eq "test_user_1@CONTOSO.com"')}`);
  console.log(found.status, JSON.stringify(found.body).slice(0, 300));
  const found2 = await d.scim('GET', `/Users?${filterQuery('emails[type eq "work"].value eq "test_user_1@contoso.com"')}`);
  console.log(found2.status, JSON.stringify(found2.body).slice(0, 200));
  const patched = await d.scim('PATCH', `/Users/${created.body.id}`, {
    body: { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'Replace', path: 'active', value: 'False' }, { op: 'Replace', path: 'emails[type eq "work"].value', value: 'new@contoso.com' }] },
  });
  console.log(patched.status, JSON.stringify(patched.body).slice(0, 600));
  const user = await t.api('GET', `/api/v1/users/${created.body.id}`);
  console.log(JSON.stringify(user.body));
  expect(created.status).toBe(201);
});
