/**
 * Personio's write side for HR write-back (flow-of-work.md §5, the Personio row), attached to the
 * read fake of `./index.ts` without changing it: `attachPersonioWrites(await startPersonioFake())`
 * starts a front server that answers the write routes itself and passes every other request
 * through to the read fake (same tokens, limits and faults), and returns the read fake's interface
 * pointed at the front plus the write-side state. Attach it before seeding (it keeps its own copy
 * of the people the read fake is seeded with, to know who exists and merge custom attributes).
 *
 * API v1 ([personio-personnel-data-api-oa3.yaml], `shared/reference/openapi/personio-v1.yaml`):
 * - `PATCH /v1/company/employees/{id}` `{"employee":{…,"custom_attributes":{"dynamic_<uid>":"v"}}}`
 *   (JSON, or the spec's form encoding `employee[first_name]=…`) → 200 `{"success":true,
 *   "data":{"id"},"meta":[]}`. "Only the fields that are listed in the body example are updatable.
 *   Attributes that are not part of the sample request body but are present inside the request are
 *   ignored. It's not possible to update the Email field": unlisted fields, `email` and custom
 *   attributes the company does not have are SILENTLY ignored (still 200; listed in `patches` for
 *   assertions, never in the answer); an unknown department, office or subcompany is "ignored with
 *   showing meta error" (a string in `meta`). Bad values are 422 `{"success":false,"error":{"code":
 *   422,"message"}}` (a supervisor that does not exist: the spec's "Supervisor with ID 1 not
 *   found"; a bad date, status, gender, number, or a custom value of the wrong type). Changes show
 *   in the read fake's `GET /v1/company/employees` (first/last name, position, department, hire
 *   date, status, supervisor, custom attributes); gender, preferred name and weekly hours are
 *   checked and logged, but the read fake renders fixed values for them. An unknown id is 404.
 * - `GET /v1/company/employees/{id}` → `{"success":true,"data":{"type":"Employee","attributes"}}`.
 * - `GET /v1/company/document-categories`; `POST /v1/company/documents` multipart (`title*` ≤255,
 *   `employee_id*`, `category_id*` (required in the spec, though the reference marks it
 *   optional), `date` Y-m-d, `comment`, `file*` ≤ 30 MB of the spec's file types) → 201 in the
 *   spec's shape; an unknown category is the spec's 404 `{"success":false,"error":{"message":"No
 *   query results for model [DocumentCategory] 1","code":0}}` (an unknown employee the same with
 *   `[Employee]`: the fake's analogue); invalid data 422 `{"success":false,"error":{"message":"The
 *   given data was invalid.","code":0,"error_data":{field:[…]}}}`. "The Documents endpoint has a
 *   rate limit of 60 requests per minute": the 61st within a minute is 429 (no headers, like the
 *   read fake's), counted on the injectable clock.
 * API v2 ([patch_v2-persons-person-id](https://developer.personio.de/reference/patch_v2-persons-person-id)):
 * - `POST /v2/auth/token` with `scope=personio:persons:read personio:persons:write` (space
 *   separated): a scope the credentials lack is 400 `invalid_scope`; without `scope` the token has
 *   every granted scope. `PATCH /v2/persons/{id}` `{first_name, last_name, preferred_name, gender,
 *   email, language_code, custom_attributes:[{id, value}]}` → 204; needs `personio:persons:write`
 *   (403 otherwise), and `GET /v2/persons*` needs `personio:persons:read`. v2 validates strictly
 *   (unknown property or custom attribute → 400 `validation_error`): the fake's choice, as the v2
 *   reference does not say.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { HrFakeEmployee } from '../../connectors/hris-contract.ts';
import { FakeClock } from '../fake-clock.ts';
import { type Forward, type FrontAnswer, type FrontRequest, startFrontServer } from '../front-server.ts';
import { SlidingWindowLimiter } from '../sliding-window.ts';
import type { PersonioFake } from './index.ts';

export interface PersonioCustomAttribute {
  /** `dynamic_<uid>`. */
  key: string;
  label: string;
  type: 'standard' | 'date' | 'integer' | 'decimal' | 'list';
  /** For `list`: the allowed values. */
  options?: string[];
}

export interface PersonioWritesOptions {
  clock?: FakeClock;
  /** The company's custom attributes (default: a course, a date and an hours attribute, plus the read fake's shirt size). */
  customAttributes?: PersonioCustomAttribute[];
  documentCategories?: Array<{ id: number; name: string }>;
  /** Document uploads a minute before 429 (Personio: 60). */
  documentsPerMinute?: number;
  /** Largest document in bytes (Personio: 30 MB). */
  maxDocumentBytes?: number;
  /** v2 scopes the API credentials were granted (default read and write). */
  v2Scopes?: string[];
  /** Departments that exist besides those of the seeded people. */
  departments?: string[];
}

export interface PersonioDocument {
  id: number;
  employeeId: string;
  categoryId: number;
  title: string;
  date: string | null;
  comment: string | null;
  fileName: string;
  contentType: string;
  content: Buffer;
}

export interface PersonioPatch {
  api: 'v1' | 'v2';
  employeeId: string;
  /** What was applied, by Personio field name. */
  applied: Record<string, unknown>;
  /** Fields and custom attributes silently ignored. */
  ignored: string[];
  /** The answer's `meta` errors (unknown department, office, subcompany). */
  meta: string[];
}

export interface PersonioWritesFake extends PersonioFake {
  /** Origin of the read fake behind the front. */
  readonly backOrigin: string;
  readonly clock: FakeClock;
  readonly documents: PersonioDocument[];
  readonly patches: PersonioPatch[];
  readonly customAttributes: PersonioCustomAttribute[];
  readonly documentCategories: Array<{ id: number; name: string }>;
  readonly maxDocumentBytes: number;
  /** Requests answered 429 by the documents limit. */
  readonly documentThrottles: () => number;
  /** The employee as the write side knows it (after every seed and PATCH). */
  employee(id: string): HrFakeEmployee | undefined;
}

export const V2_SCOPES = ['personio:persons:read', 'personio:persons:write'];

/** The file types of the spec's 422 message. */
const FILE_TYPES =
  'pdf, docx, doc, jpg, zip, png, txt, jpeg, odt, xlsx, rtf, htm, xls, p7s, pptx, pages, rar, ppt, gif, tif, html, msg, asc, tiff, wps, bmp, 7z, csv, ics, vcf, dotx, numbers, eps, gz, ods, otf, odp, odg, rtfd, txz, webarchive, xml, xps, md, fax';
const ALLOWED_EXTENSIONS = new Set(FILE_TYPES.split(', '));
const STATUSES = ['onboarding', 'active', 'leave', 'inactive'];
const GENDERS = ['male', 'female', 'diverse'];
/** The read fake renders one office and one subcompany for everyone. */
const OFFICES = ['Munich'];
const SUBCOMPANIES = ['Acme GmbH'];
/** The read fake's own custom attribute. */
const READ_FAKE_ATTRIBUTE: PersonioCustomAttribute = {
  key: 'dynamic_24407',
  label: 'Shirt size',
  type: 'standard',
};

type Answer = FrontAnswer;

export async function attachPersonioWrites(
  fake: PersonioFake,
  options: PersonioWritesOptions = {},
): Promise<PersonioWritesFake> {
  if (fake.employeeCount() > 0) {
    throw new Error('attachPersonioWrites: attach before seeding, so the write side knows the people');
  }
  const clock = options.clock ?? new FakeClock();
  const backOrigin = new URL(fake.url).origin;
  const customAttributes = [
    ...(options.customAttributes ?? [
      { key: 'dynamic_990001', label: 'Last completed course', type: 'standard' },
      { key: 'dynamic_990002', label: 'Last completion date', type: 'date' },
      { key: 'dynamic_990003', label: 'Training hours this year', type: 'decimal' },
    ]),
    READ_FAKE_ATTRIBUTE,
  ] satisfies PersonioCustomAttribute[];
  const documentCategories = options.documentCategories ?? [
    { id: 1, name: 'Certificates of employment' },
    { id: 2, name: 'Other documents' },
    { id: 3, name: 'Training certificates' },
  ];
  const maxDocumentBytes = options.maxDocumentBytes ?? 30 * 1024 * 1024;
  const grantedScopes = options.v2Scopes ?? V2_SCOPES;
  const documentsPerMinute = options.documentsPerMinute ?? 60;
  const limiter = new SlidingWindowLimiter([
    { name: `documents ${documentsPerMinute}/min`, limit: documentsPerMinute, windowMs: 60_000 },
  ]);
  let documentThrottles = 0;
  const people = new Map<string, HrFakeEmployee>();
  const v1Tokens = new Map<string, number>();
  const v2Tokens = new Map<string, { expiresAt: number; scopes: string[] }>();
  const documents: PersonioDocument[] = [];
  const patches: PersonioPatch[] = [];
  let nextDocumentId = 1;

  // Keep the write side's copy of the people in step with the read fake.
  const { seed, update, remove, tick, expireTokens } = fake;
  fake.seed = (list) => {
    seed(list);
    for (const person of list) people.set(person.id, structuredClone(person));
  };
  fake.update = (id, changes) => {
    update(id, changes);
    const current = people.get(id);
    if (current) people.set(id, { ...current, ...structuredClone(changes) });
  };
  fake.remove = (id) => {
    remove(id);
    people.delete(id);
  };
  fake.tick = (ms) => {
    tick(ms);
    clock.advance(ms);
  };
  fake.expireTokens = () => {
    expireTokens();
    for (const token of v1Tokens.keys()) v1Tokens.set(token, 0);
    for (const token of v2Tokens.values()) token.expiresAt = 0;
  };

  const v1Error = (status: number, message: string): Answer => ({
    status,
    body: { success: false, error: { code: status, message } },
  });
  const v2Error = (status: number, title: string, details: string, type: string): Answer => ({
    status,
    body: {
      timestamp: new Date(clock.now()).toISOString(),
      trace_id: randomBytes(8).toString('hex'),
      errors: [{ title, details, type }],
    },
  });
  const invalidData = (errors: Record<string, string[]>): Answer => ({
    status: 422,
    body: { success: false, error: { message: 'The given data was invalid.', code: 0, error_data: errors } },
  });

  function v1Auth(headers: IncomingHttpHeaders): Answer | undefined {
    const header = String(headers.authorization ?? '');
    if (!header) return v1Error(401, 'Missing authorization header.');
    const token = /^Bearer (.+)$/i.exec(header)?.[1];
    const expiresAt = token ? v1Tokens.get(token) : undefined;
    if (expiresAt === undefined || expiresAt <= clock.now())
      return v1Error(403, 'The given token is invalid.');
    return undefined;
  }

  function v2Auth(headers: IncomingHttpHeaders, scope: string): Answer | undefined {
    const token = /^Bearer (.+)$/i.exec(String(headers.authorization ?? ''))?.[1];
    const entry = token ? v2Tokens.get(token) : undefined;
    if (!entry || entry.expiresAt <= clock.now()) {
      return v2Error(401, 'Unauthorized', 'The access token is missing, invalid or expired.', 'unauthorized');
    }
    if (!entry.scopes.includes(scope)) {
      return v2Error(403, 'Forbidden', `The access token lacks the ${scope} scope.`, 'insufficient_scope');
    }
    return undefined;
  }

  // ---------------------------------------------------------------------------------------------
  // v1 PATCH employee
  // ---------------------------------------------------------------------------------------------

  function patchEmployee(id: string, request: FrontRequest): Answer {
    const refused = v1Auth(request.headers);
    if (refused) return refused;
    const person = people.get(id);
    if (!person) return v1Error(404, `Employee with ID ${id} not found.`);
    const employee = readEmployeeBody(String(request.headers['content-type'] ?? ''), request.raw);
    if (!employee) return v1Error(422, 'The employee field is required and must be an object.');

    const changes: Partial<HrFakeEmployee> = {};
    const applied: Record<string, unknown> = {};
    const ignored: string[] = [];
    const meta: string[] = [];
    const departments = new Set([
      ...(options.departments ?? []),
      ...[...people.values()].map((p) => p.department),
    ]);

    for (const [field, value] of Object.entries(employee)) {
      switch (field) {
        case 'first_name':
        case 'last_name':
        case 'preferred_name':
        case 'position': {
          if (typeof value !== 'string' || !value.trim())
            return v1Error(422, `The ${field} must be a non-empty string.`);
          applied[field] = value;
          if (field === 'first_name') changes.firstName = value;
          if (field === 'last_name') changes.lastName = value;
          if (field === 'position') changes.jobTitle = value;
          break;
        }
        case 'gender':
          if (!GENDERS.includes(String(value)))
            return v1Error(422, `The gender must be one of ${GENDERS.join(', ')}.`);
          applied.gender = value;
          break;
        case 'status':
          if (!STATUSES.includes(String(value)))
            return v1Error(422, `The status must be one of ${STATUSES.join(', ')}.`);
          applied.status = value;
          // The read fake renders the status verbatim.
          changes.status = value as HrFakeEmployee['status'];
          break;
        case 'hire_date':
          if (!isDate(value)) return v1Error(422, 'The hire_date must be a date in the format yyyy-mm-dd.');
          applied.hire_date = value;
          changes.hireDate = value;
          break;
        case 'weekly_working_hours':
          if (!Number.isFinite(Number(value)) || value === '' || value === null)
            return v1Error(422, 'The weekly_working_hours must be a number.');
          applied.weekly_working_hours = Number(value);
          break;
        case 'supervisor_id': {
          if (value === null) {
            applied.supervisor_id = null;
            changes.managerId = null;
            break;
          }
          const supervisor = String(value);
          if (!people.has(supervisor) || supervisor === id)
            return v1Error(422, `Supervisor with ID ${supervisor} not found`);
          applied.supervisor_id = Number(value);
          changes.managerId = supervisor;
          break;
        }
        case 'department':
        case 'office':
        case 'subcompany': {
          const known =
            field === 'department' ? departments : new Set(field === 'office' ? OFFICES : SUBCOMPANIES);
          if (!known.has(String(value))) {
            meta.push(`The ${field} '${String(value)}' does not exist and was ignored.`);
            break;
          }
          applied[field] = value;
          if (field === 'department') changes.department = String(value);
          break;
        }
        case 'custom_attributes': {
          if (typeof value !== 'object' || value === null || Array.isArray(value)) {
            return v1Error(422, 'The custom_attributes must be an object.');
          }
          const custom: Record<string, string> = {};
          for (const [key, raw] of Object.entries(value as Record<string, unknown>)) {
            const attribute = customAttributes.find((candidate) => candidate.key === key);
            if (!attribute) {
              ignored.push(`custom_attributes.${key}`);
              continue;
            }
            const checked = checkCustomValue(attribute, raw);
            if (typeof checked !== 'string') return v1Error(422, checked.error);
            custom[key] = checked;
            applied[`custom_attributes.${key}`] = checked;
          }
          if (Object.keys(custom).length) changes.custom = { ...person.custom, ...custom };
          break;
        }
        default:
          // `email` and every field the spec's body example does not list.
          ignored.push(field);
      }
    }
    if (Object.keys(changes).length) fake.update(id, changes);
    patches.push({ api: 'v1', employeeId: id, applied, ignored, meta });
    return { status: 200, body: { success: true, data: { id: Number(id) }, meta } };
  }

  // ---------------------------------------------------------------------------------------------
  // v1 documents
  // ---------------------------------------------------------------------------------------------

  function uploadDocument(request: FrontRequest): Answer {
    const refused = v1Auth(request.headers);
    if (refused) return refused;
    if (limiter.take('documents', clock.now())) {
      documentThrottles += 1;
      return v1Error(429, 'Too Many Requests');
    }
    const type = String(request.headers['content-type'] ?? '');
    const boundary = /^multipart\/form-data;.*boundary="?([^";]+)"?/i.exec(type)?.[1];
    if (!boundary) return invalidData({ file: ['The request must be multipart/form-data.'] });
    const parts = parseMultipart(request.raw, boundary);
    const field = (name: string) =>
      parts.find((part) => part.name === name && part.fileName === undefined)?.content.toString('utf8');
    const file = parts.find((part) => part.name === 'file' && part.fileName !== undefined);
    const errors: Record<string, string[]> = {};
    const title = field('title');
    if (!title) errors.title = ['The title field is required.'];
    else if (title.length > 255) errors.title = ['The title may not be greater than 255 characters.'];
    const employeeId = field('employee_id');
    if (!employeeId) errors.employee_id = ['The employee id field is required.'];
    else if (!/^\d+$/.test(employeeId)) errors.employee_id = ['The employee id must be an integer.'];
    const categoryId = field('category_id');
    if (!categoryId) errors.category_id = ['The category id field is required.'];
    else if (!/^\d+$/.test(categoryId)) errors.category_id = ['The category id must be an integer.'];
    const date = field('date');
    if (date !== undefined && date !== '' && !isDate(date))
      errors.date = ['The date does not match the format Y-m-d.'];
    if (!file) errors.file = ['The file field is required.'];
    else if (file.content.length > maxDocumentBytes) {
      errors.file = [`The file may not be greater than ${Math.floor(maxDocumentBytes / 1024)} kilobytes.`];
    } else if (!ALLOWED_EXTENSIONS.has((file.fileName ?? '').split('.').pop()?.toLowerCase() ?? '')) {
      errors.file = [`The file must be a file of type: ${FILE_TYPES}.`];
    }
    if (Object.keys(errors).length) return invalidData(errors);
    const category = documentCategories.find((candidate) => candidate.id === Number(categoryId));
    if (!category) {
      return {
        status: 404,
        body: {
          success: false,
          error: { message: `No query results for model [DocumentCategory] ${categoryId}`, code: 0 },
        },
      };
    }
    const person = people.get(String(employeeId));
    if (!person) {
      return {
        status: 404,
        body: {
          success: false,
          error: { message: `No query results for model [Employee] ${employeeId}`, code: 0 },
        },
      };
    }
    const document: PersonioDocument = {
      id: nextDocumentId++,
      employeeId: person.id,
      categoryId: category.id,
      title: title as string,
      date: date || null,
      comment: field('comment') ?? null,
      fileName: file?.fileName as string,
      contentType: file?.contentType ?? 'application/octet-stream',
      content: file?.content as Buffer,
    };
    documents.push(document);
    const wrapped = (label: string, value: unknown, universalId: string) => ({
      label,
      value,
      type: universalId === 'id' ? 'integer' : 'standard',
      universal_id: universalId,
    });
    return {
      status: 201,
      body: {
        success: true,
        data: {
          id: document.id,
          type: 'Document',
          attributes: {
            title: document.title,
            date: document.date,
            comment: document.comment,
            employee: {
              type: 'Employee',
              attributes: {
                id: wrapped('ID', Number(person.id), 'id'),
                first_name: wrapped('First name', person.firstName, 'first_name'),
                last_name: wrapped('Last name', person.lastName, 'last_name'),
                email: wrapped('Email', person.email, 'email'),
              },
            },
            category: { id: category.id, type: 'DocumentCategory', attributes: { name: category.name } },
          },
        },
      },
    };
  }

  // ---------------------------------------------------------------------------------------------
  // v2
  // ---------------------------------------------------------------------------------------------

  function patchPerson(id: string, request: FrontRequest): Answer {
    const refused = v2Auth(request.headers, 'personio:persons:write');
    if (refused) return refused;
    const person = people.get(id);
    if (!person) return v2Error(404, 'Not Found', `Person ${id} was not found.`, 'not_found');
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(request.raw.toString('utf8')) as Record<string, unknown>;
      if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new Error('not an object');
    } catch {
      return v2Error(400, 'Bad Request', 'The body must be a JSON object.', 'validation_error');
    }
    const invalid = (details: string) => v2Error(400, 'Bad Request', details, 'validation_error');
    const changes: Partial<HrFakeEmployee> = {};
    const applied: Record<string, unknown> = {};
    for (const [field, value] of Object.entries(body)) {
      if (['first_name', 'last_name', 'preferred_name', 'language_code'].includes(field)) {
        if (typeof value !== 'string' || !value.trim())
          return invalid(`${field} must be a non-empty string.`);
        applied[field] = value;
        if (field === 'first_name') changes.firstName = value;
        if (field === 'last_name') changes.lastName = value;
      } else if (field === 'email') {
        if (typeof value !== 'string' || !/^[^@\s]+@[^@\s]+$/.test(value))
          return invalid('email must be an email address.');
        applied.email = value;
        changes.email = value;
      } else if (field === 'gender') {
        if (!['MALE', 'FEMALE', 'DIVERSE', 'UNDEFINED'].includes(String(value)))
          return invalid('gender is not valid.');
        applied.gender = value;
      } else if (field === 'custom_attributes') {
        if (!Array.isArray(value)) return invalid('custom_attributes must be an array of {id, value}.');
        const custom: Record<string, string> = {};
        for (const item of value as Array<{ id?: unknown; value?: unknown }>) {
          const attribute = customAttributes.find((candidate) => candidate.key === item?.id);
          if (!attribute) return invalid(`Custom attribute ${String(item?.id)} does not exist.`);
          const checked = checkCustomValue(attribute, item.value);
          if (typeof checked !== 'string') return invalid(checked.error);
          custom[attribute.key] = checked;
          applied[`custom_attributes.${attribute.key}`] = checked;
        }
        changes.custom = { ...person.custom, ...custom };
      } else {
        return invalid(`Unknown property ${field}.`);
      }
    }
    if (Object.keys(changes).length) fake.update(id, changes);
    patches.push({ api: 'v2', employeeId: id, applied, ignored: [], meta: [] });
    return { status: 204 };
  }

  /** `POST /v2/auth/token`: checks the scopes, has the read fake issue the token, records its scopes. */
  async function v2Token(request: FrontRequest, forward: Forward): Promise<Answer> {
    const form = new URLSearchParams(request.raw.toString('utf8'));
    const requested = form.get('scope')?.split(' ').filter(Boolean);
    if (requested) {
      const unknown = requested.find((scope) => !V2_SCOPES.includes(scope) || !grantedScopes.includes(scope));
      if (unknown) return v2Error(400, 'Bad Request', `Scope ${unknown} is not granted.`, 'invalid_scope');
      form.delete('scope');
    }
    const answer = await forward(request, { raw: Buffer.from(form.toString()) });
    if (answer.status === 200) {
      const issued = JSON.parse(answer.body.toString('utf8')) as { access_token: string; expires_in: number };
      v2Tokens.set(issued.access_token, {
        expiresAt: clock.now() + issued.expires_in * 1000,
        scopes: requested ?? grantedScopes,
      });
    }
    return { status: answer.status, headers: answer.headers, body: answer.body };
  }

  // ---------------------------------------------------------------------------------------------
  // The front server
  // ---------------------------------------------------------------------------------------------

  /** `POST /v1/auth` goes to the read fake; the token it issues is recorded for the write routes. */
  async function v1Token(request: FrontRequest, forward: Forward): Promise<Answer> {
    const answer = await forward(request);
    if (answer.status === 200) {
      const issued = JSON.parse(answer.body.toString('utf8')) as {
        data?: { token?: string; expires_in?: number };
      };
      if (issued.data?.token)
        v1Tokens.set(issued.data.token, clock.now() + (issued.data.expires_in ?? 86_400) * 1000);
    }
    return answer;
  }

  async function getEmployee(id: string, request: FrontRequest, forward: Forward): Promise<Answer> {
    const person = people.get(id);
    const query = person ? `?email=${encodeURIComponent(person.email)}` : '?limit=1&offset=0';
    const answer = await forward(request, {
      method: 'GET',
      path: `/v1/company/employees${query}`,
      raw: Buffer.alloc(0),
    });
    if (answer.status !== 200) return answer;
    if (!person) return v1Error(404, `Employee with ID ${id} not found.`);
    const list = JSON.parse(answer.body.toString('utf8')) as { data: unknown[] };
    return { status: 200, body: { success: true, data: list.data[0] } };
  }

  const front = await startFrontServer(backOrigin, (request, forward) => {
    const { method, url } = request;
    const employee = /^\/v1\/company\/employees\/(\d+)$/.exec(url.pathname);
    if (employee && method === 'PATCH') return patchEmployee(employee[1] as string, request);
    if (employee && method === 'GET') return getEmployee(employee[1] as string, request, forward);
    if (url.pathname === '/v1/auth' && method === 'POST') return v1Token(request, forward);
    if (url.pathname === '/v1/company/documents' && method === 'POST') return uploadDocument(request);
    if (url.pathname === '/v1/company/document-categories' && method === 'GET') {
      return (
        v1Auth(request.headers) ?? {
          status: 200,
          body: {
            success: true,
            data: documentCategories.map((category) => ({
              id: category.id,
              type: 'DocumentCategory',
              attributes: { name: category.name },
            })),
          },
        }
      );
    }
    const person = /^\/v2\/persons\/([^/]+)$/.exec(url.pathname);
    if (person && method === 'PATCH') return patchPerson(decodeURIComponent(person[1] as string), request);
    if (url.pathname === '/v2/auth/token' && method === 'POST') return v2Token(request, forward);
    if (url.pathname.startsWith('/v2/persons') && method === 'GET') {
      const token = /^Bearer (.+)$/i.exec(String(request.headers.authorization ?? ''))?.[1];
      // Tokens issued through the front carry scopes; reading persons needs the read scope.
      if (token && v2Tokens.has(token)) return v2Auth(request.headers, 'personio:persons:read');
    }
    return undefined;
  });

  const frontOrigin = front.origin;
  const close = fake.close;

  return {
    ...fake,
    url: fake.url.replace(backOrigin, frontOrigin),
    config: JSON.parse(JSON.stringify(fake.config).replaceAll(backOrigin, frontOrigin)) as unknown,
    backOrigin,
    clock,
    documents,
    patches,
    customAttributes,
    documentCategories,
    maxDocumentBytes,
    documentThrottles: () => documentThrottles,
    employee: (id) => {
      const person = people.get(id);
      return person ? structuredClone(person) : undefined;
    },
    async close() {
      await front.close();
      await close();
    },
  };
}

/** The `employee` object of a v1 PATCH, from JSON or the spec's form encoding (`employee[x]=…`). */
function readEmployeeBody(contentType: string, raw: Buffer): Record<string, unknown> | undefined {
  if (/application\/x-www-form-urlencoded/i.test(contentType)) {
    const employee: Record<string, unknown> = {};
    for (const [key, value] of new URLSearchParams(raw.toString('utf8'))) {
      const custom = /^employee\[custom_attributes\]\[([^\]]+)\]$/.exec(key);
      const plain = /^employee\[([^\]]+)\]$/.exec(key);
      if (custom) {
        const attributes = (employee.custom_attributes ?? {}) as Record<string, string>;
        attributes[custom[1] as string] = value;
        employee.custom_attributes = attributes;
      } else if (plain) employee[plain[1] as string] = value;
    }
    return Object.keys(employee).length ? employee : undefined;
  }
  try {
    const body = JSON.parse(raw.toString('utf8')) as { employee?: unknown };
    return typeof body.employee === 'object' && body.employee !== null && !Array.isArray(body.employee)
      ? (body.employee as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** A custom attribute's value as Personio stores it (a string), or the 422 message. */
function checkCustomValue(attribute: PersonioCustomAttribute, value: unknown): string | { error: string } {
  if (typeof value !== 'string' && typeof value !== 'number') {
    return { error: `The value of ${attribute.key} must be a string or a number.` };
  }
  const text = String(value);
  switch (attribute.type) {
    case 'date':
      return isDate(text)
        ? text
        : { error: `The value of ${attribute.key} must be a date in the format yyyy-mm-dd.` };
    case 'integer':
      return /^-?\d+$/.test(text) ? text : { error: `The value of ${attribute.key} must be an integer.` };
    case 'decimal':
      return /^-?\d+(\.\d+)?$/.test(text)
        ? text
        : { error: `The value of ${attribute.key} must be a number.` };
    case 'list':
      return attribute.options?.includes(text)
        ? text
        : { error: `The value of ${attribute.key} must be one of ${(attribute.options ?? []).join(', ')}.` };
    default:
      return text;
  }
}

function isDate(value: unknown): value is string {
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
  const at = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(at.getTime()) && at.toISOString().startsWith(value);
}

interface MultipartPart {
  name: string;
  fileName: string | undefined;
  contentType: string | undefined;
  content: Buffer;
}

/** A multipart/form-data body's parts (RFC 7578), bytes kept as sent. */
export function parseMultipart(body: Buffer, boundary: string): MultipartPart[] {
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: MultipartPart[] = [];
  let at = body.indexOf(delimiter);
  while (at >= 0) {
    const start = at + delimiter.length;
    if (body.subarray(start, start + 2).toString() === '--') break;
    const next = body.indexOf(delimiter, start);
    if (next < 0) break;
    // Skip the CRLF after the delimiter; drop the CRLF before the next one.
    const part = body.subarray(start + 2, next - 2);
    const split = part.indexOf('\r\n\r\n');
    if (split >= 0) {
      const head = part.subarray(0, split).toString('utf8');
      const disposition = /content-disposition:\s*form-data;([^\r\n]*)/i.exec(head)?.[1] ?? '';
      const name = /\bname="([^"]*)"/i.exec(disposition)?.[1];
      const fileName = /\bfilename="([^"]*)"/i.exec(disposition)?.[1];
      if (name !== undefined) {
        parts.push({
          name,
          fileName,
          contentType: /content-type:\s*([^\r\n]+)/i.exec(head)?.[1]?.trim(),
          content: Buffer.from(part.subarray(split + 4)),
        });
      }
    }
    at = next;
  }
  return parts;
}
