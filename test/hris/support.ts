/** Shared setup of the HR sync tests: a hub, an organization, a fake HR system, a pull directory. */
import { sql } from 'drizzle-orm';
import { expect } from 'vitest';
import type { SyncRunView } from '../../src/modules/hris/index.ts';
import { queryRows } from '../../src/platform/db/client.ts';
import { fakeEmployees, instantEnv } from '../connectors/hris-contract.ts';
import type { PersonioFake } from '../fakes/personio/index.ts';
import type { TestHub } from '../support/hub.ts';

export async function createOrganization(t: TestHub, name = 'Acme HR'): Promise<string> {
  const res = await t.api('POST', '/api/v1/organizations', { body: { name } });
  if (res.status !== 201) throw new Error(`organization: ${res.status} ${res.text}`);
  return res.body.id;
}

export async function createPullDirectory(
  t: TestHub,
  orgId: string,
  body: Record<string, unknown>,
): Promise<{ id: string } & Record<string, unknown>> {
  const res = await t.api('POST', `/api/v1/organizations/${orgId}/hris/directories`, { body });
  if (res.status !== 201) throw new Error(`directory: ${res.status} ${res.text}`);
  return res.body;
}

/** Runs a sync in-process with instant waits (no test sleeps on Retry-After). */
export function syncNow(
  t: TestHub,
  orgId: string,
  directoryId: string,
  options: { mode?: 'auto' | 'full' | 'incremental'; pageSize?: number; waits?: number[] } = {},
): Promise<SyncRunView> {
  return t.hub.hris.sync.run(orgId, directoryId, {
    trigger: 'manual',
    mode: options.mode ?? 'auto',
    env: instantEnv(options.waits ?? []),
    ...(options.pageSize ? { pageSize: options.pageSize } : {}),
  });
}

/** Rows in the tables a sync writes, and the newest change time of each: "did anything get written?". */
export async function writeFootprint(t: TestHub, orgId: string) {
  const [row] = await queryRows<Record<string, unknown>>(
    t.hub.database.db,
    sql`
    select
      (select count(*)::int from events where organization_id = ${orgId}) as events,
      (select coalesce(max(version), 0)::int + count(*)::int from users where organization_id = ${orgId}) as user_versions,
      (select coalesce(max(updated_at)::text, '') from users where organization_id = ${orgId}) as users_updated,
      (select coalesce(max(changed_at)::text, '') from hris_records where organization_id = ${orgId}) as records_changed,
      (select count(*)::int from hris_records where organization_id = ${orgId}) as records`,
  );
  return row;
}

export async function eventTypes(t: TestHub, orgId: string, after = 0): Promise<string[]> {
  const rows = await queryRows<{ type: string }>(
    t.hub.database.db,
    sql`select type from events where organization_id = ${orgId} order by id`,
  );
  return rows.slice(after).map((row) => row.type);
}

/**
 * Pre-hires wait for their start date (a directory with `joiners: create`): an onboarding person
 * starting next month gets no user (the record stays unmatched, `pre_hire`); one whose start date
 * has come does; the first gets theirs once HR marks them active. Both Personio API versions.
 */
export async function expectPreHiresToWaitForTheirStartDate(
  t: TestHub,
  fake: PersonioFake,
  orgId: string,
  directoryId: string,
): Promise<void> {
  const nextMonth = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);
  const people = fakeEmployees(3);
  people[1] = { ...(people[1] as (typeof people)[number]), status: 'onboarding', hireDate: nextMonth };
  people[2] = { ...(people[2] as (typeof people)[number]), status: 'onboarding', hireDate: '2020-02-01' };
  fake.seed(people);
  const users = async () =>
    (await t.api('GET', `/api/v1/organizations/${orgId}/users?limit=100`)).body.data as Array<{
      email: string;
      status: string;
      profile: { hr: Record<string, unknown> };
    }>;
  const run = await syncNow(t, orgId, directoryId);
  expect(run.stats).toMatchObject({ read: 3, created: 3, usersCreated: 2, unmatched: 1 });
  const first = await users();
  expect(first.map((user) => user.email).sort()).toEqual(['person1@acme.test', 'person3@acme.test']);
  expect(first.find((user) => user.email === 'person3@acme.test')).toMatchObject({
    status: 'active',
    profile: { hr: { employmentStatus: 'pending', hireDate: '2020-02-01' } },
  });
  const waiting = await t.api(
    'GET',
    `/api/v1/organizations/${orgId}/hris/directories/${directoryId}/records?match=unmatched`,
  );
  expect(waiting.status, waiting.text).toBe(200);
  expect(
    waiting.body.data.map((record: { sourceId: string; matchDetail: { reason: string } }) => [
      record.sourceId,
      record.matchDetail.reason,
    ]),
  ).toEqual([['2', 'pre_hire']]);
  // An unchanged resync before the start date still makes no user and writes nothing.
  const before = await writeFootprint(t, orgId);
  await syncNow(t, orgId, directoryId, { mode: 'full' });
  expect(await writeFootprint(t, orgId)).toEqual(before);
  // Their first day: HR marks them active, the next sync makes their user.
  fake.tick(15 * 60_000);
  fake.update('2', { status: 'active' });
  const started = await syncNow(t, orgId, directoryId);
  expect(started.stats).toMatchObject({ usersCreated: 1 });
  expect((await users()).find((user) => user.email === 'person2@acme.test')).toMatchObject({
    status: 'active',
    profile: { hr: { employmentStatus: 'active' } },
  });
}
