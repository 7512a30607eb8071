/**
 * A strict xAPI 1.0.3 Learning Record Store (the Statement Resource) for the optional outbound xAPI
 * stream of HR write-back (flow-of-work.md §5 "xAPI/cmi5"): actor `account{homePage,name}` = the
 * employee id, verbs `completed`/`passed`, `result{score,success,completion}`. Built from the xAPI
 * 1.0.3 specification (adlnet/xAPI-Spec, branch 1.0.3: xAPI-Communication.md §2.1, §3.3;
 * xAPI-Data.md §2.2–§2.5), with the version rule of strict LRSs:
 *
 * - `X-Experience-API-Version` on every request but `GET /xapi/about`: missing → 400. The spec
 *   (§3.3) says an LRS "MUST accept requests with a version header starting with `1.0.`", but SQL
 *   LRS with strict versions accepts only the versions it lists, refusing `1.0.2` (lrsql #497, the
 *   Storyline courses that still send it). `versionPolicy: 'strict'` (default) accepts exactly
 *   `1.0.3`; `'spec'` accepts `1.0` and `1.0.x`. Every answer carries `X-Experience-API-Version:
 *   1.0.3`; statement answers `X-Experience-API-Consistent-Through`.
 * - HTTP Basic with the key and secret (401 with `WWW-Authenticate` otherwise).
 * - `POST /xapi/statements` (one statement or an array) → 200 `[ids]` in order; `PUT
 *   /xapi/statements?statementId=` → 204. A statement whose id the LRS has: the same statement
 *   (compared as §2.3.1 says: ignoring what the LRS assigns — authority, stored, version, a
 *   timestamp it filled in — the Verb's display, Activity definitions and Group member order) is
 *   not stored again (PUT 204, POST lists its id); a different one is 409 Conflict and nothing of
 *   the request is stored. Two statements with one id in a batch → 400.
 * - Validation (§2.2 "The LRS MUST reject Statements"): unknown or wrongly cased properties, nulls
 *   (outside extensions), an Agent with zero or several inverse functional identifiers (`mbox`
 *   `mailto:` IRI, `mbox_sha1sum`, `openid`, `account{homePage, name}`), IRIs without a scheme (verb
 *   id, activity id), a non-UUID id or registration, `result.score.scaled` outside [-1, 1], `raw`
 *   outside [min, max], `min ≥ max`, a bad duration or timestamp (an ISO 8601 date-time with a
 *   zone), `context.revision`/`platform` when the object is not an Activity → 400.
 * - Voiding: verb `http://adlnet.gov/expapi/verbs/voided` needs a `StatementRef` object (400
 *   otherwise); a voiding statement cannot be voided (400). A voided statement is left out of
 *   queries, 404 by `statementId` and found by `voidedStatementId`.
 * - `GET /xapi/statements`: one by `statementId`/`voidedStatementId` (with no other parameters but
 *   `attachments`/`format`), or a query (`agent`, `verb`, `activity`, `registration`,
 *   `related_activities`, `related_agents`, `since`, `until`, `limit`, `ascending`, `format`),
 *   newest stored first, with statements that target a matching statement included (§2.1.3
 *   "Filter Conditions for StatementRefs"); pages of `limit` (0 or none: the fake's page size) and
 *   `more` = a relative IRL (`/xapi/statements?more=…`, "" when done) over a cached result list.
 *   Unknown parameters → 400.
 * Error bodies `{"error":{"message"}}` are the fake's choice (the spec asks only for a status and a
 * short description). Attachments are refused unless they point at a `fileUrl` (no multipart).
 */
import { randomUUID } from 'node:crypto';
import { FakeClock } from '../fake-clock.ts';
import {
  type FakeRequest,
  type FakeResponse,
  parseBasicAuth,
  startFakeHttpServer,
} from '../hr-fake-server.ts';

export const XAPI_VERSION = '1.0.3';
export const VOIDED = 'http://adlnet.gov/expapi/verbs/voided';

export type Statement = Record<string, unknown>;

export interface StoredStatement {
  id: string;
  /** As the client sent it (for comparisons). */
  sent: Statement;
  /** As the LRS serves it (id, timestamp, stored, authority, version filled in). */
  statement: Statement;
  stored: number;
  sequence: number;
}

export interface FakeLrsOptions {
  clock?: FakeClock;
  key?: string;
  secret?: string;
  versionPolicy?: 'strict' | 'spec';
  /** Statements a page when the client asks for none (or 0). */
  pageSize?: number;
}

type Json = Record<string, unknown>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const IRI = /^[a-z][a-z0-9+.-]*:\S+$/i;
const LANGUAGE_TAG = /^[a-z]{1,8}(-[a-z0-9]{1,8})*$/i;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)$/;
const DURATION =
  /^P(?!$)(\d+(\.\d+)?Y)?(\d+(\.\d+)?M)?(\d+(\.\d+)?W)?(\d+(\.\d+)?D)?(T(?=\d)(\d+(\.\d+)?H)?(\d+(\.\d+)?M)?(\d+(\.\d+)?S)?)?$/;
const IFIS = ['mbox', 'mbox_sha1sum', 'openid', 'account'] as const;
const QUERY_PARAMETERS = new Set([
  'agent',
  'verb',
  'activity',
  'registration',
  'related_activities',
  'related_agents',
  'since',
  'until',
  'limit',
  'format',
  'attachments',
  'ascending',
]);

export class FakeLrs {
  readonly clock: FakeClock;
  readonly key: string;
  readonly secret: string;
  versionPolicy: 'strict' | 'spec';
  pageSize: number;
  /** Every stored statement, in stored order. */
  readonly stored: StoredStatement[] = [];
  /** Requests refused, with status and reason. */
  readonly rejections: Array<{ status: number; message: string }> = [];
  url = '';
  #byId = new Map<string, StoredStatement>();
  #cursors = new Map<string, { ids: string[]; size: number }>();
  #sequence = 0;
  #close: (() => Promise<void>) | undefined;

  private constructor(options: FakeLrsOptions) {
    this.clock = options.clock ?? new FakeClock();
    this.key = options.key ?? 'switchboard-lrs-key';
    this.secret = options.secret ?? 'switchboard-lrs-secret';
    this.versionPolicy = options.versionPolicy ?? 'strict';
    this.pageSize = options.pageSize ?? 100;
  }

  static async start(options: FakeLrsOptions = {}): Promise<FakeLrs> {
    const lrs = new FakeLrs(options);
    const server = await startFakeHttpServer((request) => lrs.#handle(request));
    lrs.url = server.url;
    lrs.#close = server.close;
    return lrs;
  }

  /** The xAPI endpoint a client is configured with (`…/xapi/`). */
  get endpoint(): string {
    return `${this.url}/xapi/`;
  }

  basicAuthorization(): string {
    return `Basic ${Buffer.from(`${this.key}:${this.secret}`).toString('base64')}`;
  }

  /** The stored statement with this id, as served (voided or not). */
  statement(id: string): Statement | undefined {
    return this.#byId.get(id.toLowerCase())?.statement;
  }

  isVoided(id: string): boolean {
    const target = this.#byId.get(id.toLowerCase());
    return target !== undefined && !isVoiding(target.statement) && this.#voidedIds().has(target.id);
  }

  async close(): Promise<void> {
    await this.#close?.();
  }

  // ---------------------------------------------------------------------------------------------

  #handle(request: FakeRequest): FakeResponse {
    const answer = this.#route(request);
    if (answer.status >= 400) {
      const body = answer.body as { error?: { message?: string } } | undefined;
      this.rejections.push({ status: answer.status, message: body?.error?.message ?? '' });
    }
    return { ...answer, headers: { ...answer.headers, 'x-experience-api-version': XAPI_VERSION } };
  }

  #route(request: FakeRequest): FakeResponse {
    if (request.path === '/xapi/about' && request.method === 'GET') {
      return { status: 200, body: { version: [XAPI_VERSION], extensions: {} } };
    }
    const version = request.headers['x-experience-api-version'];
    if (version === undefined) return error(400, 'X-Experience-API-Version header missing');
    if (!this.#versionAccepted(String(version))) {
      return error(
        400,
        `X-Experience-API-Version ${String(version)} is not supported; this LRS accepts ${this.versionPolicy === 'strict' ? XAPI_VERSION : '1.0.x'}`,
      );
    }
    const credentials = parseBasicAuth(request.headers.authorization);
    if (!credentials || credentials[0] !== this.key || credentials[1] !== this.secret) {
      return { ...error(401, 'Unauthorized'), headers: { 'www-authenticate': 'Basic realm="LRS"' } };
    }
    if (request.path !== '/xapi/statements')
      return error(404, `Only the Statement Resource is served, not ${request.path}`);
    const consistent = { 'x-experience-api-consistent-through': new Date(this.clock.now()).toISOString() };
    let answer: FakeResponse;
    if (request.method === 'GET') answer = this.#get(request);
    else if (request.method === 'POST') answer = this.#post(request);
    else if (request.method === 'PUT') answer = this.#put(request);
    else answer = error(405, `${request.method} is not allowed on the Statement Resource`);
    return { ...answer, headers: { ...answer.headers, ...consistent } };
  }

  #versionAccepted(version: string): boolean {
    if (this.versionPolicy === 'strict') return version === XAPI_VERSION;
    return version === '1.0' || /^1\.0\.\d+$/.test(version);
  }

  #body(request: FakeRequest): { json: unknown } | { refused: FakeResponse } {
    const type = String(request.headers['content-type'] ?? '');
    if (/multipart\/mixed/i.test(type)) {
      return { refused: error(400, 'Attachments sent as multipart/mixed are not supported by this LRS') };
    }
    if (!/^application\/json/i.test(type))
      return { refused: error(400, 'Content-Type must be application/json') };
    if (request.json === undefined) return { refused: error(400, 'The body is not valid JSON') };
    return { json: request.json };
  }

  #post(request: FakeRequest): FakeResponse {
    if (/application\/x-www-form-urlencoded/i.test(String(request.headers['content-type'] ?? ''))) {
      return error(400, 'The alternate request syntax is not supported by this LRS');
    }
    if (request.url.search) return error(400, 'POST /statements takes no parameters');
    const read = this.#body(request);
    if ('refused' in read) return read.refused;
    const body = read.json;
    const batch = Array.isArray(body) ? body : [body];
    if (batch.length === 0) return error(400, 'No statements in the request');
    return this.#store(batch as unknown[], 'POST');
  }

  #put(request: FakeRequest): FakeResponse {
    const statementId = request.query.get('statementId');
    if (!statementId || !UUID.test(statementId))
      return error(400, 'PUT /statements needs a statementId parameter (a UUID)');
    if ([...request.query.keys()].some((name) => name !== 'statementId'))
      return error(400, 'PUT /statements takes only statementId');
    const read = this.#body(request);
    if ('refused' in read) return read.refused;
    const body = read.json;
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      return error(400, 'PUT takes one statement');
    const statement = body as Json;
    if (statement.id !== undefined && String(statement.id).toLowerCase() !== statementId.toLowerCase()) {
      return error(400, 'The statement id does not match the statementId parameter');
    }
    return this.#store([{ ...statement, id: statementId }], 'PUT');
  }

  /** Validates, checks ids and voiding, then stores all of `batch` or none of it. */
  #store(batch: unknown[], method: 'POST' | 'PUT'): FakeResponse {
    const seen = new Set<string>();
    for (const [index, candidate] of batch.entries()) {
      const problem = validateStatement(candidate, false);
      if (problem) return error(400, batch.length > 1 ? `statement ${index}: ${problem}` : problem);
      const id = (candidate as Json).id;
      if (typeof id === 'string') {
        if (seen.has(id.toLowerCase())) return error(400, `Two statements in the batch have the id ${id}`);
        seen.add(id.toLowerCase());
      }
    }
    const statements = batch as Json[];
    const fresh: Json[] = [];
    for (const statement of statements) {
      const existing =
        typeof statement.id === 'string' ? this.#byId.get(statement.id.toLowerCase()) : undefined;
      if (!existing) {
        fresh.push(statement);
        continue;
      }
      if (!sameStatement(existing.sent, statement)) {
        return error(409, `A different statement with the id ${String(statement.id)} is already stored`);
      }
    }
    for (const statement of fresh) {
      if (!isVoiding(statement)) continue;
      const targetId = String((statement.object as Json).id).toLowerCase();
      const target =
        this.#byId.get(targetId)?.sent ??
        fresh.find((other) => String(other.id ?? '').toLowerCase() === targetId);
      if (target && isVoiding(target)) return error(400, 'A voiding statement cannot be voided');
    }
    const ids: string[] = [];
    for (const statement of statements) {
      const existingId = typeof statement.id === 'string' ? statement.id.toLowerCase() : undefined;
      if (existingId && this.#byId.has(existingId)) {
        ids.push(existingId);
        continue;
      }
      ids.push(this.#save(statement));
    }
    return method === 'PUT' ? { status: 204 } : { status: 200, body: ids };
  }

  #save(sent: Json): string {
    const id = typeof sent.id === 'string' ? sent.id.toLowerCase() : randomUUID();
    const stored = this.clock.now();
    const storedIso = new Date(stored).toISOString();
    const statement: Json = {
      ...structuredClone(sent),
      id,
      timestamp: sent.timestamp ?? storedIso,
      stored: storedIso,
      authority: { objectType: 'Agent', account: { homePage: this.url, name: this.key } },
      version: sent.version ?? '1.0.0',
    };
    const entry: StoredStatement = {
      id,
      sent: structuredClone(sent),
      statement,
      stored,
      sequence: this.#sequence++,
    };
    this.stored.push(entry);
    this.#byId.set(id, entry);
    return id;
  }

  #voidedIds(): Set<string> {
    const voided = new Set<string>();
    for (const entry of this.stored) {
      if (isVoiding(entry.statement)) voided.add(String((entry.statement.object as Json).id).toLowerCase());
    }
    return voided;
  }

  #get(request: FakeRequest): FakeResponse {
    const query = request.query;
    const names = [...query.keys()];
    const more = query.get('more');
    if (more !== null) {
      if (names.length > 1) return error(400, 'more takes no other parameters');
      const cursor = this.#cursors.get(more);
      if (!cursor) return error(400, 'The more IRL has expired or is unknown');
      this.#cursors.delete(more);
      return this.#page(cursor.ids, cursor.size);
    }
    const statementId = query.get('statementId');
    const voidedStatementId = query.get('voidedStatementId');
    if (statementId !== null || voidedStatementId !== null) {
      if (statementId !== null && voidedStatementId !== null) {
        return error(400, 'statementId and voidedStatementId cannot be used together');
      }
      if (
        names.some((name) => !['statementId', 'voidedStatementId', 'attachments', 'format'].includes(name))
      ) {
        return error(400, 'statementId and voidedStatementId take no filters');
      }
      if (query.get('attachments') === 'true') return error(400, 'Attachments are not supported by this LRS');
      const id = (statementId ?? voidedStatementId ?? '').toLowerCase();
      const entry = this.#byId.get(id);
      const voided = entry !== undefined && !isVoiding(entry.statement) && this.#voidedIds().has(id);
      if (!entry || voided !== (voidedStatementId !== null)) return error(404, `No statement ${id}`);
      return {
        status: 200,
        headers: { 'last-modified': new Date(entry.stored).toUTCString() },
        body: entry.statement,
      };
    }
    const unknown = names.find((name) => !QUERY_PARAMETERS.has(name));
    if (unknown) return error(400, `Unknown parameter ${unknown}`);
    if (query.get('attachments') === 'true') return error(400, 'Attachments are not supported by this LRS');
    const format = query.get('format');
    if (format !== null && !['ids', 'exact', 'canonical'].includes(format))
      return error(400, 'format must be ids, exact or canonical');
    let agent: Json | undefined;
    if (query.has('agent')) {
      try {
        agent = JSON.parse(query.get('agent') as string) as Json;
      } catch {
        return error(400, 'agent must be a JSON Agent or Identified Group');
      }
      const problem = validateActor(agent, 'agent');
      if (problem) return error(400, problem);
    }
    const verb = query.get('verb');
    const activity = query.get('activity');
    if ((verb !== null && !IRI.test(verb)) || (activity !== null && !IRI.test(activity))) {
      return error(400, 'verb and activity must be IRIs');
    }
    const registration = query.get('registration');
    if (registration !== null && !UUID.test(registration)) return error(400, 'registration must be a UUID');
    for (const name of ['since', 'until'] as const) {
      const value = query.get(name);
      if (value !== null && !TIMESTAMP.test(value))
        return error(400, `${name} must be an ISO 8601 timestamp with a zone`);
    }
    for (const name of ['related_activities', 'related_agents', 'ascending'] as const) {
      const value = query.get(name);
      if (value !== null && value !== 'true' && value !== 'false')
        return error(400, `${name} must be true or false`);
    }
    const limitText = query.get('limit');
    const limit = limitText === null ? 0 : Number(limitText);
    if (!Number.isInteger(limit) || limit < 0) return error(400, 'limit must be a non-negative integer');
    const since = query.has('since') ? Date.parse(query.get('since') as string) : undefined;
    const until = query.has('until') ? Date.parse(query.get('until') as string) : undefined;

    const voided = this.#voidedIds();
    const filters: Filters = {
      ...(agent ? { agent } : {}),
      ...(verb !== null ? { verb } : {}),
      ...(activity !== null ? { activity } : {}),
      ...(registration !== null ? { registration: registration.toLowerCase() } : {}),
      relatedActivities: query.get('related_activities') === 'true',
      relatedAgents: query.get('related_agents') === 'true',
    };
    const matches = this.stored.filter(
      (entry) =>
        !voided.has(entry.id) &&
        (since === undefined || entry.stored > since) &&
        (until === undefined || entry.stored <= until) &&
        this.#matches(entry.statement, filters, new Set()),
    );
    matches.sort(
      (a, b) =>
        (a.stored - b.stored || a.sequence - b.sequence) * (query.get('ascending') === 'true' ? 1 : -1),
    );
    return this.#page(
      matches.map((entry) => entry.id),
      limit === 0 ? this.pageSize : Math.min(limit, this.pageSize),
    );
  }

  /** One page of `size` statements, and a `more` IRL over a cached list of the rest (§2.5.s3.b5). */
  #page(ids: string[], size: number): FakeResponse {
    const page = ids.slice(0, size);
    const rest = ids.slice(size);
    let more = '';
    if (rest.length) {
      const cursor = randomUUID();
      this.#cursors.set(cursor, { ids: rest, size });
      more = `/xapi/statements?more=${cursor}`;
    }
    return {
      status: 200,
      body: { statements: page.map((id) => this.#byId.get(id)?.statement), more },
    };
  }

  /** §2.1.3 filters, with statements targeting a matching statement counting as matches. */
  #matches(statement: Json, filters: Filters, seen: Set<string>): boolean {
    if (matchesDirectly(statement, filters)) return true;
    const object = statement.object as Json;
    if (object.objectType !== 'StatementRef') return false;
    const targetId = String(object.id).toLowerCase();
    if (seen.has(targetId)) return false;
    seen.add(targetId);
    const target = this.#byId.get(targetId);
    return target !== undefined && this.#matches(target.statement, filters, seen);
  }
}

interface Filters {
  agent?: Json;
  verb?: string;
  activity?: string;
  registration?: string;
  relatedActivities: boolean;
  relatedAgents: boolean;
}

function matchesDirectly(statement: Json, filters: Filters): boolean {
  if (filters.verb !== undefined && (statement.verb as Json).id !== filters.verb) return false;
  const context = (statement.context ?? {}) as Json;
  if (
    filters.registration !== undefined &&
    String(context.registration ?? '').toLowerCase() !== filters.registration
  ) {
    return false;
  }
  if (filters.activity !== undefined) {
    const activities = filters.relatedActivities ? relatedActivities(statement) : [statement.object as Json];
    if (
      !activities.some(
        (item) => (item.objectType ?? 'Activity') === 'Activity' && item.id === filters.activity,
      )
    ) {
      return false;
    }
  }
  if (filters.agent !== undefined) {
    const agents = filters.relatedAgents
      ? relatedAgents(statement)
      : [statement.actor as Json, statement.object as Json].filter(
          (item) => item.objectType === 'Agent' || item.objectType === 'Group' || item === statement.actor,
        );
    const wanted = filters.agent;
    const found = agents.some(
      (item) =>
        sameAgent(item, wanted) ||
        (Array.isArray(item.member) && (item.member as Json[]).some((m) => sameAgent(m, wanted))),
    );
    if (!found) return false;
  }
  return true;
}

function relatedActivities(statement: Json): Json[] {
  const out: Json[] = [statement.object as Json];
  const contextActivities = ((statement.context ?? {}) as Json).contextActivities as Json | undefined;
  for (const value of Object.values(contextActivities ?? {}))
    out.push(...((Array.isArray(value) ? value : [value]) as Json[]));
  const object = statement.object as Json;
  if (object.objectType === 'SubStatement') out.push(...relatedActivities(object));
  return out;
}

function relatedAgents(statement: Json): Json[] {
  const context = (statement.context ?? {}) as Json;
  const out = [
    statement.actor,
    statement.object,
    statement.authority,
    context.instructor,
    context.team,
  ].filter((item): item is Json => typeof item === 'object' && item !== null);
  const object = statement.object as Json;
  if (object.objectType === 'SubStatement') out.push(...relatedAgents(object));
  return out;
}

function sameAgent(a: Json, b: Json): boolean {
  for (const ifi of IFIS) {
    if (a[ifi] !== undefined && b[ifi] !== undefined) return canonical(a[ifi]) === canonical(b[ifi]);
  }
  return false;
}

// -------------------------------------------------------------------------------------------------
// Validation (xAPI-Data.md §2.2, §2.4)
// -------------------------------------------------------------------------------------------------

/** The reason a statement must be rejected, or undefined. */
export function validateStatement(value: unknown, sub: boolean): string | undefined {
  if (!isObject(value)) return 'A statement must be a JSON object';
  const nulls = findNull(value, '');
  if (nulls) return `${nulls} is null`;
  const allowed = sub
    ? ['objectType', 'actor', 'verb', 'object', 'result', 'context', 'timestamp', 'attachments']
    : [
        'id',
        'actor',
        'verb',
        'object',
        'result',
        'context',
        'timestamp',
        'stored',
        'authority',
        'version',
        'attachments',
      ];
  const extra = Object.keys(value).find((key) => !allowed.includes(key));
  if (extra) return `${extra} is not a statement property`;
  if (!sub && value.id !== undefined && (typeof value.id !== 'string' || !UUID.test(value.id)))
    return 'id must be a UUID';
  for (const required of ['actor', 'verb', 'object'] as const)
    if (value[required] === undefined) return `${required} is required`;
  const actor = validateActor(value.actor, 'actor');
  if (actor) return actor;
  const verb = validateVerb(value.verb);
  if (verb) return verb;
  const object = validateObject(value.object, sub);
  if (object) return object;
  if (value.result !== undefined) {
    const result = validateResult(value.result);
    if (result) return result;
  }
  if (value.context !== undefined) {
    const context = validateContext(value.context, value.object as Json);
    if (context) return context;
  }
  if (value.timestamp !== undefined && !isTimestamp(value.timestamp))
    return 'timestamp must be an ISO 8601 date-time with a zone';
  if (value.stored !== undefined && !isTimestamp(value.stored))
    return 'stored must be an ISO 8601 date-time with a zone';
  if (
    value.version !== undefined &&
    (typeof value.version !== 'string' || !/^1\.0(\.\d+)?$/.test(value.version))
  ) {
    return 'version must be 1.0.x';
  }
  if (value.authority !== undefined) {
    const authority = validateActor(value.authority, 'authority');
    if (authority) return authority;
  }
  if (value.attachments !== undefined) {
    if (!Array.isArray(value.attachments)) return 'attachments must be an array';
    for (const attachment of value.attachments) {
      if (!isObject(attachment) || typeof attachment.fileUrl !== 'string') {
        return 'attachments without a fileUrl need multipart/mixed, which this LRS does not accept';
      }
    }
  }
  if (isVoiding(value) && (value.object as Json).objectType !== 'StatementRef') {
    return 'a voiding statement needs a StatementRef object';
  }
  return undefined;
}

export function validateActor(value: unknown, where: string): string | undefined {
  if (!isObject(value)) return `${where} must be an Agent or Group object`;
  const type = value.objectType ?? 'Agent';
  if (type !== 'Agent' && type !== 'Group') return `${where}.objectType must be Agent or Group`;
  const allowed = ['objectType', 'name', ...IFIS, ...(type === 'Group' ? ['member'] : [])];
  const extra = Object.keys(value).find((key) => !allowed.includes(key));
  if (extra) return `${where}.${extra} is not an ${type} property`;
  if (value.name !== undefined && typeof value.name !== 'string') return `${where}.name must be a string`;
  const ifis = IFIS.filter((ifi) => value[ifi] !== undefined);
  if (ifis.length > 1) return `${where} has more than one inverse functional identifier (${ifis.join(', ')})`;
  if (type === 'Agent' && ifis.length === 0)
    return `${where} needs one of mbox, mbox_sha1sum, openid, account`;
  for (const ifi of ifis) {
    const problem = validateIfi(ifi, value[ifi], `${where}.${ifi}`);
    if (problem) return problem;
  }
  if (type === 'Group') {
    if (value.member !== undefined && !Array.isArray(value.member)) return `${where}.member must be an array`;
    const members = (value.member ?? []) as unknown[];
    if (ifis.length === 0 && members.length === 0) return `${where}: an anonymous Group needs members`;
    for (const [index, member] of members.entries()) {
      if (isObject(member) && member.objectType === 'Group')
        return `${where}.member[${index}] cannot be a Group`;
      const problem = validateActor(member, `${where}.member[${index}]`);
      if (problem) return problem;
    }
  }
  return undefined;
}

function validateIfi(ifi: (typeof IFIS)[number], value: unknown, where: string): string | undefined {
  switch (ifi) {
    case 'mbox':
      return typeof value === 'string' && /^mailto:[^@\s]+@[^@\s]+$/.test(value)
        ? undefined
        : `${where} must be a mailto: IRI`;
    case 'mbox_sha1sum':
      return typeof value === 'string' && /^[0-9a-f]{40}$/i.test(value)
        ? undefined
        : `${where} must be a hex SHA-1`;
    case 'openid':
      return typeof value === 'string' && IRI.test(value) ? undefined : `${where} must be a URI`;
    case 'account': {
      if (!isObject(value)) return `${where} must be an object`;
      const extra = Object.keys(value).find((key) => key !== 'homePage' && key !== 'name');
      if (extra) return `${where}.${extra} is not an account property`;
      if (typeof value.homePage !== 'string' || !IRI.test(value.homePage))
        return `${where}.homePage must be an IRL`;
      if (typeof value.name !== 'string' || !value.name) return `${where}.name must be a non-empty string`;
      return undefined;
    }
  }
}

function validateVerb(value: unknown): string | undefined {
  if (!isObject(value)) return 'verb must be an object';
  const extra = Object.keys(value).find((key) => key !== 'id' && key !== 'display');
  if (extra) return `verb.${extra} is not a verb property`;
  if (typeof value.id !== 'string' || !IRI.test(value.id)) return 'verb.id must be an IRI';
  return value.display === undefined ? undefined : validateLanguageMap(value.display, 'verb.display');
}

function validateObject(value: unknown, sub: boolean): string | undefined {
  if (!isObject(value)) return 'object must be an object';
  const type = value.objectType ?? 'Activity';
  switch (type) {
    case 'Activity': {
      const extra = Object.keys(value).find((key) => !['objectType', 'id', 'definition'].includes(key));
      if (extra) return `object.${extra} is not an Activity property`;
      if (typeof value.id !== 'string' || !IRI.test(value.id)) return 'object.id must be an IRI';
      return value.definition === undefined ? undefined : validateDefinition(value.definition);
    }
    case 'Agent':
    case 'Group':
      return validateActor(value, 'object');
    case 'StatementRef': {
      const extra = Object.keys(value).find((key) => key !== 'objectType' && key !== 'id');
      if (extra) return `object.${extra} is not a StatementRef property`;
      return typeof value.id === 'string' && UUID.test(value.id)
        ? undefined
        : 'object.id of a StatementRef must be a UUID';
    }
    case 'SubStatement':
      if (sub) return 'a SubStatement cannot contain a SubStatement';
      return validateStatement(value, true);
    default:
      return `object.objectType ${String(type)} is not valid`;
  }
}

function validateDefinition(value: unknown): string | undefined {
  if (!isObject(value)) return 'object.definition must be an object';
  const allowed = [
    'name',
    'description',
    'type',
    'moreInfo',
    'extensions',
    'interactionType',
    'correctResponsesPattern',
    'choices',
    'scale',
    'source',
    'target',
    'steps',
  ];
  const extra = Object.keys(value).find((key) => !allowed.includes(key));
  if (extra) return `object.definition.${extra} is not a definition property`;
  for (const key of ['name', 'description'] as const) {
    if (value[key] !== undefined) {
      const problem = validateLanguageMap(value[key], `object.definition.${key}`);
      if (problem) return problem;
    }
  }
  for (const key of ['type', 'moreInfo'] as const) {
    if (value[key] !== undefined && (typeof value[key] !== 'string' || !IRI.test(value[key] as string))) {
      return `object.definition.${key} must be an IRI`;
    }
  }
  return value.extensions === undefined
    ? undefined
    : validateExtensions(value.extensions, 'object.definition.extensions');
}

function validateResult(value: unknown): string | undefined {
  if (!isObject(value)) return 'result must be an object';
  const extra = Object.keys(value).find(
    (key) => !['score', 'success', 'completion', 'response', 'duration', 'extensions'].includes(key),
  );
  if (extra) return `result.${extra} is not a result property`;
  for (const key of ['success', 'completion'] as const) {
    if (value[key] !== undefined && typeof value[key] !== 'boolean') return `result.${key} must be a boolean`;
  }
  if (value.response !== undefined && typeof value.response !== 'string')
    return 'result.response must be a string';
  if (
    value.duration !== undefined &&
    (typeof value.duration !== 'string' || !DURATION.test(value.duration))
  ) {
    return 'result.duration must be an ISO 8601 duration';
  }
  if (value.extensions !== undefined) {
    const problem = validateExtensions(value.extensions, 'result.extensions');
    if (problem) return problem;
  }
  if (value.score === undefined) return undefined;
  const score = value.score;
  if (!isObject(score)) return 'result.score must be an object';
  const extraScore = Object.keys(score).find((key) => !['scaled', 'raw', 'min', 'max'].includes(key));
  if (extraScore) return `result.score.${extraScore} is not a score property`;
  for (const key of ['scaled', 'raw', 'min', 'max'] as const) {
    if (score[key] !== undefined && (typeof score[key] !== 'number' || !Number.isFinite(score[key]))) {
      return `result.score.${key} must be a number`;
    }
  }
  const { scaled, raw, min, max } = score as { scaled?: number; raw?: number; min?: number; max?: number };
  if (scaled !== undefined && (scaled < -1 || scaled > 1))
    return 'result.score.scaled must be between -1 and 1';
  if (min !== undefined && max !== undefined && min >= max) return 'result.score.min must be less than max';
  if (raw !== undefined && ((min !== undefined && raw < min) || (max !== undefined && raw > max))) {
    return 'result.score.raw must be between min and max';
  }
  return undefined;
}

function validateContext(value: unknown, object: Json): string | undefined {
  if (!isObject(value)) return 'context must be an object';
  const allowed = [
    'registration',
    'instructor',
    'team',
    'contextActivities',
    'revision',
    'platform',
    'language',
    'statement',
    'extensions',
  ];
  const extra = Object.keys(value).find((key) => !allowed.includes(key));
  if (extra) return `context.${extra} is not a context property`;
  if (
    value.registration !== undefined &&
    (typeof value.registration !== 'string' || !UUID.test(value.registration))
  ) {
    return 'context.registration must be a UUID';
  }
  const isActivity = (object.objectType ?? 'Activity') === 'Activity';
  for (const key of ['revision', 'platform'] as const) {
    if (value[key] === undefined) continue;
    if (typeof value[key] !== 'string') return `context.${key} must be a string`;
    if (!isActivity) return `context.${key} is only allowed when the object is an Activity`;
  }
  if (
    value.language !== undefined &&
    (typeof value.language !== 'string' || !LANGUAGE_TAG.test(value.language))
  ) {
    return 'context.language must be a language tag';
  }
  for (const key of ['instructor', 'team'] as const) {
    if (value[key] === undefined) continue;
    const problem = validateActor(value[key], `context.${key}`);
    if (problem) return problem;
    if (key === 'team' && (value.team as Json).objectType !== 'Group') return 'context.team must be a Group';
  }
  if (value.statement !== undefined) {
    const ref = value.statement;
    if (
      !isObject(ref) ||
      ref.objectType !== 'StatementRef' ||
      typeof ref.id !== 'string' ||
      !UUID.test(ref.id)
    ) {
      return 'context.statement must be a StatementRef';
    }
  }
  if (value.contextActivities !== undefined) {
    const activities = value.contextActivities;
    if (!isObject(activities)) return 'context.contextActivities must be an object';
    for (const [kind, entries] of Object.entries(activities)) {
      if (!['parent', 'grouping', 'category', 'other'].includes(kind))
        return `context.contextActivities.${kind} is not allowed`;
      for (const entry of Array.isArray(entries) ? entries : [entries]) {
        if (!isObject(entry) || (entry.objectType !== undefined && entry.objectType !== 'Activity')) {
          return `context.contextActivities.${kind} must hold Activities`;
        }
        const problem = validateObject(entry, true);
        if (problem) return problem.replace(/^object/, `context.contextActivities.${kind}`);
      }
    }
  }
  return value.extensions === undefined
    ? undefined
    : validateExtensions(value.extensions, 'context.extensions');
}

function validateLanguageMap(value: unknown, where: string): string | undefined {
  if (!isObject(value)) return `${where} must be a language map`;
  for (const [tag, text] of Object.entries(value)) {
    if (!LANGUAGE_TAG.test(tag)) return `${where} has an invalid language tag ${tag}`;
    if (typeof text !== 'string') return `${where}.${tag} must be a string`;
  }
  return undefined;
}

function validateExtensions(value: unknown, where: string): string | undefined {
  if (!isObject(value)) return `${where} must be an object`;
  const bad = Object.keys(value).find((key) => !IRI.test(key));
  return bad ? `${where} key ${bad} must be an IRI` : undefined;
}

// -------------------------------------------------------------------------------------------------
// Helpers
// -------------------------------------------------------------------------------------------------

/** §2.3.1: what differs only by what the LRS assigns or reserializes is the same statement. */
function sameStatement(a: Json, b: Json): boolean {
  const strip = (statement: Json, other: Json): Json => {
    const copy: Json = structuredClone(statement);
    for (const key of ['id', 'authority', 'stored', 'version']) delete copy[key];
    if (copy.timestamp === undefined || other.timestamp === undefined) delete copy.timestamp;
    else copy.timestamp = Date.parse(String(copy.timestamp));
    const verb = copy.verb as Json;
    delete verb.display;
    const object = copy.object as Json;
    if ((object.objectType ?? 'Activity') === 'Activity') delete object.definition;
    return copy;
  };
  return canonical(strip(a, b)) === canonical(strip(b, a));
}

/** JSON with sorted keys and Group members in a stable order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (isObject(value)) {
    const entries = Object.keys(value)
      .sort()
      .map((key) => {
        const item =
          key === 'member' && Array.isArray(value[key])
            ? [...(value[key] as unknown[])].sort((x, y) => (canonical(x) < canonical(y) ? -1 : 1))
            : value[key];
        return `${JSON.stringify(key)}:${canonical(item)}`;
      });
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value);
}

function isVoiding(statement: Json): boolean {
  return isObject(statement.verb) && statement.verb.id === VOIDED;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isTimestamp(value: unknown): boolean {
  return typeof value === 'string' && TIMESTAMP.test(value) && !Number.isNaN(Date.parse(value));
}

/** The path of the first null outside `extensions`, or undefined. */
function findNull(value: unknown, path: string): string | undefined {
  if (value === null) return path || 'the statement';
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const found = findNull(item, `${path}[${index}]`);
      if (found) return found;
    }
  } else if (isObject(value)) {
    for (const [key, item] of Object.entries(value)) {
      if (key === 'extensions') continue;
      const found = findNull(item, path ? `${path}.${key}` : key);
      if (found) return found;
    }
  }
  return undefined;
}

function error(status: number, message: string): FakeResponse {
  return { status, body: { error: { message } } };
}
