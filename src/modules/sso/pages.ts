/**
 * Server-rendered pages of the login flow: plain HTML forms that work without JavaScript, every
 * interpolated value escaped. Auto-submitting forms (SAML POST binding) carry a button for browsers
 * without JavaScript.
 */

export function escapeHtml(value: unknown): string {
  return String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

const STYLE = `
  *{box-sizing:border-box}
  body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f4f5f7;color:#1d2433}
  main{max-width:440px;margin:10vh auto;padding:32px;background:#fff;border-radius:10px;box-shadow:0 1px 3px rgba(0,0,0,.12)}
  h1{font-size:1.35rem;margin:0 0 .75rem}
  p{margin:.5rem 0}
  label{display:block;font-weight:600;margin:.75rem 0 .25rem}
  input[type=email],input[type=text]{width:100%;padding:.6rem .7rem;border:1px solid #b8bfcc;border-radius:6px;font:inherit}
  button,.button{display:block;width:100%;margin-top:1rem;padding:.65rem;border:0;border-radius:6px;background:#2f5bea;color:#fff;font:inherit;font-weight:600;cursor:pointer;text-align:center;text-decoration:none}
  ul.choices{list-style:none;padding:0;margin:1rem 0 0}
  ul.choices li+li{margin-top:.5rem}
  ul.choices a{display:block;padding:.7rem .9rem;border:1px solid #c9cfda;border-radius:6px;color:inherit;text-decoration:none}
  ul.choices a:hover{border-color:#2f5bea}
  .muted{color:#5b6475;font-size:.9rem}
  .error{border-left:4px solid #c62828;padding-left:12px}
  .ok{border-left:4px solid #2e7d32;padding-left:12px}
  dl{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem;margin:1rem 0}
  dt{font-weight:600}dd{margin:0;word-break:break-all}
  code{font-family:ui-monospace,monospace;background:#eef0f4;padding:.1rem .3rem;border-radius:4px}
  .banner{background:#fff4e5;border:1px solid #f0c36d;border-radius:6px;padding:.5rem .75rem;font-size:.9rem}
`;

export function page(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}

export function hiddenInputs(fields: Record<string, string | undefined>): string {
  return Object.entries(fields)
    .filter(([, value]) => value !== undefined && value !== '')
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
    .join('\n');
}

/** The only message for a login we cannot route: the same whether or not the organization exists. */
export const NOT_ROUTABLE =
  'We could not find single sign-on for that email address. Check it, or ask your IT administrator how to sign in.';

/** The email form of `/login`. */
export function loginPage(options: {
  email?: string | undefined;
  message?: string | undefined;
  request?: string | undefined;
}): string {
  return page(
    'Sign in',
    `<h1>Sign in with your work account</h1>
<p class="muted">Enter your work email. We will send you to your organization’s sign-in page.</p>
${options.message ? `<p class="error" role="alert">${escapeHtml(options.message)}</p>` : ''}
<form method="post" action="/login">
${hiddenInputs({ request: options.request })}
<label for="email">Work email</label>
<input id="email" type="email" name="email" autocomplete="username" required autofocus value="${escapeHtml(options.email ?? '')}">
<button type="submit">Continue</button>
</form>`,
  );
}

/** Choice of connection when an organization has several. */
export function pickerPage(options: {
  organizationName: string;
  connections: Array<{ name: string; href: string }>;
}): string {
  const items = options.connections
    .map(
      (connection) => `<li><a href="${escapeHtml(connection.href)}">${escapeHtml(connection.name)}</a></li>`,
    )
    .join('\n');
  return page(
    'Choose how to sign in',
    `<h1>Choose how to sign in</h1>
<p class="muted">${escapeHtml(options.organizationName)} offers several ways to sign in.</p>
<ul class="choices">
${items}
</ul>`,
  );
}

/** An auto-submitting form (SAML HTTP-POST binding); works without JavaScript via its button. */
export function autoPostPage(options: {
  action: string;
  fields: Record<string, string | undefined>;
  title: string;
}): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="robots" content="noindex">
<title>${escapeHtml(options.title)}</title>
<style>${STYLE}</style>
</head>
<body onload="document.forms[0].submit()">
<main>
<h1>${escapeHtml(options.title)}</h1>
<form method="post" action="${escapeHtml(options.action)}">
${hiddenInputs(options.fields)}
<noscript><p>JavaScript is off: press Continue.</p></noscript>
<button type="submit">Continue</button>
</form>
</main>
</body>
</html>
`;
}

export function errorPage(options: {
  title: string;
  message: string;
  traceId?: string | undefined;
  retryHref?: string;
}): string {
  return page(
    options.title,
    `<h1>${escapeHtml(options.title)}</h1>
<p class="error" role="alert">${escapeHtml(options.message)}</p>
${
  options.traceId
    ? `<p class="muted">If you contact support, give them this reference: <code id="trace-id">${escapeHtml(options.traceId)}</code></p>`
    : ''
}
<a class="button" href="${escapeHtml(options.retryHref ?? '/login')}">Back to sign in</a>`,
  );
}

export function signedInPage(options: {
  user: { id: string; email: string | null; displayName: string | null };
  organization: { name: string; slug: string };
  connection: { name: string; id: string; protocol: string };
  traceId: string;
  created: boolean;
  groups: string[];
}): string {
  return page(
    'Signed in',
    `<h1>Signed in</h1>
<p class="ok">The single sign-on test worked${options.created ? ' and created a new user' : ''}.</p>
<dl>
<dt>User</dt><dd>${escapeHtml(options.user.displayName ?? '')}${options.user.displayName ? ' ' : ''}&lt;${escapeHtml(options.user.email ?? '')}&gt;</dd>
<dt>User id</dt><dd><code id="user-id">${escapeHtml(options.user.id)}</code></dd>
<dt>Organization</dt><dd>${escapeHtml(options.organization.name)} (${escapeHtml(options.organization.slug)})</dd>
<dt>Connection</dt><dd>${escapeHtml(options.connection.name)} · ${escapeHtml(options.connection.protocol.toUpperCase())} · <code>${escapeHtml(options.connection.id)}</code></dd>
<dt>Groups</dt><dd>${options.groups.length ? options.groups.map(escapeHtml).join(', ') : '<span class="muted">none</span>'}</dd>
<dt>Trace</dt><dd><code id="trace-id">${escapeHtml(options.traceId)}</code></dd>
</dl>
<p class="muted">No application asked for this login, so there is nowhere to continue to. Admins can read every step of it in the login trace.</p>`,
  );
}

/** The built-in test IdP's form. */
export function testIdpPage(options: {
  action: string;
  connectionName: string;
  organizationName: string;
  fields: Record<string, string | undefined>;
  defaults: { email: string; givenName: string; familyName: string; groups: string };
}): string {
  return page(
    'Test identity provider',
    `<p class="banner">Test identity provider · for ${escapeHtml(options.organizationName)} (sandbox). Not for real users.</p>
<h1>Sign in as anyone</h1>
<p class="muted">Choose who the test IdP asserts to “${escapeHtml(options.connectionName)}”. The answer is a signed SAML response, checked, mapped and provisioned like any IdP’s.</p>
<form method="post" action="${escapeHtml(options.action)}">
${hiddenInputs(options.fields)}
<label for="email">Email</label>
<input id="email" type="email" name="email" required value="${escapeHtml(options.defaults.email)}">
<label for="given_name">Given name</label>
<input id="given_name" type="text" name="given_name" value="${escapeHtml(options.defaults.givenName)}">
<label for="family_name">Family name</label>
<input id="family_name" type="text" name="family_name" value="${escapeHtml(options.defaults.familyName)}">
<label for="groups">Groups <span class="muted">(comma-separated)</span></label>
<input id="groups" type="text" name="groups" value="${escapeHtml(options.defaults.groups)}">
<button type="submit">Sign in</button>
</form>`,
  );
}
