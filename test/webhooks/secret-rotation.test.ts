/**
 * Signing secret rotation: during the overlap a delivery carries a signature with the new and with
 * the previous secret, so a receiver still on the old one and a receiver already on the new one both
 * verify it; without overlap the old secret stops working at once.
 */
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestHub } from '../support/hub.ts';
import {
  createOrganization,
  createUser,
  eventually,
  type ReceivedDelivery,
  type Receiver,
  startReceiver,
  startWebhookHub,
  subscribe,
} from './support.ts';

let t: TestHub;
let receiver: Receiver;

beforeAll(async () => {
  t = await startWebhookHub();
  receiver = await startReceiver();
});
afterAll(async () => {
  await t?.close();
  await receiver?.close();
});

function verifies(secret: string, delivery: ReceivedDelivery): boolean {
  try {
    new Webhook(secret).verify(delivery.body, delivery.headers as Record<string, string>);
    return true;
  } catch {
    return false;
  }
}

describe('signing secret rotation', () => {
  it('signs with both secrets during the overlap, then with the new one only', async () => {
    const org = await createOrganization(t, 'Rotating');
    const hook = await subscribe(t, receiver, {
      eventTypes: ['user.created'],
      organization: org,
      path: '/rotate',
    });
    const original = hook.signingSecret;
    const next = async (email: string, count: number) => {
      await createUser(t, org, email);
      return eventually(() => {
        const mine = receiver.received.filter((delivery) => delivery.path === '/rotate');
        return mine.length >= count && (mine[count - 1] as ReceivedDelivery);
      }, `delivery ${count}`);
    };

    const before = await next('r1@rotating.example.com', 1);
    expect(String(before.headers['webhook-signature']).split(' ')).toHaveLength(1);
    expect(verifies(original, before)).toBe(true);

    const rotated = await t.api('POST', `/api/v1/webhooks/${hook.id}/secret`, {
      body: { keepPreviousForSeconds: 3600 },
    });
    expect(rotated.status, rotated.text).toBe(200);
    const second = rotated.body.signingSecret as string;
    expect(second).not.toBe(original);
    expect(rotated.body.secret.prefix).toBe(second.slice(0, 12));
    expect(rotated.body.secret.previousValidUntil).not.toBeNull();

    const during = await next('r2@rotating.example.com', 2);
    const signatures = String(during.headers['webhook-signature']).split(' ');
    expect(signatures).toHaveLength(2);
    expect(signatures.every((signature) => signature.startsWith('v1,'))).toBe(true);
    expect(verifies(original, during)).toBe(true);
    expect(verifies(second, during)).toBe(true);

    // Rotating again without overlap: only the newest secret signs.
    const third = (
      await t.api('POST', `/api/v1/webhooks/${hook.id}/secret`, { body: { keepPreviousForSeconds: 0 } })
    ).body.signingSecret as string;
    receiver.secrets.push(third);
    const after = await next('r3@rotating.example.com', 3);
    expect(String(after.headers['webhook-signature']).split(' ')).toHaveLength(1);
    expect(verifies(third, after)).toBe(true);
    expect(verifies(second, after)).toBe(false);
    expect(verifies(original, after)).toBe(false);

    // A tampered body fails verification with every secret.
    const tampered = { ...after, body: after.body.replace('r3@', 'rX@') };
    expect(verifies(third, tampered)).toBe(false);

    const events = await t.api('GET', `/api/v1/events?subject=${hook.id}&types=webhook.secret_rotated`);
    expect(events.body.data).toHaveLength(2);
    expect(JSON.stringify(events.body.data)).not.toContain(third.slice(6));
  });
});
