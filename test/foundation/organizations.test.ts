import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTxtResolver } from '../../src/modules/orgs/index.ts';
import { type FakeDns, startFakeDns } from '../fakes/dns.ts';
import { createTestHub, type TestHub } from '../support/hub.ts';

let t: TestHub;
let dns: FakeDns;

beforeAll(async () => {
  dns = await startFakeDns();
  t = await createTestHub({ txtResolver: createTxtResolver([dns.server]) });
});
afterAll(async () => {
  await t?.close();
  await dns?.close();
});

describe('organizations', () => {
  it('creates an organization with a derived slug and unverified domains', async () => {
    const res = await t.api('POST', '/api/v1/organizations', {
      body: { name: 'Acmé Corp', domains: ['Acme.example.com'] },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      slug: 'acme-corp',
      name: 'Acmé Corp',
      status: 'active',
      environment: 'production',
      policies: { jitProvisioning: true, accountLinking: 'verified_domain', scimDelete: 'deprovision' },
      domains: [{ domain: 'acme.example.com', verified: false }],
    });
    expect(res.body.id).toMatch(/^org_[0-9a-z]{26}$/);
    expect(res.body.domains[0].verification).toEqual({
      type: 'TXT',
      name: '_switchboard-verification.acme.example.com',
      value: expect.stringMatching(/^switchboard-verification=/),
    });
    const again = await t.api('POST', '/api/v1/organizations', { body: { name: 'Acme Corp' } });
    expect(again.status).toBe(201);
    expect(again.body.slug).toBe('acme-corp-2');
  });

  it('refuses a taken slug with 409 naming the field', async () => {
    await t.api('POST', '/api/v1/organizations', { body: { name: 'Taken', slug: 'taken' } });
    const res = await t.api('POST', '/api/v1/organizations', { body: { name: 'Other', slug: 'taken' } });
    expect(res.status).toBe(409);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.body).toMatchObject({ status: 409, code: 'organization_slug_taken', field: 'slug' });
    expect(res.body.fix).toBeTruthy();
  });

  it('rejects bad input with 400 naming the field, and writes nothing', async () => {
    const before = await t.api('GET', '/api/v1/organizations?limit=200');
    const cases: Array<[unknown, string]> = [
      [{}, 'name'],
      [{ name: '' }, 'name'],
      [{ name: 'X', slug: 'Not A Slug' }, 'slug'],
      [{ name: 'X', domains: ['not a domain'] }, 'domains[0]'],
      [{ name: 'X', domains: ['ok.example.com', 'gmail.com'] }, 'domains[1]'],
      [{ name: 'X', domains: ['a@b.com'] }, 'domains[0]'],
      [{ name: 'X', environment: 'prod' }, 'environment'],
      [{ name: 'X', policies: { accountLinking: 'sometimes' } }, 'policies.accountLinking'],
      [{ name: 'X', unknownField: 1 }, ''],
    ];
    for (const [body, field] of cases) {
      const res = await t.api('POST', '/api/v1/organizations', { body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      if (field) expect(res.body.field, JSON.stringify(res.body)).toBe(field);
      expect(res.body.fix).toBeTruthy();
    }
    const after = await t.api('GET', '/api/v1/organizations?limit=200');
    expect(after.body.data.length).toBe(before.body.data.length);
  });
});
