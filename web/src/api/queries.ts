/**
 * Reading and writing through TanStack Query. `apiQuery(path, init)` is the query of one GET of
 * the admin API, keyed by its path template and parameters, so a write invalidates every read of
 * a path (`invalidate(queryClient, '/api/v1/organizations/{org}/destinations')`) whatever its
 * parameters. Errors are always ApiErrors (./errors.ts), which ErrorBox renders.
 *
 * The defaults keep what the console did before TanStack Query: a page reads fresh data each time
 * it opens (nothing is kept once no page shows it), a failed read is not retried behind the
 * person's back, and a list whose filters change keeps showing the last page until the new one
 * arrives.
 */
import {
  keepPreviousData,
  type MutationFunction,
  QueryClient,
  type QueryKey,
  queryOptions,
  type UseMutationOptions,
  useMutation,
} from '@tanstack/react-query';
import type { ClientPathsWithMethod, MaybeOptionalInit, MethodResponse } from 'openapi-fetch';
import { client, unwrap } from './client.ts';
import { type ApiError, toApiError } from './errors.ts';
import type { paths } from './schema.gen.ts';

declare module '@tanstack/react-query' {
  interface Register {
    defaultError: ApiError;
  }
}

export function createQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        retry: false,
        refetchOnWindowFocus: false,
        gcTime: 0,
        placeholderData: keepPreviousData,
      },
      mutations: { retry: false },
    },
  });
}

export type GetPath = ClientPathsWithMethod<typeof client, 'get'>;
export type GetInit<P extends GetPath> = MaybeOptionalInit<paths[P], 'get'>;
export type GetData<P extends GetPath> = MethodResponse<typeof client, 'get', P>;

/** One GET of the admin API, typed by the generated paths. */
export async function getApi<P extends GetPath>(
  path: P,
  init: GetInit<P>,
  signal?: AbortSignal,
): Promise<GetData<P>> {
  // The generic call is checked at the caller's types above; openapi-fetch cannot infer it here.
  const get = client.GET as unknown as (url: string, init: object) => Promise<{ data?: unknown }>;
  try {
    return (await unwrap(get(path, { ...init, ...(signal ? { signal } : {}) }))) as GetData<P>;
  } catch (caught) {
    throw toApiError(caught);
  }
}

/** The query of one GET: `useQuery(apiQuery('/api/v1/users/{id}', { params: { path: { id } } }))`. */
export function apiQuery<P extends GetPath>(path: P, init: GetInit<P>) {
  return queryOptions<GetData<P>, ApiError, GetData<P>, readonly [P, GetInit<P>]>({
    queryKey: [path, init] as const,
    queryFn: ({ signal }) => getApi(path, init, signal),
  });
}

/** Marks every read of these path templates stale: the ones on screen read again. */
export async function invalidate(queryClient: QueryClient, ...templates: GetPath[]): Promise<void> {
  await Promise.all(
    templates.map((template) => queryClient.invalidateQueries({ queryKey: [template] satisfies QueryKey })),
  );
}

/** A write: `mutate(variables)`, with `isPending` and the `error` kept for display. */
export function useApiMutation<TData = unknown, TVariables = void>(
  mutationFn: MutationFunction<TData, TVariables>,
  options: Omit<UseMutationOptions<TData, ApiError, TVariables>, 'mutationFn'> = {},
) {
  return useMutation<TData, ApiError, TVariables>({
    ...options,
    mutationFn: async (variables, context) => {
      try {
        return await mutationFn(variables, context);
      } catch (caught) {
        throw toApiError(caught);
      }
    },
  });
}
