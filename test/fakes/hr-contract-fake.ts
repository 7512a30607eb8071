/**
 * Adapts this repository's HR fakes (a {@link PeopleStore} behind a vendor-shaped HTTP server) to
 * the shared connector contract's {@link HrFake} control surface, so `describeHrConnectorContract`
 * runs against each of them.
 */
import type { HrFake, HrFakeEmployee } from '../connectors/hris-contract.ts';
import type { FakeControls } from './hr-fake-server.ts';
import type { FakePerson, PeopleStore } from './hr-people.ts';

export interface ContractFakeParts {
  url: string;
  people: PeopleStore;
  controls: FakeControls;
  /** Throttles the next `count` data requests in the vendor's way. */
  throttleNext(count: number): void;
  expireTokens(): void;
  close(): Promise<void>;
  config: unknown;
  credentials: unknown;
  badCredentials: unknown;
  pageSize: number;
  /** The source field key (as the connector flattens it) of the fake's "shirt size" custom field. */
  customFieldKey: string;
}

/** A contract employee as one of our fake people. */
export function personFromContract(
  employee: HrFakeEmployee,
  customFieldKey: string,
  now: number,
): FakePerson {
  const hired = employee.hireDate;
  return {
    id: employee.id,
    employeeNumber: employee.employeeNumber,
    firstName: employee.firstName,
    lastName: employee.lastName,
    preferredName: null,
    email: employee.email,
    personalEmail: `${employee.id}@personal.test`,
    jobTitle: employee.jobTitle,
    level: 'L3',
    department: employee.department,
    division: 'Operations',
    team: employee.department,
    location: 'Berlin',
    costCenter: 'CC-100',
    managerId: employee.managerId ?? null,
    employmentType: 'FULL_TIME',
    status: employee.status === 'inactive' ? 'terminated' : 'active',
    hireDate: hired,
    terminationDate: employee.terminationDate ?? null,
    jobHistory: [{ effectiveDate: hired, jobTitle: employee.jobTitle, level: 'L3', reason: 'hire' }],
    customFields: customFieldsFromContract(employee.custom, customFieldKey),
    createdAt: Date.parse(hired) || now,
    // Seeded a day ago, so a change made after a read is the only one an increment returns.
    modifiedAt: now - 86_400_000,
  };
}

function customFieldsFromContract(
  custom: Record<string, string> | undefined,
  key: string,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(custom ?? {})) out[name === key ? 'shirt_size' : name] = value;
  return out;
}

export function contractFake(parts: ContractFakeParts): HrFake {
  const { people, controls } = parts;
  return {
    url: parts.url,
    config: parts.config,
    credentials: parts.credentials,
    badCredentials: parts.badCredentials,
    pageSize: parts.pageSize,
    customFieldKey: parts.customFieldKey,
    seed(employees) {
      const now = people.now();
      people.replaceAll(employees.map((employee) => personFromContract(employee, parts.customFieldKey, now)));
    },
    update(id, changes) {
      const patch: Partial<FakePerson> = {};
      for (const [key, value] of Object.entries(changes) as Array<[keyof HrFakeEmployee, unknown]>) {
        if (key === 'status') patch.status = value === 'inactive' ? 'terminated' : 'active';
        else if (key === 'custom') {
          patch.customFields = {
            ...people.get(id).customFields,
            ...customFieldsFromContract(value as Record<string, string>, parts.customFieldKey),
          };
        } else if (key !== 'id') (patch as Record<string, unknown>)[key] = value;
      }
      people.change(id, patch);
    },
    remove: (id) => people.remove(id),
    throttleNext: (count) => parts.throttleNext(count),
    expireTokens: () => parts.expireTokens(),
    breakAfter: (requests) => controls.breakAfter(requests),
    heal: () => controls.heal(),
    tick: (ms) => people.tick(ms),
    get stats() {
      return controls.stats;
    },
    close: parts.close,
  };
}
