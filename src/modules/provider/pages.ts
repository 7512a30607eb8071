/**
 * Pages of the provider's own flows (consent, refusals, logout, protocol errors that cannot go back
 * to the application), in the same plain-HTML look as the login pages: no JavaScript needed except
 * where a form submits itself, every value escaped.
 */
import { escapeHtml, hiddenInputs, page } from '../sso/index.ts';
import type { Scope } from './contracts.ts';

/** Content-Security-Policy of every page the provider renders. */
export const PAGE_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; form-action *; frame-ancestors 'none'; base-uri 'none'";

const SCOPE_DESCRIPTIONS: Record<Scope, string> = {
  openid: 'Know who you are and which organization you belong to',
  profile: 'See your name',
  email: 'See your email address',
  groups: 'See the groups you belong to',
  roles: 'See your roles',
  offline_access: 'Stay signed in when you are not using it',
  'profile:read': 'Read HR profiles (role, level, tenure) of people in your organization',
};

export function consentPage(options: {
  applicationName: string;
  userEmail: string | null;
  scopes: string[];
  action: string;
  denyAction: string;
}): string {
  const items = options.scopes
    .filter((scope): scope is Scope => scope in SCOPE_DESCRIPTIONS)
    .map((scope) => `<li>${escapeHtml(SCOPE_DESCRIPTIONS[scope])}</li>`)
    .join('\n');
  return page(
    `Continue to ${options.applicationName}`,
    `<h1>Continue to ${escapeHtml(options.applicationName)}?</h1>
${options.userEmail ? `<p class="muted">Signed in as ${escapeHtml(options.userEmail)}</p>` : ''}
${items ? `<p>${escapeHtml(options.applicationName)} will be able to:</p>\n<ul>\n${items}\n</ul>` : ''}
<form method="post" action="${escapeHtml(options.action)}">
<button type="submit">Allow</button>
</form>
<form method="post" action="${escapeHtml(options.denyAction)}">
<button type="submit" class="secondary" style="background:#fff;color:#1d2433;border:1px solid #b8bfcc">Cancel</button>
</form>`,
  );
}

/** A person whose organization may not use the application: who, what, why, and the trace id. */
export function accessRefusedPage(options: {
  applicationName: string;
  organizationName: string | null;
  userEmail: string | null;
  traceId: string | null;
  backAction: string;
}): string {
  return page(
    'No access to this application',
    `<h1>You don’t have access to ${escapeHtml(options.applicationName)}</h1>
<p class="error" role="alert">${
      options.organizationName
        ? `${escapeHtml(options.applicationName)} is not available to people at ${escapeHtml(options.organizationName)}.`
        : `${escapeHtml(options.applicationName)} is not available to your account.`
    } If you think you should have access, ask your IT administrator.</p>
${options.userEmail ? `<p class="muted">Signed in as ${escapeHtml(options.userEmail)}</p>` : ''}
${
  options.traceId
    ? `<p class="muted">If you contact support, give them this reference: <code id="trace-id">${escapeHtml(options.traceId)}</code></p>`
    : ''
}
<form method="post" action="${escapeHtml(options.backAction)}">
<button type="submit">Back to ${escapeHtml(options.applicationName)}</button>
</form>`,
  );
}

/**
 * RP-initiated logout. With a valid `id_token_hint` the application has proven whose session it
 * ends, so the form submits itself; otherwise the person confirms.
 */
export function logoutPage(options: {
  action: string;
  xsrf: string;
  confirmed: boolean;
  applicationName: string | null;
}): string {
  if (options.confirmed) {
    return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="robots" content="noindex"><title>Signing out</title></head>
<body onload="document.forms[0].submit()">
<form method="post" action="${escapeHtml(options.action)}">
${hiddenInputs({ xsrf: options.xsrf, logout: 'yes' })}
<noscript><p>JavaScript is off: press Continue to sign out.</p></noscript>
<button type="submit">Continue</button>
</form>
</body></html>
`;
  }
  return page(
    'Sign out',
    `<h1>Sign out${options.applicationName ? ` of ${escapeHtml(options.applicationName)}` : ''}?</h1>
<p class="muted">You will be signed out of every application you opened through your organization’s sign-in.</p>
<form method="post" action="${escapeHtml(options.action)}">
${hiddenInputs({ xsrf: options.xsrf, logout: 'yes' })}
<button type="submit">Sign out</button>
</form>
<form method="post" action="${escapeHtml(options.action)}">
${hiddenInputs({ xsrf: options.xsrf })}
<button type="submit" style="background:#fff;color:#1d2433;border:1px solid #b8bfcc">Stay signed in</button>
</form>`,
  );
}

export function signedOutPage(options: { applicationName: string | null }): string {
  return page(
    'Signed out',
    `<h1>You are signed out</h1>
<p class="ok">You have been signed out${options.applicationName ? ` of ${escapeHtml(options.applicationName)}` : ''} and the applications you opened through Switchboard.</p>
<p class="muted">Your organization’s own sign-in (for example Microsoft or Okta) may keep you signed in there; close the browser to end that too.</p>`,
  );
}

/** A protocol error that cannot be sent back to the application (bad client, unregistered redirect URI). */
export function protocolErrorPage(options: {
  error: string;
  description: string | undefined;
  requestId: string | undefined;
}): string {
  const explanations: Record<string, string> = {
    invalid_client: 'The application that sent you here is not registered with Switchboard, or is disabled.',
    invalid_redirect_uri:
      'The application asked to send you back to an address it has not registered, so Switchboard stopped here to protect you.',
    invalid_request: 'The application sent a sign-in request Switchboard cannot accept.',
    session_not_found: 'This sign-in was started in another browser window or took too long.',
    invalid_request_object: 'The application sent a sign-in request Switchboard cannot accept.',
  };
  const explanation =
    explanations[options.error] ?? 'Switchboard could not complete the request from the application.';
  return page(
    'Sign-in could not continue',
    `<h1>Sign-in could not continue</h1>
<p class="error" role="alert">${escapeHtml(explanation)} Go back to the application and try again; if it keeps happening, tell its administrator.</p>
<dl>
<dt>Error</dt><dd><code id="error-code">${escapeHtml(options.error)}</code></dd>
${options.description ? `<dt>Detail</dt><dd id="error-description">${escapeHtml(options.description)}</dd>` : ''}
${options.requestId ? `<dt>Reference</dt><dd><code id="request-id">${escapeHtml(options.requestId)}</code></dd>` : ''}
</dl>`,
  );
}

/** When an LMS refuses our sign-in and sends the person back (Thinkific's `error_url`). */
export function handoffErrorPage(options: {
  siteName: string | null;
  message: string | null;
  traceId: string | null;
}): string {
  return page(
    'Could not open your courses',
    `<h1>We could not sign you in to ${escapeHtml(options.siteName ?? 'the learning site')}</h1>
<p class="error" role="alert">The learning site did not accept the sign-in${
      options.message ? `: ${escapeHtml(options.message)}` : '.'
    } Try again in a moment; if it keeps happening, contact your IT administrator.</p>
${
  options.traceId
    ? `<p class="muted">If you contact support, give them this reference: <code id="trace-id">${escapeHtml(options.traceId)}</code></p>`
    : ''
}
<a class="button" href="/login">Back to sign in</a>`,
  );
}
