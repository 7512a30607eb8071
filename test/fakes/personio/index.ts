/**
 * A fake of Personio's API v1 and v2 on one origin (shared/reference/openapi/personio-v1.yaml
 * and apis.md §2). API v1:
 * - `POST /v1/auth` with `{client_id, client_secret}` (JSON or form) → `{success, data:{token, expires_in}}`;
 *   more than 60 calls a minute → 429 and a 60 s cooldown;
 * - `GET /v1/company/employees` with `limit` (default 10, cut to 100), `offset`, `email`,
 *   `attributes[]`, `updated_since` (which ignores limit, offset and email); attributes wrapped as
 *   `{label, value, type, universal_id}`, relations nested, custom `dynamic_*` fields;
 * - `GET /v1/company/employees/attributes`;
 * - a missing token → 401, an unknown or expired one → 403; errors `{success:false, error:{code, message}}`;
 * - throttling: 429 with no rate-limit headers (300 requests/minute and 15/s per token when
 *   `rateLimit` is on, and on demand with `throttleNext`).
 *
 * API v2 (apis.md §2 "API v2", https://developer.personio.de/reference/get_v2-persons):
 * - `POST /v2/auth/token`, form-encoded `grant_type=client_credentials&client_id&client_secret
 *   [&scope]` → `{access_token, token_type:"Bearer", expires_in}` (same 60/min limit as v1's);
 * - `GET /v2/persons` with `limit` 1..50 (default 10; outside → 400), an opaque `cursor` (which
 *   carries the query it was issued for), `id`, `email`, `updated_at`, `updated_at.gt`,
 *   `updated_at.lt` (date-times; a bad one → 400); `_meta.links.next.href` while more remain;
 *   each person lists every custom attribute of the company (`value` null when unset);
 * - `GET /v2/persons/{id}/employments` → `{_data:[{id, status, supervisor, org_units, position,
 *   employment_start_date, termination}]}`; an unknown person → 404;
 * - a missing, unknown or expired token → 401; errors `{timestamp, trace_id, errors:[{title,
 *   details, type}]}`; throttling 429 in that shape (limits are not published: only on demand).
 * In v2 mode `breakAfter` counts `GET /v2/persons` pages (a page is one list call and one
 * employments call per person), then fails every data request.
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
  /** The API the contract's `url`/`config` point the connector at (default v1). */
  apiVersion?: 'v1' | 'v2';
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
/** v2 custom attributes carry an `id` and a `global_id`. */
const CUSTOM_FIELD_GLOBAL_ID = '24407';

export async function startPersonioFake(options: PersonioFakeOptions = {}): Promise<PersonioFake> {
  const clientId = options.clientId ?? 'personio-client';
  const clientSecret = options.clientSecret ?? 'personio-secret';
  const lifetime = options.tokenLifetimeSeconds ?? 86_400;
  const rateLimited = options.rateLimit ?? true;
  const apiVersion = options.apiVersion ?? 'v1';
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
    if (path.startsWith('/v2/')) return serveV2(request, path);
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

  // ---------------------------------------------------------------------------------------------
  // API v2
  // ---------------------------------------------------------------------------------------------

  const v2Tokens = new Map<string, number>();

  const v2Error = (status: number, title: string, details: string, type: string): FakeResponse => ({
    status,
    body: {
      timestamp: new Date(now()).toISOString(),
      trace_id: randomBytes(8).toString('hex'),
      errors: [{ title, details, type }],
    },
  });

  function serveV2(request: FakeRequest, path: string): FakeResponse {
    if (path === '/v2/auth/token' && request.method === 'POST') return issueV2Token(request);
    const persons = /^\/v2\/persons(?:\/([^/]+)\/employments)?$/.exec(path);
    if (!persons || request.method !== 'GET')
      return v2Error(404, 'Not Found', `No resource at ${request.method} ${path}.`, 'not_found');
    const header = String(request.headers.authorization ?? '');
    const token = /^Bearer (.+)$/i.exec(header)?.[1];
    const expiresAt = token ? v2Tokens.get(token) : undefined;
    if (!token || expiresAt === undefined || expiresAt <= now()) {
      return v2Error(401, 'Unauthorized', 'The access token is missing, invalid or expired.', 'unauthorized');
    }
    stats.dataRequests++;
    if (throttleBudget > 0) {
      throttleBudget--;
      stats.throttled++;
      return v2Error(429, 'Too Many Requests', 'Rate limit exceeded, retry later.', 'too_many_requests');
    }
    const isPage = persons[1] === undefined;
    if (breakAfter !== undefined && isPage) {
      if (breakAfter <= 0) broken = true;
      else breakAfter--;
    }
    if (broken) return v2Error(500, 'Internal Server Error', 'Something went wrong.', 'internal_error');
    return isPage ? listPersons(request) : listEmployments(decodeURIComponent(persons[1] as string));
  }

  function issueV2Token(request: FakeRequest): FakeResponse {
    const t = now();
    if (t < authCooldownUntil) return v2Error(429, 'Too Many Requests', 'Retry later.', 'too_many_requests');
    while (authCalls.length && (authCalls[0] as number) <= t - 60_000) authCalls.shift();
    authCalls.push(t);
    if (rateLimited && authCalls.length > 60) {
      authCooldownUntil = t + 60_000;
      return v2Error(429, 'Too Many Requests', 'Retry later.', 'too_many_requests');
    }
    if (!String(request.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
      return v2Error(400, 'Bad Request', 'The token request must be form-encoded.', 'invalid_request');
    }
    const body = readBody(request);
    if (body.grant_type !== 'client_credentials') {
      return v2Error(400, 'Bad Request', 'grant_type must be client_credentials.', 'unsupported_grant_type');
    }
    if (body.scope !== undefined && body.scope !== 'personio:persons:read') {
      return v2Error(400, 'Bad Request', `Scope ${String(body.scope)} is not granted.`, 'invalid_scope');
    }
    if (body.client_id !== clientId || body.client_secret !== clientSecret) {
      return v2Error(401, 'Unauthorized', 'Invalid client credentials.', 'invalid_client');
    }
    const token = `v2-${randomBytes(24).toString('hex')}`;
    v2Tokens.set(token, t + lifetime * 1000);
    stats.tokensIssued++;
    return { status: 200, body: { access_token: token, token_type: 'Bearer', expires_in: lifetime } };
  }

  interface PersonsQuery {
    offset: number;
    limit: number;
    ids: string[];
    emails: string[];
    updatedAt?: number;
    updatedAfter?: number;
    updatedBefore?: number;
  }

  function listPersons(request: FakeRequest): FakeResponse {
    const params = request.url.searchParams;
    const invalid = (details: string) => v2Error(400, 'Bad Request', details, 'validation_error');
    let state: PersonsQuery;
    const cursor = params.get('cursor');
    if (cursor !== null) {
      // A cursor carries the query it was issued for (its filters and its position).
      try {
        state = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as PersonsQuery;
      } catch {
        return invalid('The cursor is invalid.');
      }
      if (!Number.isInteger(state.offset)) return invalid('The cursor is invalid.');
    } else {
      state = { offset: 0, limit: 10, ids: params.getAll('id'), emails: params.getAll('email') };
      for (const [name, key] of [
        ['updated_at', 'updatedAt'],
        ['updated_at.gt', 'updatedAfter'],
        ['updated_at.lt', 'updatedBefore'],
      ] as const) {
        const value = params.get(name);
        if (value === null) continue;
        const at = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(value)
          ? Date.parse(value)
          : Number.NaN;
        if (Number.isNaN(at)) return invalid(`${name} must be an ISO 8601 date-time.`);
        state[key] = at;
      }
    }
    if (params.has('limit')) {
      const limit = Number(params.get('limit'));
      if (!Number.isInteger(limit) || limit < 1 || limit > 50)
        return invalid('limit must be an integer between 1 and 50.');
      state.limit = limit;
    }
    const matching = list().filter(
      (person) =>
        (!state.ids.length || state.ids.includes(person.id)) &&
        (!state.emails.length || state.emails.includes(person.email)) &&
        (state.updatedAt === undefined || person.modifiedAt === state.updatedAt) &&
        (state.updatedAfter === undefined || person.modifiedAt > state.updatedAfter) &&
        (state.updatedBefore === undefined || person.modifiedAt < state.updatedBefore),
    );
    const selected = matching.slice(state.offset, state.offset + state.limit);
    const origin = `http://${request.headers.host}`;
    const links: Record<string, { href: string }> = {
      self: { href: `${origin}${request.url.pathname}${request.url.search}` },
    };
    if (state.offset + state.limit < matching.length) {
      const next = Buffer.from(JSON.stringify({ ...state, offset: state.offset + state.limit })).toString(
        'base64url',
      );
      links.next = { href: `${origin}/v2/persons?limit=${state.limit}&cursor=${next}` };
    }
    return {
      status: 200,
      body: { _data: selected.map((person) => personV2(person, origin)), _meta: { links } },
    };
  }

  function listEmployments(personId: string): FakeResponse {
    const person = employees.get(personId);
    if (!person) return v2Error(404, 'Not Found', `Person ${personId} was not found.`, 'not_found');
    const departmentId = hashId(person.department);
    return {
      status: 200,
      body: {
        _data: [
          {
            id: employmentId(person),
            status: person.status.toUpperCase(),
            supervisor: person.managerId ? { id: person.managerId } : null,
            org_units: [
              { type: 'department', id: String(departmentId) },
              { type: 'team', id: String(departmentId + 1) },
            ],
            position: { title: person.jobTitle },
            employment_start_date: person.hireDate,
            termination: { termination_date: person.terminationDate ?? null },
            created_at: new Date(person.createdAt).toISOString(),
            updated_at: new Date(person.modifiedAt).toISOString(),
          },
        ],
        _meta: { links: {} },
      },
    };
  }

  function personV2(person: StoredEmployee, origin: string) {
    const custom = { [CUSTOM_FIELD]: null as string | null, ...person.custom };
    return {
      id: person.id,
      email: person.email,
      first_name: person.firstName,
      last_name: person.lastName,
      preferred_name: `${person.firstName} ${person.lastName}`,
      gender: 'DIVERSE',
      created_at: new Date(person.createdAt).toISOString(),
      updated_at: new Date(person.modifiedAt).toISOString(),
      custom_attributes: Object.entries(custom).map(([id, value]) => ({
        id,
        global_id: id === CUSTOM_FIELD ? CUSTOM_FIELD_GLOBAL_ID : null,
        value,
      })),
      employments: [{ id: employmentId(person) }],
      _meta: { links: { self: { href: `${origin}/v2/persons/${person.id}` } } },
    };
  }

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
    url: `${fake.origin}/${apiVersion}`,
    config:
      apiVersion === 'v2'
        ? { apiVersion: 'v2', baseUrl: `${fake.origin}/v2` }
        : { baseUrl: `${fake.origin}/v1` },
    credentials: { clientId, clientSecret },
    badCredentials: { clientId, clientSecret: 'wrong-secret' },
    pageSize: 10,
    customFieldKey: CUSTOM_FIELD,
    ...(apiVersion === 'v2' ? { canonicalDepartment: (name: string) => String(hashId(name)) } : {}),
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
      for (const token of v2Tokens.keys()) v2Tokens.set(token, 0);
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

/** A person's (single) employment id in v2. */
function employmentId(person: HrFakeEmployee): string {
  return String(hashId(`employment:${person.id}`));
}

function hashId(text: string): number {
  let hash = 0;
  for (const char of text) hash = (hash * 31 + char.charCodeAt(0)) % 1_000_000;
  return hash + 1000;
}
