/**
 * A fake of BambooHR's API (shared/reference/openapi/bamboohr-v1.yaml and apis.md §3), under
 * `/api/v1` (and the legacy `/api/gateway.php/{company}/v1`):
 * - HTTP Basic with the API key as user name (any password); a wrong key → 401 with
 *   `X-BambooHR-Error-Message` and an empty body;
 * - `Accept: application/json` or the answer is XML;
 * - `GET /employees/changed?since=` → `{latest, employees:{id:{id, action, lastChanged}}}` with
 *   Inserted/Updated/Deleted (deleted people stay as tombstones);
 * - `POST /reports/custom?format=JSON` → every status, only known fields (unknown ones silently
 *   dropped), `filters.employeeIds` / `filters.lastChanged`; `Content-Type` must be exactly
 *   `application/json` or the body is parsed as XML and fails 400; more than 400 fields → 400;
 *   empty dates come back as `0000-00-00`;
 * - `GET /employees/directory` → active employees only; 404 when empty;
 * - `GET /meta/fields`;
 * - throttling: 503 + Retry-After before 16 Sep 2026, 429 + Retry-After from then (`throttleMode`);
 * - training records and types under `/training/*` (HR write-back), answered by `./training.ts`
 *   after the checks above: `fake.training` holds them and the key owner's permissions.
 */
import type { HrFake, HrFakeEmployee } from '../../connectors/hris-contract.ts';
import { type FakeRequest, type FakeResponse, startFakeServer } from '../fake-server.ts';
import { BamboohrTraining, type BamboohrTrainingOptions } from './training.ts';

export interface BamboohrFakeOptions {
  company?: string;
  apiKey?: string;
  /** `429` (BambooHR from 16 Sep 2026, default) or `503` (before). */
  throttleStatus?: 429 | 503;
  /** Seconds in Retry-After when throttling. */
  retryAfterSeconds?: number;
  /** Training types that exist from the start. */
  training?: BamboohrTrainingOptions;
}

interface Stored extends HrFakeEmployee {
  createdAt: number;
  modifiedAt: number;
}

export interface BamboohrFake extends HrFake {
  readonly requests: Array<{
    method: string;
    path: string;
    query: string;
    body: string;
    contentType: string;
  }>;
  /** Training records, types and the key owner's training permissions. */
  readonly training: BamboohrTraining;
}

const CUSTOM_FIELD = 'customShirtSize';

/** Field aliases the fake knows, with their BambooHR type and label. */
const KNOWN_FIELDS: Record<string, { type: string; name: string; id: number }> = {
  employeeNumber: { id: 17, type: 'text', name: 'Employee #' },
  firstName: { id: 1, type: 'text', name: 'First Name' },
  lastName: { id: 2, type: 'text', name: 'Last Name' },
  preferredName: { id: 1358, type: 'text', name: 'Preferred Name' },
  displayName: { id: 4376, type: 'text', name: 'Display name' },
  workEmail: { id: 15, type: 'email', name: 'Work Email' },
  jobTitle: { id: 11, type: 'list', name: 'Job Title' },
  department: { id: 4, type: 'list', name: 'Department' },
  division: { id: 1355, type: 'list', name: 'Division' },
  location: { id: 5, type: 'list', name: 'Location' },
  supervisorEId: { id: 4029, type: 'employee', name: 'Supervisor EID' },
  status: { id: 59, type: 'status', name: 'Status' },
  employmentHistoryStatus: { id: 1360, type: 'list', name: 'Employment Status' },
  hireDate: { id: 9, type: 'date', name: 'Hire Date' },
  originalHireDate: { id: 1336, type: 'date', name: 'Original Hire Date' },
  terminationDate: { id: 1350, type: 'date', name: 'Termination Date' },
  [CUSTOM_FIELD]: { id: 4019, type: 'list', name: 'Shirt size' },
};

export async function startBamboohrFake(options: BamboohrFakeOptions = {}): Promise<BamboohrFake> {
  const company = options.company ?? 'acme';
  const apiKey = options.apiKey ?? 'bamboo-api-key-0123456789';
  const throttleStatus = options.throttleStatus ?? 429;
  const retryAfter = String(options.retryAfterSeconds ?? 2);
  const employees = new Map<string, Stored>();
  const tombstones = new Map<string, number>();
  const requests: BamboohrFake['requests'] = [];
  const training = new BamboohrTraining(options.training);
  const stats = { dataRequests: 0, throttled: 0, tokensIssued: 0 };
  let clockOffset = 0;
  let throttleBudget = 0;
  let breakAfter: number | undefined;
  let broken = false;
  const now = () => Date.now() + clockOffset;

  const fail = (status: number, message: string, headers: Record<string, string> = {}): FakeResponse => ({
    status,
    headers: { 'x-bamboohr-error-message': message, ...headers },
  });

  const fake = await startFakeServer((request) => {
    const legacy = new RegExp(`^/api/gateway\\.php/${company}/v1/`);
    const path = request.url.pathname.replace(legacy, '/api/v1/');
    requests.push({
      method: request.method,
      path,
      query: request.url.search,
      body: request.body,
      contentType: String(request.headers['content-type'] ?? ''),
    });
    if (!path.startsWith('/api/v1/')) return fail(404, 'Not found');
    const header = String(request.headers.authorization ?? '');
    const decoded = header.startsWith('Basic ')
      ? Buffer.from(header.slice(6), 'base64').toString('utf8')
      : '';
    if (decoded.split(':')[0] !== apiKey) return fail(401, 'Unauthorized');
    stats.dataRequests++;
    if (throttleBudget > 0) {
      throttleBudget--;
      stats.throttled++;
      return fail(throttleStatus, 'Too many requests', { 'retry-after': retryAfter });
    }
    if (breakAfter !== undefined) {
      if (breakAfter <= 0) broken = true;
      else breakAfter--;
    }
    if (broken) return fail(500, 'Internal server error');
    if (String(request.headers.accept ?? '') !== 'application/json') {
      return {
        status: 200,
        headers: { 'content-type': 'text/xml' },
        body: '<?xml version="1.0"?><response/>',
      };
    }
    const route = `${request.method} ${path.slice('/api/v1'.length)}`;
    switch (route) {
      case 'GET /employees/changed':
        return changed(request);
      case 'POST /reports/custom':
        return report(request);
      case 'GET /employees/directory':
        return directory();
      case 'GET /meta/fields':
        return {
          status: 200,
          body: Object.entries(KNOWN_FIELDS).map(([alias, field]) => ({
            id: field.id,
            name: field.name,
            type: field.type,
            alias,
          })),
        };
      default:
        return (
          training.handle(request.method, path.slice('/api/v1'.length), request, (id) => employees.has(id)) ??
          fail(404, 'Not found')
        );
    }
  });

  function changed(request: FakeRequest): FakeResponse {
    const since = request.url.searchParams.get('since');
    const at = since ? Date.parse(since) : Number.NaN;
    if (!since || Number.isNaN(at)) return fail(400, 'Invalid since parameter');
    const type = request.url.searchParams.get('type') ?? 'all';
    const result: Record<string, { id: string; action: string; lastChanged: string }> = {};
    let latest = 0;
    for (const employee of employees.values()) {
      if (employee.modifiedAt <= at) continue;
      const action = employee.createdAt > at ? 'Inserted' : 'Updated';
      if (type !== 'all' && type !== action.toLowerCase()) continue;
      result[employee.id] = { id: employee.id, action, lastChanged: iso(employee.modifiedAt) };
      latest = Math.max(latest, employee.modifiedAt);
    }
    for (const [id, deletedAt] of tombstones) {
      if (deletedAt <= at || (type !== 'all' && type !== 'deleted')) continue;
      result[id] = { id, action: 'Deleted', lastChanged: iso(deletedAt) };
      latest = Math.max(latest, deletedAt);
    }
    // PHP's empty associative array serialises as [].
    return {
      status: 200,
      body: { latest: latest ? iso(latest) : null, employees: Object.keys(result).length ? result : [] },
    };
  }

  function report(request: FakeRequest): FakeResponse {
    if (request.headers['content-type'] !== 'application/json') return fail(400, 'Malformed XML');
    if ((request.url.searchParams.get('format') ?? '').toLowerCase() !== 'json')
      return fail(404, 'Report format not found');
    let body: { fields?: unknown; filters?: { employeeIds?: unknown; lastChanged?: { value?: string } } };
    try {
      body = JSON.parse(request.body);
    } catch {
      return fail(400, 'Malformed JSON');
    }
    const requested = Array.isArray(body.fields) ? body.fields.map(String) : [];
    if (requested.length > 400) return fail(400, 'Too many fields');
    const fields = requested.filter((field) => field in KNOWN_FIELDS);
    let selected = [...employees.values()].sort((a, b) => Number(a.id) - Number(b.id));
    const ids = body.filters?.employeeIds;
    if (Array.isArray(ids)) {
      const wanted = new Set(ids.map(String));
      selected = selected.filter((employee) => wanted.has(employee.id));
    }
    const changedSince = body.filters?.lastChanged?.value
      ? Date.parse(body.filters.lastChanged.value)
      : undefined;
    if (changedSince !== undefined)
      selected = selected.filter((employee) => employee.modifiedAt > changedSince);
    return {
      status: 200,
      body: {
        title: 'Switchboard sync',
        fields: fields.map((field) => ({
          id: field,
          type: KNOWN_FIELDS[field]?.type,
          name: KNOWN_FIELDS[field]?.name,
        })),
        employees: selected.map((employee) => {
          const values = fieldValues(employee);
          return {
            id: employee.id,
            ...Object.fromEntries(fields.map((field) => [field, values[field] ?? null])),
          };
        }),
      },
    };
  }

  function directory(): FakeResponse {
    const active = [...employees.values()].filter((employee) => employee.status === 'active');
    if (!active.length) return { status: 404, headers: { 'x-bamboohr-error-message': 'Directory is empty' } };
    const keys = [
      'displayName',
      'firstName',
      'lastName',
      'preferredName',
      'jobTitle',
      'workEmail',
      'department',
      'division',
      'location',
      'supervisorEId',
    ];
    return {
      status: 200,
      body: {
        fields: keys.map((key) => ({
          id: key,
          type: KNOWN_FIELDS[key]?.type ?? 'text',
          name: KNOWN_FIELDS[key]?.name ?? key,
        })),
        employees: active.map((employee) => {
          const values = fieldValues(employee);
          return {
            id: employee.id,
            ...Object.fromEntries(keys.map((key) => [key, values[key] ?? null])),
            workPhone: null,
            mobilePhone: null,
            photoUrl: `https://images.bamboohr.com/${company}/photos/${employee.id}.jpg`,
            canUploadPhoto: 1,
          };
        }),
      },
    };
  }

  return {
    url: `${fake.origin}/api/v1`,
    config: { companyDomain: company, baseUrl: `${fake.origin}/api/v1` },
    credentials: { apiKey },
    badCredentials: { apiKey: 'wrong-key-0123456789' },
    pageSize: 10,
    customFieldKey: CUSTOM_FIELD,
    stats,
    requests,
    training,
    seed(people) {
      // Seeded people were last changed a day ago: before any read a test makes.
      const t = now() - 86_400_000;
      for (const person of people) {
        employees.set(person.id, { ...person, createdAt: t, modifiedAt: t });
        tombstones.delete(person.id);
      }
    },
    update(id, changes) {
      const current = employees.get(id);
      if (!current) throw new Error(`bamboohr fake: no employee ${id}`);
      employees.set(id, { ...current, ...changes, modifiedAt: now() });
    },
    remove(id) {
      employees.delete(id);
      tombstones.set(id, now());
    },
    throttleNext(count) {
      throttleBudget += count;
    },
    expireTokens() {
      // Basic auth: nothing expires.
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

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, '+00:00');
}

/** One employee's report values, as BambooHR formats them (strings; empty dates `0000-00-00`). */
function fieldValues(employee: Stored): Record<string, string | null> {
  return {
    employeeNumber: employee.employeeNumber,
    firstName: employee.firstName,
    lastName: employee.lastName,
    preferredName: null,
    displayName: `${employee.firstName} ${employee.lastName}`,
    workEmail: employee.email,
    jobTitle: employee.jobTitle,
    department: employee.department,
    division: 'North America',
    location: 'Lindon, Utah',
    supervisorEId: employee.managerId ?? null,
    status: employee.status === 'active' ? 'Active' : 'Inactive',
    employmentHistoryStatus: 'Full-Time',
    hireDate: employee.hireDate,
    originalHireDate: employee.hireDate,
    terminationDate: employee.terminationDate ?? '0000-00-00',
    [CUSTOM_FIELD]: employee.custom?.[CUSTOM_FIELD] ?? null,
  };
}
