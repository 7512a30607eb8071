/**
 * The webhook admin API: create (secret shown once, sealed at rest), list, get, update, delete,
 * enable/disable, audit events, and bad input answered with problem+json naming the field.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestHub, type TestHub } from '../support/hub.ts';
import { createOrganization } from './support.ts';

let t: TestHub;
/** A hub with the default policy (WEBHOOKS_ADDRESSES=public). */
let strict: TestHub;

beforeAll(async () => {
  t = await createTestHub({ env: { WEBHOOKS_ADDRESSES: 'loopback' } });
  strict = await createTestHub();
});
afterAll(async () => {
  await t?.close();
  await strict?.close();
});

async function expectProblem(
  hub: TestHub,
  body: unknown,
  field: string,
  code: string,
  method = 'POST',
  url = '/api/v1/webhooks',
) {
  const res = await hub.api(method, url, { body });
  expect(res.status, res.text).toBe(400);
  expect(res.headers['content-type']).toContain('application/problem+json');
  expect(res.body).toMatchObject({ status: 400, code, field });
  expect(typeof res.body.fix).toBe('string');
  return res.body;
}

describe('webhook API', () => {
  it('creates a subscription, shows the secret once and keeps it sealed', async () => {
    const org = await createOrganization(t, 'Api Hooks');
    const res = await t.api('POST', '/api/v1/webhooks', {
      body: {
        url: 'https://hooks.example.com/switchboard',
        eventTypes: ['user.*', 'group.created', 'user.*'],
        organization: org,
        description: 'HR sync',
      },
    });
    expect(res.status, res.text).toBe(201);
    expect(res.headers['cache-control']).toBe('no-store');
    const created = res.body;
    expect(created.signingSecret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(created.signingSecret.slice(6), 'base64')).toHaveLength(32);
    expect(created).toMatchObject({
      organizationId: org,
      url: 'https://hooks.example.com/switchboard',
      eventTypes: ['group.created', 'user.*'],
      enabled: true,
      disabledReason: null,
      consecutiveFailures: 0,
      secret: { prefix: created.signingSecret.slice(0, 12), rotatedAt: null, previousValidUntil: null },
    });

    const got = await t.api('GET', `/api/v1/webhooks/${created.id}`, { key: t.readKey });
    expect(got.status).toBe(200);
    expect(got.body.signingSecret).toBeUndefined();
    expect(JSON.stringify(got.body)).not.toContain(created.signingSecret.slice(6));

    const rows = await t.hub.database.db.execute(
      sql`select secret_sealed from webhook_subscriptions where id = ${created.id}`,
    );
    const sealed =
      (rows as unknown as { rows: Array<{ secret_sealed: string }> }).rows[0]?.secret_sealed ?? '';
    expect(sealed.startsWith('sb1.')).toBe(true);
    expect(sealed).not.toContain(created.signingSecret.slice(6, 20));

    // The creation event is the audit trail, without the secret.
    const events = await t.api('GET', `/api/v1/events?subject=${created.id}`);
    expect(events.body.data.map((event: any) => event.type)).toEqual(['webhook.created']);
    expect(events.body.data[0].organizationId).toBe(org);
    expect(events.body.data[0].actor.type).toBe('api_key');
    expect(JSON.stringify(events.body.data)).not.toContain(created.signingSecret.slice(6));
  });

  it('lists, updates, disables, enables and deletes, with an event each', async () => {
    const org = await createOrganization(t, 'Lifecycle Hooks');
    const scoped = (
      await t.api('POST', '/api/v1/webhooks', {
        body: { url: 'https://a.example.com/h', eventTypes: ['user.created'], organization: org },
      })
    ).body;
    const staff = (
      await t.api('POST', '/api/v1/webhooks', { body: { url: 'https://b.example.com/h', eventTypes: ['*'] } })
    ).body;

    const byOrg = await t.api('GET', `/api/v1/webhooks?organization=${org}`, { key: t.readKey });
    expect(byOrg.body.data.map((hook: any) => hook.id)).toEqual([scoped.id]);
    const staffOnly = await t.api('GET', '/api/v1/webhooks?staff=true');
    expect(staffOnly.body.data.map((hook: any) => hook.id)).toContain(staff.id);
    expect(staffOnly.body.data.map((hook: any) => hook.id)).not.toContain(scoped.id);
    const firstPage = await t.api('GET', '/api/v1/webhooks?limit=1');
    expect(firstPage.body.data).toHaveLength(1);
    expect(firstPage.body.nextCursor).toBe(firstPage.body.data[0].id);

    const updated = await t.api('PATCH', `/api/v1/webhooks/${scoped.id}`, {
      body: { url: 'https://c.example.com/h2', eventTypes: ['group.*'] },
    });
    expect(updated.status, updated.text).toBe(200);
    expect(updated.body).toMatchObject({
      url: 'https://c.example.com/h2',
      eventTypes: ['group.*'],
      version: 2,
    });

    const disabled = await t.api('POST', `/api/v1/webhooks/${scoped.id}/disable`);
    expect(disabled.body).toMatchObject({ enabled: false, disabledReason: 'manual' });
    const replayDisabled = await t.api('POST', `/api/v1/webhooks/${scoped.id}/replay`, {
      body: { from: '0' },
    });
    expect(replayDisabled.status).toBe(409);
    expect(replayDisabled.body.code).toBe('webhook_disabled');
    const enabled = await t.api('POST', `/api/v1/webhooks/${scoped.id}/enable`);
    expect(enabled.body).toMatchObject({ enabled: true, disabledReason: null, disabledAt: null });

    const deleted = await t.api('DELETE', `/api/v1/webhooks/${scoped.id}`);
    expect(deleted.status).toBe(204);
    expect((await t.api('GET', `/api/v1/webhooks/${scoped.id}`)).status).toBe(404);
    expect((await t.api('GET', `/api/v1/webhooks/${scoped.id}/deliveries`)).status).toBe(404);

    const events = await t.api('GET', `/api/v1/events?subject=${scoped.id}`);
    expect(events.body.data.map((event: any) => event.type)).toEqual([
      'webhook.created',
      'webhook.updated',
      'webhook.disabled',
      'webhook.enabled',
      'webhook.deleted',
    ]);
    expect(events.body.data[1].data.changes).toEqual(['url', 'eventTypes']);
  });

  it('is described in the OpenAPI document', async () => {
    const spec = await t.api('GET', '/openapi.json', { key: null });
    expect(spec.status).toBe(200);
    expect(Object.keys(spec.body.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/webhooks',
        '/api/v1/webhooks/{id}',
        '/api/v1/webhooks/{id}/secret',
        '/api/v1/webhooks/{id}/deliveries',
        '/api/v1/webhooks/{id}/deliveries/{deliveryId}',
        '/api/v1/webhooks/{id}/deliveries/{deliveryId}/redeliver',
        '/api/v1/webhooks/{id}/replay',
      ]),
    );
    expect(spec.body.components.schemas.WebhookDelivery.properties.status.enum).toContain('held');
  });

  it('needs an admin key to change anything', async () => {
    const res = await t.api('POST', '/api/v1/webhooks', {
      key: t.readKey,
      body: { url: 'https://a.example.com/h', eventTypes: ['user.created'] },
    });
    expect(res.status).toBe(403);
    expect((await t.api('GET', '/api/v1/webhooks', { key: null })).status).toBe(401);
  });

  it('refuses bad input with problem+json naming the field', async () => {
    const good = { url: 'https://hooks.example.com/h', eventTypes: ['user.created'] };
    const http = await expectProblem(
      strict,
      { ...good, url: 'http://hooks.example.com/h' },
      'url',
      'webhook_url_not_allowed',
    );
    expect(http.detail).toContain('https');
    // Plain http only to this machine, and only when the policy allows it.
    await expectProblem(
      strict,
      { ...good, url: 'http://127.0.0.1:9999/h' },
      'url',
      'webhook_url_not_allowed',
    );
    await expectProblem(strict, { ...good, url: 'https://localhost/h' }, 'url', 'webhook_url_not_allowed');
    expect(
      (await t.api('POST', '/api/v1/webhooks', { body: { ...good, url: 'http://127.0.0.1:9999/h' } })).status,
    ).toBe(201);
    await expectProblem(t, { ...good, url: 'http://hooks.example.com/h' }, 'url', 'webhook_url_not_allowed');
    await expectProblem(t, { ...good, url: 'ftp://hooks.example.com/h' }, 'url', 'webhook_url_not_allowed');
    await expectProblem(t, { ...good, url: 'not a url' }, 'url', 'webhook_url_not_allowed');
    await expectProblem(
      t,
      { ...good, url: 'https://user:pw@hooks.example.com/h' },
      'url',
      'webhook_url_not_allowed',
    );
    // Addresses the hub's neighbours live on.
    await expectProblem(t, { ...good, url: 'https://10.0.0.5/h' }, 'url', 'webhook_url_not_allowed');
    await expectProblem(
      t,
      { ...good, url: 'https://169.254.169.254/latest' },
      'url',
      'webhook_url_not_allowed',
    );
    await expectProblem(
      t,
      { ...good, url: 'https://[::ffff:192.168.1.1]/h' },
      'url',
      'webhook_url_not_allowed',
    );

    const unknown = await expectProblem(
      t,
      { ...good, eventTypes: ['user.created', 'user.creatd'] },
      'eventTypes[1]',
      'webhook_event_type_unknown',
    );
    expect(unknown.detail).toContain('user.creatd');
    await expectProblem(
      t,
      { ...good, eventTypes: ['payroll.*'] },
      'eventTypes[0]',
      'webhook_event_type_unknown',
    );
    await expectProblem(
      t,
      { ...good, eventTypes: ['User.Created'] },
      'eventTypes[0]',
      'webhook_event_type_invalid',
    );
    await expectProblem(t, { ...good, eventTypes: ['user*'] }, 'eventTypes[0]', 'webhook_event_type_invalid');
    await expectProblem(t, { ...good, eventTypes: [] }, 'eventTypes', 'webhook_event_types_empty');
    await expectProblem(
      t,
      { ...good, organization: 'no-such-org' },
      'organization',
      'organization_not_found',
    );
    const missing = await t.api('POST', '/api/v1/webhooks', { body: { url: good.url } });
    expect(missing.status).toBe(400);
    expect(missing.body.field).toBe('eventTypes');

    const hook = (await t.api('POST', '/api/v1/webhooks', { body: good })).body;
    await expectProblem(
      t,
      { eventTypes: ['group.nope'] },
      'eventTypes[0]',
      'webhook_event_type_unknown',
      'PATCH',
      `/api/v1/webhooks/${hook.id}`,
    );
    await expectProblem(
      t,
      { from: 'abc' },
      'from',
      'invalid_cursor',
      'POST',
      `/api/v1/webhooks/${hook.id}/replay`,
    );
    // Nothing was half-written by the refused update.
    expect((await t.api('GET', `/api/v1/webhooks/${hook.id}`)).body.eventTypes).toEqual(['user.created']);
  });
});
