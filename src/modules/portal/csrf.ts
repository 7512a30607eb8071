/**
 * CSRF protection of the setup pages' forms, in three named checks that must all pass:
 *
 * 1. Fetch Metadata (https://www.w3.org/TR/fetch-metadata/): a browser that sends `Sec-Fetch-Site`
 *    must say `same-origin`. A page of another site, or of another origin on our site (another
 *    port or subdomain), is refused whatever else it carries. Browsers set this header themselves;
 *    no page can forge it.
 * 2. Origin (RFC 6454, Fetch "append a request Origin header"): absent (a client that is not a
 *    browser, or an old one), ours, or `null` only when Fetch Metadata vouches for same-origin.
 *    Browsers send `null` for a POST from a page whose Referrer-Policy is `no-referrer` (an
 *    attacker can choose that for their own page), and some privacy settings do it too; our pages
 *    send `same-origin`, so Chromium, Firefox and Safari post them with our Origin.
 * 3. Signed double-submit (OWASP): a random value in an HttpOnly, SameSite=Strict cookie scoped to
 *    `/setup/`, and in each form an HMAC of that value and the link id under a key derived from
 *    SECRET_KEY. A forged cross-site POST carries neither the cookie (SameSite) nor a tag it could
 *    compute, and a tag is good only for the link it was issued on.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { SecretBox } from '../../platform/secret-box.ts';

export const CSRF_COOKIE = 'sb_setup_csrf';
export const CSRF_FIELD = 'csrf';
const PURPOSE = 'setup-portal-csrf';

/** Why a form was refused, for the request log (never shown to the browser). */
export type CsrfRefusal =
  | 'fetch_metadata_not_same_origin'
  | 'origin_not_ours'
  | 'origin_null_unvouched'
  | 'cookie_missing'
  | 'tag_missing'
  | 'tag_mismatch';

export type CsrfVerdict = { ok: true } | { ok: false; reason: CsrfRefusal; detail?: string };

export function readCookie(request: FastifyRequest, name: string): string | undefined {
  const header = request.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const index = part.indexOf('=');
    if (index > 0 && part.slice(0, index).trim() === name) return part.slice(index + 1).trim();
  }
  return undefined;
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Check 1: a browser's own statement of where the request comes from. */
export function checkFetchMetadata(request: FastifyRequest): CsrfVerdict {
  const site = header(request, 'sec-fetch-site');
  if (site === undefined || site === 'same-origin') return { ok: true };
  return { ok: false, reason: 'fetch_metadata_not_same_origin', detail: site };
}

/** Check 2: the Origin header, when sent, is ours (or `null` from a browser that says same-origin). */
export function checkOrigin(request: FastifyRequest, publicOrigin: string): CsrfVerdict {
  const origin = header(request, 'origin');
  if (origin === undefined || origin === publicOrigin) return { ok: true };
  if (origin === 'null') {
    return header(request, 'sec-fetch-site') === 'same-origin'
      ? { ok: true }
      : { ok: false, reason: 'origin_null_unvouched' };
  }
  return { ok: false, reason: 'origin_not_ours', detail: origin.slice(0, 200) };
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

  /** Runs the three checks (see the file's header); the first that fails decides. */
  verify(request: FastifyRequest, linkId: string, tag: string | undefined): CsrfVerdict {
    for (const verdict of [checkFetchMetadata(request), checkOrigin(request, this.#publicUrl.origin)]) {
      if (!verdict.ok) return verdict;
    }
    return this.#checkToken(request, linkId, tag);
  }

  /** Check 3: the cookie and the form's tag for this link and that cookie. */
  #checkToken(request: FastifyRequest, linkId: string, tag: string | undefined): CsrfVerdict {
    const value = readCookie(request, CSRF_COOKIE);
    if (!value) return { ok: false, reason: 'cookie_missing' };
    if (!tag) return { ok: false, reason: 'tag_missing' };
    const expected = Buffer.from(this.#tag(value, linkId));
    const given = Buffer.from(tag);
    return expected.length === given.length && timingSafeEqual(expected, given)
      ? { ok: true }
      : { ok: false, reason: 'tag_mismatch' };
  }

  #tag(value: string, linkId: string): string {
    return this.#secrets.sign(PURPOSE, `${linkId}.${value}`);
  }
}
