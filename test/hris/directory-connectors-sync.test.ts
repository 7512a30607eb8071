/**
 * Workday, SuccessFactors, Merge, Google Workspace and Microsoft Graph → Switchboard, end to end on
 * the real hub and database (embedded and PostgreSQL): full syncs that create users with their HR
 * profile, unchanged resyncs (Graph: an empty delta round) that write nothing, increments (Graph
 * delta, Merge modified_after), leavers and deletions deprovisioning users, token expiry and
 * throttling mid-sync, and a sync that fails halfway then resumes.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeGoogle } from '../fakes/google-workspace/index.ts';
import { startFakeMerge } from '../fakes/merge/index.ts';
import { type FakeGraph, startFakeGraph } from '../fakes/microsoft-graph/index.ts';
import { startFakeSuccessFactors } from '../fakes/successfactors/index.ts';
import { startFakeWorkday } from '../fakes/workday/index.ts';
import { createTestHub, type TestHub } from '../support/hub.ts';
import { createOrganization, createPullDirectory, eventTypes, syncNow, writeFootprint } from './support.ts';

let t: TestHub;
let orgId: string;
const closers: Array<() => Promise<void>> = [];

beforeEach(async () => {
  t = await createTestHub();
  orgId = await createOrganization(t);
});

afterEach(async () => {
  for (const close of closers.splice(0)) await close();
  await t.close();
});

async function users(): Promise<any[]> {
  return (await t.api('GET', `/api/v1/organizations/${orgId}/users?limit=200`)).body.data;
}

async function userByEmail(email: string): Promise<any> {
  return (await users()).find((user) => user.email === email);
}

async function groupMembers(name: string): Promise<string[] | undefined> {
  const group = (
    await t.api('GET', `/api/v1/organizations/${orgId}/groups?q=${encodeURIComponent(name)}`)
  ).body.data.find((g: { name: string }) => g.name === name);
  if (!group) return undefined;
  return (await t.api('GET', `/api/v1/groups/${group.id}/members?limit=200`)).body.data
    .map((user: { email: string }) => user.email)
    .sort();
}

async function directory(body: Record<string, unknown>): Promise<string> {
  return (await createPullDirectory(t, orgId, { joiners: 'create', ...body })).id;
}

describe('Microsoft Graph sync', () => {
  let fake: FakeGraph;
  let directoryId: string;
  beforeEach(async () => {
    fake = await startFakeGraph({ employees: 30 });
    closers.push(fake.close);
    directoryId = await directory({
      name: 'Entra ID',
      kind: 'directory',
      provider: 'microsoft_graph',
      config: { tenantId: fake.tenantId, authorityUrl: fake.url, graphUrl: fake.url },
      credentials: { clientId: fake.clientId, clientSecret: fake.clientSecret },
      mapping: {
        custom: { shirtSize: 'onPremisesExtensionAttributes.extensionAttribute1' },
        fields: { level: 'onPremisesExtensionAttributes.extensionAttribute2' },
      },
    });
  });

  it('a full sync creates the users; an unchanged delta round writes nothing and emits no events', async () => {
    const full = await syncNow(t, orgId, directoryId, { pageSize: 10 });
    expect(full).toMatchObject({ status: 'succeeded', mode: 'full' });
    expect(full.stats).toMatchObject({ read: 30, created: 30, usersCreated: 30 });
    const person = fake.people.get('p00009');
    const user = await userByEmail(person.email);
    expect(user.profile.hr).toMatchObject({
      jobTitle: person.jobTitle,
      department: person.department,
      level: person.level,
      manager: person.managerId,
      employeeNumber: person.employeeNumber,
      custom: { shirtSize: person.customFields.shirt_size },
    });
    // Graph groups became Switchboard groups; nested department groups count in All staff.
    expect(await groupMembers('All staff')).toEqual(
      fake.people
        .list()
        .map((p) => p.email)
        .sort(),
    );
    const engineering = fake.people.list().filter((p) => p.department === 'Engineering');
    expect(await groupMembers('Engineering')).toEqual(engineering.map((p) => p.email).sort());
    const before = await writeFootprint(t, orgId);
    const requestsBefore = fake.requests.length;
    const delta = await syncNow(t, orgId, directoryId);
    expect(delta).toMatchObject({ status: 'succeeded', mode: 'incremental' });
    expect(delta.stats).toMatchObject({ read: 0, created: 0, updated: 0, deleted: 0 });
    expect(await writeFootprint(t, orgId)).toEqual(before);
    // A token, then one delta call for users and one for groups: nothing else was needed.
    expect(fake.requests.slice(requestsBefore).map((r) => r.path)).toEqual([
      `/${fake.tenantId}/oauth2/v2.0/token`,
      '/v1.0/users/delta',
      '/v1.0/groups/delta',
    ]);
  });

  it('a delta round applies a change, a disabled account and a deleted user', async () => {
    await syncNow(t, orgId, directoryId, { pageSize: 10 });
    const eventsBefore = (await eventTypes(t, orgId)).length;
    fake.people.change('p00004', { jobTitle: 'Principal Engineer' });
    fake.people.terminate('p00005');
    fake.people.remove('p00006');
    const run = await syncNow(t, orgId, directoryId);
    expect(run).toMatchObject({ status: 'succeeded', mode: 'incremental' });
    expect(run.stats).toMatchObject({ read: 2, updated: 2, deleted: 1 });
    expect((await userByEmail(fake.people.get('p00004').email)).profile.hr.jobTitle).toBe(
      'Principal Engineer',
    );
    expect((await userByEmail(fake.people.get('p00005').email)).status).toBe('deprovisioned');
    const deletedEmail = (await users()).find((user) => user.externalIds[`hris:${directoryId}`] === 'p00006');
    expect(deletedEmail.status).toBe('deprovisioned');
    const types = await eventTypes(t, orgId, eventsBefore);
    expect(types.filter((type) => type === 'user.deactivated')).toHaveLength(2);
    // Groups follow Graph: the purged user left their department group and (transitively) All staff.
    expect(await groupMembers('All staff')).toHaveLength(29);
    expect(await groupMembers('All staff')).not.toContain(deletedEmail.email);
  });

  it('a token that expires mid-sync and 429s are weathered; the sync completes', async () => {
    let pages = 0;
    const push = fake.requests.push.bind(fake.requests);
    fake.requests.push = (...items) => {
      if (items.some((item) => item.path === '/v1.0/users/delta' && item.status === 200) && ++pages === 1)
        fake.expireTokens();
      return push(...items);
    };
    fake.fail({ kind: 'throttle', times: 2, retryAfterSeconds: 3, pathIncludes: '/users/delta' });
    const waits: number[] = [];
    const run = await syncNow(t, orgId, directoryId, { pageSize: 10, waits });
    expect(run).toMatchObject({ status: 'succeeded' });
    expect(run.stats.read).toBe(30);
    expect(fake.controls.stats.tokensIssued).toBe(2);
    expect(waits.filter((ms) => ms === 3000)).toHaveLength(2);
  });

  it('a sync that fails halfway keeps its finished pages and resumes from the next link', async () => {
    fake.controls.breakAfter(2);
    const failed = await syncNow(t, orgId, directoryId, { pageSize: 10 });
    expect(failed).toMatchObject({ status: 'failed', resumable: true });
    expect(failed.stats).toMatchObject({ pages: 2, created: 20 });
    expect(await users()).toHaveLength(20);
    fake.controls.heal();
    const deltaCallsBefore = fake.requests.filter((r) => r.path === '/v1.0/users/delta').length;
    const resumed = await syncNow(t, orgId, directoryId, { pageSize: 10 });
    expect(resumed).toMatchObject({ id: failed.id, status: 'succeeded' });
    expect(resumed.stats).toMatchObject({ created: 30, deleted: 0 });
    // The resumed run read the failed page on, not the whole round again.
    expect(fake.requests.filter((r) => r.path === '/v1.0/users/delta').length - deltaCallsBefore).toBe(1);
    expect(await users()).toHaveLength(30);
  });
});

describe('Workday sync', () => {
  it('full syncs: profile with last promotion from job history; a worker gone from the report is deprovisioned', async () => {
    const fake = await startFakeWorkday({ employees: 20 });
    closers.push(fake.close);
    const directoryId = await directory({
      name: 'Workday',
      provider: 'workday',
      config: { reportUrl: fake.reportUrl },
      credentials: { type: 'basic', username: fake.username, password: fake.password },
      mapping: { custom: { shirtSize: 'Shirt_Size' } },
    });
    const run = await syncNow(t, orgId, directoryId, { pageSize: 8 });
    expect(run).toMatchObject({ status: 'succeeded', mode: 'full' });
    expect(run.stats).toMatchObject({ read: 20, created: 20, pages: 3 });
    const promoted = fake.people.get('p00003');
    expect((await userByEmail(promoted.email)).profile.hr).toMatchObject({
      lastPromotionDate: promoted.jobHistory[1]?.effectiveDate,
      level: promoted.level,
      custom: { shirtSize: promoted.customFields.shirt_size },
    });
    const before = await writeFootprint(t, orgId);
    const unchanged = await syncNow(t, orgId, directoryId, { pageSize: 8 });
    expect(unchanged.stats).toMatchObject({ read: 20, unchanged: 20 });
    expect(await writeFootprint(t, orgId)).toEqual(before);
    const gone = fake.people.get('p00007');
    fake.people.remove('p00007');
    const again = await syncNow(t, orgId, directoryId, { pageSize: 8 });
    expect(again.stats).toMatchObject({ deleted: 1, usersDeactivated: 1 });
    expect((await userByEmail(gone.email)).status).toBe('deprovisioned');
  });
});

describe('SAP SuccessFactors sync', () => {
  it('a leaver in SuccessFactors (status f, EmpJob terminated) deprovisions the user', async () => {
    const fake = await startFakeSuccessFactors({ employees: 12 });
    closers.push(fake.close);
    const directoryId = await directory({
      name: 'SuccessFactors',
      provider: 'successfactors',
      config: { apiUrl: fake.url, companyId: fake.companyId },
      credentials: {
        type: 'oauth',
        clientId: fake.clientId,
        userId: fake.apiUserId,
        privateKey: fake.privateKeyPem,
      },
    });
    const run = await syncNow(t, orgId, directoryId, { pageSize: 5 });
    expect(run.stats).toMatchObject({ read: 12, created: 12 });
    const leaver = fake.people.get('p00004');
    expect((await userByEmail(leaver.email)).profile.hr).toMatchObject({
      hireDate: leaver.hireDate,
      employmentStatus: 'active',
    });
    fake.people.terminate('p00004', '2026-10-31');
    const again = await syncNow(t, orgId, directoryId, { pageSize: 5 });
    expect(again.stats).toMatchObject({ updated: 1, usersDeactivated: 1 });
    const user = await userByEmail(leaver.email);
    expect(user.status).toBe('deprovisioned');
    expect(user.profile.hr).toMatchObject({ employmentStatus: 'inactive', terminationDate: '2026-10-31' });
  });
});

describe('Merge sync', () => {
  it('increments pick up an Employment-only title change and a deletion', async () => {
    const fake = await startFakeMerge({ employees: 15 });
    closers.push(fake.close);
    const directoryId = await directory({
      name: 'Merge (BambooHR)',
      provider: 'merge',
      config: { baseUrl: fake.baseUrl },
      credentials: { apiKey: fake.apiKey, accountToken: fake.accountToken },
    });
    const full = await syncNow(t, orgId, directoryId, { pageSize: 5 });
    expect(full.stats).toMatchObject({ read: 15, created: 15 });
    fake.people.tick(15 * 60_000);
    fake.people.change('p00010', { jobTitle: 'Head of Finance' });
    const removed = fake.people.get('p00011');
    fake.people.remove('p00011');
    const run = await syncNow(t, orgId, directoryId);
    expect(run).toMatchObject({ status: 'succeeded', mode: 'incremental' });
    expect(run.stats).toMatchObject({ updated: 1, deleted: 1 });
    expect((await userByEmail(fake.people.get('p00010').email)).profile.hr.jobTitle).toBe('Head of Finance');
    expect((await userByEmail(removed.email)).status).toBe('deprovisioned');
  });
});

describe('Google Workspace sync', () => {
  it('a full sync resolves managers named by email; a suspended user is deprovisioned on the next one', async () => {
    const fake = await startFakeGoogle({ employees: 12 });
    closers.push(fake.close);
    const directoryId = await directory({
      name: 'Google Workspace',
      kind: 'directory',
      provider: 'google_workspace',
      config: { adminEmail: fake.adminEmail, directoryUrl: fake.url },
      credentials: { serviceAccountKey: fake.serviceAccountKey },
    });
    const run = await syncNow(t, orgId, directoryId, { pageSize: 5 });
    expect(run.stats).toMatchObject({ read: 12, created: 12 });
    const person = fake.people.get('p00010');
    const manager = await userByEmail(fake.people.get(person.managerId!).email);
    const user = await userByEmail(person.email);
    expect(user.profile.hr.manager).toBe(manager.externalIds[`hris:${directoryId}`]);
    expect(await groupMembers('All staff')).toHaveLength(12);
    fake.people.terminate('p00010');
    const again = await syncNow(t, orgId, directoryId, { pageSize: 5 });
    expect(again.stats).toMatchObject({ updated: 1, usersDeactivated: 1 });
    expect((await userByEmail(person.email)).status).toBe('deprovisioned');
  });
});

describe('admin API with these connectors', () => {
  it('lists the five connectors with their settings schemas and defaults', async () => {
    const res = await t.api('GET', '/api/v1/hris/connectors');
    expect(res.status).toBe(200);
    const providers = res.body.data.map((c: { provider: string }) => c.provider);
    expect(providers).toEqual(
      expect.arrayContaining(['workday', 'successfactors', 'merge', 'google_workspace', 'microsoft_graph']),
    );
    const graph = res.body.data.find((c: { provider: string }) => c.provider === 'microsoft_graph');
    expect(graph).toMatchObject({
      kinds: ['directory'],
      incremental: { supported: true, style: 'delta_link' },
    });
    expect(graph.config.properties.tenantId).toBeDefined();
    expect(graph.defaultMapping.fields.manager).toBe('manager.id');
  });

  it('Graph: test connection names a missing permission; source fields and a mapping preview of real records', async () => {
    const fake = await startFakeGraph({ employees: 5 });
    closers.push(fake.close);
    const directoryId = await directory({
      name: 'Entra ID',
      kind: 'directory',
      provider: 'microsoft_graph',
      config: { tenantId: fake.tenantId, authorityUrl: fake.url, graphUrl: fake.url },
      credentials: { clientId: fake.clientId, clientSecret: fake.clientSecret },
    });
    const base = `/api/v1/organizations/${orgId}/hris/directories/${directoryId}`;
    expect((await t.api('POST', `${base}/test`)).body).toMatchObject({ ok: true });
    fake.permissions.delete('GroupMember.Read.All');
    const refused = await t.api('POST', `${base}/test`);
    expect(refused.body).toMatchObject({ ok: false, code: 'forbidden' });
    expect(refused.body.detail).toContain('GroupMember.Read.All');
    fake.permissions.add('GroupMember.Read.All');
    const fields = await t.api('GET', `${base}/source-fields`);
    expect(fields.body.data.map((f: { key: string }) => f.key)).toContain(
      'onPremisesExtensionAttributes.extensionAttribute2',
    );
    const preview = await t.api('POST', `${base}/mapping/preview`, {
      body: { mapping: { fields: { level: 'onPremisesExtensionAttributes.extensionAttribute2' } }, limit: 2 },
    });
    expect(preview.status).toBe(200);
    expect(preview.body.records).toHaveLength(2);
    const first = fake.people.get(preview.body.records[0].sourceId);
    expect(preview.body.records[0].mapped.fields).toMatchObject({
      level: first.level,
      workEmail: first.email,
    });
    // Nothing was saved or synced by the preview.
    expect(await users()).toHaveLength(0);
  });

  it('Workday: a bad report URL is a problem naming the field and the fix', async () => {
    const res = await t.api('POST', `/api/v1/organizations/${orgId}/hris/directories`, {
      body: {
        name: 'Workday',
        provider: 'workday',
        config: { reportUrl: 'https://wd2.example.com/reports/workers' },
        credentials: { type: 'basic', username: 'isu', password: 'x' },
      },
    });
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.text).toContain('reportUrl');
    expect(res.text).toContain('customreport2');
  });
});
