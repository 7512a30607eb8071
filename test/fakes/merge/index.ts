/**
 * Fake Merge unified HRIS API for one linked account (apis.md §10):
 *
 *   GET /api/hris/v1/employees        cursor paging {next, previous, results}; page_size ≤ 100;
 *                                     modified_after, include_deleted_data, employment_status,
 *                                     expand=employments,manager,team,work_location,groups
 *   GET /api/hris/v1/employees/{id}
 *   GET /api/hris/v1/employments      modified_after, employee_id
 *   GET /api/hris/v1/teams
 *   GET /api/hris/v1/sync-status      per-model sync state (tests drive it)
 *   GET /api/hris/v1/account-details
 *
 * Headers `Authorization: Bearer <api key>` and `X-Account-Token`. Faithful where it bites:
 * `next` is a bare cursor that carries only the position (filters must be sent again); job titles
 * live on Employment objects, whose changes do not touch the Employee's `modified_at`; deleted
 * employees are flagged `remote_was_deleted` and hidden unless `include_deleted_data=true`; rate
 * limit per linked account per minute (Launch plan: 100) → 429 with Retry-After; more than 20
 * failed requests from one address in 10 s → a temporary block. Errors are `{"detail": "..."}`.
 */
import { randomUUID } from 'node:crypto';
import {
  FakeControls,
  type FakeRequest,
  type FakeResponse,
  type Fault,
  MinuteWindow,
  parseBearer,
  startFakeHttpServer,
} from '../hr-fake-server.ts';
import type { FakePerson } from '../hr-people.ts';
import { PeopleStore, type PeopleStoreOptions } from '../hr-people.ts';

export interface FakeMergeOptions extends PeopleStoreOptions {
  apiKey?: string;
  accountToken?: string;
  /** Requests per minute per linked account (default 100, Merge's Launch plan). */
  rateLimitPerMinute?: number;
  /** Custom field keys the linked account's HR system has (rendered null when empty). */
  customFieldKeys?: string[];
}

export type MergeSyncStatus = 'SYNCING' | 'DONE' | 'FAILED' | 'DISABLED' | 'PAUSED' | 'PARTIALLY_SYNCED';

export interface FakeMerge {
  url: string;
  /** `{url}/api/hris/v1`. */
  baseUrl: string;
  apiKey: string;
  accountToken: string;
  people: PeopleStore;
  controls: FakeControls;
  requests: Awaited<ReturnType<typeof startFakeHttpServer>>['requests'];
  rateLimit: MinuteWindow;
  /** The Employee model's sync state at Merge (initial sync running, done, failed...). */
  syncStatus: { status: MergeSyncStatus; isInitialSync: boolean; lastSyncResult: MergeSyncStatus };
  fail(fault: Fault): void;
  close(): Promise<void>;
}

/** FakePerson fields that live on Merge's Employment object rather than the Employee. */
const EMPLOYMENT_FIELDS = new Set<keyof FakePerson>(['jobTitle', 'employmentType', 'jobHistory', 'level']);

const MERGE_EMPLOYMENT_TYPE = {
  FULL_TIME: 'FULL_TIME',
  PART_TIME: 'PART_TIME',
  CONTRACTOR: 'CONTRACTOR',
  INTERN: 'INTERN',
} as const;

export async function startFakeMerge(options: FakeMergeOptions = {}): Promise<FakeMerge> {
  const apiKey = options.apiKey ?? `merge_prod_${randomUUID().replace(/-/g, '')}`;
  const accountToken = options.accountToken ?? `acct_${randomUUID().replace(/-/g, '')}`;
  const people = new PeopleStore(options);
  const controls = new FakeControls();
  const rateLimit = new MinuteWindow(options.rateLimitPerMinute ?? 100);
  const customFieldKeys = options.customFieldKeys ?? ['shirt_size', 'competencies'];
  const syncStatus: FakeMerge['syncStatus'] = {
    status: 'DONE',
    isInitialSync: false,
    lastSyncResult: 'DONE',
  };
  const failures: number[] = [];
  let blockedUntil = 0;
  const deletedAt = new Map<string, { at: number; person: FakePerson }>();
  const companyId = randomUUID();
  const ids = new Map<string, string>();
  const mergeId = (key: string) => {
    let id = ids.get(key);
    if (!id) {
      id = randomUUID();
      ids.set(key, id);
    }
    return id;
  };

  const detail = (status: number, message: string, headers: Record<string, string> = {}): FakeResponse => ({
    status,
    headers,
    body: { detail: message },
  });
  const iso = (ms: number) => new Date(ms).toISOString();
  const dateTime = (date: string | null) => (date ? `${date}T00:00:00Z` : null);

  /** Latest change time per person and model, from the change log (seeded people: their modifiedAt). */
  function modifiedAt(person: FakePerson, model: 'employee' | 'employment'): number {
    let latest = people.seededModifiedAt.get(person.id) ?? person.createdAt;
    for (const change of people.changes) {
      if (change.kind !== 'person' || change.id !== person.id || change.action !== 'upsert') continue;
      const created = change.fields.includes('createdAt');
      const relevant = change.fields.some((field) =>
        model === 'employment'
          ? EMPLOYMENT_FIELDS.has(field)
          : !EMPLOYMENT_FIELDS.has(field) && field !== 'modifiedAt',
      );
      if (created || relevant) latest = Math.max(latest, change.at);
    }
    return latest;
  }

  function employments(person: FakePerson, deleted = false): Array<Record<string, unknown>> {
    const at = iso(modifiedAt(person, 'employment'));
    return person.jobHistory
      .filter((entry) => entry.reason !== 'termination')
      .map((entry, index) => ({
        id: mergeId(`${person.id}/employment/${index}`),
        remote_id: `${person.employeeNumber}-${index + 1}`,
        employee: person.id,
        job_title: entry.jobTitle,
        pay_rate: null,
        pay_period: null,
        pay_frequency: null,
        pay_currency: null,
        pay_group: null,
        flsa_status: null,
        effective_date: dateTime(entry.effectiveDate),
        employment_type: MERGE_EMPLOYMENT_TYPE[person.employmentType],
        remote_was_deleted: deleted,
        created_at: iso(person.createdAt),
        modified_at: at,
        field_mappings: { organization_defined_targets: {}, linked_account_defined_targets: {} },
        remote_data: null,
      }));
  }

  function team(person: FakePerson) {
    return {
      id: mergeId(`team/${person.team}`),
      remote_id: person.team.toLowerCase().replace(/\W+/g, '-'),
      name: person.team,
      parent_team: null,
      remote_was_deleted: false,
      created_at: iso(0),
      modified_at: iso(0),
    };
  }

  function groups(person: FakePerson) {
    return [
      ['DEPARTMENT', person.department],
      ['BUSINESS_UNIT', person.division],
      ['COST_CENTER', person.costCenter],
    ].map(([type, name]) => ({
      id: mergeId(`group/${type}/${name}`),
      remote_id: String(name).toLowerCase().replace(/\W+/g, '-'),
      parent_group: null,
      name,
      type,
      remote_was_deleted: false,
      created_at: iso(0),
      modified_at: iso(0),
    }));
  }

  function location(person: FakePerson) {
    return {
      id: mergeId(`location/${person.location}`),
      remote_id: person.location.toLowerCase(),
      name: person.location,
      phone_number: null,
      street_1: null,
      street_2: null,
      city: person.location === 'Remote' ? null : person.location,
      state: null,
      zip_code: null,
      country: null,
      location_type: 'WORK',
      remote_was_deleted: false,
      created_at: iso(0),
      modified_at: iso(0),
    };
  }

  function renderEmployee(
    person: FakePerson,
    expand: Set<string>,
    deleted?: number,
  ): Record<string, unknown> {
    const manager = person.managerId ? people.people.get(person.managerId) : undefined;
    const custom: Record<string, string | null> = {};
    for (const key of customFieldKeys) custom[key] = person.customFields[key] ?? null;
    return {
      id: person.id,
      remote_id: person.employeeNumber,
      created_at: iso(person.createdAt),
      modified_at: iso(deleted ?? modifiedAt(person, 'employee')),
      employee_number: person.employeeNumber,
      company: companyId,
      first_name: person.firstName,
      last_name: person.lastName,
      preferred_name: person.preferredName,
      display_full_name: `${person.preferredName ?? person.firstName} ${person.lastName}`,
      username: person.email.split('@')[0],
      groups: expand.has('groups') ? groups(person) : groups(person).map((g) => g.id),
      work_email: person.email,
      personal_email: person.personalEmail,
      mobile_phone_number: null,
      employments: expand.has('employments')
        ? employments(person, deleted !== undefined)
        : employments(person).map((e) => e.id),
      home_location: null,
      work_location: expand.has('work_location') ? location(person) : location(person).id,
      manager: manager
        ? expand.has('manager')
          ? renderEmployee(manager, new Set())
          : manager.id
        : person.managerId && !manager
          ? person.managerId
          : null,
      team: expand.has('team') ? team(person) : team(person).id,
      pay_group: null,
      ssn: null,
      gender: null,
      ethnicity: null,
      marital_status: null,
      date_of_birth: null,
      hire_date: dateTime(person.hireDate),
      start_date: dateTime(person.jobHistory[0]?.effectiveDate ?? person.hireDate),
      remote_created_at: iso(person.createdAt),
      employment_status: person.status === 'terminated' ? 'INACTIVE' : 'ACTIVE',
      termination_date: dateTime(person.terminationDate),
      avatar: null,
      custom_fields: custom,
      remote_was_deleted: deleted !== undefined,
      field_mappings: { organization_defined_targets: {}, linked_account_defined_targets: {} },
      remote_data: null,
    };
  }

  function parseExpand(request: FakeRequest): Set<string> | FakeResponse {
    const expand = new Set(
      (request.query.get('expand') ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    );
    const allowed = new Set([
      'employments',
      'manager',
      'team',
      'work_location',
      'home_location',
      'groups',
      'company',
      'pay_group',
    ]);
    for (const key of expand) {
      if (!allowed.has(key)) return detail(400, `Invalid expand value: ${key}.`);
    }
    return expand;
  }

  function parseDate(request: FakeRequest, name: string): number | undefined | FakeResponse {
    const value = request.query.get(name);
    if (value === null) return undefined;
    const ms = Date.parse(value);
    if (Number.isNaN(ms)) return { status: 400, body: { [name]: ['Enter a valid date/time.'] } };
    return ms;
  }

  /** Cursor paging over rows sorted by id: the cursor holds the position only. */
  function paged(request: FakeRequest, rows: Array<{ id: string; render: () => unknown }>): FakeResponse {
    const cursor = request.query.get('cursor');
    let after = '';
    if (cursor) {
      const decoded = Buffer.from(cursor, 'base64url').toString('utf8');
      if (!decoded.startsWith('p=')) return detail(400, 'Invalid cursor.');
      after = decoded.slice(2);
    }
    const requested = Number(request.query.get('page_size') ?? 100);
    const size = Number.isInteger(requested) && requested > 0 ? Math.min(requested, 100) : 100;
    const sorted = rows.filter((row) => row.id > after).sort((a, b) => (a.id < b.id ? -1 : 1));
    const page = sorted.slice(0, size);
    return {
      status: 200,
      body: {
        next: sorted.length > page.length ? Buffer.from(`p=${page.at(-1)?.id}`).toString('base64url') : null,
        previous: cursor ? Buffer.from(`p=${after}`).toString('base64url') : null,
        results: page.map((row) => row.render()),
      },
    };
  }

  function employees(request: FakeRequest): FakeResponse {
    const expand = parseExpand(request);
    if (!(expand instanceof Set)) return expand;
    const after = parseDate(request, 'modified_after');
    if (typeof after === 'object') return after;
    const includeDeleted = request.query.get('include_deleted_data') === 'true';
    const status = request.query.get('employment_status');
    const rows: Array<{ id: string; render: () => unknown }> = [];
    for (const person of people.list()) {
      if (after !== undefined && modifiedAt(person, 'employee') <= after) continue;
      if (status && (person.status === 'terminated' ? 'INACTIVE' : 'ACTIVE') !== status) continue;
      rows.push({ id: person.id, render: () => renderEmployee(person, expand) });
    }
    if (includeDeleted) {
      for (const [id, entry] of deletedAt) {
        if (after !== undefined && entry.at <= after) continue;
        rows.push({ id, render: () => renderEmployee(entry.person, expand, entry.at) });
      }
    }
    return paged(request, rows);
  }

  function employmentList(request: FakeRequest): FakeResponse {
    const after = parseDate(request, 'modified_after');
    if (typeof after === 'object') return after;
    const employee = request.query.get('employee_id');
    const rows: Array<{ id: string; render: () => unknown }> = [];
    for (const person of people.list()) {
      if (employee && person.id !== employee) continue;
      if (after !== undefined && modifiedAt(person, 'employment') <= after) continue;
      for (const employment of employments(person))
        rows.push({ id: employment.id as string, render: () => employment });
    }
    return paged(request, rows);
  }

  const server = await startFakeHttpServer((request) => {
    const now = people.now();
    if (now < blockedUntil)
      return detail(429, 'Too many failed requests from this IP address; try again later.', {
        'retry-after': String(Math.ceil((blockedUntil - now) / 1000)),
      });
    const response = route(request);
    if (response.status >= 400 && response.status !== 429) {
      failures.push(now);
      while (failures.length && (failures[0] as number) < now - 10_000) failures.shift();
      if (failures.length > 20) blockedUntil = now + 60_000;
    }
    return response;
  });

  function route(request: FakeRequest): FakeResponse {
    if (!request.path.startsWith('/api/hris/v1/')) return detail(404, 'Not found.');
    if (parseBearer(request.headers.authorization) !== apiKey) return detail(401, 'Invalid API key.');
    if (request.headers['x-account-token'] !== accountToken) {
      return detail(401, 'Invalid X-Account-Token: no linked account matches it.');
    }
    const over = rateLimit.hit(accountToken, people.now());
    if (over !== undefined) {
      controls.stats.throttled += 1;
      return detail(429, `Request was throttled. Expected available in ${over} seconds.`, {
        'retry-after': String(over),
      });
    }
    const fault = controls.admit(request.path);
    if (fault?.kind === 'broken') return detail(500, 'A server error occurred.');
    if (fault?.kind === 'throttle') {
      return detail(
        429,
        `Request was throttled. Expected available in ${fault.retryAfterSeconds ?? 60} seconds.`,
        {
          'retry-after': String(fault.retryAfterSeconds ?? 60),
        },
      );
    }
    if (fault?.kind === 'unavailable') return detail(503, 'Service temporarily unavailable.');
    if (request.method !== 'GET') return detail(405, `Method "${request.method}" not allowed.`);
    const path = request.path.replace(/\/+$/, '');
    if (path === '/api/hris/v1/employees') return employees(request);
    if (path === '/api/hris/v1/employments') return employmentList(request);
    const one = /^\/api\/hris\/v1\/employees\/([^/]+)$/.exec(path);
    if (one) {
      const expand = parseExpand(request);
      if (!(expand instanceof Set)) return expand;
      const person = people.people.get(decodeURIComponent(one[1] as string));
      if (person) return { status: 200, body: renderEmployee(person, expand) };
      const gone = deletedAt.get(decodeURIComponent(one[1] as string));
      if (gone && request.query.get('include_deleted_data') === 'true') {
        return { status: 200, body: renderEmployee(gone.person, expand, gone.at) };
      }
      return detail(404, 'Not found.');
    }
    if (path === '/api/hris/v1/teams') {
      const teams = new Map(people.list().map((p) => [p.team, team(p)]));
      return paged(
        request,
        [...teams.values()].map((t) => ({ id: t.id, render: () => t })),
      );
    }
    if (path === '/api/hris/v1/sync-status') {
      const started = iso(people.now() - 3_600_000);
      return {
        status: 200,
        body: {
          next: null,
          previous: null,
          results: ['Employee', 'Employment', 'Team', 'Location', 'Group'].map((model) => ({
            model_name: model,
            model_id: `hris.${model}`,
            last_sync_start: started,
            last_sync_finished: syncStatus.status === 'SYNCING' ? null : iso(people.now() - 3_000_000),
            next_sync_start: iso(people.now() + 3_600_000),
            last_sync_result: syncStatus.lastSyncResult,
            status: syncStatus.status,
            is_initial_sync: syncStatus.isInitialSync,
            selective_sync_configurations_usage: null,
          })),
        },
      };
    }
    if (path === '/api/hris/v1/account-details') {
      return {
        status: 200,
        body: {
          id: randomUUID(),
          integration: 'BambooHR',
          integration_slug: 'bamboohr',
          category: 'hris',
          end_user_origin_id: 'acme',
          end_user_organization_name: 'Acme Corp',
          end_user_email_address: 'it@acme.test',
          status: 'COMPLETE',
          webhook_listener_url: '',
          is_duplicate: false,
          account_type: 'PRODUCTION',
        },
      };
    }
    return detail(404, 'Not found.');
  }

  const originalReplaceAll = people.replaceAll.bind(people);
  people.replaceAll = (roster, replaceOptions) => {
    deletedAt.clear();
    originalReplaceAll(roster, replaceOptions);
  };
  const originalRemove = people.remove.bind(people);
  // Merge keeps deleted employees, flagged, for include_deleted_data.
  people.remove = (id, removeOptions) => {
    const person = people.get(id);
    originalRemove(id, removeOptions);
    deletedAt.set(id, { at: people.now(), person });
  };

  return {
    url: server.url,
    baseUrl: `${server.url}/api/hris/v1`,
    apiKey,
    accountToken,
    people,
    controls,
    requests: server.requests,
    rateLimit,
    syncStatus,
    fail: (fault) => controls.fail(fault),
    close: server.close,
  };
}
