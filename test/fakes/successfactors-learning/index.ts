/**
 * A fake of SAP SuccessFactors Learning's write side for HR write-back (flow-of-work.md §5, the
 * SuccessFactors Learning row). The OData v2 people API is the other fake (`../successfactors/`);
 * give this one its students with `students: () => sf.people.list().map((p) => p.id)` to share them.
 *
 * - Token `POST /learning/oauth-api/rest/v1/token` with `Authorization: Basic base64(companyID:
 *   clientSecret)` and the JSON body SAP's samples send: `{"grant_type":"client_credentials",
 *   "scope":{"userId","companyId","userType":"user"|"admin","resourceType":"learning_public_api"}}`
 *   ([KBA 2558226](https://userapps.support.sap.com/sap/support/knowledge/en/2558226)). A wrong
 *   secret is 403 (the KBA's symptom); `rotateSecret()` issues a new secret and, as the KBA says,
 *   "invalidate[s] all previously generated ones" (tokens already issued live out their lifetime).
 *   The answer `{access_token, token_type:"Bearer", expires_in}` and the error bodies
 *   `{"error","error_description"}` are the fake's choice (no stored SAP page shows them).
 * - `POST /learning/odatav4/public/admin/learningevent-service/v1/recordLearningEvents`
 *   `{"@odata.type":"#recordLearningEvents","recordLearningEvents":[{componentTypeID, componentID,
 *   studentID, completionStatusID, completionDate:<epoch ms>}]}` (required fields per
 *   [KBA 2539023](https://userapps.support.sap.com/sap/support/knowledge/en/2539023)); fields at the
 *   wrong level are refused 400 "'componentTypeID' can not be mapped as a property or an
 *   annotation" ([KBA 2538937]). `…/v1/ExternalLearningEvents` `{"externalLearningEvents":
 *   [{description, studentID, completionDate, completionTimeZoneID, grade?, creditHours?,
 *   totalHours?, instructorName?, comments?}]}` for non-catalog learning ([KBA 2421887]).
 * - Limits of [KBA 2292981](https://apps.support.sap.com/sap/support/knowledge/public/en/2292981):
 *   "an array of 10 users" a call (SAP degrades beyond; the fake refuses 400, stricter, so a client
 *   that batches more is caught) and "not more than 100 calls a minute" (the fake answers 429 +
 *   Retry-After, SAP's generic throttling answer in apis.md §5; the Learning API's own answer is not
 *   documented); "Updates to learning events not supported" and "E-signatures not supported".
 * - Partial success: the call answers 201 even when some records fail ([KBA 2536556]: "process the
 *   good one and fail the bad ones … 201 generally means that the API call is processed"); each
 *   record comes back with `errorMessage` (null when recorded), in the shape SAP's scheduled-offering
 *   Enrollments service uses ([KBA 3736591]). A record that repeats one already recorded (same
 *   student, item and completion date; for external events same student, description and date) is
 *   refused in `errorMessage`: the wording is the fake's choice, as SAP does not document it.
 *   Unknown student, item or completion status are per-record errors too.
 * - Admin service: a token issued for `userType:"user"` is refused 403. Errors are OData v4
 *   `{"error":{"code","message"}}`. `down = true` answers 503 everywhere (outage then recovery).
 *
 * Every accepted record is in `events`; refused ones in `refusals`.
 */
import { randomBytes } from 'node:crypto';
import { FakeClock } from '../fake-clock.ts';
import {
  type FakeRequest,
  type FakeResponse,
  parseBasicAuth,
  parseBearer,
  startFakeHttpServer,
} from '../hr-fake-server.ts';
import { retryAfterSeconds, SlidingWindowLimiter } from '../sliding-window.ts';

export const TOKEN_PATH = '/learning/oauth-api/rest/v1/token';
export const SERVICE_PATH = '/learning/odatav4/public/admin/learningevent-service/v1';

export interface CatalogItem {
  componentTypeID: string;
  componentID: string;
  title?: string;
}

export interface FakeSfLearningOptions {
  /** Company ID, also the OAuth client id. */
  companyId?: string;
  clock?: FakeClock;
  tokenLifetimeSeconds?: number;
  /** Student IDs the Learning tenant knows (a function is read on every call). */
  students?: Iterable<string> | (() => Iterable<string>);
  catalog?: CatalogItem[];
  /** Completion status IDs the customer configured (default COMPL, INCOMPL, PASSED, FAILED). */
  completionStatuses?: string[];
  /** Calls a minute per client before 429 (KBA 2292981: 100). */
  callsPerMinute?: number;
  /** Records a call before 400 (KBA 2292981: 10). */
  maxRecordsPerCall?: number;
}

export interface RecordedEvent {
  kind: 'catalog' | 'external';
  studentID: string;
  /** The record as sent. */
  record: Record<string, unknown>;
  recordedAt: number;
}

const CATALOG_FIELDS = new Set([
  'componentTypeID',
  'componentID',
  'revisionDate',
  'studentID',
  'completionStatusID',
  'completionDate',
  'grade',
  'totalHours',
  'creditHours',
  'contactHours',
  'cpeHours',
  'instructorName',
  'comments',
]);
const CATALOG_REQUIRED = [
  'componentTypeID',
  'componentID',
  'studentID',
  'completionStatusID',
  'completionDate',
];
const EXTERNAL_FIELDS = new Set([
  'description',
  'studentID',
  'completionDate',
  'completionTimeZoneID',
  'grade',
  'creditHours',
  'totalHours',
  'instructorName',
  'comments',
]);
const EXTERNAL_REQUIRED = ['description', 'studentID', 'completionDate', 'completionTimeZoneID'];
const NUMBER_FIELDS = new Set([
  'completionDate',
  'revisionDate',
  'totalHours',
  'creditHours',
  'contactHours',
  'cpeHours',
]);

export class FakeSuccessFactorsLearning {
  readonly companyId: string;
  readonly clock: FakeClock;
  readonly events: RecordedEvent[] = [];
  readonly refusals: Array<{
    kind: 'catalog' | 'external';
    record: Record<string, unknown>;
    errorMessage: string;
  }> = [];
  readonly catalog: CatalogItem[];
  readonly completionStatuses: Set<string>;
  /** Every call answered 429. */
  throttled = 0;
  /** While true every request answers 503 (the Learning tenant is down). */
  down = false;
  clientSecret: string;
  maxRecordsPerCall: number;
  url = '';
  requests: Awaited<ReturnType<typeof startFakeHttpServer>>['requests'] = [];
  #students: () => Iterable<string>;
  #extraStudents = new Set<string>();
  #tokens = new Map<string, { expiresAt: number; userType: string; userId: string }>();
  #lifetime: number;
  #limiter: SlidingWindowLimiter;
  #failures: Array<{ status: number; times: number }> = [];
  #close: (() => Promise<void>) | undefined;

  private constructor(options: FakeSfLearningOptions) {
    this.companyId = options.companyId ?? 'ACMECORP';
    this.clock = options.clock ?? new FakeClock();
    this.#lifetime = options.tokenLifetimeSeconds ?? 1800;
    this.clientSecret = randomBytes(24).toString('hex');
    const students = options.students ?? [];
    this.#students = typeof students === 'function' ? students : () => students;
    this.catalog = options.catalog ?? [
      { componentTypeID: 'COURSE', componentID: 'ONBOARD-101', title: 'Onboarding Essentials' },
      { componentTypeID: 'COURSE', componentID: 'LEAD-201', title: 'Leadership Foundations' },
    ];
    this.completionStatuses = new Set(options.completionStatuses ?? ['COMPL', 'INCOMPL', 'PASSED', 'FAILED']);
    this.maxRecordsPerCall = options.maxRecordsPerCall ?? 10;
    this.#limiter = new SlidingWindowLimiter([
      {
        name: `${options.callsPerMinute ?? 100} calls/min`,
        limit: options.callsPerMinute ?? 100,
        windowMs: 60_000,
      },
    ]);
  }

  static async start(options: FakeSfLearningOptions = {}): Promise<FakeSuccessFactorsLearning> {
    const fake = new FakeSuccessFactorsLearning(options);
    const server = await startFakeHttpServer((request) => fake.#handle(request));
    fake.url = server.url;
    fake.requests = server.requests;
    fake.#close = server.close;
    return fake;
  }

  get tokenUrl(): string {
    return `${this.url}${TOKEN_PATH}`;
  }

  get serviceUrl(): string {
    return `${this.url}${SERVICE_PATH}`;
  }

  /** `Basic base64(companyID:clientSecret)` for the current secret. */
  basicAuthorization(secret = this.clientSecret): string {
    return `Basic ${Buffer.from(`${this.companyId}:${secret}`).toString('base64')}`;
  }

  /** A new client secret; every earlier secret stops working (KBA 2558226). */
  rotateSecret(): string {
    this.clientSecret = randomBytes(24).toString('hex');
    return this.clientSecret;
  }

  addStudent(studentId: string): void {
    this.#extraStudents.add(studentId);
  }

  /** The next `times` requests (token requests too) answer `status`. */
  failNext(options: { status: 500 | 502 | 503 | 504; times?: number }): void {
    this.#failures.push({ status: options.status, times: options.times ?? 1 });
  }

  expireTokens(): void {
    for (const token of this.#tokens.values()) token.expiresAt = 0;
  }

  eventsFor(studentId: string): RecordedEvent[] {
    return this.events.filter((event) => event.studentID === studentId);
  }

  async close(): Promise<void> {
    await this.#close?.();
  }

  // ---------------------------------------------------------------------------------------------

  #handle(request: FakeRequest): FakeResponse {
    if (this.down)
      return odataError(503, 'Service Unavailable', 'The Learning service is temporarily unavailable.');
    const failure = this.#failures[0];
    if (failure) {
      failure.times -= 1;
      if (failure.times <= 0) this.#failures.shift();
      return odataError(failure.status, String(failure.status), 'Injected failure.');
    }
    if (request.path === TOKEN_PATH) {
      return request.method === 'POST' ? this.#token(request) : odataError(405, '405', 'Method not allowed.');
    }
    const match = new RegExp(`^${SERVICE_PATH}/(recordLearningEvents|ExternalLearningEvents)$`).exec(
      request.path,
    );
    if (!match) return odataError(404, '404', `No resource at ${request.path}.`);
    if (request.method !== 'POST') return odataError(405, '405', 'Method not allowed.');

    const token = this.#tokens.get(parseBearer(request.headers.authorization) ?? '');
    if (!token || token.expiresAt <= this.clock.now()) {
      return odataError(401, '401', 'The access token is missing, invalid or expired.');
    }
    if (token.userType !== 'admin') {
      return odataError(
        403,
        '403',
        'The admin learning event service needs a token issued for userType admin.',
      );
    }
    const refusal = this.#limiter.take(this.companyId, this.clock.now());
    if (refusal) {
      this.throttled += 1;
      return {
        ...odataError(429, '429', 'More than 100 calls a minute: retry later.'),
        headers: { 'retry-after': String(retryAfterSeconds(refusal.retryAfterMs)) },
      };
    }
    if (!/^application\/json/i.test(String(request.headers['content-type'] ?? ''))) {
      return odataError(415, '415', 'The content type must be application/json.');
    }
    if (request.json === undefined || typeof request.json !== 'object' || request.json === null) {
      return odataError(400, '400', 'The request body is not valid JSON.');
    }
    const body = request.json as Record<string, unknown>;
    return match[1] === 'recordLearningEvents' ? this.#record(body) : this.#external(body);
  }

  #token(request: FakeRequest): FakeResponse {
    const credentials = parseBasicAuth(request.headers.authorization);
    if (!credentials)
      return tokenError(
        401,
        'invalid_client',
        'Basic authentication with companyID:clientSecret is required.',
      );
    if (credentials[0] !== this.companyId || credentials[1] !== this.clientSecret) {
      return tokenError(403, 'invalid_client', 'The client secret is not valid for this company.');
    }
    const body = (request.json ?? {}) as { grant_type?: unknown; scope?: Record<string, unknown> };
    if (body.grant_type !== 'client_credentials') {
      return tokenError(400, 'unsupported_grant_type', 'grant_type must be client_credentials.');
    }
    const scope = body.scope;
    if (
      typeof scope !== 'object' ||
      scope === null ||
      scope.companyId !== this.companyId ||
      scope.resourceType !== 'learning_public_api' ||
      (scope.userType !== 'admin' && scope.userType !== 'user') ||
      typeof scope.userId !== 'string' ||
      !scope.userId
    ) {
      return tokenError(
        400,
        'invalid_scope',
        'scope must be {userId, companyId, userType: "user"|"admin", resourceType: "learning_public_api"}.',
      );
    }
    const token = randomBytes(32).toString('base64url');
    this.#tokens.set(token, {
      expiresAt: this.clock.now() + this.#lifetime * 1000,
      userType: scope.userType,
      userId: scope.userId,
    });
    return { status: 200, body: { access_token: token, token_type: 'Bearer', expires_in: this.#lifetime } };
  }

  #record(body: Record<string, unknown>): FakeResponse {
    const shape = checkEnvelope(
      body,
      'recordLearningEvents',
      '#recordLearningEvents',
      CATALOG_FIELDS,
      this.maxRecordsPerCall,
    );
    if ('status' in shape) return shape;
    const answered = shape.records.map((record) => {
      const errorMessage = this.#checkCatalogRecord(record);
      this.#settle('catalog', record, errorMessage);
      return { ...record, errorMessage };
    });
    return {
      status: 201,
      body: { '@odata.context': '$metadata#recordLearningEvents/$entity', recordLearningEvents: answered },
    };
  }

  #external(body: Record<string, unknown>): FakeResponse {
    const shape = checkEnvelope(
      body,
      'externalLearningEvents',
      '#ExternalLearningEvents',
      EXTERNAL_FIELDS,
      this.maxRecordsPerCall,
    );
    if ('status' in shape) return shape;
    const answered = shape.records.map((record) => {
      const errorMessage = this.#checkExternalRecord(record);
      this.#settle('external', record, errorMessage);
      return { ...record, errorMessage };
    });
    return {
      status: 201,
      body: {
        '@odata.context': '$metadata#ExternalLearningEvents/$entity',
        externalLearningEvents: answered,
      },
    };
  }

  #settle(kind: 'catalog' | 'external', record: Record<string, unknown>, errorMessage: string | null): void {
    if (errorMessage) {
      this.refusals.push({ kind, record, errorMessage });
      return;
    }
    this.events.push({ kind, studentID: String(record.studentID), record, recordedAt: this.clock.now() });
  }

  #isStudent(id: string): boolean {
    if (this.#extraStudents.has(id)) return true;
    for (const student of this.#students()) if (student === id) return true;
    return false;
  }

  #checkCatalogRecord(record: Record<string, unknown>): string | null {
    const missing = CATALOG_REQUIRED.filter((field) => record[field] === undefined || record[field] === '');
    if (missing.length) return li(missing.map((field) => `${field} is required.`));
    const studentID = String(record.studentID);
    if (!this.#isStudent(studentID)) return li([`The user ${studentID} does not exist.`]);
    const item = this.catalog.find(
      (candidate) =>
        candidate.componentTypeID === record.componentTypeID && candidate.componentID === record.componentID,
    );
    if (!item)
      return li([`The item ${String(record.componentTypeID)}/${String(record.componentID)} does not exist.`]);
    if (!this.completionStatuses.has(String(record.completionStatusID))) {
      return li([`The completion status ${String(record.completionStatusID)} does not exist.`]);
    }
    if (Number(record.completionDate) > this.clock.now())
      return li(['The completion date cannot be in the future.']);
    const duplicate = this.events.some(
      (event) =>
        event.kind === 'catalog' &&
        event.studentID === studentID &&
        event.record.componentTypeID === record.componentTypeID &&
        event.record.componentID === record.componentID &&
        event.record.completionDate === record.completionDate,
    );
    if (duplicate) {
      return li([
        `Learning for ${studentID} on ${String(record.componentTypeID)}/${String(record.componentID)} at this completion date is already recorded; updates to learning events are not supported.`,
      ]);
    }
    return null;
  }

  #checkExternalRecord(record: Record<string, unknown>): string | null {
    const missing = EXTERNAL_REQUIRED.filter((field) => record[field] === undefined || record[field] === '');
    if (missing.length) return li(missing.map((field) => `${field} is required.`));
    const studentID = String(record.studentID);
    if (!this.#isStudent(studentID)) return li([`The user ${studentID} does not exist.`]);
    if (!isTimeZone(String(record.completionTimeZoneID))) {
      return li([`The time zone ${String(record.completionTimeZoneID)} is not valid.`]);
    }
    if (Number(record.completionDate) > this.clock.now())
      return li(['The completion date cannot be in the future.']);
    const duplicate = this.events.some(
      (event) =>
        event.kind === 'external' &&
        event.studentID === studentID &&
        event.record.description === record.description &&
        event.record.completionDate === record.completionDate,
    );
    if (duplicate) {
      return li([
        `External learning "${String(record.description)}" for ${studentID} at this completion date is already recorded; updates to learning events are not supported.`,
      ]);
    }
    return null;
  }
}

/** The body's envelope: the array under `key`, its size, and every field's name and JSON type. */
function checkEnvelope(
  body: Record<string, unknown>,
  key: string,
  odataType: string,
  fields: Set<string>,
  max: number,
): FakeResponse | { records: Array<Record<string, unknown>> } {
  for (const name of Object.keys(body)) {
    if (name !== key && name !== '@odata.type') {
      return odataError(400, '400', `'${name}' can not be mapped as a property or an annotation.`);
    }
  }
  if (body['@odata.type'] !== undefined && body['@odata.type'] !== odataType) {
    return odataError(400, '400', `@odata.type must be ${odataType}.`);
  }
  const records = body[key];
  if (!Array.isArray(records) || records.length === 0) {
    return odataError(400, '400', `${key} must be a non-empty array.`);
  }
  if (records.length > max) {
    return odataError(400, '400', `At most ${max} records a call; this call has ${records.length}.`);
  }
  for (const record of records) {
    if (typeof record !== 'object' || record === null || Array.isArray(record)) {
      return odataError(400, '400', `Each entry of ${key} must be an object.`);
    }
    for (const [name, value] of Object.entries(record as Record<string, unknown>)) {
      if (!fields.has(name))
        return odataError(400, '400', `'${name}' can not be mapped as a property or an annotation.`);
      if (value === null) continue;
      const wanted = NUMBER_FIELDS.has(name) ? 'number' : 'string';
      if (typeof value !== wanted || (wanted === 'number' && !Number.isFinite(value))) {
        return odataError(
          400,
          '400',
          `Cannot convert the value of '${name}' to ${wanted === 'number' ? 'Edm.Int64' : 'Edm.String'}.`,
        );
      }
    }
  }
  return { records: records as Array<Record<string, unknown>> };
}

function odataError(status: number, code: string, message: string): FakeResponse {
  return { status, body: { error: { code, message } } };
}

function tokenError(status: number, error: string, description: string): FakeResponse {
  return { status, body: { error, error_description: description } };
}

/** SAP wraps each message in `<li>` (KBA 3736591's `errorMessage`). */
function li(messages: string[]): string {
  return messages.map((message) => `<li>${message}</li>`).join('');
}

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
