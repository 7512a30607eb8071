/**
 * Webhook delivery across real worker processes (`switchboard start`, real signals): the
 * per-subscription concurrency limit holds across processes, counted by the receiver as requests
 * open at once; and a delivery whose worker is SIGKILLed mid-attempt is attempted again within the
 * documented bound (2 × WEBHOOKS_TIMEOUT_MS + 6 s), by the surviving worker (PostgreSQL, two worker
 * processes) or by the restarted process (embedded, one process).
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseKind } from '../support/hub.ts';
import { type HubProcess, killHubProcess, processDatabase, startHubProcess } from '../support/processes.ts';

const SUBSCRIPTION_CONCURRENCY = 2;
const TIMEOUT_MS = 3000;
const key = `boot-${randomBytes(24).toString('hex')}`;

/**
 * A receiver that counts the requests open at once (from arrival until the response is sent or the
 * connection drops) and keeps the highest count. Each answer takes `holdMs`; while `hang` is set,
 * requests get no answer at all.
 */
async function startCountingReceiver(holdMs: number) {
  const state = {
    open: 0,
    maxOpen: 0,
    hang: false,
    /** `webhook-id` of every request, in arrival order. */
    ids: [] as string[],
    /** The client port of every request (which process sent it). */
    clientPorts: [] as number[],
  };
  const held = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    state.open++;
    state.maxOpen = Math.max(state.maxOpen, state.open);
    res.once('close', () => {
      state.open--;
      held.delete(res);
    });
    req.resume();
    req.on('end', () => {
      state.ids.push(String(req.headers['webhook-id']));
      state.clientPorts.push(req.socket.remotePort ?? 0);
      if (state.hang) {
        held.add(res);
        return;
      }
      setTimeout(() => res.writeHead(204).end(), holdMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    state,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close() {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function until<T>(
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  what: string,
  limitMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Which of `pids` holds the TCP connection whose local port is `port` (Linux: the socket's inode in
 * /proc/net/tcp, then the processes' file descriptors).
 */
function pidHoldingPort(port: number, pids: number[]): number | undefined {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields[1]?.endsWith(`:${hex}`) && fields[9]) inodes.add(fields[9]);
    }
  }
  for (const pid of pids) {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      const target = (() => {
        try {
          return readlinkSync(`/proc/${pid}/fd/${fd}`);
        } catch {
          return '';
        }
      })();
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
      if (inode && inodes.has(inode)) return pid;
    }
  }
  return undefined;
}

let database: Awaited<ReturnType<typeof processDatabase>>;
let receiver: Awaited<ReturnType<typeof startCountingReceiver>>;
let hubs: HubProcess[] = [];
let env: Record<string, string>;

function api(method: string, path: string, body?: unknown) {
  return fetch(`${hubs[0]?.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

async function subscribeOrganization(name: string, path: string): Promise<string> {
  const org = await api('POST', '/api/v1/organizations', { name });
  expect(org.status).toBe(201);
  const id = (await org.json()).id as string;
  const hook = await api('POST', '/api/v1/webhooks', {
    url: `${receiver.url}${path}`,
    eventTypes: ['user.created'],
    organization: id,
  });
  expect(hook.status).toBe(201);
  return id;
}

async function createUsers(organizationId: string, emails: string[]): Promise<void> {
  for (let start = 0; start < emails.length; start += 10) {
    const statuses = await Promise.all(
      emails.slice(start, start + 10).map(async (email) => {
        const res = await api('POST', `/api/v1/organizations/${organizationId}/users`, { email });
        return res.status;
      }),
    );
    expect(statuses.every((status) => status === 201)).toBe(true);
  }
}

beforeAll(async () => {
  database = await processDatabase();
  receiver = await startCountingReceiver(250);
  env = {
    ...database.env,
    SWITCHBOARD_BOOTSTRAP_ADMIN_KEY: key,
    WEBHOOKS_ADDRESSES: 'loopback',
    WEBHOOKS_TIMEOUT_MS: String(TIMEOUT_MS),
    WEBHOOKS_SUBSCRIPTION_CONCURRENCY: String(SUBSCRIPTION_CONCURRENCY),
    LOG_LEVEL: 'warn',
  };
  // PostgreSQL: two worker processes (one of them also serves the API). Embedded: one process.
  hubs =
    databaseKind() === 'postgres'
      ? await Promise.all([startHubProcess(env, 'all'), startHubProcess(env, 'worker')])
      : [await startHubProcess(env, 'all')];
}, 240_000);

afterAll(async () => {
  await Promise.all(hubs.map((hub) => killHubProcess(hub)));
  await receiver?.close();
  await database?.drop();
});

describe('webhook workers as processes', () => {
  it(`never has more than WEBHOOKS_SUBSCRIPTION_CONCURRENCY (${SUBSCRIPTION_CONCURRENCY}) requests open at one receiver`, {
    timeout: 180_000,
  }, async () => {
    const org = await subscribeOrganization('Concurrency', '/limit');
    const emails = Array.from({ length: 40 }, (_, i) => `person${i}@concurrency.example.com`);
    await createUsers(org, emails);
    // Every event arrives once the backlog drains: 40 deliveries, 250 ms each, 2 at a time.
    await until(() => new Set(receiver.state.ids).size >= 40, 'all 40 deliveries');
    expect(new Set(receiver.state.ids).size).toBe(40);
    expect(receiver.state.maxOpen).toBeGreaterThan(0);
    expect(receiver.state.maxOpen).toBeLessThanOrEqual(SUBSCRIPTION_CONCURRENCY);
  });

  it('attempts again within the bound a delivery whose worker was SIGKILLed mid-attempt', {
    timeout: 240_000,
  }, async () => {
    const org = await subscribeOrganization('Recovery', '/recover');
    const before = receiver.state.ids.length;
    receiver.state.hang = true;
    await createUsers(org, ['killed@recovery.example.com']);
    await until(() => receiver.state.ids.length > before, 'the attempt to reach the receiver');
    const messageId = receiver.state.ids[before] as string;
    // The process that sends it: the only one (embedded), or whichever of the two workers claimed it.
    const clientPort = receiver.state.clientPorts[before] as number;
    const sender =
      hubs.length === 1
        ? (hubs[0] as HubProcess)
        : (hubs.find(
            (hub) =>
              hub.child.pid ===
              pidHoldingPort(
                clientPort,
                hubs.map((h) => h.child.pid as number),
              ),
          ) as HubProcess);
    expect(sender).toBeDefined();
    await killHubProcess(sender);
    receiver.state.hang = false;

    let recoveringSince = Date.now();
    if (hubs.length === 1) {
      // Embedded: the restarted process takes over the data directory at once and resumes the attempt.
      hubs = [await startHubProcess(env, 'all')];
      recoveringSince = Date.now();
    } else {
      hubs = hubs.filter((hub) => hub !== sender);
    }
    // The claim lasts WEBHOOKS_TIMEOUT_MS + 5 s and lapsed claims are swept every WEBHOOKS_TIMEOUT_MS:
    // 11 s here, plus the job's pick-up. The limit leaves room for a loaded machine; before, the
    // attempt came 40-52 s later (pg-boss's expiry of the dead worker's job).
    await until(
      () => receiver.state.ids.slice(before + 1).includes(messageId),
      'the attempt to be resumed',
      30_000,
    );
    console.log(`resumed ${Math.round((Date.now() - recoveringSince) / 1000)} s after the kill or restart`);
  });
});
