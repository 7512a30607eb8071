/**
 * The hub as a real process: `node src/main.ts ...` exactly as `npm start` and the CLI run it.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { Agent, createServer as createHttpServer, request as httpRequest } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { databaseKind, freePort } from '../support/hub.ts';
import {
  runCli as cli,
  killHubProcess,
  processDatabase,
  startHubProcess as startServer,
} from '../support/processes.ts';

let dataDir: string;
let dbEnv: Record<string, string>;
let dropDb: () => Promise<void> = async () => {};

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'switchboard-proc-'));
  if (databaseKind() === 'postgres') {
    // An empty database (not the migrated template): start and migrate must build it from nothing.
    const adminUrl = inject('postgresAdminUrl');
    const name = `${inject('postgresRunPrefix')}_proc_${process.pid}`;
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`create database "${name}"`);
    await admin.end();
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    dbEnv = { DATABASE_URL: url.toString(), SECRET_KEY: randomBytes(32).toString('base64') };
    dropDb = async () => {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      await client.query(`drop database if exists "${name}" with (force)`);
      await client.end();
    };
  } else {
    dbEnv = { DATA_DIR: dataDir };
  }
});

afterAll(async () => {
  await dropDb();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('switchboard process', () => {
  it('stops on bad configuration with one line naming the variable', { timeout: 120_000 }, async () => {
    const run = await cli(['start'], { PORT: 'eighty' });
    expect(run.code).toBe(2);
    expect(run.stderr.trim()).toBe('Invalid configuration: PORT is invalid: expected number (got "eighty")');
    const noKey = await cli(['start'], { DATABASE_URL: 'postgres://127.0.0.1:1/none' });
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toContain('SECRET_KEY is required when DATABASE_URL is set');
  });

  it('prints the configuration reference', async () => {
    const run = await cli(['config', '--help'], {});
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('SWITCHBOARD_BOOTSTRAP_ADMIN_KEY');
    expect(run.stdout).toContain('DATABASE_URL');
  });

  it('migrates an empty database, idempotently', { timeout: 120_000 }, async () => {
    const first = await cli(['migrate'], dbEnv);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain('Migrations applied.');
    const second = await cli(['migrate'], dbEnv);
    expect(second.code, second.stderr).toBe(0);
    if (databaseKind() === 'embedded') {
      // The generated secret key is private to the owner.
      expect(statSync(join(dataDir, 'secret.key')).mode & 0o777).toBe(0o600);
    }
  });

  // Several real processes start here; on a loaded machine that takes a while. The limit guards
  // against a hang, it does not measure anything.
  it('creates an admin key from the CLI that the running hub accepts, then drains on SIGTERM', {
    timeout: 120_000,
  }, async () => {
    const created = await cli(['admin-keys', 'create', '--name', 'ops'], dbEnv);
    expect(created.code, created.stderr).toBe(0);
    const key = created.stdout.trim().split('\n').at(-1) as string;
    expect(key).toMatch(/^sbk_/);
    const bootstrap = `boot-${randomBytes(24).toString('hex')}`;

    const server = await startServer({ ...dbEnv, SWITCHBOARD_BOOTSTRAP_ADMIN_KEY: bootstrap });
    try {
      const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
      const created = await fetch(`${server.url}/api/v1/organizations`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ name: 'Proc Org' }),
      });
      expect(created.status).toBe(201);
      // The bootstrap key is ignored: an admin key already exists.
      expect(
        (
          await fetch(`${server.url}/api/v1/organizations`, {
            headers: { authorization: `Bearer ${bootstrap}` },
          })
        ).status,
      ).toBe(401);

      if (databaseKind() === 'embedded') {
        // A second process on the same data directory refuses to start instead of corrupting it.
        const second = await cli(['start'], { ...dbEnv, PORT: String(await freePort()) });
        expect(second.code).toBe(1);
        expect(second.stderr).toContain(`DATA_DIR ${dataDir} is in use by another Switchboard process`);
        const keys = await cli(['admin-keys', 'list'], dbEnv);
        expect(keys.code).toBe(1);
        expect(keys.stderr).toContain('is in use by another Switchboard process');
      }

      // In-flight requests finish; the process exits 0.
      const inFlight = Array.from({ length: 20 }, () =>
        fetch(`${server.url}/api/v1/organizations?limit=5`, { headers }).then((response) => response.status),
      );
      await new Promise((resolve) => setTimeout(resolve, 5));
      server.child.kill('SIGTERM');
      const statuses = await Promise.allSettled(inFlight);
      const answered = statuses
        .filter((status) => status.status === 'fulfilled')
        .map((status) => status.value);
      expect(answered.every((status) => status === 200 || status === 503)).toBe(true);
      const exitCode = await Promise.race([
        server.exited,
        new Promise((r) => setTimeout(() => r('timeout'), 20000)),
      ]);
      if (exitCode !== 0) console.log('SERVER OUTPUT', server.output().slice(-3000));
      expect(exitCode).toBe(0);
      expect(server.output()).toContain('draining');
      expect(server.output()).toContain('"msg":"stopped"');
      expect(server.output()).not.toContain(key);
    } finally {
      server.child.kill('SIGKILL');
    }

    // After a clean stop the lock is released: the directory can be used again.
    if (databaseKind() === 'embedded') {
      const again = await cli(['admin-keys', 'list'], dbEnv);
      expect(again.code, again.stderr).toBe(0);
      expect(again.stdout).toContain('ops');
    }
  });
});

/** A receiver that records the bodies of the webhooks it gets (no signature check needed here). */
async function startBodyReceiver() {
  const bodies: string[] = [];
  const server = createHttpServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      bodies.push(body);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    bodies,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * Sends a request's headers (with `Expect: 100-continue`) and the first `sent` bytes of its body.
 * Resolves once the server answered `100 Continue`: the request is in its hands.
 */
async function partialRequest(url: string, path: string, key: string, body: string, sent: number) {
  const { port } = new URL(url);
  const socket = connect(Number(port), '127.0.0.1');
  let received = '';
  socket.on('data', (chunk) => {
    received += chunk;
  });
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  socket.write(
    [
      `POST ${path} HTTP/1.1`,
      `Host: 127.0.0.1:${port}`,
      `Authorization: Bearer ${key}`,
      'Content-Type: application/json',
      `Content-Length: ${Buffer.byteLength(body)}`,
      'Expect: 100-continue',
      '',
      '',
    ].join('\r\n'),
  );
  await until(() => received.includes('100 Continue'), 'the server to take the request');
  socket.write(body.slice(0, sent));
  return {
    socket,
    closed,
    received: () => received,
    finish: () => socket.write(body.slice(sent)),
  };
}

/** A GET on a connection of its own (no keep-alive pool). */
function freshGet(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { agent: false, headers }, (res) => {
      let body = '';
      res.on('data', (chunk) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function until(probe: () => boolean | Promise<boolean>, what: string, limitMs = 60_000) {
  const deadline = Date.now() + limitMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('shutdown and restart', () => {
  it('on SIGTERM takes no more work, answers /readyz 503 while draining, cuts a stalled request at SHUTDOWN_TIMEOUT_MS, releases the lock and exits 0', {
    timeout: 180_000,
  }, async () => {
    const database = await processDatabase();
    const key = `boot-${randomBytes(24).toString('hex')}`;
    const receiver = await startBodyReceiver();
    const env = {
      ...database.env,
      SWITCHBOARD_BOOTSTRAP_ADMIN_KEY: key,
      SHUTDOWN_TIMEOUT_MS: '5000',
      WEBHOOKS_ADDRESSES: 'loopback',
    };
    let server = await startServer(env);
    try {
      const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
      const api = (path: string, body: unknown) =>
        fetch(`${server.url}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
      expect(
        (await api('/api/v1/webhooks', { url: receiver.url, eventTypes: ['organization.created'] })).status,
      ).toBe(201);
      // The worker delivers while the process runs...
      expect((await api('/api/v1/organizations', { name: 'Before SIGTERM' })).status).toBe(201);
      await until(() => receiver.bodies.some((body) => body.includes('Before SIGTERM')), 'a delivery');

      // An idle keep-alive connection, a client that stalls after 10 of 100 body bytes, and a
      // request whose body is still on its way when the signal comes.
      const agent = new Agent({ keepAlive: true });
      const idle = await new Promise<Socket>((resolve, reject) => {
        const req = httpRequest(`${server.url}/healthz`, { agent }, (res) => {
          res.resume();
          res.on('end', () => resolve(req.socket as Socket));
        });
        req.on('error', reject);
        req.end();
      });
      const idleClosed = new Promise<void>((resolve) => idle.once('close', () => resolve()));
      const stalled = await partialRequest(
        server.url,
        '/api/v1/organizations',
        key,
        JSON.stringify({ name: 'Stalled', description: 'x'.repeat(60) }).padEnd(100, ' '),
        10,
      );
      const late = await partialRequest(
        server.url,
        '/api/v1/organizations',
        key,
        JSON.stringify({ name: 'After SIGTERM' }),
        5,
      );

      server.child.kill('SIGTERM');
      // Draining: the port still answers, and says so (not a refused connection, which means dead).
      // (Each probe on a new connection, as a load balancer's health check.)
      let ready: { status: number; body: string } | undefined;
      await until(async () => {
        ready = await freshGet(`${server.url}/readyz`);
        return ready.status !== 200;
      }, '/readyz to change');
      expect(ready?.status).toBe(503);
      expect(JSON.parse(ready?.body ?? '')).toEqual({ status: 'draining' });
      expect((await freshGet(`${server.url}/healthz`)).status).toBe(200);
      // New work is turned away; the idle keep-alive socket is closed.
      const refused = await freshGet(`${server.url}/api/v1/organizations`, headers);
      expect(refused.status).toBe(503);
      expect(JSON.parse(refused.body).code).toBe('shutting_down');
      await idleClosed;

      // The request in flight finishes: its organization exists, and its event is left for the
      // next process (a draining process fetches no work).
      late.finish();
      await until(() => /^HTTP\/1\.1 201/m.test(late.received()), 'the late request to be answered');
      // The stalled one holds the drain until SHUTDOWN_TIMEOUT_MS; then it is cut and the process
      // exits 0 (not 1 from the watchdog).
      expect(await server.exited).toBe(0);
      await stalled.closed;
      expect(stalled.received()).not.toMatch(/^HTTP\/1\.1 [2-5]\d\d/m);
      expect(server.output()).toContain('SHUTDOWN_TIMEOUT_MS reached');
      expect(server.output()).toContain('"msg":"stopped"');
      expect(receiver.bodies.some((body) => body.includes('After SIGTERM'))).toBe(false);
      agent.destroy();

      // The next process delivers it.
      server = await startServer(env);
      await until(() => receiver.bodies.some((body) => body.includes('After SIGTERM')), 'the late delivery');
      if (databaseKind() === 'embedded') {
        // Killed outright, it leaves its lock behind: the next process on the directory starts at
        // once all the same (the owner it names no longer runs).
        server.child.kill('SIGKILL');
        await server.exited;
        const next = await cli(['admin-keys', 'list'], database.env);
        expect(next.code, next.stderr).toBe(0);
        expect(next.stdout).toContain('active');
      } else {
        server.child.kill('SIGTERM');
        expect(await server.exited).toBe(0);
      }
    } finally {
      await killHubProcess(server);
      await receiver.close();
      await database.drop();
    }
  });
});
