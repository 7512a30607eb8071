/**
 * Webhook housekeeping (`maintain`, run every minute by the worker): an attempt whose worker died
 * (its claim lapsed) is resumed, held deliveries of a receiver that is no longer down are released,
 * and deliveries past retention are deleted with their attempts.
 */
import { sql } from 'drizzle-orm';
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
  t = await startWebhookHub();
  receiver = await startReceiver();
});
afterAll(async () => {
  await t?.close();
  await receiver?.close();
});

async function succeeded(webhookId: string, count: number) {
  return eventually(async () => {
    const rows = await deliveriesOf(t, webhookId);
    return rows.length === count && rows.every((row) => row.status === 'succeeded') && rows;
  }, `${count} deliveries to succeed`);
}

describe('webhook maintenance', () => {
  it('resumes a lapsed attempt, releases held deliveries, and deletes old ones', async () => {
    const org = await createOrganization(t, 'Maintained');
    const hook = await subscribe(t, receiver, {
      eventTypes: ['user.created'],
      organization: org,
      path: '/m',
    });
    await createUser(t, org, 'one@maintained.example.com');
    const [first] = await succeeded(hook.id, 1);
    const requests = () => receiver.verified().filter((delivery) => delivery.path === '/m').length;
    expect(requests()).toBe(1);

    // A worker died mid-attempt: the delivery is left `sending` with a claim that has lapsed.
    await t.hub.database.db.execute(
      sql`update webhook_deliveries set status = 'sending', claimed_until = now() - interval '1 second'
          where id = ${first.id}`,
    );
    expect((await t.hub.webhooks.deliveries.maintain()).resumed).toBe(1);
    await succeeded(hook.id, 1);
    // Sent again, with the same webhook-id.
    const resent = receiver.verified().filter((delivery) => delivery.path === '/m');
    expect(resent.map((delivery) => delivery.headers['webhook-id'])).toEqual([
      first.messageId,
      first.messageId,
    ]);

    // Held deliveries whose receiver is no longer down go out.
    await createUser(t, org, 'two@maintained.example.com');
    await succeeded(hook.id, 2);
    await t.hub.database.db.execute(
      sql`update webhook_deliveries set status = 'held', next_attempt_at = null where subscription_id = ${hook.id}`,
    );
    await t.hub.webhooks.deliveries.maintain();
    await succeeded(hook.id, 2);
    expect(requests()).toBe(5); // both held deliveries went again

    // Retention: WEBHOOKS_RETENTION_DAYS (30) later, the deliveries and their attempts are gone.
    const later = new Date(Date.now() + 31 * 86_400_000);
    expect((await t.hub.webhooks.deliveries.maintain(later)).deleted).toBeGreaterThanOrEqual(2);
    expect(await deliveriesOf(t, hook.id)).toEqual([]);
    const attempts = await t.hub.database.db.execute(
      sql`select count(*)::int as n from webhook_attempts where subscription_id = ${hook.id}`,
    );
    expect((attempts as unknown as { rows: Array<{ n: number }> }).rows[0]?.n).toBe(0);
  });
});
