/**
 * The hub as a real process: `node src/main.ts ...` exactly as `npm start` and the CLI run it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { databaseKind, freePort } from '../support/hub.ts';

const MAIN = join(import.meta.dirname, '../../src/main.ts');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: Record<string, string>, timeoutMs = 60_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], {
      env: { ...baseEnv(), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`switchboard ${args.join(' ')} did not finish: ${stdout}${stderr}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function baseEnv(): Record<string, string> {
  return { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', LOG_LEVEL: 'info' };
}

interface Server {
  child: ChildProcess;
  url: string;
  output: () => string;
  exited: Promise<number | null>;
}

async function startServer(env: Record<string, string>): Promise<Server> {
  const port = await freePort();
  const child = spawn(process.execPath, [MAIN, 'start'], {
    env: {
      ...baseEnv(),
      PORT: String(port),
      HOST: '127.0.0.1',
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited early: ${output}`);
    try {
      const response = await fetch(`${url}/readyz`);
      if (response.status === 200) return { child, url, output: () => output, exited };
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`server did not become ready: ${output}`);
}

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
