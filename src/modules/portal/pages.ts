/**
 * Server-rendered setup pages for a client's IT admin: plain HTML and CSS, no framework, usable
 * without JavaScript (a small script only adds "Copy" buttons), readable on a narrow window, every
 * control reachable and labelled for the keyboard and screen readers. Every interpolated value is
 * escaped. Styles and the script carry the response's CSP nonce.
 */
import type { DirectoryView } from '../directory/index.ts';
import type { DomainView } from '../orgs/index.ts';
import { type ConnectionView, escapeHtml, type TraceView } from '../sso/index.ts';
import {
  type GuideStep,
  OIDC_GUIDES,
  type OidcGuide,
  type OidcValueKey,
  SCIM_GUIDES,
  type ScimValueKey,
  SSO_GUIDES,
  type SsoGuide,
  type SsoValueKey,
} from './guides.ts';

export interface PageContext {
  nonce: string;
  /** The link's base path (`/setup/<token>`). */
  base: string;
  organizationName: string;
  /** Null on pages outside a link (the test sign-in result). */
  expiresAt: Date | null;
  csrf: string;
}

const STYLE = `
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;font:16px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f4f5f7;color:#1d2433}
a{color:#1f4fd6}
a:focus-visible,button:focus-visible,input:focus-visible,select:focus-visible,textarea:focus-visible,summary:focus-visible{outline:3px solid #f0a500;outline-offset:2px}
.skip{position:absolute;left:-999px}.skip:focus{left:8px;top:8px;background:#fff;padding:.5rem;z-index:1}
header.top{background:#1d2433;color:#fff;padding:.8rem 1rem}
header.top p{margin:0;max-width:860px;margin-inline:auto;font-size:.95rem}
main{max-width:860px;margin:1.25rem auto;padding:0 1rem 3rem}
section{background:#fff;border-radius:10px;box-shadow:0 1px 3px rgba(0,0,0,.12);padding:1.25rem 1.25rem 1.5rem;margin:0 0 1.25rem}
h1{font-size:1.5rem;margin:.25rem 0 1rem}
h2{font-size:1.2rem;margin:0 0 .75rem}
h3{font-size:1rem;margin:1rem 0 .5rem}
p{margin:.5rem 0}
ol.steps{padding-left:1.4rem}ol.steps>li{margin:.7rem 0}
.menu{font-weight:600;background:#eef0f4;border-radius:4px;padding:0 .25rem}
table{border-collapse:collapse;width:100%;font-size:.95rem}
th,td{text-align:left;padding:.45rem .5rem;border-bottom:1px solid #e3e6ec;vertical-align:top}
td.wrap{overflow-wrap:anywhere}
th{font-weight:600;background:#f7f8fa}
td.value,dd{overflow-wrap:anywhere}
.copy{margin:.7rem 0}
.copy .label{display:block;font-weight:600;margin-bottom:.2rem}
.row{display:flex;gap:.5rem;align-items:flex-start}
code.value{flex:1;min-width:0;display:block;word-break:break-all;font-size:.9rem;padding:.45rem .6rem;border:1px solid #c9cfda;border-radius:6px;background:#f7f8fa;user-select:all}
dl.fields{margin:.5rem 0 0;padding:0}
dl.fields .field{border-left:3px solid #c9cfda;padding:.2rem 0 .2rem .7rem;margin:.6rem 0}
dl.fields dt{font-weight:600;margin-bottom:.2rem}
dl.fields dd{margin:0}
label.field{display:block;font-weight:600;margin:.9rem 0 .3rem}
input[type=url],input[type=text],input[type=password],input[type=file],select,textarea{width:100%;padding:.55rem .65rem;border:1px solid #b8bfcc;border-radius:6px;font:inherit;background:#fff}
textarea{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85rem;min-height:8rem}
button,.button{display:inline-block;padding:.6rem 1rem;border:0;border-radius:6px;background:#2f5bea;color:#fff;font:inherit;font-weight:600;cursor:pointer;text-decoration:none;margin-top:.9rem}
button.secondary{background:#e8ecf6;color:#1d2433}
.row button{margin-top:0;white-space:nowrap}
button:disabled{background:#aab3c5;cursor:not-allowed}
nav.choices ul{list-style:none;padding:0;margin:0;display:flex;flex-wrap:wrap;gap:.5rem}
nav.choices+nav.choices{margin-top:1rem;padding-top:1rem;border-top:1px solid #e3e6ec}
nav.choices a{display:block;padding:.5rem .8rem;border:1px solid #c9cfda;border-radius:6px;text-decoration:none;color:inherit}
nav.choices a[aria-current=page]{border-color:#2f5bea;background:#eef2fd;font-weight:600}
.muted{color:#5b6475;font-size:.92rem}
.notice{border-left:4px solid #2e7d32;background:#eef7ef;padding:.6rem .8rem;border-radius:4px}
.error{border-left:4px solid #c62828;background:#fdeeee;padding:.6rem .8rem;border-radius:4px}
.warning{border-left:4px solid #b26a00;background:#fff4e5;padding:.6rem .8rem;border-radius:4px}
.secret{border:2px solid #b26a00;border-radius:8px;padding:.8rem;background:#fffaf0}
.badge{display:inline-block;padding:0 .45rem;border-radius:999px;font-size:.82rem;font-weight:600;white-space:nowrap}
.badge.ok{background:#e3f3e5;color:#1b5e20}.badge.bad{background:#fde3e3;color:#8e1b1b}.badge.wait{background:#fff0d6;color:#7a4a00}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem;margin:.5rem 0}
dt{font-weight:600}dd{margin:0}
code{font-family:ui-monospace,Menlo,Consolas,monospace;background:#eef0f4;padding:.05rem .3rem;border-radius:4px}
details summary{cursor:pointer;font-weight:600}
fieldset{border:1px solid #d5dae3;border-radius:6px;margin:.75rem 0;padding:.5rem .8rem}legend{font-weight:600;padding:0 .3rem}
footer{max-width:860px;margin:0 auto;padding:0 1rem 2rem;color:#5b6475;font-size:.88rem}
@media (max-width:560px){section{padding:1rem}.row{flex-direction:column;align-items:stretch}h1{font-size:1.3rem}dl.facts{grid-template-columns:1fr}ol.steps{padding-left:1.1rem}table{font-size:.85rem}th,td{padding:.4rem .3rem}table.trace-steps{table-layout:fixed}table.trace-steps col.result{width:4.6rem}table.trace-steps col.step{width:38%}table.trace-steps td{overflow-wrap:anywhere}}
`;

/** Adds "Copy" buttons (progressive enhancement: without JavaScript the values are selectable text). */
const SCRIPT = `
document.querySelectorAll('button[data-copy]').forEach(function (button) {
  button.hidden = false;
  button.addEventListener('click', function () {
    var source = document.getElementById(button.getAttribute('data-copy'));
    if (!source) return;
    var done = function () { button.textContent = 'Copied'; setTimeout(function () { button.textContent = 'Copy'; }, 1500); };
    var select = function () { var range = document.createRange(); range.selectNodeContents(source); var selection = window.getSelection(); selection.removeAllRanges(); selection.addRange(range); };
    if (navigator.clipboard) navigator.clipboard.writeText(source.textContent).then(done, select);
    else select();
  });
});
`;

export function layout(
  context: Pick<PageContext, 'nonce'> & Partial<PageContext>,
  title: string,
  body: string,
) {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>${escapeHtml(title)}</title>
<style nonce="${escapeHtml(context.nonce)}">${STYLE}</style>
</head>
<body>
<a class="skip" href="#content">Skip to content</a>
<header class="top"><p>${context.organizationName ? `Setup for <strong>${escapeHtml(context.organizationName)}</strong>` : 'Setup'}</p></header>
<main id="content">
${body}
</main>
${
  context.expiresAt
    ? `<footer><p>This setup link works until ${escapeHtml(formatTime(context.expiresAt))}. Everything done here is recorded. Do not share the link: anyone who has it can change these settings.</p></footer>`
    : ''
}
<script nonce="${escapeHtml(context.nonce)}">${SCRIPT}</script>
</body>
</html>
`;
}

/** A page that says why the link cannot be used, and what to do. */
export function statusPage(
  nonce: string,
  options: { title: string; message: string; organizationName?: string },
) {
  return layout(
    { nonce, ...(options.organizationName ? { organizationName: options.organizationName } : {}) },
    options.title,
    `<section><h1>${escapeHtml(options.title)}</h1>
<p class="error" role="alert">${escapeHtml(options.message)}</p></section>`,
  );
}

export function formatTime(date: Date | string): string {
  const value = typeof date === 'string' ? new Date(date) : date;
  return `${value.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** A value to copy: shown in full (selectable without JavaScript), with a Copy button when scripts run. */
function copyField(id: string, label: string, value: string): string {
  return `<div class="copy"><span class="label" id="${escapeHtml(id)}-label">${escapeHtml(label)}</span>
<div class="row"><code class="value" id="${escapeHtml(id)}" aria-labelledby="${escapeHtml(id)}-label">${escapeHtml(value)}</code>
<button type="button" class="secondary" data-copy="${escapeHtml(id)}" hidden aria-label="Copy ${escapeHtml(label)}">Copy</button></div></div>`;
}

function richText(text: string): string {
  return escapeHtml(text).replace(/\*([^*]+)\*/g, '<span class="menu">$1</span>');
}

function csrfInput(context: PageContext): string {
  return `<input type="hidden" name="csrf" value="${escapeHtml(context.csrf)}">`;
}

function messages(options: { notice?: string | undefined; error?: string | undefined }): string {
  return `${options.notice ? `<p class="notice" role="status">${escapeHtml(options.notice)}</p>` : ''}${
    options.error ? `<p class="error" role="alert">${escapeHtml(options.error)}</p>` : ''
  }`;
}

function guideSteps<Key extends string>(
  steps: ReadonlyArray<GuideStep<Key>>,
  values: Partial<Record<Key, string>>,
  idPrefix: string,
): string {
  return `<ol class="steps">${steps
    .map((step, stepIndex) => {
      const fields = (step.fields ?? [])
        .map((field, fieldIndex) => {
          const id = `${idPrefix}-${stepIndex}-${fieldIndex}`;
          if ('literal' in field) {
            return `<div class="field"><dt>${escapeHtml(field.label)}</dt><dd><code class="value">${escapeHtml(field.literal)}</code></dd></div>`;
          }
          const value = values[field.value];
          return `<div class="field"><dt id="${id}-label">${escapeHtml(field.label)}</dt><dd>${
            value
              ? `<div class="row"><code class="value" id="${id}" aria-labelledby="${id}-label">${escapeHtml(value)}</code><button type="button" class="secondary" data-copy="${id}" hidden aria-label="Copy ${escapeHtml(field.label)}">Copy</button></div>`
              : '<span class="muted">shown once the step below is done</span>'
          }</dd></div>`;
        })
        .join('');
      return `<li><p>${richText(step.text)}</p>${fields ? `<dl class="fields">${fields}</dl>` : ''}</li>`;
    })
    .join('')}</ol>`;
}

function traceBadge(status: string): string {
  const kind = status === 'succeeded' ? 'ok' : status === 'failed' ? 'bad' : 'wait';
  const text = status === 'succeeded' ? 'Succeeded' : status === 'failed' ? 'Failed' : 'Not finished';
  return `<span class="badge ${kind}">${text}</span>`;
}

// SSO

export type SsoProtocol = 'saml' | 'oidc';

export function ssoPage(
  context: PageContext,
  options: {
    protocol: SsoProtocol;
    guide: SsoGuide | OidcGuide;
    connection: ConnectionView | null;
    values: Record<SsoValueKey | OidcValueKey, string> & { spMetadataUrl: string };
    traces: TraceView[];
    notice?: string | undefined;
    error?: string | undefined;
    form?: Record<string, string | undefined>;
  },
): string {
  const { guide, connection, protocol } = options;
  const guides: ReadonlyArray<SsoGuide | OidcGuide> = protocol === 'saml' ? SSO_GUIDES : OIDC_GUIDES;
  const href = (preset: string, chosen: SsoProtocol) => `${context.base}?idp=${preset}&protocol=${chosen}`;
  const choices = guides
    .map(
      (item) =>
        `<li><a href="${escapeHtml(href(item.preset, protocol))}"${item.preset === guide.preset ? ' aria-current="page"' : ''}>${escapeHtml(item.name)}</a></li>`,
    )
    .join('');
  const protocols = connection
    ? `<p class="muted">This connection uses ${protocol === 'saml' ? 'SAML 2.0' : 'OpenID Connect'}.</p>`
    : `<nav class="choices" aria-label="Protocol"><ul>${(['saml', 'oidc'] as const)
        .map(
          (item) =>
            `<li><a href="${escapeHtml(href(guide.preset, item))}"${item === protocol ? ' aria-current="page"' : ''}>${item === 'saml' ? 'SAML 2.0' : 'OpenID Connect'}</a></li>`,
        )
        .join('')}</ul></nav>`;
  const warnings = connection?.warnings ?? [];
  const facts =
    connection?.saml !== undefined
      ? `<dt>Identity provider</dt><dd>${escapeHtml(connection.saml.idpEntityId)}</dd>
<dt>Sign-in URL</dt><dd>${escapeHtml(connection.saml.idpSsoUrl)}</dd>
<dt>Signing certificates</dt><dd>${connection.saml.idpCertificates
          .map(
            (certificate) =>
              `${escapeHtml(certificate.subject)}, valid until ${escapeHtml(formatTime(certificate.notAfter))}`,
          )
          .join('<br>')}</dd>`
      : connection?.oidc !== undefined
        ? `<dt>Issuer</dt><dd>${escapeHtml(connection.oidc.issuer)}</dd>
<dt>Client ID</dt><dd>${escapeHtml(connection.oidc.clientId)}</dd>
<dt>Client secret</dt><dd>${connection.oidc.clientSecretSet ? 'saved (never shown)' : 'none'}</dd>`
        : '';
  const status = connection
    ? `<dl class="facts">
<dt>Status</dt><dd>${connection.active ? '<span class="badge ok">Ready for a test sign-in</span>' : `<span class="badge bad">Not usable</span> ${escapeHtml(connection.inactiveReason ?? '')}`}</dd>
${facts}
</dl>${warnings.map((warning) => `<p class="warning">${escapeHtml(warning.message)}</p>`).join('')}`
    : '<p class="muted">Nothing received yet.</p>';
  const traces = options.traces.length
    ? `<table><caption class="muted">Test sign-ins started here, newest first</caption><thead><tr><th scope="col">When</th><th scope="col">Result</th><th scope="col">Who</th><th scope="col">Details</th></tr></thead><tbody>${options.traces
        .map(
          (trace) =>
            `<tr><td>${escapeHtml(formatTime(trace.createdAt))}</td><td>${traceBadge(trace.status)}${trace.errorCode ? ` <code>${escapeHtml(trace.errorCode)}</code>` : ''}</td><td class="wrap">${escapeHtml(trace.email ?? '')}</td><td class="wrap"><a href="${escapeHtml(`${context.base}/sso/traces/${trace.id}`)}">Steps<span class="muted"> of ${escapeHtml(trace.id)}</span></a></td></tr>`,
        )
        .join('')}</tbody></table>`
    : '<p class="muted">No test sign-in yet.</p>';
  const form = options.form ?? {};
  const settingsForm =
    protocol === 'saml'
      ? `<h2 id="settings-title">3. Give us your identity provider’s metadata</h2>
<p class="muted">${escapeHtml((guide as SsoGuide).metadataHint)} One of the three is enough.</p>
<form method="post" action="${escapeHtml(`${context.base}/sso/metadata`)}" enctype="multipart/form-data">
${csrfInput(context)}
<input type="hidden" name="idp" value="${escapeHtml(guide.preset)}">
<label class="field" for="metadata-file">Metadata file (XML)</label>
<input id="metadata-file" type="file" name="metadataFile" accept=".xml,application/xml,text/xml,application/samlmetadata+xml">
<label class="field" for="metadata-url">or metadata URL</label>
<input id="metadata-url" type="url" name="metadataUrl" inputmode="url" placeholder="https://" value="${escapeHtml(form.metadataUrl ?? '')}">
<label class="field" for="metadata-xml">or paste the XML</label>
<textarea id="metadata-xml" name="metadataXml" spellcheck="false">${escapeHtml(form.metadataXml ?? '')}</textarea>
<button type="submit">${connection ? 'Replace the metadata' : 'Save the metadata'}</button>
</form>`
      : `<h2 id="settings-title">3. Give us your application’s details</h2>
<form method="post" action="${escapeHtml(`${context.base}/sso/oidc`)}">
${csrfInput(context)}
<input type="hidden" name="idp" value="${escapeHtml(guide.preset)}">
<label class="field" for="discovery-url">Issuer or discovery URL</label>
<p class="muted" id="discovery-hint">${escapeHtml((guide as OidcGuide).discoveryHint)}</p>
<input id="discovery-url" type="url" name="discoveryUrl" inputmode="url" required aria-describedby="discovery-hint" placeholder="https://" value="${escapeHtml(form.discoveryUrl ?? connection?.oidc?.discoveryUrl ?? '')}">
<label class="field" for="client-id">Client ID</label>
<input id="client-id" type="text" name="clientId" required autocomplete="off" spellcheck="false" value="${escapeHtml(form.clientId ?? connection?.oidc?.clientId ?? '')}">
<label class="field" for="client-secret">Client secret</label>
${connection?.oidc?.clientSecretSet ? '<p class="muted" id="secret-hint">A secret is saved. Leave this empty to keep it.</p>' : ''}
<input id="client-secret" type="password" name="clientSecret" autocomplete="new-password" spellcheck="false"${connection?.oidc?.clientSecretSet ? ' aria-describedby="secret-hint"' : ' required'}>
${
  (guide as OidcGuide).askTenantId
    ? `<label class="field" for="tenant-id">Directory (tenant) ID <span class="muted">(optional with a tenant-specific URL)</span></label>
<input id="tenant-id" type="text" name="tenantId" autocomplete="off" spellcheck="false" value="${escapeHtml(form.tenantId ?? connection?.oidc?.tenantId ?? '')}">`
    : ''
}
<button type="submit">${connection ? 'Save the changes' : 'Save'}</button>
</form>`;
  const allValues =
    protocol === 'saml'
      ? `${copyField('our-entity-id', 'Our entity ID (audience, identifier)', options.values.entityId)}
${copyField('our-acs-url', 'Our Assertion Consumer Service (ACS) URL', options.values.acsUrl)}
${copyField('our-login-url', 'Our sign-in URL', options.values.loginUrl)}
${
  connection
    ? copyField('our-metadata-url', 'Our SAML metadata URL', options.values.spMetadataUrl)
    : '<p class="muted">Our SAML metadata URL appears here once your metadata is saved (step 3).</p>'
}`
      : `${copyField('our-redirect-uri', 'Our redirect URI', options.values.redirectUri)}
${copyField('our-login-url', 'Our sign-in URL', options.values.loginUrl)}`;
  return layout(
    context,
    'Set up single sign-on',
    `<h1>Set up single sign-on (${protocol === 'saml' ? 'SAML' : 'OpenID Connect'})</h1>
${messages(options)}
<section aria-labelledby="idp-title">
<h2 id="idp-title">1. Your identity provider</h2>
${protocols}
<nav class="choices" aria-label="Identity providers"><ul>${choices}</ul></nav>
</section>
<section aria-labelledby="guide-title">
<h2 id="guide-title">2. Create the application in ${escapeHtml(guide.name)}</h2>
${guideSteps<SsoValueKey | OidcValueKey>(guide.steps, options.values, 'value')}
<details><summary>All our values${protocol === 'saml' ? ', and our SAML metadata' : ''}</summary>
${allValues}
</details>
</section>
<section aria-labelledby="settings-title">
${settingsForm}
<h3>What we have</h3>
${status}
</section>
<section aria-labelledby="test-title">
<h2 id="test-title">4. Test the sign-in</h2>
<p>Sign in with an account assigned to the application. The sign-in opens in a new tab; its result and every step we checked appear there and below.</p>
<form method="post" action="${escapeHtml(`${context.base}/sso/test`)}" target="_blank">
${csrfInput(context)}
<button type="submit"${connection?.active ? '' : ' disabled aria-disabled="true"'}>Start a test sign-in</button>
</form>
${connection?.active ? '' : '<p class="muted">Available once your settings are saved.</p>'}
<h3>Recent test sign-ins</h3>
${traces}
<p><a href="${escapeHtml(href(guide.preset, protocol))}">Refresh</a></p>
</section>`,
  );
}

export function tracePage(context: PageContext, trace: TraceView, options: { standalone: boolean }): string {
  const steps = trace.steps
    .map(
      (step) =>
        `<tr><td>${step.ok ? '<span class="badge ok">ok</span>' : '<span class="badge bad">failed</span>'}</td><td><code>${escapeHtml(step.step)}</code></td><td class="wrap">${escapeHtml(step.message)}</td></tr>`,
    )
    .join('');
  return layout(
    context,
    'Test sign-in',
    `<h1>Test sign-in: ${trace.status === 'succeeded' ? 'it works' : trace.status === 'failed' ? 'it failed' : 'not finished'}</h1>
<section aria-labelledby="trace-title">
<h2 id="trace-title">Result</h2>
<dl class="facts">
<dt>Result</dt><dd>${traceBadge(trace.status)}</dd>
${trace.email ? `<dt>Signed in as</dt><dd>${escapeHtml(trace.email)}</dd>` : ''}
${trace.reason ? `<dt>Why</dt><dd>${escapeHtml(trace.reason)}</dd>` : ''}
<dt>Reference</dt><dd><code id="trace-id">${escapeHtml(trace.id)}</code></dd>
<dt>Started</dt><dd>${escapeHtml(formatTime(trace.createdAt))}</dd>
</dl>
<table class="trace-steps"><caption class="muted">Each step we checked</caption><colgroup><col class="result"><col class="step"><col></colgroup><thead><tr><th scope="col">Result</th><th scope="col">Step</th><th scope="col">What happened</th></tr></thead><tbody>${steps}</tbody></table>
${
  options.standalone
    ? '<p class="muted">You can close this tab and go back to the setup page.</p>'
    : `<p><a href="${escapeHtml(context.base)}">Back to the setup page</a></p>`
}
</section>`,
  );
}

// SCIM

export function scimPage(
  context: PageContext,
  options: {
    directory: DirectoryView | null;
    /** The token just issued: shown this once. */
    token?: string | undefined;
    notice?: string | undefined;
    error?: string | undefined;
  },
): string {
  const { directory } = options;
  // Only a SCIM directory has an endpoint to show; HR and directory pulls are set up elsewhere.
  if (!directory?.scim) {
    const choices = Object.values(SCIM_GUIDES)
      .map(
        (guide, index) =>
          `<div><input type="radio" id="provider-${guide.provider}" name="provider" value="${guide.provider}"${index === 0 ? ' checked' : ''}> <label for="provider-${guide.provider}">${escapeHtml(guide.name)}</label></div>`,
      )
      .join('');
    return layout(
      context,
      'Set up user provisioning (SCIM)',
      `<h1>Set up user provisioning (SCIM)</h1>
${messages(options)}
<section aria-labelledby="create-title">
<h2 id="create-title">1. Where do your users come from?</h2>
<p>We create a SCIM endpoint for your organization and show its address and a secret token once.</p>
<form method="post" action="${escapeHtml(`${context.base}/scim/directory`)}">
${csrfInput(context)}
<fieldset><legend>Your identity provider</legend>${choices}</fieldset>
<button type="submit">Create the SCIM endpoint</button>
</form>
</section>`,
    );
  }
  const guide = SCIM_GUIDES[directory.provider as keyof typeof SCIM_GUIDES] ?? SCIM_GUIDES.generic;
  const values: Partial<Record<ScimValueKey, string>> = {
    baseUrl: directory.scim.baseUrl,
    entraTenantUrl: directory.scim.entraTenantUrl ?? directory.scim.baseUrl,
    ...(options.token ? { token: options.token } : {}),
  };
  const tokens = directory.tokens
    .map(
      (token) =>
        `<tr><td><code>${escapeHtml(token.prefix)}…</code></td><td>${escapeHtml(token.status)}</td><td>${escapeHtml(token.expiresAt ? formatTime(token.expiresAt) : '—')}</td><td>${escapeHtml(token.lastUsedAt ? formatTime(token.lastUsedAt) : 'never')}</td></tr>`,
    )
    .join('');
  return layout(
    context,
    'Set up user provisioning (SCIM)',
    `<h1>Set up user provisioning (SCIM)</h1>
${messages(options)}
${
  options.token
    ? `<section class="secret" aria-labelledby="token-title"><h2 id="token-title">Your secret token: copy it now</h2>
<p>It is shown only this once; we keep only a fingerprint of it. If you lose it, rotate it below.</p>
${copyField('scim-token', 'Secret token', options.token)}</section>`
    : ''
}
<section aria-labelledby="endpoint-title">
<h2 id="endpoint-title">Your SCIM endpoint</h2>
${copyField('scim-base-url', 'SCIM base URL', directory.scim.baseUrl)}
${directory.scim.entraTenantUrl ? copyField('scim-entra-url', 'Tenant URL for Entra ID', directory.scim.entraTenantUrl) : ''}
<dl class="facts"><dt>Last request from your IdP</dt><dd>${escapeHtml(directory.lastActivityAt ? formatTime(directory.lastActivityAt) : 'none yet')}</dd></dl>
<table><caption class="muted">Tokens</caption><thead><tr><th scope="col">Token</th><th scope="col">Status</th><th scope="col">Expires</th><th scope="col">Last used</th></tr></thead><tbody>${tokens}</tbody></table>
<form method="post" action="${escapeHtml(`${context.base}/scim/rotate`)}">
${csrfInput(context)}
<fieldset><legend>Rotate the token: the current tokens keep working for</legend>
<div><input type="radio" id="overlap-day" name="overlap" value="86400" checked> <label for="overlap-day">24 hours (switch your IdP to the new token meanwhile)</label></div>
<div><input type="radio" id="overlap-hour" name="overlap" value="3600"> <label for="overlap-hour">1 hour</label></div>
<div><input type="radio" id="overlap-none" name="overlap" value="0"> <label for="overlap-none">no time: stop them now (a leaked token)</label></div>
</fieldset>
<button type="submit" class="secondary">Rotate the token</button>
<p class="muted">The new token is shown once.</p>
</form>
</section>
<section aria-labelledby="scim-guide-title">
<h2 id="scim-guide-title">Connect ${escapeHtml(guide.name)}</h2>
${guideSteps(guide.steps, values, 'scim')}
</section>`,
  );
}

// Domain

export function domainPage(
  context: PageContext,
  options: { domains: DomainView[]; notice?: string | undefined; error?: string | undefined; value?: string },
): string {
  const rows = options.domains
    .map(
      (domain, index) => `<li><h3>${escapeHtml(domain.domain)} ${
        domain.verified
          ? '<span class="badge ok">Verified</span>'
          : '<span class="badge wait">Not verified yet</span>'
      }</h3>
${
  domain.verified
    ? `<p class="muted">Verified ${escapeHtml(domain.verifiedAt ? formatTime(domain.verifiedAt) : '')}.</p>`
    : `<p>Publish this DNS record at your DNS provider, then check it. DNS changes can take a while to appear.</p>
${copyField(`txt-name-${index}`, 'Record name (host)', domain.verification.name)}
<p class="muted">Type: <code>TXT</code></p>
${copyField(`txt-value-${index}`, 'Record value', domain.verification.value)}
${domain.lastCheckError ? `<p class="warning">Last check ${escapeHtml(domain.lastCheckedAt ? formatTime(domain.lastCheckedAt) : '')}: ${escapeHtml(domain.lastCheckError)}</p>` : ''}
<form method="post" action="${escapeHtml(`${context.base}/domain/verify`)}">
${csrfInput(context)}
<input type="hidden" name="domain" value="${escapeHtml(domain.domain)}">
<button type="submit">Check ${escapeHtml(domain.domain)} now</button>
</form>`
}</li>`,
    )
    .join('');
  return layout(
    context,
    'Verify your email domains',
    `<h1>Verify your email domains</h1>
${messages(options)}
<section aria-labelledby="domains-title">
<h2 id="domains-title">Your domains</h2>
<p class="muted">A verified domain sends people whose email is on it to your organization’s sign-in.</p>
${rows ? `<ul class="plain">${rows}</ul>` : '<p class="muted">No domain yet: add one below.</p>'}
</section>
<section aria-labelledby="add-title">
<h2 id="add-title">Add a domain</h2>
<form method="post" action="${escapeHtml(`${context.base}/domain/add`)}">
${csrfInput(context)}
<label class="field" for="domain">Domain</label>
<input id="domain" type="text" name="domain" inputmode="url" autocomplete="off" placeholder="example.com" required value="${escapeHtml(options.value ?? '')}">
<button type="submit">Add the domain</button>
</form>
</section>`,
  );
}
