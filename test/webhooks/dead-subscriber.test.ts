/**
 * A dead subscriber (a receiver that hangs, one that refuses connections) never holds up SCIM
 * requests or logins, nor the deliveries of a healthy subscriber; the refusing one is disabled after
 * WEBHOOKS_DISABLE_AFTER_FAILURES failed attempts in a row. No timings: the test compares what has
 * completed at the moment the dead receiver still holds its first request open.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CORE_USER, createScimDirectory } from '../scim/support.ts';
import { createConnection, createOrganization } from '../sso/helpers.ts';
import { Browser } from '../support/browser.ts';
import { createTestHub, freePort, type TestHub } from '../support/hub.ts';
import { deliveriesOf, eventually, type Receiver, startReceiver } from './support.ts';

/** A receiver that reads requests and never answers them. */
async function startHangingReceiver() {
  const sockets = new Set<Socket>();
  let requests = 0;
  const server: Server = createServer((req) => {
    req.resume();
    requests++;
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hang`,
    requests: () => requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

let t: TestHub;
let healthy: Receiver;
let hanging: Awaited<ReturnType<typeof startHangingReceiver>>;

beforeAll(async () => {
  healthy = await startReceiver();
  hanging = await startHangingReceiver();
  t = await createTestHub({
    listen: true,
    workers: true,
    env: {
      WEBHOOKS_ADDRESSES: 'loopback',
      // Long enough that the hanging receiver's first attempt is in flight for the whole test.
      WEBHOOKS_TIMEOUT_MS: '120000',
      WEBHOOKS_RETRY_BASE_MS: '50',
      WEBHOOKS_RETRY_MAX_MS: '200',
      WEBHOOKS_CONCURRENCY: '4',
      WEBHOOKS_SUBSCRIPTION_CONCURRENCY: '1',
      WEBHOOKS_DISABLE_AFTER_FAILURES: '3',
    },
  });
});
afterAll(async () => {
  // The hanging receiver first: its open attempts then fail at once instead of holding the shutdown.
  await hanging?.close();
  await t?.close();
  await healthy?.close();
});

async function hook(url: string, organization: string) {
  const res = await t.api('POST', '/api/v1/webhooks', {
    body: { url, eventTypes: ['user.created', 'login.*'], organization },
  });
  expect(res.status, res.text).toBe(201);
  return res.body as { id: string; signingSecret: string };
}

describe('a dead subscriber', () => {
  it('does not hold up SCIM requests, logins or other subscribers, and is disabled when it refuses', async () => {
    const org = await createOrganization(t);
    await createConnection(t, org.id, { name: 'Test IdP', protocol: 'saml', testIdp: true });
    const directory = await createScimDirectory(t, { organizationId: org.id });
    const hangingHook = await hook(hanging.url, org.id);
    const refusedHook = await hook(`http://127.0.0.1:${await freePort()}/refused`, org.id);
    const healthyHook = await hook(`${healthy.url}/healthy`, org.id);
    healthy.secrets.push(healthyHook.signingSecret);

    const createScimUser = async (name: string) => {
      const res = await directory.scim('POST', '/Users', {
        body: { schemas: [CORE_USER], userName: `${name}@${org.domain}`, active: true },
      });
      expect(res.status, res.text).toBe(201);
      return res.body.id as string;
    };

    // First user: wait until the hanging receiver holds its delivery open.
    await createScimUser('first');
    await eventually(() => hanging.requests() >= 1, 'the hanging receiver to hold a request');

    // Now SCIM requests and logins, while that attempt is in flight.
    const created: string[] = [];
    for (let i = 0; i < 8; i++) created.push(await createScimUser(`scim${i}`));
    const signedIn: string[] = [];
    for (let i = 0; i < 3; i++) {
      const browser = new Browser();
      const email = `login${i}@${org.domain}`;
      const form = await browser.get(`${t.url}/login?login_hint=${email}`);
      const done = await browser.submit(form, { email, given_name: 'Log', family_name: `In${i}` });
      expect(done.html).toContain('Signed in');
      signedIn.push(email);
    }
    expect(created).toHaveLength(8);
    expect(signedIn).toHaveLength(3);

    // The healthy subscriber got every event: 1 + 8 SCIM users, 3 JIT users, 3 logins.
    const got = await eventually(() => {
      const mine = healthy.verified().filter((delivery) => delivery.path === '/healthy');
      return mine.length >= 15 && mine;
    }, 'the healthy subscriber to receive every event');
    expect(got.filter((delivery) => delivery.payload?.type === 'user.created')).toHaveLength(12);
    expect(got.filter((delivery) => delivery.payload?.type === 'login.succeeded')).toHaveLength(3);

    // ...while the hanging receiver still holds its first request, unanswered: everything above
    // completed during that one attempt. It never had more in flight than its concurrency allows.
    expect(hanging.requests()).toBe(1);
    const stuck = await deliveriesOf(t, hangingHook.id);
    expect(stuck.filter((row) => row.status === 'sending')).toHaveLength(1);
    expect(stuck.filter((row) => row.attempts > 0)).toHaveLength(0);
    // The rest wait as rows, without a job (one job per slot): the next gets its job when the
    // attempt in flight ends.
    expect(stuck.filter((row) => row.status === 'pending')).toHaveLength(0);
    expect(stuck.filter((row) => row.status === 'queued')).toHaveLength(14);

    // The refusing receiver: failed attempts in a row disable it, with an event saying why.
    const disabled = await eventually(async () => {
      const res = await t.api('GET', `/api/v1/webhooks/${refusedHook.id}`);
      return !res.body.enabled && res.body;
    }, 'the refusing subscriber to be disabled');
    expect(disabled).toMatchObject({ disabledReason: 'failures', consecutiveFailures: 3 });
    const events = await t.api('GET', `/api/v1/events?subject=${refusedHook.id}&types=webhook.disabled`);
    expect(events.body.data).toHaveLength(1);
    expect(events.body.data[0].data).toMatchObject({ reason: 'failures', consecutiveFailures: 3 });
    expect(events.body.data[0].actor).toMatchObject({ type: 'system', name: 'webhooks' });
    const refused = await eventually(async () => {
      const rows = await deliveriesOf(t, refusedHook.id);
      return rows.every((row) => ['skipped', 'dead', 'retrying'].includes(row.status)) && rows;
    }, 'the refused deliveries to settle');
    const tried = refused.find((row) => row.attempts > 0);
    const detail = (await t.api('GET', `/api/v1/webhooks/${refusedHook.id}/deliveries/${tried.id}`)).body;
    expect(detail.attemptLog[0].statusCode).toBeNull();
    expect(detail.attemptLog[0].error).toContain('ECONNREFUSED');
    await eventually(async () => {
      const rows = await deliveriesOf(t, refusedHook.id);
      return rows.filter((row) => row.status === 'skipped').length > 0;
    }, 'queued deliveries of the disabled subscriber to be skipped');
  });
});
