/**
 * Personio → Switchboard, end to end on the real hub and database: full and incremental syncs,
 * paging, throttling, token expiry mid-sync, deletion detection, failure halfway then resume,
 * unchanged resyncs that write nothing, and leavers losing access.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fakeEmployees } from '../connectors/hris-contract.ts';
import { type PersonioFake, startPersonioFake } from '../fakes/personio/index.ts';
import { createTestHub, type TestHub } from '../support/hub.ts';
import {
  createOrganization,
  createPullDirectory,
  eventTypes,
  expectPreHiresToWaitForTheirStartDate,
  syncNow,
  writeFootprint,
} from './support.ts';

let t: TestHub;
let fake: PersonioFake;
let orgId: string;
let directoryId: string;

beforeEach(async () => {
  t = await createTestHub();
  fake = await startPersonioFake();
  orgId = await createOrganization(t);
  const directory = await createPullDirectory(t, orgId, {
    name: 'Personio',
    provider: 'personio',
    config: fake.config as Record<string, unknown>,
    credentials: fake.credentials as Record<string, unknown>,
    joiners: 'create',
    mapping: { custom: { shirtSize: fake.customFieldKey } },
  });
  directoryId = directory.id;
});

afterEach(async () => {
  await fake.close();
  await t.close();
});

describe('Personio sync', () => {
  it('a full sync pages through Personio and creates users with their HR profile', async () => {
    const people = fakeEmployees(25);
    people[2] = { ...(people[2] as (typeof people)[number]), custom: { [fake.customFieldKey]: 'XL' } };
    fake.seed(people);
    const run = await syncNow(t, orgId, directoryId, { pageSize: 10 });
    expect(run).toMatchObject({ status: 'succeeded', mode: 'full' });
    expect(run.stats).toMatchObject({ read: 25, created: 25, usersCreated: 25, pages: 3 });
    expect(fake.requests.filter((request) => request.path === '/v1/company/employees')).toHaveLength(3);
    const users = await t.api('GET', `/api/v1/organizations/${orgId}/users?limit=100`);
    expect(users.body.data).toHaveLength(25);
    const third = users.body.data.find((user: { email: string }) => user.email === 'person3@acme.test');
    expect(third).toMatchObject({
      givenName: 'First3',
      familyName: 'Last3',
      source: 'hris',
      status: 'active',
    });
    expect(third.externalIds).toMatchObject({ [`hris:${directoryId}`]: '3', employee_id: '3' });
    expect(third.profile.hr).toMatchObject({
      jobTitle: 'Engineer',
      department: 'Sales',
      manager: '1',
      hireDate: '2020-04-15',
      employmentStatus: 'active',
      custom: { shirtSize: 'XL' },
    });
    const types = await eventTypes(t, orgId);
    expect(types.filter((type) => type === 'user.created')).toHaveLength(25);
    expect(types).toContain('hris.sync_completed');
  });

  it('an unchanged resync writes nothing and emits no events', async () => {
    fake.seed(fakeEmployees(25));
    await syncNow(t, orgId, directoryId, { pageSize: 10 });
    const before = await writeFootprint(t, orgId);
    const full = await syncNow(t, orgId, directoryId, { mode: 'full', pageSize: 10 });
    expect(full.stats).toMatchObject({ read: 25, unchanged: 25, created: 0, updated: 0, deleted: 0 });
    const incremental = await syncNow(t, orgId, directoryId, { mode: 'incremental' });
    expect(incremental).toMatchObject({ status: 'succeeded', mode: 'incremental' });
    expect(await writeFootprint(t, orgId)).toEqual(before);
  });

  it('an incremental sync asks Personio for changes since the last sync and applies only them', async () => {
    fake.seed(fakeEmployees(12));
    await syncNow(t, orgId, directoryId, { pageSize: 10 });
    const eventsBefore = (await eventTypes(t, orgId)).length;
    fake.tick(15 * 60_000);
    fake.update('4', { jobTitle: 'Staff Engineer', department: 'Platform' });
    const run = await syncNow(t, orgId, directoryId);
    expect(run).toMatchObject({ status: 'succeeded', mode: 'incremental' });
    expect(run.stats).toMatchObject({ read: 1, updated: 1, usersUpdated: 1 });
    expect(fake.requests.at(-1)?.query).toMatch(/updated_since=/);
    const newEvents = await eventTypes(t, orgId, eventsBefore);
    expect(newEvents.filter((type) => type === 'user.updated')).toHaveLength(1);
    const user = (await t.api('GET', `/api/v1/organizations/${orgId}/users?limit=100`)).body.data.find(
      (item: { email: string }) => item.email === 'person4@acme.test',
    );
    expect(user.profile.hr).toMatchObject({ jobTitle: 'Staff Engineer', department: 'Platform' });
  });

  it('throttled pages (429 without headers) are retried after at least a second, and the sync completes', async () => {
    fake.seed(fakeEmployees(15));
    fake.throttleNext(3);
    const waits: number[] = [];
    const run = await syncNow(t, orgId, directoryId, { pageSize: 10, waits });
    expect(run.status).toBe('succeeded');
    expect(run.stats.read).toBe(15);
    expect(fake.stats.throttled).toBe(3);
    expect(waits.filter((ms) => ms >= 1000)).toHaveLength(3);
  });

  it('a token that expires mid-sync is renewed and the sync completes', async () => {
    fake.seed(fakeEmployees(30));
    let pages = 0;
    const original = fake.requests.push.bind(fake.requests);
    fake.requests.push = (...items) => {
      if (items.some((item) => item.path === '/v1/company/employees') && ++pages === 2) fake.expireTokens();
      return original(...items);
    };
    const run = await syncNow(t, orgId, directoryId, { pageSize: 10 });
    expect(run).toMatchObject({ status: 'succeeded' });
    expect(run.stats.read).toBe(30);
    expect(fake.stats.tokensIssued).toBe(2);
  });

  it('a sync that fails halfway keeps the pages it finished, changes nothing after them, and resumes', async () => {
    fake.seed(fakeEmployees(30));
    fake.breakAfter(2);
    const failed = await syncNow(t, orgId, directoryId, { pageSize: 10 });
    expect(failed).toMatchObject({ status: 'failed', resumable: true, attempts: 1 });
    expect(failed.error?.code).toBe('hris_upstream');
    expect(failed.stats).toMatchObject({ pages: 2, created: 20 });
    expect((await t.api('GET', `/api/v1/organizations/${orgId}/users?limit=100`)).body.data).toHaveLength(20);
    const directory = await t.api('GET', `/api/v1/organizations/${orgId}/hris/directories/${directoryId}`);
    expect(directory.body.sync.lastError).toMatchObject({ code: 'hris_upstream' });
    const runs = await t.api('GET', `/api/v1/organizations/${orgId}/hris/directories/${directoryId}/runs`);
    expect(runs.body.data[0]).toMatchObject({ id: failed.id, status: 'failed' });

    fake.heal();
    const requestsBefore = fake.requests.filter((request) => request.path === '/v1/company/employees').length;
    const resumed = await syncNow(t, orgId, directoryId, { pageSize: 10 });
    expect(resumed).toMatchObject({ id: failed.id, status: 'succeeded', attempts: 2 });
    // Only the third page was read again.
    expect(
      fake.requests.filter((request) => request.path === '/v1/company/employees').length - requestsBefore,
    ).toBe(1);
    expect(resumed.stats).toMatchObject({ created: 30, deleted: 0 });
    expect((await t.api('GET', `/api/v1/organizations/${orgId}/users?limit=100`)).body.data).toHaveLength(30);
  });

  it('a full sync detects people deleted in Personio and deprovisions their users', async () => {
    fake.seed(fakeEmployees(12));
    await syncNow(t, orgId, directoryId, { pageSize: 10 });
    fake.remove('5');
    const run = await syncNow(t, orgId, directoryId, { mode: 'full', pageSize: 10 });
    expect(run.stats).toMatchObject({ deleted: 1, usersDeactivated: 1 });
    const user = (await t.api('GET', `/api/v1/organizations/${orgId}/users?limit=100`)).body.data.find(
      (item: { email: string }) => item.email === 'person5@acme.test',
    );
    expect(user.status).toBe('deprovisioned');
    expect(await eventTypes(t, orgId)).toContain('user.deactivated');
  });

  it('a full read missing most people is refused by the deletion guard and deletes nothing', async () => {
    fake.seed(fakeEmployees(30));
    await syncNow(t, orgId, directoryId, { pageSize: 10 });
    for (let id = 1; id <= 25; id++) fake.remove(String(id));
    const run = await syncNow(t, orgId, directoryId, { mode: 'full', pageSize: 10 });
    expect(run.status).toBe('failed');
    expect(run.error?.message).toMatch(/maxDeletionRatio/);
    const users = (await t.api('GET', `/api/v1/organizations/${orgId}/users?limit=100`)).body.data;
    expect(users.filter((user: { status: string }) => user.status === 'active')).toHaveLength(30);
  });

  it('an HR termination deprovisions the user (user.deactivated), and a rehire reactivates them', async () => {
    fake.seed(fakeEmployees(5));
    await syncNow(t, orgId, directoryId);
    fake.tick(15 * 60_000);
    fake.update('2', { status: 'inactive', terminationDate: '2024-01-31' });
    const run = await syncNow(t, orgId, directoryId);
    expect(run.stats).toMatchObject({ updated: 1, usersDeactivated: 1 });
    const users = async () =>
      (await t.api('GET', `/api/v1/organizations/${orgId}/users?limit=100`)).body.data;
    expect((await users()).find((user: { email: string }) => user.email === 'person2@acme.test').status).toBe(
      'deprovisioned',
    );
    fake.tick(15 * 60_000);
    fake.update('2', { status: 'active', terminationDate: null });
    const rehire = await syncNow(t, orgId, directoryId);
    expect(rehire.stats.usersReactivated).toBe(1);
    expect((await users()).find((user: { email: string }) => user.email === 'person2@acme.test').status).toBe(
      'active',
    );
    const types = await eventTypes(t, orgId);
    expect(types).toContain('user.deactivated');
    expect(types).toContain('user.reactivated');
  });

  it('an onboarding person (a pre-hire) gets a user on their start date, not before', async () => {
    await expectPreHiresToWaitForTheirStartDate(t, fake, orgId, directoryId);
  });
});
