import type {
  FastifyBaseLogger,
  FastifyInstance,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Actor } from '../../modules/events/contracts.ts';

/** The Fastify instance with the zod type provider, as modules receive it. */
export type App = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  ZodTypeProvider
>;

/**
 * What a caller may do. API keys carry `admin` or `read`; console roles map to these plus `retry`
 * (retry failed work: support) and `owner` (grant console roles).
 */
export type ApiScope = 'admin' | 'read' | 'retry' | 'owner';

export interface Principal {
  kind: 'api_key' | 'console';
  id: string;
  name: string;
  scopes: readonly ApiScope[];
  /** Console sessions: the console role. */
  role?: string;
  /** Console sessions: the CSRF token mutating requests must carry. */
  csrfToken?: string;
}

/**
 * Route-level metadata (Fastify `config`). Every mutating admin route says which events it records
 * (they are the audit trail) or why it records none.
 */
export interface RouteAuditConfig {
  audit?: readonly string[] | { none: string };
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the API-key guard. */
    principal?: Principal;
    /** Who is acting, for events: the principal plus where the request came from. */
    actor: Actor;
  }
  interface FastifyContextConfig extends RouteAuditConfig {}
}
