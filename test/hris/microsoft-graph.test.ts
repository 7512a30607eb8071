/**
 * Microsoft Graph against its fake: the shared connector contract, then Graph's own behaviour:
 * delta rounds (unchanged, partial changed users read whole, `@removed` soft and hard deletes),
 * groups with transitive members and nested-group changes, expired delta links, permissions.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EmployeePage } from '../../src/connectors/hris-contract.ts';
import { mergeMapping } from '../../src/connectors/hris-mapping.ts';
import { graphConnector } from '../../src/connectors/microsoft-graph/index.ts';
import { GraphConfigSchema } from '../../src/connectors/microsoft-graph/manifest.ts';
import { describeHrConnectorContract, instantEnv, readAll } from '../connectors/hris-contract.ts';
import { contractFake } from '../fakes/hr-contract-fake.ts';
import { type FakeGraph, startFakeGraph } from '../fakes/microsoft-graph/index.ts';

describeHrConnectorContract({
  connector: graphConnector,
  async startFake() {
    const fake = await startFakeGraph({ employees: 0 });
    return contractFake({
      url: fake.url,
      people: fake.people,
      controls: fake.controls,
      throttleNext: (count) => fake.fail({ kind: 'throttle', times: count }),
      expireTokens: () => fake.expireTokens(),
      close: fake.close,
      config: { tenantId: fake.tenantId, authorityUrl: fake.url, graphUrl: fake.url },
      credentials: { clientId: fake.clientId, clientSecret: fake.clientSecret },
      badCredentials: { clientId: fake.clientId, clientSecret: 'not-the-secret' },
      pageSize: 5,
      customFieldKey: 'onPremisesExtensionAttributes.extensionAttribute1',
    });
  },
});

describe('Microsoft Graph connector', () => {
  let fake: FakeGraph;
  let waits: number[];
  beforeEach(async () => {
    waits = [];
    fake = await startFakeGraph({ employees: 30 });
  });
  afterEach(async () => {
    await fake.close();
  });

  const client = (
    overrides: Record<string, unknown> = {},
    credentials?: { clientId: string; clientSecret: string },
  ) =>
    graphConnector.createClient({
      config: GraphConfigSchema.parse({
        tenantId: fake.tenantId,
        authorityUrl: fake.url,
        graphUrl: fake.url,
        ...overrides,
      }),
      credentials: credentials ?? { clientId: fake.clientId, clientSecret: fake.clientSecret },
      env: instantEnv(waits),
    });
  const records = (pages: EmployeePage[]) => pages.flatMap((page) => page.records);
  const groups = (pages: EmployeePage[]) => pages.flatMap((page) => page.groups ?? []);
  const deleted = (pages: EmployeePage[]) => pages.flatMap((page) => page.deletedIds ?? []);
  const fullThenSince = async () => {
    const full = await readAll(client().readEmployees({ mode: 'full', pageSize: 10 }));
    return { full, since: full.at(-1)?.nextSince as string };
  };

  it('a full read enumerates users with the selected properties and groups with their transitive people', async () => {
    const { full, since } = await fullThenSince();
    expect(records(full)).toHaveLength(30);
    expect(since).toBeTruthy();
    const allStaff = groups(full).find((g) => g.name === 'All staff');
    expect(new Set(allStaff?.memberIds)).toEqual(new Set(fake.people.list().map((p) => p.id)));
    const engineering = groups(full).find((g) => g.name === 'Engineering');
    expect(engineering?.memberIds?.length).toBe(
      fake.people.list().filter((p) => p.department === 'Engineering').length,
    );
    const person = fake.people.get('p00009');
    const record = records(full).find((r) => r.sourceId === 'p00009');
    const canonical = graphConnector.mapToCanonical(
      record!,
      mergeMapping(graphConnector.manifest.defaultMapping, undefined),
    );
    expect(canonical.fields).toMatchObject({
      employeeNumber: person.employeeNumber,
      workEmail: person.email,
      department: person.department,
      division: person.division,
      costCenter: person.costCenter,
      manager: person.managerId,
      employmentStatus: 'active',
      hireDate: person.hireDate,
    });
    // The delta round asked for its page size with Prefer, never $top, and selected the non-default properties.
    const first = fake.requests.find((r) => r.path === '/v1.0/users/delta');
    expect(first?.query.$select).toContain('employeeId');
    expect(first?.query.$top).toBeUndefined();
  });

  it('an unchanged delta round returns nothing and a new delta link', async () => {
    const { since } = await fullThenSince();
    const increment = await readAll(client().readEmployees({ mode: 'incremental', since }));
    expect(records(increment)).toEqual([]);
    expect(groups(increment)).toEqual([]);
    expect(deleted(increment)).toEqual([]);
    expect(increment.at(-1)?.nextSince).toBeTruthy();
    expect(
      fake.requests.filter((r) => r.path.startsWith('/v1.0/users/') && r.path !== '/v1.0/users/delta'),
    ).toEqual([]);
  });

  it('a changed user comes back partial from Graph and whole from the connector', async () => {
    const { since } = await fullThenSince();
    fake.people.change('p00004', { jobTitle: 'Principal Engineer' });
    const raw = await rawDelta(since);
    expect(Object.keys(raw.value[0]).sort()).toEqual(['id', 'jobTitle']);
    const increment = await readAll(client().readEmployees({ mode: 'incremental', since }));
    expect(records(increment).map((r) => r.sourceId)).toEqual(['p00004']);
    expect(records(increment)[0]?.fields).toMatchObject({
      jobTitle: 'Principal Engineer',
      mail: fake.people.get('p00004').email,
      employeeId: fake.people.get('p00004').employeeNumber,
    });
  });

  it('changed users are read whole 15 at a time (id in filter), not one request each', async () => {
    const { since } = await fullThenSince();
    const changed = fake.people.list().slice(0, 20);
    for (const person of changed) fake.people.change(person.id, { location: 'Lisbon' });
    const increment = await readAll(client().readEmployees({ mode: 'incremental', since }));
    expect(records(increment)).toHaveLength(20);
    expect(records(increment).every((r) => r.fields.officeLocation === 'Lisbon' && r.fields.mail)).toBe(true);
    const lookups = fake.requests.filter((r) => r.path === '/v1.0/users' && r.query.$filter);
    expect(lookups).toHaveLength(2);
    expect(lookups.every((r) => r.status === 200)).toBe(true);
  });

  it('soft and hard deletions arrive as @removed and leave their groups, parents included', async () => {
    const { since } = await fullThenSince();
    const soft = fake.people.get('p00005');
    fake.people.remove('p00005');
    fake.people.remove('p00006', { hard: true });
    const raw = await rawDelta(since);
    expect(raw.value).toEqual([
      { id: 'p00005', '@removed': { reason: 'changed' } },
      { id: 'p00006', '@removed': { reason: 'deleted' } },
    ]);
    const increment = await readAll(client().readEmployees({ mode: 'incremental', since }));
    expect(deleted(increment).sort()).toEqual(['p00005', 'p00006']);
    const changed = groups(increment);
    const department = changed.find((g) => g.name === soft.department);
    expect(department?.memberIds).not.toContain('p00005');
    const allStaff = changed.find((g) => g.name === 'All staff');
    expect(allStaff?.memberIds).toHaveLength(28);
  });

  it('a hire joins a group, a new group appears, a deleted group is removed', async () => {
    const { since } = await fullThenSince();
    const hire = fake.people.hire({ department: 'Sales' });
    const salesGroup = [...fake.people.groups.values()].find((g) => g.name === 'Sales')!;
    fake.people.addMember(salesGroup.id, hire.id);
    const pilots = fake.people.createGroup('Coaching pilots', ['p00001', 'p00002']);
    const finance = [...fake.people.groups.values()].find((g) => g.name === 'Finance')!;
    fake.people.deleteGroup(finance.id);
    const increment = await readAll(client().readEmployees({ mode: 'incremental', since }));
    expect(records(increment).map((r) => r.sourceId)).toEqual([hire.id]);
    const changed = groups(increment);
    expect(changed.find((g) => g.sourceId === salesGroup.id)?.memberIds).toContain(hire.id);
    expect(changed.find((g) => g.sourceId === pilots.id)).toMatchObject({
      name: 'Coaching pilots',
      memberIds: ['p00001', 'p00002'],
    });
    expect(changed.find((g) => g.sourceId === finance.id)).toMatchObject({ removed: true });
    // All staff lost the Finance people (the nested group left it) and gained the hire.
    const allStaff = changed.find((g) => g.name === 'All staff');
    expect(allStaff?.memberIds).toContain(hire.id);
  });

  it('a terminated user is disabled: inactive', async () => {
    const { since } = await fullThenSince();
    fake.people.terminate('p00010');
    const increment = await readAll(client().readEmployees({ mode: 'incremental', since }));
    const canonical = graphConnector.mapToCanonical(
      records(increment)[0]!,
      mergeMapping(graphConnector.manifest.defaultMapping, undefined),
    );
    expect(canonical.fields.employmentStatus).toBe('inactive');
  });

  it('an expired delta link (410 resyncRequired) starts a new round instead of failing', async () => {
    const { since } = await fullThenSince();
    fake.people.change('p00002', { department: 'Finance' });
    fake.expireDeltaTokens();
    const increment = await readAll(client().readEmployees({ mode: 'incremental', since }));
    expect(records(increment)).toHaveLength(30);
    expect(records(increment).find((r) => r.sourceId === 'p00002')?.fields.department).toBe('Finance');
    expect(groups(increment).find((g) => g.name === 'All staff')?.memberIds).toHaveLength(30);
    expect(fake.requests.filter((r) => r.status === 410).length).toBe(1);
    // The new links work for the next increment.
    fake.people.change('p00003', { jobTitle: 'Analyst' });
    const next = await readAll(
      client().readEmployees({ mode: 'incremental', since: increment.at(-1)?.nextSince as string }),
    );
    expect(records(next).map((r) => r.sourceId)).toEqual(['p00003']);
  });

  it('a 429 storm in a delta round is waited out per Retry-After', async () => {
    fake.fail({ kind: 'throttle', times: 3, retryAfterSeconds: 7, pathIncludes: '/users/delta' });
    const full = await readAll(client().readEmployees({ mode: 'full', pageSize: 10 }));
    expect(records(full)).toHaveLength(30);
    expect(waits.filter((ms) => ms === 7000)).toHaveLength(3);
  });

  it('without GroupMember.Read.All the connection test names the permission', async () => {
    fake.permissions.delete('GroupMember.Read.All');
    const check = await client().testConnection();
    expect(check).toMatchObject({ ok: false, code: 'forbidden' });
    expect(check.detail).toContain('GroupMember.Read.All');
    expect(await client({ includeGroups: false }).testConnection()).toMatchObject({ ok: true });
  });

  it('a wrong tenant or secret is invalid_credentials with the AADSTS reason', async () => {
    const badSecret = await client({}, { clientId: fake.clientId, clientSecret: 'nope' }).testConnection();
    expect(badSecret).toMatchObject({ ok: false, code: 'invalid_credentials' });
    expect(badSecret.detail).toContain('AADSTS7000215');
    const badTenant = await client({ tenantId: 'other.onmicrosoft.com' }).testConnection();
    expect(badTenant.detail).toContain('AADSTS90002');
  });

  async function rawDelta(since: string): Promise<{ value: any[] }> {
    const tokenResponse = await fetch(`${fake.url}/${fake.tenantId}/oauth2/v2.0/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: fake.clientId,
        client_secret: fake.clientSecret,
        scope: 'https://graph.microsoft.com/.default',
      }),
    });
    const { access_token } = (await tokenResponse.json()) as { access_token: string };
    const response = await fetch(JSON.parse(since).users, {
      headers: { authorization: `Bearer ${access_token}` },
    });
    return (await response.json()) as { value: any[] };
  }
});
