/**
 * The people behind the HR and directory fakes: a deterministic, vendor-neutral roster (names,
 * emails, jobs, levels, a management tree, job history with promotions, custom fields) and groups,
 * with the mutations tests need (hire, change, terminate, delete, group membership) and a change
 * log the fakes read for their incremental APIs (Graph delta, Merge `modified_after`).
 * Each fake renders these people in its own vendor's shape.
 */

export type EmploymentType = 'FULL_TIME' | 'PART_TIME' | 'CONTRACTOR' | 'INTERN';

export interface JobHistoryEntry {
  /** YYYY-MM-DD. */
  effectiveDate: string;
  jobTitle: string;
  level: string;
  reason: 'hire' | 'promotion' | 'transfer' | 'data_change' | 'termination';
}

export interface FakePerson {
  /** Stable internal id; fakes derive their own vendor ids from it. */
  id: string;
  employeeNumber: string;
  firstName: string;
  lastName: string;
  preferredName: string | null;
  email: string;
  personalEmail: string;
  jobTitle: string;
  level: string;
  department: string;
  division: string;
  team: string;
  location: string;
  costCenter: string;
  managerId: string | null;
  employmentType: EmploymentType;
  status: 'active' | 'leave' | 'terminated';
  /** YYYY-MM-DD. */
  hireDate: string;
  terminationDate: string | null;
  jobHistory: JobHistoryEntry[];
  customFields: Record<string, string>;
  createdAt: number;
  modifiedAt: number;
}

export interface FakeGroup {
  id: string;
  name: string;
  email: string;
  description: string;
  /** Person ids and group ids (nested groups). */
  memberIds: string[];
  modifiedAt: number;
}

export type ChangeEntry = { version: number /** Fake clock time of the change. */; at: number } & (
  | { kind: 'person'; id: string; action: 'upsert'; fields: (keyof FakePerson)[] }
  | { kind: 'person'; id: string; action: 'delete'; hard: boolean }
  | { kind: 'group'; id: string; action: 'upsert'; added: string[]; removed: string[] }
  | { kind: 'group'; id: string; action: 'delete' }
);

type ChangeInput = ChangeEntry extends infer E
  ? E extends unknown
    ? Omit<E, 'version' | 'at'>
    : never
  : never;

const FIRST = [
  'Ada',
  'Ben',
  'Chloé',
  'Dmitri',
  'Elif',
  'Farah',
  'Gustav',
  'Hana',
  'Ibrahim',
  'Jana',
  'Kofi',
  'Lena',
  'Mateo',
  'Nora',
  'Oskar',
  'Priya',
  'Quentin',
  'Rosa',
  'Sven',
  'Tomoko',
  'Umar',
  'Vera',
  'Wen',
  'Yusuf',
];
const LAST = [
  'Abara',
  'Berg',
  'Castillo',
  'Dubois',
  'Eriksen',
  'Fischer',
  'García',
  'Hoffmann',
  'Ivanova',
  'Jensen',
  'Kowalski',
  'López',
  'Müller',
  'Nakamura',
  'Okafor',
  'Petrov',
  'Quist',
  'Rossi',
  'Schmidt',
  'Tanaka',
];
const DEPARTMENTS: { department: string; division: string; teams: string[]; titles: string[] }[] = [
  {
    department: 'Engineering',
    division: 'Product & Technology',
    teams: ['Platform', 'Payments', 'Mobile'],
    titles: ['Software Engineer', 'Engineering Manager'],
  },
  {
    department: 'Sales',
    division: 'Go To Market',
    teams: ['DACH', 'Nordics', 'UK'],
    titles: ['Account Executive', 'Sales Manager'],
  },
  {
    department: 'People',
    division: 'Operations',
    teams: ['Talent', 'People Partners'],
    titles: ['People Partner', 'Head of People'],
  },
  {
    department: 'Finance',
    division: 'Operations',
    teams: ['Accounting', 'FP&A'],
    titles: ['Accountant', 'Finance Manager'],
  },
  {
    department: 'Customer Success',
    division: 'Go To Market',
    teams: ['Onboarding', 'Support'],
    titles: ['Customer Success Manager', 'Support Lead'],
  },
];
const LOCATIONS = ['Berlin', 'London', 'Stockholm', 'Madrid', 'Remote'];
const LEVELS = ['L1', 'L2', 'L3', 'L4', 'L5', 'L6', 'L7'];
const TYPES: EmploymentType[] = [
  'FULL_TIME',
  'FULL_TIME',
  'FULL_TIME',
  'FULL_TIME',
  'PART_TIME',
  'CONTRACTOR',
  'INTERN',
];
/** Reports per manager in the generated tree. */
const SPAN = 8;

function pad(n: number, width = 5): string {
  return String(n).padStart(width, '0');
}

function isoDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Person `index` of a generated roster: the same index always gives the same person. */
export function generatePerson(index: number, options: { domain: string; now: number }): FakePerson {
  const dept = DEPARTMENTS[index % DEPARTMENTS.length] as (typeof DEPARTMENTS)[number];
  const firstName = FIRST[index % FIRST.length] as string;
  const lastName = LAST[Math.floor(index / FIRST.length) % LAST.length] as string;
  const ascii = (s: string) =>
    s
      .normalize('NFD')
      .replace(/[\u0300-\u036f]/g, '')
      .toLowerCase();
  const levelIndex = index === 0 ? 6 : (index * 7) % 5;
  const title = dept.titles[index % 9 === 0 ? 1 : 0] as string;
  const day = 86_400_000;
  const hireMs = Date.UTC(2015, 0, 5) + ((index * 37) % 3000) * day;
  const history: JobHistoryEntry[] = [
    {
      effectiveDate: isoDate(hireMs),
      jobTitle: dept.titles[0] as string,
      level: LEVELS[Math.max(0, levelIndex - 1)] as string,
      reason: 'hire',
    },
  ];
  // Every third person has been promoted since hire; the promotion date varies with the index.
  if (index % 3 === 0) {
    const promotedMs = Math.min(options.now - day, hireMs + (200 + ((index * 13) % 900)) * day);
    history.push({
      effectiveDate: isoDate(promotedMs),
      jobTitle: title,
      level: LEVELS[levelIndex] as string,
      reason: 'promotion',
    });
  } else if (history[0]) {
    history[0].level = LEVELS[levelIndex] as string;
    history[0].jobTitle = title;
  }
  const customFields: Record<string, string> = {
    shirt_size: ['S', 'M', 'L', 'XL'][index % 4] as string,
    competencies: ['coaching,negotiation', 'sql,typescript', 'public speaking'][index % 3] as string,
  };
  return {
    id: `p${pad(index)}`,
    employeeNumber: `E${pad(index + 1)}`,
    firstName,
    lastName,
    preferredName: index % 11 === 0 ? `${firstName.slice(0, 3)}` : null,
    email: `${ascii(firstName)}.${ascii(lastName)}.${index}@${options.domain}`,
    personalEmail: `${ascii(firstName)}${index}@example.net`,
    jobTitle: title,
    level: LEVELS[levelIndex] as string,
    department: dept.department,
    division: dept.division,
    team: dept.teams[index % dept.teams.length] as string,
    location: LOCATIONS[index % LOCATIONS.length] as string,
    costCenter: `CC-${100 + (index % DEPARTMENTS.length) * 10}`,
    managerId: index === 0 ? null : `p${pad(Math.floor((index - 1) / SPAN))}`,
    employmentType: index === 0 ? 'FULL_TIME' : (TYPES[index % TYPES.length] as EmploymentType),
    status: 'active',
    hireDate: isoDate(hireMs),
    terminationDate: null,
    jobHistory: history,
    customFields,
    createdAt: hireMs,
    modifiedAt: options.now - ((index * 997) % 100_000) * 1000 - 365 * day,
  };
}

export interface PeopleStoreOptions {
  /** How many employees to generate (default 25). */
  employees?: number;
  /** Email domain (default example.com). */
  domain?: string;
  /** Clock for modifiedAt and dates (default Date.now); tests may pin it. */
  now?: () => number;
  /** Generate one group per department plus a nested "All staff" group (default true). */
  groups?: boolean;
}

/** Mutable roster with a change log. */
export class PeopleStore {
  readonly people = new Map<string, FakePerson>();
  readonly groups = new Map<string, FakeGroup>();
  /** Every change, in order; `version` increases by one per entry. */
  readonly changes: ChangeEntry[] = [];
  /** Each person's modifiedAt as seeded or hired, before any later change. */
  readonly seededModifiedAt = new Map<string, number>();
  readonly domain: string;
  readonly #clock: () => number;
  #offset = 0;
  #revision = 0;
  #nextIndex: number;
  #nextGroup = 1;

  constructor(options: PeopleStoreOptions = {}) {
    this.domain = options.domain ?? 'example.com';
    this.#clock = options.now ?? Date.now;
    const count = options.employees ?? 25;
    const now = this.now();
    const people: FakePerson[] = [];
    for (let i = 0; i < count; i++) people.push(generatePerson(i, { domain: this.domain, now }));
    this.#nextIndex = count;
    this.replaceAll(people, { groups: options.groups ?? true });
  }

  /** The fake's clock: the configured clock plus whatever `tick` added. */
  now(): number {
    return this.#clock() + this.#offset;
  }

  /** Moves the fake's clock forward (later changes are strictly after an earlier read). */
  tick(ms: number): void {
    this.#offset += ms;
  }

  /**
   * Replaces the whole roster (a test's own seed), forgetting the change log, and regenerates the
   * groups: one per department plus a nested "All staff" group holding the department groups.
   */
  replaceAll(people: FakePerson[], options: { groups?: boolean } = {}): void {
    this.people.clear();
    this.groups.clear();
    this.changes.length = 0;
    this.#revision += 1;
    this.seededModifiedAt.clear();
    for (const person of people) {
      this.people.set(person.id, person);
      this.seededModifiedAt.set(person.id, person.modifiedAt);
    }
    if (options.groups ?? true) {
      const now = this.now();
      const departments = [...new Set(people.map((p) => p.department))].sort();
      const departmentGroups: string[] = [];
      for (const department of departments) {
        const slug = department.toLowerCase().replace(/[^a-z]+/g, '-');
        const members = people.filter((p) => p.department === department).map((p) => p.id);
        departmentGroups.push(this.#addGroup(department, `${slug}@${this.domain}`, members, now).id);
      }
      this.#addGroup('All staff', `all-staff@${this.domain}`, departmentGroups, now);
    }
  }

  get version(): number {
    return this.changes.length;
  }

  /** Increases with every mutation (including a reseed): a cache key for fakes' derived views. */
  get revision(): number {
    return this.#revision;
  }

  list(): FakePerson[] {
    return [...this.people.values()];
  }

  get(id: string): FakePerson {
    const person = this.people.get(id);
    if (!person) throw new Error(`no fake person ${id}`);
    return person;
  }

  /** Adds a new generated employee, with overrides; returns it. */
  hire(overrides: Partial<FakePerson> = {}): FakePerson {
    const now = this.now();
    const generated = generatePerson(this.#nextIndex++, { domain: this.domain, now });
    const person: FakePerson = {
      ...generated,
      hireDate: new Date(now).toISOString().slice(0, 10),
      jobHistory: [
        {
          effectiveDate: new Date(now).toISOString().slice(0, 10),
          jobTitle: overrides.jobTitle ?? generated.jobTitle,
          level: overrides.level ?? generated.level,
          reason: 'hire',
        },
      ],
      createdAt: now,
      ...overrides,
      modifiedAt: now,
    };
    this.people.set(person.id, person);
    this.seededModifiedAt.set(person.id, now);
    this.#record({
      kind: 'person',
      id: person.id,
      action: 'upsert',
      fields: Object.keys(person) as (keyof FakePerson)[],
    });
    return person;
  }

  /** Changes fields of an employee. A new title or level is recorded as a promotion. */
  change(id: string, patch: Partial<Omit<FakePerson, 'id'>>): FakePerson {
    const person = this.get(id);
    const now = this.now();
    const fields = (Object.keys(patch) as (keyof FakePerson)[]).filter(
      (key) => JSON.stringify(person[key]) !== JSON.stringify(patch[key as keyof typeof patch]),
    );
    Object.assign(person, patch);
    if ((fields.includes('jobTitle') || fields.includes('level')) && !patch.jobHistory) {
      person.jobHistory = [
        ...person.jobHistory,
        {
          effectiveDate: new Date(now).toISOString().slice(0, 10),
          jobTitle: person.jobTitle,
          level: person.level,
          reason: 'promotion',
        },
      ];
      fields.push('jobHistory');
    }
    if (fields.length === 0) return person;
    person.modifiedAt = now;
    fields.push('modifiedAt');
    this.#record({ kind: 'person', id, action: 'upsert', fields });
    return person;
  }

  /** The employee leaves: status terminated with a termination date (default today). */
  terminate(id: string, date?: string): FakePerson {
    const terminationDate = date ?? new Date(this.now()).toISOString().slice(0, 10);
    const person = this.get(id);
    return this.change(id, {
      status: 'terminated',
      terminationDate,
      jobHistory: [
        ...person.jobHistory,
        {
          effectiveDate: terminationDate,
          jobTitle: person.jobTitle,
          level: person.level,
          reason: 'termination',
        },
      ],
    });
  }

  /**
   * The record disappears from the source. `hard` distinguishes a permanent delete from a soft
   * one where the vendor has it (Graph's deleted items: `@removed.reason` "deleted" vs "changed").
   */
  remove(id: string, options: { hard?: boolean } = {}): void {
    this.get(id);
    this.people.delete(id);
    for (const group of this.groups.values()) {
      if (group.memberIds.includes(id)) this.removeMember(group.id, id);
    }
    this.#record({ kind: 'person', id, action: 'delete', hard: options.hard ?? false });
  }

  createGroup(name: string, memberIds: string[] = []): FakeGroup {
    const group = this.#addGroup(
      name,
      `${name.toLowerCase().replace(/[^a-z0-9]+/g, '-')}@${this.domain}`,
      memberIds,
      this.now(),
    );
    this.#record({ kind: 'group', id: group.id, action: 'upsert', added: [...memberIds], removed: [] });
    return group;
  }

  addMember(groupId: string, memberId: string): void {
    const group = this.#group(groupId);
    if (group.memberIds.includes(memberId)) return;
    group.memberIds.push(memberId);
    group.modifiedAt = this.now();
    this.#record({ kind: 'group', id: groupId, action: 'upsert', added: [memberId], removed: [] });
  }

  removeMember(groupId: string, memberId: string): void {
    const group = this.#group(groupId);
    if (!group.memberIds.includes(memberId)) return;
    group.memberIds = group.memberIds.filter((m) => m !== memberId);
    group.modifiedAt = this.now();
    this.#record({ kind: 'group', id: groupId, action: 'upsert', added: [], removed: [memberId] });
  }

  deleteGroup(groupId: string): void {
    this.#group(groupId);
    this.groups.delete(groupId);
    for (const group of this.groups.values()) {
      if (group.memberIds.includes(groupId)) this.removeMember(group.id, groupId);
    }
    this.#record({ kind: 'group', id: groupId, action: 'delete' });
  }

  /** Person ids reachable from a group through nested groups (transitive membership). */
  transitivePeople(groupId: string, seen = new Set<string>()): string[] {
    const out: string[] = [];
    for (const member of this.#group(groupId).memberIds) {
      if (this.people.has(member)) {
        if (!seen.has(member)) out.push(member);
        seen.add(member);
      } else if (this.groups.has(member) && !seen.has(member)) {
        seen.add(member);
        out.push(...this.transitivePeople(member, seen));
      }
    }
    return out;
  }

  /** Changes after `version`, collapsed to the last state per object. */
  changesSince(version: number): ChangeEntry[] {
    return this.changes.slice(version);
  }

  #record(change: ChangeInput): void {
    this.#revision += 1;
    this.changes.push({ ...change, version: this.version + 1, at: this.now() } as ChangeEntry);
  }

  #group(id: string): FakeGroup {
    const group = this.groups.get(id);
    if (!group) throw new Error(`no fake group ${id}`);
    return group;
  }

  #addGroup(name: string, email: string, memberIds: string[], now: number): FakeGroup {
    const group: FakeGroup = {
      id: `g${pad(this.#nextGroup++, 3)}`,
      name,
      email,
      description: `${name} (generated)`,
      memberIds: [...memberIds],
      modifiedAt: now,
    };
    this.groups.set(group.id, group);
    return group;
  }
}
