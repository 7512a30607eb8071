/**
 * Deleting an HR connector (DELETE .../hris/directories/:id): admins only; its records and sync
 * history go; the users it matched or created stay, with their status and HR attributes, but no
 * longer name it as their HR source; one audited `directory.deleted` event, and a `user.updated`
 * per detached user. Refused while a sync runs, and through the SCIM directories route.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../../src/platform/db/client.ts';
import { fakeEmployees } from '../connectors/hris-contract.ts';
import { type PersonioFake, startPersonioFake } from '../fakes/personio/index.ts';
import { createTestHub, type TestHub } from '../support/hub.ts';
import { createOrganization, createPullDirectory, eventTypes, syncNow } from './support.ts';

let t: TestHub;
let fake: PersonioFake;
let orgId: string;
let directoryId: string;
let base: string;
let matchedUserId: string;

async function usersOf(orgId: string) {
  return queryRows<{
    id: string;
    email: string;
    status: string;
    profile: { hr?: Record<string, unknown> };
    external_ids: Record<string, string>;
  }>(
    t.hub.database.db,
    sql`select id, email, status, profile, external_ids from users where organization_id = ${orgId} order by email`,
  );
}

async function count(table: 'hris_records' | 'hris_sync_runs', id: string): Promise<number> {
  const [row] = await queryRows<{ n: number }>(
    t.hub.database.db,
    sql`select count(*)::int as n from ${sql.identifier(table)} where organization_id = ${orgId} and directory_id = ${id}`,
  );
  return row?.n ?? -1;
}

beforeAll(async () => {
  t = await createTestHub();
  fake = await startPersonioFake();
  fake.seed(fakeEmployees(3));
  orgId = await createOrganization(t, 'Delete Corp');
  base = `/api/v1/organizations/${orgId}/hris/directories`;
  // person1 exists before the first sync (matched); person2 and person3 are created from HR.
  const existing = await t.api('POST', `/api/v1/organizations/${orgId}/users`, {
    body: { email: 'person1@acme.test', givenName: 'Already', familyName: 'Here' },
  });
  expect(existing.status, existing.text).toBe(201);
  matchedUserId = existing.body.id;
  directoryId = (
    await createPullDirectory(t, orgId, {
      name: 'Personio',
      provider: 'personio',
      config: fake.config as Record<string, unknown>,
      credentials: fake.credentials as Record<string, unknown>,
      joiners: 'create',
    })
  ).id;
  const run = await syncNow(t, orgId, directoryId, { mode: 'full' });
  expect(run.status).toBe('succeeded');
});

afterAll(async () => {
  await fake.close();
  await t.close();
});

describe('deleting an HR connector', () => {
  it('is for admins only, and another organization cannot reach it', async () => {
    const read = await t.api('DELETE', `${base}/${directoryId}`, { key: t.readKey });
    expect(read.status).toBe(403);
    const otherOrg = await createOrganization(t, 'Other Corp');
    const other = await t.api('DELETE', `/api/v1/organizations/${otherOrg}/hris/directories/${directoryId}`);
    expect(other.status).toBe(404);
    expect(await count('hris_records', directoryId)).toBe(3);
  });

  it('is refused through the SCIM directories route, which would leave the users pointing at it', async () => {
    const res = await t.api('DELETE', `/api/v1/organizations/${orgId}/directories/${directoryId}`);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'pull_directory_delete', field: 'id' });
    expect(res.body.fix).toContain(`/hris/directories/${directoryId}`);
  });

  it('waits for a running sync to finish', async () => {
    await t.hub.database.db.execute(
      sql`update hris_sync_runs set status = 'running', heartbeat_at = now() where organization_id = ${orgId} and directory_id = ${directoryId}`,
    );
    const res = await t.api('DELETE', `${base}/${directoryId}`);
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ code: 'sync_running' });
    expect(res.body.fix).toEqual(expect.any(String));
    await t.hub.database.db.execute(
      sql`update hris_sync_runs set status = 'succeeded' where organization_id = ${orgId} and directory_id = ${directoryId}`,
    );
  });

  it('removes its records and history, keeps the users and detaches their HR source', async () => {
    const before = await usersOf(orgId);
    expect(before).toHaveLength(3);
    for (const user of before) {
      expect(user.profile.hr?.source).toMatchObject({ directoryId });
      expect(user.external_ids[`hris:${directoryId}`]).toEqual(expect.any(String));
    }
    const eventsBefore = (await eventTypes(t, orgId)).length;

    const res = await t.api('DELETE', `${base}/${directoryId}`);
    expect(res.status, res.text).toBe(200);
    expect(res.body).toEqual({ recordsRemoved: 3, usersDetached: 3 });

    expect((await t.api('GET', `${base}/${directoryId}`)).status).toBe(404);
    expect((await t.api('GET', base)).body.data).toEqual([]);
    expect(await count('hris_records', directoryId)).toBe(0);
    expect(await count('hris_sync_runs', directoryId)).toBe(0);

    const after = await usersOf(orgId);
    expect(after.map((user) => [user.id, user.email, user.status])).toEqual(
      before.map((user) => [user.id, user.email, user.status]),
    );
    for (const user of after) {
      expect(user.status).toBe('active');
      expect(user.profile.hr?.source).toBeUndefined();
      // What HR said stays, so rules and routes that read it keep their answer.
      expect(user.profile.hr?.department).toEqual(expect.any(String));
      expect(user.external_ids[`hris:${directoryId}`]).toBeUndefined();
    }
    // Ids that are not this directory's (the employee number) stay.
    expect(after.find((user) => user.id === matchedUserId)?.external_ids.employee_id).toEqual(
      expect.any(String),
    );

    const types = (await eventTypes(t, orgId)).slice(eventsBefore);
    expect(types.filter((type) => type === 'user.updated')).toHaveLength(3);
    expect(types.at(-1)).toBe('directory.deleted');
    const [event] = await queryRows<{ data: Record<string, unknown> }>(
      t.hub.database.db,
      sql`select data from events where organization_id = ${orgId} and type = 'directory.deleted'`,
    );
    expect(event?.data).toMatchObject({
      directory: { id: directoryId, provider: 'personio' },
      recordsRemoved: 3,
      usersDetached: 3,
    });
    expect(JSON.stringify(event?.data)).not.toContain('personio-secret');

    const again = await t.api('DELETE', `${base}/${directoryId}`);
    expect(again.status).toBe(404);
  });

  it('the schedule no longer queues it, and a sync asked for it finds no directory', async () => {
    const job = await t.hub.hris.enqueueDue(Date.now() + 365 * 24 * 3600_000);
    expect(job).not.toContain(directoryId);
    await expect(syncNow(t, orgId, directoryId)).rejects.toMatchObject({ code: 'directory_not_found' });
  });
});

describe('a sync queued before the deletion', () => {
  it('is skipped by the worker, not retried', async () => {
    const hub = await createTestHub({ workers: true });
    try {
      const org = await createOrganization(hub, 'Queued Corp');
      const directory = await createPullDirectory(hub, org, {
        name: 'Personio',
        provider: 'personio',
        config: fake.config as Record<string, unknown>,
        credentials: fake.credentials as Record<string, unknown>,
        // No schedule: only the job sent below asks for a sync.
        schedule: { intervalMinutes: null },
      });
      const deleted = await hub.api(
        'DELETE',
        `/api/v1/organizations/${org}/hris/directories/${directory.id}`,
      );
      expect(deleted.status, deleted.text).toBe(200);
      const jobId = await hub.hub.jobs.send('hris.sync', {
        organizationId: org,
        directoryId: directory.id,
        trigger: 'manual',
        mode: 'auto',
      });
      let state: string | undefined;
      for (let attempt = 0; attempt < 300; attempt++) {
        state = (await hub.hub.jobs.boss.getJobById('hris.sync', jobId as string))?.state;
        if (state !== 'created' && state !== 'active') break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(state).toBe('completed');
    } finally {
      await hub.close();
    }
  });
});
