/**
 * End to end: a SCIM push puts a person in a group; a rule on that group gives them a Thinkific
 * account, course and bundle enrollments and an LMS group. Leaving the group expires them.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  createRule,
  eventually,
  PATCH_OP,
  type ProvisioningSetup,
  scimGroup,
  scimUser,
  setupProvisioning,
} from './helpers.ts';

let setup: ProvisioningSetup | undefined;
afterEach(async () => {
  await setup?.close();
  setup = undefined;
});

describe('SCIM push to Thinkific', { timeout: 240_000 }, () => {
  it('a user pushed into a group gets an account, enrollments and an LMS group; removal expires them', async () => {
    setup = await setupProvisioning();
    const { fake, directory, destinationId, t, organizationId } = setup;
    await createRule(setup, {
      name: 'Sales onboarding',
      condition: { group: 'Sales' },
      effects: [
        {
          destinationId,
          enrollments: [{ id: 101 }, { kind: 'bundle', id: '201', expiry: { daysAfterStart: 365 } }],
          groups: ['Sales Team'],
        },
      ],
    });
    const ada = await scimUser(directory, 'ada@example.com');
    const sales = await scimGroup(directory, 'Sales', [ada.id]);

    await eventually(
      () =>
        fake.enrollmentsOf('ada@example.com').length === 3 &&
        fake.groupNamesOf('ada@example.com').length === 1,
      'account, enrollments and group in Thinkific',
    );
    const user = fake.users.find((candidate) => candidate.email === 'ada@example.com');
    expect(user?.external_id).toBe(ada.id);
    expect(fake.users).toHaveLength(1);
    expect(fake.groupNamesOf('ada@example.com')).toEqual(['Sales Team']);
    const enrollments = fake.enrollmentsOf('ada@example.com');
    expect(enrollments.map((e) => e.course_id).sort()).toEqual([101, 102, 103]);
    // Activated (not a free preview); the bundle expires a year after the start date.
    expect(enrollments.every((e) => e.activated_at !== null)).toBe(true);
    expect(enrollments.filter((e) => e.bundle_id === 201).every((e) => e.expiry_date !== null)).toBe(true);
    expect(enrollments.find((e) => e.course_id === 101)?.expiry_date).toBeNull();

    // The state and every attempt are visible through the admin API.
    const state = await eventually(async () => {
      const response = await t.api(
        'GET',
        `/api/v1/organizations/${organizationId}/users/${ada.id}/provisioning`,
      );
      return response.body.states?.[0]?.status === 'synced' ? response.body : undefined;
    }, 'synced state');
    expect(state.states[0]).toMatchObject({ destinationId, remoteId: String(user?.id) });
    const operations = state.attempts.map((attempt: { operation: string }) => attempt.operation);
    expect(operations).toEqual(
      expect.arrayContaining(['find-user', 'create-user', 'enroll', 'add-to-group']),
    );
    for (const attempt of state.attempts) {
      expect(JSON.stringify(attempt.request)).not.toContain(fake.apiKey);
      expect(attempt.outcome).toBe('succeeded');
    }
    const events = await t.api(
      'GET',
      `/api/v1/events?types=provisioning.succeeded&organization=${organizationId}`,
    );
    expect(events.status).toBe(200);
    const succeeded = events.body.data.find(
      (event: { subject: { id: string } }) => event.subject.id === ada.id,
    );
    expect(succeeded.data).toMatchObject({ destinationId });
    expect(succeeded.data.operations).toEqual(expect.arrayContaining(['create-user ada@example.com']));

    // Leaving the group takes the enrollments away (expired now), without deleting the account.
    const removed = await directory.scim('PATCH', `/Groups/${sales.id}`, {
      body: { schemas: [PATCH_OP], Operations: [{ op: 'remove', path: `members[value eq "${ada.id}"]` }] },
    });
    expect(removed.status).toBeLessThan(300);
    await eventually(
      () =>
        fake
          .enrollmentsOf('ada@example.com')
          .every((e) => e.expiry_date && Date.parse(e.expiry_date) <= Date.now()),
      'enrollments expired',
    );
    expect(fake.users).toHaveLength(1);
    expect(fake.enrollmentsOf('ada@example.com')).toHaveLength(3);

    // Rejoining restores them (reactivation), still without duplicates.
    const rejoined = await directory.scim('PATCH', `/Groups/${sales.id}`, {
      body: { schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'members', value: [{ value: ada.id }] }] },
    });
    expect(rejoined.status).toBeLessThan(300);
    await eventually(
      () => fake.enrollmentsOf('ada@example.com').find((e) => e.course_id === 101)?.expiry_date === null,
      'enrollment restored',
    );
    expect(fake.enrollmentsOf('ada@example.com')).toHaveLength(3);
  });
});
