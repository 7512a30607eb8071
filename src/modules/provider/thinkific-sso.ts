/**
 * Thinkific single sign-on by custom JWT (Thinkific Help Center, "Single Sign On (SSO) with JWT";
 * ../shared/reference/apis.md §1): the browser goes to
 * `https://{school}.thinkific.com/api/sso/v2/sso/jwt?jwt=…&return_to=…&error_url=…`, where the JWT
 * is HS256-signed with the site's API key as is (its raw bytes, not base64-decoded) and carries
 * `email`, `first_name`, `last_name`, `iat` (required) and `external_id`, `jti`. Thinkific finds
 * or creates the user by email and signs them in. `jti` is unique per handoff so a JWT cannot be
 * replayed; `external_id` is the stable Switchboard user id.
 */
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';

export interface ThinkificSite {
  subdomain: string;
  customDomain: string | null;
  apiKey: string;
}

export interface ThinkificPerson {
  id: string;
  email: string;
  givenName: string | null;
  familyName: string | null;
  displayName: string | null;
}

export function thinkificBaseUrl(site: Pick<ThinkificSite, 'subdomain' | 'customDomain'>): string {
  return site.customDomain ? `https://${site.customDomain}` : `https://${site.subdomain}.thinkific.com`;
}

export function thinkificSsoEndpoint(site: Pick<ThinkificSite, 'subdomain' | 'customDomain'>): string {
  return `${thinkificBaseUrl(site)}/api/sso/v2/sso/jwt`;
}

/** Thinkific requires both names; fill them from the display name or the email when the IdP sent none. */
export function thinkificNames(person: ThinkificPerson): { first_name: string; last_name: string } {
  const words = (person.displayName ?? '').trim().split(/\s+/).filter(Boolean);
  const first = person.givenName?.trim() || words[0] || person.email.split('@')[0] || person.email;
  const last = person.familyName?.trim() || (words.length > 1 ? words.slice(1).join(' ') : '') || '-';
  return { first_name: first, last_name: last };
}

export async function signThinkificJwt(
  site: Pick<ThinkificSite, 'apiKey'>,
  person: ThinkificPerson,
  now = new Date(),
): Promise<string> {
  return new SignJWT({
    email: person.email,
    ...thinkificNames(person),
    external_id: person.id,
  })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuedAt(Math.floor(now.getTime() / 1000))
    .setJti(randomUUID())
    .sign(new TextEncoder().encode(site.apiKey));
}

/** The URL that signs the person in to the school. */
export async function thinkificSsoUrl(input: {
  site: ThinkificSite;
  person: ThinkificPerson;
  returnTo: string | null;
  errorUrl: string;
  now?: Date;
}): Promise<string> {
  const url = new URL(thinkificSsoEndpoint(input.site));
  url.searchParams.set('jwt', await signThinkificJwt(input.site, input.person, input.now));
  if (input.returnTo) url.searchParams.set('return_to', input.returnTo);
  url.searchParams.set('error_url', input.errorUrl);
  return url.href;
}
