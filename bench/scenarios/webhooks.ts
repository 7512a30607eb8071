/**
 * Event webhooks.
 *
 * 1. Delivery throughput: BENCH_WEBHOOK_EVENTS events (PostgreSQL 2,000; embedded 500) appended in
 *    one transaction, fanned out to BENCH_WEBHOOK_SUBSCRIPTIONS (4) subscriptions whose receiver
 *    is a local HTTP server that verifies nothing and answers 204; deliveries/s from the commit to
 *    the last delivery recorded as succeeded. Default concurrency settings (8 attempts per process,
 *    2 per subscription).
 * 2. SCIM user creates (concurrency 10, BENCH_WEBHOOK_SCIM: PostgreSQL 2,000; embedded 500) on a
 *    hub with workers, in six alternating phases: no webhook, then a dead subscriber (a receiver
 *    that accepts connections and never answers; timeout 10 s) and a refusing one (connection
 *    refused), both on `user.*`, then none again. Reported: both throughputs and their ratio (1.0 =
 *    the dead subscribers cost SCIM nothing). What remains is the fan-out's own work (a delivery row
 *    and a job per event and subscription) and the refusing receiver's first failures before its
 *    deliveries are held.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { type BenchContext, type BenchHub, defineScenario, round, runLoad, summarize } from '../harness.ts';

const CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';

function sizes(target: string) {
  const embedded = target === 'embedded';
  return {
    EVENTS: Number(process.env.BENCH_WEBHOOK_EVENTS ?? (embedded ? 500 : 2000)),
    SUBSCRIPTIONS: Number(process.env.BENCH_WEBHOOK_SUBSCRIPTIONS ?? 4),
    SCIM: Number(process.env.BENCH_WEBHOOK_SCIM ?? (embedded ? 500 : 2000)),
  };
}

/** A local HTTP server: `answer` true answers 204 at once, false holds every request open. */
async function startServer(answer: boolean) {
  const sockets = new Set<Socket>();
  let requests = 0;
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      requests++;
      if (answer) res.writeHead(204).end();
    });
  });
  server.keepAliveTimeout = 30_000;
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: () => requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

async function countDeliveries(bench: BenchHub, status: string): Promise<number> {
  const client = (bench.hub.database.pool ?? bench.hub.database.pglite) as {
    query(text: string, values: unknown[]): Promise<{ rows: Array<{ n: number }> }>;
  };
  const { rows } = await client.query('select count(*)::int as n from webhook_deliveries where status = $1', [
    status,
  ]);
  return rows[0]?.n ?? 0;
}

async function deliveryThroughput(context: BenchContext) {
  const { EVENTS, SUBSCRIPTIONS } = sizes(context.target);
  const receiver = await startServer(true);
  const bench = await context.startHub({ env: { WEBHOOKS_ADDRESSES: 'loopback' } });
  try {
    const org = await bench.request<{ id: string }>('POST', '/api/v1/organizations', { name: 'Hook Bench' });
    for (let i = 0; i < SUBSCRIPTIONS; i++) {
      await bench.request('POST', '/api/v1/webhooks', {
        url: `${receiver.url}/hook/${i}`,
        eventTypes: ['user.*'],
        organization: org.body.id,
      });
    }
    const total = EVENTS * SUBSCRIPTIONS;
    const started = performance.now();
    await bench.hub.database.transaction(async (tx) => {
      await bench.hub.events.append(
        tx,
        ...Array.from({ length: EVENTS }, (_, i) => ({
          organizationId: org.body.id,
          type: 'user.updated',
          actor: { type: 'system' as const, name: 'bench' },
          subjectType: 'user',
          subjectId: `usr_bench_${i}`,
          data: { user: { id: `usr_bench_${i}`, email: `u${i}@bench.example.com` }, changes: ['givenName'] },
        })),
      );
    });
    let done = 0;
    const deadline = Date.now() + 20 * 60_000;
    while (done < total) {
      if (Date.now() > deadline)
        throw new Error(`only ${done} of ${total} deliveries succeeded in 20 minutes`);
      await new Promise((resolve) => setTimeout(resolve, 250));
      done = await countDeliveries(bench, 'succeeded');
    }
    const ms = performance.now() - started;
    context.record('delivery (event -> signed POST -> 2xx recorded)', {
      unit: 'delivery',
      count: total,
      throughput: round((total / ms) * 1000),
      extra: {
        events: EVENTS,
        subscriptions: SUBSCRIPTIONS,
        totalSeconds: round(ms / 1000),
        receiverRequests: receiver.requests(),
      },
    });
    context.log(`${total} deliveries in ${Math.round(ms)} ms`);
  } finally {
    await bench.close();
    await receiver.close();
  }
}

/**
 * SCIM creates in alternating phases on one hub: no webhook, then a dead and a refusing subscriber,
 * then none again (the subscribers deleted), and so on. Alternating on one hub and one database
 * cancels the growth of the tables and most of the machine's drift between the two figures.
 */
async function scimWithAndWithoutDeadSubscriber(context: BenchContext) {
  const { SCIM } = sizes(context.target);
  const PHASES = 6;
  const perPhase = Math.max(10, Math.floor(SCIM / PHASES));
  const hanging = await startServer(false);
  const bench = await context.startHub({
    env: { WEBHOOKS_ADDRESSES: 'loopback', WEBHOOKS_TIMEOUT_MS: '10000' },
  });
  try {
    const org = await bench.request<{ id: string }>('POST', '/api/v1/organizations', {
      name: 'SCIM Hook Bench',
    });
    const directory = await bench.request<{ directory: { id: string }; token: string }>(
      'POST',
      `/api/v1/organizations/${org.body.id}/directories`,
      { name: 'Entra', provider: 'entra' },
    );
    const create = async (name: string) => {
      const response = await bench.client.request({
        method: 'POST',
        path: `/scim/v2/${directory.body.directory.id}/Users`,
        headers: { authorization: `Bearer ${directory.body.token}`, 'content-type': 'application/scim+json' },
        body: JSON.stringify({ schemas: [CORE], userName: `${name}@bench.example.com`, active: true }),
      });
      const text = await response.body.text();
      if (response.statusCode !== 201)
        throw new Error(`POST /Users answered ${response.statusCode}: ${text}`);
    };
    for (let i = 0; i < 100; i++) await create(`warmup${i}`);
    const phases = { none: { latencies: [] as number[], ms: 0 }, dead: { latencies: [] as number[], ms: 0 } };
    for (let phase = 0; phase < PHASES; phase++) {
      const dead = phase % 2 === 1;
      const hooks: string[] = [];
      if (dead) {
        for (const url of [`${hanging.url}/dead`, 'http://127.0.0.1:9/refused']) {
          const hook = await bench.request<{ id: string }>('POST', '/api/v1/webhooks', {
            url,
            eventTypes: ['user.*'],
            organization: org.body.id,
          });
          hooks.push(hook.body.id);
        }
      }
      const run = await runLoad({
        total: perPhase,
        concurrency: 10,
        task: (i) => create(`p${phase}u${i}`),
      });
      const bucket = dead ? phases.dead : phases.none;
      bucket.latencies.push(...run.latencies);
      bucket.ms += run.durationMs;
      for (const id of hooks) await bench.request('DELETE', `/api/v1/webhooks/${id}`);
    }
    const none = summarize(phases.none.latencies, phases.none.ms);
    const dead = summarize(phases.dead.latencies, phases.dead.ms);
    context.record('SCIM create, no webhook', { ...none, extra: { phases: PHASES / 2 } });
    context.record('SCIM create, dead + refusing subscriber', {
      ...dead,
      extra: {
        phases: PHASES / 2,
        deadReceiverRequests: hanging.requests(),
        ratioToNone: round(dead.throughput / none.throughput),
        p50RatioToNone: round((dead.p50 ?? 0) / (none.p50 || 1)),
      },
    });
  } finally {
    await hanging.close();
    await bench.close();
  }
}

export default defineScenario({
  name: 'webhooks',
  description:
    'Webhook deliveries/s to a local receiver (PostgreSQL 2,000 events x 4 subscriptions; embedded 500 x 4), and SCIM creates/s with a dead and a refusing subscriber vs none, in alternating phases on one hub (PostgreSQL 2,000; embedded 500; concurrency 10)',
  async run(context) {
    await deliveryThroughput(context);
    await scimWithAndWithoutDeadSubscriber(context);
  },
});
