/**
 * Fake SAP SuccessFactors OData v2 API (apis.md §5):
 *
 *   POST /oauth/token      client_id (API key), company_id,
 *                          grant_type=urn:ietf:params:oauth:grant-type:saml2-bearer, assertion=base64(SAML)
 *                          The SAML assertion's XML signature is verified (xml-crypto) with the
 *                          public key registered for the OAuth client; audience, validity window,
 *                          api_key attribute and user are checked. No client secret.
 *   GET  /odata/v2/User, /odata/v2/EmpJob, /odata/v2/PerPersonal
 *
 * Also Basic `user@companyId:password` (deprecated, still seen). OData quirks reproduced:
 * `{"d":{"results":[…],"__next":"…$skiptoken=…"}}` with at most 1000 rows (`customPageSize`);
 * dates as `/Date(ms)/` and date-times as `/Date(ms+0000)/`; `__metadata{uri,type}` on every
 * entity; navigation properties `__deferred` unless `$expand`ed; only active users unless
 * `$filter=status in 't','f','T','F','e','d'`; EmpJob returns only the current record unless
 * `fromDate`/`toDate` ask for history; JSON only with `$format=json` (Atom XML otherwise);
 * errors `{"error":{"code","message":{"lang","value"}}}`; 429 with Retry-After (SAP suggests 300 s).
 */
import { DOMParser } from '@xmldom/xmldom';
import { exportPKCS8, exportSPKI, generateKeyPair } from 'jose';
import { SignedXml } from 'xml-crypto';
import {
  FakeControls,
  type FakeRequest,
  type FakeResponse,
  type Fault,
  parseBasicAuth,
  parseBearer,
  startFakeHttpServer,
  TokenBook,
} from '../hr-fake-server.ts';
import { type FakePerson, PeopleStore, type PeopleStoreOptions } from '../hr-people.ts';

export interface FakeSuccessFactorsOptions extends PeopleStoreOptions {
  companyId?: string;
  tokenLifetimeSeconds?: number;
  /** Rows per page when the client sends no customPageSize (SuccessFactors: 1000). */
  maxPageSize?: number;
}

export interface FakeSuccessFactors {
  url: string;
  companyId: string;
  /** OAuth client (API key) registered with this key pair's certificate. */
  clientId: string;
  /** The technical user the SAML assertion names. */
  apiUserId: string;
  privateKeyPem: string;
  /** Basic auth (deprecated). */
  basicUser: string;
  basicPassword: string;
  people: PeopleStore;
  controls: FakeControls;
  requests: Awaited<ReturnType<typeof startFakeHttpServer>>['requests'];
  fail(fault: Fault): void;
  expireTokens(): void;
  close(): Promise<void>;
}

const DAY = 86_400_000;
const END_OF_TIME = Date.UTC(9999, 11, 31);
const EVENT_REASON = {
  hire: 'HIRNEW',
  promotion: 'PRMPRM',
  transfer: 'TRNTRN',
  data_change: 'DATACHG',
  termination: 'TERRES',
} as const;

const odataDate = (date: string | number) =>
  `/Date(${typeof date === 'number' ? date : Date.parse(`${date}T00:00:00Z`)})/`;
const odataDateTime = (ms: number) => `/Date(${ms}+0000)/`;

export async function startFakeSuccessFactors(
  options: FakeSuccessFactorsOptions = {},
): Promise<FakeSuccessFactors> {
  const companyId = options.companyId ?? 'ACMECORP';
  const clientId = 'NjQ0ZDUxMmFiYzFmYjNmOWE4MzM5Yjg1ZTQ4Zg';
  const apiUserId = 'sfapi';
  const basicUser = 'sfapi';
  const basicPassword = 'sf-password';
  const people = new PeopleStore(options);
  const controls = new FakeControls();
  controls.breakCounts = (path) => path.endsWith('/User');
  const tokens = new TokenBook();
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
  const publicPem = await exportSPKI(publicKey);
  const privateKeyPem = await exportPKCS8(privateKey);
  let base = '';
  const snapshots = new Map<string, Record<string, unknown>[]>();

  const odataError = (
    status: number,
    code: string,
    value: string,
    headers: Record<string, string> = {},
  ): FakeResponse => ({
    status,
    headers,
    body: { error: { code, message: { lang: 'en-US', value } } },
  });

  function token(request: FakeRequest): FakeResponse {
    const form = request.form ?? new URLSearchParams();
    const refuse = (message: string) => ({ status: 401, body: { errorCode: 401, errorMessage: message } });
    if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:saml2-bearer')
      return refuse('Unsupported grant type');
    if (form.get('company_id') !== companyId) return refuse(`Invalid company ID: ${form.get('company_id')}`);
    if (form.get('client_id') !== clientId) return refuse('Invalid client ID (API key)');
    let xml: string;
    try {
      xml = Buffer.from(form.get('assertion') ?? '', 'base64').toString('utf8');
    } catch {
      return refuse('Unable to decode the SAML assertion');
    }
    if (/<!DOCTYPE|<!ENTITY/i.test(xml)) return refuse('Unable to validate the SAML assertion');
    const document = new DOMParser({
      errorHandler: { warning: () => {}, error: () => {}, fatalError: () => {} },
    }).parseFromString(xml, 'text/xml');
    const signature = document
      .getElementsByTagNameNS('http://www.w3.org/2000/09/xmldsig#', 'Signature')
      .item(0);
    if (!signature) return refuse('The SAML assertion is not signed');
    const verifier = new SignedXml({ publicCert: publicPem });
    let signed: string | undefined;
    try {
      verifier.loadSignature(signature as unknown as Node);
      if (!verifier.checkSignature(xml))
        return refuse('Unable to validate the signature of the SAML assertion');
      signed = verifier.getSignedReferences()[0];
    } catch {
      return refuse('Unable to validate the signature of the SAML assertion');
    }
    // Read the claims from what was signed, never from the document around it (signature wrapping).
    if (!signed || !/Assertion/.test(signed.slice(0, 200)))
      return refuse('The signature does not cover the assertion');
    const assertion = new DOMParser().parseFromString(signed, 'text/xml');
    const SAML = 'urn:oasis:names:tc:SAML:2.0:assertion';
    const text = (name: string) =>
      assertion.getElementsByTagNameNS(SAML, name).item(0)?.textContent?.trim() ?? '';
    const conditions = assertion.getElementsByTagNameNS(SAML, 'Conditions').item(0);
    const notBefore = Date.parse(conditions?.getAttribute('NotBefore') ?? '');
    const notOnOrAfter = Date.parse(conditions?.getAttribute('NotOnOrAfter') ?? '');
    const now = Date.now();
    if (!(notBefore <= now + 60_000) || !(now < notOnOrAfter))
      return refuse('The SAML assertion has expired or is not yet valid');
    if (text('Audience') !== 'www.successfactors.com')
      return refuse('Invalid audience in the SAML assertion');
    if (text('NameID') !== apiUserId) return refuse(`Unknown user ${text('NameID')}`);
    const attributes = assertion.getElementsByTagNameNS(SAML, 'Attribute');
    let apiKey = '';
    for (let i = 0; i < attributes.length; i++) {
      const attribute = attributes.item(i);
      if (attribute?.getAttribute('Name') === 'api_key') apiKey = attribute.textContent?.trim() ?? '';
    }
    if (apiKey !== clientId) return refuse('The api_key attribute does not match the client ID');
    const lifetime = options.tokenLifetimeSeconds ?? 86_399;
    controls.stats.tokensIssued += 1;
    return {
      status: 200,
      body: {
        access_token: tokens.issue(apiUserId, lifetime, 'eyJ0b2tlbkNvbnRlbnQi'),
        token_type: 'Bearer',
        expires_in: lifetime,
      },
    };
  }

  interface Query {
    entity: 'User' | 'EmpJob' | 'PerPersonal';
    filter: string | null;
    select: string[] | null;
    expand: string[];
    fromDate: string | null;
    toDate: string | null;
    pageSize: number;
    offset: number;
    /** `paging=snapshot`: the result set is frozen at the first request (held server-side). */
    snapshot?: string;
  }

  type Clause = (row: Record<string, unknown>) => boolean;

  function parseFilter(filter: string | null): Clause[] | FakeResponse {
    if (!filter) return [];
    const clauses: Clause[] = [];
    for (const part of filter.split(/\s+and\s+/i)) {
      const trimmed = part.trim().replace(/^\((.*)\)$/, '$1');
      const inMatch = /^(\w+)\s+in\s+((?:'[^']*'\s*,\s*)*'[^']*')$/i.exec(trimmed);
      if (inMatch) {
        const values = new Set([...(inMatch[2] as string).matchAll(/'([^']*)'/g)].map((m) => m[1]));
        const field = inMatch[1] as string;
        clauses.push((row) => values.has(String(row[field])));
        continue;
      }
      const eq = /^(\w+)\s+eq\s+'([^']*)'$/i.exec(trimmed);
      if (eq) {
        clauses.push((row) => String(row[eq[1] as string]) === eq[2]);
        continue;
      }
      const modified = /^lastModifiedDateTime\s+(gt|ge)\s+datetime(?:offset)?'([^']+)'$/i.exec(trimmed);
      if (modified) {
        const since = Date.parse(modified[2] as string);
        clauses.push((row) => {
          const ms = Number(/\/Date\((\d+)/.exec(String(row.lastModifiedDateTime))?.[1]);
          return modified[1] === 'gt' ? ms > since : ms >= since;
        });
        continue;
      }
      return odataError(400, 'COE_GENERAL_BAD_REQUEST', `Invalid filter expression: ${trimmed}`);
    }
    return clauses;
  }

  const metadata = (entity: string, key: string) => ({
    uri: `${base}/odata/v2/${entity}(${key})`,
    type: `SFOData.${entity}`,
  });

  function userRow(person: FakePerson, expand: string[]): Record<string, unknown> {
    const manager = person.managerId ? people.people.get(person.managerId) : undefined;
    const custom: Record<string, unknown> = {};
    for (let i = 1; i <= 15; i++) custom[`custom${String(i).padStart(2, '0')}`] = null;
    custom.custom01 = person.customFields.shirt_size ?? null;
    return {
      __metadata: metadata('User', `'${person.id}'`),
      userId: person.id,
      username: person.email.split('@')[0],
      firstName: person.firstName,
      lastName: person.lastName,
      email: person.email,
      status: person.status === 'terminated' ? 'f' : 't',
      empId: person.employeeNumber,
      department: person.department,
      division: person.division,
      location: person.location,
      title: person.jobTitle,
      hireDate: odataDate(person.hireDate),
      lastModifiedDateTime: odataDateTime(person.modifiedAt),
      ...custom,
      manager: expand.includes('manager')
        ? manager
          ? { __metadata: metadata('User', `'${manager.id}'`), userId: manager.id }
          : null
        : { __deferred: { uri: `${base}/odata/v2/User('${person.id}')/manager` } },
    };
  }

  function empJobRows(person: FakePerson, query: Query): Record<string, unknown>[] {
    const history = person.jobHistory;
    const rows = history.map((entry, index) => {
      const start = Date.parse(`${entry.effectiveDate}T00:00:00Z`);
      const nextStart = history[index + 1]
        ? Date.parse(`${history[index + 1]?.effectiveDate}T00:00:00Z`)
        : undefined;
      return {
        __metadata: metadata(
          'EmpJob',
          `seqNumber=1L,startDate=datetime'${entry.effectiveDate}T00:00:00',userId='${person.id}'`,
        ),
        userId: person.id,
        startDate: odataDate(start),
        endDate: odataDate(nextStart === undefined ? END_OF_TIME : nextStart - DAY),
        seqNumber: '1',
        jobCode: entry.jobTitle.toUpperCase().replace(/\W+/g, '_'),
        jobTitle: entry.jobTitle,
        payGrade: entry.level,
        department: person.department,
        division: person.division,
        location: person.location,
        company: companyId,
        businessUnit: person.division,
        costCenter: person.costCenter,
        managerId: person.managerId ?? 'NO_MANAGER',
        emplStatus: entry.reason === 'termination' ? 'T' : person.status === 'leave' ? 'U' : 'A',
        eventReason: EVENT_REASON[entry.reason],
        employeeClass: { FULL_TIME: 'R', PART_TIME: 'P', CONTRACTOR: 'C', INTERN: 'I' }[
          person.employmentType
        ],
        lastModifiedDateTime: odataDateTime(person.modifiedAt),
        _start: start,
        _end: nextStart === undefined ? END_OF_TIME : nextStart - DAY,
      };
    });
    const from = query.fromDate ? Date.parse(`${query.fromDate}T00:00:00Z`) : undefined;
    const to = query.toDate ? Date.parse(`${query.toDate}T00:00:00Z`) : undefined;
    const today = people.now();
    return rows
      .filter((row) =>
        from === undefined && to === undefined
          ? row._start <= today && today <= row._end
          : row._end >= (from ?? 0) && row._start <= (to ?? END_OF_TIME),
      )
      .map(({ _start, _end, ...row }) => row);
  }

  function perPersonalRow(person: FakePerson): Record<string, unknown> {
    return {
      __metadata: metadata(
        'PerPersonal',
        `personIdExternal='${person.id}',startDate=datetime'${person.hireDate}T00:00:00'`,
      ),
      personIdExternal: person.id,
      startDate: odataDate(person.hireDate),
      endDate: odataDate(END_OF_TIME),
      firstName: person.firstName,
      lastName: person.lastName,
      middleName: null,
      preferredName: person.preferredName,
      displayName: `${person.preferredName ?? person.firstName} ${person.lastName}`,
      gender: null,
    };
  }

  function list(request: FakeRequest, entity: Query['entity']): FakeResponse {
    let query: Query;
    const skiptoken = request.query.get('$skiptoken');
    if (skiptoken) {
      try {
        query = JSON.parse(Buffer.from(skiptoken, 'base64url').toString('utf8')) as Query;
      } catch {
        return odataError(400, 'COE_GENERAL_BAD_REQUEST', 'Invalid $skiptoken');
      }
      if (query.entity !== entity)
        return odataError(400, 'COE_GENERAL_BAD_REQUEST', 'The $skiptoken belongs to another entity set');
    } else {
      const custom = request.query.get('customPageSize');
      const pageSize = custom ? Number(custom) : (options.maxPageSize ?? 1000);
      if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1000) {
        return odataError(
          400,
          'COE_GENERAL_BAD_REQUEST',
          `customPageSize must be between 1 and 1000, got ${custom}`,
        );
      }
      query = {
        entity,
        filter: request.query.get('$filter'),
        select:
          request.query
            .get('$select')
            ?.split(',')
            .map((s) => s.trim()) ?? null,
        expand:
          request.query
            .get('$expand')
            ?.split(',')
            .map((s) => s.trim()) ?? [],
        fromDate: request.query.get('fromDate'),
        toDate: request.query.get('toDate'),
        pageSize,
        offset: 0,
      };
    }
    const clauses = parseFilter(query.filter);
    if (!Array.isArray(clauses)) return clauses;
    const sorted = people.list().sort((a, b) => (a.id < b.id ? -1 : 1));
    let rows: Record<string, unknown>[];
    if (query.snapshot) {
      const frozen = snapshots.get(query.snapshot);
      if (!frozen)
        return odataError(400, 'COE_GENERAL_BAD_REQUEST', 'The snapshot of this $skiptoken has expired');
      return pageOf(entity, query, frozen);
    }
    if (entity === 'User') {
      rows = sorted.map((p) => userRow(p, query.expand));
      // Only active users unless the filter asks for status explicitly.
      if (!/\bstatus\b/.test(query.filter ?? ''))
        rows = rows.filter((row) => row.status === 't' || row.status === 'T');
    } else if (entity === 'EmpJob') rows = sorted.flatMap((p) => empJobRows(p, query));
    else rows = sorted.map(perPersonalRow);
    rows = rows.filter((row) => clauses.every((clause) => clause(row)));
    const top = request.query.get('$top');
    if (top !== null && !skiptoken) {
      // Client-side paging: exactly what was asked, no __next.
      const skip = Number(request.query.get('$skip') ?? 0);
      rows = rows.slice(skip, skip + Number(top));
      return { status: 200, body: { d: { results: rows.map((row) => project(row, query.select)) } } };
    }
    if (request.query.get('paging') === 'snapshot' && !skiptoken) {
      query.snapshot = `snap${snapshots.size + 1}`;
      snapshots.set(query.snapshot, rows);
    }
    return pageOf(entity, query, rows);
  }

  /** One page of `rows` at the query's offset, with `__next` when more remain. */
  function pageOf(entity: string, query: Query, rows: Record<string, unknown>[]): FakeResponse {
    const page = rows.slice(query.offset, query.offset + query.pageSize);
    const d: Record<string, unknown> = { results: page.map((row) => project(row, query.select)) };
    if (query.offset + query.pageSize < rows.length) {
      const next = Buffer.from(JSON.stringify({ ...query, offset: query.offset + query.pageSize })).toString(
        'base64url',
      );
      d.__next = `${base}/odata/v2/${entity}?$format=json&$skiptoken=${next}`;
    }
    return { status: 200, body: { d } };
  }

  function project(row: Record<string, unknown>, select: string[] | null): Record<string, unknown> {
    if (!select) return row;
    const out: Record<string, unknown> = { __metadata: row.__metadata };
    for (const key of select) {
      const [head, sub] = key.split('/');
      if (!head || !(head in row)) continue;
      const value = row[head];
      if (sub && value && typeof value === 'object' && !('__deferred' in value)) {
        const nested = value as Record<string, unknown>;
        out[head] = { ...((out[head] as object) ?? {}), __metadata: nested.__metadata, [sub]: nested[sub] };
      } else if (!sub) out[head] = value;
      else out[head] = value;
    }
    return out;
  }

  const server = await startFakeHttpServer((request) => {
    if (request.method === 'POST' && request.path === '/oauth/token') return token(request);
    const entity = /^\/odata\/v2\/(User|EmpJob|PerPersonal)$/.exec(request.path)?.[1] as
      | Query['entity']
      | undefined;
    if (!request.path.startsWith('/odata/v2/')) return odataError(404, 'COE_RESOURCE_NOT_FOUND', 'Not found');
    const basic = parseBasicAuth(request.headers.authorization);
    if (basic) {
      if (basic[0] !== `${basicUser}@${companyId}` || basic[1] !== basicPassword) {
        return odataError(401, 'LGN0022', 'Authentication failed: check user name, company ID and password.');
      }
    } else {
      const state = tokens.check(parseBearer(request.headers.authorization)).state;
      if (state === 'expired') return odataError(401, 'LGN0025', 'The access token has expired.');
      if (state !== 'valid')
        return odataError(401, 'LGN0022', 'Authentication failed: the access token is invalid.');
    }
    const fault = controls.admit(request.path);
    if (fault?.kind === 'broken') return odataError(500, 'COE_INTERNAL_ERROR', 'An internal error occurred.');
    if (fault?.kind === 'throttle') {
      return odataError(429, 'COE_TOO_MANY_REQUESTS', 'Too many requests. Retry later.', {
        'retry-after': String(fault.retryAfterSeconds ?? 300),
      });
    }
    if (fault?.kind === 'unavailable')
      return odataError(503, 'COE_SERVICE_UNAVAILABLE', 'Service unavailable.');
    if (!entity)
      return odataError(
        404,
        'COE_ENTITY_NOT_FOUND',
        `Entity set not found: ${request.path.split('/').at(-1)}`,
      );
    if (request.method !== 'GET') return odataError(405, 'COE_METHOD_NOT_ALLOWED', 'Method not allowed');
    const wantsJson =
      request.query.get('$format') === 'json' ||
      /application\/json/.test(String(request.headers.accept ?? ''));
    const response = list(request, entity);
    if (!wantsJson && response.status === 200) {
      return {
        status: 200,
        headers: { 'content-type': 'application/atom+xml;type=feed;charset=utf-8' },
        body: `<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title type="text">${entity}</title></feed>`,
      };
    }
    return response;
  });
  base = server.url;

  return {
    url: server.url,
    companyId,
    clientId,
    apiUserId,
    privateKeyPem,
    basicUser,
    basicPassword,
    people,
    controls,
    requests: server.requests,
    fail: (fault) => controls.fail(fault),
    expireTokens: () => tokens.expireAll(),
    close: server.close,
  };
}
