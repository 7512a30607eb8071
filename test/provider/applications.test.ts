/**
 * The applications admin API: registration, the secret shown once and stored hashed, validation
 * problems that name the field and the fix, listing, rotation, deletion.
 */
import { createHash } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestHub } from '../support/hub.ts';
import { createOrganization, startHub } from './helpers.ts';

describe('applications API', () => {
  let t: TestHub;
  beforeAll(async () => {
    t = await startHub();
  });
  afterAll(async () => t?.close());

  const base = { name: 'Coaching', type: 'confidential', redirectUris: ['https://coach.example.com/cb'] };

  it('shows the secret once and stores only its hash', async () => {
    const org = await createOrganization(t);
    const created = await t.api('POST', '/api/v1/applications', {
      body: { ...base, organization: org.slug, postLogoutRedirectUris: ['https://coach.example.com/bye'] },
    });
    expect(created.status, created.text).toBe(201);
    expect(created.headers['cache-control']).toBe('no-store');
    const secret = created.body.secret as string;
    expect(secret).toMatch(/^sbs_[A-Za-z0-9_-]{43}$/);
    expect(created.body).toMatchObject({
      id: expect.stringMatching(/^app_/),
      clientId: created.body.id,
      organizationId: org.id,
      type: 'confidential',
      grantTypes: ['authorization_code', 'refresh_token'],
      scopes: ['openid', 'profile', 'email', 'groups', 'roles', 'offline_access'],
      tokenEndpointAuthMethod: 'client_secret_basic',
      firstParty: true,
      requirePkce: false,
      idTokenSigningAlg: 'RS256',
      tokenLifetimes: {
        accessTokenSeconds: 3600,
        idTokenSeconds: 3600,
        refreshTokenSeconds: 1209600,
        refreshTokenMaxSeconds: 7776000,
      },
      allowedOrganizations: [org.id],
      issuer: t.url,
      clientSecret: { prefix: `${secret.slice(0, 10)}…`, rotatedAt: null, previousValidUntil: null },
    });
    const read = await t.api('GET', `/api/v1/applications/${created.body.id}`, { key: t.readKey });
    expect(read.status).toBe(200);
    expect(read.text).not.toContain(secret);
    expect(read.body).not.toHaveProperty('secret');

    const rows = await t.hub.database.db.execute(
      sql`select * from applications where id = ${created.body.id}`,
    );
    const row = (rows as unknown as { rows: Array<Record<string, unknown>> }).rows[0] as Record<
      string,
      unknown
    >;
    expect(row.client_secret_hash).toBe(createHash('sha256').update(secret).digest('hex'));
    expect(JSON.stringify(row)).not.toContain(secret);
    const events = await t.api('GET', `/api/v1/events?types=application.*&subject=${created.body.id}`);
    expect(events.body.data.map((event: { type: string }) => event.type)).toEqual(['application.created']);
    expect(JSON.stringify(events.body)).not.toContain(secret);
  });

  it('names the field and the fix for bad input', async () => {
    const cases: Array<[Record<string, unknown>, string, string]> = [
      [{ redirectUris: ['https://*.example.com/cb'] }, 'invalid_redirect_uri', 'redirectUris[0]'],
      [
        { redirectUris: ['https://ok.example.com/cb', 'http://coach.example.com/cb'] },
        'invalid_redirect_uri',
        'redirectUris[1]',
      ],
      [{ redirectUris: ['https://ok.example.com/cb#frag'] }, 'invalid_redirect_uri', 'redirectUris[0]'],
      [{ redirectUris: ['com.example.app:/cb'] }, 'invalid_redirect_uri', 'redirectUris[0]'],
      [{ redirectUris: [] }, 'redirect_uris_required', 'redirectUris'],
      [{ type: 'public', grantTypes: ['client_credentials'] }, 'public_client_credentials', 'grantTypes'],
      [{ type: 'public', requirePkce: false }, 'public_client_pkce', 'requirePkce'],
      [{ grantTypes: ['refresh_token', 'client_credentials'] }, 'refresh_without_code', 'grantTypes'],
      [{ backchannelLogoutUri: 'http://apps.internal/logout' }, 'invalid_url', 'backchannelLogoutUri'],
      [{ startUrl: '{instance}/start' }, 'instance_key_required', 'instanceKey'],
      [
        { tokenLifetimes: { refreshTokenSeconds: 86400, refreshTokenMaxSeconds: 3600 } },
        'refresh_lifetimes_inverted',
        'tokenLifetimes.refreshTokenMaxSeconds',
      ],
      [{ allowedOrganizations: ['no-such-org'] }, 'organization_not_found', 'allowedOrganizations[0]'],
      [
        { tokenLifetimes: { accessTokenSeconds: 10 } },
        'invalid_request',
        'tokenLifetimes.accessTokenSeconds',
      ],
      [{ scopes: ['openid', 'admin'] }, 'invalid_request', 'scopes[1]'],
      [{ clientSecret: 'mine' }, 'invalid_request', 'body'],
    ];
    for (const [change, code, field] of cases) {
      const response = await t.api('POST', '/api/v1/applications', { body: { ...base, ...change } });
      expect(response.status, JSON.stringify(change)).toBe(400);
      expect(response.headers['content-type']).toContain('application/problem+json');
      expect(response.body, JSON.stringify(change)).toMatchObject({ code, field });
      expect(response.body.fix, JSON.stringify(change)).toBeTruthy();
    }
    const read = await t.api('POST', '/api/v1/applications', { body: base, key: t.readKey });
    expect(read.status).toBe(403);
  });

  it('accepts what each kind of application needs', async () => {
    const native = await t.api('POST', '/api/v1/applications', {
      body: {
        name: 'Mobile',
        type: 'public',
        redirectUris: ['com.example.coach:/oauth', 'http://127.0.0.1/cb'],
      },
    });
    expect(native.status, native.text).toBe(201);
    expect(native.body).toMatchObject({
      secret: null,
      tokenEndpointAuthMethod: 'none',
      requirePkce: true,
      clientSecret: null,
    });
    const machine = await t.api('POST', '/api/v1/applications', {
      body: { name: 'Nightly export', type: 'confidential', grantTypes: ['client_credentials'] },
    });
    expect(machine.status, machine.text).toBe(201);
    const local = await t.api('POST', '/api/v1/applications', {
      body: {
        ...base,
        redirectUris: ['http://localhost:3000/callback'],
        tokenEndpointAuthMethod: 'client_secret_post',
      },
    });
    expect(local.status, local.text).toBe(201);
    const rotate = await t.api('POST', `/api/v1/applications/${native.body.id}/secret`, { body: {} });
    expect(rotate.status).toBe(409);
    expect(rotate.body.code).toBe('public_client_has_no_secret');
  });

  it('lists by owner, updates, and deletes unless a route depends on the application', async () => {
    const org = await createOrganization(t);
    const owned = await t.api('POST', '/api/v1/applications', { body: { ...base, organization: org.id } });
    const shared = await t.api('POST', '/api/v1/applications', {
      body: { ...base, name: 'Shared LMS', startUrl: 'https://lms.example.com/start' },
    });
    const mine = await t.api('GET', `/api/v1/applications?organization=${org.slug}`);
    expect(mine.body.data.map((app: { id: string }) => app.id)).toEqual([owned.body.id]);
    const sharedOnly = await t.api('GET', '/api/v1/applications?shared=true&limit=200');
    expect(sharedOnly.body.data.some((app: { id: string }) => app.id === shared.body.id)).toBe(true);
    expect(
      sharedOnly.body.data.every((app: { organizationId: string | null }) => app.organizationId === null),
    ).toBe(true);
    const all = await t.api('GET', '/api/v1/applications?shared=false&limit=200');
    expect(all.body.data.some((app: { id: string }) => app.id === owned.body.id)).toBe(true);
    const page = await t.api('GET', '/api/v1/applications?limit=1');
    expect(page.body.data).toHaveLength(1);
    expect(page.body.nextCursor).toBeTruthy();

    const updated = await t.api('PATCH', `/api/v1/applications/${shared.body.id}`, {
      body: {
        name: 'Academy',
        tokenLifetimes: { accessTokenSeconds: 600 },
        allowedOrganizations: [org.slug],
      },
    });
    expect(updated.status, updated.text).toBe(200);
    expect(updated.body).toMatchObject({
      name: 'Academy',
      tokenLifetimes: { accessTokenSeconds: 600, idTokenSeconds: 3600 },
      allowedOrganizations: [org.id],
      version: 2,
    });
    const elsewhere = await createOrganization(t);
    const sharedOwned = await t.api('PATCH', `/api/v1/applications/${owned.body.id}`, {
      body: { allowedOrganizations: [org.id, elsewhere.id] },
    });
    expect(sharedOwned.status).toBe(400);
    expect(sharedOwned.body).toMatchObject({
      code: 'owned_application_shared',
      field: 'allowedOrganizations',
    });

    const routed = await t.api('POST', `/api/v1/organizations/${org.id}/routes`, {
      body: { name: 'Academy', target: { type: 'application', application: shared.body.id } },
    });
    expect(routed.status, routed.text).toBe(201);
    const refused = await t.api('DELETE', `/api/v1/applications/${shared.body.id}`);
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: 'application_in_use' });
    expect(refused.body.detail).toContain(routed.body.id);
    await t.api('DELETE', `/api/v1/organizations/${org.id}/routes/${routed.body.id}`);
    expect((await t.api('DELETE', `/api/v1/applications/${shared.body.id}`)).status).toBe(204);
    expect((await t.api('GET', `/api/v1/applications/${shared.body.id}`)).status).toBe(404);
    const events = await t.api('GET', `/api/v1/events?types=application.*&subject=${shared.body.id}`);
    expect(events.body.data.map((event: { type: string }) => event.type)).toEqual([
      'application.created',
      'application.updated',
      'application.deleted',
    ]);
  });
});
