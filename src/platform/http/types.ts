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

export type ApiScope = 'admin' | 'read';

export interface Principal {
  kind: 'api_key';
  id: string;
  name: string;
  scopes: readonly ApiScope[];
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
