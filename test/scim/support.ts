/**
 * SCIM test client: a directory of a fresh organization and a `scim()` call that sends what IdPs
 * send (`application/scim+json`, the directory's bearer token) to the real app.
 */
import type { TestHub } from '../support/hub.ts';

export const CORE_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const ENTERPRISE_USER = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const CORE_GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const LIST_RESPONSE = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
export const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';

export interface ScimResponse<T = any> {
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: T;
  text: string;
}

export interface ScimDirectory {
  organizationId: string;
  directoryId: string;
  token: string;
  /** Path prefix of the SCIM endpoints, e.g. /scim/v2/dir_... */
  base: string;
  scim<T = any>(
    method: string,
    path: string,
    options?: { body?: unknown; payload?: string; headers?: Record<string, string>; token?: string | null },
  ): Promise<ScimResponse<T>>;
}

let counter = 0;

export async function createScimDirectory(
  t: TestHub,
  options: {
    provider?: 'entra' | 'okta' | 'generic';
    organizationId?: string;
    settings?: unknown;
    orgPolicies?: unknown;
  } = {},
): Promise<ScimDirectory> {
  let organizationId = options.organizationId;
  if (!organizationId) {
    const org = await t.api('POST', '/api/v1/organizations', {
      body: {
        name: `SCIM Org ${++counter}`,
        ...(options.orgPolicies ? { policies: options.orgPolicies } : {}),
      },
    });
    if (org.status !== 201) throw new Error(`organization: ${org.status} ${org.text}`);
    organizationId = org.body.id as string;
  }
  const created = await t.api('POST', `/api/v1/organizations/${organizationId}/directories`, {
    body: {
      name: `${options.provider ?? 'generic'} directory`,
      provider: options.provider ?? 'generic',
      ...(options.settings ? { settings: options.settings } : {}),
    },
  });
  if (created.status !== 201) throw new Error(`directory: ${created.status} ${created.text}`);
  const directoryId = created.body.directory.id as string;
  const token = created.body.token as string;
  const base = `/scim/v2/${directoryId}`;
  return {
    organizationId,
    directoryId,
    token,
    base,
    async scim(method, path, requestOptions = {}) {
      const headers: Record<string, string> = { ...requestOptions.headers };
      const bearer = requestOptions.token === undefined ? token : requestOptions.token;
      if (bearer) headers.authorization = `Bearer ${bearer}`;
      let payload: string | undefined = requestOptions.payload;
      if (payload === undefined && requestOptions.body !== undefined)
        payload = JSON.stringify(requestOptions.body);
      if (
        payload !== undefined &&
        !Object.keys(headers).some((name) => name.toLowerCase() === 'content-type')
      ) {
        headers['content-type'] = 'application/scim+json';
      }
      const response = await t.app.inject({
        method: method as 'GET',
        url: path.startsWith('/scim/') ? path : `${base}${path}`,
        headers,
        ...(payload !== undefined ? { payload } : {}),
      });
      let body: unknown = response.body;
      if (String(response.headers['content-type'] ?? '').includes('json') && response.body)
        body = JSON.parse(response.body);
      return {
        status: response.statusCode,
        headers: response.headers,
        body: body as never,
        text: response.body,
      };
    },
  };
}

/** `filter=` query string, encoded as IdPs send it (`%20` for spaces). */
export function filterQuery(filter: string): string {
  return `filter=${encodeURIComponent(filter)}`;
}

/**
 * Events of an organization in the order they were written, read straight from the table: a
 * request's events are there once it has answered (same transaction), whatever the log's
 * sequencing and paging do.
 */
export async function eventsOf(t: TestHub, organizationId: string, types?: string): Promise<any[]> {
  const wanted = types?.split(',').map((type) => type.trim());
  const client = (t.hub.database.pool ?? t.hub.database.pglite) as {
    query(text: string, values: unknown[]): Promise<{ rows: any[] }>;
  };
  const { rows } = await client.query(
    'select id, type, actor, subject_type, subject_id, data from events where organization_id = $1 order by id',
    [organizationId],
  );
  return rows
    .filter((row) => !wanted || wanted.includes(row.type))
    .map((row) => ({
      id: String(row.id),
      type: row.type,
      actor: row.actor,
      subject: { type: row.subject_type, id: row.subject_id },
      data: row.data,
    }));
}
