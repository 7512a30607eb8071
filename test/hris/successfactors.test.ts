/**
 * SAP SuccessFactors against its fake: the shared connector contract, then SuccessFactors'
 * own behaviour: OData `/Date(...)/` values, the signed SAML bearer assertion (tampering refused),
 * inactive users only with the status filter, EmpJob history with promotions by event reason,
 * terminations, Basic `user@companyId`, server-side paging.
 */
import { exportPKCS8, generateKeyPair } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EmployeePage } from '../../src/connectors/hris-contract.ts';
import { mergeMapping, normalizeDate } from '../../src/connectors/hris-mapping.ts';
import { buildSignedSamlAssertion } from '../../src/connectors/successfactors/client.ts';
import { successFactorsConnector } from '../../src/connectors/successfactors/index.ts';
import { SuccessFactorsConfigSchema } from '../../src/connectors/successfactors/manifest.ts';
import { odataDay, odataMillis } from '../../src/connectors/successfactors/schemas.ts';
import { describeHrConnectorContract, instantEnv, readAll } from '../connectors/hris-contract.ts';
import { contractFake } from '../fakes/hr-contract-fake.ts';
import { type FakeSuccessFactors, startFakeSuccessFactors } from '../fakes/successfactors/index.ts';

describeHrConnectorContract({
  connector: successFactorsConnector,
  async startFake() {
    const fake = await startFakeSuccessFactors({ employees: 0 });
    const { privateKey } = await generateKeyPair('RS256', { extractable: true });
    return contractFake({
      url: fake.url,
      people: fake.people,
      controls: fake.controls,
      throttleNext: (count) => fake.fail({ kind: 'throttle', times: count, pathIncludes: '/User' }),
      expireTokens: () => fake.expireTokens(),
      close: fake.close,
      config: { apiUrl: fake.url, companyId: fake.companyId },
      credentials: {
        type: 'oauth',
        clientId: fake.clientId,
        userId: fake.apiUserId,
        privateKey: fake.privateKeyPem,
      },
      badCredentials: {
        type: 'oauth',
        clientId: fake.clientId,
        userId: fake.apiUserId,
        privateKey: await exportPKCS8(privateKey),
      },
      pageSize: 5,
      customFieldKey: 'custom01',
    });
  },
});

describe('SAP SuccessFactors connector', () => {
  let fake: FakeSuccessFactors;
  let waits: number[];
  beforeEach(async () => {
    waits = [];
    fake = await startFakeSuccessFactors({ employees: 30 });
  });
  afterEach(async () => {
    await fake.close();
  });

  const client = (credentials?: unknown, overrides: Record<string, unknown> = {}) =>
    successFactorsConnector.createClient({
      config: SuccessFactorsConfigSchema.parse({ apiUrl: fake.url, companyId: fake.companyId, ...overrides }),
      credentials: (credentials ?? {
        type: 'oauth',
        clientId: fake.clientId,
        userId: fake.apiUserId,
        privateKey: fake.privateKeyPem,
      }) as never,
      env: instantEnv(waits),
    });
  const records = (pages: EmployeePage[]) => pages.flatMap((page) => page.records);
  const mapping = mergeMapping(successFactorsConnector.manifest.defaultMapping, undefined);

  it('parses OData dates: /Date(ms)/, /Date(ms+0000)/, before 1970, and the end of time', () => {
    expect(odataDay('/Date(1546300800000)/')).toBe('2019-01-01');
    expect(odataMillis('/Date(1546300800000+0000)/')).toBe(1546300800000);
    expect(odataDay('/Date(-86400000)/')).toBe('1969-12-31');
    expect(odataDay('/Date(253402214400000)/')).toBe('9999-12-31');
    expect(odataDay('2019-01-01')).toBeUndefined();
    expect(normalizeDate('/Date(1546300800000+0000)/')).toBe('2019-01-01');
  });

  it('maps users with their current EmpJob, PerPersonal names and promotions by event reason', async () => {
    const pages = await readAll(client().readEmployees({ mode: 'full', pageSize: 10 }));
    expect(records(pages)).toHaveLength(30);
    const person = fake.people.get('p00009');
    const record = records(pages).find((r) => r.sourceId === 'p00009')!;
    expect(record.fields.hireDate).toMatch(/^\/Date\(\d+\)\/$/);
    expect(successFactorsConnector.mapToCanonical(record, mapping).fields).toMatchObject({
      employeeNumber: person.employeeNumber,
      workEmail: person.email,
      jobTitle: person.jobTitle,
      level: person.level,
      costCenter: person.costCenter,
      manager: person.managerId,
      employmentStatus: 'active',
      employmentType: 'full_time',
      hireDate: person.hireDate,
      preferredName: person.preferredName,
    });
    expect(record.jobHistory?.map((h) => [h.effectiveDate, h.promotion])).toEqual(
      person.jobHistory.map((h) => [h.effectiveDate, h.reason === 'promotion']),
    );
    const empJobCalls = fake.requests.filter((r) => r.path.endsWith('/EmpJob'));
    expect(empJobCalls.every((r) => r.query.fromDate === '1900-01-01')).toBe(true);
    expect(fake.requests.some((r) => r.query.$top !== undefined)).toBe(false);
    expect(fake.requests.filter((r) => r.path.endsWith('/User') && r.query.$skiptoken).length).toBe(2);
  });

  it('a leaver (status f, EmpJob T) is read, inactive, with the termination date', async () => {
    fake.people.terminate('p00014', '2026-09-30');
    const pages = await readAll(
      client().readEmployees({ mode: 'full', startedAt: new Date(Date.UTC(2026, 10, 1)) }),
    );
    const record = records(pages).find((r) => r.sourceId === 'p00014')!;
    expect(successFactorsConnector.mapToCanonical(record, mapping).fields).toMatchObject({
      employmentStatus: 'inactive',
      terminationDate: '2026-09-30',
    });
    // Without the status filter SuccessFactors returns active users only.
    const defaultList = await fetch(`${fake.url}/odata/v2/User?$format=json&customPageSize=100`, {
      headers: {
        authorization: `Basic ${Buffer.from(`${fake.basicUser}@${fake.companyId}:${fake.basicPassword}`).toString('base64')}`,
      },
    });
    const ids = ((await defaultList.json()) as { d: { results: Array<{ userId: string }> } }).d.results.map(
      (u) => u.userId,
    );
    expect(ids).not.toContain('p00014');
  });

  it('snapshot paging: a user removed between pages shifts nothing (offset paging would skip one)', async () => {
    const seen: string[] = [];
    let pages = 0;
    for await (const page of client().readEmployees({ mode: 'full', pageSize: 10 })) {
      seen.push(...page.records.map((r) => r.sourceId));
      if (++pages === 1) fake.people.remove('p00001');
    }
    expect(new Set(seen).size).toBe(30);
    expect(fake.requests.find((r) => r.path.endsWith('/User') && !r.query.$skiptoken)?.query.paging).toBe(
      'snapshot',
    );
  });

  it('custom promotion event reasons are honoured', async () => {
    const pages = await readAll(
      client(undefined, { promotionEventReasons: ['HIRNEW'] }).readEmployees({ mode: 'full' }),
    );
    const record = records(pages).find((r) => r.sourceId === 'p00001')!;
    expect(record.jobHistory?.[0]?.promotion).toBe(true);
  });

  it('deprecated Basic auth as user@companyId still reads', async () => {
    const pages = await readAll(
      client({ type: 'basic', username: fake.basicUser, password: fake.basicPassword }).readEmployees({
        mode: 'full',
      }),
    );
    expect(records(pages)).toHaveLength(30);
    expect(fake.requests.every((r) => r.authScheme === 'Basic')).toBe(true);
  });

  it('the token endpoint refuses an assertion altered after signing', async () => {
    const tokenUrl = `${fake.url}/oauth/token`;
    const signed = buildSignedSamlAssertion({
      clientId: fake.clientId,
      userId: fake.apiUserId,
      tokenUrl,
      privateKeyPem: fake.privateKeyPem,
    });
    const post = (xml: string) =>
      fetch(tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          client_id: fake.clientId,
          company_id: fake.companyId,
          grant_type: 'urn:ietf:params:oauth:grant-type:saml2-bearer',
          assertion: Buffer.from(xml).toString('base64'),
        }),
      });
    expect((await post(signed)).status).toBe(200);
    const tampered = signed.replace(`>${fake.apiUserId}</saml2:NameID>`, '>admin</saml2:NameID>');
    expect(tampered).not.toBe(signed);
    const refused = await post(tampered);
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { errorMessage: string }).errorMessage).toContain('signature');
  });

  it('a wrong company id is invalid_credentials naming it', async () => {
    const check = await client(undefined, { companyId: 'OTHERCO' }).testConnection();
    expect(check).toMatchObject({ ok: false, code: 'invalid_credentials' });
    expect(check.detail).toContain('OTHERCO');
  });

  it('a 429 is waited out for the Retry-After SAP sends (300 s)', async () => {
    fake.fail({ kind: 'throttle', times: 1, pathIncludes: '/EmpJob' });
    const pages = await readAll(client().readEmployees({ mode: 'full' }));
    expect(records(pages)).toHaveLength(30);
    expect(waits).toContain(300_000);
  });
});
