/**
 * The orchestrator through the other two connectors: an outbound SCIM 2.0 app (users, groups,
 * deactivation) and signed webhook commands to one of our apps (verified by a Standard Webhooks
 * receiver), including what happens when the person is suspended.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FakeScimApp } from '../fakes/scim-app/server.ts';
import { FakeWebhookReceiver } from '../fakes/webhook-receiver/server.ts';
import {
  createRule,
  directoryUsers,
  eventually,
  type ProvisioningSetup,
  setupProvisioning,
  TEST_ACTOR,
} from './helpers.ts';

let setup: ProvisioningSetup | undefined;
const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  await setup?.close();
  setup = undefined;
  for (const stop of stops.splice(0)) await stop();
});

describe('SCIM and webhook destinations', { timeout: 240_000 }, () => {
  it('pushes users and groups to a SCIM app, and deactivates and removes them on suspension', async () => {
    setup = await setupProvisioning();
    const s = setup;
    const app = await new FakeScimApp().start();
    stops.push(() => app.stop());
    const destination = await s.t.api('POST', `/api/v1/organizations/${s.organizationId}/destinations`, {
      body: {
        kind: 'scim',
        name: 'Any SCIM app',
        settings: { baseUrl: app.url },
        credentials: { token: app.token },
        policy: { onRemoval: ['remove_from_groups', 'suspend'] },
      },
    });
    expect(destination.status).toBe(201);
    await createRule(s, {
      name: 'Sales to the app',
      condition: { group: 'Sales' },
      effects: [{ destinationId: destination.body.id, groups: ['Sales'] }],
    });
    const [person] = await directoryUsers(s, 1, { groupName: 'Sales' });
    await eventually(() => app.groups[0]?.members.length === 1, 'user and group in the SCIM app');
    expect(app.users).toHaveLength(1);
    expect(app.users[0]).toMatchObject({ userName: person?.email, externalId: person?.id, active: true });
    expect(app.groups[0]).toMatchObject({ displayName: 'Sales', members: [{ value: app.users[0]?.id }] });

    await s.t.hub.directory.setUserStatus(person?.id as string, 'suspended', TEST_ACTOR);
    await eventually(() => app.users[0]?.active === false, 'deactivated in the SCIM app');
    expect(app.groups[0]?.members).toEqual([]);

    await s.t.hub.directory.setUserStatus(person?.id as string, 'active', TEST_ACTOR);
    await eventually(
      () => app.users[0]?.active === true && app.groups[0]?.members.length === 1,
      'reactivated',
    );
    expect(app.users).toHaveLength(1);
  });

  it('sends signed, verifiable commands to a webhook destination', async () => {
    setup = await setupProvisioning();
    const s = setup;
    const receiver = await new FakeWebhookReceiver().start();
    stops.push(() => receiver.stop());
    const destination = await s.t.api('POST', `/api/v1/organizations/${s.organizationId}/destinations`, {
      body: {
        kind: 'webhook',
        name: 'Coaching app',
        settings: { url: receiver.url },
        credentials: { secret: receiver.secret },
        policy: { onRemoval: ['expire_enrollments', 'suspend'] },
      },
    });
    expect(destination.status).toBe(201);
    await createRule(s, {
      name: 'Coaching for everyone',
      condition: { always: true },
      effects: [
        { destinationId: destination.body.id, enrollments: [{ id: 'coaching-basics' }], groups: ['Coached'] },
      ],
    });
    const [person] = await directoryUsers(s, 1);
    await eventually(
      () => receiver.commands.some((command) => command.type === 'group.add'),
      'commands delivered',
    );
    expect(receiver.rejected).toEqual([]);
    expect(receiver.commands.map((command) => command.type)).toEqual([
      'account.ensure',
      'enrollment.ensure',
      'group.add',
    ]);
    const account = receiver.accounts.get(`app-${person?.id}`);
    expect(account?.enrollments.has('course:coaching-basics')).toBe(true);
    // The receiver answers before the attempt's transaction commits: wait for the stored state.
    const remoteId = await eventually(async () => {
      const state = await s.t.api(
        'GET',
        `/api/v1/organizations/${s.organizationId}/users/${person?.id}/provisioning`,
      );
      return state.body.states[0]?.remoteId as string | null;
    }, 'the account id stored');
    expect(remoteId).toBe(`app-${person?.id}`);

    await s.t.hub.directory.setUserStatus(person?.id as string, 'suspended', TEST_ACTOR);
    await eventually(() => account?.active === false, 'account disabled');
    expect(receiver.commands.map((command) => command.type)).toEqual([
      'account.ensure',
      'enrollment.ensure',
      'group.add',
      'enrollment.update',
      'account.disable',
    ]);
    expect(receiver.rejected).toEqual([]);
  });
});
