/**
 * The shared contract every `DestinationConnector` passes, run by each connector's test against its
 * fake (Hono's `common.case.test.ts` pattern). The test runner's functions are injected, so this
 * file has no test dependency and the HR connectors can write their own contract the same way.
 *
 *   runDestinationContract({ describe, it, expect }, { name: 'thinkific', setup: async () => ({ connector, close }) });
 */
import type { AccountProfile, DestinationConnector, EnrollmentSpec } from './destination.ts';

interface Runner {
  describe: (name: string, body: () => void) => void;
  it: (name: string, body: () => Promise<void>) => void;
  // biome-ignore lint/suspicious/noExplicitAny: vitest's expect is generic over any value.
  expect: (value: unknown) => any;
}

export interface ContractSubject {
  connector: DestinationConnector;
  /** A product that exists in the destination, for enrollment checks (connectors with enrollments). */
  course?: string;
  close(): Promise<void>;
}

export function runDestinationContract(
  runner: Runner,
  options: { name: string; setup: () => Promise<ContractSubject> },
): void {
  const { describe, it, expect } = runner;
  const profile = (suffix: string): AccountProfile => ({
    userId: `usr_contract${suffix}`,
    email: `contract-${suffix}@example.com`,
    givenName: 'Ada',
    familyName: 'Lovelace',
    displayName: 'Ada Lovelace',
  });

  describe(`${options.name} destination contract`, () => {
    it('C1 — test connection succeeds with valid credentials', async () => {
      const subject = await options.setup();
      try {
        await subject.connector.testConnection();
      } finally {
        await subject.close();
      }
    });

    it('C2 — an account created is then found by email, and not created twice', async () => {
      const subject = await options.setup();
      try {
        const person = profile('c2');
        expect(await subject.connector.findAccount(person)).toBeNull();
        const created = await subject.connector.createAccount(person);
        expect(created.remoteId).toBeTruthy();
        const found = await subject.connector.findAccount(person);
        if (found) expect(found.remoteId).toBe(created.remoteId);
      } finally {
        await subject.close();
      }
    });

    it('C3 — enrollments are created, listed and expired (when supported)', async () => {
      const subject = await options.setup();
      try {
        if (!subject.connector.capabilities.enrollments || !subject.course) return;
        const account = await subject.connector.createAccount(profile('c3'));
        const spec: EnrollmentSpec = {
          kind: 'course',
          productId: subject.course,
          activatedAt: new Date().toISOString(),
          expiresAt: null,
        };
        await subject.connector.enroll(account, spec);
        if (!subject.connector.capabilities.readBack) return;
        const [listed] = await subject.connector.listEnrollments(account, [spec]);
        expect(listed?.productId).toBe(subject.course);
        expect(listed?.expired).toBe(false);
        await subject.connector.updateEnrollment(account, listed as NonNullable<typeof listed>, {
          activatedAt: spec.activatedAt,
          expiresAt: new Date(Date.now() - 1000).toISOString(),
        });
        const [after] = await subject.connector.listEnrollments(account, [spec]);
        expect(after?.expired).toBe(true);
      } finally {
        await subject.close();
      }
    });

    it('C4 — groups are added by name, created when missing (when supported)', async () => {
      const subject = await options.setup();
      try {
        if (!subject.connector.capabilities.groups) return;
        const account = await subject.connector.createAccount(profile('c4'));
        await subject.connector.addToGroups(account, ['Contract Group']);
        await subject.connector.addToGroups(account, ['Contract Group']);
        if (subject.connector.capabilities.listGroups) {
          expect(await subject.connector.listGroups(account, ['Contract Group'])).toEqual(['contract group']);
        }
      } finally {
        await subject.close();
      }
    });
  });
}
