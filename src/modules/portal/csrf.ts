/**
 * CSRF protection of the setup pages' forms (signed double-submit, OWASP): a random value in an
 * HttpOnly, SameSite=Strict cookie, and in each form an HMAC of that value and the link id under a
 * key derived from SECRET_KEY. A forged cross-site POST carries neither the cookie (SameSite) nor a
 * tag it could compute; a POST whose Origin is not ours is refused as well.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { SecretBox } from '../../platform/secret-box.ts';

export const CSRF_COOKIE = 'sb_setup_csrf';
export const CSRF_FIELD = 'csrf';
const PURPOSE = 'setup-portal-csrf';

export function readCookie(request: FastifyRequest, name: string): string | undefined {
  const header = request.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const index = part.indexOf('=');
    if (index > 0 && part.slice(0, index).trim() === name) return part.slice(index + 1).trim();
  }
  return undefined;
}

export class SetupCsrf {
  readonly #secrets: SecretBox;
  readonly #publicUrl: URL;

  constructor(secrets: SecretBox, publicUrl: string) {
    this.#secrets = secrets;
    this.#publicUrl = new URL(publicUrl);
  }

  /** The form tag for this request's browser and link; sets the cookie when the browser has none. */
  issue(request: FastifyRequest, reply: FastifyReply, linkId: string): string {
    let value = readCookie(request, CSRF_COOKIE);
    if (!value || !/^[A-Za-z0-9_-]{43}$/.test(value)) {
      value = randomBytes(32).toString('base64url');
      const secure = this.#publicUrl.protocol === 'https:' ? '; Secure' : '';
      reply.header(
        'set-cookie',
        `${CSRF_COOKIE}=${value}; Path=/setup/; HttpOnly; SameSite=Strict; Max-Age=86400${secure}`,
      );
    }
    return this.#tag(value, linkId);
  }

  /** True when the POST carries our cookie, the matching form tag, and (if sent) our Origin. */
  verify(request: FastifyRequest, linkId: string, tag: string | undefined): boolean {
    const origin = request.headers.origin;
    if (origin && origin !== this.#publicUrl.origin) return false;
    const value = readCookie(request, CSRF_COOKIE);
    if (!value || !tag) return false;
    const expected = Buffer.from(this.#tag(value, linkId));
    const given = Buffer.from(tag);
    return expected.length === given.length && timingSafeEqual(expected, given);
  }

  #tag(value: string, linkId: string): string {
    return this.#secrets.sign(PURPOSE, `${linkId}.${value}`);
  }
}
