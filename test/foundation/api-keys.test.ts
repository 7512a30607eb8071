import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashToken } from '../../src/platform/secret-box.ts';
import { createTestHub, type TestHub } from '../support/hub.ts';

let t: TestHub;
const bootstrapKey = `bootstrap-${'k'.repeat(40)}`;

beforeAll(async () => {
  t = await createTestHub({ env: { SWITCHBOARD_BOOTSTRAP_ADMIN_KEY: bootstrapKey } });
});
afterAll(async () => {
  await t?.close();
});

describe('admin API keys', () => {
  it('requires a key, and says how to get one', async () => {
    const none = await t.api('GET', '/api/v1/organizations', { key: null });
    expect(none.status).toBe(401);
    expect(none.body).toMatchObject({ code: 'missing_credentials' });
    expect(none.body.fix).toContain('admin-keys create');
    const wrong = await t.api('GET', '/api/v1/organizations', { key: 'sbk_definitely-not-a-real-key' });
    expect(wrong.status).toBe(401);
    expect(wrong.body.code).toBe('invalid_credentials');
    const malformed = await t.api('GET', '/api/v1/organizations', {
      key: null,
      headers: { authorization: 'Basic abc' },
    });
    expect(malformed.status).toBe(401);
    // Authentication comes before validation: a stranger learns nothing about the body's shape.
    const badBody = await t.api('POST', '/api/v1/organizations', { key: null, body: { wrong: true } });
    expect(badBody.status).toBe(401);
    const readBadBody = await t.api('POST', '/api/v1/organizations', {
      key: t.readKey,
      body: { wrong: true },
    });
    expect(readBadBody.status).toBe(403);
  });

  it('lets read keys read and refuses them writes', async () => {
    expect((await t.api('GET', '/api/v1/organizations', { key: t.readKey })).status).toBe(200);
    const write = await t.api('POST', '/api/v1/organizations', { key: t.readKey, body: { name: 'Nope' } });
    expect(write.status).toBe(403);
    expect(write.body).toMatchObject({ code: 'insufficient_scope' });
    expect((await t.api('GET', '/api/v1/api-keys', { key: t.readKey })).status).toBe(403);
    expect((await t.api('GET', '/api/v1/organizations?q=Nope')).body.data).toEqual([]);
  });

  it('registers the bootstrap key once, stores only hashes, and revokes', async () => {
    expect((await t.api('GET', '/api/v1/api-keys', { key: bootstrapKey })).status).toBe(200);
    const created = await t.api('POST', '/api/v1/api-keys', { body: { name: 'ci robot', scopes: ['read'] } });
    expect(created.status).toBe(201);
    const key: string = created.body.key;
    expect(key).toMatch(/^sbk_/);
    expect(created.body.apiKey).toMatchObject({
      name: 'ci robot',
      scopes: ['read'],
      prefix: key.slice(0, 12),
    });

    const stored =
      (await t.hub.database.pool?.query('select key_hash from api_keys')) ??
      (await t.hub.database.pglite!.query<{ key_hash: string }>('select key_hash from api_keys'));
    const hashes = (stored.rows as Array<{ key_hash: string }>).map((row) => row.key_hash);
    expect(hashes).toContain(hashToken(key));
    expect(JSON.stringify(stored.rows)).not.toContain(key);
    expect((await t.api('GET', '/api/v1/api-keys')).text).not.toContain(key.slice(12));

    expect((await t.api('GET', '/api/v1/organizations', { key })).status).toBe(200);
    const revoked = await t.api('DELETE', `/api/v1/api-keys/${created.body.apiKey.id}`);
    expect(revoked.body.revokedAt).toBeTruthy();
    expect((await t.api('GET', '/api/v1/organizations', { key })).status).toBe(401);
    expect((await t.api('DELETE', '/api/v1/api-keys/key_missing')).status).toBe(404);

    // A second start with the same bootstrap key does not add another.
    expect(await t.hub.apiKeys.registerBootstrapKey(bootstrapKey)).toBe('exists');
    expect(await t.hub.apiKeys.registerBootstrapKey(`other-${'x'.repeat(40)}`)).toBe('skipped');
    const events = await t.api('GET', '/api/v1/events?types=api_key.*');
    expect(events.body.data.map((event: { type: string }) => event.type)).toEqual(
      expect.arrayContaining(['api_key.created', 'api_key.revoked']),
    );
    expect(JSON.stringify(events.body)).not.toContain(key);
  });

  it('guards every documented admin route: 401 without a key, before any validation', async () => {
    const spec = (await t.api('GET', '/openapi.json', { key: null })).body as {
      paths: Record<string, Record<string, unknown>>;
    };
    const checked: string[] = [];
    for (const [path, operations] of Object.entries(spec.paths)) {
      if (!path.startsWith('/api/v1/')) continue;
      for (const method of Object.keys(operations)) {
        const url = path.replace(/\{[^}]+\}/g, 'x');
        const res = await t.api(method.toUpperCase(), url, {
          key: null,
          ...(['post', 'put', 'patch'].includes(method) ? { body: { surely: ['not', 'valid'] } } : {}),
        });
        expect(res.status, `${method.toUpperCase()} ${path}`).toBe(401);
        checked.push(`${method} ${path}`);
      }
    }
    expect(checked.length).toBeGreaterThan(30);
  });
});
