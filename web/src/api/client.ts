/**
 * The console talks to the hub's admin API (/api/v1) through one client typed by the generated
 * `paths` (./schema.gen.ts, `npm run console:types`), with its session cookie. Mutating requests
 * carry the session's CSRF token; an answer that is not 2xx is thrown as an ApiError (the problem
 * document whole); a 401 from the API means the session ended, and the shell goes to sign-in.
 */
import createClient, { type Middleware } from 'openapi-fetch';
import { ApiError } from './errors.ts';
import type { paths } from './schema.gen.ts';

let csrfToken = '';
let onUnauthenticated: () => void = () => {};

export function configureApi(options: { csrf: string; onUnauthenticated: () => void }): void {
  csrfToken = options.csrf;
  onUnauthenticated = options.onUnauthenticated;
}

/** The problem document of a failed answer; a body that is not JSON becomes its `detail`. */
async function problemOf(response: Response): Promise<Record<string, unknown>> {
  const text = await response.text();
  if (!text) return {};
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
  } catch {
    return { detail: text.slice(0, 300) };
  }
}

const consoleSession: Middleware = {
  onRequest({ request }) {
    if (request.method !== 'GET') request.headers.set('x-csrf-token', csrfToken);
    return request;
  },
  async onResponse({ request, response }) {
    if (response.ok) return undefined;
    const error = new ApiError(response.status, await problemOf(response));
    if (response.status === 401 && new URL(request.url, window.location.href).pathname.startsWith('/api/'))
      onUnauthenticated();
    throw error;
  },
  onError({ error }) {
    // A request cancelled on purpose (a page left, a newer read) stays what it is.
    if (error instanceof Error && error.name === 'AbortError') return error;
    return new ApiError(0, {
      code: 'network_error',
      detail: `The hub could not be reached (${error instanceof Error ? error.message : String(error)}).`,
      fix: 'Check your connection and that the hub is running, then retry.',
    });
  },
};

export const client = createClient<paths>({
  baseUrl: '',
  credentials: 'same-origin',
  headers: { accept: 'application/json' },
});
client.use(consoleSession);

/**
 * The data of a call. Failures never get here (the middleware throws them), so `data` is the
 * success body; a 204 answers `undefined`.
 */
export async function unwrap<T>(call: Promise<{ data?: T }>): Promise<T> {
  const { data } = await call;
  return data as T;
}
