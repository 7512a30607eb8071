/**
 * Signing keys: generated on first start and sealed at rest; rotation publishes the new key before
 * it signs; tokens the old key signed still verify until they expire; then the old key leaves the
 * JWKS. The CLI (`switchboard keys ...`) drives the same service as a separate process.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { createLocalJWKSet, decodeProtectedHeader, type JSONWebKeySet, jwtVerify } from 'jose';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseKind, freshDatabase, type TestHub } from '../support/hub.ts';
import { organizationWithTestIdp, registerApplication, relyingParty, signIn, startHub } from './helpers.ts';

const MAIN = join(import.meta.dirname, '../../src/main.ts');

describe('signing keys', () => {
  let t: TestHub;
  beforeAll(async () => {
    t = await startHub();
  });
  afterAll(async () => t?.close());

  const jwks = async () => (await fetch(`${t.url}/oidc/jwks`).then((r) => r.json())) as JSONWebKeySet;
  const keys = async () =>
    (await t.api('GET', '/api/v1/signing-keys')).body as {
      data: Array<{
        kid: string;
        alg: string;
        status: string;
        published: boolean;
        unpublishAt: string | null;
      }>;
      retentionSeconds: number;
    };
  /** Time passing, without waiting: every key's schedule moves into the past by `seconds`. */
  async function timePasses(seconds: number) {
    await t.hub.database.db.execute(
      sql`update provider_signing_keys set activates_at = activates_at - make_interval(secs => ${seconds}), created_at = created_at - make_interval(secs => ${seconds})`,
    );
    t.hub.provider.host.invalidate();
  }

  it('generates an ES256 and an RS256 key on first start, private halves sealed', async () => {
    const listed = await keys();
    expect(listed.data.map((key) => `${key.alg}:${key.status}`).sort()).toEqual([
      'ES256:active',
      'RS256:active',
    ]);
    const rows = await t.hub.database.db.execute(
      sql`select kid, private_jwk_sealed, public_jwk from provider_signing_keys`,
    );
    for (const row of (rows as unknown as { rows: Array<Record<string, any>> }).rows) {
      expect(row.private_jwk_sealed).toMatch(/^sb1\./);
      expect(row.public_jwk).not.toHaveProperty('d');
    }
    const events = await t.api('GET', '/api/v1/events?types=signing_key.created');
    expect(events.body.data).toHaveLength(2);
  });

  it('rotation: published before it signs, old tokens verify after, the old key leaves after they expire', async () => {
    const org = await organizationWithTestIdp(t);
    const app = await registerApplication(t, { organization: org.id });
    const config = await relyingParty(t, app);
    const { tokens } = await signIn(t, {
      config,
      app,
      person: { email: `kay@${org.domain}` },
      extra: { prompt: 'consent' },
    });
    const oldKid = decodeProtectedHeader(tokens.id_token as string).kid as string;
    const oldToken = tokens.id_token as string;

    const rotated = await t.api('POST', '/api/v1/signing-keys/rotate', { body: { activateInSeconds: 3600 } });
    expect(rotated.status, rotated.text).toBe(201);
    const newRsa = rotated.body.data.find((key: { alg: string }) => key.alg === 'RS256');
    expect(newRsa.status).toBe('next');
    // Published now, not signing yet.
    expect((await jwks()).keys.map((key) => key.kid)).toEqual(expect.arrayContaining([oldKid, newRsa.kid]));
    const stillOld = await client.refreshTokenGrant(config, tokens.refresh_token as string);
    expect(decodeProtectedHeader(stillOld.id_token as string).kid).toBe(oldKid);

    // The activation time arrives: new tokens use the new key; the old key's tokens still verify.
    await timePasses(3600);
    const renewed = await client.refreshTokenGrant(config, stillOld.refresh_token as string);
    expect(decodeProtectedHeader(renewed.id_token as string).kid).toBe(newRsa.kid);
    const published = createLocalJWKSet(await jwks());
    await jwtVerify(oldToken, published, { issuer: t.url, audience: app.id });
    await jwtVerify(renewed.id_token as string, published, { issuer: t.url, audience: app.id });
    const during = await keys();
    const old = during.data.find((key) => key.kid === oldKid);
    expect(old).toMatchObject({ status: 'retired', published: true });
    expect(during.retentionSeconds).toBe(3600 + 60);

    // Past the longest ID token lifetime: the old key is unpublished, and pruned by the worker.
    await timePasses(during.retentionSeconds);
    const after = await jwks();
    expect(after.keys.map((key) => key.kid)).not.toContain(oldKid);
    expect(after.keys.map((key) => key.kid)).toContain(newRsa.kid);
    await expect(jwtVerify(oldToken, createLocalJWKSet(after))).rejects.toThrow();
    expect((await keys()).data.find((key) => key.kid === oldKid)?.status).toBe('expired');
    const cleaned = await t.hub.provider.cleanUp();
    expect(cleaned.keys).toBeGreaterThanOrEqual(1);
    expect((await keys()).data.find((key) => key.kid === oldKid)).toBeUndefined();
  });

  it('revoking: refused for the signing key, immediate for others', async () => {
    const listed = await keys();
    const active = listed.data.find((key) => key.alg === 'ES256' && key.status === 'active') as {
      kid: string;
    };
    const refused = await t.api('POST', `/api/v1/signing-keys/${active.kid}/revoke`);
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe('signing_key_active');
    const rotated = await t.api('POST', '/api/v1/signing-keys/rotate', {
      body: { algorithms: ['ES256'], activateInSeconds: 0 },
    });
    expect(rotated.body.data[0].status).toBe('active');
    const revoked = await t.api('POST', `/api/v1/signing-keys/${active.kid}/revoke`);
    expect(revoked.status, revoked.text).toBe(200);
    expect(revoked.body).toMatchObject({ status: 'revoked', published: false });
    expect((await jwks()).keys.map((key) => key.kid)).not.toContain(active.kid);
  });
});

describe('switchboard keys (CLI)', () => {
  it('lists, rotates with a delay, and prints the schedule', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sb-keys-'));
    const fresh = databaseKind() === 'postgres' ? await freshDatabase() : undefined;
    const env = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      LOG_LEVEL: 'warn',
      DATA_DIR: dataDir,
      SECRET_KEY: randomBytes(32).toString('base64'),
      ...fresh?.env,
    };
    const run = (args: string[]) =>
      new Promise<{ code: number | null; out: string }>((resolve, reject) => {
        const child = spawn(process.execPath, [MAIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        child.stdout.on('data', (chunk) => {
          out += chunk;
        });
        child.stderr.on('data', (chunk) => {
          out += chunk;
        });
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error(`switchboard ${args.join(' ')} hung: ${out}`));
        }, 120_000);
        child.on('exit', (code) => {
          clearTimeout(timer);
          resolve({ code, out });
        });
      });
    try {
      const listed = await run(['keys', 'list']);
      expect(listed.code, listed.out).toBe(0);
      expect(listed.out).toMatch(/ES256 +active +\S+ +signing since/);
      expect(listed.out).toMatch(/RS256 +active/);
      const rotated = await run(['keys', 'rotate', '--alg', 'RS256', '--activate-in', '2h']);
      expect(rotated.code, rotated.out).toBe(0);
      expect(rotated.out).toMatch(/New RS256 key \S+: published now, signs from /);
      expect(rotated.out).toMatch(/RS256 +next +\S+ +signs from/);
      expect(rotated.out).toMatch(/RS256 +active +\S+ +signing since .*, until /);
      const bad = await run(['keys', 'rotate', '--activate-in', 'soon']);
      expect(bad.code).not.toBe(0);
      expect(bad.out).toContain('expected seconds or a duration');
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
      await fresh?.drop();
    }
  }, 300_000);
});
