/**
 * A leaver in the HR system loses access: an HR sync's joiners get their Thinkific enrollments
 * through the provisioning rules, and a termination in Personio deprovisions the user, which
 * expires their enrollment in the destination. No call between the modules: only directory events.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { fakeEmployees } from '../connectors/hris-contract.ts';
import { type PersonioFake, startPersonioFake } from '../fakes/personio/index.ts';
import {
  createRule,
  eventually,
  type ProvisioningSetup,
  setupProvisioning,
} from '../provisioning/helpers.ts';
import { createPullDirectory, syncNow } from './support.ts';

let setup: ProvisioningSetup | undefined;
let personio: PersonioFake | undefined;
afterEach(async () => {
  await personio?.close();
  await setup?.close();
  setup = undefined;
  personio = undefined;
});

describe('HR sync drives provisioning', { timeout: 240_000 }, () => {
  it('HR joiners are enrolled; an HR termination expires the leaver’s enrollment', async () => {
    setup = await setupProvisioning();
    personio = await startPersonioFake();
    const { t, fake, organizationId, destinationId } = setup;
    await createRule(setup, {
      name: 'Everyone from HR',
      condition: { source: 'hris' },
      effects: [{ destinationId, enrollments: [{ id: 101 }] }],
    });
    const directory = await createPullDirectory(t, organizationId, {
      name: 'Personio',
      provider: 'personio',
      config: personio.config as Record<string, unknown>,
      credentials: personio.credentials as Record<string, unknown>,
      joiners: 'create',
    });
    personio.seed(fakeEmployees(3));
    const first = await syncNow(t, organizationId, directory.id);
    expect(first.stats).toMatchObject({ usersCreated: 3 });
    await eventually(
      () => [1, 2, 3].every((n) => fake.enrollmentsOf(`person${n}@acme.test`).length === 1),
      'HR joiners enrolled in Thinkific',
    );

    personio.tick(15 * 60_000);
    personio.update('2', { status: 'inactive', terminationDate: '2024-01-31' });
    const second = await syncNow(t, organizationId, directory.id);
    expect(second.stats).toMatchObject({ usersDeactivated: 1 });
    await eventually(() => {
      const [enrollment] = fake.enrollmentsOf('person2@acme.test');
      return enrollment?.expiry_date != null && Date.parse(enrollment.expiry_date) <= Date.now();
    }, "the leaver's enrollment expired");
    for (const stayer of ['person1@acme.test', 'person3@acme.test']) {
      expect(fake.enrollmentsOf(stayer)[0]?.expiry_date ?? null).toBeNull();
    }
  });
});
