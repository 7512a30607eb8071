/**
 * The organization overview: logins per day, active users, failure reasons, directory freshness,
 * certificate expiry, dead letters, provisioning success rate and latency. Events are written with
 * the event log and moved in time in the database; one real login goes through the test IdP.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeyAndCertificate } from '../../src/modules/sso/certificates.ts';
import { createOrganization, startHub } from '../sso/helpers.ts';
import { Browser } from '../support/browser.ts';
import type { TestHub } from '../support/hub.ts';

const DAY = 86_400_000;
let t: TestHub;
let org: { id: string; slug: string; domain: string };
let other: { id: string };

function day(offset: number): string {
  const now = new Date();
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()) - offset * DAY)
    .toISOString()
    .slice(0, 10);
}

/** Appends an event, then moves it `daysAgo` days back (noon UTC that day, or now for today). */
async function event(
  organizationId: string,
  type: string,
  daysAgo: number,
  fields: { subjectId?: string; data?: Record<string, unknown> } = {},
) {
  await t.hub.database.transaction(async (tx) => {
    await t.hub.events.append(tx, {
      organizationId,
      type,
      actor: { type: 'system', name: 'overview-test' },
      subjectType: fields.subjectId ? 'user' : 'connection',
      subjectId: fields.subjectId ?? 'conn_x',
      data: fields.data ?? {},
    });
    if (daysAgo > 0) {
      await tx.execute(
        sql`update events set occurred_at = ${`${day(daysAgo)}T12:00:00Z`}::timestamptz
            where id = (select max(id) from events)`,
      );
    }
  });
}

async function overview(orgKey: string, query = '') {
  const response = await t.api('GET', `/api/v1/organizations/${orgKey}/overview${query}`, { key: t.readKey });
  expect(response.status, response.text).toBe(200);
  return response.body;
}

beforeAll(async () => {
  t = await startHub();
  org = await createOrganization(t);
  other = await createOrganization(t);
  // Logins: two people two days ago (one twice), one of them again today.
  await event(org.id, 'login.succeeded', 2, { subjectId: 'usr_a' });
  await event(org.id, 'login.succeeded', 2, { subjectId: 'usr_a' });
  await event(org.id, 'login.succeeded', 2, { subjectId: 'usr_b' });
  await event(org.id, 'login.failed', 1, { data: { code: 'mapping_no_email' } });
  await event(org.id, 'login.failed', 1, { data: { code: 'mapping_no_email' } });
  await event(org.id, 'login.failed', 0, { data: { code: 'signature_invalid' } });
  // Outside a 30-day window, and another organization's: not counted.
  await event(org.id, 'login.succeeded', 40, { subjectId: 'usr_old' });
  await event(other.id, 'login.succeeded', 0, { subjectId: 'usr_other' });
  // Provisioning.
  for (const latencyMs of [100, 200, 300, 400]) {
    await event(org.id, 'provisioning.succeeded', 3, { data: { latencyMs } });
  }
  await event(org.id, 'provisioning.failed', 3, { data: { code: 'rate_limited' } });
});

afterAll(async () => {
  await t?.close();
});

describe('organization overview', () => {
  it('counts logins per day, active users and failure reasons over the window', async () => {
    const body = await overview(org.slug);
    expect(body.organization).toMatchObject({ id: org.id, slug: org.slug });
    expect(body.window.days).toBe(30);
    expect(body.logins.days).toHaveLength(30);
    expect(body.logins.days.at(-1).date).toBe(day(0));
    expect(body.logins.days[0].date).toBe(day(29));
    const byDate = Object.fromEntries(body.logins.days.map((entry: { date: string }) => [entry.date, entry]));
    expect(byDate[day(2)]).toEqual({ date: day(2), succeeded: 3, failed: 0, activeUsers: 2 });
    expect(byDate[day(1)]).toEqual({ date: day(1), succeeded: 0, failed: 2, activeUsers: 0 });
    expect(byDate[day(0)]).toMatchObject({ failed: 1 });
    expect(body.logins.succeeded).toBe(3);
    expect(body.logins.failed).toBe(3);
    expect(body.logins.successRate).toBe(0.5);
    expect(body.activeUsers).toBe(2);
    expect(body.logins.failedByReason).toEqual([
      { code: 'mapping_no_email', count: 2 },
      { code: 'signature_invalid', count: 1 },
    ]);
    const loginFailures = body.attention.filter((item: { code: string }) => item.code === 'login_failed');
    expect(loginFailures).toHaveLength(2);
    // Each names the login traces that show why: their filter, which the traces API answers.
    const noEmail = loginFailures.find(
      (item: { loginTraces?: { errorCode: string } }) => item.loginTraces?.errorCode === 'mapping_no_email',
    );
    expect(noEmail.loginTraces).toEqual({
      status: 'failed',
      errorCode: 'mapping_no_email',
      since: body.window.since,
    });
    const traces = await t.api(
      'GET',
      `/api/v1/organizations/${org.id}/login-traces?${new URLSearchParams(noEmail.loginTraces)}`,
      { key: t.readKey },
    );
    expect(traces.status, traces.text).toBe(200);
  });

  it('narrows to a shorter window', async () => {
    const body = await overview(org.id, '?days=1');
    expect(body.logins.days).toEqual([{ date: day(0), succeeded: 0, failed: 1, activeUsers: 0 }]);
    expect(body.activeUsers).toBe(0);
    expect(body.provisioning.succeeded).toBe(0);
    expect(body.provisioning.successRate).toBeNull();
  });

  it('computes provisioning success rate and latency from provisioning events', async () => {
    const body = await overview(org.id);
    expect(body.provisioning.succeeded).toBe(4);
    expect(body.provisioning.failed).toBe(1);
    expect(body.provisioning.successRate).toBe(0.8);
    expect(body.provisioning.latencyMs).toEqual({ samples: 4, p50: 250, p95: 385, max: 400 });
    expect(body.provisioning.failedByReason).toEqual([{ code: 'rate_limited', count: 1 }]);
  });

  it('counts a real login through the test IdP', async () => {
    const created = await t.api('POST', `/api/v1/organizations/${org.id}/connections`, {
      body: { name: 'Test IdP', protocol: 'saml', testIdp: true },
    });
    expect(created.status, created.text).toBe(201);
    const browser = new Browser();
    const form = await browser.get(`${t.url}/login?connection=${created.body.id}`);
    const done = await browser.submit(form, { email: `ada@${org.domain}` });
    expect(done.html).toContain('Signed in');
    const body = await overview(org.id);
    expect(body.logins.days.at(-1)).toMatchObject({ succeeded: 1, activeUsers: 1 });
    expect(body.activeUsers).toBe(3);
  });

  it('shows directory freshness', async () => {
    const fresh = await t.api('POST', `/api/v1/organizations/${org.id}/directories`, {
      body: { name: 'Entra', kind: 'scim', provider: 'entra' },
    });
    expect(fresh.status, fresh.text).toBe(201);
    const scim = await t.api('GET', `/scim/v2/${fresh.body.directory.id}/Users`, {
      key: fresh.body.token,
    });
    expect(scim.status).toBe(200);
    const stale = await t.api('POST', `/api/v1/organizations/${org.id}/directories`, {
      body: { name: 'Okta', kind: 'scim', provider: 'okta' },
    });
    const never = await t.api('POST', `/api/v1/organizations/${org.id}/directories`, {
      body: { name: 'Spare', kind: 'scim', provider: 'generic' },
    });
    await t.hub.database.db.execute(
      sql`update directories set last_activity_at = now() - interval '3 days' where id = ${stale.body.directory.id}`,
    );
    await t.hub.database.db.execute(
      sql`update directories set created_at = now() - interval '2 days' where id = ${never.body.directory.id}`,
    );
    // last_activity_at is written off the request path: wait for it rather than for a time.
    let body = await overview(org.id);
    for (
      let i = 0;
      i < 50 &&
      !body.directories.find((d: { id: string }) => d.id === fresh.body.directory.id)?.lastActivityAt;
      i++
    ) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      body = await overview(org.id);
    }
    const byId = Object.fromEntries(body.directories.map((entry: { id: string }) => [entry.id, entry]));
    expect(byId[fresh.body.directory.id].freshness).toBe('fresh');
    expect(byId[stale.body.directory.id].freshness).toBe('stale');
    expect(byId[never.body.directory.id].freshness).toBe('never');
    const codes = body.attention.map((item: { code: string; resource: { id: string } | null }) => [
      item.code,
      item.resource?.id,
    ]);
    expect(codes).toContainEqual(['directory_stale', stale.body.directory.id]);
    // The resource comes with its name, to show instead of the id.
    expect(body.attention).toContainEqual(
      expect.objectContaining({
        code: 'directory_stale',
        resource: { type: 'directory', id: stale.body.directory.id, name: 'Okta' },
      }),
    );
    expect(codes).toContainEqual(['directory_never_used', never.body.directory.id]);
  });

  it('warns about an IdP certificate expiring soon', async () => {
    const { certificatePem } = await createKeyAndCertificate({ commonName: 'Expiring IdP', validDays: 10 });
    const created = await t.api('POST', `/api/v1/organizations/${org.id}/connections`, {
      body: {
        name: 'Expiring',
        protocol: 'saml',
        saml: {
          idpEntityId: 'https://idp.example.test/expiring',
          idpSsoUrl: 'http://127.0.0.1:9/sso',
          idpCertificates: [certificatePem],
        },
      },
    });
    expect(created.status, created.text).toBe(201);
    const body = await overview(org.id);
    expect(body.certificates).toEqual([
      expect.objectContaining({ connectionId: created.body.id, status: 'expiring_soon' }),
    ]);
    expect(body.attention).toContainEqual(
      expect.objectContaining({
        code: 'certificate_expiring',
        severity: 'warning',
        resource: { type: 'connection', id: created.body.id, name: 'Expiring' },
      }),
    );
  });

  it('counts dead-lettered jobs of the organization, errors first', async () => {
    await t.hub.jobs.boss.createQueue('overview-test.dead');
    await t.hub.jobs.boss.send('overview-test.dead', { organizationId: org.id });
    await t.hub.jobs.boss.send('overview-test.dead', { organizationId: other.id });
    const body = await overview(org.id);
    expect(body.deadLetters).toEqual({ total: 1, queues: [{ queue: 'overview-test', count: 1 }] });
    expect(body.attention[0]).toMatchObject({ severity: 'error', code: 'dead_letters' });
    const otherBody = await overview(other.id);
    expect(otherBody.deadLetters.total).toBe(1);
    expect(otherBody.logins.succeeded).toBe(1);
  });

  it('answers bad input with problem+json', async () => {
    const tooLong = await t.api('GET', `/api/v1/organizations/${org.id}/overview?days=365`);
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.field).toBe('days');
    const unknown = await t.api('GET', '/api/v1/organizations/nope/overview');
    expect(unknown.status).toBe(404);
    const anonymous = await t.api('GET', `/api/v1/organizations/${org.id}/overview`, { key: null });
    expect(anonymous.status).toBe(401);
  });
});
