/**
 * A receiver that is down for a while, then back: after WEBHOOKS_HOLD_AFTER_FAILURES failures in a
 * row its new deliveries are held (no attempt each) while one probe retries at growing intervals;
 * when the probe gets through, everything held goes, and nothing is lost or sent twice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestHub } from '../support/hub.ts';
import {
  createOrganization,
  createUser,
  deliveriesOf,
  eventually,
  type Receiver,
  startReceiver,
  startWebhookHub,
  subscribe,
} from './support.ts';

let t: TestHub;
let receiver: Receiver;

beforeAll(async () => {
  t = await startWebhookHub({
    WEBHOOKS_HOLD_AFTER_FAILURES: '2',
    WEBHOOKS_DISABLE_AFTER_FAILURES: '0',
    WEBHOOKS_MAX_ATTEMPTS: '3',
    WEBHOOKS_RETRY_BASE_MS: '300',
    WEBHOOKS_RETRY_MAX_MS: '600',
  });
  receiver = await startReceiver();
});
afterAll(async () => {
  await t?.close();
  await receiver?.close();
});

describe('a receiver down for a while', () => {
  it('holds deliveries behind one probe, then delivers everything once it is back', async () => {
    const org = await createOrganization(t, 'Down Then Up');
    const hook = await subscribe(t, receiver, {
      eventTypes: ['user.created'],
      organization: org,
      path: '/down',
    });
    let down = true;
    receiver.respond = (delivery, res) => {
      if (delivery.path === '/down' && down) {
        res.writeHead(503).end('maintenance');
        return;
      }
      res.writeHead(delivery.payload ? 204 : 400).end();
    };
    try {
      const users = [await createUser(t, org, 'u0@down.example.com')];
      await eventually(
        async () => (await t.api('GET', `/api/v1/webhooks/${hook.id}`)).body.consecutiveFailures >= 2,
        'two failures in a row',
      );
      for (let i = 1; i <= 6; i++) users.push(await createUser(t, org, `u${i}@down.example.com`));
      const whileDown = await eventually(async () => {
        const rows = await deliveriesOf(t, hook.id);
        return rows.length === 7 && rows;
      }, 'seven deliveries');
      const held = whileDown.filter((row) => row.status === 'held');
      expect(held.length).toBeGreaterThanOrEqual(5);
      expect(held.every((row) => row.attempts === 0 && row.nextAttemptAt === null)).toBe(true);

      // The probe keeps trying (more requests arrive) while the held ones stay untouched.
      const requestsBefore = receiver.received.filter((delivery) => delivery.path === '/down').length;
      await eventually(
        () => receiver.received.filter((delivery) => delivery.path === '/down').length >= requestsBefore + 2,
        'two more probes',
      );
      const stillDown = await deliveriesOf(t, hook.id);
      const attemptedWhileDown = stillDown.filter((row) => row.attempts > 0);
      // Only probes were attempted: far fewer than 7 deliveries x 3 attempts.
      expect(attemptedWhileDown.length).toBeLessThanOrEqual(3);
      expect(stillDown.filter((row) => row.status === 'held').length).toBeGreaterThanOrEqual(4);
      expect(stillDown.some((row) => row.status === 'succeeded')).toBe(false);

      down = false;
      const after = await eventually(async () => {
        const rows = await deliveriesOf(t, hook.id);
        return rows.every((row) => row.status === 'succeeded' || row.status === 'dead') && rows;
      }, 'every delivery to settle once the receiver is back');
      // A probe whose attempts ran out while it was down is dead (replayable); all others arrived.
      const dead = after.filter((row) => row.status === 'dead');
      expect(after.filter((row) => row.status === 'succeeded').length).toBe(7 - dead.length);
      expect(dead.length).toBeLessThanOrEqual(2);
      for (const row of after.filter((r) => r.status === 'succeeded')) {
        const got = receiver
          .verified()
          .filter((delivery) => delivery.headers['webhook-id'] === row.messageId);
        expect(got.length).toBeGreaterThanOrEqual(1);
        expect(got[0]?.payload?.data.eventId).toBe(row.eventId);
      }
      const webhook = (await t.api('GET', `/api/v1/webhooks/${hook.id}`)).body;
      expect(webhook).toMatchObject({ enabled: true, consecutiveFailures: 0 });

      // Dead probes come back with a replay from the first event.
      if (dead.length) {
        const from = String(
          BigInt(after.map((row) => row.eventCursor).sort((a, b) => Number(a) - Number(b))[0]) - 1n,
        );
        const replay = await t.api('POST', `/api/v1/webhooks/${hook.id}/replay`, { body: { from } });
        expect(replay.status, replay.text).toBe(202);
        await eventually(async () => {
          const rows = await deliveriesOf(t, hook.id);
          return rows.every((row) => row.status === 'succeeded');
        }, 'the replay to deliver the dead ones');
      }
      const ok = receiver.verified().filter((delivery) => delivery.path === '/down');
      expect(new Set(ok.map((delivery) => delivery.payload?.data.subject.id))).toEqual(new Set(users));
    } finally {
      receiver.respond = undefined;
    }
  });
});
