/**
 * Matching HR records to users that came from SSO, SCIM or the API: by employee id, then work
 * email (configurable per organization); ambiguous and unmatched records are listed, never guessed;
 * an admin can link one by hand.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fakeEmployees } from '../connectors/hris-contract.ts';
import { type PersonioFake, startPersonioFake } from '../fakes/personio/index.ts';
import { createTestHub, type TestHub } from '../support/hub.ts';
import { createOrganization, createPullDirectory, syncNow } from './support.ts';

let t: TestHub;
let fake: PersonioFake;
let orgId: string;

async function createUser(body: Record<string, unknown>): Promise<string> {
  const res = await t.api('POST', `/api/v1/organizations/${orgId}/users`, { body });
  expect(res.status, res.text).toBe(201);
  return res.body.id;
}

async function connect(): Promise<string> {
  return (
    await createPullDirectory(t, orgId, {
      name: 'Personio',
      provider: 'personio',
      config: fake.config as Record<string, unknown>,
      credentials: fake.credentials as Record<string, unknown>,
    })
  ).id;
}

beforeEach(async () => {
  t = await createTestHub();
  fake = await startPersonioFake();
  orgId = await createOrganization(t, 'Matching Corp');
  fake.seed(fakeEmployees(6));
});

afterEach(async () => {
  await fake.close();
  await t.close();
});

describe('matching HR records to users', () => {
  it('matches by employee id first, then work email; lists ambiguous and unmatched records without guessing', async () => {
    const byId = await createUser({ email: 'alice@elsewhere.test', externalIds: { employee_id: '1' } });
    const byEmail = await createUser({ email: 'Person2@Acme.test' });
    const twinA = await createUser({ email: 'twin.a@acme.test', profile: { employeeNumber: '3' } });
    const twinB = await createUser({ email: 'twin.b@acme.test', profile: { employeeNumber: '3' } });
    // Person 5's email belongs to one user, their employee id to another: the id wins.
    const emailOf5 = await createUser({ email: 'person5@acme.test' });
    const idOf5 = await createUser({ email: 'five@elsewhere.test', externalIds: { employee_id: '5' } });
    const directoryId = await connect();
    const run = await syncNow(t, orgId, directoryId);
    expect(run.stats).toMatchObject({ read: 6, usersCreated: 0, unmatched: 2, ambiguous: 1 });

    const records = async (match?: string) =>
      (
        await t.api(
          'GET',
          `/api/v1/organizations/${orgId}/hris/directories/${directoryId}/records${match ? `?match=${match}` : ''}`,
        )
      ).body.data;
    const all = await records();
    const bySource = new Map(all.map((record: { sourceId: string }) => [record.sourceId, record]));
    expect(bySource.get('1')).toMatchObject({ userId: byId, matchStatus: 'matched' });
    expect(bySource.get('2')).toMatchObject({ userId: byEmail, matchStatus: 'matched' });
    expect(bySource.get('5')).toMatchObject({ userId: idOf5, matchStatus: 'matched' });
    const ambiguous = await records('ambiguous');
    expect(ambiguous).toHaveLength(1);
    expect(ambiguous[0]).toMatchObject({ sourceId: '3', userId: null });
    expect(ambiguous[0].matchDetail.candidates.sort()).toEqual([twinA, twinB].sort());
    expect((await records('unmatched')).map((record: { sourceId: string }) => record.sourceId)).toEqual([
      '4',
      '6',
    ]);

    const alice = await t.api('GET', `/api/v1/users/${byId}`);
    expect(alice.body.profile.hr).toMatchObject({ jobTitle: 'Engineer', workEmail: 'person1@acme.test' });
    // A matched user keeps their own email and names: HR fills the profile.
    expect(alice.body.email).toBe('alice@elsewhere.test');
    expect((await t.api('GET', `/api/v1/users/${emailOf5}`)).body.profile.hr).toBeUndefined();
    const users = await t.api('GET', `/api/v1/organizations/${orgId}/users?limit=100`);
    expect(users.body.data).toHaveLength(6);
  });

  it('follows the organization’s order: work email only', async () => {
    const byId = await createUser({ email: 'alice@elsewhere.test', externalIds: { employee_id: '1' } });
    const byEmail = await createUser({ email: 'person1@acme.test' });
    const saved = await t.api('PATCH', `/api/v1/organizations/${orgId}/hris/settings`, {
      body: { matchBy: ['workEmail'] },
    });
    expect(saved.body.matchBy).toEqual(['workEmail']);
    const directoryId = await connect();
    await syncNow(t, orgId, directoryId);
    const records = (
      await t.api('GET', `/api/v1/organizations/${orgId}/hris/directories/${directoryId}/records`)
    ).body.data;
    expect(records.find((record: { sourceId: string }) => record.sourceId === '1').userId).toBe(byEmail);
    expect((await t.api('GET', `/api/v1/users/${byId}`)).body.profile.hr).toBeUndefined();
  });

  it('an unmatched record is matched by a later sync once the user exists (SSO joiner), without re-reading changes', async () => {
    const directoryId = await connect();
    await syncNow(t, orgId, directoryId);
    const late = await createUser({ email: 'person4@acme.test' });
    const run = await syncNow(t, orgId, directoryId, { mode: 'full' });
    expect(run.stats).toMatchObject({ updated: 1, usersUpdated: 1 });
    expect((await t.api('GET', `/api/v1/users/${late}`)).body.profile.hr).toMatchObject({
      jobTitle: 'Engineer',
    });
  });

  it('an admin links an ambiguous record to the right user; the next sync writes the profile there', async () => {
    const twinA = await createUser({ email: 'twin.a@acme.test', profile: { employeeNumber: '3' } });
    await createUser({ email: 'twin.b@acme.test', profile: { employeeNumber: '3' } });
    const directoryId = await connect();
    await syncNow(t, orgId, directoryId);
    const base = `/api/v1/organizations/${orgId}/hris/directories/${directoryId}/records`;
    const linked = await t.api('POST', `${base}/3/link`, { body: { userId: twinA } });
    expect(linked.status, linked.text).toBe(200);
    await syncNow(t, orgId, directoryId, { mode: 'full' });
    expect((await t.api('GET', `/api/v1/users/${twinA}`)).body.profile.hr).toMatchObject({
      workEmail: 'person3@acme.test',
    });
    const stranger = await t.api('POST', `${base}/4/link`, {
      body: { userId: 'usr_00000000000000000000000000' },
    });
    expect(stranger.status).toBe(404);
    expect(stranger.body.field).toBe('userId');
  });
});
