/**
 * The shared contract suite every HR/directory connector runs against its fake:
 *
 *   describeHrConnectorContract({ connector: personioConnector, startFake: startPersonioFake });
 *
 * A fake implements {@link HrFake}: it is seeded with vendor-neutral {@link HrFakeEmployee}s and
 * serves them in the vendor's own shapes (paths, auth, paging, errors, throttling). The suite
 * checks what the sync engine relies on: connection test, full reads across pages, mapping to the
 * canonical model, increments, throttling with Retry-After, token expiry mid-read, deletion
 * detection, and resuming a read that failed halfway from its checkpoint.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type EmployeePage,
  type HrClientEnvironment,
  type HrConnector,
  HrConnectorError,
  type ReadEmployeesRequest,
} from '../../src/connectors/hris-contract.ts';
import { mergeMapping } from '../../src/connectors/hris-mapping.ts';

/** A person as the contract seeds them, in no vendor's shape. */
export interface HrFakeEmployee {
  id: string;
  employeeNumber: string;
  firstName: string;
  lastName: string;
  email: string;
  jobTitle: string;
  department: string;
  /** Source id of the manager. */
  managerId?: string | null;
  /** `onboarding`: a pre-hire (Personio's status; other fakes need not support it). */
  status: 'active' | 'inactive' | 'onboarding';
  hireDate: string;
  terminationDate?: string | null;
  /** Vendor custom fields by the fake's own custom field key. */
  custom?: Record<string, string>;
}

export interface HrFake {
  /** Base URL to configure the connector with. */
  url: string;
  config: unknown;
  credentials: unknown;
  badCredentials: unknown;
  /** Records per page the fake serves (reads of more than this many must page). */
  pageSize: number;
  /** A custom field key this fake serves, for mapping tests. */
  customFieldKey: string;
  /**
   * The canonical department the default mapping yields for a department of this name, when the
   * source does not serve names (Personio v2 employments carry org unit ids). Default: the name.
   */
  canonicalDepartment?(name: string): string;
  seed(employees: HrFakeEmployee[]): void;
  /** Changes a person and stamps them as modified now. */
  update(id: string, changes: Partial<HrFakeEmployee>): void;
  /** Deletes a person at the source. */
  remove(id: string): void;
  /** The next `count` data requests are throttled the vendor's way. */
  throttleNext(count: number): void;
  /** Every token issued so far stops working (the vendor answers as for an expired token). */
  expireTokens(): void;
  /** After `requests` more data requests succeed, every data request fails with 500 until `heal()`. */
  breakAfter(requests: number): void;
  heal(): void;
  /** Advances the fake's clock so later updates are strictly after a read's `nextSince`. */
  tick(ms: number): void;
  readonly stats: { dataRequests: number; throttled: number; tokensIssued: number };
  close(): Promise<void>;
}

export interface HrContractOptions<Config, Credentials> {
  connector: HrConnector<Config, Credentials>;
  /** Suffix of the suite name when a connector runs the suite in several fake modes. */
  variant?: string;
  startFake(): Promise<HrFake>;
}

/** Waits are recorded, not slept: contract tests never depend on time. */
export function instantEnv(waits: number[] = []): HrClientEnvironment {
  return {
    sleep: async (ms) => {
      waits.push(ms);
    },
  };
}

export function fakeEmployees(count: number, start = 1): HrFakeEmployee[] {
  return Array.from({ length: count }, (_, index) => {
    const n = start + index;
    return {
      id: String(n),
      employeeNumber: `E${String(n).padStart(5, '0')}`,
      firstName: `First${n}`,
      lastName: `Last${n}`,
      email: `person${n}@acme.test`,
      jobTitle: n % 7 === 0 ? 'Engineering Manager' : 'Engineer',
      department: n % 2 === 0 ? 'Engineering' : 'Sales',
      managerId: n === 1 ? null : '1',
      status: 'active',
      hireDate: `2020-0${(n % 9) + 1}-15`,
      terminationDate: null,
    };
  });
}

export async function readAll<T extends EmployeePage>(pages: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const page of pages) out.push(page);
  return out;
}

export function describeHrConnectorContract<Config, Credentials>(
  options: HrContractOptions<Config, Credentials>,
): void {
  const { connector } = options;
  const { manifest } = connector;

  describe(`${manifest.displayName} connector contract${options.variant ? ` (${options.variant})` : ''}`, () => {
    let fake: HrFake;
    let waits: number[];

    const client = (credentials?: unknown) =>
      connector.createClient({
        config: manifest.configSchema.parse(fake.config),
        credentials: manifest.credentialsSchema.parse(credentials ?? fake.credentials),
        env: instantEnv(waits),
      });
    const read = (request: ReadEmployeesRequest) => readAll(client().readEmployees(request));
    const ids = (pages: EmployeePage[]) =>
      pages.flatMap((page) => page.records.map((record) => record.sourceId));

    beforeEach(async () => {
      waits = [];
      fake = await options.startFake();
    });
    afterEach(async () => {
      await fake.close();
    });

    it('C1 — the manifest is complete and its schemas accept the fake configuration', () => {
      expect(manifest.provider).toMatch(/^[a-z][a-z0-9_]*$/);
      expect(manifest.kinds.length).toBeGreaterThan(0);
      expect(manifest.pagination.maxPageSize).toBeGreaterThan(0);
      expect(manifest.rateLimit.throttleStatuses.length).toBeGreaterThan(0);
      expect(manifest.configSchema.safeParse(fake.config).success).toBe(true);
      expect(manifest.credentialsSchema.safeParse(fake.credentials).success).toBe(true);
      expect(manifest.defaultMapping.fields.workEmail).toBeTruthy();
    });

    it('C2 — test connection succeeds with good credentials and names the problem with bad ones', async () => {
      fake.seed(fakeEmployees(3));
      expect(await client().testConnection()).toMatchObject({ ok: true });
      const bad = await client(fake.badCredentials).testConnection();
      expect(bad.ok).toBe(false);
      expect(bad.code).toMatch(/invalid_credentials|forbidden/);
    });

    it('C3 — a full read pages through every record and maps each to the canonical model', async () => {
      const people = fakeEmployees(fake.pageSize * 2 + 3);
      fake.seed(people);
      const pages = await read({ mode: 'full', pageSize: fake.pageSize });
      expect(pages.length).toBeGreaterThanOrEqual(3);
      expect(new Set(ids(pages))).toEqual(new Set(people.map((person) => person.id)));
      expect(pages.at(-1)?.checkpoint).toBeNull();
      const mapping = mergeMapping(manifest.defaultMapping, undefined);
      const second = pages.flatMap((page) => page.records).find((record) => record.sourceId === '2');
      const canonical = connector.mapToCanonical(second as never, mapping);
      expect(canonical.fields).toMatchObject({
        workEmail: 'person2@acme.test',
        firstName: 'First2',
        lastName: 'Last2',
        jobTitle: 'Engineer',
        department: fake.canonicalDepartment?.('Engineering') ?? 'Engineering',
        manager: '1',
        employmentStatus: 'active',
        hireDate: '2020-03-15',
      });
    });

    it('C4 — custom fields reach custom profile attributes through the mapping', async () => {
      const [person] = fakeEmployees(1);
      fake.seed([{ ...(person as HrFakeEmployee), custom: { [fake.customFieldKey]: 'XL' } }]);
      const pages = await read({ mode: 'full', fields: [fake.customFieldKey] });
      const mapping = mergeMapping(manifest.defaultMapping, { custom: { shirtSize: fake.customFieldKey } });
      const record = pages[0]?.records[0];
      expect(connector.mapToCanonical(record as never, mapping).custom).toEqual({ shirtSize: 'XL' });
    });

    it('C5 — throttled requests are retried after the advised wait, not failed', async () => {
      fake.seed(fakeEmployees(fake.pageSize + 1));
      fake.throttleNext(2);
      const pages = await read({ mode: 'full', pageSize: fake.pageSize });
      expect(ids(pages)).toHaveLength(fake.pageSize + 1);
      expect(fake.stats.throttled).toBe(2);
      expect(waits.filter((ms) => ms >= manifest.rateLimit.minRetryMs)).toHaveLength(2);
    });

    // A source that returns everything in one response (Workday RaaS) has no request to fail
    // halfway; its connector tests resuming from a page checkpoint on their own.
    it.runIf(manifest.pagination.style !== 'none')(
      'C6 — a read that fails halfway resumes from its last checkpoint without repeating or skipping',
      async () => {
        const people = fakeEmployees(fake.pageSize * 3);
        fake.seed(people);
        const seen: string[] = [];
        let checkpoint: string | null = null;
        fake.breakAfter(2);
        await expect(async () => {
          for await (const page of client().readEmployees({ mode: 'full', pageSize: fake.pageSize })) {
            seen.push(...page.records.map((record) => record.sourceId));
            checkpoint = page.checkpoint;
          }
        }).rejects.toBeInstanceOf(HrConnectorError);
        expect(seen.length).toBeGreaterThan(0);
        expect(seen.length).toBeLessThan(people.length);
        fake.heal();
        const rest = await read({
          mode: 'full',
          pageSize: fake.pageSize,
          ...(checkpoint ? { resumeFrom: checkpoint } : {}),
        });
        const all = [...seen, ...ids(rest)];
        expect(all.sort()).toEqual(people.map((person) => person.id).sort());
      },
    );

    it('C7 — a deleted person is absent from the next full read (or signalled on an incremental one)', async () => {
      fake.seed(fakeEmployees(5));
      const first = await read({ mode: 'full', startedAt: new Date() });
      fake.tick(15 * 60_000);
      fake.remove('3');
      const full = await read({ mode: 'full' });
      expect(ids(full)).not.toContain('3');
      expect(ids(full)).toHaveLength(4);
      if (manifest.incremental.supported && manifest.incremental.signalsDeletions) {
        const since = first.at(-1)?.nextSince;
        const increment = await read({ mode: 'incremental', ...(since ? { since } : {}) });
        expect(increment.flatMap((page) => page.deletedIds ?? [])).toContain('3');
      }
    });

    it.runIf(manifest.incremental.supported)(
      'C8 — an incremental read returns what changed since the last read, with a new token',
      async () => {
        fake.seed(fakeEmployees(5));
        const first = await read({ mode: 'full', startedAt: new Date() });
        const since = first.at(-1)?.nextSince;
        expect(since).toBeTruthy();
        fake.tick(15 * 60_000);
        fake.update('2', { jobTitle: 'Staff Engineer' });
        const increment = await read({ mode: 'incremental', since: since as string, startedAt: new Date() });
        const records = increment.flatMap((page) => page.records);
        expect(records.map((record) => record.sourceId)).toEqual(['2']);
        const mapped = connector.mapToCanonical(
          records[0] as never,
          mergeMapping(manifest.defaultMapping, undefined),
        );
        expect(mapped.fields.jobTitle).toBe('Staff Engineer');
        expect(increment.at(-1)?.nextSince).toBeTruthy();
      },
    );

    it.runIf(manifest.auth.mode !== 'basic' && manifest.auth.mode !== 'api_key_bearer')(
      'C9 — a token that expires mid-read is refreshed and the read completes',
      async () => {
        fake.seed(fakeEmployees(fake.pageSize * 2));
        const issuedBefore = fake.stats.tokensIssued;
        const seen: string[] = [];
        let pageNo = 0;
        for await (const page of client().readEmployees({ mode: 'full', pageSize: fake.pageSize })) {
          seen.push(...page.records.map((record) => record.sourceId));
          if (++pageNo === 1) fake.expireTokens();
        }
        expect(seen).toHaveLength(fake.pageSize * 2);
        expect(fake.stats.tokensIssued - issuedBefore).toBe(2);
      },
    );

    it('C10 — bad credentials fail the read with invalid_credentials or forbidden', async () => {
      fake.seed(fakeEmployees(2));
      const error = await readAll(client(fake.badCredentials).readEmployees({ mode: 'full' })).catch(
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(HrConnectorError);
      expect((error as HrConnectorError).kind).toMatch(/invalid_credentials|forbidden/);
    });

    it('C11 — the source field list names the custom field', async () => {
      fake.seed(fakeEmployees(1));
      const fields = await client().listSourceFields();
      expect(fields.map((field) => field.key)).toContain(fake.customFieldKey);
      expect(fields.map((field) => field.key)).toContain(manifest.defaultMapping.fields.workEmail);
    });
  });
}
