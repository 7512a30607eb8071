/**
 * The Graph client: client-credentials tokens from the identity platform (refreshed before expiry
 * and on 401 `InvalidAuthenticationToken`), Graph calls through {@link HrHttpClient} (429 +
 * Retry-After, 503/504 backoff), and typed helpers for the calls the operations make.
 */
import type { z } from 'zod';
import { type HrClientEnvironment, HrConnectorError } from '../hris-contract.ts';
import { HrHttpClient, tokenSourceAuth } from '../hris-http-client.ts';
import { GRAPH_USER_PROPERTIES, type GraphConfig, type GraphCredentials, graphManifest } from './manifest.ts';
import {
  GraphDirectoryObjectSchema,
  GraphErrorSchema,
  GraphTokenSchema,
  type GraphUser,
  GraphUserSchema,
  graphCollectionSchema,
} from './schemas.ts';

function graphErrorMessage(response: { json: unknown }): string | undefined {
  const parsed = GraphErrorSchema.safeParse(response.json);
  if (!parsed.success) return undefined;
  const { error } = parsed.data;
  if (typeof error === 'string') {
    // AADSTS descriptions end with trace and correlation ids: keep the sentence that matters.
    const description = 'error_description' in parsed.data ? parsed.data.error_description : undefined;
    return description ? `${error}: ${description.split(' Trace ID:')[0]}` : error;
  }
  return error.message ? `${error.code}: ${error.message}` : error.code;
}

export class GraphClient {
  readonly http: HrHttpClient;
  readonly config: GraphConfig;
  readonly #tokens: HrHttpClient;

  constructor(options: { config: GraphConfig; credentials: GraphCredentials; env?: HrClientEnvironment }) {
    this.config = options.config;
    const env = options.env ? { env: options.env } : {};
    this.#tokens = new HrHttpClient({
      baseUrl: options.config.authorityUrl,
      manifest: graphManifest,
      ...env,
      errorMessage: graphErrorMessage,
    });
    const tokenUrl = `${options.config.authorityUrl.replace(/\/+$/, '')}/${encodeURIComponent(options.config.tenantId)}/oauth2/v2.0/token`;
    const auth = tokenSourceAuth(
      async () => {
        // https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow
        const token = await this.#tokens
          .getJson(
            GraphTokenSchema,
            {
              method: 'POST',
              url: tokenUrl,
              anonymous: true,
              form: {
                grant_type: 'client_credentials',
                client_id: options.credentials.clientId,
                client_secret: options.credentials.clientSecret,
                scope: 'https://graph.microsoft.com/.default',
              },
            },
            'Microsoft identity platform token response',
          )
          .catch((error: unknown) => {
            if (
              error instanceof HrConnectorError &&
              error.status !== null &&
              error.status >= 400 &&
              error.status < 500
            ) {
              throw new HrConnectorError(
                'invalid_credentials',
                `Microsoft Entra refused the app's credentials: ${error.vendorMessage ?? error.message}`,
                {
                  status: error.status,
                  ...(error.vendorMessage ? { vendorMessage: error.vendorMessage } : {}),
                },
              );
            }
            throw error;
          });
        return {
          token: token.access_token,
          ...(token.expires_in === undefined ? {} : { expiresInSeconds: token.expires_in }),
        };
      },
      { ...(options.env?.now ? { now: options.env.now } : {}) },
    );
    this.http = new HrHttpClient({
      baseUrl: `${options.config.graphUrl.replace(/\/+$/, '')}/v1.0`,
      auth,
      manifest: graphManifest,
      ...env,
      errorMessage: graphErrorMessage,
    });
  }

  /** `$select` for users: the standard properties plus the configured extras. */
  userSelect(): string {
    return [...new Set([...GRAPH_USER_PROPERTIES, ...this.config.extraUserProperties])].join(',');
  }

  /** One page of a collection (a first URL or a next/delta link). */
  async page<T extends z.ZodType>(
    item: T,
    url: string,
    options: { pageSize?: number; signal?: AbortSignal } = {},
  ): Promise<z.output<ReturnType<typeof graphCollectionSchema<T>>>> {
    return this.http.getJson(graphCollectionSchema(item), {
      url,
      ...(options.pageSize ? { headers: { prefer: `odata.maxpagesize=${options.pageSize}` } } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }

  /**
   * Complete records of users by id, 15 per request (`$filter=id in (...)`: Graph's limit of OR
   * clauses in a directory filter). Ids Graph no longer has are simply absent from the result.
   */
  async usersById(ids: readonly string[], signal?: AbortSignal): Promise<GraphUser[]> {
    const out: GraphUser[] = [];
    for (let i = 0; i < ids.length; i += 15) {
      const chunk = ids.slice(i, i + 15).map((id) => `'${id.replace(/'/g, "''")}'`);
      const url = this.http.urlFor('users', {
        $filter: `id in (${chunk.join(',')})`,
        $select: this.userSelect(),
        $expand: 'manager($select=id)',
      });
      for await (const user of this.all(GraphUserSchema, url, signal)) out.push(user);
    }
    return out;
  }

  /** Every page of a collection, following `@odata.nextLink`. */
  async *all<T extends z.ZodType>(item: T, url: string, signal?: AbortSignal): AsyncGenerator<z.output<T>> {
    let next: string | undefined = url;
    while (next) {
      const page: { value: z.output<T>[]; '@odata.nextLink'?: string | undefined } = await this.page(
        item,
        next,
        signal ? { signal } : {},
      );
      yield* page.value;
      next = page['@odata.nextLink'];
    }
  }

  /** Ids of the people in a group, nested groups included. */
  async transitiveUserIds(groupId: string, signal?: AbortSignal): Promise<string[]> {
    const ids: string[] = [];
    const url = this.http.urlFor(`groups/${encodeURIComponent(groupId)}/transitiveMembers`, {
      $select: 'id',
      $top: 999,
    });
    for await (const member of this.all(GraphDirectoryObjectSchema, url, signal)) {
      if (member['@odata.type'] === '#microsoft.graph.user') ids.push(member.id);
    }
    return ids;
  }

  /** Ids of the groups a group is nested in, directly or not. */
  async ancestorGroupIds(groupId: string, signal?: AbortSignal): Promise<string[]> {
    const ids: string[] = [];
    const url = this.http.urlFor(`groups/${encodeURIComponent(groupId)}/transitiveMemberOf`, {
      $select: 'id',
      $top: 999,
    });
    for await (const parent of this.all(GraphDirectoryObjectSchema, url, signal)) {
      if (parent['@odata.type'] !== '#microsoft.graph.user') ids.push(parent.id);
    }
    return ids;
  }
}
