/**
 * BambooHR training records and types, the write surface for HR write-back (flow-of-work.md §5,
 * the BambooHR row), per the Training paths of `shared/reference/openapi/bamboohr-v1.yaml`
 * (BambooHR's own OpenAPI file in bhr-api-python). The BambooHR fake (`./index.ts`) routes every
 * `/api/v1/training/*` request here after its own checks (Basic auth with the API key, `Accept:
 * application/json`, throttling, injected outages), so auth and faults behave as for the rest of it.
 *
 * - `GET /training/type` → an object keyed by type id (`[]` when there is none: PHP's empty array);
 *   `POST /training/type` `{name*, renewable, frequency, required, dueFromHireDate, category{id|name},
 *   linkUrl, description, allowEmployeesToMarkComplete}` → 201 TrainingType ("When 'renewable' is
 *   true, 'frequency' … must also be provided", "'dueFromHireDate' … only valid when 'required' is
 *   true": 400 otherwise); `PUT /training/type/{id}` → 200; `DELETE` → 400 while records use it.
 *   All need the key owner's access to training settings (`canManageTrainingSettings`, else 403).
 * - `GET /training/record/employee/{employeeId}[?type=]` → object keyed by record id, or `[]`.
 * - `POST /training/record/employee/{employeeId}` `{completed* (yyyy-mm-dd), type* (an existing
 *   type id), instructor, hours, credits, notes, cost{currency, amount}}` → 201 TrainingRecord with
 *   `type` as an integer; an unknown type is refused 400 ("This must be an existing training type
 *   ID": types must exist first); an unknown employee 404.
 * - `PUT /training/record/{id}` `{completed*, …}` → **201** (as the spec says) with `type` as a
 *   string; 405 for a record that "cannot be updated" (`lockRecord(id)`).
 * - `DELETE /training/record/{id}` → 405 "Unable to delete training record." by default (the quirk
 *   the reference warns of: a client must not rely on deleting); `refuseDeletes = false` → 200.
 * - Adding or editing records needs the key owner's "add trainings" permission (`canAddTrainings`,
 *   else 403). Numbers come back as strings (`hours`, `credits`), `cost` as `"100.00 USD"`.
 * Errors are the status with `X-BambooHR-Error-Message` and an empty body, like the rest of the
 * fake (the spec gives these responses no schema); the messages are the fake's wording.
 */
import type { FakeRequest, FakeResponse } from '../fake-server.ts';

export interface TrainingCategory {
  id: number;
  name: string;
}

export interface TrainingType {
  id: number;
  name: string;
  renewable: boolean;
  frequency: number | null;
  dueFromHireDate: number | null;
  required: boolean | null;
  category: TrainingCategory | null;
  linkUrl: string | null;
  description: string | null;
  allowEmployeesToMarkComplete: boolean;
}

export interface TrainingRecord {
  id: number;
  employeeId: string;
  /** yyyy-mm-dd. */
  completed: string;
  type: number;
  instructor: string | null;
  hours: string | null;
  credits: string | null;
  notes: string | null;
  /** `"100.00 USD"`. */
  cost: string | null;
}

export interface BamboohrTrainingOptions {
  /** Types that exist from the start (default: none; the hub must create or map them). */
  types?: Array<Pick<TrainingType, 'name'> & Partial<TrainingType>>;
}

const fail = (status: number, message: string): FakeResponse => ({
  status,
  headers: { 'x-bamboohr-error-message': message },
});

export class BamboohrTraining {
  readonly types = new Map<number, TrainingType>();
  readonly categories = new Map<number, TrainingCategory>();
  readonly records = new Map<number, TrainingRecord>();
  /** The API key's owner has the "add trainings" permission (records). */
  canAddTrainings = true;
  /** The API key's owner has access to training settings (types, categories). */
  canManageTrainingSettings = true;
  /** DELETE of a record answers 405 (default) instead of 200. */
  refuseDeletes = true;
  #locked = new Set<number>();
  #nextId = 1;

  constructor(options: BamboohrTrainingOptions = {}) {
    for (const type of options.types ?? []) this.addType(type);
  }

  addType(type: Pick<TrainingType, 'name'> & Partial<TrainingType>): TrainingType {
    const created: TrainingType = {
      id: type.id ?? this.#nextId++,
      name: type.name,
      renewable: type.renewable ?? false,
      frequency: type.frequency ?? null,
      dueFromHireDate: type.dueFromHireDate ?? null,
      required: type.required ?? null,
      category: type.category ?? null,
      linkUrl: type.linkUrl ?? null,
      description: type.description ?? null,
      allowEmployeesToMarkComplete: type.allowEmployeesToMarkComplete ?? false,
    };
    this.#nextId = Math.max(this.#nextId, created.id + 1);
    this.types.set(created.id, created);
    return created;
  }

  /** PUT of this record answers 405 ("Training record could not be updated"). */
  lockRecord(id: number): void {
    this.#locked.add(id);
  }

  recordsOf(employeeId: string): TrainingRecord[] {
    return [...this.records.values()].filter((record) => record.employeeId === employeeId);
  }

  /**
   * Answers a request whose path (below `/api/v1`) starts with `/training/`, or undefined for any
   * other path. `employeeExists` tells whether the fake knows an employee id.
   */
  handle(
    method: string,
    path: string,
    request: FakeRequest,
    employeeExists: (id: string) => boolean,
  ): FakeResponse | undefined {
    if (!path.startsWith('/training/')) return undefined;
    const parts = path.split('/').filter(Boolean).slice(1);
    const [resource, first, second] = parts;
    if (resource === 'type' && parts.length <= 2) return this.#typeRoute(method, first, request);
    if (resource === 'category' && parts.length <= 2) return this.#categoryRoute(method, first, request);
    if (resource === 'record' && first === 'employee' && second && parts.length === 3) {
      return this.#employeeRecords(method, second, request, employeeExists);
    }
    if (resource === 'record' && first && parts.length === 2)
      return this.#record(method, Number(first), request);
    return fail(404, 'Not found');
  }

  #typeRoute(method: string, id: string | undefined, request: FakeRequest): FakeResponse {
    if (!this.canManageTrainingSettings)
      return fail(403, 'The API key owner has no access to training settings');
    if (id === undefined) {
      if (method === 'GET') return { status: 200, body: keyed([...this.types.values()]) };
      if (method !== 'POST') return fail(405, 'Method not allowed');
      const body = jsonBody(request);
      if (!body) return fail(400, 'The body must be JSON');
      if (typeof body.name !== 'string' || !body.name.trim()) return fail(400, "'name' is required");
      const checked = this.#typeFields(body, { renewable: false, required: null });
      if ('status' in checked) return checked;
      return { status: 201, body: this.addType({ name: body.name.trim(), ...checked }) };
    }
    const type = this.types.get(Number(id));
    if (!type) return fail(404, 'Training type does not exist');
    if (method === 'PUT') {
      const body = jsonBody(request);
      if (!body) return fail(400, 'The body must be JSON');
      if (body.name !== undefined && (typeof body.name !== 'string' || !body.name.trim()))
        return fail(400, "'name' cannot be empty");
      const checked = this.#typeFields(body, type);
      if ('status' in checked) return checked;
      Object.assign(type, checked, typeof body.name === 'string' ? { name: body.name.trim() } : {});
      return { status: 200, body: type };
    }
    if (method === 'DELETE') {
      if ([...this.records.values()].some((record) => record.type === type.id)) {
        return fail(400, 'Remove the employee trainings of this type first');
      }
      this.types.delete(type.id);
      return { status: 200 };
    }
    return fail(405, 'Method not allowed');
  }

  /** The optional type fields of a POST or PUT, checked against the spec's rules. */
  #typeFields(
    body: Record<string, unknown>,
    current: Pick<TrainingType, 'renewable' | 'required'>,
  ): Partial<TrainingType> | FakeResponse {
    const out: Partial<TrainingType> = {};
    const renewable = body.renewable === undefined ? current.renewable : truthy(body.renewable);
    if (body.renewable !== undefined) out.renewable = renewable;
    if (body.frequency !== undefined && body.frequency !== null) {
      const frequency = Number(body.frequency);
      if (!Number.isInteger(frequency) || frequency <= 0)
        return fail(400, "'frequency' must be a number of months");
      if (!renewable) return fail(400, "'frequency' is not valid for a training that is not renewable");
      out.frequency = frequency;
    } else if (renewable && body.renewable !== undefined) {
      return fail(400, "A renewable training needs 'frequency' (months between renewals)");
    }
    const required = body.required === undefined ? current.required : truthy(body.required);
    if (body.required !== undefined) out.required = required;
    if (body.dueFromHireDate !== undefined && body.dueFromHireDate !== null) {
      if (!required) return fail(400, "'dueFromHireDate' is only valid for a required training");
      const due = body.dueFromHireDate as { amount?: unknown } | number | string;
      const days = typeof due === 'object' ? Number(due.amount) : Number(due);
      if (!Number.isInteger(days) || days < 0) return fail(400, "'dueFromHireDate' must be a number of days");
      out.dueFromHireDate = days;
    }
    if (body.category !== undefined) {
      const category = body.category as { id?: unknown; name?: unknown } | null | '';
      if (!category) out.category = null;
      else if (category.id !== undefined && category.id !== '') {
        const found = this.categories.get(Number(category.id));
        if (!found) return fail(400, 'Training category does not exist');
        out.category = found;
      } else if (typeof category.name === 'string' && category.name.trim()) {
        out.category = this.#category(category.name.trim());
      }
    }
    for (const key of ['linkUrl', 'description'] as const) {
      if (typeof body[key] === 'string') out[key] = body[key];
    }
    if (body.allowEmployeesToMarkComplete !== undefined)
      out.allowEmployeesToMarkComplete = truthy(body.allowEmployeesToMarkComplete);
    return out;
  }

  #category(name: string): TrainingCategory {
    const existing = [...this.categories.values()].find((category) => category.name === name);
    if (existing) return existing;
    const created = { id: this.#nextId++, name };
    this.categories.set(created.id, created);
    return created;
  }

  #categoryRoute(method: string, id: string | undefined, request: FakeRequest): FakeResponse {
    if (!this.canManageTrainingSettings)
      return fail(403, 'The API key owner has no access to training settings');
    if (id !== undefined) return fail(405, 'Method not allowed');
    if (method === 'GET') return { status: 200, body: keyed([...this.categories.values()]) };
    if (method !== 'POST') return fail(405, 'Method not allowed');
    const body = jsonBody(request);
    if (!body || typeof body.name !== 'string' || !body.name.trim()) return fail(400, "'name' is required");
    return { status: 201, body: this.#category(body.name.trim()) };
  }

  #employeeRecords(
    method: string,
    employeeId: string,
    request: FakeRequest,
    employeeExists: (id: string) => boolean,
  ): FakeResponse {
    if (!employeeExists(employeeId)) return fail(404, 'Employee not found');
    if (method === 'GET') {
      const type = request.url.searchParams.get('type');
      const records = this.recordsOf(employeeId).filter(
        (record) => type === null || String(record.type) === type,
      );
      return { status: 200, body: keyed(records.map(listed)) };
    }
    if (method !== 'POST') return fail(405, 'Method not allowed');
    if (!this.canAddTrainings) return fail(403, 'The API key owner may not add trainings for this employee');
    const body = jsonBody(request);
    if (!body) return fail(400, 'The body must be JSON');
    if (body.type === undefined || body.type === null || body.type === '')
      return fail(400, "'type' is required");
    const type = Number(body.type);
    if (!Number.isInteger(type) || !this.types.has(type)) {
      return fail(400, `Training type ${String(body.type)} does not exist: create it first`);
    }
    const fields = recordFields(body);
    if ('status' in fields) return fields;
    const record: TrainingRecord = {
      id: this.#nextId++,
      employeeId,
      type,
      instructor: null,
      hours: null,
      credits: null,
      notes: null,
      cost: null,
      ...fields,
    };
    this.records.set(record.id, record);
    return { status: 201, body: record };
  }

  #record(method: string, id: number, request: FakeRequest): FakeResponse {
    const record = this.records.get(id);
    if (!record) return fail(404, 'Training record does not exist');
    if (!this.canAddTrainings) return fail(403, 'The API key owner may not edit trainings for this employee');
    if (method === 'PUT') {
      if (this.#locked.has(id)) return fail(405, 'Training record could not be updated');
      const body = jsonBody(request);
      if (!body) return fail(400, 'The body must be JSON');
      const fields = recordFields(body);
      if ('status' in fields) return fields;
      Object.assign(record, fields);
      return { status: 201, body: listed(record) };
    }
    if (method === 'DELETE') {
      if (this.refuseDeletes) return fail(405, 'Unable to delete training record.');
      this.records.delete(id);
      return { status: 200 };
    }
    return fail(405, 'Method not allowed');
  }
}

/** `completed` (required) and the optional fields a record's POST or PUT body carries. */
type RecordFields = Pick<TrainingRecord, 'completed'> &
  Partial<Pick<TrainingRecord, 'instructor' | 'hours' | 'credits' | 'notes' | 'cost'>>;

function recordFields(body: Record<string, unknown>): RecordFields | FakeResponse {
  if (!isDate(body.completed)) return fail(400, "'completed' is required, in yyyy-mm-dd format");
  const out: RecordFields = { completed: body.completed };
  for (const key of ['hours', 'credits'] as const) {
    if (body[key] === undefined) continue;
    if (body[key] === null || body[key] === '') {
      out[key] = null;
      continue;
    }
    const value = Number(body[key]);
    if (!Number.isFinite(value) || value < 0) return fail(400, `'${key}' must be a non-negative number`);
    out[key] = String(value);
  }
  for (const key of ['instructor', 'notes'] as const) {
    if (body[key] === undefined) continue;
    if (body[key] !== null && typeof body[key] !== 'string') return fail(400, `'${key}' must be a string`);
    out[key] = body[key] as string | null;
  }
  if (body.cost !== undefined) {
    if (body.cost === null) out.cost = null;
    else {
      const cost = body.cost as { currency?: unknown; amount?: unknown };
      if (typeof cost.currency !== 'string' || !/^[A-Z]{3}$/.test(cost.currency)) {
        return fail(400, "'cost.currency' must be an ISO 4217 code");
      }
      if (!/^\d+(\.\d+)?$/.test(String(cost.amount)))
        return fail(400, "'cost.amount' must be a decimal string");
      out.cost = `${Number(cost.amount).toFixed(2)} ${cost.currency}`;
    }
  }
  return out;
}

/** A record as list and update answers show it: `type` as a string. */
function listed(record: TrainingRecord): Omit<TrainingRecord, 'type'> & { type: string } {
  return { ...record, type: String(record.type) };
}

/** `{ "<id>": item }`, or `[]` when empty (PHP serialises an empty associative array as a list). */
function keyed<T extends { id: number }>(items: T[]): Record<string, T> | [] {
  return items.length ? Object.fromEntries(items.map((item) => [String(item.id), item])) : [];
}

function jsonBody(request: FakeRequest): Record<string, unknown> | undefined {
  if (!/json/i.test(String(request.headers['content-type'] ?? ''))) return undefined;
  try {
    const parsed = JSON.parse(request.body) as unknown;
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function isDate(value: unknown): value is string {
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
  const at = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(at.getTime()) && at.toISOString().startsWith(value);
}

/** BambooHR's examples send booleans as `'1'`/`''` strings as well as JSON booleans. */
function truthy(value: unknown): boolean {
  return value === true || value === 1 || value === '1' || value === 'true' || value === 'yes';
}
