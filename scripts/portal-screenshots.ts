/**
 * Screenshots of the setup portal's pages, wide (1280 px) and narrow (390 px), into
 * docs/screenshots/portal-*.png: `node scripts/portal-screenshots.ts` (needs Debian's `chromium`).
 *
 * Runs a hub on an in-memory database, creates an organization and one setup link per intent,
 * walks each page as the IT admin would (metadata saved, SCIM endpoint created, a domain added),
 * and has headless Chromium render each page.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { closeHub, createHub, startBackgroundWork } from '../src/hub.ts';
import { createKeyAndCertificate } from '../src/modules/sso/certificates.ts';
import { renderIdpMetadata } from '../src/modules/sso/saml/identity-provider.ts';
import { createLogger } from '../src/platform/logging.ts';

const run = promisify(execFile);
const out = join(import.meta.dirname, '../docs/screenshots');
const scratch = mkdtempSync(join(tmpdir(), 'portal-shots-'));
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--hide-scrollbars',
];

async function shoot(url: string, name: string, heights: { wide: number; narrow: number }) {
  for (const [suffix, width, height] of [
    ['wide', 1280, heights.wide],
    ['narrow', 390, heights.narrow],
  ] as const) {
    const file = join(out, `portal-${name}-${suffix}.png`);
    await run('chromium', [
      ...CHROMIUM_FLAGS,
      `--user-data-dir=${join(scratch, 'profile')}`,
      `--window-size=${width},${height}`,
      `--screenshot=${file}`,
      url,
    ]);
    console.log(`wrote ${file}`);
  }
}

/** Fetches a page with the browser's cookie; returns its HTML and CSRF tag. */
async function page(url: string, cookie: { value?: string }) {
  const response = await fetch(url, { headers: cookie.value ? { cookie: cookie.value } : {} });
  const setCookie = response.headers.getSetCookie().find((line) => line.startsWith('sb_setup_csrf='));
  if (setCookie) cookie.value = setCookie.split(';')[0];
  const html = await response.text();
  return { html, csrf: /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? '' };
}

async function post(url: string, cookie: { value?: string }, fields: Record<string, string>, origin: string) {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      cookie: cookie.value ?? '',
      origin,
    },
    body: new URLSearchParams(fields).toString(),
    redirect: 'manual',
  });
  return { status: response.status, html: await response.text() };
}

/** Saves HTML to a file Chromium can open (pages that exist only as the answer to a POST). */
function htmlFile(name: string, html: string): string {
  const file = join(scratch, `${name}.html`);
  writeFileSync(file, html);
  return `file://${file}`;
}

async function main() {
  mkdirSync(out, { recursive: true });
  const port = 40000 + Math.floor(Math.random() * 10000);
  const config = loadConfig({
    PORT: String(port),
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    SECRET_KEY: randomBytes(32).toString('base64'),
    LOG_LEVEL: 'warn',
  });
  const hub = await createHub(config, { logger: createLogger('warn'), pglite: await PGlite.create() });
  const app = await buildApp(hub);
  await startBackgroundWork(hub, 'web');
  await app.listen({ port, host: '127.0.0.1' });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const actor = { type: 'system' as const, name: 'screenshots' };
  try {
    const org = await hub.orgs.create(
      { name: 'Acme Corp', domains: ['acme.example'], environment: 'sandbox' } as never,
      actor,
    );
    const links = hub.portal.links;

    // SSO: the guide before anything is saved, then after the IdP's metadata arrived.
    const sso = await links.create(org.id, { intent: 'sso', label: 'Jane Roe, Acme IT' }, actor);
    await shoot(`${sso.url}?idp=entra`, 'sso-guide', { wide: 2300, narrow: 4600 });
    const cookie: { value?: string } = {};
    const first = await page(sso.url, cookie);
    const keys = await createKeyAndCertificate({ commonName: 'login.acme.example', validDays: 365 });
    const metadataXml = renderIdpMetadata({
      entityId: 'https://login.acme.example/saml/metadata',
      ssoUrl: 'https://login.acme.example/saml/sso',
      certificatePem: keys.certificatePem,
    });
    const saved = await post(
      `${sso.url}/sso/metadata`,
      cookie,
      { csrf: first.csrf, idp: 'okta', metadataXml },
      base,
    );
    if (saved.status !== 303)
      throw new Error(`metadata not saved: ${saved.status} ${saved.html.slice(0, 300)}`);
    await shoot(`${sso.url}?idp=okta&done=metadata_saved`, 'sso-saved', { wide: 2500, narrow: 5200 });

    // SCIM: the endpoint just created, with its token shown once.
    const scim = await links.create(org.id, { intent: 'scim', label: 'Okta admin' }, actor);
    const scimCookie: { value?: string } = {};
    const scimPage = await page(scim.url, scimCookie);
    await shoot(scim.url, 'scim-start', { wide: 700, narrow: 900 });
    const created = await post(
      `${scim.url}/scim/directory`,
      scimCookie,
      { csrf: scimPage.csrf, provider: 'okta' },
      base,
    );
    await shoot(htmlFile('scim-created', created.html), 'scim-created', { wide: 2000, narrow: 3800 });

    // Domain: one verified, one waiting for its TXT record.
    const domain = await links.create(org.id, { intent: 'domain' }, actor);
    await hub.orgs.addDomain(org.id, 'acme-corp.example', actor);
    await hub.database.db.execute(
      sql`update organization_domains set verified = true, verified_at = now(), verification_method = 'dns' where domain = 'acme.example'`,
    );
    await shoot(domain.url, 'domain', { wide: 1200, narrow: 2200 });

    // An expired link.
    await hub.database.db.execute(
      sql`update setup_links set expires_at = now() - interval '1 day' where id = ${domain.link.id}`,
    );
    await shoot(domain.url, 'expired', { wide: 500, narrow: 700 });
  } finally {
    await app.close();
    await closeHub(hub, 1000);
    rmSync(scratch, { recursive: true, force: true });
  }
}

await main();
