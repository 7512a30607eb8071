/**
 * The setup pages behind `/setup/<token>`: HTML in, HTML out, no account. Registered in their own
 * encapsulated scope with form body parsers (urlencoded, and multipart for the metadata file) and
 * an error handler that renders a page, never internals.
 *
 * Every handler resolves the token first (unknown, expired, revoked: a page saying so), checks the
 * link's intent against the route's, and acts only on the link's own organization and bound
 * resource. Mutating forms are CSRF-protected (see csrf.ts). Request logs show `/setup/[redacted]`
 * (platform/logging.ts), and pages send a Referer only to our own origin (`Referrer-Policy:
 * same-origin`, see sendPage), so the token does not leak through either.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../../platform/errors.ts';
import type { App } from '../../../platform/http/types.ts';
import { hashToken } from '../../../platform/secret-box.ts';
import {
  DEFAULT_OVERLAP_SECONDS,
  DIRECTORY_PROVIDERS,
  type DirectoryProvider,
} from '../../directory/index.ts';
import type { Actor } from '../../events/index.ts';
import { RateLimited, type RateLimits } from '../../rate-limits/index.ts';
import { PRESET_NAMES, type Preset } from '../../sso/index.ts';
import type { SetupIntent } from '../contracts.ts';
import { CSRF_FIELD, type SetupCsrf } from '../csrf.ts';
import { oidcGuide, ssoGuide } from '../guides.ts';
import {
  domainPage,
  formatTime,
  type PageContext,
  type SsoProtocol,
  scimPage,
  ssoPage,
  statusPage,
  tracePage,
} from '../pages.ts';
import type { SetupLinkRow } from '../schema.ts';
import type { ResolvedLink, SetupLinkService } from '../service.ts';

type Form = Record<string, string | { name: string; text: string } | undefined>;

/** The token rotation overlaps offered on the SCIM page, in seconds. */
const ROTATION_OVERLAPS = [DEFAULT_OVERLAP_SECONDS, 3600, 0];

const INTENT_NAMES: Record<SetupIntent, string> = {
  sso: 'single sign-on',
  scim: 'user provisioning (SCIM)',
  domain: 'domain verification',
};

/** Notices after a redirect (post/redirect/get): codes in the query, fixed texts here. */
const NOTICES: Record<string, string> = {
  metadata_saved: 'Your identity provider’s metadata is saved. Now run a test sign-in (step 4).',
  oidc_saved: 'Your application’s details are saved. Now run a test sign-in (step 4).',
  domain_added: 'The domain is added. Publish its DNS record, then check it.',
  domain_verified: 'The domain is verified.',
};

export function setupPageRoutes(
  app: App,
  deps: {
    links: SetupLinkService;
    csrf: SetupCsrf;
    publicUrl: string;
    bodyLimit: number;
    /** Request rates per IP and per link; blocks after repeated unknown links from one IP. */
    limits: RateLimits;
  },
) {
  const { links, csrf } = deps;
  const secure = deps.publicUrl.startsWith('https:');

  app.register(async (scope) => {
    scope.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string', bodyLimit: deps.bodyLimit },
      (_request, body, done) => {
        try {
          done(null, Object.fromEntries(new URLSearchParams(body as string)));
        } catch (error) {
          done(error as Error, undefined);
        }
      },
    );
    scope.addContentTypeParser(
      'multipart/form-data',
      { parseAs: 'buffer', bodyLimit: deps.bodyLimit },
      (request, body, done) => {
        parseMultipart(String(request.headers['content-type']), body as Buffer).then(
          (form) => done(null, form),
          (error: Error) => done(Object.assign(error, { statusCode: 400 }), undefined),
        );
      },
    );
    // Before the link is looked up: the IP's rate and block, then the link's rate (keyed by a
    // hash of its token, never the token).
    scope.addHook('onRequest', async function limitSetupRequests(request, reply) {
      await deps.limits.limitIp('setup', request.ip, reply);
      await deps.limits.assertNotBlocked('setup', request.ip, undefined, reply);
      const token = (request.params as { token?: string }).token;
      if (token) await deps.limits.limitCredential('setup', hashToken(token), reply);
    });
    scope.setErrorHandler((error, request, reply) => {
      if (error instanceof RateLimited) {
        return sendHtml(reply, 429, {
          title: 'Too many requests',
          message: `${error.reason.startsWith('failed_auth') ? 'Too many setup links that do not exist were opened from your network.' : 'This setup page was asked for too often.'} Wait ${error.retryAfterSeconds} second${error.retryAfterSeconds === 1 ? '' : 's'}, then reload the page.`,
        });
      }
      const status = (error as { statusCode?: number }).statusCode;
      if (status && status >= 400 && status < 500) {
        return sendHtml(reply, status, {
          title: 'Request not understood',
          message:
            status === 413
              ? 'The file is too large. Metadata files are usually a few kilobytes: check that you chose the right file.'
              : 'The form could not be read. Go back, reload the page and try again.',
        });
      }
      request.log.error({ err: error }, 'setup page failed');
      return sendHtml(reply, 500, {
        title: 'Something went wrong',
        message: `Please try again in a moment. If it keeps failing, give your contact this reference: ${request.id}.`,
      });
    });

    /** Resolves the link and checks its intent; sends the refusal page and returns undefined otherwise. */
    const open = async (
      request: FastifyRequest,
      reply: FastifyReply,
      intent: SetupIntent | undefined,
    ): Promise<Extract<ResolvedLink, { state: 'active' }> | undefined> => {
      const token = (request.params as { token: string }).token;
      const resolved = await links.resolve(token);
      if (resolved.state !== 'active') {
        // A link that never existed is a guess; an expired or revoked one is a real, old link.
        if (resolved.state === 'unknown') await deps.limits.recordFailure('setup', request.ip);
        refuse(reply, resolved);
        return undefined;
      }
      if (intent && resolved.link.intent !== intent) {
        request.log.warn(
          { setupLinkId: resolved.link.id, linkIntent: resolved.link.intent, attempted: intent },
          'setup link used for another intent',
        );
        sendHtml(reply, 403, {
          title: 'Not part of this setup',
          message: `This link is for ${INTENT_NAMES[resolved.link.intent as SetupIntent]}; it cannot be used for ${INTENT_NAMES[intent]}.`,
          organizationName: resolved.organization.name,
        });
        return undefined;
      }
      return resolved;
    };

    /** Checks the CSRF tag of a POST; sends the refusal page and returns false otherwise. */
    const checkForm = (request: FastifyRequest, reply: FastifyReply, link: SetupLinkRow): boolean => {
      const form = (request.body ?? {}) as Form;
      const tag = typeof form[CSRF_FIELD] === 'string' ? (form[CSRF_FIELD] as string) : undefined;
      const verdict = csrf.verify(request, link.id, tag);
      if (verdict.ok) return true;
      request.log.warn(
        { setupLinkId: link.id, reason: verdict.reason, detail: verdict.detail },
        'setup form refused: CSRF check failed',
      );
      sendHtml(reply, 403, {
        title: 'Form expired',
        message:
          'This form could not be verified (it is old, or came from another site). Reload the setup page and try again.',
      });
      return false;
    };

    const context = (
      request: FastifyRequest,
      reply: FastifyReply,
      resolved: Extract<ResolvedLink, { state: 'active' }>,
    ): PageContext => ({
      nonce: randomBytes(16).toString('base64'),
      base: `/setup/${(request.params as { token: string }).token}`,
      organizationName: resolved.organization.name,
      expiresAt: resolved.link.expiresAt,
      csrf: csrf.issue(request, reply, resolved.link.id),
    });

    const actor = (request: FastifyRequest, link: SetupLinkRow): Actor => ({
      type: 'setup_link',
      id: link.id,
      name: link.label ?? `${link.intent} setup link`,
      ip: request.ip,
      requestId: String(request.id),
    });

    const redirect = (reply: FastifyReply, request: FastifyRequest, query: string) =>
      reply
        .header('cache-control', 'no-store')
        .redirect(`/setup/${(request.params as { token: string }).token}${query}`, 303);

    // Pages per intent

    const renderSso = async (
      request: FastifyRequest,
      reply: FastifyReply,
      resolved: Extract<ResolvedLink, { state: 'active' }>,
      extra: {
        status?: number;
        notice?: string;
        error?: string;
        preset?: string;
        protocol?: SsoProtocol;
        form?: Record<string, string | undefined>;
      } = {},
    ) => {
      const state = await links.ssoState(resolved.link);
      const query = request.query as { idp?: string; protocol?: string };
      const protocol: SsoProtocol =
        state.connection?.protocol ?? extra.protocol ?? (query.protocol === 'oidc' ? 'oidc' : 'saml');
      const find = protocol === 'saml' ? ssoGuide : oidcGuide;
      const guide = find(extra.preset) ?? find(query.idp) ?? find(state.connection?.preset) ?? find('entra');
      const traces = state.connection ? await links.testTraces(resolved.link) : [];
      const page = context(request, reply, resolved);
      return sendPage(
        reply,
        extra.status ?? 200,
        page.nonce,
        ssoPage(page, {
          protocol,
          guide: guide as NonNullable<typeof guide>,
          connection: state.connection,
          values: {
            entityId: state.urls.spEntityId,
            acsUrl: state.urls.acsUrl,
            loginUrl: state.urls.loginUrl,
            spMetadataUrl: state.urls.spMetadataUrl,
            redirectUri: state.urls.redirectUri,
          },
          traces,
          notice: extra.notice,
          error: extra.error,
          form: extra.form ?? {},
        }),
      );
    };

    const renderScim = async (
      request: FastifyRequest,
      reply: FastifyReply,
      resolved: Extract<ResolvedLink, { state: 'active' }>,
      extra: { status?: number; notice?: string; error?: string; token?: string } = {},
    ) => {
      const directory = await links.directory(resolved.link);
      const page = context(request, reply, resolved);
      return sendPage(reply, extra.status ?? 200, page.nonce, scimPage(page, { directory, ...extra }));
    };

    const renderDomain = async (
      request: FastifyRequest,
      reply: FastifyReply,
      resolved: Extract<ResolvedLink, { state: 'active' }>,
      extra: { status?: number; notice?: string; error?: string; value?: string } = {},
    ) => {
      const domains = await links.domains(resolved.link);
      const page = context(request, reply, resolved);
      return sendPage(reply, extra.status ?? 200, page.nonce, domainPage(page, { domains, ...extra }));
    };

    scope.get('/setup/:token', { schema: { hide: true } }, async (request, reply) => {
      const resolved = await open(request, reply, undefined);
      if (!resolved) return reply;
      await links.recordOpened(resolved.link, actor(request, resolved.link));
      const done = (request.query as { done?: string }).done;
      const notice = done ? NOTICES[done] : undefined;
      const extra = notice ? { notice } : {};
      if (resolved.link.intent === 'sso') return renderSso(request, reply, resolved, extra);
      if (resolved.link.intent === 'scim') return renderScim(request, reply, resolved, extra);
      return renderDomain(request, reply, resolved, extra);
    });

    // SSO

    scope.post('/setup/:token/sso/metadata', { schema: { hide: true } }, async (request, reply) => {
      const resolved = await open(request, reply, 'sso');
      if (!resolved || !checkForm(request, reply, resolved.link)) return reply;
      const form = (request.body ?? {}) as Form;
      const preset = presetOf(form.idp);
      const file = form.metadataFile;
      const metadataXml =
        (typeof file === 'object' && file.text.trim() ? file.text.trim() : undefined) ??
        (textOf(form.metadataXml)?.trim() || undefined);
      const metadataUrl = textOf(form.metadataUrl)?.trim() || undefined;
      try {
        await links.saveSamlMetadata(
          resolved.link,
          { preset, ...(metadataXml ? { metadataXml } : metadataUrl ? { metadataUrl } : {}) },
          actor(request, resolved.link),
        );
      } catch (error) {
        if (!(error instanceof AppError)) throw error;
        return renderSso(request, reply, resolved, {
          status: error.status,
          error: `${error.detail}${error.fix ? ` ${error.fix}` : ''}`,
          preset,
          protocol: 'saml',
          form: { metadataUrl, metadataXml: typeof file === 'object' ? undefined : textOf(form.metadataXml) },
        });
      }
      return redirect(reply, request, `?idp=${preset}&protocol=saml&done=metadata_saved`);
    });

    scope.post('/setup/:token/sso/oidc', { schema: { hide: true } }, async (request, reply) => {
      const resolved = await open(request, reply, 'sso');
      if (!resolved || !checkForm(request, reply, resolved.link)) return reply;
      const form = (request.body ?? {}) as Form;
      const preset = presetOf(form.idp);
      const discoveryUrl = textOf(form.discoveryUrl)?.trim() ?? '';
      const clientId = textOf(form.clientId)?.trim() ?? '';
      const clientSecret = textOf(form.clientSecret)?.trim() || undefined;
      const tenantId = textOf(form.tenantId)?.trim() || undefined;
      try {
        await links.saveOidcSettings(
          resolved.link,
          {
            preset,
            discoveryUrl,
            clientId,
            ...(clientSecret ? { clientSecret } : {}),
            ...(tenantId ? { tenantId } : {}),
          },
          actor(request, resolved.link),
        );
      } catch (error) {
        if (!(error instanceof AppError)) throw error;
        // The secret is never sent back into the page.
        return renderSso(request, reply, resolved, {
          status: error.status,
          error: `${error.detail}${error.fix ? ` ${error.fix}` : ''}`,
          preset,
          protocol: 'oidc',
          form: { discoveryUrl, clientId, tenantId },
        });
      }
      return redirect(reply, request, `?idp=${preset}&protocol=oidc&done=oidc_saved`);
    });

    scope.post('/setup/:token/sso/test', { schema: { hide: true } }, async (request, reply) => {
      const resolved = await open(request, reply, 'sso');
      if (!resolved || !checkForm(request, reply, resolved.link)) return reply;
      let url: string;
      try {
        url = await links.startTestLogin(resolved.link, actor(request, resolved.link));
      } catch (error) {
        if (!(error instanceof AppError)) throw error;
        return renderSso(request, reply, resolved, {
          status: error.status,
          error: `${error.detail} ${error.fix ?? ''}`,
        });
      }
      // A page with a link rather than a redirect: the form's CSP (form-action 'self') would block
      // the redirect on to the IdP in browsers that apply form-action to redirects.
      const page = context(request, reply, resolved);
      return sendPage(reply, 200, page.nonce, continuePage(page, url));
    });

    scope.get('/setup/:token/sso/traces/:traceId', { schema: { hide: true } }, async (request, reply) => {
      const resolved = await open(request, reply, 'sso');
      if (!resolved) return reply;
      const { traceId } = request.params as { traceId: string };
      try {
        const trace = await links.trace(resolved.link, traceId);
        const page = context(request, reply, resolved);
        return sendPage(reply, 200, page.nonce, tracePage(page, trace, { standalone: false }));
      } catch (error) {
        if (!(error instanceof AppError) || error.status !== 404) throw error;
        return sendHtml(reply, 404, {
          title: 'No such test sign-in',
          message:
            'There is no test sign-in with this reference for this setup. Use the list on the setup page.',
          organizationName: resolved.organization.name,
        });
      }
    });

    // SCIM

    scope.post('/setup/:token/scim/directory', { schema: { hide: true } }, async (request, reply) => {
      const resolved = await open(request, reply, 'scim');
      if (!resolved || !checkForm(request, reply, resolved.link)) return reply;
      const provider = textOf(((request.body ?? {}) as Form).provider) ?? '';
      if (!(DIRECTORY_PROVIDERS as readonly string[]).includes(provider)) {
        return renderScim(request, reply, resolved, {
          status: 400,
          error: 'Choose your identity provider: Microsoft Entra ID, Okta, or any SCIM 2.0 client.',
        });
      }
      try {
        const created = await links.createDirectory(
          resolved.link,
          { provider: provider as DirectoryProvider },
          actor(request, resolved.link),
        );
        // Rendered, not redirected: the token is in this response only.
        return renderScim(
          request,
          reply,
          { ...resolved, link: { ...resolved.link, directoryId: created.directory.id } },
          {
            token: created.token,
            notice: 'Your SCIM endpoint is ready.',
          },
        );
      } catch (error) {
        if (!(error instanceof AppError)) throw error;
        return renderScim(request, reply, resolved, {
          status: error.status,
          error: `${error.detail} ${error.fix ?? ''}`,
        });
      }
    });

    scope.post('/setup/:token/scim/rotate', { schema: { hide: true } }, async (request, reply) => {
      const resolved = await open(request, reply, 'scim');
      if (!resolved || !checkForm(request, reply, resolved.link)) return reply;
      const overlap = Number(textOf(((request.body ?? {}) as Form).overlap) ?? DEFAULT_OVERLAP_SECONDS);
      if (!ROTATION_OVERLAPS.includes(overlap)) {
        return renderScim(request, reply, resolved, {
          status: 400,
          error: 'Choose how long the current tokens keep working: 24 hours, 1 hour, or no time.',
        });
      }
      try {
        const rotated = await links.rotateDirectoryToken(
          resolved.link,
          overlap,
          actor(request, resolved.link),
        );
        return renderScim(request, reply, resolved, {
          token: rotated.token,
          notice:
            overlap === 0
              ? 'A new token is issued and the previous ones no longer work. Enter it in your identity provider now.'
              : `A new token is issued. Enter it in your identity provider within ${overlap === 3600 ? 'the hour' : '24 hours'}.`,
        });
      } catch (error) {
        if (!(error instanceof AppError)) throw error;
        return renderScim(request, reply, resolved, {
          status: error.status,
          error: `${error.detail} ${error.fix ?? ''}`,
        });
      }
    });

    // Domain

    for (const action of ['add', 'verify'] as const) {
      scope.post(`/setup/:token/domain/${action}`, { schema: { hide: true } }, async (request, reply) => {
        const resolved = await open(request, reply, 'domain');
        if (!resolved || !checkForm(request, reply, resolved.link)) return reply;
        const domain = textOf(((request.body ?? {}) as Form).domain)?.trim() ?? '';
        try {
          if (action === 'add') await links.addDomain(resolved.link, domain, actor(request, resolved.link));
          else await links.verifyDomain(resolved.link, domain, actor(request, resolved.link));
        } catch (error) {
          if (!(error instanceof AppError)) throw error;
          return renderDomain(request, reply, resolved, {
            status: error.status,
            error: `${error.detail}${error.fix ? ` ${error.fix}` : ''}`,
            ...(action === 'add' ? { value: domain } : {}),
          });
        }
        return redirect(reply, request, `?done=${action === 'add' ? 'domain_added' : 'domain_verified'}`);
      });
    }
  });

  function refuse(reply: FastifyReply, resolved: Exclude<ResolvedLink, { state: 'active' }>) {
    if (resolved.state === 'unknown') {
      return sendHtml(reply, 404, {
        title: 'Setup link not valid',
        message:
          'This setup link is not valid. Check that you copied all of it, or ask your contact for a new one.',
      });
    }
    const { link } = resolved;
    const message =
      resolved.state === 'expired'
        ? `This setup link expired on ${formatTime(link.expiresAt)}. Ask your contact for a new one.`
        : resolved.state === 'revoked'
          ? 'This setup link was withdrawn. Ask your contact for a new one.'
          : 'This setup link cannot be used right now. Ask your contact.';
    return sendHtml(reply, 410, {
      title: resolved.state === 'expired' ? 'Setup link expired' : 'Setup link no longer valid',
      message,
    });
  }

  function sendHtml(
    reply: FastifyReply,
    status: number,
    options: { title: string; message: string; organizationName?: string },
  ) {
    const nonce = randomBytes(16).toString('base64');
    return sendPage(reply, status, nonce, statusPage(nonce, options));
  }

  /**
   * Sends a page with the portal's security headers (CSP with this response's nonce).
   *
   * `Referrer-Policy: same-origin`, not the hub's default `no-referrer`: under `no-referrer` a
   * browser posts the page's forms with `Origin: null` (Fetch, "append a request Origin header"),
   * so our own forms would look like a sandboxed or hostile page's. Under `same-origin` they carry
   * our Origin, while a Referer (which holds the link token) goes only to our own origin, which has
   * the token in the request's path anyway and logs neither; an IdP, or any other site a page leads
   * to, gets no Referer at all.
   */
  function sendPage(reply: FastifyReply, status: number, nonce: string, html: string) {
    reply
      .status(status)
      .type('text/html; charset=utf-8')
      .header(
        'content-security-policy',
        `default-src 'none'; style-src 'nonce-${nonce}'; script-src 'nonce-${nonce}'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
      )
      .header('cache-control', 'no-store')
      .header('x-frame-options', 'DENY')
      .header('referrer-policy', 'same-origin')
      .header('cross-origin-opener-policy', 'same-origin')
      .header('cross-origin-resource-policy', 'same-origin')
      .header('permissions-policy', 'camera=(), microphone=(), geolocation=(), payment=()')
      .header('x-robots-tag', 'noindex, nofollow');
    if (secure) reply.header('strict-transport-security', 'max-age=31536000');
    return reply.send(html);
  }
}

function continuePage(context: PageContext, url: string): string {
  const escaped = url.replaceAll('&', '&amp;').replaceAll('"', '&quot;').replaceAll('<', '&lt;');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<meta http-equiv="refresh" content="0;url=${escaped}">
<title>Test sign-in</title></head>
<body><main><h1>Test sign-in</h1>
<p><a id="continue" href="${escaped}">Continue to your identity provider</a></p>
<p>This tab shows the result when you are done. It is for ${context.organizationName.replaceAll('<', '&lt;')}.</p>
</main></body></html>`;
}

function presetOf(value: Form[string]): Preset {
  const text = textOf(value) ?? '';
  return (PRESET_NAMES as readonly string[]).includes(text) ? (text as Preset) : 'generic';
}

function textOf(value: Form[string]): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** multipart/form-data into fields and files (text), with the WHATWG parser built into Node. */
async function parseMultipart(contentType: string, body: Buffer): Promise<Form> {
  const data = await new Response(new Uint8Array(body), {
    headers: { 'content-type': contentType },
  }).formData();
  const form: Form = {};
  for (const [name, value] of data.entries()) {
    form[name] = typeof value === 'string' ? value : { name: value.name, text: await value.text() };
  }
  return form;
}
