/**
 * Console sign-in, as a backend-for-frontend: /admin/auth/login sends the browser to our own
 * OpenID provider, /admin/auth/callback exchanges the code server-side and sets the session
 * cookie. The browser never sees a token: only an HttpOnly, SameSite=Lax cookie (Secure, with the
 * `__Host-` prefix, when PUBLIC_URL is https).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { Forbidden, Unauthenticated } from '../../../platform/errors.ts';
import { cookieValue } from '../../../platform/http/auth.ts';
import { problemSchema } from '../../../platform/http/problem.ts';
import type { App } from '../../../platform/http/types.ts';
import type { SecretBox } from '../../../platform/secret-box.ts';
import { type ConsoleService, consoleSessionSchema, csrfTokenMatches, csrfTokenOf } from '../service.ts';
import type { ConsoleSignIn, PendingSignIn } from '../sign-in.ts';

const tags = ['Console'];
const SIGN_IN_COOKIE = 'sb_console_signin';
const SIGN_IN_CONTEXT = 'console-sign-in';

export interface ConsoleCookies {
  /** Name of the session cookie (`__Host-sb_console` over https, `sb_console` over http). */
  session: string;
  secure: boolean;
  sessionMaxAgeSeconds: number;
}

export function consoleCookies(publicUrl: string, sessionTtlSeconds: number): ConsoleCookies {
  const secure = publicUrl.startsWith('https:');
  return {
    session: secure ? '__Host-sb_console' : 'sb_console',
    secure,
    sessionMaxAgeSeconds: sessionTtlSeconds,
  };
}

export function consoleAuthRoutes(
  app: App,
  deps: { console: ConsoleService; signIn: ConsoleSignIn; secrets: SecretBox; cookies: ConsoleCookies },
) {
  const { console: consoleService, signIn, secrets, cookies } = deps;

  const setCookie = (
    reply: FastifyReply,
    name: string,
    value: string,
    options: { path: string; maxAge: number },
  ) => {
    const parts = [
      `${name}=${encodeURIComponent(value)}`,
      `Path=${options.path}`,
      `Max-Age=${options.maxAge}`,
      'HttpOnly',
      'SameSite=Lax',
    ];
    if (cookies.secure) parts.push('Secure');
    reply.header('set-cookie', [...cookieHeaders(reply), parts.join('; ')]);
  };

  app.route({
    method: 'GET',
    url: '/auth/login',
    schema: {
      tags,
      summary: 'Start a console sign-in through Switchboard’s provider (SSO)',
      querystring: z.object({
        returnTo: z.string().max(2000).optional(),
        prompt: z.enum(['login']).optional().describe('`login`: sign in again at the IdP (another person).'),
      }),
      hide: true,
    },
    handler: async (request, reply) => {
      const { url, pending } = await signIn.start(safeReturnTo(request.query.returnTo), {
        forceLogin: request.query.prompt === 'login',
      });
      setCookie(reply, SIGN_IN_COOKIE, secrets.seal(JSON.stringify(pending), SIGN_IN_CONTEXT), {
        path: '/admin/auth',
        maxAge: 600,
      });
      return reply.redirect(url, 302);
    },
  });

  app.route({
    method: 'GET',
    url: '/auth/callback',
    schema: { tags, summary: 'Console sign-in callback (authorization code)', hide: true },
    handler: async (request, reply) => {
      const query = request.url.split('?')[1] ?? '';
      setCookie(reply, SIGN_IN_COOKIE, '', { path: '/admin/auth', maxAge: 0 });
      try {
        const pending = readPending(request, secrets);
        const person = await signIn.complete(query, pending);
        const { token } = await consoleService.signInWithSso(person, request.ip);
        setCookie(reply, cookies.session, token, { path: '/', maxAge: cookies.sessionMaxAgeSeconds });
        return reply.redirect(pending.returnTo, 302);
      } catch (error) {
        const failure = error as { code?: string; detail?: string; message?: string };
        request.log.info({ code: failure.code }, 'console sign-in refused');
        const target = new URLSearchParams({
          error: failure.code ?? 'console_sign_in_failed',
          message: failure.detail ?? 'Sign-in failed.',
        });
        return reply.redirect(`/admin/sign-in?${target}`, 302);
      }
    },
  });

  app.route({
    method: 'POST',
    url: '/auth/link',
    schema: {
      tags,
      summary: 'Sign in with a one-time login link (first-run bootstrap)',
      body: z.object({ token: z.string().min(16).max(256) }).strict(),
      response: { 200: consoleSessionSchema, 400: problemSchema, 403: problemSchema },
      hide: true,
    },
    handler: async (request, reply) => {
      const { token, session } = await consoleService.signInWithLink(request.body.token, request.ip);
      setCookie(reply, cookies.session, token, { path: '/', maxAge: cookies.sessionMaxAgeSeconds });
      return consoleService.sessionView(token, session);
    },
  });

  app.route({
    method: 'GET',
    url: '/auth/session',
    schema: {
      tags,
      summary: 'Who is signed in to the console, their role and CSRF token',
      response: { 200: consoleSessionSchema, 401: problemSchema },
      hide: true,
    },
    handler: async (request, reply) => {
      reply.header('cache-control', 'no-store');
      const token = cookieValue(request, cookies.session);
      const found = token ? await consoleService.authenticate(token) : undefined;
      if (!token || !found) {
        throw new Unauthenticated({
          code: token ? 'console_session_expired' : 'console_not_signed_in',
          detail: token ? 'Your console session has expired or was ended.' : 'You are not signed in.',
          fix: 'Sign in at /admin/sign-in.',
        });
      }
      return consoleService.sessionView(token, found.session);
    },
  });

  app.route({
    method: 'POST',
    url: '/auth/logout',
    schema: {
      tags,
      summary: 'Sign out of the console',
      response: { 204: z.null(), 403: problemSchema },
      hide: true,
    },
    handler: async (request, reply) => {
      const token = cookieValue(request, cookies.session);
      if (token) {
        const given = request.headers['x-csrf-token'];
        if (csrfTokenMatches(csrfTokenOf(token), typeof given === 'string' ? given : undefined)) {
          const found = await consoleService.authenticate(token);
          await consoleService.signOut(token, {
            type: 'console',
            id: found?.principal.id,
            name: found?.principal.name,
            ip: request.ip,
            requestId: String(request.id),
          });
        } else {
          throw new Forbidden({
            code: 'csrf_token_mismatch',
            detail: 'Sign-out was sent without the session’s CSRF token.',
            fix: 'Use the console’s Sign out button.',
          });
        }
      }
      setCookie(reply, cookies.session, '', { path: '/', maxAge: 0 });
      return reply.status(204).send(null);
    },
  });
}

/** Only console paths: anything else (another host, `//evil`) would be an open redirect. */
export function safeReturnTo(value: string | undefined): string {
  if (!value || !/^\/admin(?:[/?#]|$)/.test(value) || value.startsWith('//') || value.includes('\\')) {
    return '/admin/';
  }
  return value;
}

function readPending(request: FastifyRequest, secrets: SecretBox): PendingSignIn {
  const sealed = cookieValue(request, SIGN_IN_COOKIE);
  if (!sealed) {
    throw new Unauthenticated({
      code: 'console_sign_in_not_started',
      detail: 'This browser did not start the sign-in (or it expired after 10 minutes).',
      fix: 'Start again from the console’s sign-in page.',
    });
  }
  try {
    return JSON.parse(secrets.open(sealed, SIGN_IN_CONTEXT)) as PendingSignIn;
  } catch {
    throw new Unauthenticated({
      code: 'console_sign_in_not_started',
      detail: 'The sign-in cookie is unreadable.',
      fix: 'Start again from the console’s sign-in page.',
    });
  }
}

function cookieHeaders(reply: FastifyReply): string[] {
  const current = reply.getHeader('set-cookie');
  if (!current) return [];
  return Array.isArray(current) ? current.map(String) : [String(current)];
}
