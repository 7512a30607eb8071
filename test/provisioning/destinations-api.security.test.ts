/**
 * Destinations and rules API: validation as problem+json naming the field, credentials sealed at
 * rest and never returned, test connection against the real API, and tenant isolation.
 */

import { Writable } from 'node:stream';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../../src/platform/db/client.ts';
import { FakeThinkific } from '../fakes/thinkific/server.ts';
import { createTestHub, type TestHub } from '../support/hub.ts';

let t: TestHub;
let fake: FakeThinkific;
let orgA: string;
let orgB: string;
/** The hub's log lines, parsed. */
const logged: Array<Record<string, unknown>> = [];

beforeAll(async () => {
  fake = await new FakeThinkific({ rateLimit: null }).start();
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) logged.push(JSON.parse(line));
      done();
    },
  });
  t = await createTestHub({ logTo: sink });
  orgA = (await t.api('POST', '/api/v1/organizations', { body: { name: 'Tenant A' } })).body.id;
  orgB = (await t.api('POST', '/api/v1/organizations', { body: { name: 'Tenant B' } })).body.id;
});
afterAll(async () => {
  await t.close();
  await fake.stop();
});

const thinkific = () => ({
  kind: 'thinkific',
  name: `Academy ${Math.random().toString(36).slice(2, 8)}`,
  settings: { baseUrl: fake.url, subdomain: fake.subdomain },
  credentials: { apiKey: fake.apiKey },
});

describe('destinations API', { timeout: 240_000 }, () => {
  it('seals credentials at rest and never returns them', async () => {
    const created = await t.api('POST', `/api/v1/organizations/${orgA}/destinations`, { body: thinkific() });
    expect(created.status).toBe(201);
    expect(created.body.credentials).toEqual({ apiKey: '[set]' });
    expect(created.text).not.toContain(fake.apiKey);
    const listed = await t.api('GET', `/api/v1/organizations/${orgA}/destinations`, { key: t.readKey });
    expect(listed.text).not.toContain(fake.apiKey);
    const rows = await queryRows<{ credentials_sealed: string }>(
      t.hub.database.db,
      sql`select credentials_sealed from provisioning_destinations where id = ${created.body.id}`,
    );
    expect(rows[0]?.credentials_sealed).not.toContain(fake.apiKey);
    const events = await t.api('GET', `/api/v1/events?organization=${orgA}&types=destination.*`);
    expect(events.body.data.length).toBeGreaterThan(0);
    expect(events.text).not.toContain(fake.apiKey);
  });

  it('test connection checks the credentials against the API', async () => {
    const good = await t.api('POST', `/api/v1/organizations/${orgA}/destinations`, { body: thinkific() });
    expect(
      (await t.api('POST', `/api/v1/organizations/${orgA}/destinations/${good.body.id}/test`)).body.ok,
    ).toBe(true);
    const bad = await t.api('POST', `/api/v1/organizations/${orgA}/destinations`, {
      body: { ...thinkific(), credentials: { apiKey: 'not-the-right-key' } },
    });
    logged.length = 0;
    const tested = await t.api('POST', `/api/v1/organizations/${orgA}/destinations/${bad.body.id}/test`);
    expect(tested.status).toBe(502);
    expect(tested.headers['content-type']).toContain('application/problem+json');
    expect(tested.body.code).toBe('destination_test_unauthorized');
    expect(tested.body.detail).toContain('Authentication Error');
    expect(tested.text).not.toContain('not-the-right-key');
    // The admin's wrong key is their mistake, not the hub's: a warning, without a stack trace.
    const lines = logged.filter((line) => line.reqId === tested.body.requestId);
    const failure = lines.find((line) => String(line.msg).startsWith('request failed'));
    expect(failure).toMatchObject({ level: 40, code: 'destination_test_unauthorized', status: 502 });
    expect(lines.filter((line) => Number(line.level) >= 50)).toEqual([]);
    expect(JSON.stringify(lines)).not.toMatch(/stack|not-the-right-key/);
  });

  it('bad input is a problem naming the field and the fix', async () => {
    const insecure = await t.api('POST', `/api/v1/organizations/${orgA}/destinations`, {
      body: { kind: 'webhook', name: 'Coaching app', settings: { url: 'http://coaching.example.com/hooks' } },
    });
    expect(insecure.status).toBe(400);
    expect(JSON.stringify(insecure.body)).toContain('settings');
    const unknownKind = await t.api('POST', `/api/v1/organizations/${orgA}/destinations`, {
      body: { kind: 'moodle', name: 'x', settings: {}, credentials: {} },
    });
    expect(unknownKind.status).toBe(400);
    const created = await t.api('POST', `/api/v1/organizations/${orgA}/destinations`, { body: thinkific() });
    const badSettings = await t.api(
      'PATCH',
      `/api/v1/organizations/${orgA}/destinations/${created.body.id}`,
      {
        body: { settings: { subdomain: 'not a subdomain!' } },
      },
    );
    expect(badSettings.status).toBe(400);
    expect(badSettings.body).toMatchObject({
      code: 'invalid_destination_settings',
      field: 'settings.subdomain',
    });
    const duplicate = await t.api('POST', `/api/v1/organizations/${orgA}/destinations`, {
      body: { ...thinkific(), name: created.body.name },
    });
    expect(duplicate.status).toBe(409);
    expect(duplicate.body.field).toBe('name');
    const rule = await t.api('POST', `/api/v1/organizations/${orgA}/provisioning/rules`, {
      body: {
        name: 'r',
        condition: { group: 'x' },
        effects: [{ destinationId: 'dst_nope', enrollments: [{ id: 1 }] }],
      },
    });
    expect(rule.status).toBe(400);
    expect(rule.body).toMatchObject({
      code: 'rule_destination_not_found',
      field: 'effects[0].destinationId',
    });
    const badCondition = await t.api('POST', `/api/v1/organizations/${orgA}/provisioning/rules`, {
      body: {
        name: 'r',
        condition: { attribute: 'department' },
        effects: [{ destinationId: created.body.id }],
      },
    });
    expect(badCondition.status).toBe(400);
  });

  it('a rule enrolling in a course or bundle the destination does not have is refused, naming the enrollment', async () => {
    const created = await t.api('POST', `/api/v1/organizations/${orgA}/destinations`, { body: thinkific() });
    const body = (enrollments: unknown[]) => ({
      name: 'Onboarding',
      condition: { group: 'Sales' },
      effects: [{ destinationId: created.body.id, enrollments }],
    });
    const refused = await t.api('POST', `/api/v1/organizations/${orgA}/provisioning/rules`, {
      body: body([{ id: 101 }, { id: 999999 }, { kind: 'bundle', id: 201 }, { kind: 'bundle', id: 202 }]),
    });
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({
      code: 'rule_product_not_found',
      field: 'effects[0].enrollments[1]',
      missing: [
        { field: 'effects[0].enrollments[1]', kind: 'course', id: '999999' },
        { field: 'effects[0].enrollments[3]', kind: 'bundle', id: '202' },
      ],
    });
    expect(refused.body.detail).toContain('course 999999');
    expect(refused.body.fix).toContain('GET /courses');
    // Nothing was saved.
    expect((await t.api('GET', `/api/v1/organizations/${orgA}/provisioning/rules`)).body.data).toEqual([]);
    // The same on update.
    const saved = await t.api('POST', `/api/v1/organizations/${orgA}/provisioning/rules`, {
      body: body([{ id: 101 }, { kind: 'bundle', id: 201 }]),
    });
    expect(saved.status).toBe(201);
    expect(saved.body.warnings).toBeUndefined();
    const patched = await t.api(
      'PATCH',
      `/api/v1/organizations/${orgA}/provisioning/rules/${saved.body.id}`,
      { body: { effects: [{ destinationId: created.body.id, enrollments: [{ id: 102 }, { id: 'abc' }] }] } },
    );
    expect(patched.status).toBe(400);
    expect(patched.body).toMatchObject({
      code: 'rule_product_not_found',
      field: 'effects[0].enrollments[1]',
    });
    await t.api('DELETE', `/api/v1/organizations/${orgA}/provisioning/rules/${saved.body.id}`);
  });

  it('the dry run warns of courses the destination does not have, and of a catalog it cannot read', async () => {
    const created = await t.api('POST', `/api/v1/organizations/${orgA}/destinations`, { body: thinkific() });
    const dryRun = (destinationId: string, enrollments: unknown[], groups: string[] = []) =>
      t.api('POST', `/api/v1/organizations/${orgA}/provisioning/rules/dry-run`, {
        key: t.readKey,
        body: {
          rule: {
            name: 'Draft',
            condition: { always: true },
            effects: [{ destinationId, enrollments, groups }],
          },
        },
      });
    const missing = await dryRun(created.body.id, [{ id: 101 }, { id: 999999 }], ['Sales Team']);
    expect(missing.status).toBe(200);
    expect(missing.body.warnings).toEqual([
      expect.objectContaining({
        code: 'catalog_product_not_found',
        field: 'rule.effects[0].enrollments[1]',
        detail: expect.stringContaining('enrolling in course:999999 would fail'),
      }),
      expect.objectContaining({
        code: 'catalog_group_created_on_first_sync',
        field: 'rule.effects[0].groups[0]',
      }),
    ]);
    // A destination whose catalog cannot be read (its key was revoked): a warning, not an error.
    const revoked = await t.api('POST', `/api/v1/organizations/${orgA}/destinations`, {
      body: { ...thinkific(), credentials: { apiKey: 'revoked-key-0000' } },
    });
    const unreadable = await dryRun(revoked.body.id, [{ id: 999999 }]);
    expect(unreadable.status).toBe(200);
    expect(unreadable.body.warnings).toEqual([
      expect.objectContaining({
        code: 'catalog_unavailable',
        detail: expect.stringContaining('Authentication Error'),
        fix: expect.stringContaining('Test the destination'),
      }),
    ]);
    // Saving there is not blocked by the outage; the answer says what could not be checked.
    const saved = await t.api('POST', `/api/v1/organizations/${orgA}/provisioning/rules`, {
      body: {
        name: 'Saved blind',
        condition: { always: true },
        effects: [{ destinationId: revoked.body.id, enrollments: [{ id: 101 }] }],
      },
    });
    expect(saved.status).toBe(201);
    expect(saved.body.warnings).toEqual([expect.objectContaining({ code: 'catalog_unavailable' })]);
    await t.api('DELETE', `/api/v1/organizations/${orgA}/provisioning/rules/${saved.body.id}`);
  });

  it('a webhook destination gets a generated Standard Webhooks secret, shown once', async () => {
    const created = await t.api('POST', `/api/v1/organizations/${orgA}/destinations`, {
      body: { kind: 'webhook', name: 'Coaching app', settings: { url: 'http://127.0.0.1:9/hooks' } },
    });
    expect(created.status).toBe(201);
    expect(created.body.generatedSecret).toMatch(/^whsec_/);
    const again = await t.api('GET', `/api/v1/organizations/${orgA}/destinations/${created.body.id}`);
    expect(again.body.generatedSecret).toBeUndefined();
    expect(again.text).not.toContain(created.body.generatedSecret);
  });

  it("tenants never see or touch each other's destinations, rules or provisioning", async () => {
    const created = await t.api('POST', `/api/v1/organizations/${orgA}/destinations`, { body: thinkific() });
    const id = created.body.id;
    for (const [method, path] of [
      ['GET', `/api/v1/organizations/${orgB}/destinations/${id}`],
      ['PATCH', `/api/v1/organizations/${orgB}/destinations/${id}`],
      ['DELETE', `/api/v1/organizations/${orgB}/destinations/${id}`],
      ['POST', `/api/v1/organizations/${orgB}/destinations/${id}/test`],
      ['POST', `/api/v1/organizations/${orgB}/destinations/${id}/reconcile`],
      ['GET', `/api/v1/organizations/${orgB}/destinations/${id}/attempts`],
    ] as const) {
      const response = await t.api(method, path, method === 'PATCH' ? { body: { name: 'stolen' } } : {});
      expect(response.status, `${method} ${path}`).toBe(404);
    }
    const rule = await t.api('POST', `/api/v1/organizations/${orgB}/provisioning/rules`, {
      body: { name: 'r', condition: { always: true }, effects: [{ destinationId: id }] },
    });
    expect(rule.status).toBe(400);
    expect((await t.api('GET', `/api/v1/organizations/${orgB}/destinations`)).body.data).toEqual([]);
  });

  it('a read key cannot change destinations or rules', async () => {
    const created = await t.api('POST', `/api/v1/organizations/${orgA}/destinations`, {
      body: thinkific(),
      key: t.readKey,
    });
    expect(created.status).toBe(403);
  });
});
