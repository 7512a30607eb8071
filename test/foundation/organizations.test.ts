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
    expect(res.body.warnings).toEqual([]);
    // A second one named alike: created, with a warning that its slug changed and why.
    const again = await t.api('POST', '/api/v1/organizations', { body: { name: 'Acme Corp' } });
    expect(again.status).toBe(201);
    expect(again.body.slug).toBe('acme-corp-2');
    const first = { id: res.body.id, slug: 'acme-corp', name: 'Acmé Corp' };
    expect(again.body.warnings).toEqual([
      {
        code: 'slug_changed',
        message: expect.stringContaining('The slug acme-corp is taken by “Acmé Corp” (acme-corp)'),
        organizations: [first],
      },
      {
        code: 'similar_name',
        message: expect.stringContaining('Another organization is named like this one'),
        organizations: [first],
      },
    ]);
    // With a slug of its own and the same name: no slug change, still a similar name.
    const third = await t.api('POST', '/api/v1/organizations', {
      body: { name: 'acme corp', slug: 'acme-uk' },
    });
    expect(third.status).toBe(201);
    expect(third.body.warnings.map((warning: { code: string }) => warning.code)).toEqual(['similar_name']);
    expect(third.body.warnings[0].organizations.map((org: { slug: string }) => org.slug)).toEqual([
      'acme-corp',
      'acme-corp-2',
    ]);
    // The organization itself is read back without warnings (they are said once).
    expect((await t.api('GET', `/api/v1/organizations/${again.body.id}`)).body.warnings).toBeUndefined();
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

describe('organization lifecycle', () => {
  it('gets by id or slug, lists with search, updates and merges policies', async () => {
    const org = (
      await t.api('POST', '/api/v1/organizations', { body: { name: 'Lifecycle Ltd', region: 'eu' } })
    ).body;
    expect((await t.api('GET', `/api/v1/organizations/${org.slug}`, { key: t.readKey })).body.id).toBe(
      org.id,
    );
    const listed = await t.api('GET', '/api/v1/organizations?q=lifecycle', { key: t.readKey });
    expect(listed.body.data.map((o: { id: string }) => o.id)).toEqual([org.id]);

    const updated = await t.api('PATCH', `/api/v1/organizations/${org.id}`, {
      body: {
        environment: 'sandbox',
        policies: { jitProvisioning: false },
        instances: { coaching: 'https://lifecycle.example.com' },
      },
    });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({
      environment: 'sandbox',
      region: 'eu',
      policies: { jitProvisioning: false, accountLinking: 'verified_domain', scimDelete: 'deprovision' },
      instances: { coaching: 'https://lifecycle.example.com' },
    });
    // A policy left out of the update keeps its value (not its default).
    const merged = await t.api('PATCH', `/api/v1/organizations/${org.id}`, {
      body: { policies: { scimDelete: 'remove' } },
    });
    expect(merged.body.policies).toMatchObject({ jitProvisioning: false, scimDelete: 'remove' });
    const jit = await t.api('PATCH', `/api/v1/organizations/${org.id}`, {
      body: { policies: { jitEmailDomains: 'verified_domains' } },
    });
    expect(jit.body.policies).toEqual({
      jitProvisioning: false,
      jitEmailDomains: 'verified_domains',
      accountLinking: 'verified_domain',
      scimDelete: 'remove',
    });
    const badPolicy = await t.api('PATCH', `/api/v1/organizations/${org.id}`, {
      body: { policies: { jitEmailDomains: 'some' } },
    });
    expect(badPolicy.status).toBe(400);
    expect(badPolicy.body.field).toBe('policies.jitEmailDomains');
    const bad = await t.api('PATCH', `/api/v1/organizations/${org.id}`, {
      body: { instances: { coaching: 'not a url' } },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.field).toBe('instances.coaching');
    expect((await t.api('PATCH', '/api/v1/organizations/org_missing', { body: { name: 'x' } })).status).toBe(
      404,
    );
  });

  it('refuses to delete an organization with users unless forced, then removes all its data', async () => {
    const org = (await t.api('POST', '/api/v1/organizations', { body: { name: 'Doomed' } })).body;
    const user = (
      await t.api('POST', `/api/v1/organizations/${org.id}/users`, {
        body: { email: 'u@doomed.example.com' },
      })
    ).body;
    const group = (await t.api('POST', `/api/v1/organizations/${org.id}/groups`, { body: { name: 'G' } }))
      .body;
    await t.api('POST', `/api/v1/groups/${group.id}/members`, { body: { userIds: [user.id] } });

    const refused = await t.api('DELETE', `/api/v1/organizations/${org.id}`);
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: 'organization_has_users', users: 1 });
    expect(refused.body.fix).toContain('force=true');
    expect((await t.api('GET', `/api/v1/users/${user.id}`)).status).toBe(200);

    expect((await t.api('DELETE', `/api/v1/organizations/${org.id}?force=true`)).status).toBe(204);
    expect((await t.api('GET', `/api/v1/organizations/${org.id}`)).status).toBe(404);
    expect((await t.api('GET', `/api/v1/users/${user.id}`)).status).toBe(404);
    expect((await t.api('GET', `/api/v1/groups/${group.id}`)).status).toBe(404);
    // Its events remain readable by id.
    const events = await t.api('GET', `/api/v1/events?organization=${org.id}&types=organization.deleted`);
    expect(events.body.data).toHaveLength(1);
    // An empty organization needs no force.
    const empty = (await t.api('POST', '/api/v1/organizations', { body: { name: 'Empty' } })).body;
    expect((await t.api('DELETE', `/api/v1/organizations/${empty.id}`)).status).toBe(204);
  });
});

describe('domains', () => {
  it('verifies a domain by its DNS TXT record', async () => {
    const org = (await t.api('POST', '/api/v1/organizations', { body: { name: 'DNS Co' } })).body;
    const added = await t.api('POST', `/api/v1/organizations/${org.id}/domains`, {
      body: { domain: 'DNS.Example.org.' },
    });
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({ domain: 'dns.example.org', verified: false });

    const missing = await t.api('POST', `/api/v1/organizations/${org.id}/domains/dns.example.org/verify`);
    expect(missing.status).toBe(422);
    expect(missing.body.code).toBe('domain_verification_failed');
    expect(missing.body.detail).toContain('no TXT record');
    expect(missing.body.fix).toContain(added.body.verification.value);

    dns.txt.set('_switchboard-verification.dns.example.org', [
      'v=spf1 -all',
      'switchboard-verification=wrong',
    ]);
    const wrong = await t.api('POST', `/api/v1/organizations/${org.id}/domains/dns.example.org/verify`);
    expect(wrong.status).toBe(422);
    expect(wrong.body.detail).toContain('do not include');
    const afterWrong = (await t.api('GET', `/api/v1/organizations/${org.id}`)).body.domains[0];
    expect(afterWrong).toMatchObject({
      verified: false,
      lastCheckError: expect.stringContaining('do not include'),
    });

    dns.txt.set('_switchboard-verification.dns.example.org', ['v=spf1 -all', added.body.verification.value]);
    const ok = await t.api('POST', `/api/v1/organizations/${org.id}/domains/dns.example.org/verify`);
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ verified: true, verificationMethod: 'dns', lastCheckError: null });
    expect((await t.hub.orgs.findByVerifiedDomain('DNS.example.org'))?.id).toBe(org.id);
  });

  it('lets one organization hold a verified domain, and supports manual verification', async () => {
    const first = (
      await t.api('POST', '/api/v1/organizations', {
        body: { name: 'Owner', domains: ['owned.example.net'] },
      })
    ).body;
    const second = (
      await t.api('POST', '/api/v1/organizations', {
        body: { name: 'Claimant', domains: ['owned.example.net'] },
      })
    ).body;
    const manual = await t.api('POST', `/api/v1/organizations/${first.id}/domains/owned.example.net/verify`, {
      body: { method: 'manual' },
    });
    expect(manual.body).toMatchObject({ verified: true, verificationMethod: 'manual' });
    const clash = await t.api('POST', `/api/v1/organizations/${second.id}/domains/owned.example.net/verify`, {
      body: { method: 'manual' },
    });
    expect(clash.status).toBe(409);
    expect(clash.body.code).toBe('domain_owned_elsewhere');
    expect(
      (
        await t.api('POST', `/api/v1/organizations/${first.id}/domains`, {
          body: { domain: 'owned.example.net' },
        })
      ).status,
    ).toBe(409);
    expect(
      (await t.api('POST', `/api/v1/organizations/${first.id}/domains`, { body: { domain: 'hotmail.com' } }))
        .body.field,
    ).toBe('domain');
    expect((await t.api('DELETE', `/api/v1/organizations/${first.id}/domains/nope.example.net`)).status).toBe(
      404,
    );
    expect(
      (
        await t.api('POST', `/api/v1/organizations/${first.id}/domains/owned.example.net/verify`, {
          key: t.readKey,
        })
      ).status,
    ).toBe(403);
  });

  it('refuses claiming a domain another organization verified, and shows pending claims of the same domain', async () => {
    const owner = (
      await t.api('POST', '/api/v1/organizations', {
        body: { name: 'Verified owner', domains: ['taken.example.net'] },
      })
    ).body;
    const early = (
      await t.api('POST', '/api/v1/organizations', {
        body: { name: 'Early claimant', domains: ['taken.example.net'] },
      })
    ).body;
    // Before anyone verifies it, each holder sees the other's pending claim.
    const pending = await t.api('GET', `/api/v1/organizations/${owner.id}`);
    expect(pending.body.domains[0].otherClaims).toEqual([
      { organizationId: early.id, slug: early.slug, name: 'Early claimant', verified: false },
    ]);
    await t.api('POST', `/api/v1/organizations/${owner.id}/domains/taken.example.net/verify`, {
      body: { method: 'manual' },
    });
    // Once verified, nobody else may add it: not on an existing organization, not at creation.
    const late = (await t.api('POST', '/api/v1/organizations', { body: { name: 'Late claimant' } })).body;
    const added = await t.api('POST', `/api/v1/organizations/${late.id}/domains`, {
      body: { domain: 'Taken.Example.net' },
    });
    expect(added.status).toBe(409);
    expect(added.body).toMatchObject({
      code: 'domain_owned_elsewhere',
      field: 'domain',
      owner: owner.slug,
    });
    expect(added.body.detail).toContain(`"${owner.slug}"`);
    const created = await t.api('POST', '/api/v1/organizations', {
      body: { name: 'Another late claimant', domains: ['other.example.net', 'taken.example.net'] },
    });
    expect(created.status).toBe(409);
    expect(created.body).toMatchObject({ code: 'domain_owned_elsewhere', field: 'domains[1]' });
    const search = await t.api('GET', '/api/v1/organizations?q=another-late');
    expect(search.body.data).toEqual([]);
    expect((await t.api('GET', `/api/v1/organizations/${late.id}`)).body.domains).toEqual([]);
    // The early claimant's pending claim stays, and it sees who verified the domain.
    const early2 = await t.api('GET', `/api/v1/organizations/${early.id}`);
    expect(early2.body.domains[0]).toMatchObject({
      domain: 'taken.example.net',
      verified: false,
      otherClaims: [{ organizationId: owner.id, slug: owner.slug, verified: true }],
    });
    // The owner itself may add it again only as the same organization (already there): 409 domain_exists.
    const own = await t.api('POST', `/api/v1/organizations/${owner.id}/domains`, {
      body: { domain: 'taken.example.net' },
    });
    expect(own.body.code).toBe('domain_exists');
  });
});
