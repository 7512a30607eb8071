/**
 * Event webhooks end to end: a receiver verifying Standard Webhooks signatures gets the events it
 * subscribed to and only those, of its organization only; retries after a failure; replay.
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
  t = await startWebhookHub();
  receiver = await startReceiver();
});
afterAll(async () => {
  await t?.close();
  await receiver?.close();
});

describe('event webhooks', () => {
  it('delivers subscribed event types only, signed, with a stable webhook-id', async () => {
    const org = await createOrganization(t, 'Hooked');
    const hook = await subscribe(t, receiver, { eventTypes: ['user.*'], organization: org, path: '/types' });
    const userId = await createUser(t, org, 'ada@hooked.example.com');
    // Not subscribed: a group event, between two user events.
    const group = await t.api('POST', `/api/v1/organizations/${org}/groups`, { body: { name: 'Ops' } });
    expect(group.status).toBe(201);
    await t.api('POST', `/api/v1/users/${userId}/suspend`);

    const arrived = await eventually(() => {
      const mine = receiver.verified().filter((delivery) => delivery.path === '/types');
      return mine.length >= 2 && mine;
    }, 'two user deliveries');
    // Several deliveries are in flight at once, so arrival order may differ: log order is data.cursor.
    const cursorOf = (delivery: (typeof arrived)[number]) =>
      BigInt((delivery.payload as { data?: { cursor?: string } } | undefined)?.data?.cursor ?? '0');
    const got = [...arrived].sort((a, b) => (cursorOf(a) < cursorOf(b) ? -1 : 1));
    expect(receiver.received.filter((d) => d.path === '/types' && d.error)).toEqual([]);
    expect(got.map((delivery) => delivery.payload?.type)).toEqual(['user.created', 'user.suspended']);
    const first = got[0]?.payload as { type: string; timestamp: string; data: Record<string, any> };
    expect(first.data.subject).toEqual({ type: 'user', id: userId });
    expect(first.data.organizationId).toBe(org);
    expect(first.data.change.user.email).toBe('ada@hooked.example.com');
    expect(Number.isNaN(Date.parse(first.timestamp))).toBe(false);
    expect(first.data.actor.ip).toBeUndefined();
    expect(got[0]?.headers['content-type']).toBe('application/json');
    expect(got[0]?.headers['webhook-id']).toMatch(new RegExp(`^msg_\\d+_${hook.id}$`));

    const deliveries = await eventually(async () => {
      const rows = await deliveriesOf(t, hook.id);
      return rows.length === 2 && rows.every((row) => row.status === 'succeeded') && rows;
    }, 'deliveries recorded as succeeded');
    expect(deliveries.map((row) => row.eventType).sort()).toEqual(['user.created', 'user.suspended']);
    const detail = await t.api('GET', `/api/v1/webhooks/${hook.id}/deliveries/${deliveries[0].id}`, {
      key: t.readKey,
    });
    expect(detail.status).toBe(200);
    expect(detail.body.attemptLog).toHaveLength(1);
    expect(detail.body.attemptLog[0]).toMatchObject({
      attempt: 1,
      succeeded: true,
      statusCode: 204,
      error: null,
    });
    const metrics = await t.api('GET', '/metrics', { key: null });
    expect(metrics.text).toMatch(
      /switchboard_webhook_attempt_duration_seconds_count\{[^}]*outcome="success"[^}]*\} [1-9]/,
    );
    expect(detail.body.messageId).toBe(
      got.find((delivery) => delivery.payload?.type === deliveries[0].eventType)?.headers['webhook-id'],
    );
  });

  it('keeps organizations apart; a staff subscription receives every organization', async () => {
    const acme = await createOrganization(t, 'Acme Isolation');
    const globex = await createOrganization(t, 'Globex Isolation');
    const acmeHook = await subscribe(t, receiver, {
      eventTypes: ['user.created'],
      organization: acme,
      path: '/acme',
    });
    const staffHook = await subscribe(t, receiver, { eventTypes: ['user.created'], path: '/staff' });
    const acmeUser = await createUser(t, acme, 'a@acme-iso.example.com');
    const globexUser = await createUser(t, globex, 'g@globex-iso.example.com');

    const staff = await eventually(() => {
      const mine = receiver.verified().filter((delivery) => delivery.path === '/staff');
      return mine.length >= 2 && mine;
    }, 'staff deliveries');
    expect(staff.map((delivery) => delivery.payload?.data.subject.id).sort()).toEqual(
      [acmeUser, globexUser].sort(),
    );
    // The staff subscription has seen Globex's user, so Acme's had every chance to.
    await eventually(
      async () => (await deliveriesOf(t, staffHook.id, '&status=succeeded')).length === 2,
      'staff done',
    );
    const acmeGot = receiver.verified().filter((delivery) => delivery.path === '/acme');
    expect(acmeGot.map((delivery) => delivery.payload?.data.subject.id)).toEqual([acmeUser]);
    expect((await deliveriesOf(t, acmeHook.id)).map((row) => row.organizationId)).toEqual([acme]);
  });

  it('retries after a 500 with backoff, then succeeds; every attempt is recorded', async () => {
    const org = await createOrganization(t, 'Flaky Receiver');
    const hook = await subscribe(t, receiver, {
      eventTypes: ['user.created'],
      organization: org,
      path: '/flaky',
    });
    let failures = 0;
    receiver.respond = (delivery, res) => {
      if (delivery.path === '/flaky' && failures < 2) {
        failures++;
        res.writeHead(500, { 'content-type': 'text/plain' }).end(`boom ${'x'.repeat(5000)}`);
        return;
      }
      res.writeHead(delivery.payload ? 200 : 400).end('ok');
    };
    try {
      await createUser(t, org, 'f@flaky.example.com');
      const [delivery] = await eventually(async () => {
        const rows = await deliveriesOf(t, hook.id);
        return rows[0]?.status === 'succeeded' && rows;
      }, 'the delivery to succeed after retries');
      expect(delivery.attempts).toBe(3);
      const detail = (await t.api('GET', `/api/v1/webhooks/${hook.id}/deliveries/${delivery.id}`)).body;
      expect(
        detail.attemptLog.map((attempt: any) => [attempt.attempt, attempt.statusCode, attempt.succeeded]),
      ).toEqual([
        [1, 500, false],
        [2, 500, false],
        [3, 200, true],
      ]);
      expect(detail.attemptLog[0].error).toBe('HTTP 500');
      expect(detail.attemptLog[0].responseSnippet.length).toBeLessThanOrEqual(1025);
      expect(detail.attemptLog[0].responseSnippet.startsWith('boom xxx')).toBe(true);
      // Every attempt carried the same webhook-id; each was signed afresh and verified.
      const attempts = receiver.received.filter((received) => received.path === '/flaky');
      expect(attempts).toHaveLength(3);
      expect(new Set(attempts.map((received) => received.headers['webhook-id'])).size).toBe(1);
      expect(attempts.every((received) => received.payload)).toBe(true);
      const webhook = (await t.api('GET', `/api/v1/webhooks/${hook.id}`)).body;
      expect(webhook.consecutiveFailures).toBe(0);
      expect(webhook.lastSuccessAt).not.toBeNull();
    } finally {
      receiver.respond = undefined;
    }
  });

  it('replays from an event cursor: same webhook-id, older events included', async () => {
    const org = await createOrganization(t, 'Replayed');
    const cursor = (await t.api('GET', `/api/v1/events?organization=${org}&limit=1`)).body.data[0]
      .cursor as string;
    // One user before the subscription exists (not delivered live), one after.
    const early = await createUser(t, org, 'early@replayed.example.com');
    const hook = await subscribe(t, receiver, {
      eventTypes: ['user.created'],
      organization: org,
      path: '/replay',
    });
    const late = await createUser(t, org, 'late@replayed.example.com');
    const live = await eventually(() => {
      const mine = receiver.verified().filter((delivery) => delivery.path === '/replay');
      return mine.length >= 1 && mine;
    }, 'the live delivery');
    expect(live.map((delivery) => delivery.payload?.data.subject.id)).toEqual([late]);
    // Recorded, not still `sending` (a replay leaves an attempt in flight alone).
    await eventually(async () => {
      const rows = await deliveriesOf(t, hook.id);
      return rows.length === 1 && rows[0].status === 'succeeded';
    }, 'the live delivery to be recorded');

    const replay = await t.api('POST', `/api/v1/webhooks/${hook.id}/replay`, { body: { from: cursor } });
    expect(replay.status, replay.text).toBe(202);
    expect(replay.body).toMatchObject({ queued: 2, more: false });
    const all = await eventually(() => {
      const mine = receiver.verified().filter((delivery) => delivery.path === '/replay');
      return mine.length >= 3 && mine;
    }, 'the replayed deliveries');
    const ids = all.map((delivery) => delivery.payload?.data.subject.id);
    expect(ids.slice(1).sort()).toEqual([early, late].sort());
    const lateIds = all
      .filter((d) => d.payload?.data.subject.id === late)
      .map((d) => d.headers['webhook-id']);
    expect(lateIds).toHaveLength(2);
    expect(lateIds[0]).toBe(lateIds[1]);
    const rows = await eventually(async () => {
      const list = await deliveriesOf(t, hook.id);
      return list.length === 2 && list.every((row) => row.status === 'succeeded') && list;
    }, 'replayed deliveries succeeded');
    expect(rows.every((row) => row.trigger === 'replay')).toBe(true);

    // Redeliver one: another attempt with the same id.
    const one = rows.find((row) => row.eventType === 'user.created' && row.attempts === 1);
    const redeliver = await t.api('POST', `/api/v1/webhooks/${hook.id}/deliveries/${one.id}/redeliver`);
    expect(redeliver.status, redeliver.text).toBe(202);
    await eventually(
      () =>
        receiver.verified().filter((delivery) => delivery.headers['webhook-id'] === one.messageId).length >=
        2,
      'the redelivery',
    );
    const events = (await t.api('GET', `/api/v1/events?subject=${hook.id}`)).body.data.map(
      (e: any) => e.type,
    );
    expect(events).toEqual(['webhook.created', 'webhook.replayed', 'webhook.redelivered']);
  });
});
