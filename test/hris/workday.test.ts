/**
 * Workday (RaaS custom report) against its fake: the shared connector contract, then what is
 * particular to Workday: OAuth refresh-token auth with a token that expires between reads, job
 * history and promotions, resuming a paged-out report, XML-vs-JSON, maintenance 503s, bad rows.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HrSchemaError } from '../../src/connectors/hris-contract.ts';
import { mapSourceRecord, mergeMapping } from '../../src/connectors/hris-mapping.ts';
import { workdayConnector } from '../../src/connectors/workday/index.ts';
import { WorkdayConfigSchema } from '../../src/connectors/workday/manifest.ts';
import { describeHrConnectorContract, instantEnv, readAll } from '../connectors/hris-contract.ts';
import { contractFake } from '../fakes/hr-contract-fake.ts';
import { type FakeWorkday, startFakeWorkday } from '../fakes/workday/index.ts';

describeHrConnectorContract({
  connector: workdayConnector,
  async startFake() {
    const fake = await startFakeWorkday({ employees: 0 });
    return contractFake({
      url: fake.url,
      people: fake.people,
      controls: fake.controls,
      throttleNext: (count) => fake.fail({ kind: 'throttle', times: count }),
      expireTokens: () => fake.expireTokens(),
      close: fake.close,
      config: { reportUrl: fake.reportUrl },
      credentials: { type: 'basic', username: fake.username, password: fake.password },
      badCredentials: { type: 'basic', username: fake.username, password: 'wrong' },
      pageSize: 10,
      customFieldKey: 'Shirt_Size',
    });
  },
});

describe('Workday connector', () => {
  let fake: FakeWorkday;
  let waits: number[];
  beforeEach(async () => {
    waits = [];
    fake = await startFakeWorkday({ employees: 40 });
  });
  afterEach(async () => {
    await fake.close();
  });

  const basicClient = () =>
    workdayConnector.createClient({
      config: WorkdayConfigSchema.parse({ reportUrl: fake.reportUrl }),
      credentials: { type: 'basic', username: `${fake.username}@${fake.tenant}`, password: fake.password },
      env: instantEnv(waits),
    });
  const oauthClient = () =>
    workdayConnector.createClient({
      config: WorkdayConfigSchema.parse({ reportUrl: fake.reportUrl }),
      credentials: {
        type: 'oauth',
        clientId: fake.clientId,
        clientSecret: fake.clientSecret,
        refreshToken: fake.refreshToken,
      },
      env: instantEnv(waits),
    });

  it('reads the report with an OAuth token and refreshes it when Workday refuses it as expired', async () => {
    const client = oauthClient();
    const first = await readAll(client.readEmployees({ mode: 'full', pageSize: 100 }));
    expect(first.flatMap((page) => page.records)).toHaveLength(40);
    expect(fake.controls.stats.tokensIssued).toBe(1);
    fake.expireTokens();
    const second = await readAll(client.readEmployees({ mode: 'full', pageSize: 100 }));
    expect(second.flatMap((page) => page.records)).toHaveLength(40);
    expect(fake.controls.stats.tokensIssued).toBe(2);
    const reportCalls = fake.requests.filter((r) => r.path.includes('customreport2'));
    expect(reportCalls.map((r) => r.status)).toEqual([200, 401, 200]);
    expect(reportCalls.every((r) => r.authScheme === 'Bearer' && r.query.format === 'json')).toBe(true);
  });

  it('a refused refresh token is invalid_credentials', async () => {
    const client = workdayConnector.createClient({
      config: WorkdayConfigSchema.parse({ reportUrl: fake.reportUrl }),
      credentials: {
        type: 'oauth',
        clientId: fake.clientId,
        clientSecret: fake.clientSecret,
        refreshToken: 'stale',
      },
      env: instantEnv(waits),
    });
    const check = await client.testConnection();
    expect(check).toMatchObject({ ok: false, code: 'invalid_credentials' });
    expect(check.detail).toContain('Invalid refresh token');
  });

  it('maps job history with promotions, multi-instance skills and manager ids', async () => {
    const pages = await readAll(basicClient().readEmployees({ mode: 'full' }));
    const records = pages.flatMap((page) => page.records);
    const promoted = fake.people.get('p00003');
    const record = records.find((r) => r.sourceId === 'p00003');
    expect(record?.jobHistory?.map((h) => h.promotion)).toEqual([false, true]);
    expect(record?.jobHistory?.[1]?.effectiveDate).toBe(promoted.jobHistory[1]?.effectiveDate);
    const canonical = mapSourceRecord(
      record!,
      mergeMapping(workdayConnector.manifest.defaultMapping, undefined),
    );
    expect(canonical.fields).toMatchObject({
      employeeNumber: promoted.employeeNumber,
      workEmail: promoted.email,
      manager: promoted.managerId,
      level: promoted.level,
      costCenter: promoted.costCenter,
      competencies: promoted.customFields.competencies?.split(',').map((s) => s.trim()),
    });
    // Workday omits empty columns: the CEO has no manager column at all.
    const ceo = records.find((r) => r.sourceId === 'p00000');
    expect(ceo?.fields).not.toHaveProperty('Manager_Workday_ID');
  });

  it('a terminated worker is inactive with a termination date', async () => {
    fake.people.terminate('p00007', '2026-10-31');
    const pages = await readAll(basicClient().readEmployees({ mode: 'full' }));
    const record = pages.flatMap((page) => page.records).find((r) => r.sourceId === 'p00007');
    const canonical = workdayConnector.mapToCanonical(
      record!,
      mergeMapping(workdayConnector.manifest.defaultMapping, undefined),
    );
    expect(canonical.fields).toMatchObject({ employmentStatus: 'inactive', terminationDate: '2026-10-31' });
  });

  it('resumes after the last committed page even when the report changed meanwhile', async () => {
    const seen: string[] = [];
    let checkpoint: string | null = null;
    let pagesRead = 0;
    for await (const page of basicClient().readEmployees({ mode: 'full', pageSize: 10 })) {
      seen.push(...page.records.map((r) => r.sourceId));
      checkpoint = page.checkpoint;
      if (++pagesRead === 2) break; // the sync failed after committing two pages
    }
    fake.people.remove('p00001'); // already read: must not shift the rest
    const rest = await readAll(
      basicClient().readEmployees({
        mode: 'full',
        pageSize: 10,
        resumeFrom: checkpoint as unknown as string,
      }),
    );
    const restIds = rest.flatMap((page) => page.records.map((r) => r.sourceId));
    expect(restIds.filter((id) => seen.includes(id))).toEqual([]);
    expect([...seen, ...restIds].sort()).toEqual([...fake.people.list().map((p) => p.id), 'p00001'].sort());
  });

  it('retries a maintenance-window 503 after Retry-After', async () => {
    fake.fail({ kind: 'unavailable', times: 1, retryAfterSeconds: 30 });
    const pages = await readAll(basicClient().readEmployees({ mode: 'full', pageSize: 100 }));
    expect(pages.flatMap((page) => page.records)).toHaveLength(40);
    expect(waits).toContain(30_000);
  });

  it('a row without the id column fails the read naming the column instead of guessing', async () => {
    const client = workdayConnector.createClient({
      config: WorkdayConfigSchema.parse({ reportUrl: fake.reportUrl, idColumn: 'Worker_WID' }),
      credentials: { type: 'basic', username: fake.username, password: fake.password },
      env: instantEnv(waits),
    });
    const error = await readAll(client.readEmployees({ mode: 'full' })).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(HrSchemaError);
    expect((error as Error).message).toContain('Report_Entry.0.Worker_WID');
  });

  it('the fake answers XML without format=json, as Workday does', async () => {
    const response = await fetch(fake.reportUrl, {
      headers: {
        authorization: `Basic ${Buffer.from(`${fake.username}:${fake.password}`).toString('base64')}`,
      },
    });
    expect(response.headers.get('content-type')).toContain('xml');
    expect(await response.text()).toContain('<wd:Report_Data');
  });

  it('lists report columns from the XSD, custom ones flagged', async () => {
    const fields = await basicClient().listSourceFields();
    expect(fields.find((f) => f.key === 'Shirt_Size')).toMatchObject({ custom: true });
    expect(fields.find((f) => f.key === 'Email_Primary_Work')).toMatchObject({ custom: false });
    expect(fields.map((f) => f.key)).toContain('Job_History.Effective_Date');
  });

  it('refuses a report URL that is not RaaS, saying what it must look like', () => {
    const result = WorkdayConfigSchema.safeParse({ reportUrl: 'https://wd2.workday.com/acme/reports' });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toContain('customreport2');
  });
});
