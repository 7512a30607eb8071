/**
 * A worker process killed with SIGKILL in the middle of a batch: after a new process starts on the
 * same database, every person is provisioned, nothing is lost and nothing is duplicated (leases
 * taken over by the job's own retry, look-up before create, heartbeats that expire the dead job).
 * Real processes (`node src/main.ts start`), embedded or PostgreSQL.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FakeThinkific } from '../fakes/thinkific/server.ts';
import { databaseKind, freePort, freshDatabase } from '../support/hub.ts';
import { eventually } from './helpers.ts';

const MAIN = join(import.meta.dirname, '../../src/main.ts');
const ADMIN_KEY = `sb_test_${randomBytes(24).toString('hex')}`;
const children: ChildProcess[] = [];
const cleanups: Array<() => Promise<void>> = [];

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  for (const cleanup of cleanups) await cleanup();
});

async function startHub(
  env: Record<string, string>,
): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const deadline = Date.now() + 90_000;
  for (;;) {
    const port = await freePort();
    const child = spawn(process.execPath, [MAIN, 'start'], {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        LOG_LEVEL: 'warn',
        PORT: String(port),
        HOST: '127.0.0.1',
        PUBLIC_URL: `http://127.0.0.1:${port}`,
        SWITCHBOARD_BOOTSTRAP_ADMIN_KEY: ADMIN_KEY,
        PROVISIONING_RETRY_DELAY_SECONDS: '1',
        PROVISIONING_RECONCILE_CRON: '',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let output = '';
    child.stdout?.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr?.on('data', (chunk) => {
      output += chunk;
    });
    const url = `http://127.0.0.1:${port}`;
    while (child.exitCode === null) {
      try {
        if ((await fetch(`${url}/readyz`)).status === 200) return { child, url, output: () => output };
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    // The embedded data directory stays locked for a while after a SIGKILL: try again.
    if (Date.now() > deadline || !output.includes('in use by another'))
      throw new Error(`hub exited: ${output}`);
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

async function api(url: string, method: string, path: string, body?: unknown) {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${ADMIN_KEY}`,
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  if (response.status >= 300) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

describe('worker crash', () => {
  it('SIGKILL mid-batch, restart: nothing lost, nothing duplicated', { timeout: 300_000 }, async () => {
    const fake = await new FakeThinkific({ rateLimit: null }).start();
    cleanups.push(() => fake.stop());
    let env: Record<string, string>;
    if (databaseKind() === 'postgres') {
      const database = await freshDatabase();
      cleanups.push(() => database.drop());
      env = { ...database.env, SECRET_KEY: randomBytes(32).toString('base64') };
    } else {
      const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-crash-'));
      cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));
      env = { DATA_DIR: dataDir };
    }

    const first = await startHub(env);
    const org = await api(first.url, 'POST', '/api/v1/organizations', { name: 'Crash Test' });
    // Slow enough that the batch is still running when the process dies.
    const destination = await api(first.url, 'POST', `/api/v1/organizations/${org.id}/destinations`, {
      kind: 'thinkific',
      name: 'Academy',
      settings: { baseUrl: fake.url, subdomain: fake.subdomain },
      credentials: { apiKey: fake.apiKey },
      rateLimit: { requests: 6, perSeconds: 1 },
    });
    const people = 16;
    for (let index = 0; index < people; index++) {
      await api(first.url, 'POST', `/api/v1/organizations/${org.id}/users`, {
        email: `crash${index}@example.com`,
        givenName: `Crash${index}`,
        familyName: 'Test',
      });
    }
    await api(first.url, 'POST', `/api/v1/organizations/${org.id}/provisioning/rules`, {
      name: 'Everyone',
      condition: { always: true },
      effects: [{ destinationId: destination.id, enrollments: [{ id: 101 }, { id: 102 }] }],
    });
    await eventually(() => fake.users.length >= 4, 'the batch under way', 120_000);
    first.child.kill('SIGKILL');
    await new Promise((resolve) => first.child.once('exit', resolve));
    const atKill = { users: fake.users.length, enrollments: fake.enrollments.length };
    expect(atKill.users).toBeLessThan(people);

    const second = await startHub(env);
    await eventually(
      () => fake.users.length === people && fake.enrollments.length >= people * 2,
      'every person provisioned after the restart',
      240_000,
    );
    await eventually(
      async () => {
        const states = await api(
          second.url,
          'GET',
          `/api/v1/organizations/${org.id}/destinations/${destination.id}/states?status=synced&limit=200`,
        );
        return states.data.length === people;
      },
      'all states synced',
      120_000,
    );
    // Exactly one account and one enrollment per course for each person.
    expect(fake.users).toHaveLength(people);
    expect(new Set(fake.users.map((user) => user.email)).size).toBe(people);
    expect(fake.enrollments).toHaveLength(people * 2);
    const pairs = new Set(
      fake.enrollments.map((enrollment) => `${enrollment.user_id}:${enrollment.course_id}`),
    );
    expect(pairs.size).toBe(people * 2);
    second.child.kill('SIGTERM');
    await new Promise((resolve) => second.child.once('exit', resolve));
  });
});
