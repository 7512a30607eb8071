/**
 * Directories through the admin API: the SCIM base URL and a token shown once (stored hashed),
 * rotation with an overlap period, revocation, disabling, deletion, and the audit events.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { hashToken } from '../../src/platform/secret-box.ts';
import { createTestHub, type TestHub } from '../support/hub.ts';
import { eventsOf } from './support.ts';

let t: TestHub;
let orgId: string;
beforeAll(async () => {
  t = await createTestHub({ env: { PUBLIC_URL: 'https://hub.example.com/sb' } });
  orgId = (await t.api('POST', '/api/v1/organizations', { body: { name: 'Directory Corp' } })).body.id;
});
afterAll(async () => t?.close());

const scimGet = (directoryId: string, token: string) =>
  t.app.inject({
    method: 'GET',
    url: `/scim/v2/${directoryId}/Users`,
    headers: { authorization: `Bearer ${token}` },
  });

async function tokenRows(directoryId: string) {
  const client = (t.hub.database.pool ?? t.hub.database.pglite) as {
    query(text: string, values: unknown[]): Promise<{ rows: any[] }>;
  };
  return (
    await client.query('select * from directory_tokens where directory_id = $1 order by id', [directoryId])
  ).rows;
}

it('creates a directory: base URL under PUBLIC_URL, Entra tenant URL, a token shown once and stored hashed', async () => {
  const res = await t.api('POST', `/api/v1/organizations/${orgId}/directories`, {
    body: { name: 'Entra ID', provider: 'entra' },
  });
  expect(res.status).toBe(201);
  const { directory, token } = res.body;
  expect(directory).toMatchObject({
    organizationId: orgId,
    kind: 'scim',
    provider: 'entra',
    name: 'Entra ID',
    status: 'active',
    scim: {
      baseUrl: `https://hub.example.com/sb/scim/v2/${directory.id}`,
      entraTenantUrl: `https://hub.example.com/sb/scim/v2/${directory.id}?aadOptscim062020`,
    },
    tokens: [{ status: 'active', prefix: token.slice(0, 14), expiresAt: null }],
  });
  const rows = await tokenRows(directory.id);
  expect(rows).toHaveLength(1);
  expect(rows[0].token_hash).toBe(hashToken(token));
  expect(JSON.stringify(rows)).not.toContain(token);
  const fetched = await t.api('GET', `/api/v1/organizations/${orgId}/directories/${directory.id}`);
  expect(fetched.text).not.toContain(token);
  expect((await scimGet(directory.id, token)).statusCode).toBe(200);
  const events = await eventsOf(t, orgId, 'directory.created');
  expect(events).toHaveLength(1);
  expect(JSON.stringify(events)).not.toContain(token);
});

it('rotates with an overlap: both tokens work, then the old one stops when the overlap ends', async () => {
  const { directory, token: first } = (
    await t.api('POST', `/api/v1/organizations/${orgId}/directories`, {
      body: { name: 'Okta', provider: 'okta' },
    })
  ).body;
  const rotated = await t.api('POST', `/api/v1/organizations/${orgId}/directories/${directory.id}/tokens`, {
    body: { overlapSeconds: 3600 },
  });
  expect(rotated.status).toBe(201);
  const second = rotated.body.token;
  expect(second).not.toBe(first);
  expect(rotated.body.directory.tokens.map((token: { status: string }) => token.status)).toEqual([
    'expiring',
    'active',
  ]);
  expect((await scimGet(directory.id, first)).statusCode).toBe(200);
  expect((await scimGet(directory.id, second)).statusCode).toBe(200);
  // The overlap ends (moved into the past rather than waited for).
  const client = (t.hub.database.pool ?? t.hub.database.pglite) as {
    query(text: string, values: unknown[]): Promise<unknown>;
  };
  await client.query(
    "update directory_tokens set expires_at = now() - interval '1 second' where token_hash = $1",
    [hashToken(first)],
  );
  // Another process's cache would forget within a second; this one is cleared by a change.
  await t.api('PATCH', `/api/v1/organizations/${orgId}/directories/${directory.id}`, {
    body: { name: 'Okta (prod)' },
  });
  expect((await scimGet(directory.id, first)).statusCode).toBe(401);
  expect((await scimGet(directory.id, second)).statusCode).toBe(200);
  // Overlap 0: the previous token ends at once.
  const third = (
    await t.api('POST', `/api/v1/organizations/${orgId}/directories/${directory.id}/tokens`, {
      body: { overlapSeconds: 0 },
    })
  ).body.token;
  expect((await scimGet(directory.id, second)).statusCode).toBe(401);
  expect((await scimGet(directory.id, third)).statusCode).toBe(200);
  const types = (await eventsOf(t, orgId, 'directory.token_rotated')).map((event) => event.subject.id);
  expect(types).toEqual([directory.id, directory.id]);
});

it('revokes a token at once', async () => {
  const { directory, token, tokenId } = (
    await t.api('POST', `/api/v1/organizations/${orgId}/directories`, {
      body: { name: 'Generic', provider: 'generic' },
    })
  ).body;
  expect((await scimGet(directory.id, token)).statusCode).toBe(200);
  const res = await t.api(
    'DELETE',
    `/api/v1/organizations/${orgId}/directories/${directory.id}/tokens/${tokenId}`,
  );
  expect(res.status).toBe(200);
  expect(res.body.tokens[0].status).toBe('revoked');
  expect((await scimGet(directory.id, token)).statusCode).toBe(401);
  expect(
    (await t.api('DELETE', `/api/v1/organizations/${orgId}/directories/${directory.id}/tokens/dtk_nope`))
      .status,
  ).toBe(404);
  expect((await eventsOf(t, orgId, 'directory.token_revoked')).map((event) => event.data.tokenId)).toEqual([
    tokenId,
  ]);
});

it('a disabled directory refuses SCIM requests (403) until enabled again', async () => {
  const { directory, token } = (
    await t.api('POST', `/api/v1/organizations/${orgId}/directories`, {
      body: { name: 'Paused', provider: 'generic' },
    })
  ).body;
  await t.api('PATCH', `/api/v1/organizations/${orgId}/directories/${directory.id}`, {
    body: { status: 'disabled' },
  });
  const refused = await scimGet(directory.id, token);
  expect(refused.statusCode).toBe(403);
  expect(JSON.parse(refused.body)).toMatchObject({ status: '403' });
  await t.api('PATCH', `/api/v1/organizations/${orgId}/directories/${directory.id}`, {
    body: { status: 'active' },
  });
  expect((await scimGet(directory.id, token)).statusCode).toBe(200);
});

it('lists, validates input, needs an admin key to change, and deletes', async () => {
  const list = await t.api('GET', `/api/v1/organizations/${orgId}/directories`, { key: t.readKey });
  expect(list.status).toBe(200);
  expect(list.body.data.length).toBeGreaterThanOrEqual(4);
  expect(
    (
      await t.api('POST', `/api/v1/organizations/${orgId}/directories`, {
        body: { name: 'x', provider: 'azure' },
      })
    ).status,
  ).toBe(400);
  expect(
    (
      await t.api('POST', `/api/v1/organizations/${orgId}/directories`, {
        body: { name: 'x', provider: 'okta' },
        key: t.readKey,
      })
    ).status,
  ).toBe(403);
  const { directory, token } = (
    await t.api('POST', `/api/v1/organizations/${orgId}/directories`, {
      body: { name: 'Doomed', provider: 'okta' },
    })
  ).body;
  expect((await t.api('DELETE', `/api/v1/organizations/${orgId}/directories/${directory.id}`)).status).toBe(
    204,
  );
  expect((await t.api('GET', `/api/v1/organizations/${orgId}/directories/${directory.id}`)).status).toBe(404);
  expect((await scimGet(directory.id, token)).statusCode).toBe(401);
  const otherOrg = (await t.api('POST', '/api/v1/organizations', { body: { name: 'Other Corp' } })).body.id;
  const first = list.body.data[0].id;
  expect((await t.api('GET', `/api/v1/organizations/${otherOrg}/directories/${first}`)).status).toBe(404);
});

it('saving the same settings again records no change (values compared, not their key order)', async () => {
  const settings = {
    customSchema: { attributes: [{ name: 'costCode', type: 'string', required: true, description: 'CC' }] },
  };
  const { directory } = (
    await t.api('POST', `/api/v1/organizations/${orgId}/directories`, {
      body: { name: 'Custom attributes', provider: 'okta', settings },
    })
  ).body;
  const stored = (await t.api('GET', `/api/v1/organizations/${orgId}/directories/${directory.id}`)).body;
  const saved = await t.api('PATCH', `/api/v1/organizations/${orgId}/directories/${directory.id}`, {
    body: { settings: stored.settings },
  });
  expect(saved.status, saved.text).toBe(200);
  expect(saved.body.version ?? saved.body.updatedAt).toEqual(stored.version ?? stored.updatedAt);
  const updates = (await eventsOf(t, orgId, 'directory.updated')).filter(
    (event) => event.subject_id === directory.id,
  );
  expect(updates).toEqual([]);
});
