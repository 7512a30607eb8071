/**
 * Google Workspace against its fake: the shared connector contract, then what is particular to
 * Google: the JWT bearer grant with domain-wide delegation (verified by the fake with jose against
 * the service account's public key), managers named by email, nested group members, custom
 * schemas, and 403 quota answers that must be backed off while other 403s must not.
 */
import { decodeJwt, decodeProtectedHeader, exportPKCS8, generateKeyPair } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { googleWorkspaceConnector } from '../../src/connectors/google-workspace/index.ts';
import {
  GoogleConfigSchema,
  GoogleCredentialsSchema,
} from '../../src/connectors/google-workspace/manifest.ts';
import type { EmployeePage } from '../../src/connectors/hris-contract.ts';
import { mergeMapping } from '../../src/connectors/hris-mapping.ts';
import { describeHrConnectorContract, instantEnv, readAll } from '../connectors/hris-contract.ts';
import { type FakeGoogle, GROUP_SCOPE, startFakeGoogle } from '../fakes/google-workspace/index.ts';
import { contractFake } from '../fakes/hr-contract-fake.ts';

describeHrConnectorContract({
  connector: googleWorkspaceConnector,
  async startFake() {
    const fake = await startFakeGoogle({ employees: 0 });
    const { privateKey } = await generateKeyPair('RS256', { extractable: true });
    return contractFake({
      url: fake.url,
      people: fake.people,
      controls: fake.controls,
      throttleNext: (count) => fake.fail({ kind: 'throttle', times: count }),
      expireTokens: () => fake.expireTokens(),
      close: fake.close,
      config: { adminEmail: fake.adminEmail, directoryUrl: fake.url },
      credentials: { serviceAccountKey: fake.serviceAccountKey },
      // A key the service account does not have: the fake's signature check refuses it.
      badCredentials: {
        serviceAccountKey: { ...fake.serviceAccountKey, private_key: await exportPKCS8(privateKey) },
      },
      pageSize: 5,
      customFieldKey: 'customSchemas.HR.shirt_size',
    });
  },
});

describe('Google Workspace connector', () => {
  let fake: FakeGoogle;
  let waits: number[];
  beforeEach(async () => {
    waits = [];
    fake = await startFakeGoogle({ employees: 30 });
  });
  afterEach(async () => {
    await fake.close();
  });

  const client = (overrides: Record<string, unknown> = {}, key = fake.serviceAccountKey) =>
    googleWorkspaceConnector.createClient({
      config: GoogleConfigSchema.parse({ adminEmail: fake.adminEmail, directoryUrl: fake.url, ...overrides }),
      credentials: GoogleCredentialsSchema.parse({ serviceAccountKey: JSON.stringify(key) }),
      env: instantEnv(waits),
    });
  const records = (pages: EmployeePage[]) => pages.flatMap((page) => page.records);
  const groups = (pages: EmployeePage[]) => pages.flatMap((page) => page.groups ?? []);

  it('signs a delegation JWT the fake verifies, and maps users with managers resolved from emails', async () => {
    const pages = await readAll(client().readEmployees({ mode: 'full', pageSize: 10 }));
    expect(records(pages)).toHaveLength(30);
    const person = fake.people.get('p00012');
    const manager = fake.people.get(person.managerId!);
    const record = records(pages).find((r) => r.fields.primaryEmail === person.email)!;
    const managerRecord = records(pages).find((r) => r.fields.primaryEmail === manager.email)!;
    const canonical = googleWorkspaceConnector.mapToCanonical(
      record,
      mergeMapping(googleWorkspaceConnector.manifest.defaultMapping, undefined),
    );
    expect(canonical.fields).toMatchObject({
      employeeNumber: person.employeeNumber,
      workEmail: person.email,
      jobTitle: person.jobTitle,
      department: person.department,
      costCenter: person.costCenter,
      location: person.location,
      level: person.level,
      hireDate: person.hireDate,
      manager: managerRecord.sourceId,
      employmentStatus: 'active',
    });
    expect(fake.controls.stats.tokensIssued).toBe(1);
  });

  it('nested groups count their people as members of the parent', async () => {
    const pages = await readAll(client().readEmployees({ mode: 'full' }));
    const allStaff = groups(pages).find((g) => g.name === 'All staff');
    expect(allStaff?.memberIds).toHaveLength(30);
    expect(
      fake.requests.some((r) => r.path.endsWith('/members') && r.query.includeDerivedMembership === 'true'),
    ).toBe(true);
  });

  it('a suspended (terminated) user is inactive; a deleted one is absent from the next read', async () => {
    fake.people.terminate('p00003');
    const removedEmail = fake.people.get('p00004').email;
    fake.people.remove('p00004');
    const pages = await readAll(client().readEmployees({ mode: 'full' }));
    const emails = records(pages).map((r) => r.fields.primaryEmail);
    expect(emails).not.toContain(removedEmail);
    expect(records(pages)).toHaveLength(29);
    const terminated = records(pages).find((r) => r.fields.primaryEmail === fake.people.get('p00003').email)!;
    expect(
      googleWorkspaceConnector.mapToCanonical(
        terminated,
        mergeMapping(googleWorkspaceConnector.manifest.defaultMapping, undefined),
      ).fields.employmentStatus,
    ).toBe('inactive');
  });

  it('without delegation for a scope, the token request is unauthorized_client and the message says what to grant', async () => {
    fake.delegatedScopes.delete(GROUP_SCOPE);
    const check = await client().testConnection();
    expect(check).toMatchObject({ ok: false, code: 'invalid_credentials' });
    expect(check.detail).toContain('unauthorized_client');
    expect(check.detail).toContain(fake.serviceAccountKey.client_id);
  });

  it('a delegated subject who is not an admin is refused by the API, named in the message', async () => {
    const check = await client({ adminEmail: fake.people.get('p00002').email }).testConnection();
    expect(check).toMatchObject({ ok: false, code: 'forbidden' });
    expect(check.detail).toContain(fake.people.get('p00002').email);
  });

  it('the assertion is RS256 with kid, the delegated sub, both scopes and a one-hour lifetime', async () => {
    const seen: string[] = [];
    const spy = googleWorkspaceConnector.createClient({
      config: GoogleConfigSchema.parse({ adminEmail: fake.adminEmail, directoryUrl: fake.url }),
      credentials: { serviceAccountKey: fake.serviceAccountKey } as never,
      env: {
        ...instantEnv(waits),
        fetch: async (input, init) => {
          if (String(input).endsWith('/token'))
            seen.push(new URLSearchParams(String(init?.body)).get('assertion')!);
          return fetch(input, init);
        },
      },
    });
    expect(await spy.testConnection()).toMatchObject({ ok: true });
    const assertion = seen[0]!;
    expect(decodeProtectedHeader(assertion)).toMatchObject({
      alg: 'RS256',
      kid: fake.serviceAccountKey.private_key_id,
    });
    const claims = decodeJwt(assertion);
    expect(claims).toMatchObject({
      iss: fake.serviceAccountKey.client_email,
      sub: fake.adminEmail,
      aud: fake.serviceAccountKey.token_uri,
    });
    expect(String(claims.scope).split(' ')).toHaveLength(2);
    expect((claims.exp as number) - (claims.iat as number)).toBe(3600);
  });

  it('403 userRateLimitExceeded is backed off (no Retry-After: from 1 s) and the read completes', async () => {
    fake.quota.limit = 4;
    const spent: number[] = [];
    const throttled = googleWorkspaceConnector.createClient({
      config: GoogleConfigSchema.parse({
        adminEmail: fake.adminEmail,
        directoryUrl: fake.url,
        includeGroups: false,
      }),
      credentials: { serviceAccountKey: fake.serviceAccountKey } as never,
      env: {
        sleep: async (ms) => {
          spent.push(ms);
          // The fake's quota window is wall-clock: reopen it as a minute would.
          fake.quota.limit = (fake.quota.limit ?? 0) + 4;
        },
      },
    });
    const pages = await readAll(throttled.readEmployees({ mode: 'full', pageSize: 5 }));
    expect(records(pages)).toHaveLength(30);
    expect(fake.controls.stats.throttled).toBeGreaterThan(0);
    expect(spent.every((ms) => ms >= 1000)).toBe(true);
  });

  it('lists custom schema fields from the schema definitions', async () => {
    const fields = await client().listSourceFields();
    expect(fields.find((f) => f.key === 'customSchemas.HR.shirt_size')).toMatchObject({ custom: true });
  });

  it('refuses a key that is not a service account key, saying so', () => {
    const result = GoogleCredentialsSchema.safeParse({ serviceAccountKey: { type: 'authorized_user' } });
    expect(result.success).toBe(false);
    expect(JSON.stringify(result.error?.issues)).toContain('service account key');
  });
});
