/**
 * Fake Google OAuth token endpoint + Admin SDK Directory API v1 (apis.md §6), on one port:
 *
 *   POST /token   grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<RS256 JWT>
 *                 The assertion is verified with jose against the service account's public key
 *                 (`kid` = private_key_id): iss = client_email, aud = token_uri, exp − iat ≤ 1 h,
 *                 `sub` = a user of the domain, `scope` within what domain-wide delegation grants
 *                 that client id; otherwise `unauthorized_client` / `invalid_grant` as Google answers.
 *   GET /admin/directory/v1/users?customer=my_customer&maxResults≤500&pageToken&projection&orderBy
 *   GET /admin/directory/v1/groups?customer=my_customer&maxResults≤200&pageToken
 *   GET /admin/directory/v1/groups/{groupKey}/members?includeDerivedMembership&maxResults≤200
 *   GET /admin/directory/v1/customer/{customer}/schemas
 *
 * Faithful where it bites: the delegated subject must be an admin or the API answers 403
 * "Not Authorized to access this resource/api"; an empty page has no `users` key at all; the
 * manager is a `relations[type=manager].value` *email*; custom schema values come only with
 * `projection=full`; the per-user quota (2,400/min) answers **403 `userRateLimitExceeded`**, no
 * Retry-After; an expired token is 401 `authError`. Errors are
 * `{"error":{"code","message","errors":[{"message","domain","reason"}],"status"}}`.
 */
import { decodeProtectedHeader, exportPKCS8, exportSPKI, generateKeyPair, importSPKI, jwtVerify } from 'jose';
import {
  FakeControls,
  type FakeRequest,
  type FakeResponse,
  type Fault,
  MinuteWindow,
  parseBearer,
  startFakeHttpServer,
  TokenBook,
} from '../hr-fake-server.ts';
import { type FakePerson, PeopleStore, type PeopleStoreOptions } from '../hr-people.ts';

export const USER_SCOPE = 'https://www.googleapis.com/auth/admin.directory.user.readonly';
export const GROUP_SCOPE = 'https://www.googleapis.com/auth/admin.directory.group.readonly';

export interface ServiceAccountKey {
  type: 'service_account';
  project_id: string;
  private_key_id: string;
  private_key: string;
  client_email: string;
  client_id: string;
  auth_uri: string;
  token_uri: string;
}

export interface FakeGoogleOptions extends PeopleStoreOptions {
  /** Scopes domain-wide delegation grants the service account's client id (default: users + groups read). */
  delegatedScopes?: string[];
  /** Queries per minute per user per project (default 2,400). */
  quotaPerMinute?: number;
  tokenLifetimeSeconds?: number;
}

export interface FakeGoogle {
  url: string;
  serviceAccountKey: ServiceAccountKey;
  /** A super admin of the domain, for `sub`. */
  adminEmail: string;
  people: PeopleStore;
  controls: FakeControls;
  requests: Awaited<ReturnType<typeof startFakeHttpServer>>['requests'];
  /** Scopes delegation grants; tests revoke or narrow it. */
  delegatedScopes: Set<string>;
  quota: MinuteWindow;
  fail(fault: Fault): void;
  expireTokens(): void;
  close(): Promise<void>;
}

/** Google user ids are 21-digit numbers; the fake derives one from the person id when it is not numeric. */
function googleId(personId: string): string {
  return /^\d+$/.test(personId)
    ? personId
    : `1${Buffer.from(personId).toString('hex').slice(0, 20).padEnd(20, '0')}`;
}

export async function startFakeGoogle(options: FakeGoogleOptions = {}): Promise<FakeGoogle> {
  const people = new PeopleStore({ domain: 'acme.example', ...options });
  const controls = new FakeControls();
  const tokens = new TokenBook();
  const quota = new MinuteWindow(options.quotaPerMinute ?? 2400);
  const delegatedScopes = new Set(options.delegatedScopes ?? [USER_SCOPE, GROUP_SCOPE]);
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
  const publicPem = await exportSPKI(publicKey);
  const adminEmail = `admin@${people.domain}`;
  const grants = new Map<string, { subject: string; scopes: Set<string> }>();
  let base = '';
  const key: ServiceAccountKey = {
    type: 'service_account',
    project_id: 'switchboard-directory',
    private_key_id: 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678',
    private_key: await exportPKCS8(privateKey),
    client_email: 'switchboard-sync@switchboard-directory.iam.gserviceaccount.com',
    client_id: '109876543210987654321',
    auth_uri: 'https://accounts.google.com/o/oauth2/auth',
    token_uri: '',
  };

  const oauthError = (error: string, description: string, status = 400): FakeResponse => ({
    status,
    body: { error, error_description: description },
  });
  const apiError = (
    code: number,
    message: string,
    reason: string,
    status: string,
    headers: Record<string, string> = {},
  ): FakeResponse => ({
    status: code,
    headers,
    body: {
      error: {
        code,
        message,
        errors: [{ message, domain: reason === 'authError' ? 'global' : 'usageLimits', reason }],
        status,
      },
    },
  });

  async function token(request: FakeRequest): Promise<FakeResponse> {
    const form = request.form ?? new URLSearchParams();
    if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') {
      return oauthError('unsupported_grant_type', `Invalid grant_type: ${form.get('grant_type') ?? ''}`);
    }
    const assertion = form.get('assertion') ?? '';
    let header: ReturnType<typeof decodeProtectedHeader>;
    try {
      header = decodeProtectedHeader(assertion);
    } catch {
      return oauthError('invalid_grant', 'Invalid JWT: the assertion is not a JWT.');
    }
    if (header.kid && header.kid !== key.private_key_id)
      return oauthError('invalid_grant', 'Invalid JWT Signature.');
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(assertion, await importSPKI(publicPem, 'RS256'), {
        algorithms: ['RS256'],
        clockTolerance: 60,
      }));
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === 'ERR_JWT_EXPIRED' || code === 'ERR_JWT_CLAIM_VALIDATION_FAILED') {
        return oauthError(
          'invalid_grant',
          'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.',
        );
      }
      return oauthError('invalid_grant', 'Invalid JWT Signature.');
    }
    if (payload.iss !== key.client_email)
      return oauthError('invalid_grant', 'Invalid grant: account not found');
    if (payload.aud !== key.token_uri)
      return oauthError('invalid_grant', 'Invalid JWT: Failed audience check.');
    const iat = Number(payload.iat);
    const exp = Number(payload.exp);
    if (!Number.isFinite(iat) || !Number.isFinite(exp) || exp - iat > 3600 || iat > Date.now() / 1000 + 60) {
      return oauthError(
        'invalid_grant',
        'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.',
      );
    }
    const scopes = String(payload.scope ?? '')
      .split(/\s+/)
      .filter(Boolean);
    if (scopes.length === 0) return oauthError('invalid_scope', 'Empty or missing scope not allowed.');
    const subject = typeof payload.sub === 'string' ? payload.sub : undefined;
    if (!subject) {
      // Without sub the token is the service account's own: it is no one in the domain.
      grants.set('', { subject: '', scopes: new Set(scopes) });
    } else if (scopes.some((scope) => !delegatedScopes.has(scope))) {
      return oauthError(
        'unauthorized_client',
        'Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.',
        401,
      );
    } else if (subject !== adminEmail && !people.list().some((p) => p.email === subject)) {
      return oauthError('invalid_grant', 'Invalid email or User ID');
    }
    const lifetime = options.tokenLifetimeSeconds ?? 3599;
    controls.stats.tokensIssued += 1;
    const accessToken = tokens.issue(subject ?? '', lifetime, 'ya29.');
    grants.set(accessToken, { subject: subject ?? '', scopes: new Set(scopes) });
    return { status: 200, body: { access_token: accessToken, expires_in: lifetime, token_type: 'Bearer' } };
  }

  function renderUser(person: FakePerson, projection: string): Record<string, unknown> {
    const manager = person.managerId ? people.people.get(person.managerId) : undefined;
    const user: Record<string, unknown> = {
      kind: 'admin#directory#user',
      id: googleId(person.id),
      etag: `"${person.modifiedAt.toString(36)}"`,
      primaryEmail: person.email,
      name: {
        givenName: person.firstName,
        familyName: person.lastName,
        fullName: `${person.firstName} ${person.lastName}`,
      },
      isAdmin: false,
      isDelegatedAdmin: false,
      creationTime: new Date(person.createdAt).toISOString(),
      agreedToTerms: true,
      suspended: person.status === 'terminated',
      ...(person.status === 'terminated' ? { suspensionReason: 'ADMIN' } : {}),
      archived: false,
      changePasswordAtNextLogin: false,
      emails: [{ address: person.email, primary: true }],
      externalIds: [{ value: person.employeeNumber, type: 'organization' }],
      organizations: [
        {
          title: person.jobTitle,
          primary: true,
          customType: '',
          department: person.department,
          description: person.employmentType === 'CONTRACTOR' ? 'Contractor' : 'Employee',
          costCenter: person.costCenter,
        },
      ],
      locations: [{ type: 'desk', area: 'desk', buildingId: person.location }],
      customerId: 'C03az79cb',
      orgUnitPath: `/${person.department}`,
      isMailboxSetup: true,
      includeInGlobalAddressList: true,
    };
    if (manager) user.relations = [{ value: manager.email, type: 'manager' }];
    if (projection === 'full') {
      const hr: Record<string, string> = { level: person.level, hire_date: person.hireDate };
      if (person.customFields.shirt_size) hr.shirt_size = person.customFields.shirt_size;
      user.customSchemas = { HR: hr };
    }
    return user;
  }

  function pageOf<T>(
    request: FakeRequest,
    rows: T[],
    max: number,
    fallback: number,
  ): { page: T[]; next?: string } | FakeResponse {
    const requested = request.query.get('maxResults');
    const size = requested === null ? fallback : Number(requested);
    if (!Number.isInteger(size) || size < 1 || size > max) {
      return apiError(
        400,
        `Invalid value '${requested}'. Values must be within the range: [1, ${max}]`,
        'invalid',
        'INVALID_ARGUMENT',
      );
    }
    const token = request.query.get('pageToken');
    const offset = token ? Number(Buffer.from(token, 'base64url').toString('utf8').replace(/^o:/, '')) : 0;
    if (!Number.isInteger(offset) || offset < 0)
      return apiError(400, 'Invalid page token', 'invalid', 'INVALID_ARGUMENT');
    const page = rows.slice(offset, offset + size);
    return offset + size < rows.length
      ? { page, next: Buffer.from(`o:${offset + size}`).toString('base64url') }
      : { page };
  }

  function customerOk(request: FakeRequest): FakeResponse | undefined {
    const customer = request.query.get('customer');
    const domain = request.query.get('domain');
    if (!customer && !domain) return apiError(400, 'Bad Request', 'badRequest', 'INVALID_ARGUMENT');
    if (customer && customer !== 'my_customer' && customer !== 'C03az79cb') {
      return apiError(403, 'Not Authorized to access this resource/api', 'forbidden', 'PERMISSION_DENIED');
    }
    return undefined;
  }

  function findGroup(key: string) {
    return [...people.groups.values()].find((g) => g.id === key || g.email === key);
  }

  const server = await startFakeHttpServer(async (request) => {
    if (request.method === 'POST' && request.path === '/token') return token(request);
    if (!request.path.startsWith('/admin/directory/v1/'))
      return apiError(404, 'Not Found', 'notFound', 'NOT_FOUND');
    const bearer = parseBearer(request.headers.authorization);
    const state = tokens.check(bearer);
    if (state.state !== 'valid') {
      return apiError(
        401,
        'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.',
        'authError',
        'UNAUTHENTICATED',
      );
    }
    const grant = grants.get(bearer as string);
    if (!grant || grant.subject !== adminEmail) {
      return apiError(403, 'Not Authorized to access this resource/api', 'forbidden', 'PERMISSION_DENIED');
    }
    const isGroups = request.path.includes('/groups');
    const needed = isGroups
      ? [GROUP_SCOPE, 'https://www.googleapis.com/auth/admin.directory.group']
      : [USER_SCOPE, 'https://www.googleapis.com/auth/admin.directory.user'];
    if (!request.path.includes('/schemas') && !needed.some((scope) => grant.scopes.has(scope))) {
      return apiError(
        403,
        'Request had insufficient authentication scopes.',
        'insufficientPermissions',
        'PERMISSION_DENIED',
      );
    }
    if (quota.hit(`${key.client_id}/${grant.subject}`) !== undefined) {
      controls.stats.throttled += 1;
      return apiError(
        403,
        "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute per user'",
        'userRateLimitExceeded',
        'PERMISSION_DENIED',
      );
    }
    const fault = controls.admit(request.path);
    if (fault?.kind === 'broken')
      return apiError(500, 'Internal error encountered.', 'backendError', 'INTERNAL');
    if (fault?.kind === 'throttle') {
      return apiError(
        403,
        "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute per user'",
        'userRateLimitExceeded',
        'PERMISSION_DENIED',
      );
    }
    if (fault?.kind === 'unavailable')
      return apiError(503, 'The service is currently unavailable.', 'backendError', 'UNAVAILABLE');

    if (request.path === '/admin/directory/v1/users') {
      const bad = customerOk(request);
      if (bad) return bad;
      const projection = request.query.get('projection') ?? 'basic';
      let rows = people.list();
      rows =
        request.query.get('orderBy') === 'email'
          ? rows.sort((a, b) => a.email.localeCompare(b.email))
          : rows.sort((a, b) => (googleId(a.id) < googleId(b.id) ? -1 : 1));
      const result = pageOf(request, rows, 500, 100);
      if ('status' in result) return result;
      return {
        status: 200,
        body: {
          kind: 'admin#directory#users',
          etag: '"users"',
          ...(result.page.length ? { users: result.page.map((p) => renderUser(p, projection)) } : {}),
          ...(result.next ? { nextPageToken: result.next } : {}),
        },
      };
    }
    if (request.path === '/admin/directory/v1/groups') {
      const bad = customerOk(request);
      if (bad) return bad;
      const result = pageOf(request, [...people.groups.values()], 200, 200);
      if ('status' in result) return result;
      return {
        status: 200,
        body: {
          kind: 'admin#directory#groups',
          etag: '"groups"',
          ...(result.page.length
            ? {
                groups: result.page.map((g) => ({
                  kind: 'admin#directory#group',
                  id: g.id,
                  etag: `"${g.modifiedAt}"`,
                  email: g.email,
                  name: g.name,
                  directMembersCount: String(g.memberIds.length),
                  description: g.description,
                  adminCreated: true,
                })),
              }
            : {}),
          ...(result.next ? { nextPageToken: result.next } : {}),
        },
      };
    }
    const members = /^\/admin\/directory\/v1\/groups\/([^/]+)\/members$/.exec(request.path);
    if (members) {
      const group = findGroup(decodeURIComponent(members[1] as string));
      if (!group) return apiError(404, 'Resource Not Found: groupKey', 'notFound', 'NOT_FOUND');
      const derived = request.query.get('includeDerivedMembership') === 'true';
      const ids = derived
        ? [
            ...new Set([
              ...group.memberIds.filter((m) => people.groups.has(m)),
              ...people.transitivePeople(group.id),
            ]),
          ]
        : group.memberIds;
      const rows = ids.map((id) => {
        const person = people.people.get(id);
        const nested = people.groups.get(id);
        return person
          ? {
              kind: 'admin#directory#member',
              etag: '"m"',
              id: googleId(person.id),
              email: person.email,
              role: 'MEMBER',
              type: 'USER',
              status: person.status === 'terminated' ? 'SUSPENDED' : 'ACTIVE',
            }
          : {
              kind: 'admin#directory#member',
              etag: '"m"',
              id: nested?.id ?? id,
              email: nested?.email,
              role: 'MEMBER',
              type: 'GROUP',
              status: 'ACTIVE',
            };
      });
      const result = pageOf(request, rows, 200, 200);
      if ('status' in result) return result;
      return {
        status: 200,
        body: {
          kind: 'admin#directory#members',
          etag: '"members"',
          ...(result.page.length ? { members: result.page } : {}),
          ...(result.next ? { nextPageToken: result.next } : {}),
        },
      };
    }
    if (/^\/admin\/directory\/v1\/customer\/[^/]+\/schemas$/.test(request.path)) {
      return {
        status: 200,
        body: {
          kind: 'admin#directory#schemas',
          schemas: [
            {
              kind: 'admin#directory#schema',
              schemaId: 'hr-schema-1',
              schemaName: 'HR',
              displayName: 'HR',
              fields: [
                {
                  kind: 'admin#directory#schema#fieldspec',
                  fieldName: 'level',
                  fieldType: 'STRING',
                  displayName: 'Level',
                  multiValued: false,
                },
                {
                  kind: 'admin#directory#schema#fieldspec',
                  fieldName: 'hire_date',
                  fieldType: 'DATE',
                  displayName: 'Hire date',
                  multiValued: false,
                },
                {
                  kind: 'admin#directory#schema#fieldspec',
                  fieldName: 'shirt_size',
                  fieldType: 'STRING',
                  displayName: 'Shirt size',
                  multiValued: false,
                },
              ],
            },
          ],
        },
      };
    }
    return apiError(404, 'Not Found', 'notFound', 'NOT_FOUND');
  });
  base = server.url;
  key.token_uri = `${base}/token`;

  return {
    url: server.url,
    serviceAccountKey: key,
    adminEmail,
    people,
    controls,
    requests: server.requests,
    delegatedScopes,
    quota,
    fail: (fault) => controls.fail(fault),
    expireTokens: () => tokens.expireAll(),
    close: server.close,
  };
}
