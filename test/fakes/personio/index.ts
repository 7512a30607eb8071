/**
 * A fake of Personio's API v1 (shared/reference/openapi/personio-v1.yaml and apis.md §2):
 * - `POST /v1/auth` with `{client_id, client_secret}` (JSON or form) → `{success, data:{token, expires_in}}`;
 *   more than 60 calls a minute → 429 and a 60 s cooldown;
 * - `GET /v1/company/employees` with `limit` (default 10, cut to 100), `offset`, `email`,
 *   `attributes[]`, `updated_since` (which ignores limit, offset and email); attributes wrapped as
 *   `{label, value, type, universal_id}`, relations nested, custom `dynamic_*` fields;
 * - `GET /v1/company/employees/attributes`;
 * - a missing token → 401, an unknown or expired one → 403; errors `{success:false, error:{code, message}}`;
 * - throttling: 429 with no rate-limit headers (300 requests/minute and 15/s per token when
 *   `rateLimit` is on, and on demand with `throttleNext`).
 */
import { randomBytes } from 'node:crypto';
import type { HrFake, HrFakeEmployee } from '../../connectors/hris-contract.ts';
import { type FakeRequest, type FakeResponse, readBody, startFakeServer } from '../fake-server.ts';

export interface PersonioFakeOptions {
  clientId?: string;
  clientSecret?: string;
  /** Enforce Personio's published limits (default true; the bench turns it off to measure us, not them). */
  rateLimit?: boolean;
  /** Seconds a token lives (expires_in). */
  tokenLifetimeSeconds?: number;
}

interface StoredEmployee extends HrFakeEmployee {
  createdAt: number;
  modifiedAt: number;
}

export interface PersonioFake extends HrFake {
  /** Requests by path, for assertions. */
  readonly requests: Array<{ method: string; path: string; query: string }>;
  /** Seeds without keeping a request log entry per employee (bench). */
  employeeCount(): number;
}

const CUSTOM_FIELD = 'dynamic_24407';

export async function startPersonioFake(options: PersonioFakeOptions = {}): Promise<PersonioFake> {
  const clientId = options.clientId ?? 'personio-client';
  const clientSecret = options.clientSecret ?? 'personio-secret';
  const lifetime = options.tokenLifetimeSeconds ?? 86_400;
  const rateLimited = options.rateLimit ?? true;
  const employees = new Map<string, StoredEmployee>();
  const serialized = new Map<string, string>();
  let sorted: StoredEmployee[] | undefined;
  const tokens = new Map<string, number>();
  const requests: PersonioFake['requests'] = [];
  const stats = { dataRequests: 0, throttled: 0, tokensIssued: 0 };
  let clockOffset = 0;
  let throttleBudget = 0;
  let breakAfter: number | undefined;
  let broken = false;
  const authCalls: number[] = [];
  let authCooldownUntil = 0;
  const dataCalls = new Map<string, number[]>();
  const now = () => Date.now() + clockOffset;

  const list = () => {
    sorted ??= [...employees.values()].sort((a, b) => Number(a.id) - Number(b.id));
    return sorted;
  };
  const error = (status: number, message: string, headers?: Record<string, string>): FakeResponse => ({
    status,
    ...(headers ? { headers } : {}),
    body: { success: false, error: { code: status, message } },
  });

  function authenticate(request: FakeRequest): FakeResponse | undefined {
    const header = String(request.headers.authorization ?? '');
    if (!header) return error(401, 'Missing authorization header.');
    const token = /^Bearer (.+)$/i.exec(header)?.[1];
    const expiresAt = token ? tokens.get(token) : undefined;
    if (!token || expiresAt === undefined || expiresAt <= now())
      return error(403, 'The given token is invalid.');
    return undefined;
  }

  function rateLimit(request: FakeRequest): FakeResponse | undefined {
    if (throttleBudget > 0) {
      throttleBudget--;
      stats.throttled++;
      return error(429, 'Too Many Requests');
    }
    if (!rateLimited) return undefined;
    const key = String(request.headers.authorization);
    const t = now();
    const calls = (dataCalls.get(key) ?? []).filter((at) => at > t - 60_000);
    const lastSecond = calls.filter((at) => at > t - 1000).length;
    if (calls.length >= 300 || lastSecond >= 15) {
      stats.throttled++;
      dataCalls.set(key, calls);
      return error(429, 'Too Many Requests');
    }
    calls.push(t);
    dataCalls.set(key, calls);
    return undefined;
  }

  function issueToken(request: FakeRequest): FakeResponse {
    const t = now();
    if (t < authCooldownUntil) return error(429, 'Too Many Requests');
    while (authCalls.length && (authCalls[0] as number) <= t - 60_000) authCalls.shift();
    authCalls.push(t);
    if (rateLimited && authCalls.length > 60) {
      authCooldownUntil = t + 60_000;
      return error(429, 'Too Many Requests');
    }
    const body = readBody(request);
    if (body.client_id !== clientId || body.client_secret !== clientSecret) {
      return error(401, 'Wrong credentials');
    }
    const token = `papi-${randomBytes(24).toString('hex')}`;
    tokens.set(token, t + lifetime * 1000);
    stats.tokensIssued++;
    return {
      status: 200,
      body: { success: true, data: { token, expires_in: lifetime, scope: 'employees:read' } },
    };
  }

  function listEmployees(request: FakeRequest): FakeResponse {
    const query = request.url.searchParams;
    const attributes = query.getAll('attributes[]');
    const updatedSince = query.get('updated_since');
    let selected: StoredEmployee[];
    let offset = 0;
    let limit = 10;
    if (updatedSince !== null) {
      // `updated_since` makes Personio ignore email, limit and offset.
      const since = parsePersonioTime(updatedSince);
      if (since === undefined) return error(422, 'The updated_since parameter has an invalid format.');
      selected = list().filter((employee) => employee.modifiedAt > since);
      limit = selected.length;
    } else {
      const email = query.get('email');
      const all = email ? list().filter((employee) => employee.email === email) : list();
      if (query.has('limit')) limit = Number(query.get('limit'));
      if (query.has('offset')) offset = Number(query.get('offset'));
      if (!Number.isInteger(limit) || limit < 1)
        return error(422, 'The limit parameter must be a positive integer.');
      if (!Number.isInteger(offset) || offset < 0)
        return error(422, 'The offset parameter must be a non-negative integer.');
      limit = Math.min(limit, 100);
      selected = all.slice(offset, offset + limit);
      return page(selected, all.length, offset, limit, attributes);
    }
    return page(selected, selected.length, offset, limit, attributes);
  }

  function page(
    selected: StoredEmployee[],
    total: number,
    offset: number,
    limit: number,
    attributes: string[],
  ): FakeResponse {
    const metadata = {
      total_elements: total,
      current_page: limit ? Math.floor(offset / limit) : 0,
      total_pages: limit ? Math.ceil(total / limit) : 0,
    };
    // Each employee's JSON is built once per change (the bench serves 100,000 of them).
    const data = selected.map((employee) => {
      if (attributes.length)
        return JSON.stringify({ type: 'Employee', attributes: project(wrap(employee), attributes) });
      let json = serialized.get(employee.id);
      if (json === undefined) {
        json = JSON.stringify({ type: 'Employee', attributes: wrap(employee) });
        serialized.set(employee.id, json);
      }
      return json;
    });
    return {
      status: 200,
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: `{"success":true,"metadata":${JSON.stringify(metadata)},"offset":${offset},"limit":${limit},"data":[${data.join(',')}]}`,
    };
  }

  const fake = await startFakeServer((request) => {
    const path = request.url.pathname;
    requests.push({ method: request.method, path, query: request.url.search });
    if (path === '/v1/auth' && request.method === 'POST') return issueToken(request);
    if (!path.startsWith('/v1/company/employees')) return error(404, 'Not found.');
    const refused = authenticate(request);
    if (refused) return refused;
    stats.dataRequests++;
    const throttled = rateLimit(request);
    if (throttled) return throttled;
    if (breakAfter !== undefined) {
      if (breakAfter <= 0) broken = true;
      else breakAfter--;
    }
    if (broken) return error(500, 'Internal server error.');
    if (path === '/v1/company/employees' && request.method === 'GET') return listEmployees(request);
    if (path === '/v1/company/employees/attributes' && request.method === 'GET') return attributesList();
    return error(404, 'Not found.');
  });

  function attributesList(): FakeResponse {
    const custom = new Set<string>();
    for (const employee of employees.values())
      for (const key of Object.keys(employee.custom ?? {})) custom.add(key);
    custom.add(CUSTOM_FIELD);
    const standard = [
      ['first_name', 'First name'],
      ['last_name', 'Last name'],
      ['preferred_name', 'Name (preferred)'],
      ['email', 'Email'],
      ['status', 'Status'],
      ['position', 'Position'],
      ['supervisor', 'Supervisor'],
      ['employment_type', 'Employment type'],
      ['hire_date', 'Hire date'],
      ['termination_date', 'Termination date'],
      ['department', 'Department'],
      ['office', 'Office'],
      ['team', 'Team'],
      ['subcompany', 'Subcompany'],
      ['cost_centers', 'Cost center'],
    ];
    return {
      status: 200,
      body: {
        success: true,
        data: [
          ...standard.map(([key, label]) => ({
            key,
            label,
            type: 'standard',
            universal_id: key,
            options: [],
          })),
          ...[...custom].map((key) => ({
            key,
            label: key === CUSTOM_FIELD ? 'Shirt size' : key,
            type: 'standard',
            universal_id: null,
            options: [],
          })),
        ],
      },
    };
  }

  const touch = () => {
    sorted = undefined;
  };

  return {
    url: `${fake.origin}/v1`,
    config: { baseUrl: `${fake.origin}/v1` },
    credentials: { clientId, clientSecret },
    badCredentials: { clientId, clientSecret: 'wrong-secret' },
    pageSize: 10,
    customFieldKey: CUSTOM_FIELD,
    stats,
    requests,
    employeeCount: () => employees.size,
    seed(people) {
      // Seeded people were last changed a day ago: before any read a test makes.
      const t = now() - 86_400_000;
      for (const person of people) {
        employees.set(person.id, { ...person, createdAt: t, modifiedAt: t });
        serialized.delete(person.id);
      }
      touch();
    },
    update(id, changes) {
      const current = employees.get(id);
      if (!current) throw new Error(`personio fake: no employee ${id}`);
      employees.set(id, { ...current, ...changes, modifiedAt: now() });
      serialized.delete(id);
      touch();
    },
    remove(id) {
      employees.delete(id);
      serialized.delete(id);
      touch();
    },
    throttleNext(count) {
      throttleBudget += count;
    },
    expireTokens() {
      for (const token of tokens.keys()) tokens.set(token, 0);
    },
    breakAfter(count) {
      breakAfter = count;
      broken = false;
    },
    heal() {
      broken = false;
      breakAfter = undefined;
    },
    tick(ms) {
      clockOffset += ms;
    },
    close: () => fake.close(),
  };
}

/** Personio's `updated_since`: `2022-12-24T08:15:30` (read as UTC here) or `YYYY-MM-DD`. */
function parsePersonioTime(value: string): number | undefined {
  const match = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?)?$/.exec(value);
  if (!match) return undefined;
  const withZone = match[1] && !match[3] ? `${value}Z` : match[1] ? value : `${value}T00:00:00Z`;
  const at = Date.parse(withZone);
  return Number.isNaN(at) ? undefined : at;
}

function attribute(label: string, value: unknown, type = 'standard', universalId: string | null = null) {
  return { label, value, type, universal_id: universalId };
}

/** The Personio attribute map of one employee, in the spec's wrapped shape. */
function wrap(employee: StoredEmployee): Record<string, unknown> {
  const relation = (type: string, id: number, name: string) => ({ type, attributes: { id, name } });
  const departmentId = hashId(employee.department);
  const attributes: Record<string, unknown> = {
    id: attribute('ID', Number(employee.id), 'integer', 'id'),
    first_name: attribute('First name', employee.firstName, 'standard', 'first_name'),
    last_name: attribute('Last name', employee.lastName, 'standard', 'last_name'),
    preferred_name: attribute(
      'Name (preferred)',
      `${employee.firstName} ${employee.lastName}`,
      'standard',
      'preferred_name',
    ),
    email: attribute('Email', employee.email, 'standard', 'email'),
    gender: attribute('Gender', 'diverse', 'standard', 'gender'),
    status: attribute('Status', employee.status, 'standard', 'status'),
    position: attribute('Position', employee.jobTitle, 'standard', 'position'),
    supervisor: attribute(
      'Supervisor',
      employee.managerId
        ? {
            type: 'Employee',
            attributes: { id: attribute('ID', Number(employee.managerId), 'integer', 'id') },
          }
        : null,
      'standard',
      'supervisor',
    ),
    employment_type: attribute('Employment type', 'internal', 'standard', 'employment_type'),
    weekly_working_hours: attribute('Weekly hours', '40', 'standard', 'weekly_working_hours'),
    hire_date: attribute('Hire date', `${employee.hireDate}T00:00:00+01:00`, 'date', 'hire_date'),
    termination_date: attribute(
      'Termination date',
      employee.terminationDate ? `${employee.terminationDate}T00:00:00+01:00` : null,
      'date',
      'termination_date',
    ),
    created_at: attribute('created_at', new Date(employee.createdAt).toISOString(), 'date', 'created_at'),
    last_modified_at: attribute(
      'Last modified',
      new Date(employee.modifiedAt).toISOString(),
      'date',
      'last_modified_at',
    ),
    subcompany: attribute('Subcompany', relation('Subcompany', 7033, 'Acme GmbH'), 'standard', 'subcompany'),
    office: attribute('Office', relation('Office', 131014, 'Munich'), 'standard', 'office'),
    department: attribute(
      'Department',
      relation('Department', departmentId, employee.department),
      'standard',
      'department',
    ),
    cost_centers: attribute(
      'Cost center',
      [{ type: 'CostCenter', attributes: { id: 82957, name: `CC-${employee.department}`, percentage: 100 } }],
      'standard',
      'cost_centers',
    ),
    team: attribute(
      'Team',
      relation('Team', departmentId + 1, `${employee.department} team`),
      'standard',
      'team',
    ),
  };
  for (const [key, value] of Object.entries(employee.custom ?? {})) {
    attributes[key] = attribute(key === CUSTOM_FIELD ? 'Shirt size' : key, value, 'standard', null);
  }
  return attributes;
}

function project(attributes: Record<string, unknown>, only: string[]): Record<string, unknown> {
  if (!only.length) return attributes;
  const keep = new Set(['id', ...only]);
  return Object.fromEntries(Object.entries(attributes).filter(([key]) => keep.has(key)));
}

function hashId(text: string): number {
  let hash = 0;
  for (const char of text) hash = (hash * 31 + char.charCodeAt(0)) % 1_000_000;
  return hash + 1000;
}
