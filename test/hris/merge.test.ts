/**
 * Merge (unified HRIS) against its fake: the shared connector contract, then Merge's own
 * behaviour: title changes that only touch Employments, deletions through include_deleted_data,
 * the sync-status gate on full reads, the per-account rate limit, cursors that forget filters.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type EmployeePage, HrConnectorError } from '../../src/connectors/hris-contract.ts';
import { mergeMapping } from '../../src/connectors/hris-mapping.ts';
import { mergeConnector } from '../../src/connectors/merge/index.ts';
import { MergeConfigSchema } from '../../src/connectors/merge/manifest.ts';
import { describeHrConnectorContract, instantEnv, readAll } from '../connectors/hris-contract.ts';
import { contractFake } from '../fakes/hr-contract-fake.ts';
import { type FakeMerge, startFakeMerge } from '../fakes/merge/index.ts';

describeHrConnectorContract({
  connector: mergeConnector,
  async startFake() {
    const fake = await startFakeMerge({ employees: 0 });
    return contractFake({
      url: fake.url,
      people: fake.people,
      controls: fake.controls,
      throttleNext: (count) => fake.fail({ kind: 'throttle', times: count, retryAfterSeconds: 3 }),
      expireTokens: () => {},
      close: fake.close,
      config: { baseUrl: fake.baseUrl },
      credentials: { apiKey: fake.apiKey, accountToken: fake.accountToken },
      badCredentials: { apiKey: 'merge_prod_revoked', accountToken: fake.accountToken },
      pageSize: 5,
      customFieldKey: 'custom_fields.shirt_size',
    });
  },
});

describe('Merge connector', () => {
  let fake: FakeMerge;
  let waits: number[];
  beforeEach(async () => {
    waits = [];
    fake = await startFakeMerge({ employees: 30 });
  });
  afterEach(async () => {
    await fake.close();
  });

  const client = (overrides: Record<string, unknown> = {}) =>
    mergeConnector.createClient({
      config: MergeConfigSchema.parse({ baseUrl: fake.baseUrl, ...overrides }),
      credentials: { apiKey: fake.apiKey, accountToken: fake.accountToken },
      // Waits move the fake's clock, so its per-minute window frees up as Merge's would.
      env: {
        sleep: async (ms: number) => {
          waits.push(ms);
          fake.people.tick(ms);
        },
      },
    });
  const records = (pages: EmployeePage[]) => pages.flatMap((page) => page.records);
  const mapping = mergeMapping(mergeConnector.manifest.defaultMapping, undefined);

  it('maps groups by type, team, location, current employment and promotions from employments', async () => {
    const pages = await readAll(client().readEmployees({ mode: 'full', pageSize: 10 }));
    expect(records(pages)).toHaveLength(30);
    const person = fake.people.get('p00009');
    const record = records(pages).find((r) => r.sourceId === 'p00009')!;
    expect(mergeConnector.mapToCanonical(record, mapping).fields).toMatchObject({
      employeeNumber: person.employeeNumber,
      workEmail: person.email,
      jobTitle: person.jobTitle,
      department: person.department,
      division: person.division,
      costCenter: person.costCenter,
      team: person.team,
      location: person.location,
      manager: person.managerId,
      employmentStatus: 'active',
      hireDate: person.hireDate,
    });
    expect(record.jobHistory?.map((h) => h.promotion)).toEqual([false, true]);
    // Every request carried both credentials and page_size within Merge's maximum.
    expect(fake.requests.every((r) => r.authScheme === 'Bearer')).toBe(true);
  });

  it('a new title changes only the Employment at Merge, and the increment still returns the person', async () => {
    const full = await readAll(
      client().readEmployees({ mode: 'full', startedAt: new Date(fake.people.now()) }),
    );
    const since = full.at(-1)?.nextSince as string;
    fake.people.tick(10 * 60_000);
    fake.people.change('p00011', { jobTitle: 'Head of Sales', level: 'L6' });
    const direct = await fetch(`${fake.baseUrl}/employees?modified_after=${encodeURIComponent(since)}`, {
      headers: { authorization: `Bearer ${fake.apiKey}`, 'x-account-token': fake.accountToken },
    });
    expect(((await direct.json()) as { results: unknown[] }).results).toEqual([]);
    const increment = await readAll(client().readEmployees({ mode: 'incremental', since }));
    expect(records(increment).map((r) => r.sourceId)).toEqual(['p00011']);
    const canonical = mergeConnector.mapToCanonical(records(increment)[0]!, mapping);
    expect(canonical.fields.jobTitle).toBe('Head of Sales');
    expect(canonical.jobHistory?.at(-1)).toMatchObject({ jobTitle: 'Head of Sales', promotion: true });
  });

  it('a termination is INACTIVE with its date; a deletion is remote_was_deleted and only seen with include_deleted_data', async () => {
    const full = await readAll(
      client().readEmployees({ mode: 'full', startedAt: new Date(fake.people.now()) }),
    );
    const since = full.at(-1)?.nextSince as string;
    fake.people.tick(10 * 60_000);
    fake.people.terminate('p00012', '2026-11-30');
    fake.people.remove('p00013');
    const increment = await readAll(client().readEmployees({ mode: 'incremental', since }));
    expect(increment.flatMap((p) => p.deletedIds ?? [])).toEqual(['p00013']);
    const terminated = records(increment).find((r) => r.sourceId === 'p00012')!;
    expect(mergeConnector.mapToCanonical(terminated, mapping).fields).toMatchObject({
      employmentStatus: 'inactive',
      terminationDate: '2026-11-30',
    });
    const again = await readAll(client().readEmployees({ mode: 'full' }));
    expect(records(again).map((r) => r.sourceId)).not.toContain('p00013');
    expect(fake.requests.some((r) => r.query.include_deleted_data === 'true' && r.query.modified_after)).toBe(
      true,
    );
  });

  it('refuses a full read while Merge is still running its initial sync', async () => {
    fake.syncStatus.status = 'SYNCING';
    fake.syncStatus.isInitialSync = true;
    fake.syncStatus.lastSyncResult = 'SYNCING';
    const error = await readAll(client().readEmployees({ mode: 'full' })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HrConnectorError);
    expect((error as Error).message).toContain('not finished syncing');
    expect(fake.requests.some((r) => r.path.endsWith('/employees'))).toBe(false);
    fake.syncStatus.status = 'DONE';
    fake.syncStatus.lastSyncResult = 'DONE';
    expect(records(await readAll(client().readEmployees({ mode: 'full' })))).toHaveLength(30);
  });

  it("waits out the linked account's per-minute limit instead of failing", async () => {
    fake.rateLimit.limit = 3;
    const pages = await readAll(client().readEmployees({ mode: 'full', pageSize: 5 }));
    expect(records(pages)).toHaveLength(30);
    expect(fake.controls.stats.throttled).toBeGreaterThan(0);
    expect(waits.every((ms) => ms >= 1000)).toBe(true);
  }, 120_000);

  it('sends the filters again with each cursor (the cursor only holds the position)', async () => {
    const full = await readAll(
      client().readEmployees({ mode: 'full', startedAt: new Date(fake.people.now()) }),
    );
    const since = full.at(-1)?.nextSince as string;
    fake.people.tick(10 * 60_000);
    for (const id of ['p00001', 'p00002', 'p00003', 'p00004', 'p00005', 'p00006', 'p00007']) {
      fake.people.change(id, { location: 'Lisbon' });
    }
    const increment = await readAll(client().readEmployees({ mode: 'incremental', since, pageSize: 3 }));
    expect(
      records(increment)
        .map((r) => r.sourceId)
        .sort(),
    ).toEqual(['p00001', 'p00002', 'p00003', 'p00004', 'p00005', 'p00006', 'p00007']);
    const cursorCalls = fake.requests.filter((r) => r.path.endsWith('/employees') && r.query.cursor);
    expect(cursorCalls.length).toBeGreaterThan(0);
    expect(cursorCalls.every((r) => r.query.modified_after)).toBe(true);
  });

  it('a wrong account token names the header', async () => {
    const check = await mergeConnector
      .createClient({
        config: MergeConfigSchema.parse({ baseUrl: fake.baseUrl }),
        credentials: { apiKey: fake.apiKey, accountToken: 'acct_other' },
        env: instantEnv(waits),
      })
      .testConnection();
    expect(check).toMatchObject({ ok: false, code: 'invalid_credentials' });
    expect(check.detail).toContain('X-Account-Token');
  });
});
