/**
 * A webhook receiver as an integrator would write one: a real HTTP server that verifies every
 * delivery with the `standardwebhooks` package (`Webhook.verify`) before accepting it, and records
 * what it got. Its answer is programmable per request (fail with 500, hang, ...).
 */
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { expect } from 'vitest';
import { createTestHub, type TestHub } from '../support/hub.ts';

export interface ReceivedDelivery {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** The verified payload; undefined when verification failed (see `error`). */
  payload?: { type: string; timestamp: string; data: Record<string, any> };
  error?: string;
}

export type Responder = (delivery: ReceivedDelivery, res: ServerResponse) => void;

export interface Receiver {
  url: string;
  received: ReceivedDelivery[];
  /** Verified deliveries only. */
  verified(): ReceivedDelivery[];
  /** Secrets the receiver verifies with (it accepts a delivery any of them verifies). */
  secrets: string[];
  /** How the next requests are answered (default: 204 after a successful verification, else 400). */
  respond: Responder | undefined;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const received: ReceivedDelivery[] = [];
  const sockets = new Set<import('node:net').Socket>();
  const receiver: Receiver = {
    url: '',
    received,
    verified: () => received.filter((delivery) => delivery.payload),
    secrets: [],
    respond: undefined,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const delivery: ReceivedDelivery = { path: req.url ?? '', headers: req.headers, body };
      const errors: string[] = [];
      for (const secret of receiver.secrets) {
        try {
          delivery.payload = new Webhook(secret).verify(body, req.headers as Record<string, string>) as never;
          break;
        } catch (error) {
          errors.push((error as Error).message);
        }
      }
      if (!delivery.payload) delivery.error = errors.join('; ') || 'no secret to verify with';
      received.push(delivery);
      if (receiver.respond) return receiver.respond(delivery, res);
      res.writeHead(delivery.payload ? 204 : 400).end(delivery.payload ? undefined : delivery.error);
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return receiver;
}

/** A hub with workers, allowed to deliver to this machine, with fast retries. */
export function startWebhookHub(env: Record<string, string> = {}): Promise<TestHub> {
  return createTestHub({
    workers: true,
    env: {
      WEBHOOKS_ADDRESSES: 'loopback',
      WEBHOOKS_RETRY_BASE_MS: '200',
      WEBHOOKS_RETRY_MAX_MS: '1000',
      WEBHOOKS_TIMEOUT_MS: '2000',
      ...env,
    },
  });
}

/** Waits (polling) until `probe` returns a value; fails with `what` after a generous limit. */
export async function eventually<T>(
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  what: string,
  limitMs = 25_000,
): Promise<T> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export async function createOrganization(t: TestHub, name: string): Promise<string> {
  const res = await t.api('POST', '/api/v1/organizations', { body: { name } });
  expect(res.status, res.text).toBe(201);
  return res.body.id as string;
}

export async function createUser(t: TestHub, organizationId: string, email: string): Promise<string> {
  const res = await t.api('POST', `/api/v1/organizations/${organizationId}/users`, { body: { email } });
  expect(res.status, res.text).toBe(201);
  return res.body.id as string;
}

export async function subscribe(
  t: TestHub,
  receiver: Receiver,
  body: { eventTypes: string[]; organization?: string; path?: string },
): Promise<{ id: string; signingSecret: string; [key: string]: unknown }> {
  const res = await t.api('POST', '/api/v1/webhooks', {
    body: {
      url: `${receiver.url}${body.path ?? '/hook'}`,
      eventTypes: body.eventTypes,
      ...(body.organization ? { organization: body.organization } : {}),
    },
  });
  expect(res.status, res.text).toBe(201);
  receiver.secrets.push(res.body.signingSecret);
  return res.body;
}

/** The deliveries of a webhook (all pages). */
export async function deliveriesOf(t: TestHub, webhookId: string, query = ''): Promise<any[]> {
  const res = await t.api('GET', `/api/v1/webhooks/${webhookId}/deliveries?limit=200${query}`);
  expect(res.status, res.text).toBe(200);
  return res.body.data;
}
