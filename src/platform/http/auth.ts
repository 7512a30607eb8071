/**
 * The admin API guard. Two kinds of callers reach the same /api/v1 routes:
 *
 * - an API key (`Authorization: Bearer <key>`): scopes `admin` or `read`;
 * - a person signed in to the admin console (the session cookie): the scopes of their console
 *   role (`owner`, `admin`, `support`). A mutating request with the cookie must also carry the
 *   session's CSRF token in `x-csrf-token`, so another site cannot make the browser act.
 *
 * `requireScope('read')` admits `read` and `admin`; `requireScope('admin')` only `admin`;
 * `requireScope('retry')` (retrying failed work) `retry` and `admin`; `requireScope('owner')`
 * (granting console roles) console owners and admin API keys (whoever holds an admin key can
 * already create one for anyone, so it is the operator's root credential).
 */
import type { FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { Forbidden, Unauthenticated } from '../errors.ts';
import type { ApiScope, Principal } from './types.ts';

export type Authenticate = (token: string) => Promise<Principal | undefined>;

/** Returns an `onRequest` hook: authentication runs before body parsing and validation. */
export type ScopeGuard = (scope: ApiScope) => onRequestAsyncHookHandler;

export interface ConsoleSessionAuth {
  /** Name of the console's session cookie. */
  cookie: string;
  authenticate: Authenticate;
  /** Compares the session's CSRF token with the one the request sent. */
  csrfMatches: (principal: Principal, given: string | undefined) => boolean;
}

/**
 * Abuse limits around authentication (the app gives the rate-limits module's). Each may throw a
 * 429 error, rendered as a problem document like any other.
 */
export interface AuthenticationLimits {
  /** Before any credential is looked at: the client IP's request rate and failure block. */
  before(request: FastifyRequest, reply: FastifyReply): Promise<void>;
  /** A presented API key was unknown or revoked. */
  failed(request: FastifyRequest): Promise<void>;
  /** Once authenticated: the credential's request rate. */
  authenticated(request: FastifyRequest, reply: FastifyReply, principal: Principal): Promise<void>;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function createScopeGuard(
  authenticate: Authenticate,
  consoleSession?: ConsoleSessionAuth,
  limits?: AuthenticationLimits,
): ScopeGuard {
  return (scope) =>
    async function requireScope(request: FastifyRequest, reply: FastifyReply) {
      await limits?.before(request, reply);
      const principal = await authenticateRequest(request, authenticate, consoleSession, limits);
      await limits?.authenticated(request, reply, principal);
      if (!grants(principal, scope)) {
        throw new Forbidden({
          code: 'insufficient_scope',
          detail:
            principal.kind === 'console'
              ? `Your console role (${principal.role}) does not allow this action (it needs ${scope}).`
              : `This API key has scope ${principal.scopes.join(', ') || '(none)'}; this action needs ${scope}.`,
          fix:
            principal.kind === 'console'
              ? 'Ask a console owner for a role that allows it.'
              : `Use a key with the ${scope} scope.`,
        });
      }
      request.principal = principal;
      request.actor = {
        type: principal.kind === 'console' ? 'console' : 'api_key',
        id: principal.id,
        name: principal.name,
        ip: request.ip,
        requestId: String(request.id),
      };
    };
}

async function authenticateRequest(
  request: FastifyRequest,
  authenticate: Authenticate,
  consoleSession: ConsoleSessionAuth | undefined,
  limits: AuthenticationLimits | undefined,
): Promise<Principal> {
  const token = bearerToken(request);
  if (token) {
    const principal = await authenticate(token);
    if (!principal) {
      await limits?.failed(request);
      throw new Unauthenticated({
        code: 'invalid_credentials',
        detail: 'The API key is unknown or has been revoked.',
        fix: 'Check the key, or create a new one with `switchboard admin-keys create --name <name>`.',
      });
    }
    return principal;
  }
  const sessionToken = consoleSession ? cookieValue(request, consoleSession.cookie) : undefined;
  if (consoleSession && sessionToken) {
    const principal = await consoleSession.authenticate(sessionToken);
    if (!principal) {
      throw new Unauthenticated({
        code: 'console_session_expired',
        detail: 'Your console session has expired or was ended.',
        fix: 'Sign in again at /admin.',
      });
    }
    if (!SAFE_METHODS.has(request.method)) {
      const given = request.headers['x-csrf-token'];
      if (!consoleSession.csrfMatches(principal, typeof given === 'string' ? given : undefined)) {
        throw new Forbidden({
          code: 'csrf_token_mismatch',
          detail: 'This change was sent without the console session’s CSRF token.',
          fix: 'Reload the console and try again; send the token from /admin/auth/session as x-csrf-token.',
        });
      }
    }
    return principal;
  }
  throw new Unauthenticated({
    code: 'missing_credentials',
    detail: 'This endpoint needs an admin API key.',
    fix: 'Send the header "Authorization: Bearer <key>". Create a key with `switchboard admin-keys create --name <name>`.',
  });
}

/** Whether a principal's scopes allow an action that needs `scope`. */
export function grants(principal: Principal, scope: ApiScope): boolean {
  const has = (needed: ApiScope) => principal.scopes.includes(needed);
  switch (scope) {
    case 'read':
      return has('read') || has('admin');
    case 'admin':
      return has('admin');
    case 'retry':
      return has('retry') || has('admin');
    case 'owner':
      return has('owner') || (principal.kind === 'api_key' && has('admin'));
  }
}

export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

/** One cookie's value from the Cookie header (RFC 6265 §5.4), undefined when absent. */
export function cookieValue(request: FastifyRequest, name: string): string | undefined {
  const header = request.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const index = part.indexOf('=');
    if (index < 0) continue;
    if (part.slice(0, index).trim() !== name) continue;
    const raw = part.slice(index + 1).trim();
    try {
      return decodeURIComponent(raw.startsWith('"') && raw.endsWith('"') ? raw.slice(1, -1) : raw);
    } catch {
      return undefined;
    }
  }
  return undefined;
}
