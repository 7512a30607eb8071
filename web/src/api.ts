/**
 * The console talks to the hub's admin API (/api/v1) with its session cookie; mutating requests
 * carry the session's CSRF token. Errors are the API's problem documents, kept whole so pages can
 * show the `detail`, the offending `field` and the `fix`.
 */
import { useCallback, useEffect, useRef, useState } from 'react';

export interface Session {
  person: { name: string; email: string | null; userId: string | null; memberId: string | null };
  role: 'owner' | 'admin' | 'support';
  scopes: string[];
  method: 'sso' | 'login_link';
  csrfToken: string;
  expiresAt: string;
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly detail: string;
  readonly fix: string | undefined;
  readonly field: string | undefined;
  readonly requestId: string | undefined;

  constructor(status: number, problem: Record<string, unknown>) {
    const detail =
      typeof problem.detail === 'string'
        ? problem.detail
        : `The hub answered ${status} ${problem.title ?? ''}`;
    super(detail);
    this.status = status;
    this.code = typeof problem.code === 'string' ? problem.code : `http_${status}`;
    this.detail = detail;
    this.fix = typeof problem.fix === 'string' ? problem.fix : undefined;
    this.field = typeof problem.field === 'string' ? problem.field : undefined;
    this.requestId = typeof problem.requestId === 'string' ? problem.requestId : undefined;
  }
}

let csrfToken = '';
let onUnauthenticated: () => void = () => {};

export function configureApi(options: { csrf: string; onUnauthenticated: () => void }): void {
  csrfToken = options.csrf;
  onUnauthenticated = options.onUnauthenticated;
}

/** A JSON body, or a FormData (multipart upload: the browser sets its content type). */
export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  const multipart = body instanceof FormData;
  if (body !== undefined && !multipart) headers['content-type'] = 'application/json';
  if (method !== 'GET') headers['x-csrf-token'] = csrfToken;
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      ...(body !== undefined ? { body: multipart ? body : JSON.stringify(body) } : {}),
    });
  } catch (cause) {
    throw new ApiError(0, {
      code: 'network_error',
      detail: `The hub could not be reached (${(cause as Error).message}).`,
      fix: 'Check your connection and that the hub is running, then retry.',
    });
  }
  const text = await response.text();
  let parsed: unknown = null;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = { detail: text.slice(0, 300) };
    }
  }
  if (!response.ok) {
    const error = new ApiError(response.status, (parsed ?? {}) as Record<string, unknown>);
    if (response.status === 401 && path.startsWith('/api/')) onUnauthenticated();
    throw error;
  }
  return parsed as T;
}

export async function loadSession(): Promise<Session | undefined> {
  try {
    return await api<Session>('GET', '/admin/auth/session');
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return undefined;
    throw error;
  }
}

export interface Loaded<T> {
  data: T | undefined;
  error: ApiError | undefined;
  loading: boolean;
  reload: () => void;
}

/** GETs a path (null: nothing yet) and reloads when it changes. */
export function useApi<T>(path: string | null): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: ApiError; loading: boolean }>({
    loading: path !== null,
  });
  const [generation, setGeneration] = useState(0);
  const current = useRef(0);
  // biome-ignore lint/correctness/useExhaustiveDependencies: generation triggers a reload on purpose
  useEffect(() => {
    if (path === null) return;
    const ticket = ++current.current;
    setState((previous) => ({ data: previous.data, loading: true }));
    api<T>('GET', path).then(
      (data) => {
        if (ticket === current.current) setState({ data, loading: false });
      },
      (error: ApiError) => {
        if (ticket === current.current) setState({ error, loading: false });
      },
    );
  }, [path, generation]);
  const reload = useCallback(() => setGeneration((value) => value + 1), []);
  return { data: state.data, error: state.error, loading: state.loading, reload };
}

/** Runs a mutation with a busy flag and the error kept for display. */
export function useAction<A extends unknown[], T>(action: (...args: A) => Promise<T>) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | undefined>();
  const run = useCallback(
    async (...args: A): Promise<T | undefined> => {
      setBusy(true);
      setError(undefined);
      try {
        return await action(...args);
      } catch (caught) {
        setError(
          caught instanceof ApiError
            ? caught
            : new ApiError(0, { code: 'client_error', detail: (caught as Error).message }),
        );
        return undefined;
      } finally {
        setBusy(false);
      }
    },
    [action],
  );
  return { run, busy, error, clearError: () => setError(undefined) };
}

export const enc = encodeURIComponent;

export function can(session: Session, scope: 'admin' | 'read' | 'retry' | 'owner'): boolean {
  if (scope === 'read') return session.scopes.includes('read') || session.scopes.includes('admin');
  if (scope === 'retry') return session.scopes.includes('retry') || session.scopes.includes('admin');
  return session.scopes.includes(scope);
}
