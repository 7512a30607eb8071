/**
 * Admin API of HR pulls: validation naming the field, encrypted credentials never returned, test
 * connection, source fields, mapping preview (saves nothing), sync on demand through the queue,
 * the schedule, runs, and tenant isolation.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../../src/platform/db/client.ts';
import { fakeEmployees } from '../connectors/hris-contract.ts';
import { type PersonioFake, startPersonioFake } from '../fakes/personio/index.ts';
import { createTestHub, type TestHub } from '../support/hub.ts';
import { createOrganization, createPullDirectory } from './support.ts';

let t: TestHub;
let fake: PersonioFake;
let orgId: string;
let directoryId: string;
let base: string;

beforeAll(async () => {
  t = await createTestHub({ workers: true });
  fake = await startPersonioFake();
  fake.seed(
    fakeEmployees(4).map((person) => ({ ...person, custom: { dynamic_24407: `size-${person.id}` } })),
  );
  orgId = await createOrganization(t, 'Api Corp');
  base = `/api/v1/organizations/${orgId}/hris/directories`;
  directoryId = (
    await createPullDirectory(t, orgId, {
      name: 'Personio',
      provider: 'personio',
      config: fake.config as Record<string, unknown>,
      credentials: fake.credentials as Record<string, unknown>,
      schedule: { intervalMinutes: 30, fullSyncEveryHours: 24 },
    })
  ).id;
});

afterAll(async () => {
  await fake.close();
  await t.close();
});

describe('HR pull directories', () => {
  it('refuses bad input with the field and a fix', async () => {
    const cases: Array<[Record<string, unknown>, string, string]> = [
      [{ provider: 'workday-typo' }, 'provider', 'unknown_connector'],
      [{ config: { baseUrl: 'ftp://x' } }, 'config.baseUrl', 'invalid_config'],
      [{ credentials: { clientId: 'a' } }, 'credentials.clientSecret', 'invalid_credentials'],
      [{ kind: 'directory' }, 'kind', 'connector_kind_mismatch'],
      [{ schedule: { intervalMinutes: 1 } }, 'schedule.intervalMinutes', 'invalid_request'],
    ];
    for (const [override, field, code] of cases) {
      const res = await t.api('POST', base, {
        body: {
          name: 'Bad',
          provider: 'personio',
          config: fake.config,
          credentials: fake.credentials,
          ...override,
        },
      });
      expect(res.status, JSON.stringify(override)).toBe(400);
      expect(res.body).toMatchObject({ code, field });
      expect(res.body.fix).toEqual(expect.any(String));
    }
  });

  it('stores the credentials encrypted and never returns them', async () => {
    const res = await t.api('GET', `${base}/${directoryId}`);
    expect(res.body.credentials).toEqual({ set: true, keys: ['clientId', 'clientSecret'] });
    expect(res.text).not.toContain('personio-secret');
    const [row] = await queryRows<{ credentials: string }>(
      t.hub.database.db,
      sql`select credentials from directories where id = ${directoryId}`,
    );
    expect(row?.credentials).toMatch(/^sb1\./);
    expect(row?.credentials).not.toContain('personio-secret');
    const events = await t.api('GET', `/api/v1/events?organization=${orgId}&limit=100`);
    expect(events.text).not.toContain('personio-secret');
    const generic = await t.api('GET', `/api/v1/organizations/${orgId}/directories`);
    expect(generic.body.data).toEqual([
      expect.objectContaining({ id: directoryId, kind: 'hris', provider: 'personio' }),
    ]);
    expect(generic.body.data[0].scim).toBeUndefined();
  });

  it('tests the connection and lists the source fields, custom ones marked', async () => {
    const check = await t.api('POST', `${base}/${directoryId}/test`);
    expect(check.body).toMatchObject({ ok: true });
    expect(check.body.detail).toMatch(/4 employees/);
    const fields = await t.api('GET', `${base}/${directoryId}/source-fields`);
    expect(fields.body.data).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ key: 'dynamic_24407', custom: true }),
        expect.objectContaining({ key: 'department.name' }),
      ]),
    );
  });

  it('previews a mapping on real records without saving it, then saves it', async () => {
    const mapping = { fields: { level: 'dynamic_24407', team: null }, custom: { shirt: 'dynamic_24407' } };
    const preview = await t.api('POST', `${base}/${directoryId}/mapping/preview`, {
      body: { mapping, limit: 2 },
    });
    expect(preview.status, preview.text).toBe(200);
    expect(preview.body.records).toHaveLength(2);
    expect(preview.body.records[0].mapped.fields).toMatchObject({
      level: 'size-1',
      workEmail: 'person1@acme.test',
    });
    expect(preview.body.records[0].mapped.fields.team).toBeUndefined();
    expect(preview.body.records[0].mapped.custom).toEqual({ shirt: 'size-1' });
    expect(preview.body.records[0].source.dynamic_24407).toBe('size-1');
    expect(preview.body.unmappedSourceFields).toContain('gender');
    expect((await t.api('GET', `${base}/${directoryId}`)).body.mapping.custom).toEqual({});
    const saved = await t.api('PATCH', `${base}/${directoryId}`, { body: { mapping } });
    expect(saved.status, saved.text).toBe(200);
    expect(saved.body.effectiveMapping.fields).toMatchObject({
      level: 'dynamic_24407',
      team: null,
      jobTitle: 'position',
    });
    const bad = await t.api('PATCH', `${base}/${directoryId}`, {
      body: { mapping: { fields: { salary: 'x' } } },
    });
    expect(bad.status).toBe(400);
    // The console saves the whole mapping back, keys in its own order: no change, no event.
    const updates = async () =>
      (
        await queryRows<{ n: number }>(
          t.hub.database.db,
          sql`select count(*)::int as n from events where type = 'directory.updated' and subject_id = ${directoryId}`,
        )
      )[0]?.n;
    const before = await updates();
    const reordered = Object.fromEntries(
      Object.entries(saved.body.mapping as Record<string, Record<string, unknown>>)
        .reverse()
        .map(([key, value]) => [key, Object.fromEntries(Object.entries(value).reverse())]),
    );
    const again = await t.api('PATCH', `${base}/${directoryId}`, { body: { mapping: reordered } });
    expect(again.status, again.text).toBe(200);
    expect(await updates()).toBe(before);
  });

  it('syncs on demand through the job queue; the run and its statistics are visible', async () => {
    const queued = await t.api('POST', `${base}/${directoryId}/sync`, { body: { mode: 'full' } });
    expect(queued.status, queued.text).toBe(202);
    expect(queued.body.jobId).toEqual(expect.any(String));
    let runs: { data: Array<{ status: string; stats: { read: number } }> } = { data: [] };
    for (let attempt = 0; attempt < 300 && runs.data[0]?.status !== 'succeeded'; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      runs = (await t.api('GET', `${base}/${directoryId}/runs`)).body;
    }
    expect(runs.data[0]).toMatchObject({
      status: 'succeeded',
      mode: 'full',
      trigger: 'manual',
      stats: { read: 4 },
    });
    const run = await t.api(
      'GET',
      `/api/v1/organizations/${orgId}/hris/runs/${(runs.data[0] as { id?: string }).id}`,
    );
    expect(run.body.status).toBe('succeeded');
    const directory = await t.api('GET', `${base}/${directoryId}`);
    expect(directory.body.sync).toMatchObject({ incremental: true, lastError: null });
    expect(directory.body.sync.lastSuccessAt).toEqual(expect.any(String));
  });

  it('the schedule queues a directory whose interval has passed, and not before', async () => {
    const other = await createPullDirectory(t, orgId, {
      name: 'Personio (second)',
      provider: 'personio',
      config: fake.config as Record<string, unknown>,
      credentials: fake.credentials as Record<string, unknown>,
      schedule: { intervalMinutes: null },
    });
    const queued = await t.hub.hris.enqueueDue();
    expect(queued).not.toContain(other.id);
    // The first directory synced moments ago (previous test): not due yet; in 31 minutes it is.
    expect(queued).not.toContain(directoryId);
    expect(await t.hub.hris.enqueueDue(Date.now() + 31 * 60_000)).toContain(directoryId);
  });

  it('another organization sees none of it', async () => {
    const otherOrg = await createOrganization(t, 'Nosy Corp');
    const res = await t.api('GET', `/api/v1/organizations/${otherOrg}/hris/directories/${directoryId}`);
    expect(res.status).toBe(404);
    const runs = await t.api('GET', `/api/v1/organizations/${otherOrg}/hris/directories/${directoryId}/runs`);
    expect(runs.status).toBe(404);
    const sync = await t.api(
      'POST',
      `/api/v1/organizations/${otherOrg}/hris/directories/${directoryId}/sync`,
    );
    expect(sync.status, sync.text).toBe(404);
  });

  it('lists the connectors with their settings schema and default mapping', async () => {
    const res = await t.api('GET', '/api/v1/hris/connectors', { key: t.readKey });
    const providers = res.body.data.map((connector: { provider: string }) => connector.provider);
    expect(providers).toEqual(expect.arrayContaining(['personio', 'bamboohr']));
    const bamboo = res.body.data.find((connector: { provider: string }) => connector.provider === 'bamboohr');
    expect(bamboo.credentials.required).toEqual(['apiKey']);
    expect(bamboo.defaultMapping.fields.manager).toBe('supervisorEId');
  });
});
