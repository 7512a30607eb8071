/**
 * Abuse limits: request rates per client IP and per credential, and failed authentications counted
 * across processes (see service.ts). Surfaces use `RateLimits` and render `RateLimited` in their
 * own error format; docs/operations.md, "Rate limits", lists the defaults.
 */
export type { LimitReason, Surface } from './service.ts';
export { RateLimited, RateLimits, SURFACES, setRetryAfter } from './service.ts';
