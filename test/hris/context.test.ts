/**
 * The coaching context API: profile with provenance and derived facts, the organization's
 * allow-list (nothing else leaves), caching with invalidation, and who may call it (admin keys;
 * client-credentials tokens with profile:read, only for their organizations).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeEmployees, type HrFakeEmployee } from '../connectors/hris-contract.ts';
import { type PersonioFake, startPersonioFake } from '../fakes/personio/index.ts';
import { createTestHub, type TestHub } from '../support/hub.ts';
import { createOrganization, createPullDirectory, syncNow } from './support.ts';

let t: TestHub;
let fake: PersonioFake;
let orgId: string;
let otherOrgId: string;
let directoryId: string;
const ids = new Map<string, string>();

async function clientCredentialsToken(
  body: Record<string, unknown>,
  scope = 'profile:read',
): Promise<string> {
  const app = await t.api('POST', '/api/v1/applications', {
    body: {
      name: 'Coaching API',
      type: 'confidential',
      redirectUris: [],
      grantTypes: ['client_credentials'],
      ...body,
    },
  });
  expect(app.status, app.text).toBe(201);
  const response = await t.app.inject({
    method: 'POST',
    url: '/oidc/token',
    headers: {
      authorization: `Basic ${Buffer.from(`${app.body.id}:${app.body.secret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    payload: new URLSearchParams({ grant_type: 'client_credentials', scope }).toString(),
  });
  expect(response.statusCode, response.body).toBe(200);
  return JSON.parse(response.body).access_token;
}

const context = (userId: string, key?: string | null) =>
  t.api('GET', `/api/v1/users/${userId}/context`, { key });

beforeAll(async () => {
  t = await createTestHub();
  fake = await startPersonioFake();
  orgId = await createOrganization(t, 'Context Corp');
  otherOrgId = await createOrganization(t, 'Other Corp');
  const people: HrFakeEmployee[] = fakeEmployees(6).map((person) => ({
    ...person,
    hireDate: '2020-01-01',
    custom: { dynamic_24407: 'L5' },
  }));
  fake.seed(people);
  directoryId = (
    await createPullDirectory(t, orgId, {
      name: 'Personio',
      provider: 'personio',
      config: fake.config as Record<string, unknown>,
      credentials: fake.credentials as Record<string, unknown>,
      joiners: 'create',
      mapping: { fields: { level: 'dynamic_24407' }, custom: { shirtSize: 'dynamic_24407' } },
    })
  ).id;
  await syncNow(t, orgId, directoryId);
  const list = await t.api('GET', `/api/v1/organizations/${orgId}/users?limit=100`);
  for (const user of list.body.data) ids.set(user.email, user.id);
  await t.api('PATCH', `/api/v1/organizations/${orgId}/hris/settings`, {
    body: { levelBands: [{ band: 'senior', levels: ['L5', 'L6'] }] },
  });
});

afterAll(async () => {
  await fake.close();
  await t.close();
});

describe('GET /api/v1/users/{id}/context', () => {
  it('returns the allowed profile with provenance and derived facts', async () => {
    const res = await context(ids.get('person1@acme.test') as string);
    expect(res.status, res.text).toBe(200);
    expect(res.body.profile.jobTitle).toMatchObject({
      value: 'Engineer',
      source: { directoryId, provider: 'personio', field: 'position' },
    });
    expect(res.body.profile.jobTitle.lastSeenAt).toEqual(expect.any(String));
    expect(res.body.profile.hireDate.value).toBe('2020-01-01');
    expect(res.body.facts).toMatchObject({
      isPeopleManager: true,
      teamSize: 5,
      levelBand: 'senior',
      newInRole: false,
    });
    expect(res.body.facts.tenureDays).toBeGreaterThan(365 * 4);
    const report = await context(ids.get('person2@acme.test') as string);
    expect(report.body.facts).toMatchObject({ isPeopleManager: false, teamSize: 0 });
  });

  it('never returns what the allow-list does not name, and applies a new list at once', async () => {
    const userId = ids.get('person2@acme.test') as string;
    expect((await context(userId)).body.profile).not.toHaveProperty('workEmail');
    expect((await context(userId)).body.profile).not.toHaveProperty('custom.shirtSize');
    const updated = await t.api('PATCH', `/api/v1/organizations/${orgId}/hris/settings`, {
      body: { contextFields: ['jobTitle', 'custom.shirtSize', 'tenureDays', 'manager'] },
    });
    expect(updated.status, updated.text).toBe(200);
    const res = await context(userId);
    expect(Object.keys(res.body.profile).sort()).toEqual(['custom.shirtSize', 'jobTitle']);
    expect(res.body.profile['custom.shirtSize'].value).toBe('L5');
    expect(Object.keys(res.body.facts)).toEqual(['tenureDays']);
    expect(res.body.manager).toEqual({ sourceId: '1', userId: ids.get('person1@acme.test') });
    const bad = await t.api('PATCH', `/api/v1/organizations/${orgId}/hris/settings`, {
      body: { contextFields: ['salary'] },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.field).toMatch(/contextFields/);
    await t.api('PATCH', `/api/v1/organizations/${orgId}/hris/settings`, {
      body: {
        contextFields: [
          'jobTitle',
          'level',
          'tenureDays',
          'timeInRoleDays',
          'newInRole',
          'isPeopleManager',
          'teamSize',
          'levelBand',
        ],
      },
    });
  });

  it('is cached, and a sync that changes the person (or their team) invalidates it', async () => {
    const userId = ids.get('person3@acme.test') as string;
    await context(userId);
    const hits = t.hub.hris.context.stats.hits;
    expect((await context(userId)).body.profile.jobTitle.value).toBe('Engineer');
    expect(t.hub.hris.context.stats.hits).toBe(hits + 1);
    fake.tick(15 * 60_000);
    fake.update('3', { jobTitle: 'Senior Engineer' });
    fake.update('4', { managerId: '3' });
    await syncNow(t, orgId, directoryId);
    const after = await context(userId);
    expect(after.body.profile.jobTitle.value).toBe('Senior Engineer');
    expect(after.body.facts).toMatchObject({ isPeopleManager: true, teamSize: 1 });
    // A new title is a new role, but not a promotion.
    expect(after.body.facts).toMatchObject({ newInRole: false, timeInRoleDays: 0 });
  });

  it('a level change observed by a sync is a promotion: new in role, with the new band', async () => {
    const userId = ids.get('person5@acme.test') as string;
    expect((await context(userId)).body.facts).toMatchObject({ newInRole: false, levelBand: 'senior' });
    fake.tick(15 * 60_000);
    fake.update('5', { custom: { dynamic_24407: 'L7' } });
    await syncNow(t, orgId, directoryId);
    const after = await context(userId);
    expect(after.body.profile.level.value).toBe('L7');
    expect(after.body.facts).toMatchObject({ newInRole: true, timeInRoleDays: 0, levelBand: null });
  });

  it('accepts a client-credentials token with profile:read for its own organization only', async () => {
    const token = await clientCredentialsToken({ organization: orgId, scopes: ['openid', 'profile:read'] });
    const own = await context(ids.get('person1@acme.test') as string, token);
    expect(own.status, own.text).toBe(200);
    const stranger = await t.api('POST', `/api/v1/organizations/${otherOrgId}/users`, {
      body: { email: 'someone@other.test' },
    });
    const other = await context(stranger.body.id, token);
    expect(other.status).toBe(404);
    expect(other.body.code).toBe('user_not_found');
  });

  it('refuses tokens without profile:read, shared applications open to every organization, and no token', async () => {
    const userId = ids.get('person1@acme.test') as string;
    const noScope = await clientCredentialsToken({ organization: orgId, scopes: ['openid'] }, 'openid');
    expect((await context(userId, noScope)).body).toMatchObject({ status: 403, code: 'insufficient_scope' });
    const shared = await clientCredentialsToken({ scopes: ['profile:read'] });
    expect((await context(userId, shared)).body).toMatchObject({
      status: 403,
      code: 'application_organizations_unlimited',
    });
    const listed = await clientCredentialsToken({ scopes: ['profile:read'], allowedOrganizations: [orgId] });
    expect((await context(userId, listed)).status).toBe(200);
    expect((await context(userId, null)).status).toBe(401);
    expect((await context(userId, 'not-a-real-token-at-all')).status).toBe(401);
  });

  it('an application created without a scope list does not get profile:read', async () => {
    const app = await t.api('POST', '/api/v1/applications', {
      body: { name: 'Web', type: 'confidential', redirectUris: ['https://app.example.com/cb'] },
    });
    expect(app.body.scopes).not.toContain('profile:read');
  });
});
