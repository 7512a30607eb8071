/**
 * Personio API v2 (`apiVersion: 'v2'`): what the shared contract suite does not pin down. The
 * token request, the persons/employments calls and their parameters, the mapping of a person and
 * their employment to the canonical model, v2 errors, next links, and syncs on the real hub.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { HrConnectorError } from '../../src/connectors/hris-contract.ts';
import { mergeMapping } from '../../src/connectors/hris-mapping.ts';
import { currentPersonioEmployment, flattenPersonioPerson } from '../../src/connectors/personio/flatten.ts';
import { personioConnector } from '../../src/connectors/personio/index.ts';
import { fakeEmployees, type HrFakeEmployee, instantEnv, readAll } from '../connectors/hris-contract.ts';
import { type PersonioFake, startPersonioFake } from '../fakes/personio/index.ts';
import { createTestHub, type TestHub } from '../support/hub.ts';
import {
  createOrganization,
  createPullDirectory,
  eventTypes,
  expectPreHiresToWaitForTheirStartDate,
  syncNow,
} from './support.ts';

const { manifest } = personioConnector;

describe('Personio API v2 client', () => {
  let fake: PersonioFake;
  beforeEach(async () => {
    fake = await startPersonioFake({ apiVersion: 'v2' });
  });
  afterEach(async () => {
    await fake.close();
  });

  const client = (env = instantEnv()) =>
    personioConnector.createClient({
      config: manifest.configSchema.parse(fake.config),
      credentials: manifest.credentialsSchema.parse(fake.credentials),
      env,
    });
  const dataRequests = () => fake.requests.filter((request) => request.path !== '/v2/auth/token');

  it('apiVersion is a documented setting that defaults to v1', () => {
    expect(manifest.configSchema.parse({})).toMatchObject({ apiVersion: 'v1' });
    expect(manifest.configSchema.safeParse({ apiVersion: 'v3' }).success).toBe(false);
    // As GET /api/v1/hris/connectors serves it to the console's guided form (a select).
    const schema = z.toJSONSchema(manifest.configSchema, {
      io: 'input',
      unrepresentable: 'any',
    }) as unknown as {
      properties: { apiVersion: { enum: string[]; default: string; description: string } };
    };
    expect(schema.properties.apiVersion.default).toBe('v1');
    expect(schema.properties.apiVersion.enum).toEqual(['v1', 'v2']);
    expect(schema.properties.apiVersion.description).toMatch(/v2/);
  });

  it('a v1 base URL is read as the same host’s /v2, and only v2 paths are called', async () => {
    fake.seed(fakeEmployees(2));
    const v1Url = fake.url.replace(/\/v2$/, '/v1');
    const v2 = personioConnector.createClient({
      config: manifest.configSchema.parse({ apiVersion: 'v2', baseUrl: v1Url }),
      credentials: manifest.credentialsSchema.parse(fake.credentials),
      env: instantEnv(),
    });
    expect(await v2.testConnection()).toMatchObject({ ok: true, detail: expect.stringMatching(/API v2/) });
    expect(fake.requests.every((request) => request.path.startsWith('/v2/'))).toBe(true);
  });

  it('maps a person and their current employment to the canonical model', async () => {
    const [first, second, third] = fakeEmployees(3);
    fake.seed([
      first as HrFakeEmployee,
      { ...(second as HrFakeEmployee), custom: { [fake.customFieldKey]: 'XL' } },
      {
        ...(third as HrFakeEmployee),
        status: 'inactive',
        terminationDate: '2024-01-31',
        jobTitle: 'Account Executive',
      },
    ]);
    const pages = await readAll(client().readEmployees({ mode: 'full' }));
    const records = pages.flatMap((page) => page.records);
    const mapping = mergeMapping(manifest.defaultMapping, {
      custom: { shirtSize: fake.customFieldKey, shirtSizeByGlobalId: '24407' },
    });
    const second2 = records.find((record) => record.sourceId === '2');
    const canonical = personioConnector.mapToCanonical(second2 as never, mapping);
    expect(canonical).toMatchObject({
      sourceId: '2',
      fields: {
        employeeNumber: '2',
        workEmail: 'person2@acme.test',
        firstName: 'First2',
        lastName: 'Last2',
        preferredName: 'First2 Last2',
        jobTitle: 'Engineer',
        department: fake.canonicalDepartment?.('Engineering'),
        team: String(Number(fake.canonicalDepartment?.('Engineering')) + 1),
        manager: '1',
        employmentStatus: 'active',
        hireDate: '2020-03-15',
        terminationDate: null,
      },
      custom: { shirtSize: 'XL', shirtSizeByGlobalId: 'XL' },
    });
    const leaver = personioConnector.mapToCanonical(
      records.find((record) => record.sourceId === '3') as never,
      mapping,
    );
    expect(leaver.fields).toMatchObject({
      jobTitle: 'Account Executive',
      employmentStatus: 'inactive',
      terminationDate: '2024-01-31',
    });
    expect(personioConnector.mapToCanonical(records[0] as never, mapping).fields.manager).toBeNull();
  });

  it('reads the current employment of several, and a custom attribute never replaces a standard field', () => {
    const employments = [
      { id: '10', status: 'INACTIVE', employment_start_date: '2024-06-01', position: { title: 'Old' } },
      { id: '11', status: 'ACTIVE', employment_start_date: '2021-01-01', position: { title: 'Current' } },
      { id: '12', status: 'ONBOARDING', employment_start_date: '2023-01-01', position: { title: 'Next' } },
    ];
    expect(currentPersonioEmployment(employments)?.id).toBe('12');
    expect(currentPersonioEmployment(employments.slice(0, 1))?.id).toBe('10');
    expect(currentPersonioEmployment([])).toBeUndefined();
    const record = flattenPersonioPerson(
      {
        id: '7',
        email: 'p7@acme.test',
        custom_attributes: [
          { id: 'position', global_id: '1', value: 'from a custom attribute' },
          { id: 'dynamic_9', global_id: '9', value: ['a', 'b'] },
          { id: 'dynamic_10', global_id: null, value: { label: 'L' } },
        ],
      },
      currentPersonioEmployment(employments),
    );
    expect(record.fields).toMatchObject({
      position: 'Next',
      status: 'ONBOARDING',
      'employment.id': '12',
      1: 'from a custom attribute',
      dynamic_9: ['a', 'b'],
      9: ['a', 'b'],
      dynamic_10: '{"label":"L"}',
    });
  });

  it('gets a form-encoded client-credentials token, pages persons by cursor and reads employments per person', async () => {
    fake.seed(fakeEmployees(7));
    const pages = await readAll(client().readEmployees({ mode: 'full', pageSize: 3 }));
    expect(pages.map((page) => page.records.length)).toEqual([3, 3, 1]);
    expect(pages.map((page) => page.checkpoint === null)).toEqual([false, false, true]);
    expect(pages.at(-1)?.nextSince).toBeTruthy();
    expect(fake.stats.tokensIssued).toBe(1);
    const lists = dataRequests().filter((request) => request.path === '/v2/persons');
    expect(lists).toHaveLength(3);
    expect(lists[0]?.query).toBe('?limit=3');
    expect(lists[1]?.query).toMatch(/^\?limit=3&cursor=/);
    const employments = dataRequests().filter((request) => /\/employments$/.test(request.path));
    expect(employments.map((request) => request.path).sort()).toEqual(
      ['1', '2', '3', '4', '5', '6', '7'].map((id) => `/v2/persons/${id}/employments`).sort(),
    );
  });

  it('asks for at most 50 persons a page; the fake refuses more the way Personio does', async () => {
    fake.seed(fakeEmployees(2));
    await readAll(client().readEmployees({ mode: 'full', pageSize: 500 }));
    expect(dataRequests().find((request) => request.path === '/v2/persons')?.query).toBe('?limit=50');
    const token = await fetch(`${fake.url}/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: 'personio-client',
        client_secret: 'personio-secret',
      }),
    }).then((response) => response.json() as Promise<{ access_token: string; token_type: string }>);
    expect(token.token_type).toBe('Bearer');
    const refused = await fetch(`${fake.url}/persons?limit=51`, {
      headers: { authorization: `Bearer ${token.access_token}` },
    });
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({
      timestamp: expect.any(String),
      trace_id: expect.any(String),
      errors: [{ title: 'Bad Request', details: expect.stringMatching(/between 1 and 50/) }],
    });
  });

  it('an incremental read filters with updated_at.gt and returns only changed persons', async () => {
    fake.seed(fakeEmployees(4));
    const startedAt = new Date();
    fake.tick(15 * 60_000);
    fake.update('3', { jobTitle: 'Staff Engineer' });
    const pages = await readAll(
      client().readEmployees({ mode: 'incremental', since: startedAt.toISOString(), startedAt: new Date() }),
    );
    expect(pages.flatMap((page) => page.records.map((record) => record.sourceId))).toEqual(['3']);
    const list = dataRequests().find((request) => request.path === '/v2/persons');
    const filter = new URLSearchParams(list?.query).get('updated_at.gt');
    // Five minutes of overlap before the previous read started, as an ISO 8601 date-time.
    expect(filter).toBe(new Date(startedAt.getTime() - 5 * 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z'));
  });

  it('a v2 error becomes a connector error naming Personio’s title, details and trace id', async () => {
    fake.seed(fakeEmployees(2));
    const error = await readAll(client().readEmployees({ mode: 'full', resumeFrom: 'not-a-cursor' })).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(HrConnectorError);
    expect(error).toMatchObject({ kind: 'invalid_request', status: 400 });
    expect((error as HrConnectorError).message).toMatch(
      /Personio answered 400 to GET .*\/v2\/persons.*: Bad Request: The cursor is invalid\. \(trace id [0-9a-f]+\)/,
    );
  });

  it('bad credentials are refused at the token endpoint as invalid_credentials, with Personio’s reason', async () => {
    const check = await personioConnector
      .createClient({
        config: manifest.configSchema.parse(fake.config),
        credentials: manifest.credentialsSchema.parse(fake.badCredentials),
        env: instantEnv(),
      })
      .testConnection();
    expect(check).toMatchObject({ ok: false, code: 'invalid_credentials' });
    expect(check.detail).toMatch(/Invalid client credentials/);
  });

  it('a throttled employments call is retried after at least a second', async () => {
    fake.seed(fakeEmployees(3));
    const waits: number[] = [];
    // The first employments call and the next data call are throttled (429, no headers).
    const original = fake.requests.push.bind(fake.requests);
    fake.requests.push = (...items) => {
      if (items.some((item) => item.path.endsWith('/employments'))) {
        fake.requests.push = original;
        fake.throttleNext(2);
      }
      return original(...items);
    };
    const pages = await readAll(client(instantEnv(waits)).readEmployees({ mode: 'full' }));
    expect(pages.flatMap((page) => page.records)).toHaveLength(3);
    expect(fake.stats.throttled).toBe(2);
    expect(waits.filter((ms) => ms >= manifest.rateLimit.minRetryMs)).toHaveLength(2);
  });

  it('a next-page link to another host is not followed (the bearer token would go with it)', async () => {
    fake.seed(fakeEmployees(3));
    const env = instantEnv();
    env.fetch = async (input, init) => {
      const response = await fetch(input, init);
      if (!String(input).includes('/v2/persons?')) return response;
      const body = (await response.json()) as { _meta: { links: Record<string, { href: string }> } };
      body._meta.links.next = { href: 'https://attacker.example/v2/persons?cursor=abc' };
      return new Response(JSON.stringify(body), { status: 200 });
    };
    const error = await readAll(client(env).readEmployees({ mode: 'full', pageSize: 1 })).catch(
      (caught: unknown) => caught,
    );
    expect(error).toMatchObject({ kind: 'invalid_response' });
    expect((error as Error).message).toMatch(/another host/);
  });

  it('the source fields name the custom attribute by id and by global id', async () => {
    fake.seed(fakeEmployees(1));
    const fields = await client().listSourceFields();
    expect(fields).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ key: fake.customFieldKey, custom: true }),
        expect.objectContaining({ key: '24407', custom: true }),
        expect.objectContaining({ key: 'position' }),
        expect.objectContaining({ key: 'department' }),
      ]),
    );
  });
});

describe('Personio API v2 sync', () => {
  let t: TestHub;
  let fake: PersonioFake;
  let orgId: string;
  let directoryId: string;

  beforeEach(async () => {
    t = await createTestHub();
    fake = await startPersonioFake({ apiVersion: 'v2' });
    orgId = await createOrganization(t);
    const directory = await createPullDirectory(t, orgId, {
      name: 'Personio v2',
      provider: 'personio',
      config: fake.config as Record<string, unknown>,
      credentials: fake.credentials as Record<string, unknown>,
      joiners: 'create',
      mapping: {
        custom: { shirtSize: fake.customFieldKey },
        values: { department: { [String(fake.canonicalDepartment?.('Sales'))]: 'Sales' } },
      },
    });
    directoryId = directory.id;
  });

  afterEach(async () => {
    await fake.close();
    await t.close();
  });

  const users = async () =>
    (await t.api('GET', `/api/v1/organizations/${orgId}/users?limit=100`)).body.data as Array<{
      email: string;
      status: string;
      profile: { hr: Record<string, unknown> };
    }>;

  it('a full sync creates users with their HR profile; an org unit id is translated by the mapping', async () => {
    const people = fakeEmployees(12);
    people[2] = { ...(people[2] as HrFakeEmployee), custom: { [fake.customFieldKey]: 'XL' } };
    fake.seed(people);
    const run = await syncNow(t, orgId, directoryId, { pageSize: 5 });
    expect(run).toMatchObject({ status: 'succeeded', mode: 'full' });
    expect(run.stats).toMatchObject({ read: 12, created: 12, usersCreated: 12, pages: 3 });
    const third = (await users()).find((user) => user.email === 'person3@acme.test');
    expect(third?.profile.hr).toMatchObject({
      jobTitle: 'Engineer',
      department: 'Sales',
      manager: '1',
      hireDate: '2020-04-15',
      employmentStatus: 'active',
      custom: { shirtSize: 'XL' },
    });
  });

  it('an incremental sync applies only changes; a full sync after a failure resumes and detects deletions', async () => {
    fake.seed(fakeEmployees(15));
    await syncNow(t, orgId, directoryId, { pageSize: 5 });
    fake.tick(15 * 60_000);
    fake.update('4', { jobTitle: 'Staff Engineer' });
    const increment = await syncNow(t, orgId, directoryId);
    expect(increment).toMatchObject({ status: 'succeeded', mode: 'incremental' });
    expect(increment.stats).toMatchObject({ read: 1, updated: 1 });
    expect(fake.requests.filter((request) => request.path === '/v2/persons').at(-1)?.query).toMatch(
      /updated_at\.gt=/,
    );

    fake.remove('5');
    fake.breakAfter(1);
    const failed = await syncNow(t, orgId, directoryId, { mode: 'full', pageSize: 5 });
    expect(failed).toMatchObject({ status: 'failed', resumable: true });
    expect(failed.stats).toMatchObject({ pages: 1 });
    fake.heal();
    const resumed = await syncNow(t, orgId, directoryId, { mode: 'full', pageSize: 5 });
    expect(resumed).toMatchObject({ id: failed.id, status: 'succeeded' });
    expect(resumed.stats).toMatchObject({ deleted: 1, usersDeactivated: 1 });
    const all = await users();
    expect(all.find((user) => user.email === 'person5@acme.test')?.status).toBe('deprovisioned');
    expect(all.find((user) => user.email === 'person4@acme.test')?.profile.hr).toMatchObject({
      jobTitle: 'Staff Engineer',
    });
    expect(await eventTypes(t, orgId)).toContain('user.deactivated');
  });

  it('a termination in the v2 employment deprovisions the user', async () => {
    fake.seed(fakeEmployees(4));
    await syncNow(t, orgId, directoryId);
    fake.tick(15 * 60_000);
    fake.update('2', { status: 'inactive', terminationDate: '2024-01-31' });
    const run = await syncNow(t, orgId, directoryId);
    expect(run.stats).toMatchObject({ updated: 1, usersDeactivated: 1 });
    const leaver = (await users()).find((user) => user.email === 'person2@acme.test');
    expect(leaver?.status).toBe('deprovisioned');
    expect(leaver?.profile.hr).toMatchObject({ terminationDate: '2024-01-31', employmentStatus: 'inactive' });
  });

  it('an ONBOARDING employment (a pre-hire) gets a user on its start date, not before', async () => {
    await expectPreHiresToWaitForTheirStartDate(t, fake, orgId, directoryId);
  });
});
