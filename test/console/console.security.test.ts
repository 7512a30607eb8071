/**
 * Console security: cookie attributes over https, CSRF on every mutating route reached with the
 * cookie, session expiry, role scopes on the members API, the trace lookup by id, and the
 * `switchboard admin login-link` command.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestHub, databaseKind, type TestHub } from '../support/hub.ts';

const run = promisify(execFile);

describe('over https', () => {
  let t: TestHub;
  beforeAll(async () => {
    t = await createTestHub({ env: { PUBLIC_URL: 'https://hub.example.com' } });
  });
  afterAll(async () => {
    await t?.close();
  });

  async function session() {
    const { url } = await t.hub.console.service.createLoginLink({ type: 'cli', name: 'test' });
    const response = await t.api('POST', '/admin/auth/link', {
      key: null,
      body: { token: new URL(url).hash.slice(1) },
    });
    expect(response.status, response.text).toBe(200);
    const setCookie = String(response.headers['set-cookie']);
    return { setCookie, cookie: setCookie.split(';')[0] as string, csrf: response.body.csrfToken as string };
  }

  it('sets a __Host- cookie that is Secure, HttpOnly and SameSite=Lax, and sends HSTS', async () => {
    const { setCookie } = await session();
    expect(setCookie).toMatch(
      /^__Host-sb_console=sbc_[^;]+; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Lax; Secure$/,
    );
    expect(setCookie).not.toContain('Domain=');
    const page = await t.api('GET', '/admin/', { key: null });
    expect(page.headers['strict-transport-security']).toContain('max-age=31536000');
    expect(String(page.headers['content-security-policy'])).toContain('upgrade-insecure-requests');
  });

  it('refuses every mutating request made with the cookie but without the CSRF token', async () => {
    const { cookie, csrf } = await session();
    const attempts: Array<[string, string, unknown]> = [
      ['POST', '/api/v1/organizations', { name: 'Forged' }],
      ['POST', '/api/v1/console/members', { email: 'mallory@example.org', role: 'owner' }],
      ['DELETE', '/api/v1/console/members/cmb_x', undefined],
      ['POST', '/api/v1/api-keys', { name: 'forged' }],
    ];
    for (const [method, url, body] of attempts) {
      const response = await t.api(method, url, { key: null, headers: { cookie }, body });
      expect(response.status, `${method} ${url}`).toBe(403);
      expect(response.body.code).toBe('csrf_token_mismatch');
    }
    // Another session's token does not fit this session.
    const other = await session();
    const crossed = await t.api('POST', '/api/v1/organizations', {
      key: null,
      headers: { cookie, 'x-csrf-token': other.csrf },
      body: { name: 'Crossed' },
    });
    expect(crossed.status).toBe(403);
    const members = await t.api('GET', '/api/v1/console/members');
    expect(
      (members.body.data as Array<{ email: string }>).some((m) => m.email === 'mallory@example.org'),
    ).toBe(false);
    // With it, the same request works.
    const ok = await t.api('POST', '/api/v1/organizations', {
      key: null,
      headers: { cookie, 'x-csrf-token': csrf },
      body: { name: 'Genuine' },
    });
    expect(ok.status).toBe(201);
  });

  it('ends sessions at their expiry', async () => {
    const { cookie } = await session();
    expect((await t.api('GET', '/api/v1/organizations', { key: null, headers: { cookie } })).status).toBe(
      200,
    );
    await t.hub.database.db.execute(
      sql`update console_sessions set expires_at = now() - interval '1 second'`,
    );
    const expired = await t.api('GET', '/api/v1/organizations', { key: null, headers: { cookie } });
    expect(expired.status).toBe(401);
    expect(expired.body.code).toBe('console_session_expired');
    expect(await t.hub.console.service.cleanUp()).toBeGreaterThan(0);
  });
});

describe('members API and trace lookup', () => {
  let t: TestHub;
  beforeAll(async () => {
    t = await createTestHub();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('lets admin API keys grant roles, not read keys, and names the field of bad input', async () => {
    const denied = await t.api('POST', '/api/v1/console/members', {
      key: t.readKey,
      body: { email: 'ops@example.org', role: 'admin' },
    });
    expect(denied.status).toBe(403);
    const bad = await t.api('POST', '/api/v1/console/members', {
      body: { email: 'not-an-email', role: 'root' },
    });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('email');
    const granted = await t.api('POST', '/api/v1/console/members', {
      body: { email: 'Ops@Example.org', role: 'admin' },
    });
    expect(granted.status).toBe(201);
    expect(granted.body.email).toBe('ops@example.org');
    const events = await t.api('GET', '/api/v1/events?type=console.member_granted');
    expect(events.body.data.at(-1).actor.type).toBe('api_key');
    const missing = await t.api('DELETE', '/api/v1/console/members/cmb_missing');
    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe('console_member_not_found');
  });

  it('finds no trace for an unknown or malformed id', async () => {
    for (const id of ['trc_00000000000000000000000000', 'not-a-trace']) {
      const response = await t.api('GET', `/api/v1/login-traces/${id}`);
      expect(response.status).toBe(404);
      expect(response.body.code).toBe('login_trace_not_found');
    }
    expect((await t.api('GET', '/api/v1/login-traces/trc_x', { key: null })).status).toBe(401);
  });
});

describe.skipIf(databaseKind() !== 'embedded')('switchboard admin login-link', () => {
  it('prints a one-time link on a fresh hub, and refuses once an owner exists (pointing at --force)', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sb-login-link-'));
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DATA_DIR: dataDir,
      LOG_LEVEL: 'silent',
      PUBLIC_URL: 'https://hub.example.com',
    };
    delete env.DATABASE_URL;
    const cli = (args: string[]) =>
      run(process.execPath, ['src/main.ts', ...args], { env, timeout: 200_000 });
    try {
      const first = await cli(['admin', 'login-link']);
      expect(first.stdout.trim()).toMatch(
        /^https:\/\/hub\.example\.com\/admin\/sign-in\/link#sbl_[A-Za-z0-9_-]{43}$/,
      );
      expect(first.stderr).toContain('it works once');
      const { createHub, closeHub } = await import('../../src/hub.ts');
      const { loadConfig } = await import('../../src/config.ts');
      const hub = await createHub(loadConfig(env));
      await hub.console.service.grant({ email: 'owner@example.org', role: 'owner' }, { type: 'cli' });
      await closeHub(hub, 1000);
      const refused = await cli(['admin', 'login-link']).catch(
        (error: { code: number; stderr: string }) => error,
      );
      expect((refused as { code: number }).code).toBe(1);
      expect((refused as { stderr: string }).stderr).toContain('--force');
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 300_000);
});
