/**
 * Fake Microsoft identity platform + Microsoft Graph v1.0 (apis.md §6), on one port:
 *
 *   POST /{tenant}/oauth2/v2.0/token           client credentials, scope https://graph.microsoft.com/.default
 *   GET  /v1.0/users                           $select, $expand=manager($select=id), $top ≤ 999, @odata.nextLink
 *   GET  /v1.0/users/{id}
 *   GET  /v1.0/users/delta                     Prefer: odata.maxpagesize; @odata.nextLink … @odata.deltaLink;
 *                                              changed users carry only id + changed properties; removed ones
 *                                              `{"id","@removed":{"reason":"changed"|"deleted"}}`
 *   GET  /v1.0/groups, /v1.0/groups/{id}/members|transitiveMembers|transitiveMemberOf
 *   GET  /v1.0/groups/delta?$select=displayName,members   `members@delta` with `@removed`
 *
 * Faithful where it hurts: `employeeId`, `department`, `accountEnabled` are not in the default
 * property set (ask with $select); the query of a delta round is baked into its links (a later
 * `$select` is ignored); `$top` is refused on delta (page size comes from the Prefer header);
 * 429 + Retry-After (seconds) with Graph's error body; an expired token is 401
 * `InvalidAuthenticationToken`; a missing application permission is 403
 * `Authorization_RequestDenied`; an expired delta token is 410 `resyncRequired`.
 */
import { randomUUID } from 'node:crypto';
import {
  FakeControls,
  type FakeRequest,
  type FakeResponse,
  type Fault,
  parseBearer,
  startFakeHttpServer,
  TokenBook,
} from '../hr-fake-server.ts';
import { type FakePerson, PeopleStore, type PeopleStoreOptions } from '../hr-people.ts';

export interface FakeGraphOptions extends PeopleStoreOptions {
  tenantId?: string;
  clientId?: string;
  clientSecret?: string;
  /** Application permissions consented for the app (default User.Read.All + GroupMember.Read.All). */
  permissions?: string[];
  tokenLifetimeSeconds?: number;
  /** Default delta page size when no Prefer header is sent. */
  defaultDeltaPageSize?: number;
}

export interface FakeGraph {
  url: string;
  tenantId: string;
  clientId: string;
  clientSecret: string;
  people: PeopleStore;
  controls: FakeControls;
  requests: Awaited<ReturnType<typeof startFakeHttpServer>>['requests'];
  permissions: Set<string>;
  fail(fault: Fault): void;
  expireTokens(): void;
  /** Delta tokens issued so far stop working (410 resyncRequired), as after Graph's retention window. */
  expireDeltaTokens(): void;
  close(): Promise<void>;
}

const DEFAULT_USER_PROPERTIES = [
  'businessPhones',
  'displayName',
  'givenName',
  'jobTitle',
  'mail',
  'mobilePhone',
  'officeLocation',
  'preferredLanguage',
  'surname',
  'userPrincipalName',
  'id',
];

/** Which Graph user properties a change of a fake person's field touches. */
const GRAPH_PROPERTIES_OF: Partial<Record<keyof FakePerson, string[]>> = {
  firstName: ['givenName', 'displayName'],
  lastName: ['surname', 'displayName'],
  email: ['mail', 'userPrincipalName'],
  jobTitle: ['jobTitle'],
  department: ['department'],
  division: ['employeeOrgData'],
  costCenter: ['employeeOrgData'],
  location: ['officeLocation'],
  managerId: ['manager'],
  employmentType: ['employeeType'],
  status: ['accountEnabled'],
  hireDate: ['employeeHireDate'],
  employeeNumber: ['employeeId'],
  level: ['onPremisesExtensionAttributes'],
  customFields: ['onPremisesExtensionAttributes'],
};

interface DeltaState {
  /** Store version the round's changes start after (0 for an initial round). */
  from: number;
  /** Store version the round covers up to (set when the round began). */
  to: number;
  initial: boolean;
  after: string;
  select: string[] | null;
  expandManager: boolean;
  /** Delta-token generation (expireDeltaTokens bumps it). */
  epoch: number;
}

const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const decode = <T>(token: string): T | undefined => {
  try {
    return JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as T;
  } catch {
    return undefined;
  }
};

export async function startFakeGraph(options: FakeGraphOptions = {}): Promise<FakeGraph> {
  const tenantId = options.tenantId ?? '72f988bf-86f1-41af-91ab-2d7cd011db47';
  const clientId = options.clientId ?? randomUUID();
  const clientSecret = options.clientSecret ?? 'graph~secret.value';
  const permissions = new Set(options.permissions ?? ['User.Read.All', 'GroupMember.Read.All']);
  const people = new PeopleStore(options);
  const controls = new FakeControls();
  const tokens = new TokenBook();
  let epoch = 0;
  let base = '';

  const graphError = (
    status: number,
    code: string,
    message: string,
    headers: Record<string, string> = {},
  ): FakeResponse => ({
    status,
    headers,
    body: {
      error: {
        code,
        message,
        innerError: {
          date: new Date().toISOString().slice(0, 19),
          'request-id': randomUUID(),
          'client-request-id': randomUUID(),
        },
      },
    },
  });
  const aadError = (status: number, error: string, code: number, description: string): FakeResponse => ({
    status,
    body: {
      error,
      error_description: `AADSTS${code}: ${description} Trace ID: ${randomUUID()} Correlation ID: ${randomUUID()} Timestamp: ${new Date().toISOString()}`,
      error_codes: [code],
      timestamp: new Date().toISOString(),
      trace_id: randomUUID(),
      correlation_id: randomUUID(),
    },
  });

  function token(request: FakeRequest): FakeResponse {
    const form = request.form ?? new URLSearchParams();
    const tenant = request.path.split('/')[1];
    if (tenant !== tenantId) {
      return aadError(
        400,
        'invalid_request',
        90002,
        `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID.`,
      );
    }
    if (form.get('grant_type') !== 'client_credentials') {
      return aadError(400, 'unsupported_grant_type', 70003, 'The app requested an unsupported grant type.');
    }
    if (form.get('client_id') !== clientId) {
      return aadError(
        400,
        'unauthorized_client',
        700016,
        `Application with identifier '${form.get('client_id')}' was not found in the directory.`,
      );
    }
    if (form.get('client_secret') !== clientSecret) {
      return aadError(
        401,
        'invalid_client',
        7000215,
        'Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.',
      );
    }
    if (form.get('scope') !== 'https://graph.microsoft.com/.default') {
      return aadError(
        400,
        'invalid_scope',
        1002012,
        `The provided value for scope ${form.get('scope')} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
      );
    }
    const lifetime = options.tokenLifetimeSeconds ?? 3599;
    controls.stats.tokensIssued += 1;
    return {
      status: 200,
      body: {
        token_type: 'Bearer',
        expires_in: lifetime,
        ext_expires_in: lifetime,
        access_token: tokens.issue(clientId, lifetime, 'eyJ0eXAiOiJKV1Qi.'),
      },
    };
  }

  function parseSelect(request: FakeRequest): string[] | null {
    const select = request.query.get('$select');
    return select
      ? select
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : null;
  }

  function expandsManager(request: FakeRequest): boolean {
    const expand = request.query.get('$expand');
    return !!expand && /^manager(\(\$select=[^)]*\))?$/.test(expand.trim());
  }

  function renderUser(
    person: FakePerson,
    select: string[] | null,
    expandManager: boolean,
    only?: Set<string>,
  ): Record<string, unknown> {
    const all: Record<string, unknown> = {
      id: person.id,
      businessPhones: [],
      displayName: `${person.preferredName ?? person.firstName} ${person.lastName}`,
      givenName: person.firstName,
      surname: person.lastName,
      jobTitle: person.jobTitle,
      mail: person.email,
      mobilePhone: null,
      officeLocation: person.location,
      preferredLanguage: 'en-US',
      userPrincipalName: person.email,
      accountEnabled: person.status !== 'terminated',
      department: person.department,
      employeeId: person.employeeNumber,
      employeeType: {
        FULL_TIME: 'Employee',
        PART_TIME: 'Employee',
        CONTRACTOR: 'Contractor',
        INTERN: 'Intern',
      }[person.employmentType],
      employeeHireDate: `${person.hireDate}T00:00:00Z`,
      employeeOrgData: { division: person.division, costCenter: person.costCenter },
      companyName: 'Contoso',
      onPremisesExtensionAttributes: {
        extensionAttribute1: person.customFields.shirt_size ?? null,
        extensionAttribute2: person.level,
        ...Object.fromEntries(Array.from({ length: 13 }, (_, i) => [`extensionAttribute${i + 3}`, null])),
      },
    };
    const keys = (select ?? DEFAULT_USER_PROPERTIES).filter((key) => key in all);
    const out: Record<string, unknown> = {};
    for (const key of keys) if (!only || only.has(key)) out[key] = all[key];
    out.id = person.id;
    if (
      expandManager &&
      person.managerId &&
      people.people.has(person.managerId) &&
      (!only || only.has('manager'))
    ) {
      out.manager = { '@odata.type': '#microsoft.graph.user', id: person.managerId };
    }
    return out;
  }

  function pageSizeFrom(request: FakeRequest, fallback: number): number | FakeResponse {
    const prefer = String(request.headers.prefer ?? '');
    const match = /odata\.maxpagesize=(\d+)/i.exec(prefer);
    if (match) return Math.max(1, Math.min(Number(match[1]), 999));
    return fallback;
  }

  function topFrom(request: FakeRequest): number | FakeResponse {
    const top = request.query.get('$top');
    if (top === null) return 100;
    const n = Number(top);
    if (!Number.isInteger(n) || n < 1 || n > 999) {
      return graphError(
        400,
        'Request_UnsupportedQuery',
        `Invalid page size specified: '${top}'. Must be between 1 and 999 inclusive.`,
      );
    }
    return n;
  }

  // Derived views are cached per roster revision: a 100,000-person delta round pages without re-sorting.
  const cache = new Map<string, { revision: number; value: unknown }>();
  function cached<T>(key: string, compute: () => T): T {
    const hit = cache.get(key);
    if (hit && hit.revision === people.revision) return hit.value as T;
    const value = compute();
    cache.set(key, { revision: people.revision, value });
    return value;
  }

  function sortedPeople(): FakePerson[] {
    return cached('people', () => people.list().sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)));
  }

  /** Rows after `after` in an id-sorted list (binary search). */
  function after<T extends { id: string }>(sorted: T[], id: string): T[] {
    let low = 0;
    let high = sorted.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if ((sorted[mid] as T).id <= id) low = mid + 1;
      else high = mid;
    }
    return sorted.slice(low);
  }

  function usersList(request: FakeRequest): FakeResponse {
    const skip = request.query.get('$skiptoken');
    let state: { after: string; select: string[] | null; expand: boolean; top: number };
    if (skip) {
      const decoded = decode<typeof state>(skip);
      if (!decoded) return graphError(400, 'Request_BadRequest', "Invalid value for '$skiptoken'.");
      state = decoded;
    } else {
      const filter = request.query.get('$filter');
      if (filter !== null) {
        // Graph supports `id in ('a','b',...)` with at most 15 values (directory OR-clause limit).
        const match = /^id in \(((?:'[^']*'\s*,\s*)*'[^']*')\)$/.exec(filter.trim());
        if (!match) return graphError(400, 'Request_UnsupportedQuery', 'Unsupported query.');
        const ids = [...(match[1] as string).matchAll(/'([^']*)'/g)].map((m) => m[1] as string);
        if (ids.length > 15) {
          return graphError(
            400,
            'Request_UnsupportedQuery',
            `Too many child clauses specified in search filter expression containing 'OR' operators: ${ids.length}. Max allowed: 15.`,
          );
        }
        const select = parseSelect(request);
        const expand = expandsManager(request);
        return {
          status: 200,
          body: {
            '@odata.context': `${base}/v1.0/$metadata#users`,
            value: ids
              .map((id) => people.people.get(id))
              .filter((p): p is FakePerson => !!p)
              .map((p) => renderUser(p, select, expand)),
          },
        };
      }
      const top = topFrom(request);
      if (typeof top !== 'number') return top;
      state = { after: '', select: parseSelect(request), expand: expandsManager(request), top };
    }
    const rows = after(sortedPeople(), state.after);
    const page = rows.slice(0, state.top);
    const body: Record<string, unknown> = {
      '@odata.context': `${base}/v1.0/$metadata#users`,
      value: page.map((p) => renderUser(p, state.select, state.expand)),
    };
    if (rows.length > page.length) {
      body['@odata.nextLink'] =
        `${base}/v1.0/users?$skiptoken=${encode({ ...state, after: page.at(-1)?.id })}`;
    }
    return { status: 200, body };
  }

  function userDelta(request: FakeRequest): FakeResponse {
    const skip = request.query.get('$skiptoken');
    const deltaToken = request.query.get('$deltatoken');
    let state: DeltaState;
    if (skip || deltaToken) {
      const decoded = decode<DeltaState>((skip ?? deltaToken) as string);
      if (!decoded) return graphError(400, 'Request_BadRequest', 'Invalid delta or skip token.');
      if (decoded.epoch !== epoch) {
        return graphError(
          410,
          'resyncRequired',
          'The delta token has expired: restart the synchronization from scratch.',
        );
      }
      // A delta token starts a new round covering changes up to now; a skip token continues one.
      state = deltaToken
        ? { ...decoded, from: decoded.to, to: people.version, initial: false, after: '' }
        : decoded;
    } else {
      if (request.query.has('$top')) {
        return graphError(
          400,
          'Request_UnsupportedQuery',
          "Unsupported query option '$top' for delta; use the Prefer: odata.maxpagesize header.",
        );
      }
      state = {
        from: 0,
        to: people.version,
        initial: true,
        after: '',
        select: parseSelect(request),
        expandManager: expandsManager(request),
        epoch,
      };
    }
    const size = pageSizeFrom(request, options.defaultDeltaPageSize ?? 200) as number;
    let items: Array<{ id: string; render: () => Record<string, unknown> }>;
    if (state.initial) {
      items = sortedPeople().map((p) => ({
        id: p.id,
        render: () => renderUser(p, state.select, state.expandManager),
      }));
    } else {
      const touched = new Map<
        string,
        { removed?: 'changed' | 'deleted'; created: boolean; props: Set<string> }
      >();
      for (const change of people.changes.slice(state.from, state.to)) {
        if (change.kind !== 'person') continue;
        const entry = touched.get(change.id) ?? { created: false, props: new Set<string>() };
        if (change.action === 'delete') entry.removed = change.hard ? 'deleted' : 'changed';
        else {
          entry.removed = undefined;
          if (change.fields.includes('createdAt')) entry.created = true;
          for (const field of change.fields)
            for (const prop of GRAPH_PROPERTIES_OF[field] ?? []) entry.props.add(prop);
        }
        touched.set(change.id, entry);
      }
      items = [...touched.entries()]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([id, entry]) => ({
          id,
          render: () => {
            const person = people.people.get(id);
            if (entry.removed || !person) return { id, '@removed': { reason: entry.removed ?? 'changed' } };
            // Updated users carry their id and the properties that changed (created ones, all).
            return renderUser(
              person,
              state.select,
              state.expandManager,
              entry.created ? undefined : entry.props,
            );
          },
        }));
    }
    const rest = after(items, state.after);
    const page = rest.slice(0, size);
    const body: Record<string, unknown> = {
      '@odata.context': `${base}/v1.0/$metadata#users(${(state.select ?? []).join(',')})`,
      value: page.map((item) => item.render()),
    };
    if (rest.length > page.length) {
      body['@odata.nextLink'] =
        `${base}/v1.0/users/delta?$skiptoken=${encode({ ...state, after: page.at(-1)?.id })}`;
    } else {
      body['@odata.deltaLink'] =
        `${base}/v1.0/users/delta?$deltatoken=${encode({ ...state, from: state.to, after: '' })}`;
    }
    return { status: 200, body };
  }

  function groupMember(id: string): Record<string, unknown> {
    return people.people.has(id)
      ? { '@odata.type': '#microsoft.graph.user', id }
      : { '@odata.type': '#microsoft.graph.group', id };
  }

  function groupDelta(request: FakeRequest): FakeResponse {
    const skip = request.query.get('$skiptoken');
    const deltaToken = request.query.get('$deltatoken');
    let state: DeltaState;
    if (skip || deltaToken) {
      const decoded = decode<DeltaState>((skip ?? deltaToken) as string);
      if (!decoded) return graphError(400, 'Request_BadRequest', 'Invalid delta or skip token.');
      if (decoded.epoch !== epoch) {
        return graphError(
          410,
          'resyncRequired',
          'The delta token has expired: restart the synchronization from scratch.',
        );
      }
      state = deltaToken
        ? { ...decoded, from: decoded.to, to: people.version, initial: false, after: '' }
        : decoded;
    } else {
      state = {
        from: 0,
        to: people.version,
        initial: true,
        after: '',
        select: parseSelect(request),
        expandManager: false,
        epoch,
      };
    }
    const withMembers = (state.select ?? []).includes('members');
    const size = pageSizeFrom(request, options.defaultDeltaPageSize ?? 200) as number;
    let items: Array<{ id: string; render: () => Record<string, unknown> }>;
    if (state.initial) {
      items = [...people.groups.values()]
        .sort((a, b) => (a.id < b.id ? -1 : 1))
        .map((g) => ({
          id: g.id,
          render: () => ({
            id: g.id,
            displayName: g.name,
            ...(withMembers ? { 'members@delta': g.memberIds.map(groupMember) } : {}),
          }),
        }));
    } else {
      const touched = new Map<string, { deleted: boolean; added: Set<string>; removed: Set<string> }>();
      for (const change of people.changes.slice(state.from, state.to)) {
        if (change.kind !== 'group') continue;
        const entry = touched.get(change.id) ?? {
          deleted: false,
          added: new Set<string>(),
          removed: new Set<string>(),
        };
        if (change.action === 'delete') entry.deleted = true;
        else {
          for (const id of change.added) {
            entry.removed.delete(id);
            entry.added.add(id);
          }
          for (const id of change.removed) {
            entry.added.delete(id);
            entry.removed.add(id);
          }
        }
        touched.set(change.id, entry);
      }
      items = [...touched.entries()]
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([id, entry]) => ({
          id,
          render: () => {
            const group = people.groups.get(id);
            if (entry.deleted || !group) return { id, '@removed': { reason: 'changed' } };
            return {
              id,
              displayName: group.name,
              ...(withMembers
                ? {
                    'members@delta': [
                      ...[...entry.added].map(groupMember),
                      ...[...entry.removed].map((member) => ({
                        ...groupMember(member),
                        '@removed': { reason: 'deleted' },
                      })),
                    ],
                  }
                : {}),
            };
          },
        }));
    }
    const rest = items.filter((item) => item.id > state.after);
    const page = rest.slice(0, size);
    const body: Record<string, unknown> = {
      '@odata.context': `${base}/v1.0/$metadata#groups`,
      value: page.map((i) => i.render()),
    };
    if (rest.length > page.length) {
      body['@odata.nextLink'] =
        `${base}/v1.0/groups/delta?$skiptoken=${encode({ ...state, after: page.at(-1)?.id })}`;
    } else {
      body['@odata.deltaLink'] =
        `${base}/v1.0/groups/delta?$deltatoken=${encode({ ...state, from: state.to, after: '' })}`;
    }
    return { status: 200, body };
  }

  function pagedList(
    request: FakeRequest,
    path: string,
    all: Array<Record<string, unknown> & { id: string }>,
  ): FakeResponse {
    const skip = request.query.get('$skiptoken');
    let state: { after: string; top: number };
    if (skip) {
      const decoded = decode<typeof state>(skip);
      if (!decoded) return graphError(400, 'Request_BadRequest', "Invalid value for '$skiptoken'.");
      state = decoded;
    } else {
      const top = topFrom(request);
      if (typeof top !== 'number') return top;
      state = { after: '', top };
    }
    const rows = after(all, state.after);
    const page = rows.slice(0, state.top);
    const body: Record<string, unknown> = {
      '@odata.context': `${base}/v1.0/$metadata#directoryObjects`,
      value: page,
    };
    if (rows.length > page.length) {
      body['@odata.nextLink'] = `${base}${path}?$skiptoken=${encode({ ...state, after: page.at(-1)?.id })}`;
    }
    return { status: 200, body };
  }

  function groupRelation(request: FakeRequest, groupId: string, relation: string): FakeResponse {
    const group = people.groups.get(groupId);
    if (!group) {
      return graphError(
        404,
        'Request_ResourceNotFound',
        `Resource '${groupId}' does not exist or one of its queried reference-property objects are not present.`,
      );
    }
    let ids: string[];
    if (relation === 'members') ids = group.memberIds;
    else if (relation === 'transitiveMembers') {
      const nested = new Set<string>();
      const walk = (id: string) => {
        for (const member of people.groups.get(id)?.memberIds ?? []) {
          if (nested.has(member)) continue;
          nested.add(member);
          if (people.groups.has(member)) walk(member);
        }
      };
      walk(groupId);
      ids = [...nested];
    } else {
      const parents = new Set<string>();
      const walk = (id: string) => {
        for (const candidate of people.groups.values()) {
          if (candidate.memberIds.includes(id) && !parents.has(candidate.id)) {
            parents.add(candidate.id);
            walk(candidate.id);
          }
        }
      };
      walk(groupId);
      ids = [...parents];
    }
    return pagedList(
      request,
      request.path,
      ids.map((id) => groupMember(id) as Record<string, unknown> & { id: string }),
    );
  }

  function requirePermission(request: FakeRequest): FakeResponse | undefined {
    const users = request.path.startsWith('/v1.0/users');
    const ok = users
      ? ['User.Read.All', 'User.ReadBasic.All', 'Directory.Read.All'].some((p) => permissions.has(p))
      : ['GroupMember.Read.All', 'Group.Read.All', 'Directory.Read.All'].some((p) => permissions.has(p));
    return ok
      ? undefined
      : graphError(403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.');
  }

  const server = await startFakeHttpServer((request) => {
    if (request.method === 'POST' && /^\/[^/]+\/oauth2\/v2\.0\/token$/.test(request.path))
      return token(request);
    if (!request.path.startsWith('/v1.0/'))
      return graphError(400, 'BadRequest', `Invalid version: ${request.path.split('/')[1]}`);
    const bearer = parseBearer(request.headers.authorization);
    if (!bearer) return graphError(401, 'InvalidAuthenticationToken', 'Access token is empty.');
    const state = tokens.check(bearer).state;
    if (state === 'expired')
      return graphError(
        401,
        'InvalidAuthenticationToken',
        'Lifetime validation failed, the token is expired.',
      );
    if (state !== 'valid')
      return graphError(
        401,
        'InvalidAuthenticationToken',
        'Access token validation failure. Invalid audience.',
      );
    const denied = requirePermission(request);
    if (denied) return denied;
    const fault = controls.admit(request.path);
    if (fault?.kind === 'broken') return graphError(500, 'UnknownError', '');
    if (fault?.kind === 'throttle') {
      return graphError(429, 'TooManyRequests', 'Too many requests.', {
        'retry-after': String(fault.retryAfterSeconds ?? 2),
      });
    }
    if (fault?.kind === 'unavailable') {
      return graphError(503, 'serviceNotAvailable', 'Service unavailable.', {
        'retry-after': String(fault.retryAfterSeconds ?? 5),
      });
    }
    if (request.method !== 'GET') return graphError(405, 'Request_BadRequest', 'Method not allowed.');
    const path = request.path;
    if (path === '/v1.0/users') return usersList(request);
    if (path === '/v1.0/users/delta') return userDelta(request);
    if (path === '/v1.0/groups/delta') return groupDelta(request);
    if (path === '/v1.0/groups') {
      const select = parseSelect(request);
      return pagedList(
        request,
        path,
        [...people.groups.values()]
          .sort((a, b) => (a.id < b.id ? -1 : 1))
          .map((g) => {
            const all = {
              id: g.id,
              displayName: g.name,
              mail: g.email,
              description: g.description,
              securityEnabled: true,
              mailEnabled: true,
            };
            return select
              ? (Object.fromEntries(
                  Object.entries(all).filter(([k]) => k === 'id' || select.includes(k)),
                ) as typeof all)
              : all;
          }),
      );
    }
    const user = /^\/v1\.0\/users\/([^/]+)$/.exec(path);
    if (user) {
      const person = people.people.get(decodeURIComponent(user[1] as string));
      if (!person) {
        return graphError(
          404,
          'Request_ResourceNotFound',
          `Resource '${user[1]}' does not exist or one of its queried reference-property objects are not present.`,
        );
      }
      return {
        status: 200,
        body: {
          '@odata.context': `${base}/v1.0/$metadata#users/$entity`,
          ...renderUser(person, parseSelect(request), expandsManager(request)),
        },
      };
    }
    const group = /^\/v1\.0\/groups\/([^/]+)$/.exec(path);
    if (group) {
      const found = people.groups.get(decodeURIComponent(group[1] as string));
      if (!found) {
        return graphError(
          404,
          'Request_ResourceNotFound',
          `Resource '${group[1]}' does not exist or one of its queried reference-property objects are not present.`,
        );
      }
      return {
        status: 200,
        body: { id: found.id, displayName: found.name, mail: found.email, description: found.description },
      };
    }
    const relation = /^\/v1\.0\/groups\/([^/]+)\/(members|transitiveMembers|transitiveMemberOf)$/.exec(path);
    if (relation)
      return groupRelation(request, decodeURIComponent(relation[1] as string), relation[2] as string);
    return graphError(400, 'BadRequest', `Resource not found for the segment '${path.split('/').at(-1)}'.`);
  });
  base = server.url;

  return {
    url: server.url,
    tenantId,
    clientId,
    clientSecret,
    people,
    controls,
    permissions,
    requests: server.requests,
    fail: (fault) => controls.fail(fault),
    expireTokens: () => tokens.expireAll(),
    expireDeltaTokens: () => {
      epoch += 1;
    },
    close: server.close,
  };
}
