/**
 * The orchestrator under change and failure: a rule change backfills, reconcile repairs drift (or
 * only reports it), a destination that is down catches up when it is back, and a 429 storm makes
 * the shared limiter back off until the run completes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  createRule,
  directoryUsers,
  eventually,
  type ProvisioningSetup,
  setupProvisioning,
  TEST_ACTOR,
} from './helpers.ts';

let setup: ProvisioningSetup | undefined;
afterEach(async () => {
  await setup?.close();
  setup = undefined;
});

function statesOf(s: ProvisioningSetup, status?: string) {
  return s.t.api(
    'GET',
    `/api/v1/organizations/${s.organizationId}/destinations/${s.destinationId}/states?limit=200${status ? `&status=${status}` : ''}`,
  );
}

describe('provisioning orchestration', { timeout: 240_000 }, () => {
  it('a new rule is applied to everyone it matches (backfill); changing it applies the change', async () => {
    setup = await setupProvisioning();
    const s = setup;
    const people = await directoryUsers(s, 3, { groupName: 'Engineering' });
    await directoryUsers(s, 2, { prefix: 'other' });
    const rule = await createRule(s, {
      name: 'Engineers',
      condition: { group: 'engineering' },
      effects: [{ destinationId: s.destinationId, enrollments: [{ id: 101 }] }],
    });
    await eventually(
      () => people.every((person) => s.fake.enrollmentsOf(person.email).length === 1),
      'backfilled enrollments',
    );
    expect(s.fake.users.map((user) => user.email).sort()).toEqual(
      people.map((person) => person.email).sort(),
    );

    // Dry run of a change, then the change: a second course for the same people.
    const dryRun = await s.t.api(
      'POST',
      `/api/v1/organizations/${s.organizationId}/provisioning/rules/dry-run`,
      {
        body: {
          rule: {
            name: 'Engineers v2',
            condition: { group: 'Engineering' },
            effects: [{ destinationId: s.destinationId, enrollments: [{ id: 101 }, { id: 102 }] }],
          },
        },
      },
    );
    expect(dryRun.status).toBe(200);
    expect(dryRun.body.usersEvaluated).toBe(5);
    expect(dryRun.body.affected).toHaveLength(3);
    expect(dryRun.body.affected[0].changes).toEqual(['enroll course:102']);

    const updated = await s.t.api(
      'PATCH',
      `/api/v1/organizations/${s.organizationId}/provisioning/rules/${rule.id}`,
      {
        body: { effects: [{ destinationId: s.destinationId, enrollments: [{ id: 101 }, { id: 102 }] }] },
      },
    );
    expect(updated.status).toBe(200);
    await eventually(
      () => people.every((person) => s.fake.enrollmentsOf(person.email).length === 2),
      'second course after the rule change',
    );

    // Disabling the rule takes the courses away (expired), per the default policy.
    const disabled = await s.t.api(
      'POST',
      `/api/v1/organizations/${s.organizationId}/provisioning/rules/${rule.id}/disable`,
    );
    expect(disabled.status).toBe(200);
    await eventually(
      () =>
        people.every((person) =>
          s.fake
            .enrollmentsOf(person.email)
            .every((e) => e.expiry_date && Date.parse(e.expiry_date) <= Date.now()),
        ),
      'enrollments expired after disabling',
    );
    expect(s.fake.enrollments).toHaveLength(6);
  });

  it('reconcile restores an enrollment deleted by hand, or only reports it per policy', async () => {
    setup = await setupProvisioning();
    const s = setup;
    const [person] = await directoryUsers(s, 1, { groupName: 'Sales' });
    await createRule(s, {
      name: 'Sales',
      condition: { group: 'Sales' },
      effects: [{ destinationId: s.destinationId, enrollments: [{ id: 101 }], groups: ['Sales'] }],
    });
    const email = person?.email as string;
    await eventually(() => s.fake.enrollmentsOf(email).length === 1, 'enrolled');
    await eventually(async () => (await statesOf(s, 'synced')).body.data.length === 1, 'synced');

    // Someone deletes the enrollment in Thinkific by hand.
    s.fake.deleteEnrollment(s.fake.enrollmentsOf(email)[0]?.id as number);
    expect(s.fake.enrollmentsOf(email)).toHaveLength(0);
    const reconcile = await s.t.api(
      'POST',
      `/api/v1/organizations/${s.organizationId}/destinations/${s.destinationId}/reconcile`,
    );
    expect(reconcile.status).toBe(202);
    await eventually(() => s.fake.enrollmentsOf(email).length === 1, 'restored by reconcile');
    const restored = await eventually(async () => {
      const state = (await statesOf(s)).body.data[0];
      return state?.drift ? state : undefined;
    }, 'drift recorded');
    expect(restored.drift).toEqual([
      { kind: 'enrollment_missing', target: 'course:101', action: 'restored' },
    ]);

    // Policy "report": the next deletion is reported, not repaired.
    const patched = await s.t.api(
      'PATCH',
      `/api/v1/organizations/${s.organizationId}/destinations/${s.destinationId}`,
      {
        body: { policy: { drift: 'report' } },
      },
    );
    expect(patched.status).toBe(200);
    await eventually(async () => (await statesOf(s, 'synced')).body.data.length === 1, 'synced again');
    s.fake.deleteEnrollment(s.fake.enrollmentsOf(email)[0]?.id as number);
    await s.t.api(
      'POST',
      `/api/v1/organizations/${s.organizationId}/destinations/${s.destinationId}/reconcile`,
    );
    const reported = await eventually(
      async () => (await statesOf(s, 'drift')).body.data[0],
      'drift reported',
    );
    expect(reported.drift).toEqual([
      { kind: 'enrollment_missing', target: 'course:101', action: 'reported' },
    ]);
    expect(s.fake.enrollmentsOf(email)).toHaveLength(0);
  });

  it('a destination that is down catches up when it is back; nothing is duplicated', async () => {
    setup = await setupProvisioning({ destination: { maxAttempts: 10 } });
    const s = setup;
    await createRule(s, {
      name: 'Everyone',
      condition: { always: true },
      effects: [{ destinationId: s.destinationId, enrollments: [{ id: 101 }] }],
    });
    s.fake.down = true;
    const people = await directoryUsers(s, 4);
    await eventually(
      async () => (await statesOf(s, 'retrying')).body.data.length === 4,
      'jobs failing and retrying',
    );
    const failedAttempts = await s.t.api(
      'GET',
      `/api/v1/organizations/${s.organizationId}/destinations/${s.destinationId}/attempts?limit=200`,
    );
    expect(
      failedAttempts.body.data.some(
        (attempt: { outcome: string; httpStatus: number }) =>
          attempt.outcome === 'failed' && attempt.httpStatus === 503,
      ),
    ).toBe(true);
    s.fake.down = false;
    await eventually(
      () => people.every((person) => s.fake.enrollmentsOf(person.email).length === 1),
      'caught up after the outage',
    );
    await eventually(async () => (await statesOf(s, 'synced')).body.data.length === 4, 'all synced');
    expect(s.fake.users).toHaveLength(4);
    expect(s.fake.enrollments).toHaveLength(4);
  });

  it('a failure that will not heal is recorded as failed at once and retried by API once fixed', async () => {
    setup = await setupProvisioning();
    const s = setup;
    await createRule(s, {
      name: 'A course deleted later',
      condition: { always: true },
      effects: [{ destinationId: s.destinationId, enrollments: [{ id: 103 }] }],
    });
    // Deleted in Thinkific after the rule was saved (saving checks the catalog).
    const deleted = s.fake.courses.splice(2, 1);
    const [person] = await directoryUsers(s, 1);
    const failed = await eventually(async () => (await statesOf(s, 'failed')).body.data[0], 'failed');
    expect(failed.lastError).toContain('Course could not be found.');
    const events = await s.t.api(
      'GET',
      `/api/v1/events?types=provisioning.failed&organization=${s.organizationId}`,
    );
    expect(events.body.data[0]).toMatchObject({ subject: { id: person?.id }, data: { retryable: false } });

    s.fake.courses.push(...deleted);
    const retry = await s.t.api(
      'POST',
      `/api/v1/organizations/${s.organizationId}/destinations/${s.destinationId}/retry`,
    );
    expect(retry.body).toEqual({ queued: 1 });
    await eventually(
      () => s.fake.enrollmentsOf(person?.email as string).length === 1,
      'enrolled after retry',
    );
  });

  it('a 429 storm: the shared limiter backs off on RateLimit-Reset and the run completes', async () => {
    // The site allows 4 requests per second; the destination believes the default 120/minute.
    setup = await setupProvisioning({
      fake: { rateLimit: { requests: 4, perSeconds: 1 }, resetStyle: 'seconds' },
    });
    const s = setup;
    await createRule(s, {
      name: 'Everyone',
      condition: { always: true },
      effects: [{ destinationId: s.destinationId, enrollments: [{ id: 101 }, { id: 102 }], groups: ['All'] }],
    });
    const people = await directoryUsers(s, 8);
    await eventually(
      () => people.every((person) => s.fake.enrollmentsOf(person.email).length === 2),
      'everyone enrolled despite 429s',
      120_000,
    );
    await eventually(async () => (await statesOf(s, 'synced')).body.data.length === 8, 'all synced', 120_000);
    expect(s.fake.rejected).toBeGreaterThan(0);
    // Every accepted request stayed within the site's budget: the fake refuses anything beyond it,
    // and each refusal paused every worker, so the refusals stay a small share of the traffic.
    const accepted = s.fake.log.filter((entry) => entry.status !== 429).length;
    expect(s.fake.rejected).toBeLessThan(accepted / 2);
    expect(s.fake.users).toHaveLength(8);
    expect(s.fake.enrollments).toHaveLength(16);
  });

  it('a grace period holds removals; coming back in time cancels them', async () => {
    setup = await setupProvisioning({ destination: { policy: { graceSeconds: 600 } } });
    const s = setup;
    const [person] = await directoryUsers(s, 1, { groupName: 'Interns' });
    await createRule(s, {
      name: 'Interns',
      condition: { group: 'Interns' },
      effects: [{ destinationId: s.destinationId, enrollments: [{ id: 101 }] }],
    });
    const email = person?.email as string;
    await eventually(() => s.fake.enrollmentsOf(email).length === 1, 'enrolled');
    const group = await s.t.hub.directory.findGroupByName(s.organizationId, 'Interns');
    const userId = person?.id as string;
    await s.t.hub.directory.removeMembers(group?.id as string, [userId], TEST_ACTOR);
    const waiting = await eventually(
      async () => (await statesOf(s, 'grace')).body.data[0],
      'removal in grace',
    );
    expect(Date.parse(waiting.removalAfter)).toBeGreaterThan(Date.now());
    expect(s.fake.enrollmentsOf(email)[0]?.expiry_date).toBeNull();

    await s.t.hub.directory.addMembers(group?.id as string, [userId], TEST_ACTOR);
    const back = await eventually(async () => (await statesOf(s, 'synced')).body.data[0], 'back in time');
    expect(back.removalAfter).toBeNull();
    expect(s.fake.enrollmentsOf(email)[0]?.expiry_date).toBeNull();

    // A short grace period runs out: the removal happens.
    await s.t.api('PATCH', `/api/v1/organizations/${s.organizationId}/destinations/${s.destinationId}`, {
      body: { policy: { graceSeconds: 1 } },
    });
    await eventually(
      async () => (await statesOf(s, 'synced')).body.data.length === 1,
      'synced after the change',
    );
    await s.t.hub.directory.removeMembers(group?.id as string, [userId], TEST_ACTOR);
    await eventually(
      () => s.fake.enrollmentsOf(email)[0]?.expiry_date !== null,
      'expired after the grace period',
    );
  });
});
