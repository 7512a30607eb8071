/**
 * Outbound SCIM 2.0 (RFC 7643 resources, RFC 7644 protocol) to any SCIM service provider: a base
 * URL and a bearer token. Lists page by `startIndex`/`count`; errors are
 * `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status","detail"}`.
 */
export const SCIM_MANIFEST = {
  kind: 'scim',
  auth: { modes: ['bearer'] as const },
  contentType: 'application/scim+json',
  /** No standard limit; a conservative default that a destination may raise. */
  rateLimit: { requests: 600, perSeconds: 60 },
} as const;

export const SCIM_USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const SCIM_GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const SCIM_PATCH_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

export interface ScimSettings {
  baseUrl: string;
}

export interface ScimCredentials {
  token: string;
}

export function readScimError(body: unknown): { message?: string } {
  if (!body || typeof body !== 'object') return {};
  const detail = (body as { detail?: unknown }).detail;
  return typeof detail === 'string' ? { message: detail } : {};
}

/** A SCIM filter string literal (RFC 7644 §3.4.2.2): quotes and backslashes escaped. */
export function scimString(value: string): string {
  return `"${value.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}
