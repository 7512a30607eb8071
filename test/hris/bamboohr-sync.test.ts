/** BambooHR → Switchboard end to end: report pages, changes-since with deletions, throttling, resume, custom fields. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fakeEmployees } from '../connectors/hris-contract.ts';
import { type BamboohrFake, startBamboohrFake } from '../fakes/bamboohr/index.ts';
import { createTestHub, type TestHub } from '../support/hub.ts';
import { createOrganization, createPullDirectory, eventTypes, syncNow, writeFootprint } from './support.ts';

let t: TestHub;
let fake: BamboohrFake;
let orgId: string;
let directoryId: string;

const users = async () =>
  (await t.api('GET', `/api/v1/organizations/${orgId}/users?limit=200`)).body.data as Array<{
    email: string;
    status: string;
    profile: { hr?: Record<string, unknown> };
  }>;

beforeEach(async () => {
  t = await createTestHub();
  fake = await startBamboohrFake({ throttleStatus: 503 });
  orgId = await createOrganization(t);
  directoryId = (
    await createPullDirectory(t, orgId, {
      name: 'BambooHR',
      provider: 'bamboohr',
      config: fake.config as Record<string, unknown>,
      credentials: fake.credentials as Record<string, unknown>,
      joiners: 'create',
      mapping: { custom: { shirtSize: 'customShirtSize' } },
    })
  ).id;
});

afterEach(async () => {
  await fake.close();
  await t.close();
});

describe('BambooHR sync', () => {
  it('a full sync reads the custom report in pages of ids, with the mapped custom field and exact JSON', async () => {
    const people = fakeEmployees(23);
    people[0] = { ...(people[0] as (typeof people)[number]), custom: { customShirtSize: 'M' } };
    fake.seed(people);
    const run = await syncNow(t, orgId, directoryId, { pageSize: 10 });
    expect(run).toMatchObject({ status: 'succeeded', mode: 'full' });
    expect(run.stats).toMatchObject({ read: 23, usersCreated: 23, pages: 3 });
    const reports = fake.requests.filter((request) => request.path === '/api/v1/reports/custom');
    expect(reports).toHaveLength(3);
    expect(reports.every((request) => request.contentType === 'application/json')).toBe(true);
    expect(JSON.parse(reports[0]?.body ?? '{}').fields).toContain('customShirtSize');
    const first = (await users()).find((user) => user.email === 'person1@acme.test');
    expect(first?.profile.hr).toMatchObject({
      employeeNumber: 'E00001',
      employmentType: 'full_time',
      employmentStatus: 'active',
      custom: { shirtSize: 'M' },
    });
    // BambooHR's empty date `0000-00-00` is no termination date.
    expect(first?.profile.hr).not.toHaveProperty('terminationDate');
  });

  it('an incremental sync applies changes and deletions from employees/changed, and a resync writes nothing', async () => {
    fake.seed(fakeEmployees(12));
    await syncNow(t, orgId, directoryId, { pageSize: 10 });
    fake.tick(15 * 60_000);
    fake.update('3', { jobTitle: 'Team Lead' });
    fake.remove('7');
    const run = await syncNow(t, orgId, directoryId);
    expect(run).toMatchObject({ status: 'succeeded', mode: 'incremental' });
    expect(run.stats).toMatchObject({ read: 1, updated: 1, deleted: 1, usersDeactivated: 1 });
    const all = await users();
    expect(all.find((user) => user.email === 'person3@acme.test')?.profile.hr?.jobTitle).toBe('Team Lead');
    expect(all.find((user) => user.email === 'person7@acme.test')?.status).toBe('deprovisioned');
    const footprint = await writeFootprint(t, orgId);
    fake.tick(15 * 60_000);
    await syncNow(t, orgId, directoryId, { mode: 'full', pageSize: 10 });
    await syncNow(t, orgId, directoryId, { mode: 'incremental' });
    expect(await writeFootprint(t, orgId)).toEqual(footprint);
  });

  it('503 + Retry-After (before 16 Sep 2026) and 429 + Retry-After are honoured', async () => {
    fake.seed(fakeEmployees(5));
    fake.throttleNext(2);
    const waits: number[] = [];
    const run = await syncNow(t, orgId, directoryId, { waits });
    expect(run.status).toBe('succeeded');
    expect(waits).toEqual([2000, 2000]);

    const modern = await startBamboohrFake({ throttleStatus: 429, retryAfterSeconds: 3 });
    try {
      modern.seed(fakeEmployees(5));
      modern.throttleNext(1);
      await t.api('PATCH', `/api/v1/organizations/${orgId}/hris/directories/${directoryId}`, {
        body: { config: modern.config },
      });
      const modernWaits: number[] = [];
      const again = await syncNow(t, orgId, directoryId, { mode: 'full', waits: modernWaits });
      expect(again.status).toBe('succeeded');
      expect(modernWaits).toEqual([3000]);
    } finally {
      await modern.close();
    }
  });

  it('a sync that fails halfway resumes after the last committed page', async () => {
    fake.seed(fakeEmployees(30));
    fake.breakAfter(3); // the changed list and two report pages succeed
    const failed = await syncNow(t, orgId, directoryId, { pageSize: 10 });
    expect(failed).toMatchObject({ status: 'failed', stats: { pages: 2, created: 20 } });
    expect(await users()).toHaveLength(20);
    fake.heal();
    const resumed = await syncNow(t, orgId, directoryId, { pageSize: 10 });
    expect(resumed).toMatchObject({ id: failed.id, status: 'succeeded', stats: { created: 30 } });
    const reports = fake.requests.filter((request) => request.path === '/api/v1/reports/custom');
    expect(JSON.parse(reports.at(-1)?.body ?? '{}').filters.employeeIds).toEqual(
      Array.from({ length: 10 }, (_, index) => 21 + index),
    );
    expect(await users()).toHaveLength(30);
  });

  it('a wrong API key fails the connection test with the vendor message and the sync with invalid_credentials', async () => {
    await t.api('PATCH', `/api/v1/organizations/${orgId}/hris/directories/${directoryId}`, {
      body: { credentials: fake.badCredentials },
    });
    const check = await t.api('POST', `/api/v1/organizations/${orgId}/hris/directories/${directoryId}/test`);
    expect(check.status).toBe(200);
    expect(check.body).toMatchObject({ ok: false, code: 'invalid_credentials' });
    expect(check.body.detail).toMatch(/401/);
    const run = await syncNow(t, orgId, directoryId);
    expect(run).toMatchObject({ status: 'failed', error: { code: 'hris_invalid_credentials' } });
    expect(await eventTypes(t, orgId)).toContain('hris.sync_failed');
  });
});
