/**
 * The console's own session routes (/admin/auth/...). They are not part of the admin API's public
 * reference (an API key cannot use them), so they are absent from the generated `paths` and called
 * here by hand; the session they answer is still the generated ConsoleSession schema.
 */
import { configureApi } from './client.ts';
import { ApiError } from './errors.ts';
import type { components } from './schema.gen.ts';

export type Session = components['schemas']['ConsoleSession'];

let csrfToken = '';

async function authCall<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET') headers['x-csrf-token'] = csrfToken;
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
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
  if (!response.ok) throw new ApiError(response.status, (parsed ?? {}) as Record<string, unknown>);
  return parsed as T;
}

/** The session and its CSRF token for the API client; undefined when nobody is signed in. */
export async function loadSession(onUnauthenticated: () => void): Promise<Session | undefined> {
  try {
    const session = await authCall<Session>('GET', '/admin/auth/session');
    csrfToken = session.csrfToken;
    configureApi({ csrf: session.csrfToken, onUnauthenticated });
    return session;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return undefined;
    throw error;
  }
}

/** Signs in with a one-time bootstrap link's token (switchboard admin login-link). */
export async function signInWithLink(token: string): Promise<Session> {
  return authCall<Session>('POST', '/admin/auth/link', { token });
}

export async function signOut(): Promise<void> {
  await authCall('POST', '/admin/auth/logout');
}

export function can(session: Session, scope: 'admin' | 'read' | 'retry' | 'owner'): boolean {
  if (scope === 'read') return session.scopes.includes('read') || session.scopes.includes('admin');
  if (scope === 'retry') return session.scopes.includes('retry') || session.scopes.includes('admin');
  return session.scopes.includes(scope);
}
