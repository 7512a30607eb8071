/**
 * Thinkific webhooks attached to the Admin API fake: the Webhooks API v2 (registration rules,
 * 422 shapes, HTTPS targets), and deliveries a receiver must handle: signed with the API key
 * (X-Thinkific-Hmac-Sha256 over the raw body), duplicated, out of order, and forged.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../fake-clock.ts';
import { FakeThinkific } from './server.ts';
import { attachThinkificWebhooks, type ThinkificWebhooks, type WebhookEvent } from './webhooks.ts';

interface Received {
  topic: string;
  subdomain: string;
  verified: boolean;
  event: WebhookEvent;
  raw: string;
}

/** A receiver as the hub will be: verifies the signature over the raw bytes, 401 when it fails. */
async function startReceiver(secret: string): Promise<{ url: string; received: Received[]; server: Server }> {
  const received: Received[] = [];
  const server = createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const expected = createHmac('sha256', secret).update(raw).digest('hex');
    const given = String(request.headers['x-thinkific-hmac-sha256'] ?? '');
    const verified =
      given.length === expected.length && timingSafeEqual(Buffer.from(given), Buffer.from(expected));
    received.push({
      topic: String(request.headers['x-thinkific-topic']),
      subdomain: String(request.headers['x-thinkific-subdomain']),
      verified,
      event: JSON.parse(raw) as WebhookEvent,
      raw,
    });
    response.writeHead(verified ? 200 : 401).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/thinkific`,
    received,
    server,
  };
}

describe('Thinkific webhooks fake', () => {
  const clock = new FakeClock({ frozenAt: Date.UTC(2026, 11, 10, 9, 0, 0) });
  let thinkific: FakeThinkific;
  let hooks: ThinkificWebhooks;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let enrollmentId: number;

  const api = (method: string, path: string, body?: unknown, auth = true) =>
    fetch(`${hooks.webhooksUrl}${path}`, {
      method,
      headers: {
        'content-type': 'application/json',
        ...(auth ? { 'x-auth-api-key': thinkific.apiKey, 'x-auth-subdomain': thinkific.subdomain } : {}),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  beforeAll(async () => {
    thinkific = await new FakeThinkific({ rateLimit: null }).start();
    hooks = await attachThinkificWebhooks(thinkific, { clock, allowHttpTargets: true });
    receiver = await startReceiver(thinkific.apiKey);
    // The Admin API answers through the same front.
    const headers = {
      'content-type': 'application/json',
      'x-auth-api-key': thinkific.apiKey,
      'x-auth-subdomain': thinkific.subdomain,
    };
    const user = await fetch(`${hooks.url}/users`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ first_name: 'Ada', last_name: 'Lovelace', email: 'ada@acme.test' }),
    });
    expect(user.status).toBe(201);
    const userId = ((await user.json()) as { id: number }).id;
    const enrollment = await fetch(`${hooks.url}/enrollments`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ course_id: 101, user_id: userId, activated_at: '2026-12-01T09:00:00Z' }),
    });
    enrollmentId = ((await enrollment.json()) as { id: number }).id;
  });
  afterAll(async () => {
    await hooks.close();
    await thinkific.stop();
    receiver.server.closeAllConnections();
    await new Promise<void>((resolve) => receiver.server.close(() => resolve()));
  });

  it('registers webhooks (201), refusing unknown topics, non-HTTPS targets and bad credentials', async () => {
    expect(
      (await api('POST', '/webhooks', { topic: 'enrollment.completed', target_url: receiver.url }, false))
        .status,
    ).toBe(401);
    const badTopic = await api('POST', '/webhooks', { topic: 'course.finished', target_url: receiver.url });
    expect(badTopic.status).toBe(422);
    expect(await badTopic.json()).toEqual({ errors: { topic: 'invalid format' } });
    const badUrl = await api('POST', '/webhooks', {
      topic: 'enrollment.completed',
      target_url: 'ftp://x.test/hook',
    });
    expect(await badUrl.json()).toEqual({ errors: { url: 'is not valid' } });

    const strict = await attachThinkificWebhooks(thinkific, { clock });
    const http = await fetch(`${strict.webhooksUrl}/webhooks`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-auth-api-key': thinkific.apiKey,
        'x-auth-subdomain': thinkific.subdomain,
      },
      body: JSON.stringify({ topic: 'enrollment.completed', target_url: receiver.url }),
    });
    expect(http.status).toBe(422);
    await strict.close();

    for (const topic of ['enrollment.progress', 'enrollment.completed', 'lesson.completed', 'user.signup']) {
      const created = await api('POST', '/webhooks', { topic, target_url: receiver.url });
      expect(created.status).toBe(201);
      expect(await created.json()).toMatchObject({ status: 'active', topic, target_url: receiver.url });
    }
    const list = (await (await api('GET', '/webhooks?limit=3')).json()) as {
      items: Array<{ id: string }>;
      meta: { page: { has_next: boolean; next_page: string; total_items: number } };
    };
    expect(list.meta.page).toMatchObject({ has_next: true, total_items: 4 });
    const rest = (await (await api('GET', `/webhooks?next=${list.meta.page.next_page}`)).json()) as {
      items: unknown[];
    };
    expect(rest.items).toHaveLength(1);

    const extra = (await (
      await api('POST', '/webhooks', { topic: 'order.created', target_url: 'https://hub.acme.test/x' })
    ).json()) as { id: string };
    expect((await api('DELETE', `/webhooks/${extra.id}`)).status).toBe(204);
    expect((await api('DELETE', `/webhooks/${extra.id}`)).status).toBe(404);
    const putBad = await api('PUT', `/webhooks/${list.items[0]?.id}`, { topic: 'nope' });
    expect(await putBad.json()).toEqual({ errors: { topic: ['invalid format'] } });
  });

  it('delivers progress and the completion, signed with the API key over the raw body', async () => {
    const before = receiver.received.length;
    const deliveries = await hooks.completeEnrollment(enrollmentId);
    expect(deliveries.map((delivery) => delivery.status)).toEqual([200, 200, 200]);
    const got = receiver.received.slice(before);
    expect(got.map((item) => [item.topic, item.event.payload.percentage_completed])).toEqual([
      ['enrollment.progress', '50.0'],
      ['enrollment.progress', '100.0'],
      ['enrollment.completed', '100.0'],
    ]);
    expect(got.every((item) => item.verified && item.subdomain === thinkific.subdomain)).toBe(true);
    const completed = got[2]?.event as WebhookEvent;
    expect(completed).toMatchObject({ resource: 'enrollment', action: 'completed', tenant_id: '73394' });
    expect(completed.payload).toMatchObject({
      id: enrollmentId,
      course_id: 101,
      course: { id: 101, name: 'Onboarding Essentials' },
      user: { email: 'ada@acme.test', first_name: 'Ada' },
      completed_at: new Date(clock.now()).toISOString(),
    });
    expect(completed.id).toMatch(/^\d{23}$/);
  });

  it('duplicates a delivery (same id, same bytes) and sends a late progress after the completion', async () => {
    const before = receiver.received.length;
    const built = hooks.event('enrollment.completed', { enrollmentId });
    await hooks.deliver('enrollment.completed', built, { duplicate: true });
    const [first, second] = receiver.received.slice(before);
    expect(first?.raw).toBe(second?.raw);
    expect(first?.event.id).toBe(built.id);

    clock.advance(3_600_000);
    const mark = receiver.received.length;
    await hooks.deliverOutOfOrder(enrollmentId);
    const [completion, late] = receiver.received.slice(mark);
    expect(completion?.topic).toBe('enrollment.completed');
    expect(late?.topic).toBe('enrollment.progress');
    expect(late?.event.payload.percentage_completed).toBe('80.0');
    expect(late?.event.payload.completed_at).toBeNull();
    expect(Date.parse(late?.event.created_at ?? '')).toBeLessThan(
      Date.parse(completion?.event.created_at ?? ''),
    );
    const redelivered = await hooks.redeliver(hooks.deliveries.at(-1) as (typeof hooks.deliveries)[number]);
    expect(redelivered.status).toBe(200);
    expect(receiver.received.at(-1)?.raw).toBe(late?.raw);
  });

  it('sends forged deliveries a receiver must refuse', async () => {
    const built = hooks.event('enrollment.progress', { enrollmentId }, { percentage: 30 });
    for (const forgery of ['wrong-secret', 'altered-body', 'missing-signature'] as const) {
      const [delivery] = await hooks.deliver('enrollment.progress', built, { forgery });
      expect(delivery?.status, forgery).toBe(401);
      expect(receiver.received.at(-1)?.verified, forgery).toBe(false);
    }
  });

  it('builds lesson.completed and user.signup payloads from the fake state', async () => {
    const lesson = hooks.event(
      'lesson.completed',
      { enrollmentId },
      { lesson: { id: 24220, name: 'Getting started' }, chapter: { id: 7, name: 'Basics' } },
    );
    expect(lesson.payload).toMatchObject({
      chapter: { id: 7, name: 'Basics' },
      course: { id: 101 },
      enrollment: { id: enrollmentId },
      lesson: { id: 24220, name: 'Getting started', position: 0, type: 'Video' },
      user: { email: 'ada@acme.test' },
    });
    const [delivery] = await hooks.deliver('lesson.completed', lesson);
    expect(delivery?.status).toBe(200);
    const userId = thinkific.users[0]?.id as number;
    const signup = hooks.event('user.signup', { userId });
    expect(signup).toMatchObject({
      resource: 'user',
      action: 'signup',
      payload: { id: userId, email: 'ada@acme.test' },
    });
    expect(hooks.sign('{}')).toBe(createHmac('sha256', thinkific.apiKey).update('{}').digest('hex'));
  });
});
