/**
 * Hub processes for tests that need real ones: `node src/main.ts ...` exactly as `npm start` and the
 * CLI run it (the pinned Node that runs the tests), real ports, real signals.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { inject } from 'vitest';
import { databaseKind, freePort, freshDatabase } from './hub.ts';

const MAIN = join(import.meta.dirname, '../../src/main.ts');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment a hub process starts from: nothing of the test runner's but PATH and HOME. */
export function baseEnv(): Record<string, string> {
  return { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', LOG_LEVEL: 'info' };
}

/** Runs a CLI command to its end. */
export function runCli(args: string[], env: Record<string, string>, timeoutMs = 120_000): Promise<CliRun> {
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

export interface HubProcess {
  child: ChildProcess;
  url: string;
  output: () => string;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
}

/** Starts `switchboard start` on a free port and waits until `/readyz` answers 200. */
export async function startHubProcess(env: Record<string, string>, role = 'all'): Promise<HubProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [MAIN, 'start', '--role', role], {
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
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`server exited early: ${output}`);
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

/** Kills a hub process (if it still runs) and waits for it to be gone. */
export async function killHubProcess(hub: HubProcess | undefined): Promise<void> {
  if (!hub || hub.child.exitCode !== null || hub.child.signalCode !== null) return;
  hub.child.kill('SIGKILL');
  await hub.exited;
}

/**
 * A migrated database that hub processes can open: on PostgreSQL a copy of the template database
 * (with a SECRET_KEY), embedded a DATA_DIR holding a copy of the migrated template.
 */
export async function processDatabase(): Promise<{ env: Record<string, string>; drop(): Promise<void> }> {
  if (databaseKind() === 'postgres') {
    const database = await freshDatabase();
    return {
      env: { ...database.env, SECRET_KEY: randomBytes(32).toString('base64') },
      drop: () => database.drop(),
    };
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-proc-'));
  const dump = readFileSync(inject('pgliteTemplatePath'));
  const pglite = await PGlite.create(join(dataDir, 'pgdata'), { loadDataDir: new Blob([dump]) });
  await pglite.close();
  return {
    env: { DATA_DIR: dataDir },
    async drop() {
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
