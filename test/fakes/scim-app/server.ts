/**
 * A SCIM 2.0 service provider (RFC 7644) standing in for "any SCIM app": bearer auth, Users and
 * Groups with `eq` filters on userName/displayName, `startIndex`/`count` paging, PATCH with
 * add/replace/remove (including `members[value eq "..."]`), SCIM error bodies, and 409 on a
 * duplicate userName (`scimType: uniqueness`).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';
const LIST_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';

export interface ScimAppUser {
  id: string;
  userName: string;
  externalId?: string;
  name?: { givenName?: string; familyName?: string; formatted?: string };
  displayName?: string;
  active: boolean;
  emails?: unknown[];
}

export interface ScimAppGroup {
  id: string;
  displayName: string;
  members: Array<{ value: string }>;
}

export class FakeScimApp {
  readonly token: string;
  readonly users: ScimAppUser[] = [];
  readonly groups: ScimAppGroup[] = [];
  url = '';
  #server: Server | undefined;

  constructor(options: { token?: string } = {}) {
    this.token = options.token ?? randomUUID();
  }

  async start(): Promise<this> {
    this.#server = createServer((request, response) => void this.#handle(request, response));
    await new Promise<void>((resolve) => this.#server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/scim/v2`;
    return this;
  }

  async stop(): Promise<void> {
    this.#server?.closeAllConnections();
    await new Promise<void>((resolve) => this.#server?.close(() => resolve()));
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const send = (status: number, body?: unknown) => {
      response.writeHead(status, body === undefined ? {} : { 'content-type': 'application/scim+json' });
      response.end(body === undefined ? '' : JSON.stringify(body));
    };
    const error = (status: number, detail: string, scimType?: string) =>
      send(status, {
        schemas: [ERROR_SCHEMA],
        status: String(status),
        detail,
        ...(scimType ? { scimType } : {}),
      });
    if (request.headers.authorization !== `Bearer ${this.token}`) return error(401, 'Invalid bearer token');
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {};
    const url = new URL(request.url ?? '/', 'http://fake');
    const parts = url.pathname
      .replace(/^\/scim\/v2\/?/, '')
      .split('/')
      .filter(Boolean);
    const method = request.method ?? 'GET';
    const collection = parts[0] === 'Users' ? this.users : parts[0] === 'Groups' ? this.groups : undefined;
    if (!collection) return error(404, 'Unknown resource type');
    const key = parts[0] === 'Users' ? 'userName' : 'displayName';
    if (parts.length === 1 && method === 'GET') {
      let items = collection as Array<ScimAppUser | ScimAppGroup>;
      const filter = url.searchParams.get('filter');
      if (filter) {
        const match = /^(\w+) eq "((?:[^"\\]|\\.)*)"$/.exec(filter);
        if (!match || match[1] !== key) return error(400, `Unsupported filter ${filter}`, 'invalidFilter');
        const wanted = (match[2] as string).replace(/\\(.)/g, '$1').toLowerCase();
        items = items.filter(
          (item) => String((item as unknown as Record<string, string>)[key]).toLowerCase() === wanted,
        );
      }
      const start = Math.max(1, Number(url.searchParams.get('startIndex') ?? 1));
      const count = Math.max(0, Number(url.searchParams.get('count') ?? 100));
      const page = items.slice(start - 1, start - 1 + count);
      return send(200, {
        schemas: [LIST_SCHEMA],
        totalResults: items.length,
        startIndex: start,
        itemsPerPage: page.length,
        Resources: page,
      });
    }
    if (parts.length === 1 && method === 'POST') {
      const name = body[key];
      if (typeof name !== 'string' || !name) return error(400, `${key} is required`, 'invalidValue');
      if (
        collection.some(
          (item) =>
            String((item as unknown as Record<string, string>)[key]).toLowerCase() === name.toLowerCase(),
        )
      ) {
        return error(409, `${key} ${name} already exists`, 'uniqueness');
      }
      const created =
        parts[0] === 'Users'
          ? ({ ...body, id: randomUUID(), active: body.active !== false } as ScimAppUser)
          : ({ id: randomUUID(), displayName: name, members: body.members ?? [] } as ScimAppGroup);
      (collection as unknown[]).push(created);
      return send(201, created);
    }
    const item = (collection as Array<ScimAppUser | ScimAppGroup>).find(
      (candidate) => candidate.id === parts[1],
    );
    if (!item) return error(404, `Resource ${parts[1]} not found`);
    if (method === 'GET') return send(200, item);
    if (method === 'DELETE') {
      (collection as unknown[]).splice((collection as unknown[]).indexOf(item), 1);
      for (const group of this.groups)
        group.members = group.members.filter((member) => member.value !== item.id);
      return send(204);
    }
    if (method === 'PATCH') {
      for (const operation of body.Operations ?? []) {
        const op = String(operation.op).toLowerCase();
        const path = String(operation.path ?? '');
        if ('members' in item && path === 'members' && op === 'add') {
          for (const member of operation.value as Array<{ value: string }>) {
            if (!item.members.some((existing) => existing.value === member.value))
              item.members.push({ value: member.value });
          }
        } else if ('members' in item && op === 'remove' && path.startsWith('members[')) {
          const value = /value eq "([^"]*)"/.exec(path)?.[1];
          item.members = item.members.filter((member) => member.value !== value);
        } else if (op === 'replace' || op === 'add') {
          const segments = path.split('.');
          let target = item as unknown as Record<string, unknown>;
          for (const segment of segments.slice(0, -1)) {
            target[segment] = (target[segment] as Record<string, unknown>) ?? {};
            target = target[segment] as Record<string, unknown>;
          }
          const leaf = segments.at(-1) as string;
          target[leaf] =
            leaf === 'active' && typeof operation.value === 'string'
              ? operation.value === 'True'
              : operation.value;
        } else {
          return error(400, `Unsupported operation ${op} ${path}`, 'invalidPath');
        }
      }
      return send(200, item);
    }
    return error(405, 'Method not allowed');
  }
}
