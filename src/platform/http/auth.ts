/**
 * Bearer-token guard for the admin API. `requireScope('read')` admits `read` and `admin` keys;
 * `requireScope('admin')` only `admin` keys.
 */
import type { FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { Forbidden, Unauthenticated } from '../errors.ts';
import type { ApiScope, Principal } from './types.ts';

export type Authenticate = (token: string) => Promise<Principal | undefined>;

/** Returns an `onRequest` hook: authentication runs before body parsing and validation. */
export type ScopeGuard = (scope: ApiScope) => onRequestAsyncHookHandler;

export function createScopeGuard(authenticate: Authenticate): ScopeGuard {
  return (scope) =>
    async function requireScope(request: FastifyRequest) {
      const token = bearerToken(request);
      if (!token) {
        throw new Unauthenticated({
          code: 'missing_credentials',
          detail: 'This endpoint needs an admin API key.',
          fix: 'Send the header "Authorization: Bearer <key>". Create a key with `switchboard admin-keys create --name <name>`.',
        });
      }
      const principal = await authenticate(token);
      if (!principal) {
        throw new Unauthenticated({
          code: 'invalid_credentials',
          detail: 'The API key is unknown or has been revoked.',
          fix: 'Check the key, or create a new one with `switchboard admin-keys create --name <name>`.',
        });
      }
      if (!principal.scopes.includes(scope) && !(scope === 'read' && principal.scopes.includes('admin'))) {
        throw new Forbidden({
          code: 'insufficient_scope',
          detail: `This API key has scope ${principal.scopes.join(', ') || '(none)'}; this action needs ${scope}.`,
          fix: `Use a key with the ${scope} scope.`,
        });
      }
      request.principal = principal;
      request.actor = {
        type: 'api_key',
        id: principal.id,
        name: principal.name,
        ip: request.ip,
        requestId: String(request.id),
      };
    };
}

export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}
