/**
 * The Merge HRIS client: `Authorization: Bearer <api key>` plus `X-Account-Token` on every call,
 * cursor pages (`next` is a bare cursor; filters are sent again with it), and the sync status.
 */
import type { z } from 'zod';
import type { HrClientEnvironment } from '../hris-contract.ts';
import { HrHttpClient, type HrRequest, staticBearerAuth } from '../hris-http-client.ts';
import { type MergeConfig, type MergeCredentials, mergeManifest } from './manifest.ts';
import {
  MergeAccountDetailsSchema,
  MergeErrorSchema,
  MergeSyncStatusSchema,
  mergePageSchema,
} from './schemas.ts';

export const EMPLOYEE_EXPAND = 'employments,work_location,team,groups';

export class MergeClient {
  readonly http: HrHttpClient;

  constructor(options: { config: MergeConfig; credentials: MergeCredentials; env?: HrClientEnvironment }) {
    this.http = new HrHttpClient({
      baseUrl: options.config.baseUrl,
      auth: staticBearerAuth(options.credentials.apiKey, {
        'x-account-token': options.credentials.accountToken,
      }),
      manifest: mergeManifest,
      defaultHeaders: { accept: 'application/json' },
      ...(options.env ? { env: options.env } : {}),
      errorMessage: (response) => {
        const parsed = MergeErrorSchema.safeParse(response.json);
        if (!parsed.success) return undefined;
        if ('detail' in parsed.data && typeof parsed.data.detail === 'string') return parsed.data.detail;
        return Object.entries(parsed.data)
          .map(([field, messages]) => `${field}: ${([] as string[]).concat(messages as string[]).join(' ')}`)
          .join('; ');
      },
    });
  }

  async page<T extends z.ZodType>(
    item: T,
    path: string,
    query: HrRequest['query'],
    cursor: string | undefined,
    signal?: AbortSignal,
  ) {
    return this.http.getJson(mergePageSchema(item), {
      url: path,
      query: { ...query, ...(cursor ? { cursor } : {}) },
      ...(signal ? { signal } : {}),
    });
  }

  async syncStatus(signal?: AbortSignal) {
    return this.http.getJson(MergeSyncStatusSchema, { url: 'sync-status', ...(signal ? { signal } : {}) });
  }

  async accountDetails() {
    return this.http.getJson(MergeAccountDetailsSchema, { url: 'account-details' });
  }
}
