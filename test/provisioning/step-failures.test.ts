/**
 * A sync job's steps: one that fails does not keep the independent ones from running, and the
 * person fails with every failed step listed, each naming its course; LMS groups are found or
 * created once per destination while many jobs need them at once.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  createRule,
  directoryUsers,
  eventually,
  type ProvisioningSetup,
  setupProvisioning,
} from './helpers.ts';

let setup: ProvisioningSetup | undefined;
afterEach(async () => {
  await setup?.close();
  setup = undefined;
});

describe('provisioning steps', { timeout: 240_000 }, () => {
  it('courses that cannot be found fail the person with both listed; the other course and the LMS group are done', async () => {
    setup = await setupProvisioning();
    const s = setup;
    await createRule(s, {
      name: 'Sales onboarding',
      condition: { group: 'Sales' },
      effects: [
        {
          destinationId: s.destinationId,
          enrollments: [{ id: 101 }, { id: 102 }, { id: 103 }],
          groups: ['Sales Team'],
        },
      ],
    });
    // Two courses are deleted in Thinkific after the rule was saved.
    s.fake.courses.splice(1, 2);
    const [person] = await directoryUsers(s, 1, { groupName: 'Sales' });
    const email = person?.email as string;
    const states = () =>
      s.t.api(
        'GET',
        `/api/v1/organizations/${s.organizationId}/destinations/${s.destinationId}/states?status=failed`,
      );
    const failed = await eventually(async () => (await states()).body.data[0], 'the person failed');

    // The independent steps ran: the course that exists, and the LMS group.
    expect(s.fake.enrollmentsOf(email).map((enrollment) => enrollment.course_id)).toEqual([101]);
    expect(s.fake.groupNamesOf(email)).toEqual(['Sales Team']);
    // Every failed step is listed, by course.
    expect(failed.lastError).toBe(
      '2 steps failed: enroll course:102 failed: POST /enrollments answered 422: Course could not be found.; ' +
        'enroll course:103 failed: POST /enrollments answered 422: Course could not be found.',
    );
    const events = await s.t.api(
      'GET',
      `/api/v1/events?types=provisioning.failed&organization=${s.organizationId}`,
    );
    expect(events.body.data).toHaveLength(1);
    expect(events.body.data[0].data).toMatchObject({
      retryable: false,
      failures: [
        { operation: 'enroll', target: 'course:102', httpStatus: 422 },
        { operation: 'enroll', target: 'course:103', httpStatus: 422 },
      ],
    });
    expect(events.body.data[0].data.operations).toEqual(
      expect.arrayContaining([`create-user ${email}`, 'enroll course:101', 'add-to-group Sales Team']),
    );
    // What was done is remembered: a retry once the courses are back does only the rest.
    s.fake.courses.push(
      { id: 102, name: 'Leadership Foundations' },
      { id: 103, name: 'Coaching Conversations' },
    );
    const retry = await s.t.api(
      'POST',
      `/api/v1/organizations/${s.organizationId}/destinations/${s.destinationId}/retry`,
    );
    expect(retry.body).toEqual({ queued: 1 });
    await eventually(() => s.fake.enrollmentsOf(email).length === 3, 'enrolled after the retry');
    expect(s.fake.users).toHaveLength(1);
    expect(
      s.fake.log.filter((entry) => entry.method === 'POST' && entry.path.endsWith('/group_users')),
    ).toHaveLength(1);
  });

  it('many jobs adding people to new LMS groups: each group is created once, no 422 on the way', async () => {
    setup = await setupProvisioning({ destination: { concurrency: 8 } });
    const s = setup;
    const people = await directoryUsers(s, 12, { groupName: 'Cohort' });
    await createRule(s, {
      name: 'Cohort',
      condition: { group: 'Cohort' },
      effects: [{ destinationId: s.destinationId, groups: ['Cohort 2026', 'Mentoring Circle'] }],
    });
    await eventually(
      () => people.every((person) => s.fake.groupNamesOf(person.email).length === 2),
      'everyone in both groups',
    );
    expect(s.fake.groups.map((group) => group.name).sort()).toEqual(['Cohort 2026', 'Mentoring Circle']);
    const posts = s.fake.log.filter((entry) => entry.method === 'POST' && entry.path.endsWith('/groups'));
    expect(posts.map((entry) => entry.status)).toEqual([200, 200]);
    expect(s.fake.log.filter((entry) => entry.status === 422)).toEqual([]);
  });
});
